#!/usr/bin/env bash
# t_inspect: `moat inspect` reads certificates, chains, CSRs, keys and CRLs,
# in text and JSON, and tells whether a key belongs to a certificate.
. "$(dirname "$0")/lib.sh"

need_ca
assert_ok "issue insp.example.test 192.168.9.9" "$MOAT" issue insp.example.test 192.168.9.9
assert_ok "issue other.example.test" "$MOAT" issue other.example.test --key-type rsa-2048
D=$MOAT_HOME/live/insp.example.test
O=$MOAT_HOME/live/other.example.test
IM=$MOAT_HOME/ca/intermediate.pem
fp=$(cert_fp "$D/cert.pem")
im_fp=$(cert_fp "$IM")

# The JSON helpers below search the whole document for objects, whatever
# the top-level shape ({"objects": [...]}, a list, or one object).
cat >"$T/j.py" <<'EOF'
import json, sys

def objects(d):
    if isinstance(d, dict):
        yield d
        for v in d.values():
            yield from objects(v)
    elif isinstance(d, list):
        for v in d:
            yield from objects(v)

def norm_fp(s):
    return s.replace(":", "").lower() if isinstance(s, str) else None

def norm_name(s):
    for p in ("DNS:", "IP Address:", "IP:"):
        if s.startswith(p):
            return s[len(p):]
    return s

d = json.load(open(sys.argv[1]))
what = sys.argv[2]
objs = list(objects(d))
if what == "fps":          # fingerprints of every certificate, in order
    print(" ".join(norm_fp(o["sha256"]) for o in objs if "sha256" in o))
elif what == "names":      # names of the first object that has names
    for o in objs:
        if isinstance(o.get("names"), list):
            print(" ".join(sorted(norm_name(n) for n in o["names"])))
            break
elif what == "key_matches":
    vals = [o["key_matches"] for o in objs if "key_matches" in o]
    print(json.dumps(vals))
elif what == "has":        # does any object have this key?
    print(any(sys.argv[3] in o for o in objs))
EOF
jq_() { python3 "$T/j.py" "$OUT_F" "$@" 2>&1; }

# ---- a certificate
assert_ok "inspect cert.pem" "$MOAT" inspect "$D/cert.pem"
assert_contains "$OUT" "insp.example.test" "text: names"
assert_contains "$OUT" "192.168.9.9" "text: IP name"
assert_contains "$(tr -d ':' <<<"$OUT" | tr 'A-F' 'a-f')" "$fp" "text: SHA-256 fingerprint"
assert_contains_i "$OUT" "$(openssl x509 -in "$IM" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= *//p')" \
	"text: issuer (intermediate's CN)"
assert_match "$OUT" "[Ss]erver|serverAuth" "text: EKU"
assert_match "$OUT" "P-256|prime256v1|EC" "text: key type"
assert_match "$OUT" "39[67] days" "text: days left"
assert_ok "inspect cert.pem --json" "$MOAT" inspect "$D/cert.pem" --json
assert_json "  ... is JSON"
assert_eq "$(jq_ fps)" "$fp" "json: sha256 = openssl x509 -fingerprint -sha256"
assert_eq "$(jq_ names)" "192.168.9.9 insp.example.test" "json: names"
for k in subject issuer not_after days_left; do
	assert_eq "$(jq_ has "$k")" "True" "json: has $k"
done

# ---- DER certificate
openssl x509 -in "$D/cert.pem" -outform DER -out "$T/cert.der"
assert_ok "inspect a DER certificate --json" "$MOAT" inspect "$T/cert.der" --json
assert_eq "$(jq_ fps)" "$fp" "DER: same fingerprint"

# ---- fullchain: two certificates
assert_ok "inspect fullchain.pem --json" "$MOAT" inspect "$D/fullchain.pem" --json
assert_eq "$(jq_ fps)" "$fp $im_fp" "json: fullchain has leaf then intermediate"
assert_ok "inspect fullchain.pem" "$MOAT" inspect "$D/fullchain.pem"
flat=$(tr -d ':' <<<"$OUT" | tr 'A-F' 'a-f')
assert_contains "$flat" "$fp" "text: fullchain shows the leaf"
assert_contains "$flat" "$im_fp" "text: fullchain shows the intermediate"

# ---- CSR
assert_ok "csr for inspection" "$MOAT" csr req.example.test req2.example.test --out "$T"
assert_ok "inspect a CSR" "$MOAT" inspect "$T/req.example.test.csr"
assert_contains "$OUT" "req2.example.test" "text: CSR names"
assert_ok "inspect a CSR --json" "$MOAT" inspect "$T/req.example.test.csr" --json
assert_eq "$(jq_ names)" "req.example.test req2.example.test" "json: CSR names"

# ---- private key
assert_ok "inspect privkey.pem" "$MOAT" inspect "$D/privkey.pem"
assert_match "$OUT" "P-256|prime256v1|EC" "text: key type"
assert_not_contains "$OUT" "BEGIN PRIVATE KEY" "text: does not print the key"
assert_ok "inspect an RSA key --json" "$MOAT" inspect "$O/privkey.pem" --json
assert_contains "$OUT" "2048" "json: RSA key size"
assert_not_contains "$OUT" "PRIVATE KEY-----" "json: does not print the key"

# ---- CRL
assert_ok "revoke other.example.test" "$MOAT" revoke other.example.test
assert_ok "inspect crl.pem" "$MOAT" inspect "$MOAT_HOME/ca/crl.pem"
assert_contains "$OUT" "$(openssl x509 -in "$IM" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= *//p')" \
	"text: CRL issuer (intermediate's CN)"
assert_ok "inspect crl.pem --json" "$MOAT" inspect "$MOAT_HOME/ca/crl.pem" --json
assert_json "  ... is JSON"

# ---- key + certificate: matching and not
assert_ok "inspect privkey.pem cert.pem" "$MOAT" inspect "$D/privkey.pem" "$D/cert.pem"
assert_contains "$OUT" "key matches" "text: says the key matches"
assert_ok "inspect cert.pem privkey.pem --json" "$MOAT" inspect "$D/cert.pem" "$D/privkey.pem" --json
assert_eq "$(jq_ key_matches)" "[true]" "json: key_matches true"
moat inspect "$O/privkey.pem" "$D/cert.pem" --json
assert_eq "$(jq_ key_matches)" "[false]" "json: key_matches false for another key"
moat inspect "$O/privkey.pem" "$D/cert.pem"
assert_not_contains "$OUT" "key matches" "text: does not claim a wrong key matches"

# ---- several files; standard input
assert_ok "inspect several files" "$MOAT" inspect "$D/cert.pem" "$T/req.example.test.csr" "$MOAT_HOME/ca/crl.pem"
run bash -c '"$1" inspect - --json <"$2"' _ "$MOAT" "$D/cert.pem"
assert_rc 0 "inspect - reads standard input"
assert_eq "$(jq_ fps)" "$fp" "  ... the same certificate"

# ---- not a certificate
printf 'hello\n' >"$T/junk.txt"
moat inspect "$T/junk.txt"
assert_error_shape "inspect of junk: exit 1, one error line"
moat inspect "$T/does-not-exist.pem"
assert_error_shape "inspect of a missing file: exit 1, one error line"

finish
