# shellcheck shell=bash
# shellcheck disable=SC2034 # CS_* are read by the test scripts
# lib_ca_serve.sh: an ACME server on loopback for the t_ca_serve_*.sh tests --
# `moat ca serve` (the server under test) or, to prove a test's harness and
# its checks, pebble.  Source it after lib.sh and lib_acme.sh:
#
#   . "$(dirname "$0")/lib.sh"
#   . "$IT_DIR/lib_acme.sh"
#   . "$IT_DIR/lib_ca_serve.sh"
#   cs_start --permit test --permit 127.0.0.0/8 || cs_finish
#   ... clients use $CS_DIRECTORY, trust $CS_CA_BUNDLE for its TLS, answer
#       http-01 on 127.0.0.1:$CS_HTTP01_PORT, tls-alpn-01 on
#       127.0.0.1:$CS_TLSALPN_PORT; certificates verify against $CS_ROOT
#   cs_finish
#
# CA_SERVE_PEER picks the server: "moat" (default) or "pebble".  With moat, a
# CA is made in $MOAT_HOME (`moat ca init --no-passphrase` with cs_start's
# arguments, e.g. --permit) and `moat ca serve` runs on 127.0.0.1 with free
# ports; with pebble, the arguments are ignored (pebble has no permits).  In
# both cases every name resolves to 127.0.0.1 through pebble-challtestsrv
# (lib_acme.sh's start_challtestsrv; moat gets it as --dns-resolver), which
# also serves the TXT records of dns-01 (chall_set_txt).
#
# Set by cs_start: CS_PEER, CS_DIRECTORY, CS_CA_BUNDLE, CS_ROOT,
# CS_HTTP01_PORT, CS_TLSALPN_PORT, CS_DNS_PORT, CS_PID, CS_LOG and, for moat
# only, CS_HTTPS_PORT and CS_HTTP_PORT (OCSP, CRL, CA certificates: CS_HTTP_URL).

CA_SERVE_PEER=${CA_SERVE_PEER:-moat}
CS_PEER=$CA_SERVE_PEER
CS_DIRECTORY=''
CS_CA_BUNDLE=''
CS_ROOT=''
CS_HTTP01_PORT=''
CS_TLSALPN_PORT=''
CS_DNS_PORT=''
CS_PID=''
CS_LOG=''
CS_HTTPS_PORT=''
CS_HTTP_PORT=''
CS_HTTP_URL=''
_CS_N=0

# cs_have_serve: this moat has `moat ca serve` (its --help succeeds).
cs_have_serve() {
	"$MOAT" ca serve --help </dev/null >"$T/.ca-serve-help" 2>&1
}

# cs_require: the server under test is there, or the test fails at once
# with a message saying why (never a skip: a missing server is not a pass).
# A `moat ca serve` without help (the command parses options, but --help
# fails) is a failed assertion, and the test goes on.
cs_require() {
	case $CS_PEER in
	moat)
		if cs_have_serve; then
			return 0
		fi
		if "$MOAT" ca serve --no-such-option </dev/null 2>&1 | grep -q 'unknown option'; then
			fail "moat ca serve --help (the command exists, its help does not)"
			sed -e 's/^/#   /' "$T/.ca-serve-help" | head -n 5
			return 0
		fi
		fail "moat ca serve --help fails: \`moat ca serve\` is not in $MOAT yet (cannot continue)"
		sed -e 's/^/#   /' "$T/.ca-serve-help" | head -n 5
		finish
		;;
	pebble)
		if ! acme_have_pebble; then
			fail "CA_SERVE_PEER=pebble but pebble is not installed (cannot continue)"
			finish
		fi
		;;
	*)
		fail "CA_SERVE_PEER=$CS_PEER: want moat or pebble"
		finish
		;;
	esac
}

# _cs_ready: the directory answers over HTTPS, trusting only CS_CA_BUNDLE.
_cs_ready() {
	curl -sS --fail --max-time 2 --noproxy '*' --cacert "$CS_CA_BUNDLE" \
		-o /dev/null "$CS_DIRECTORY"
}

# cs_show_log [N]: the server's last N (40) log lines, as comments.
cs_show_log() {
	if [ -n "$CS_LOG" ] && [ -s "$CS_LOG" ]; then
		note "last lines of the $CS_PEER log ($CS_LOG):"
		tail -n "${1:-40}" "$CS_LOG" | sed -e 's/^/#   server: /'
	fi
}

# _cs_moat_launch HTTPS HTTP HTTP01 TLSALPN: run `moat ca serve` on those
# ports (and CS_SERVE_ARGS, an array of extra options) and wait until its
# directory answers; sets CS_* on success.
CS_SERVE_ARGS=()
_cs_moat_launch() {
	local pid log
	_CS_N=$((_CS_N + 1))
	log=$T/ca-serve.$_CS_N.log
	"$MOAT" ca serve --listen 127.0.0.1 --https-port "$1" --http-port "$2" \
		--name 127.0.0.1 --http01-port "$3" --tls-alpn-port "$4" \
		--dns-resolver "127.0.0.1:$CHALL_DNS_PORT" "${CS_SERVE_ARGS[@]}" \
		</dev/null >"$log" 2>&1 &
	pid=$!
	SERVER_PIDS+=("$pid")
	CS_LOG=$log
	CS_DIRECTORY=https://127.0.0.1:$1/acme/directory
	if poll_pid "$pid" "${ACME_START_TIMEOUT:-20}" _cs_ready; then
		CS_PID=$pid
		CS_HTTPS_PORT=$1
		CS_HTTP_PORT=$2
		CS_HTTP_URL=http://127.0.0.1:$2
		CS_HTTP01_PORT=$3
		CS_TLSALPN_PORT=$4
		return 0
	fi
	_acme_kill "$pid"
	cs_forget "$pid"
	return 1
}

