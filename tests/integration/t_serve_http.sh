#!/usr/bin/env bash
# t_serve_http: HTTP/1.1 through moat serve.  Keep-alive on both sides,
# chunked bodies both ways byte-exact, HEAD, 204/304, a close-delimited
# response, the forwarding fields set by the proxy (and the client's not
# passed on), hop-by-hop fields removed, Expect: 100-continue, WebSocket
# (ws_echo.py, 1 MiB messages), HTTP/1.0 clients (no chunked to them,
# keep-alive only when said), and the errors: no upstream (502 at once),
# a slow one (504 after upstream-timeout), one that dies in the middle of
# a body (the client must see a failed transfer, not a clean one), a
# pooled connection closed under a request (retried); max-body-size,
# max-header-size and idle-timeout.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_serve.sh"

serve_need_tools
need_ca
need_upstream chat count

# An upstream that answers with a head promising more than it sends, then
# closes: /len (Content-Length) or /chunked.
cat >"$T/dying.py" <<'EOF'
import socket, sys, os
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
tmp = sys.argv[1] + ".tmp"
open(tmp, "w").write("%d\n" % s.getsockname()[1])
os.rename(tmp, sys.argv[1])
while True:
    c, _ = s.accept()
    req = b""
    while b"\r\n\r\n" not in req:
        b = c.recv(65536)
        if not b:
            break
        req += b
    piece = b"x" * 100000
    if req.startswith(b"GET /chunked"):
        c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n" % len(piece) + piece + b"\r\n")
    else:
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + piece)
    c.close()
EOF
# An upstream that keeps connections alive but closes one, unanswered,
# when a second request comes on it (as one whose keep-alive time ran out
# just then would): a pooled connection failing that way must be retried
# on a new one, invisibly.  GET /lastword is answered (keep-alive framing)
# and the connection closed right after: the close can arrive when the
# proxy has just taken the connection from its pool for the next request.
cat >"$T/flaky.py" <<'EOF'
import socket, sys, os, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
tmp = sys.argv[1] + ".tmp"
open(tmp, "w").write("%d\n" % s.getsockname()[1])
os.rename(tmp, sys.argv[1])
conns = 0
def serve(c, cid):
    buf, n = b"", 0
    while True:
        while b"\r\n\r\n" not in buf:
            b = c.recv(65536)
            if not b:
                c.close()
                return
            buf += b
        head, buf = buf.split(b"\r\n\r\n", 1)
        n += 1
        if head.startswith(b"GET /lastword "):
            # A keep-alive answer, then the connection closed at once (an
            # upstream whose keep-alive time ran out just then).
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nlastword\n")
            c.close()
            return
        if n >= 2:
            print("conn %d: closed at request 2" % cid, file=sys.stderr, flush=True)
            c.close()
            return
        body = b"conn %d\n" % cid
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
while True:
    c, _ = s.accept()
    conns += 1
    threading.Thread(target=serve, args=(c, conns), daemon=True).start()
EOF
"$PY" "$T/flaky.py" "$T/flaky.port" 2>"$T/flaky.log" &
FLAKY_PID=$!
SERVER_PIDS+=("$FLAKY_PID")
wait_file "$FLAKY_PID" "$T/flaky.port" 15 || fail "the flaky upstream did not start"
"$PY" "$T/dying.py" "$T/dying.port" 2>"$T/dying.log" &
DYING_PID=$!
SERVER_PIDS+=("$DYING_PID")
if wait_file "$DYING_PID" "$T/dying.port" 15; then
	pass "the dying upstream listens"
else
	fail "the dying upstream did not start"
fi
DEAD_PORT=$(sv_free_ports)

SV_NAMES=(chat.localhost count.localhost dead.localhost cut.localhost flaky.localhost)
need_serve --local "chat.localhost=http://127.0.0.1:${UP_PORT[chat]}" \
	"count.localhost=http://127.0.0.1:${UP_PORT[count]}" \
	"dead.localhost=http://127.0.0.1:$DEAD_PORT" \
	"cut.localhost=http://127.0.0.1:$(cat "$T/dying.port" 2>/dev/null)" \
	"flaky.localhost=http://127.0.0.1:$(cat "$T/flaky.port" 2>/dev/null)"

