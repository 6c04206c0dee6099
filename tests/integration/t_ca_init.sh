#!/usr/bin/env bash
# t_ca_init: `moat ca init` makes a sound root + intermediate, protects the
# root key, refuses to clobber an existing CA, and knows every key type.
. "$(dirname "$0")/lib.sh"

CA=$MOAT_HOME/ca
PASS1='correct horse battery staple'

# ---- default CA, passphrase from the environment
MOAT_CA_PASSPHRASE=$PASS1 assert_ok "ca init with MOAT_CA_PASSPHRASE" \
	"$MOAT" ca init --name "Integration Root"
for f in root.pem root-key.pem intermediate.pem intermediate-key.pem ca.db crl.pem; do
	assert_file "$CA/$f" "ca/$f exists"
done
assert_mode "$CA/root-key.pem" 600 "root-key.pem is 0600"
assert_mode "$CA/intermediate-key.pem" 600 "intermediate-key.pem is 0600"
assert_eq "$(leftover_tmp "$MOAT_HOME")" "" "no temporary files left"

# ---- root key: encrypted PKCS#8, scrypt + AES-256-CBC
assert_eq "$(head -n 1 "$CA/root-key.pem")" "-----BEGIN ENCRYPTED PRIVATE KEY-----" \
	"root key is an ENCRYPTED PRIVATE KEY"
assert_ok "root key opens with the right passphrase" \
	openssl pkey -in "$CA/root-key.pem" -passin "pass:$PASS1" -noout
assert_fails "root key does not open with a wrong passphrase" \
	openssl pkey -in "$CA/root-key.pem" -passin "pass:wrong $PASS1" -noout
assert_fails "root key does not open without a passphrase" \
	openssl pkey -in "$CA/root-key.pem" -passin pass: -noout
run openssl asn1parse -in "$CA/root-key.pem"
assert_contains "$OUT" "PBES2" "root key uses PBES2"
assert_match "$OUT" "OBJECT +:(id-)?scrypt|:1\.3\.6\.1\.4\.1\.11591\.4\.11" "root key KDF is scrypt"
assert_not_contains "$OUT" "PBKDF2" "root key KDF is not PBKDF2"
assert_contains_i "$OUT" "aes-256-cbc" "root key cipher is AES-256-CBC"
# The root's public key is the one in root-key.pem.
assert_eq "$(openssl pkey -in "$CA/root-key.pem" -passin "pass:$PASS1" -pubout 2>/dev/null)" \
	"$(cert_pubkey "$CA/root.pem")" "root-key.pem belongs to root.pem"
assert_eq "$(key_pubkey "$CA/intermediate-key.pem")" "$(cert_pubkey "$CA/intermediate.pem")" \
	"intermediate-key.pem (unencrypted by default) belongs to intermediate.pem"
assert_eq "$(head -n 1 "$CA/intermediate-key.pem")" "-----BEGIN PRIVATE KEY-----" \
	"intermediate key is unencrypted PKCS#8 by default"

# ---- root certificate
root=$CA/root.pem
run openssl x509 -in "$root" -noout -subject
assert_contains "$OUT" "Integration Root" "--name is in the root's subject"
bc=$(cert_ext "$root" basicConstraints)
assert_contains "$bc" "critical" "root basicConstraints is critical"
assert_contains "$bc" "CA:TRUE" "root is CA:TRUE"
ku=$(cert_ext "$root" keyUsage)
assert_contains "$ku" "Certificate Sign" "root keyUsage has keyCertSign"
assert_contains "$ku" "CRL Sign" "root keyUsage has cRLSign"
root_ski=$(cert_ext "$root" subjectKeyIdentifier | sed -n '2p' | tr -d ' ')
assert_match "$root_ski" '^[0-9A-F]{2}(:[0-9A-F]{2})+$' "root has a subjectKeyIdentifier"
assert_eq "$(openssl x509 -in "$root" -noout -subject | sed 's/^subject=//')" \
	"$(openssl x509 -in "$root" -noout -issuer | sed 's/^issuer=//')" "root is self-issued"
assert_ok "root verifies against itself (x509_strict)" \
	openssl verify -x509_strict -CAfile "$root" "$root"
