#!/usr/bin/env bash
# t_ca_serve_acme: moat ca serve as an ACME server, driven by clients we did
# not write (certbot, lego) and by moat's own client: http-01 for several
# names, tls-alpn-01 for an IP address, dns-01 for a wildcard (TXT records
# through pebble-challtestsrv, which also resolves every name to 127.0.0.1
# for the server's validation), profiles, the CA's permits at newOrder,
# durability (the record before the answer), ARI after a `moat revoke`
# beside the server, EAB, a server that rejects 30 % of nonces, and a
# restart between two orders of one client session.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_acme.sh"

acme_have_pebble || skip_test "pebble-challtestsrv is not installed (apt-get install pebble)"
command -v certbot >/dev/null || skip_test "certbot is not installed"
command -v lego >/dev/null || skip_test "lego is not installed"
start_challtestsrv || { fail "pebble-challtestsrv starts"; finish; }

CA_HOME=$T/ca
CS_PID=''
CS_LOG=$T/ca-serve.log
ports=$(acme_free_ports 4 tcp) || { fail "free ports"; finish; }
{ read -r HTTPS && read -r HTTP && read -r H01 && read -r TLS01; } <<<"$ports"
DIR=https://127.0.0.1:$HTTPS/acme/directory
ROOT=$CA_HOME/ca/root.pem

# start_ca_serve ARGS...: moat ca serve on the fixed ports, ready when the
# directory answers.
start_ca_serve() {
	MOAT_HOME=$CA_HOME "$MOAT" ca serve --listen 127.0.0.1 --https-port "$HTTPS" \
		--http-port "$HTTP" --name 127.0.0.1 --http01-port "$H01" --tls-alpn-port "$TLS01" \
		--dns-resolver "127.0.0.1:$CHALL_DNS_PORT" "$@" </dev/null >>"$CS_LOG" 2>&1 &
	CS_PID=$!
	SERVER_PIDS+=("$CS_PID")
	local i
	for i in $(seq 1 100); do
		kill -0 "$CS_PID" 2>/dev/null || return 1
		curl -sf --max-time 2 --cacert "$ROOT" "$DIR" >/dev/null 2>&1 && return 0
		sleep 0.1 # poll interval
	done
	return 1
}
# stop_ca_serve: SIGTERM; CS_RC is its exit status (0 when it stopped cleanly).
CS_RC=''
stop_ca_serve() {
	kill -TERM "$CS_PID" 2>/dev/null
	for _ in $(seq 1 100); do
		kill -0 "$CS_PID" 2>/dev/null || break
		sleep 0.1 # poll interval
	done
	kill -KILL "$CS_PID" 2>/dev/null
	wait "$CS_PID"
	CS_RC=$?
	forget_pid "$CS_PID"
}

MOAT_HOME=$CA_HOME "$MOAT" ca init --no-passphrase --permit test --permit 127.0.0.0/8 \
	--url "http://127.0.0.1:$HTTP" >/dev/null 2>&1 || { fail "ca init"; finish; }
start_ca_serve || { fail "moat ca serve starts"; tail -20 "$CS_LOG"; finish; }
pass "moat ca serve answers its directory"

# ---- the directory: RFC 8555 resources, ARI, profiles
run curl -sf --cacert "$ROOT" "$DIR"
assert_json "the directory is JSON"
assert_match "$(json_get 'd["renewalInfo"]' <<<"$OUT")" '/acme/renewal-info$' \
	"the directory has renewalInfo"
assert_eq "$(json_get 'sorted(d["meta"]["profiles"])' <<<"$OUT")" '["default", "shortlived"]' \
	"the directory lists the profiles"

# ---- certbot: two names over http-01, then the record is in the CA database
CB=(--config-dir "$T/cb/c" --work-dir "$T/cb/w" --logs-dir "$T/cb/l" --non-interactive
	--server "$DIR")
