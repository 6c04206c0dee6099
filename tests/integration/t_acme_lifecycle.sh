#!/usr/bin/env bash
# t_acme_lifecycle: what happens to an ACME certificate after issue, against
# pebble: list, renew (not due / --force / --dry-run / --all), deploy hooks
# and their environment, revoke (pebble then refuses a second revocation),
# external account binding, and --preferred-chain with pebble's alternate
# roots.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_acme.sh"

acme_have_pebble || skip_test "pebble is not installed (apt-get install pebble)"
start_challtestsrv || { fail "pebble-challtestsrv starts"; finish; }
start_pebble PEBBLE_ALTERNATE_ROOTS=1 || { fail "pebble starts"; finish; }
pass "pebble (one alternate root) and pebble-challtestsrv are up"

srv() { printf '%s\n' --server "$ACME_DIRECTORY" --ca-bundle "$ACME_CA_BUNDLE"; }
mapfile -t S < <(srv)
STANDALONE=(--standalone --http-port "$ACME_HTTP_PORT" --http-address 127.0.0.1)
LIVE=$MOAT_HOME/live

assert_ok "register" "$MOAT" acme register --email t@example.test --agree-tos "${S[@]}"

# ---- issue with a deploy hook that records its environment
cat >"$T/hook.sh" <<'EOF'
#!/bin/sh
{
	echo "lineage=$MOAT_LINEAGE"
	echo "domains=$MOAT_DOMAINS"
	echo "fullchain=$MOAT_FULLCHAIN"
	echo "key=$MOAT_KEY"
	echo "renewed_lineage=$RENEWED_LINEAGE"
} >>"$HOOK_LOG"
EOF
chmod +x "$T/hook.sh"
export HOOK_LOG=$T/hook.log
assert_ok "issue with --deploy-hook" "$MOAT" acme issue r.example.test s.example.test "${S[@]}" \
	"${STANDALONE[@]}" --deploy-hook "$T/hook.sh"
assert_contains "$(cat "$HOOK_LOG")" "lineage=r.example.test" "the hook ran with MOAT_LINEAGE"
assert_contains "$(cat "$HOOK_LOG")" "domains=r.example.test s.example.test" "  ... MOAT_DOMAINS"
assert_contains "$(cat "$HOOK_LOG")" "fullchain=$LIVE/r.example.test/fullchain.pem" "  ... MOAT_FULLCHAIN"
assert_contains "$(cat "$HOOK_LOG")" "renewed_lineage=$LIVE/r.example.test" "  ... certbot's RENEWED_LINEAGE"
pebble_roots "$T/roots.pem"
assert_ok "fullchain verifies against pebble's roots" \
	verify_acme_cert "$LIVE/r.example.test/fullchain.pem" "$T/roots.pem" r.example.test

# ---- list
assert_ok "acme list" "$MOAT" acme list
assert_contains "$OUT" "r.example.test" "list shows the lineage"
assert_ok "acme list --json" "$MOAT" acme list --json
assert_eq "$(json_get 'd["certificates"][0]["names"]' <"$OUT_F")" '["r.example.test", "s.example.test"]' \
	"list --json has the names (an array, as in ca list --json)"
assert_int_between "$(json_get 'd["certificates"][0]["days_left"]' <"$OUT_F")" 1 2000 \
	"list --json has the days left (pebble issues for 5 years)"

# ---- renew: a fresh certificate is not due
: >"$HOOK_LOG"
assert_ok "renew --all (nothing due)" "$MOAT" acme renew --all
assert_contains "$OUT" "r.example.test: not due" "says it is not due"
assert_eq "$(readlink "$LIVE/r.example.test/cert.pem")" "../../archive/r.example.test/cert1.pem" \
	"still version 1"
assert_eq "$(cat "$HOOK_LOG")" "" "no hook when nothing was renewed"

# ---- --dry-run: the whole order, nothing written
assert_ok "renew --dry-run --force" "$MOAT" acme renew r.example.test --force --dry-run
assert_contains "$OUT" "dry run ok" "says the dry run worked"
assert_eq "$(readlink "$LIVE/r.example.test/cert.pem")" "../../archive/r.example.test/cert1.pem" \
	"dry run: still version 1"
assert_no_file "$MOAT_HOME/archive/r.example.test/cert2.pem" "dry run: no version 2"
assert_eq "$(cat "$HOOK_LOG")" "" "dry run: no hook"

# ---- --force: renewed, hook run again
old_serial=$(cert_serial "$LIVE/r.example.test/cert.pem")
assert_ok "renew --force" "$MOAT" acme renew r.example.test --force
assert_contains "$OUT" "r.example.test: renewed" "says renewed"
assert_eq "$(readlink "$LIVE/r.example.test/cert.pem")" "../../archive/r.example.test/cert2.pem" \
	"now version 2"
