#!/usr/bin/env bash
# t_serve_desync: moat serve must keep requests and responses in step on
# both of its connections.  With raw bytes (desync_raw.py) and small apps
# that misbehave on purpose (desync_late.py, desync_flaky.py):
#
#   1. CL.0: a body sent with a request moat answers itself (port 80's 308,
#      the ACME 404, the no-such-site 404; the 421 and 413 on https) is read
#      and dropped (up to 64 KiB) or the connection closed -- never parsed
#      as the next request, never forwarded;
#   2. bytes an app sends late after a HEAD/204/304 answer never reach
#      another client: that upstream connection is not reused;
#   4. a non-idempotent request whose pooled upstream connection closed
#      after the app got it is not sent again (502), a GET is;
#   6. an absolute-form target without a path goes upstream as "/...";
#   7. the redirect on port 80 keeps a long target whole;
#   8. Host is checked as an RFC 3986 authority: anything else is 400,
#      on both ports, and never reflected into a Location.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_serve.sh"

serve_need_tools
need_ca
need_upstream chat plain

# One worker: the upstream pool is per worker, and items 2 and 4 need the
# next request to find the connection the previous one left there.
SV_WORKERS=1
CURL_MAX_TIME=10
RAW_TIMEOUT=2

# raw NAME PORT [--tls SNI] PIECE...: desync_raw.py (see there for the
# pieces) with RAW_TIMEOUT; the answer in $T/resp.NAME, "0" (the server
# closed) or "3" (still open when the time ran out) in $T/rc.NAME and RAW_RC.
raw() {
	local name=$1 port=$2
	local -a tls=()
	shift 2
	if [ "${1:-}" = --tls ]; then
		tls=(--tls "$2" --ca "$ROOT_PEM")
		shift 2
	fi
	"$PY" "$IT_DIR/desync_raw.py" "$port" "${tls[@]}" --timeout "$RAW_TIMEOUT" -- "$@" \
		>"$T/resp.$name" 2>"$T/err.$name"
	RAW_RC=$?
	echo "$RAW_RC" >"$T/rc.$name"
}

# statuses NAME: the final (non-1xx) status codes in $T/resp.NAME, each
# followed by a space.
statuses() {
	tr -d '\r' <"$T/resp.$1" | grep -aE '^HTTP/1\.[01] [2-5][0-9][0-9]( |$)' | awk '{ printf "%s ", $2 }'
}

# locations NAME: the Location values in $T/resp.NAME, one a line.
locations() {
	tr -d '\r' <"$T/resp.$1" | grep -aiE '^location:' | sed -e 's/^[^:]*: *//'
}

# says_close NAME: the (first) response says "Connection: close".
says_close() {
	tr -d '\r' <"$T/resp.$1" | grep -qaiE '^connection: *close *$'
}

show_resp() {
	head -c 700 "$T/resp.$1" | tr -d '\r' | head -n 20 | sed -e 's/^/#   resp: /'
}

# expect_kept DESC NAME WANT_STATUSES [AFTER_LOCATION]: the body was read
# and dropped, the connection kept: the request after it was answered (its
# Location, if given, is the last one), the smuggled one not.
expect_kept() {
	local desc=$1 name=$2 want=$3 loc=${4:-} st
	st=$(statuses "$name")
	if [ "$st" = "$want" ]; then
		pass "$desc: answers $st(the request after the body is answered, the one in it not)"
	else
		fail "$desc: answers '$st', expected '$want'"
		show_resp "$name"
	fi
	if [ -n "$loc" ]; then
		assert_eq "$(locations "$name" | tail -n 1)" "$loc" "$desc: the request after the body gets its own redirect"
	fi
	assert_not_contains "$(locations "$name")" "smuggled" "$desc: no Location names the smuggled request"
}

# expect_closed DESC NAME WANT_STATUS [any]: one answer, WANT_STATUS, with
# "Connection: close" (unless "any"), then the connection closed: nothing
# after it answered.
expect_closed() {
	local desc=$1 name=$2 want=$3 how=${4:-} st
	st=$(statuses "$name")
	if [ "$st" = "$want " ]; then
		pass "$desc: one answer, $want (nothing after the head answered)"
	else
		fail "$desc: answers '$st', expected only $want"
		show_resp "$name"
	fi
	if [ "$how" != any ]; then
		if says_close "$name"; then
			pass "$desc: the answer says Connection: close"
		else
			fail "$desc: the answer does not say Connection: close"
		fi
	fi
	if [ "$(cat "$T/rc.$name")" = 0 ]; then
		pass "$desc: the connection is closed"
	else
		fail "$desc: the connection is still open after ${RAW_TIMEOUT}s"
	fi
	assert_not_contains "$(locations "$name")" "smuggled" "$desc: no Location names the smuggled request"
}

