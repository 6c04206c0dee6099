#!/usr/bin/env bash
# t_demo: the README's demo (demo.sh) runs to the end and succeeds.
. "$(dirname "$0")/lib.sh"

run bash "$IT_DIR/demo.sh"
assert_rc 0 "demo.sh succeeds"
assert_contains "$OUT" "OK: https://localhost:" "demo: curl trusted https://localhost:PORT/"
assert_contains "$OUT" "OK: https://127.0.0.1:" "demo: curl trusted https://127.0.0.1:PORT/"
assert_not_contains "$OUT" "FAILED" "demo: nothing failed"
assert_eq "$(find "${TMPDIR:-/tmp}" -maxdepth 1 -name 'moat-demo.*' -newer "$T" 2>/dev/null)" "" \
	"demo: its temporary directory is gone"

finish