# _cs_start_moat [CA INIT ARGS...]
_cs_start_moat() {
	local attempt ports https http h01 alpn
	if [ ! -s "$MOAT_HOME/ca/root.pem" ]; then
		make_ca "$@" || return 1
	fi
	CS_CA_BUNDLE=$MOAT_HOME/ca/root.pem
	CS_ROOT=$MOAT_HOME/ca/root.pem
	for attempt in 1 2 3; do
		ports=$(acme_free_ports 4) || return 1
		{ read -r https && read -r http && read -r h01 && read -r alpn; } <<<"$ports"
		if _cs_moat_launch "$https" "$http" "$h01" "$alpn"; then
			return 0
		fi
		note "moat ca serve attempt $attempt (https $https, http $http) did not answer $CS_DIRECTORY"
		cs_show_log 10
	done
	CS_DIRECTORY=''
	return 1
}

# cs_restart: stop `moat ca serve` with SIGTERM (it must exit 0 within 10 s)
# and start it again on the same ports and CA; a pass or a failure says so.
cs_restart() {
	local old=$CS_PID
	kill -TERM "$old" 2>/dev/null
	if wait_exit "$old" 10 && [ "$WAIT_RC" -eq 0 ]; then
		pass "moat ca serve exits 0 on SIGTERM"
	else
		fail "moat ca serve exits 0 within 10 s of SIGTERM (exit $WAIT_RC)"
		cs_show_log 10
	fi
	cs_forget "$old"
	CS_PID=''
	if _cs_moat_launch "$CS_HTTPS_PORT" "$CS_HTTP_PORT" "$CS_HTTP01_PORT" "$CS_TLSALPN_PORT"; then
		pass "moat ca serve up again on the same ports"
		return 0
	fi
	fail "moat ca serve starts again on the same ports"
	cs_show_log
	return 1
}

# _cs_start_pebble
_cs_start_pebble() {
	# (pebble rejects 5% of good nonces by default: not here, the probe counts every badNonce)
	start_pebble PEBBLE_WFE_NONCEREJECT=0 || return 1
	CS_LOG=$PEBBLE_LOG
	CS_PID=$PEBBLE_PID
	CS_DIRECTORY=$ACME_DIRECTORY
	CS_CA_BUNDLE=$ACME_CA_BUNDLE
	CS_ROOT=$T/pebble-root.pem
	CS_HTTP01_PORT=$ACME_HTTP_PORT
	CS_TLSALPN_PORT=$ACME_TLS_PORT
	CS_HTTPS_PORT=''
	CS_HTTP_PORT=''
	CS_HTTP_URL=''
	pebble_roots "$CS_ROOT"
}

# cs_start [CA INIT ARGS...]: start the server (see above); a pass or a
# failed assertion says so.  Returns 1 if it did not come up.
cs_start() {
	if [ -z "$CHALL_DNS_PORT" ] && ! start_challtestsrv; then
		fail "pebble-challtestsrv (the DNS server every name resolves through) starts"
		return 1
	fi
	CS_DNS_PORT=$CHALL_DNS_PORT
	if "_cs_start_$CS_PEER" "$@"; then
		pass "$CS_PEER up: $CS_DIRECTORY (http-01 on $CS_HTTP01_PORT," \
			"tls-alpn-01 on $CS_TLSALPN_PORT, DNS 127.0.0.1:$CS_DNS_PORT)"
		return 0
	fi
	fail "$CS_PEER starts and serves its ACME directory"
	cs_show_log
	return 1
}

# cs_forget PID: PID, stopped and waited for, leaves SERVER_PIDS (lib.sh
# kills them all at exit: by then the number may be another process's).
cs_forget() { forget_pid "$1"; }

# cs_stop: stop the server now.
cs_stop() {
	_acme_kill "$CS_PID"
	cs_forget "$CS_PID"
	if [ "$CS_PEER" = pebble ]; then
		PEBBLE_PID=''
	fi
	CS_PID=''
}

# cs_alive DESC: the server is still running (a crash fails here, not as a
# confusing client error later).
cs_alive() {
	if [ -n "$CS_PID" ] && pid_alive "$CS_PID"; then
		pass "$1"
	else
		local rc=''
		if [ -n "$CS_PID" ]; then
			wait "$CS_PID" 2>/dev/null
			rc=$?
		fi
		fail "$1 (the $CS_PEER process is gone, exit status $rc)"
		if [ "$rc" = 0 ] && [ "$CS_PEER" = moat ]; then
			note "exit 0 after \"stopping\": it was sent SIGINT, SIGTERM or SIGHUP" \
				"by something outside this test (it sends none before cs_restart)"
		fi
		cs_show_log
	fi
}

# cs_have TOOL: the client is installed; otherwise its part is skipped
# (lib.sh's skip_part: a failed assertion in CI).
cs_have() { command -v "$1" >/dev/null 2>&1 || { skip_part "$1 part: $1 is not installed" && false; }; }

# cs_finish: lib.sh's finish, with the server's log first when anything
# failed.
cs_finish() {
	if [ "$N_FAIL" -ne 0 ]; then
		cs_show_log 60
	fi
	finish
}
