# shellcheck shell=bash
# lib_acme.sh: an ACME test CA on loopback for the integration tests and the
# benchmarks: pebble (Debian's package, 2.4) and pebble-challtestsrv as its DNS
# server.  Source it after lib.sh (it uses T, SERVER_PIDS, note and
# count_certs; a script without lib.sh defines those itself, as
# bench/acme.sh does):
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/lib_acme.sh"
#   acme_have_pebble || skip_test "pebble is not installed"
#   start_challtestsrv && start_pebble
#   ... a client: --server "$ACME_DIRECTORY" --ca-bundle "$ACME_CA_BUNDLE",
#       answering http-01 on 127.0.0.1:$ACME_HTTP_PORT
#       (tls-alpn-01 on 127.0.0.1:$ACME_TLS_PORT)
#   pebble_roots "$T/roots.pem"; openssl verify -CAfile "$T/roots.pem" ...
#
# Every name resolves (through challtestsrv) to 127.0.0.1 and to no IPv6
# address unless chall_add_a says otherwise; pebble's validation authority
# then connects to that address on ACME_HTTP_PORT / ACME_TLS_PORT.  (Pebble
# 2.4 asks AAAA first and connects only to the first address it got, with no
# fallback: were AAAA answered with ::1, a client on 127.0.0.1 would fail.)  Every
# server binds loopback only, on ports picked free (and picked again if one
# was taken meanwhile), is polled until it answers, and is killed by PID at
# exit through lib.sh's SERVER_PIDS.
#
# Exported after start_challtestsrv: CHALL_MGMT_URL, CHALL_DNS_PORT,
#   CHALL_PID, CHALL_LOG.
# Exported after start_pebble: ACME_DIRECTORY, ACME_CA_BUNDLE, PEBBLE_MGMT,
#   ACME_HTTP_PORT, ACME_TLS_PORT, PEBBLE_PID, PEBBLE_LOG.

ACME_DIR=$T/acme
mkdir -p "$ACME_DIR"

# Seconds to wait for a server to come up.
ACME_START_TIMEOUT=${ACME_START_TIMEOUT:-20}

CHALL_MGMT_URL=''
CHALL_DNS_PORT=''
CHALL_PID=''
CHALL_LOG=''
ACME_DIRECTORY=''
ACME_CA_BUNDLE=''
PEBBLE_MGMT=''
ACME_HTTP_PORT=''
ACME_TLS_PORT=''
PEBBLE_PID=''
PEBBLE_LOG=''
PEBBLE_N_ALT_ROOTS=0
_ACME_N=0 # instances started, for distinct file names

# ------------------------------------------------------------------ basics

# acme_have_pebble: both of Debian's pebble binaries are there.
acme_have_pebble() {
	command -v pebble >/dev/null 2>&1 && command -v pebble-challtestsrv >/dev/null 2>&1
}

# _acme_kill PID: stop one of our servers now, and forget its PID (lib.sh's
# forget_pid; a benchmark without lib.sh keeps it, harmlessly in its short
# life).
_acme_kill() {
	if [ -n "$1" ]; then
		kill "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		if declare -F forget_pid >/dev/null; then
			forget_pid "$1"
		fi
	fi
	return 0
}

# acme_free_ports N [udp]: N distinct ports free on 127.0.0.1, one a line (one
# python start for all: python starts slowly on some machines).  With "udp"
# the first one is free for UDP as well (a DNS server listens on both).
acme_free_ports() {
	python3 - "$1" "${2:-}" <<'EOF'
import socket, sys
n, udp = int(sys.argv[1]), sys.argv[2] == "udp"
held, ports = [], []
for _ in range(200):
    if len(ports) == n:
        break
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 0))
    held.append(t)
    port = t.getsockname()[1]
    if udp and not ports:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
        except OSError:
            continue
        held.append(u)
    ports.append(port)
for s in held:
    s.close()
if len(ports) < n:
    sys.exit(1)
print("\n".join(map(str, ports)))
EOF
}

