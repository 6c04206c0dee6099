#!/usr/bin/env bash
# t_serve_ipv6: moat serve on IPv6 -- `--listen ::1` (HTTPS, the port-80
# redirect and the admin listener on [::1]), an upstream http://[::1]:PORT
# (gaps_upstream6.py: upstream.py's server on ::1), and a site named by the
# address [::1] (a certificate with IP:::1, chosen without SNI).  The
# client's address reaches the app as X-Forwarded-For ::1 and Forwarded
# for="[::1]" (RFC 7239: quoted, in brackets) and is logged as ::1; the
# redirect keeps the brackets; nothing listens on 127.0.0.1; an IPv6
# upstream that is down is named [::1]:PORT in the error log.  A machine
# without ::1 skips this test (exit 77).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_serve.sh"

serve_need_tools
have_ipv6 || skip_test "no IPv6 loopback address (::1) on this machine"
need_ca

# c6 ARGS...: curl over IPv6 trusting only the test root; chat.localhost
# resolves to ::1.
# shellcheck disable=SC2317 # called through run
c6() {
	curl -sS -g --max-time 20 --noproxy '*' --cacert "$ROOT_PEM" --capath "$T/.empty-capath" \
		--resolve "chat.localhost:$SV_HTTPS:[::1]" "$@"
}
# hdr NAME < /headers JSON
hdr() {
	"$PY" -c '
import json, sys
for n, v in json.load(sys.stdin)["headers"]:
    if n.lower() == sys.argv[1].lower():
        print(v)' "$1"
}

if start_peer up6 15 "$PY" "$IT_DIR/gaps_upstream6.py" --ready-file "$T/up6.port"; then
	UP6=$PEER_PORT
	UP6_PID=$PEER_PID
	pass "an upstream listens on [::1]:$UP6"
else
	fail "gaps_upstream6.py did not start (cannot continue)"
	finish
fi

if SV_ADDR=::1 serve_start --local --access-log "$T/access.log" --log-format json \
	"chat.localhost,[::1]=http://[::1]:$UP6"; then
	pass "moat serve --listen ::1 started"
else
	fail "moat serve --listen ::1 (cannot continue)"
	finish
fi

# ---- the listeners
if port_open ::1 "$SV_HTTPS" && port_open ::1 "$SV_HTTP"; then
	pass "HTTPS and HTTP listen on [::1]"
else
	fail "HTTPS or HTTP does not listen on [::1]"
fi
if port_open 127.0.0.1 "$SV_HTTPS"; then
	fail "--listen ::1 also listens on 127.0.0.1:$SV_HTTPS"
else
	pass "--listen ::1: nothing on 127.0.0.1:$SV_HTTPS"
fi
run curl -sS -g --max-time 10 --noproxy '*' "http://[::1]:$SV_ADMIN/health"
assert_eq "$OUT" ok "the admin listener on [::1]: /health says ok"

# ---- requests over IPv6, to an IPv6 upstream
run c6 "https://chat.localhost:$SV_HTTPS/hello"
assert_eq "$OUT" "hello from upstream" "https://chat.localhost over ::1 to http://[::1]:$UP6"
run c6 -D "$T/h.addr" "https://[::1]:$SV_HTTPS/hello"
assert_rc 0 "https://[::1]:$SV_HTTPS/ (no SNI): the certificate verifies for the address"
assert_eq "$OUT" "hello from upstream" "... and the site named [::1] answers"
run openssl s_client -connect "[::1]:$SV_HTTPS" -showcerts </dev/null
sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' "$OUT_F" >"$T/sent.pem"
openssl x509 -in "$T/sent.pem" -out "$T/leaf.pem" 2>/dev/null
assert_contains "$(cert_ext "$T/leaf.pem" subjectAltName)" "IP Address:0:0:0:0:0:0:0:1" \
	"the certificate names IP ::1"
run c6 "https://chat.localhost:$SV_HTTPS/headers"
J=$OUT
assert_eq "$(hdr X-Forwarded-For <<<"$J")" "::1" "X-Forwarded-For: ::1"
assert_eq "$(hdr X-Real-IP <<<"$J")" "::1" "X-Real-IP: ::1"
assert_contains "$(hdr Forwarded <<<"$J")" 'for="[::1]"' 'Forwarded: for="[::1]" (RFC 7239 section 6)'
if grep -q '^upstream6: peer ::1$' "$T/up6.err"; then
	pass "moat connected to the upstream from ::1"
else
	fail "the upstream saw no connection from ::1"
fi
run c6 -o /dev/null -w '%{http_code}' --data-binary @"$T/sent.pem" "https://chat.localhost:$SV_HTTPS/echo"
assert_eq "$OUT" 200 "a POST body over IPv6 both ways"

# ---- the redirect keeps the brackets
run curl -sS -g --max-time 10 --noproxy '*' -o /dev/null -w '%{http_code} %{redirect_url}' \
	"http://[::1]:$SV_HTTP/x?y=1"
assert_eq "$OUT" "308 https://[::1]:$SV_HTTPS/x?y=1" "http://[::1]/ redirects to https://[::1]:PORT/"

# ---- the access log
until_true 5 grep -q '"/headers"' "$T/access.log"
assert_eq "$("$PY" -c '
import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(" ".join(sorted(set(x["remote"] for x in r))))' "$T/access.log" 2>&1)" "::1" \
	"the access log names the client ::1"

# ---- the IPv6 upstream down
kill "$UP6_PID" 2>/dev/null
wait "$UP6_PID" 2>/dev/null
run c6 -o /dev/null -w '%{http_code}' "https://chat.localhost:$SV_HTTPS/hello"
assert_eq "$OUT" 502 "the IPv6 upstream down: 502"
if wait_grep "$SV_PID" "$SV_ERR" "cannot connect to upstream \\[::1\\]:$UP6 " 5; then
	pass "the error log names the upstream [::1]:$UP6"
else
	fail "the error log does not name [::1]:$UP6"
	sed -e 's/^/#   /' "$SV_ERR" | tail -n 3
fi

serve_stop_checked "--listen ::1"
finish