# hdr NAME < /headers JSON: every value the upstream received for NAME.
hdr() {
	"$PY" -c '
import json, sys
d = json.load(sys.stdin)
for n, v in d["headers"]:
    if n.lower() == sys.argv[1].lower():
        print(v)' "$1"
}
# hdr_names < /headers JSON: the field names received, lower case.
hdr_names() {
	"$PY" -c '
import json, sys
for n, v in json.load(sys.stdin)["headers"]:
    print(n.lower())'
}

# ---- keep-alive, client side and upstream side
run scurl -w '%{num_connects} %{http_code}\n' -o /dev/null "$(surl /hello)" -o /dev/null "$(surl /hello)" \
	-o /dev/null "$(surl /hello)"
assert_eq "$(tr '\n' ' ' <<<"$OUT")" "1 200 0 200 0 200 " "three requests on one client connection"
run scurl -w '\n' "$(surl /count count.localhost)" "$(surl /count count.localhost)" \
	"$(surl /count count.localhost)" "$(surl /count count.localhost)"
assert_rc 0 "four /count requests through the proxy"
LAST=$(grep -F '{' <<<"$OUT" | tail -n 1)
assert_eq "$(jget 'd["requests"]' <<<"$LAST" 2>/dev/null)" 4 "the upstream saw the 4 requests"
assert_eq "$(jget 'd["connections"]' <<<"$LAST" 2>/dev/null)" 1 "... on 1 upstream connection (kept alive)"
reused=$(metric moat_upstream_reused_total)
assert_int_between "${reused:-x}" 3 100000 "moat_upstream_reused_total counts the reuse ($reused)"

# ---- chunked bodies, both directions, byte-exact
head -c 300007 /dev/urandom >"$T/rand"
run scurl -H 'Transfer-Encoding: chunked' --data-binary @"$T/rand" -D "$T/h.echo" -o "$T/echo.out" \
	"$(surl '/echo?chunked=1')"
assert_rc 0 "chunked upload to /echo?chunked=1"
assert_same_file "$T/echo.out" "$T/rand" "chunked request and chunked response: byte-exact"
H=$(tr -d '\r' <"$T/h.echo")
assert_contains_i "$H" "X-Request-Framing: chunked" "the upstream got the body chunked"
assert_contains_i "$H" "Transfer-Encoding: chunked" "the client got the response chunked"
assert_not_contains "$(tr '[:upper:]' '[:lower:]' <<<"$H")" "content-length" "no Content-Length with chunked"
run scurl --data-binary @"$T/rand" -D "$T/h.echo2" -o "$T/echo2.out" "$(surl /echo)"
assert_same_file "$T/echo2.out" "$T/rand" "Content-Length request and response: byte-exact"
assert_contains_i "$(tr -d '\r' <"$T/h.echo2")" "X-Request-Framing: length" "... framed by length upstream"
run scurl -H 'Transfer-Encoding: chunked' --data-binary '' -o "$T/empty.out" -w '%{http_code}' \
	"$(surl '/echo?chunked=1')"
assert_eq "$OUT" 200 "an empty chunked body"
assert_eq "$(wc -c <"$T/empty.out")" 0 "... echoed empty"
N=1500007
"$PY" -c '
import hashlib, sys
sys.path.insert(0, sys.argv[1])
import upstream
print(hashlib.sha256(upstream.pattern(0, int(sys.argv[2]))).hexdigest())' "$IT_DIR" "$N" >"$T/pattern.sha"
for q in '' '?chunked=1'; do
	run scurl -o "$T/bytes.out" "$(surl "/bytes/$N$q")"
	assert_eq "$(sha256sum <"$T/bytes.out" | cut -c1-64)" "$(cat "$T/pattern.sha")" \
		"/bytes/$N$q: the digest computed here"
done

# ---- HEAD, 204, 304, close-delimited: framing of bodies that are not there
printf 'HEAD /hello HTTP/1.1\r\nHost: chat.localhost\r\n\r\nGET /hello HTTP/1.1\r\nHost: chat.localhost\r\nConnection: close\r\n\r\n' >"$T/req.head"
tls_raw "$T/req.head" >"$T/resp.head"
R=$(tr -d '\r' <"$T/resp.head")
assert_eq "$(grep -c '^HTTP/1.1 200' <<<"$R")" 2 "HEAD then GET on one connection: two 200s"
assert_eq "$(grep -c '^hello from upstream$' <<<"$R")" 1 "HEAD had no body, GET had one"
assert_eq "$(grep -i '^content-length:' <<<"$R" | head -n 1 | tr -d ' ')" "Content-Length:20" \
	"HEAD keeps the upstream's Content-Length"