# acme_tcp_open HOST PORT: something accepts TCP connections there (bash's
# /dev/tcp: no python start; on loopback a refusal is immediate).
acme_tcp_open() {
	(exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# acme_dns_query NAME TYPE [SERVER PORT]: ask a DNS server (default:
# challtestsrv) over UDP; prints the answers, one per line (A and AAAA as
# addresses, TXT as the text).  Exit 1 without an answer.
acme_dns_query() {
	python3 - "$1" "$2" "${3:-127.0.0.1}" "${4:-$CHALL_DNS_PORT}" <<'EOF'
import ipaddress, os, socket, struct, sys
name, qtype, server, port = sys.argv[1], sys.argv[2].upper(), sys.argv[3], int(sys.argv[4])
types = {"A": 1, "AAAA": 28, "TXT": 16}
qid = int.from_bytes(os.urandom(2), "big")
q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".")) + b"\0"
q += struct.pack(">HH", types[qtype], 1)
s = socket.socket(socket.AF_INET6 if ":" in server else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)
try:
    s.connect((server, port))  # so that "port unreachable" ends it at once
    s.send(q)
    d = s.recv(4096)
except OSError:
    sys.exit(1)
rid, flags, qd, an = struct.unpack(">HHHH", d[:8])
if rid != qid:
    sys.exit(1)

def skip_name(off):
    while True:
        n = d[off]
        if n == 0:
            return off + 1
        if n & 0xC0:
            return off + 2
        off += 1 + n

off = 12
for _ in range(qd):
    off = skip_name(off) + 4
found = False
for _ in range(an):
    off = skip_name(off)
    rtype, _cls, _ttl, rdlen = struct.unpack(">HHIH", d[off:off + 10])
    off += 10
    rdata = d[off:off + rdlen]
    off += rdlen
    if rtype != types[qtype]:
        continue
    found = True
    if rtype in (1, 28):
        print(ipaddress.ip_address(rdata))
    else:
        i, parts = 0, []
        while i < len(rdata):
            parts.append(rdata[i + 1:i + 1 + rdata[i]].decode())
            i += 1 + rdata[i]
        print("".join(parts))
sys.exit(0 if found else 1)
EOF
}

# _acme_fqdn NAME: NAME with exactly one trailing dot (challtestsrv keys its
# TXT records by the fully qualified name).
_acme_fqdn() {
	printf '%s.\n' "${1%.}"
}

# _acme_json KEY VALUE [KEY VALUE...]: a JSON object of strings; a KEY
# ending in "[]" adds VALUE to a list (repeat it for more elements).
_acme_json() {
	python3 -c '
import json, sys
a, d = sys.argv[1:], {}
for k, v in zip(a[::2], a[1::2]):
    if k.endswith("[]"):
        d.setdefault(k[:-2], []).append(v)
    else:
        d[k] = v
print(json.dumps(d))' "$@"
}

# ----------------------------------------------------------- challtestsrv

# _chall_post ENDPOINT JSON: POST to challtestsrv's management API.
_chall_post() {
	if [ -z "$CHALL_MGMT_URL" ]; then
		echo "lib_acme: challtestsrv is not running" >&2
		return 1
	fi
	curl -sS --fail --max-time 10 --noproxy '*' -o /dev/null \
		-H 'Content-Type: application/json' --data-binary "$2" "$CHALL_MGMT_URL/$1"
}

# chall_add_a HOST IP...: HOST resolves to these IPv4 addresses.
chall_add_a() {
	local host=$1 args=() ip
	shift
	for ip in "$@"; do
		args+=('addresses[]' "$ip")
	done
	_chall_post add-a "$(_acme_json host "$(_acme_fqdn "$host")" "${args[@]}")"
}

