#!/usr/bin/env bash
# t_acme_peers: the ACME test harness (lib_acme.sh) works: pebble with
# challtestsrv as its DNS server issues real certificates to ACME clients we
# did not write -- lego (http-01, tls-alpn-01, external account binding, 50%
# of nonces rejected), certbot (standalone http-01) and uacme (http-01
# through a hook and a webroot) -- and each certificate verifies against
# pebble's root for its names.  Skipped (exit 77) without pebble; a missing
# client only skips its part.
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/lib_acme.sh"

acme_have_pebble || skip_test "pebble is not installed (Debian package: pebble)"

ROOTS=$T/roots.pem

# have TOOL: the client is installed; otherwise its part is skipped
# (lib.sh's skip_part: reported, and a failure in CI).
have() {
	if command -v "$1" >/dev/null 2>&1; then
		return 0
	fi
	skip_part "$1 part: $1 is not installed"
	return 1
}

# check_cert FULLCHAIN NAME... [-- CHAIN]: verifies against ROOTS for every
# NAME, and the certificate carries exactly these DNS names.
check_cert() {
	local full=$1 chain='' names=() n want got
	shift
	while [ "$#" -gt 0 ]; do
		if [ "$1" = -- ]; then
			chain=$2
			break
		fi
		names+=("$1")
		shift
	done
	if [ ! -s "$full" ]; then
		fail "certificate for ${names[*]} exists ($full)"
		return
	fi
	for n in "${names[@]}"; do
		run verify_acme_cert "$full" "$ROOTS" "$n" "$chain"
		assert_rc 0 "$(basename "$full"): verifies against pebble's root for $n"
	done
	want=$(printf '%s\n' "${names[@]}" | LC_ALL=C sort | paste -sd ' ')
	got=$(openssl x509 -in "$full" -noout -ext subjectAltName 2>/dev/null |
		tr ',' '\n' | sed -n 's/^ *DNS://p' | LC_ALL=C sort | paste -sd ' ')
	assert_eq "$got" "$want" "$(basename "$full"): its DNS names are exactly: $want"
}

# new_pebble [VAR=VALUE...]: (re)start pebble and fetch its root, or give up.
new_pebble() {
	if start_pebble "$@"; then
		pass "pebble $* up: $ACME_DIRECTORY (http-01 on $ACME_HTTP_PORT, tls-alpn-01 on $ACME_TLS_PORT)"
	else
		fail "pebble $* starts (cannot continue)"
		finish
	fi
	if pebble_roots "$ROOTS"; then
		pass "pebble's root from $PEBBLE_MGMT/roots/0"
	else
		fail "pebble's root from the management API (cannot continue)"
		finish
	fi
}

# --------------------------------------------------------------- the harness

if start_challtestsrv; then
	pass "challtestsrv up: DNS 127.0.0.1:$CHALL_DNS_PORT, management $CHALL_MGMT_URL"
else
	fail "challtestsrv starts (cannot continue)"
	finish
fi
assert_eq "$(acme_dns_query a.example.test A)" 127.0.0.1 "any name resolves to 127.0.0.1"
assert_fails "and to no IPv6 address" acme_dns_query a.example.test AAAA
assert_ok "chall_add_a" chall_add_a other.example.test 127.0.0.7
assert_eq "$(acme_dns_query other.example.test A)" 127.0.0.7 "chall_add_a: the name resolves to that address"
assert_ok "chall_set_txt" chall_set_txt _acme-challenge.a.example.test v1
assert_ok "chall_set_txt (a second value)" chall_set_txt _acme-challenge.a.example.test. v2
assert_eq "$(acme_dns_query _acme-challenge.a.example.test TXT | LC_ALL=C sort | paste -sd ' ')" "v1 v2" \
	"chall_set_txt: both TXT values are served"
assert_ok "chall_clear_txt" chall_clear_txt _acme-challenge.a.example.test
assert_fails "chall_clear_txt: no TXT record left" acme_dns_query _acme-challenge.a.example.test TXT
assert_ok "chall_clear_a" chall_clear_a other.example.test
assert_eq "$(acme_dns_query other.example.test A)" 127.0.0.1 "chall_clear_a: back to the default address"

