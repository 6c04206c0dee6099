# shellcheck shell=bash
# shellcheck disable=SC2034 # SV_*, UP_* are read by the test scripts
# lib_serve.sh: helpers for the `moat serve` tests (source it after lib.sh).
#
#   serve_need_tools            skip the test unless curl, openssl and Debian's
#                               /usr/bin/python3 are there
#   start_upstream NAME [ARGS]  upstream.py on a free loopback port:
#                               UP_PORT[NAME], UP_PID[NAME], $T/up-NAME.log
#   serve_start ARGS...         moat serve --listen 127.0.0.1 on free ports
#                               (https, http, admin), waits for "ready" and the
#                               port: SV_PID, SV_HTTPS, SV_HTTP, SV_ADMIN,
#                               SV_ERR (stderr), SV_OUT (stdout), SV_LISTEN;
#                               SV_ADDR=ADDR listens on ADDR instead (::1),
#                               SV_PORTS="HTTPS HTTP" on those ports
#   serve_stop [PID]            SIGTERM, wait (at most SV_STOP_TIMEOUT s, then
#                               SIGKILL); SV_RC is its exit status
#   scurl ARGS...               curl trusting only the test CA's root, with
#                               --resolve NAME:PORT:127.0.0.1 for every name
#                               in SV_NAMES and both ports
#   surl PATH [NAME]            https://NAME:SV_HTTPS/PATH (NAME default
#                               chat.localhost)
#   tls_raw REQFILE [NAME]      send REQFILE's bytes over TLS, print what
#                               comes back until the server closes
#   metric SERIES               one value from the admin /metrics
#   rss_kib PID                 VmRSS of PID in KiB
#   rss_watch_start PID, rss_watch_stop: the peak VmRSS in between
#
# The upstream and the other peers need Debian's python3 (python3-websockets
# for ws_echo.py), not whatever python3 is first on PATH.

PY=/usr/bin/python3
ROOT_PEM=$MOAT_HOME/ca/root.pem
SV_NAMES=(chat.localhost)
SV_WORKERS=${SV_WORKERS:-2}
SV_START_TIMEOUT=${SV_START_TIMEOUT:-60}
SV_STOP_TIMEOUT=${SV_STOP_TIMEOUT:-40}
SV_PID=''
SV_HTTPS=''
SV_HTTP=''
SV_ADMIN=''
SV_ERR=''
SV_OUT=''
SV_RC=''
SV_N=0
declare -A UP_PORT=()
declare -A UP_PID=()
mkdir -p "$T/.empty-capath"

serve_need_tools() {
	local tool
	for tool in curl openssl "$PY"; do
		command -v "$tool" >/dev/null 2>&1 || skip_test "$tool is not installed"
	done
}

# Is the binary under test built with AddressSanitizer?  (Its allocator keeps
# freed memory in quarantine, so memory figures mean something else there.)
is_asan() {
	LC_ALL=C grep -qa '__asan_init' "$MOAT"
}

rss_kib() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

