#!/usr/bin/env bash
# t_serve_tls_session: TLS session resumption through moat serve, end to end
# with `openssl s_client -sess_out / -sess_in`:
#
#  - TLS 1.3: one NewSessionTicket per full handshake, with a lifetime hint
#    of 86400 s (two 12-hour ticket-key periods); the ticket resumes
#    ("Reused, TLSv1.3"), the resumed connection carries a request, and
#    moat_tls_handshakes_resumed_total counts exactly the resumptions;
#  - the resumed connection gets a fresh ticket, which resumes in turn (TLS
#    1.3 clients use a ticket once);
#  - TLS 1.2: the ticket resumes too ("Reused, TLSv1.2"); a TLS 1.2 client
#    without tickets (-no_ticket) gets an empty session ID, nothing to
#    resume (tickets only, no server-side session cache);
#  - a ticket of one site does not resume on another site (its SNI gets a
#    full handshake and its own certificate);
#  - a ticket moat cannot decrypt (here: from a moat serve that has since
#    stopped, as one whose key was rotated out twice) gets a full
#    handshake, not an error, and a new ticket that resumes.
#
# What cannot be tested without a change to moat: the 12-hour rotation
# itself (the period is fixed: gen.c passes no ticket_rotate_s to
# net_tls_ctx_new, and nothing outside src/ can set it or call
# net_tls_ctx_rotate_tickets).  What a reload (SIGHUP) does to tickets is
# noted, not asserted (each generation has its own ticket keys).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_serve.sh"

serve_need_tools
need_ca
need_upstream A

# sc OUT NAME [S_CLIENT ARGS...]: one connection with SNI NAME, a GET
# /hello with "Connection: close" on it, read to the end (so TLS 1.3
# tickets arrive); s_client's output in OUT.
sc() {
	local out=$1 name=$2
	shift 2
	printf 'GET /hello HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$name" >"$T/req.$name"
	timeout 20 openssl s_client -connect "127.0.0.1:$SV_HTTPS" -servername "$name" \
		-CAfile "$ROOT_PEM" -verify_return_error -ign_eof "$@" <"$T/req.$name" >"$out" 2>&1
}
# how OUT: "New, TLSv1.3" / "Reused, TLSv1.2" ... of s_client's output.
how() { sed -n -E 's/^(New|Reused), (TLSv1\.[23]),.*/\1, \2/p' "$1" | head -n 1; }
# served OUT: the upstream's answer came through on that connection.
served() { grep -q '^hello from upstream' "$1"; }
# leaf_cn OUT: the subject of the certificate on a full handshake.
leaf_cn() { sed -n 's/^subject=//p' "$1" | head -n 1; }

SV_NAMES=(chat.localhost other.localhost)
need_serve --local "chat.localhost=http://127.0.0.1:${UP_PORT[A]}" \
	"other.localhost=http://127.0.0.1:${UP_PORT[A]}"
h0=$(metric moat_tls_handshakes_total)
r0=$(metric moat_tls_handshakes_resumed_total)
assert_eq "$r0" 0 "moat_tls_handshakes_resumed_total starts at 0"

# ---- TLS 1.3
sc "$T/full13" chat.localhost -sess_out "$T/s13" -msg
assert_eq "$(how "$T/full13")" "New, TLSv1.3" "TLS 1.3: a full handshake"
if served "$T/full13"; then pass "TLS 1.3: the request is answered"; else fail "TLS 1.3: no answer"; fi
assert_eq "$(grep -c 'NewSessionTicket' "$T/full13")" 1 "TLS 1.3: one NewSessionTicket"
assert_contains "$(cat "$T/full13")" "TLS session ticket lifetime hint: 86400 (seconds)" \
	"TLS 1.3: the ticket's lifetime hint is 86400 s (two 12-hour key periods)"
assert_file "$T/s13" "TLS 1.3: s_client saved the session"

