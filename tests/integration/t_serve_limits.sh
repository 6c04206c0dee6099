#!/usr/bin/env bash
# t_serve_limits: moat serve at the edges of its timeouts, logs and limits.
#
#  - paused reader: upstream-timeout counts only the upstream's silence while
#    moat waits to read from it, not the time moat has paused reading because
#    the client is slow (an 8 MB download, the reader stopping 6 s with
#    upstream-timeout 2s, gets all of it, intact, and nothing is blamed on
#    the upstream);
#  - send-timeout: a client that takes nothing of a response is disconnected
#    after `send-timeout` (2s), logged as such;
#  - stalled upload: an upstream that never reads the body is given up after
#    upstream-timeout (4s: 504), not the client after idle-timeout (2s);
#  - JSON / combined access log: every request is logged, invalid UTF-8
#    escaped (\xff), a User-Agent cut at a character boundary, a line of
#    over 4 KB still one whole record, and the 400/431/505 answers to heads
#    moat refuses logged too;
#  - reload: the message for one site says "1 site";
#  - second instance: another moat serve on a port in use (https, or only
#    http; or a port held by a plain listener) exits 1 and says so, and the
#    first keeps all the traffic;
#  - fd limit: at RLIMIT_NOFILE, an upstream connect that gets no descriptor
#    is logged as "too many open files" and answered 502 at once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_serve.sh"

serve_need_tools
need_ca
need_upstream A B F

CLIENT=$IT_DIR/limits_client.py

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# alive_and_serving DESC [NAME]: moat runs and answers /hello through NAME.
alive_and_serving() {
	if pid_alive "$SV_PID"; then
		pass "$1: moat serve is still running"
	else
		fail "$1: moat serve is gone"
		sed -e 's/^/#   stderr: /' "$SV_ERR" | tail -n 5
		return
	fi
	run scurl "$(surl /hello "${2:-chat.localhost}")"
	assert_eq "$OUT" "hello from upstream" "$1: moat serve still answers requests"
}
# assert_some TEXT DESC: TEXT is not empty (else SEC_ERR is shown).
assert_some() {
	if [ -n "$1" ]; then
		pass "$2"
	else
		fail "$2 (not found)"
		sed -e 's/^/#   stderr: /' "$SEC_ERR" | head -n 5
	fi
}
# lines_of FILE: its number of lines (0 when missing).
# shellcheck disable=SC2317 # called through until_true
lines_of() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
# at_least_lines FILE N
# shellcheck disable=SC2317 # called through until_true
at_least_lines() { [ "$(lines_of "$1")" -ge "$2" ]; }
# conns_open_is N: moat_connections_open{listener="https"} is N.
# shellcheck disable=SC2317 # called through until_true
conns_open_is() { [ "$(metric 'moat_connections_open{listener="https"}')" = "$1" ]; }

# ---- paused reader
cat >"$T/paused.conf" <<EOF
upstream-timeout 2s
error-log $T/paused.err
site chat.localhost {
	upstream http://127.0.0.1:${UP_PORT[A]}
}
EOF
need_serve --local --config "$T/paused.conf"
R=$("$PY" "$CLIENT" paused --port "$SV_HTTPS" --cafile "$ROOT_PEM" --size 8000000 --pause 6)
note "paused reader: $R"
assert_eq "$(jfield "$R" 'd["status"]')" 200 "paused reader: GET /bytes/8000000 answered 200"
assert_eq "$(jfield "$R" 'd["got"]')" 8000000 "paused reader: all 8,000,000 bytes arrive after a 6 s pause (upstream-timeout 2s)"
assert_eq "$(jfield "$R" 'd["content_ok"]')" true "paused reader: the body is the /bytes pattern, intact"
assert_not_contains "$(cat "$T/paused.err")" "timed out waiting for upstream" \
	"paused reader: the error log blames no upstream timeout on a slow client"
alive_and_serving "paused reader"
serve_stop_checked "paused reader"

