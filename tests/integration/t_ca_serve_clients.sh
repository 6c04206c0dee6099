#!/usr/bin/env bash
# t_ca_serve_clients: ACME clients no one here wrote get certificates from
# `moat ca serve` -- certbot (standalone http-01, then revocation: OCSP says
# revoked and the CRL lists it), lego (http-01, tls-alpn-01, dns-01 through
# pebble-challtestsrv's DNS), uacme (a hook and a webroot), dehydrated (a
# webroot), Caddy (acme_ca + acme_ca_root; curl then trusts its site with only
# the root) and moat's own `moat acme issue` -- and each certificate verifies
# against the moat root for its name.  Every name resolves to 127.0.0.1
# through challtestsrv (the server's --dns-resolver), and the server
# validates on the test ports (--http01-port, --tls-alpn-port).
#
# CA_SERVE_PEER=pebble runs every client flow against pebble instead, to
# prove the harness (revocation is then read from pebble's management API).
# A missing client fails (lib.sh's skip_part: a failure in CI).
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/lib_acme.sh"
. "$IT_DIR/lib_ca_serve.sh"

cs_require
cs_start || cs_finish
H01=$CS_HTTP01_PORT

# show_last_if_failed: the last command's output, if it failed.
show_last_if_failed() {
	if [ "$RC" -ne 0 ]; then
		show_last
	fi
}

# check_cert FULLCHAIN NAME [CHAIN]: verifies against the root for NAME
# (strict, serverAuth), and carries exactly that DNS name.
check_cert() {
	local full=$1 name=$2 chain=${3:-} got
	if [ ! -s "$full" ]; then
		fail "$name: certificate exists ($full)"
		return
	fi
	run verify_acme_cert "$full" "$CS_ROOT" "$name" "$chain"
	assert_rc 0 "$name: $(basename "$full") verifies against the $CS_PEER root (openssl verify)"
	got=$(openssl x509 -in "$full" -noout -ext subjectAltName 2>/dev/null |
		tr ',' '\n' | sed -n 's/^ *DNS://p' | paste -sd ' ')
	assert_eq "$got" "$name" "$name: its only DNS name"
	if [ "$CS_PEER" = moat ]; then
		assert_eq "$(openssl x509 -in "$full" -noout -issuer | sed 's/^issuer=//')" \
			"$(openssl x509 -in "$MOAT_HOME/ca/intermediate.pem" -noout -subject | sed 's/^subject=//')" \
			"$name: issued by the moat intermediate"
	fi
}

# ------------------------------------------------------------------ certbot

CB=$T/certbot
# shellcheck disable=SC2317 # (called through assert_ok)
cb() {
	env REQUESTS_CA_BUNDLE="$CS_CA_BUNDLE" certbot -n --server "$CS_DIRECTORY" \
		--config-dir "$CB/config" --work-dir "$CB/work" --logs-dir "$CB/logs" "$@"
}
if cs_have certbot; then
	assert_ok "certbot certonly --standalone (http-01 on 127.0.0.1:$H01)" \
		cb certonly --agree-tos --register-unsafely-without-email \
		--standalone --preferred-challenges http \
		--http-01-address 127.0.0.1 --http-01-port "$H01" -d c1.test
	[ "$RC" -eq 0 ] || sed -e 's/^/#   certbot log: /' "$CB/logs/letsencrypt.log" 2>/dev/null | tail -n 30
	live=$CB/config/live/c1.test
	check_cert "$live/fullchain.pem" c1.test "$live/chain.pem"
	assert_ok "certbot: the key matches the certificate" cmp \
		<(key_pubkey "$live/privkey.pem") <(cert_pubkey "$live/cert.pem")
	assert_eq "$(count_certs "$live/chain.pem")" 1 "certbot: the chain is the intermediate alone (no root)"
fi

cs_alive "$CS_PEER still running"

# --------------------------------------------------------------------- lego

