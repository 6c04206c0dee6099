#!/usr/bin/env bash
# bench/startup.sh: what a start of moat costs, side by side in one run:
#
#   moat --version          the start alone
#   empty program           int main(void) { return 0; } linked with the
#                           libraries moat links (readelf -d: NEEDED), libcurl
#                           left out: the floor for any program using them
#   empty program + libcurl the same plus libcurl.so.4: what linking libcurl
#                           costs every start
#   moat issue NAME         one certificate from the private CA (default key,
#                           ec-p256; the CA made once with --no-passphrase)
#   mkcert -ecdsa NAME      the same with mkcert (CAROOT made once)
#
# and, with BASE=<another moat binary> (e.g. a build of the commit before a
# change), moat --version and moat issue of that binary too.  It prints
# Markdown with the ratios moat issue / mkcert -ecdsa and moat --version /
# empty program (goals: at most 0.5x, and close to 1x).
#
# The runs are interleaved: ROUNDS rounds, each one hyperfine run of every
# command (RUNS runs after WARMUP warmup runs; the starts with -N, without a
# shell, the certificates through bash), the order of the commands turned
# by one place each round, so that a slow minute of a shared machine falls
# on every command alike.  The tables pool the runs of all rounds;
# the ratios are those of the pooled means, with the lowest and highest
# ratio of a single round as their spread.
#
# Environment:
#   MOAT    binary (default <repo>/build/moat; a release build is best)
#   BASE    a second moat binary to compare with (optional)
#   ROUNDS  rounds (default 5); RUNS runs per command per round (default 20);
#   WARMUP  warmup runs per command per round (default 3)
#   KEEP=1  keep the work dir (hyperfine's JSON exports are in it)

set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
MOAT=${MOAT:-$ROOT/build/moat}
BASE=${BASE:-}
ROUNDS=${ROUNDS:-5}
RUNS=${RUNS:-20}
WARMUP=${WARMUP:-3}

die() {
	echo "bench/startup.sh: $*" >&2
	exit 1
}

abs() {
	case $1 in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s\n' "$PWD/$1" ;;
	esac
}

for tool in hyperfine mkcert cc readelf python3; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
MOAT=$(abs "$MOAT")
[ -x "$MOAT" ] || die "no moat binary at $MOAT (build it, or set MOAT)"
if [ -n "$BASE" ]; then
	BASE=$(abs "$BASE")
	[ -x "$BASE" ] || die "no moat binary at BASE=$BASE"
fi

bench_workdir moat-startup
bench_counter
mkdir -p "$W/mkcert-out"

# ------------------------------------------------------------ the empty programs

needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'; }
LIBS=()
while IFS= read -r lib; do
	case $lib in
	libc.so.* | ld-linux* | libcurl.so.*) ;; # libc: linked anyway; libcurl: apart
	*) LIBS+=("-l:$lib") ;;
	esac
done < <(needed "$MOAT")
echo 'int main(void) { return 0; }' >"$W/empty.c"
cc -O2 -o "$W/empty" "$W/empty.c" -Wl,--no-as-needed "${LIBS[@]}" ||
	die "cannot link the empty program with ${LIBS[*]}"
cc -O2 -o "$W/empty-curl" "$W/empty.c" -Wl,--no-as-needed "${LIBS[@]}" -l:libcurl.so.4 ||
	die "cannot link the empty program with libcurl"

# ------------------------------------------------------------ one-time setup

for b in "$MOAT" ${BASE:+"$BASE"}; do
	home=$W/home-$([ "$b" = "$MOAT" ] && echo moat || echo base)
	MOAT_HOME=$home "$b" ca init --no-passphrase --name "moat startup bench" \
		</dev/null >>"$W/setup.log" 2>&1 || {
		cat "$W/setup.log" >&2
		die "$b ca init failed"
	}
done
export CAROOT=$W/mkcert-ca
mkdir -p "$CAROOT"
(cd "$W/mkcert-out" && mkcert -ecdsa setup.localhost) >>"$W/setup.log" 2>&1 || {
	cat "$W/setup.log" >&2
	die "mkcert CA creation failed"
}

# ------------------------------------------------------------------ commands

# Two groups, each one hyperfine run per round: the starts without a shell
# (-N: nothing to subtract from a few milliseconds), and the certificates
# through bash, as in bench/issue.sh: a fresh name per run from a counter
# file, with shell builtins only (hyperfine subtracts the shell's start-up).
q() { printf '%q' "$1"; }
START_NAMES=("moat --version" "empty program" "empty program + libcurl")
START_CMDS=("$(q "$MOAT") --version" "$(q "$W/empty")" "$(q "$W/empty-curl")")
ISSUE_NAMES=("moat issue" "mkcert -ecdsa")
ISSUE_CMDS=("$NEXT MOAT_HOME=$(q "$W/home-moat") exec $(q "$MOAT") issue \"m\$n.localhost\""
	"$NEXT cd $(q "$W/mkcert-out") && exec mkcert -ecdsa \"k\$n.localhost\"")