# still_serving DESC: moat runs and answers (a negative check above was not
# passed by a crash).
still_serving() {
	if pid_alive "$SV_PID"; then
		pass "$1: moat serve is still running"
	else
		fail "$1: moat serve is gone"
		tail -n 5 "$SV_ERR" | sed -e 's/^/#   stderr: /'
	fi
	run scurl -o /dev/null -w '%{http_code}' "$(surl /hello)"
	assert_eq "$OUT" 200 "$1: moat serve still answers over https"
}

# up_has NAME ERE: the upstream NAME logged a line matching ERE (its log
# line is written just after its answer: wait a little for it).
up_has() {
	wait_grep "${UP_PID[$1]}" "$T/up-$1.log" "$2" 3
}

# sm NAME [HOST]: a whole request to smuggle in a body.
sm() {
	printf 'GET /smuggled-%s HTTP/1.1\\r\\nHost: %s\\r\\n\\r\\n' "$1" "${2:-chat.localhost}"
}

# ======================================================================
# A server with one site: items 1 (308, ACME 404), 6, 7 and 8.
need_serve --local "chat.localhost=http://127.0.0.1:${UP_PORT[chat]}"
H='Host: chat.localhost\r\n'
AFTER='t:GET /after HTTP/1.1\r\nHost: chat.localhost\r\nConnection: close\r\n\r\n'
LOC="https://chat.localhost:$SV_HTTPS"

note "1. CL.0 on port 80: the 308 redirect"
raw cl308 "$SV_HTTP" "t:POST /x HTTP/1.1\r\n$H" "cl:0:$(sm cl308)" "$AFTER"
expect_kept "CL.0 on port 80: 308, Content-Length body holding a request" cl308 "308 308 " "$LOC/after"
raw ch308 "$SV_HTTP" "t:POST /x HTTP/1.1\r\n$H" "chunked:0:1000:$(sm ch308)" "$AFTER"
expect_kept "CL.0 on port 80: 308, chunked body holding a request" ch308 "308 308 " "$LOC/after"
raw cl308m "$SV_HTTP" "t:POST /x HTTP/1.1\r\n$H" "cl:60000:$(sm cl308m)" "$AFTER"
expect_kept "CL.0 on port 80: 308, a 60000-byte Content-Length body" cl308m "308 308 " "$LOC/after"
raw ch308m "$SV_HTTP" "t:POST /x HTTP/1.1\r\n$H" "chunked:40000:7000:$(sm ch308m)" "$AFTER"
expect_kept "CL.0 on port 80: 308, a 40000-byte body in 6 chunks" ch308m "308 308 " "$LOC/after"
raw get308 "$SV_HTTP" "t:GET /x HTTP/1.1\r\n$H" "cl:0:$(sm get308)" "$AFTER"
expect_kept "CL.0 on port 80: 308 to a GET with a body" get308 "308 308 " "$LOC/after"
raw cl308big "$SV_HTTP" "t:POST /big HTTP/1.1\r\n$H" "clpart:1000000:$(sm cl308big)" "$AFTER"
expect_closed "CL.0 on port 80: 308, Content-Length: 1000000 (over 64 KiB)" cl308big 308
assert_eq "$(locations cl308big)" "$LOC/big" "CL.0 on port 80: the large body's request itself is redirected"
raw exp308 "$SV_HTTP" "t:POST /exp HTTP/1.1\r\n${H}Expect: 100-continue\r\n" "cl:0:$(sm exp308)" "$AFTER"
expect_closed "CL.0 on port 80: 308, Expect: 100-continue" exp308 308
raw ch308big "$SV_HTTP" "t:POST /x HTTP/1.1\r\n$H" "chunked:70000:10000:$(sm ch308big)" "$AFTER"
expect_closed "CL.0 on port 80: 308, a chunked body of 70000 bytes (over 64 KiB)" ch308big 308 any
raw ch308huge "$SV_HTTP" "t:POST /x HTTP/1.1\r\n$H" "chunked:300000:10000:$(sm ch308huge)" "$AFTER"
expect_closed "CL.0 on port 80: 308, a chunked body of 300000 bytes" ch308huge 308 any

