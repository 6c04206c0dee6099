#!/usr/bin/env bash
# t_serve_failover: a site with several upstreams, one of them down.  Every
# request must be answered by a live upstream while one is up (the retry
# goes to the next address from the request's own turn, not back to the
# one that failed when other requests have moved the round robin on), the
# live ones share the load, and the error log names the address that
# failed, never a healthy one.  Then one live upstream stops too, then all.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_serve.sh"

serve_need_tools
need_ca
need_upstream A B

# A port nothing listens on: free when chosen, never used.
DEAD=$(sv_free_ports 1)
cat >"$T/serve.conf" <<EOF
site chat.localhost {
	upstream http://127.0.0.1:${UP_PORT[A]} http://127.0.0.1:$DEAD http://127.0.0.1:${UP_PORT[B]}
}
EOF
SV_WORKERS=1 need_serve --local --config "$T/serve.conf" --error-log "$T/error.log" \
	--access-log "$T/access.log"

# n requests one after the other: the status codes, and who answered.
burst() {
	local n=$1 i
	: >"$T/codes"
	: >"$T/names"
	for i in $(seq 1 "$n"); do
		scurl -D "$T/h.$i" -o /dev/null -w '%{http_code}\n' "$(surl "/hello?i=$i")" >>"$T/codes"
		tr -d '\r' <"$T/h.$i" | sed -n 's/^[Xx]-[Uu]pstream-[Nn]ame: //p' >>"$T/names"
	done
}

burst 30
assert_eq "$(sort -u "$T/codes" | tr '\n' ' ')" "200 " \
	"one upstream of three down: 30 requests in a row all answered 200"
# Round robin over [A, dead, B]: A's turns go to A, the dead one's to the
# next address (B), B's to B -- 10 and 20.
assert_eq "$(grep -c '^A$' "$T/names") $(grep -c '^B$' "$T/names")" "10 20" \
	"both live upstreams answer: A its turns, B its own and the dead one's"
if grep -q "cannot connect to upstream 127.0.0.1:$DEAD " "$T/error.log"; then
	pass "the error log names the address that failed (127.0.0.1:$DEAD)"
else
	fail "the error log does not name 127.0.0.1:$DEAD"
	sed -e 's/^/#   /' "$T/error.log" | tail -n 5
fi
for n in A B; do
	if grep -qE "upstream 127\\.0\\.0\\.1:${UP_PORT[$n]} " "$T/error.log"; then
		fail "the error log blames the healthy upstream $n (127.0.0.1:${UP_PORT[$n]})"
		grep -E "127\\.0\\.0\\.1:${UP_PORT[$n]} " "$T/error.log" | head -n 3 | sed -e 's/^/#   /'
	else
		pass "the error log never blames the healthy upstream $n"
	fi
done
# The access log names who answered, never the dead address.
if grep -q "127.0.0.1:$DEAD" "$T/access.log"; then
	fail "the access log names the dead upstream as the one that answered"
else
	pass "the access log never names the dead upstream for an answered request"
fi

# A stops too: B answers everything.
kill "${UP_PID[A]}" 2>/dev/null
wait "${UP_PID[A]}" 2>/dev/null
burst 12
assert_eq "$(sort -u "$T/codes" | tr '\n' ' ')" "200 " "two of three down: 12 requests all answered 200"
assert_eq "$(sort -u "$T/names" | tr '\n' ' ')" "B " "two of three down: all by the one live upstream"

# All down: 502 at once, not a hang.
kill "${UP_PID[B]}" 2>/dev/null
wait "${UP_PID[B]}" 2>/dev/null
run scurl -o /dev/null -w '%{http_code}' "$(surl /hello)"
assert_eq "$OUT" 502 "all upstreams down: 502"

serve_stop_checked "failover"
finish
