#!/usr/bin/env bash
# t_acme_script: moat's ACME client against a scripted server
# (acme_script.py) for what pebble 2.4 cannot play: a directory that is not
# JSON, an order answer that is not JSON, a truncated certificate download
# (the old certificate must stay in place), rateLimited with Retry-After,
# certificate profiles, and ACME Renewal Information (RFC 9773) deciding a
# renewal and being named in the new order ("replaces").
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_acme.sh"

# The script's HTTPS certificate and the certificates it hands out both come
# from a moat private CA.
export MOAT_HOME=$T/ca-home
assert_ok "a private CA for the scripted server" "$MOAT" ca init --no-passphrase
assert_ok "its TLS certificate" "$MOAT" issue 127.0.0.1
CA=$MOAT_HOME/ca
BUNDLE=$CA/root.pem
export MOAT_HOME=$T/home

# start_script MODE: the scripted server on a free port; sets SRV.
start_script() {
	acme_script_start "$1" "$T/ca-home" "$T/script.log" || return 1
	SRV=(--server "$ACME_SCRIPT_URL" --ca-bundle "$BUNDLE")
	SCRIPT_PID=$ACME_SCRIPT_PID
}

ISSUE=(acme issue script.example.test --standalone --http-address 127.0.0.1)

# ---- a directory that is not JSON
start_script garbage-dir || fail "scripted server starts"
moat acme register --email t@example.test --agree-tos "${SRV[@]}"
assert_error_shape "a directory that is not JSON"
assert_contains "$ERR" "not valid JSON" "  ... says it is not JSON"
assert_contains "$ERR" "hint: --server takes the directory URL" "  ... and what --server wants"
stop_server "$SCRIPT_PID"

# ---- a whole order
start_script ok || fail "scripted server starts"
assert_ok "register" "$MOAT" acme register --email t@example.test --agree-tos "${SRV[@]}"
assert_ok "issue" "$MOAT" "${ISSUE[@]}" --http-port "$(free_port)" "${SRV[@]}"
LIVE=$MOAT_HOME/live/script.example.test
assert_ok "the certificate verifies against the CA" \
	openssl verify -CAfile "$BUNDLE" -untrusted "$LIVE/chain.pem" "$LIVE/cert.pem"
first=$(readlink "$LIVE/cert.pem")
stop_server "$SCRIPT_PID"

# The scripted server's directory URL changes with its port, and the account
# is per server: keep the account across restarts by copying it.
copy_account() {
	local from
	from=$(find "$MOAT_HOME/acme/accounts" -mindepth 1 -maxdepth 1 -type d | head -n 1)
	mkdir -p "$MOAT_HOME/acme/accounts/127.0.0.1_$1"
	cp -p "$from"/account* "$MOAT_HOME/acme/accounts/127.0.0.1_$1/" 2>/dev/null
}
script_port() { echo "${SRV[1]}" | sed -E 's#https://127.0.0.1:([0-9]+)/dir#\1#'; }

# ---- a truncated certificate: error, old files intact
start_script truncated-cert || fail "scripted server starts"
copy_account "$(script_port)"
moat "${ISSUE[@]}" --http-port "$(free_port)" "${SRV[@]}" --force
assert_error_shape "a truncated certificate download"
assert_contains "$ERR" "unreadable" "  ... says the certificate is unreadable"
assert_eq "$(readlink "$LIVE/cert.pem")" "$first" "  ... the previous certificate stays in place"
assert_eq "$(leftover_tmp "$MOAT_HOME")" "" "  ... no temporary files"
stop_server "$SCRIPT_PID"

# ---- an order answer that is not JSON
start_script garbage-order || fail "scripted server starts"
copy_account "$(script_port)"
moat "${ISSUE[@]}" --http-port "$(free_port)" "${SRV[@]}"
assert_error_shape "an order answer that is not JSON"
stop_server "$SCRIPT_PID"

# ---- rateLimited: says when to come back
start_script ratelimit || fail "scripted server starts"
copy_account "$(script_port)"
moat "${ISSUE[@]}" --http-port "$(free_port)" "${SRV[@]}"
assert_error_shape "rate limited"
assert_contains "$ERR" "too many certificates already issued (rateLimited)" "  ... with the CA's words"
assert_contains "$ERR" "hint: rate limited: try again in 60 minutes" "  ... and when to retry"
stop_server "$SCRIPT_PID"

# ---- profiles
start_script profiles || fail "scripted server starts"
copy_account "$(script_port)"
assert_ok "issue --profile tlsserver" "$MOAT" "${ISSUE[@]}" --http-port "$(free_port)" "${SRV[@]}" \
	--profile tlsserver
assert_contains "$(grep '^POST /order' "$T/script.log")" '"profile": "tlsserver"' \
	"the order names the profile"
moat "${ISSUE[@]}" --http-port "$(free_port)" "${SRV[@]}" --profile nosuch
assert_error_shape "a profile the CA does not offer"
assert_contains "$ERR" "it offers: classic, tlsserver" "  ... lists the ones it offers"
stop_server "$SCRIPT_PID"
start_script ok || fail "scripted server starts"
copy_account "$(script_port)"
moat "${ISSUE[@]}" --http-port "$(free_port)" "${SRV[@]}" --profile tlsserver
assert_error_shape "--profile with a CA that has none"
stop_server "$SCRIPT_PID"

# ---- ARI: the CA's window says "now" for a certificate that is otherwise
# far from due; renew follows it and names the old certificate in the order
start_script ari || fail "scripted server starts"
copy_account "$(script_port)"
assert_ok "issue (ARI server)" "$MOAT" "${ISSUE[@]}" --http-port "$(free_port)" "${SRV[@]}" --force
before=$(readlink "$LIVE/cert.pem")
aki=$(openssl x509 -in "$LIVE/cert.pem" -noout -ext authorityKeyIdentifier |
	sed -n 's/^ *\(keyid:\)\{0,1\}\([0-9A-F:]\{20,\}\).*/\2/p' | tr -d ':')
serial=$(openssl x509 -in "$LIVE/cert.pem" -noout -serial | sed 's/^serial=//')
[ $((${#serial} % 2)) -eq 0 ] || serial=0$serial
case ${serial:0:1} in [89A-F]) serial=00$serial ;; esac
b64u() { python3 -c 'import base64, sys; print(base64.urlsafe_b64encode(bytes.fromhex(sys.stdin.read().strip())).decode().rstrip("="))'; }
certid="$(printf '%s' "$aki" | b64u).$(printf '%s' "$serial" | b64u)"
assert_ok "renew --all, no --force (the certificate is 90 days young)" "$MOAT" acme renew --all --json
assert_eq "$(json_get '[c for c in d["certificates"] if c["lineage"] == "script.example.test"][0]["status"]' <"$OUT_F")" \
	"renewed" "  ... renewed, because the CA's window has begun"
assert_contains "$(cat "$T/script.log")" "GET /renewal-info/$certid" \
	"  ... after asking for the certificate's renewal information by its RFC 9773 id"
assert_contains "$(grep '^POST /order' "$T/script.log" | tail -n 1)" "\"replaces\": \"$certid\"" \
	"  ... and the new order says which certificate it replaces"
assert_ne "$(readlink "$LIVE/cert.pem")" "$before" "  ... a new version is live"

finish
