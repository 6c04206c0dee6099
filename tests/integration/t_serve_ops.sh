#!/usr/bin/env bash
# t_serve_ops: running moat serve.  --check (a good file; a broken one named
# FILE:LINE); SIGHUP with a broken file (keeps serving, "reload failed") and
# with a changed one (new site, new upstream: in effect); SIGUSR1 renewing
# the local certificate; SIGTERM letting a running request finish and then
# exiting 0, a second SIGTERM stopping at once; the access log (combined,
# escaped, reopened after rename + SIGHUP; JSON on stdout); /metrics and
# /health on the admin address; --cert/--key files replaced on disk served
# without a restart (and a broken replacement not taken); --user dropping
# root, with reloads and renewals still working afterwards.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_serve.sh"

serve_need_tools
need_ca
need_upstream A B

# serial_of NAME: the serial of the certificate the proxy sends for NAME.
serial_of() {
	openssl s_client -connect "127.0.0.1:$SV_HTTPS" -servername "$1" </dev/null 2>/dev/null |
		openssl x509 -noout -serial 2>/dev/null | sed -e 's/^serial=//' | tr 'A-F' 'a-f' | sed -e 's/^0*//'
}
# For until_true (called through it):
# shellcheck disable=SC2317
serial_is() { [ "$(serial_of "$1")" = "$2" ]; }
# shellcheck disable=SC2317
serial_changed() {
	local s
	s=$(serial_of "$1")
	[ -n "$2" ] && [ -n "$s" ] && [ "$s" != "$2" ]
}
# renewed_or_failed NAME OLD_SERIAL: a new serial, or the renewal failed.
# shellcheck disable=SC2317
renewed_or_failed() {
	grep -q "renewing the certificate of $1 failed" "$SV_ERR" || serial_changed "$1" "$2"
}
# expect_usr1_renews NAME DESC: SIGUSR1 makes the server serve a new
# certificate for NAME (or the error log says why not).
expect_usr1_renews() {
	local s1 s2
	s1=$(serial_of "$1")
	kill -USR1 "$SV_PID"
	# until a new serial is served or the renewal is reported failed
	until_true 15 renewed_or_failed "$1" "$s1"
	s2=$(serial_of "$1")
	if [ -n "$s2" ] && [ "$s2" != "$s1" ]; then
		pass "$2"
	else
		fail "$2: not renewed: $(grep -m1 "renewing the certificate of $1 failed" "$SV_ERR" | sed -e 's/^.*failed: //' | cut -c1-200)"
	fi
}
# lines_more FILE ERE N: more than N lines of FILE match.
# shellcheck disable=SC2317
lines_more() { [ "$(grep -cE -- "$2" "$1")" -gt "$3" ]; }
# health_is TEXT: /health answers TEXT.
# shellcheck disable=SC2317
health_is() { [ "$(curl -sS --max-time 2 --noproxy '*' "http://127.0.0.1:$SV_ADMIN/health")" = "$1" ]; }
# upstream_conns_at_least N: moat has opened N upstream connections.
# shellcheck disable=SC2317
upstream_conns_at_least() { [ "$(metric moat_upstream_connections_total)" -ge "$1" ] 2>/dev/null; }
# upstream_of NAME PATH: the X-Upstream-Name of the answer.
upstream_of() {
	scurl -D - -o /dev/null "$(surl "$2" "$1")" 2>/dev/null | tr -d '\r' |
		awk -F': ' 'tolower($1) == "x-upstream-name" { print $2 }'
}
# up_requests NAME: requests the upstream NAME has seen (this one included).
up_requests() {
	curl -sS --max-time 5 --noproxy '*' "http://127.0.0.1:${UP_PORT[$1]}/count" | jget 'd["requests"]'
}

# ---- --check
cat >"$T/good.conf" <<EOF
# a good file
header-timeout 5s
site chat.localhost {
	upstream http://127.0.0.1:${UP_PORT[A]}
}
EOF
moat serve --check --config "$T/good.conf"
assert_rc 0 "--check --config good.conf: exit 0"
assert_contains "$OUT" "configuration OK" "--check says the configuration is OK"
cat >"$T/broken.conf" <<EOF
header-timeout 5s
site chat.localhost {
	upstrem http://127.0.0.1:${UP_PORT[A]}
}
EOF
moat serve --check --config "$T/broken.conf"
assert_error_shape "--check --config broken.conf: exit 1, one error"
assert_contains "$ERR" "$T/broken.conf:3:" "the error names FILE:LINE (broken.conf:3)"
assert_contains "$ERR" "upstrem" "... and the word it did not understand"
printf 'header-timeout soon\nsite chat.localhost {\n\tupstream http://127.0.0.1:1\n}\n' >"$T/badvalue.conf"
moat serve --check --config "$T/badvalue.conf"
assert_error_shape "--check: a bad duration"
assert_contains "$ERR" "$T/badvalue.conf:1:" "the bad duration is named at line 1"

# ---- reloads
cp "$T/good.conf" "$T/serve.conf"
SV_NAMES=(chat.localhost new.localhost)
need_serve --local --config "$T/serve.conf" --error-log "$T/error.log" --access-log "$T/access.log"
MAIN_PID=$SV_PID
assert_eq "$(upstream_of chat.localhost /hello)" A "before any reload: chat.localhost -> A"

cp "$T/broken.conf" "$T/serve.conf"
kill -HUP "$SV_PID"
if wait_grep "$SV_PID" "$T/error.log" 'reload failed' 15; then
	pass "SIGHUP with a broken file: the error log says \"reload failed\""
else
	fail "SIGHUP with a broken file: no \"reload failed\" in the error log"
	sed -e 's/^/#   error.log: /' "$T/error.log" | tail -n 5
fi
assert_contains "$(grep 'reload failed' "$T/error.log")" "serve.conf:3" "... naming FILE:LINE"
assert_eq "$(upstream_of chat.localhost /hello)" A "after the failed reload: still serving, still A"
assert_eq "$(metric moat_reload_failures_total)" 1 "moat_reload_failures_total 1"

cat >"$T/serve.conf" <<EOF
header-timeout 5s
site chat.localhost {
	upstream http://127.0.0.1:${UP_PORT[B]}
}
site new.localhost {
	upstream http://127.0.0.1:${UP_PORT[A]}
	header X-Site new
}
EOF
kill -HUP "$SV_PID"
if wait_grep "$SV_PID" "$T/error.log" 'reloaded the configuration' 30; then
	pass "SIGHUP with a changed file: reloaded"
else
	fail "SIGHUP with a changed file: no \"reloaded the configuration\" in the error log"
	sed -e 's/^/#   error.log: /' "$T/error.log" | tail -n 5
fi
assert_eq "$(upstream_of chat.localhost /hello)" B "after the reload: chat.localhost -> B (changed upstream)"
assert_eq "$(upstream_of new.localhost /hello)" A "after the reload: the new site new.localhost -> A"
run scurl -D - -o /dev/null "$(surl /hello new.localhost)"
assert_contains_i "$(tr -d '\r' <<<"$OUT")" "X-Site: new" "the new site's own header"
run openssl s_client -connect "127.0.0.1:$SV_HTTPS" -servername new.localhost -showcerts </dev/null
sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' "$OUT_F" >"$T/new.sent"
openssl x509 -in "$T/new.sent" -out "$T/new.leaf" 2>/dev/null
assert_contains "$(cert_ext "$T/new.leaf" subjectAltName)" "DNS:new.localhost" "the new site got its certificate"
run verify_server "$T/new.leaf" "$T/new.sent"
assert_rc 0 "... which verifies with its chain"
assert_eq "$SV_PID" "$MAIN_PID" "same process after the reloads"
if pid_alive "$MAIN_PID"; then pass "still running after the reloads"; else fail "moat serve died in the reloads"; fi

# ---- SIGUSR1: renew now
S1=$(serial_of chat.localhost)
kill -USR1 "$SV_PID"
if until_true 20 serial_changed chat.localhost "$S1"; then
	pass "SIGUSR1: a new certificate is served (was $S1, now $(serial_of chat.localhost))"
else
	fail "SIGUSR1: still serial $S1 after 20 s"
fi
run scurl "$(surl /hello)"
assert_eq "$OUT" "hello from upstream" "requests work with the renewed certificate"

# ---- access log, combined
run scurl -A 'moat-test/1.0' -e 'https://ref.example/p' "$(surl '/hello?log=1')"
until_true 5 grep -qF '/hello?log=1' "$T/access.log"
L=$(grep -F '/hello?log=1' "$T/access.log" | tail -n 1)
assert_match "$L" '^127\.0\.0\.1 - - \[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9:]{8} [-+][0-9]{4}\] "GET /hello\?log=1 HTTP/1\.1" 200 20 "https://ref\.example/p" "moat-test/1\.0"' \
	"access log (combined): the line for the request"
printf 'GET /a"b\\x HTTP/1.1\r\nHost: chat.localhost\r\nUser-Agent: evil" 999 "x\r\nConnection: close\r\n\r\n' >"$T/req.evil"
tls_raw "$T/req.evil" >/dev/null
until_true 5 grep -qF '/a' "$T/access.log"
L=$(grep -F 'GET /a' "$T/access.log" | tail -n 1)
assert_ne "$L" "" "access log: the request with quotes in it is logged"
assert_not_contains "$L" '/a"b' "access log: a quote in the target is escaped"
assert_not_contains "$L" 'evil" 999' "access log: a quote in the User-Agent is escaped"
assert_eq "$(tr -cd '"' <<<"$L" | wc -c)" 6 "access log: the line keeps its six quotes"

# ---- log rotation: rename, SIGHUP, a new file
mv "$T/access.log" "$T/access.log.1"
n_reloads=$(grep -c 'reloaded the configuration' "$T/error.log")
kill -HUP "$SV_PID"
until_true 15 lines_more "$T/error.log" 'reloaded the configuration' "$n_reloads" ||
	fail "no reload after the rename"
scurl -o /dev/null "$(surl '/hello?rotated=1')"
until_true 5 grep -qF 'rotated=1' "$T/access.log"
assert_contains "$(cat "$T/access.log" 2>/dev/null)" '/hello?rotated=1' "after rename + SIGHUP the log is written to a new file"
assert_not_contains "$(cat "$T/access.log.1")" 'rotated=1' "... not to the renamed one"

# ---- /metrics, /health
c0=$(metric 'moat_http_requests_total{code="200"}')
for _ in 1 2 3; do scurl -o /dev/null "$(surl /hello)"; done
c1=$(metric 'moat_http_requests_total{code="200"}')
assert_int_between "${c1:-0}" "$((${c0:-0} + 3))" 1000000 "moat_http_requests_total{code=\"200\"} grew by 3 ($c0 -> $c1)"
scurl -o /dev/null "$(surl /status/404)"
assert_int_between "$(metric 'moat_http_requests_total{code="404"}')" 1 1000 "moat_http_requests_total{code=\"404\"}"
exp=$(metric 'moat_certificate_expiry_seconds{site="chat.localhost"}')
assert_int_between "${exp:-x}" 1 $((398 * 86400)) "moat_certificate_expiry_seconds{site=\"chat.localhost\"} > 0 ($exp)"
exp=$(metric 'moat_certificate_expiry_seconds{site="new.localhost"}')
assert_int_between "${exp:-x}" 1 $((398 * 86400)) "moat_certificate_expiry_seconds for the reloaded site too"
run curl -sS --max-time 10 --noproxy '*' -D "$T/h.metrics" "http://127.0.0.1:$SV_ADMIN/metrics"
assert_contains "$(tr -d '\r' <"$T/h.metrics")" "text/plain; version=0.0.4" "/metrics: Prometheus text format"
assert_contains "$OUT" "# TYPE moat_http_requests_total counter" "/metrics: TYPE lines"
run curl -sS --max-time 10 --noproxy '*' -w '%{http_code}' "http://127.0.0.1:$SV_ADMIN/health"
assert_eq "$(tr '\n' ' ' <<<"$OUT")" "ok 200 " "/health: 200 ok"
run curl -sS --max-time 10 --noproxy '*' -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SV_ADMIN/nothing"
assert_eq "$OUT" 404 "admin: unknown path 404"

# ---- SIGTERM with a request running
r0=$(up_requests B)
scurl -o "$T/slow.out" -w '%{http_code}' "$(surl '/slow?ms=2000')" >"$T/slow.code" 2>"$T/slow.err" &
CURL_PID=$!
i=0
while [ "$i" -lt 100 ]; do
	i=$((i + 1))
	[ "$(up_requests B)" -gt $((r0 + i)) ] && break
	sleep 0.05 # poll interval
done
if [ "$i" -lt 100 ]; then
	pass "the slow request reached the upstream"
else
	fail "the slow request never reached the upstream"
fi
T0=$(date +%s%N)
kill -TERM "$SV_PID"
if until_true 5 health_is stopping; then
	pass "/health says stopping while draining"
else
	fail "/health did not say stopping while draining"
fi
run scurl -o /dev/null -w '%{http_code}' --max-time 5 "$(surl /hello)"
if [ "$RC" -ne 0 ] || [ "$OUT" != 200 ]; then
	pass "a new request while draining is not accepted (curl exit $RC)"
else
	fail "a new connection was served while draining"
fi
wait "$CURL_PID"
assert_eq "$?" 0 "the running request finished (curl exit 0)"
assert_eq "$(cat "$T/slow.code")" 200 "... with 200"
assert_eq "$(cat "$T/slow.out")" "slept 2000 ms" "... and its whole body"
i=0
while pid_alive "$SV_PID" && [ "$i" -lt 100 ]; do
	i=$((i + 1))
	sleep 0.1 # poll interval
done
secs=$((($(date +%s%N) - T0) / 1000000))
serve_stop "$SV_PID"
assert_eq "$SV_RC" 0 "moat serve exits 0 after SIGTERM"
assert_int_between "$secs" 1000 9000 "... once the request was done (${secs} ms after SIGTERM)"
assert_contains "$(cat "$T/error.log")" "SIGTERM: finishing running requests" "the error log tells of the drain"
assert_no_sanitizer_report "$SV_ERR" "reload/drain run: no sanitizer report"
if grep -q 'slow?ms=2000' "$T/access.log"; then
	pass "the drained request is in the access log"
else
	fail "the drained request is not in the access log"
fi

# ---- access log as JSON, on stdout
SV_NAMES=(chat.localhost)
need_serve --local --access-log - --log-format json "chat.localhost=http://127.0.0.1:${UP_PORT[A]}"
scurl -o /dev/null -A 'json-test' "$(surl '/hello?json=1')"
scurl -o /dev/null "$(surl '/status/503?json=2')"
scurl -o /dev/null -X POST --data-binary 'abc' "$(surl '/echo?json=3')"
until_true 5 grep -q 'json=3' "$SV_OUT"
cat >"$T/jsonlog.py" <<'EOF'
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip()]
recs = [json.loads(l) for l in lines]       # every line is one JSON object
by = {r["uri"]: r for r in recs}
a, b, c = by["/hello?json=1"], by["/status/503?json=2"], by["/echo?json=3"]
ok = []
ok.append(a["status"] == 200 and a["method"] == "GET" and a["bytes"] == 20)
ok.append(a["host"] in ("chat.localhost", "chat.localhost:" + sys.argv[2]))
ok.append(a["remote"] == "127.0.0.1" and a["user_agent"] == "json-test")
ok.append(b["status"] == 503 and b["method"] == "GET")
ok.append(c["status"] == 200 and c["method"] == "POST" and c["bytes"] == 3)
print(len(recs), " ".join("ok" if x else "BAD" for x in ok))
EOF
run "$PY" "$T/jsonlog.py" "$SV_OUT" "$SV_HTTPS"
assert_rc 0 "access log (json): every line parses"
assert_match "$OUT" '^[0-9]+ ok ok ok ok ok$' "access log (json): status, method, uri, host, remote, bytes"
serve_stop_checked "json log"

# ---- a second SIGTERM stops at once
need_serve --local "chat.localhost=http://127.0.0.1:${UP_PORT[A]}"
scurl -o /dev/null -w '%{http_code}' "$(surl '/slow?ms=20000')" >"$T/slow2.code" 2>/dev/null &
CURL_PID=$!
until_true 10 upstream_conns_at_least 1
kill -TERM "$SV_PID"
until_true 5 health_is stopping
T0=$(date +%s%N)
kill -TERM "$SV_PID"
i=0
while pid_alive "$SV_PID" && [ "$i" -lt 100 ]; do
	i=$((i + 1))
	sleep 0.1 # poll interval
done
ms=$((($(date +%s%N) - T0) / 1000000))
assert_int_between "$ms" 0 3000 "a second SIGTERM: moat stops without waiting for the 20 s request (${ms} ms)"
wait "$CURL_PID"
assert_ne "$?" 0 "... and that request is cut (curl fails)"
serve_stop "$SV_PID"
assert_eq "$SV_RC" 0 "... exit 0"
assert_no_sanitizer_report "$SV_ERR" "second SIGTERM: no sanitizer report"

# ---- --cert/--key files replaced on disk
run "$MOAT" issue files.localhost --out "$T/c1"
assert_rc 0 "moat issue files.localhost --out c1"
run "$MOAT" issue files.localhost --force --out "$T/c2"
assert_rc 0 "moat issue files.localhost --force --out c2 (a second certificate)"
SA=$(cert_serial "$T/c1/cert.pem")
SB=$(cert_serial "$T/c2/cert.pem")
assert_ne "$SA" "$SB" "the two certificates have different serials"
SV_NAMES=(files.localhost)
need_serve --cert "$T/c1/fullchain.pem" --key "$T/c1/privkey.pem" \
	"files.localhost=http://127.0.0.1:${UP_PORT[A]}"
FILES_PID=$SV_PID
assert_eq "$(serial_of files.localhost)" "$SA" "--cert/--key: the first certificate is served"
cp "$T/c2/privkey.pem" "$T/c1/privkey.pem.new" && mv "$T/c1/privkey.pem.new" "$T/c1/privkey.pem"
cp "$T/c2/fullchain.pem" "$T/c1/fullchain.pem.new" && mv "$T/c1/fullchain.pem.new" "$T/c1/fullchain.pem"
if until_true 15 serial_is files.localhost "$SB"; then
	pass "files replaced on disk: the new serial is served within seconds"
else
	fail "files replaced on disk: still $(serial_of files.localhost) after 15 s (want $SB)"
	sed -e 's/^/#   /' "$SV_ERR" | tail -n 5
fi
assert_eq "$SV_PID" "$FILES_PID" "... by the same process"
if pid_alive "$FILES_PID"; then pass "... which is still running (no restart)"; else fail "moat serve is gone"; fi
run scurl "$(surl /hello files.localhost)"
assert_eq "$OUT" "hello from upstream" "requests work with the new certificate"
echo "not a certificate" >"$T/c1/fullchain.pem.new" && mv "$T/c1/fullchain.pem.new" "$T/c1/fullchain.pem"
if wait_grep "$SV_PID" "$SV_ERR" 'cannot reload the certificate' 20; then
	pass "a broken certificate file: the error log says it cannot be reloaded"
else
	fail "a broken certificate file: nothing in the error log after 20 s"
fi
assert_eq "$(serial_of files.localhost)" "$SB" "... and the previous certificate is still served"
run scurl "$(surl /hello files.localhost)"
assert_eq "$OUT" "hello from upstream" "... and requests still work"
serve_stop_checked "files"

# ---- --user: dropping root
if [ "$(id -u)" -ne 0 ]; then
	skip_part "not root: --user not tested"
elif ! NOBODY=$(id -u nobody 2>/dev/null); then
	skip_part "no user nobody: --user not tested"
else
	# Like /etc and /var/log: others may pass through (not list) the test
	# directory; the log directory belongs to the user (like /var/log/moat
	# to moat); MOAT_HOME stays root's own (0700, like /var/lib/moat, the
	# default for root).
	chmod 711 "$T"
	mkdir -p "$T/pub/log"
	chmod 755 "$T/pub" "$T/pub/log"
	chown nobody "$T/pub/log"
	"$MOAT" issue user.localhost --out "$T/pub/c" >/dev/null 2>&1
	chmod 644 "$T/pub/c/fullchain.pem" "$T/pub/c/privkey.pem"
	SV_NAMES=(user.localhost)
	need_serve --user nobody --cert "$T/pub/c/fullchain.pem" --key "$T/pub/c/privkey.pem" \
		--access-log "$T/pub/log/access.log" "user.localhost=http://127.0.0.1:${UP_PORT[A]}"
	U=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$SV_PID/status")
	assert_eq "$U" "$NOBODY $NOBODY $NOBODY $NOBODY" "--user nobody: real, effective, saved and fs uid are nobody's"
	G=$(awk '/^Gid:/ { print $2 }' "/proc/$SV_PID/status")
	assert_eq "$G" "$(id -g nobody)" "--user nobody: the group is nobody's"
	assert_eq "$(awk '/^Groups:/ { $1 = ""; print }' "/proc/$SV_PID/status" | xargs)" "$(id -g nobody)" \
		"--user nobody: no supplementary groups but nobody's"
	bad=0
	for st in /proc/"$SV_PID"/task/*/status; do
		awk '/^Uid:/ { print $2, $3, $4, $5 }' "$st" | grep -qx "$NOBODY $NOBODY $NOBODY $NOBODY" || bad=$((bad + 1))
	done
	assert_eq "$bad" 0 "--user nobody: every thread runs as nobody ($(find "/proc/$SV_PID/task" -mindepth 1 -maxdepth 1 | wc -l) threads)"
	run scurl "$(surl /hello user.localhost)"
	assert_eq "$OUT" "hello from upstream" "--user nobody: requests still work"
	until_true 5 grep -q 'GET /hello' "$T/pub/log/access.log"
	assert_contains "$(cat "$T/pub/log/access.log")" "GET /hello" "--user nobody: the access log is written"
	# A reload must still work after the switch (the logs are opened again
	# then): plain SIGHUP, then logrotate's rename + SIGHUP.
	kill -HUP "$SV_PID"
	wait_grep "$SV_PID" "$SV_ERR" 'reloaded the configuration|reload failed' 15
	if grep -q 'reload failed' "$SV_ERR"; then
		fail "--user nobody: SIGHUP fails: $(grep -m1 'reload failed' "$SV_ERR" | sed -e 's/^.*configuration: //' | cut -c1-160)"
	else
		pass "--user nobody: SIGHUP reloads"
	fi
	mv "$T/pub/log/access.log" "$T/pub/log/access.log.1"
	n=$(grep -cE 'reloaded the configuration|reload failed' "$SV_ERR")
	kill -HUP "$SV_PID"
	until_true 15 lines_more "$SV_ERR" 'reloaded the configuration|reload failed' "$n"
	scurl -o /dev/null "$(surl '/hello?after=hup' user.localhost)"
	until_true 5 grep -q 'after=hup' "$T/pub/log/access.log"
	assert_contains "$(cat "$T/pub/log/access.log" 2>/dev/null)" "after=hup" \
		"--user nobody: after rename + SIGHUP the new access log is written"
	serve_stop_checked "--user nobody"

	# Renewals after the switch write MOAT_HOME: a home the user cannot
	# write (root's, 0700) is refused at the start, saying what to chown.
	SV_NAMES=(chat.localhost)
	if serve_start --local --user nobody "chat.localhost=http://127.0.0.1:${UP_PORT[A]}"; then
		fail "--user nobody --local with root's MOAT_HOME: started (renewals would fail)"
		serve_stop
	else
		assert_contains "$(cat "$SV_ERR")" "cannot write $MOAT_HOME" \
			"--user nobody --local with root's MOAT_HOME: refused, naming the directory"
		assert_contains "$(cat "$SV_ERR")" "chown -R nobody" "... with a hint saying what to chown"
	fi
	# Given to the user, the CA and the certificates are renewed after the
	# switch.
	cp -a "$MOAT_HOME" "$T/pub/home"
	chown -R nobody "$T/pub/home"
	MOAT_HOME=$T/pub/home need_serve --local --user nobody "chat.localhost=http://127.0.0.1:${UP_PORT[A]}"
	expect_usr1_renews chat.localhost "--user nobody --local: SIGUSR1 renews the certificate"
	serve_stop_checked "--user nobody --local"

	# The first start for a new site in the user's MOAT_HOME: the
	# certificate is issued as root before the switch, and must then be
	# the user's (else the start refused its own files).
	SV_NAMES=(fresh.localhost)
	MOAT_HOME=$T/pub/home need_serve --local --user nobody "fresh.localhost=http://127.0.0.1:${UP_PORT[A]}"
	assert_eq "$(stat -c %U "$T/pub/home/live/fresh.localhost" "$T/pub/home/live/fresh.localhost/privkey.pem" | sort -u)" \
		nobody "--user nobody --local, new site: what the start issued belongs to nobody"
	assert_eq "$(stat -c %a "$T/pub/home/live/fresh.localhost/privkey.pem")" 600 \
		"--user nobody --local, new site: its key stays 0600"
	run scurl "$(surl /hello fresh.localhost)"
	assert_eq "$OUT" "hello from upstream" "--user nobody --local, new site: served"
	expect_usr1_renews fresh.localhost "--user nobody --local, new site: renewed after the switch"
	serve_stop_checked "--user nobody --local, new site"
fi

finish
