#!/usr/bin/env bash
# t_serve_acme: `moat serve --acme` against pebble (Debian's ACME test CA).
# The proxy gets its own certificates in the background, answering the
# challenges on its own ports:
#
#   - http-01: obtained within a deadline, the served chain (leaf +
#     intermediate) verifies against pebble's root, the lineage is written
#     under MOAT_HOME/live/NAME (certbot layout), the log names the serial,
#     /metrics shows the expiry, port 80 redirects to https;
#   - tls-alpn-01: the same with a fresh MOAT_HOME and another name;
#   - renewal under load: SIGUSR1 while wrk runs (keep-alive connections and
#     new handshakes): no error of any kind, a new serial served, same PID;
#   - pebble refusing 30% of the nonces (PEBBLE_WFE_NONCEREJECT): still
#     obtained (badNonce retries);
#   - an ACME server that does not answer: moat serve starts anyway, port 80
#     redirects, the log says "cannot get a certificate", retries (SIGUSR1)
#     and stays alive.
#
# Every moat serve is stopped with SIGTERM at the end of its part and must
# exit 0 (under ASan: no leak, no error report).
# shellcheck disable=SC2317 # helpers called through poll_pid
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_acme.sh"

acme_have_pebble || skip_test "pebble is not installed (apt-get install pebble)"
command -v wrk >/dev/null 2>&1 || skip_test "wrk is not installed (apt-get install wrk)"
UPSTREAM_PY=$IT_DIR/upstream.py
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

# ------------------------------------------------------------------ helpers
# (self-contained on purpose: nothing from lib_serve.sh)

# sa_count FILE FIXED-STRING: number of lines of FILE containing it.
sa_count() { grep -cF -- "$2" "$1" 2>/dev/null || true; }

# sa_more_than FILE FIXED-STRING N: more than N lines contain it.
sa_more_than() { [ "$(sa_count "$1" "$2")" -gt "$3" ]; }

# sa_upstream: upstream.py on a free port; sets UP_PORT.
UP_PORT=''
sa_upstream() {
	local ready=$T/upstream.port pid
	rm -f "$ready"
	"$PY" "$UPSTREAM_PY" --port 0 --ready-file "$ready" </dev/null >"$T/upstream.log" 2>&1 &
	pid=$!
	SERVER_PIDS+=("$pid")
	if ! poll_pid "$pid" 15 test -s "$ready"; then
		sed -e 's/^/#   upstream: /' "$T/upstream.log" | tail -n 5
		return 1
	fi
	UP_PORT=$(cat "$ready")
}

# sa_serve LOG ARGS...: start moat serve (stderr to LOG), wait for its
# "ready" line.  Sets SERVE_PID, SERVE_LOG.
SERVE_PID=''
SERVE_LOG=''
sa_serve() {
	local log=$1
	shift
	SERVE_LOG=$log
	"$MOAT" serve "$@" </dev/null >"$log.out" 2>"$log" &
	SERVE_PID=$!
	SERVER_PIDS+=("$SERVE_PID")
	if poll_pid "$SERVE_PID" 30 grep -q '^moat serve: ready (pid ' "$log"; then
		return 0
	fi
	note "moat serve $* did not get ready:"
	sed -e 's/^/#   serve: /' "$log" | tail -n 15
	return 1
}

