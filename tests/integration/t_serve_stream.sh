#!/usr/bin/env bash
# t_serve_stream: moat serve streams bodies instead of holding them.  A
# 200 MB upload (Content-Length) and a 64 MB chunked one to /sha256, a
# 200 MB download (Content-Length) and a 64 MB chunked one from /bytes/N,
# each checked against a digest computed here, and a client that stops
# reading for two seconds in the middle of a 200 MB download -- while
# moat's VmRSS stays under 60 MB (with AddressSanitizer, whose allocator
# keeps freed memory a while: grows by less than 100 MB).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_serve.sh"

serve_need_tools
need_ca
need_upstream chat
LIMIT_KIB=$((60 * 1024))
# ASan's allocator holds freed chunks (quarantine, per-thread caches) and
# its own metadata: there, growth under 100 MB still tells a stream from a
# 200 MB body held whole.
ASAN_LIMIT_KIB=$((100 * 1024))
if is_asan; then
	# A small quarantine: otherwise freed buffers stay resident by design.
	export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}quarantine_size_mb=16"
	note "AddressSanitizer build: checking growth over the idle RSS, quarantine 16 MB"
fi
need_serve --local "chat.localhost=http://127.0.0.1:${UP_PORT[chat]}"
# A few requests first, so that what every connection needs once exists.
for _ in 1 2 3; do scurl -o /dev/null "$(surl /hello)"; done
BASE=$(rss_kib "$SV_PID")
note "moat VmRSS at rest: $BASE KiB"

# assert_rss DESC: RSS_PEAK is within the limit
assert_rss() {
	local peak=$RSS_PEAK n=$RSS_SAMPLES
	if [ "$n" -lt 3 ]; then
		fail "$1: too few VmRSS samples ($n)"
	elif is_asan; then
		assert_int_between "$((peak - BASE))" -100000 "$ASAN_LIMIT_KIB" \
			"$1: moat's VmRSS grew by $((peak - BASE)) KiB (peak $peak, $n samples), < 100 MB"
	else
		assert_int_between "$peak" 1 "$LIMIT_KIB" "$1: moat's VmRSS peak $peak KiB ($n samples) < 60 MB"
	fi
}

# pattern_sha N: the digest of /bytes/N.
pattern_sha() {
	"$PY" - "$IT_DIR" "$1" <<'EOF'
import hashlib, sys
sys.path.insert(0, sys.argv[1])
import upstream
n, h, off = int(sys.argv[2]), hashlib.sha256(), 0
while off < n:
    k = min(1 << 20, n - off)
    h.update(upstream.pattern(off, k))
    off += k
print(h.hexdigest())
EOF
}

# upload_from_pipe FILE: POST it to /sha256 from a pipe (curl sends it
# chunked: the length is not known in advance).
# shellcheck disable=SC2317 # called through run
upload_from_pipe() {
	# shellcheck disable=SC2002 # a pipe, not a file: that is the point
	cat "$1" | CURL_MAX_TIME=120 scurl -X POST -T - "$(surl /sha256)"
}
# download_sha PATH: the digest of what the proxy sends for PATH.
# shellcheck disable=SC2317 # called through run
download_sha() {
	CURL_MAX_TIME=120 scurl "$(surl "$1")" | sha256sum | cut -c1-64
}

BIG=$((200 * 1024 * 1024))
MID=$((64 * 1024 * 1024))

# ---- uploads
head -c "$BIG" /dev/urandom >"$T/big"
WANT="$(sha256sum <"$T/big" | cut -c1-64) $BIG"
rss_watch_start "$SV_PID"
CURL_MAX_TIME=120 run scurl -X POST -T "$T/big" "$(surl /sha256)"
rss_watch_stop
assert_rc 0 "200 MB upload (Content-Length) to /sha256"
assert_eq "$OUT" "$WANT" "200 MB upload: the upstream's digest and length match"
assert_rss "200 MB upload"
rm -f "$T/big"

head -c "$MID" /dev/urandom >"$T/mid"
rss_watch_start "$SV_PID"
run upload_from_pipe "$T/mid"
rss_watch_stop
assert_rc 0 "64 MB chunked upload (from a pipe) to /sha256"
assert_eq "$OUT" "$(sha256sum <"$T/mid" | cut -c1-64) $MID" "64 MB chunked upload: digest and length match"
assert_rss "64 MB chunked upload"

# ---- downloads
rss_watch_start "$SV_PID"
run download_sha "/bytes/$BIG"
rss_watch_stop
assert_eq "$OUT" "$(pattern_sha "$BIG")" "200 MB download (Content-Length): the digest computed here"
assert_rss "200 MB download"

rss_watch_start "$SV_PID"
run download_sha "/bytes/$MID?chunked=1"
rss_watch_stop
assert_eq "$OUT" "$(pattern_sha "$MID")" "64 MB chunked download: the digest computed here"
assert_rss "64 MB chunked download"

# ---- a client that stops reading: moat must stop reading the upstream
cat >"$T/stall.py" <<'EOF'
import hashlib, socket, ssl, sys, time
port, ca, n, pause = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="chat.localhost")
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.sendall(b"GET /bytes/%d HTTP/1.1\r\nHost: chat.localhost\r\nConnection: close\r\n\r\n" % n)
buf = b""
while b"\r\n\r\n" not in buf:
    buf += s.recv(65536)
head, body = buf.split(b"\r\n\r\n", 1)
h = hashlib.sha256(body)
got = len(body)
while got < (1 << 20):
    b = s.recv(65536)
    h.update(b)
    got += len(b)
print("stalled", flush=True)
time.sleep(pause)
while True:
    b = s.recv(1 << 20)
    if not b:
        break
    h.update(b)
    got += len(b)
print(head.split(b"\r\n")[0].decode(), got, h.hexdigest(), flush=True)
EOF
rss_watch_start "$SV_PID"
"$PY" "$T/stall.py" "$SV_HTTPS" "$ROOT_PEM" "$BIG" 2 >"$T/stall.out" 2>"$T/stall.err"
rss_watch_stop
assert_eq "$(tail -n 1 "$T/stall.out")" "HTTP/1.1 200 OK $BIG $(pattern_sha "$BIG")" \
	"a client pausing 2 s inside a 200 MB download still gets it all, intact"
assert_rss "client pausing in a 200 MB download"

serve_stop_checked "stream"
finish