# ---- send-timeout
cat >"$T/send.conf" <<EOF
send-timeout 2s
error-log $T/send.err
site chat.localhost {
	upstream http://127.0.0.1:${UP_PORT[A]}
}
EOF
if serve_start --local --config "$T/send.conf"; then
	pass "send-timeout: moat serve starts with \"send-timeout 2s\""
	rm -f "$T/go"
	# (serve_start's readiness probe must be gone from the gauge first)
	until_true 5 conns_open_is 0
	T0=$(now_ms)
	"$PY" "$CLIENT" noread --port "$SV_HTTPS" --cafile "$ROOT_PEM" --size 50000000 \
		--go-file "$T/go" --max-wait 20 >"$T/noread.out" 2>&1 &
	NR_PID=$!
	SERVER_PIDS+=("$NR_PID")
	if until_true 10 conns_open_is 1; then
		pass "send-timeout: the non-reading client is connected"
	else
		fail "send-timeout: the non-reading client never showed up in moat_connections_open"
	fi
	if until_true 15 conns_open_is 0; then
		took=$(($(now_ms) - T0))
		assert_int_between "$took" 1500 10000 \
			"send-timeout: moat closes a client that reads nothing after ~2 s (${took} ms)"
	else
		fail "send-timeout: the client that reads nothing is still connected after 15 s"
	fi
	touch "$T/go"
	wait "$NR_PID"
	R=$(tail -n 1 "$T/noread.out")
	note "send-timeout client: $R"
	assert_eq "$(jfield "$R" 'd["complete"]')" false "send-timeout: the client gets an incomplete body"
	assert_match "$(jfield "$R" 'd["end"]')" '^(eof|reset)$' "send-timeout: ... ended by moat (EOF or reset)"
	wait_grep "$SV_PID" "$T/send.err" 'send-timeout' 5
	L=$(grep -F 'send-timeout' "$T/send.err" | head -n 1)
	assert_contains "$L" "send-timeout" "send-timeout: the error log has a line naming send-timeout"
	assert_match "$L" '127\.0\.0\.1|[Cc]lient' "send-timeout: ... which names the client"
	assert_not_contains "$(cat "$T/send.err")" "timed out waiting for upstream" \
		"send-timeout: no upstream is blamed for the client's fault"
	alive_and_serving "send-timeout"
	serve_stop_checked "send-timeout"
else
	fail "send-timeout: moat serve does not start with \"send-timeout 2s\": $(grep -m1 'error' "$SV_ERR")"
fi

# ---- stalled upload
"$PY" "$IT_DIR/limits_stall.py" --ready-file "$T/stall.port" --log "$T/stall.log" \
	</dev/null >/dev/null 2>&1 &
STALL_PID=$!
SERVER_PIDS+=("$STALL_PID")
if ! wait_file "$STALL_PID" "$T/stall.port" 15; then
	fail "stalled upload: limits_stall.py did not start (cannot continue)"
	finish
fi
STALL_PORT=$(cat "$T/stall.port")
cat >"$T/upload.conf" <<EOF
idle-timeout 2s
upstream-timeout 4s
error-log $T/upload.err
site chat.localhost {
	upstream http://127.0.0.1:$STALL_PORT
}
site ok.localhost {
	upstream http://127.0.0.1:${UP_PORT[A]}
}
EOF
SV_NAMES=(chat.localhost ok.localhost)
need_serve --local --config "$T/upload.conf"
R=$("$PY" "$CLIENT" upload --port "$SV_HTTPS" --cafile "$ROOT_PEM" --size 20000000 --target /upload)
note "stalled upload: $R"
up_ms=$(ms "$(jfield "$R" 'd["elapsed"]')")
assert_int_between "$up_ms" 3500 20000 \
	"stalled upload: the connection lasts past idle-timeout 2s, ends after upstream-timeout 4s (${up_ms} ms)"
assert_match "$(jfield "$R" 'd["end"]')" '^(eof|reset)$' "stalled upload: moat ends the connection (not the client's 30 s)"
assert_match "$(jfield "$R" 'd["status"]')" '^(504|None|null)$' "stalled upload: the client gets 504 (or no answer), nothing else"
wait_grep "$SV_PID" "$T/upload.err" 'timed out waiting for upstream' 5
assert_contains "$(cat "$T/upload.err")" "timed out waiting for upstream 127.0.0.1:$STALL_PORT" \
	"stalled upload: the error log says the upstream timed out"
if grep -q 'stall: conn=1 head POST /upload' "$T/stall.log"; then
	pass "stalled upload: the upstream got the request head"
else
	fail "stalled upload: the request never reached the stalling upstream"
fi
alive_and_serving "stalled upload" ok.localhost
serve_stop_checked "stalled upload"
SV_NAMES=(chat.localhost)

