#!/usr/bin/env bash
# t_serve_tls: moat serve's TLS side and its port-80 side.  curl trusting
# only the private root; exactly leaf + intermediate sent (never the root)
# and strictly verifiable; TLS 1.2 and 1.3 yes, 1.1 and 1.0 no; ALPN
# http/1.1; SNI choosing the certificate and Host the upstream with two
# sites (421 for a name neither has); a handshake without SNI; on the plain port, 308 to the same URL on
# https and 404 (not a redirect) for unknown ACME challenges.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_serve.sh"

serve_need_tools
need_ca
need_upstream chat other
SV_NAMES=(chat.localhost other.localhost)
need_serve --local "chat.localhost=http://127.0.0.1:${UP_PORT[chat]}" \
	"other.localhost=http://127.0.0.1:${UP_PORT[other]}"

# s_client ARGS...: openssl s_client to the proxy (no input: it ends at once;
# `timeout`: a handshake that stalls fails the check instead of hanging).
# shellcheck disable=SC2317 # called through run
s_client() {
	timeout 20 openssl s_client -connect "127.0.0.1:$SV_HTTPS" "$@" </dev/null
}
# The certificates in the last run's stdout, into FILE (all) and FILE.N.
sent_certs() {
	sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' "$OUT_F" >"$1"
	awk -v base="$1" '/-----BEGIN CERTIFICATE-----/ { n++ } n { print > (base "." n) }' "$1"
}

# A self-signed certificate that has nothing to do with moat's CA: the
# "wrong root" for curl, and the certificate of the old-version control below.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=old.test \
	-keyout "$T/old.key" -out "$T/old.pem" >/dev/null 2>&1
assert_file "$T/old.pem" "(control) an unrelated self-signed certificate"

# ---- curl, trusting nothing but the root
run scurl -o "$T/hello" -w '%{http_code} %{ssl_verify_result}' "$(surl /hello)"
assert_rc 0 "curl https://chat.localhost through the proxy (--cacert root.pem only)"
assert_eq "$OUT" "200 0" "curl: 200, certificate verified"
assert_eq "$(cat "$T/hello" 2>/dev/null)" "hello from upstream" "curl: the upstream's body"
run curl -sS --max-time 20 --noproxy '*' --capath "$T/.empty-capath" --cacert "$T/old.pem" \
	--resolve "chat.localhost:$SV_HTTPS:127.0.0.1" -o /dev/null "$(surl /hello)"
assert_rc 60 "curl without the root: the certificate is not trusted (the check can fail)"
assert_contains "$ERR" "SSL certificate problem" "  ... curl says so"

# ---- the chain on the wire
run s_client -servername chat.localhost -showcerts
assert_rc 0 "s_client -showcerts: handshake"
sent_certs "$T/sent.pem"
assert_eq "$(count_certs "$T/sent.pem")" 2 "exactly 2 certificates sent (leaf + intermediate)"
ROOT_FP=$(cert_fp "$ROOT_PEM")
for i in 1 2; do
	if [ -s "$T/sent.pem.$i" ]; then
		assert_ne "$(cert_fp "$T/sent.pem.$i")" "$ROOT_FP" "certificate #$i sent is not the root"
	fi
done
assert_eq "$(cert_fp "$T/sent.pem.2")" "$(cert_fp "$MOAT_HOME/ca/intermediate.pem")" \
	"the second certificate is the CA's intermediate"
assert_contains "$(cert_ext "$T/sent.pem.1" subjectAltName)" "DNS:chat.localhost" \
	"SNI chat.localhost: the leaf names chat.localhost"
run verify_server "$T/sent.pem.1" "$T/sent.pem"
assert_rc 0 "openssl verify -x509_strict -purpose sslserver -CAfile root.pem -untrusted <sent>"
run openssl verify -x509_strict -CAfile "$ROOT_PEM" "$T/sent.pem.1"
assert_rc 2 "without the sent intermediate the leaf does not verify (the intermediate is needed)"
assert_contains "$OUT$ERR" "unable to get local issuer certificate" "  ... for want of its issuer"

