#!/usr/bin/env bash
# t_tls_curl: a real TLS server (openssl s_server) with moat's files, and curl
# trusting only the root: DNS name, IPv4, IPv6, .local.  Without the
# intermediate in the handshake a strict client must refuse (curl exit 60).
. "$(dirname "$0")/lib.sh"

need_ca
ROOT=$MOAT_HOME/ca/root.pem
LIVE=$MOAT_HOME/live

# serve LINEAGE_DIR HOST [chain|leaf-only]: start s_server with the lineage.
serve() {
	local d=$1 host=$2 mode=${3:-chain} args
	args=(-cert "$d/cert.pem" -key "$d/privkey.pem")
	if [ "$mode" = chain ]; then
		args+=(-cert_chain "$d/chain.pem")
	fi
	start_s_server "$host" "$T/s_server-$(basename "$d")-$mode.log" "${args[@]}"
}

# ---- DNS name, via --resolve
assert_ok "issue svc.example.test" "$MOAT" issue svc.example.test
if serve "$LIVE/svc.example.test" 127.0.0.1; then
	pass "s_server up for svc.example.test on 127.0.0.1:$SERVER_PORT"
	assert_ok "curl https://svc.example.test:PORT/ with only root.pem" \
		curl_root "$ROOT" --resolve "svc.example.test:$SERVER_PORT:127.0.0.1" \
		"https://svc.example.test:$SERVER_PORT/"
	# The same server, a name not in the certificate: must fail (exit 60).
	run curl_root "$ROOT" --resolve "other.example.test:$SERVER_PORT:127.0.0.1" \
		"https://other.example.test:$SERVER_PORT/"
	assert_rc 60 "curl refuses a name that is not in the certificate"
	# And without trusting the root: must fail.
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=some other root" -keyout "$T/other.key" -out "$T/other.pem" >/dev/null 2>&1
	run curl_root "$T/other.pem" --resolve "svc.example.test:$SERVER_PORT:127.0.0.1" \
		"https://svc.example.test:$SERVER_PORT/"
	assert_rc 60 "curl refuses the server when only another root is trusted"
	stop_server "$SERVER_PID"
else
	fail "s_server with svc.example.test did not start"
fi

# ---- IPv4 address
assert_ok "issue 127.0.0.1" "$MOAT" issue 127.0.0.1
if serve "$LIVE/127.0.0.1" 127.0.0.1; then
	pass "s_server up for 127.0.0.1:$SERVER_PORT"
	assert_ok "curl https://127.0.0.1:PORT/ with only root.pem" \
		curl_root "$ROOT" "https://127.0.0.1:$SERVER_PORT/"
	stop_server "$SERVER_PID"
else
	fail "s_server with 127.0.0.1 did not start"
fi

# ---- IPv6 address
if have_ipv6; then
	assert_ok "issue ::1" "$MOAT" issue ::1
	if serve "$LIVE/::1" ::1; then
		pass "s_server up for [::1]:$SERVER_PORT"
		assert_ok "curl https://[::1]:PORT/ with only root.pem" \
			curl_root "$ROOT" -g "https://[::1]:$SERVER_PORT/"
		stop_server "$SERVER_PID"
	else
		fail "s_server with ::1 did not start"
	fi
else
	skip_part "IPv6: cannot bind ::1 on this machine"
fi

# ---- .local name
assert_ok "issue printer.local" "$MOAT" issue printer.local
if serve "$LIVE/printer.local" 127.0.0.1; then
	pass "s_server up for printer.local on 127.0.0.1:$SERVER_PORT"
	assert_ok "curl https://printer.local:PORT/ with only root.pem" \
		curl_root "$ROOT" --resolve "printer.local:$SERVER_PORT:127.0.0.1" \
		"https://printer.local:$SERVER_PORT/"
	stop_server "$SERVER_PID"
else
	fail "s_server with printer.local did not start"
fi

# ---- an RSA leaf and a wildcard, for good measure
assert_ok "issue *.apps.example.test --key-type rsa-2048" "$MOAT" issue '*.apps.example.test' --key-type rsa-2048
if serve "$LIVE/_wildcard.apps.example.test" 127.0.0.1; then
	pass "s_server up for *.apps.example.test"
	assert_ok "curl https://grafana.apps.example.test:PORT/ (wildcard, RSA)" \
		curl_root "$ROOT" --resolve "grafana.apps.example.test:$SERVER_PORT:127.0.0.1" \
		"https://grafana.apps.example.test:$SERVER_PORT/"
	stop_server "$SERVER_PID"
else
	fail "s_server with *.apps.example.test did not start"
fi

# ---- leaf only, no intermediate in the handshake: strict clients refuse
if serve "$LIVE/svc.example.test" 127.0.0.1 leaf-only; then
	pass "s_server up for svc.example.test without the intermediate"
	run curl_root "$ROOT" --resolve "svc.example.test:$SERVER_PORT:127.0.0.1" \
		"https://svc.example.test:$SERVER_PORT/"
	assert_rc 60 "curl fails with exit 60 when the server does not send the intermediate"
	assert_match "$ERR" "certificate|verify" "and the error is a verification error"
	stop_server "$SERVER_PID"
else
	fail "leaf-only s_server did not start"
fi

# ---- fullchain.pem alone is enough for a server that takes a chain file
if start_s_server 127.0.0.1 "$T/s_server-fullchain.log" \
	-cert "$LIVE/svc.example.test/fullchain.pem" -key "$LIVE/svc.example.test/privkey.pem" \
	-cert_chain "$LIVE/svc.example.test/fullchain.pem"; then
	pass "s_server up with fullchain.pem as cert and chain"
	assert_ok "curl with only root.pem against fullchain.pem" \
		curl_root "$ROOT" --resolve "svc.example.test:$SERVER_PORT:127.0.0.1" \
		"https://svc.example.test:$SERVER_PORT/"
	stop_server "$SERVER_PID"
else
	fail "s_server with fullchain.pem did not start"
fi

finish
