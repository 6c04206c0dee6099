#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# bench/acme.sh: time getting one certificate over ACME (RFC 8555), http-01,
# from a local pebble (Debian's ACME test server, no artificial validation
# delays: PEBBLE_VA_NOSLEEP=1), side by side:
#
#   moat     moat acme issue NAME --standalone --http-port N  (only if
#            `moat acme --help` works; account registered once first)
#   uacme    uacme -t EC issue NAME, http-01 through a hook writing into a
#            webroot that a python3 http.server serves (account made once)
#   lego     lego --http --http.port 127.0.0.1:N run   (standalone; account once)
#   certbot  certbot certonly --standalone               (account once)
#
# Every run gets a certificate (ECDSA P-256 key) for a fresh name; every name
# resolves to 127.0.0.1 through pebble-challtestsrv, pebble's DNS server.
# hyperfine measures wall time (mean ± stddev) and CPU time (user, system of
# the client and its children); the output is markdown, like bench/issue.sh.
#
# With CONCURRENT=N (e.g. 20) there is a second table: one run is N
# certificates at once (N processes in parallel, N distinct names).  pebble
# validates http-01 on one port, so the parallel standalone clients listen on
# that port on N distinct loopback addresses (127.0.0.11, 127.0.0.12, ...;
# challtestsrv resolves each name to its own address); uacme's instances
# share the one webroot server.
#
# Environment:
#   MOAT        binary (default <repo>/build/moat)
#   RUNS        runs per client (default 10)
#   WARMUP      warmup runs (default 1)
#   CONCURRENT  N certificates at once in the second table (default: none)
#   CONC_RUNS   runs of the concurrent commands (default 3)
#   SKIP_SINGLE=1  only the concurrent table
#   CLIENTS     which clients, default "moat uacme lego certbot"
#   PEBBLE_WFE_NONCEREJECT  percentage of good nonces pebble rejects
#               (default here 0: retries would only add noise; pebble's own
#               default is 5)
#   KEEP=1      keep the work dir (hyperfine JSON exports are in it)