note "1. CL.0 on port 80: the ACME challenge 404"
A='t:POST /.well-known/acme-challenge/unknown HTTP/1.1\r\n'
raw clacme "$SV_HTTP" "$A$H" "cl:0:$(sm clacme)" "$AFTER"
expect_kept "CL.0 on port 80: ACME 404, Content-Length body" clacme "404 308 " "$LOC/after"
raw chacme "$SV_HTTP" "$A$H" "chunked:0:10:$(sm chacme)" "$AFTER"
expect_kept "CL.0 on port 80: ACME 404, chunked body" chacme "404 308 " "$LOC/after"
raw clacmebig "$SV_HTTP" "$A$H" "clpart:1000000:$(sm clacmebig)" "$AFTER"
expect_closed "CL.0 on port 80: ACME 404, Content-Length: 1000000" clacmebig 404
still_serving "CL.0 on port 80 (one site)"

note "8. Host must be an RFC 3986 authority"
BAD_HOSTS=('localhost:80:90' ']' '%' 'a%zz' 'exa@mple' '[::1' '::1' 'host:123456' 'a,b' "x'y")
pids=()
k=0
for v in "${BAD_HOSTS[@]}"; do
	k=$((k + 1))
	raw "h8p$k" "$SV_HTTP" "t:GET /h8bad-$k HTTP/1.1\r\nHost: $v\r\n\r\n" &
	pids+=($!)
	raw "h8t$k" "$SV_HTTPS" --tls chat.localhost "t:GET /h8bad-$k HTTP/1.1\r\nHost: $v\r\n\r\n" &
	pids+=($!)
done
wait "${pids[@]}"
# host_400 DESC NAME: 400, Connection: close, no Location, closed.
host_400() {
	local desc=$1 name=$2 why=''
	[ "$(statuses "$name")" = "400 " ] || why="$why status '$(statuses "$name")';"
	says_close "$name" || why="$why no Connection: close;"
	[ -z "$(locations "$name")" ] || why="$why Location: $(locations "$name" | head -n 1);"
	[ "$(cat "$T/rc.$name")" = 0 ] || why="$why the connection stays open;"
	if [ -z "$why" ]; then
		pass "$desc: 400, Connection: close, nothing reflected, closed"
	else
		fail "$desc:$why"
	fi
}
k=0
for v in "${BAD_HOSTS[@]}"; do
	k=$((k + 1))
	host_400 "Host check on port 80: Host: $v" "h8p$k"
	host_400 "Host check on https: Host: $v" "h8t$k"
done
raw h10p "$SV_HTTP" 't:GET /x HTTP/1.0\r\n\r\n'
host_400 "Host check on port 80: HTTP/1.0 without Host (no https://:PORT/x)" h10p
GOOD_HOSTS=('chat.localhost' 'chat.localhost:80' '127.0.0.1' '[::1]:80' 'CHAT.LOCALHOST')
GOOD_LOCS=("$LOC/x" "$LOC/x" "https://127.0.0.1:$SV_HTTPS/x" "https://[::1]:$SV_HTTPS/x" "$LOC/x")
for i in "${!GOOD_HOSTS[@]}"; do
	v=${GOOD_HOSTS[$i]}
	raw "h8g$i" "$SV_HTTP" "t:GET /x HTTP/1.1\r\nHost: $v\r\nConnection: close\r\n\r\n"
	got="$(statuses "h8g$i")$(locations "h8g$i" | tr '[:upper:]' '[:lower:]')"
	assert_eq "$got" "308 ${GOOD_LOCS[$i]}" "Host check on port 80: Host: $v is fine (308 to the https port)"
	raw "h8gt$i" "$SV_HTTPS" --tls chat.localhost \
		"t:GET /hello?h8good=$i HTTP/1.1\r\nHost: $v\r\nConnection: close\r\n\r\n"
	assert_eq "$(statuses "h8gt$i")" "200 " "Host check on https: Host: $v is fine (proxied, 200)"
done
raw h10t "$SV_HTTPS" --tls chat.localhost 't:GET /hello HTTP/1.0\r\n\r\n'
assert_eq "$(statuses h10t)" "200 " "Host check on https: HTTP/1.0 without Host still works with one site"
k=0
for v in "${BAD_HOSTS[@]}"; do
	k=$((k + 1))
	if grep -q "/h8bad-$k " "$T/up-chat.log"; then
		fail "Host check on https: Host: $v reached the upstream"
	else
		pass "Host check on https: Host: $v did not reach the upstream"
	fi