# ---- access logs
# Request files (binary: written by python).
"$PY" - "$T" <<'EOF'
import sys
t = sys.argv[1]
H = b"Host: chat.localhost\r\n"
def w(name, data):
    open("%s/req.%s" % (t, name), "wb").write(data)
w("long", b"GET /hello?long=" + b'"' * 1000 + b" HTTP/1.1\r\n" + H +
  b"Referer: " + b"\xff" * 250 + b"\r\nUser-Agent: " + b"\xff" * 250 +
  b"\r\nConnection: close\r\n\r\n")
w("obsfold", b"GET /hello?m=obsfold HTTP/1.1\r\n" + H + b"X: a\r\n b\r\nConnection: close\r\n\r\n")
w("bighead", b"GET /hello?m=bighead HTTP/1.1\r\n" + H +
  b"".join(b"X-Pad-%d: %s\r\n" % (i, b"a" * 200) for i in range(100)) + b"\r\n")
w("http2", b"GET /hello?m=http2 HTTP/2.0\r\n" + H + b"Connection: close\r\n\r\n")
open(t + "/ua.utf8", "wb").write("\u00e9".encode() * 200)
EOF
N_LOG_REQ=7

# log_requests FMT: the seven requests of limits_logcheck.py; sets ST_OBS,
# ST_BIG, ST_H2 (the statuses moat answered the refused heads with).
log_requests() {
	scurl -o /dev/null -A 'limits-test/1' "$(surl '/hello?m=plain')"
	scurl -o /dev/null -A $'attacker\xff' "$(surl /secret-admin-action)"
	scurl -o /dev/null -A "$(cat "$T/ua.utf8")" "$(surl '/hello?m=utf8')"
	tls_raw "$T/req.long" >"$T/resp.long"
	tls_raw "$T/req.obsfold" >"$T/resp.obsfold"
	ST_OBS=$(first_status <"$T/resp.obsfold")
	tls_raw "$T/req.bighead" >"$T/resp.bighead"
	ST_BIG=$(first_status <"$T/resp.bighead")
	tls_raw "$T/req.http2" >"$T/resp.http2"
	ST_H2=$(first_status <"$T/resp.http2")
	assert_eq "$(first_status <"$T/resp.long")" 200 "$1 log: the 4 KB+ request is proxied (200)"
	assert_eq "$ST_OBS" 400 "$1 log: obs-fold is refused with 400"
	assert_eq "$ST_BIG" 431 "$1 log: a 20 KB head is refused with 431"
	assert_match "$ST_H2" '^(505|400)$' "$1 log: HTTP/2.0 in a request line is refused ($ST_H2)"
}

# check_log FMT FILE: what limits_logcheck.py found against what was sent.
check_log() {
	local fmt=$1 file=$2 R want
	until_true 5 at_least_lines "$file" "$N_LOG_REQ"
	R=$("$PY" "$IT_DIR/limits_logcheck.py" "$file" "$fmt")
	note "$fmt log: $R"
	assert_eq "$(jfield "$R" 'd["lines"]')" "$N_LOG_REQ" "$fmt log: one line per request ($N_LOG_REQ requests)"
	assert_eq "$(jfield "$R" 'd["bad"]')/$(jfield "$R" 'd["partial"]')" "0/0" \
		"$fmt log: every line is one whole record (bad lines/bytes after the last newline)"
	assert_eq "$(jfield "$R" 'd["plain"]["status"]') $(jfield "$R" 'd["plain"]["ua"]')" "200 limits-test/1" \
		"$fmt log: a plain request with its status and User-Agent"
	if [ "$fmt" = json ]; then
		assert_eq "$(jfield "$R" 'd["attacker"]["ua"]')" 'attacker\xff' \
			"$fmt log: User-Agent attacker<FF> logged, escaped as the string attacker\\xff"
	else
		assert_eq "$(jfield "$R" 'd["attacker"]["ua"]')" 'attacker\xff' \
			"$fmt log: User-Agent attacker<FF> logged, escaped as attacker\\xff"
	fi
	assert_eq "$(jfield "$R" 'd["utf8"]["found"]')" true "$fmt log: the request with 200 x U+00E9 as User-Agent is logged"
	assert_eq "$(jfield "$R" 'd["utf8"]["ua_valid"]')" true \
		"$fmt log: ... its cut User-Agent is still whole UTF-8 characters ($(jfield "$R" 'd["utf8"]["chars"]') of them)"
	assert_eq "$(jfield "$R" 'd["long"]["found"]')" true "$fmt log: the request with a 4 KB+ log line is logged"
	assert_eq "$(jfield "$R" '[d["long"][k] for k in ("uri_ok", "referer_ok", "ua_ok")]')" \
		"[true, true, true]" "$fmt log: ... with its target, Referer and User-Agent (escaped, not cut short)"
	# The other four were answered 200, 404 (/secret-admin-action), 200, 200.
	assert_eq "$(jfield "$R" 'd["statuses"]')" "$(jfield "[200, 404, 200, 200, ${ST_OBS:-0}, ${ST_BIG:-0}, ${ST_H2:-0}]" 'sorted(d)')" \
		"$fmt log: the refused heads are logged with their statuses ($ST_OBS obs-fold, $ST_BIG too big, $ST_H2 HTTP/2.0)"
}