assert_int_between "$(cert_days "$root")" 3650 3653 "root is valid for 10 years"
nb=$(openssl x509 -in "$root" -noout -startdate | sed 's/^notBefore=//')
assert_int_between "$(($(date -u +%s) - $(date -u -d "$nb" +%s)))" 0 172800 \
	"root notBefore is now (at most 2 days back-dated)"

# ---- intermediate
im=$CA/intermediate.pem
bc=$(cert_ext "$im" basicConstraints)
assert_contains "$bc" "critical" "intermediate basicConstraints is critical"
assert_contains "$bc" "CA:TRUE, pathlen:0" "intermediate is CA:TRUE, pathlen:0"
ku=$(cert_ext "$im" keyUsage)
assert_contains "$ku" "Certificate Sign" "intermediate keyUsage has keyCertSign"
assert_contains "$ku" "CRL Sign" "intermediate keyUsage has cRLSign"
im_aki=$(cert_ext "$im" authorityKeyIdentifier | sed -n '2p' | sed -e 's/^ *keyid://' | tr -d ' ')
assert_eq "$im_aki" "$root_ski" "intermediate AKI = root SKI"
im_ski=$(cert_ext "$im" subjectKeyIdentifier | sed -n '2p' | tr -d ' ')
assert_match "$im_ski" '^[0-9A-F]{2}(:[0-9A-F]{2})+$' "intermediate has a subjectKeyIdentifier"
assert_ne "$im_ski" "$root_ski" "intermediate has its own key"
assert_int_between "$(cert_days "$im")" 1825 1827 "intermediate is valid for 5 years"
assert_eq "$(openssl x509 -in "$im" -noout -issuer | sed 's/^issuer=//')" \
	"$(openssl x509 -in "$root" -noout -subject | sed 's/^subject=//')" "intermediate issuer = root subject"
run openssl verify -x509_strict -CAfile "$root" "$im"
assert_rc 0 "openssl verify -x509_strict -CAfile root.pem intermediate.pem"
assert_contains "$OUT" "intermediate.pem: OK" "verify says OK"

# ---- the initial CRL is signed by the intermediate
assert_ok "crl.pem is a CRL signed by the intermediate" \
	openssl crl -in "$CA/crl.pem" -CAfile "$im" -noout

# ---- ca show / ca list
assert_ok "ca show" "$MOAT" ca show
assert_contains "$OUT" "Integration Root" "ca show names the root"
assert_ok "ca show --json" "$MOAT" ca show --json
assert_json "ca show --json is JSON"
assert_ok "ca list --json (empty CA)" "$MOAT" ca list --json
assert_eq "$(json_get 'd["certificates"]' <"$OUT_F")" "[]" "a new CA has issued nothing"

# ---- moat itself opens the encrypted root key only with the right passphrase
MOAT_CA_PASSPHRASE=not-$PASS1 run "$MOAT" inspect --decrypt "$CA/root-key.pem" "$root"
assert_error_shape "inspect --decrypt with a wrong passphrase"
assert_contains "$ERR" "wrong passphrase" "  ... and says the passphrase is wrong"
assert_contains "$ERR" "root-key.pem" "  ... naming the file"
MOAT_CA_PASSPHRASE=$PASS1 assert_ok "inspect --decrypt with the right passphrase" \
	"$MOAT" inspect --decrypt "$CA/root-key.pem" "$root"
assert_contains "$OUT" "key matches the certificate" "  ... and the key matches root.pem"
printf '%s\n' "$PASS1" >"$T/root-pass.txt"
assert_ok "inspect --passphrase-file" \
	"$MOAT" inspect --passphrase-file "$T/root-pass.txt" "$CA/root-key.pem" "$root" --json
assert_eq "$(json_get 'd["objects"][0]["encrypted"] and d["objects"][0]["key_matches"]' <"$OUT_F")" \
	"true" "  ... --json says encrypted and matching"
run "$MOAT" inspect "$CA/root-key.pem"
assert_rc 0 "inspect without --decrypt still reads an encrypted key"
assert_contains "$OUT" "encrypted    yes" "  ... and says it is encrypted"

# ---- refuses a second init without --force; files unchanged
before=$(tree_sums "$CA")
MOAT_CA_PASSPHRASE=$PASS1 moat ca init --name "Second Root"
assert_rc 1 "ca init over an existing CA exits 1"
assert_contains "$ERR" "moat: error:" "and says why"
assert_eq "$(tree_sums "$CA")" "$before" "existing CA files unchanged (checksums)"