# sa_stop DESC: SIGTERM to SERVE_PID; it must exit 0 within 20 s with no
# sanitizer report in its log.
sa_stop() {
	local desc=$1 rc end
	[ -n "$SERVE_PID" ] || return 0
	kill -TERM "$SERVE_PID" 2>/dev/null
	end=$(($(date +%s) + 20))
	while pid_alive "$SERVE_PID" && [ "$(date +%s)" -lt "$end" ]; do
		sleep 0.2 # poll interval
	done
	if pid_alive "$SERVE_PID"; then
		note "moat serve did not stop within 20 s: SIGKILL"
		kill -KILL "$SERVE_PID" 2>/dev/null
	fi
	wait "$SERVE_PID"
	rc=$?
	if [ "$rc" -eq 0 ] && ! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$SERVE_LOG"; then
		pass "$desc: SIGTERM stops moat serve, exit 0"
	else
		fail "$desc: SIGTERM stops moat serve, exit 0 (exit $rc)"
		grep -E -A12 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$SERVE_LOG" |
			head -n 40 | sed -e 's/^/#   serve: /'
		tail -n 5 "$SERVE_LOG" | sed -e 's/^/#   serve: /'
	fi
	SERVE_PID=''
}

# sa_https NAME PORT [PATH]: GET https://NAME:PORT/PATH on 127.0.0.1
# trusting only pebble's roots ($T/roots.pem).
sa_https() {
	mkdir -p "$T/.empty-capath"
	curl -sS --fail --max-time 10 --noproxy '*' --cacert "$T/roots.pem" \
		--capath "$T/.empty-capath" --resolve "$1:$2:127.0.0.1" \
		-o /dev/null "https://$1:$2${3:-/hello}"
}

# sa_served NAME PORT OUT: the chain moat serves for SNI NAME, as PEM.
sa_served() {
	timeout 15 openssl s_client -connect "127.0.0.1:$2" -servername "$1" -showcerts \
		</dev/null 2>/dev/null |
		awk '/-----BEGIN CERTIFICATE-----/ { p = 1 } p { print } /-----END CERTIFICATE-----/ { p = 0 }' \
			>"$3"
}

# sa_served_serial NAME PORT: serial of the served leaf, normalised.
sa_served_serial() {
	sa_served "$1" "$2" "$T/.served.pem" && cert_serial "$T/.served.pem"
}

# sa_log_serial LOG NAME: serial from the last "new certificate for NAME"
# line of the log, normalised.
sa_log_serial() {
	local s
	s=$(grep -F "new certificate for $2 from" "$1" | tail -n 1 |
		sed -n -E 's/.*\(serial ([0-9A-Fa-f:]+).*/\1/p')
	[ -n "$s" ] && norm_hex "$s"
}

# sa_metric ADMIN_PORT NAME: moat_certificate_expiry_seconds of site NAME.
sa_metric() {
	curl -sS --fail --max-time 5 --noproxy '*' "http://127.0.0.1:$1/metrics" |
		sed -n -E "s/^moat_certificate_expiry_seconds\\{site=\"$2\"\\} (-?[0-9]+)\$/\\1/p"
}

# sa_counter ADMIN_PORT SERIES: the value of a series of /metrics (name and
# labels exactly as printed), or nothing.
sa_counter() {
	curl -sS --fail --max-time 5 --noproxy '*' "http://127.0.0.1:$1/metrics" |
		awk -v s="$2" '$1 == s { print $2; exit }'
}

# sa_counter_at_least ADMIN_PORT SERIES N: the series is a number >= N.
sa_counter_at_least() {
	local v
	v=$(sa_counter "$1" "$2")
	[[ $v =~ ^[0-9]+$ ]] && [ "$v" -ge "$3" ]
}

# sa_all_alive PID...: every one of them is running.
sa_all_alive() {
	local p
	for p in "$@"; do
		pid_alive "$p" || return 1
	done
}