assert_eq "$(tail -n 1 <<<"$R")" "hello from upstream" "the GET's body ends the stream"
printf 'GET /status/204 HTTP/1.1\r\nHost: chat.localhost\r\n\r\nGET /status/304 HTTP/1.1\r\nHost: chat.localhost\r\n\r\nGET /hello HTTP/1.1\r\nHost: chat.localhost\r\nConnection: close\r\n\r\n' >"$T/req.nobody"
tls_raw "$T/req.nobody" >"$T/resp.nobody"
R=$(tr -d '\r' <"$T/resp.nobody")
assert_eq "$(grep '^HTTP/1.1' <<<"$R" | awk '{print $2}' | tr '\n' ' ')" "204 304 200 " \
	"204, 304, 200 in order on one connection"
assert_not_contains "$(tr '[:upper:]' '[:lower:]' <<<"$R")" "transfer-encoding" "204/304: not chunked"
assert_eq "$(tail -n 1 <<<"$R")" "hello from upstream" "after 204 and 304 the next response is intact"
run scurl -D "$T/h.close" -o "$T/close.out" -w '%{http_code}' "$(surl /close)"
assert_rc 0 "close-delimited response: curl succeeds"
assert_eq "$(cat "$T/close.out")" "until close" "close-delimited response: complete"
H=$(tr -d '\r' <"$T/h.close" | tr '[:upper:]' '[:lower:]')
assert_contains "$H" "connection: close" "close-delimited: the client is told the connection closes"
assert_not_contains "$H" "transfer-encoding" "close-delimited: not made chunked"

# ---- HTTP/1.0 clients
printf 'GET /hello HTTP/1.0\r\nHost: chat.localhost\r\n\r\n' >"$T/req.10"
tls_raw "$T/req.10" chat.localhost 5 >"$T/resp.10"
assert_eq "$?" 0 "HTTP/1.0 without keep-alive: the server closes after the response"
assert_eq "$(tr -d '\r' <"$T/resp.10" | tail -n 1)" "hello from upstream" "HTTP/1.0: the response"
# RFC 9112 section 6.1: no Transfer-Encoding in a response to HTTP/1.0 (it
# does not know chunked): the body must come decoded, delimited by close.
printf 'GET /bytes/100000?chunked=1 HTTP/1.0\r\nHost: chat.localhost\r\n\r\n' >"$T/req.10c"
tls_raw "$T/req.10c" chat.localhost 5 >"$T/resp.10c"
"$PY" - "$T/resp.10c" "$IT_DIR" >"$T/resp.10c.check" <<'EOF'
import sys
sys.path.insert(0, sys.argv[2])
import upstream
raw = open(sys.argv[1], "rb").read()
head, _, body = raw.partition(b"\r\n\r\n")
te = any(l.lower().startswith(b"transfer-encoding:") for l in head.split(b"\r\n"))
print("te" if te else "no-te", "body-ok" if body == upstream.pattern(0, 100000) else "body-bad")
EOF
assert_eq "$(cat "$T/resp.10c.check")" "no-te body-ok" \
	"HTTP/1.0 client, chunked upstream response: no Transfer-Encoding sent, the body decoded"
# RFC 9112 section 9.3 / RFC 7230 A.1.2: an HTTP/1.0 connection persists
# only if the response says "Connection: keep-alive"; without it the client
# waits for the close (ApacheBench -k hangs).
printf 'GET /hello HTTP/1.0\r\nHost: chat.localhost\r\nConnection: keep-alive\r\n\r\n' >"$T/req.10k"
tls_raw "$T/req.10k" chat.localhost 3 >"$T/resp.10k"
rc=$?
assert_eq "$(first_status <"$T/resp.10k")" 200 "HTTP/1.0 with Connection: keep-alive: 200"
if [ "$rc" -eq 0 ] || grep -qi '^Connection: *keep-alive' "$T/resp.10k"; then
	pass "HTTP/1.0 keep-alive: the response says keep-alive, or the server closes"