LEGO_ARGS=()
lego_args() {
	LEGO_ARGS=(--server "$CS_DIRECTORY" --accept-tos --email lego@example.test --path "$1")
}
if cs_have lego; then
	export LEGO_CA_CERTIFICATES=$CS_CA_BUNDLE
	lego_args "$T/lego"
	assert_ok "lego: http-01 on 127.0.0.1:$H01" \
		lego "${LEGO_ARGS[@]}" -d c2.test --http --http.port "127.0.0.1:$H01" run
	show_last_if_failed
	check_cert "$T/lego/certificates/c2.test.crt" c2.test
	assert_ok "lego: tls-alpn-01 on 127.0.0.1:$CS_TLSALPN_PORT" \
		lego "${LEGO_ARGS[@]}" -d c2t.test --tls --tls.port "127.0.0.1:$CS_TLSALPN_PORT" run
	check_cert "$T/lego/certificates/c2t.test.crt" c2t.test
	# a .local name
	assert_ok "lego: http-01 for nas.local" \
		lego "${LEGO_ARGS[@]}" -d nas.local --http --http.port "127.0.0.1:$H01" run
	show_last_if_failed
	check_cert "$T/lego/certificates/nas.local.crt" nas.local
	# dns-01: lego's exec provider puts the TXT record into challtestsrv,
	# the server's resolver.
	cat >"$T/lego-dns.sh" <<HOOK
#!/bin/sh
# lego exec provider: present|cleanup FQDN VALUE
case \$1 in
present) curl -sS --fail --noproxy '*' -o /dev/null -H 'Content-Type: application/json' \\
	--data-binary "{\"host\": \"\$2\", \"value\": \"\$3\"}" $CHALL_MGMT_URL/set-txt ;;
cleanup) curl -sS --fail --noproxy '*' -o /dev/null -H 'Content-Type: application/json' \\
	--data-binary "{\"host\": \"\$2\"}" $CHALL_MGMT_URL/clear-txt ;;
esac
HOOK
	chmod 755 "$T/lego-dns.sh"
	# (--dns.disable-cp: lego's own propagation check asks for SOA and NS
	# records, which challtestsrv does not serve; the server checks the TXT.)
	assert_ok "lego: dns-01 for a wildcard (exec provider into challtestsrv)" \
		env EXEC_PATH="$T/lego-dns.sh" EXEC_PROPAGATION_TIMEOUT=30 EXEC_POLLING_INTERVAL=1 \
		lego "${LEGO_ARGS[@]}" -d '*.c2d.test' --dns exec \
		--dns.resolvers "127.0.0.1:$CHALL_DNS_PORT" --dns.disable-cp run
	show_last_if_failed
	f=$T/lego/certificates/_.c2d.test.crt
	if [ -s "$f" ]; then
		run verify_acme_cert "$f" "$CS_ROOT" x.c2d.test
		assert_rc 0 "lego dns-01: the wildcard verifies for x.c2d.test"
		run verify_acme_cert "$f" "$CS_ROOT" c2d.test
		assert_rc 2 "lego dns-01: but not for c2d.test (not asked for)"
	else
		fail "lego dns-01: certificate exists ($f)"
	fi
fi

cs_alive "$CS_PEER still running"

# ------------------------------------------------ uacme and dehydrated: webroot

WEB=$T/webroot
if start_webroot "$WEB" 127.0.0.1 "$H01"; then
	pass "webroot server on 127.0.0.1:$H01"
else
	fail "webroot server on 127.0.0.1:$H01 starts"
fi

if cs_have uacme; then
	ACME_CA_BUNDLE=$CS_CA_BUNDLE
	if acme_can_trust; then
		acme_uacme_hook "$T/uacme-hook.sh" "$WEB"
		assert_ok "uacme new" acme_trusting uacme -y -c "$T/uacme" -a "$CS_DIRECTORY" new
		assert_ok "uacme issue: http-01 through a hook and the webroot" \
			acme_trusting uacme -y -c "$T/uacme" -a "$CS_DIRECTORY" -t EC \
			-h "$T/uacme-hook.sh" issue c3.test
		show_last_if_failed
		check_cert "$T/uacme/c3.test/cert.pem" c3.test
	else
		skip_part "uacme part: cannot bind-mount a CA bundle in a mount namespace here (uacme 1.7.4 has no CA option)"
	fi
