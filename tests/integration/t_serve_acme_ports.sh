#!/usr/bin/env bash
# t_serve_acme_ports: `acme-challenge-port` and `acme-tls-port` -- the ports
# where the ACME CA validates, apart from http-port and https-port (behind
# a port forward, say: the CA reaches 80 and 443, the proxy's listeners are
# elsewhere).  Against pebble (lib_acme.sh), which validates http-01 on
# ACME_HTTP_PORT and tls-alpn-01 on ACME_TLS_PORT:
#
#  - http-01 with `acme-challenge-port ACME_HTTP_PORT` and another
#    http-port: moat listens on the challenge port, pebble validates there
#    and the certificate is obtained and served on https-port; http-port
#    still redirects;
#  - tls-alpn-01 with `acme-tls-port ACME_TLS_PORT` and another https-port:
#    the same for the TLS port.
# shellcheck disable=SC2317 # helpers called through until_true
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_serve.sh"
. "$(dirname "$0")/lib_acme.sh"

serve_need_tools
acme_have_pebble || skip_test "pebble is not installed (apt-get install pebble)"
need_upstream A

start_challtestsrv || { fail "pebble-challtestsrv starts"; finish; }
start_pebble PEBBLE_AUTHZREUSE=0 || { fail "pebble starts"; finish; }
pebble_roots "$T/roots.pem" || fail "pebble's roots can be downloaded"
pass "pebble validates http-01 on $ACME_HTTP_PORT, tls-alpn-01 on $ACME_TLS_PORT"

# acme_https NAME: GET /hello through the proxy trusting only pebble's roots.
acme_https() {
	curl -sS --fail --max-time 10 --noproxy '*' --cacert "$T/roots.pem" --capath "$T/.empty-capath" \
		--resolve "$1:$SV_HTTPS:127.0.0.1" "https://$1:$SV_HTTPS/hello"
}
# outcome NAME: the log says the certificate came, or that it could not.
outcome_re() { printf '(new certificate for|cannot get a certificate for) %s[ :]' "${1//./\\.}"; }

# one_port LABEL CHALLENGE DIRECTIVE PORT NAME: moat serve with DIRECTIVE
# PORT (the port pebble validates on) and its listeners on other ports.
one_port() {
	local label=$1 challenge=$2 directive=$3 port=$4 name=$5
	printf '%s %s\nsite %s {\n\tupstream http://127.0.0.1:%s\n\tcert acme\n}\n' \
		"$directive" "$port" "$name" "${UP_PORT[A]}" >"$T/$label.conf"
	SV_NAMES=("$name")
	MOAT_HOME=$T/home-$label need_serve --config "$T/$label.conf" --server "$ACME_DIRECTORY" \
		--ca-bundle "$ACME_CA_BUNDLE" --email t@example.test --challenge "$challenge"
	assert_ne "$SV_HTTP $SV_HTTPS" "$SV_HTTP $port" "$label: http-port and https-port are not $port"
	if port_open 127.0.0.1 "$port"; then
		pass "$label: moat listens on $directive $port"
	else
		fail "$label: nothing listens on $directive $port"
	fi
	if wait_grep "$SV_PID" "$SV_ERR" "$(outcome_re "$name")" 90 &&
		grep -qE "new certificate for ${name//./\\.} " "$SV_ERR"; then
		pass "$label: the certificate for $name is obtained"
	else
		fail "$label: no certificate for $name: $(grep -m1 -E "cannot get a certificate for" "$SV_ERR" |
			sed -e 's/^.*cannot get/cannot get/' | cut -c1-300)"
	fi
	if until_true 10 acme_https "$name"; then
		pass "$label: https on https-port $SV_HTTPS with a certificate pebble's root trusts"
	else
		fail "$label: https://$name:$SV_HTTPS/ does not verify against pebble's root"
	fi
}

# ---- http-01 on acme-challenge-port
one_port http01 http-01 acme-challenge-port "$ACME_HTTP_PORT" http.example.test
assert_contains "$(cat "$PEBBLE_LOG")" \
	"validate w/ HTTP: http://http.example.test:$ACME_HTTP_PORT/.well-known/acme-challenge/" \
	"http01: pebble tried the challenge port (its log)"
run curl -sS --max-time 10 --noproxy '*' -o /dev/null -w '%{http_code} %{redirect_url}' \
	-H 'Host: http.example.test' "http://127.0.0.1:$SV_HTTP/x"
assert_eq "$OUT" "308 https://http.example.test:$SV_HTTPS/x" "http01: http-port $SV_HTTP still redirects"
serve_stop_checked "http01"

# ---- tls-alpn-01 on acme-tls-port
# (pebble logs its HTTP validations, not its TLS-ALPN ones: the
# certificate is the proof)
one_port alpn tls-alpn-01 acme-tls-port "$ACME_TLS_PORT" alpn.example.test
serve_stop_checked "alpn"

finish