for fmt in json combined; do
	cat >"$T/$fmt.conf" <<EOF
access-log $T/access.$fmt $fmt
error-log $T/$fmt.err
site chat.localhost {
	upstream http://127.0.0.1:${UP_PORT[A]}
}
EOF
	need_serve --local --config "$T/$fmt.conf"
	log_requests "$fmt"
	check_log "$fmt" "$T/access.$fmt"
	if [ "$fmt" = json ]; then
		# ---- the reload message, with one site
		kill -HUP "$SV_PID"
		if wait_grep "$SV_PID" "$T/$fmt.err" 'reloaded the configuration' 15; then
			L=$(grep -m1 'reloaded the configuration' "$T/$fmt.err")
			assert_contains "$L" "1 site)" "reload message: one site is \"1 site\""
			assert_not_contains "$L" "1 sites" "reload message: ... not \"1 sites\""
		else
			fail "reload message: no \"reloaded the configuration\" after SIGHUP"
		fi
	fi
	alive_and_serving "$fmt log"
	serve_stop_checked "$fmt log"
done

# ---- second instance
# second_serve ARGS...: another moat serve (upstream B, one worker, no
# admin); until it exits or says it is ready, 30 s at most.  Sets SEC_PID,
# SEC_STATE (exited|ready|timeout), SEC_RC, SEC_MS, SEC_ERR.
N_SECOND=0
second_serve() {
	local t0 end
	N_SECOND=$((N_SECOND + 1))
	SEC_ERR=$T/second$N_SECOND.err
	t0=$(now_ms)
	"$MOAT" serve --listen 127.0.0.1 --workers 1 --local "$@" \
		"chat.localhost=http://127.0.0.1:${UP_PORT[B]}" </dev/null >/dev/null 2>"$SEC_ERR" &
	SEC_PID=$!
	SERVER_PIDS+=("$SEC_PID")
	SEC_STATE=timeout
	end=$((SECONDS + 30))
	while [ "$SECONDS" -lt "$end" ]; do
		if ! pid_alive "$SEC_PID"; then
			SEC_STATE=exited
			break
		fi
		if grep -q 'ready (pid' "$SEC_ERR"; then
			SEC_STATE=ready
			break
		fi
		sleep 0.1 # poll interval
	done
	SEC_MS=$(($(now_ms) - t0))
	SEC_RC=''
	if [ "$SEC_STATE" = exited ]; then
		wait "$SEC_PID"
		SEC_RC=$?
	fi
}
# second_stop: stop it if it still runs.
second_stop() {
	if pid_alive "$SEC_PID"; then
		serve_stop "$SEC_PID"
	fi
}
# upstream_of PATH: "STATUS UPSTREAM-NAME" of the answer through the proxy.
upstream_of() {
	scurl -D - -o /dev/null "$(surl "$1")" 2>/dev/null | tr -d '\r' |
		awk -F': ' 'NR == 1 { split($0, w, " "); code = w[2] }
			tolower($1) == "x-upstream-name" { name = $2 }
			END { print code, name }'
}
# port_in_use_line PORT: when SEC_ERR says a port is in use (or another
# server is using it), its error lines that name PORT.
port_in_use_line() {
	grep -qE 'in use|is using it' "$SEC_ERR" &&
		grep -E 'error' "$SEC_ERR" | grep -E "(^|[^0-9])$1([^0-9]|$)"
}

