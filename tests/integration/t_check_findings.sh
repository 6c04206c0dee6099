#!/usr/bin/env bash
# t_check_findings: the findings of `moat check` (docs/check.md) that t_check.sh
# does not produce, one minimal fixture each (lib_check.sh's "more" scenarios:
# nginx, `openssl ca`, the OCSP responder and file server of lib_check.sh,
# findings_srv.py's odd peers), with the exact codes and the exit status moat
# documents; and the options --timeout and --no-http.  Each fixture is first
# shown to be what it claims by software we did not write (openssl verify /
# s_client / ocsp / crl, curl).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_check.sh"

check_have_tools || skip_test "$CHECK_MISSING is not installed"
if check_more_setup; then
	pass "fixture up"
else
	fail "check_more_setup"
	finish
fi
ROOT=$CHECK_ROOT
mkdir -p "$T/empty"

# mcheck SCENARIO [ARGS...]: moat check https://NAME:PORT/ --ca ROOT --json
mcheck() {
	local s=$1
	shift
	run "$MOAT" check "https://${CHECK_NAME[$s]}:${CHECK_PORT[$s]}/" --connect-to 127.0.0.1 \
		--ca "$ROOT" --json "$@"
}
codes() { check_codes "$OUT_F" "$1"; }
has_code() { codes "$1" | tr ' ' '\n' | grep -qx "$2"; }
# finding CODE: the message of the first finding CODE in the last JSON.
finding() {
	json_get "[f[\"message\"] for t in d[\"targets\"] for f in t[\"findings\"] if f[\"code\"] == \"$1\"][0]" <"$OUT_F"
}
# target KEY: a key of the (only) target of the last JSON.
target() { json_get "d[\"targets\"][0][\"$1\"]" <"$OUT_F"; }

# expect WHAT EXIT "ERRORS" "WARNINGS": the last run's exit status and its
# error and warning codes, exactly.
expect() {
	assert_rc "$2" "$1: exit $2"
	assert_eq "$(codes error)" "$3" "$1: error findings are exactly [$3]"
	assert_eq "$(codes warning)" "$4" "$1: warning findings are exactly [$4]"
}

# vfail SCENARIO TEXT: strict `openssl verify` of the scenario's leaf and
# chain against the root fails with TEXT.
vfail() {
	run verify_server "${CHECK_LEAF[$1]}" "${CHECK_CHAIN[$1]}" "$ROOT"
	if [ "$RC" -ne 0 ] && grep -qF -- "$2" <<<"$OUT$ERR"; then
		pass "$1 (fixture): openssl verify: $2"
	else
		fail "$1 (fixture): openssl verify did not fail with '$2' (exit $RC)"
		show_last
	fi
}

# sclient SCENARIO [ARGS...]: s_client with the scenario's name.
sclient() {
	local s=$1
	shift
	run openssl s_client -connect "127.0.0.1:${CHECK_PORT[$s]}" -servername "${CHECK_NAME[$s]}" \
		-CAfile "$ROOT" -CApath "$T/empty" "$@"
}

# now_ms: the time in milliseconds (bash's EPOCHREALTIME: no process).
now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	echo $((t / 1000))
}

# What --no-http is tested with: access-nohttp.log (nginx) and the helper's log.
ACC=$CHECK_MORE_NGINX_DIR/access-nohttp.log
# moat_lines: requests moat made to the nohttp endpoint, as nginx logged them.
moat_lines() { grep -c 'moat-check' "$ACC" || true; }
# shellcheck disable=SC2317 # called through poll_pid
more_lines_than() { [ "$(moat_lines)" -gt "$1" ]; }
# shellcheck disable=SC2317 # called through poll_pid
marker_logged() { grep -q -- "$1" "$ACC"; }

# ---------------------------------------------------- the chain does not verify
assert_ok "nohttp (fixture): the control leaf verifies" \
	verify_server "${CHECK_LEAF[nohttp]}" "${CHECK_CHAIN[nohttp]}" "$ROOT"
vfail notyet "certificate is not yet valid"
vfail badsig "certificate signature failure"
vfail notca "invalid CA certificate"
vfail nameconstr "excluded subtree violation"
vfail critext "unhandled critical extension"
assert_eq "$(openssl x509 -in "$CHECK_BADSIG_INT" -noout -pubkey)" \
	"$(openssl x509 -in "$CHECK_INT" -noout -pubkey)" \
	"badsig (fixture): the damaged intermediate is int but for its signature"

mcheck notyet
expect notyet 1 "not-yet-valid" ""
assert_contains "$(finding not-yet-valid)" "the certificate \"notyet.test\" is not valid yet" \
	"notyet: says the leaf is not valid yet"
