# shellcheck shell=bash
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
