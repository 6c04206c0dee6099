# shellcheck shell=bash
# shellcheck disable=SC2034 # OUT, ERR, SERVER_* are read by the test scripts
# lib.sh: helpers shared by the integration tests (source it, do not run it).
#
#   MOAT   the binary under test (default: $BUILD/moat, BUILD default <repo>/build)
#
# Every test gets a private temp dir ($T) and its own MOAT_HOME, removed on exit
# together with any server it started.  Assertions count passes and failures;
# `finish` prints the tally and exits non-zero if anything failed (or if
# nothing was checked at all).

set -u

IT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/integration/skips.sh
. "$IT_DIR/skips.sh"
REPO_ROOT=$(cd "$IT_DIR/../.." && pwd)
BUILD=${BUILD:-$REPO_ROOT/build}
MOAT=${MOAT:-$BUILD/moat}
case $MOAT in
/*) ;;
*) MOAT=$PWD/$MOAT ;;
esac
export MOAT

TEST_NAME=$(basename "$0" .sh)
T=$(mktemp -d "${TMPDIR:-/tmp}/moat-$TEST_NAME.XXXXXX")
export MOAT_HOME=$T/home
# Nothing from the caller's environment may leak into a test.
unset MOAT_CA_PASSPHRASE MOAT_P12_PASSPHRASE
export LC_ALL=C

N_PASS=0
N_FAIL=0
SERVER_PIDS=()

# Output of the last `run`: exit status, stdout and stderr (also in files).
RC=0
OUT=''
ERR=''
OUT_F=$T/.last.out
ERR_F=$T/.last.err

_cleanup() {
	local pid
	for pid in "${SERVER_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${SERVER_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	SERVER_PIDS=()
	if [ -n "${KEEP_TMP:-}" ]; then
		echo "# kept $T"
	else
		rm -rf "$T"
	fi
}
trap _cleanup EXIT
trap 'echo "# interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------- reporting

note() { printf '# %s\n' "$*"; }

pass() {
	N_PASS=$((N_PASS + 1))
	printf 'ok %d - %s\n' "$((N_PASS + N_FAIL))" "$*"
}

fail() {
	N_FAIL=$((N_FAIL + 1))
	printf 'not ok %d - %s\n' "$((N_PASS + N_FAIL))" "$*"
}

# Show the last command's output (after a failed assertion).
show_last() {
	if [ -s "$OUT_F" ]; then
		sed -e 's/^/#   stdout: /' "$OUT_F" | head -n 20
	fi
	if [ -s "$ERR_F" ]; then
		sed -e 's/^/#   stderr: /' "$ERR_F" | head -n 20
	fi
}

finish() {
	printf '# %s: %d assertions passed, %d failed\n' "$TEST_NAME" "$N_PASS" "$N_FAIL"
	if [ "$N_FAIL" -ne 0 ] || [ "$N_PASS" -eq 0 ]; then
		exit 1
	fi
	exit 0
}

# ------------------------------------------------------------ running things

# run CMD...: runs CMD (stdin from /dev/null), records RC, OUT, ERR.
run() {
	"$@" </dev/null >"$OUT_F" 2>"$ERR_F"
	RC=$?
	OUT=$(cat "$OUT_F")
	ERR=$(cat "$ERR_F")
	return 0
}

# run_notty CMD...: like run, but in a new session without a controlling
# terminal (so a passphrase prompt cannot open /dev/tty).
run_notty() {
	setsid -w "$@" </dev/null >"$OUT_F" 2>"$ERR_F"
	RC=$?
	OUT=$(cat "$OUT_F")
	ERR=$(cat "$ERR_F")
	return 0
}

# moat ARGS...: run the binary under test (same as run "$MOAT" ARGS...).
moat() { run "$MOAT" "$@"; }

# not_root: AS_USER=(prefix) runs a command as a user who is not root --
# nobody (65534) through setpriv when the test runs as root, the test's own
# user otherwise (AS_USER empty) -- and AS_NAME names that user.  As root, $T
# is made traversable (0755) for nobody; what nobody must read or write,
# the caller makes its own.
not_root() {
	if [ "$(id -u)" -eq 0 ]; then
		AS_USER=(setpriv --reuid=65534 --regid=65534 --clear-groups)
		AS_NAME=nobody
		chmod 755 "$T"
	else
		AS_USER=()
		AS_NAME=$(id -un)
	fi
}

# skip_test REASON: the whole test is skipped (exit status 77).  run.sh
# counts it as skipped, or in CI as failed unless skip-allow.txt allows REASON
# for this script (skips.sh).
skip_test() {
	printf '# SKIP %s\n' "$*"
	exit 77
}

# skip_part REASON: a part of this test cannot run here (a tool is missing,
# this OpenSSL cannot do TLS 1.0).  Use it instead of a bare `note`, which
# would let the script pass as if the part had run.  Prints "# SKIP-PART
# REASON" (run.sh lists those in its summary); in CI (skips.sh) it is a
# failed assertion instead, unless skip-allow.txt allows REASON for this
# script.
skip_part() {
	local why
	if why=$(skip_allowed "$TEST_NAME" "$*"); then
		printf '# SKIP-PART %s (allowed: %s)\n' "$*" "$why"
	elif skips_strict; then
		fail "skipped in CI: $* (install what it needs, or allow it in tests/integration/skip-allow.txt)"
	else
		printf '# SKIP-PART %s\n' "$*"
	fi
}

# pid_alive PID: running (kill -0 succeeds on a zombie that has not been
# reaped yet; this does not).
pid_alive() {
	local st
	[ -r "/proc/$1/stat" ] || return 1
	st=$(sed -e 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# poll_pid PID TIMEOUT_S CMD...: run CMD every 0.1 s until it succeeds (0),
# the process PID exits (1) or the time runs out (1).
poll_pid() {
	local pid=$1 end=$((SECONDS + $2))
	shift 2
	while [ "$SECONDS" -lt "$end" ]; do
		if ! pid_alive "$pid"; then
			return 1
		fi
		if "$@" >/dev/null 2>&1; then
			# (still alive: not another server that had the port)
			pid_alive "$pid"
			return
		fi
		sleep 0.1 # poll interval, not a readiness guess
	done
	return 1
}

# ---------------------------------------------------------------- assertions

# assert_ok DESC CMD...: CMD exits 0.
assert_ok() {
	local desc=$1
	shift
	run "$@"
	if [ "$RC" -eq 0 ]; then
		pass "$desc"
	else
		fail "$desc (exit $RC: $*)"
		show_last
	fi
}

# assert_fails DESC CMD...: CMD exits non-zero.
assert_fails() {
	local desc=$1
	shift
	run "$@"
	if [ "$RC" -ne 0 ]; then
		pass "$desc"
	else
		fail "$desc (expected failure, got exit 0: $*)"
		show_last
	fi
}

# assert_rc WANT DESC: the last run's exit status is WANT.
assert_rc() {
	if [ "$RC" -eq "$1" ]; then
		pass "$2"
	else
		fail "$2 (exit $RC, expected $1)"
		show_last
	fi
}

# assert_exit WANT DESC CMD...: CMD exits with status WANT.
assert_exit() {
	local want=$1 desc=$2
	shift 2
	run "$@"
	assert_rc "$want" "$desc"
}

assert_eq() {
	if [ "$1" = "$2" ]; then
		pass "$3"
	else
		fail "$3 (got '$1', expected '$2')"
	fi
}

assert_ne() {
	if [ "$1" != "$2" ]; then
		pass "$3"
	else
		fail "$3 (both are '$1')"
	fi
}

# assert_contains HAYSTACK NEEDLE DESC (fixed string)
assert_contains() {
	if grep -qF -- "$2" <<<"$1"; then
		pass "$3"
	else
		fail "$3 ('$2' not found)"
		printf '%s\n' "$1" | head -n 15 | sed -e 's/^/#   in: /'
	fi
}

# assert_contains_i HAYSTACK NEEDLE DESC (fixed string, any case)
assert_contains_i() {
	if grep -qiF -- "$2" <<<"$1"; then
		pass "$3"
	else
		fail "$3 ('$2' not found)"
		printf '%s\n' "$1" | head -n 15 | sed -e 's/^/#   in: /'
	fi
}

# assert_match HAYSTACK ERE DESC
assert_match() {
	if grep -qE -- "$2" <<<"$1"; then
		pass "$3"
	else
		fail "$3 (/$2/ not found)"
		printf '%s\n' "$1" | head -n 15 | sed -e 's/^/#   in: /'
	fi
}

assert_not_contains() {
	if grep -qF -- "$2" <<<"$1"; then
		fail "$3 ('$2' found)"
		printf '%s\n' "$1" | grep -F -- "$2" | head -n 5 | sed -e 's/^/#   in: /'
	else
		pass "$3"
	fi
}

assert_file() {
	if [ -f "$1" ]; then
		pass "$2"
	else
		fail "$2 ($1 missing)"
	fi
}

assert_no_file() {
	if [ -e "$1" ] || [ -L "$1" ]; then
		fail "$2 ($1 exists)"
	else
		pass "$2"
	fi
}

# assert_mode FILE OCTAL DESC
assert_mode() {
	local m
	m=$(stat -c %a "$1" 2>/dev/null || echo missing)
	assert_eq "$m" "$2" "$3"
}

# assert_same_file A B DESC: byte-identical
assert_same_file() {
	if cmp -s "$1" "$2"; then
		pass "$3"
	else
		fail "$3 ($1 and $2 differ)"
	fi
}

# assert_int_between VALUE LO HI DESC
assert_int_between() {
	if [[ $1 =~ ^-?[0-9]+$ ]] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; then
		pass "$4"
	else
		fail "$4 (got '$1', expected $2..$3)"
	fi
}

# assert_json DESC: the last run's stdout is one JSON document.
assert_json() {
	if python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$OUT_F" 2>"$T/.json.err"; then
		pass "$1"
	else
		fail "$1 ($(tail -n 1 "$T/.json.err"))"
		show_last
	fi
}

# assert_error_shape DESC: the last run failed with exit 1 and printed exactly
# one "moat: error:" line on stderr, optionally "hint:" lines, and otherwise
# only "moat: ..." notices (nothing unprefixed: no stray library errors).
assert_error_shape() {
	local desc=$1 nerr other
	nerr=$(grep -c '^moat: error: ' "$ERR_F")
	other=$(grep -cvE '^(moat: |hint: )' "$ERR_F")
	if [ "$RC" -eq 1 ] && [ "$nerr" -eq 1 ] && [ "$other" -eq 0 ]; then
		pass "$desc"
	else
		fail "$desc (exit $RC, $nerr error lines, $other other stderr lines)"
		show_last
	fi
}

# -------------------------------------------------------------- certificates

# Print the SHA-256 fingerprint of a PEM certificate as lowercase hex.
cert_fp() {
	openssl x509 -in "$1" -noout -fingerprint -sha256 2>/dev/null |
		sed -e 's/^.*=//' -e 's/://g' | tr 'A-F' 'a-f'
}

# Serial number of a certificate as lowercase hex without leading zeros.
cert_serial() {
	openssl x509 -in "$1" -noout -serial 2>/dev/null |
		sed -e 's/^serial=//' | tr 'A-F' 'a-f' | sed -e 's/^0*//'
}