else
	fail "HTTP/1.0 keep-alive: the connection is kept open without \"Connection: keep-alive\" in the response"
fi
if command -v ab >/dev/null 2>&1; then
	run timeout 30 ab -k -n 20 -c 2 -s 5 -H "Host: chat.localhost:$SV_HTTPS" "https://127.0.0.1:$SV_HTTPS/hello"
	if [ "$RC" -eq 0 ] && grep -qE '^Complete requests: +20$' <<<"$OUT" &&
		grep -qE '^Failed requests: +0$' <<<"$OUT" && ! grep -q '^Non-2xx' <<<"$OUT"; then
		pass "ab -k (HTTP/1.0 keep-alive): 20 requests complete"
	else
		fail "ab -k (HTTP/1.0 keep-alive): exit $RC, $(grep -E '^(Complete|Failed) requests|apr_' <<<"$OUT$ERR" | tr '\n' ' ')"
	fi
fi

# ---- forwarding fields: set by the proxy, the client's dropped
run scurl -H 'X-Forwarded-For: 6.6.6.6' -H 'Forwarded: for=6.6.6.6;proto=http' \
	-H 'X-Real-IP: 6.6.6.6' -H 'X-Forwarded-Host: evil.example' -H 'X-Forwarded-Proto: http' \
	"$(surl /headers)"
J=$OUT
assert_eq "$(hdr X-Forwarded-For <<<"$J")" "127.0.0.1" "X-Forwarded-For: exactly the client's address"
assert_eq "$(hdr X-Real-IP <<<"$J")" "127.0.0.1" "X-Real-IP: the client's address"
assert_eq "$(hdr X-Forwarded-Proto <<<"$J")" "https" "X-Forwarded-Proto: https"
assert_match "$(hdr X-Forwarded-Host <<<"$J")" "^chat\\.localhost(:$SV_HTTPS)?$" "X-Forwarded-Host: the asked-for host"
assert_eq "$(hdr Forwarded <<<"$J" | wc -l)" 1 "one Forwarded field"
F=$(hdr Forwarded <<<"$J")
assert_contains "$F" "for=127.0.0.1" "Forwarded: for=127.0.0.1"
assert_contains "$F" "proto=https" "Forwarded: proto=https"
assert_contains "$F" 'host="chat.localhost' "Forwarded: host="
assert_not_contains "$J" "6.6.6.6" "the client's claimed addresses are not passed on"
assert_not_contains "$J" "evil.example" "the client's X-Forwarded-Host is not passed on"
assert_eq "$(hdr Host <<<"$J")" "chat.localhost:$SV_HTTPS" "Host is passed on as the client sent it"

# ---- hop-by-hop fields
run scurl -H 'Connection: foo, bar' -H 'Foo: 1' -H 'Bar: 2' -H 'Keep-Alive: timeout=5' \
	-H 'TE: trailers' -H 'Proxy-Connection: keep-alive' -H 'Upgrade: h2c' \
	-H 'X-Keep: yes' "$(surl /headers)"
NAMES=$(hdr_names <<<"$OUT")
for h in foo bar connection keep-alive te proxy-connection upgrade; do
	if grep -qx -- "$h" <<<"$NAMES"; then
		fail "hop-by-hop $h passed to the upstream"
	else
		pass "hop-by-hop $h removed"
	fi
done
assert_eq "$(hdr X-Keep <<<"$OUT")" "yes" "an end-to-end field next to them is kept"

# ---- Expect: 100-continue
head -c 2000000 /dev/urandom >"$T/exp"
WANT="$(sha256sum <"$T/exp" | cut -c1-64) 2000000"
run scurl -v -H 'Expect: 100-continue' --expect100-timeout 25 -w '\n%{time_total}' \
	--data-binary @"$T/exp" "$(surl /sha256)"
assert_eq "$(head -n 1 <<<"$OUT")" "$WANT" "Expect: 100-continue upload: the upstream's digest is right"
assert_contains "$ERR" "HTTP/1.1 100" "the client got the interim 100 Continue"
# curl says "Done waiting for 100-continue" when its timeout sends the body.
assert_not_contains "$ERR" "Done waiting for 100-continue" "it did not wait for curl's expect timeout"
t=$(tail -n 1 <<<"$OUT")
assert_int_between "${t%%.*}" 0 20 "... (${t} s, the timeout is 25 s)"

