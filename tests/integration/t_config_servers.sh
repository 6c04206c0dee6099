#!/usr/bin/env bash
# t_config_servers: each `moat config` snippet runs in the real server it is
# for -- nginx, HAProxy, Apache from Debian -- in front of a small
# application, and curl (trusting only the moat root) gets through it; the
# server sends the full chain, refuses TLS 1.1, and passes
# X-Forwarded-Proto and Host on to the application.
. "$(dirname "$0")/lib.sh"

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
wait_port "$app_pid" 127.0.0.1 "$APP_PORT" 15 || fail "the application starts"

# check_server LABEL PORT: what every snippet must deliver.
check_server() {
	local label=$1 port=$2
	run curl -sS --fail --max-time 20 --noproxy '*' --cacert "$ROOT" --capath "$T/.none" \
		--resolve "$NAME:$port:127.0.0.1" "https://$NAME:$port/hello"
	assert_rc 0 "$label: curl trusting only the moat root gets through"
	assert_contains "$OUT" "hello from the app" "$label: ... to the application"
	assert_contains "$OUT" "proto=https" "$label: ... which sees X-Forwarded-Proto: https"
	assert_contains "$OUT" "host=$NAME" "$label: ... and the original Host"
	run openssl s_client -connect "127.0.0.1:$port" -servername "$NAME" -showcerts </dev/null
	assert_eq "$(grep -c 'BEGIN CERTIFICATE' "$OUT_F")" "2" \
		"$label: sends the full chain (leaf + intermediate)"
	run openssl s_client -connect "127.0.0.1:$port" -servername "$NAME" -tls1_2 </dev/null
	assert_contains "$OUT" "Protocol  : TLSv1.2" "$label: TLS 1.2 works (control)"
	run openssl s_client -connect "127.0.0.1:$port" -servername "$NAME" -tls1_1 \
		-cipher 'DEFAULT@SECLEVEL=0' </dev/null
	assert_ne "$RC" "0" "$label: TLS 1.1 is refused"
}

mkdir -p "$T/.none"

# ---- nginx
if command -v nginx >/dev/null 2>&1; then
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
else
	note "nginx not installed: skipped"
fi

# ---- HAProxy
if command -v haproxy >/dev/null 2>&1; then
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
else
	note "haproxy not installed: skipped"
fi

# ---- Apache
if command -v apache2 >/dev/null 2>&1 && [ -d /usr/lib/apache2/modules ]; then
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
else
	note "apache2 not installed: skipped"
fi

# ---- bad input
moat config nginx no-such.example.test
assert_error_shape "config for a certificate that does not exist"
moat config lighttpd "$NAME"
assert_rc 2 "config for an unknown server is a usage error"
moat config nginx "$NAME" --upstream "https://x"
assert_rc 2 "an https upstream is a usage error"
moat config nginx "$NAME" --upstream 'http://a;b'
assert_rc 2 "an upstream with ; is a usage error (no config injection)"

finish
