#!/usr/bin/env bash
# t_serve_ocsp: moat serve staples OCSP responses it fetched itself.
#
# The check fixture's PKI (lib_check.sh) has leaves naming an OCSP responder
# (`openssl ocsp` behind a small loopback server).  moat serve with the
# "good" leaf as --cert/--key fetches a response in the background, and
# `openssl s_client -status` then sees it stapled: successful, good, for
# this certificate, signed by the responder.  A client that does not ask
# gets no staple.  With the "revokedocsp" leaf, the responder says revoked:
# moat staples nothing and its log says why.  Every server is stopped with
# SIGTERM and must exit 0 without a sanitizer report.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_check.sh"
. "$(dirname "$0")/lib_serve.sh"

check_have_tools || skip_test "$CHECK_MISSING is not installed"
serve_need_tools
check_start_http || { fail "the AIA/CRL HTTP server did not start"; finish; }
check_start_ocsp || { fail "the OCSP responder did not start"; finish; }
check_pki || { fail "building the test PKI failed"; finish; }
need_upstream chat
SV_WORKERS=1
SV_NO_ADMIN=1

# serve_leaf SCENARIO: moat serve with that scenario's leaf + chain (its own
# MOAT_HOME), or end the test.
serve_leaf() {
	local s=$1
	if MOAT_HOME=$T/home-$s serve_start --cert "${CHECK_FULLCHAIN[$s]}" --key "${CHECK_KEY[$s]}" \
		"${CHECK_NAME[$s]}=http://127.0.0.1:${UP_PORT[chat]}"; then
		pass "$s: moat serve started"
	else
		fail "$s: moat serve did not start (cannot continue)"
		finish
	fi
}

# probe NAME ARGS...: one handshake with s_client (bounded, verifying against
# the fixture's root), printing every TLS extension the server sent
# (-tlsextdebug); RC, OUT, ERR as `run` sets them.  A stapled response shows
# as the server extension "status request" (TLS 1.2: empty, in ServerHello;
# TLS 1.3: the response itself, on the leaf's Certificate entry).
probe() {
	local name=$1
	shift
	run timeout 20 openssl s_client -connect "127.0.0.1:$SV_HTTPS" -servername "$name" \
		-CAfile "$CHECK_ROOT" -verify_return_error -tlsextdebug "$@"
}
STAPLE_EXT='TLS server extension "status request"'
# staple_ready NAME: a -status handshake gets a successful response.
# shellcheck disable=SC2317 # called through until_true
staple_ready() {
	probe "$1" -status && [ "$RC" -eq 0 ] && grep -q 'OCSP Response Status: successful' "$OUT_F"
}
ocsp_requests() { grep -c -E '^(GET|POST) ' "$CHECK_OCSP_LOG" 2>/dev/null; }

# ---- good: stapled, and the staple is right
serve_leaf good
if until_true 10 staple_ready "${CHECK_NAME[good]}"; then
	pass "good: a staple is sent within 10 s"
else
	fail "good: no staple within 10 s"
	sed -e 's/^/#   moat: /' "$SV_ERR" | tail -n 5
fi
probe "${CHECK_NAME[good]}" -status
assert_rc 0 "good: handshake with -status"
assert_contains "$OUT" "OCSP Response Status: successful" "good: the staple is a successful response"
assert_contains "$OUT" "Cert Status: good" "good: the stapled status is good"
assert_contains "$OUT" "Response Type: Basic OCSP Response" "good: a basic OCSP response"
assert_contains "$OUT" "Responder Id: CN = moat fixture OCSP responder" "good: signed by the fixture's responder"
serial=$(openssl x509 -in "${CHECK_LEAF[good]}" -noout -serial | cut -d= -f2)
assert_match "$serial" '^[0-9A-F]+$' "good: the leaf's serial number (control)"
assert_contains "$OUT" "Serial Number: $serial" "good: the staple is about the served certificate"
# What curl sees (it checks stapled responses with --cert-status).
run curl -sS --max-time 20 --noproxy '*' --cert-status --cacert "$CHECK_ROOT" \
	--capath "$T/.empty-capath" --resolve "${CHECK_NAME[good]}:$SV_HTTPS:127.0.0.1" \
	"https://${CHECK_NAME[good]}:$SV_HTTPS/hello"
assert_rc 0 "curl --cert-status accepts the stapled response"
assert_eq "$OUT" "hello from upstream" "curl got the upstream through the proxy"

# The responder was asked by moat, not during the handshakes: one request
# for several handshakes.
asked=$(ocsp_requests)
assert_int_between "$asked" 1 1000 "good: the responder's log shows moat's request (control)"
for _ in 1 2 3; do
	probe "${CHECK_NAME[good]}" -status
	assert_contains "$OUT" "Cert Status: good" "good: a later handshake gets the staple too"
done
assert_eq "$(ocsp_requests)" "$asked" "handshakes do not query the responder"

# ---- a client that does not ask gets no staple (one that asks does: the
# probe can see a staple)
for v in 1_2 1_3; do
	probe "${CHECK_NAME[good]}" "-tls$v" -status
	assert_contains "$OUT" "$STAPLE_EXT" "TLS ${v/_/.} with -status: the staple extension is seen (control)"
	probe "${CHECK_NAME[good]}" "-tls$v"
	assert_rc 0 "TLS ${v/_/.} without -status: handshake"
	assert_contains "$OUT" "Verify return code: 0 (ok)" "TLS ${v/_/.} without -status: verified"
	assert_not_contains "$OUT" "$STAPLE_EXT" "TLS ${v/_/.}: no staple for a client that did not ask"
done
serve_stop_checked "good"

# ---- revoked: nothing stapled, and the log says why
serve_leaf revokedocsp
if wait_grep "$SV_PID" "$SV_ERR" 'not stapled: the certificate is REVOKED' 10; then
	pass "revoked: the error log says the certificate is REVOKED"
else
	fail "revoked: no REVOKED in the log within 10 s"
	sed -e 's/^/#   moat: /' "$SV_ERR" | tail -n 5
fi
probe "${CHECK_NAME[revokedocsp]}" -status
assert_rc 0 "revoked: the handshake still succeeds"
assert_contains "$OUT" "OCSP response: no response sent" "revoked: no staple is sent"
assert_not_contains "$OUT" "$STAPLE_EXT" "revoked: no staple extension"
serve_stop_checked "revoked"

finish
