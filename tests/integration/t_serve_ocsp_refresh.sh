#!/usr/bin/env bash
# t_serve_ocsp_refresh: moat serve's OCSP staples over time (t_serve_ocsp
# covers the first fetch, its checks and a revoked certificate at the
# start).  The responder (gaps_ocsp.py, `openssl ocsp` behind a loopback
# server) answers with a validity of 2 minutes, so that what moat does "at
# half its validity" happens after one minute.  It takes 1.2 s to answer,
# as one far away does: the thisUpdate of an answer is then a second or two
# after the moment moat asked (as also with a responder whose clock is a
# little ahead) -- moat must schedule the refresh by the answer's validity
# all the same.
#
#  - refresh: two sites with certificates naming the responder (the check
#    fixture's PKI, lib_check.sh); each staple is fetched again about 60 s
#    after the first (not before: one request per site until then, however
#    many handshakes), and the newer answer is stapled;
#  - never stale: past the first answers' Next Update, a staple that is
#    sent is still valid;
#  - a stale staple dropped: the responder then fails for good.test (503):
#    the refresh fails ("OCSP staple for good.test: ... (retrying in 5
#    minutes)") and, as the staple would be stale before the next try, it
#    is dropped at once;
#  - a bad staple dropped: leafonly.test's certificate is revoked in the
#    CA's database: the refresh says REVOKED and the good staple it had is
#    dropped, not kept;
#  - HTTPS goes on working for both, only without a staple.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_serve.sh"
. "$(dirname "$0")/lib_check.sh"

serve_need_tools
need_upstream A

# ---- the responder first (its URL goes into the certificates), then the PKI
DELAY=1.2
mkdir -p "$T/ocsp-work"
printf 'delay %s\n' "$DELAY" >"$T/ocsp.control"
if start_peer ocsp 15 "$PY" "$IT_DIR/gaps_ocsp.py" "$T/ocsp.port" "$T/ocsp-work" \
	"$CHECK_PKI/int/index.txt" "$CHECK_INT" "$CHECK_OCSP_CERT" "$CHECK_PKI/ocsp/ocsp.key" 2 \
	"$T/ocsp.control" "$T/ocsp.log"; then
	CHECK_OCSP_PORT=$PEER_PORT
	pass "the OCSP responder listens on 127.0.0.1:$CHECK_OCSP_PORT"
else
	fail "gaps_ocsp.py did not start (cannot continue)"
	finish
fi
if check_pki; then
	pass "the test PKI, its leaves naming the responder"
else
	fail "building the test PKI (cannot continue)"
	finish
fi
G=${CHECK_NAME[good]}
B=${CHECK_NAME[leafonly]}
serial_hex() { openssl x509 -in "$1" -noout -serial | sed -e 's/^serial=//' | tr 'a-f' 'A-F'; }
SG=$(serial_hex "${CHECK_LEAF[good]}")
SB=$(serial_hex "${CHECK_LEAF[leafonly]}")

cat >"$T/serve.conf" <<EOF
site $G {
	upstream http://127.0.0.1:${UP_PORT[A]}
	cert files ${CHECK_FULLCHAIN[good]} ${CHECK_KEY[good]}
}
site $B {
	upstream http://127.0.0.1:${UP_PORT[A]}
	cert files ${CHECK_FULLCHAIN[leafonly]} ${CHECK_KEY[leafonly]}
}
EOF
SV_NAMES=("$G" "$B")
SV_WORKERS=1 need_serve --config "$T/serve.conf"

