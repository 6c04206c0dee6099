#!/usr/bin/env bash
# t_acme_http01: moat's ACME client against pebble (Debian's ACME test CA):
# account registration, http-01 standalone and webroot, an IP identifier,
# reissue into a new archive version, nonce rejection, and the errors a
# user meets (no account, terms not accepted, unreachable or non-ACME
# server, untrusted TLS, failed validation) -- each one clear, exit 1, and
# the previous certificate left in place.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_acme.sh"

acme_have_pebble || skip_test "pebble is not installed (apt-get install pebble)"
start_challtestsrv || { fail "pebble-challtestsrv starts"; finish; }
# No reuse of earlier authorizations: every order is validated afresh, so
# that the failed-validation case below really fails.
start_pebble PEBBLE_AUTHZREUSE=0 || { fail "pebble starts"; finish; }
pass "pebble and pebble-challtestsrv are up"
pebble_roots "$T/roots.pem" || fail "pebble's roots can be downloaded"

S=(--server "$ACME_DIRECTORY" --ca-bundle "$ACME_CA_BUNDLE")
STANDALONE=(--standalone --http-port "$ACME_HTTP_PORT" --http-address 127.0.0.1)
LIVE=$MOAT_HOME/live

# verify_lineage NAME SAN...: the live certificate verifies against pebble's
# root with the intermediates of chain.pem, carries every SAN, and its key is
# privkey.pem.
verify_lineage() {
	local name=$1 dir=$LIVE/$1 san
	shift
	assert_ok "$name: fullchain verifies (openssl verify -x509_strict -purpose sslserver)" \
		openssl verify -x509_strict -purpose sslserver -CAfile "$T/roots.pem" \
		-untrusted "$dir/chain.pem" "$dir/cert.pem"
	assert_eq "$(count_certs "$dir/fullchain.pem")" "$(($(count_certs "$dir/chain.pem") + 1))" \
		"$name: fullchain.pem = cert + chain"
	run openssl x509 -in "$dir/cert.pem" -noout -ext subjectAltName
	for san in "$@"; do
		assert_contains "$OUT" "$san" "$name: subjectAltName has $san"
	done
	assert_eq "$(key_pubkey "$dir/privkey.pem")" "$(cert_pubkey "$dir/cert.pem")" \
		"$name: privkey.pem belongs to cert.pem"
	assert_mode "$(readlink -f "$dir/privkey.pem")" 600 "$name: the key file is 0600"
}

# ---- before registering: issue says how to register
moat acme issue a.example.test "${S[@]}" "${STANDALONE[@]}"
assert_error_shape "issue without an account"
assert_match "$ERR" "^hint: .*moat acme register" "  ... hint says to register"

# ---- terms of service must be accepted
moat acme register --email t@example.test "${S[@]}"
assert_error_shape "register without --agree-tos"
assert_contains "$ERR" "--agree-tos" "  ... the hint names --agree-tos"

# ---- register
assert_ok "register" "$MOAT" acme register --email t@example.test --agree-tos "${S[@]}"
assert_contains "$OUT" "Registered" "says it registered"
acct_dir=$(find "$MOAT_HOME/acme/accounts" -mindepth 1 -maxdepth 1 -type d | head -n 1)
assert_file "$acct_dir/account-key.pem" "account key written"
assert_mode "$acct_dir/account-key.pem" 600 "account key is 0600"
assert_match "$(cat "$acct_dir/account.json")" '"url": "https://127\.0\.0\.1:[0-9]+/' \
	"account.json holds the account URL"
moat acme register --email t@example.test --agree-tos "${S[@]}"
assert_error_shape "a second register without --force"

# ---- http-01 standalone, two names
assert_ok "issue a.example.test b.example.test (standalone)" \
	"$MOAT" acme issue a.example.test b.example.test "${S[@]}" "${STANDALONE[@]}"
verify_lineage a.example.test DNS:a.example.test DNS:b.example.test
assert_eq "$(readlink "$LIVE/a.example.test/cert.pem")" "../../archive/a.example.test/cert1.pem" \
	"live/ links to archive version 1"
assert_file "$MOAT_HOME/renewal/a.example.test.conf" "renewal configuration written"
assert_contains "$(cat "$MOAT_HOME/renewal/a.example.test.conf")" \
	"names = a.example.test,b.example.test" "  ... with the names"

