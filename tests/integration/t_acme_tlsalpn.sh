#!/usr/bin/env bash
# t_acme_tlsalpn: tls-alpn-01 (RFC 8737, RFC 8738 for IP addresses) with
# moat's standalone TLS responder against pebble: two DNS names, an IP
# identifier, the renewal configuration, the responder checked with
# `openssl s_client` (only ALPN acme-tls/1 and a registered SNI name get a
# handshake), and a failed validation on the wrong port.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_acme.sh"

acme_have_pebble || skip_test "pebble is not installed (apt-get install pebble)"
start_challtestsrv || { fail "pebble-challtestsrv starts"; finish; }
start_pebble PEBBLE_AUTHZREUSE=0 || { fail "pebble starts"; finish; }
pass "pebble and pebble-challtestsrv are up"
pebble_roots "$T/roots.pem" || fail "pebble's roots can be downloaded"

S=(--server "$ACME_DIRECTORY" --ca-bundle "$ACME_CA_BUNDLE")
TLS=(--challenge tls-alpn-01 --standalone --tls-port "$ACME_TLS_PORT" --http-address 127.0.0.1)
LIVE=$MOAT_HOME/live

assert_ok "register" "$MOAT" acme register --email t@example.test --agree-tos "${S[@]}"

# ---- usage errors
moat acme issue a.example.test "${S[@]}" --challenge tls-alpn-01 --webroot "$T"
assert_eq "$RC" "2" "tls-alpn-01 with --webroot is a usage error"
assert_contains "$ERR" "--standalone" "  ... it says --standalone"
moat acme issue a.example.test "${S[@]}" --standalone --tls-port 443
assert_eq "$RC" "2" "--tls-port without tls-alpn-01 is a usage error"

# ---- two DNS names
assert_ok "issue a.example.test b.example.test (tls-alpn-01)" \
	"$MOAT" acme issue a.example.test b.example.test "${S[@]}" "${TLS[@]}"
for n in a.example.test b.example.test; do
	assert_ok "a.example.test: certificate verifies for $n" \
		verify_acme_cert "$LIVE/a.example.test/fullchain.pem" "$T/roots.pem" "$n"
done
run openssl x509 -in "$LIVE/a.example.test/cert.pem" -noout -ext subjectAltName
assert_contains "$OUT" "DNS:a.example.test" "  ... SAN has a.example.test"
assert_contains "$OUT" "DNS:b.example.test" "  ... SAN has b.example.test"
conf=$(cat "$MOAT_HOME/renewal/a.example.test.conf")
assert_contains "$conf" "challenge = tls-alpn-01" "renewal configuration: the challenge"
assert_contains "$conf" "tls_port = $ACME_TLS_PORT" "renewal configuration: the port"

# ---- renewal repeats it from the configuration
assert_ok "renew --force a.example.test (tls-alpn-01 again)" \
	"$MOAT" acme renew a.example.test --force
assert_eq "$(readlink "$LIVE/a.example.test/cert.pem")" "../../archive/a.example.test/cert2.pem" \
	"  ... version 2"

# ---- an IP address identifier (RFC 8738: SNI 1.0.0.127.in-addr.arpa)
assert_ok "issue 127.0.0.1 (tls-alpn-01, IP identifier)" \
	"$MOAT" acme issue 127.0.0.1 "${S[@]}" "${TLS[@]}"
assert_ok "127.0.0.1: certificate verifies" \
	verify_acme_cert "$LIVE/127.0.0.1/fullchain.pem" "$T/roots.pem" 127.0.0.1
run openssl x509 -in "$LIVE/127.0.0.1/cert.pem" -noout -ext subjectAltName
assert_contains "$OUT" "IP Address:127.0.0.1" "  ... SAN has the IP address"

# ---- failed validation: nothing answers on the port pebble checks
before=$(readlink "$LIVE/a.example.test/cert.pem")
# (fail1 was never validated: pebble cannot reuse an earlier authorization)
moat acme issue a.example.test fail1.example.test "${S[@]}" --challenge tls-alpn-01 \
	--standalone --tls-port "$(free_port)" --http-address 127.0.0.1 --timeout 60
assert_error_shape "validation fails on the wrong --tls-port"
assert_contains "$ERR" "could not validate " "  ... says which name failed"
assert_eq "$(readlink "$LIVE/a.example.test/cert.pem")" "$before" "  ... the live certificate is unchanged"

# ---- a port in use
busy=$(free_port)
python3 -c 'import socket,sys,time
s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(60)' "$busy" &
busy_pid=$!
SERVER_PIDS+=("$busy_pid")
if wait_port "$busy_pid" 127.0.0.1 "$busy" 15; then
	moat acme issue a.example.test "${S[@]}" --challenge tls-alpn-01 --standalone \
		--tls-port "$busy" --http-address 127.0.0.1
	assert_error_shape "tls-alpn-01 on a port in use"
	assert_contains "$ERR" "--tls-port" "  ... the hint names --tls-port"
fi
stop_server "$busy_pid"

finish
