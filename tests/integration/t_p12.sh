#!/usr/bin/env bash
# t_p12: `moat issue --p12` writes a PKCS#12 bundle (key, certificate,
# intermediate) that OpenSSL 3 reads without -legacy, with the passphrase from
# MOAT_P12_PASSPHRASE or --p12-passphrase-file; a wrong passphrase fails.
. "$(dirname "$0")/lib.sh"

need_ca
LIVE=$MOAT_HOME/live
P12PASS='p12 s3cret'

# check_p12 DIR PASS LABEL
check_p12() {
	local d=$1 pass=$2 label=$3
	assert_file "$d/cert.p12" "$label: cert.p12 exists"
	run openssl pkcs12 -in "$d/cert.p12" -passin "pass:$pass" -nodes
	assert_rc 0 "$label: openssl pkcs12 (no -legacy) opens it with the passphrase"
	printf '%s\n' "$OUT" >"$T/p12.pem"
	assert_contains "$OUT" "-----BEGIN PRIVATE KEY-----" "$label: holds the private key"
	assert_eq "$(count_certs "$T/p12.pem")" 2 "$label: holds two certificates (leaf + intermediate)"
	# Split the certificates and compare with cert.pem and chain.pem.
	awk -v dir="$T" '/-----BEGIN CERTIFICATE-----/{n++; f=dir "/p12-cert" n ".pem"} f{print > f} /-----END CERTIFICATE-----/{f=""}' "$T/p12.pem"
	local fps
	fps=$(for f in "$T"/p12-cert*.pem; do cert_fp "$f"; done | sort)
	assert_eq "$fps" "$( (cert_fp "$d/cert.pem"; cert_fp "$d/chain.pem") | sort)" \
		"$label: the certificates are cert.pem and chain.pem"
	rm -f "$T"/p12-cert*.pem
	openssl pkey -in "$T/p12.pem" -out "$T/p12.key" 2>/dev/null
	assert_eq "$(key_pubkey "$T/p12.key")" "$(key_pubkey "$d/privkey.pem")" "$label: the key is privkey.pem's"
	assert_fails "$label: a wrong passphrase fails" \
		openssl pkcs12 -in "$d/cert.p12" -passin "pass:not $pass" -nodes
	assert_fails "$label: no passphrase fails" \
		openssl pkcs12 -in "$d/cert.p12" -passin pass: -nodes
}

MOAT_P12_PASSPHRASE=$P12PASS assert_ok "issue --p12 with MOAT_P12_PASSPHRASE" \
	"$MOAT" issue p12.example.test --p12
check_p12 "$LIVE/p12.example.test" "$P12PASS" "env"

MOAT_P12_PASSPHRASE=$P12PASS assert_ok "issue --p12 --key-type rsa-2048" \
	"$MOAT" issue rsap12.example.test --p12 --key-type rsa-2048
check_p12 "$LIVE/rsap12.example.test" "$P12PASS" "rsa"

printf 'from a file\n' >"$T/p12pass.txt"
assert_ok "issue --p12 --p12-passphrase-file F" \
	"$MOAT" issue filep12.example.test --p12 --p12-passphrase-file "$T/p12pass.txt"
check_p12 "$LIVE/filep12.example.test" "from a file" "file"

mkdir -p "$T/out"
MOAT_P12_PASSPHRASE=$P12PASS assert_ok "issue --p12 --out DIR" \
	"$MOAT" issue outp12.example.test --p12 --out "$T/out"
assert_same_file "$T/out/cert.p12" "$LIVE/outp12.example.test/cert.p12" "--out DIR gets cert.p12 too"

assert_ok "issue without --p12" "$MOAT" issue nop12.example.test
assert_no_file "$LIVE/nop12.example.test/cert.p12" "no cert.p12 without --p12"

finish
