#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# bench/ocsp.sh: cached OCSP answers per second from `moat ca serve`'s
# responder against the reference responder, `openssl ocsp -port`, for the
# same certificate of the same CA, signed by the same delegated signer.
#
#   moat     GET /ocsp/<base64 request> (RFC 6960 A.1, the form CDNs and
#            browsers use): the answer comes from moat's cache
#   openssl  POST (its responder takes one connection at a time, closes it,
#            and signs every answer); wrk gets no answer from it, so the
#            load there is ApacheBench (ab, one connection at a time)
#
# Load on the same machine: wrk with CONNS connections (moat), ab -c 1
# (openssl), DURATION seconds each, ROUNDS rounds interleaved; the
# responders' CPU from /proc, and how busy each was (100% = one CPU: below
# that, the client was the limit).  One worker (moat ca serve's
# one loop; openssl ocsp without -multi).  Prints a Markdown table, the ratio
# and its spread, and the exact commands.
#
# Environment: MOAT (default <repo>/build-release/moat), ROUNDS (3),
# DURATION (10), CONNS (16).
set -u
# openssl ocsp -port binds every address (it takes no host): run the whole
# benchmark in a network namespace of its own, where only loopback exists.
if [ -z "${OCSP_BENCH_NETNS:-}" ]; then
	if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null || ! command -v ip >/dev/null; then
		echo "bench/ocsp.sh: needs root, unshare and ip (a network namespace for openssl ocsp)" >&2
		exit 1
	fi
	exec unshare -n env OCSP_BENCH_NETNS=1 bash "$0" "$@"
fi
ip link set lo up || exit 1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
MOAT=${MOAT:-$HERE/../build-release/moat}
MOAT=$(cd "$(dirname "$MOAT")" && pwd)/$(basename "$MOAT")
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNS=${CONNS:-16}
for t in wrk ab openssl python3 curl; do
	command -v "$t" >/dev/null || { echo "bench/ocsp.sh: $t is not installed" >&2; exit 1; }
done
[ -x "$MOAT" ] || { echo "bench/ocsp.sh: no moat at $MOAT (meson setup build-release -Dbuildtype=release)" >&2; exit 1; }
bench_workdir moat-ocsp
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$W"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

# ---- a CA with its URL, one certificate, moat ca serve
P_MOAT=$(free_port)
P_SSL=$(free_port)
export MOAT_HOME=$W/home
"$MOAT" ca init --no-passphrase --url "http://127.0.0.1:$P_MOAT" >/dev/null 2>&1 || exit 1
"$MOAT" issue ocsp.bench.test >/dev/null 2>&1 || exit 1
CA=$MOAT_HOME/ca
LIVE=$MOAT_HOME/live/ocsp.bench.test
"$MOAT" ca serve --listen 127.0.0.1 --http-port "$P_MOAT" --https-port "$(free_port)" \
	--name 127.0.0.1 >"$W/moat.log" 2>&1 &
MOAT_PID=$!
PIDS+=("$MOAT_PID")
for _ in $(seq 1 100); do
	curl -sf "http://127.0.0.1:$P_MOAT/ca/root.der" -o /dev/null && break
	sleep 0.1 # poll interval
done

# ---- the request, and the GET URL (base64, URL-encoded)
openssl ocsp -issuer "$CA/intermediate.pem" -cert "$LIVE/cert.pem" -no_nonce \
	-reqout "$W/req.der" >/dev/null 2>&1 || exit 1
B64=$(base64 -w0 "$W/req.der" | python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.stdin.read().strip(), safe=""))')
GET_URL="http://127.0.0.1:$P_MOAT/ocsp/$B64"
curl -sf "$GET_URL" -o "$W/moat.resp" || { echo "moat's responder does not answer" >&2; exit 1; }
openssl ocsp -respin "$W/moat.resp" -issuer "$CA/intermediate.pem" -cert "$LIVE/cert.pem" \
	-CAfile "$CA/root.pem" 2>&1 | grep -q ': good' || { echo "moat's answer is not good" >&2; exit 1; }

