#!/usr/bin/env bash
# t_check_fixture: the misconfigured endpoints of lib_check.sh are what they
# claim to be, as seen by software we did not write (openssl s_client /
# verify / ocsp, curl), so that the `moat check` tests can trust them.
# moat itself is not used.  Skipped (exit 77) without nginx or python3.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_check.sh"

check_have_tools || skip_test "$CHECK_MISSING is not installed"

t0=$SECONDS
if check_setup; then
	pass "fixture up (http :$CHECK_HTTP_PORT, ocsp :$CHECK_OCSP_PORT, nginx pid $CHECK_NGINX_PID)"
	check_list
else
	fail "check_setup"
	finish
fi

mkdir -p "$T/empty"
ROOT=$CHECK_ROOT

# lib.sh's run, reading the output back with $(<file) instead of two cats:
# a process costs ~25 ms on a loaded 2-core machine and this test runs ~100.
run() {
	"$@" </dev/null >"$OUT_F" 2>"$ERR_F"
	RC=$?
	OUT=$(<"$OUT_F")
	ERR=$(<"$ERR_F")
	return 0
}

# sclient SCENARIO [ARGS...]: s_client with only the root trusted, strict,
# checking the scenario's name; output in OUT.
sclient() {
	local s=$1
	shift
	run openssl s_client -connect "127.0.0.1:${CHECK_PORT[$s]}" -servername "${CHECK_NAME[$s]}" \
		-verify_hostname "${CHECK_NAME[$s]}" -x509_strict -showcerts \
		-CAfile "$ROOT" -CApath "$T/empty" "$@"
}

# vcode: the "Verify return code" of the last sclient, e.g. "0 (ok)".
vcode() {
	local line v=''
	while IFS= read -r line; do
		if [[ $line =~ ^\ *Verify\ return\ code:\ (.*)$ ]]; then
			v=${BASH_REMATCH[1]}
		fi
	done <"$OUT_F"
	printf '%s\n' "$v"
}

# ccurl SCENARIO [ARGS...]: curl https://NAME:PORT/ with only the root
# trusted; the body in $T/body, headers in $T/headers.
ccurl() {
	local s=$1
	shift
	run curl -sS --max-time 20 --noproxy '*' --cacert "$ROOT" --capath "$T/empty" \
		--resolve "${CHECK_NAME[$s]}:${CHECK_PORT[$s]}:127.0.0.1" \
		-D "$T/headers" -o "$T/body" "$@" "https://${CHECK_NAME[$s]}:${CHECK_PORT[$s]}/"
}

# The chain of the last sclient (-showcerts): "N s:SUBJECT" then "   i:ISSUER".
# nth_subject N, nth_issuer N, nsent (how many certificates were sent).
_chain() {
	local line n=-1
	SUBJ=()
	ISS=()
	while IFS= read -r line; do
		if [[ $line =~ ^\ *([0-9]+)\ s:(.*)$ ]]; then
			n=${BASH_REMATCH[1]}
			SUBJ[n]=${BASH_REMATCH[2]}
		elif [ "$n" -ge 0 ] && [[ $line =~ ^\ *i:(.*)$ ]]; then
			ISS[n]=${BASH_REMATCH[1]}
			n=-1
		fi
	done <"$OUT_F"
}
nth_subject() { _chain && printf '%s\n' "${SUBJ[$1]:-}"; }
nth_issuer() { _chain && printf '%s\n' "${ISS[$1]:-}"; }
nsent() { _chain && echo "${#SUBJ[@]}"; }

# verify_leaf LEAF CHAIN [OPTIONS...]: strict verification against the root.
# shellcheck disable=SC2317 # called through run / assert_ok
verify_leaf() {
	local leaf=$1 untrusted=$2
	shift 2
	openssl verify -x509_strict -purpose sslserver -CAfile "$ROOT" -CApath "$T/empty" \
		-untrusted "$untrusted" "$@" "$leaf"
}

# verify_many CHAIN LEAF...: the same for several leaves ("FILE: OK" each).
# shellcheck disable=SC2317 # called through run
verify_many() {
	local untrusted=$1
	shift
	openssl verify -x509_strict -purpose sslserver -CAfile "$ROOT" -CApath "$T/empty" \
		-untrusted "$untrusted" "$@"
}

