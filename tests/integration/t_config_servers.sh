#!/usr/bin/env bash
# t_config_servers: each `moat config` snippet runs in the real server it is
# for -- nginx, HAProxy, Apache from Debian -- in front of a small
# application, and curl (trusting only the moat root) gets through it; the
# server sends the full chain, refuses TLS 1.1, and passes
# X-Forwarded-Proto and Host on to the application.  Skipped (exit 77)
# unless all three servers are installed: with one missing, this test cannot
# say that its snippet works.
. "$(dirname "$0")/lib.sh"

missing=''
for tool in nginx haproxy apache2 curl openssl python3; do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
[ -d /usr/lib/apache2/modules ] || missing="$missing /usr/lib/apache2/modules"
[ -z "$missing" ] || skip_test "not installed:$missing"

NAME=app.example.test
assert_ok "ca init" "$MOAT" ca init --no-passphrase
assert_ok "issue $NAME" "$MOAT" issue "$NAME"
ROOT=$MOAT_HOME/ca/root.pem

# The application: answers every GET with a greeting and the headers the
# proxy set.
cat >"$T/app.py" <<'EOF'
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_GET(self):
        body = ("hello from the app\nproto=%s\nhost=%s\n" % (
            self.headers.get("X-Forwarded-Proto"), self.headers.get("Host"))).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
APP_PORT=$(free_port)
python3 "$T/app.py" "$APP_PORT" >"$T/app.log" 2>&1 &
app_pid=$!
SERVER_PIDS+=("$app_pid")
if ! wait_port "$app_pid" 127.0.0.1 "$APP_PORT" 15; then
	fail "the application starts (cannot continue)"
	finish
fi

