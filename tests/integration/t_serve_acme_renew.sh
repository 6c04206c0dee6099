#!/usr/bin/env bash
# t_serve_acme_renew: moat serve renews ACME certificates on its own
# schedule (t_serve_acme covers obtaining one and SIGUSR1; t_serve_renew the
# private CA's schedule and failures).  Against pebble, which has no
# renewal information (ARI), so the two-thirds rule applies.  The
# certificates on disk at the start are made here with lifetimes of
# minutes (sv_craft_cert), as if from an earlier run; the certificate
# thread looks every 2 s:
#
#   A1 (http-01 on pebble's HTTP port, defaults)
#      sched.example.test: valid from -60 s to +60 s: not renewed at the
#      start, a new certificate from pebble at two thirds (+20 s), not
#      before, within seconds; served, verifying against pebble's root;
#      ctl.example.test: a day and 30 s left: not renewed (the control)
#   A2 (tls-alpn-01 on pebble's TLS port, renew-before-days 1)
#      rbd.example.test: the same dates as ctl.example.test: renewed one
#      day before its end (+30 s), as the documentation of
#      renew-before-days says for ACME certificates.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_serve.sh"
. "$(dirname "$0")/lib_acme.sh"

serve_need_tools
acme_have_pebble || skip_test "pebble is not installed (apt-get install pebble)"
need_ca
need_upstream A

start_challtestsrv || { fail "pebble-challtestsrv starts"; finish; }
start_pebble PEBBLE_AUTHZREUSE=0 || { fail "pebble starts"; finish; }
pebble_roots "$T/roots.pem" || fail "pebble's roots can be downloaded"
pass "pebble is up (http-01 on $ACME_HTTP_PORT, tls-alpn-01 on $ACME_TLS_PORT)"

# past_epoch T: the clock is past T (epoch seconds).
# shellcheck disable=SC2317 # called through until_true
past_epoch() { [ "$EPOCHSECONDS" -gt "$1" ]; }
# cert_epoch FILE start|end: notBefore / notAfter as epoch seconds.
cert_epoch() {
	date -u -d "$(openssl x509 -in "$1" -noout "-${2}date" | sed -e 's/^[^=]*=//')" +%s
}
# new_re NAME: the ERE of the log line of a certificate from pebble.
new_re() { printf 'new certificate for %s from %s \\(serial ' "${1//./\\.}" "${ACME_DIRECTORY//./\\.}"; }
# log_serial NAME: the serial in that line, normalised.
log_serial() {
	grep -E "$(new_re "$1")" "$SV_ERR" | tail -n 1 | sed -n -E 's/.*\(serial ([0-9A-Fa-f:]+).*/\1/p' |
		tr -d ':' | tr 'A-F' 'a-f' | sed -e 's/^0*//'
}
# acme_https NAME: GET /hello through the proxy trusting only pebble's roots.
# shellcheck disable=SC2317 # called through until_true
acme_https() {
	curl -sS --fail --max-time 10 --noproxy '*' --cacert "$T/roots.pem" --capath "$T/.empty-capath" \
		--resolve "$1:$SV_HTTPS:127.0.0.1" -o /dev/null "https://$1:$SV_HTTPS/hello"
}
# renewed_served LABEL NAME OLD_SERIAL: the log names a new serial for NAME,
# and the certificate served for it verifies against pebble's root.
renewed_served() {
	NEW=$(log_serial "$2")
	assert_ne "$NEW" "$3" "$1: a new serial ($NEW)"
	if until_true 10 acme_https "$2"; then
		pass "$1: the renewed certificate is served and verifies against pebble's root"
	else
		fail "$1: https://$2/ does not verify against pebble's root"
	fi
}
# acme_serve LABEL HTTPS HTTP ARGS...: moat serve --acme on these ports
# (pebble validates on fixed ports, so serve_start's free ones cannot do);
# sets SV_* and keeps them as LABEL_*.
acme_serve() {
	local label=$1 https=$2 http=$3
	shift 3
	if SV_PORTS="$https $http" SV_WORKERS=1 serve_start --acme --server "$ACME_DIRECTORY" \
		--ca-bundle "$ACME_CA_BUNDLE" --email t@example.test "$@"; then
		pass "$label: moat serve --acme $* started"
	else
		fail "$label: moat serve --acme $* (cannot continue)"
		finish
	fi
	sv_save "$label"
}
home_for() {
	local h=$T/home-$1
	mkdir -p "$h"
	cp -a "$MOAT_HOME/ca" "$h/ca" # (only for sv_craft_cert to sign with)
	printf '%s\n' "$h"
}
UP=http://127.0.0.1:${UP_PORT[A]}