# ---- again: a new version, the old one kept
first=$(cert_serial "$LIVE/a.example.test/cert.pem")
assert_ok "issue a.example.test again" \
	"$MOAT" acme issue a.example.test b.example.test "${S[@]}" "${STANDALONE[@]}" --json
assert_eq "$(json_get 'd["version"]' <"$OUT_F")" "2" "--json says version 2"
assert_eq "$(readlink "$LIVE/a.example.test/cert.pem")" "../../archive/a.example.test/cert2.pem" \
	"live/ links to version 2"
assert_ne "$(cert_serial "$LIVE/a.example.test/cert.pem")" "$first" "a new certificate"
assert_file "$MOAT_HOME/archive/a.example.test/cert1.pem" "version 1 is kept"
verify_lineage a.example.test DNS:a.example.test

# ---- an IP address identifier (RFC 8738)
assert_ok "issue 127.0.0.1 (IP identifier)" "$MOAT" acme issue 127.0.0.1 "${S[@]}" "${STANDALONE[@]}"
verify_lineage 127.0.0.1 "IP Address:127.0.0.1"

# ---- webroot, served by a web server we did not write
mkdir -p "$T/www"
(cd "$T/www" && exec python3 -m http.server --bind 127.0.0.1 "$ACME_HTTP_PORT") \
	>"$T/www.log" 2>&1 &
www_pid=$!
SERVER_PIDS+=("$www_pid")
if wait_port "$www_pid" 127.0.0.1 "$ACME_HTTP_PORT" 15; then
	assert_ok "issue w.example.test (webroot, python http.server)" \
		"$MOAT" acme issue w.example.test "${S[@]}" --webroot "$T/www"
	verify_lineage w.example.test DNS:w.example.test
	assert_eq "$(find "$T/www/.well-known/acme-challenge" -type f | wc -l)" "0" \
		"webroot: the challenge file was removed afterwards"
	assert_contains "$(cat "$T/www.log")" "/.well-known/acme-challenge/" \
		"webroot: pebble fetched the token from the web server"

	# A standalone server cannot take a port that is in use: clear error.
	moat acme issue x.example.test "${S[@]}" "${STANDALONE[@]}"
	assert_error_shape "standalone on a port in use"
	assert_contains "$ERR" "in use" "  ... says the port is in use"
else
	fail "python3 http.server starts on 127.0.0.1:$ACME_HTTP_PORT"
fi
stop_server "$www_pid"

# ---- manual http-01 through a hook that publishes into the web server's
# directory; moat checks the URL before it asks the CA
mkdir -p "$T/www2"
(cd "$T/www2" && exec python3 -m http.server --bind 127.0.0.1 "$ACME_HTTP_PORT") \
	>"$T/www2.log" 2>&1 &
www2_pid=$!
SERVER_PIDS+=("$www2_pid")
cat >"$T/publish.sh" <<'EOF'
#!/bin/sh
# publish.sh add|remove TOKEN CONTENT; BREAK=1 publishes the wrong content
d="$WWW/.well-known/acme-challenge"
case $1 in
add) mkdir -p "$d" && printf '%s\n' "${BREAK:+not }$3" >"$d/$2" ;;
remove) rm -f "$d/$2" ;;
esac
EOF
chmod +x "$T/publish.sh"
if wait_port "$www2_pid" 127.0.0.1 "$ACME_HTTP_PORT" 15; then
	export WWW=$T/www2
	assert_ok "manual http-01 with --manual-hook (IP identifier)" \
		"$MOAT" acme issue 127.0.0.1 "${S[@]}" --manual-hook "$T/publish.sh" \
		--http-port "$ACME_HTTP_PORT"
	verify_lineage 127.0.0.1 "IP Address:127.0.0.1"
	assert_eq "$(find "$T/www2/.well-known/acme-challenge" -type f | wc -l)" "0" \
		"the hook removed the file afterwards"
	# A fresh account: no earlier authorization of 127.0.0.1 that pebble
	# could reuse, so the order really needs the challenge.
	MOAT_HOME=$T/home-manual assert_ok "a second account" "$MOAT" acme register \
		--email t@example.test --agree-tos "${S[@]}"
	requests_before=$(grep -c 'GET /.well-known/acme-challenge/' "$T/www2.log")
	MOAT_HOME=$T/home-manual BREAK=1 run "$MOAT" acme issue 127.0.0.1 "${S[@]}" \
		--manual-hook "$T/publish.sh" --http-port "$ACME_HTTP_PORT"
	assert_error_shape "manual http-01 with the wrong file content"
	assert_contains "$ERR" "instead of the challenge content" "  ... moat's own check caught it"
	assert_contains "$ERR" "the CA was not asked to validate" "  ... before asking the CA"
	assert_eq "$(($(grep -c 'GET /.well-known/acme-challenge/' "$T/www2.log") - requests_before))" \
		"1" "  ... only moat fetched the URL (once), not the CA"
	MOAT_HOME=$T/home-manual run_notty "$MOAT" acme issue 127.0.0.1 "${S[@]}" --manual \
		--http-port "$ACME_HTTP_PORT"
	assert_error_shape "manual http-01 without a terminal"
	assert_contains "$ERR" "--manual-hook" "  ... hints at --manual-hook"