# chall_add_a_many < LINES: "HOST IP" per line, for many names at once (one
# python start, one connection).
chall_add_a_many() {
	python3 -c '
import http.client, json, sys
url = sys.argv[1].split("//", 1)[1]
c = http.client.HTTPConnection(url, timeout=10)
for line in sys.stdin:
    if not line.strip():
        continue
    host, ip = line.split()
    body = json.dumps({"host": host.rstrip(".") + ".", "addresses": [ip]})
    c.request("POST", "/add-a", body, {"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    if r.status != 200:
        sys.exit("add-a %s: HTTP %d" % (host, r.status))
' "$CHALL_MGMT_URL"
}

# chall_clear_a HOST: back to the default address.
chall_clear_a() { _chall_post clear-a "$(_acme_json host "$(_acme_fqdn "$1")")"; }

# chall_add_aaaa HOST IP... / chall_clear_aaaa HOST
chall_add_aaaa() {
	local host=$1 args=() ip
	shift
	for ip in "$@"; do
		args+=('addresses[]' "$ip")
	done
	_chall_post add-aaaa "$(_acme_json host "$(_acme_fqdn "$host")" "${args[@]}")"
}
chall_clear_aaaa() { _chall_post clear-aaaa "$(_acme_json host "$(_acme_fqdn "$1")")"; }

# chall_set_txt NAME VALUE: add a TXT record (e.g. _acme-challenge.NAME with
# a dns-01 key authorization digest).  Several values may coexist.
chall_set_txt() { _chall_post set-txt "$(_acme_json host "$(_acme_fqdn "$1")" value "$2")"; }

# chall_clear_txt NAME: remove every TXT record of NAME.
# chall_dns_hook FILE: write a moat --dns-hook script (`FILE add|remove NAME
# VALUE`) that sets and clears TXT records through challtestsrv's management
# API (standing in for a DNS provider's) and, when HOOK_LOG is set in its
# environment, records each call there.  CHALL_MGMT_URL must be exported.
chall_dns_hook() {
	cat >"$1" <<'EOF'
#!/bin/sh
[ -n "${HOOK_LOG:-}" ] && echo "$1 $2 $3 env:$MOAT_DNS_ACTION $MOAT_DNS_NAME $MOAT_DOMAIN" >>"$HOOK_LOG"
case $1 in
add) ep=set-txt; body="{\"host\":\"$2.\",\"value\":\"$3\"}" ;;
remove) ep=clear-txt; body="{\"host\":\"$2.\"}" ;;
*) exit 2 ;;
esac
curl -sS --fail --max-time 10 --noproxy '*' -X POST -d "$body" "$CHALL_MGMT_URL/$ep" >/dev/null
EOF
	chmod +x "$1"
}

chall_clear_txt() { _chall_post clear-txt "$(_acme_json host "$(_acme_fqdn "$1")")"; }

# chall_add_http01 TOKEN CONTENT / chall_del_http01 TOKEN: for challtestsrv's
# own http-01 server, when started with CHALL_HTTP01=1 (see below) and pebble
# validates on its port: PEBBLE_WANT_HTTP_PORT=$CHALL_HTTP01_PORT start_pebble.
# (An unknown or deleted token gets 200 with an empty body.)
chall_add_http01() { _chall_post add-http01 "$(_acme_json token "$1" content "$2")"; }
chall_del_http01() { _chall_post del-http01 "$(_acme_json token "$1")"; }

# _chall_ready: the DNS server answers the default A record and the
# management API answers.
_chall_ready() {
	acme_tcp_open 127.0.0.1 "${CHALL_MGMT_URL##*:}" &&
		acme_tcp_open 127.0.0.1 "$CHALL_DNS_PORT" &&
		{ [ -z "${CHALL_HTTP01:-}" ] || acme_tcp_open 127.0.0.1 "$CHALL_HTTP01_PORT"; } &&
		acme_dns_query ready.example.test A
}