# ---- A1: http-01, defaults
H1=$(home_for a1)
sv_craft_cert "$H1" sched.example.test -60 60 || fail "a certificate for sched.example.test"
sv_craft_cert "$H1" ctl.example.test -3600 $((86400 + 30)) || fail "a certificate for ctl.example.test"
S1=$(cert_serial "$H1/live/sched.example.test/cert.pem")
NB=$(cert_epoch "$H1/live/sched.example.test/cert.pem" start)
NA=$(cert_epoch "$H1/live/sched.example.test/cert.pem" end)
DUE1=$((NB + (NA - NB) * 2 / 3))
SCTL=$(cert_serial "$H1/live/ctl.example.test/cert.pem")
HTTPS1=$(sv_free_ports 1)
MOAT_HOME=$H1 acme_serve A1 "$HTTPS1" "$ACME_HTTP_PORT" --challenge http-01 \
	"sched.example.test=$UP" "ctl.example.test=$UP"
assert_eq "$(sv_served_serial sched.example.test)" "$S1" "A1: sched.example.test is not renewed at the start"

# ---- A2: tls-alpn-01, renew-before-days 1
H2=$(home_for a2)
sv_craft_cert "$H2" rbd.example.test -3600 $((86400 + 30)) || fail "a certificate for rbd.example.test"
S2=$(cert_serial "$H2/live/rbd.example.test/cert.pem")
DUE2=$(($(cert_epoch "$H2/live/rbd.example.test/cert.pem" end) - 86400))
printf 'renew-before-days 1\nsite rbd.example.test {\n\tupstream %s\n\tcert acme\n}\n' "$UP" >"$T/a2.conf"
MOAT_HOME=$H2 acme_serve A2 "$ACME_TLS_PORT" 0 --challenge tls-alpn-01 --config "$T/a2.conf"
assert_eq "$(sv_served_serial rbd.example.test)" "$S2" "A2: rbd.example.test is not renewed at the start"

# ---- A1 at two thirds
sv_restore A1
# (the time of the log line: the order, validated through the proxy, takes
# a few seconds after the due moment)
sv_renewed_at A1 sched.example.test "$(new_re sched.example.test)" "$DUE1" 20 90 \
	"at two thirds of its lifetime, from pebble"
assert_contains "$(cat "$PEBBLE_LOG")" \
	"validate w/ HTTP: http://sched.example.test:$ACME_HTTP_PORT/.well-known/acme-challenge/" \
	"A1: pebble validated the renewal through the proxy's port 80"
renewed_served A1 sched.example.test "$S1"
assert_eq "$(sv_served_serial sched.example.test)" "$NEW" "A1: the served serial is the logged one"

# ---- A2 renew-before-days
sv_restore A2
sv_renewed_at A2 rbd.example.test "$(new_re rbd.example.test)" "$DUE2" 20 90 \
	"one day before its end (renew-before-days 1), from pebble"
renewed_served A2 rbd.example.test "$S2"

# ---- the control
# (a negative: it needs time to have passed -- a few of the certificate
# thread's 2-s rounds after the moment renew-before-days would have made it
# due)
sv_restore A1
until_true 15 past_epoch $((DUE2 + 6))
if [ "$EPOCHSECONDS" -gt $((DUE2 + 6)) ]; then
	assert_eq "$(sv_served_serial ctl.example.test)" "$SCTL" \
		"A1: ctl.example.test (same dates as rbd, no renew-before-days) is not renewed"
	assert_not_contains "$(cat "$SV_ERR")" "certificate for ctl.example.test" "A1: ... nor tried"
else
	fail "A1: the control ran too soon after A2's due time"
fi
for a in A1 A2; do
	sv_restore "$a"
	assert_not_contains "$(cat "$SV_ERR")" "ERROR" "$a: no ERROR in the log"
	serve_stop_checked "$a"
done
finish