# ---- WebSocket
if "$PY" -c 'import websockets' 2>/dev/null; then
	w0=$(metric moat_websockets_total)
	run "$PY" "$IT_DIR/ws_echo.py" "wss://chat.localhost:$SV_HTTPS/ws" --cafile "$ROOT_PEM" \
		--connect "127.0.0.1:$SV_HTTPS" --timeout 60
	assert_rc 0 "ws_echo.py through the proxy"
	assert_match "$OUT" "^ok 10 messages .*largest 1048579 bytes" "ws_echo.py: every echo right, up to 1 MiB + 3"
	w1=$(metric moat_websockets_total)
	assert_eq "$w1" "$((${w0:-0} + 1))" "moat_websockets_total went up by one"
else
	fail "python3-websockets is not installed for $PY: WebSocket not tested"
fi
# An Upgrade that is not websocket is not a tunnel.
run scurl -o /dev/null -w '%{http_code}' -H 'Connection: Upgrade' -H 'Upgrade: h2c' "$(surl /hello)"
assert_eq "$OUT" 200 "Upgrade: h2c is ignored (plain 200, no tunnel)"
# A WebSocket upgrade the upstream declines: the connection goes on.
printf 'GET /hello HTTP/1.1\r\nHost: chat.localhost\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\nGET /hello HTTP/1.1\r\nHost: chat.localhost\r\nConnection: close\r\n\r\n' >"$T/req.upno"
tls_raw "$T/req.upno" chat.localhost 5 >"$T/resp.upno"
assert_eq "$(tr -d '\r' <"$T/resp.upno" | grep -c '^hello from upstream$')" 2 \
	"an upgrade answered 200 instead of 101: the next request on the connection is served"
# An upgrade request with a body: the body must reach the upstream (or the
# request be refused), not wait forever.
printf 'POST /echo HTTP/1.1\r\nHost: chat.localhost\r\nConnection: upgrade\r\nUpgrade: websocket\r\nContent-Length: 5\r\n\r\nhello' >"$T/req.upbody"
tls_raw "$T/req.upbody" chat.localhost 5 >"$T/resp.upbody"
st=$(first_status <"$T/resp.upbody")
if [ -n "$st" ]; then
	pass "POST with a body and Upgrade: websocket is answered ($st)"
else
	fail "POST with a body and Upgrade: websocket: no answer within 5 s (the body is never forwarded)"
fi

# ---- errors
# upstream_err KIND: moat_upstream_errors_total{kind=KIND}, or "missing".
upstream_err() {
	local v
	v=$(metric "moat_upstream_errors_total{kind=\"$1\"}")
	[[ $v =~ ^[0-9]+$ ]] && echo "$v" || echo missing
}
# plus V N: V + N when V is a number, else "V+N" (equal to no count).
plus() {
	if [[ $1 =~ ^[0-9]+$ ]]; then echo $(($1 + $2)); else echo "$1+$2"; fi
}
e_connect=$(upstream_err connect)
e_timeout=$(upstream_err timeout)
assert_int_between "$e_connect" 0 1000000 "/metrics has moat_upstream_errors_total{kind=\"connect\"}"
run scurl -o "$T/502.body" -w '%{http_code} %{time_total} %{content_type}' "$(surl /hello dead.localhost)"
read -r code secs ctype <<<"$OUT"
assert_eq "$code" 502 "upstream not listening: 502"
# "At once": the refused connect is the answer, not the default
# upstream-timeout (60 s) -- the counters tell which; the time only
# bounds it far below that timeout, with room for a slow machine.
assert_eq "$(upstream_err connect)" "$(plus "$e_connect" 1)" "... from one refused connect (kind=connect +1)"
assert_eq "$(upstream_err timeout)" "$e_timeout" "... not from a timeout (kind=timeout unchanged)"
assert_int_between "${secs%%.*}" 0 10 "... long before upstream-timeout (${secs} s)"
assert_contains "$ctype" "text/html" "... as an HTML page"
assert_contains "$(cat "$T/502.body")" "502" "... which says 502"
assert_int_between "$(wc -c <"$T/502.body")" 20 2000 "... and is short"
run scurl -o /dev/null -w '%{http_code}' "$(surl /hello)"
assert_eq "$OUT" 200 "the other sites still work"

