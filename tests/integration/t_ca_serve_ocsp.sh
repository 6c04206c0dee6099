#!/usr/bin/env bash
# t_ca_serve_ocsp: the revocation services of `moat ca serve --http-port`,
# judged by software we did not write: `openssl ocsp` (POST, response
# signature verified up to the moat root), curl (the GET form of RFC 6960
# A.1, the CA certificates, the CRL, size caps), `openssl crl` (the CRL),
# and `moat check` against an `openssl s_server` serving a certificate of
# this CA.  A `moat revoke` in another process while the server runs must
# show at once in OCSP and in the CRL.
. "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null 2>&1 || skip_test "openssl is not installed"
command -v curl >/dev/null 2>&1 || skip_test "curl is not installed"

HTTP_PORT=$(free_port)
HTTPS_PORT=$(free_port)
BASE=http://127.0.0.1:$HTTP_PORT
need_ca --url "$BASE"
CA=$MOAT_HOME/ca
ROOT=$CA/root.pem
INT=$CA/intermediate.pem

# ------------------------------------------------------------ URLs in certificates
moat issue ocsp.test
assert_rc 0 "moat issue ocsp.test"
CERT=$MOAT_HOME/live/ocsp.test/cert.pem
run cert_ext "$CERT" crlDistributionPoints
assert_contains "$OUT" "URI:$BASE/crl" "the certificate names the CRL"
run cert_ext "$CERT" authorityInfoAccess
assert_contains "$OUT" "OCSP - URI:$BASE/ocsp" "the certificate names the OCSP responder"
assert_contains "$OUT" "CA Issuers - URI:$BASE/ca/intermediate.der" "the certificate names caIssuers"

# ------------------------------------------------------------------ the server
"$MOAT" ca serve --listen 127.0.0.1 --http-port "$HTTP_PORT" --https-port "$HTTPS_PORT" \
	--name localhost </dev/null >"$T/serve.log" 2>&1 &
SERVE_PID=$!
SERVER_PIDS+=("$SERVE_PID")
if wait_port "$SERVE_PID" 127.0.0.1 "$HTTP_PORT" 30; then
	pass "moat ca serve listens on the HTTP port"
else
	fail "moat ca serve listens on the HTTP port"
	sed -e 's/^/#   serve: /' "$T/serve.log" | tail -n 20
	finish
fi

# fetch PATH OUTFILE [curl args]: GET, headers into OUTFILE.h; HTTP status in CODE.
fetch() {
	local path=$1 out=$2
	shift 2
	CODE=$(curl -sS --max-time 20 --noproxy '*' -D "$out.h" -o "$out" -w '%{http_code}' \
		"$@" "$BASE$path" 2>"$T/curl.err")
}

# ------------------------------------------------------------- CA certificates
fetch /ca/root.der "$T/root.der"
assert_eq "$CODE" 200 "GET /ca/root.der"
assert_contains_i "$(cat "$T/root.der.h")" "content-type: application/pkix-cert" "root as pkix-cert"
assert_eq "$(openssl x509 -inform DER -in "$T/root.der" -noout -fingerprint -sha256 2>&1)" \
	"$(openssl x509 -in "$ROOT" -noout -fingerprint -sha256)" "/ca/root.der is the root"
fetch /ca/intermediate.der "$T/int.der"
assert_eq "$CODE" 200 "GET /ca/intermediate.der"
assert_eq "$(openssl x509 -inform DER -in "$T/int.der" -noout -fingerprint -sha256 2>&1)" \
	"$(openssl x509 -in "$INT" -noout -fingerprint -sha256)" "/ca/intermediate.der is the intermediate"
fetch /nothing "$T/none"
assert_eq "$CODE" 404 "an unknown path is 404"

# ------------------------------------------------------------------- OCSP, good
# ocsp CERT ISSUER [args]: openssl ocsp against the responder (POST, with a
# nonce), response verified with only the moat root trusted.
ocsp() {
	local cert=$1 issuer=$2
	shift 2
	run openssl ocsp -issuer "$issuer" -cert "$cert" -url "$BASE/ocsp" -CAfile "$ROOT" \
		-timeout 20 "$@"
}
ocsp "$CERT" "$INT"
assert_rc 0 "openssl ocsp (POST) runs"
assert_contains "$OUT" "$CERT: good" "openssl ocsp: good"
assert_contains "$ERR$OUT" "Response verify OK" "openssl ocsp verifies the signature up to the moat root"
assert_match "$OUT" "Next Update: " "the answer has a nextUpdate"
ocsp "$CERT" "$INT" -no_nonce
assert_contains "$OUT" "$CERT: good" "openssl ocsp without a nonce: good"
assert_not_contains "$ERR$OUT" "WARNING" "no warning from openssl ocsp"