# ---------------------------------------------------------- every endpoint
for s in "${CHECK_TLS_SCENARIOS[@]}"; do
	args=()
	case $s in
	weak | sha1 | tls10) args=(--ciphers "$CHECK_SECLEVEL0") ;;
	esac
	ccurl "$s" -k "${args[@]}"
	assert_eq "$RC:$(<"$T/body")" "0:moat-fixture $s" \
		"$s: https://${CHECK_NAME[$s]}:PORT/ answers (curl -k) and names itself"
done
run curl -sS --max-time 10 --noproxy '*' -o "$T/body" "http://127.0.0.1:${CHECK_PORT[plain]}/"
assert_eq "$RC:$(<"$T/body")" "0:moat-fixture plain" "plain: answers plain HTTP"
sclient plain
assert_ne "$RC" 0 "plain: no TLS handshake on the plain port"

if command -v ss >/dev/null 2>&1; then
	# every listening address of ours: 127.0.0.1:PORT, nothing else
	listeners=" $(ss -Hltn 2>/dev/null | awk '{print $4}' | tr '\n' ' ')"
	bad=''
	for p in "${CHECK_PORT[@]}" "$CHECK_HTTP_PORT" "$CHECK_OCSP_PORT"; do
		if [[ $listeners != *" 127.0.0.1:$p "* ]]; then
			bad+=" $p:not-on-127.0.0.1"
		fi
		if [[ $listeners =~ \ (\*|0\.0\.0\.0|\[::\]|\[::1\]):$p\  ]]; then
			bad+=" $p:also-elsewhere"
		fi
	done
	assert_eq "$bad" "" "every server listens on 127.0.0.1 only"
else
	skip_part "ss not installed: listener addresses not checked"
fi

# -------------------------------------------------------- the certificates
# (one openssl verify for all of int's leaves: it prints "FILE: OK" for each)
leaves=()
for s in good leafonly unrelated withroot expiring wronghost revokedocsp \
	revokedcrl cnonly weak sha1 tls10 nohsts; do
	leaves+=("${CHECK_LEAF[$s]}")
done
run verify_many "$CHECK_INT" "${leaves[@]}"
for s in good leafonly unrelated withroot expiring wronghost revokedocsp \
	revokedcrl cnonly weak sha1 tls10 nohsts; do
	assert_contains "$OUT" "${CHECK_LEAF[$s]}: OK" \
		"$s: leaf verifies (openssl verify -x509_strict -purpose sslserver, root + int)"
done
assert_ok "wrongorder: leaf verifies (root + intB + intB2)" \
	verify_leaf "${CHECK_LEAF[wrongorder]}" "${CHECK_CHAIN[wrongorder]}"
run verify_leaf "${CHECK_LEAF[expired]}" "${CHECK_CHAIN[expired]}"
assert_contains "$OUT$ERR" "certificate has expired" "expired: openssl verify says 'certificate has expired'"
assert_ok "expired: verifies but for the time (-no_check_time)" \
	verify_leaf "${CHECK_LEAF[expired]}" "${CHECK_CHAIN[expired]}" -no_check_time
run verify_leaf "${CHECK_LEAF[selfsigned]}" "${CHECK_CHAIN[selfsigned]}"
assert_ne "$RC" 0 "selfsigned: does not verify against the root"
assert_ok "selfsigned: is its own issuer (verifies with itself as CA)" \
	openssl verify -CAfile "${CHECK_LEAF[selfsigned]}" -CApath "$T/empty" "${CHECK_LEAF[selfsigned]}"
assert_ok "the intermediate verifies against the root" \
	openssl verify -x509_strict -CAfile "$ROOT" -CApath "$T/empty" "$CHECK_INT"
assert_eq "$(cert_ext "$CHECK_INT" basicConstraints | tail -n 1 | tr -d ' ')" \
	"CA:TRUE,pathlen:0" "the intermediate has pathlen 0"
assert_ok "the OCSP responder's certificate verifies (ocspsigner)" \
	openssl verify -x509_strict -purpose ocsphelper -CAfile "$ROOT" -CApath "$T/empty" \
	-untrusted "$CHECK_INT" "$CHECK_OCSP_CERT"