e_closed=$(upstream_err closed)
assert_int_between "$e_closed" 0 1000000 "/metrics has moat_upstream_errors_total{kind=\"closed\"}"
for p in /len /chunked; do
	run scurl -o "$T/cut.out" -w '%{http_code}' "$(surl "$p" cut.localhost)"
	# the head came through, then the body was cut short: curl's 18
	# (partial file), not a clean end (0) nor an error page
	assert_eq "$OUT $RC" "200 18" "upstream dies in the middle of the body ($p): a 200 whose transfer fails (curl exit 18)"
	assert_int_between "$(wc -c <"$T/cut.out")" 0 999999 "... and is not complete ($(wc -c <"$T/cut.out") bytes)"
done
assert_eq "$(upstream_err closed)" "$(plus "$e_closed" 2)" "moat_upstream_errors_total{kind=closed} counts both (+2)"
run scurl -w ' %{http_code}\n' "$(surl /a flaky.localhost)" "$(surl /b flaky.localhost)" "$(surl /c flaky.localhost)"
assert_eq "$(grep -c ' 200$' <<<"$OUT")" 3 "a pooled upstream connection closed unanswered: the request is retried (3 x 200)"
assert_int_between "$(grep -c 'closed at request 2' "$T/flaky.log")" 1 3 "... (the upstream did close pooled connections)"
# Clients that reset their connection (RST) while their request is at the
# upstream: when the answer comes, writing it fails at once.  moat serve
# must drop those connections and stay up (once it went on with a closed
# connection and aborted in libuv's uv_close).
cat >"$T/rst.py" <<'PYEOF'
import socket, ssl, struct, sys, time
port, name, ca, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
ctx = ssl.create_default_context(cafile=ca)
for i in range(n):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5), server_hostname=name)
    path = "/slow?ms=300" if i % 2 == 0 else "/slow?ms=250"
    conn = "" if i % 3 else "Connection: close\r\n"
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (path, name, conn)).encode())
    time.sleep(0.05)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
time.sleep(0.6)
PYEOF
"$PY" "$T/rst.py" "$SV_HTTPS" chat.localhost "$ROOT_PEM" 6
assert_ok "clients that reset while their request is at the upstream: moat serve is still running" pid_alive "$SV_PID"
run scurl -o /dev/null -w '%{http_code}' "$(surl /hello)"
assert_eq "$OUT" 200 "... and answers the next request"

# Two requests pipelined: the second one takes the pooled connection in
# the same loop turn in which the upstream's close arrives.
printf 'GET /lastword HTTP/1.1\r\nHost: flaky.localhost\r\n\r\nGET /lastword HTTP/1.1\r\nHost: flaky.localhost\r\nConnection: close\r\n\r\n' >"$T/req.lastword"
ok=0
bad=''
for i in 1 2 3 4 5 6 7 8; do
	tls_raw "$T/req.lastword" flaky.localhost 5 >"$T/resp.lastword.$i"
	n=$(grep -c '^lastword' "$T/resp.lastword.$i")
	if [ "$n" = 2 ]; then
		ok=$((ok + 1))
	elif [ -z "$bad" ]; then
		bad=$i
	fi
done
assert_eq "$ok" 8 "a pooled connection the upstream closes as it is taken: the pipelined request is retried (8 of 8 pairs answered)"
if [ -n "$bad" ]; then
	note "pair $bad got:"
	tr -d '\r' <"$T/resp.lastword.$bad" | head -n 20 | sed -e 's/^/#   /'
	tail -n 5 "$T/flaky.log" | sed -e 's/^/#   flaky: /'
fi

assert_ok "... and moat serve is still running" pid_alive "$SV_PID"

serve_stop_checked "http"