# The signer is the delegated OCSP certificate, not the intermediate.
run openssl ocsp -issuer "$INT" -cert "$CERT" -url "$BASE/ocsp" -CAfile "$ROOT" -resp_text -no_nonce
assert_contains "$OUT" "OCSP Signing" "the response carries the delegated signer (EKU OCSP Signing)"
assert_contains "$OUT" "OCSP No Check" "the signer has id-pkix-ocsp-nocheck"
assert_match "$OUT" "Responder Id: [0-9A-F]{40}" "responderID by key hash"

# GET form: base64 of the DER request, URL-encoded (RFC 6960 A.1).
openssl ocsp -issuer "$INT" -cert "$CERT" -no_nonce -reqout "$T/req.der" >/dev/null 2>&1
ENC=$(base64 -w0 "$T/req.der" | sed -e 's/+/%2B/g' -e 's#/#%2F#g' -e 's/=/%3D/g')
fetch "/ocsp/$ENC" "$T/get1.der"
assert_eq "$CODE" 200 "GET /ocsp/<base64>"
assert_contains_i "$(cat "$T/get1.der.h")" "content-type: application/ocsp-response" "GET: ocsp-response"
assert_match "$(cat "$T/get1.der.h")" "[Cc]ache-[Cc]ontrol: max-age=[0-9]+, public, no-transform, must-revalidate" \
	"GET: RFC 5019 Cache-Control"
run openssl ocsp -respin "$T/get1.der" -issuer "$INT" -cert "$CERT" -CAfile "$ROOT"
assert_contains "$OUT" "$CERT: good" "GET answer: good (openssl ocsp -respin)"
assert_contains "$ERR$OUT" "Response verify OK" "GET answer verifies"
fetch "/ocsp/$ENC" "$T/get2.der"
assert_eq "$(sha256sum <"$T/get2.der")" "$(sha256sum <"$T/get1.der")" \
	"the same GET twice: the cached bytes (ECDSA would differ if signed again)"

# -------------------------------------------- revoked, by another process
moat revoke ocsp.test --reason keyCompromise
assert_rc 0 "moat revoke ocsp.test (another process, server running)"
SERIAL=$(openssl x509 -in "$CERT" -noout -serial | cut -d= -f2)
ocsp "$CERT" "$INT"
assert_contains "$OUT" "$CERT: revoked" "openssl ocsp: revoked at once"
assert_contains "$OUT" "Reason: keyCompromise" "openssl ocsp: with the reason"
assert_contains "$ERR$OUT" "Response verify OK" "the revoked answer verifies"
fetch "/ocsp/$ENC" "$T/get3.der"
run openssl ocsp -respin "$T/get3.der" -issuer "$INT" -cert "$CERT" -CAfile "$ROOT"
assert_contains "$OUT" "$CERT: revoked" "the cached GET answer was dropped: revoked"

fetch /crl "$T/crl.der"
assert_eq "$CODE" 200 "GET /crl"
assert_contains_i "$(cat "$T/crl.der.h")" "content-type: application/pkix-crl" "CRL as pkix-crl"
cat "$INT" "$ROOT" >"$T/chain.pem"
run openssl crl -inform DER -in "$T/crl.der" -CAfile "$T/chain.pem" -noout -text
assert_contains "$ERR$OUT" "verify OK" "openssl crl: the CRL's signature verifies"
assert_contains "$OUT" "Serial Number: $SERIAL" "openssl crl: the CRL lists the revoked serial"
assert_contains "$OUT" "Key Compromise" "openssl crl: with its reason"

# ------------------------------------------------------- unknown, unauthorized
# A certificate the intermediate signed but the CA never recorded.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/u.key" \
	-subj /CN=unknown.test -out "$T/u.csr" >/dev/null 2>&1
openssl x509 -req -in "$T/u.csr" -CA "$INT" -CAkey "$CA/intermediate-key.pem" -set_serial 0x7e57 \
	-days 2 -out "$T/unknown.pem" >/dev/null 2>&1
assert_file "$T/unknown.pem" "openssl x509 -req signed a certificate with the intermediate key"
ocsp "$T/unknown.pem" "$INT"
assert_contains "$OUT" "$T/unknown.pem: unknown" "openssl ocsp: a serial the CA never issued is unknown"
assert_contains "$ERR$OUT" "Response verify OK" "the unknown answer verifies"
# Another CA's certificate: not ours to answer.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/o.key" \
	-subj /CN=other-ca -days 2 -out "$T/other.pem" >/dev/null 2>&1
ocsp "$T/other.pem" "$T/other.pem"
assert_contains_i "$OUT$ERR" "unauthorized (6)" "another issuer's CertID: unauthorized"