need_serve --local "chat.localhost=http://127.0.0.1:${UP_PORT[A]}"
FIRST_PID=$SV_PID
read -r FREE1 FREE2 FREE3 FREE4 <<<"$(sv_free_ports 4)"

second_serve --https-port "$SV_HTTPS" --http-port "$FREE1"
assert_eq "$SEC_STATE/$SEC_RC" "exited/1" "second instance: same https port: exits with status 1 (${SEC_MS} ms)"
assert_some "$(port_in_use_line "$SV_HTTPS")" "second instance: same https port: stderr says port $SV_HTTPS is in use"
# While the second one runs (if it does), where do the requests go?
n_a=0
for _ in $(seq 1 20); do
	[ "$(upstream_of /hello)" = "200 A" ] && n_a=$((n_a + 1))
done
assert_eq "$n_a" 20 "second instance: all 20 requests answered 200 by the first instance (upstream A)"
second_stop

second_serve --https-port "$FREE2" --http-port "$SV_HTTP"
assert_eq "$SEC_STATE/$SEC_RC" "exited/1" "second instance: same http port only: exits with status 1 (${SEC_MS} ms)"
assert_some "$(port_in_use_line "$SV_HTTP")" "second instance: same http port only: stderr says port $SV_HTTP is in use"
second_stop

# A port held by a plain listener (no SO_REUSEPORT).
"$PY" -c '
import os, socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(5)
open(sys.argv[2] + ".tmp", "w").write("ok\n")
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
time.sleep(600)
' "$FREE3" "$T/holder.ready" </dev/null >/dev/null 2>&1 &
HOLDER_PID=$!
SERVER_PIDS+=("$HOLDER_PID")
if wait_file "$HOLDER_PID" "$T/holder.ready" 10; then
	second_serve --https-port "$FREE3" --http-port "$FREE4"
	assert_eq "$SEC_STATE/$SEC_RC" "exited/1" "second instance: a port held by a plain listener: exit 1 (${SEC_MS} ms)"
	assert_some "$(port_in_use_line "$FREE3")" "second instance: a port held by a plain listener: stderr says port $FREE3 is in use"
	second_stop
else
	fail "second instance: the plain listener did not start"
fi
kill "$HOLDER_PID" 2>/dev/null
wait "$HOLDER_PID" 2>/dev/null

assert_eq "$SV_PID" "$FIRST_PID" "second instance: the first is the same process"
alive_and_serving "second instance"
assert_eq "$(upstream_of /hello)" "200 A" "second instance: the first still answers (upstream A)"
serve_stop_checked "second instance"

# ---- fd limit
cat >"$T/fd.conf" <<EOF
idle-timeout 300s
upstream-connect-timeout 10s
redirect off
error-log $T/fd.err
site chat.localhost {
	upstream http://127.0.0.1:${UP_PORT[F]}
}
EOF
SV_WORKERS=1 SV_NO_ADMIN=1 need_serve --local --config "$T/fd.conf"
R=$("$PY" "$IT_DIR/limits_fds.py" --pid "$SV_PID" --port "$SV_HTTP" --spare 12)
note "fd limit: $R"
assert_eq "$(jfield "$R" 'd["full"]')" true \
	"fd limit: with RLIMIT_NOFILE lowered, idle connections use up moat's descriptors ($(jfield "$R" 'd["held"]') held)"
assert_eq "$(jfield "$R" 'd["freed"]')" true "fd limit: closing one idle connection frees exactly one descriptor"
assert_eq "$(jfield "$R" 'd["status"]')" 502 "fd limit: a request whose upstream connect gets no descriptor: 502"
fd_ms=$(ms "$(jfield "$R" 'd["seconds"]')")
assert_int_between "$fd_ms" 0 3000 "fd limit: ... at once, not after upstream-connect-timeout 10s (${fd_ms} ms)"
assert_contains_i "$(grep -F "127.0.0.1:${UP_PORT[F]}" "$T/fd.err")" "too many open files" \
	"fd limit: the error log says \"too many open files\" for the upstream"
assert_not_contains "$(cat "$T/fd.err")" "connection timed out" "fd limit: ... not \"connection timed out\""
assert_eq "$(jfield "$R" 'd["after_status"]')" 200 "fd limit: once the connections are gone, requests work again"
if pid_alive "$SV_PID"; then pass "fd limit: moat serve is still running"; else fail "fd limit: moat serve is gone"; fi
serve_stop_checked "fd limit"

finish
