#!/usr/bin/env bash
# t_csr_sign: `moat csr` makes a key and a valid PKCS#10 request with SANs;
# `moat sign` signs moat's own CSRs and the seed's CN-only openssl CSRs
# (copying the CN into subjectAltName), and refuses a CSR whose signature
# does not verify, writing nothing.
. "$(dirname "$0")/lib.sh"

need_ca
LIVE=$MOAT_HOME/live

# ---- moat csr --out DIR
mkdir -p "$T/csr"
assert_ok "csr app.example.test www.app.example.test --out DIR" \
	"$MOAT" csr app.example.test www.app.example.test --out "$T/csr"
KEY=$T/csr/app.example.test.key
CSR=$T/csr/app.example.test.csr
assert_file "$KEY" "csr wrote app.example.test.key"
assert_file "$CSR" "csr wrote app.example.test.csr"
assert_mode "$KEY" 600 "the key is 0600"
# (openssl 3.0's req -verify exits 0 even when the signature is bad: read what it says)
run openssl req -in "$CSR" -noout -verify
assert_contains "$OUT$ERR" "verify OK" "openssl req -verify: the CSR's signature is OK"
assert_not_contains "$OUT$ERR" "verify failure" "  ... and not a failure"
run openssl req -in "$CSR" -noout -text
assert_contains "$OUT" "DNS:app.example.test" "CSR SAN has app.example.test"
assert_contains "$OUT" "DNS:www.app.example.test" "CSR SAN has www.app.example.test"
assert_eq "$(csr_pubkey "$CSR")" "$(key_pubkey "$KEY")" "the CSR is for the key"
assert_no_file "$LIVE/app.example.test" "csr does not issue anything"

# ---- default directory is the current one; --key-type
mkdir -p "$T/cwd"
(cd "$T/cwd" && "$MOAT" csr rsa.example.test 10.0.0.5 --key-type rsa-2048 </dev/null >/dev/null 2>&1)
assert_file "$T/cwd/rsa.example.test.key" "csr without --out writes NAME.key in the current directory"
assert_file "$T/cwd/rsa.example.test.csr" "csr without --out writes NAME.csr in the current directory"
assert_mode "$T/cwd/rsa.example.test.key" 600 "  ... key 0600"
run openssl req -in "$T/cwd/rsa.example.test.csr" -noout -text
assert_contains "$OUT" "Public-Key: (2048 bit)" "csr --key-type rsa-2048 makes an RSA-2048 request"
assert_contains "$OUT" "IP Address:10.0.0.5" "CSR SAN has the IP address"
run openssl req -in "$T/cwd/rsa.example.test.csr" -noout -verify
assert_contains "$OUT$ERR" "verify OK" "openssl req -verify: the RSA CSR's signature is OK"

assert_ok "csr *.wild.example.test" "$MOAT" csr '*.wild.example.test' --out "$T/csr"
assert_file "$T/csr/_wildcard.wild.example.test.csr" "wildcard CSR file is _wildcard.NAME.csr"

# ---- moat sign of moat's own CSR
mkdir -p "$T/signed"
assert_ok "sign the CSR --out DIR" "$MOAT" sign "$CSR" --out "$T/signed"
d=$LIVE/app.example.test
for f in cert.pem chain.pem fullchain.pem; do
	assert_file "$d/$f" "sign wrote live/app.example.test/$f"
	assert_same_file "$T/signed/$f" "$d/$f" "sign --out DIR has the same $f"
done
assert_ok "signed certificate verifies (x509_strict, sslserver)" verify_server "$d/cert.pem" "$d/chain.pem"
san=$(cert_ext "$d/cert.pem" subjectAltName)
assert_contains "$san" "DNS:app.example.test" "signed SAN has app.example.test"
assert_contains "$san" "DNS:www.app.example.test" "signed SAN has www.app.example.test"
assert_eq "$(cert_pubkey "$d/cert.pem")" "$(key_pubkey "$KEY")" "signed certificate is for the CSR's key"
cat "$d/cert.pem" "$d/chain.pem" >"$T/fc.pem"
assert_same_file "$d/fullchain.pem" "$T/fc.pem" "fullchain.pem = cert.pem + chain.pem"
assert_int_between "$(cert_days "$d/cert.pem")" 397 397 "signed certificate: 397 days by default"