# the same leaf and chain as files
run "$MOAT" check "${CHECK_LEAF[notyet]}" --chain "${CHECK_CHAIN[notyet]}" \
	--servername "${CHECK_NAME[notyet]}" --ca "$ROOT" --json
expect "notyet as files" 1 "not-yet-valid" ""

mcheck badsig
expect badsig 1 "bad-signature" ""
assert_contains "$(finding bad-signature)" "at depth 1" "badsig: names the intermediate's depth"

mcheck notca
expect notca 1 "not-ca" ""
assert_contains "$(finding not-ca)" "depth 1" "notca: names the depth of the non-CA issuer"

mcheck nameconstr
expect nameconstr 1 "name-constraints" ""

mcheck critext
expect critext 1 "verify-failed" ""
assert_contains "$(finding verify-failed)" "unhandled critical extension" \
	"critext: says why (OpenSSL's reason)"

# ------------------------------------------------------------- protocol versions
sclient tls13only -tls1_2
assert_ne "$RC" 0 "tls13only (fixture): s_client -tls1_2 fails"
sclient tls13only -tls1_3
assert_rc 0 "tls13only (fixture): s_client -tls1_3 connects"
mcheck tls13only
expect tls13only 0 "" "no-tls12"
assert_eq "$(target version)" "TLSv1.3" "tls13only: TLS 1.3 negotiated"

sclient tls12only -tls1_3
assert_ne "$RC" 0 "tls12only (fixture): s_client -tls1_3 fails"
sclient tls12only -tls1_2
assert_rc 0 "tls12only (fixture): s_client -tls1_2 connects"
mcheck tls12only
expect tls12only 0 "" ""
if has_code info no-tls13; then pass "tls12only: no-tls13 (info)"; else fail "tls12only: no-tls13 missing (got info: $(codes info))"; fi
assert_eq "$(target version)" "TLSv1.2" "tls12only: TLS 1.2 negotiated"

# No common cipher: TLS 1.2 with PSK suites only.
sclient nocipher
assert_ne "$RC" 0 "nocipher (fixture): s_client fails"
assert_contains "$ERR" "handshake failure" "nocipher (fixture): s_client: handshake failure alert"
mcheck nocipher
expect nocipher 1 "handshake-failed" ""
assert_eq "$(target reached):$(target unreachable)" "false:false" \
	"nocipher: reached no handshake, but not unreachable"

# TLS 1.0 and 1.1 only.  With this machine's OpenSSL defaults (security
# level 1 or more: no TLS below 1.2) moat's first handshake fails, so moat
# says handshake-failed, not old-tls-only (see the report of issue 15);
# old-tls-only needs a client OpenSSL that offers TLS 1.0 by default, as
# OPENSSL_CONF can make it (a distribution's "legacy" policy does the same).
sclient oldonly -tls1_2
assert_ne "$RC" 0 "oldonly (fixture): s_client -tls1_2 fails"
mcheck oldonly
expect "oldonly (default OpenSSL settings)" 1 "handshake-failed" ""
sclient oldonly -tls1 -cipher "$CHECK_SECLEVEL0"
if [ "$RC" -eq 0 ]; then
	pass "oldonly (fixture): s_client -tls1 at @SECLEVEL=0 connects"
	printf '%s\n' 'openssl_conf = openssl_init' '[openssl_init]' 'ssl_conf = ssl_sect' \
		'[ssl_sect]' 'system_default = system_default_sect' '[system_default_sect]' \
		'MinProtocol = TLSv1' "CipherString = $CHECK_SECLEVEL0" >"$T/legacy.cnf"
	run env OPENSSL_CONF="$T/legacy.cnf" "$MOAT" check \
		"https://${CHECK_NAME[oldonly]}:${CHECK_PORT[oldonly]}/" --connect-to 127.0.0.1 \
		--ca "$ROOT" --json
	expect "oldonly (client OpenSSL offers TLS 1.0)" 1 "old-tls-only" "old-tls"
	assert_eq "$(target version)" "TLSv1.1" "oldonly: TLS 1.1 negotiated"
	assert_contains "$(finding old-tls)" "TLS 1.0, TLS 1.1" "oldonly: old-tls names both versions"
else
	# (allow-listed: an OpenSSL built without TLS 1.0/1.1 cannot serve them)
	skip_part "old-tls-only: this OpenSSL/nginx cannot serve TLS 1.0 ($(tail -n 1 "$ERR_F"))"
fi

