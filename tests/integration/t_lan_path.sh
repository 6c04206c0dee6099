#!/usr/bin/env bash
# t_lan_path: the LAN path of README -> private-ca.md -> trust.md -> serve.md,
# as the documents tell it, ending with a phone that reaches the app.
#
#   1. moat ca init with the name constraints private-ca.md recommends (the
#      .local names and the LAN's addresses; the root key encrypted, the
#      passphrase given once, as a user types it);
#   2. an app that speaks plain HTTP (upstream.py, as Rocket.Chat on :3000);
#   3. moat serve --local with a site named by the LAN address (and a
#      .local name), on unprivileged ports, issuing its own certificate;
#   4. moat trust share on the LAN address;
#   5. a "phone" (lan_phone.py) that knows only the share page's URL and
#      the fingerprint on the computer's screen: it follows the page's
#      Android link, compares the fingerprint, and with that root and
#      nothing else reaches the app over HTTPS at the IP address, by its
#      .local name, and over a WebSocket (Rocket.Chat's apps need one);
#      without the root (nothing trusted, or the system's CAs) it fails.
#
# "The LAN address" is 127.0.0.2 (another loopback address, so that the
# proxy, the share page and the app do not all sit on 127.0.0.1), or
# 127.0.0.1 where 127.0.0.2 cannot be bound.  The CA is limited to .local
# and 127.0.0.0/8 here as a home CA is to .local and 192.168.0.0/16.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_serve.sh"

serve_need_tools
PHONE=$IT_DIR/lan_phone.py

LAN_IP=127.0.0.2
if ! "$PY" -c 'import socket; socket.socket().bind(("127.0.0.2", 0))' 2>/dev/null; then
	LAN_IP=127.0.0.1
fi
note "the LAN address: $LAN_IP"
EMPTY=$T/.empty-capath

# ---------------------------------------------------------- 1. the CA
run_notty env MOAT_CA_PASSPHRASE='a long passphrase' "$MOAT" ca init --name "Home Lab CA" \
	--permit .local --permit 127.0.0.0/8
assert_rc 0 "moat ca init --name \"Home Lab CA\" --permit .local --permit 127.0.0.0/8"
if [ "$RC" -ne 0 ]; then
	finish
fi
ROOT=$MOAT_HOME/ca/root.pem
assert_contains "$(head -n 1 "$MOAT_HOME/ca/root-key.pem")" "ENCRYPTED" "the root key is encrypted"
NC=$(openssl x509 -in "$ROOT" -noout -ext nameConstraints 2>/dev/null)
assert_contains "$NC" "DNS:.local" "the root carries the name constraint .local"
assert_contains "$NC" "IP:127.0.0.0/255.0.0.0" "  ... and the LAN's addresses"
# What the constraints are for: the CA refuses anything else.
assert_fails "moat issue refuses a name outside the constraints (bank.example.com)" \
	"$MOAT" issue bank.example.com
ROOT_FP=$(openssl x509 -in "$ROOT" -noout -fingerprint -sha256 | sed -e 's/^.*=//')

# ---------------------------------------------------------- 2. the app
need_upstream app
APP=http://127.0.0.1:${UP_PORT[app]}

# ------------------------------------------- 3. moat serve at the LAN address
# As serve.md's LAN quick start: no passphrase needed (the intermediate key
# is not encrypted), ports a user may bind.
start_lan_serve() {
	SV_ADDR=$LAN_IP SV_NO_ADMIN=1 SV_WORKERS=2 serve_start --local "$LAN_IP,rocketchat.local=$APP"
}
if start_lan_serve; then
	pass "moat serve --local $LAN_IP,rocketchat.local=$APP"
else
	fail "moat serve --local $LAN_IP,rocketchat.local=$APP (cannot continue)"
	finish
fi
assert_match "$(cat "$SV_ERR")" "issued a certificate for $LAN_IP from the private CA" \
	"moat serve issued the site's certificate itself"
APP_URL=https://$LAN_IP:$SV_HTTPS

# ---------------------------------------------------- 4. moat trust share
SHARE_PID=''
SHARE_URL=''
start_share() {
	local attempt port
	for attempt in 1 2 3; do
		port=$(free_port "$LAN_IP") || return 1
		"$MOAT" trust share --listen "$LAN_IP:$port" --no-qr --timeout 300 \
			</dev/null >"$T/share.out" 2>"$T/share.err" &
		SHARE_PID=$!
		SERVER_PIDS+=("$SHARE_PID")
		if wait_port "$SHARE_PID" "$LAN_IP" "$port" 15 &&
			wait_grep "$SHARE_PID" "$T/share.err" 'Press Ctrl-C' 15; then
			SHARE_URL=$(head -n 1 "$T/share.out")
			return 0
		fi
		stop_server "$SHARE_PID"
		note "share attempt $attempt on $LAN_IP:$port failed:"
		sed -e 's/^/#   /' "$T/share.err" | tail -n 3
	done
	return 1
}
if start_share; then
	pass "moat trust share --listen $LAN_IP:PORT"
else
	fail "moat trust share (cannot continue)"
	finish
fi
assert_match "$SHARE_URL" "^http://$LAN_IP:[0-9]+/\$" "the share URL is on the LAN address (from --listen)"
# The fingerprint the user reads on the computer's screen.
SCREEN_FP=$(sed -n -E 's/^ *SHA-256 +([0-9A-F:]{95})$/\1/p' "$T/share.err" | head -n 1)
assert_eq "$SCREEN_FP" "$ROOT_FP" "moat trust share shows the root's SHA-256 fingerprint"