new_pebble
run curl -sS --fail --noproxy '*' --cacert "$ACME_CA_BUNDLE" "$ACME_DIRECTORY"
assert_rc 0 "the directory is served over HTTPS trusting only ACME_CA_BUNDLE"
assert_contains "$OUT" '"newAccount"' "and it is an ACME directory"
run curl -sS --noproxy '*' -o /dev/null "$ACME_DIRECTORY"
assert_rc 60 "curl without ACME_CA_BUNDLE refuses pebble's listener"
assert_eq "$(count_certs "$ROOTS")" 1 "pebble_roots: one root"
assert_contains "$(openssl x509 -in "$ROOTS" -noout -subject)" "Pebble Root CA" "pebble_roots: it is pebble's root"
run pebble_intermediates "$T/intermediates.pem"
assert_rc 0 "pebble_intermediates"
assert_ok "the intermediate verifies against the root" \
	openssl verify -CAfile "$ROOTS" "$T/intermediates.pem"

# -------------------------------------------------------------------- lego

LEGO_ARGS=()
lego_args() { LEGO_ARGS=(--server "$ACME_DIRECTORY" --accept-tos --email lego@example.test --path "$1"); }
if have lego; then
	export LEGO_CA_CERTIFICATES=$ACME_CA_BUNDLE
	lego_args "$T/lego"
	assert_ok "lego: http-01, standalone on 127.0.0.1:ACME_HTTP_PORT" \
		lego "${LEGO_ARGS[@]}" -d a.example.test --http --http.port "127.0.0.1:$ACME_HTTP_PORT" run
	check_cert "$T/lego/certificates/a.example.test.crt" a.example.test
	assert_ok "lego: tls-alpn-01 on 127.0.0.1:ACME_TLS_PORT, two names" \
		lego "${LEGO_ARGS[@]}" -d t.example.test -d t2.example.test --tls --tls.port "127.0.0.1:$ACME_TLS_PORT" run
	check_cert "$T/lego/certificates/t.example.test.crt" t.example.test t2.example.test
	# The same, with a name that resolves to an address nobody listens on:
	# the validation must fail (proves pebble really connects).
	chall_add_a nowhere.example.test 127.0.0.3
	assert_fails "lego: http-01 fails when the name resolves elsewhere" \
		lego "${LEGO_ARGS[@]}" -d nowhere.example.test --http --http.port "127.0.0.1:$ACME_HTTP_PORT" run
	assert_contains "$ERR$OUT" "acme:error:connection" "  ... because pebble could not connect"
	assert_contains "$ERR$OUT" "127.0.0.3:$ACME_HTTP_PORT" "  ... to the address the name resolves to"
	assert_no_file "$T/lego/certificates/nowhere.example.test.crt" "and no certificate"
fi

# ----------------------------------------------------------------- certbot

if have certbot; then
	cb=$T/certbot
	assert_ok "certbot certonly --standalone: http-01 on 127.0.0.1:ACME_HTTP_PORT" \
		env REQUESTS_CA_BUNDLE="$ACME_CA_BUNDLE" certbot certonly -n --agree-tos \
		--register-unsafely-without-email --server "$ACME_DIRECTORY" \
		--config-dir "$cb/config" --work-dir "$cb/work" --logs-dir "$cb/logs" \
		--standalone --preferred-challenges http \
		--http-01-address 127.0.0.1 --http-01-port "$ACME_HTTP_PORT" \
		-d c.example.test -d www.c.example.test
	check_cert "$cb/config/live/c.example.test/fullchain.pem" c.example.test www.c.example.test \
		-- "$cb/config/live/c.example.test/chain.pem"
	assert_ok "certbot: the key matches the certificate" cmp \
		<(key_pubkey "$cb/config/live/c.example.test/privkey.pem") \
		<(cert_pubkey "$cb/config/live/c.example.test/cert.pem")
fi

# ------------------------------------------------------------------- uacme