# ---- the reference responder: the same signer, an index of what the CA issued
serial=$(openssl x509 -in "$LIVE/cert.pem" -noout -serial | cut -d= -f2)
enddate=$(date -u -d "$(openssl x509 -in "$LIVE/cert.pem" -noout -enddate | cut -d= -f2)" +%y%m%d%H%M%SZ)
subject=$(openssl x509 -in "$LIVE/cert.pem" -noout -subject -nameopt compat | sed 's/^subject=//')
printf 'V\t%s\t\t%s\tunknown\t%s\n' "$enddate" "$serial" "$subject" >"$W/index.txt"
# start_ssl: the reference responder, started afresh for every round (once
# here it span at 100% CPU answering nothing after an ab run), ready when
# its answer says good.  Sets SSL_PID.
SSL_PID=''
start_ssl() {
	[ -n "$SSL_PID" ] && kill "$SSL_PID" 2>/dev/null && wait "$SSL_PID" 2>/dev/null
	openssl ocsp -index "$W/index.txt" -port "$P_SSL" -rsigner "$CA/ocsp-signer.pem" \
		-rkey "$CA/ocsp-signer-key.pem" -CA "$CA/intermediate.pem" -nmin 60 >>"$W/openssl.log" 2>&1 &
	SSL_PID=$!
	PIDS+=("$SSL_PID")
	for _ in $(seq 1 100); do
		curl -sf --max-time 2 --data-binary @"$W/req.der" -H 'Content-Type: application/ocsp-request' \
			"http://127.0.0.1:$P_SSL/" -o "$W/ssl.resp" && break
		sleep 0.1 # poll interval
	done
	openssl ocsp -respin "$W/ssl.resp" -issuer "$CA/intermediate.pem" -cert "$LIVE/cert.pem" \
		-CAfile "$CA/root.pem" 2>&1 | grep -q ': good' || { echo "openssl's answer is not good" >&2; exit 1; }
}
start_ssl
# run PID CMD...: one load run; prints "answers/s CPU-ms-per-1000 busy%".
# (wrk prints "Requests/sec:", ab "Requests per second:"; ab's "failed"
# requests are answers of another length -- each carries its own time.)
run() {
	local pid=$1 c0 c1 t0 t1 rps
	shift
	c0=$(cpu_ticks "$pid")
	t0=$(date +%s.%N)
	rps=$("$@" 2>/dev/null | awk '/^Requests\/sec:/ {print $2} /^Requests per second:/ {print $4}')
	t1=$(date +%s.%N)
	c1=$(cpu_ticks "$pid")
	python3 -c "
r = float('${rps:-0}'); cpu = ($c1 - $c0) / $HZ
print(r, round(cpu * 1e6 / max(r * $DURATION, 1), 1), round(cpu * 100 / ($t1 - $t0)))"
}

MOAT_CMD=(wrk -t1 -c"$CONNS" -d"${DURATION}s" "$GET_URL")
SSL_CMD=(ab -q -t "$DURATION" -n 10000000 -c 1 -p "$W/req.der" -T application/ocsp-request
	"http://127.0.0.1:$P_SSL/")
echo "| round | moat ca serve (answers/s) | CPU ms per 1000 | busy | openssl ocsp -port (answers/s) | CPU ms per 1000 | busy | ratio |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
ratios=()
for r in $(seq 1 "$ROUNDS"); do
	read -r m mc mb < <(run "$MOAT_PID" "${MOAT_CMD[@]}")
	start_ssl
	read -r o oc ob < <(run "$SSL_PID" "${SSL_CMD[@]}")
	ratio=$(python3 -c "print(round($m / max($o, 0.001), 1))")
	ratios+=("$ratio")
	echo "| $r | $m | $mc | $mb% | $o | $oc | $ob% | ${ratio}× |"
done
echo
python3 - "${ratios[@]}" <<'EOF'
import statistics, sys
r = [float(x) for x in sys.argv[1:]]
print("- moat / openssl ocsp: median %.1f× (rounds %.1f× to %.1f×)" % (statistics.median(r), min(r), max(r)))
EOF
echo
echo "Environment: $("$MOAT" --version | head -1), $(openssl version), wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'), ab $(ab -V | head -1 | awk '{print $5}'), $(nproc) CPUs, load average $(cut -d' ' -f1 /proc/loadavg)."
echo
printf '<details><summary>Exact commands</summary>\n\n```sh\n'
printf '%q ' "${MOAT_CMD[@]}"; echo
printf '%q ' "${SSL_CMD[@]}"; echo
printf '```\n\n</details>\n'