fi

cs_alive "$CS_PEER still running"

if cs_have dehydrated; then
	DH=$T/dehydrated
	mkdir -p "$DH" "$WEB/.well-known/acme-challenge"
	cat >"$DH/config" <<CONF
CA="$CS_DIRECTORY"
CHALLENGETYPE="http-01"
BASEDIR="$DH"
WELLKNOWN="$WEB/.well-known/acme-challenge"
KEY_ALGO=prime256v1
CONTACT_EMAIL="dehydrated@example.test"
CONF
	assert_ok "dehydrated --register --accept-terms" \
		env CURL_CA_BUNDLE="$CS_CA_BUNDLE" dehydrated -f "$DH/config" --register --accept-terms
	show_last_if_failed
	assert_ok "dehydrated -c -d c4.test: http-01 through the webroot" \
		env CURL_CA_BUNDLE="$CS_CA_BUNDLE" dehydrated -f "$DH/config" -c -d c4.test
	show_last_if_failed
	check_cert "$DH/certs/c4.test/fullchain.pem" c4.test "$DH/certs/c4.test/chain.pem"
fi
if [ -n "$WEBROOT_PID" ]; then
	# (the validations really went through the webroot; pebble fetches each
	# token three times)
	assert_int_between "$(grep -cE '"GET /\.well-known/acme-challenge/[A-Za-z0-9_-]+ HTTP/1\.[01]" 200' \
		"$ACME_DIR/webroot.$H01.log")" "$(($(command -v uacme >/dev/null && echo 1 || echo 0) + \
		$(command -v dehydrated >/dev/null && echo 1 || echo 0)))" 100 \
		"the $CS_PEER validation fetched the tokens from the webroot (uacme, dehydrated)"
fi
w=$WEBROOT_PID
stop_webroot
cs_forget "$w"

cs_alive "$CS_PEER still running"

# -------------------------------------------------------------------- Caddy

# shellcheck disable=SC2317 # (called through poll_pid)
caddy_get() {
	curl -sS --fail --max-time 5 --noproxy '*' --cacert "$CS_ROOT" --capath "$T/.empty-capath" \
		--resolve "c5.test:$CADDY_HTTPS:127.0.0.1" "https://c5.test:$CADDY_HTTPS/"
}
if cs_have caddy; then
	mkdir -p "$T/caddy" "$T/.empty-capath"
	CADDY_HTTPS=$(free_port)
	cat >"$T/caddy/Caddyfile" <<CONF
{
	admin off
	http_port $H01
	https_port $CADDY_HTTPS
	acme_ca $CS_DIRECTORY
	acme_ca_root $CS_CA_BUNDLE
	skip_install_trust
	storage file_system {
		root $T/caddy/data
	}
}

c5.test {
	bind 127.0.0.1
	tls {
		issuer acme {
			email caddy@example.test
			dir $CS_DIRECTORY
			trusted_roots $CS_CA_BUNDLE
			disable_tlsalpn_challenge
		}
	}
	respond "hello from caddy"
}
CONF
	env HOME="$T/caddy" XDG_DATA_HOME="$T/caddy/xdg-data" XDG_CONFIG_HOME="$T/caddy/xdg-config" \
		caddy run --config "$T/caddy/Caddyfile" --adapter caddyfile \
		</dev/null >"$T/caddy/log" 2>&1 &
	CADDY_PID=$!
	SERVER_PIDS+=("$CADDY_PID")
	if poll_pid "$CADDY_PID" 60 caddy_get; then
		pass "Caddy got a certificate (http-01 on 127.0.0.1:$H01) and serves c5.test"
		run caddy_get
		assert_eq "$OUT" "hello from caddy" "curl trusting only the $CS_PEER root gets Caddy's page"
		assert_contains "$(cat "$T/caddy/log")" '"challenge_type":"http-01"' "Caddy solved http-01"
		crt=$(find "$T/caddy/data" -name c5.test.crt | head -n 1)
		if [ -n "$crt" ]; then
			check_cert "$crt" c5.test
		else
			fail "Caddy stored its certificate under $T/caddy/data"
		fi
	else
		fail "Caddy gets a certificate and serves c5.test within 60 s"
		tail -n 25 "$T/caddy/log" | sed -e 's/^/#   caddy: /'
	fi
	stop_server "$CADDY_PID"
	cs_forget "$CADDY_PID"