# start_challtestsrv: pebble-challtestsrv on 127.0.0.1 with its DNS server
# and management API on free ports; its own http-01, https-01 and
# tls-alpn-01 servers are off (the client under test answers those), unless
# CHALL_HTTP01=1 (then its http-01 server listens on CHALL_HTTP01_PORT, a
# free port).  A queries get 127.0.0.1, AAAA queries nothing (CHALL_IPV6 to
# answer them with an address instead).
start_challtestsrv() {
	local attempt dns mgmt pid log http01='' ports
	_ACME_N=$((_ACME_N + 1))
	log=$ACME_DIR/challtestsrv.$_ACME_N.log
	for attempt in 1 2 3; do
		ports=$(acme_free_ports 3 udp) || return 1
		{ read -r dns && read -r mgmt && read -r CHALL_HTTP01_PORT; } <<<"$ports"
		if [ -n "${CHALL_HTTP01:-}" ]; then
			export CHALL_HTTP01_PORT
			http01=127.0.0.1:$CHALL_HTTP01_PORT
		fi
		pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "${CHALL_IPV6:-}" \
			-dns01 "127.0.0.1:$dns" -management "127.0.0.1:$mgmt" \
			-http01 "$http01" -https01 "" -tlsalpn01 "" \
			</dev/null >"$log" 2>&1 &
		pid=$!
		SERVER_PIDS+=("$pid")
		CHALL_DNS_PORT=$dns
		CHALL_MGMT_URL=http://127.0.0.1:$mgmt
		if poll_pid "$pid" "$ACME_START_TIMEOUT" _chall_ready; then
			CHALL_PID=$pid
			CHALL_LOG=$log
			export CHALL_MGMT_URL CHALL_DNS_PORT CHALL_PID CHALL_LOG
			return 0
		fi
		_acme_kill "$pid"
		note "challtestsrv attempt $attempt (dns $dns, management $mgmt) failed:"
		tail -n 5 "$log" | sed -e 's/^/#   challtestsrv: /'
	done
	CHALL_DNS_PORT=''
	CHALL_MGMT_URL=''
	return 1
}

stop_challtestsrv() {
	_acme_kill "$CHALL_PID"
	CHALL_PID=''
	CHALL_MGMT_URL=''
	CHALL_DNS_PORT=''
}

# ------------------------------------------------------------------ pebble

# _pebble_certs: a private CA and, signed by it, the certificate of pebble's
# own HTTPS listeners (localhost, 127.0.0.1, ::1); made once per test.
_pebble_certs() {
	local d=$ACME_DIR
	[ -s "$d/listener-ca.pem" ] && [ -s "$d/listener.pem" ] && return 0
	{
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-days 30 -subj "/CN=moat test pebble listener CA" \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" \
			-keyout "$d/listener-ca.key" -out "$d/listener-ca.pem" &&
			openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
				-subj "/CN=localhost" -keyout "$d/listener.key" -out "$d/listener.csr" &&
			printf '%s\n' "basicConstraints=critical,CA:FALSE" \
				"keyUsage=critical,digitalSignature" \
				"extendedKeyUsage=serverAuth" \
				"subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" >"$d/listener.ext" &&
			openssl x509 -req -in "$d/listener.csr" -CA "$d/listener-ca.pem" \
				-CAkey "$d/listener-ca.key" -CAcreateserial -days 30 -sha256 \
				-extfile "$d/listener.ext" -out "$d/listener.pem"
	} >"$d/listener-certs.log" 2>&1 || {
		sed -e 's/^/#   openssl: /' "$d/listener-certs.log" | tail -n 10
		return 1
	}
}

# _pebble_ready: the directory and the management API answer over HTTPS
# (trusting only our listener CA).
_pebble_ready() {
	curl -sS --fail --max-time 2 --noproxy '*' --cacert "$ACME_CA_BUNDLE" \
		-o /dev/null "$ACME_DIRECTORY" &&
		curl -sS --fail --max-time 2 --noproxy '*' --cacert "$ACME_CA_BUNDLE" \
			-o /dev/null "$PEBBLE_MGMT/roots/0"
}

