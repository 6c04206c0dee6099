#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# bench/ca_issue_load.sh: the same ACME workload against three ACME servers,
# `moat ca serve`, step-ca (smallstep, 0.19, built from Debian's Go source
# package by /work/shared/peers/step-ca.sh) and pebble (Debian's, with
# PEBBLE_VA_NOSLEEP=1 and no nonce rejection):
#
#   one account, then ORDERS orders at once for distinct names, http-01,
#   finalize with a fresh P-256 CSR, download the certificate
#   (bench/acme_load.py, one thread per order).
#
# Runs are interleaved (moat, step-ca, pebble, moat, ...) for ROUNDS rounds,
# each server started once and kept running.  Around each run the server's
# CPU time (utime + stime of every thread, /proc/PID/stat) is sampled: the
# client shares the machine's CPUs and is often the bottleneck, so server
# CPU per certificate is the figure that compares servers; certificates per
# second (wall) is printed as well.  The output is Markdown (a table per run,
# a summary per server, the ratios moat/step-ca and moat/pebble with their
# spread across rounds, and the exact commands).
#
# Names: every name resolves to 127.0.0.1.  moat and pebble ask
# pebble-challtestsrv (their --dns-resolver / -dnsserver); step-ca has no
# such option and uses the system resolver, so it runs in its own mount
# namespace (unshare -m) where /etc/hosts lists its names.  step-ca
# validates http-01 on port 80: its runs answer on 127.0.0.1:80 (root).
#
# Environment:
#   MOAT     the moat binary (default <repo>/build-release/moat)
#   ROUNDS   rounds (default 3)
#   ORDERS   orders per run (default 50)
#   SERVERS  which servers (default "moat step-ca pebble")
#   STEPCA   the step-ca peer script (default /work/shared/peers/step-ca.sh)
#   KEEP_TMP=1  keep the work dir (server logs, per-run JSON)
#
# Exit status 1 when a server asked for could not be measured (said loudly
# in the output too) or moat failed an order.

