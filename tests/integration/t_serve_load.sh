#!/usr/bin/env bash
# t_serve_load: moat serve under load and abuse.  wrk on 20 keep-alive
# connections (every response a 200); 300 TLS connections trickling
# request heads a byte at a time (slowloris.py) while 20 ordinary requests
# are answered -- all of them before any slow one is let go, so not after
# waiting for them -- and the slow ones closed by header-timeout; then
# 10,000 idle TLS connections held open (idle_conns.py) while requests are
# still answered, with moat's memory per idle connection measured (noted,
# and it must be under 40 KiB; 80 with AddressSanitizer).
#
# No request has a time limit of its own (a loaded machine makes every step
# slow); what is checked is the order of events.  Time is what is tested
# only for header-timeout, with a margin.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_serve.sh"

serve_need_tools
# For 10,000 connections on each side (moat inherits it).
ulimit -n "$(ulimit -Hn)" 2>/dev/null
NOFILE=$(ulimit -n)
IDLE=10000
if [ "$NOFILE" != unlimited ] && [ "$NOFILE" -lt $((IDLE + 400)) ]; then
	IDLE=$((NOFILE - 400))
	if [ "$IDLE" -lt 1000 ]; then
		IDLE=0
		skip_part "RLIMIT_NOFILE is $NOFILE (hard limit): the idle connections are not tested"
	else
		note "RLIMIT_NOFILE is $NOFILE: $IDLE idle connections instead of 10000"
	fi
fi
need_ca
need_upstream chat
# header-timeout also bounds the TLS handshake (from the accept): 10 s
# leave the 20 quick requests time to be answered while the slow heads are
# held, even on a slow machine.  The idle part reloads with a longer one
# (10,000 handshakes queue up there).
HEADER_S=10
load_conf() {
	cat >"$T/load.conf" <<EOF
header-timeout ${1}s
idle-timeout 120s
site chat.localhost {
	upstream http://127.0.0.1:${UP_PORT[chat]}
}
EOF
}
load_conf "$HEADER_S"
need_serve --local --config "$T/load.conf"

https_open() { metric 'moat_connections_open{listener="https"}'; }
# open_at_least N / open_at_most N: for until_true (called through it).
# shellcheck disable=SC2317
open_at_least() { [ "$(https_open)" -ge "$1" ] 2>/dev/null; }
# shellcheck disable=SC2317
open_at_most() { [ "$(https_open)" -le "$1" ] 2>/dev/null; }

# quick_requests N DESC: N requests one after another, each on a new TLS
# connection (one curl process); all must be 200.  The slowest is noted,
# not limited: the callers check that they were answered in time by the
# order of events (the slow or idle connections still open afterwards).
quick_requests() {
	local n=$1 desc=$2 i ok=0 fresh=0 max=0 code conns secs ms
	local -a args=()
	for i in $(seq 1 "$n"); do
		args+=(-o /dev/null "$(surl "/hello?i=$i")")
	done
	while read -r code conns secs; do
		ms=$("$PY" -c 'import sys; print(int(float(sys.argv[1]) * 1000))' "${secs:-99}")
		[ "$code" = 200 ] && ok=$((ok + 1))
		[ "$conns" = 1 ] && fresh=$((fresh + 1))
		[ "$ms" -gt "$max" ] && max=$ms
	done < <(scurl -H 'Connection: close' -w '%{http_code} %{num_connects} %{time_total}\n' "${args[@]}" 2>/dev/null)
	assert_eq "$ok" "$n" "$desc: $n requests answered 200"
	assert_eq "$fresh" "$n" "$desc: each on a new connection"
	note "$desc: the slowest took $max ms"
}

for _ in 1 2 3; do scurl -o /dev/null "$(surl /hello)"; done

# ---- wrk: many keep-alive requests on 20 connections, every one a 200
if command -v wrk >/dev/null 2>&1; then
	c0=$(metric 'moat_http_requests_total{code="200"}')
	assert_int_between "${c0:-x}" 3 100000000 "/metrics counts the 200s ($c0 so far)"
	run timeout 30 wrk -t 2 -c 20 -d 3s -H "Host: chat.localhost" "https://127.0.0.1:$SV_HTTPS/hello"
	assert_rc 0 "wrk -c 20 -d 3s"
	n=$(sed -n -E 's/^ *([0-9]+) requests in .*/\1/p' <<<"$OUT")
	note "wrk: $(grep -E 'requests in|Requests/sec' <<<"$OUT" | xargs)"
	assert_int_between "${n:-0}" 100 100000000 "wrk: requests were made ($n)"
	assert_not_contains "$OUT" "Non-2xx" "wrk: every response 2xx"
	assert_not_contains "$OUT" "Socket errors" "wrk: no socket errors"
	c1=$(metric 'moat_http_requests_total{code="200"}')
	assert_int_between "$((${c1:-0} - ${c0:-0}))" "${n:-1}" 100000000 "moat counted them ($((${c1:-0} - ${c0:-0})) 200s)"
else
	skip_part "wrk is not installed: no wrk run"
fi

# ---- slowloris
"$PY" "$IT_DIR/slowloris.py" 127.0.0.1 "$SV_HTTPS" --conns 300 --tls --servername chat.localhost \
	--interval-ms 200 --duration $((HEADER_S + 40)) >"$T/slow.json" 2>"$T/slow.err" &