done
still_serving "Host check"

note "7. the redirect on port 80 keeps a long target whole"
for n in 1200 8000; do
	p="/$(head -c "$((n - 1))" /dev/zero | tr '\0' p)?token=abc"
	raw "long$n" "$SV_HTTP" "t:GET $p HTTP/1.1\r\n${H}Connection: close\r\n\r\n"
	got=$(locations "long$n")
	if [ "$got" = "$LOC$p" ]; then
		pass "long redirect on port 80: a $n-byte path and ?token=abc: Location is the whole target"
	else
		fail "long redirect on port 80: a $n-byte path: Location has ${#got} bytes, expected $((${#LOC} + ${#p})) (ends '${got: -30}', status '$(statuses "long$n")')"
	fi
done

note "6. absolute-form targets without a path"
raw abs1 "$SV_HTTPS" --tls chat.localhost \
	't:GET http://chat.localhost?x=abs1 HTTP/1.1\r\nHost: chat.localhost\r\nConnection: close\r\n\r\n'
if up_has chat ' GET /\?x=abs1 -> '; then
	pass "absolute-form http://chat.localhost?x=abs1: the app gets /?x=abs1"
else
	fail "absolute-form http://chat.localhost?x=abs1: the app got $(grep -F 'x=abs1' "$T/up-chat.log" | awk '{ print $4 }')"
fi
# root_hits N: the app has logged more than N requests for "/".
# shellcheck disable=SC2317 # called through until_true
root_hits() { [ "$(grep -c ' GET / -> ' "$T/up-chat.log")" -gt "$1" ]; }
n0=$(grep -c ' GET / -> ' "$T/up-chat.log")
raw abs2 "$SV_HTTPS" --tls chat.localhost \
	't:GET http://chat.localhost HTTP/1.1\r\nHost: chat.localhost\r\nConnection: close\r\n\r\n'
if until_true 3 root_hits "$n0"; then
	pass "absolute-form http://chat.localhost: the app gets /"
else
	fail "absolute-form http://chat.localhost: the app did not get / (answer '$(statuses abs2)')"
fi
raw abs3 "$SV_HTTP" 't:GET http://chat.localhost?x=abs3 HTTP/1.1\r\nHost: chat.localhost\r\nConnection: close\r\n\r\n'
assert_eq "$(locations abs3)" "$LOC/?x=abs3" "absolute-form on port 80: http://chat.localhost?x=abs3 -> Location .../?x=abs3"

# Nothing smuggled on this server reached the app.
run scurl -o /dev/null -w '%{http_code}' "$(surl /hello?last=1)"
assert_eq "$OUT" 200 "CL.0 on port 80 (one site): moat still proxies"
up_has chat ' /hello\?last=1 '
assert_not_contains "$(cat "$T/up-chat.log")" "smuggled" "CL.0 on port 80 (one site): no smuggled request reached the app"
serve_stop_checked "one site"

# ======================================================================
# A server with several sites: items 1 (no-such-site 404, 421, 413,
# redirect off), 2 and 4.
for app in late flaky; do
	args=()
	if [ "$app" = late ]; then
		args=(--delay 1)
	fi
	"$PY" "$IT_DIR/desync_$app.py" --ready-file "$T/$app.port" "${args[@]}" 2>"$T/$app.log" &
	pid=$!
	SERVER_PIDS+=("$pid")
	if wait_file "$pid" "$T/$app.port" 15; then
		pass "desync_$app.py listens"
	else
		fail "desync_$app.py did not start (cannot continue)"
		finish
	fi
	if [ "$app" = late ]; then
		LATE_PID=$pid
	fi
done
cat >"$T/multi.conf" <<EOF
max-body-size 1k
site chat.localhost {
	upstream http://127.0.0.1:${UP_PORT[chat]}
}
site plain.localhost {
	upstream http://127.0.0.1:${UP_PORT[plain]}
	redirect off
}
site late.localhost {
	upstream http://127.0.0.1:$(cat "$T/late.port")
}
site flaky.localhost {
	upstream http://127.0.0.1:$(cat "$T/flaky.port")
}
EOF
SV_NAMES=(chat.localhost plain.localhost late.localhost flaky.localhost)
need_serve --local --config "$T/multi.conf"
LOC="https://chat.localhost:$SV_HTTPS"
NOPE='Host: nope.localhost\r\n'

