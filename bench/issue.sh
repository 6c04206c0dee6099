#!/usr/bin/env bash
# bench/issue.sh: time per-certificate issuance, side by side:
#
#   moat     moat issue NAME --key-type ec-p256   (CA made once, --no-passphrase)
#   mkcert   mkcert -ecdsa NAME                   (CAROOT made once)
#   openssl  the seed's leaf part: genrsa 2048 + req -new -subj + x509 -req -CA
#
# and the whole flow from nothing (CA + one leaf): moat ca init + issue,
# mkcert with a fresh CAROOT, the seed's five openssl commands.
#
# Every run issues a certificate for a fresh name.  hyperfine measures wall
# time (mean ± stddev) and CPU time (user, system) with warmup runs; the
# output is markdown, ready to paste into docs/performance.md.
#
# Goal: moat's wall time per certificate at most 0.5x mkcert's.
#
# Environment:
#   MOAT       binary (default <repo>/build/moat; a release build is best:
#              meson setup build-release -Dbuildtype=release)
#   RUNS       runs per leaf command (default 30)
#   FULL_RUNS  runs per whole-flow command (default 10; RSA-4096 keygen is slow)
#   WARMUP     warmup runs (default 3)
#   SKIP_FULL=1  only the per-leaf comparison
#   KEEP=1     keep the work dir (hyperfine JSON exports are in it)

set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
MOAT=${MOAT:-$ROOT/build/moat}
case $MOAT in
/*) ;;
*) MOAT=$PWD/$MOAT ;;
esac
RUNS=${RUNS:-30}
FULL_RUNS=${FULL_RUNS:-10}
WARMUP=${WARMUP:-3}

die() {
	echo "bench/issue.sh: $*" >&2
	exit 1
}

for tool in hyperfine mkcert openssl python3; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
[ -x "$MOAT" ] || die "no moat binary at $MOAT (build it, or set MOAT)"

bench_workdir moat-bench
bench_counter
mkdir -p "$W/mkcert-out" "$W/openssl" "$W/full"

# --------------------------------------------------------------- one-time setup

export MOAT_HOME=$W/moat-home
"$MOAT" ca init --no-passphrase --key-type ec-p256 --name "moat bench CA" \
	</dev/null >"$W/setup.log" 2>&1 || {
	cat "$W/setup.log" >&2
	die "moat ca init failed"
}

export CAROOT=$W/mkcert-ca
mkdir -p "$CAROOT"
(cd "$W/mkcert-out" && mkcert -ecdsa setup.bench.test) >>"$W/setup.log" 2>&1 || {
	cat "$W/setup.log" >&2
	die "mkcert CA creation failed"
}
# What kind of CA this mkcert makes (upstream: RSA-3072; some builds differ).
mkcert_ca_key=$(openssl x509 -in "$CAROOT/rootCA.pem" -noout -text 2>/dev/null |
	sed -n -e 's/^ *Public Key Algorithm: *//p' -e 's/^ *Public-Key: *//p' | tr '\n' ' ' | sed 's/ $//')

(
	cd "$W/openssl" &&
		openssl genrsa -des3 -passout pass:bench-pass -out root.key 4096 &&
		openssl req -x509 -new -nodes -key root.key -passin pass:bench-pass -sha256 -days 1024 \
			-subj "/CN=bench root" -out root.crt
) >>"$W/setup.log" 2>&1 || {
	cat "$W/setup.log" >&2
	die "openssl root creation failed"
}

# ------------------------------------------------------------------ commands

# Each command takes the next number from a counter file with shell builtins
# only (read, echo, $(( ))), so the name is fresh on every run at no cost;
# hyperfine subtracts the time to spawn the shell itself.  (-N, no shell,
# cannot give a fresh name per run.)
q() { printf '%q' "$1"; }

