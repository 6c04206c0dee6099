#!/usr/bin/env bash
# run.sh: run the integration tests.
#
#   tests/integration/run.sh [NAME...]     NAME: t_issue_verify, issue_verify, ...
#
# Environment: MOAT (binary, default <repo>/build/moat) or BUILD (build dir),
# IT_TIMEOUT (seconds per script, default 600), VERBOSE=1 (show every log),
# CI=true (strict: see below), MOAT_TESTS_LENIENT=1 (not strict after all).
# Prints "PASS name" / "FAIL name" / "SKIP name: reason" per script and, last,
# "N passed, N failed, N skipped".
#
# A script that exits 77 skips, with the reason from its last "# SKIP reason"
# line.  Outside CI it counts as skipped.  In CI (skips.sh: skips_strict) it
# counts as failed ("FAIL name: skipped in CI: reason") unless skip-allow.txt
# allows that reason for that script; then it counts as skipped and is listed
# in the summary with the allow-list's why.  Parts of scripts skipped
# (lib.sh: skip_part, "# SKIP-PART reason") are listed there too.

set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/integration/skips.sh
. "$HERE/skips.sh"
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
skip_notes=()
if ! problems=$(skip_allow_check); then
	while IFS= read -r p; do
		failed=$((failed + 1))
		echo "FAIL $p"
	done <<<"$problems"
fi
if skips_strict; then
	echo "# strict (CI=true): a skip fails unless tests/integration/skip-allow.txt allows it:"
	skip_allow_list | sed -e 's/^/#   /'
else
	echo "# not strict (CI=${CI:-unset}${MOAT_TESTS_LENIENT:+, MOAT_TESTS_LENIENT=$MOAT_TESTS_LENIENT}): skips are counted, not failed"
fi
logdir=$(mktemp -d "${TMPDIR:-/tmp}/moat-it-logs.XXXXXX")
trap 'rm -rf "$logdir"' EXIT

for s in "${scripts[@]}"; do
	name=$(basename "$s" .sh)
	log=$logdir/$name.log
	start=$(date +%s)
	timeout -k 10 "$IT_TIMEOUT" bash "$s" >"$log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	while IFS= read -r part; do
		skip_notes+=("$name: part skipped: $part")
	done < <(sed -n 's/^# SKIP-PART //p' "$log")
	# (a script that failed checks before it skipped has failed)
	if [ "$rc" -eq 77 ] && ! grep -q '^not ok ' "$log"; then
		reason=$(sed -n 's/^# SKIP //p' "$log" | tail -n 1)
		reason=${reason:-(no "# SKIP reason" line)}
		if why=$(skip_allowed "$name" "$reason"); then
			skipped=$((skipped + 1))
			echo "SKIP $name: $reason (allowed: $why)"
			skip_notes+=("$name: skipped: $reason (allowed: $why)")
		elif skips_strict; then
			failed=$((failed + 1))
			echo "FAIL $name: skipped in CI: $reason"
			echo "    (install what it needs in .ci/run, or allow it in tests/integration/skip-allow.txt)"
		else
			skipped=$((skipped + 1))
			echo "SKIP $name: $reason"
			skip_notes+=("$name: skipped: $reason")
		fi
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

if [ "${#skip_notes[@]}" -gt 0 ]; then
	echo "# skips:"
	printf '#   %s\n' "${skip_notes[@]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