assert_ok "certbot obtains a.test + b.test (http-01)" env REQUESTS_CA_BUNDLE="$ROOT" \
	certbot certonly "${CB[@]}" --standalone --http-01-port "$H01" --http-01-address 127.0.0.1 \
	--agree-tos --register-unsafely-without-email -d a.test -d b.test
L=$T/cb/c/live/a.test
assert_ok "certbot's certificate verifies with only the moat root" \
	openssl verify -CAfile "$ROOT" -untrusted "$L/chain.pem" "$L/cert.pem"
assert_eq "$(count_certs "$L/chain.pem")" "1" "the chain is the intermediate alone (no root)"
serial=$(openssl x509 -in "$L/cert.pem" -noout -serial | cut -d= -f2)
run env MOAT_HOME=$CA_HOME "$MOAT" ca list
assert_contains "$OUT" "$serial" "moat ca list has the serial (recorded before the answer)"
assert_contains "$(openssl x509 -in "$L/cert.pem" -noout -ocsp_uri)" \
	"http://127.0.0.1:$HTTP/ocsp" "the certificate carries the OCSP URL"

# ---- lego: tls-alpn-01 and dns-01 (its own TXT records through challtestsrv's API)
LG=(--server "$DIR" --path "$T/lego" --email l@example.test --accept-tos)
assert_ok "lego obtains c.test (tls-alpn-01)" env LEGO_CA_CERTIFICATES="$ROOT" \
	lego "${LG[@]}" --tls --tls.port "127.0.0.1:$TLS01" -d c.test run
assert_ok "lego's certificate verifies" openssl verify -CAfile "$ROOT" \
	-untrusted "$T/lego/certificates/c.test.issuer.crt" "$T/lego/certificates/c.test.crt"

# ---- moat's own client: an IP address over tls-alpn-01, a wildcard over dns-01
export MOAT_HOME=$T/client
S=(--server "$DIR" --ca-bundle "$ROOT")
assert_ok "moat acme register" "$MOAT" acme register --email m@example.test --agree-tos "${S[@]}"
assert_ok "moat acme issue 127.0.0.1 (tls-alpn-01)" "$MOAT" acme issue 127.0.0.1 "${S[@]}" \
	--standalone --challenge tls-alpn-01 --tls-port "$TLS01" --http-address 127.0.0.1
assert_contains "$(cert_ext "$MOAT_HOME/live/127.0.0.1/cert.pem" subjectAltName)" \
	"IP Address:127.0.0.1" "the IP certificate names the address"
export CHALL_MGMT_URL
chall_dns_hook "$T/hook.sh"
assert_ok "moat acme issue *.w.test (dns-01)" "$MOAT" acme issue '*.w.test' "${S[@]}" \
	--challenge dns-01 --dns-hook "$T/hook.sh" --dns-resolver "127.0.0.1:$CHALL_DNS_PORT"
assert_contains "$(cert_ext "$MOAT_HOME/live/_wildcard.w.test/cert.pem" subjectAltName)" \
	"DNS:*.w.test" "the wildcard certificate"
assert_ok "moat acme issue d.test --profile shortlived" "$MOAT" acme issue d.test "${S[@]}" \
	--standalone --http-port "$H01" --http-address 127.0.0.1 --profile shortlived
days=$(cert_days "$MOAT_HOME/live/d.test/cert.pem")
assert_int_between "$days" 6 7 "the shortlived profile gives 7 days"

# ---- the CA's permits are checked at newOrder (rejectedIdentifier)
run "$MOAT" acme issue outside.example "${S[@]}" --standalone --http-port "$H01" \
	--http-address 127.0.0.1
assert_rc 1 "an order outside the CA's permits fails"
assert_contains "$OUT$ERR" "rejectedIdentifier" "... as rejectedIdentifier"
assert_not_contains "$(cat "$CS_LOG")" "first outside.example" "... at newOrder: no order was made"