assert_ne "$(cert_serial "$LIVE/r.example.test/cert.pem")" "$old_serial" "a new certificate"
assert_contains "$(cat "$HOOK_LOG")" "lineage=r.example.test" "the hook ran after renewal"
assert_ok "renewed fullchain verifies" \
	verify_acme_cert "$LIVE/r.example.test/fullchain.pem" "$T/roots.pem" s.example.test

# ---- a failing hook makes renew fail (and says so), the certificate stays
assert_ok "issue h.example.test" "$MOAT" acme issue h.example.test "${S[@]}" "${STANDALONE[@]}"
moat acme renew h.example.test --force --deploy-hook "exit 3"
assert_rc 1 "renew with a failing deploy hook exits 1"
assert_contains "$ERR" "exit status 3" "  ... and reports the hook's exit status"
assert_eq "$(readlink "$LIVE/h.example.test/cert.pem")" "../../archive/h.example.test/cert2.pem" \
	"  ... the renewed certificate is in place"
moat acme renew no-such.example.test
assert_rc 1 "renew of an unknown lineage exits 1"

# ---- revoke by lineage name; pebble refuses to revoke it twice
assert_ok "revoke r.example.test" "$MOAT" acme revoke r.example.test --reason keyCompromise
assert_contains "$OUT" "Revoked" "says revoked"
moat acme revoke r.example.test
assert_error_shape "revoking again"
assert_contains "$ERR" "alreadyRevoked" "  ... pebble says it is already revoked"
assert_ok "revoke by certificate file" "$MOAT" acme revoke "$LIVE/h.example.test/cert.pem" "${S[@]}"

# ---- --preferred-chain: the alternate root's chain
alt_cn=$(openssl x509 -in <(curl -sS --cacert "$ACME_CA_BUNDLE" "$PEBBLE_MGMT/roots/1") -noout \
	-subject -nameopt multiline | sed -n 's/^ *commonName *= *//p')
assert_ne "$alt_cn" "" "pebble's alternate root has a name"
curl -sS --cacert "$ACME_CA_BUNDLE" "$PEBBLE_MGMT/roots/1" >"$T/alt-root.pem"
curl -sS --cacert "$ACME_CA_BUNDLE" "$PEBBLE_MGMT/roots/0" >"$T/main-root.pem"
assert_ok "issue with --preferred-chain \"$alt_cn\"" "$MOAT" acme issue p.example.test "${S[@]}" \
	"${STANDALONE[@]}" --preferred-chain "$alt_cn"
assert_ok "the chain leads to the alternate root" \
	verify_acme_cert "$LIVE/p.example.test/fullchain.pem" "$T/alt-root.pem" p.example.test
assert_fails "  ... not to the default root" \
	verify_acme_cert "$LIVE/p.example.test/fullchain.pem" "$T/main-root.pem" p.example.test
assert_ok "issue without --preferred-chain" "$MOAT" acme issue q.example.test "${S[@]}" \
	"${STANDALONE[@]}"
assert_ok "  ... leads to the default root" \
	verify_acme_cert "$LIVE/q.example.test/fullchain.pem" "$T/main-root.pem" q.example.test

# ---- the account: show, update, key rollover, deactivate
acct_dir=$(find "$MOAT_HOME/acme/accounts" -mindepth 1 -maxdepth 1 -type d | head -n 1)
assert_ok "account show" "$MOAT" acme account "${S[@]}"
assert_contains "$OUT" "status    valid" "  ... valid"
assert_contains "$OUT" "mailto:t@example.test" "  ... with its contact"
assert_ok "account update --email" "$MOAT" acme account update --email new@example.test \
	--email ops@example.test "${S[@]}"
assert_contains "$OUT" "mailto:new@example.test" "  ... the CA has the new contact"
assert_contains "$OUT" "mailto:ops@example.test" "  ... and the second one"
assert_ok "account show --json" "$MOAT" acme account show --json "${S[@]}"
assert_eq "$(json_get 'd["object"]["contact"][0]' <"$OUT_F")" "mailto:new@example.test" \
	"  ... --json has the contact"
old_pub=$(key_pubkey "$acct_dir/account-key.pem")
assert_ok "account rollover" "$MOAT" acme account rollover "${S[@]}"
new_pub=$(key_pubkey "$acct_dir/account-key.pem")
assert_contains "$new_pub" "BEGIN PUBLIC KEY" "  ... account-key.pem is a key"
assert_ne "$new_pub" "$old_pub" "  ... a new one"
assert_mode "$acct_dir/account-key.pem" 600 "  ... still 0600"
assert_no_file "$acct_dir/account-key.pem.next" "  ... no leftover"
assert_ok "issue with the rolled-over key" "$MOAT" acme issue k.example.test "${S[@]}" \
	"${STANDALONE[@]}"