# ------------------------------------------------------------------ revocation
assert_eq "$(check_ocsp_status ocspunknown)" unknown "ocspunknown (fixture): the responder says unknown"
assert_eq "$(check_ocsp_status nohttp)" good "nohttp (fixture): the responder knows int's other leaves"
mcheck ocspunknown
expect ocspunknown 0 "" "ocsp-unknown"
assert_contains "$(finding ocsp-unknown)" "$CHECK_OCSP_URL" "ocspunknown: names the responder"

garbage_url=http://127.0.0.1:${CHECK_HELPER_PORT[garbage]}/
run curl -sS --max-time 10 --noproxy '*' -o "$T/garbage.out" -w '%{http_code}' \
	-H 'Content-Type: application/ocsp-request' --data-binary 'x' "$garbage_url"
assert_eq "$RC:$OUT:$(<"$T/garbage.out")" "0:200:this is not an OCSP response" \
	"ocspgarbage (fixture): the responder answers 200 with text"
n0=$(grep -c '^garbage POST / moat-check' "$CHECK_HELPER_LOG")
mcheck ocspgarbage
expect ocspgarbage 0 "" "ocsp-bad-response"
assert_contains "$(finding ocsp-bad-response)" "$garbage_url" "ocspgarbage: names the responder"
assert_eq "$(grep -c '^garbage POST / moat-check' "$CHECK_HELPER_LOG")" "$((n0 + 1))" \
	"ocspgarbage: moat POSTed one request to it"

# The staple nginx sends is a real, signed answer -- about good's leaf.
sclient staplebad -status
assert_contains "$OUT" "OCSP Response Status: successful" "staplebad (fixture): nginx staples an answer"
got=$(sed -n 's/^ *Serial Number: *//p' "$OUT_F" | head -n 1)
assert_eq "$(norm_hex "$got")" "$(cert_serial "${CHECK_LEAF[good]}")" \
	"staplebad (fixture): the stapled answer is about good's leaf"
mcheck staplebad
expect staplebad 0 "" "ocsp-staple-bad"
assert_contains "$(finding ocsp-staple-bad)" "not about this certificate" \
	"staplebad: says the staple is about another certificate"

dead_url=http://127.0.0.1:${CHECK_HELPER_PORT[dead]}/int.crl
run curl -sS --max-time 10 --noproxy '*' -o /dev/null "$dead_url"
assert_rc 7 "crldead (fixture): curl cannot connect (7)"
mcheck crldead
expect crldead 0 "" "crl-unreachable"
assert_contains "$(finding crl-unreachable)" "$dead_url" "crldead: names the URL"

run curl -sS --max-time 10 --noproxy '*' -o "$T/garbage.crl" "$CHECK_HTTP_URL/garbage.crl"
assert_rc 0 "crlgarbage (fixture): the URL answers"
assert_fails "crlgarbage (fixture): openssl crl cannot read it (DER)" \
	openssl crl -inform DER -in "$T/garbage.crl" -noout
assert_fails "crlgarbage (fixture): openssl crl cannot read it (PEM)" \
	openssl crl -in "$T/garbage.crl" -noout
mcheck crlgarbage
expect crlgarbage 0 "" "crl-bad"
assert_contains "$(finding crl-bad)" "cannot be read" "crlgarbage: the CRL cannot be read"

run openssl crl -inform DER -in "$CHECK_PUB/root.crl" -noout -issuer -nameopt RFC2253
assert_contains "$OUT" "CN=moat fixture Root CA" "crlother (fixture): the CRL is root's"
mcheck crlother
expect crlother 0 "" "crl-bad"
assert_contains "$(finding crl-bad)" "is not valid" "crlother: the CRL is not valid for the leaf"

# -------------------------------------------------------------------- --no-http
# The HTTP checks are an HTTPS GET to the endpoint (HSTS; nginx logs it in
# access-nohttp.log) and, with --http-port, a plain GET to that port (the
# helper's plain peer logs it before it answers).
a0=$(moat_lines)
p0=$(grep -c '^plain GET / moat-check' "$CHECK_HELPER_LOG")
mcheck nohttp --http-port "${CHECK_HELPER_PORT[plain]}"
expect "nohttp with HTTP" 0 "" "no-redirect"
if has_code info hsts; then pass "nohttp with HTTP: hsts noted"; else fail "nohttp with HTTP: hsts missing (got info: $(codes info))"; fi
assert_eq "$(grep -c '^plain GET / moat-check' "$CHECK_HELPER_LOG")" "$((p0 + 1))" \
	"nohttp with HTTP: one plain GET reached the --http-port listener"
if poll_pid "$CHECK_MORE_NGINX_PID" 10 more_lines_than "$a0"; then
	pass "nohttp with HTTP: the HTTPS GET reached nginx"
else
	fail "nohttp with HTTP: no moat-check request in $ACC"
