#!/usr/bin/env bash
# demo.sh: moat's main job in one minute.
#
# Makes a private CA, issues a certificate for localhost and 127.0.0.1,
# serves it with `openssl s_server` on a free loopback port and lets curl
# check it trusting nothing but the CA's root.  Everything happens in a
# temporary directory that is removed at the end.
#
#   tests/integration/demo.sh          (MOAT=/path/to/moat to pick a binary)
#
# Exit status: 0 if curl trusted the server both by name and by address.

set -u

ROOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MOAT=${MOAT:-${BUILD:-$ROOT_DIR/build}/moat}
if [ ! -x "$MOAT" ]; then
	echo "demo: no moat binary at $MOAT (build it with: meson setup build && ninja -C build)" >&2
	exit 1
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/moat-demo.XXXXXX")
SERVER_PID=''
# shellcheck disable=SC2317 # called from the trap
cleanup() {
	if [ -n "$SERVER_PID" ]; then
		kill "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
	fi
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

say "1. Create a private CA (a root and an intermediate) in a fresh MOAT_HOME."
echo "   (--no-passphrase keeps the demo non-interactive; normally the root key is encrypted.)"
show "$MOAT" ca init --no-passphrase --name "moat demo CA" || exit 1

say "2. Issue a certificate for localhost and 127.0.0.1."
show "$MOAT" issue localhost 127.0.0.1 || exit 1
LIVE=$MOAT_HOME/live/localhost

say "3. What we got:"
show "$MOAT" inspect "$LIVE/fullchain.pem" || exit 1

say "4. Serve it with openssl s_server on a free port on the loopback interface."
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf '$ openssl s_server -accept 127.0.0.1:%s -www -cert cert.pem -key privkey.pem -cert_chain chain.pem &\n' "$PORT"
openssl s_server -accept "127.0.0.1:$PORT" -www -naccept 100 \
	-cert "$LIVE/cert.pem" -key "$LIVE/privkey.pem" -cert_chain "$LIVE/chain.pem" \
	</dev/null >"$WORK/s_server.log" 2>&1 &
SERVER_PID=$!
ready=''
for _ in $(seq 1 150); do
	kill -0 "$SERVER_PID" 2>/dev/null || break
	if python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.5).close()' \
		"$PORT" 2>/dev/null; then
		ready=1
		break
	fi
	sleep 0.1
done
if [ -z "$ready" ]; then
	echo "demo: openssl s_server did not start:" >&2
	cat "$WORK/s_server.log" >&2
	exit 1
fi
echo "   listening on 127.0.0.1:$PORT"

say "5. curl trusts only the root (--cacert root.pem): no warnings, no -k."
status=0
for url in "https://localhost:$PORT/" "https://127.0.0.1:$PORT/"; do
	printf '$ curl --cacert %s %s\n' "\$MOAT_HOME/ca/root.pem" "$url"
	# --resolve pins localhost to IPv4, where the server listens.
	if curl -sS --fail --max-time 20 --noproxy '*' --cacert "$MOAT_HOME/ca/root.pem" \
		--resolve "localhost:$PORT:127.0.0.1" -o /dev/null -w '   HTTP %{http_code}, certificate verify result %{ssl_verify_result} (0 = trusted)\n' \
		"$url"; then
		echo "   OK: $url is trusted"
	else
		echo "   FAILED: curl did not trust $url"
		status=1
	fi
done

say "6. moat check sees it the way a strict client does."
printf '$ moat check https://localhost:%s/ --ca %s --connect-to 127.0.0.1\n' "$PORT" "\$MOAT_HOME/ca/root.pem"
if ! "$MOAT" check "https://localhost:$PORT/" --ca "$MOAT_HOME/ca/root.pem" --connect-to 127.0.0.1 \
	--no-http | sed -e 's/^/   /'; then
	echo "   FAILED: moat check found an error"
	status=1
fi

if [ "$status" -eq 0 ]; then
	say "Done: a certificate your own devices trust, in two commands."
	echo "To trust the CA on this computer: moat trust install; on phones: moat trust share"
else
	say "The demo failed."
fi
exit "$status"