# rss_watch_start PID / rss_watch_stop: sample PID's VmRSS every 20 ms in
# between; rss_watch_stop sets RSS_PEAK (KiB) and RSS_SAMPLES (call it
# directly, not in $(...): it waits for the sampler).
RSS_WATCHER=''
RSS_PEAK=0
RSS_SAMPLES=0
cat >"$T/.rss_watch.py" <<'EOF'
import signal, sys, time
pid, out = sys.argv[1], sys.argv[2]
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
peak = n = 0
while not stop:
    try:
        with open("/proc/%s/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    peak = max(peak, int(line.split()[1]))
                    n += 1
    except OSError:
        break
    time.sleep(0.02)
with open(out, "w") as f:
    f.write("%d %d\n" % (peak, n))
EOF
rss_watch_start() {
	rm -f "$T/.rss_watch.out"
	"$PY" "$T/.rss_watch.py" "$1" "$T/.rss_watch.out" &
	RSS_WATCHER=$!
}
rss_watch_stop() {
	kill -TERM "$RSS_WATCHER" 2>/dev/null
	wait "$RSS_WATCHER" 2>/dev/null
	RSS_PEAK=0
	RSS_SAMPLES=0
	if [ -s "$T/.rss_watch.out" ]; then
		read -r RSS_PEAK RSS_SAMPLES <"$T/.rss_watch.out"
	fi
}

# wait_file PID FILE [TIMEOUT_S]: until FILE exists and is not empty, while
# PID runs.
wait_file() {
	local pid=$1 file=$2 limit=$((${3:-15} * 10)) i=0
	while [ "$i" -lt "$limit" ]; do
		[ -s "$file" ] && return 0
		pid_alive "$pid" || return 1
		i=$((i + 1))
		sleep 0.1 # poll interval, not a readiness guess
	done
	return 1
}

# start_peer NAME TIMEOUT_S CMD...: start CMD, a peer that writes its port
# (or "ready") into $T/NAME.port once it is ready, in the background, its
# stderr in $T/NAME.err, and wait up to TIMEOUT_S for it.  Sets PEER_PID and
# PEER_PORT (the file's text); 1 (its stderr shown) when it exited first or
# did not get ready in time.  It is stopped at the end (SERVER_PIDS).
PEER_PID=''
PEER_PORT=''
start_peer() {
	local name=$1 limit=$2
	shift 2
	"$@" 2>"$T/$name.err" &
	PEER_PID=$!
	SERVER_PIDS+=("$PEER_PID")
	if wait_file "$PEER_PID" "$T/$name.port" "$limit"; then
		PEER_PORT=$(cat "$T/$name.port")
		return 0
	fi
	note "$name did not start within $limit s:"
	sed -e "s/^/#   $name: /" "$T/$name.err" | tail -n 10
	return 1
}

# jfield JSON EXPR: EXPR over d (the JSON object) printed, or "?" if the
# text is not JSON (a crashed helper).
jfield() {
	"$PY" -c '
import json, sys
try:
    d = json.loads(sys.argv[1])
    r = eval(sys.argv[2])
except Exception:
    r = "?"
print(json.dumps(r) if isinstance(r, (list, dict, bool)) or r is None else r)
' "$1" "$2"
}

# ms FLOAT_SECONDS: whole milliseconds ("?" stays "?").
ms() { "$PY" -c 'import sys
try: print(int(float(sys.argv[1]) * 1000))
except ValueError: print("?")' "$1"; }

# wait_grep PID FILE ERE [TIMEOUT_S]: until FILE has a line matching ERE,
# while PID runs.
wait_grep() {
	local pid=$1 file=$2 re=$3 limit=$((${4:-15} * 10)) i=0
	while [ "$i" -lt "$limit" ]; do
		grep -qE -- "$re" "$file" 2>/dev/null && return 0
		pid_alive "$pid" || return 1
		i=$((i + 1))
		sleep 0.1 # poll interval, not a readiness guess
	done
	return 1
}

# until_true TIMEOUT_S CMD...: run CMD every 0.1 s until it succeeds.
until_true() {
	local limit=$(($1 * 10)) i=0
	shift
	while [ "$i" -lt "$limit" ]; do
		"$@" >/dev/null 2>&1 && return 0
		i=$((i + 1))
		sleep 0.1 # poll interval, not a readiness guess
	done
	return 1
}

# ------------------------------------------------------------ upstreams

# start_upstream NAME [ARGS...]: tests/integration/upstream.py --name NAME.
start_upstream() {
	local name=$1 pid
	shift
	rm -f "$T/up-$name.port"
	"$PY" "$IT_DIR/upstream.py" --port 0 --ready-file "$T/up-$name.port" --name "$name" "$@" \
		</dev/null >/dev/null 2>"$T/up-$name.log" &
	pid=$!
	SERVER_PIDS+=("$pid")
	if ! wait_file "$pid" "$T/up-$name.port" 15; then
		note "upstream $name did not start:"
		sed -e 's/^/#   /' "$T/up-$name.log" | tail -n 5
		return 1
	fi
	UP_PORT[$name]=$(cat "$T/up-$name.port")
	UP_PID[$name]=$pid
}

# need_upstream NAME...: start them or end the test.
need_upstream() {
	local n
	for n in "$@"; do
		if ! start_upstream "$n"; then
			fail "upstream $n (cannot continue)"
			finish
		fi
	done
}

# sv_free_ports [N [ADDR]]: N (default 1) different free ports on ADDR
# (default 127.0.0.1; ::1 works), all held open until every one is chosen
# (so they are different).  Like lib.sh's free_port, but with $PY, which
# starts quickly.
sv_free_ports() {
	"$PY" - "${1:-1}" "${2:-127.0.0.1}" <<'PYEOF'
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[2] else socket.AF_INET
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(fam)
    s.bind((sys.argv[2], 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PYEOF
}

# sv_wait_port PID PORT [TIMEOUT_S [ADDR]]: until something accepts on
# ADDR:PORT (default 127.0.0.1), while PID runs (one python process polls).
sv_wait_port() {
	local pid=$1 port=$2 limit=${3:-15} addr=${4:-127.0.0.1}
	"$PY" - "$pid" "$port" "$limit" "$addr" <<'PYEOF'
import os, socket, sys, time
pid, port, limit, addr = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
end = time.monotonic() + limit
def alive():
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False
while time.monotonic() < end and alive():
    s = socket.socket(fam)
    s.settimeout(0.5)
    try:
        s.connect((addr, port))
        s.close()
        sys.exit(0)
    except OSError:
        s.close()
    time.sleep(0.1)  # poll interval, not a readiness guess
sys.exit(1)
PYEOF
}

# jget EXPR < JSON: like lib.sh's json_get, with $PY.
jget() {
	"$PY" -c '
import json, sys
d = json.load(sys.stdin)
r = eval(sys.argv[1])
print(json.dumps(r) if isinstance(r, (list, dict, bool)) or r is None else r)
' "$1"
}

# ------------------------------------------------------------ moat serve

# serve_start ARGS...: see the top.  SV_NO_ADMIN=1 leaves out --admin;
# SV_ADDR (default 127.0.0.1) is the address of every listener; SV_PORTS
# "HTTPS HTTP" fixes those two ports (a peer that validates on fixed ones).
SV_LISTEN=127.0.0.1
serve_start() {
	local attempt pid https http admin ports err out addr=${SV_ADDR:-127.0.0.1} a
	local -a extra
	a=$addr
	[[ $addr == *:* ]] && a="[$addr]"
	for attempt in 1 2 3; do
		SV_N=$((SV_N + 1))
		out=$T/serve$SV_N.out
		err=$T/serve$SV_N.err
		ports=$(sv_free_ports 3 "$addr") || return 1
		read -r https http admin <<<"$ports"
		[ -n "${SV_PORTS:-}" ] && read -r https http <<<"$SV_PORTS"
		extra=(--listen "$addr" --https-port "$https" --http-port "$http" --workers "$SV_WORKERS")
		if [ -z "${SV_NO_ADMIN:-}" ]; then
			extra+=(--admin "$a:$admin")
		fi
		"$MOAT" serve "${extra[@]}" "$@" </dev/null >"$out" 2>"$err" &
		pid=$!
		SERVER_PIDS+=("$pid")
		if wait_grep "$pid" "$err" "^moat serve: ready \\(pid $pid\\)" "$SV_START_TIMEOUT" &&
			sv_wait_port "$pid" "$https" 15 "$addr"; then
			SV_PID=$pid
			SV_HTTPS=$https
			SV_HTTP=$http
			SV_ADMIN=$admin
			SV_ERR=$err
			SV_OUT=$out
			SV_LISTEN=$addr
			return 0
		fi
		serve_stop "$pid"
		if grep -qE 'cannot listen|is using it|in use' "$err"; then
			note "moat serve attempt $attempt: a port was taken, again with others"
			continue
		fi
		break
	done
	note "moat serve $* did not start:"
	sed -e 's/^/#   stderr: /' "$err" | tail -n 15
	SV_ERR=$err
	return 1
}

# need_serve ARGS...: serve_start or end the test.
need_serve() {
	if serve_start "$@"; then
		pass "moat serve started ($*)"
	else
		fail "moat serve $* (cannot continue)"
		finish
	fi
}

# serve_stop [PID]: SIGTERM, then wait for it; SV_RC = its exit status.
serve_stop() {
	local pid=${1:-$SV_PID}
	SV_RC=''
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	wait_exit "$pid" "$SV_STOP_TIMEOUT"
	SV_RC=$WAIT_RC
	return 0
}

# No report of AddressSanitizer / UBSan / LeakSanitizer in FILE.
assert_no_sanitizer_report() {
	local hits
	hits=$(grep -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: ' "$1" 2>/dev/null | head -n 5)
	if [ -z "$hits" ]; then
		pass "$2"
	else
		fail "$2"
		printf '%s\n' "$hits" | sed -e 's/^/#   /'
	fi
}

# serve_stop_checked DESC: stop the current server, it must exit 0 and
# have reported no sanitizer error.
serve_stop_checked() {
	serve_stop "$SV_PID"
	assert_eq "$SV_RC" 0 "$1: moat serve exits 0 on SIGTERM"
	assert_no_sanitizer_report "$SV_ERR" "$1: no sanitizer report"
	SV_PID=''
}

# ------------------------------------------------------------ clients

# scurl ARGS...: curl through the proxy, trusting only the test root.
scurl() {
	local -a res=()
	local n
	for n in "${SV_NAMES[@]}"; do
		res+=(--resolve "$n:$SV_HTTPS:127.0.0.1")
		if [ -n "$SV_HTTP" ] && [ "$SV_HTTP" != 0 ]; then
			res+=(--resolve "$n:$SV_HTTP:127.0.0.1")
		fi
	done
	curl -sS --max-time "${CURL_MAX_TIME:-30}" --noproxy '*' --cacert "$ROOT_PEM" \
		--capath "$T/.empty-capath" "${res[@]}" "$@"
}

surl() {
	printf 'https://%s:%s%s\n' "${2:-chat.localhost}" "$SV_HTTPS" "$1"
}

# metric SERIES: its value from /metrics (SERIES exactly as printed, with
# its labels), or nothing.
metric() {
	curl -sS --max-time 10 --noproxy '*' "http://127.0.0.1:$SV_ADMIN/metrics" 2>/dev/null |
		awk -v s="$1" '$1 == s { print $2; exit }'
}

# tls_raw REQFILE [NAME [TIMEOUT_S]]: the bytes of REQFILE over a verified
# TLS connection to the proxy (SNI NAME), everything the server sends back
# on stdout until it closes (exit 0) or TIMEOUT_S (default 10) pass (exit 3).
cat >"$T/.tls_raw.py" <<'EOF'
import socket, ssl, sys, time
port, name, ca, req, timeout = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
ctx = ssl.create_default_context(cafile=ca)
ctx.set_alpn_protocols(["http/1.1"])
data = open(req, "rb").read()
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=timeout), server_hostname=name)
s.sendall(data)
out = bytearray()
end = time.monotonic() + timeout
rc = 3
while time.monotonic() < end:
    s.settimeout(max(0.01, end - time.monotonic()))
    try:
        b = s.recv(65536)
    except socket.timeout:
        break
    except (ssl.SSLError, OSError):
        rc = 0
        break
    if not b:
        rc = 0
        break
    out += b
sys.stdout.buffer.write(bytes(out))
sys.exit(rc)
EOF
tls_raw() {
	"$PY" "$T/.tls_raw.py" "$SV_HTTPS" "${2:-chat.localhost}" "$ROOT_PEM" "$1" "${3:-10}"
}

# The status code of the first response line on stdin.
first_status() {
	head -n 1 | tr -d '\r' | awk '{ print $2 }'
}

# ------------------------------------------------------------ added for t_serve_renew and friends

# sv_utc_time OFFSET_S: now + OFFSET_S as an ASN.1 GeneralizedTime (UTC,
# YYYYMMDDHHMMSSZ).
sv_utc_time() {
	TZ=UTC0 printf '%(%Y%m%d%H%M%S)TZ\n' "$((EPOCHSECONDS + $1))"
}

# sv_craft_cert HOME NAME NB_OFFSET_S NA_OFFSET_S: a certificate for NAME
# valid from now + NB_OFFSET_S to now + NA_OFFSET_S (to the second: what
# `moat issue --days` cannot make), signed by the private CA in HOME with
# `openssl ca`, written where moat serve looks for a site's certificate:
# HOME/live/NAME/{privkey,cert,chain,fullchain}.pem.  Prints nothing; on
# failure returns 1 after a note with openssl's words.
sv_craft_cert() {
	local home=$1 name=$2 d live san
	d=$(mktemp -d "$T/.craft.XXXXXX") || return 1
	live=$home/live/$name
	case $name in
	*:* | [0-9]*.[0-9]*.[0-9]*.[0-9]*) san=IP:$name ;;
	*) san=DNS:$name ;;
	esac
	: >"$d/index.txt"
	cat >"$d/ca.cnf" <<CNF
[ ca ]
default_ca = c
[ c ]
database = $d/index.txt
new_certs_dir = $d
serial = $d/serial
certificate = $home/ca/intermediate.pem
private_key = $home/ca/intermediate-key.pem
default_md = sha256
policy = p
unique_subject = no
copy_extensions = none
email_in_dn = no
[ p ]
commonName = supplied
[ req ]
distinguished_name = dn
[ dn ]
[ ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $san
authorityKeyIdentifier = keyid
CNF
	if ! {
		openssl req -new -config "$d/ca.cnf" -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
			-noenc -keyout "$d/key.pem" -subj "/CN=$name" -out "$d/req.pem" &&
			openssl ca -batch -notext -config "$d/ca.cnf" -in "$d/req.pem" -out "$d/cert.pem" \
				-rand_serial -startdate "$(sv_utc_time "$3")" -enddate "$(sv_utc_time "$4")" \
				-extfile "$d/ca.cnf" -extensions ext
	} </dev/null >"$d/log" 2>&1; then
		note "sv_craft_cert $name failed:"
		sed -e 's/^/#   openssl: /' "$d/log" | tail -n 5
		return 1
	fi
	mkdir -p "$live" &&
		cp "$d/key.pem" "$live/privkey.pem" && chmod 600 "$live/privkey.pem" &&
		cp "$d/cert.pem" "$live/cert.pem" &&
		cp "$home/ca/intermediate.pem" "$live/chain.pem" &&
		cat "$d/cert.pem" "$home/ca/intermediate.pem" >"$live/fullchain.pem"
}

# sv_served_serial NAME [PORT [HOST]]: the serial (lower-case hex, no leading
# zeros) of the certificate moat serve sends for SNI NAME (default port
# SV_HTTPS on 127.0.0.1); nothing when no handshake.
sv_served_serial() {
	timeout 15 openssl s_client -connect "${3:-127.0.0.1}:${2:-$SV_HTTPS}" -servername "$1" \
		</dev/null 2>/dev/null |
		openssl x509 -noout -serial 2>/dev/null | sed -e 's/^serial=//' | tr 'A-F' 'a-f' |
		sed -e 's/^0*//'
}

# sv_save PREFIX / sv_restore PREFIX: keep the SV_* variables of one moat
# serve under PREFIX_* while another is started, and make it current again
# (serve_stop_checked, scurl, metric act on the current one).
sv_save() {
	local v src
	for v in PID HTTPS HTTP ADMIN ERR OUT; do
		src=SV_$v
		printf -v "$1_$v" '%s' "${!src}"
	done
}
sv_restore() {
	local v src
	for v in PID HTTPS HTTP ADMIN ERR OUT; do
		src=$1_$v
		printf -v "SV_$v" '%s' "${!src}"
	done
}

# sv_log_epoch FILE ERE [N]: the time (epoch seconds) of the Nth (default
# 1st) line of moat serve's error log matching ERE, from its timestamp
# ("2026-11-23 19:20:02 moat serve: ..."); nothing if there is none.
sv_log_epoch() {
	local line
	line=$(grep -E -- "$2" "$1" 2>/dev/null | sed -n "${3:-1}p")
	[ -n "$line" ] || return 1
	date -d "$(cut -c1-19 <<<"$line")" +%s
}

# sv_renewed_at LABEL NAME ERE DUE SLACK WAIT WHEN: wait up to WAIT s for
# the current server's error log line ERE saying NAME was renewed (with no
# one asking); it must have come between DUE and DUE+SLACK (epoch seconds;
# WHEN says what makes DUE the due moment).  Passes or fails either way.
sv_renewed_at() {
	local label=$1 name=$2 re=$3 due=$4 slack=$5 wait=$6 when=$7 at
	if wait_grep "$SV_PID" "$SV_ERR" "$re" "$wait"; then
		at=$(sv_log_epoch "$SV_ERR" "$re")
		pass "$label: $name renewed by itself"
		assert_int_between "$at" "$due" $((due + slack)) \
			"$label: ... $when (due $due, renewed $at), not before, within $slack s"
	else
		fail "$label: $name not renewed within $wait s ($when)"
		sed -e "s/^/#   $label: /" "$SV_ERR" | tail -n 5
	fi
}