# Normalise a hex serial for comparison: lowercase, no colons, no leading zeros.
norm_hex() {
	printf '%s\n' "$1" | tr -d ':' | tr 'A-F' 'a-f' | sed -e 's/^0*//'
}

# Whole days of validity (rounded down).
cert_days() {
	local nb na
	nb=$(openssl x509 -in "$1" -noout -startdate 2>/dev/null | sed -e 's/^notBefore=//')
	na=$(openssl x509 -in "$1" -noout -enddate 2>/dev/null | sed -e 's/^notAfter=//')
	if [ -z "$nb" ] || [ -z "$na" ]; then
		echo "?"
		return
	fi
	# RFC 5280: the validity period includes both notBefore and notAfter, so
	# N days may be written as notAfter = notBefore + N days - 1 second.
	echo $((($(date -u -d "$na" +%s) - $(date -u -d "$nb" +%s) + 1) / 86400))
}

# Public key (PEM SubjectPublicKeyInfo) of a certificate / a private key / a CSR.
cert_pubkey() { openssl x509 -in "$1" -noout -pubkey 2>/dev/null; }
key_pubkey() { openssl pkey -in "$1" -pubout -passin pass: 2>/dev/null; }
csr_pubkey() { openssl req -in "$1" -noout -pubkey 2>/dev/null; }