else
	fail "python3 http.server starts for the manual test"
fi
stop_server "$www2_pid"

# ---- failed validation: nobody answers on the port pebble checks
before=$(readlink "$LIVE/a.example.test/cert.pem")
other_port=$(free_port)
# (fail1 was never validated: pebble cannot reuse an earlier authorization)
moat acme issue a.example.test fail1.example.test "${S[@]}" --standalone \
	--http-port "$other_port" --http-address 127.0.0.1 --timeout 60
assert_error_shape "validation fails when nothing answers on the CA's port"
assert_contains "$ERR" "could not validate " "  ... says which name failed"
assert_eq "$(readlink "$LIVE/a.example.test/cert.pem")" "$before" "  ... the live certificate is unchanged"

# ---- server errors
moat acme issue z.example.test --server "https://127.0.0.1:$(free_port)/dir" \
	--ca-bundle "$ACME_CA_BUNDLE" "${STANDALONE[@]}"
assert_error_shape "unreachable ACME server"
moat acme issue z.example.test --server "${ACME_DIRECTORY%/dir}/nonexistent" \
	--ca-bundle "$ACME_CA_BUNDLE" "${STANDALONE[@]}"
assert_error_shape "a URL that is not an ACME directory"
moat acme register --email t@example.test --agree-tos --force --server "$ACME_DIRECTORY"
assert_error_shape "pebble's certificate without --ca-bundle"
assert_contains "$ERR" "--ca-bundle" "  ... hint names --ca-bundle"
moat acme issue z.example.test --server "http://127.0.0.1:1/dir" "${STANDALONE[@]}"
assert_error_shape "a plain http:// server URL"

# ---- nonce rejection: every other nonce is refused, issuance still works
start_pebble PEBBLE_WFE_NONCEREJECT=50 || fail "pebble restarts with PEBBLE_WFE_NONCEREJECT=50"
pebble_roots "$T/roots.pem"
assert_ok "register with PEBBLE_WFE_NONCEREJECT=50" \
	"$MOAT" acme register --email t@example.test --agree-tos --force \
	--server "$ACME_DIRECTORY" --ca-bundle "$ACME_CA_BUNDLE"
for i in 1 2 3; do
	assert_ok "issue n$i.example.test with PEBBLE_WFE_NONCEREJECT=50" \
		"$MOAT" acme issue "n$i.example.test" --server "$ACME_DIRECTORY" \
		--ca-bundle "$ACME_CA_BUNDLE" --standalone --http-port "$ACME_HTTP_PORT" \
		--http-address 127.0.0.1
	verify_lineage "n$i.example.test" "DNS:n$i.example.test"
done

# ---- chaos: pebble's own random validation delays (up to 15 s each) and
# its default nonce rejection; issuance still succeeds, polling waits them out
start_pebble PEBBLE_VA_NOSLEEP=0 PEBBLE_WFE_NONCEREJECT=5 || fail "pebble restarts with delays"
pebble_roots "$T/roots.pem"
assert_ok "register (pebble with random validation delays)" \
	"$MOAT" acme register --email t@example.test --agree-tos --force \
	--server "$ACME_DIRECTORY" --ca-bundle "$ACME_CA_BUNDLE"
assert_ok "issue slow.example.test with random validation delays" \
	"$MOAT" acme issue slow.example.test --server "$ACME_DIRECTORY" \
	--ca-bundle "$ACME_CA_BUNDLE" --standalone --http-port "$ACME_HTTP_PORT" \
	--http-address 127.0.0.1
verify_lineage slow.example.test DNS:slow.example.test

finish