assert_ok "sign the RSA CSR with --days 60 --client" "$MOAT" sign "$T/cwd/rsa.example.test.csr" --days 60 --client
d=$LIVE/rsa.example.test
assert_ok "  ... verifies" verify_server "$d/cert.pem" "$d/chain.pem"
assert_int_between "$(cert_days "$d/cert.pem")" 60 60 "  ... 60 days"
assert_contains "$(cert_ext "$d/cert.pem" extendedKeyUsage)" "TLS Web Client Authentication" "  ... with clientAuth"
assert_contains "$(cert_ext "$d/cert.pem" keyUsage)" "Key Encipherment" "  ... RSA: keyEncipherment"

assert_ok "sign ... --json" "$MOAT" sign "$T/csr/_wildcard.wild.example.test.csr" --json
assert_eq "$(norm_hex "$(json_get 'd["serial"]' <"$OUT_F" 2>/dev/null)")" \
	"$(cert_serial "$LIVE/_wildcard.wild.example.test/cert.pem")" "sign --json: serial"

assert_ok "ca list --json after sign" "$MOAT" ca list --json
assert_contains "$OUT" "www.app.example.test" "signed certificates are recorded in ca list"

# ---- the seed's CN-only CSR (openssl req -new -subj /CN=mydomain.com)
openssl req -new -newkey rsa:2048 -nodes -keyout "$T/seed.key" -subj /CN=mydomain.com \
	-out "$T/mydomain.com.csr" >/dev/null 2>&1
moat sign "$T/mydomain.com.csr"
assert_rc 0 "sign a CN-only CSR made by openssl req"
assert_match "$ERR" "[Ss]ubject ?[Aa]lt|SAN" "  ... with a notice about subjectAltName on stderr"
assert_contains "$ERR" "mydomain.com" "  ... naming mydomain.com"
assert_not_contains "$ERR" "moat: error:" "  ... which is not an error"
d=$LIVE/mydomain.com
assert_contains "$(cert_ext "$d/cert.pem" subjectAltName)" "DNS:mydomain.com" "CN copied into SAN DNS:mydomain.com"
assert_ok "  ... and it verifies as an SSL server" verify_server "$d/cert.pem" "$d/chain.pem"
assert_eq "$(cert_pubkey "$d/cert.pem")" "$(key_pubkey "$T/seed.key")" "  ... for the seed's key"

# ---- DER CSR
openssl req -in "$T/cwd/rsa.example.test.csr" -outform DER -out "$T/der.csr" 2>/dev/null
assert_ok "sign a DER CSR (--force: lineage exists)" "$MOAT" sign "$T/der.csr" --force

# ---- a CSR with a broken signature: exit 1, nothing written
openssl req -new -newkey rsa:2048 -nodes -keyout "$T/bad.key" -subj /CN=bad.example.test \
	-addext "subjectAltName=DNS:bad.example.test" -outform DER -out "$T/good.der" >/dev/null 2>&1
python3 - "$T/good.der" "$T/bad.der" <<'EOF'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[-8] ^= 0xFF  # inside the signature BIT STRING (last 16 bytes)
open(sys.argv[2], "wb").write(b)
EOF
openssl req -inform DER -in "$T/bad.der" -out "$T/bad.csr" 2>/dev/null
assert_file "$T/bad.csr" "made a PEM CSR with a flipped signature byte"
run openssl req -in "$T/bad.csr" -noout -verify
assert_contains "$OUT$ERR" "verify failure" "openssl req -verify rejects the flipped CSR (the flip matters)"
run openssl req -inform DER -in "$T/good.der" -noout -verify
assert_contains "$OUT$ERR" "verify OK" "openssl req -verify accepts the unflipped one"
mkdir -p "$T/badout"
before=$(tree_listing "$MOAT_HOME" "$T/badout")
moat sign "$T/bad.csr" --out "$T/badout"
assert_error_shape "sign of a CSR with a bad signature: exit 1, one error line"
assert_eq "$(tree_listing "$MOAT_HOME" "$T/badout")" "$before" "  ... no files written"
assert_no_file "$LIVE/bad.example.test" "  ... no lineage"
moat sign "$T/bad.der"
assert_error_shape "sign of the DER form of the bad CSR: exit 1"
assert_no_file "$LIVE/bad.example.test" "  ... no lineage"
assert_ok "the good one signs" "$MOAT" sign "$T/good.der"

finish