moat acme account deactivate "${S[@]}"
assert_rc 2 "deactivate without --yes is a usage error"
assert_ok "account deactivate --yes" "$MOAT" acme account deactivate --yes "${S[@]}"
moat acme issue d.example.test "${S[@]}" "${STANDALONE[@]}"
assert_error_shape "issue on a deactivated account"

# ---- external account binding
kid=kid-moat-test
hmac=$(acme_eab_hmac)
start_pebble_eab "$kid" "$hmac" || fail "pebble starts with EAB required"
mapfile -t S < <(srv)
export MOAT_HOME=$T/home-eab
moat acme register --email t@example.test --agree-tos "${S[@]}"
assert_error_shape "register without EAB where it is required"
assert_contains "$ERR" "external account binding" "  ... says an external account binding is needed"
moat acme register --email t@example.test --agree-tos "${S[@]}" --eab-kid "$kid" \
	--eab-hmac-key "$(acme_eab_hmac)"
assert_error_shape "register with the wrong EAB key"
assert_ok "register with EAB" "$MOAT" acme register --email t@example.test --agree-tos "${S[@]}" \
	--eab-kid "$kid" --eab-hmac-key "$hmac"
assert_ok "issue on the EAB account" "$MOAT" acme issue e.example.test "${S[@]}" \
	--standalone --http-port "$ACME_HTTP_PORT" --http-address 127.0.0.1

# ---- account keys of the other JWS algorithms (RS256, ES384; ES256 is the
# default used above), on a pebble without EAB.  pebble, like Let's Encrypt,
# refuses EdDSA account keys: that must be a clear error with a way out.
start_pebble || fail "pebble restarts"
mapfile -t S < <(srv)
export MOAT_HOME=$T/home-ed25519
moat acme register --email t@example.test --agree-tos --key-type ed25519 "${S[@]}"
assert_error_shape "an ed25519 account key where the CA refuses EdDSA"
assert_contains "$ERR" "(badPublicKey)" "  ... says the CA refused the key"
assert_contains "$ERR" "hint: this CA does not accept that kind of account key" "  ... with a way out"
for kt in rsa-2048 ec-p384; do
	export MOAT_HOME=$T/home-$kt
	assert_ok "register with a $kt account key" "$MOAT" acme register --email t@example.test \
		--agree-tos --key-type "$kt" "${S[@]}"
	assert_ok "issue with the $kt account" "$MOAT" acme issue "k-$kt.example.test" "${S[@]}" \
		--standalone --http-port "$ACME_HTTP_PORT" --http-address 127.0.0.1 --key-type "$kt"
done

# ---- due by date: a certificate valid for 24 seconds is due two thirds into
# its lifetime (16 s); `renew --all` leaves it alone before and renews it
# after.  The "before" run must end before the due time -- 16 s leave room
# for a slow machine; if it does not, that is a failure (the check did not
# happen), not a skip.
VALIDITY=24
PEBBLE_CERT_VALIDITY=$VALIDITY start_pebble || fail "pebble restarts with $VALIDITY-second certificates"
mapfile -t S < <(srv)
export MOAT_HOME=$T/home-short
assert_ok "register (short-lived certificates)" "$MOAT" acme register --email t@example.test \
	--agree-tos "${S[@]}"
assert_ok "issue a $VALIDITY-second certificate" "$MOAT" acme issue short.example.test "${S[@]}" \
	--standalone --http-port "$ACME_HTTP_PORT" --http-address 127.0.0.1
cert=$MOAT_HOME/live/short.example.test/cert.pem
nb=$(date -d "$(openssl x509 -in "$cert" -noout -startdate | sed 's/^notBefore=//')" +%s)
na=$(date -d "$(openssl x509 -in "$cert" -noout -enddate | sed 's/^notAfter=//')" +%s)
due=$((nb + (na - nb) * 2 / 3))
assert_int_between "$((na - nb))" $((VALIDITY - 1)) "$VALIDITY" "pebble issued a $VALIDITY-second certificate"
assert_ok "renew --all before two thirds" "$MOAT" acme renew --all
ended=$(date +%s)
if [ "$ended" -lt "$due" ]; then
	assert_contains "$OUT" "short.example.test: not due" "  ... not due yet ($((due - ended)) s before the due time)"
else
	fail "  ... not due yet: renew --all ended $((ended - due)) s after the due time, the check could not be made"
fi
renewed=''
deadline=$(($(date +%s) + 30))
while [ "$(date +%s)" -lt "$deadline" ]; do
	run "$MOAT" acme renew --all
	if [[ $OUT == *"short.example.test: renewed"* ]]; then
		renewed=$(date +%s)
		break
	fi
	sleep 1 # waiting for the clock to reach the due time, not for a process
done
assert_ne "$renewed" "" "renew --all renews it once it is due"
assert_int_between "$renewed" "$due" "$((due + 30))" "  ... not before two thirds of its lifetime"

finish