# key and signature algorithms
run openssl x509 -in "${CHECK_LEAF[good]}" -noout -text
assert_contains "$OUT" "id-ecPublicKey" "good: ECDSA key"
assert_contains "$OUT" "NIST CURVE: P-256" "good: P-256"
assert_contains "$OUT" "ecdsa-with-SHA256" "good: signed with SHA-256"
run openssl x509 -in "${CHECK_LEAF[weak]}" -noout -text
assert_contains "$OUT" "Public-Key: (1024 bit)" "weak: RSA 1024 key"
run openssl x509 -in "${CHECK_LEAF[sha1]}" -noout -text
assert_contains "$OUT" "Signature Algorithm: ecdsa-with-SHA1" "sha1: signed with SHA-1"
assert_eq "$(cert_ext "${CHECK_LEAF[cnonly]}" subjectAltName)" "" "cnonly: no subjectAltName"
assert_contains "$(openssl x509 -in "${CHECK_LEAF[cnonly]}" -noout -subject)" "CN = cnonly.test" \
	"cnonly: CN = cnonly.test"
assert_contains "$(cert_ext "${CHECK_LEAF[good]}" subjectAltName)" \
	"DNS:good.test, DNS:localhost, IP Address:127.0.0.1" "good: SAN good.test, localhost, 127.0.0.1"

# validity
assert_ok "expiring: still valid in $((CHECK_EXPIRING_DAYS - 1)) days" \
	openssl x509 -in "${CHECK_LEAF[expiring]}" -noout -checkend $(((CHECK_EXPIRING_DAYS - 1) * 86400))
assert_fails "expiring: no longer valid in $((CHECK_EXPIRING_DAYS + 1)) days" \
	openssl x509 -in "${CHECK_LEAF[expiring]}" -noout -checkend $(((CHECK_EXPIRING_DAYS + 1) * 86400))
assert_ok "good: valid for 60 more days (no 'expiring' warning)" \
	openssl x509 -in "${CHECK_LEAF[good]}" -noout -checkend $((60 * 86400))
assert_fails "expired: no longer valid" openssl x509 -in "${CHECK_LEAF[expired]}" -noout -checkend 0

# ------------------------------------------------------------------- good
sclient good -status
assert_eq "$(vcode)" "0 (ok)" "good: s_client verifies (root only, -x509_strict, -verify_hostname)"
assert_eq "$(nsent)" 2 "good: sends leaf + intermediate"
assert_contains "$(nth_subject 1)" "moat fixture Intermediate CA" "good: second certificate is the intermediate"
assert_contains "$OUT" "OCSP Response Status: successful" "good: OCSP staple present"
assert_contains "$OUT" "Cert Status: good" "good: stapled status good"
assert_contains "$OUT" "New, TLSv1.3, Cipher is" "good: TLS 1.3"
ccurl good
assert_eq "$RC:$(<"$T/body")" "0:moat-fixture good" "good: curl verifies with only the root"
assert_contains_i "$(<"$T/headers")" "Strict-Transport-Security: max-age=31536000" "good: HSTS header"
run curl -sS --max-time 20 --noproxy '*' --cacert "$ROOT" --capath "$T/empty" -o /dev/null \
	"https://127.0.0.1:${CHECK_PORT[good]}/"
assert_rc 0 "good: curl https://127.0.0.1:PORT/ (IP SAN, no SNI)"
assert_eq "$(check_ocsp_status good)" good "good: the OCSP responder says good"
assert_ok "good: not revoked by the CRLs (verify -crl_check_all)" \
	verify_leaf "${CHECK_LEAF[good]}" "${CHECK_CHAIN[good]}" -crl_check_all \
	-CRLfile "$CHECK_CRL" -CRLfile "$CHECK_ROOT_CRL"
run openssl s_client -connect "127.0.0.1:${CHECK_PORT[good]}" -servername good.test \
	-tls1 -cipher "$CHECK_SECLEVEL0"
assert_ne "$RC" 0 "good: refuses TLS 1.0"

# ----------------------------------------------------------- AIA caIssuers
for s in good leafonly revokedocsp revokedcrl; do
	url=$(openssl x509 -in "${CHECK_LEAF[$s]}" -noout -ext authorityInfoAccess |
		sed -n 's/^ *CA Issuers - URI://p')
	assert_eq "$url" "$CHECK_AIA_URL" "$s: caIssuers URL is $CHECK_AIA_URL"
done
url=$(openssl x509 -in "${CHECK_LEAF[wrongorder]}" -noout -ext authorityInfoAccess |
	sed -n 's/^ *CA Issuers - URI://p')
