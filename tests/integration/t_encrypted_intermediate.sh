#!/usr/bin/env bash
# t_encrypted_intermediate: with --encrypt-intermediate every signing needs
# the passphrase: right one works, wrong one and none (no tty) fail with
# exit 1 and write nothing.
. "$(dirname "$0")/lib.sh"

PASS='intermediate pass'
CA=$MOAT_HOME/ca
LIVE=$MOAT_HOME/live

MOAT_CA_PASSPHRASE=$PASS assert_ok "ca init --encrypt-intermediate" "$MOAT" ca init --encrypt-intermediate
assert_eq "$(head -n 1 "$CA/intermediate-key.pem")" "-----BEGIN ENCRYPTED PRIVATE KEY-----" \
	"intermediate key is an ENCRYPTED PRIVATE KEY"
assert_eq "$(head -n 1 "$CA/root-key.pem")" "-----BEGIN ENCRYPTED PRIVATE KEY-----" \
	"root key is encrypted too"
assert_mode "$CA/intermediate-key.pem" 600 "intermediate key is 0600"
assert_ok "intermediate key opens with the passphrase" \
	openssl pkey -in "$CA/intermediate-key.pem" -passin "pass:$PASS" -noout
assert_fails "intermediate key does not open without it" \
	openssl pkey -in "$CA/intermediate-key.pem" -passin pass: -noout
run openssl asn1parse -in "$CA/intermediate-key.pem"
assert_match "$OUT" "OBJECT +:(id-)?scrypt|:1\.3\.6\.1\.4\.1\.11591\.4\.11" "intermediate key KDF is scrypt"
assert_ok "intermediate verifies against the root" \
	openssl verify -x509_strict -CAfile "$CA/root.pem" "$CA/intermediate.pem"

# ---- right passphrase (environment)
MOAT_CA_PASSPHRASE=$PASS assert_ok "issue with the right MOAT_CA_PASSPHRASE" "$MOAT" issue right.example.test
assert_ok "  ... verifies" verify_server "$LIVE/right.example.test/cert.pem" "$LIVE/right.example.test/chain.pem"

# ---- right passphrase (file)
printf '%s\n' "$PASS" >"$T/pass.txt"
assert_ok "issue with the right --passphrase-file" "$MOAT" issue file.example.test --passphrase-file "$T/pass.txt"
assert_ok "  ... verifies" verify_server "$LIVE/file.example.test/cert.pem" "$LIVE/file.example.test/chain.pem"

# ---- wrong passphrase
before=$(tree_listing "$MOAT_HOME")
MOAT_CA_PASSPHRASE="not $PASS" moat issue wrong.example.test
assert_error_shape "issue with a wrong MOAT_CA_PASSPHRASE: exit 1, one error line"
assert_contains_i "$ERR" "passphrase" "  ... the message says 'passphrase'"
assert_eq "$(tree_listing "$MOAT_HOME")" "$before" "  ... nothing written"

# ---- no passphrase source and no terminal
run_notty "$MOAT" issue notty.example.test
assert_rc 1 "issue with no passphrase and no tty: exit 1"
assert_eq "$(grep -c '^moat: error: ' "$ERR_F")" 1 "  ... one error line"
assert_eq "$(tree_listing "$MOAT_HOME")" "$before" "  ... nothing written"

# ---- other commands that sign need it too
MOAT_CA_PASSPHRASE=$PASS assert_ok "crl with the right passphrase" "$MOAT" crl
MOAT_CA_PASSPHRASE="not $PASS" moat crl
assert_rc 1 "crl with a wrong passphrase: exit 1"
assert_contains_i "$ERR" "passphrase" "  ... the message says 'passphrase'"
MOAT_CA_PASSPHRASE=$PASS assert_ok "revoke with the right passphrase" "$MOAT" revoke file.example.test
MOAT_CA_PASSPHRASE=$PASS assert_ok "ca list needs no passphrase" "$MOAT" ca list --json
assert_contains "$OUT" "revoked" "  ... and shows the revocation"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/s.key" \
	-subj /CN=signed.example.test -out "$T/s.csr" >/dev/null 2>&1
MOAT_CA_PASSPHRASE="not $PASS" moat sign "$T/s.csr"
assert_rc 1 "sign with a wrong passphrase: exit 1"
assert_no_file "$LIVE/signed.example.test" "  ... nothing written"
MOAT_CA_PASSPHRASE=$PASS assert_ok "sign with the right passphrase" "$MOAT" sign "$T/s.csr"

# ---- without --encrypt-intermediate, issuing needs no passphrase at all
export MOAT_HOME=$T/home-plain
MOAT_CA_PASSPHRASE=$PASS assert_ok "ca init (root encrypted, intermediate not)" "$MOAT" ca init
run_notty "$MOAT" issue plain.example.test
assert_rc 0 "issue needs no passphrase when only the root is encrypted"

finish