note "1. CL.0 on port 80: no site has this name (404)"
raw clnosite "$SV_HTTP" "t:POST /x HTTP/1.1\r\n$NOPE" "cl:0:$(sm clnosite)" "$AFTER"
expect_kept "CL.0 on port 80: no-such-site 404, Content-Length body" clnosite "404 308 " "$LOC/after"
raw chnosite "$SV_HTTP" "t:POST /x HTTP/1.1\r\n$NOPE" "chunked:0:16:$(sm chnosite)" "$AFTER"
expect_kept "CL.0 on port 80: no-such-site 404, chunked body" chnosite "404 308 " "$LOC/after"
raw clnositebig "$SV_HTTP" "t:POST /x HTTP/1.1\r\n$NOPE" "clpart:1000000:$(sm clnositebig)" "$AFTER"
expect_closed "CL.0 on port 80: no-such-site 404, Content-Length: 1000000" clnositebig 404

note "1. CL.0 on port 80 next to a site with redirect off"
CAP='POST /capture HTTP/1.1\r\nHost: plain.localhost\r\nContent-Length: 5\r\n\r\nhello'
PAFTER='t:GET /hello?after=1 HTTP/1.1\r\nHost: plain.localhost\r\nConnection: close\r\n\r\n'
raw clplain "$SV_HTTP" "t:POST /x HTTP/1.1\r\n$NOPE" "cl:0:$CAP" "$PAFTER"
expect_kept "CL.0 on port 80, redirect off: no-such-site 404, Content-Length body" clplain "404 200 "
raw chplain "$SV_HTTP" "t:POST /x HTTP/1.1\r\n$NOPE" "chunked:0:20:$CAP" "$PAFTER"
expect_kept "CL.0 on port 80, redirect off: no-such-site 404, chunked body" chplain "404 200 "
if up_has plain ' GET /hello\?after=1 -> 200'; then
	pass "CL.0 on port 80, redirect off: the request after the body is proxied as plain HTTP"
else
	fail "CL.0 on port 80, redirect off: the request after the body did not reach the app"
fi
run scurl -o /dev/null -w '%{http_code}' "http://plain.localhost:$SV_HTTP/hello?last=1"
assert_eq "$OUT" 200 "CL.0 on port 80, redirect off: moat still proxies plain HTTP"
up_has plain ' /hello\?last=1 '
L=$(cat "$T/up-plain.log")
assert_not_contains "$L" "/capture" "CL.0 on port 80, redirect off: the body's POST /capture did not reach the app"
assert_not_contains "$L" "smuggled" "CL.0 on port 80, redirect off: nothing smuggled reached the app"

note "1. CL.0 on https: 421 and 413"
HAFTER='t:GET /hello?after=421 HTTP/1.1\r\nHost: chat.localhost\r\nConnection: close\r\n\r\n'
for kind in cl ch; do
	if [ "$kind" = cl ]; then
		body="cl:0:$(sm "${kind}421")"
	else
		body="chunked:0:10:$(sm "${kind}421")"
	fi
	raw "${kind}421" "$SV_HTTPS" --tls chat.localhost "t:POST /x HTTP/1.1\r\n$NOPE" "$body" "$HAFTER"
	st=$(statuses "${kind}421")
	if [ "$st" = "421 " ] || [ "$st" = "421 200 " ]; then
		pass "CL.0 on https: 421 ($kind body): answers '$st' (closed, or the next request answered; the one in the body not)"
	else
		fail "CL.0 on https: 421 ($kind body): answers '$st', expected '421 ' or '421 200 '"
		show_resp "${kind}421"
	fi
done
raw cl413 "$SV_HTTPS" --tls chat.localhost "t:POST /echo HTTP/1.1\r\n$H" "cl:2000:$(sm cl413)" "$HAFTER"
expect_closed "CL.0 on https: 413 (max-body-size 1k, Content-Length: 2000)" cl413 413
run scurl -o /dev/null -w '%{http_code}' "$(surl /hello?last=2)"
assert_eq "$OUT" 200 "CL.0 on https: moat still proxies"
up_has chat ' /hello\?last=2 '
L=$(cat "$T/up-chat.log")
for c in cl421 ch421 cl413 clnosite chnosite clnositebig; do
	assert_not_contains "$L" "smuggled-$c " "CL.0 ($c): the smuggled request did not reach the app"
