#!/usr/bin/env bash
# t_acme_dns01: dns-01 against pebble, with a --dns-hook that manages TXT
# records through pebble-challtestsrv's API (standing in for a DNS
# provider's): a wildcard with its base name (two records at one name),
# moat waiting for the record to be visible before asking the CA, and the
# failures: a failing hook, a record that never appears, a wildcard without
# dns-01, manual mode without a terminal, an IP address.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_acme.sh"

acme_have_pebble || skip_test "pebble is not installed (apt-get install pebble)"
start_challtestsrv || { fail "pebble-challtestsrv starts"; finish; }
start_pebble PEBBLE_AUTHZREUSE=0 || { fail "pebble starts"; finish; }
pebble_roots "$T/roots.pem" || fail "pebble's roots can be downloaded"

S=(--server "$ACME_DIRECTORY" --ca-bundle "$ACME_CA_BUNDLE")
DNS=(--challenge dns-01 --dns-resolver "127.0.0.1:$CHALL_DNS_PORT")
LIVE=$MOAT_HOME/live
assert_ok "register" "$MOAT" acme register --email t@example.test --agree-tos "${S[@]}"

# The hook: `hook add|remove NAME VALUE`, recorded, and done through
# challtestsrv's management API.
export HOOK_LOG=$T/hook.log CHALL_MGMT_URL
chall_dns_hook "$T/hook.sh"

# ---- a wildcard and its base name: two TXT values at _acme-challenge.w.example.test
assert_ok "issue *.w.example.test w.example.test (dns-01 hook)" \
	"$MOAT" acme issue '*.w.example.test' w.example.test "${S[@]}" "${DNS[@]}" \
	--dns-hook "$T/hook.sh"
assert_ok "the wildcard certificate verifies for a name under it" \
	verify_acme_cert "$LIVE/_wildcard.w.example.test/fullchain.pem" "$T/roots.pem" x.w.example.test
run openssl x509 -in "$LIVE/_wildcard.w.example.test/cert.pem" -noout -ext subjectAltName
assert_contains "$OUT" "DNS:*.w.example.test" "SAN has the wildcard"
assert_contains "$OUT" "DNS:w.example.test" "SAN has the base name"
assert_eq "$(grep -c '^add _acme-challenge.w.example.test ' "$HOOK_LOG")" "2" \
	"the hook added two records at _acme-challenge.w.example.test"
assert_eq "$(grep -c '^remove _acme-challenge.w.example.test ' "$HOOK_LOG")" "2" \
	"  ... and removed them afterwards"
assert_contains "$(cat "$HOOK_LOG")" "env:add _acme-challenge.w.example.test *.w.example.test" \
	"the hook's environment has MOAT_DNS_ACTION, MOAT_DNS_NAME and MOAT_DOMAIN"
assert_eq "$(acme_dns_query _acme-challenge.w.example.test TXT 2>/dev/null)" "" \
	"no TXT record is left in DNS"
assert_contains "$(cat "$MOAT_HOME/renewal/_wildcard.w.example.test.conf")" "challenge = dns-01" \
	"the renewal configuration remembers dns-01"
assert_ok "renew --force of the wildcard (same hook, from the configuration)" \
	"$MOAT" acme renew _wildcard.w.example.test --force
assert_eq "$(readlink "$LIVE/_wildcard.w.example.test/cert.pem")" \
	"../../archive/_wildcard.w.example.test/cert2.pem" "  ... version 2"

# ---- failures
moat acme issue f.example.test "${S[@]}" "${DNS[@]}" --dns-hook "exit 3"
assert_error_shape "a dns hook that fails"
assert_contains "$ERR" "dns hook failed (exit status 3)" "  ... says the hook failed and how"
assert_no_file "$LIVE/f.example.test" "  ... no lineage"

moat acme issue g.example.test "${S[@]}" "${DNS[@]}" --dns-hook true --dns-wait 2
assert_error_shape "a record that never shows up"
assert_contains "$ERR" "did not show up in DNS within 2 seconds" "  ... says so"

# whatever fails, the hook gets remove after add (the order never reaches
# its cleanup for a challenge that failed before the CA was asked)
cat >"$T/log-hook.sh" <<'EOF2'
#!/bin/sh
echo "$1 $2" >>"$HOOK2_LOG"
[ "$1" = remove ] || [ -z "$FAIL_ADD" ]
EOF2
chmod +x "$T/log-hook.sh"
export HOOK2_LOG=$T/hook2.log
: >"$HOOK2_LOG"
moat acme issue g2.example.test "${S[@]}" "${DNS[@]}" --dns-hook "$T/log-hook.sh" --dns-wait 1
assert_error_shape "a hook whose record never shows up"
assert_eq "$(cut -d' ' -f1 "$HOOK2_LOG" | tr '\n' ' ')" "add remove " "  ... gets remove after add"
: >"$HOOK2_LOG"
FAIL_ADD=1 run "$MOAT" acme issue g3.example.test "${S[@]}" "${DNS[@]}" --dns-hook "$T/log-hook.sh"
assert_error_shape "a hook whose add fails"
assert_eq "$(cut -d' ' -f1 "$HOOK2_LOG" | tr '\n' ' ')" "add remove " "  ... gets remove after add too"

moat acme issue '*.h.example.test' "${S[@]}" --standalone --http-port "$ACME_HTTP_PORT"
assert_error_shape "a wildcard with http-01"
assert_contains "$ERR" "dns-01" "  ... points to dns-01"

run_notty "$MOAT" acme issue m.example.test "${S[@]}" --challenge dns-01 --manual
assert_error_shape "manual dns-01 without a terminal"
assert_contains "$ERR" "terminal" "  ... says it needs a terminal"

moat acme issue 127.0.0.1 "${S[@]}" "${DNS[@]}" --dns-hook "$T/hook.sh"
assert_error_shape "dns-01 for an IP address"

moat acme issue d.example.test "${S[@]}" --challenge dns-01
assert_rc 2 "dns-01 without --dns-hook or --manual is a usage error"

finish