fi

a0=$(moat_lines)
p0=$(grep -c '^plain ' "$CHECK_HELPER_LOG")
mcheck nohttp --http-port "${CHECK_HELPER_PORT[plain]}" --no-http
expect "nohttp --no-http" 0 "" ""
for c in hsts no-hsts http-redirect no-redirect no-http; do
	if has_code info "$c" || has_code warning "$c"; then
		fail "--no-http: still a $c finding"
	else
		pass "--no-http: no $c finding"
	fi
done
if has_code info trusted; then pass "--no-http: the rest of the check ran (trusted)"; else fail "--no-http: trusted missing"; fi
assert_eq "$(grep -c '^plain ' "$CHECK_HELPER_LOG")" "$p0" "--no-http: nothing reached the plain HTTP listener"
# nginx logs a request when it ends: a marker request after moat's run is
# logged after any request moat made, so once the marker is there, the log
# says all there is to say.
run curl -sS --max-time 10 --noproxy '*' -k -A marker-after-no-http -o /dev/null \
	--resolve "${CHECK_NAME[nohttp]}:${CHECK_PORT[nohttp]}:127.0.0.1" \
	"https://${CHECK_NAME[nohttp]}:${CHECK_PORT[nohttp]}/"
if poll_pid "$CHECK_MORE_NGINX_PID" 10 marker_logged marker-after-no-http; then
	assert_eq "$(moat_lines)" "$a0" "--no-http: no HTTPS request reached nginx"
else
	fail "--no-http: the marker request was not logged in $ACC"
fi

# -------------------------------------------------------------------- --timeout
# A peer that accepts the connection and never says a word: the handshake
# step times out.  moat calls that handshake-failed (exit 1): TCP got through.
silent=127.0.0.1:${CHECK_HELPER_PORT[silent]}
s0=$(grep -c '^silent accepted' "$CHECK_HELPER_LOG")
t0=$(now_ms)
run "$MOAT" check "$silent" --timeout 2 --json
ms=$(($(now_ms) - t0))
expect "silent peer, --timeout 2" 1 "handshake-failed" ""
assert_contains "$(finding handshake-failed)" "did not complete a TLS handshake in time" \
	"silent peer: says the handshake did not complete in time"
assert_eq "$(target unreachable)" "false" "silent peer: not unreachable (it accepted)"
assert_int_between "$ms" 1900 3500 "silent peer: returns after the 2 s timeout, before the 5 s default (${ms} ms)"
assert_eq "$(grep -c '^silent accepted' "$CHECK_HELPER_LOG")" "$((s0 + 1))" \
	"silent peer: moat's connection was accepted"

# A peer whose SYNs are dropped: the connect step times out -- unreachable (exit 3).
syndrop=127.0.0.1:${CHECK_HELPER_PORT[syndrop]}
t0=$(now_ms)
run "$MOAT" check "$syndrop" --timeout 2 --json
ms=$(($(now_ms) - t0))
expect "SYNs dropped, --timeout 2" 3 "unreachable" ""
assert_eq "$(target unreachable)" "true" "SYNs dropped: unreachable"
assert_int_between "$ms" 1900 3500 "SYNs dropped: returns after the 2 s timeout, before the 5 s default (${ms} ms)"
t0=$(now_ms)
run "$MOAT" check "$syndrop" --json
ms=$(($(now_ms) - t0))
expect "SYNs dropped, default timeout" 3 "unreachable" ""
assert_int_between "$ms" 4900 7500 "SYNs dropped: without --timeout, the documented 5 s (${ms} ms)"

# ------------------------------------------------- files: the words for several
# With --chain the certificates are in two files: "the files hold" (one
# file: "the file holds").
need_ca
moat issue words.test >/dev/null
W=$MOAT_HOME/live/words.test
cat "$W/chain.pem" "$MOAT_HOME/ca/root.pem" >"$T/words-chain.pem"
run "$MOAT" check "$W/cert.pem" --chain "$T/words-chain.pem" --ca "$MOAT_HOME/ca/root.pem" --json
assert_contains "$(finding chain-root-sent)" "the files also hold the root" \
	"--chain: the files also hold the root (not \"the files also holds\")"
run "$MOAT" check "$W/fullchain.pem" --ca "$MOAT_HOME/ca/root.pem" --json
assert_rc 0 "one file with the whole chain: exit 0"

# ------------------------------------------------------------------------ usage
run "$MOAT" check "$syndrop" --timeout 0
assert_rc 2 "--timeout 0: usage error"
run "$MOAT" check "$syndrop" --timeout soon
assert_rc 2 "--timeout soon: usage error"

finish
