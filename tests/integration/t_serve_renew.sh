#!/usr/bin/env bash
# t_serve_renew: moat serve renews its certificates by itself, on its
# schedule (not SIGUSR1: t_serve_ops covers that), and a renewal that fails
# keeps the current certificate serving and is retried with backoff.
#
# The certificate thread looks at every site every 2 s (CHECK_EVERY_S in
# src/serve/certs.c) and renews what is due by the certificate's own dates,
# so a certificate made here with a lifetime of minutes (sv_craft_cert: the
# private CA's intermediate signing with `openssl ca`, dates to the second)
# makes the schedule testable without waiting hours.  Four servers run side
# by side, each with a MOAT_HOME of its own (the same CA):
#
#   R1 (defaults)  third.localhost: valid from -60 s to +60 s, so past half
#                  its life at the start (not renewed then) and due at two
#                  thirds (+20 s): renewed then, not before, within seconds;
#                  later.localhost: a day and a bit, not due for hours --
#                  not renewed (the control for R2)
#   R2 (renew-before-days 1)  rbd.localhost, the same dates as
#                  later.localhost: renewed a day before its end (+30 s).
#                  (docs/serve.md words renew-before-days for ACME
#                  certificates; certs.c applies it to the private CA's
#                  too, and this holds it to that.  t_serve_acme_renew
#                  has the ACME case.)
#   R3 (CA locked) locked.localhost, due at +15 s while another process
#                  holds the CA database locked (gaps_dblock.py): "renewing
#                  the certificate of locked.localhost failed ... still
#                  serving the current one (valid until DATE); next try in
#                  60 s", the old certificate still served; the lock gone,
#                  the retry a minute later succeeds by itself
#   R4 (ACME, dead server)  acme.example.test, on disk and due, its ACME
#                  server refusing connections: failed, still served, retried
#                  after 60 s ("next try in 60 s"), failing again ("next try
#                  in 120 s"): the backoff doubles
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_serve.sh"

serve_need_tools
need_ca
need_upstream A

# until_text EPOCH: that moment as moat serve's "valid until" writes it.
until_text() { TZ=UTC0 printf '%(%Y-%m-%d %H:%M)T UTC\n' "$1"; }
# past_epoch T: the clock is past T (epoch seconds).
# shellcheck disable=SC2317 # called through until_true
past_epoch() { [ "$EPOCHSECONDS" -gt "$1" ]; }
# cert_epoch FILE start|end: notBefore / notAfter as epoch seconds.
cert_epoch() {
	date -u -d "$(openssl x509 -in "$1" -noout "-${2}date" | sed -e 's/^[^=]*=//')" +%s
}
# served_is NAME SERIAL [PORT]: the server sends that certificate for NAME.
# shellcheck disable=SC2317 # called through until_true
served_is() { [ "$(sv_served_serial "$1" "${3:-$SV_HTTPS}")" = "$2" ]; }
# new_served LABEL HOME NAME OLD_SERIAL: HOME's live/NAME/cert.pem is a new
# certificate (not OLD_SERIAL), and the server comes to send it.
new_served() {
	local new
	new=$(cert_serial "$2/live/$3/cert.pem")
	assert_ne "$new" "$4" "$1: live/$3/cert.pem is a new certificate"
	if until_true 10 served_is "$3" "$new"; then
		pass "$1: the new certificate is served"
	else
		fail "$1: still served: $(sv_served_serial "$3"), on disk: $new"
	fi
}
# issued_re NAME / fail_re NAME: the EREs of the error log's lines for a
# renewal of NAME from the private CA, and for a failed one.
issued_re() { printf 'issued a certificate for %s from the private CA \\(serial ' "${1//./\\.}"; }
fail_re() { printf 'ERROR: renewing the certificate of %s failed: ' "${1//./\\.}"; }

# Every server gets a MOAT_HOME with the same CA (so ROOT_PEM verifies all).
home_for() {
	local h=$T/home-$1
	mkdir -p "$h"
	cp -a "$MOAT_HOME/ca" "$h/ca"
	printf '%s\n' "$h"
}
H1=$(home_for r1)
H2=$(home_for r2)
H3=$(home_for r3)
H4=$(home_for r4)
UP=http://127.0.0.1:${UP_PORT[A]}

# ---- R4: an ACME site whose certificate is due, the ACME server dead
DEAD=$(sv_free_ports 1)
sv_craft_cert "$H4" acme.example.test -3600 600 || fail "a certificate for acme.example.test"
R4_SERIAL=$(cert_serial "$H4/live/acme.example.test/cert.pem")
R4_END=$(cert_epoch "$H4/live/acme.example.test/cert.pem" end)
SV_NAMES=(acme.example.test)
MOAT_HOME=$H4 need_serve --acme --server "https://127.0.0.1:$DEAD/dir" --email t@example.test \
	"acme.example.test=$UP"
sv_save R4

