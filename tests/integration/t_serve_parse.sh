#!/usr/bin/env bash
# t_serve_parse: moat serve's strictness about request framing, with raw
# bytes over TLS (the ways requests are smuggled past a proxy): both
# Content-Length and Transfer-Encoding, conflicting lengths, codings other
# than chunked, a bad chunk size with a request hidden behind it, obs-fold,
# bare LF, NUL, no Host, too many / too large headers -- each answered with
# its error and the connection closed, none reaching the upstream -- and
# pipelined requests answered in order.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_serve.sh"

serve_need_tools
need_ca
need_upstream chat
need_serve --local "chat.localhost=http://127.0.0.1:${UP_PORT[chat]}"

# expect_status NAME WANT(ERE) DESC: send $T/req.NAME (printf format on
# stdin), the first response must have a status matching WANT, come from
# moat (not the upstream) and the server must close the connection.
expect_status() {
	local name=$1 want=$2 desc=$3 rc st
	cat >"$T/fmt.$name"
	# shellcheck disable=SC2059 # the format is the request
	printf "$(cat "$T/fmt.$name")" >"$T/req.$name"
	tls_raw "$T/req.$name" chat.localhost 10 >"$T/resp.$name"
	rc=$?
	st=$(first_status <"$T/resp.$name")
	if [[ $st =~ ^($want)$ ]]; then
		pass "$desc: $st"
	else
		fail "$desc: status '$st', expected $want"
		head -c 600 "$T/resp.$name" | sed -e 's/^/#   resp: /'
	fi
	if grep -qi '^X-Upstream-Name:' "$T/resp.$name"; then
		fail "$desc: the answer came from the upstream, not the proxy"
	else
		pass "$desc: answered by the proxy itself"
	fi
	if [ "$rc" -eq 0 ]; then
		pass "$desc: the connection is closed after the error"
	else
		fail "$desc: the connection stayed open (tls_raw exit $rc)"
	fi
}

H='Host: chat.localhost\r\n'
expect_status clte 400 "Content-Length and Transfer-Encoding together" <<EOF
POST /echo?case=clte HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n
EOF
expect_status tecl 400 "Transfer-Encoding before Content-Length" <<EOF
POST /echo?case=tecl HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n
EOF
expect_status twocl 400 "two different Content-Lengths" <<EOF
POST /echo?case=twocl HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!
EOF
expect_status cllist 400 "Content-Length: 5, 6" <<EOF
POST /echo?case=cllist HTTP/1.1\r\n${H}Content-Length: 5, 6\r\n\r\nhello!
EOF
expect_status clsign 400 "Content-Length: +5" <<EOF
POST /echo?case=clsign HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\nhello
EOF
expect_status gzipchunked '501|400' "Transfer-Encoding: gzip, chunked" <<EOF
POST /echo?case=gzipchunked HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n
EOF
expect_status chunkedgzip 400 "Transfer-Encoding: chunked, gzip (length unknown)" <<EOF
POST /echo?case=chunkedgzip HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n
EOF
expect_status identity 400 "Transfer-Encoding: identity" <<EOF
POST /echo?case=identity HTTP/1.1\r\n${H}Transfer-Encoding: identity\r\n\r\nhello
EOF
expect_status te10 400 "Transfer-Encoding in HTTP/1.0" <<EOF
POST /echo?case=te10 HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n
EOF
expect_status badchunk 400 "bad chunk size (zz)" <<EOF
POST /echo?case=badchunk HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nGET /smuggled-1 HTTP/1.1\r\n${H}\r\n
EOF
expect_status bigchunk 400 "chunk size that overflows 64 bits" <<EOF
POST /echo?case=bigchunk HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\nGET /smuggled-2 HTTP/1.1\r\n${H}\r\n
EOF
expect_status chunklf 400 "chunk size line ending in a bare LF" <<EOF
POST /echo?case=chunklf HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\nGET /smuggled-3 HTTP/1.1\r\n${H}\r\n
EOF
expect_status obsfold 400 "obs-fold" <<EOF
GET /headers?case=obsfold HTTP/1.1\r\n${H}X-Folded: a\r\n b\r\n\r\n
EOF
expect_status barelf 400 "bare LF line ends" <<EOF
GET /headers?case=barelf HTTP/1.1\n${H%\\r\\n}\n\n
EOF
expect_status nul 400 "NUL in a header value" <<EOF
GET /headers?case=nul HTTP/1.1\r\n${H}X-Nul: a\0000b\r\n\r\n
EOF
expect_status ctl 400 "a control character in a header value" <<EOF
GET /headers?case=ctl HTTP/1.1\r\n${H}X-Ctl: a\001b\r\n\r\n
EOF
expect_status spacecolon 400 "space before the colon" <<EOF
GET /headers?case=spacecolon HTTP/1.1\r\n${H}X-Space : a\r\n\r\n
EOF
expect_status nohost 400 "HTTP/1.1 without Host" <<EOF
GET /headers?case=nohost HTTP/1.1\r\nX-A: b\r\n\r\n
EOF
expect_status twohost 400 "two Host fields" <<EOF
GET /headers?case=twohost HTTP/1.1\r\n${H}${H}\r\n
EOF
expect_status badline 400 "a request line with an extra word" <<EOF
GET /headers?case=badline HTTP/1.1 x\r\n${H}\r\n
EOF
expect_status http2 '505|400' "HTTP/2.0 in an HTTP/1 request line" <<EOF
GET /headers?case=http2 HTTP/2.0\r\n${H}\r\n
EOF
expect_status connect 405 "CONNECT (not a forward proxy)" <<EOF
CONNECT 127.0.0.1:${UP_PORT[chat]} HTTP/1.1\r\nHost: 127.0.0.1:${UP_PORT[chat]}\r\n\r\n
EOF
big=$(head -c 200 /dev/zero | tr '\0' 'a')
{
	printf 'GET /headers?case=bighead HTTP/1.1\\r\\n%s' "$H"
	for i in $(seq 1 100); do printf 'X-Pad-%d: %s\\r\\n' "$i" "$big"; done
	printf '\\r\\n'
} >"$T/fmt.bighead.in"
expect_status bighead 431 "100 headers of 200 bytes (over the 16k head limit)" <"$T/fmt.bighead.in"
{
	printf 'GET /headers?case=manyfields HTTP/1.1\\r\\n%s' "$H"
	for i in $(seq 1 200); do printf 'X-F%d: 1\\r\\n' "$i"; done
	printf '\\r\\n'
} >"$T/fmt.manyfields.in"
expect_status manyfields 431 "200 small header fields" <"$T/fmt.manyfields.in"

