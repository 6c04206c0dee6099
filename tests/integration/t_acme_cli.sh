#!/usr/bin/env bash
# t_acme_cli: the acme commands as issue 14 (items 5 and 6, and acme.md)
# found them, against pebble: the server of `acme register` is remembered
# for the later commands of the MOAT_HOME; `acme list` has the renewal date
# and names as a JSON array; `acme revoke --json`; a revoked certificate is
# listed as revoked and renewed at once; `acme renew --dry-run` rehearses a
# real order, due or not, writing nothing; the manual hook always gets
# `remove` after `add`; a port in use for --standalone offers --webroot; a
# CA's problem detail keeps its quotes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_acme.sh"

acme_have_pebble || skip_test "pebble is not installed (apt-get install pebble)"
start_challtestsrv || { fail "pebble-challtestsrv starts"; finish; }
# No nonce refused (pebble refuses 5% by default): below, the POSTs to
# new-order are counted, and a badNonce retry would count twice.
start_pebble PEBBLE_WFE_NONCEREJECT=0 || { fail "pebble starts"; finish; }
pass "pebble and pebble-challtestsrv are up"
unset MOAT_ACME_SERVER MOAT_CA_BUNDLE
LIVE=$MOAT_HOME/live
STANDALONE=(--standalone --http-port "$ACME_HTTP_PORT" --http-address 127.0.0.1)
# (given explicitly below the first section, so that each part tests its own item)
S=(--server "$ACME_DIRECTORY" --ca-bundle "$ACME_CA_BUNDLE")

# ---- register remembers the server (and its CA bundle) for this MOAT_HOME
assert_ok "register at pebble" "$MOAT" acme register --email t@example.test --agree-tos \
	--server "$ACME_DIRECTORY" --ca-bundle "$ACME_CA_BUNDLE"
assert_contains "$OUT" "now use this server" "  ... says later commands use this server"
assert_file "$MOAT_HOME/acme/default.conf" "  ... kept in acme/default.conf"
assert_ok "issue without --server: the remembered server" "$MOAT" acme issue \
	r.example.test "${STANDALONE[@]}"
assert_contains "$OUT" "from $ACME_DIRECTORY" "  ... the certificate comes from pebble"
assert_contains "$ERR" "ACME server $ACME_DIRECTORY (remembered" "  ... and says which server"
assert_contains "$(cat "$MOAT_HOME/renewal/r.example.test.conf" 2>&1)" "server = $ACME_DIRECTORY" \
	"  ... the renewal configuration has pebble"
rm -rf "$MOAT_HOME/renewal/r.example.test.conf" "$LIVE/r.example.test" "$MOAT_HOME/archive/r.example.test"
assert_ok "account without --server" "$MOAT" acme account
assert_contains "$OUT" "Account at $ACME_DIRECTORY" "  ... shows pebble's account"
run env MOAT_HOME="$T/other-home" "$MOAT" acme list --json
assert_eq "$(json_get 'd["default_server"]' <"$OUT_F")" "null" "another MOAT_HOME has no default"

# ---- acme list: the renewal date, names as an array
assert_ok "issue c1 and c2" "$MOAT" acme issue c1.example.test c2.example.test "${S[@]}" \
	"${STANDALONE[@]}"
assert_ok "acme list" "$MOAT" acme list
assert_match "$(head -n 1 <<<"$OUT")" "^LINEAGE +EXPIRES +DAYS LEFT +RENEWS +NAMES$" \
	"list: the header has the RENEWS column"
renew_from=$(awk '$1 == "c1.example.test" { print $4 }' <<<"$OUT")
assert_match "$renew_from" "^[0-9]{4}-[0-9]{2}-[0-9]{2}$" "list: c1 has a renewal date"
assert_ok "acme list --json" "$MOAT" acme list --json
assert_eq "$(json_get 'd["certificates"][0]["names"]' <"$OUT_F")" '["c1.example.test", "c2.example.test"]' \
	"list --json: names is an array"
assert_eq "$(json_get 'd["certificates"][0]["renew_from"]' <"$OUT_F")" "$renew_from" \
	"list --json: renew_from is the RENEWS date"
assert_eq "$(json_get 'd["certificates"][0]["revoked"]' <"$OUT_F")" false "list --json: not revoked"
assert_eq "$(json_get 'd["default_server"]' <"$OUT_F")" "$ACME_DIRECTORY" "list --json: the default server"

# ---- renew --dry-run alone rehearses (a real order), writing nothing
tree_sums "$MOAT_HOME/live" >"$T/live.before"
tree_sums "$MOAT_HOME/archive" >"$T/archive.before"
orders_before=$(grep -c 'POST /order-plz' "$PEBBLE_LOG")
assert_ok "renew --dry-run (not due)" "$MOAT" acme renew c1.example.test --dry-run
assert_contains "$OUT" "c1.example.test: dry run ok" "  ... rehearsed, not \"not due\""
assert_contains "$OUT" "$ACME_DIRECTORY" "  ... at the certificate's CA"
assert_int_between "$(($(grep -c 'POST /order-plz' "$PEBBLE_LOG") - orders_before))" 1 1 \
	"  ... with one real order at pebble"
