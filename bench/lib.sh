# shellcheck shell=bash
# shellcheck disable=SC2034 # W and NEXT are read by the scripts that source this
# bench/lib.sh: shared by the benchmark scripts (source it).

# bench_print_commands CMD...: the exact hyperfine command lines, as a
# collapsed Markdown block for docs/performance.md.
bench_print_commands() {
	local c
	printf '<details><summary>Exact hyperfine commands</summary>\n\n```sh\n'
	for c in "$@"; do
		printf '%s\n\n' "$c"
	done
	printf '```\n\n</details>\n'
}

# bench_workdir NAME: a new work directory in W (under TMPDIR), removed at
# exit, or kept and named in an HTML comment when KEEP is set.
bench_workdir() {
	W=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || exit 1
	if [ -n "${KEEP:-}" ]; then
		trap 'echo "<!-- work dir kept: $W -->"' EXIT
	else
		trap 'rm -rf "$W"' EXIT
	fi
}

# bench_counter: $W/counter starts at 0; NEXT is shell code (builtins only:
# read, echo, $(( ))) that puts its next number in n, so that a command
# hyperfine runs through bash gets a fresh name every run at no cost.
bench_counter() {
	echo 0 >"$W/counter"
	NEXT="read -r n <$(printf '%q' "$W/counter"); echo \$((n + 1)) >$(printf '%q' "$W/counter");"
}