# ---- ARI: nothing due; after `moat revoke` beside the server, renewal is due now
before=$(cert_serial "$MOAT_HOME/live/d.test/cert.pem")
assert_ok "moat acme renew: nothing due" "$MOAT" acme renew d.test
assert_eq "$(cert_serial "$MOAT_HOME/live/d.test/cert.pem")" "$before" \
	"a fresh certificate is not renewed"
dserial=$(openssl x509 -in "$MOAT_HOME/live/d.test/cert.pem" -noout -serial | cut -d= -f2)
assert_ok "moat revoke beside the server" env MOAT_HOME=$CA_HOME "$MOAT" revoke "$dserial"
assert_ok "moat acme renew after the revocation" "$MOAT" acme renew d.test
assert_ne "$(cert_serial "$MOAT_HOME/live/d.test/cert.pem")" "$before" \
	"ARI made the revoked certificate due and it was renewed"
ocsp=$(openssl ocsp -issuer "$CA_HOME/ca/intermediate.pem" -serial "0x$dserial" \
	-url "http://127.0.0.1:$HTTP/ocsp" -CAfile "$ROOT" 2>&1)
assert_contains "$ocsp" "0x$dserial: revoked" "OCSP says the old one is revoked"

# ---- a restart between two orders of one client (orders live in ca/acme.db)
stop_ca_serve
start_ca_serve || { fail "moat ca serve restarts"; finish; }
assert_ok "the same account orders again after a restart" "$MOAT" acme issue e.test "${S[@]}" \
	--standalone --http-port "$H01" --http-address 127.0.0.1

# ---- a crash in the middle of a validation: the restarted server validates again
mkdir -p "$T/webroot"
/usr/bin/python3 "$(dirname "$0")/slow_webroot.py" "$H01" "$T/webroot" 2 2>"$T/slow.log" &
SLOW_PID=$!
SERVER_PIDS+=("$SLOW_PID")
wait_port "$SLOW_PID" 127.0.0.1 "$H01" || fail "the slow web server starts"
"$MOAT" acme issue mid.test "${S[@]}" --webroot "$T/webroot" >"$T/mid.out" 2>&1 &
MID_PID=$!
for _ in $(seq 1 100); do
	grep -q "asked for /.well-known/acme-challenge/" "$T/slow.log" 2>/dev/null && break
	sleep 0.1 # poll interval
done
assert_contains "$(cat "$T/slow.log")" "acme-challenge" "the server is validating (slowly)"
kill -KILL "$CS_PID"
wait "$CS_PID" 2>/dev/null
forget_pid "$CS_PID"
start_ca_serve || { fail "moat ca serve restarts after a crash"; finish; }
wait "$MID_PID"
assert_eq "$?" "0" "the client's order completes across the crash"
assert_contains "$(cat "$CS_LOG")" "validating authorization" "the validation under way was queued again"
assert_ok "... and its certificate verifies" openssl verify -CAfile "$ROOT" \
	-untrusted "$MOAT_HOME/live/mid.test/chain.pem" "$MOAT_HOME/live/mid.test/cert.pem"
kill "$SLOW_PID" 2>/dev/null

# ---- chaos: 30 % of good nonces refused; every client retries badNonce
stop_ca_serve
start_ca_serve --nonce-reject 30 || { fail "moat ca serve --nonce-reject 30 starts"; finish; }
for n in 1 2 3; do
	assert_ok "moat acme issue n$n.test with 30 % nonces refused" "$MOAT" acme issue "n$n.test" \
		"${S[@]}" --standalone --http-port "$H01" --http-address 127.0.0.1
done
assert_ok "certbot with 30 % nonces refused" env REQUESTS_CA_BUNDLE="$ROOT" \
	certbot certonly "${CB[@]}" --standalone --http-01-port "$H01" --http-01-address 127.0.0.1 \
	-d n4.test
assert_ok "lego with 30 % nonces refused" env LEGO_CA_CERTIFICATES="$ROOT" \
	lego "${LG[@]}" --http --http.port "127.0.0.1:$H01" -d n5.test run
