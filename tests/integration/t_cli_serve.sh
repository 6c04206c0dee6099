#!/usr/bin/env bash
# t_cli_serve: `moat serve --check` refuses what a real start refuses (short
# of binding ports): a user that does not exist, a site of the private CA
# outside its name constraints, a log file that cannot be opened -- each
# error naming FILE:LINE of the directive (or its option) -- and says
# "configuration OK" only when the start would work; the JSON access log's
# duration is whole microseconds (issue 14, items 4 and 6).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_serve.sh"

serve_need_tools
need_ca --permit .localhost --permit .example.test
need_upstream A
UP=http://127.0.0.1:${UP_PORT[A]}

# A configuration that works, then one broken thing at a time.
write_conf() { # FILE EXTRA-GLOBAL-LINE [SITE-NAME]
	printf '%s\nsite %s {\n\tupstream %s\n\tcert local\n}\n' "$2" "${3:-chat.localhost}" "$UP" >"$1"
}
write_conf "$T/ok.conf" "https-port 8443"
moat serve --check --config "$T/ok.conf"
assert_rc 0 "--check: a good configuration passes"
assert_contains "$OUT" "configuration OK" "  ... and says so"

# ---- a user that does not exist: FILE:LINE of "user"
write_conf "$T/user.conf" "user no-such-user-moat"
moat serve --check --config "$T/user.conf"
assert_error_shape "--check: user no-such-user-moat is refused"
assert_contains "$ERR" "$T/user.conf:1: no user named no-such-user-moat" \
	"  ... with FILE:LINE of the user directive"
assert_not_contains "$OUT" "configuration OK" "  ... and not \"configuration OK\""
moat serve --check --user no-such-user-moat --local "chat.localhost=$UP"
assert_error_shape "--check --user no-such-user-moat is refused"
assert_contains "$ERR" "--user: no user named no-such-user-moat" "  ... naming the option"
# a user that exists, but moat is not root and cannot switch to it
not_root
write_conf "$T/nobody.conf" "user nobody"
run "${AS_USER[@]}" env MOAT_HOME=/nonexistent "$MOAT" serve --check --config "$T/nobody.conf"
assert_error_shape "--check as a user ($AS_NAME) who cannot switch to another is refused"
assert_contains "$ERR" "$T/nobody.conf:1: cannot switch to user nobody: moat serve is not running as root" \
	"  ... with FILE:LINE of the user directive"
chmod 700 "$T"

# ---- the private CA's name constraints (it permits .localhost, .example.test)
write_conf "$T/nc.conf" "https-port 8443" "chat.other.test"
moat serve --check --config "$T/nc.conf"
assert_error_shape "--check: a site outside the CA's name constraints is refused"
assert_contains "$ERR" "$T/nc.conf:2:" "  ... with FILE:LINE of the site"
assert_contains "$ERR" "name constraints" "  ... saying why"
moat serve --check --local "a.other.test=$UP"
assert_error_shape "--check --local: a name outside the constraints is refused"
assert_contains "$ERR" "site a.other.test" "  ... naming the site"

# ---- log files: FILE:LINE of access-log / error-log, or the option
write_conf "$T/alog.conf" "access-log $T/no-such-dir/access.log"
moat serve --check --config "$T/alog.conf"
assert_error_shape "--check: an access log in a missing directory is refused"
assert_contains "$ERR" "$T/alog.conf:1: cannot open the access log $T/no-such-dir/access.log" \
	"  ... with FILE:LINE of the access-log directive"
write_conf "$T/elog.conf" "error-log $T/no-such-dir/error.log"
moat serve --check --config "$T/elog.conf"
assert_error_shape "--check: an error log in a missing directory is refused"
assert_contains "$ERR" "$T/elog.conf:1: cannot open the error log" \
	"  ... with FILE:LINE of the error-log directive"
write_conf "$T/dirlog.conf" "access-log $T"
moat serve --check --config "$T/dirlog.conf"
assert_error_shape "--check: an access log that is a directory is refused"
assert_contains "$ERR" "$T/dirlog.conf:1: the access log $T is a directory" "  ... saying so"
moat serve --check --config "$T/ok.conf" --access-log "$T/no-such-dir/a.log"
assert_error_shape "--check --access-log in a missing directory"
assert_contains "$ERR" "--access-log: cannot open the access log" "  ... naming the option"
# the real start says the same, FILE:LINE first
ports=$(sv_free_ports 2)
read -r p1 p2 <<<"$ports"
moat serve --config "$T/alog.conf" --https-port "$p1" --http-port "$p2" --listen 127.0.0.1
assert_error_shape "a real start with the broken access log fails"
assert_contains "$ERR" "$T/alog.conf:1: cannot open the access log" "  ... naming FILE:LINE too"

# ---- the JSON access log: the duration in whole microseconds
need_serve --local --access-log "$T/access.json" --log-format json "chat.localhost=$UP"
for _ in 1 2 3 4 5; do
	scurl -o /dev/null "$(surl /)" || fail "request through moat serve"
done
wait_grep "$SV_PID" "$T/access.json" '"duration"' 15 || fail "the access log has a line"
serve_stop
durations=$("$PY" -c '
import json, sys
for line in open(sys.argv[1]):
    print(repr(line.split("\"duration\":", 1)[1].split(",", 1)[0].split("}", 1)[0]))
    json.loads(line)
' "$T/access.json")
note "durations: $(tr '\n' ' ' <<<"$durations")"
assert_ne "$durations" "" "the JSON access log has durations"
if grep -qE "^'[0-9]+\.[0-9]{1,6}'$" <<<"$durations" && ! grep -qvE "^'[0-9]+\.[0-9]{1,6}'$" <<<"$durations"; then
	pass "every duration has at most 6 decimals (microseconds)"
else
	fail "a duration is not rounded to microseconds: $(tr '\n' ' ' <<<"$durations")"
fi

finish