CMD_MOAT="$NEXT exec $(q "$MOAT") issue \"m\$n.bench.test\" --key-type ec-p256"
CMD_MKCERT="$NEXT cd $(q "$W/mkcert-out") && exec mkcert -ecdsa \"k\$n.bench.test\""
CMD_OPENSSL="$NEXT cd $(q "$W/openssl") &&
 openssl genrsa -out \"o\$n.key\" 2048 &&
 openssl req -new -key \"o\$n.key\" -subj \"/CN=o\$n.bench.test\" -out \"o\$n.csr\" &&
 exec openssl x509 -req -in \"o\$n.csr\" -CA root.crt -CAkey root.key -passin pass:bench-pass -CAcreateserial -out \"o\$n.crt\" -days 365 -sha256"

FULL=$(q "$W/full")
CMD_FULL_MOAT="$NEXT export MOAT_HOME=$FULL/m\$n MOAT_CA_PASSPHRASE=bench-pass &&
 $(q "$MOAT") ca init --key-type ec-p256 --name \"bench \$n\" &&
 exec $(q "$MOAT") issue mydomain.com"
CMD_FULL_MOAT_NP="$NEXT export MOAT_HOME=$FULL/n\$n &&
 $(q "$MOAT") ca init --no-passphrase --key-type ec-p256 --name \"bench \$n\" &&
 exec $(q "$MOAT") issue mydomain.com"
CMD_FULL_MKCERT="$NEXT export CAROOT=$FULL/k\$n && mkdir -p \"\$CAROOT\" && cd \"\$CAROOT\" &&
 exec mkcert -ecdsa mydomain.com"
CMD_FULL_OPENSSL="$NEXT mkdir $FULL/o\$n && cd $FULL/o\$n &&
 openssl genrsa -des3 -passout pass:bench-pass -out root.key 4096 &&
 openssl req -x509 -new -nodes -key root.key -passin pass:bench-pass -sha256 -days 1024 -subj \"/CN=bench root\" -out root.crt &&
 openssl genrsa -out mydomain.com.key 2048 &&
 openssl req -new -key mydomain.com.key -subj /CN=mydomain.com -out mydomain.com.csr &&
 exec openssl x509 -req -in mydomain.com.csr -CA root.crt -CAkey root.key -passin pass:bench-pass -CAcreateserial -out mydomain.com.crt -days 365 -sha256"

# bench JSON RUNS NAME CMD [NAME CMD ...]
bench() {
	local json=$1 runs=$2
	shift 2
	local args=(hyperfine --shell=bash --warmup "$WARMUP" --runs "$runs" --style basic
		--export-json "$json")
	while [ "$#" -gt 0 ]; do
		args+=(--command-name "$1" "$2")
		shift 2
	done
	HYPERFINE_CMDS+=("$(printf '%q ' "${args[@]}")")
	"${args[@]}" >"$json.log" 2>&1 || {
		cat "$json.log" >&2
		die "hyperfine failed"
	}
}
HYPERFINE_CMDS=()

echo "<!-- running: leaf issuance, $RUNS runs each (plus $WARMUP warmup) -->" >&2
bench "$W/leaf.json" "$RUNS" \
	moat "$CMD_MOAT" \
	mkcert "$CMD_MKCERT" \
	openssl "$CMD_OPENSSL"

if [ -z "${SKIP_FULL:-}" ]; then
	echo "<!-- running: whole flow, $FULL_RUNS runs each -->" >&2
	bench "$W/full.json" "$FULL_RUNS" \
		"moat ca init + issue" "$CMD_FULL_MOAT" \
		"moat ca init --no-passphrase + issue" "$CMD_FULL_MOAT_NP" \
		"mkcert (new CAROOT)" "$CMD_FULL_MKCERT" \
		"openssl (5 commands)" "$CMD_FULL_OPENSSL"
fi

# --------------------------------------------------------------------- report

moat_version=$("$MOAT" --version 2>&1 | head -n 1)
buildtype=unknown
info=$(dirname "$MOAT")/meson-info/intro-buildoptions.json
if [ -f "$info" ]; then
	buildtype=$(python3 -c '
import json, sys
for o in json.load(open(sys.argv[1])):
    if o["name"] == "buildtype":
        print(o["value"])' "$info")
fi
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)

