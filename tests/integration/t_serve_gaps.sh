#!/usr/bin/env bash
# t_serve_gaps: documented behaviours of moat serve that no other test
# drives (issue 15):
#
#  - redirect off: plain HTTP to such a site is proxied, with
#    X-Forwarded-Proto http (and Forwarded proto=http); other sites still
#    redirect (308);
#  - hsts: Strict-Transport-Security on https answers only, once, as each
#    site says (the global value inherited, a site's own with
#    includeSubDomains, "off" and "0" sending none), never on plain HTTP;
#  - upstream-connect-timeout: an upstream whose address never answers a
#    connect (gaps_blackhole.py) gets 502 after about the timeout, the error
#    log says "cannot connect to upstream ...: connection timed out", and
#    the one worker serves others meanwhile (with idle-timeout above the
#    connect timeout: t_serve_timeout_blame has the other case);
#  - header-timeout for the TLS handshake: a client that connects and sends
#    nothing, or half a ClientHello, is closed after it;
#  - idle-timeout in an upload: a body that stalls is cut after it, a body
#    trickled with pauses shorter than it is taken whole (longer in total
#    than both timeouts); moat answers others quickly all the while;
#  - max-connections (per worker): connections past it are closed at once
#    and counted in moat_connections_rejected_total; one closed, the next is
#    served.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_serve.sh"

serve_need_tools
need_ca
need_upstream A