# ---- protocol versions
for v in 1_2 1_3; do
	run s_client -servername chat.localhost "-tls$v" -CAfile "$ROOT_PEM" -verify_return_error
	assert_rc 0 "TLS ${v/_/.} handshake"
	assert_match "$OUT" "^New, TLSv${v/_/\\.}, Cipher is " "TLS ${v/_/.} negotiated"
	assert_contains "$OUT" "Verify return code: 0 (ok)" "TLS ${v/_/.}: chain verified by s_client"
done
run scurl --tlsv1.2 --tls-max 1.2 "$(surl /hello)"
assert_eq "$OUT" "hello from upstream" "a request over TLS 1.2"
run scurl --tlsv1.3 "$(surl /hello)"
assert_eq "$OUT" "hello from upstream" "a request over TLS 1.3"
# old_client PORT VERSION: s_client offering only that old version.  The
# client must be willing (no system config, security level 0), so that a
# refusal can only come from the server: its alert 70.  (control) It is: an
# openssl s_server that accepts the old version gets a session from it.
old_client() {
	OPENSSL_CONF=/dev/null run timeout 20 openssl s_client -connect "127.0.0.1:$1" \
		-servername chat.localhost "-tls$2" -cipher 'DEFAULT:@SECLEVEL=0'
}
for v in 1_1 1; do
	case $v in
	1_1) label=TLS1.1 proto=TLSv1.1 ;;
	1) label=TLS1.0 proto=TLSv1 ;;
	esac
	if ! start_s_server 127.0.0.1 "$T/s_server$v.log" -cert "$T/old.pem" -key "$T/old.key" \
		"-tls$v" -cipher 'DEFAULT:@SECLEVEL=0'; then
		fail "(control) openssl s_server -tls$v starts"
		continue
	fi
	old_client "$SERVER_PORT" "$v"
	stop_server "$SERVER_PID"
	if grep -q 'no protocols available' "$OUT_F" "$ERR_F"; then
		skip_part "this openssl cannot offer $label at all: not tested"
		continue
	fi
	assert_rc 0 "(control) $label handshake with an s_server that accepts it"
	# ("Protocol" is printed even for a failed handshake; "Cipher is (NONE)" then too)
	assert_match "$OUT" "Protocol  : $proto\$" "(control) the client offers $label for real"
	assert_not_contains "$OUT" "Cipher is (NONE)" "(control) ... and gets a session"
	old_client "$SV_HTTPS" "$v"
	assert_rc 1 "$label refused (s_client exit 1)"
	assert_contains "$OUT$ERR" "alert protocol version" "$label: the server answers protocol_version"
	assert_contains "$OUT" "no peer certificate available" "$label: no certificate sent"
done

# ---- ALPN
run s_client -servername chat.localhost -alpn http/1.1
assert_rc 0 "ALPN http/1.1: handshake"
assert_contains "$OUT" "ALPN protocol: http/1.1" "ALPN http/1.1 negotiated when offered"
run s_client -servername chat.localhost -alpn h2,http/1.1
assert_rc 0 "ALPN h2,http/1.1: handshake"
assert_contains "$OUT" "ALPN protocol: http/1.1" "ALPN h2,http/1.1 offered: http/1.1 chosen (no h2)"
# h2 alone: the handshake goes on without ALPN (no alert, and never h2)
run s_client -servername chat.localhost -alpn h2 -CAfile "$ROOT_PEM" -verify_return_error
assert_rc 0 "ALPN h2 alone: the handshake succeeds"
assert_contains "$OUT" "Verify return code: 0 (ok)" "ALPN h2 alone: a verified session"
assert_contains "$OUT" "No ALPN negotiated" "ALPN h2 alone: none negotiated (never h2)"
run s_client -servername chat.localhost
assert_rc 0 "no ALPN: handshake"
assert_contains "$OUT" "No ALPN negotiated" "no ALPN offered: none negotiated"

