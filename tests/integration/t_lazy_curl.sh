#!/usr/bin/env bash
# t_lazy_curl: moat loads libcurl only for a command that makes an HTTP
# request (issue 16, item 4).  The binary does not name libcurl as a needed
# library; the dynamic loader's own log (LD_DEBUG=libs, one file per
# process) shows that `moat --version`, `moat ca init`, `moat issue` and
# `moat serve --local` (no OCSP, no ACME; also its /proc/PID/maps while it
# serves) never initialise libcurl, while `moat check` and the ACME client
# do, and still work: the check reads the server's HTTP answer (its no-hsts
# finding), the ACME client gets a certificate from pebble.  Without a
# usable libcurl.so.4 (an empty file first on LD_LIBRARY_PATH), moat issue
# still works and moat check fails with one clear error and a hint.
#
# Each "not loaded" check is guarded by the same log showing libcrypto's
# initialisation, so that a log that is missing cannot pass for one
# without libcurl.  Run against a moat linked with libcurl (before issue
# 16), this script fails.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_acme.sh"
. "$(dirname "$0")/lib_serve.sh"

serve_need_tools
command -v readelf >/dev/null 2>&1 || skip_test "readelf is not installed (binutils)"

# traced NAME ARGS...: run moat ARGS with the loader's log in $T/ld-NAME.PID.
traced() {
	local name=$1
	shift
	run env LD_DEBUG=libs LD_DEBUG_OUTPUT="$T/ld-$name" "$MOAT" "$@"
}

# inits NAME LIB: how many times NAME's processes initialised LIB (a file
# name pattern, e.g. libcurl).
inits() {
	cat "$T/ld-$1".* 2>/dev/null | grep -cE "calling init: [^ ]*/$2\\.so" || true
}

# no_curl NAME WHAT: NAME's log exists (libcrypto initialised) and shows no
# libcurl.
no_curl() {
	assert_int_between "$(inits "$1" libcrypto)" 1 99 "$2: the loader's log is there (libcrypto)"
	assert_eq "$(inits "$1" libcurl)" 0 "$2: libcurl is not loaded"
}

# ---- the binary
run readelf -d "$MOAT"
assert_contains "$OUT" "libssl.so" "readelf lists moat's needed libraries (libssl)"
assert_not_contains "$OUT" "libcurl" "moat does not link libcurl (no NEEDED entry)"

# ---- commands without HTTP
traced version --version
assert_rc 0 "moat --version"
no_curl version "moat --version"

traced ca-init ca init --no-passphrase --name "Lazy Test CA"
assert_rc 0 "moat ca init"
no_curl ca-init "moat ca init"

traced issue issue localhost
assert_rc 0 "moat issue localhost"
assert_file "$MOAT_HOME/live/localhost/cert.pem" "  ... the certificate is there"
no_curl issue "moat issue"

# ---- moat serve --local: private CA, no OCSP, no ACME
need_upstream chat
cat >"$T/moat-traced" <<EOF
#!/bin/sh
exec env LD_DEBUG=libs LD_DEBUG_OUTPUT="$T/ld-serve" "$MOAT" "\$@"
EOF
chmod +x "$T/moat-traced"
SV_WORKERS=1
if MOAT=$T/moat-traced serve_start --local "chat.localhost=http://127.0.0.1:${UP_PORT[chat]}"; then
	pass "moat serve --local started"
	run scurl -o /dev/null -w '%{http_code}' "$(surl /hello)"
	assert_eq "$OUT" 200 "  ... answers through the proxy"
	maps=$(cat "/proc/$SV_PID/maps" 2>/dev/null)
	assert_contains "$maps" "libssl.so" "  ... its /proc/PID/maps lists its libraries (libssl)"
	assert_not_contains "$maps" "libcurl" "  ... and no libcurl while it serves"
	serve_stop "$SV_PID"
	assert_eq "$SV_RC" 0 "  ... exits 0 on SIGTERM"
	no_curl serve "moat serve --local"
else
	fail "moat serve --local started"
fi

# ---- moat check: loads libcurl, and its HTTP request works
ROOT=$MOAT_HOME/ca/root.pem
LIVE=$MOAT_HOME/live/localhost
if start_s_server 127.0.0.1 "$T/s_server.log" -cert "$LIVE/cert.pem" -cert_chain "$LIVE/chain.pem" \
	-key "$LIVE/privkey.pem"; then
	CHECK=(check "https://localhost:$SERVER_PORT/" --connect-to 127.0.0.1 --ca "$ROOT")
	traced check "${CHECK[@]}" --json
	assert_rc 0 "moat check against openssl s_server"
	codes=$(json_get '" ".join(f["code"] for f in d["targets"][0]["findings"])' <"$OUT_F")
	assert_contains "$codes" "trusted" "  ... the chain is trusted"
	assert_contains "$codes" "no-hsts" "  ... and the HTTPS GET through libcurl was answered (no-hsts)"
	assert_int_between "$(inits check libcurl)" 1 1 "  ... libcurl is loaded, once"

	# Without a usable libcurl: the commands that need none still work.
	mkdir -p "$T/nolib"
	: >"$T/nolib/libcurl.so.4"
	run env LD_LIBRARY_PATH="$T/nolib" "$MOAT" issue nolib.localhost
	assert_rc 0 "no usable libcurl.so.4: moat issue still works"
	run env LD_LIBRARY_PATH="$T/nolib" "$MOAT" "${CHECK[@]}" --no-http --no-revocation
	assert_rc 0 "  ... so does moat check --no-http --no-revocation"
	run env LD_LIBRARY_PATH="$T/nolib" "$MOAT" "${CHECK[@]}"
	assert_error_shape "  ... moat check fails with one error line"
	assert_contains "$ERR" "moat: error: cannot load libcurl (libcurl.so.4): " "  ... that says why"
	assert_contains "$ERR" "hint: install libcurl4 (apt-get install libcurl4)" "  ... and what to do"
else
	fail "openssl s_server started (moat check not tried)"
fi

# ---- the ACME client: loads libcurl, gets a certificate
if ! acme_have_pebble; then
	skip_part "pebble is not installed: the ACME client not tried"
elif start_challtestsrv && start_pebble; then
	S=(--server "$ACME_DIRECTORY" --ca-bundle "$ACME_CA_BUNDLE")
	traced acme-register acme register --email t@example.test --agree-tos "${S[@]}"
	assert_rc 0 "moat acme register at pebble"
	assert_int_between "$(inits acme-register libcurl)" 1 1 "  ... libcurl is loaded"
	traced acme-issue acme issue lazy.example.test "${S[@]}" --standalone \
		--http-port "$ACME_HTTP_PORT" --http-address 127.0.0.1
	assert_rc 0 "moat acme issue at pebble"
	assert_int_between "$(count_certs "$MOAT_HOME/live/lazy.example.test/fullchain.pem")" 2 9 \
		"  ... the certificate and its chain are there"
	assert_int_between "$(inits acme-issue libcurl)" 1 1 "  ... libcurl is loaded"
else
	fail "pebble and pebble-challtestsrv start"
fi

finish