set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
MOAT=${MOAT:-$ROOT/build/moat}
case $MOAT in
/*) ;;
*) MOAT=$PWD/$MOAT ;;
esac
RUNS=${RUNS:-10}
WARMUP=${WARMUP:-1}
CONCURRENT=${CONCURRENT:-0}
CONC_RUNS=${CONC_RUNS:-3}
CLIENTS=${CLIENTS:-moat uacme lego certbot}
export PEBBLE_WFE_NONCEREJECT=${PEBBLE_WFE_NONCEREJECT:-0}

die() {
	echo "bench/acme.sh: $*" >&2
	exit 1
}

for tool in hyperfine pebble pebble-challtestsrv openssl python3 curl; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
case $CONCURRENT in
'' | *[!0-9]*) die "CONCURRENT must be a number" ;;
esac
[ "$CONCURRENT" -le 200 ] || die "CONCURRENT is at most 200 (one loopback address each)"

W=$(mktemp -d "${TMPDIR:-/tmp}/moat-bench-acme.XXXXXX")

# What lib_acme.sh takes from tests/integration/lib.sh.
T=$W
SERVER_PIDS=()
note() { printf '<!-- %s -->\n' "$*" >&2; }
count_certs() { grep -c -- '-----BEGIN CERTIFICATE-----' "$1" 2>/dev/null || true; }
cleanup() {
	local pid
	for pid in "${SERVER_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${SERVER_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	if [ -n "${KEEP:-}" ]; then
		echo "<!-- work dir kept: $W -->"
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# shellcheck source=../tests/integration/lib_acme.sh
. "$ROOT/tests/integration/lib_acme.sh"

# --------------------------------------------------------------- the CA

start_challtestsrv || die "pebble-challtestsrv did not start"
start_pebble || die "pebble did not start"
pebble_roots "$W/roots.pem" || die "cannot get pebble's root"
PORT=$ACME_HTTP_PORT
export LEGO_CA_CERTIFICATES=$ACME_CA_BUNDLE REQUESTS_CA_BUNDLE=$ACME_CA_BUNDLE

# setup_check NAME FULLCHAIN: a certificate we got verifies for NAME.
setup_check() {
	verify_acme_cert "$2" "$W/roots.pem" "$1" >>"$W/setup.log" 2>&1 ||
		die "$1: no certificate or it does not verify ($2)"
}

# ------------------------------------------------------------ commands

q() { printf '%q' "$1"; }
# Each command takes the next number from its own counter file with shell
# builtins only, so the name is fresh on every run at no cost (as in
# bench/issue.sh).
next() {
	echo 0 >"$W/counter.$1"
	# shellcheck disable=SC2016 # expanded when the command runs
	printf 'read -r n <%s; echo $((n + 1)) >%s;' "$(q "$W/counter.$1")" "$(q "$W/counter.$1")"
}
# par N CMD: CMD (using $i, 1..N) N times in parallel; fails if any fails.
par() {
	# shellcheck disable=SC2016 # expanded when the command runs
	printf 'pids=(); for ((i = 1; i <= %d; i++)); do %s >/dev/null 2>&1 & pids+=($!); done; rc=0; for p in "${pids[@]}"; do wait "$p" || rc=1; done; exit $rc' \
		"$1" "$2"
}
# Loopback address of parallel slot $i (in a command) / of slot I (here).
# shellcheck disable=SC2016 # expanded when the command runs
SLOT_ADDR='127.0.0.$((10 + i))'
slot_addr() { echo "127.0.0.$((10 + $1))"; }

DIR=$(q "$ACME_DIRECTORY")
BUNDLE=$(q "$ACME_CA_BUNDLE")
NAMES=()    # clients in the single table
CMDS=()     # their commands
C_NAMES=()  # clients in the concurrent table
C_CMDS=()
C_ADDR=()   # prefixes whose names need one address per slot (A records)
NOTES=()
FAILED=0
ACTIVE=" $CLIENTS "

: >"$W/setup.log"

# moat: only once it has an ACME client.  Its standalone server listens on
# 127.0.0.1 only if it has --http-address (and without it, N of them cannot
# share the one port in the concurrent table).
MOAT_VERSION=''
if [[ $ACTIVE == *" moat "* ]]; then
	if [ ! -x "$MOAT" ]; then
		NOTES+=("moat: no binary at $MOAT: no moat row")
	elif ! "$MOAT" acme --help >/dev/null 2>&1; then
		MOAT_VERSION=$("$MOAT" --version 2>&1 | head -n 1)
		NOTES+=("moat has no ACME client yet (\`moat acme --help\` fails): no moat row")
	else
		MOAT_VERSION=$("$MOAT" --version 2>&1 | head -n 1)
		export MOAT_HOME=$W/moat-home
		MOAT_ADDR=0
		if "$MOAT" acme issue --help 2>&1 | grep -q -- '--http-address'; then
			MOAT_ADDR=1
		fi
		MOAT_ISSUE="$(q "$MOAT") acme issue --server $DIR --ca-bundle $BUNDLE --standalone --http-port $PORT"
		MOAT_SETUP=("$MOAT" acme issue setup-m.bench.test --server "$ACME_DIRECTORY"
			--ca-bundle "$ACME_CA_BUNDLE" --standalone --http-port "$PORT")
		if [ "$MOAT_ADDR" = 1 ]; then
			MOAT_SETUP+=(--http-address 127.0.0.1)
		fi
		if ! "$MOAT" acme register --server "$ACME_DIRECTORY" --ca-bundle "$ACME_CA_BUNDLE" \
			--agree-tos --email x@example.test </dev/null >"$W/setup-moat.log" 2>&1; then
			NOTES+=("moat acme register failed: no moat row ($(tail -n 1 "$W/setup-moat.log"))")
			FAILED=1
			sed -e 's/^/<!-- moat setup: /' -e 's/$/ -->/' "$W/setup-moat.log" | tail -n 10 >&2
		elif ! "${MOAT_SETUP[@]}" </dev/null >>"$W/setup-moat.log" 2>&1; then
			NOTES+=("moat acme issue failed in the setup run: no moat row ($(tail -n 1 "$W/setup-moat.log"))")
			FAILED=1
			sed -e 's/^/<!-- moat setup: /' -e 's/$/ -->/' "$W/setup-moat.log" | tail -n 10 >&2
		else
			setup_check setup-m.bench.test "$MOAT_HOME/live/setup-m.bench.test/fullchain.pem"
			NAMES+=(moat)
			if [ "$MOAT_ADDR" = 1 ]; then
				CMDS+=("$(next moat) exec $MOAT_ISSUE --http-address 127.0.0.1 \"m\$n.bench.test\"")
			else
				NOTES+=("moat: \`moat acme issue\` has no --http-address: its http-01 server listened on all addresses")
				CMDS+=("$(next moat) exec $MOAT_ISSUE \"m\$n.bench.test\"")
			fi
			if [ "$CONCURRENT" -le 0 ]; then
				:
			elif [ "$MOAT_ADDR" = 1 ]; then
				C_NAMES+=("moat ×$CONCURRENT")
				C_CMDS+=("$(next moat-c) $(par "$CONCURRENT" "$MOAT_ISSUE --http-address $SLOT_ADDR \"s\$i.m\$n.bench.test\"")")
				C_ADDR+=(m)
			else
				NOTES+=("moat ×$CONCURRENT: no --http-address, and $CONCURRENT standalone servers cannot share one port on one address: not run")
			fi
		fi
	fi
fi

# uacme: no option to trust another CA; it runs in a mount namespace where
# the system CA bundle is pebble's listener CA (acme_write_trusting).
if [[ $ACTIVE == *" uacme "* ]]; then
	if ! command -v uacme >/dev/null 2>&1; then
		NOTES+=("uacme is not installed: no uacme row")
	elif ! acme_can_trust; then
		NOTES+=("uacme: cannot bind-mount a CA bundle in a mount namespace here: no uacme row")
	else
		acme_write_trusting "$W/trusting.sh"
		acme_uacme_hook "$W/uacme-hook.sh" "$W/webroot"
		mkdir -p "$W/webroot/.well-known/acme-challenge"
		UACME="$(q "$W/trusting.sh") uacme -y -t EC -c $(q "$W/uacme") -a $DIR -h $(q "$W/uacme-hook.sh")"
		{
			"$W/trusting.sh" uacme -y -t EC -c "$W/uacme" -a "$ACME_DIRECTORY" new &&
				start_webroot "$W/webroot" &&
				"$W/trusting.sh" uacme -y -t EC -c "$W/uacme" -a "$ACME_DIRECTORY" \
					-h "$W/uacme-hook.sh" issue setup-u.bench.test
		} </dev/null >>"$W/setup.log" 2>&1 || {
			cat "$W/setup.log" >&2
			die "uacme setup failed"
		}
		stop_webroot
		setup_check setup-u.bench.test "$W/uacme/setup-u.bench.test/cert.pem"
		NAMES+=(uacme)
		CMDS+=("$(next uacme) exec $UACME issue \"u\$n.bench.test\"")
		if [ "$CONCURRENT" -gt 0 ]; then
			C_NAMES+=("uacme ×$CONCURRENT")
			C_CMDS+=("$(next uacme-c) $(par "$CONCURRENT" "$UACME issue \"s\$i.u\$n.bench.test\"")")
		fi
	fi
fi

if [[ $ACTIVE == *" lego "* ]]; then
	if ! command -v lego >/dev/null 2>&1; then
		NOTES+=("lego is not installed: no lego row")
	else
		LEGO="lego --server $DIR --accept-tos --email lego@example.test --path $(q "$W/lego") --http"
		lego --server "$ACME_DIRECTORY" --accept-tos --email lego@example.test --path "$W/lego" \
			--http --http.port "127.0.0.1:$PORT" -d setup-l.bench.test run \
			</dev/null >>"$W/setup.log" 2>&1 || {
			cat "$W/setup.log" >&2
			die "lego setup run failed"
		}
		setup_check setup-l.bench.test "$W/lego/certificates/setup-l.bench.test.crt"
		NAMES+=(lego)
		CMDS+=("$(next lego) exec $LEGO --http.port 127.0.0.1:$PORT -d \"l\$n.bench.test\" run")
		if [ "$CONCURRENT" -gt 0 ]; then
			C_NAMES+=("lego ×$CONCURRENT")
			C_CMDS+=("$(next lego-c) $(par "$CONCURRENT" "$LEGO --http.port $SLOT_ADDR:$PORT -d \"s\$i.l\$n.bench.test\" run")")
			C_ADDR+=(l)
		fi
	fi
fi

if [[ $ACTIVE == *" certbot "* ]]; then
	if ! command -v certbot >/dev/null 2>&1; then
		NOTES+=("certbot is not installed: no certbot row")
	else
		# certbot DIR: the options for a config/work/logs dir under DIR.
		cbdirs() { printf -- '--config-dir %s --work-dir %s --logs-dir %s' "$(q "$1/config")" "$(q "$1/work")" "$(q "$1/logs")"; }
		CERTBOT="certbot certonly -n --agree-tos --register-unsafely-without-email --server $DIR --key-type ecdsa --elliptic-curve secp256r1 --standalone --preferred-challenges http --http-01-port $PORT"
		certbot register -n --agree-tos --register-unsafely-without-email --server "$ACME_DIRECTORY" \
			--config-dir "$W/certbot/config" --work-dir "$W/certbot/work" --logs-dir "$W/certbot/logs" \
			</dev/null >>"$W/setup.log" 2>&1 || {
			cat "$W/setup.log" >&2
			die "certbot register failed"
		}
		# (CERTBOT is shell text, its arguments quoted with q.)
		eval "$CERTBOT --http-01-address 127.0.0.1 $(cbdirs "$W/certbot") -d setup-c.bench.test" \
			</dev/null >>"$W/setup.log" 2>&1 || {
			cat "$W/setup.log" >&2
			die "certbot setup run failed"
		}
		setup_check setup-c.bench.test "$W/certbot/config/live/setup-c.bench.test/fullchain.pem"
		NAMES+=(certbot)
		CMDS+=("$(next certbot) exec $CERTBOT --http-01-address 127.0.0.1 $(cbdirs "$W/certbot") -d \"c\$n.bench.test\"")
		if [ "$CONCURRENT" -gt 0 ]; then
			# certbot locks its directories: one copy (with the account) per slot.
			for ((i = 1; i <= CONCURRENT; i++)); do
				mkdir -p "$W/certbot-c/s$i"
				cp -a "$W/certbot/config" "$W/certbot-c/s$i/config"
			done
			C_NAMES+=("certbot ×$CONCURRENT")
			C_CMDS+=("$(next certbot-c) $(par "$CONCURRENT" "$CERTBOT --http-01-address $SLOT_ADDR --config-dir $(q "$W/certbot-c")/s\$i/config --work-dir $(q "$W/certbot-c")/s\$i/work --logs-dir $(q "$W/certbot-c")/s\$i/logs -d \"s\$i.c\$n.bench.test\"")")
			C_ADDR+=(c)
		fi
	fi
fi

[ "${#NAMES[@]}" -gt 0 ] || die "no ACME client to measure (${NOTES[*]})"

# Concurrent standalone clients: every name of slot i resolves to slot i's
# address, for every run number hyperfine will use.
if [ "$CONCURRENT" -gt 0 ] && [ "${#C_ADDR[@]}" -gt 0 ]; then
	for p in "${C_ADDR[@]}"; do
		for ((n = 0; n < WARMUP + CONC_RUNS; n++)); do
			for ((i = 1; i <= CONCURRENT; i++)); do
				echo "s$i.$p$n.bench.test $(slot_addr "$i")"
			done
		done
	done | chall_add_a_many || die "cannot add the A records for the concurrent runs"
fi

# ------------------------------------------------------------- measuring

HYPERFINE_CMDS=()
# bench JSON RUNS NAME CMD: one hyperfine run of one command; on failure
# (a run that exits non-zero) a note, and no row.
bench() {
	local json=$1 runs=$2
	local args=(hyperfine --shell=bash --warmup "$WARMUP" --runs "$runs" --style basic
		--export-json "$json" --command-name "$3" "$4")
	HYPERFINE_CMDS+=("$(printf '%q ' "${args[@]}")")
	if ! "${args[@]}" >"$json.log" 2>&1; then
		sed -e 's/^/<!-- hyperfine: /' -e 's/$/ -->/' "$json.log" | tail -n 10 >&2
		NOTES+=("$3: FAILED (a run exited non-zero): no row")
		FAILED=1
		rm -f "$json"
		return 1
	fi
}

# One hyperfine per client: uacme's webroot server must hold the port the
# standalone clients listen on only while uacme runs.
SINGLE_JSON=()
CONC_JSON=()
if [ -z "${SKIP_SINGLE:-}" ]; then
	echo "<!-- running: one certificate per run, $RUNS runs each (plus $WARMUP warmup): ${NAMES[*]} -->" >&2
	for k in "${!NAMES[@]}"; do
		name=${NAMES[$k]}
		if [ "$name" = uacme ]; then
			start_webroot "$W/webroot" || die "webroot server did not start"
		fi
		if bench "$W/single-$name.json" "$RUNS" "$name" "${CMDS[$k]}"; then
			SINGLE_JSON+=("$W/single-$name.json")
		fi
		if [ "$name" = uacme ]; then
			stop_webroot
		fi
	done
fi
if [ "$CONCURRENT" -gt 0 ] && [ "${#C_NAMES[@]}" -gt 0 ]; then
	echo "<!-- running: $CONCURRENT certificates at once, $CONC_RUNS runs each: ${C_NAMES[*]} -->" >&2
	for k in "${!C_NAMES[@]}"; do
		name=${C_NAMES[$k]}
		if [[ $name == uacme* ]]; then
			start_webroot "$W/webroot" || die "webroot server did not start"
		fi
		if bench "$W/conc-${name%% *}.json" "$CONC_RUNS" "$name" "${C_CMDS[$k]}"; then
			CONC_JSON+=("$W/conc-${name%% *}.json")
		fi
		if [[ $name == uacme* ]]; then
			stop_webroot
		fi
	done
fi

# A last check that the runs did get certificates: the last one of each.
if [ -z "${SKIP_SINGLE:-}" ]; then
	n=$((WARMUP + RUNS - 1)) # the names are 0, 1, ...
	for name in "${NAMES[@]}"; do
		[ -f "$W/single-$name.json" ] || continue
		case $name in
		moat) setup_check "m$n.bench.test" "$MOAT_HOME/live/m$n.bench.test/fullchain.pem" ;;
		uacme) setup_check "u$n.bench.test" "$W/uacme/u$n.bench.test/cert.pem" ;;
		lego) setup_check "l$n.bench.test" "$W/lego/certificates/l$n.bench.test.crt" ;;
		certbot) setup_check "c$n.bench.test" "$W/certbot/config/live/c$n.bench.test/fullchain.pem" ;;
		esac
	done
fi

# --------------------------------------------------------------------- report

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
pkgver() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo '?'; }

python3 - "$CONCURRENT" "${SINGLE_JSON[@]}" -- "${CONC_JSON[@]}" <<'EOF'
import json, sys

conc = int(sys.argv[1])
sep = sys.argv.index("--")

def load(paths):
    out = []
    for p in paths:
        with open(p) as f:
            out += json.load(f)["results"]
    return out

def ms(x):
    return x * 1000.0

def cpu(r):
    return r["user"] + r["system"]

def table(results, per):
    ref = next((r for r in results if r["command"].startswith("moat")), results[0])
    refname = ref["command"].split()[0]
    print("| Command | Wall time (mean ± σ) | Median | User | System | CPU (user+sys) |"
          + (" Wall per certificate |" if per > 1 else "")
          + " Runs | Wall vs {0} | CPU vs {0} |".format(refname))
    print("|---|---:|---:|---:|---:|---:|" + ("---:|" if per > 1 else "") + "---:|---:|---:|")
    for r in results:
        print("| {} | {:.0f} ms ± {:.0f} ms | {:.0f} ms | {:.0f} ms | {:.0f} ms | {:.0f} ms |{} {} | {:.2f}× | {:.2f}× |".format(
            r["command"], ms(r["mean"]), ms(r["stddev"] or 0.0), ms(r["median"]), ms(r["user"]),
            ms(r["system"]), ms(cpu(r)),
            " {:.0f} ms |".format(ms(r["mean"]) / per) if per > 1 else "",
            len(r["times"]), r["mean"] / ref["mean"], cpu(r) / cpu(ref) if cpu(ref) else float("nan")))
    print()
    if not ref["command"].startswith("moat"):
        print("- (no moat row: ratios are against {})".format(refname))
    for r in results:
        if r is ref:
            continue
        print("- {} / {}: wall {:.2f}× (median {:.2f}×), CPU {:.2f}×".format(
            ref["command"], r["command"], ref["mean"] / r["mean"], ref["median"] / r["median"],
            cpu(ref) / cpu(r) if cpu(r) else float("nan")))
    print()

single = load(sys.argv[2:sep])
if single:
    print("## One certificate per run (http-01, pebble, account exists)")
    print()
    table(single, 1)
many = load(sys.argv[sep + 1:])
if many:
    print("## {} certificates at once per run (http-01, {} processes in parallel)".format(conc, conc))
    print()
    table(many, conc)
EOF

if [ "${#NOTES[@]}" -gt 0 ]; then
	echo "Notes:"
	echo
	for n in "${NOTES[@]}"; do
		echo "- $n"
	done
	echo
fi

cat <<EOF
## Method

- One pebble (Debian's ACME test server) on 127.0.0.1 with
  \`PEBBLE_VA_NOSLEEP=1\` (no random validation delay) and
  \`PEBBLE_WFE_NONCEREJECT=$PEBBLE_WFE_NONCEREJECT\` (percentage of good nonces refused),
  its DNS server pebble-challtestsrv resolving every name to 127.0.0.1; pebble
  validates http-01 on port $PORT.  Every client's account is registered
  once before; each run orders, proves and downloads one certificate for a
  fresh name, with a new ECDSA P-256 key.
- moat: \`moat acme issue NAME --server URL --ca-bundle FILE --standalone --http-port N
  --http-address 127.0.0.1\` (its account registered once with \`moat acme register\`).
- uacme: \`uacme -t EC -h HOOK issue NAME\`; the hook writes the key
  authorization into a webroot served by \`python3 -m http.server\` (started
  once, not timed).  uacme 1.7.4 has no option to trust another CA, so it runs
  under \`unshare --mount\` with pebble's listener CA bind-mounted over
  /etc/ssl/certs/ca-certificates.crt (a few ms, included).
- lego: \`lego --http --http.port 127.0.0.1:N -d NAME run\` (standalone server),
  trusting pebble's listener through LEGO_CA_CERTIFICATES.  Without a
  Retry-After header (pebble 2.4 sends none) lego waits 5 s before it polls
  the authorization: that wait is most of its wall time.
- certbot: \`certbot certonly --standalone --preferred-challenges http
  --http-01-address 127.0.0.1 --http-01-port N --key-type ecdsa\`, trusting
  pebble's listener through REQUESTS_CA_BUNDLE.
- Concurrent table (CONCURRENT=N): one run starts N clients at once with
  distinct names and waits for all; the standalone clients of slot i listen
  on 127.0.0.(10+i), which challtestsrv gives as the address of slot i's
  names; certbot gets a copy of its directories per slot (it locks them).
  Wall per certificate = wall / N.
- hyperfine, $WARMUP warmup runs; wall time is the mean ± standard deviation;
  user and system are the mean CPU time of the client and its children (not
  pebble's).  Each command takes the next number from a counter file with
  shell builtins, so every run has a fresh name.

Environment: ${MOAT_VERSION:-moat: none} (\`${MOAT}\`), pebble $(pkgver pebble), uacme $(pkgver uacme),
lego $(pkgver lego), certbot $(pkgver certbot), $(openssl version), $(hyperfine --version);
${cpu:-unknown CPU}, $(nproc) CPUs, $(uname -sr).

Reproduce: \`RUNS=$RUNS WARMUP=$WARMUP CONCURRENT=$CONCURRENT CONC_RUNS=$CONC_RUNS bench/acme.sh\`

EOF
bench_print_commands "${HYPERFINE_CMDS[@]}"
[ "$FAILED" -eq 0 ]