if have uacme; then
	if acme_can_trust; then
		ua=$T/uacme
		acme_uacme_hook "$T/uacme-hook.sh" "$T/webroot"
		assert_ok "uacme new: account" acme_trusting uacme -y -c "$ua" -a "$ACME_DIRECTORY" new
		if start_webroot "$T/webroot"; then
			pass "webroot server on 127.0.0.1:$ACME_HTTP_PORT"
			assert_ok "uacme issue: http-01 through the hook and the webroot" \
				acme_trusting uacme -y -c "$ua" -a "$ACME_DIRECTORY" -t EC \
				-h "$T/uacme-hook.sh" issue u.example.test www.u.example.test
			check_cert "$ua/u.example.test/cert.pem" u.example.test www.u.example.test
			# (the tokens were there: pebble fetched them from the webroot)
			assert_match "$(cat "$ACME_DIR/webroot.$ACME_HTTP_PORT.log")" \
				'"GET /\.well-known/acme-challenge/[A-Za-z0-9_-]+ HTTP/1\.[01]" 200' \
				"pebble fetched uacme's tokens from the webroot"
			assert_eq "$(find "$T/webroot/.well-known/acme-challenge" -type f | wc -l)" 0 \
				"uacme's hook removed its tokens"
			stop_webroot
		else
			fail "webroot server starts"
		fi
	else
		skip_part "uacme part: cannot bind-mount a CA bundle in a mount namespace here (uacme 1.7.4 has no CA option)"
	fi
fi

# ------------------------------------------------- external account binding

if have lego; then
	KID=moat-kid-1
	HMAC=$(acme_eab_hmac)
	if start_pebble_eab "$KID" "$HMAC"; then
		pass "pebble with external account binding required"
		pebble_roots "$ROOTS" || fail "pebble's root (EAB)"
	else
		fail "pebble with external account binding starts"
	fi
	run curl -sS --fail --noproxy '*' --cacert "$ACME_CA_BUNDLE" "$ACME_DIRECTORY"
	assert_eq "$(json_get 'd["meta"].get("externalAccountRequired")' <<<"$OUT")" true \
		"the directory says externalAccountRequired"
	# (lego registers its account at the start of `run`; without --eab it
	# stops on that meta field, with a wrong key pebble refuses.)
	lego_args "$T/lego-eab-none"
	assert_fails "lego: no account without a binding" \
		lego "${LEGO_ARGS[@]}" -d e.example.test --http --http.port "127.0.0.1:$ACME_HTTP_PORT" run
	assert_contains_i "$ERR$OUT" "external account binding" "because the server requires a binding"
	lego_args "$T/lego-eab-bad"
	assert_fails "lego: a binding with a wrong MAC key is refused" \
		lego "${LEGO_ARGS[@]}" --eab --kid "$KID" --hmac "$(acme_eab_hmac)" \
		-d e.example.test --http --http.port "127.0.0.1:$ACME_HTTP_PORT" run
	assert_contains "$ERR$OUT" "unauthorized" "as unauthorized"
	lego_args "$T/lego-eab"
	assert_ok "lego: a binding with KID and HMAC: account, then http-01" \
		lego "${LEGO_ARGS[@]}" --eab --kid "$KID" --hmac "$HMAC" \
		-d e.example.test --http --http.port "127.0.0.1:$ACME_HTTP_PORT" run
	check_cert "$T/lego-eab/certificates/e.example.test.crt" e.example.test
	if command -v uacme >/dev/null 2>&1 && acme_can_trust; then
		assert_ok "uacme new -e KID:HMAC" \
			acme_trusting uacme -y -c "$T/uacme-eab" -a "$ACME_DIRECTORY" -e "$KID:$HMAC" new
	fi
fi

# ----------------------------------------------- half of all nonces refused

if have lego; then
	new_pebble PEBBLE_WFE_NONCEREJECT=50
	assert_contains "$(cat "$PEBBLE_LOG")" "reject 50% of good nonces" "pebble rejects 50% of nonces"
	lego_args "$T/lego-nonce"
	assert_ok "lego: http-01 with 50% of nonces rejected (badNonce retries)" \
		lego "${LEGO_ARGS[@]}" -d n.example.test -d n2.example.test \
		--http --http.port "127.0.0.1:$ACME_HTTP_PORT" run
	check_cert "$T/lego-nonce/certificates/n.example.test.crt" n.example.test n2.example.test
fi

finish