# Text of one extension (header and value) of a certificate.
cert_ext() { openssl x509 -in "$1" -noout -ext "$2" 2>/dev/null; }

# Number of PEM certificates in a file.
count_certs() { grep -c -- '-----BEGIN CERTIFICATE-----' "$1" 2>/dev/null || true; }

# Sorted listing of every path under the given dirs (missing dirs are fine).
tree_listing() {
	local d
	for d in "$@"; do
		if [ -e "$d" ]; then
			find "$d" -print
		fi
	done | LC_ALL=C sort
}

# Every temporary file moat may have left behind under the given dirs.
leftover_tmp() {
	local d
	for d in "$@"; do
		if [ -e "$d" ]; then
			find "$d" -name '*.tmp-*' -print
		fi
	done
}

# Checksums of every regular file under a dir (for "unchanged" checks).
tree_sums() {
	(cd "$1" 2>/dev/null && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
}

# Make a CA quickly (no passphrase) in $MOAT_HOME; extra args are passed on.
make_ca() {
	"$MOAT" ca init --no-passphrase --name "moat test CA" "$@" </dev/null >"$T/.ca-init.out" 2>&1
	local rc=$?
	if [ "$rc" -ne 0 ]; then
		sed -e 's/^/#   ca init: /' "$T/.ca-init.out"
	fi
	return "$rc"
}

# Require a working CA; fail the test at once if there is none.
need_ca() {
	if make_ca "$@"; then
		pass "moat ca init $*"
	else
		fail "moat ca init $* (cannot continue)"
		finish
	fi
}

# Strict server-certificate verification against only the root.
# verify_server CERT CHAIN [ROOT]
verify_server() {
	openssl verify -x509_strict -purpose sslserver -CAfile "${3:-$MOAT_HOME/ca/root.pem}" \
		-untrusted "$2" "$1"
}

# Extract from a JSON document on stdin with a Python expression over `d`.
# json_get EXPR < doc ; prints the result (lists/dicts as JSON).
json_get() {
	python3 -c '
import json, sys
d = json.load(sys.stdin)
r = eval(sys.argv[1])
print(json.dumps(r) if isinstance(r, (list, dict, bool)) or r is None else r)
' "$1"
}

# ----------------------------------------------------------------- servers

# A free TCP port on the loopback address HOST (default 127.0.0.1).
free_port() {
	python3 - "${1:-127.0.0.1}" <<'EOF'
import socket, sys
host = sys.argv[1]
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.bind((host, 0))
print(s.getsockname()[1])
s.close()
EOF
}

# Is IPv6 loopback usable here?
have_ipv6() {
	python3 -c '
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.bind(("::1", 0))
s.close()' 2>/dev/null
}

# port_open HOST PORT: something accepts TCP connections there.
port_open() {
	python3 - "$1" "$2" <<'EOF' 2>/dev/null
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.settimeout(0.5)
try:
    s.connect((host, port))
except OSError:
    sys.exit(1)
s.close()
EOF
}

# wait_port PID HOST PORT [TIMEOUT_S]: poll until the server with PID accepts
# connections on HOST:PORT; fails if it exits or the time runs out.
wait_port() {
	local pid=$1 host=$2 port=$3 limit=$((${4:-15} * 10)) i=0
	while [ "$i" -lt "$limit" ]; do
		if ! kill -0 "$pid" 2>/dev/null; then
			return 1
		fi
		if port_open "$host" "$port"; then
			return 0
		fi
		i=$((i + 1))
		sleep 0.1 # poll interval, not a readiness guess
	done
	return 1
}

# start_s_server HOST LOGFILE ARGS...: start `openssl s_server -www` on
# HOST (127.0.0.1 or ::1) and a free port, wait until it listens.  Sets
# SERVER_PORT and SERVER_PID.  Retries with another port if the chosen one
# was taken in between.
SERVER_PORT=''
SERVER_PID=''
start_s_server() {
	local host=$1 log=$2 attempt port pid addr
	shift 2
	for attempt in 1 2 3; do
		port=$(free_port "$host") || return 1
		if [[ $host == *:* ]]; then
			addr="[$host]:$port"
		else
			addr="$host:$port"
		fi
		openssl s_server -accept "$addr" -www -naccept 1000 "$@" \
			</dev/null >"$log" 2>&1 &
		pid=$!
		SERVER_PIDS+=("$pid")
		if wait_port "$pid" "$host" "$port" 15; then
			SERVER_PORT=$port
			SERVER_PID=$pid
			return 0
		fi
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		note "s_server attempt $attempt on $addr failed:"
		sed -e 's/^/#   s_server: /' "$log" | tail -n 5
	done
	return 1
}

# stop_server PID
# wait_exit PID TIMEOUT_S: wait for PID (a child of this shell) to end, at
# most TIMEOUT_S, then SIGKILL it (noted).  WAIT_RC is its exit status (137:
# killed); returns 1 when it had to be killed.
WAIT_RC=''
wait_exit() {
	local pid=$1 end=$((SECONDS + $2)) killed=0
	while pid_alive "$pid" && [ "$SECONDS" -lt "$end" ]; do
		sleep 0.1 # poll interval
	done
	if pid_alive "$pid"; then
		note "pid $pid did not end within $2 s: SIGKILL"
		kill -KILL "$pid" 2>/dev/null
		killed=1
	fi
	wait "$pid" 2>/dev/null
	WAIT_RC=$?
	return "$killed"
}

stop_server() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	forget_pid "$1"
	return 0
}

# forget_pid PID: drop a server that has been stopped and waited for from
# SERVER_PIDS, so that the cleanup at exit does not kill whatever process
# has been given its PID since (PIDs come round again within minutes here).
forget_pid() {
	local p keep=()
	for p in "${SERVER_PIDS[@]}"; do
		if [ "$p" != "$1" ]; then
			keep+=("$p")
		fi
	done
	SERVER_PIDS=("${keep[@]}")
}

# curl with only the given CA file trusted (no system store, no proxy).
curl_root() {
	local ca=$1
	shift
	mkdir -p "$T/.empty-capath"
	curl -sS --fail --max-time 20 --noproxy '*' --cacert "$ca" --capath "$T/.empty-capath" \
		-o /dev/null "$@"
}

# Is the binary there at all?  (A missing binary would make every
# assertion fail with a confusing message.)
if [ ! -x "$MOAT" ]; then
	echo "not ok 1 - moat binary not found at $MOAT (set MOAT or BUILD)"
	N_FAIL=1
	finish
fi
