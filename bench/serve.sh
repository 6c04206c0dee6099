#!/usr/bin/env bash
# bench/serve.sh: moat serve against the reverse proxies it replaces, side by
# side in one run, on the same machine with the same settings:
#
#   moat     moat serve --config FILE        (workers 1, access log off)
#   nginx    nginx, worker_processes 1, access_log off
#   haproxy  HAProxy, nbthread 1, mode http, no log
#   hitch    hitch, workers 1 (a TLS unwrapper: one backend TCP connection
#            per client connection, no HTTP parsing)       -- if installed
#   caddy    caddy run, GOMAXPROCS=1 (Go's own TLS)       -- if installed
#
# Every proxy terminates TLS 1.3 with the same ECDSA P-256 leaf and its
# intermediate (made by moat: `moat ca init --no-passphrase`, `moat issue`)
# on 127.0.0.1, and passes HTTP/1.1 to the same upstream: a separate nginx
# process (not measured) answering a small static response, with keep-alive
# from the proxy to it (not possible for hitch).  moat allows TLS 1.2 and
# 1.3; the others are set to TLS 1.3 only; every client here negotiates 1.3.
#
# What is measured, per proxy, on the proxy's own CPU time (utime + stime
# from /proc/PID/stat of its worker processes, or of the process and all
# its threads), not on wall time:
#
#   handshake  wrk -t2 -c50 -d10s -H 'Connection: close': one request per
#              TLS connection; CPU µs per handshake = ΔCPU / requests.
#   request    wrk -t2 -c50 -d10s (keep-alive): CPU µs per request.
#   idle       2,000 TLS connections opened (complete, verified handshakes)
#              and held by tests/integration/idle_conns.py; KiB per idle
#              connection = ΔVmRSS (sum over the proxy's processes) / 2000.
#   scaling    keep-alive requests/s of moat with --workers 1 and 2 (and of
#              nginx with 1 and 2 workers, for reference), nothing pinned.
#
# wrk keeps the TLS session of a closed connection (SSL_clear) and resumes
# it on the next one (a TLS 1.3 PSK handshake: no certificate, no
# signature).  So that every "Connection: close" request costs a full
# handshake, wrk runs with a small LD_PRELOAD shim, compiled here, that
# drops the session after SSL_clear; the shim also counts the connections,
# the resumed ones and the session tickets wrk received, and the script
# checks that none was resumed.  WRK_RESUME=1 keeps wrk's own behaviour.
#
# With 2 or more CPUs the proxy runs on CPU 0 (taskset) and wrk, the idle
# connection client and the upstream on CPU 1 (the upstream on CPU 2 when
# there is one), the same for every proxy, so that the client's CPU does
# not compete with the proxy's.  Each run starts every proxy afresh, warms
# it up (1 s of keep-alive wrk), then measures idle memory, handshakes and
# requests; the runs are interleaved (run 1 of every proxy, then run 2...)
# and the report gives the median of BENCH_RUNS runs.
#
# Goals (moat / nginx): CPU per handshake <= 0.75x, CPU per request
# <= 0.6x, memory per idle connection <= 0.85x; throughput that scales
# with --workers.
#
# Environment:
#   MOAT         binary (default <repo>/build/moat; use a release build)
#   BENCH_RUNS   runs, median reported (default 3)
#   DURATION     seconds per wrk run (default 10)
#   CONNS        wrk connections (default 50)
#   THREADS      wrk threads (default 2)
#   IDLE_CONNS   idle connections (default 2000)
#   PROXIES      which proxies (default "moat nginx haproxy hitch caddy",
#                those installed)
#   SCALE_DURATION  seconds per scaling run (default 5; 0 = no scaling line)
#   WRK_RESUME=1 let wrk resume TLS sessions (the shim only counts)
#   QUIET_MAX    before each proxy's runs, wait until the others' load on
#                the machine (all CPUs busy %, nothing of ours running) is at
#                most this (default 25), ...
#   QUIET_WAIT   ... for at most this many seconds (default 30); the load
#                seen is in the per-run details
#   KEEP=1       keep the work dir (configurations, logs, raw results)
#
# Needs: wrk, nginx, haproxy, a C compiler and the OpenSSL headers (for the
# shim), taskset, /usr/bin/python3; hitch and caddy are used if installed.
# With the defaults it takes about 9 minutes on 2 CPUs (BENCH_RUNS=1: 3).
# Results and their analysis: docs/performance.md.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MOAT=${MOAT:-$ROOT/build/moat}
case $MOAT in
/*) ;;
*) MOAT=$PWD/$MOAT ;;
esac
BENCH_RUNS=${BENCH_RUNS:-3}
DURATION=${DURATION:-10}
CONNS=${CONNS:-50}
THREADS=${THREADS:-2}
IDLE_CONNS=${IDLE_CONNS:-2000}
SCALE_DURATION=${SCALE_DURATION:-5}
QUIET_MAX=${QUIET_MAX:-25}
QUIET_WAIT=${QUIET_WAIT:-30}
PROXIES=${PROXIES:-moat nginx haproxy hitch caddy}
PY=/usr/bin/python3
IDLE_PY=$ROOT/tests/integration/idle_conns.py

die() {
	echo "bench/serve.sh: $*" >&2
	exit 1
}
note() { printf '<!-- %s -->\n' "$*" >&2; }

for n in BENCH_RUNS DURATION CONNS THREADS IDLE_CONNS SCALE_DURATION QUIET_MAX QUIET_WAIT; do
	case ${!n} in
	'' | *[!0-9]*) die "$n must be a number" ;;
	esac
done
if [ "$BENCH_RUNS" -lt 1 ] || [ "$DURATION" -lt 1 ] || [ "$IDLE_CONNS" -lt 1 ]; then
	die "BENCH_RUNS, DURATION and IDLE_CONNS must be at least 1"
fi
for tool in wrk nginx haproxy taskset cc openssl curl; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
[ -x "$PY" ] || die "$PY is not there"
[ -x "$MOAT" ] || die "no moat binary at $MOAT (build it, or set MOAT)"
[ -f "$IDLE_PY" ] || die "no $IDLE_PY"

# The proxies to measure: those asked for and installed; moat and nginx are
# needed for the ratios.
LIST=()
for p in $PROXIES; do
	case $p in
	moat) LIST+=(moat) ;;
	nginx | haproxy | hitch | caddy)
		if command -v "$p" >/dev/null 2>&1; then
			LIST+=("$p")
		else
			note "$p is not installed: left out"
		fi
		;;
	*) die "unknown proxy \"$p\" (moat nginx haproxy hitch caddy)" ;;
	esac
done
[ "${#LIST[@]}" -ge 1 ] || die "no proxy to measure"

W=$(mktemp -d "${TMPDIR:-/tmp}/bench-serve.XXXXXX")
PIDS=() # every server we started, stopped by PID on exit
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	if [ -n "${KEEP:-}" ]; then
		echo "<!-- work dir kept: $W -->" >&2
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The proxies run for at most 2 * IDLE_CONNS descriptors (hitch: one to the
# backend per client).
ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge $((2 * IDLE_CONNS + 200)) ] ||
	die "RLIMIT_NOFILE $(ulimit -n) is too low for IDLE_CONNS=$IDLE_CONNS"

# ------------------------------------------------------------- CPU placement

NCPU=$(nproc)
if [ "$NCPU" -ge 2 ]; then
	PROXY_CPUS=0 CLIENT_CPUS=1
	UP_CPUS=$([ "$NCPU" -ge 3 ] && echo 2 || echo 1)
	PLACEMENT="proxy on CPU 0; wrk and the idle-connection client on CPU 1; upstream on CPU $UP_CPUS"
else
	PROXY_CPUS=0 CLIENT_CPUS=0 UP_CPUS=0
	PLACEMENT="one CPU: nothing pinned, wrk competes with the proxy"
fi
ALL_CPUS=0-$((NCPU - 1))
CLK_TCK=$(getconf CLK_TCK)

# ------------------------------------------------------------ /proc helpers

# descendants PID: every process below PID (not PID itself).
descendants() {
	local c k kids
	for c in /proc/"$1"/task/*/children; do
		kids=$(cat "$c" 2>/dev/null) || continue
		for k in $kids; do
			echo "$k"
			descendants "$k"
		done
	done
}
# cpu_ticks PID...: "utime stime" (clock ticks) of the processes, each with
# all its threads (the process line of /proc/PID/stat sums them).
cpu_ticks() {
	local p s rest u=0 k=0
	for p in "$@"; do
		s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		rest=${s##*) }
		# shellcheck disable=SC2086 # split into fields on purpose
		set -- $rest
		u=$((u + ${12})) k=$((k + ${13}))
	done
	echo "$u $k"
}
# rss_kib PID...: the sum of VmRSS.
rss_kib() {
	local p sum=0 v
	for p in "$@"; do
		v=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$p/status" 2>/dev/null)
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

# machine_busy: the percentage of all CPUs busy during 1 s (others' load:
# nothing of ours runs then).
machine_busy() {
	local a b
	read -r -a a </proc/stat
	sleep 1
	read -r -a b </proc/stat
	local idle=$((b[4] + b[5] - a[4] - a[5])) tot=0 i
	for ((i = 1; i < ${#a[@]}; i++)); do
		tot=$((tot + b[i] - a[i]))
	done
	echo $((tot > 0 ? 100 * (tot - idle) / tot : 0))
}

# wait_quiet: wait (at most QUIET_WAIT s) until others use at most
# QUIET_MAX % of the machine; prints the last percentage seen.
wait_quiet() {
	local b i
	for ((i = 0; i < QUIET_WAIT; i++)); do
		b=$(machine_busy)
		[ "$b" -le "$QUIET_MAX" ] && break
		[ "$i" != 0 ] || note "the machine is ${b}% busy: waiting up to ${QUIET_WAIT}s for it to calm down"
	done
	echo "$b"
}

free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# wait_port PORT PID: until PORT accepts (or PID dies, or 15 s).
wait_port() {
	local i
	for ((i = 0; i < 150; i++)); do
		kill -0 "$2" 2>/dev/null || return 1
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}
# stop PID: SIGTERM, then SIGKILL after 5 s; forgets the PID.
stop() {
	local i keep=()
	kill "$1" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	for i in "${PIDS[@]}"; do
		[ "$i" = "$1" ] || keep+=("$i")
	done
	PIDS=("${keep[@]}")
}

# ---------------------------------------------------------- certificate

export MOAT_HOME=$W/moat-home
{
	"$MOAT" ca init --no-passphrase --key-type ec-p256 --name "moat bench CA" </dev/null &&
		"$MOAT" issue localhost 127.0.0.1 --key-type ec-p256 </dev/null
} >"$W/setup.log" 2>&1 || {
	cat "$W/setup.log" >&2
	die "moat could not make the certificate"
}
LIVE=$MOAT_HOME/live/localhost
CHAIN=$LIVE/fullchain.pem KEY=$LIVE/privkey.pem ROOTCA=$MOAT_HOME/ca/root.pem
cat "$CHAIN" "$KEY" >"$W/combined.pem" # haproxy and hitch: chain + key in one file
chmod 600 "$W/combined.pem"
openssl x509 -in "$CHAIN" -noout -text | grep -q 'ASN1 OID: prime256v1' ||
	die "the leaf is not ECDSA P-256"

# ---------------------------------------------------------- wrk shim

cat >"$W/shim.c" <<'EOF'
/* LD_PRELOAD for wrk: no TLS session resumption across connections, and
 * counts (connections closed by wrk, how many were resumed, session
 * tickets received) written to $SHIM_REPORT at exit. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <openssl/ssl.h>

static unsigned long n_conns, n_resumed, n_tickets;

static int on_new_session(SSL *s, SSL_SESSION *sess)
{
	(void)s;
	(void)sess;
	__atomic_add_fetch(&n_tickets, 1, __ATOMIC_RELAXED);
	return 0; /* not kept by us */
}

SSL_CTX *SSL_CTX_new(const SSL_METHOD *m)
{
	SSL_CTX *(*real)(const SSL_METHOD *) =
		(SSL_CTX * (*)(const SSL_METHOD *)) dlsym(RTLD_NEXT, "SSL_CTX_new");
	SSL_CTX *c = real(m);

	if (c != NULL)
		SSL_CTX_sess_set_new_cb(c, on_new_session);
	return c;
}

int SSL_clear(SSL *s)
{
	int (*real)(SSL *) = (int (*)(SSL *))dlsym(RTLD_NEXT, "SSL_clear");
	const char *keep = getenv("SHIM_RESUME");
	int r;

	if (SSL_is_init_finished(s)) {
		__atomic_add_fetch(&n_conns, 1, __ATOMIC_RELAXED);
		if (SSL_session_reused(s))
			__atomic_add_fetch(&n_resumed, 1, __ATOMIC_RELAXED);
	}
	r = real(s);
	if (keep == NULL || *keep != '1')
		SSL_set_session(s, NULL); /* the next SSL_connect is a full handshake */
	return r;
}

__attribute__((destructor)) static void report(void)
{
	const char *f = getenv("SHIM_REPORT");
	FILE *fp;

	if (f != NULL && (fp = fopen(f, "w")) != NULL) {
		fprintf(fp, "%lu %lu %lu\n", n_conns, n_resumed, n_tickets);
		fclose(fp);
	}
}
EOF
cc -O2 -shared -fPIC -o "$W/shim.so" "$W/shim.c" -lssl -ldl >"$W/shim.log" 2>&1 || {
	cat "$W/shim.log" >&2
	die "cannot compile the wrk shim (a C compiler and libssl-dev are needed)"
}

# ---------------------------------------------------------- the upstream

UP_PORT=$(free_port)
mkdir -p "$W/upstream"
cat >"$W/upstream/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile 20000;
pid $W/upstream/nginx.pid;
error_log $W/upstream/error.log;
events { worker_connections 10000; }
http {
	access_log off;
	client_body_temp_path $W/upstream/body;
	proxy_temp_path $W/upstream/proxy;
	fastcgi_temp_path $W/upstream/fastcgi;
	uwsgi_temp_path $W/upstream/uwsgi;
	scgi_temp_path $W/upstream/scgi;
	keepalive_requests 10000000;
	keepalive_timeout 300s;
	client_header_timeout 300s;
	server {
		listen 127.0.0.1:$UP_PORT;
		location / {
			default_type text/plain;
			return 200 "hello from the upstream, a small static response\n";
		}
	}
}
EOF
taskset -c "$UP_CPUS" nginx -e "$W/upstream/error.log" -c "$W/upstream/nginx.conf" \
	-g 'daemon off;' >"$W/upstream/out.log" 2>&1 &
UP_PID=$!
PIDS+=("$UP_PID")
wait_port "$UP_PORT" "$UP_PID" || {
	cat "$W/upstream/out.log" "$W/upstream/error.log" >&2
	die "the upstream nginx did not start"
}

# -------------------------------------------------------- the proxies

# start_PROXY DIR PORT WORKERS CPUS: start it in the background (PID in
# $SRV_PID); its configuration and logs go in DIR.

start_moat() {
	cat >"$1/serve.conf" <<EOF
listen 127.0.0.1
http-port 0
https-port $2
workers $3
access-log off
idle-timeout 300s
header-timeout 60s
max-connections 20000
site localhost 127.0.0.1 {
	upstream http://127.0.0.1:$UP_PORT
	cert files $CHAIN $KEY
}
EOF
	taskset -c "$4" "$MOAT" serve --config "$1/serve.conf" >"$1/out.log" 2>&1 &
	SRV_PID=$!
}

start_nginx() {
	cat >"$1/nginx.conf" <<EOF
worker_processes $3;
worker_rlimit_nofile 20000;
pid $1/nginx.pid;
error_log $1/error.log;
events { worker_connections 10000; }
http {
	access_log off;
	client_body_temp_path $1/body;
	proxy_temp_path $1/proxy;
	fastcgi_temp_path $1/fastcgi;
	uwsgi_temp_path $1/uwsgi;
	scgi_temp_path $1/scgi;
	keepalive_requests 10000000;
	keepalive_timeout 300s;
	client_header_timeout 300s;
	upstream app {
		server 127.0.0.1:$UP_PORT;
		keepalive 64;
		keepalive_requests 10000000;
		keepalive_timeout 300s;
	}
	server {
		listen 127.0.0.1:$2 ssl;
		ssl_certificate $CHAIN;
		ssl_certificate_key $KEY;
		ssl_protocols TLSv1.3;
		location / {
			proxy_pass http://app;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}
}
EOF
	taskset -c "$4" nginx -e "$1/error.log" -c "$1/nginx.conf" -g 'daemon off;' >"$1/out.log" 2>&1 &
	SRV_PID=$!
}

start_haproxy() {
	cat >"$1/haproxy.cfg" <<EOF
global
	nbthread $3
	maxconn $((IDLE_CONNS + 1000))
	ssl-default-bind-options ssl-min-ver TLSv1.3
defaults
	mode http
	option http-keep-alive
	http-reuse always
	timeout connect 5s
	timeout client 300s
	timeout server 60s
	timeout http-request 300s
	timeout http-keep-alive 300s
frontend tls
	bind 127.0.0.1:$2 ssl crt $W/combined.pem ssl-min-ver TLSv1.3
	default_backend app
backend app
	server app 127.0.0.1:$UP_PORT
EOF
	taskset -c "$4" haproxy -db -f "$1/haproxy.cfg" >"$1/out.log" 2>&1 &
	SRV_PID=$!
}

start_hitch() {
	mkdir -p "$1/ocsp"
	chmod 777 "$1/ocsp"
	cat >"$1/hitch.conf" <<EOF
frontend = "[127.0.0.1]:$2"
backend = "[127.0.0.1]:$UP_PORT"
pem-file = "$W/combined.pem"
tls-protos = TLSv1.3
workers = $3
backlog = 1024
daemon = off
syslog = off
log-level = 1
ocsp-dir = "$1/ocsp"
EOF
	# hitch refuses to run its workers as root
	[ "$(id -u)" != 0 ] || echo 'user = "nobody"' >>"$1/hitch.conf"
	taskset -c "$4" hitch --config="$1/hitch.conf" >"$1/out.log" 2>&1 &
	SRV_PID=$!
}

start_caddy() {
	mkdir -p "$1/home"
	cat >"$1/Caddyfile" <<EOF
{
	admin off
	auto_https off
	storage file_system $1/home/data
	servers {
		protocols h1
		timeouts {
			idle 300s
		}
	}
}
https://localhost:$2 {
	tls $CHAIN $KEY {
		protocols tls1.3
	}
	reverse_proxy 127.0.0.1:$UP_PORT {
		transport http {
			keepalive 300s
			keepalive_idle_conns 128
			keepalive_idle_conns_per_host 128
		}
	}
}
EOF
	HOME=$1/home XDG_DATA_HOME=$1/home/data XDG_CONFIG_HOME=$1/home/config GOMAXPROCS=$3 \
		taskset -c "$4" caddy run --adapter caddyfile --config "$1/Caddyfile" >"$1/out.log" 2>&1 &
	SRV_PID=$!
}

# start PROXY WORKERS CPUS TAG: start it, wait until it answers through to
# the upstream; sets SRV_PID, SRV_PORT, SRV_DIR.
start() {
	SRV_DIR=$W/$4
	mkdir -p "$SRV_DIR"
	SRV_PORT=$(free_port)
	"start_$1" "$SRV_DIR" "$SRV_PORT" "$2" "$3"
	PIDS+=("$SRV_PID")
	if ! wait_port "$SRV_PORT" "$SRV_PID"; then
		cat "$SRV_DIR"/*.log >&2
		die "$1 did not start"
	fi
	local i body
	for ((i = 0; i < 50; i++)); do
		body=$(curl -sS --max-time 5 --cacert "$ROOTCA" --resolve "localhost:$SRV_PORT:127.0.0.1" \
			"https://localhost:$SRV_PORT/" 2>&1)
		case $body in
		*"from the upstream"*) return 0 ;;
		esac
		sleep 0.1
	done
	cat "$SRV_DIR"/*.log >&2
	die "$1 does not pass requests to the upstream: $body"
}

# The processes whose CPU counts: nginx's and hitch's workers (not the
# master / manager, which only waits), or the whole process (all threads).
cpu_pids() {
	case $1 in
	nginx | hitch) descendants "$SRV_PID" ;;
	*) echo "$SRV_PID" ;;
	esac
}
# The processes whose memory counts: all of them.
mem_pids() {
	echo "$SRV_PID"
	descendants "$SRV_PID"
}

# wrk_run OUT CPUS PIDS -- WRK ARGS...: wrk on CPUS with the shim; writes
# OUT.wrk (wrk's output), OUT.shim (the shim's counts) and OUT.cpu (the
# proxy's user and system CPU ticks used, and the wall time in ns).
wrk_run() {
	local out=$1 cpus=$2 pids=$3 c0 c1 t0 t1 u0 k0 u1 k1
	shift 4
	# shellcheck disable=SC2086 # a list of PIDs
	c0=$(cpu_ticks $pids)
	t0=$(date +%s%N)
	SHIM_REPORT=$out.shim SHIM_RESUME=${WRK_RESUME:-0} LD_PRELOAD=$W/shim.so \
		taskset -c "$cpus" wrk "$@" >"$out.wrk" 2>&1
	sleep 0.3 # let the proxy finish closing wrk's connections
	t1=$(date +%s%N)
	# shellcheck disable=SC2086
	c1=$(cpu_ticks $pids)
	read -r u0 k0 <<<"$c0"
	read -r u1 k1 <<<"$c1"
	echo "$((u1 - u0)) $((k1 - k0)) $((t1 - t0))" >"$out.cpu"
}

# idle_run OUT PROXY: hold IDLE_CONNS idle TLS connections; OUT.idle gets
# "rss_before rss_after established" (KiB), OUT.json the client's report.
idle_run() {
	local out=$1 r0 r1 est i ipid mp
	mp=$(mem_pids "$2")
	# shellcheck disable=SC2086
	r0=$(rss_kib $mp)
	rm -f "$out.ready"
	taskset -c "$CLIENT_CPUS" "$PY" "$IDLE_PY" 127.0.0.1 "$SRV_PORT" --conns "$IDLE_CONNS" \
		--cafile "$ROOTCA" --servername localhost --ready-file "$out.ready" \
		>"$out.json" 2>"$out.err" &
	ipid=$!
	for ((i = 0; i < 1200; i++)); do
		[ -f "$out.ready" ] && break
		kill -0 "$ipid" 2>/dev/null || break
		sleep 0.1
	done
	sleep 2 # let the proxy settle (a garbage collector, deferred frees)
	# shellcheck disable=SC2086
	mp=$(mem_pids "$2")
	# shellcheck disable=SC2086
	r1=$(rss_kib $mp)
	est=$(cat "$out.ready" 2>/dev/null || echo 0)
	kill "$ipid" 2>/dev/null
	wait "$ipid" 2>/dev/null
	echo "$r0 $r1 $est" >"$out.idle"
	sleep 1 # the proxy closes the 2,000 connections
}

# The negotiated parameters, once per proxy.
tls_params() {
	local b12
	b12=$(openssl s_client -connect "127.0.0.1:$SRV_PORT" -servername localhost -tls1_2 </dev/null 2>&1 |
		grep -q '^New, TLSv1\.2,' && echo "TLS 1.2 also accepted" || echo "TLS 1.2 refused")
	openssl s_client -connect "127.0.0.1:$SRV_PORT" -servername localhost -brief </dev/null 2>&1 |
		sed -n -e 's/^Protocol version: //p' -e 's/^Ciphersuite: //p' -e 's/^Signature type: //p' \
			-e 's/^Server Temp Key: \([^,]*\).*/\1/p' | paste -sd, | sed 's/,/, /g'
	echo "$b12"
}

# ------------------------------------------------------------- the runs

versions() {
	echo "moat: $("$MOAT" --version 2>&1 | head -n 1)"
	echo "nginx: $(nginx -v 2>&1 | sed 's/^nginx version: //')"
	echo "haproxy: $(haproxy -v 2>&1 | head -n 1 | cut -d' ' -f1-3)"
	command -v hitch >/dev/null && echo "hitch: $(hitch --version 2>&1 | head -n 1)"
	command -v caddy >/dev/null && echo "caddy: caddy $(caddy version 2>&1 | head -n 1 | cut -d' ' -f1)"
	echo "wrk: $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)"
}

RES=$W/results.tsv # run proxy metric value
: >"$RES"
WRK_HS=(-t"$THREADS" -c"$CONNS" -d"${DURATION}s" -H 'Connection: close')
WRK_KA=(-t"$THREADS" -c"$CONNS" -d"${DURATION}s")

total=$(((${#LIST[@]} * (2 * DURATION + 12) + (SCALE_DURATION > 0 ? 4 * (SCALE_DURATION + 3) : 0)) * BENCH_RUNS))
note "$BENCH_RUNS run(s) of ${LIST[*]}; about $((total / 60 + 1)) min"

for ((run = 1; run <= BENCH_RUNS; run++)); do
	for p in "${LIST[@]}"; do
		note "run $run/$BENCH_RUNS: $p"
		start "$p" 1 "$PROXY_CPUS" "$p-$run"
		if [ "$run" = 1 ]; then
			tls_params | paste -sd';' | sed "s/^/$p	/" >>"$W/tls.tsv"
		fi
		o=$W/$p-$run
		cp=$(cpu_pids "$p")
		wait_quiet >"$o/bg"
		# warm-up: connections to the upstream, allocator, lazy set-up
		taskset -c "$CLIENT_CPUS" wrk -t"$THREADS" -c"$CONNS" -d1s \
			"https://localhost:$SRV_PORT/" >"$o/warmup.wrk" 2>&1
		idle_run "$o/idle" "$p"
		wrk_run "$o/hs" "$CLIENT_CPUS" "$cp" -- "${WRK_HS[@]}" "https://localhost:$SRV_PORT/"
		wrk_run "$o/ka" "$CLIENT_CPUS" "$cp" -- "${WRK_KA[@]}" "https://localhost:$SRV_PORT/"
		kill -0 "$SRV_PID" 2>/dev/null || die "$p died during the run (see $o)"
		stop "$SRV_PID"
		echo "$run $p $o" >>"$W/dirs"
	done
	if [ "$SCALE_DURATION" -gt 0 ]; then
		for p in moat nginx; do
			for w in 1 2; do
				note "run $run/$BENCH_RUNS: scaling, $p with $w workers"
				start "$p" "$w" "$ALL_CPUS" "scale-$p-$w-$run"
				o=$W/scale-$p-$w-$run
				cp=$(cpu_pids "$p")
				wait_quiet >"$o/bg"
				wrk -t"$THREADS" -c"$CONNS" -d1s "https://localhost:$SRV_PORT/" >"$o/warmup.wrk" 2>&1
				wrk_run "$o/ka" "$ALL_CPUS" "$cp" -- -t"$THREADS" -c"$CONNS" -d"${SCALE_DURATION}s" \
					"https://localhost:$SRV_PORT/"
				stop "$SRV_PID"
				echo "$run scale-$p-$w $o" >>"$W/dirs"
			done
		done
	fi
done

# ------------------------------------------------------------- report

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
buildtype=unknown
info=$(dirname "$MOAT")/meson-info/intro-buildoptions.json
if [ -f "$info" ]; then
	buildtype=$("$PY" -c '
import json, sys
for o in json.load(open(sys.argv[1])):
    if o["name"] == "buildtype":
        print(o["value"])' "$info")
fi

echo "# moat serve vs nginx and HAProxy ($(date -u +%F), $NCPU CPUs, median of $BENCH_RUNS run(s))"
echo
"$PY" - "$W/dirs" "$W/tls.tsv" "$CLK_TCK" "$IDLE_CONNS" "${WRK_RESUME:-0}" <<'EOF'
import re, statistics, sys

dirs, tls_file, clk, idle_n, resume = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"
runs = {}  # proxy -> list of dicts
order = []
for line in open(dirs):
    run, p, d = line.split()
    if p not in runs:
        runs[p] = []
        order.append(p)
    runs[p].append(d)

def wrk(path):
    t = open(path, errors="replace").read()
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", t)
    req = int(m.group(1)) if m else 0
    sec = float(m.group(2)) * {"s": 1, "ms": 1e-3, "m": 60, "us": 1e-6}.get(m.group(3), 1) if m else 0
    err = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
    if m:
        err += sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    bad = int(m.group(1)) if m else 0
    return req, sec, err, bad

def measure(d, what):
    req, sec, err, bad = wrk(f"{d}/{what}.wrk")
    ut, st, ns = (int(x) for x in open(f"{d}/{what}.cpu").read().split())
    cpu_s = (ut + st) / clk
    try:
        conns, resumed, tickets = (int(x) for x in open(f"{d}/{what}.shim").read().split())
    except (OSError, ValueError):
        conns = resumed = tickets = -1
    return {"req": req, "rate": req / sec if sec else 0, "us": cpu_s * 1e6 / req if req else float("nan"),
            "sys": st / (ut + st) * 100 if ut + st else float("nan"),
            "busy": cpu_s / (ns / 1e9) * 100, "err": err, "bad": bad, "conns": conns,
            "resumed": resumed, "tickets": tickets}

def idle(d):
    r0, r1, est = (int(x) for x in open(f"{d}/idle.idle").read().split())
    return {"kib": (r1 - r0) / est if est else float("nan"), "est": est, "rss0": r0, "rss1": r1}

med = statistics.median
R = {}
for p in order:
    if p.startswith("scale-"):
        continue
    hs = [measure(d, "hs") for d in runs[p]]
    ka = [measure(d, "ka") for d in runs[p]]
    il = [idle(d) for d in runs[p]]
    R[p] = {"hs_rate": med(x["rate"] for x in hs), "hs_us": med(x["us"] for x in hs),
            "ka_rate": med(x["rate"] for x in ka), "ka_us": med(x["us"] for x in ka),
            "kib": med(x["kib"] for x in il), "hs": hs, "ka": ka, "il": il,
            "bg": [int(open(f"{d}/bg").read()) for d in runs[p]]}

names = {"moat": "moat serve", "nginx": "nginx", "haproxy": "HAProxy", "hitch": "hitch", "caddy": "Caddy"}
print("| proxy | handshakes/s | CPU µs / handshake | requests/s (keep-alive) | CPU µs / request | KiB / idle TLS connection |")
print("|---|---:|---:|---:|---:|---:|")
for p, r in R.items():
    print(f"| {names.get(p, p)} | {r['hs_rate']:,.0f} | {r['hs_us']:.0f} | {r['ka_rate']:,.0f} | {r['ka_us']:.1f} | {r['kib']:.1f} |")
print()

goals = [("CPU per handshake", "hs_us", 0.75), ("CPU per request", "ka_us", 0.6), ("memory per idle connection", "kib", 0.85)]
if "moat" in R:
    for ref in ("nginx", "haproxy", "hitch", "caddy"):
        if ref not in R:
            continue
        parts = []
        for label, k, g in goals:
            q = R["moat"][k] / R[ref][k]
            if ref == "nginx":
                parts.append(f"{label} {q:.2f}× (goal ≤ {g}: **{'PASS' if q <= g else 'FAIL'}**)")
            else:
                parts.append(f"{label} {q:.2f}×")
        print(f"- moat / {names[ref]}: " + "; ".join(parts))
    print()

sc = {}
for p in order:
    m = re.match(r"scale-(\w+)-(\d+)$", p)
    if m:
        sc[(m.group(1), int(m.group(2)))] = [measure(d, "ka") for d in runs[p]]
if sc:
    line = []
    for prox in ("moat", "nginx"):
        if (prox, 1) in sc and (prox, 2) in sc:
            r1 = med(x["rate"] for x in sc[(prox, 1)])
            r2 = med(x["rate"] for x in sc[(prox, 2)])
            c1 = med(x["busy"] for x in sc[(prox, 1)])
            c2 = med(x["busy"] for x in sc[(prox, 2)])
            u1 = med(x["us"] for x in sc[(prox, 1)])
            u2 = med(x["us"] for x in sc[(prox, 2)])
            line.append(f"{names[prox]} {r1:,.0f} → {r2:,.0f} requests/s (**{r2 / r1:.2f}×**; "
                        f"proxy CPU {c1:.0f}% → {c2:.0f}% of one CPU, {u1:.1f} → {u2:.1f} µs/request)")
    print("- Scaling, keep-alive, 1 → 2 workers, nothing pinned: " + "; ".join(line))
    print()

print("<details><summary>Per-run details</summary>")
print()
print("| proxy | run | others' load | handshakes | CPU µs/hs | of which kernel | proxy CPU busy | resumed | tickets/conn | errors | requests | CPU µs/req | of which kernel | busy | errors | idle established | RSS before → after (KiB) | KiB/conn |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
for p, r in R.items():
    for i, (h, k, l, bg) in enumerate(zip(r["hs"], r["ka"], r["il"], r["bg"]), 1):
        tpc = h["tickets"] / h["conns"] if h["conns"] > 0 else float("nan")
        print(f"| {p} | {i} | {bg}% | {h['req']} | {h['us']:.0f} | {h['sys']:.0f}% | {h['busy']:.0f}% | {h['resumed']}/{h['conns']} | {tpc:.1f} | "
              f"{h['err'] + h['bad']} | {k['req']} | {k['us']:.1f} | {k['sys']:.0f}% | {k['busy']:.0f}% | {k['err'] + k['bad']} | "
              f"{l['est']} | {l['rss0']} → {l['rss1']} | {l['kib']:.1f} |")
print()
print("</details>")
print()

warn = []
for p, r in R.items():
    for h in r["hs"]:
        if not resume and h["resumed"] > 0:
            warn.append(f"{p}: {h['resumed']} of {h['conns']} handshakes were resumed")
        if h["err"] or h["bad"]:
            warn.append(f"{p}: handshake run had {h['err']} socket errors, {h['bad']} bad responses")
    for k in r["ka"]:
        if k["err"] or k["bad"]:
            warn.append(f"{p}: keep-alive run had {k['err']} socket errors, {k['bad']} bad responses")
    for l in r["il"]:
        if l["est"] != idle_n:
            warn.append(f"{p}: only {l['est']} of {idle_n} idle connections were established")
for w in warn:
    print(f"- **Warning**: {w}")
if warn:
    print()

print("Negotiated (openssl s_client):")
print()
for line in open(tls_file):
    p, t = line.rstrip("\n").split("\t", 1)
    print(f"- {names.get(p, p)}: {t.replace(';', '; ')}")
print()
EOF

if [ "${WRK_RESUME:-0}" = 1 ]; then
	resume_note="wrk resuming TLS sessions as it does by default (WRK_RESUME=1): most handshakes are PSK resumptions"
else
	resume_note="wrk with an LD_PRELOAD shim that drops the session after each connection (wrk's SSL_clear otherwise resumes it on the next one): every connection a full handshake, which the shim counts and the script checks"
fi
cat <<EOF
Method: every proxy terminates TLS 1.3 on 127.0.0.1 with the same ECDSA P-256 leaf and
intermediate (made by \`moat issue\`) and proxies to the same upstream, a separate
nginx (one worker, \`return 200\` with a 49-byte body, its CPU not counted), with
keep-alive to it: moat's pool; nginx \`keepalive 64\`, HTTP/1.1, \`Connection ""\`;
HAProxy \`http-reuse always\`; Caddy \`keepalive_idle_conns_per_host 128\` (with its
default it reopened upstream connections for about half the requests); hitch cannot
(one backend connection per client connection). One worker each: moat \`workers 1\`,
nginx \`worker_processes 1\`, HAProxy \`nbthread 1\`, hitch \`workers = 1\`, Caddy
GOMAXPROCS=1; access logs off; $PLACEMENT.
CPU = utime + stime from /proc/PID/stat (ticks of 1/$CLK_TCK s) of nginx's and hitch's
worker processes, of the whole process (all threads) for the others, read before and
after each wrk run. Handshakes: $resume_note; CPU µs per handshake = ΔCPU / responses.
Idle: $IDLE_CONNS connections by \`tests/integration/idle_conns.py\` (verified
handshakes, then nothing sent); ΔVmRSS summed over the proxy's processes / connections
established, 2 s after the last one. Each run starts every proxy afresh and warms it up
with 1 s of keep-alive wrk; runs interleaved; median of $BENCH_RUNS.

Environment: ${cpu:-unknown CPU}, $NCPU CPUs, $(uname -sr); $(openssl version);
$(versions | paste -sd';' | sed 's/;/; /g') ($buildtype, \`$MOAT\`).

Reproduce: \`BENCH_RUNS=$BENCH_RUNS DURATION=$DURATION CONNS=$CONNS IDLE_CONNS=$IDLE_CONNS bench/serve.sh\`

<details><summary>Exact commands</summary>

\`\`\`sh
EOF
q() { printf '%q ' "$@" | sed 's/ $//'; }
echo "# handshakes (the proxy on CPU $PROXY_CPUS)"
echo "LD_PRELOAD=shim.so taskset -c $CLIENT_CPUS $(q wrk "${WRK_HS[@]}" "https://localhost:PORT/")"
echo "# keep-alive requests"
echo "LD_PRELOAD=shim.so taskset -c $CLIENT_CPUS $(q wrk "${WRK_KA[@]}" "https://localhost:PORT/")"
echo "# idle connections"
echo "taskset -c $CLIENT_CPUS $(q /usr/bin/python3 tests/integration/idle_conns.py 127.0.0.1 PORT --conns "$IDLE_CONNS" --cafile root.pem --servername localhost --ready-file READY)"
if [ "$SCALE_DURATION" -gt 0 ]; then
	echo "# scaling (nothing pinned; --workers 1 and 2)"
	q wrk -t"$THREADS" -c"$CONNS" -d"${SCALE_DURATION}s" "https://localhost:PORT/"
	echo
fi
printf '```\n\n</details>\n'