assert_eq "$url" "$CHECK_HTTP_URL/intb2.der" "wrongorder: caIssuers URL names intb2.der"
run curl -sS --max-time 10 --noproxy '*' -D "$T/headers" -o "$T/aia.der" "$CHECK_AIA_URL"
assert_rc 0 "caIssuers URL fetched"
assert_contains_i "$(<"$T/headers")" "Content-Type: application/pkix-cert" "caIssuers: application/pkix-cert"
run openssl x509 -inform DER -in "$T/aia.der" -out "$T/aia.pem"
assert_rc 0 "caIssuers answer is one DER certificate"
assert_eq "$(cert_fp "$T/aia.pem")" "$(cert_fp "$CHECK_INT")" "caIssuers answer is the intermediate"
assert_contains "$(<"$CHECK_HTTP_LOG")" "GET /int.der 200" "the HTTP server logs the fetch"
run curl -sS --max-time 10 --noproxy '*' -o /dev/null -w '%{http_code}' "$CHECK_HTTP_URL/"
assert_eq "$OUT" 404 "the HTTP server lists no directory"

# --------------------------------------------------------------- leafonly
sclient leafonly
assert_contains "$OUT$ERR" "verify error:num=20:unable to get local issuer certificate" \
	"leafonly: s_client: unable to get local issuer certificate"
assert_eq "$(vcode)" "21 (unable to verify the first certificate)" \
	"leafonly: s_client: (and so) unable to verify the first certificate"
assert_eq "$(nsent)" 1 "leafonly: sends the leaf alone"
ccurl leafonly
assert_rc 60 "leafonly: curl fails (60)"
assert_contains "$ERR" "unable to get local issuer certificate" "leafonly: curl: unable to get local issuer certificate"
check_sent_chain leafonly "$T/leafonly-sent.pem"
run verify_leaf "$T/leafonly-sent.pem" "$T/leafonly-sent.pem"
assert_ne "$RC" 0 "leafonly: what is sent does not verify alone"
assert_ok "leafonly: it does with the intermediate (fetched by caIssuers) as untrusted" \
	verify_leaf "$T/leafonly-sent.pem" "$T/aia.pem"

# ------------------------------------------------------------- wrongorder
sclient wrongorder
assert_eq "$(nsent)" 3 "wrongorder: sends 3 certificates"
assert_contains "$(nth_subject 0)" "CN = wrongorder.test" "wrongorder: leaf first"
assert_contains "$(nth_issuer 0)" "Intermediate B2" "wrongorder: the leaf's issuer is B2"
assert_contains "$(nth_subject 1)" "Intermediate B" "wrongorder: ... but B comes second"
assert_not_contains "$(nth_subject 1)" "B2" "wrongorder: (second is not B2)"
assert_contains "$(nth_subject 2)" "Intermediate B2" "wrongorder: and B2 third"
assert_eq "$(vcode)" "0 (ok)" "wrongorder: OpenSSL still builds the chain (order is not fatal)"
ccurl wrongorder
assert_rc 0 "wrongorder: curl succeeds"

# -------------------------------------------------------------- unrelated
sclient unrelated
assert_eq "$(nsent)" 3 "unrelated: sends 3 certificates"
assert_contains "$(nth_subject 1)" "moat fixture Intermediate CA" "unrelated: the intermediate second"
assert_contains "$(nth_subject 2)" "Unrelated Intermediate CA" "unrelated: an unrelated intermediate third"
assert_eq "$(vcode)" "0 (ok)" "unrelated: still verifies"

# --------------------------------------------------------------- withroot
sclient withroot
assert_eq "$(nsent)" 3 "withroot: sends 3 certificates"
assert_contains "$(nth_subject 2)" "moat fixture Root CA" "withroot: the root third"
assert_contains "$(nth_issuer 2)" "moat fixture Root CA" "withroot: (self-issued)"
assert_eq "$(vcode)" "0 (ok)" "withroot: verifies (harmless)"
ccurl withroot
assert_rc 0 "withroot: curl succeeds"

# ---------------------------------------------------- expired / expiring
sclient expired
assert_eq "$(vcode)" "10 (certificate has expired)" "expired: s_client: certificate has expired"
ccurl expired
assert_rc 60 "expired: curl fails (60)"
assert_contains "$ERR" "certificate has expired" "expired: curl: certificate has expired"
sclient expiring
assert_eq "$(vcode)" "0 (ok)" "expiring: still verifies"
ccurl expiring
assert_rc 0 "expiring: curl succeeds"

