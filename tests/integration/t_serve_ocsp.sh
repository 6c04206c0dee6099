#!/usr/bin/env bash
# t_serve_ocsp: moat serve staples OCSP responses it fetched itself.
#
# The check fixture's PKI (lib_check.sh) has leaves naming an OCSP responder
# (`openssl ocsp` behind a small loopback server).  moat serve with the
# "good" leaf as --cert/--key fetches a response in the background, and
# `openssl s_client -status` then sees it stapled: successful, good, for
# this certificate, signed by the responder.  With the "revokedocsp" leaf,
# the responder says revoked: moat staples nothing and its log says why.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_check.sh"

check_have_tools || skip_test "$CHECK_MISSING is not installed"
check_start_http || { fail "the AIA/CRL HTTP server did not start"; finish; }
check_start_ocsp || { fail "the OCSP responder did not start"; finish; }
check_pki || { fail "building the test PKI failed"; finish; }

UP_PORT=$(free_port)
python3 -c 'import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b = b"stapled upstream\n"
        self.send_response(200); self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()' "$UP_PORT" &
SERVER_PIDS+=($!)
wait_port $! 127.0.0.1 "$UP_PORT" || fail "the upstream did not start"

# start_serve SCENARIO LOG: moat serve with that scenario's leaf + chain.
start_serve() {
	local s=$1 log=$2 name=${CHECK_NAME[$1]} pid
	PORT=$(free_port)
	MOAT_HOME=$T/home-$s "$MOAT" serve --cert "${CHECK_FULLCHAIN[$s]}" --key "${CHECK_KEY[$s]}" \
		--listen 127.0.0.1 --https-port "$PORT" --http-port 0 --workers 1 \
		"$name=http://127.0.0.1:$UP_PORT" >"$log" 2>&1 &
	pid=$!
	SERVER_PIDS+=("$pid")
	SERVE_PID=$pid
	wait_port "$pid" 127.0.0.1 "$PORT" || { fail "moat serve ($s) did not start"; cat "$log"; return 1; }
}

# status_of NAME: what s_client -status prints about the staple.
status_of() {
	openssl s_client -connect "127.0.0.1:$PORT" -servername "$1" -status </dev/null 2>/dev/null
}

# ---- good: stapled, and the staple is right
start_serve good "$T/serve-good.log"
ok=''
for _ in $(seq 1 100); do
	out=$(status_of "${CHECK_NAME[good]}")
	if grep -q 'OCSP Response Status: successful' <<<"$out"; then
		ok=1
		break
	fi
	sleep 0.1 # polling the background fetch
done
assert_eq "$ok" 1 "good: a staple is sent within 10 s"
assert_contains "$out" "Cert Status: good" "good: the stapled status is good"
assert_contains "$out" "Response Type: Basic OCSP Response" "good: a basic OCSP response"
serial=$(openssl x509 -in "${CHECK_LEAF[good]}" -noout -serial | cut -d= -f2)
assert_contains "$out" "Serial Number: $serial" "good: the staple is about the served certificate"
# What curl sees (it checks stapled responses with --cert-status).
run curl -sS --cert-status --cacert "$CHECK_ROOT" --resolve "${CHECK_NAME[good]}:$PORT:127.0.0.1" \
	"https://${CHECK_NAME[good]}:$PORT/"
assert_rc 0 "curl --cert-status accepts the stapled response"
assert_contains "$OUT" "stapled upstream" "curl got the upstream through the proxy"
# The responder was asked by moat, not during the handshakes: one request
# for several handshakes.
asked=$(grep -c . "$CHECK_OCSP_LOG" 2>/dev/null || echo 0)
for _ in 1 2 3; do status_of "${CHECK_NAME[good]}" >/dev/null; done
assert_eq "$(grep -c . "$CHECK_OCSP_LOG" 2>/dev/null || echo 0)" "$asked" \
	"handshakes do not query the responder"
kill "$SERVE_PID"

# ---- a client that does not ask gets no staple
start_serve good "$T/serve-good2.log"
for _ in $(seq 1 100); do
	status_of "${CHECK_NAME[good]}" | grep -q 'OCSP Response Status: successful' && break
	sleep 0.1
done
out=$(openssl s_client -connect "127.0.0.1:$PORT" -servername "${CHECK_NAME[good]}" </dev/null 2>/dev/null)
assert_not_contains "$out" "OCSP response" "no staple for a client that did not ask"
kill "$SERVE_PID"

# ---- revoked: nothing stapled, and the log says why
start_serve revokedocsp "$T/serve-rev.log"
said=''
for _ in $(seq 1 100); do
	if grep -q 'REVOKED' "$T/serve-rev.log"; then
		said=1
		break
	fi
	sleep 0.1
done
assert_eq "$said" 1 "revoked: the error log says the certificate is REVOKED"
out=$(status_of "${CHECK_NAME[revokedocsp]}")
assert_contains "$out" "OCSP response: no response sent" "revoked: no staple is sent"
kill "$SERVE_PID"

finish
