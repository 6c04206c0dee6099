#!/usr/bin/env bash
# t_ca_serve_reject: `moat ca serve` keeps the RFC 8555 MUSTs that pebble and
# step-ca break.  acme_probe.py (a raw ACME client sending hand-made
# requests) checks nonces, strict JWS, accounts (another account's URL,
# deactivation, key rollover), orders (identifiers outside the CA's permits
# refused at newOrder, wildcards dns-01 only, IP identifiers, the orders
# list, a failed challenge), finalize (bad CSRs) and the happy path through
# revocation; every FAIL line fails this test.
#
# CA_SERVE_PEER=pebble runs the same probe against pebble to prove the
# checks can fail: then the test passes only if pebble fails exactly the
# checks listed in PEBBLE_KNOWN_FAILS below (pebble 2.4, Debian).
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/lib_acme.sh"
. "$IT_DIR/lib_ca_serve.sh"

DOMAIN=probe.test
OUTSIDE=outside.example
OUTSIDE_IP=192.0.2.1

# What pebble 2.4 does not do (RFC 8555 MUSTs and SHOULDs); see acme_probe.py.
PEBBLE_KNOWN_FAILS=(acct.deactivated_new_account acct.deactivated_no_order
	acct.deactivated_refused acct.key_change_to_used_key_409 acct.other_account_url
	acct.signer_unchanged acct.tos_not_agreed authz.deactivated_order_invalid
	finalize.csr_bad_signature finalize.csr_extra_ip
	finalize.csr_extra_name finalize.csr_other_name finalize.csr_p521
	finalize.csr_rsa1024 ident.double_dot
	ident.label_64 ident.leading_hyphen ident.too_many jws.alg_none jws.hs256
	jws.oversized_413 jws.url_mismatch no_5xx nonce.get nonce.head
	parse.chunked_body res.unknown_order)

cs_require
cs_start --permit "$DOMAIN" --permit 127.0.0.0/8 || cs_finish
if [ "$CS_PEER" = pebble ]; then
	OUTSIDE= # pebble has no permits
	OUTSIDE_IP=
fi

# probe [ARGS...]: acme_probe.py against the server
probe() {
	run /usr/bin/python3 "$IT_DIR/acme_probe.py" --directory "$CS_DIRECTORY" \
		--ca-bundle "$CS_CA_BUNDLE" --root "$CS_ROOT" --http01-port "$CS_HTTP01_PORT" \
		--domain "$DOMAIN" --outside-name "$OUTSIDE" --outside-ip "$OUTSIDE_IP" \
		--tls-alpn-port "$CS_TLSALPN_PORT" --ip 127.0.0.1 "$@"
}

probe
sed -e 's/^/# probe: /' "$OUT_F"
if [ -s "$ERR_F" ]; then
	sed -e 's/^/# probe stderr: /' "$ERR_F" | tail -n 20
fi
n_ok=$(grep -c '^ok ' "$OUT_F")
n_fail=$(grep -c '^FAIL ' "$OUT_F")
n_skip=$(grep -c '^skip ' "$OUT_F")
note "probe against $CS_PEER: $n_ok ok, $n_fail FAIL, $n_skip skip (exit $RC)"
assert_int_between "$n_ok" 80 1000 "the probe ran its checks (at least 80 passed)"
cs_alive "$CS_PEER still running after the probe"

if [ "$CS_PEER" = pebble ]; then
	# (the Retry-After checks: FAIL, or a skip when pebble happens to be done
	# before the first poll; race.*: pebble loses some races, not every time)
	got=$(sed -n 's/^FAIL \([^:]*\):.*/\1/p' "$OUT_F" |
		grep -v '^authz.retry_after_while_validating$\|^happy.retry_after_processing$\|^race\.' |
		LC_ALL=C sort | paste -sd ' ')
	assert_eq "$got" "${PEBBLE_KNOWN_FAILS[*]}" "pebble fails exactly the known checks"
else
	assert_eq "$n_fail" 0 "no FAIL line"
	assert_eq "$RC" 0 "the probe exits 0"
	# the skips moat may have: finalize may answer valid at once, and each
	# validation may be over before the first poll
	may_skip='^happy.retry_after_processing$\|^acct.tos_not_agreed$'
	may_skip+='\|^authz.retry_after_while_validating$'
	assert_eq "$(sed -n 's/^skip \([^:]*\):.*/\1/p' "$OUT_F" | grep -cv "$may_skip")" 0 \
		"no check skipped but the three that may not apply"
fi

# ------------------------------------------------ restarted in mid-order

# An account, a pending order and a request whose nonce was used; then a
# restart; then the used nonce is still refused, and the order completes.
# (pebble keeps nothing across a restart: only moat's run has this part.)
if [ "$CS_PEER" = moat ]; then
	probe --save "$T/restart.json"
	sed -e 's/^/# probe: /' "$OUT_F"
	assert_rc 0 "probe --save: account, order, a used nonce"
	cs_restart
	probe --resume "$T/restart.json"
	sed -e 's/^/# probe: /' "$OUT_F"
	assert_rc 0 "probe --resume: the used nonce is still refused, the order completes"
	assert_eq "$(grep -c '^ok restart\.' "$OUT_F")" 5 "  ... all 5 restart checks ran and passed"
fi

# --------------------------------------------------------- rate limits

# Restarted with 3 orders per account and 3 accounts per address an hour: the
# next one is 429 rateLimited with Retry-After.
if [ "$CS_PEER" = moat ]; then
	CS_SERVE_ARGS=(--rate-orders 3 --rate-accounts 3)
	cs_restart
	probe --only rate --rate-n 3
	sed -e 's/^/# probe: /' "$OUT_F"
	assert_eq "$RC" 0 "probe --only rate: no FAIL"
	assert_eq "$(grep -c '^ok rate\.' "$OUT_F")" 2 "  ... and both checks ran"
fi

# ------------------------------------------- external account binding

# Restarted with --require-eab, one key from `moat ca eab add`: accounts
# without a binding, with a wrong MAC, an unknown key id, a binding of another
# key or URL, alg none are refused; the right one binds once.
if [ "$CS_PEER" = moat ]; then
	CS_SERVE_ARGS=(--require-eab)
	cs_restart
	run "$MOAT" ca eab add probe --json
	assert_rc 0 "moat ca eab add probe --json"
	kid=$(json_get 'd["kid"]' <<<"$OUT")
	mac=$(json_get 'd["hmac_key"]' <<<"$OUT")
	probe --only eab --eab-kid "$kid" --eab-hmac "$mac"
	sed -e 's/^/# probe: /' "$OUT_F"
	assert_eq "$RC" 0 "probe --only eab: no FAIL"
	assert_int_between "$(grep -c '^ok eab\.' "$OUT_F")" 10 100 "  ... and its checks ran"
fi

cs_finish