# hello NAME: GET /hello through the proxy, trusting the fixture's root.
# shellcheck disable=SC2317 # called through run
hello() {
	curl -sS --max-time 20 --noproxy '*' --cacert "$CHECK_ROOT" --capath "$T/.empty-capath" \
		--resolve "$1:$SV_HTTPS:127.0.0.1" "https://$1:$SV_HTTPS/hello"
}
# status NAME: what s_client -status prints about the staple.
status() {
	timeout 15 openssl s_client -connect "127.0.0.1:$SV_HTTPS" -servername "$1" -status \
		</dev/null 2>/dev/null
}
# stapled NAME: a successful OCSP response is stapled.
# shellcheck disable=SC2317 # called through until_true
stapled() { status "$1" | grep -q 'OCSP Response Status: successful'; }
# unstapled NAME: the handshake works and no staple comes with it.
# shellcheck disable=SC2317 # called through until_true
unstapled() {
	local o
	o=$(status "$1")
	grep -q 'OCSP response: no response sent' <<<"$o" && grep -q '^subject=' <<<"$o"
}
# this_update NAME: "This Update" of the stapled response.
this_update() { status "$1" | sed -n 's/^ *This Update: //p' | head -n 1; }
# asked SERIAL [STATUS]: requests the responder got about SERIAL (answered STATUS).
asked() { awk -v s="$1" -v c="${2:-}" '$2 == s && (c == "" || $3 == c)' "$T/ocsp.log" 2>/dev/null | wc -l; }
# asked_more SERIAL N: more than N requests about SERIAL.
# shellcheck disable=SC2317 # called through until_true
asked_more() { [ "$(asked "$1")" -gt "$2" ]; }
# nth_ask SERIAL N: the time (whole seconds) of the Nth request about SERIAL.
nth_ask() { awk -v s="$1" '$2 == s' "$T/ocsp.log" | sed -n "${2}p" | cut -d' ' -f1 | cut -d. -f1; }
# diag: what the responder was asked and what moat logged (after a failure).
diag() {
	sed -e 's/^/#   responder: /' "$T/ocsp.log" 2>/dev/null | tail -n 12
	grep -v ' -> http' "$SV_ERR" | sed -e 's/^/#   moat: /' | tail -n 12
}
# this_update_is_not NAME TEXT
# shellcheck disable=SC2317 # called through until_true
this_update_is_not() { local t; t=$(this_update "$1"); [ -n "$t" ] && [ "$t" != "$2" ]; }

# next_update NAME: "Next Update" of the stapled response, as epoch seconds
# (nothing when no staple is sent).
next_update() {
	local t
	t=$(status "$1" | sed -n 's/^ *Next Update: //p' | head -n 1)
	[ -n "$t" ] && date -u -d "$t" +%s
}
# not_stale NAME DESC: no staple is sent, or one whose Next Update is still
# ahead.
not_stale() {
	local nu
	nu=$(next_update "$1")
	if [ -z "$nu" ] || [ "$nu" -gt "$EPOCHSECONDS" ]; then
		pass "$2 (${nu:+Next Update in $((nu - EPOCHSECONDS)) s}${nu:-no staple})"
	else
		fail "$2: a stale staple is sent, its Next Update $((EPOCHSECONDS - nu)) s ago"
	fi
}
# past_epoch T: the clock is past T.
# shellcheck disable=SC2317 # called through until_true
past_epoch() { [ "$EPOCHSECONDS" -gt "$1" ]; }
# left_until T: seconds from now to T (at least 1).
left_until() { local l=$(($1 - EPOCHSECONDS)); echo $((l > 0 ? l : 1)); }

# ---- the first staples
for n in "$G" "$B"; do
	if until_true 30 stapled "$n"; then
		pass "$n: a staple is sent"
	else
		fail "$n: no staple within 30 s"
		diag
	fi
done
assert_contains "$(status "$G")" "Cert Status: good" "$G: the staple says good"
for _ in 1 2 3; do status "$G" >/dev/null; done
assert_eq "$(asked "$SG")" 1 "$G: handshakes do not ask the responder (one request so far)"
TU_G1=$(this_update "$G")
NU_G1=$(next_update "$G")
NU_B1=$(next_update "$B")
assert_eq "$((NU_G1 - $(date -u -d "$TU_G1" +%s)))" 120 \
	"the responder's answers are valid for 120 s (nextUpdate - thisUpdate)"
F1_G=$(nth_ask "$SG" 1)
F1_B=$(nth_ask "$SB" 1)

