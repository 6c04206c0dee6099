#!/usr/bin/env bash
# t_trust_export: the root certificate for devices, as PEM, DER and an Apple
# configuration profile (.mobileconfig).
. "$(dirname "$0")/lib.sh"

need_ca --name "Trust Export Root"
ROOT=$MOAT_HOME/ca/root.pem
openssl x509 -in "$ROOT" -outform DER -out "$T/root-ref.der"
root_fp=$(cert_fp "$ROOT")

# ---- PEM
assert_ok "trust export --format pem" "$MOAT" trust export --format pem --out "$T/root.pem"
assert_eq "$(cert_fp "$T/root.pem")" "$root_fp" "PEM export is the root (fingerprint)"
assert_eq "$(count_certs "$T/root.pem")" 1 "PEM export holds exactly one certificate"
assert_eq "$(openssl x509 -in "$T/root.pem" -outform DER | sha256sum)" \
	"$(openssl x509 -in "$ROOT" -outform DER | sha256sum)" "PEM export equals root.pem"

# ---- DER
assert_ok "trust export --format der" "$MOAT" trust export --format der --out "$T/root.der"
assert_same_file "$T/root.der" "$T/root-ref.der" "DER export is the root's DER encoding"
run openssl x509 -inform DER -in "$T/root.der" -noout -fingerprint -sha256
assert_rc 0 "DER export parses with openssl x509 -inform DER"
assert_eq "$(sed -e 's/^.*=//' -e 's/://g' <<<"$OUT" | tr 'A-F' 'a-f')" "$root_fp" \
	"DER export converts back to the same fingerprint"

# ---- mobileconfig
assert_ok "trust export --format mobileconfig" \
	"$MOAT" trust export --format mobileconfig --out "$T/root.mobileconfig"
cat >"$T/check.py" <<'EOF'
import plistlib, sys
with open(sys.argv[1], "rb") as f:
    head = f.read(64)
    f.seek(0)
    p = plistlib.load(f)
der = open(sys.argv[2], "rb").read()
def check(cond, what):
    print(("OK " if cond else "BAD ") + what)
check(head.lstrip().startswith(b"<?xml"), "XML plist")
check(isinstance(p, dict), "top level is a dict")
check(p.get("PayloadType") == "Configuration", "PayloadType Configuration")
for k in ("PayloadIdentifier", "PayloadUUID"):
    check(isinstance(p.get(k), str) and p.get(k) != "", "top level " + k)
check(isinstance(p.get("PayloadVersion"), int), "top level PayloadVersion")
pc = p.get("PayloadContent")
check(isinstance(pc, list) and len(pc) >= 1, "PayloadContent is a non-empty array")
roots = [x for x in (pc or []) if isinstance(x, dict) and x.get("PayloadType") == "com.apple.security.root"]
check(len(roots) == 1, "one com.apple.security.root payload")
for r in roots:
    check(isinstance(r.get("PayloadContent"), bytes), "root payload content is <data>")
    check(r.get("PayloadContent") == der, "root payload content == DER of the root")
    for k in ("PayloadIdentifier", "PayloadUUID"):
        check(isinstance(r.get(k), str) and r.get(k) != "", "root payload " + k)
    check(isinstance(r.get("PayloadVersion"), int), "root payload PayloadVersion")
    check(r.get("PayloadUUID") != p.get("PayloadUUID"), "payload UUIDs differ")
EOF
run python3 "$T/check.py" "$T/root.mobileconfig" "$T/root-ref.der"
assert_rc 0 "mobileconfig parses with python3 plistlib"
while IFS= read -r line; do
	case $line in
	"OK "*) pass "mobileconfig: ${line#OK }" ;;
	"BAD "*) fail "mobileconfig: ${line#BAD }" ;;
	esac
done <<<"$OUT"
assert_contains "$OUT" "OK root payload content == DER of the root" "mobileconfig checks ran"

if command -v plistutil >/dev/null 2>&1; then
	assert_ok "plistutil -i reads the mobileconfig" plistutil -i "$T/root.mobileconfig" -o "$T/converted.plist"
	assert_file "$T/converted.plist" "plistutil wrote its conversion"
else
	skip_part "plistutil not installed: the mobileconfig is not read by it"
fi

# ---- refuses nonsense
moat trust export --format pkcs7 --out "$T/x.p7b"
assert_ne "$RC" 0 "trust export --format pkcs7 is refused"
assert_no_file "$T/x.p7b" "  ... and writes nothing"

finish