fi

cs_alive "$CS_PEER still running"

# --------------------------------------------------------- moat acme issue

assert_ok "moat acme register" env MOAT_HOME="$T/client" "$MOAT" acme register \
	--email moat@example.test --agree-tos --server "$CS_DIRECTORY" --ca-bundle "$CS_CA_BUNDLE"
show_last_if_failed
assert_ok "moat acme issue --standalone (http-01 on 127.0.0.1:$H01)" \
	env MOAT_HOME="$T/client" "$MOAT" acme issue c6.test --server "$CS_DIRECTORY" \
	--ca-bundle "$CS_CA_BUNDLE" --standalone --http-port "$H01" --http-address 127.0.0.1
show_last_if_failed
check_cert "$T/client/live/c6.test/fullchain.pem" c6.test "$T/client/live/c6.test/chain.pem"

# An IP address (RFC 8738; lego 4.9 sends one as a "dns" identifier).
assert_ok "moat acme issue 127.0.0.1 (an ip identifier, http-01)" \
	env MOAT_HOME="$T/client" "$MOAT" acme issue 127.0.0.1 --server "$CS_DIRECTORY" \
	--ca-bundle "$CS_CA_BUNDLE" --standalone --http-port "$H01" --http-address 127.0.0.1
show_last_if_failed
ip=$T/client/live/127.0.0.1
assert_eq "$(openssl x509 -in "$ip/cert.pem" -noout -ext subjectAltName 2>/dev/null |
	sed -n 's/^ *//p' | tail -n 1)" "IP Address:127.0.0.1" "127.0.0.1: the certificate names the address, and only it"
assert_ok "127.0.0.1: verifies against the $CS_PEER root for the address (openssl verify -verify_ip)" \
	openssl verify -x509_strict -purpose sslserver -verify_ip 127.0.0.1 \
	-CAfile "$CS_ROOT" -untrusted "$ip/chain.pem" "$ip/cert.pem"

# Renewal by ARI (RFC 9773): not due at first; once the certificate is revoked
# behind moat's back (certbot, with the certificate's key), the server's
# renewal window is in the past and `moat acme renew` renews.  (pebble 2.4
# has no renewalInfo: moat only.)
if [ "$CS_PEER" = moat ] && [ -s "$T/client/live/c6.test/cert.pem" ]; then
	c6=$T/client/live/c6.test
	s0=$(cert_serial "$c6/cert.pem")
	assert_ok "moat acme renew c6.test (not due)" env MOAT_HOME="$T/client" "$MOAT" acme renew c6.test
	assert_contains "$OUT$ERR" "renewal window" "  ... the date comes from the server's renewal window"
	assert_eq "$(cert_serial "$c6/cert.pem")" "$s0" "  ... nothing renewed"
	if command -v certbot >/dev/null 2>&1; then
		assert_ok "certbot revoke --cert-path --key-path: c6.test revoked with its own key" \
			cb revoke --cert-path "$c6/cert.pem" --key-path "$c6/privkey.pem" \
			--reason superseded --no-delete-after-revoke
		show_last_if_failed
		assert_ok "moat acme renew c6.test (ARI: renew now)" \
			env MOAT_HOME="$T/client" "$MOAT" acme renew c6.test
		show_last_if_failed
		assert_ne "$(cert_serial "$c6/cert.pem")" "$s0" "  ... renewed: a new certificate"
		check_cert "$c6/fullchain.pem" c6.test "$c6/chain.pem"
	fi
fi

cs_alive "$CS_PEER still running after every client"

