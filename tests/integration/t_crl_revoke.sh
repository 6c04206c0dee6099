#!/usr/bin/env bash
# t_crl_revoke: `moat revoke` by name, serial and file; the CRL (signed by the
# intermediate) makes openssl reject revoked certificates and accept others.
. "$(dirname "$0")/lib.sh"

need_ca
CA=$MOAT_HOME/ca
LIVE=$MOAT_HOME/live
ROOT=$CA/root.pem

for n in byname byserial byfile keep; do
	assert_ok "issue $n.example.test" "$MOAT" issue "$n.example.test"
done

# crl_verify CERT: leaf check against the current ca/crl.pem.
crl_verify() {
	run openssl verify -crl_check -CRLfile "${2:-$CA/crl.pem}" -CAfile "$ROOT" \
		-untrusted "$(dirname "$1")/chain.pem" "$1"
}

# Before any revocation, the initial CRL accepts everything.
crl_verify "$LIVE/byname.example.test/cert.pem"
assert_rc 0 "before revocation: byname verifies with -crl_check"

s_name=$(cert_serial "$LIVE/byname.example.test/cert.pem")
s_serial=$(cert_serial "$LIVE/byserial.example.test/cert.pem")
s_file=$(cert_serial "$LIVE/byfile.example.test/cert.pem")
s_keep=$(cert_serial "$LIVE/keep.example.test/cert.pem")
raw_serial=$(openssl x509 -in "$LIVE/byserial.example.test/cert.pem" -noout -serial | sed 's/^serial=//')
cp "$LIVE/byfile.example.test/cert.pem" "$T/byfile-copy.pem"

crl_before=$(sha256sum <"$CA/crl.pem")
assert_ok "revoke by name --reason keyCompromise" \
	"$MOAT" revoke byname.example.test --reason keyCompromise
assert_ne "$(sha256sum <"$CA/crl.pem")" "$crl_before" "revoke rewrites ca/crl.pem"
assert_ok "revoke by serial --reason keyCompromise" \
	"$MOAT" revoke "$raw_serial" --reason keyCompromise
assert_ok "revoke by certificate file --reason keyCompromise" \
	"$MOAT" revoke "$T/byfile-copy.pem" --reason keyCompromise

# The CRL itself.
assert_ok "crl.pem is signed by the intermediate" \
	openssl crl -in "$CA/crl.pem" -CAfile "$CA/intermediate.pem" -noout
assert_eq "$(openssl crl -in "$CA/crl.pem" -noout -issuer | sed 's/^issuer=//')" \
	"$(openssl x509 -in "$CA/intermediate.pem" -noout -subject | sed 's/^subject=//')" \
	"CRL issuer is the intermediate"
run openssl crl -in "$CA/crl.pem" -noout -text
crltext=$(tr 'A-F' 'a-f' <<<"$OUT")
for s in "$s_name" "$s_serial" "$s_file"; do
	assert_contains "$crltext" "$s" "CRL lists serial $s"
done
assert_not_contains "$crltext" "$s_keep" "CRL does not list the kept certificate"
assert_eq "$(grep -c 'Key Compromise' <<<"$OUT")" 3 "CRL gives reason Key Compromise for all three"
assert_contains "$OUT" "X509v3 CRL Number" "CRL has a CRL number"
assert_contains "$OUT" "X509v3 Authority Key Identifier" "CRL has an authority key identifier"
nu=$(openssl crl -in "$CA/crl.pem" -noout -nextupdate | sed 's/^nextUpdate=//')
assert_int_between "$((($(date -u -d "$nu" +%s) - $(date -u +%s)) / 86400))" 1 400 "CRL has a nextUpdate in the future"

# openssl verify with the CRL.
for n in byname byserial byfile; do
	crl_verify "$LIVE/$n.example.test/cert.pem"
	assert_ne "$RC" 0 "$n: revoked certificate is rejected with -crl_check"
	assert_contains "$OUT$ERR" "certificate revoked" "$n: reason is 'certificate revoked'"
done
crl_verify "$LIVE/keep.example.test/cert.pem"
assert_rc 0 "keep: unrevoked certificate verifies with -crl_check"

# ca list shows the status.
assert_ok "ca list --json" "$MOAT" ca list --json
for pair in "$s_name:revoked" "$s_serial:revoked" "$s_file:revoked" "$s_keep:valid"; do
	s=${pair%%:*}
	want=${pair#*:}
	got=$(python3 - "$OUT_F" "$s" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
for c in d["certificates"]:
    if c["serial"].replace(":", "").lower().lstrip("0") == sys.argv[2]:
        print(c["status"])
EOF
)
	assert_eq "$got" "$want" "ca list --json: $s is $want"
done
assert_ok "ca list (text)" "$MOAT" ca list
assert_contains "$OUT" "revoked" "ca list text shows revoked"

# moat crl --out FILE: a fresh CRL in both places, still listing everything.
old_num=$(openssl crl -in "$CA/crl.pem" -noout -crlnumber | sed 's/^crlNumber=//')
assert_ok "moat crl --out FILE" "$MOAT" crl --out "$T/fresh.crl"
assert_file "$T/fresh.crl" "crl --out wrote FILE"
assert_same_file "$T/fresh.crl" "$CA/crl.pem" "FILE and ca/crl.pem are the same CRL"
new_num=$(openssl crl -in "$CA/crl.pem" -noout -crlnumber | sed 's/^crlNumber=//')
assert_ne "$new_num" "$old_num" "the fresh CRL has a new CRL number"
crl_verify "$LIVE/byname.example.test/cert.pem" "$T/fresh.crl"
assert_ne "$RC" 0 "fresh CRL still rejects byname"
assert_contains "$OUT$ERR" "certificate revoked" "  ... as revoked"
crl_verify "$LIVE/keep.example.test/cert.pem" "$T/fresh.crl"
assert_rc 0 "fresh CRL accepts keep"

# Revoking again or revoking something unknown fails cleanly.
moat revoke no-such-name.example.test
assert_error_shape "revoke of an unknown name: exit 1, one error line"
moat revoke keep.example.test --reason no-such-reason
assert_ne "$RC" 0 "revoke with an unknown reason fails"
crl_verify "$LIVE/keep.example.test/cert.pem"
assert_rc 0 "  ... and keep is still good"

# A revoked name can be issued again (--force) and the new one is good.
assert_ok "issue byname again with --force" "$MOAT" issue byname.example.test --force
crl_verify "$LIVE/byname.example.test/cert.pem"
assert_rc 0 "the re-issued byname verifies with the CRL"

finish