python3 - "$W/leaf.json" "$([ -z "${SKIP_FULL:-}" ] && echo "$W/full.json")" <<'EOF'
import json, sys

def load(path):
    with open(path) as f:
        return json.load(f)["results"]

def ms(x):
    return x * 1000.0

def table(results, ref):
    print("| Command | Wall time (mean ± σ) | Median | User | System | CPU (user+sys) | Runs | Wall vs moat |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    base = ref["mean"]
    for r in results:
        cpu = r["user"] + r["system"]
        print("| {} | {:.1f} ms ± {:.1f} ms | {:.1f} ms | {:.1f} ms | {:.1f} ms | {:.1f} ms | {} | {:.2f}× |".format(
            r["command"], ms(r["mean"]), ms(r["stddev"] or 0.0), ms(r["median"]), ms(r["user"]),
            ms(r["system"]), ms(cpu), len(r["times"]), r["mean"] / base))

leaf = load(sys.argv[1])
by = {r["command"]: r for r in leaf}
m, k, o = by["moat"], by["mkcert"], by["openssl"]

print("## Issuing one certificate (CA already exists)")
print()
table(leaf, m)
print()
cpu = lambda r: r["user"] + r["system"]
wall_mk = m["mean"] / k["mean"]
print("- moat / mkcert: wall {:.2f}× (median {:.2f}×), CPU {:.2f}×".format(
    wall_mk, m["median"] / k["median"], cpu(m) / cpu(k)))
print("- moat / openssl: wall {:.2f}×, CPU {:.2f}×".format(m["mean"] / o["mean"], cpu(m) / cpu(o)))
print("- Goal, moat ≤ 0.5× mkcert wall time: **{}** ({:.2f}×)".format(
    "met" if wall_mk <= 0.5 else "NOT met", wall_mk))
print()

if len(sys.argv) > 2 and sys.argv[2]:
    full = load(sys.argv[2])
    print("## Whole flow from nothing (CA + one certificate)")
    print()
    table(full, full[0])
    print()
EOF

cat <<EOF
## Method

- moat: \`moat issue NAME --key-type ec-p256\` (ECDSA P-256), CA made once with
  \`moat ca init --no-passphrase\`; a fresh NAME on every run.
- mkcert: \`mkcert -ecdsa NAME\`, CAROOT in a temporary directory, CA made once
  (this mkcert's CA key: ${mkcert_ca_key:-unknown}).
- openssl: the leaf part of the usual five-command flow:
  \`openssl genrsa -out NAME.key 2048\`, \`openssl req -new -key NAME.key -subj /CN=NAME\`,
  \`openssl x509 -req -CA root.crt -CAkey root.key -CAcreateserial -days 365 -sha256\`
  (root key RSA-4096, -des3).
- Whole flow: \`moat ca init\` (root key encrypted, scrypt; and with --no-passphrase)
  + \`moat issue\`; mkcert with a new CAROOT (it makes its CA on first use);
  the five openssl commands (genrsa -des3 4096, req -x509, genrsa 2048, req -new, x509 -req).
- hyperfine, $WARMUP warmup runs; wall time is the mean ± standard deviation;
  user and system are the mean CPU time of the command and its children.
  Each command takes the next number from a counter file with shell builtins,
  so every run issues a fresh name; hyperfine subtracts the shell's start-up time.

Environment: ${moat_version} (${buildtype}, \`${MOAT}\`), $(mkcert -version 2>&1 | head -n 1 | sed 's/^/mkcert /'),
$(openssl version), $(hyperfine --version); ${cpu:-unknown CPU}, $(nproc) CPUs, $(uname -sr).

Reproduce: \`RUNS=$RUNS FULL_RUNS=$FULL_RUNS WARMUP=$WARMUP bench/issue.sh\`

EOF
bench_print_commands "${HYPERFINE_CMDS[@]}"