if [ -n "$BASE" ]; then
	START_NAMES+=("BASE moat --version")
	START_CMDS+=("$(q "$BASE") --version")
	ISSUE_NAMES+=("BASE moat issue")
	ISSUE_CMDS+=("$NEXT MOAT_HOME=$(q "$W/home-base") exec $(q "$BASE") issue \"b\$n.localhost\"")
fi

HYPERFINE_CMDS=()
# group ROUND JSON SHELL-ARG NAMES-ARRAY CMDS-ARRAY: one hyperfine run, the
# commands turned by ROUND places.
group() {
	local r=$1 json=$2 shell=$3 i k
	local -n names=$4 cmds=$5
	local -a args=(hyperfine "$shell" --warmup "$WARMUP" --runs "$RUNS" --style basic
		--export-json "$json")
	for ((i = 0; i < ${#names[@]}; i++)); do
		k=$(((i + r) % ${#names[@]}))
		args+=(--command-name "${names[$k]}" "${cmds[$k]}")
	done
	[ "$r" -eq 0 ] && HYPERFINE_CMDS+=("$(printf '%q ' "${args[@]}")")
	"${args[@]}" >"$json.log" 2>&1 || {
		cat "$json.log" >&2
		die "hyperfine failed"
	}
}
for ((r = 0; r < ROUNDS; r++)); do
	echo "<!-- round $((r + 1)) of $ROUNDS -->" >&2
	group "$r" "$W/round$r-start.json" -N START_NAMES START_CMDS
	group "$r" "$W/round$r-issue.json" --shell=bash ISSUE_NAMES ISSUE_CMDS
done

# --------------------------------------------------------------------- report

python3 - "$W" "$ROUNDS" "${BASE:+base}" <<'EOF'
import json, statistics, sys

w, rounds, base = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "base"
per_round = []
for r in range(rounds):
    d = {}
    for g in ("start", "issue"):
        with open("%s/round%d-%s.json" % (w, r, g)) as f:
            d.update({x["command"]: x for x in json.load(f)["results"]})
    per_round.append(d)
names = list(per_round[0])
order = ["moat --version", "empty program", "empty program + libcurl", "moat issue",
         "mkcert -ecdsa", "BASE moat --version", "BASE moat issue"]
names.sort(key=order.index)
pooled = {}
for c in names:
    t = [x for rr in per_round for x in rr[c]["times"]]
    pooled[c] = {
        "mean": statistics.mean(t), "sd": statistics.stdev(t), "median": statistics.median(t),
        "min": min(t), "user": statistics.mean(rr[c]["user"] for rr in per_round),
        "system": statistics.mean(rr[c]["system"] for rr in per_round), "n": len(t)}

ms = lambda s: s * 1000.0
print("| Command | Wall time (mean ± σ) | Median | Min | User | System | Runs |")
print("|---|---:|---:|---:|---:|---:|---:|")
for c in names:
    p = pooled[c]
    print("| {} | {:.1f} ms ± {:.1f} ms | {:.1f} ms | {:.1f} ms | {:.1f} ms | {:.1f} ms | {} |".format(
        c, ms(p["mean"]), ms(p["sd"]), ms(p["median"]), ms(p["min"]), ms(p["user"]),
        ms(p["system"]), p["n"]))
print()

def ratio(a, b, what, goal=None):
    per = [rr[a]["mean"] / rr[b]["mean"] for rr in per_round]
    total = pooled[a]["mean"] / pooled[b]["mean"]
    med = pooled[a]["median"] / pooled[b]["median"]
    line = "- {}: **{:.2f}×** (median {:.2f}×; single rounds {:.2f}× to {:.2f}×)".format(
        what, total, med, min(per), max(per))
    if goal is not None:
        line += "; goal ≤ {:.1f}×: {}".format(goal, "met" if total <= goal else "NOT met")
    print(line)

ratio("moat issue", "mkcert -ecdsa", "moat issue / mkcert -ecdsa", 0.5)
ratio("moat --version", "empty program", "moat --version / empty program")
ratio("empty program + libcurl", "empty program", "empty program + libcurl / empty program")
if base:
    ratio("BASE moat issue", "mkcert -ecdsa", "BASE: moat issue / mkcert -ecdsa", 0.5)
    ratio("BASE moat --version", "empty program", "BASE: moat --version / empty program")
    ratio("moat issue", "BASE moat issue", "moat issue / BASE moat issue")
    ratio("moat --version", "BASE moat --version", "moat --version / BASE moat --version")
EOF

cat <<EOF

Environment: $("$MOAT" --version 2>&1 | head -n 1) (\`$MOAT\`${BASE:+; BASE \`$BASE\`}),
$(mkcert -version 2>&1 | head -n 1 | sed 's/^/mkcert /'), $(hyperfine --version);
$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1), $(nproc) CPUs, $(uname -sr).
The empty program links: ${LIBS[*]} (moat's NEEDED libraries but libc and libcurl).

Reproduce: \`${BASE:+BASE=$BASE }MOAT=$MOAT ROUNDS=$ROUNDS RUNS=$RUNS WARMUP=$WARMUP bench/startup.sh\`

EOF
bench_print_commands "${HYPERFINE_CMDS[@]}"
echo "(The first round's commands; later rounds turn the order by one place each.)"
