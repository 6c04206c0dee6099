#!/usr/bin/env bash
# t_trust_share: moat trust share, the LAN page that hands the root to
# phones: every file over HTTP (bytes and content types), HEAD, 405, 404,
# escaping of a hostile CA name, no key material, the QR code in the
# terminal and on the page (decoded with zbarimg), stopping on a timeout
# and on signals, and the failures (port in use, no CA, bad root).
. "$(dirname "$0")/lib.sh"

CHROMIUM=''
for c in chromium chromium-browser google-chrome google-chrome-stable; do
	if command -v "$c" >/dev/null 2>&1; then
		CHROMIUM=$c
		break
	fi
done
for tool in curl python3 zbarimg openssl; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "# SKIP $tool is not installed"
		exit 77
	fi
done
if [ -z "$CHROMIUM" ] && ! command -v convert >/dev/null 2>&1; then
	echo "# SKIP neither chromium nor ImageMagick (convert) is installed"
	exit 77
fi

NAME='Share <b>&"Test'
need_ca --name "$NAME"
ROOT=$MOAT_HOME/ca/root.pem
FP=$(openssl x509 -in "$ROOT" -noout -fingerprint -sha256 | sed -e 's/^.*=//')
openssl x509 -in "$ROOT" -outform DER -out "$T/ref.der"
for fmt in der pem mobileconfig; do
	assert_ok "trust export --format $fmt" "$MOAT" trust export --format "$fmt" --out "$T/exp.$fmt"
done

# start_share LOGNAME ARGS...: moat trust share on 127.0.0.1 and a free port,
# in the background; waits until it listens and has printed its banner.
# Sets SHARE_PID, SHARE_PORT, URL; stdout/stderr in $T/LOGNAME.out/.err.
SHARE_PID=''
SHARE_PORT=''
URL=''
start_share() {
	local log=$1 attempt port
	shift
	for attempt in 1 2 3; do
		port=$(free_port) || return 1
		"$MOAT" trust share --listen "127.0.0.1:$port" --name 127.0.0.1 "$@" \
			</dev/null >"$T/$log.out" 2>"$T/$log.err" &
		SHARE_PID=$!
		SERVER_PIDS+=("$SHARE_PID")
		if wait_port "$SHARE_PID" 127.0.0.1 "$port" 15 &&
			poll_pid "$SHARE_PID" 15 grep -q 'Press Ctrl-C' "$T/$log.err"; then
			SHARE_PORT=$port
			URL=http://127.0.0.1:$port/
			return 0
		fi
		stop_server "$SHARE_PID"
		note "attempt $attempt on port $port failed:"
		sed -e 's/^/#   /' "$T/$log.err" | tail -n 3
	done
	return 1
}

# stop_share SIGNAL PID LOG DESC: send SIGNAL, wait (at most 20 s) for PID to
# end; it must exit 0 and its stderr (LOG) hold no sanitizer report.
stop_share() {
	local sig=$1 pid=$2 log=$3 desc=$4 rc
	kill "-$sig" "$pid" 2>/dev/null
	if ! wait_exit "$pid" 20; then
		fail "$desc (still running 20 s after SIG$sig: SIGKILL)"
		return
	fi
	rc=$WAIT_RC
	if [ "$rc" -eq 0 ] && ! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log"; then
		pass "$desc"
	else
		fail "$desc (exit $rc)"
		grep -E -A8 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log" | head -n 30 |
			sed -e 's/^/#   /'
	fi
}

# get PATH FILE [CURL ARGS...]: prints "<status> <content type>".
get() {
	local path=$1 file=$2
	shift 2
	curl -sS --noproxy '*' --max-time 20 -o "$file" -w '%{http_code} %{content_type}' "$@" \
		"$URL$path"
}

# QR text (half blocks, light modules drawn) -> PNG with a quiet zone.
cat >"$T/qr2png.py" <<'EOF'
import struct, sys, zlib
rows = []
for line in open(sys.argv[1], encoding="utf-8").read().split("\n"):
    line = line.rstrip("\n")
    if not line or any(c not in " \u2580\u2584\u2588" for c in line):
        continue
    rows.append([c in "\u2580\u2588" for c in line])  # top half: light?
    rows.append([c in "\u2584\u2588" for c in line])  # bottom half
if not rows or len({len(r) for r in rows}) != 1:
    sys.exit("no QR code found, or ragged lines")