# None of them reached the upstream, and no smuggled request did.
for c in clte tecl twocl cllist clsign gzipchunked chunkedgzip identity te10 obsfold barelf nul ctl \
	spacecolon nohost twohost badline http2 bighead manyfields; do
	if grep -q "case=$c " "$T/up-chat.log"; then
		fail "the rejected request $c reached the upstream"
	else
		pass "the rejected request $c did not reach the upstream"
	fi
done
if grep -q 'smuggled' "$T/up-chat.log"; then
	fail "a request smuggled behind a bad chunk reached the upstream"
	grep 'smuggled' "$T/up-chat.log" | sed -e 's/^/#   /'
else
	pass "no request smuggled behind a bad chunk reached the upstream"
fi

# ---- what is fine must still work
printf 'GET /headers?n=1 HTTP/1.1\r\n%sX-Seq: 1\r\n\r\nPOST /echo HTTP/1.1\r\n%sContent-Length: 6\r\n\r\nhello\nGET /headers?n=3 HTTP/1.1\r\n%sConnection: close\r\n\r\n' \
	"${H//\\r\\n/$'\r\n'}" "${H//\\r\\n/$'\r\n'}" "${H//\\r\\n/$'\r\n'}" >"$T/req.pipe"
tls_raw "$T/req.pipe" >"$T/resp.pipe"
R=$(tr -d '\r' <"$T/resp.pipe")
assert_eq "$(grep -c '^HTTP/1.1 200' <<<"$R")" 3 "three pipelined requests: three 200s"
order=$(grep -oE '"target": "/headers\?n=[0-9]"|^hello$' <<<"$R" | tr '\n' ' ')
assert_eq "$order" '"target": "/headers?n=1" hello "target": "/headers?n=3" ' \
	"pipelined responses in the order of the requests"
printf 'GET /headers?case=http10 HTTP/1.0\r\n\r\n' >"$T/req.http10"
tls_raw "$T/req.http10" >"$T/resp.http10"
assert_eq "$(first_status <"$T/resp.http10")" 200 "HTTP/1.0 without Host is fine (one site)"
printf 'GET http://chat.localhost/headers?case=absolute HTTP/1.1\r\nHost: chat.localhost\r\nConnection: close\r\n\r\n' >"$T/req.abs"
tls_raw "$T/req.abs" >"$T/resp.abs"
assert_eq "$(first_status <"$T/resp.abs")" 200 "absolute-form target: 200"
assert_contains "$(cat "$T/resp.abs")" '"target": "/headers?case=absolute"' \
	"absolute-form target: the upstream gets origin-form"
printf 'POST /echo HTTP/1.1\r\nHost: chat.localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n' >"$T/req.ext"
tls_raw "$T/req.ext" >"$T/resp.ext"
assert_eq "$(first_status <"$T/resp.ext")" 200 "chunk extensions and trailers: 200"
assert_eq "$(tr -d '\r' <"$T/resp.ext" | tail -n 1)" "hello" "chunk extensions and trailers: the body"
run scurl "$(surl /hello)"
assert_eq "$OUT" "hello from upstream" "the proxy still serves after all that"

serve_stop_checked "parse"
finish