# ---- R1: defaults (two thirds of the lifetime)
sv_craft_cert "$H1" third.localhost -60 60 || fail "a certificate for third.localhost"
sv_craft_cert "$H1" later.localhost -3600 $((86400 + 30)) || fail "a certificate for later.localhost"
R1_SERIAL=$(cert_serial "$H1/live/third.localhost/cert.pem")
R1_START=$(cert_epoch "$H1/live/third.localhost/cert.pem" start)
R1_END=$(cert_epoch "$H1/live/third.localhost/cert.pem" end)
R1_DUE=$((R1_START + (R1_END - R1_START) * 2 / 3))
LATER_SERIAL=$(cert_serial "$H1/live/later.localhost/cert.pem")
SV_NAMES=(third.localhost later.localhost)
MOAT_HOME=$H1 need_serve --local "third.localhost=$UP" "later.localhost=$UP"
sv_save R1
assert_eq "$(sv_served_serial third.localhost)" "$R1_SERIAL" \
	"R1: third.localhost, half its life gone, is not renewed at the start"
assert_eq "$(sv_served_serial later.localhost)" "$LATER_SERIAL" \
	"R1: later.localhost is served as it is on disk"

# ---- R2: renew-before-days 1
sv_craft_cert "$H2" rbd.localhost -3600 $((86400 + 30)) || fail "a certificate for rbd.localhost"
R2_SERIAL=$(cert_serial "$H2/live/rbd.localhost/cert.pem")
R2_DUE=$(($(cert_epoch "$H2/live/rbd.localhost/cert.pem" end) - 86400))
printf 'renew-before-days 1\nsite rbd.localhost {\n\tupstream %s\n}\n' "$UP" >"$T/r2.conf"
SV_NAMES=(rbd.localhost)
MOAT_HOME=$H2 need_serve --local --config "$T/r2.conf"
sv_save R2
assert_eq "$(sv_served_serial rbd.localhost)" "$R2_SERIAL" \
	"R2: rbd.localhost (a day and 30 s left) is not renewed at the start"

# ---- R3: the CA's database locked by another process when the renewal is due
sv_craft_cert "$H3" locked.localhost -155 100 || fail "a certificate for locked.localhost"
R3_SERIAL=$(cert_serial "$H3/live/locked.localhost/cert.pem")
R3_END=$(cert_epoch "$H3/live/locked.localhost/cert.pem" end)
SV_NAMES=(locked.localhost)
MOAT_HOME=$H3 need_serve --local "locked.localhost=$UP"
sv_save R3
"$PY" "$IT_DIR/gaps_dblock.py" "$H3/ca/ca.db" "$T/dblock.ready" 2>"$T/dblock.err" &
LOCK_PID=$!
SERVER_PIDS+=("$LOCK_PID")
if wait_file "$LOCK_PID" "$T/dblock.ready" 10; then
	pass "R3: the CA database is locked by another process"
else
	fail "R3: gaps_dblock.py could not lock the CA database: $(cat "$T/dblock.err")"
fi
assert_eq "$(sv_served_serial locked.localhost)" "$R3_SERIAL" "R3: locked.localhost is not renewed at the start"

# ---- R1: renewed at two thirds of the lifetime
sv_restore R1
SV_NAMES=(third.localhost later.localhost)
sv_renewed_at R1 third.localhost "$(issued_re third.localhost)" "$R1_DUE" 8 60 \
	"at two thirds of its lifetime ($R1_START to $R1_END)"
new_served R1 "$H1" third.localhost "$R1_SERIAL"
run verify_server "$H1/live/third.localhost/cert.pem" "$H1/live/third.localhost/chain.pem"
assert_rc 0 "R1: the renewed certificate verifies against the CA's root"
exp=$(metric 'moat_certificate_expiry_seconds{site="third.localhost"}')
assert_int_between "${exp:-x}" $((300 * 86400)) $((398 * 86400)) \
	"R1: moat_certificate_expiry_seconds is that of the new certificate ($exp s)"
run scurl "$(surl /hello third.localhost)"
assert_eq "$OUT" "hello from upstream" "R1: requests work after the renewal"

# ---- R2: renewed renew-before-days before the end
sv_restore R2
SV_NAMES=(rbd.localhost)
sv_renewed_at R2 rbd.localhost "$(issued_re rbd.localhost)" "$R2_DUE" 8 60 \
	"one day before its end (renew-before-days 1)"
new_served R2 "$H2" rbd.localhost "$R2_SERIAL"

# ---- R3: the failure while the CA is locked
sv_restore R3
SV_NAMES=(locked.localhost)
if wait_grep "$SV_PID" "$SV_ERR" "$(fail_re locked.localhost)" 60; then
	L=$(grep -E "$(fail_re locked.localhost)" "$SV_ERR" | head -n 1)
	pass "R3: the failed renewal is logged"
	assert_contains "$L" "database is locked" "R3: ... saying why (the CA database is locked)"
	assert_match "$L" "still serving the current one \\(valid until $(until_text "$R3_END")\\); next try in 60 s\$" \
		"R3: ... \"still serving the current one (valid until $(until_text "$R3_END")); next try in 60 s\""
	F3=$(sv_log_epoch "$SV_ERR" "$(fail_re locked.localhost)")