h, w, pad, s = len(rows), len(rows[0]), 4, 8
W, H = (w + 2 * pad) * s, (h + 2 * pad) * s
raw = bytearray()
for Y in range(H):
    raw.append(0)
    y = Y // s - pad
    for X in range(W):
        x = X // s - pad
        light = not (0 <= y < h and 0 <= x < w) or rows[y][x]
        raw.append(255 if light else 0)
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
with open(sys.argv[2], "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(raw))) + chunk(b"IEND", b""))
print(w)
EOF

# ---------------------------------------------------------------- serving
if ! start_share s1 --timeout 300; then
	fail "moat trust share starts (cannot continue)"
	finish
fi
pass "moat trust share listens on 127.0.0.1:$SHARE_PORT"
assert_eq "$(head -n 1 "$T/s1.out")" "$URL" "stdout starts with the page's URL"
assert_contains "$(cat "$T/s1.err")" "$FP" "the terminal shows the fingerprint"

assert_eq "$(get moat-root.crt "$T/got.crt")" "200 application/x-x509-ca-cert" \
	"/moat-root.crt: 200, application/x-x509-ca-cert"
assert_same_file "$T/got.crt" "$T/ref.der" "  ... is the root's DER (openssl x509 -outform DER)"
assert_same_file "$T/got.crt" "$T/exp.der" "  ... equals trust export --format der"
assert_eq "$(get moat-root.mobileconfig "$T/got.mobileconfig")" \
	"200 application/x-apple-aspen-config" \
	"/moat-root.mobileconfig: 200, application/x-apple-aspen-config"
assert_same_file "$T/got.mobileconfig" "$T/exp.mobileconfig" \
	"  ... equals trust export --format mobileconfig"
assert_eq "$(get moat-root.pem "$T/got.pem")" "200 application/x-pem-file" \
	"/moat-root.pem: 200, application/x-pem-file"
assert_same_file "$T/got.pem" "$T/exp.pem" "  ... equals trust export --format pem"
assert_eq "$(cert_fp "$T/got.pem")" "$(cert_fp "$ROOT")" "  ... is the root (fingerprint)"
assert_eq "$(get qr.svg "$T/got.svg")" "200 image/svg+xml" "/qr.svg: 200, image/svg+xml"
assert_eq "$(head -c 5 "$T/got.svg")" "<svg " "  ... is an SVG"
assert_eq "$(get '' "$T/page.html")" "200 text/html; charset=utf-8" \
	"/: 200, text/html; charset=utf-8"
assert_eq "$(get 'moat-root.crt?from=qr&x=/y' "$T/got-q.crt")" "200 application/x-x509-ca-cert" \
	"the query string is ignored"
assert_same_file "$T/got-q.crt" "$T/ref.der" "  ... same bytes"

# HEAD: the headers of GET, no body
run curl -sS --noproxy '*' --max-time 20 -I "${URL}moat-root.crt"
assert_match "$OUT" '^HTTP/1\.1 200 ' "HEAD /moat-root.crt: 200"
assert_contains "$(tr -d '\r' <<<"$OUT")" "Content-Length: $(stat -c %s "$T/ref.der")" \
	"  ... Content-Length of the DER"
assert_eq "$(curl -sS --noproxy '*' --max-time 20 -I -o /dev/null -w '%{http_code} %{size_download}' \
	"${URL}moat-root.mobileconfig")" "200 0" "  ... and no body"

assert_eq "$(get '' /dev/null -X POST)" "405 text/plain; charset=utf-8" "POST /: 405"
assert_eq "$(get moat-root.crt /dev/null -X DELETE | cut -d' ' -f1)" 405 "DELETE: 405"
for p in nothing favicon.ico ca/root-key.pem moat-root.key moat-root.crt/ root.pem; do
	assert_eq "$(get "$p" /dev/null | cut -d' ' -f1)" 404 "/$p: 404"
done

# the page
PAGE=$(cat "$T/page.html")
assert_contains "$PAGE" "$FP" "the page shows the fingerprint as openssl prints it"
assert_contains "$PAGE" "$(cut -c1-23 <<<"$FP" | tr ':' ' ')" "  ... and in groups"
assert_contains "$PAGE" 'Share &lt;b&gt;&amp;&quot;Test' "the page shows the CA name escaped"
assert_not_contains "$PAGE" 'Share <b>' "  ... never raw"
assert_contains "$PAGE" 'name="viewport"' "the page has a viewport for phones"
assert_not_contains "$PAGE" '<script' "the page runs no script"
assert_not_contains "$PAGE" 'src=' "the page loads nothing"
assert_contains "$PAGE" 'href="/moat-root.mobileconfig"' "the page links the profile"
assert_contains "$PAGE" 'href="/moat-root.crt"' "the page links the DER"
assert_contains "$PAGE" 'href="/moat-root.pem"' "the page links the PEM"
assert_contains "$PAGE" 'Certificate Trust Settings' "the page tells iOS users to enable full trust"
assert_contains "$PAGE" 'only serves the public root' "the page says it serves only the public root"

# nothing secret in any answer
for f in got.crt got.mobileconfig got.pem got.svg page.html; do
	assert_eq "$(grep -c 'PRIVATE KEY' "$T/$f")" 0 "$f holds no private key"
done
for k in "$MOAT_HOME"/ca/*key*.pem; do
	line=$(sed -n 2p "$k")
	assert_eq "$(cat "$T"/got.* "$T/page.html" | grep -cF -- "$line")" 0 \
		"no line of $(basename "$k") in any answer"
done

# the log: one line per request, peer text escaped
assert_eq "$(get 'x"y' /dev/null | cut -d' ' -f1)" 404 "/x\"y: 404"
# The log lines are written on the server's thread, after the answer: wait
# for the last one (requests are logged in order).
if ! poll_pid "$SHARE_PID" 15 grep -qF 'GET /x\x22y: 404' "$T/s1.err"; then
	note "no log line for GET /x\"y within 15 s"
fi
LOG=$(cat "$T/s1.err")
assert_contains "$LOG" "127.0.0.1 downloaded moat-root.crt" "the terminal logs downloads"
assert_contains "$LOG" "127.0.0.1 opened the page" "the terminal logs page views"
assert_contains "$LOG" 'GET /x\x22y: 404' "peer-supplied text is escaped in the log"
assert_eq "$(grep -cv -e '^moat: ' -e '^Sharing ' -e '^  ' -e '^Open ' -e '^Press Ctrl-C' \
	"$T/s1.err")" 0 "stderr holds only the banner and log lines"

# ---------------------------------------------------------------- QR codes
if run python3 "$T/qr2png.py" "$T/s1.out" "$T/term-qr.png" && [ "$RC" -eq 0 ]; then
	pass "the terminal QR code parses ($OUT modules wide with its quiet zone)"
	run zbarimg --raw -q "$T/term-qr.png"
	assert_eq "$OUT" "$URL" "the terminal QR code decodes to the URL"
else
	fail "the terminal QR code parses ($ERR)"
fi
assert_eq "$(grep -c $'\e' "$T/s1.out")" 0 "no ANSI escapes when stdout is not a terminal"

if [ -n "$CHROMIUM" ]; then
	run timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$T/ud" --screenshot="$T/shot.png" --window-size=800,1400 "$URL"
	if [ -s "$T/shot.png" ]; then
		pass "$CHROMIUM renders the page"
		run zbarimg --raw -q "$T/shot.png"
		assert_eq "$OUT" "$URL" "the QR code on the page (screenshot) decodes to the URL"
	else
		fail "$CHROMIUM renders the page (exit $RC)"
		show_last
	fi
else
	skip_part "no chromium: the page itself is not rendered"
fi
if command -v convert >/dev/null 2>&1; then
	run convert "$T/got.svg" "$T/svg.png"
	assert_rc 0 "ImageMagick renders /qr.svg"
	run zbarimg --raw -q "$T/svg.png"
	assert_eq "$OUT" "$URL" "/qr.svg decodes to the URL"
fi

# ---------------------------------------------------------------- stopping
# (every moat run in the foreground from here on is bounded by timeout 60:
# a server that does not stop when it should fails, exit 124, not hangs)
# port in use: a second server on the same port
P1=$SHARE_PORT
run timeout 60 "$MOAT" trust share --listen "127.0.0.1:$P1" --name 127.0.0.1 --timeout 5
assert_error_shape "port in use: exit 1, one error line"
assert_contains "$ERR" "already in use" "  ... says the port is in use"
assert_match "$ERR" '^hint: .*--listen' "  ... and hints at --listen"

stop_share TERM "$SHARE_PID" "$T/s1.err" "SIGTERM stops it with exit 0"
assert_contains "$(cat "$T/s1.err")" "moat: stopped (terminated)" "  ... and says so"
assert_fails "  ... and the port is closed" port_open 127.0.0.1 "$P1"

# SIGINT (Ctrl-C).  A background job of a script ignores SIGINT, and moat
# honours that, so give it the default disposition as a terminal would.
port=$(free_port)
python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' "$MOAT" trust share --listen "127.0.0.1:$port" \
	--name 127.0.0.1 </dev/null >"$T/s2.out" 2>"$T/s2.err" &
pid=$!
SERVER_PIDS+=("$pid")
if wait_port "$pid" 127.0.0.1 "$port" 15; then
	stop_share INT "$pid" "$T/s2.err" "SIGINT stops it with exit 0"
	assert_contains "$(cat "$T/s2.err")" "moat: stopped (interrupt)" "  ... and says so"
else
	fail "moat trust share starts for the SIGINT test"
fi

port=$(free_port)
start=$(date +%s%N)
run timeout 60 "$MOAT" trust share --listen "127.0.0.1:$port" --name 127.0.0.1 --timeout 1s
ms=$((($(date +%s%N) - start) / 1000000))
assert_rc 0 "--timeout 1s: exit 0"
assert_int_between "$ms" 900 8000 "  ... after about a second (${ms} ms)"
assert_contains "$ERR" "stopped after 1s" "  ... and says so"
assert_eq "$(head -n 1 <<<"$OUT")" "http://127.0.0.1:$port/" "  ... having printed its URL"

# --json: one document on stdout; the QR code goes to stderr
if start_share s3 --json --timeout 60; then
	assert_eq "$(json_get 'd["url"]' <"$T/s3.out")" "$URL" "--json: url"
	assert_eq "$(json_get 'd["sha256"]' <"$T/s3.out")" "$FP" "--json: sha256"
	assert_eq "$(json_get 'd["port"]' <"$T/s3.out")" "$SHARE_PORT" "--json: port"
	assert_eq "$(json_get 'd["timeout"]' <"$T/s3.out")" 60 "--json: timeout"
	files=$(json_get '" ".join(f["url"] + "=" + f["content_type"] for f in d["files"])' \
		<"$T/s3.out")
	for f in $files; do
		u=${f%%=*}
		ct=${f#*=}
		assert_eq "$(curl -sS --noproxy '*' --max-time 20 -o /dev/null -w '%{http_code} %{content_type}' "$u")" \
			"200 $ct" "--json: $u answers 200 $ct"
	done
	assert_eq "$(json_get 'len(d["files"])' <"$T/s3.out")" 3 "--json lists the three files"
	run python3 "$T/qr2png.py" "$T/s3.err" "$T/json-qr.png"
	assert_rc 0 "--json: the QR code is on stderr"
	stop_share TERM "$SHARE_PID" "$T/s3.err" "--json: SIGTERM stops it with exit 0"
else
	fail "moat trust share --json starts"
fi

# --no-qr
port=$(free_port)
run timeout 60 "$MOAT" trust share --listen "127.0.0.1:$port" --name 127.0.0.1 --timeout 1 --no-qr
assert_rc 0 "--no-qr runs"
assert_eq "$OUT" "http://127.0.0.1:$port/" "--no-qr prints only the URL"

# ---------------------------------------------------------------- bad input
run timeout 60 "$MOAT" trust share --listen nonsense:port
assert_rc 2 "--listen nonsense:port is a usage error"
run timeout 60 "$MOAT" trust share --timeout 0
assert_rc 2 "--timeout 0 is a usage error"
run timeout 60 "$MOAT" trust share --timeout 10x
assert_rc 2 "--timeout 10x is a usage error"
run timeout 60 "$MOAT" trust share extra
assert_rc 2 "an extra argument is a usage error"
run timeout 60 "$MOAT" trust share --listen "127.0.0.1:$(free_port)" --name 'bad name' --timeout 1
assert_error_shape "--name 'bad name': exit 1, one error line"
run "$MOAT" help trust share
assert_contains "$OUT" "--listen ADDR:PORT" "moat help trust share explains --listen"

MOAT_HOME=$T/nothing run timeout 60 "$MOAT" trust share --listen "127.0.0.1:$(free_port)" --timeout 1
assert_error_shape "no CA: exit 1, one error line"
assert_contains "$ERR" "there is no CA" "  ... says there is no CA"
assert_contains "$ERR" "moat ca init" "  ... and how to make one"

cp -a "$MOAT_HOME" "$T/bad"
echo "not a certificate" >"$T/bad/ca/root.pem"
MOAT_HOME=$T/bad run timeout 60 "$MOAT" trust share --listen "127.0.0.1:$(free_port)" --timeout 1
assert_error_shape "corrupt root.pem: exit 1, one error line"
assert_contains "$ERR" "root.pem" "  ... names root.pem"
# root.pem its reader may not read (root reads anything: as root, the
# case runs as nobody, on a copy of the CA readable but for root.pem)
not_root
cp "$ROOT" "$T/bad/ca/root.pem"
chmod -R a+rX "$T/bad"
chmod 000 "$T/bad/ca/root.pem"
run "${AS_USER[@]}" cat "$T/bad/ca/root.pem"
assert_rc 1 "(control) $AS_NAME cannot read the chmod 000 root.pem"
MOAT_HOME=$T/bad run timeout 60 "${AS_USER[@]}" "$MOAT" trust share \
	--listen "127.0.0.1:$(free_port)" --timeout 1
assert_error_shape "unreadable root.pem: exit 1, one error line"
assert_contains "$ERR" "root.pem" "  ... names root.pem"
rm -f "$T/bad/ca/root.pem"
mkdir "$T/bad/ca/root.pem"
MOAT_HOME=$T/bad run timeout 60 "$MOAT" trust share --listen "127.0.0.1:$(free_port)" --timeout 1
assert_error_shape "root.pem a directory: exit 1, one error line"
assert_contains "$ERR" "cannot read" "  ... says it cannot read it"

finish