# -------------------------------------------------------------- wronghost
sclient wronghost
assert_eq "$(vcode)" "62 (hostname mismatch)" "wronghost: s_client: hostname mismatch for wrong.test"
assert_contains "$(nth_subject 0)" "CN = other.test" "wronghost: the certificate is for other.test"
ccurl wronghost
assert_rc 60 "wronghost: curl fails (60)"
assert_contains "$ERR" "wrong.test" "wronghost: curl names the host it wanted"
run openssl s_client -connect "127.0.0.1:${CHECK_PORT[wronghost]}" -servername other.test \
	-verify_hostname other.test -CAfile "$ROOT" -CApath "$T/empty"
assert_eq "$(vcode)" "0 (ok)" "wronghost: the chain itself is fine (as other.test)"

# ------------------------------------------------------------- selfsigned
sclient selfsigned
assert_eq "$(vcode)" "18 (self-signed certificate)" "selfsigned: s_client: self-signed certificate"
assert_eq "$(nsent)" 1 "selfsigned: sends one certificate"
ccurl selfsigned
assert_rc 60 "selfsigned: curl fails (60)"
assert_contains "$ERR" "self-signed certificate" "selfsigned: curl: self-signed certificate"

# ------------------------------------------------------------ revocation
assert_eq "$(check_ocsp_status revokedocsp)" revoked "revokedocsp: the OCSP responder says revoked"
run openssl ocsp -issuer "$CHECK_INT" -cert "${CHECK_LEAF[revokedocsp]}" \
	-url "$(openssl x509 -in "${CHECK_LEAF[revokedocsp]}" -noout -ocsp_uri)" -CAfile "$ROOT"
assert_contains "$OUT" "Reason: keyCompromise" "revokedocsp: by the URL in the certificate, keyCompromise"
assert_contains "$ERR" "Response verify OK" "revokedocsp: the OCSP answer verifies"
assert_eq "$(cert_ext "${CHECK_LEAF[revokedocsp]}" crlDistributionPoints)" "" \
	"revokedocsp: no CRL distribution point"
sclient revokedocsp
assert_eq "$(vcode)" "0 (ok)" "revokedocsp: the handshake verifies (revocation needs OCSP)"
assert_not_contains "$OUT" "OCSP Response Status" "revokedocsp: no staple" # (-status not asked)

crl_url=$(cert_ext "${CHECK_LEAF[revokedcrl]}" crlDistributionPoints | sed -n 's/^ *URI://p')
assert_eq "$crl_url" "$CHECK_CRL_URL" "revokedcrl: CRL DP is $CHECK_CRL_URL"
assert_eq "$(openssl x509 -in "${CHECK_LEAF[revokedcrl]}" -noout -ocsp_uri)" "" \
	"revokedcrl: no OCSP URL"
run curl -sS --max-time 10 --noproxy '*' -D "$T/headers" -o "$T/crl.der" "$crl_url"
assert_rc 0 "revokedcrl: CRL fetched from its DP URL"
assert_contains_i "$(<"$T/headers")" "Content-Type: application/pkix-crl" "CRL: application/pkix-crl"
assert_ok "revokedcrl: the CRL is DER, signed by the intermediate" \
	openssl crl -inform DER -in "$T/crl.der" -out "$T/crl.pem" -CAfile "$CHECK_INT"
run verify_leaf "${CHECK_LEAF[revokedcrl]}" "${CHECK_CHAIN[revokedcrl]}" -crl_check -CRLfile "$T/crl.pem"
assert_contains "$OUT$ERR" "certificate revoked" "revokedcrl: openssl verify -crl_check: certificate revoked"
assert_ok "revokedcrl: good is not on that CRL" \
	verify_leaf "${CHECK_LEAF[good]}" "${CHECK_CHAIN[good]}" -crl_check -CRLfile "$T/crl.pem"
sclient revokedcrl
assert_eq "$(vcode)" "0 (ok)" "revokedcrl: the handshake verifies (revocation needs the CRL)"

# ------------------------------------------------------------------ cnonly
sclient cnonly
# OpenSSL still falls back to the CN when there is no subjectAltName.
assert_eq "$(vcode)" "0 (ok)" "cnonly: s_client accepts it (CN fallback)"
assert_not_contains "$OUT" "X509v3 Subject Alternative Name" "cnonly: (no SAN)"
ccurl cnonly
note "cnonly: curl (CN fallback?): exit $RC${ERR:+ (${ERR%%$'\n'*})}"