# ---- the refresh at half the validity
refreshed=0
for s in "G $SG $F1_G" "B $SB $F1_B"; do
	read -r v serial f1 <<<"$s"
	n=${!v}
	if until_true "$(left_until $((f1 + 100)))" asked_more "$serial" 1; then
		d=$(($(nth_ask "$serial" 2) - f1))
		assert_int_between "$d" 55 75 "$n: the staple is fetched again at half its validity (60 s), not before ($d s)"
		refreshed=$((refreshed + 1))
	else
		fail "$n: not fetched again within 100 s of the first fetch (its answer is valid for 120 s)"
		diag
	fi
done
if [ "$refreshed" -eq 2 ]; then
	if until_true 10 this_update_is_not "$G" "$TU_G1"; then
		pass "$G: the refreshed answer is stapled (This Update $TU_G1 -> $(this_update "$G"))"
	else
		fail "$G: still the first answer stapled ($TU_G1)"
	fi
	F2=$(nth_ask "$SG" 2)
	# ---- from now on the responder fails for good.test, and leafonly.test
	# is revoked (before the next refresh, a minute after the last)
	printf 'delay %s\nfail %s\n' "$DELAY" "$SG" >"$T/ocsp.control"
	run openssl ca -batch -config "$CHECK_PKI/int/ca.cnf" -revoke "${CHECK_LEAF[leafonly]}" \
		-crl_reason keyCompromise
	assert_rc 0 "$B: revoked in the CA's database"
fi
n_g=$(asked "$SG")
n_b=$(asked "$SB")

# ---- never stale: past the first answers' Next Update, what is stapled
# (if anything) is still valid
until_true "$(left_until $((NU_G1 > NU_B1 ? NU_G1 + 3 : NU_B1 + 3)))" past_epoch \
	$((NU_G1 > NU_B1 ? NU_G1 + 2 : NU_B1 + 2))
not_stale "$G" "$G: past the first answer's Next Update, no stale staple"
not_stale "$B" "$B: past the first answer's Next Update, no stale staple"

# ---- a failed refresh, a revoked certificate: dropped
if [ "$refreshed" -eq 2 ]; then
	RE_G="OCSP staple for ${G//./\\.}: .*HTTP 503.*\\(retrying in 5 minutes\\)"
	if wait_grep "$SV_PID" "$SV_ERR" "$RE_G" "$(left_until $((F2 + 100)))"; then
		pass "$G: the failed refresh is logged (HTTP 503, retrying in 5 minutes)"
	else
		fail "$G: no failed refresh in the error log within 100 s of the last fetch"
		diag
	fi
	if until_true 10 unstapled "$G"; then
		pass "$G: the staple is dropped at once (the next try would come after it went stale)"
	else
		fail "$G: still stapled after the failed refresh"
	fi
	assert_eq "$(asked "$SG" 503)" 1 "$G: the responder was asked once (then: retry in 5 minutes)"
	run hello "$G"
	assert_eq "$OUT" "hello from upstream" "$G: HTTPS still works without a staple"

	RE_B="OCSP staple for ${B//./\\.}: .*REVOKED.*\\(retrying in 5 minutes\\)"
	if wait_grep "$SV_PID" "$SV_ERR" "$RE_B" "$(left_until $((F2 + 100)))"; then
		pass "$B: the refresh says REVOKED"
	else
		fail "$B: no REVOKED in the error log within 100 s of the last fetch"
		diag
	fi
	if until_true 10 unstapled "$B"; then
		pass "$B: the good staple it had is dropped"
	else
		fail "$B: still stapled after the responder said revoked"
	fi
	assert_eq "$(asked "$SB")" "$((n_b + 1))" "$B: asked once more"
	assert_eq "$(asked "$SG")" "$((n_g + 1))" "$G: no other request about it (the failed one only)"
	run hello "$B"
	assert_eq "$OUT" "hello from upstream" "$B: HTTPS still works without a staple"
else
	fail "a failed refresh and a revoked certificate: not tested (no refresh to start from)"
fi

serve_stop_checked "staples"
finish