# ----------------------------------------- certbot revokes; OCSP and the CRL

if command -v certbot >/dev/null 2>&1 && [ -s "$CB/config/live/c1.test/cert.pem" ]; then
	live=$CB/config/live/c1.test
	serial=$(cert_serial "$live/cert.pem")
	assert_ok "certbot revoke --reason keycompromise" \
		cb revoke --cert-path "$live/cert.pem" --reason keycompromise --no-delete-after-revoke
	show_last_if_failed
	if [ "$CS_PEER" = pebble ]; then
		run curl -sS --fail --noproxy '*' --cacert "$ACME_CA_BUNDLE" \
			"$PEBBLE_MGMT/cert-status-by-serial/$serial"
		assert_eq "$(json_get 'd["Status"]' <<<"$OUT")" Revoked "pebble says c1.test ($serial) is revoked"
	else
		run curl -sS --fail --noproxy '*' --max-time 10 -o "$T/crl.der" "$CS_HTTP_URL/crl"
		assert_rc 0 "GET $CS_HTTP_URL/crl"
		run openssl crl -inform DER -in "$T/crl.der" -noout -text
		# $serial is cert_serial's: lower case, leading zeros dropped; so
		# are the CRL's serials here (openssl prints them with the zeros)
		assert_contains "$(tr '[:upper:]' '[:lower:]' <<<"$OUT" | tr -d ' ' |
			sed -e 's/^serialnumber:0*/serialnumber:/')" "serialnumber:$serial" \
			"the CRL lists c1.test's serial $serial"
		run openssl ocsp -issuer "$live/chain.pem" -cert "$live/cert.pem" \
			-url "$CS_HTTP_URL/ocsp" -CAfile "$CS_ROOT" -no_nonce
		assert_contains "$OUT" "$live/cert.pem: revoked" "openssl ocsp: c1.test is revoked"
		assert_contains "$OUT" "Reason: keyCompromise" "openssl ocsp: reason keyCompromise"
	fi
fi

# --------------------------------------- half of all good nonces refused

# The server restarted with --nonce-reject 50 (pebble: PEBBLE_WFE_NONCEREJECT);
# the clients retry on badNonce and still get their certificates.  (Not
# certbot: 2.1 retries a badNonce once only, so one request in four fails.)
if [ "$CS_PEER" = moat ]; then
	CS_SERVE_ARGS=(--nonce-reject 50)
	cs_restart
else
	w=$PEBBLE_PID
	stop_pebble
	cs_forget "$w"
	if PEBBLE_WANT_HTTP_PORT=$H01 start_pebble PEBBLE_WFE_NONCEREJECT=50 &&
		pebble_roots "$CS_ROOT"; then
		pass "pebble restarted rejecting 50% of nonces"
	else
		fail "pebble restarts rejecting 50% of nonces"
	fi
	CS_DIRECTORY=$ACME_DIRECTORY CS_PID=$PEBBLE_PID CS_LOG=$PEBBLE_LOG
	# (a new pebble knows no account)
	run env MOAT_HOME="$T/client" "$MOAT" acme register --force --email moat@example.test \
		--agree-tos --server "$CS_DIRECTORY" --ca-bundle "$CS_CA_BUNDLE"
fi
run /usr/bin/python3 "$IT_DIR/acme_probe.py" --directory "$CS_DIRECTORY" --ca-bundle "$CS_CA_BUNDLE" \
	--root "$CS_ROOT" --http01-port "$H01" --domain census.test --nonce-census 40
n_bad=$(sed -n 's/^census: \([0-9]*\) of 40 badNonce$/\1/p' "$OUT_F")
# (moat: a third, as a nonce from a badNonce answer is never refused)
assert_int_between "${n_bad:-x}" 5 30 "a share of 40 good nonces get badNonce ($n_bad)"
show_last_if_failed
if command -v lego >/dev/null 2>&1; then
	lego_args "$T/lego-nonce"
	assert_ok "lego: http-01 with 50% of nonces refused" \
		lego "${LEGO_ARGS[@]}" -d c7.test --http --http.port "127.0.0.1:$H01" run
	show_last_if_failed
	check_cert "$T/lego-nonce/certificates/c7.test.crt" c7.test