set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MOAT=${MOAT:-$ROOT/build-release/moat}
case $MOAT in
/*) ;;
*) MOAT=$PWD/$MOAT ;;
esac
ROUNDS=${ROUNDS:-3}
ORDERS=${ORDERS:-50}
SERVERS=${SERVERS:-moat step-ca pebble}
STEPCA=${STEPCA:-/work/shared/peers/step-ca.sh}
PY=/usr/bin/python3
LOAD=$ROOT/bench/acme_load.py
export PEBBLE_WFE_NONCEREJECT=0

die() {
	echo "bench/ca_issue_load.sh: $*" >&2
	exit 1
}
STATUS=0 # 1 when a server could not be measured or moat lost an order
loud() {
	STATUS=1
	printf '\n**%s**\n\n' "$*"
	printf '!!! %s\n' "$*" >&2
}

for v in ROUNDS ORDERS; do
	case ${!v} in
	'' | *[!0-9]*) die "$v must be a number" ;;
	esac
done
for tool in pebble pebble-challtestsrv openssl curl unshare; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
[ -x "$PY" ] || die "$PY is missing"

# tests/integration/lib.sh: the work dir T (removed at exit unless KEEP_TMP
# is set), MOAT_HOME=$T/home, SERVER_PIDS killed at exit, pid_alive, poll_pid.
# shellcheck source=../tests/integration/lib.sh
. "$ROOT/tests/integration/lib.sh"
# shellcheck source=../tests/integration/lib_acme.sh
. "$ROOT/tests/integration/lib_acme.sh"
W=$T
STEPCA_DIR=''
note() { printf '<!-- %s -->\n' "$*" >&2; }
# step-ca is not our child (step-ca.sh starts it): at exit, after lib.sh's
# cleanup has signalled it, wait until it is gone.
STEPCA_PID=''
# shellcheck disable=SC2317 # called by the EXIT trap
_bench_cleanup() {
	local pid=$STEPCA_PID
	_cleanup
	while [ -n "$pid" ] && pid_alive "$pid"; do
		sleep 0.05
	done
}
trap _bench_cleanup EXIT

# cpu_ticks PID: utime + stime of the process (all its threads), in clock ticks.
cpu_ticks() {
	local stat rest
	stat=$(cat "/proc/$1/stat") || return 1
	rest=${stat##*) } # after the command name, which may hold spaces
	# shellcheck disable=SC2086 # split into fields on purpose
	set -- $rest
	# fields 3.. of the stat line; utime is field 14, stime 15
	echo $((${12} + ${13}))
}
HZ=$(getconf CLK_TCK)

start_challtestsrv || die "pebble-challtestsrv did not start"
HTTP01=$(acme_free_ports 1) || die "no free port"

declare -A PID DIRURL BUNDLE HPORT CMD
ACTIVE=" $SERVERS "
NOTES=()

# ------------------------------------------------------------------ moat
if [[ $ACTIVE == *" moat "* ]]; then
	[ -x "$MOAT" ] || die "no moat binary at $MOAT (meson setup build-release -Dbuildtype=release && ninja -C build-release)"
	"$MOAT" ca init --no-passphrase >"$W/moat-init.log" 2>&1 || {
		cat "$W/moat-init.log" >&2
		die "moat ca init failed"
	}
	ports=$(acme_free_ports 2) || die "no free ports"
	{ read -r mport && read -r mhttp; } <<<"$ports"
	CMD[moat]="MOAT_HOME=\$W/home $MOAT ca serve --listen 127.0.0.1 --https-port $mport --http-port $mhttp --name 127.0.0.1 --http01-port $HTTP01 --dns-resolver 127.0.0.1:$CHALL_DNS_PORT --rate-orders 0 --rate-accounts 0"
	"$MOAT" ca serve --listen 127.0.0.1 --https-port "$mport" --http-port "$mhttp" \
		--name 127.0.0.1 --http01-port "$HTTP01" --dns-resolver "127.0.0.1:$CHALL_DNS_PORT" \
		--rate-orders 0 --rate-accounts 0 </dev/null >"$W/moat.log" 2>&1 &
	PID[moat]=$!
	SERVER_PIDS+=("${PID[moat]}")
	DIRURL[moat]=https://127.0.0.1:$mport/acme/directory
	BUNDLE[moat]=$MOAT_HOME/ca/root.pem
	HPORT[moat]=$HTTP01
	poll_pid "${PID[moat]}" 20 curl -sf --cacert "${BUNDLE[moat]}" "${DIRURL[moat]}" || {
		tail "$W/moat.log" >&2
		die "moat ca serve did not start"
	}
fi

# ---------------------------------------------------------------- pebble
if [[ $ACTIVE == *" pebble "* ]]; then
	PEBBLE_WANT_HTTP_PORT=$HTTP01 start_pebble || die "pebble did not start"
	PID[pebble]=$PEBBLE_PID
	DIRURL[pebble]=$ACME_DIRECTORY
	BUNDLE[pebble]=$ACME_CA_BUNDLE
	HPORT[pebble]=$HTTP01
	CMD[pebble]="PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 pebble -config \$W/acme/pebble.1.json -dnsserver 127.0.0.1:$CHALL_DNS_PORT   # httpPort $HTTP01 in the config"
fi

# --------------------------------------------------------------- step-ca
# Its names (all rounds) go into the /etc/hosts of its mount namespace.
names_for() { # SERVER ROUND
	"$PY" "$LOAD" --names --orders "$ORDERS" --prefix "$1$2" --directory x --ca-bundle x --http-port 0
}
if [[ $ACTIVE == *" step-ca "* ]]; then
	if [ ! -x "$STEPCA" ]; then
		loud "STEP-CA NOT MEASURED: no peer script at $STEPCA"
	elif acme_tcp_open 127.0.0.1 80; then
		loud "STEP-CA NOT MEASURED: something already listens on 127.0.0.1:80, where step-ca validates http-01"
	elif ! bin=$("$STEPCA" build 2>"$W/step-ca-build.log"); then
		tail -n 20 "$W/step-ca-build.log" >&2
		loud "STEP-CA NOT MEASURED: it could not be built here (see above)"
	else
		STEPCA_DIR=$W/step-ca
		mkdir -p "$STEPCA_DIR"
		{
			echo "127.0.0.1 localhost"
			for r in $(seq 1 "$ROUNDS"); do
				names_for step-ca "$r" | sed 's/^/127.0.0.1 /'
			done
		} >"$W/step-ca.hosts"
		sport=$(acme_free_ports 1) || die "no free port"
		# shellcheck disable=SC2016 # expanded by the inner shell
		if ! out=$(unshare -m sh -c 'mount --bind "$1" /etc/hosts && exec "$2" up "$3" "$4"' sh \
			"$W/step-ca.hosts" "$STEPCA" "$STEPCA_DIR" "$sport" 2>"$W/step-ca-up.log"); then
			tail -n 20 "$W/step-ca-up.log" >&2
			loud "STEP-CA NOT MEASURED: it did not start (see above)"
		else
			PID[step-ca]=$(cat "$STEPCA_DIR/pid")
			STEPCA_PID=${PID[step-ca]}
			SERVER_PIDS+=("${PID[step-ca]}")
			DIRURL[step-ca]=https://127.0.0.1:$sport/acme/acme/directory
			BUNDLE[step-ca]=$STEPCA_DIR/root.crt
			HPORT[step-ca]=80
			CMD[step-ca]="unshare -m sh -c 'mount --bind \$W/step-ca.hosts /etc/hosts && exec $STEPCA up \$W/step-ca $sport'   # step-ca $bin \$W/step-ca/ca.json; \$W/step-ca.hosts maps every name to 127.0.0.1"
			note "$out"
		fi
	fi
fi

RUNSERVERS=()
for s in moat step-ca pebble; do
	[[ $ACTIVE == *" $s "* ]] && [ -n "${PID[$s]:-}" ] && RUNSERVERS+=("$s")
done
[ ${#RUNSERVERS[@]} -gt 0 ] || die "no server to measure"

# ------------------------------------------------------------------ runs
RES=$W/results.tsv
: >"$RES"
for r in $(seq 1 "$ROUNDS"); do
	for s in "${RUNSERVERS[@]}"; do
		pid_alive "${PID[$s]}" || {
			loud "$s (pid ${PID[$s]}) died before round $r"
			continue
		}
		c0=$(cpu_ticks "${PID[$s]}")
		"$PY" "$LOAD" --directory "${DIRURL[$s]}" --ca-bundle "${BUNDLE[$s]}" \
			--http-port "${HPORT[$s]}" --orders "$ORDERS" --prefix "$s$r" \
			>"$W/run.$s.$r.json" 2>"$W/run.$s.$r.err"
		if ! c1=$(cpu_ticks "${PID[$s]}" 2>/dev/null); then
			loud "$s (pid ${PID[$s]}) died during round $r: its CPU time is lost, the run is not counted"
			continue
		fi
		if [ ! -s "$W/run.$s.$r.json" ]; then
			tail -n 5 "$W/run.$s.$r.err" >&2
			echo "{\"orders\": $ORDERS, \"issued\": 0, \"failed\": $ORDERS, \"errors\": {\"clientCrashed\": 1}, \"wall_s\": 0}" >"$W/run.$s.$r.json"
		fi
		printf '%s\t%s\t%s\t%s\n' "$s" "$r" "$((c1 - c0))" "$W/run.$s.$r.json" >>"$RES"
		printf '<!-- %s round %s: %s -->\n' "$s" "$r" "$(cat "$W/run.$s.$r.json")" >&2
	done
done

# ---------------------------------------------------------------- report
echo "### Per run"
echo
"$PY" - "$RES" "$HZ" "$ORDERS" <<'EOF' || STATUS=1
import json, statistics, sys
res, hz, orders = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = []
for line in open(res):
    s, r, ticks, path = line.rstrip("\n").split("\t")
    j = json.load(open(path))
    cpu_ms = int(ticks) * 1000.0 / hz
    per = cpu_ms / j["issued"] if j["issued"] else None
    rows.append(dict(server=s, round=int(r), cpu_ms=cpu_ms, per=per, **j))
print("| server | round | issued | failed (error types) | wall s | certs/s | server CPU ms | server CPU ms/cert | client CPU s |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for x in rows:
    errs = ", ".join("%s ×%d" % kv for kv in sorted(x["errors"].items())) or "-"
    cps = x["issued"] / x["wall_s"] if x["wall_s"] else 0
    print("| %s | %d | %d/%d | %d (%s) | %.2f | %.1f | %.0f | %s | %s |" % (
        x["server"], x["round"], x["issued"], x["orders"], x["failed"], errs, x["wall_s"], cps,
        x["cpu_ms"], "%.1f" % x["per"] if x["per"] is not None else "n/a",
        x.get("client_cpu_s", "?")))
print()
print("### Per server (median of the rounds, [min–max])")
print()
servers = []
for x in rows:
    if x["server"] not in servers:
        servers.append(x["server"])
def rng(v):
    v = [a for a in v if a is not None]
    if not v:
        return "n/a"
    return "%.1f [%.1f–%.1f]" % (statistics.median(v), min(v), max(v))
print("| server | issued (all rounds) | certs/s | server CPU ms/cert |")
print("| --- | --- | --- | --- |")
per = {}
for s in servers:
    xs = [x for x in rows if x["server"] == s]
    per[s] = {x["round"]: x["per"] for x in xs}
    cps = [x["issued"] / x["wall_s"] if x["wall_s"] else 0 for x in xs]
    print("| %s | %d/%d | %s | %s |" % (s, sum(x["issued"] for x in xs), orders * len(xs),
                                      rng(cps), rng([x["per"] for x in xs])))
print()
goals = {"step-ca": 0.2, "pebble": 0.4}
if "moat" in per:
    print("### Ratios of server CPU per certificate")
    print()
    print("| ratio | of medians | per round [min–max] | goal |")
    print("| --- | --- | --- | --- |")
    for o in ("step-ca", "pebble"):
        if o not in per:
            print("| moat/%s | not measured | | ≤ %.1f |" % (o, goals[o]))
            continue
        m = [v for v in per["moat"].values() if v is not None]
        q = [v for v in per[o].values() if v is not None]
        rounds = [per["moat"][r] / per[o][r] for r in per["moat"]
                  if per["moat"].get(r) and per[o].get(r)]
        if not m or not q or not rounds:
            print("| moat/%s | n/a | | ≤ %.1f |" % (o, goals[o]))
            continue
        med = statistics.median(m) / statistics.median(q)
        print("| moat/%s | %.3f | %.3f–%.3f | ≤ %.1f %s |" % (
            o, med, min(rounds), max(rounds), goals[o], "met" if max(rounds) <= goals[o] else "NOT met"))
    print()
if any(x["failed"] for x in rows if x["server"] == "moat"):
    print("**moat lost orders: see the error types above**")
    print()
    sys.exit(1)
EOF

echo "### Environment"
echo
echo "- $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))," \
	"$(uname -sr), client and servers on the same machine, loopback;" \
	"load average at the end $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- moat: $("$MOAT" --version 2>&1 | head -n 1) ($MOAT)"
[ -n "$STEPCA_DIR" ] && echo "- step-ca: 0.19 from Debian's golang-github-smallstep-certificates-dev ($(dpkg-query -W -f '${Version}' golang-github-smallstep-certificates-dev 2>/dev/null)), go $(go version 2>/dev/null | awk '{print $3}')"
[ -n "${PID[pebble]:-}" ] && echo "- pebble: Debian's $(dpkg-query -W -f '${Version}' pebble 2>/dev/null), PEBBLE_VA_NOSLEEP=1, PEBBLE_WFE_NONCEREJECT=0"
echo "- client: bench/acme_load.py, python3 $("$PY" -c 'import platform; print(platform.python_version())'), one thread per order"
for n in "${NOTES[@]}"; do
	echo "- $n"
done
echo
printf '<details><summary>Exact commands</summary>\n\n```sh\n'
echo "ROUNDS=$ROUNDS ORDERS=$ORDERS MOAT=$MOAT bench/ca_issue_load.sh"
echo "pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 '' -dns01 127.0.0.1:$CHALL_DNS_PORT -management ${CHALL_MGMT_URL#http://} -http01 '' -https01 '' -tlsalpn01 ''"
for s in "${RUNSERVERS[@]}"; do
	echo "${CMD[$s]}"
	echo "/usr/bin/python3 bench/acme_load.py --directory ${DIRURL[$s]} --ca-bundle ${BUNDLE[$s]/#$W/\$W} --http-port ${HPORT[$s]} --orders $ORDERS --prefix $s\$ROUND"
done
printf '```\n\n</details>\n'
exit "$STATUS"
