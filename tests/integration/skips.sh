# shellcheck shell=bash
# skips.sh: when a skipped test is a failure (sourced by run.sh and lib.sh).
#
# A script that cannot run here exits 77 (lib.sh: skip_test); a part of a
# script that cannot run calls lib.sh's skip_part.  Outside CI both are only
# reported (and counted).  In CI -- CI=true, which .ci/run always sets -- a
# skip is a failure unless skip-allow.txt allows that script's reason;
# MOAT_TESTS_LENIENT=1 turns the strict mode off (for developers).  The unit
# tests apply the same rule (tests/unit/unit_skip.h).

SKIP_ALLOW_FILE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/skip-allow.txt

# skips_strict: is a skip a failure here?
skips_strict() {
	[ "${CI:-}" = true ] && [ "${MOAT_TESTS_LENIENT:-}" != 1 ]
}

# _skip_allow_entries: skip-allow.txt as "LINENO<US>NAME<US>REGEX<US>WHY"
# lines (US: the unit separator, \037); a malformed line gives empty fields.
_skip_allow_entries() {
	[ -r "$SKIP_ALLOW_FILE" ] || return 0
	awk -F '[ \t][ \t]+|\t' '
		/^[ \t]*(#|$)/ { next }
		{
			sub(/[ \t]+$/, "")
			why = ""
			for (i = 3; i <= NF; i++) why = why (i > 3 ? " " : "") $i
			printf "%d\037%s\037%s\037%s\n", NR, $1, $2, why
		}' "$SKIP_ALLOW_FILE"
}

# skip_allowed NAME REASON: if a line of skip-allow.txt allows script NAME
# to skip for REASON, print its WHY and return 0.
skip_allowed() {
	local name=$1 reason=$2 n t re why
	while IFS=$'\037' read -r n t re why; do
		if [ "$t" = "$name" ] && [ -n "$re" ] && [[ $reason =~ $re ]]; then
			printf '%s\n' "$why"
			return 0
		fi
	done < <(_skip_allow_entries)
	return 1
}

# skip_allow_check: print each malformed line of skip-allow.txt (not
# "t_NAME  REGEX  WHY", an invalid regex, no such script); 1 if there is one.
skip_allow_check() {
	local n t re why bad=0 dir
	dir=$(dirname "$SKIP_ALLOW_FILE")
	if [ ! -r "$SKIP_ALLOW_FILE" ]; then
		echo "$SKIP_ALLOW_FILE: missing"
		return 1
	fi
	while IFS=$'\037' read -r n t re why; do
		if [[ ! $t =~ ^t_[a-z0-9_]+$ ]] || [ -z "$re" ] || [ -z "$why" ]; then
			echo "skip-allow.txt:$n: want 't_NAME  REASON-REGEX  WHY' (fields apart by a tab or 2+ spaces)"
			bad=1
		elif [ ! -f "$dir/$t.sh" ]; then
			echo "skip-allow.txt:$n: no such script: $t.sh"
			bad=1
		else
			[[ '' =~ $re ]]
			if [ "$?" -eq 2 ]; then
				echo "skip-allow.txt:$n: not an extended regular expression: $re"
				bad=1
			fi
		fi
	done < <(_skip_allow_entries)
	return "$bad"
}

# skip_allow_list: the allow-list, one "NAME: /REGEX/ -- WHY" line each.
skip_allow_list() {
	local n t re why
	while IFS=$'\037' read -r n t re why; do
		printf '%s: /%s/ -- %s\n' "$t" "$re" "$why"
	done < <(_skip_allow_entries)
}