run curl -sf "http://127.0.0.1:$HTTP/metrics"
bad=$(sed -n 's/^moat_ca_acme_bad_nonce_total //p' <<<"$OUT")
issued=$(sed -n 's/^moat_ca_certificates_issued_total //p' <<<"$OUT")
assert_int_between "$bad" 3 100000 "/metrics: nonces were refused ($bad)"
assert_eq "$issued" "5" "/metrics: the five certificates since the restart"

# ---- EAB: required, then a key binds exactly one account
stop_ca_serve
start_ca_serve --require-eab || { fail "moat ca serve --require-eab starts"; finish; }
run env MOAT_HOME=$CA_HOME "$MOAT" ca eab add "lab box" --json
kid=$(json_get 'd["kid"]' <<<"$OUT")
hmac=$(json_get 'd["hmac_key"]' <<<"$OUT")
assert_match "$kid" '^[A-Za-z0-9_-]{16}$' "eab add prints a key id"
assert_mode "$CA_HOME/ca/acme.db" 600 "ca/acme.db, which holds the EAB keys, is 0600"
export MOAT_HOME=$T/client2
run "$MOAT" acme register --email x@example.test --agree-tos "${S[@]}"
assert_rc 1 "register without EAB is refused"
assert_contains "$OUT$ERR" "external account binding" "... for want of an external account binding"
assert_ok "register with the EAB key" "$MOAT" acme register --email x@example.test --agree-tos \
	"${S[@]}" --eab-kid "$kid" --eab-hmac-key "$hmac" --force
export MOAT_HOME=$T/client3
run "$MOAT" acme register --email y@example.test --agree-tos "${S[@]}" --eab-kid "$kid" \
	--eab-hmac-key "$hmac"
assert_rc 1 "the same EAB key cannot bind a second account"

# ---- moat serve --acme with moat ca serve as its ACME server: a page curl
# trusts with only the moat root
stop_ca_serve
start_ca_serve || { fail "moat ca serve starts again"; finish; }
export MOAT_HOME=$T/proxy
/usr/bin/python3 -m http.server --bind 127.0.0.1 --directory "$T/webroot" 0 >"$T/up.log" 2>&1 &
UP_PID=$!
SERVER_PIDS+=("$UP_PID")
for _ in $(seq 1 50); do
	UP_PORT=$(sed -n -E 's/.*port ([0-9]+).*/\1/p' "$T/up.log" | head -n 1)
	[ -n "$UP_PORT" ] && break
	sleep 0.1 # poll interval
done
echo "hello from the app" >"$T/webroot/hello"
"$MOAT" serve --acme --server "$DIR" --ca-bundle "$ROOT" --email p@example.test \
	--listen 127.0.0.1 --http-port "$H01" --https-port "$TLS01" \
	"app.test=http://127.0.0.1:$UP_PORT" </dev/null >"$T/serve.out" 2>"$T/serve.log" &
SERVE_PID=$!
SERVER_PIDS+=("$SERVE_PID")
got=''
for _ in $(seq 1 300); do
	got=$(curl -s --max-time 5 --cacert "$ROOT" --capath /nonexistent \
		--resolve "app.test:$TLS01:127.0.0.1" "https://app.test:$TLS01/hello" 2>/dev/null)
	[ -n "$got" ] && break
	sleep 0.1 # poll interval
done
assert_eq "$got" "hello from the app" "moat serve --acme gets its certificate from moat ca serve; curl trusts it with only the moat root"
kill -TERM "$SERVE_PID" 2>/dev/null

stop_ca_serve
assert_eq "$CS_RC" "0" "SIGTERM stops moat ca serve, exit 0"
assert_not_contains "$(cat "$CS_LOG")" "serverInternal" "the server logged no internal error"
if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$CS_LOG"; then
	fail "no sanitizer report in the server's log"
	grep -E -A12 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$CS_LOG" | head -n 30 |
		sed -e 's/^/#   ca serve: /'
else
	pass "no sanitizer report in the server's log"
fi
finish