# ----------------------------------------------------------- 5. the phone
mkdir -p "$T/phone"
run "$PY" "$PHONE" root "$SHARE_URL" "$T/phone"
assert_rc 0 "the phone opens the share page and downloads the root from its Android link"
LINK=$(sed -n 's/^link //p' "$OUT_F")
assert_eq "${LINK#"$SHARE_URL"}" "moat-root.crt" "  ... the link is ${SHARE_URL}moat-root.crt"
assert_eq "$(sed -n 's/^type //p' "$OUT_F")" "application/x-x509-ca-cert" \
	"  ... served as application/x-x509-ca-cert (Android offers to install it)"
assert_eq "$(sed -n 's/^sha256 //p' "$OUT_F")" "$SCREEN_FP" \
	"  ... its fingerprint is the one on the computer's screen"
assert_eq "$(sed -n 's/^page-fp //p' "$OUT_F")" "$SCREEN_FP" \
	"  ... and the one the page shows"
openssl x509 -in "$ROOT" -outform DER -out "$T/root.der"
assert_same_file "$T/phone/root.der" "$T/root.der" "  ... it is the CA's root, byte for byte"
assert_eq "$(count_certs "$T/phone/root.pem")" 1 "  ... one certificate, nothing else"

# With only that root: the app at the IP address.
run "$PY" "$PHONE" get "$T/phone/root.pem" "$APP_URL/hello"
assert_rc 0 "the phone reaches $APP_URL/hello trusting only the downloaded root"
assert_eq "$OUT" "status 200
hello from upstream" "  ... and gets the app's answer"
run "$PY" "$PHONE" get "$T/phone/root.pem" "$APP_URL/headers"
assert_rc 0 "the phone asks $APP_URL/headers"
HDRS=$(sed -n '2,$p' "$OUT_F")
assert_eq "$(jget 'dict((k.lower(), v) for k, v in d["headers"]).get("x-forwarded-proto")' <<<"$HDRS")" \
	https "  ... the app sees X-Forwarded-Proto: https"
assert_eq "$(jget 'dict((k.lower(), v) for k, v in d["headers"]).get("host")' <<<"$HDRS")" \
	"$LAN_IP:$SV_HTTPS" "  ... and the Host the phone used"
# By its .local name (what mDNS resolves to the same address).
run "$PY" "$PHONE" get "$T/phone/root.pem" "$APP_URL/hello" --name rocketchat.local
assert_rc 0 "the phone reaches the app as https://rocketchat.local:$SV_HTTPS/"
assert_contains "$OUT" "hello from upstream" "  ... and gets the app's answer"
# Rocket.Chat's apps keep a WebSocket open.
run "$PY" "$PHONE" get "$T/phone/root.pem" "$APP_URL/ws" --ws
assert_rc 0 "the phone opens a WebSocket at $APP_URL/ws"
assert_eq "$OUT" "status 101
accept ok
echo hello over wss" "  ... upgraded (101), and a message comes back through moat"

# Without the root, a phone refuses the same server.
run "$PY" "$PHONE" get none "$APP_URL/hello"
assert_rc 2 "a phone that trusts nothing fails certificate verification"
run "$PY" "$PHONE" get system "$APP_URL/hello"
assert_rc 2 "a phone with only the system's CAs fails certificate verification"
assert_not_contains "$OUT" "hello from upstream" "  ... and never sees the app"
# With the root, but a name the certificate does not have.
run "$PY" "$PHONE" get "$T/phone/root.pem" "$APP_URL/hello" --name nas.local
assert_rc 2 "a name the certificate does not list (nas.local) fails verification"

# ---------------------------------- the same from a computer, as the docs say
# private-ca.md: export the root as PEM, then curl --cacert with that file.
run "$MOAT" trust export --format pem --out "$T/moat-root.pem"
assert_rc 0 "moat trust export --format pem --out moat-root.pem"
run curl -sS --fail --max-time 20 --noproxy '*' --cacert "$T/moat-root.pem" --capath "$EMPTY" \
	"$APP_URL/hello"
assert_rc 0 "curl --cacert moat-root.pem $APP_URL/hello"
assert_eq "$OUT" "hello from upstream" "  ... gets the app's answer"
run curl -sS --max-time 20 --noproxy '*' "$APP_URL/hello"
assert_rc 60 "curl with the system's CAs only: certificate problem (exit 60)"
# Plain http:// typed on the phone is sent to https (port 80's job).
run curl -sS --max-time 20 --noproxy '*' -o /dev/null -w '%{http_code} %{redirect_url}' \
	"http://$LAN_IP:$SV_HTTP/hello"
assert_eq "$OUT" "308 $APP_URL/hello" "http://$LAN_IP:$SV_HTTP/hello redirects to $APP_URL/hello"
# moat check, as a strict client, with only the root.
run "$MOAT" check "$APP_URL/" --ca "$T/phone/root.pem" --no-revocation --http-port "$SV_HTTP"
assert_rc 0 "moat check $APP_URL/ --ca moat-root.pem finds no error"

# ------------------------------------------------------------ stopping
kill -TERM "$SHARE_PID" 2>/dev/null
wait "$SHARE_PID"
assert_eq "$?" 0 "moat trust share exits 0 on SIGTERM"
serve_stop "$SV_PID"
assert_eq "$SV_RC" 0 "moat serve exits 0 on SIGTERM"
assert_no_sanitizer_report "$SV_ERR" "moat serve: no sanitizer report"
assert_no_sanitizer_report "$T/share.err" "moat trust share: no sanitizer report"

finish