# sts URL: the Strict-Transport-Security field values of the answer, one a
# line ("none" when there is none).
sts() {
	local v
	v=$(scurl -D - -o /dev/null "$1" 2>/dev/null | tr -d '\r' |
		sed -n 's/^[Ss]trict-[Tt]ransport-[Ss]ecurity: *//p')
	printf '%s\n' "${v:-none}"
}
# hdr NAME < /headers JSON: every value the upstream received for NAME.
hdr() {
	"$PY" -c '
import json, sys
for n, v in json.load(sys.stdin)["headers"]:
    if n.lower() == sys.argv[1].lower():
        print(v)' "$1"
}
# syn_sent_to PORT: a connection to 127.0.0.1:PORT is waiting for its SYN
# to be answered (state 02 in /proc/net/tcp).
# shellcheck disable=SC2317 # called through until_true
syn_sent_to() {
	awk -v p="$(printf '%04X' "$1")" \
		'$4 == "02" && $3 == "0100007F:" p { f = 1 } END { exit !f }' /proc/net/tcp
}
# quick_requests N DESC: N requests in a row, each answered 200 within 2 s.
quick_requests() {
	local i slow=0 bad=0 out
	for i in $(seq 1 "$1"); do
		out=$(scurl -o /dev/null -w '%{http_code} %{time_total}' "$(surl "/hello?q=$i")" 2>/dev/null)
		[ "${out%% *}" = 200 ] || bad=$((bad + 1))
		[ "$(ms "${out#* }")" -lt 2000 ] 2>/dev/null || slow=$((slow + 1))
	done
	if [ "$bad" -eq 0 ] && [ "$slow" -eq 0 ]; then
		pass "$2: $1 requests answered 200, each within 2 s"
	else
		fail "$2: of $1 requests, $bad not 200, $slow slower than 2 s"
	fi
}

# ---- the black hole
if start_peer hole 90 "$PY" "$IT_DIR/gaps_blackhole.py" "$T/hole.port"; then
	HOLE=$PEER_PORT
	pass "gaps_blackhole.py: 127.0.0.1:$HOLE takes no connection"
else
	fail "gaps_blackhole.py did not start"
	HOLE=1
fi

cat >"$T/main.conf" <<EOF
header-timeout 2s
idle-timeout 2s
upstream-timeout 30s
hsts 600
site chat.localhost {
	upstream http://127.0.0.1:${UP_PORT[A]}
}
site plain.localhost {
	upstream http://127.0.0.1:${UP_PORT[A]}
	redirect off
	hsts 31536000 subdomains
}
site nohsts.localhost {
	upstream http://127.0.0.1:${UP_PORT[A]}
	hsts off
}
site zero.localhost {
	upstream http://127.0.0.1:${UP_PORT[A]}
	hsts 0
}
EOF
SV_NAMES=(chat.localhost plain.localhost nohsts.localhost zero.localhost)
# One worker: what must not block the others has no second loop to hide in.
SV_WORKERS=1 need_serve --local --config "$T/main.conf"

# ---- redirect off
run curl -sS --max-time 10 --noproxy '*' -o /dev/null -w '%{http_code} %{redirect_url}' \
	-H 'Host: chat.localhost' "http://127.0.0.1:$SV_HTTP/hello?a=1"
assert_eq "$OUT" "308 https://chat.localhost:$SV_HTTPS/hello?a=1" \
	"redirect on (the default): plain HTTP is redirected (308)"
run curl -sS --max-time 10 --noproxy '*' -D "$T/h.plain" -H 'X-Forwarded-Proto: https' \
	-H 'Host: plain.localhost' "http://127.0.0.1:$SV_HTTP/headers"
assert_eq "$(head -n 1 "$T/h.plain" | tr -d '\r' | awk '{ print $2 }')" 200 \
	"redirect off: plain HTTP is proxied (200 from the upstream)"
J=$OUT
assert_eq "$(hdr X-Forwarded-Proto <<<"$J" 2>/dev/null)" http \
	"redirect off: the upstream gets X-Forwarded-Proto http (the client's https dropped)"
assert_contains "$(hdr Forwarded <<<"$J" 2>/dev/null)" "proto=http" "redirect off: Forwarded says proto=http"
assert_eq "$(hdr X-Forwarded-For <<<"$J" 2>/dev/null)" 127.0.0.1 "redirect off: X-Forwarded-For is set as on https"
run curl -sS --max-time 10 --noproxy '*' -H 'Host: plain.localhost' --data-binary 'abc' \
	"http://127.0.0.1:$SV_HTTP/echo"
assert_eq "$OUT" abc "redirect off: a POST body goes through plain HTTP too"
run scurl "$(surl /headers plain.localhost)"
assert_eq "$(hdr X-Forwarded-Proto <<<"$OUT" 2>/dev/null)" https "redirect off: the same site on https says https"

# ---- hsts
assert_eq "$(sts "$(surl /hello chat.localhost)")" "max-age=600" \
	"hsts 600 (global): the site without its own sends max-age=600 on https"
assert_eq "$(sts "$(surl /hello plain.localhost)")" "max-age=31536000; includeSubDomains" \
	"hsts 31536000 subdomains (site): sent once, with includeSubDomains"
assert_eq "$(sts "$(surl /status/404 plain.localhost)")" "max-age=31536000; includeSubDomains" \
	"hsts: on the upstream's error answers too"
assert_eq "$(sts "$(surl /hello nohsts.localhost)")" none "hsts off (site): none, although the global says 600"
assert_eq "$(sts "$(surl /hello zero.localhost)")" none "hsts 0 (site): none"
assert_eq "$(curl -sS --max-time 10 --noproxy '*' -D - -o /dev/null -H 'Host: plain.localhost' \
	"http://127.0.0.1:$SV_HTTP/hello" | tr -d '\r' | grep -ci '^strict-transport-security')" 0 \
	"hsts: never on plain HTTP (RFC 6797 7.2), not even for a proxied site"
assert_eq "$(curl -sS --max-time 10 --noproxy '*' -D - -o /dev/null -H 'Host: chat.localhost' \
	"http://127.0.0.1:$SV_HTTP/hello" | tr -d '\r' | grep -ci '^strict-transport-security')" 0 \
	"hsts: not on the port-80 redirect"

# ---- the TLS handshake and slow bodies
# silent: connections that never send a ClientHello; stalled: a POST whose
# body stops after its first byte (the next would come in 60 s); trickled:
# a 10-byte body, a byte every 400 ms (4 s in all: more than idle-timeout
# and header-timeout, but no pause as long as either).
"$PY" "$IT_DIR/slowloris.py" 127.0.0.1 "$SV_HTTPS" --mode silent --tls --conns 20 \
	--duration 15 >"$T/silent.json" 2>"$T/silent.err" &
P_SILENT=$!
"$PY" "$IT_DIR/slowloris.py" 127.0.0.1 "$SV_HTTPS" --mode body --tls --servername chat.localhost \
	--path /echo --content-length 1000 --interval-ms 60000 --conns 20 --duration 15 \
	>"$T/stalled.json" 2>"$T/stalled.err" &
P_STALLED=$!
"$PY" "$IT_DIR/slowloris.py" 127.0.0.1 "$SV_HTTPS" --mode body --tls --servername chat.localhost \
	--path /echo --content-length 10 --interval-ms 400 --conns 5 --duration 15 \
	>"$T/trickled.json" 2>"$T/trickled.err" &
P_TRICKLED=$!
run "$PY" "$IT_DIR/gaps_client.py" stall-hello "$SV_HTTPS" --bytes 60 --wait 20
HELLO=$OUT
# (the half ClientHello took about 2 s: the others are under way by now)
quick_requests 10 "while 45 slow clients hold connections"
wait "$P_SILENT"
S=$(cat "$T/silent.json")
wait "$P_STALLED"
B=$(cat "$T/stalled.json")
wait "$P_TRICKLED"
K=$(cat "$T/trickled.json")
note "silent: $S"
note "stalled: $B"
note "trickled: $K"
note "half hello: $HELLO"

assert_eq "$(jfield "$S" 'd["closed_by_server"]')" 20 \
	"no ClientHello at all: moat closed all 20 connections"
assert_int_between "$(ms "$(jfield "$S" 'd["close_after_s"]["min"]')")" 1800 6000 \
	"... none before header-timeout 2s"
assert_int_between "$(ms "$(jfield "$S" 'd["close_after_s"]["max"]')")" 1800 6000 \
	"... all soon after it"
assert_eq "$(jfield "$HELLO" 'd["sent"] > 0 and d["sent"] < d["of"]')" true \
	"half a ClientHello sent ($(jfield "$HELLO" 'd["sent"]') of $(jfield "$HELLO" 'd["of"]') bytes)"
assert_int_between "$(ms "$(jfield "$HELLO" 'd["closed_after_s"]')")" 1800 6000 \
	"a handshake never finished: closed after header-timeout 2s"

assert_eq "$(jfield "$B" 'd["established"]')" 20 "stalled bodies: 20 connections established"
assert_eq "$(jfield "$B" 'd["closed_by_server"]')" 20 "stalled bodies: moat closed all 20"
assert_int_between "$(ms "$(jfield "$B" 'd["close_after_s"]["min"]')")" 1800 6000 \
	"stalled bodies: none before idle-timeout 2s"
assert_int_between "$(ms "$(jfield "$B" 'd["close_after_s"]["max"]')")" 1800 6000 \
	"stalled bodies: all soon after it"
assert_eq "$(jfield "$B" 'd["responses"].get("200", 0)')" 0 "stalled bodies: no 200 for a body that never came"

assert_eq "$(jfield "$K" 'd["responses"]')" '{"200": 5}' \
	"trickled bodies (4 s, pauses of 0.4 s): all 5 taken whole and answered 200"
assert_int_between "$(ms "$(jfield "$K" 'd["close_after_s"]["min"]')")" 4000 15000 \
	"trickled bodies: not cut while the bytes came"
assert_eq "$(jfield "$K" 'd["open_at_end"]')" 0 "trickled bodies: closed when idle after the answer"
if pid_alive "$SV_PID"; then pass "moat serve is still running"; else fail "moat serve is gone"; fi
quick_requests 5 "after the slow clients"
serve_stop_checked "redirect, hsts, slow clients"

# ---- upstream-connect-timeout against a black hole (a server of its own:
# with idle-timeout below upstream-connect-timeout, as in the one above, the
# client connection is cut first -- see t_serve_timeout_blame)
cat >"$T/connect.conf" <<EOF
upstream-connect-timeout 3s
site chat.localhost {
	upstream http://127.0.0.1:${UP_PORT[A]}
}
site hole.localhost {
	upstream http://127.0.0.1:$HOLE
}
EOF
SV_NAMES=(chat.localhost hole.localhost)
SV_WORKERS=1 need_serve --local --config "$T/connect.conf"
e0=$(metric 'moat_upstream_errors_total{kind="connect"}')
scurl -o /dev/null -w '%{http_code} %{time_total}' "$(surl /hello hole.localhost)" \
	>"$T/hole.res" 2>/dev/null &
HOLE_CURL=$!
if until_true 10 syn_sent_to "$HOLE"; then
	pass "moat's connect to the black hole is pending (SYN sent)"
else
	fail "no connect to 127.0.0.1:$HOLE seen in /proc/net/tcp"
fi
run scurl -o /dev/null -w '%{http_code} %{time_total}' "$(surl /hello chat.localhost)"
if pid_alive "$HOLE_CURL"; then
	assert_eq "${OUT%% *}" 200 "meanwhile the one worker answers another site"
	assert_int_between "$(ms "${OUT#* }")" 0 1000 "... at once (${OUT#* } s)"
else
	fail "the request to the black hole was over before the other could be timed"
fi
wait "$HOLE_CURL"
read -r code secs <"$T/hole.res"
assert_eq "$code" 502 "upstream-connect-timeout 3s: a black-hole upstream gets 502"
assert_int_between "$(ms "$secs")" 2900 8000 "... after about the timeout (${secs} s)"
if wait_grep "$SV_PID" "$SV_ERR" "cannot connect to upstream 127\\.0\\.0\\.1:$HOLE for hole\\.localhost(:$SV_HTTPS)?: connection timed out" 5; then
	pass "the error log: \"cannot connect to upstream 127.0.0.1:$HOLE for hole.localhost...: connection timed out\""
else
	fail "the error log does not say the connect timed out"
	sed -e 's/^/#   /' "$SV_ERR" | tail -n 5
fi
e1=$(metric 'moat_upstream_errors_total{kind="connect"}')
assert_eq "$((e1 - ${e0:-0}))" 1 "moat_upstream_errors_total{kind=\"connect\"} counts it"
serve_stop_checked "upstream-connect-timeout"

# ---- max-connections
printf 'max-connections 3\nsite chat.localhost {\n\tupstream http://127.0.0.1:%s\n}\n' \
	"${UP_PORT[A]}" >"$T/limit.conf"
SV_NAMES=(chat.localhost)
SV_WORKERS=1 need_serve --local --config "$T/limit.conf"
r0=$(metric moat_connections_rejected_total)
assert_eq "$r0" 0 "moat_connections_rejected_total starts at 0"
run "$PY" "$IT_DIR/gaps_client.py" hold "$SV_HTTPS" chat.localhost "$ROOT_PEM" --hold 3 --extra 2
H=$OUT
note "hold: $H"
assert_eq "$(jfield "$H" 'd["held"]')" 3 "max-connections 3 (one worker): 3 keep-alive connections served"
assert_eq "$(jfield "$H" '[e["result"] for e in d["extra"]]')" '["closed", "closed"]' \
	"the 4th and 5th are closed without an answer"
assert_int_between "$(ms "$(jfield "$H" 'max(e["s"] for e in d["extra"])')")" 0 1500 \
	"... at once (not after header-timeout)"
assert_eq "$(jfield "$H" 'd["after_close"]')" served "one of the 3 closed, the next connection is served"
# (a try right after the close may come before moat has seen it: refused
# and counted too)
tries=$(jfield "$H" 'd["after_close_tries"]')
[[ $tries =~ ^[0-9]+$ ]] || tries=1
assert_eq "$(metric moat_connections_rejected_total)" "$((2 + tries - 1))" \
	"moat_connections_rejected_total counts every connection refused (2 + $((tries - 1)))"
run scurl "$(surl /hello)"
assert_eq "$OUT" "hello from upstream" "with the connections gone, requests are served"
serve_stop_checked "max-connections"

finish