# start_pebble [VAR=VALUE...]: pebble on 127.0.0.1 (ACME API and management
# API on free ports), resolving names through challtestsrv (started first if
# it is not running), validating http-01 on ACME_HTTP_PORT and tls-alpn-01
# on ACME_TLS_PORT (both free ports, not listened on: that is the client's
# job).  The environment is pebble's: PEBBLE_VA_NOSLEEP=1 unless set (to 0
# for pebble's random 0-15 s validation delays);
# every PEBBLE_* variable of the caller passes through (PEBBLE_WFE_NONCEREJECT,
# PEBBLE_AUTHZREUSE, PEBBLE_CHAIN_LENGTH, PEBBLE_ALTERNATE_ROOTS, ...) and
# VAR=VALUE arguments override.  A pebble started earlier is stopped.
#
# Optional, for this call only: PEBBLE_EAB_KEYS="KID:HMAC ..." (and
# PEBBLE_EAB_REQUIRED=false to accept accounts without a binding);
# PEBBLE_CERT_VALIDITY=SECONDS for short-lived certificates;
# PEBBLE_WANT_HTTP_PORT / PEBBLE_WANT_TLS_PORT to choose those ports.
start_pebble() {
	local attempt listen mgmt http tls pid log conf eab_required=false kv ports
	local keys=() envs=("PEBBLE_VA_NOSLEEP=${PEBBLE_VA_NOSLEEP:-1}")
	for kv in ${PEBBLE_EAB_KEYS:-}; do
		keys+=("${kv%%:*}" "${kv#*:}")
		eab_required=true
	done
	if [ -n "${PEBBLE_EAB_REQUIRED:-}" ]; then
		eab_required=$PEBBLE_EAB_REQUIRED
	fi
	envs+=("$@")
	PEBBLE_N_ALT_ROOTS=${PEBBLE_ALTERNATE_ROOTS:-0}
	for kv in "$@"; do
		case $kv in
		PEBBLE_ALTERNATE_ROOTS=*) PEBBLE_N_ALT_ROOTS=${kv#*=} ;;
		esac
	done
	if [ -n "$PEBBLE_PID" ]; then
		stop_pebble
	fi
	if [ -z "$CHALL_DNS_PORT" ]; then
		start_challtestsrv || return 1
	fi
	_pebble_certs || return 1
	_ACME_N=$((_ACME_N + 1))
	log=$ACME_DIR/pebble.$_ACME_N.log
	conf=$ACME_DIR/pebble.$_ACME_N.json
	ACME_CA_BUNDLE=$ACME_DIR/listener-ca.pem
	for attempt in 1 2 3; do
		ports=$(acme_free_ports 4) || return 1
		{ read -r listen && read -r mgmt && read -r http && read -r tls; } <<<"$ports"
		http=${PEBBLE_WANT_HTTP_PORT:-$http}
		tls=${PEBBLE_WANT_TLS_PORT:-$tls}
		python3 - "$conf" "127.0.0.1:$listen" "127.0.0.1:$mgmt" "$http" "$tls" \
			"$ACME_DIR/listener.pem" "$ACME_DIR/listener.key" "$eab_required" \
			"${keys[@]}" <<'EOF' || return 1
import json, sys
out, listen, mgmt, http, tls, cert, key, eab = sys.argv[1:9]
macs = dict(zip(sys.argv[9::2], sys.argv[10::2]))
p = {
    "listenAddress": listen,
    "managementListenAddress": mgmt,
    "certificate": cert,
    "privateKey": key,
    "httpPort": int(http),
    "tlsPort": int(tls),
    "ocspResponderURL": "",
    "externalAccountBindingRequired": eab == "true",
}
import os
if os.environ.get("PEBBLE_CERT_VALIDITY"):
    p["certificateValidityPeriod"] = int(os.environ["PEBBLE_CERT_VALIDITY"])
if macs:
    p["externalAccountMACKeys"] = macs
with open(out, "w") as f:
    json.dump({"pebble": p}, f, indent=2)
EOF
		env "${envs[@]}" pebble -config "$conf" -dnsserver "127.0.0.1:$CHALL_DNS_PORT" \
			</dev/null >"$log" 2>&1 &
		pid=$!
		SERVER_PIDS+=("$pid")
		ACME_DIRECTORY=https://127.0.0.1:$listen/dir
		PEBBLE_MGMT=https://127.0.0.1:$mgmt
		if poll_pid "$pid" "$ACME_START_TIMEOUT" _pebble_ready; then
			PEBBLE_PID=$pid
			PEBBLE_LOG=$log
			ACME_HTTP_PORT=$http
			ACME_TLS_PORT=$tls
			export ACME_DIRECTORY ACME_CA_BUNDLE PEBBLE_MGMT ACME_HTTP_PORT \
				ACME_TLS_PORT PEBBLE_PID PEBBLE_LOG
			return 0
		fi
		_acme_kill "$pid"
		note "pebble attempt $attempt (listen $listen, management $mgmt) failed:"
		tail -n 5 "$log" | sed -e 's/^/#   pebble: /'
	done
	ACME_DIRECTORY=''
	PEBBLE_MGMT=''
	return 1
}