done
still_serving "CL.0 (several sites)"

note "2. late bytes after a HEAD/204/304 answer"
# late_try KIND ID [after]: KIND head, 204 or 304 from late.localhost, then
# a GET /hello from another client: at once, so that it goes upstream
# before the app's late bytes come (1 s after its answer); with "after",
# once the late bytes are sent (moat must drop a pooled connection that
# talks out of turn).  Either way the next try starts after them.
late_try() {
	local kind=$1 id=$2 when=${3:-} code body c1 c2 path
	case $kind in
	head) path=/late ;;
	*) path=/late$kind ;;
	esac
	if [ "$kind" = head ]; then
		code=$(scurl -I -o /dev/null -w '%{http_code}' "$(surl "$path?try=$id" late.localhost)")
		assert_eq "$code" 200 "late bytes after head (try $id): HEAD $path is answered 200"
	else
		code=$(scurl -o /dev/null -w '%{http_code}' "$(surl "$path?try=$id" late.localhost)")
		assert_eq "$code" "$kind" "late bytes after $kind (try $id): GET $path is answered $kind"
	fi
	if [ "$when" = after ]; then
		wait_grep "$LATE_PID" "$T/late.log" "late bytes after $path\\?try=$id: " 5
		# The test is about time: let the late bytes reach moat.
		sleep 0.2
	fi
	body=$(scurl "$(surl "/hello?try=$id" late.localhost)")
	assert_eq "$body" hello "late bytes after $kind (try $id${when:+, $when them}): the next client gets the app's answer, not POISON"
	wait_grep "$LATE_PID" "$T/late.log" "late bytes after $path\\?try=$id: " 5
	wait_grep "$LATE_PID" "$T/late.log" " GET /hello\\?try=$id\$" 5
	c1=$(sed -n -e "s|^late: conn=\\([0-9]*\\) [A-Z]* $path?try=$id\$|\\1|p" "$T/late.log")
	c2=$(sed -n -e "s|^late: conn=\\([0-9]*\\) GET /hello?try=$id\$|\\1|p" "$T/late.log")
	if [ -n "$c1" ] && [ -n "$c2" ] && [ "$c1" != "$c2" ]; then
		pass "late bytes after $kind (try $id): the next request goes on a new upstream connection ($c1, then $c2)"
	else
		fail "late bytes after $kind (try $id): upstream connections '$c1' then '$c2' (must be two)"
	fi
}
for i in 1 2 3; do
	late_try head "h$i"
done
for i in 1 2 3; do
	late_try 204 "n$i"
done
late_try 304 m1
late_try head a1 after
still_serving "late bytes"

note "4. a non-idempotent request is not sent twice"
fl() {
	local path=$1
	shift
	run scurl -o /dev/null -w '%{http_code}' "$@" "$(surl "$path" flaky.localhost)"
}
flaky_n() {
	grep -c " $1 body=" "$T/flaky.log"
}
fl /a
assert_eq "$OUT" 200 "retry: GET /a is answered (the connection goes to the pool)"
fl /b -d ''
assert_eq "$OUT" 502 "retry: POST /b (Content-Length: 0) on a pooled connection closed unanswered -> 502"
assert_eq "$(flaky_n 'POST /b')" 1 "retry: the app received POST /b exactly once"
assert_contains "$(cat "$T/flaky.log")" "n=2 POST /b body=0 closed unanswered" \
	"retry: (POST /b did come on the pooled connection)"
fl /c
c1=$OUT
fl /c
assert_eq "$c1 $OUT" "200 200" "retry: GET /c twice, the 2nd on a pooled connection that closes: retried, 200"
assert_contains "$(cat "$T/flaky.log")" "n=2 GET /c body=0 closed unanswered" \
	"retry: (a GET /c did come on a pooled connection that closed)"
fl /prime
assert_eq "$OUT" 200 "retry: GET /prime (a connection in the pool again)"
fl /d --data-binary hello
assert_eq "$OUT" 502 "retry: POST /d with a 5-byte body on a pooled connection closed unanswered -> 502"
assert_eq "$(flaky_n 'POST /d')" 1 "retry: the app received POST /d exactly once"
assert_contains "$(cat "$T/flaky.log")" "n=2 POST /d body=5 closed unanswered" \
	"retry: (POST /d did come on the pooled connection, with its body)"
still_serving "retry"

serve_stop_checked "several sites"
finish