# ---- --force replaces it
old_fp=$(cert_fp "$root")
MOAT_CA_PASSPHRASE=$PASS1 assert_ok "ca init --force replaces the CA" \
	"$MOAT" ca init --force --name "Second Root"
assert_ne "$(cert_fp "$root")" "$old_fp" "root.pem is a new certificate after --force"
assert_contains "$OUT" "The previous CA was moved to $MOAT_HOME/ca.replaced-" "says where the old CA went"
assert_contains "$OUT" "reissue them with \`moat issue NAME... --force\`" "and that old certificates need reissuing"
backup=$(ls -d "$MOAT_HOME"/ca.replaced-* | head -n 1)
assert_eq "$(cert_fp "$backup/root.pem")" "$old_fp" "the backup holds the old root"
assert_ok "new intermediate verifies against new root" \
	openssl verify -x509_strict -CAfile "$root" "$im"
run openssl x509 -in "$root" -noout -subject
assert_contains "$OUT" "Second Root" "new root has the new name"

# ---- passphrase from --passphrase-file (wins over the environment)
export MOAT_HOME=$T/home-file
printf 'file secret\n' >"$T/pass.txt"
MOAT_CA_PASSPHRASE=env-secret assert_ok "ca init --passphrase-file" \
	"$MOAT" ca init --passphrase-file "$T/pass.txt"
assert_ok "root key opens with the file's first line" \
	openssl pkey -in "$MOAT_HOME/ca/root-key.pem" -passin "pass:file secret" -noout
assert_fails "root key does not open with the environment's passphrase" \
	openssl pkey -in "$MOAT_HOME/ca/root-key.pem" -passin "pass:env-secret" -noout

# ---- --no-passphrase
export MOAT_HOME=$T/home-nopass
assert_ok "ca init --no-passphrase" "$MOAT" ca init --no-passphrase
assert_mode "$MOAT_HOME/ca/root-key.pem" 600 "unencrypted root key is still 0600"
assert_not_contains "$(head -n 1 "$MOAT_HOME/ca/root-key.pem")" "ENCRYPTED" "root key is not encrypted"
assert_ok "root key opens without a passphrase" \
	openssl pkey -in "$MOAT_HOME/ca/root-key.pem" -passin pass: -noout

# ---- no passphrase source and no terminal: exit 1, nothing written
export MOAT_HOME=$T/home-notty
run_notty "$MOAT" ca init
assert_rc 1 "ca init without passphrase source or tty exits 1"
assert_contains "$ERR" "moat: error:" "and says why"
assert_no_file "$MOAT_HOME/ca/root.pem" "no root.pem written"
assert_no_file "$MOAT_HOME/ca/root-key.pem" "no root-key.pem written"

# ---- --json
export MOAT_HOME=$T/home-json
assert_ok "ca init --json" "$MOAT" ca init --no-passphrase --json
assert_json "ca init --json prints JSON"

# ---- every key type
declare -A want=(
	[ec-p256]="prime256v1|P-256"
	[ec-p384]="secp384r1|P-384"
	[rsa-2048]="Public-Key: \(2048 bit\)"
	[rsa-3072]="Public-Key: \(3072 bit\)"
	[rsa-4096]="Public-Key: \(4096 bit\)"
	[ed25519]="ED25519"
)
for kt in ec-p256 ec-p384 rsa-2048 rsa-3072 rsa-4096 ed25519; do
	export MOAT_HOME=$T/home-$kt
	assert_ok "ca init --key-type $kt" "$MOAT" ca init --no-passphrase --key-type "$kt"
	run openssl x509 -in "$MOAT_HOME/ca/root.pem" -noout -text
	assert_match "$OUT" "${want[$kt]}" "$kt: root key is $kt"
	assert_ok "$kt: intermediate verifies (x509_strict)" \
		openssl verify -x509_strict -CAfile "$MOAT_HOME/ca/root.pem" "$MOAT_HOME/ca/intermediate.pem"
	assert_eq "$(key_pubkey "$MOAT_HOME/ca/root-key.pem")" "$(cert_pubkey "$MOAT_HOME/ca/root.pem")" \
		"$kt: root key matches root.pem"
done

finish