tree_sums "$MOAT_HOME/live" >"$T/live.after"
tree_sums "$MOAT_HOME/archive" >"$T/archive.after"
assert_same_file "$T/live.before" "$T/live.after" "  ... nothing written to live/"
assert_same_file "$T/archive.before" "$T/archive.after" "  ... nor to archive/"
assert_ok "renew --all --dry-run --json" "$MOAT" acme renew --all --dry-run --json
assert_eq "$(json_get 'd["certificates"][0]["status"]' <"$OUT_F")" "dry run ok" "  ... JSON status"

# ---- revoke --json (the lineage's server), then it is revoked and renewed at once
serial=$(openssl x509 -in "$LIVE/c1.example.test/cert.pem" -noout -serial | sed 's/^serial=//')
assert_ok "revoke --json" "$MOAT" acme revoke c1.example.test --json
assert_json "  ... prints JSON"
assert_eq "$(json_get 'd["lineage"]' <"$OUT_F")" c1.example.test "  ... names the lineage"
assert_eq "$(norm_hex "$(json_get 'd["serial"]' <"$OUT_F")")" "$(norm_hex "$serial")" "  ... and the serial"
assert_eq "$(json_get 'd["server"]' <"$OUT_F")" "$ACME_DIRECTORY" "  ... and the server"
assert_ok "list after revoke" "$MOAT" acme list
assert_eq "$(awk '$1 == "c1.example.test" { print $4 }' <<<"$OUT")" revoked "  ... RENEWS says revoked"
run "$MOAT" acme list --json
assert_eq "$(json_get 'd["certificates"][0]["revoked"]' <"$OUT_F")" true "  ... list --json: revoked"
assert_ok "renew --all after revoke" "$MOAT" acme renew --all
assert_contains "$OUT" "c1.example.test: renewed (it was revoked)" "  ... the revoked certificate is renewed at once"
assert_not_contains "$OUT" "c1.example.test: not due" "  ... not \"not due\""
assert_eq "$(readlink "$LIVE/c1.example.test/cert.pem")" "../../archive/c1.example.test/cert2.pem" \
	"  ... version 2 is live"
run "$MOAT" acme list --json
assert_eq "$(json_get 'd["certificates"][0]["revoked"]' <"$OUT_F")" false "  ... and it is not revoked"
assert_ok "renew --all again" "$MOAT" acme renew --all
assert_contains "$OUT" "c1.example.test: not due" "  ... then it is not due"

# revoke by file: --json too, and the lineage is found by serial
assert_ok "revoke a certificate file --json" "$MOAT" acme revoke "$LIVE/c1.example.test/cert.pem" --json
assert_eq "$(json_get 'd["certificate"]' <"$OUT_F")" "$LIVE/c1.example.test/cert.pem" "  ... names the file"
run "$MOAT" acme list --json
assert_eq "$(json_get 'd["certificates"][0]["revoked"]' <"$OUT_F")" true "  ... its lineage is revoked"

# ---- the manual hook gets remove after add, whatever fails
cat >"$T/hook.sh" <<'EOF'
#!/bin/sh
echo "$1 $2" >>"$HOOK_LOG"
EOF
chmod +x "$T/hook.sh"
export HOOK_LOG=$T/hook.log
: >"$HOOK_LOG"
free=$(free_port)
# nothing serves the file: moat's own check fails before the CA is asked
moat acme issue 127.0.0.1 "${S[@]}" --manual-hook "$T/hook.sh" --http-port "$free"
assert_error_shape "manual hook: moat's pre-check fails"
assert_contains "$ERR" "the CA was not asked to validate" "  ... before the CA was asked"
assert_eq "$(cut -d' ' -f1 "$HOOK_LOG" | tr '\n' ' ')" "add remove " "  ... the hook got add, then remove"
assert_eq "$(cut -d' ' -f2 "$HOOK_LOG" | sort -u | wc -l)" 1 "  ... for the same token"
: >"$HOOK_LOG"
cat >"$T/hook-fail.sh" <<'EOF'
#!/bin/sh
echo "$1 $2" >>"$HOOK_LOG"
[ "$1" = remove ]
EOF
chmod +x "$T/hook-fail.sh"
moat acme issue 127.0.0.1 "${S[@]}" --manual-hook "$T/hook-fail.sh" --http-port "$free"
assert_error_shape "manual hook: add fails"
assert_eq "$(cut -d' ' -f1 "$HOOK_LOG" | tr '\n' ' ')" "add remove " "  ... remove still follows add"

# ---- --standalone on a port in use: the hint offers --webroot
mkdir -p "$T/www"
if start_webroot "$T/www"; then
	moat acme issue w.example.test "${S[@]}" "${STANDALONE[@]}"
	assert_error_shape "--standalone on a port a web server holds"
	assert_contains "$ERR" "already in use" "  ... says the port is in use"
	assert_contains "$ERR" "--webroot" "  ... and offers --webroot"
	assert_ok "  ... and --webroot works there" "$MOAT" acme issue w.example.test "${S[@]}" \
		--webroot "$T/www"
	stop_webroot
else
	fail "a web server on the challenge port"
fi

# ---- a CA's problem detail keeps its quotes (pebble: Get "http://...": dial ...)
moat acme issue q1.example.test "${S[@]}" --webroot "$T/www" --timeout 60
assert_error_shape "validation fails when nothing answers on port $ACME_HTTP_PORT"
assert_contains "$ERR" "could not validate q1.example.test" "  ... says which name"
assert_contains "$ERR" '"http://' "  ... quotes from the CA are shown as quotes"
assert_not_contains "$ERR" '\x22' "  ... not as \\x22"

finish
