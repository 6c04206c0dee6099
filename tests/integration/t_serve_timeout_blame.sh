#!/usr/bin/env bash
# t_serve_timeout_blame: "a timer only runs while moat is waiting for the
# side it blames" (docs/serve.md, What each timeout measures) -- here for
# the upstream connect.  While moat connects to the upstream, it waits for
# the upstream, not for the client: the client's idle-timeout must not run,
# and a connect that does not complete ends in 502 after
# upstream-connect-timeout, logged as "cannot connect ... timed out".
#
# With idle-timeout 1s and upstream-connect-timeout 3s, against an address
# that never answers a connect (gaps_blackhole.py), a GET and a POST with a
# body (all of it sent with the head) must get 502 after about 3 s -- not a
# connection closed without an answer after 1 s.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_serve.sh"

serve_need_tools
need_ca

if start_peer hole 90 "$PY" "$IT_DIR/gaps_blackhole.py" "$T/hole.port"; then
	HOLE=$PEER_PORT
	pass "gaps_blackhole.py: 127.0.0.1:$HOLE takes no connection"
else
	fail "gaps_blackhole.py did not start (cannot continue)"
	finish
fi
cat >"$T/serve.conf" <<CONF
header-timeout 10s
idle-timeout 1s
upstream-connect-timeout 3s
site hole.localhost {
	upstream http://127.0.0.1:$HOLE
}
CONF
SV_NAMES=(hole.localhost)
need_serve --local --config "$T/serve.conf"

for how in GET POST; do
	args=()
	[ "$how" = POST ] && args=(--data-binary hello)
	n0=$(grep -c 'cannot connect to upstream' "$SV_ERR")
	run scurl -o /dev/null -w '%{http_code} %{time_total}' "${args[@]}" "$(surl /hello hole.localhost)"
	code=${OUT%% *}
	secs=${OUT#* }
	assert_eq "$code" 502 "$how, idle-timeout 1s < upstream-connect-timeout 3s: 502 (curl: $(head -c 80 "$ERR_F"))"
	assert_int_between "$(ms "$secs")" 2900 8000 "$how: ... after the connect timeout, not idle-timeout (${secs} s)"
	if wait_grep "$SV_PID" "$SV_ERR" "cannot connect to upstream 127\\.0\\.0\\.1:$HOLE .*connection timed out" 5 &&
		[ "$(grep -c 'cannot connect to upstream' "$SV_ERR")" -gt "$n0" ]; then
		pass "$how: the error log says the connect timed out"
	else
		fail "$how: the error log says nothing of the connect"
	fi
done

serve_stop_checked "connect vs idle-timeout"
finish