# upstream-timeout, max-body-size, max-header-size, idle-timeout from a
# configuration file
cat >"$T/timeout.conf" <<EOF
upstream-timeout 1s
max-body-size 1k
max-header-size 2k
idle-timeout 1s
site chat.localhost {
	upstream http://127.0.0.1:${UP_PORT[chat]}
}
EOF
SV_NAMES=(chat.localhost)
need_serve --local --config "$T/timeout.conf"
# The upstream would answer after 20 s: a 504 well before that is the
# timeout's; the time it took is what is under test, so it is bounded --
# from below by the timeout, from above with room for a slow machine.
assert_eq "$(upstream_err timeout)" 0 "a new server: moat_upstream_errors_total{kind=timeout} is 0"
run scurl -o "$T/504.body" -w '%{http_code} %{time_total}' "$(surl '/slow?ms=20000')"
read -r code secs <<<"$OUT"
assert_eq "$code" 504 "/slow?ms=20000 with upstream-timeout 1s: 504"
ms=$("$PY" -c 'import sys; print(int(float(sys.argv[1]) * 1000))' "${secs:-0}")
assert_int_between "$ms" 950 8000 "... after about 1 s (${secs} s)"
assert_contains "$(cat "$T/504.body")" "504" "... with a page that says 504"
assert_eq "$(upstream_err timeout)" 1 "moat_upstream_errors_total{kind=timeout} counts it (exactly 1)"
run scurl -o /dev/null -w '%{http_code}' "$(surl '/slow?ms=300')"
assert_eq "$OUT" 200 "/slow?ms=300 is within the timeout: 200"
assert_eq "$(upstream_err timeout)" 1 "... and is not counted as a timeout"
head -c 1024 /dev/urandom >"$T/1k"
head -c 1025 /dev/urandom >"$T/1k1"
run scurl -o "$T/1k.out" -w '%{http_code}' --data-binary @"$T/1k" "$(surl /echo)"
assert_eq "$OUT" 200 "max-body-size 1k: 1024 bytes pass"
assert_same_file "$T/1k.out" "$T/1k" "... intact"
run scurl -o /dev/null -w '%{http_code}' --data-binary @"$T/1k1" "$(surl /echo)"
assert_eq "$OUT" 413 "max-body-size 1k: 1025 bytes (Content-Length) -> 413"
run scurl -o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' --data-binary @"$T/1k1" "$(surl /echo)"
if [ "$OUT" = 413 ] || [ "$RC" -ne 0 ]; then
	pass "max-body-size 1k: 1025 bytes chunked -> refused ($OUT, curl exit $RC)"
else
	fail "max-body-size 1k: 1025 bytes chunked got $OUT"
fi
run scurl -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 2100 /dev/zero | tr '\0' b)" "$(surl /hello)"
assert_eq "$OUT" 431 "max-header-size 2k: a 2.1k header -> 431"
run scurl -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 1500 /dev/zero | tr '\0' b)" "$(surl /hello)"
assert_eq "$OUT" 200 "max-header-size 2k: a 1.5k header passes"
# idle-timeout: the client measures from the end of the response to the
# server's close (not its own start-up and handshake); a server that never
# closes is cut off by the 15 s limit (exit 3).
cat >"$T/idle_gap.py" <<'PYEOF'
import socket, ssl, sys, time
port, name, ca = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
ctx.set_alpn_protocols(["http/1.1"])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=15), server_hostname=name)
s.sendall(b"GET /hello HTTP/1.1\r\nHost: chat.localhost\r\n\r\n")
buf, t_resp, end = b"", None, time.monotonic() + 15
while time.monotonic() < end:
    s.settimeout(max(0.01, end - time.monotonic()))
    try:
        b = s.recv(65536)
    except socket.timeout:
        print("open", buf.decode("latin-1").rsplit("\n", 1)[-1])
        sys.exit(3)
    except (ssl.SSLError, OSError):
        b = b""
    if not b:
        break
    buf += b
    if t_resp is None and b"hello from upstream" in buf:
        t_resp = time.monotonic()
if t_resp is None:
    print("noresponse", 0)
    sys.exit(4)
print("closed", int((time.monotonic() - t_resp) * 1000))
PYEOF
run "$PY" "$T/idle_gap.py" "$SV_HTTPS" chat.localhost "$ROOT_PEM"
read -r what gap <<<"$OUT"
assert_eq "$RC $what" "0 closed" "idle-timeout 1s: a kept-alive connection is closed when idle, after its response"
assert_int_between "${gap:-x}" 700 5000 "... about 1 s after the response (${gap} ms)"
serve_stop_checked "upstream-timeout"

finish