# start_pebble_eab KID HMAC [VAR=VALUE...]: pebble that requires external
# account binding, with one MAC key (HMAC: base64url without padding, as
# made by acme_eab_hmac).
start_pebble_eab() {
	local kid=$1 hmac=$2
	shift 2
	PEBBLE_EAB_KEYS="$kid:$hmac" start_pebble "$@"
}

# acme_eab_hmac: a random 256-bit MAC key, base64url without padding.
acme_eab_hmac() {
	openssl rand -base64 32 | tr '+/' '-_' | tr -d '=\n'
	echo
}

stop_pebble() {
	_acme_kill "$PEBBLE_PID"
	PEBBLE_PID=''
	ACME_DIRECTORY=''
	PEBBLE_MGMT=''
}

# _pebble_get PATH FILE: GET from the management API.
_pebble_get() {
	curl -sS --fail --max-time 10 --noproxy '*' --cacert "$ACME_CA_BUNDLE" \
		-o "$2" "$PEBBLE_MGMT/$1"
}

# _pebble_all KIND FILE: /KIND/0 and, when pebble runs with
# PEBBLE_ALTERNATE_ROOTS=N, /KIND/1../KIND/N, concatenated into FILE.
_pebble_all() {
	local kind=$1 out=$2 i=0 n=${PEBBLE_N_ALT_ROOTS:-0}
	: >"$out" || return 1
	while [ "$i" -le "$n" ]; do
		_pebble_get "$kind/$i" "$out.part" || return 1
		cat "$out.part" >>"$out"
		i=$((i + 1))
	done
	rm -f "$out.part"
	[ "$(count_certs "$out")" -gt 0 ]
}

# pebble_roots FILE: pebble's issuing root(s) (regenerated at every start).
pebble_roots() { _pebble_all roots "$1"; }

# pebble_intermediates FILE: the intermediate(s) under those roots.
pebble_intermediates() { _pebble_all intermediates "$1"; }

# --------------------------------------------------------------- clients

# verify_acme_cert FULLCHAIN ROOTS NAME [CHAIN]: the first certificate of
# FULLCHAIN verifies for serverAuth and NAME against ROOTS only, with the
# rest of FULLCHAIN (or CHAIN) as untrusted intermediates.
verify_acme_cert() {
	local full=$1 roots=$2 name=$3 chain=${4:-} leaf=$ACME_DIR/verify.leaf.pem
	openssl x509 -in "$full" -out "$leaf" 2>/dev/null || return 1
	if [ -z "$chain" ]; then
		chain=$ACME_DIR/verify.chain.pem
		awk 'n > 0 || /-----END CERTIFICATE-----/ { if (n > 0) print } /-----END CERTIFICATE-----/ { n++ }' \
			"$full" >"$chain"
		[ "$(count_certs "$chain")" -gt 0 ] || return 1
	fi
	openssl verify -x509_strict -purpose sslserver -verify_hostname "$name" \
		-CAfile "$roots" -untrusted "$chain" "$leaf"
}

