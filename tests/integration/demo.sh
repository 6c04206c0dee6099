#!/usr/bin/env bash
# demo.sh: moat's main job in one minute.
#
# An application that speaks only plain HTTP (a stand-in for Rocket.Chat on
# port 3000) gets HTTPS from `moat serve --local`: a private CA, a
# certificate for localhost and 127.0.0.1 issued and installed by the proxy
# itself, curl trusting nothing but the CA's root, port 80 redirecting to
# https, and `moat check` passing.  Everything happens on free loopback
# ports in a temporary directory that is removed at the end.
#
#   tests/integration/demo.sh          (MOAT=/path/to/moat to pick a binary)
#
# Exit status: 0 if curl trusted the proxy both by name and by address and
# moat check found nothing wrong.

set -u

ROOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MOAT=${MOAT:-${BUILD:-$ROOT_DIR/build}/moat}
if [ ! -x "$MOAT" ]; then
	echo "demo: no moat binary at $MOAT (build it with: meson setup build && ninja -C build)" >&2
	exit 1
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/moat-demo.XXXXXX")
SERVER_PID=''
APP_PID=''
# shellcheck disable=SC2317 # called from the trap
cleanup() {
	for pid in $SERVER_PID $APP_PID; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export MOAT_HOME=$WORK/moat
unset MOAT_CA_PASSPHRASE

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
[ -t 1 ] || say() { printf '\n%s\n' "$*"; }
show() {
	printf '$ %s\n' "$*"
	"$@"
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# wait_for PID FILE TEXT: until FILE contains TEXT (15 s), while PID lives.
wait_for() {
	for _ in $(seq 1 150); do
		kill -0 "$1" 2>/dev/null || return 1
		grep -q "$3" "$2" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

say "1. Create a private CA (a root and an intermediate) in a fresh MOAT_HOME."
echo "   (--no-passphrase keeps the demo non-interactive; normally the root key is encrypted.)"
show "$MOAT" ca init --no-passphrase --name "moat demo CA" || exit 1

say "2. Start an application that only speaks plain HTTP (like Rocket.Chat on :3000)."
python3 "$ROOT_DIR/tests/integration/upstream.py" --port 0 --ready-file "$WORK/app.port" \
	--name demo-app 2>"$WORK/app.log" &
APP_PID=$!
if ! wait_for "$APP_PID" "$WORK/app.port" '[0-9]'; then
	echo "demo: the application did not start:" >&2
	cat "$WORK/app.log" >&2
	exit 1
fi
APP=$(cat "$WORK/app.port")
echo "   listening on http://127.0.0.1:$APP (plain HTTP only)"

say "3. Put moat serve in front of it: HTTPS with a certificate from the private CA."
PORT=$(free_port)
HTTP_PORT=$(free_port)
printf '$ moat serve --local --https-port %s --http-port %s localhost,127.0.0.1=http://127.0.0.1:%s &\n' \
	"$PORT" "$HTTP_PORT" "$APP"
"$MOAT" serve --local --listen 127.0.0.1 --https-port "$PORT" --http-port "$HTTP_PORT" --workers 1 \
	"localhost,127.0.0.1=http://127.0.0.1:$APP" >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
if ! wait_for "$SERVER_PID" "$WORK/serve.log" 'ready'; then
	echo "demo: moat serve did not start:" >&2
	cat "$WORK/serve.log" >&2
	exit 1
fi
sed -e 's/^/   /' "$WORK/serve.log"

say "4. curl trusts only the root (--cacert root.pem): no warnings, no -k."
status=0
for url in "https://localhost:$PORT/hello" "https://127.0.0.1:$PORT/hello"; do
	printf '$ curl --cacert %s %s\n' "\$MOAT_HOME/ca/root.pem" "$url"
	# --resolve pins localhost to IPv4, where the proxy listens.
	if body=$(curl -sS --fail --max-time 20 --noproxy '*' --cacert "$MOAT_HOME/ca/root.pem" \
		--resolve "localhost:$PORT:127.0.0.1" "$url") && [ "$body" = "hello from upstream" ]; then
		echo "   $body"
		echo "   OK: $url is trusted and answered by the application"
	else
		echo "   FAILED: curl did not get the application through $url"
		status=1
	fi
done
printf '$ curl -I http://localhost:%s/hello\n' "$HTTP_PORT"
location=$(curl -sS --noproxy '*' --max-time 20 -o /dev/null -w '%{http_code} %{redirect_url}' \
	--resolve "localhost:$HTTP_PORT:127.0.0.1" "http://localhost:$HTTP_PORT/hello")
echo "   $location"
if [ "$location" = "308 https://localhost:$PORT/hello" ]; then
	echo "   OK: plain HTTP is redirected to https"
else
	echo "   FAILED: expected a 308 redirect to https://localhost:$PORT/hello"
	status=1
fi

say "5. moat check sees it the way a strict client does (chain, names, TLS, redirect)."
printf '$ moat check https://localhost:%s/ --ca %s --connect-to 127.0.0.1 --http-port %s\n' \
	"$PORT" "\$MOAT_HOME/ca/root.pem" "$HTTP_PORT"
if ! "$MOAT" check "https://localhost:$PORT/" --ca "$MOAT_HOME/ca/root.pem" --connect-to 127.0.0.1 \
	--http-port "$HTTP_PORT" | sed -e 's/^/   /'; then
	echo "   FAILED: moat check found an error"
	status=1
fi

say "6. Stop the proxy: it finishes running requests and exits."
kill -TERM "$SERVER_PID"
if wait "$SERVER_PID"; then
	echo "   moat serve stopped cleanly"
else
	echo "   FAILED: moat serve did not exit cleanly"
	status=1
fi
SERVER_PID=''

if [ "$status" -eq 0 ]; then
	say "Done: HTTPS your own devices trust, in front of a plain-HTTP app, in two commands."
	echo "To trust the CA on this computer: moat trust install; on phones: moat trust share"
else
	say "The demo failed."
fi
exit "$status"
