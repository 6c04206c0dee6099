#!/usr/bin/env bash
# run.sh: run the integration tests.
#
#   tests/integration/run.sh [NAME...]     NAME: t_issue_verify, issue_verify, ...
#
# Environment: MOAT (binary, default <repo>/build/moat) or BUILD (build dir),
# IT_TIMEOUT (seconds per script, default 600), VERBOSE=1 (show every log).
# Prints "PASS name" / "FAIL name" per script and, last, "N passed, N failed".
# A script that exits 77 is skipped ("SKIP name: reason", from its last
# "# SKIP reason" line), counted neither as passed nor as failed.

set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
MOAT=${MOAT:-$BUILD/moat}
case $MOAT in
/*) ;;
*) MOAT=$PWD/$MOAT ;;
esac
export MOAT BUILD
IT_TIMEOUT=${IT_TIMEOUT:-600}

scripts=()
if [ "$#" -eq 0 ]; then
	for s in "$HERE"/t_*.sh; do
		scripts+=("$s")
	done
else
	for name in "$@"; do
		name=$(basename "$name" .sh)
		name=t_${name#t_}
		if [ ! -f "$HERE/$name.sh" ]; then
			echo "run.sh: no such test: $name" >&2
			exit 2
		fi
		scripts+=("$HERE/$name.sh")
	done
fi

echo "# moat: $MOAT"
if [ -x "$MOAT" ]; then
	echo "# $("$MOAT" --version 2>&1 | head -n 1)"
fi
echo "# $(openssl version)"

passed=0
failed=0
skipped=0
logdir=$(mktemp -d "${TMPDIR:-/tmp}/moat-it-logs.XXXXXX")
trap 'rm -rf "$logdir"' EXIT

for s in "${scripts[@]}"; do
	name=$(basename "$s" .sh)
	log=$logdir/$name.log
	start=$(date +%s)
	timeout -k 10 "$IT_TIMEOUT" bash "$s" >"$log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	if [ "$rc" -eq 77 ]; then
		skipped=$((skipped + 1))
		echo "SKIP $name: $(sed -n 's/^# SKIP //p' "$log" | tail -n 1)"
	elif [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		echo "PASS $name (${secs}s, $(grep -c '^ok ' "$log") checks)"
		if [ -n "${VERBOSE:-}" ]; then
			sed -e 's/^/    /' "$log"
		fi
	else
		failed=$((failed + 1))
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			echo "FAIL $name (timed out after ${IT_TIMEOUT}s)"
		else
			echo "FAIL $name (exit $rc, ${secs}s, $(grep -c '^not ok ' "$log") of $(grep -cE '^(not )?ok ' "$log") checks failed)"
		fi
		if [ -n "${VERBOSE:-}" ]; then
			sed -e 's/^/    /' "$log"
		else
			# The failed checks with their details, then the tail.
			awk '/^not ok /{p=1; print "    " $0; next} /^ok / || /^# t_[a-z0-9_]+: /{p=0} p && /^#/{print "    " $0}' \
				"$log" | head -n 200
			tail -n 3 "$log" | sed -e 's/^/    | /'
		fi
	fi
done

if [ "$skipped" -gt 0 ]; then
	echo "# $skipped skipped"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