# ------------------------------------------------------------- malformed, caps
printf 'not an OCSP request' >"$T/junk"
fetch /ocsp "$T/mal.der" -H 'Content-Type: application/ocsp-request' --data-binary @"$T/junk"
assert_eq "$CODE" 200 "a malformed request is answered (HTTP 200)"
run openssl ocsp -respin "$T/mal.der" -resp_text -noverify
assert_contains_i "$OUT$ERR" "malformedrequest (1)" "openssl ocsp reads malformedRequest"
fetch /ocsp/%zz "$T/mal2.der"
run openssl ocsp -respin "$T/mal2.der" -resp_text -noverify
assert_contains_i "$OUT$ERR" "malformedrequest (1)" "a broken GET path: malformedRequest"
head -c 20480 /dev/zero >"$T/big"
fetch /ocsp "$T/big.out" -H 'Content-Type: application/ocsp-request' --data-binary @"$T/big"
assert_eq "$CODE" 413 "a 20 KB POST is refused with 413"
fetch /ocsp "$T/ct.out" -H 'Content-Type: text/plain' --data-binary @"$T/req.der"
assert_eq "$CODE" 415 "a POST that is not application/ocsp-request: 415"
ocsp "$CERT" "$INT"
assert_contains "$OUT" "$CERT: revoked" "the responder still answers after the refusals"

# --------------------------------------------- moat check on a server of ours
moat issue check.test
assert_rc 0 "moat issue check.test"
LIVE=$MOAT_HOME/live/check.test
if start_s_server 127.0.0.1 "$T/s_server.log" -cert "$LIVE/cert.pem" -key "$LIVE/privkey.pem" \
	-cert_chain "$LIVE/chain.pem"; then
	pass "openssl s_server with a certificate of this CA"
	moat check "127.0.0.1:$SERVER_PORT" --servername check.test --ca "$ROOT" --no-http --json -v
	assert_rc 0 "moat check: no error"
	CODES=$(printf '%s' "$OUT" | json_get '" ".join(f["code"] for f in d["targets"][0]["findings"])')
	assert_contains "$CODES" "ocsp-good" "moat check: OCSP checked good"
	assert_contains "$CODES" "crl-good" "moat check: CRL checked good"
	assert_not_contains "$CODES" "no-revocation-info" "moat check: the certificate has revocation info"
	moat revoke check.test
	assert_rc 0 "moat revoke check.test"
	moat check "127.0.0.1:$SERVER_PORT" --servername check.test --ca "$ROOT" --no-http --json
	assert_rc 1 "moat check: an error once revoked"
	CODES=$(printf '%s' "$OUT" | json_get '" ".join(f["code"] for f in d["targets"][0]["findings"])')
	assert_contains "$CODES" "revoked" "moat check: revoked"
else
	fail "openssl s_server with a certificate of this CA"
fi

# ------------------------------------------------------------------ moat ca url
moat ca url
assert_eq "$OUT" "$BASE" "moat ca url shows the URL"
moat ca url --json
assert_eq "$(printf '%s' "$OUT" | json_get 'd["url"]')" "$BASE" "moat ca url --json"
moat ca url 'https://ca.test'
assert_rc 1 "moat ca url refuses https://"
assert_contains "$ERR" "must be http://" "and says why"
moat ca url "$(printf 'http://a\033[31m')"
assert_rc 1 "moat ca url refuses a control character"
assert_not_contains "$ERR" "$(printf '\033')" "the bad URL is escaped in the error"
moat ca url --clear
assert_rc 0 "moat ca url --clear"
moat issue plain.test
run cert_ext "$MOAT_HOME/live/plain.test/cert.pem" authorityInfoAccess
assert_not_contains "$OUT" "OCSP" "without a URL a new certificate names no responder"
moat ca url "http://CA.Test:$HTTP_PORT/"
assert_rc 0 "moat ca url sets a URL"
moat ca url --json
assert_eq "$(printf '%s' "$OUT" | json_get 'd["url"]')" "http://ca.test:$HTTP_PORT" \
	"the URL is kept normalised (lower case, no trailing slash)"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/s.key" \
	-subj /CN=signed.test -addext subjectAltName=DNS:signed.test -out "$T/s.csr" >/dev/null 2>&1
moat sign "$T/s.csr"
assert_rc 0 "moat sign a CSR"
run cert_ext "$MOAT_HOME/live/signed.test/cert.pem" crlDistributionPoints
assert_contains "$OUT" "URI:http://ca.test:$HTTP_PORT/crl" "moat sign: the certificate names the CRL"

if pid_alive "$SERVE_PID"; then
	pass "moat ca serve still running"
else
	fail "moat ca serve still running"
	sed -e 's/^/#   serve: /' "$T/serve.log" | tail -n 20
fi
finish