# s_client PORT ARGS...: one bounded handshake to 127.0.0.1:PORT with SNI
# NAME (stdin closed: it ends after the handshake; `timeout`: a server that
# stalls fails the check instead of hanging the test).
# shellcheck disable=SC2317 # called through run
s_client() {
	local port=$1
	shift
	timeout 20 openssl s_client -connect "127.0.0.1:$port" -servername "$NAME" "$@" </dev/null
}
# tls11 PORT: offer TLS 1.1 only, from a client that is willing (no system
# configuration, security level 0), so that a refusal comes from the server.
tls11() { OPENSSL_CONF=/dev/null run s_client "$1" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'; }

# check_server LABEL PORT: what every snippet must deliver.
check_server() {
	local label=$1 port=$2
	run curl -sS --fail --max-time 20 --noproxy '*' --cacert "$ROOT" --capath "$T/.none" \
		--resolve "$NAME:$port:127.0.0.1" "https://$NAME:$port/hello"
	assert_rc 0 "$label: curl trusting only the moat root gets through"
	assert_contains "$OUT" "hello from the app" "$label: ... to the application"
	assert_contains "$OUT" "proto=https" "$label: ... which sees X-Forwarded-Proto: https"
	assert_contains "$OUT" "host=$NAME" "$label: ... and the original Host"
	run s_client "$port" -showcerts -CAfile "$ROOT" -verify_return_error
	assert_rc 0 "$label: s_client -showcerts: verified handshake"
	assert_eq "$(grep -c 'BEGIN CERTIFICATE' "$OUT_F")" "2" \
		"$label: sends the full chain (leaf + intermediate)"
	run s_client "$port" -tls1_2 -CAfile "$ROOT" -verify_return_error
	assert_rc 0 "$label: TLS 1.2 handshake (control)"
	assert_contains "$OUT" "Protocol  : TLSv1.2" "$label: TLS 1.2 works (control)"
	[ "$TLS11" = yes ] || return 0
	tls11 "$port"
	assert_rc 1 "$label: TLS 1.1 is refused (s_client exit 1)"
	assert_contains "$ERR" "alert protocol version" "$label: ... by the server's protocol_version alert"
	assert_contains "$OUT" "New, (NONE), Cipher is (NONE)" "$label: ... no session at all"
}

mkdir -p "$T/.none"

# (control) this client can speak TLS 1.1: openssl s_server accepting it,
# with the moat certificate, gets a TLS 1.1 session from tls11.  (An openssl
# that cannot even offer it skips the refusal checks: skip_part.)
TLS11=yes
if start_s_server 127.0.0.1 "$T/s_server11.log" -cert "$MOAT_HOME/live/$NAME/cert.pem" \
	-key "$MOAT_HOME/live/$NAME/privkey.pem" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'; then
	tls11 "$SERVER_PORT"
	stop_server "$SERVER_PID"
	if grep -q 'no protocols available' "$OUT_F" "$ERR_F"; then
		skip_part "this openssl cannot offer TLS1.1 at all: the refusal is not tested"
		TLS11=no
	else
		assert_rc 0 "(control) TLS 1.1 handshake with an s_server that accepts it"
		# ("Protocol" is printed even for a failed handshake; "Cipher is (NONE)" then too)
		assert_contains "$OUT" "Protocol  : TLSv1.1" "(control) the client offers TLS 1.1 for real"
		assert_not_contains "$OUT" "Cipher is (NONE)" "(control) ... and gets a session"
	fi
else
	fail "(control) openssl s_server -tls1_1 starts"
fi

# ---- nginx
{
	port=$(free_port)
	d=$T/nginx
	mkdir -p "$d/tmp"
	assert_ok "config nginx" "$MOAT" config nginx "$NAME" --upstream "http://127.0.0.1:$APP_PORT" \
		--listen "$port" --address 127.0.0.1
	cp "$OUT_F" "$d/site.conf"
	cat >"$d/nginx.conf" <<EOF
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log;
events {}
http {
    access_log off;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    include $d/site.conf;
}
EOF
	assert_ok "nginx -t accepts the snippet" nginx -t -p "$d" -c "$d/nginx.conf"
	nginx -p "$d" -c "$d/nginx.conf" -g 'daemon off;' >"$d/out.log" 2>&1 &
	pid=$!
	SERVER_PIDS+=("$pid")
	if wait_port "$pid" 127.0.0.1 "$port" 15; then
		check_server nginx "$port"
	else
		fail "nginx starts with the snippet"
		sed 's/^/#   nginx: /' "$d/error.log" "$d/out.log" | tail -n 5
	fi
	stop_server "$pid"
}

# ---- HAProxy
{
	port=$(free_port)
	d=$T/haproxy
	mkdir -p "$d"
	assert_ok "config haproxy" "$MOAT" config haproxy "$NAME" --upstream "http://127.0.0.1:$APP_PORT" \
		--listen "$port" --address 127.0.0.1
	assert_eq "$(readlink "$MOAT_HOME/live/$NAME/fullchain.pem.key")" "privkey.pem" \
		"config haproxy links fullchain.pem.key to privkey.pem"
	{
		printf 'defaults\n    mode http\n    timeout connect 5s\n'
		printf '    timeout client 30s\n    timeout server 30s\n\n'
		cat "$OUT_F"
	} >"$d/haproxy.cfg"
	assert_ok "haproxy -c accepts the snippet" haproxy -c -f "$d/haproxy.cfg"
	haproxy -db -f "$d/haproxy.cfg" >"$d/out.log" 2>&1 &
	pid=$!
	SERVER_PIDS+=("$pid")
	if wait_port "$pid" 127.0.0.1 "$port" 15; then
		check_server haproxy "$port"
	else
		fail "haproxy starts with the snippet"
		sed 's/^/#   haproxy: /' "$d/out.log" | tail -n 5
	fi
	stop_server "$pid"
}

# ---- Apache
{
	port=$(free_port)
	d=$T/apache
	mkdir -p "$d"
	chmod 755 "$T" "$d"
	assert_ok "config apache" "$MOAT" config apache "$NAME" --upstream "http://127.0.0.1:$APP_PORT" \
		--listen "$port" --address 127.0.0.1
	m=/usr/lib/apache2/modules
	{
		for mod in mpm_event authz_core ssl proxy proxy_http headers socache_shmcb; do
			printf 'LoadModule %s_module %s/mod_%s.so\n' "$mod" "$m" "$mod"
		done
		printf 'ServerName localhost\nPidFile %s/httpd.pid\nDefaultRuntimeDir %s\n' "$d" "$d"
		printf 'ErrorLog %s/error.log\nMutex posixsem\n' "$d"
		if [ "$(id -u)" -eq 0 ]; then
			printf 'User www-data\nGroup www-data\n'
		fi
		cat "$OUT_F"
	} >"$d/httpd.conf"
	assert_ok "apache2 -t accepts the snippet" apache2 -t -f "$d/httpd.conf"
	apache2 -f "$d/httpd.conf" -DFOREGROUND >"$d/out.log" 2>&1 &
	pid=$!
	SERVER_PIDS+=("$pid")
	if wait_port "$pid" 127.0.0.1 "$port" 15; then
		check_server apache "$port"
	else
		fail "apache2 starts with the snippet"
		sed 's/^/#   apache: /' "$d/error.log" "$d/out.log" 2>/dev/null | tail -n 5
	fi
	stop_server "$pid"
}

# ---- an IPv6 --address: every server reads [IPv6]:PORT, and nginx serves on it
if have_ipv6; then
	port=$(free_port ::1)
	assert_ok "config nginx --address ::1" "$MOAT" config nginx "$NAME" \
		--upstream "http://127.0.0.1:$APP_PORT" --listen "$port" --address ::1
	assert_contains "$OUT" "listen [::1]:$port ssl;" "config nginx --address ::1: the address in brackets"
	d=$T/nginx6
	mkdir -p "$d/tmp"
	cp "$OUT_F" "$d/site.conf"
	sed "s|$T/nginx|$d|g" "$T/nginx/nginx.conf" >"$d/nginx.conf"
	assert_ok "nginx -t accepts the IPv6 snippet" nginx -t -p "$d" -c "$d/nginx.conf"
	nginx -p "$d" -c "$d/nginx.conf" -g 'daemon off;' >"$d/out.log" 2>&1 &
	pid=$!
	SERVER_PIDS+=("$pid")
	if wait_port "$pid" ::1 "$port" 15; then
		run curl -sS --fail --max-time 20 --noproxy '*' --cacert "$ROOT" --capath "$T/.none" \
			--resolve "$NAME:$port:[::1]" "https://$NAME:$port/hello"
		assert_rc 0 "nginx on [::1]: curl trusting only the moat root gets through"
		assert_contains "$OUT" "hello from the app" "nginx on [::1]: ... to the application"
	else
		fail "nginx starts with the IPv6 snippet"
		sed 's/^/#   nginx: /' "$d/error.log" "$d/out.log" | tail -n 5
	fi
	stop_server "$pid"
	assert_ok "config haproxy --address ::1" "$MOAT" config haproxy "$NAME" \
		--upstream "http://127.0.0.1:$APP_PORT" --listen "$port" --address ::1
	assert_contains "$OUT" "bind [::1]:$port ssl" "config haproxy --address ::1: the address in brackets"
	sed "/^frontend /,\$d" "$T/haproxy/haproxy.cfg" | cat - "$OUT_F" >"$T/haproxy6.cfg"
	assert_ok "haproxy -c accepts the IPv6 snippet" haproxy -c -f "$T/haproxy6.cfg"
	assert_ok "config apache --address ::1" "$MOAT" config apache "$NAME" \
		--upstream "http://127.0.0.1:$APP_PORT" --listen "$port" --address ::1
	assert_contains "$OUT" "<VirtualHost [::1]:$port>" "config apache --address ::1: the address in brackets"
	sed "/^# moat config apache/,\$d" "$T/apache/httpd.conf" | cat - "$OUT_F" >"$T/apache/httpd6.conf"
	assert_ok "apache2 -t accepts the IPv6 snippet" apache2 -t -f "$T/apache/httpd6.conf"
else
	skip_part "no IPv6 loopback: the --address ::1 snippets are not run"
fi

# ---- bad input
moat config nginx "$NAME" --address 127.0.0.300
assert_rc 2 "--address that is not an IP address is a usage error"
moat config nginx "$NAME" --address '::1]:1;['
assert_rc 2 "--address with brackets or ; is a usage error (no config injection)"
moat config nginx no-such.example.test
assert_error_shape "config for a certificate that does not exist"
moat config lighttpd "$NAME"
assert_rc 2 "config for an unknown server is a usage error"
moat config nginx "$NAME" --upstream "https://x"
assert_rc 2 "an https upstream is a usage error"
moat config nginx "$NAME" --upstream 'http://a;b'
assert_rc 2 "an upstream with ; is a usage error (no config injection)"

finish