sc "$T/res13" chat.localhost -sess_in "$T/s13" -sess_out "$T/s13b"
assert_eq "$(how "$T/res13")" "Reused, TLSv1.3" "TLS 1.3: the ticket resumes (Reused, TLSv1.3)"
if served "$T/res13"; then pass "TLS 1.3: the resumed connection carries a request"; else fail "TLS 1.3: no answer on the resumed connection"; fi
sc "$T/res13b" chat.localhost -sess_in "$T/s13b"
assert_eq "$(how "$T/res13b")" "Reused, TLSv1.3" "TLS 1.3: the resumed connection's own fresh ticket resumes too"
assert_eq "$(metric moat_tls_handshakes_resumed_total)" 2 "moat_tls_handshakes_resumed_total: 2"
assert_eq "$(metric moat_tls_handshakes_total)" "$((${h0:-0} + 3))" \
	"moat_tls_handshakes_total counts the resumed ones too (3)"

# ---- TLS 1.2
sc "$T/full12" chat.localhost -tls1_2 -sess_out "$T/s12"
assert_eq "$(how "$T/full12")" "New, TLSv1.2" "TLS 1.2: a full handshake"
sc "$T/res12" chat.localhost -tls1_2 -sess_in "$T/s12"
assert_eq "$(how "$T/res12")" "Reused, TLSv1.2" "TLS 1.2: the ticket resumes (Reused, TLSv1.2)"
if served "$T/res12"; then pass "TLS 1.2: the resumed connection carries a request"; else fail "TLS 1.2: no answer"; fi
sc "$T/full12n" chat.localhost -tls1_2 -no_ticket -sess_out "$T/s12n"
assert_eq "$(how "$T/full12n")" "New, TLSv1.2" "TLS 1.2 without a ticket: a full handshake"
assert_eq "$(sed -n -E 's/^ *Session-ID: *//p' "$T/full12n" | head -n 1)" "" \
	"TLS 1.2 without a ticket: an empty session ID (no server-side session cache to resume from)"
assert_no_file "$T/s12n" "... so the client has no session to offer"
assert_eq "$(metric moat_tls_handshakes_resumed_total)" 3 "moat_tls_handshakes_resumed_total: 3"

# ---- another site
sc "$T/cross" other.localhost -sess_in "$T/s13b"
assert_eq "$(how "$T/cross")" "New, TLSv1.3" "a ticket of chat.localhost does not resume on other.localhost"
assert_contains "$(leaf_cn "$T/cross")" "other.localhost" "... which gets its own certificate"
if served "$T/cross"; then pass "... and is served"; else fail "other.localhost: no answer"; fi
assert_eq "$(metric moat_tls_handshakes_resumed_total)" 3 "moat_tls_handshakes_resumed_total still 3"

# ---- SIGHUP (noted only)
sc "$T/pre-hup" chat.localhost -sess_out "$T/s-hup"
kill -HUP "$SV_PID"
if wait_grep "$SV_PID" "$SV_ERR" 'reloaded the configuration' 20; then
	sc "$T/post-hup" chat.localhost -sess_in "$T/s-hup"
	note "a ticket from before a SIGHUP reload, after it: $(how "$T/post-hup")"
else
	fail "SIGHUP: no reload"
fi
serve_stop_checked "resumption"

# ---- a ticket moat cannot decrypt any more
need_serve --local "chat.localhost=http://127.0.0.1:${UP_PORT[A]}" \
	"other.localhost=http://127.0.0.1:${UP_PORT[A]}"
sc "$T/stale" chat.localhost -sess_in "$T/s13b" -sess_out "$T/s-new"
assert_eq "$(how "$T/stale")" "New, TLSv1.3" "a ticket from a stopped moat serve: a full handshake"
assert_contains "$(cat "$T/stale")" "Verify return code: 0 (ok)" "... which verifies"
if served "$T/stale"; then pass "... and is served"; else fail "a stale ticket: no answer"; fi
assert_eq "$(metric moat_tls_handshake_failures_total)" 0 "... no handshake failed"
sc "$T/fresh" chat.localhost -sess_in "$T/s-new"
assert_eq "$(how "$T/fresh")" "Reused, TLSv1.3" "the ticket it got instead resumes"
assert_eq "$(metric moat_tls_handshakes_resumed_total)" 1 "moat_tls_handshakes_resumed_total: 1"
serve_stop_checked "stale ticket"

finish