# ---- two sites: SNI picks the certificate, Host the upstream
run s_client -servername other.localhost -showcerts
assert_rc 0 "SNI other.localhost: handshake"
sent_certs "$T/other.pem"
assert_contains "$(cert_ext "$T/other.pem.1" subjectAltName)" "DNS:other.localhost" \
	"SNI other.localhost: its own certificate"
assert_not_contains "$(cert_ext "$T/other.pem.1" subjectAltName)" "DNS:chat.localhost" \
	"SNI other.localhost: not chat.localhost's"
run verify_server "$T/other.pem.1" "$T/other.pem"
assert_rc 0 "other.localhost: the sent chain verifies"
run scurl -D "$T/h.other" -o /dev/null "$(surl /hello other.localhost)"
assert_rc 0 "curl https://other.localhost"
assert_contains_i "$(cat "$T/h.other")" "X-Upstream-Name: other" "other.localhost goes to upstream 'other'"
run scurl -D "$T/h.chat" -o /dev/null "$(surl /hello chat.localhost)"
assert_contains_i "$(cat "$T/h.chat")" "X-Upstream-Name: chat" "chat.localhost goes to upstream 'chat'"

printf 'GET /hello HTTP/1.1\r\nHost: nope.localhost\r\nConnection: close\r\n\r\n' >"$T/req.nope"
tls_raw "$T/req.nope" chat.localhost 5 >"$T/resp.nope"
assert_eq "$(first_status <"$T/resp.nope")" 421 "a Host no site has: 421 Misdirected Request"
printf 'GET /hello HTTP/1.1\r\nHost: OTHER.LocalHost.:%s\r\nConnection: close\r\n\r\n' "$SV_HTTPS" >"$T/req.case"
tls_raw "$T/req.case" chat.localhost 5 >"$T/resp.case"
assert_contains_i "$(tr -d '\r' <"$T/resp.case")" "X-Upstream-Name: other" \
	"Host in another case, with a trailing dot and the port: still other.localhost"

# ---- no SNI at all
run s_client -noservername -showcerts
assert_rc 0 "handshake without SNI"
sent_certs "$T/nosni.pem"
n=$(count_certs "$T/nosni.pem")
if [ "${n:-0}" -ge 1 ]; then
	pass "no SNI: a certificate is still sent ($(openssl x509 -in "$T/nosni.pem.1" -noout -subject 2>/dev/null))"
else
	fail "no SNI: no certificate"
fi
run verify_server "$T/nosni.pem.1" "$T/nosni.pem"
assert_rc 0 "no SNI: what is sent is a complete chain to the root"

# ---- port 80
run scurl -o /dev/null -w '%{http_code} %{redirect_url}' "http://chat.localhost:$SV_HTTP/a/b?c=d"
assert_eq "$OUT" "308 https://chat.localhost:$SV_HTTPS/a/b?c=d" "http:// -> 308 to the same path and query on https"
run scurl -o /dev/null -w '%{http_code} %{redirect_url}' "http://other.localhost:$SV_HTTP/x"
assert_eq "$OUT" "308 https://other.localhost:$SV_HTTPS/x" "the redirect keeps the asked-for name"
run scurl -L "http://chat.localhost:$SV_HTTP/hello"
assert_eq "$OUT" "hello from upstream" "following the redirect reaches the upstream over https"
run scurl -D "$T/h.acme" -o "$T/acme.body" -w '%{http_code}' \
	"http://chat.localhost:$SV_HTTP/.well-known/acme-challenge/unknown"
assert_eq "$OUT" 404 "/.well-known/acme-challenge/unknown -> 404"
assert_not_contains "$(tr -d '\r' <"$T/h.acme")" "Location:" "the unknown challenge is not redirected"
# (control) the upstream's log shows the requests that reached it
assert_contains "$(cat "$T/up-chat.log")" "GET /hello -> 200" "the upstream logs every request (control)"
if grep -q 'acme-challenge' "$T/up-chat.log"; then
	fail "the challenge request reached the upstream"
else
	pass "the challenge request did not reach the upstream"
fi

serve_stop_checked "tls"
finish