# check_obtained LABEL NAME HOME LOG: after the proxy got its first
# certificate: the served chain, the lineage, the log line.
check_obtained() {
	local label=$1 name=$2 home=$3 log=$4 live=$3/live/$2 leaf chain s
	leaf=$T/$label.leaf.pem
	chain=$T/$label.chain.pem
	sa_served "$name" "$ACME_TLS_PORT" "$T/$label.served.pem"
	assert_eq "$(count_certs "$T/$label.served.pem")" "2" \
		"$label: s_client -showcerts shows leaf + intermediate"
	openssl x509 -in "$T/$label.served.pem" -out "$leaf" 2>/dev/null
	awk 'n > 0 || /-----END CERTIFICATE-----/ { if (n > 0) print } /-----END CERTIFICATE-----/ { n++ }' \
		"$T/$label.served.pem" >"$chain"
	assert_ok "$label: the served chain verifies against pebble's root (-untrusted intermediate)" \
		openssl verify -x509_strict -purpose sslserver -verify_hostname "$name" \
		-CAfile "$T/roots.pem" -untrusted "$chain" "$leaf"
	run openssl x509 -in "$leaf" -noout -ext subjectAltName
	assert_contains "$OUT" "DNS:$name" "$label: the leaf's subjectAltName is $name"
	assert_contains "$(openssl x509 -in "$chain" -noout -subject 2>/dev/null)" "Pebble Intermediate" \
		"$label: the second certificate is pebble's intermediate"

	# certbot layout: live/NAME/{cert,chain,fullchain,privkey}.pem -> archive
	for f in cert chain fullchain privkey; do
		if [ -L "$live/$f.pem" ] && [ -f "$live/$f.pem" ]; then
			pass "$label: live/$name/$f.pem is a link to a file"
		else
			fail "$label: live/$name/$f.pem is a link to a file"
			find "$live" -maxdepth 1 -printf '#   %p -> %l\n' 2>&1
		fi
	done
	assert_eq "$(readlink "$live/cert.pem")" "../../archive/$name/cert1.pem" \
		"$label: live/ links to archive version 1"
	assert_eq "$(cert_fp "$live/cert.pem")" "$(cert_fp "$leaf")" \
		"$label: the served leaf is live/$name/cert.pem"
	assert_eq "$(count_certs "$live/fullchain.pem")" "$(($(count_certs "$live/chain.pem") + 1))" \
		"$label: fullchain.pem = cert + chain"
	assert_eq "$(key_pubkey "$live/privkey.pem")" "$(cert_pubkey "$live/cert.pem")" \
		"$label: privkey.pem belongs to cert.pem"
	assert_mode "$(readlink -f "$live/privkey.pem")" 600 "$label: the key file is 0600"
	assert_no_file "$home/ca" "$label: no private CA was made"
	s=$(find "$home/acme/accounts" -name account.json 2>/dev/null | wc -l)
	assert_eq "$s" "1" "$label: an ACME account was registered and stored"

	# the log
	assert_contains "$(cat "$log")" "registered an ACME account at $ACME_DIRECTORY" \
		"$label: the log says it registered an account"
	assert_eq "$(sa_count "$log" "new certificate for $name from $ACME_DIRECTORY (serial ")" "1" \
		"$label: the log says \"new certificate for $name from <server> (serial ...\" once"
	assert_eq "$(sa_log_serial "$log" "$name")" "$(cert_serial "$leaf")" \
		"$label: the serial in the log is the served one"
	assert_not_contains "$(cat "$log")" "ERROR" "$label: no ERROR in the log"
}

# ------------------------------------------------------------------ setup

start_challtestsrv || { fail "pebble-challtestsrv starts"; finish; }
# Every order validated afresh (a renewal really goes through the proxy).
start_pebble PEBBLE_AUTHZREUSE=0 || { fail "pebble starts"; finish; }
pass "pebble and pebble-challtestsrv are up"
pebble_roots "$T/roots.pem" || fail "pebble's roots can be downloaded"
sa_upstream || { fail "upstream.py starts"; finish; }
pass "upstream.py listens on $UP_PORT"

ADMIN_PORT=$(free_port)
common=(--acme --server "$ACME_DIRECTORY" --ca-bundle "$ACME_CA_BUNDLE" --email t@example.test
	--listen 127.0.0.1 --http-port "$ACME_HTTP_PORT" --https-port "$ACME_TLS_PORT")

# ------------------------------------------------------------------ http-01

NAME=chat.example.test
export MOAT_HOME=$T/home-http01
t0=$(date +%s)
if sa_serve "$T/http01.log" "${common[@]}" --challenge http-01 --admin "127.0.0.1:$ADMIN_PORT" \
	"$NAME=http://127.0.0.1:$UP_PORT"; then
	pass "http-01: moat serve --acme starts (ready before any certificate)"
	assert_eq "$(sed -n -E 's/^moat serve: ready \(pid ([0-9]+)\).*/\1/p' "$SERVE_LOG")" \
		"$SERVE_PID" "http-01: the ready line names the PID"
	if poll_pid "$SERVE_PID" 90 sa_https "$NAME" "$ACME_TLS_PORT"; then
		pass "http-01: https://$NAME/hello answers with a certificate pebble's root trusts ($(($(date +%s) - t0)) s)"
		check_obtained http01 "$NAME" "$MOAT_HOME" "$SERVE_LOG"
		assert_contains "$(cat "$PEBBLE_LOG")" \
			"validate w/ HTTP: http://$NAME:$ACME_HTTP_PORT/.well-known/acme-challenge/" \
			"http-01: pebble validated on the proxy's HTTP port"
		run curl -sS --max-time 10 --noproxy '*' --cacert "$T/roots.pem" \
			--resolve "$NAME:$ACME_TLS_PORT:127.0.0.1" "https://$NAME:$ACME_TLS_PORT/hello"
		assert_eq "$OUT" "hello from upstream" "http-01: the upstream's answer comes through"
		exp=$(sa_metric "$ADMIN_PORT" "$NAME")
		assert_int_between "$exp" 86400 $((10 * 366 * 86400)) \
			"http-01: /metrics moat_certificate_expiry_seconds{site=\"$NAME\"} is in the future"
		run curl -sS --max-time 10 --noproxy '*' -o /dev/null \
			-w '%{http_code} %{redirect_url}' -H "Host: $NAME" \
			"http://127.0.0.1:$ACME_HTTP_PORT/hello?x=1"
		assert_eq "$OUT" "308 https://$NAME:$ACME_TLS_PORT/hello?x=1" \
			"http-01: port 80 redirects to https"
		run curl -sS --max-time 10 --noproxy '*' -o /dev/null -w '%{http_code}' \
			-H "Host: $NAME" "http://127.0.0.1:$ACME_HTTP_PORT/.well-known/acme-challenge/nosuchtoken"
		assert_eq "$OUT" "404" "http-01: an unknown challenge token is 404"
	else
		fail "http-01: a certificate within 90 s (curl https://$NAME:$ACME_TLS_PORT/hello)"
		tail -n 15 "$SERVE_LOG" | sed -e 's/^/#   serve: /'
		tail -n 10 "$PEBBLE_LOG" | sed -e 's/^/#   pebble: /'
	fi
else
	fail "http-01: moat serve --acme starts"
fi

# ---------------------------------------------------- renewal under load

if [ -n "$SERVE_PID" ] && pid_alive "$SERVE_PID" && [ -f "$MOAT_HOME/live/$NAME/cert.pem" ]; then
	before=$(sa_served_serial "$NAME" "$ACME_TLS_PORT")
	assert_eq "$before" "$(cert_serial "$MOAT_HOME/live/$NAME/cert.pem")" \
		"renewal: the serial served before is that of live/$NAME/cert.pem"
	assert_ne "$before" "" "renewal: ... (which is not empty)"
	url=https://127.0.0.1:$ACME_TLS_PORT/hello
	hs_fail_before=$(sa_counter "$ADMIN_PORT" moat_tls_handshake_failures_total)
	assert_int_between "$hs_fail_before" 0 1000000 "renewal: /metrics counts failed TLS handshakes"
	ok200='moat_http_requests_total{code="200"}'
	req0=$(sa_counter "$ADMIN_PORT" "$ok200")
	assert_int_between "$req0" 1 1000000 "renewal: /metrics counts the 200s ($req0 so far)"
	# wrk verifies nothing (fine here); it sends SNI 127.0.0.1, an unknown
	# name: the proxy's default (only) certificate.  Keep-alive connections
	# (must survive the swap) and, beside them, a connection per request
	# (handshakes during the swap).  -d is only an upper bound: both are
	# stopped (SIGINT: wrk then reports as usual) once the renewal is done
	# and requests have been answered after it.
	wrk -t2 -c20 -d300s -H "Host: $NAME" "$url" >"$T/wrk-keep.out" 2>&1 &
	wrk_keep=$!
	wrk -t1 -c4 -d300s -H "Host: $NAME" -H 'Connection: close' "$url" >"$T/wrk-close.out" 2>&1 &
	wrk_close=$!
	SERVER_PIDS+=("$wrk_keep" "$wrk_close")
	# The load is on: 1000 more 200s answered, and both still running.
	if poll_pid "$SERVE_PID" 60 sa_counter_at_least "$ADMIN_PORT" "$ok200" $((req0 + 1000)) &&
		sa_all_alive "$wrk_keep" "$wrk_close"; then
		pass "renewal: the load runs (1000 requests answered, both wrk running)"
	else
		fail "renewal: the load runs (200s: $(sa_counter "$ADMIN_PORT" "$ok200"), from $req0)"
	fi
	n_before=$(sa_count "$SERVE_LOG" "new certificate for $NAME from")
	kill -USR1 "$SERVE_PID"
	t1=$(date +%s)
	if poll_pid "$SERVE_PID" 60 sa_more_than "$SERVE_LOG" "new certificate for $NAME from" "$n_before"; then
		# (checked at once: both load generators were still running when the
		# new certificate was in place)
		if sa_all_alive "$wrk_keep" "$wrk_close"; then
			pass "renewal: SIGUSR1 -> a new certificate while the load runs ($(($(date +%s) - t1)) s)"
		else
			fail "renewal: SIGUSR1 -> a new certificate, but a wrk had ended before it"
		fi
	else
		fail "renewal: SIGUSR1 -> a new certificate within 60 s"
		tail -n 10 "$SERVE_LOG" | sed -e 's/^/#   serve: /'
	fi
	# Requests (and new handshakes, from the Connection: close wrk) answered
	# after the renewal's log line, by the same load.
	req_r=$(sa_counter "$ADMIN_PORT" "$ok200")
	hs_r=$(sa_counter "$ADMIN_PORT" moat_tls_handshakes_total)
	if poll_pid "$SERVE_PID" 60 sa_counter_at_least "$ADMIN_PORT" "$ok200" $((${req_r:-0} + 1000)) &&
		poll_pid "$SERVE_PID" 60 sa_counter_at_least "$ADMIN_PORT" moat_tls_handshakes_total $((${hs_r:-0} + 100)) &&
		sa_all_alive "$wrk_keep" "$wrk_close"; then
		pass "renewal: the load goes on after it (1000 more requests, 100 more handshakes)"
	else
		fail "renewal: the load goes on after it (200s $req_r -> $(sa_counter "$ADMIN_PORT" "$ok200"), handshakes $hs_r -> $(sa_counter "$ADMIN_PORT" moat_tls_handshakes_total))"
	fi
	kill -INT "$wrk_keep" "$wrk_close" 2>/dev/null
	wait_exit "$wrk_keep" 20
	echo "$WAIT_RC" >"$T/wrk-keep.rc"
	wait_exit "$wrk_close" 20
	echo "$WAIT_RC" >"$T/wrk-close.rc"
	assert_contains "$(cat "$SERVE_LOG")" "SIGUSR1: renewing every certificate now" \
		"renewal: SIGUSR1 is acknowledged"
	assert_contains "$(cat "$SERVE_LOG")" "renewing the certificate of $NAME now (SIGUSR1)" \
		"renewal: the log names the site renewed"
	assert_eq "$(sa_counter "$ADMIN_PORT" moat_tls_handshake_failures_total)" "$hs_fail_before" \
		"renewal: no failed TLS handshake during the load (/metrics)"
	for w in keep close; do
		out=$(cat "$T/wrk-$w.out")
		assert_eq "$(cat "$T/wrk-$w.rc")" "0" "renewal: wrk ($w) exits 0 on SIGINT"
		assert_not_contains "$out" "Socket errors" "renewal: wrk ($w): no socket error (connect/read/write/timeout)"
		assert_not_contains "$out" "Non-2xx" "renewal: wrk ($w): no non-2xx response"
		reqs=$(sed -n -E 's/^ *([0-9]+) requests in .*/\1/p' <<<"$out")
		min=1000
		[ "$w" = close ] && min=100
		assert_int_between "${reqs:-0}" "$min" 100000000 \
			"renewal: wrk ($w): a substantial number of requests (>= $min)"
		if [ "${reqs:-0}" -lt "$min" ] || grep -qE 'Socket errors|Non-2xx' <<<"$out"; then
			sed -e 's/^/#   wrk: /' "$T/wrk-$w.out"
		fi
	done
	after=$(sa_served_serial "$NAME" "$ACME_TLS_PORT")
	assert_ne "$after" "$before" "renewal: the served serial changed ($before -> $after)"
	assert_eq "$after" "$(sa_log_serial "$SERVE_LOG" "$NAME")" "renewal: the new serial is the one logged"
	assert_eq "$after" "$(cert_serial "$MOAT_HOME/live/$NAME/cert.pem")" \
		"renewal: ... and that of live/$NAME/cert.pem"
	assert_eq "$(readlink "$MOAT_HOME/live/$NAME/cert.pem")" "../../archive/$NAME/cert2.pem" \
		"renewal: live/ links to archive version 2"
	assert_ok "renewal: the renewed chain verifies against pebble's root" sa_https "$NAME" "$ACME_TLS_PORT"
	if pid_alive "$SERVE_PID"; then
		pass "renewal: the same process (pid $SERVE_PID) still serves"
	else
		fail "renewal: the same process (pid $SERVE_PID) still serves"
	fi
	assert_eq "$(sa_count "$SERVE_LOG" 'moat serve: ready (pid ')" "1" "renewal: no restart (one ready line)"
	assert_not_contains "$(cat "$SERVE_LOG")" "ERROR" "renewal: no ERROR in the log"
else
	fail "renewal under load: not run (no moat serve with a certificate from http-01)"
fi
sa_stop "http-01"

# ---------------------------------------------------------------- tls-alpn-01

NAME=alpn.example.test
export MOAT_HOME=$T/home-alpn
t0=$(date +%s)
if sa_serve "$T/alpn.log" "${common[@]}" --challenge tls-alpn-01 "$NAME=http://127.0.0.1:$UP_PORT"; then
	pass "tls-alpn-01: moat serve --acme starts"
	if poll_pid "$SERVE_PID" 90 sa_https "$NAME" "$ACME_TLS_PORT"; then
		pass "tls-alpn-01: https://$NAME/hello answers with a trusted certificate ($(($(date +%s) - t0)) s)"
		check_obtained alpn "$NAME" "$MOAT_HOME" "$SERVE_LOG"
		# (pebble logs its HTTP validations, not its TLS-ALPN ones)
		assert_contains "$(cat "$PEBBLE_LOG")" "Value:\"$NAME\"}" "tls-alpn-01: pebble validated $NAME"
		assert_not_contains "$(cat "$PEBBLE_LOG")" "validate w/ HTTP: http://$NAME" \
			"tls-alpn-01: ... not with http-01"
		# the acme-tls/1 responder is gone once the challenge is done
		run timeout 10 openssl s_client -connect "127.0.0.1:$ACME_TLS_PORT" -servername "$NAME" \
			-alpn acme-tls/1 </dev/null
		# (1: the handshake was refused; 124 would be a hang)
		assert_rc 1 "tls-alpn-01: no acme-tls/1 handshake once the challenge is over"
		# renewal: the challenge certificate and the site's live one share
		# the TLS context for a moment
		before=$(sa_served_serial "$NAME" "$ACME_TLS_PORT")
		assert_ne "$before" "" "tls-alpn-01: the served serial can be read"
		kill -USR1 "$SERVE_PID"
		if poll_pid "$SERVE_PID" 60 sa_more_than "$SERVE_LOG" "new certificate for $NAME from" 1; then
			pass "tls-alpn-01: SIGUSR1 renews through tls-alpn-01 on the serving port"
		else
			fail "tls-alpn-01: SIGUSR1 renews within 60 s"
			tail -n 10 "$SERVE_LOG" | sed -e 's/^/#   serve: /'
		fi
		after=$(sa_served_serial "$NAME" "$ACME_TLS_PORT")
		assert_ne "$after" "$before" "tls-alpn-01: a new serial is served after the renewal"
		assert_eq "$after" "$(cert_serial "$MOAT_HOME/live/$NAME/cert.pem")" \
			"tls-alpn-01: ... that of live/$NAME/cert.pem"
		assert_ok "tls-alpn-01: the renewed chain verifies against pebble's root" \
			sa_https "$NAME" "$ACME_TLS_PORT"
		assert_not_contains "$(cat "$SERVE_LOG")" "ERROR" "tls-alpn-01: no ERROR in the log"
	else
		fail "tls-alpn-01: a certificate within 90 s"
		tail -n 15 "$SERVE_LOG" | sed -e 's/^/#   serve: /'
		tail -n 10 "$PEBBLE_LOG" | sed -e 's/^/#   pebble: /'
	fi
else
	fail "tls-alpn-01: moat serve --acme starts"
fi
sa_stop "tls-alpn-01"

# ---------------------------------------------------------- nonce rejection

NAME=nonce.example.test
export MOAT_HOME=$T/home-nonce
if start_pebble PEBBLE_AUTHZREUSE=0 PEBBLE_WFE_NONCEREJECT=30 && pebble_roots "$T/roots.pem"; then
	pass "pebble restarts with PEBBLE_WFE_NONCEREJECT=30"
	common=(--acme --server "$ACME_DIRECTORY" --ca-bundle "$ACME_CA_BUNDLE" --email t@example.test
		--listen 127.0.0.1 --http-port "$ACME_HTTP_PORT" --https-port "$ACME_TLS_PORT")
	t0=$(date +%s)
	if sa_serve "$T/nonce.log" "${common[@]}" "$NAME=http://127.0.0.1:$UP_PORT"; then
		if poll_pid "$SERVE_PID" 90 sa_https "$NAME" "$ACME_TLS_PORT"; then
			pass "nonce: a certificate although pebble refuses 30% of the nonces ($(($(date +%s) - t0)) s)"
			check_obtained nonce "$NAME" "$MOAT_HOME" "$SERVE_LOG"
		else
			fail "nonce: a certificate within 90 s with PEBBLE_WFE_NONCEREJECT=30"
			tail -n 15 "$SERVE_LOG" | sed -e 's/^/#   serve: /'
		fi
	else
		fail "nonce: moat serve --acme starts"
	fi
	sa_stop "nonce"
else
	fail "pebble restarts with PEBBLE_WFE_NONCEREJECT=30"
fi

# ---------------------------------------------------- an ACME server that fails

NAME=down.example.test
export MOAT_HOME=$T/home-down
HTTP_PORT=$(free_port)
HTTPS_PORT=$(free_port)
ADMIN_PORT=$(free_port)
down=https://127.0.0.1:$(free_port)/dir
if sa_serve "$T/down.log" --acme --server "$down" --ca-bundle "$ACME_CA_BUNDLE" \
	--email t@example.test --listen 127.0.0.1 --http-port "$HTTP_PORT" --https-port "$HTTPS_PORT" \
	--admin "127.0.0.1:$ADMIN_PORT" "$NAME=http://127.0.0.1:$UP_PORT"; then
	pass "down: moat serve --acme starts although the ACME server does not answer"
	if poll_pid "$SERVE_PID" 30 grep -qF "cannot get a certificate for $NAME" "$SERVE_LOG"; then
		pass "down: the log says \"cannot get a certificate for $NAME\""
	else
		fail "down: the log says \"cannot get a certificate for $NAME\" within 30 s"
		tail -n 10 "$SERVE_LOG" | sed -e 's/^/#   serve: /'
	fi
	assert_match "$(grep -F "cannot get a certificate for $NAME" "$SERVE_LOG" | head -n 1)" \
		'next try in [0-9]+ s' "down: ... and when it tries again"
	run curl -sS --max-time 10 --noproxy '*' -o /dev/null -w '%{http_code} %{redirect_url}' \
		-H "Host: $NAME" "http://127.0.0.1:$HTTP_PORT/some/path"
	assert_eq "$OUT" "308 https://$NAME:$HTTPS_PORT/some/path" "down: plain HTTP still redirects to https"
	run timeout 15 curl -sS --max-time 10 --noproxy '*' -k --resolve "$NAME:$HTTPS_PORT:127.0.0.1" \
		"https://$NAME:$HTTPS_PORT/hello"
	# curl's 35: the TLS handshake failed (28 would be a hang, 0 something
	# served)
	assert_rc 35 "down: HTTPS fails (no certificate yet) rather than hanging or serving something"
	run curl -sS --fail --max-time 5 --noproxy '*' "http://127.0.0.1:$ADMIN_PORT/metrics"
	assert_rc 0 "down: /metrics answers"
	assert_not_contains "$OUT" "moat_certificate_expiry_seconds{site=\"$NAME\"}" \
		"down: /metrics has no moat_certificate_expiry_seconds for $NAME"
	# The first retry is a minute away (backoff); SIGUSR1 asks for one now.
	n=$(sa_count "$SERVE_LOG" "cannot get a certificate for $NAME")
	kill -USR1 "$SERVE_PID"
	if poll_pid "$SERVE_PID" 30 sa_more_than "$SERVE_LOG" "cannot get a certificate for $NAME" "$n"; then
		pass "down: it tries again (SIGUSR1), and says so"
	else
		fail "down: it tries again on SIGUSR1 within 30 s"
		tail -n 10 "$SERVE_LOG" | sed -e 's/^/#   serve: /'
	fi
	# Once more: a process that handled the failures and the signal answers
	# the next one too (an event, not a pause to let a crash happen).
	n=$(sa_count "$SERVE_LOG" "cannot get a certificate for $NAME")
	kill -USR1 "$SERVE_PID"
	if poll_pid "$SERVE_PID" 30 sa_more_than "$SERVE_LOG" "cannot get a certificate for $NAME" "$n" &&
		pid_alive "$SERVE_PID"; then
		pass "down: still running after the failures (a third try on SIGUSR1)"
	else
		fail "down: still running after the failures (a third try on SIGUSR1)"
		tail -n 20 "$SERVE_LOG" | sed -e 's/^/#   serve: /'
	fi
	run curl -sS --max-time 10 --noproxy '*' -o /dev/null -w '%{http_code}' \
		"http://127.0.0.1:$ADMIN_PORT/health"
	assert_eq "$OUT" "200" "down: /health says ok"
	assert_no_file "$MOAT_HOME/live/$NAME" "down: no lineage written"
else
	fail "down: moat serve --acme starts although the ACME server does not answer"
fi
sa_stop "down"

finish