SLOW_PID=$!
SERVER_PIDS+=("$SLOW_PID")
if until_true 60 open_at_least 300; then
	pass "the slowloris connections are open ($(https_open), all 300 at once)"
else
	fail "the slowloris connections did not open (open: $(https_open))"
fi
quick_requests 20 "during slowloris"
# Every quick request was answered while all 300 slow connections were still
# held: moat did not wait for them to be let go (header-timeout) first.
left=$(https_open)
assert_int_between "${left:-0}" 300 400 "the requests were answered while every slow connection was held ($left open)"
wait_exit "$SLOW_PID" $((HEADER_S + 60))
assert_eq "$WAIT_RC" 0 "slowloris.py finished"
S=$(cat "$T/slow.json")
note "slowloris: $S"
assert_eq "$(jget 'd["established"]' <<<"$S" 2>/dev/null)" 300 "slowloris: 300 established"
assert_eq "$(jget 'd["closed_by_server"]' <<<"$S" 2>/dev/null)" 300 "slowloris: moat closed all 300"
mn=$(jget 'int(d["close_after_s"]["min"] * 1000)' <<<"$S" 2>/dev/null)
mx=$(jget 'int(d["close_after_s"]["max"] * 1000)' <<<"$S" 2>/dev/null)
# The header timer starts with the first byte of the head, which the client
# sends as soon as its handshake is done: close_after is header-timeout
# give or take the scheduling of a loaded machine (3 s of margin each way).
assert_int_between "${mn:-x}" $((HEADER_S * 1000 - 3000)) $((HEADER_S * 1000 + 3000)) \
	"slowloris: none closed long before header-timeout ${HEADER_S}s (first after $mn ms)"
assert_int_between "${mx:-x}" $((HEADER_S * 1000 - 500)) $((HEADER_S * 1000 + 3000)) \
	"slowloris: all closed soon after header-timeout ${HEADER_S}s (last after $mx ms)"
if until_true 30 open_at_most 5; then
	pass "the slowloris connections are gone from moat ($(https_open) open)"
else
	fail "moat still counts $(https_open) open connections"
fi

# ---- 10,000 idle connections
if [ "$IDLE" -gt 0 ]; then
	# 10,000 handshakes queue up: header-timeout (which bounds each from
	# its accept) 60 s for them, by a reload; these connections are accepted
	# under the new generation.
	load_conf 60
	kill -HUP "$SV_PID"
	if wait_grep "$SV_PID" "$SV_ERR" 'reloaded the configuration \(generation 2' 30; then
		pass "SIGHUP: reloaded with header-timeout 60s for the idle connections"
	else
		fail "SIGHUP: no \"reloaded the configuration (generation 2\" in the log"
	fi
	for _ in 1 2 3; do scurl -o /dev/null "$(surl /hello)"; done
	R0=$(rss_kib "$SV_PID")
	"$PY" "$IT_DIR/idle_conns.py" 127.0.0.1 "$SV_HTTPS" --conns "$IDLE" --cafile "$ROOT_PEM" \
		--servername chat.localhost --ready-file "$T/idle.ready" >"$T/idle.json" 2>"$T/idle.err" &
	IDLE_PID=$!
	SERVER_PIDS+=("$IDLE_PID")
	if wait_file "$IDLE_PID" "$T/idle.ready" 240; then
		pass "idle_conns.py finished connecting ($(tail -n 1 "$T/idle.err"))"
	else
		fail "idle_conns.py did not finish connecting"
		sed -e 's/^/#   /' "$T/idle.err" | tail -n 5
	fi
	assert_eq "$(cat "$T/idle.ready" 2>/dev/null)" "$IDLE" "$IDLE verified TLS connections established"
	assert_int_between "$(https_open)" "$IDLE" $((IDLE + 10)) "moat counts them open"
	R1=$(rss_kib "$SV_PID")
	PER=$(((R1 - R0) * 1024 / IDLE))
	note "moat VmRSS: $R0 KiB before, $R1 KiB with $IDLE idle TLS connections: $((PER / 1024)).$(((PER % 1024) * 10 / 1024)) KiB each"
	if is_asan; then
		# redzones around every allocation: only a sanity bound here
		assert_int_between "$(((R1 - R0) / IDLE))" 0 79 "less than 80 KiB per idle TLS connection (AddressSanitizer)"
	else
		assert_int_between "$(((R1 - R0) / IDLE))" 0 39 "less than 40 KiB per idle TLS connection"
	fi
	quick_requests 10 "with $IDLE idle connections open"
	assert_int_between "$(https_open)" "$IDLE" $((IDLE + 10)) "... answered with every idle connection still open"
	kill -TERM "$IDLE_PID"
	wait_exit "$IDLE_PID" 60
	assert_eq "$WAIT_RC" 0 "idle_conns.py ends on SIGTERM, exit 0 (every connection was established)"
	I=$(tail -n 1 "$T/idle.json")
	note "idle_conns: $I"
	assert_eq "$(jget 'd["closed_by_server"]' <<<"$I" 2>/dev/null)" 0 "no idle connection was dropped (idle-timeout 120s)"
	if until_true 30 open_at_most 5; then
		pass "closed by the client: moat lets them all go ($(https_open) open)"
	else
		fail "moat still counts $(https_open) open connections"
	fi
	quick_requests 5 "afterwards"
fi

serve_stop_checked "load"
finish