else
	fail "R3: no failed renewal logged within 60 s"
	sed -e 's/^/#   R3: /' "$SV_ERR" | tail -n 5
	F3=$EPOCHSECONDS
fi
assert_eq "$(sv_served_serial locked.localhost)" "$R3_SERIAL" "R3: the current certificate is still served"
run scurl "$(surl /hello locked.localhost)"
assert_eq "$OUT" "hello from upstream" "R3: requests still work"
exp=$(metric 'moat_certificate_expiry_seconds{site="locked.localhost"}')
assert_int_between "${exp:-x}" 1 100 "R3: moat_certificate_expiry_seconds is still the old one's ($exp s)"
# The lock goes; nothing is signalled: the retry comes by itself.
kill "$LOCK_PID" 2>/dev/null
wait "$LOCK_PID" 2>/dev/null
if wait_grep "$SV_PID" "$SV_ERR" "$(issued_re locked.localhost)" 90; then
	at=$(sv_log_epoch "$SV_ERR" "$(issued_re locked.localhost)")
	pass "R3: with the CA usable again, the retry renews by itself"
	# (the failed attempt waited up to 5 s for the lock: the minute counts
	# from when it started)
	assert_int_between $((at - F3)) 50 75 "R3: ... about a minute after the failure ($((at - F3)) s)"
	assert_eq "$(grep -cE "$(fail_re locked.localhost)" "$SV_ERR")" 1 "R3: ... and not tried in between"
else
	fail "R3: not renewed within 90 s of the lock going"
	sed -e 's/^/#   R3: /' "$SV_ERR" | tail -n 5
fi
NEW=$(cert_serial "$H3/live/locked.localhost/cert.pem")
if until_true 10 served_is locked.localhost "$NEW" && [ "$NEW" != "$R3_SERIAL" ]; then
	pass "R3: the new certificate is served"
else
	fail "R3: served $(sv_served_serial locked.localhost), on disk $NEW, old $R3_SERIAL"
fi

# ---- R4: the ACME renewal fails, then again a minute later
sv_restore R4
SV_NAMES=(acme.example.test)
RE4=$(fail_re acme.example.test)
if wait_grep "$SV_PID" "$SV_ERR" "$RE4" 30; then
	L=$(grep -E "$RE4" "$SV_ERR" | head -n 1)
	pass "R4: the failed ACME renewal is logged"
	assert_contains "$L" "https://127.0.0.1:$DEAD/dir" "R4: ... naming the ACME server"
	assert_match "$L" "still serving the current one \\(valid until $(until_text "$R4_END")\\); next try in 60 s\$" \
		"R4: ... still serving the current one, next try in 60 s"
else
	fail "R4: no failed renewal logged within 30 s"
	sed -e 's/^/#   R4: /' "$SV_ERR" | tail -n 5
fi
assert_eq "$(sv_served_serial acme.example.test)" "$R4_SERIAL" "R4: the current certificate is still served"
run scurl "$(surl /hello acme.example.test)"
assert_eq "$OUT" "hello from upstream" "R4: requests still work"
if wait_grep "$SV_PID" "$SV_ERR" "${RE4}.*next try in 120 s\$" 100; then
	a=$(sv_log_epoch "$SV_ERR" "$RE4" 1)
	b=$(sv_log_epoch "$SV_ERR" "$RE4" 2)
	pass "R4: tried again, failing again"
	assert_int_between $((b - a)) 58 72 "R4: ... a minute after the first failure ($((b - a)) s)"
	assert_eq "$(grep -cE "$RE4" "$SV_ERR")" 2 "R4: ... not in between; the next wait is 120 s (doubled)"
else
	fail "R4: no second attempt with \"next try in 120 s\" within 100 s"
	grep -E "$RE4" "$SV_ERR" | sed -e 's/^/#   R4: /'
fi
assert_eq "$(sv_served_serial acme.example.test)" "$R4_SERIAL" "R4: after two failures, still the current certificate"

# ---- the control: R1's later.localhost has the same dates as R2's site and
# no renew-before-days: long past the moment R2 renewed (R3 and R4 took a
# minute and more), it is still the old one.
sv_restore R1
SV_NAMES=(third.localhost later.localhost)
until_true 15 past_epoch $((R2_DUE + 6))
if [ "$EPOCHSECONDS" -gt $((R2_DUE + 6)) ]; then
	assert_eq "$(sv_served_serial later.localhost)" "$LATER_SERIAL" \
		"R1: later.localhost (same dates, no renew-before-days) is not renewed"
	assert_not_contains "$(cat "$SV_ERR")" "certificate for later.localhost" \
		"R1: ... nor tried"
else
	fail "R1: the control ran too soon after R2's due time"
fi

# ---- stop them all
for r in R1 R2 R3 R4; do
	sv_restore "$r"
	serve_stop_checked "$r"
done
finish