# ------------------------------------------------------------ weak / sha1
# (OpenSSL's levels: 1 = 80 bits, 2 = 112 bits; RSA 1024 counts 80, a SHA-1
# signature 63.  The default level is the distribution's: Debian 12's is 2.)
sclient weak -auth_level 1
assert_eq "$(vcode)" "0 (ok)" "weak: verifies at -auth_level 1 (RSA 1024 = 80 bits)"
sclient weak -auth_level 2
assert_eq "$(vcode)" "66 (EE certificate key too weak)" "weak: -auth_level 2: EE certificate key too weak"
ccurl weak
note "weak: curl at this OpenSSL's default level: exit $RC${ERR:+ (${ERR%%$'\n'*})}"
sclient sha1 -auth_level 1
assert_eq "$(vcode)" "68 (CA signature digest algorithm too weak)" \
	"sha1: -auth_level 1: CA signature digest algorithm too weak"
sclient sha1 -auth_level 0
assert_eq "$(vcode)" "0 (ok)" "sha1: verifies at -auth_level 0"
ccurl sha1
assert_rc 60 "sha1: curl fails (60)"

# ------------------------------------------------------------------ tls10
sclient tls10
assert_contains "$OUT" "New, TLSv1.3, Cipher is" "tls10: TLS 1.3 still offered"
if [ "$CHECK_TLS10" = yes ]; then
	for v in tls1 tls1_1; do
		sclient tls10 "-$v" -cipher "$CHECK_SECLEVEL0"
		assert_rc 0 "tls10: s_client -$v connects (client at @SECLEVEL=0)"
		assert_match "$OUT" "Protocol *: TLSv1(\.1)?$" "tls10: -$v negotiated"
	done
	ccurl tls10 --tlsv1.0 --tls-max 1.0 --ciphers "$CHECK_SECLEVEL0"
	assert_rc 0 "tls10: curl --tls-max 1.0 succeeds"
	sclient tls10 -tls1
	assert_ne "$RC" 0 "tls10: a client at the default level refuses TLS 1.0"
else
	skip_part "tls10 assertions: this OpenSSL/nginx cannot do TLS 1.0 (CHECK_TLS10=no)"
fi

# ------------------------------------------------------------------ nohsts
ccurl nohsts
assert_rc 0 "nohsts: curl succeeds"
assert_not_contains "$(<"$T/headers")" "Strict-Transport-Security" "nohsts: no HSTS header"

# ------------------------------------------------------ plain / redirect
run curl -sS --max-time 10 --noproxy '*' -D "$T/headers" -o /dev/null \
	--resolve "good.test:${CHECK_PORT[redirect]}:127.0.0.1" "http://good.test:${CHECK_PORT[redirect]}/x?y=1"
assert_match "$(<"$T/headers")" "^HTTP/1\.1 308" "redirect: 308"
assert_contains "$(<"$T/headers")" "Location: https://good.test:${CHECK_PORT[good]}/x?y=1" \
	"redirect: Location https://good.test:GOODPORT/x?y=1"
run curl -sS -L --max-time 10 --noproxy '*' --cacert "$ROOT" --capath "$T/empty" -o "$T/body" \
	--resolve "good.test:${CHECK_PORT[redirect]}:127.0.0.1" \
	--resolve "good.test:${CHECK_PORT[good]}:127.0.0.1" "http://good.test:${CHECK_PORT[redirect]}/"
assert_eq "$RC:$(<"$T/body")" "0:moat-fixture good" "redirect: followed, lands on good"
run curl -sS --max-time 10 --noproxy '*' -D "$T/headers" -o /dev/null "http://127.0.0.1:${CHECK_PORT[plain]}/"
assert_not_contains "$(<"$T/headers")" "Location:" "plain: no redirect"

# -------------------------------------------- fixing a chain (check_serve)
# What --fix-chain is to do, done by hand: serve leafonly's full chain.
if check_serve leafonly "${CHECK_FULLCHAIN[leafonly]}"; then
	pass "check_serve: leafonly now sends leaf + intermediate"
	ccurl leafonly
	assert_rc 0 "leafonly with the full chain: curl succeeds"
	sclient good -status
	assert_contains "$OUT" "Cert Status: good" "good: stapling back after the reload"
	check_serve leafonly "${CHECK_SENT_ORIG[leafonly]}"
	ccurl leafonly
	assert_rc 60 "leafonly restored: curl fails again"
else
	fail "check_serve leafonly"
fi

note "fixture test took $((SECONDS - t0))s"
finish