# _acme_sq STRING: STRING quoted for sh (single quotes).
_acme_sq() {
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

# acme_write_trusting FILE: write a script that runs its arguments seeing
# ACME_CA_BUNDLE as the system CA bundle (/etc/ssl/certs/ca-certificates.crt,
# bind-mounted in a private mount namespace; a user namespace too when not
# root), for clients with no option to trust another CA (uacme 1.7.4 uses
# libcurl's built-in default).  Nothing changes outside that namespace.
acme_write_trusting() {
	local ns='unshare --mount --propagation private'
	if [ "$(id -u)" -ne 0 ]; then
		ns='unshare --map-root-user --mount --propagation private'
	fi
	cat >"$1" <<EOF || return 1
#!/bin/sh
# Runs "\$@" with $ACME_CA_BUNDLE as the system CA bundle.
exec $ns -- sh -c 'mount --bind "\$0" /etc/ssl/certs/ca-certificates.crt && exec "\$@"' \\
	$(_acme_sq "$ACME_CA_BUNDLE") "\$@"
EOF
	chmod 755 "$1"
}

# acme_trusting CMD...: run CMD as the script above does.
acme_trusting() {
	local w=$ACME_DIR/trusting.sh
	if [ ! -x "$w" ]; then
		acme_write_trusting "$w" || return 1
	fi
	"$w" "$@"
}

# acme_can_trust: acme_trusting works here (mount namespaces allowed, the
# system bundle exists).
acme_can_trust() {
	[ -f /etc/ssl/certs/ca-certificates.crt ] && [ -n "$ACME_CA_BUNDLE" ] &&
		acme_trusting true >/dev/null 2>&1
}

# acme_uacme_hook FILE WEBROOT: write a uacme challenge hook that answers
# http-01 by writing the key authorization under
# WEBROOT/.well-known/acme-challenge/ (and declines other challenge types).
acme_uacme_hook() {
	cat >"$1" <<EOF
#!/bin/sh
# uacme hook: METHOD TYPE IDENT TOKEN KEY_AUTH
dir=$(_acme_sq "$2")/.well-known/acme-challenge
[ "\$2" = http-01 ] || exit 1
case \$4 in */* | .*) exit 1 ;; esac
case \$1 in
begin) mkdir -p "\$dir" && printf '%s' "\$5" >"\$dir/\$4" ;;
done | failed) rm -f "\$dir/\$4" ;;
*) exit 1 ;;
esac
EOF
	chmod 755 "$1"
}

# start_webroot DIR [HOST PORT]: a static HTTP server for DIR on HOST:PORT
# (default 127.0.0.1:$ACME_HTTP_PORT), for webroot-style http-01.  Sets
# WEBROOT_PID.
WEBROOT_PID=''
start_webroot() {
	local dir=$1 host=${2:-127.0.0.1} port=${3:-$ACME_HTTP_PORT} pid
	mkdir -p "$dir/.well-known/acme-challenge"
	python3 -m http.server --bind "$host" --directory "$dir" "$port" \
		</dev/null >"$ACME_DIR/webroot.$port.log" 2>&1 &
	pid=$!
	SERVER_PIDS+=("$pid")
	if poll_pid "$pid" "$ACME_START_TIMEOUT" acme_tcp_open "$host" "$port"; then
		WEBROOT_PID=$pid
		return 0
	fi
	_acme_kill "$pid"
	tail -n 5 "$ACME_DIR/webroot.$port.log" | sed -e 's/^/#   webroot: /'
	return 1
}

stop_webroot() {
	_acme_kill "$WEBROOT_PID"
	WEBROOT_PID=''
}

# ---- the scripted ACME server (acme_script.py) -----------------------------

ACME_SCRIPT_URL=''
ACME_SCRIPT_PID=''

# acme_script_start MODE CA_HOME LOG: acme_script.py in MODE on a free
# loopback port, its TLS certificate CA_HOME/live/127.0.0.1 and the
# certificates it hands out signed by CA_HOME's intermediate (a moat private
# CA made by the caller: `moat ca init`, `moat issue 127.0.0.1`); each
# request it gets is logged to LOG (emptied first).  Sets ACME_SCRIPT_URL
# (its directory) and ACME_SCRIPT_PID; clients trust CA_HOME/ca/root.pem.
acme_script_start() {
	local mode=$1 home=$2 log=$3 port pid attempt
	for attempt in 1 2 3; do
		port=$(free_port)
		: >"$log"
		python3 "$IT_DIR/acme_script.py" --mode "$mode" --port "$port" \
			--cert "$home/live/127.0.0.1/fullchain.pem" \
			--key "$home/live/127.0.0.1/privkey.pem" \
			--issuer "$home/ca/intermediate.pem" --issuer-key "$home/ca/intermediate-key.pem" \
			--log "$log" >"$log.out" 2>&1 &
		pid=$!
		SERVER_PIDS+=("$pid")
		if wait_port "$pid" 127.0.0.1 "$port" 15; then
			ACME_SCRIPT_URL="https://127.0.0.1:$port/dir"
			ACME_SCRIPT_PID=$pid
			return 0
		fi
		stop_server "$pid"
	done
	return 1
}
