#!/usr/bin/env bash
# bench/serve_instr.sh: instructions per keep-alive request, moat serve
# against nginx, counted by valgrind's callgrind (noise-free, unlike CPU
# time; the kernel's share is not in it).
#
#   MOAT=build-release/moat bench/serve_instr.sh
#
# Also the allocations per request (calls to malloc, calloc, realloc from
# outside the allocator, OpenSSL's included), from the same counts.
#
# Both proxies as in bench/serve.sh (one worker, TLS 1.3, ECDSA P-256 leaf,
# keep-alive to the same nginx upstream, access logs off) run under
# callgrind.  After a 3 s warm-up, the counters are zeroed, `wrk -t1 -c4
# -d10s` runs, and the counters are dumped: instructions / responses, in
# all and split by object (the proxy's own code, libc, libssl, libcrypto,
# libuv).  Needs valgrind, wrk, nginx, python3.
set -u

MOAT=${MOAT:-build/moat}
DURATION=${DURATION:-10}
command -v valgrind >/dev/null && command -v callgrind_control >/dev/null ||
	{ echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
for t in wrk nginx python3; do
	command -v "$t" >/dev/null || { echo "$t is not installed" >&2; exit 2; }
done
[ -x "$MOAT" ] || { echo "no moat binary at $MOAT (set MOAT=)" >&2; exit 2; }
MOAT=$(cd "$(dirname "$MOAT")" && pwd)/$(basename "$MOAT")

W=$(mktemp -d "${TMPDIR:-/tmp}/moat-instr.XXXXXX")
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$W"
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# wait_https PORT PID: until a request through PORT answers (callgrind is slow).
wait_https() {
	local i
	for ((i = 0; i < 300; i++)); do
		kill -0 "$2" 2>/dev/null || return 1
		curl -sk -o /dev/null --max-time 5 "https://127.0.0.1:$1/" && return 0
		sleep 0.2
	done
	return 1
}

export MOAT_HOME=$W/home
"$MOAT" ca init --no-passphrase --key-type ec-p256 --name "moat bench CA" </dev/null >/dev/null 2>&1 &&
	"$MOAT" issue localhost 127.0.0.1 --key-type ec-p256 </dev/null >/dev/null 2>&1 ||
	{ echo "cannot make the certificate with $MOAT" >&2; exit 1; }
CHAIN=$MOAT_HOME/live/localhost/fullchain.pem
KEY=$MOAT_HOME/live/localhost/privkey.pem

UP=$(free_port)
TEMPS="client_body_temp_path $W/b; proxy_temp_path $W/p; fastcgi_temp_path $W/f; uwsgi_temp_path $W/u; scgi_temp_path $W/s;"
cat >"$W/up.conf" <<EOF
worker_processes 1; pid $W/up.pid; error_log $W/up.err; events { worker_connections 1000; }
http { access_log off; $TEMPS keepalive_requests 10000000; keepalive_timeout 300s;
	server { listen 127.0.0.1:$UP; location / { default_type text/plain;
		return 200 "hello from the upstream, a small static response\n"; } } }
EOF
nginx -e "$W/up.err" -c "$W/up.conf" -g 'daemon off;' >"$W/up.log" 2>&1 &
PIDS+=("$!")

MP=$(free_port)
cat >"$W/serve.conf" <<EOF
listen 127.0.0.1
http-port 0
https-port $MP
workers 1
access-log off
idle-timeout 300s
site localhost 127.0.0.1 {
	upstream http://127.0.0.1:$UP
	cert files $CHAIN $KEY
}
EOF
NP=$(free_port)
cat >"$W/nginx.conf" <<EOF
worker_processes 1; master_process off; pid $W/ng.pid; error_log $W/ng.err;
events { worker_connections 1000; }
http { access_log off; $TEMPS keepalive_requests 10000000; keepalive_timeout 300s;
	upstream app { server 127.0.0.1:$UP; keepalive 64; }
	server { listen 127.0.0.1:$NP ssl; ssl_certificate $CHAIN; ssl_certificate_key $KEY;
		ssl_protocols TLSv1.3;
		location / { proxy_pass http://app; proxy_http_version 1.1;
			proxy_set_header Connection ""; } } }
EOF

# Sum a callgrind dump's self costs per object: "TOTAL" and one line per
# object; and "ALLOCS": the calls to malloc, calloc and realloc from
# outside the allocator itself.
cat >"$W/sum.py" <<'EOF'
import collections, re, sys
obs, fns, ob, skip, cost = {}, {}, None, False, collections.Counter()
fn = cfn = None
allocs = 0
ALLOC = ("malloc", "calloc", "realloc")
def name(s, table=obs):
    m = re.match(r"\((\d+)\)(?: (.*))?", s)
    if not m:
        return s
    if m.group(2):
        table[m.group(1)] = m.group(2)
    return table.get(m.group(1), m.group(1))
def short(f):
    return f.rsplit(":", 1)[-1] if f else f
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith("ob="):
        ob = name(line[3:])
    elif line.startswith("cob="):
        name(line[4:])
    elif line.startswith("fn="):
        fn = name(line[3:], fns)
    elif line.startswith("cfn="):
        cfn = name(line[4:], fns)
    elif line.startswith("calls="):
        if short(cfn) in ALLOC and short(fn) not in ALLOC:
            allocs += int(line[6:].split()[0])
        skip = True   # the next cost line is the call's inclusive cost
    elif line and (line[0].isdigit() or line[0] in "+-*"):
        if skip:
            skip = False
            continue
        parts = line.split()
        if len(parts) >= 2:
            cost[ob] += int(parts[1])
n = int(sys.argv[2])
print("TOTAL %d" % (sum(cost.values()) // n))
print("ALLOCS %.1f" % (allocs / n))
for o, c in cost.most_common():
    if c // n >= 50:
        print("%s %d" % (o.rsplit("/", 1)[-1], c // n))
EOF

# measure LABEL PID PORT
measure() {
	local label=$1 pid=$2 port=$3 n dump
	wrk -t1 -c4 -d3s "https://127.0.0.1:$port/" >/dev/null 2>&1
	callgrind_control -z "$pid" >/dev/null 2>&1
	wrk -t1 -c4 "-d${DURATION}s" "https://127.0.0.1:$port/" >"$W/wrk.$label" 2>&1
	callgrind_control -d "$pid" >/dev/null 2>&1
	n=$(sed -n -E 's/^ *([0-9]+) requests in .*/\1/p' "$W/wrk.$label")
	if grep -qE 'Socket errors|Non-2xx' "$W/wrk.$label" || [ -z "$n" ] || [ "$n" -eq 0 ]; then
		echo "$label: wrk failed:" >&2
		cat "$W/wrk.$label" >&2
		return 1
	fi
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		dump=$(ls -t "$W"/cg."$pid".* 2>/dev/null | head -n 1)
		[ -n "$dump" ] && break
		sleep 0.5
	done
	python3 "$W/sum.py" "$dump" "$n" >"$W/res.$label"
	echo "$n" >"$W/n.$label"
}

valgrind --tool=callgrind --callgrind-out-file="$W/cg.%p" "$MOAT" serve --config "$W/serve.conf" \
	>"$W/moat.log" 2>&1 &
MPID=$!
PIDS+=("$MPID")
valgrind --tool=callgrind --callgrind-out-file="$W/cg.%p" nginx -e "$W/ng.err" -c "$W/nginx.conf" \
	-g 'daemon off;' >"$W/nginx.log" 2>&1 &
NPID=$!
PIDS+=("$NPID")
wait_https "$MP" "$MPID" || { cat "$W/moat.log" >&2; echo "moat serve did not start" >&2; exit 1; }
wait_https "$NP" "$NPID" || { cat "$W/nginx.log" >&2; echo "nginx did not start" >&2; exit 1; }
measure moat "$MPID" "$MP" || exit 1
measure nginx "$NPID" "$NP" || exit 1

tm=$(sed -n 's/^TOTAL //p' "$W/res.moat")
tn=$(sed -n 's/^TOTAL //p' "$W/res.nginx")
echo "# Instructions per keep-alive request (callgrind, $(date +%F))"
echo
echo "| proxy | requests counted | instructions / request | allocations / request | by object |"
echo "|---|---:|---:|---:|---|"
for p in moat nginx; do
	printf '| %s | %s | %s | %s | %s |\n' "$p" "$(cat "$W/n.$p")" "$(sed -n 's/^TOTAL //p' "$W/res.$p")" \
		"$(sed -n 's/^ALLOCS //p' "$W/res.$p")" \
		"$(grep -Ev '^(TOTAL|ALLOCS)' "$W/res.$p" | awk '{ printf "%s%s %s", sep, $1, $2; sep = ", " }')"
done
echo
awk -v a="$tm" -v b="$tn" 'BEGIN { printf "moat / nginx: %.2fx the instructions per request\n", a / b }'