fi
assert_ok "moat acme issue: http-01 with 50% of nonces refused" \
	env MOAT_HOME="$T/client" "$MOAT" acme issue c9.test --server "$CS_DIRECTORY" \
	--ca-bundle "$CS_CA_BUNDLE" --standalone --http-port "$H01" --http-address 127.0.0.1
show_last_if_failed
check_cert "$T/client/live/c9.test/fullchain.pem" c9.test "$T/client/live/c9.test/chain.pem"

# ------------------------------------------- external account binding

# The server requires a binding (moat: --require-eab and `moat ca eab add`;
# pebble: externalAccountMACKeys); lego and certbot bind with a key each.
EAB_KIDS=() EAB_MACS=()
if [ "$CS_PEER" = moat ]; then
	CS_SERVE_ARGS=(--require-eab)
	cs_restart
	for who in lego certbot; do
		run "$MOAT" ca eab add "$who" --json
		assert_rc 0 "moat ca eab add $who"
		EAB_KIDS+=("$(json_get 'd["kid"]' <<<"$OUT")")
		EAB_MACS+=("$(json_get 'd["hmac_key"]' <<<"$OUT")")
	done
else
	EAB_KIDS=(kid-lego kid-certbot)
	EAB_MACS=("$(acme_eab_hmac)" "$(acme_eab_hmac)")
	w=$PEBBLE_PID
	stop_pebble
	cs_forget "$w"
	if PEBBLE_WANT_HTTP_PORT=$H01 PEBBLE_EAB_KEYS="${EAB_KIDS[0]}:${EAB_MACS[0]} ${EAB_KIDS[1]}:${EAB_MACS[1]}" \
		start_pebble && pebble_roots "$CS_ROOT"; then
		pass "pebble restarted requiring external account binding"
	else
		fail "pebble restarts requiring external account binding"
	fi
	CS_DIRECTORY=$ACME_DIRECTORY CS_PID=$PEBBLE_PID CS_LOG=$PEBBLE_LOG
fi
run curl -sS --fail --noproxy '*' --cacert "$CS_CA_BUNDLE" "$CS_DIRECTORY"
assert_eq "$(json_get 'd["meta"].get("externalAccountRequired")' <<<"$OUT")" true \
	"the directory says externalAccountRequired"
if command -v lego >/dev/null 2>&1; then
	lego_args "$T/lego-eab-none"
	assert_fails "lego: no account without a binding" \
		lego "${LEGO_ARGS[@]}" -d c10.test --http --http.port "127.0.0.1:$H01" run
	lego_args "$T/lego-eab"
	assert_ok "lego --eab: account bound, then http-01" \
		lego "${LEGO_ARGS[@]}" --eab --kid "${EAB_KIDS[0]}" --hmac "${EAB_MACS[0]}" \
		-d c10.test --http --http.port "127.0.0.1:$H01" run
	show_last_if_failed
	check_cert "$T/lego-eab/certificates/c10.test.crt" c10.test
fi
if command -v certbot >/dev/null 2>&1; then
	assert_ok "certbot --eab-kid --eab-hmac-key: account bound, then http-01" \
		env REQUESTS_CA_BUNDLE="$CS_CA_BUNDLE" certbot -n --server "$CS_DIRECTORY" \
		--config-dir "$CB/econfig" --work-dir "$CB/ework" --logs-dir "$CB/elogs" \
		certonly --agree-tos --register-unsafely-without-email \
		--eab-kid "${EAB_KIDS[1]}" --eab-hmac-key "${EAB_MACS[1]}" \
		--standalone --preferred-challenges http \
		--http-01-address 127.0.0.1 --http-01-port "$H01" -d c11.test
	show_last_if_failed
	check_cert "$CB/econfig/live/c11.test/fullchain.pem" c11.test "$CB/econfig/live/c11.test/chain.pem"
fi

cs_finish
