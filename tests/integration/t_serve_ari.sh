#!/usr/bin/env bash
# t_serve_ari: moat serve follows the ACME CA's renewal information (RFC
# 9773) for its own certificates -- the gap pebble (2.4, no renewalInfo)
# leaves in t_serve_acme_renew.  Against the scripted ACME server
# (acme_script.py --mode ari), whose window says "renew now" for every
# certificate:
#
#  - moat serve --acme obtains script.example.test's certificate at its
#    start (the scripted order's one name; its authorization is already
#    valid, so no challenge is answered);
#  - then asks the CA for that certificate's renewal information, by its
#    RFC 9773 identifier (AKI.serial), and renews it at once although it is
#    90 days young -- the new order naming the certificate it replaces;
#  - the new certificate is served;
#  - with renew-before-days set, the CA's window is not asked for (the
#    documented precedence) and nothing is renewed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_serve.sh"
. "$(dirname "$0")/lib_acme.sh"

serve_need_tools
need_upstream A

# The scripted CA's TLS certificate and what it signs: a moat private CA.
MOAT_HOME=$T/ca-home assert_ok "a private CA for the scripted server" "$MOAT" ca init --no-passphrase
MOAT_HOME=$T/ca-home assert_ok "its TLS certificate" "$MOAT" issue 127.0.0.1
BUNDLE=$T/ca-home/ca/root.pem
NAME=script.example.test
LOG=$T/script.log
if acme_script_start ari "$T/ca-home" "$LOG"; then
	pass "the scripted ACME server (ARI) is up"
else
	fail "the scripted ACME server does not start (cannot continue)"
	finish
fi

new_re="new certificate for ${NAME//./\\.} from "
# certid FILE: the RFC 9773 identifier of the certificate in FILE:
# base64url(AKI keyid) "." base64url(serial, DER INTEGER bytes).
certid() {
	local aki serial
	aki=$(openssl x509 -in "$1" -noout -ext authorityKeyIdentifier |
		sed -n 's/^ *\(keyid:\)\{0,1\}\([0-9A-F:]\{20,\}\).*/\2/p' | tr -d ':')
	serial=$(openssl x509 -in "$1" -noout -serial | sed 's/^serial=//')
	[ $((${#serial} % 2)) -eq 0 ] || serial=0$serial
	case ${serial:0:1} in [89A-F]) serial=00$serial ;; esac
	printf '%s.%s\n' "$(b64u <<<"$aki")" "$(b64u <<<"$serial")"
}
b64u() {
	"$PY" -c 'import base64, sys
print(base64.urlsafe_b64encode(bytes.fromhex(sys.stdin.read().strip())).decode().rstrip("="))'
}
# served_ok: https://NAME/ answers through the proxy, trusting the CA that
# signed the scripted certificates.
# shellcheck disable=SC2317 # called through until_true
served_ok() {
	curl -sS --fail --max-time 10 --noproxy '*' --cacert "$BUNDLE" --capath "$T/.empty-capath" \
		--resolve "$NAME:$SV_HTTPS:127.0.0.1" -o /dev/null "https://$NAME:$SV_HTTPS/hello"
}
mkdir -p "$T/.empty-capath"

# ---- the CA's window decides
H1=$T/home1
mkdir -p "$H1"
SV_NAMES=("$NAME")
MOAT_HOME=$H1 need_serve --acme --server "$ACME_SCRIPT_URL" --ca-bundle "$BUNDLE" \
	--email t@example.test "$NAME=http://127.0.0.1:${UP_PORT[A]}"
if wait_grep "$SV_PID" "$SV_ERR" "$new_re" 60; then
	pass "the first certificate for $NAME is obtained at the start"
else
	fail "no certificate for $NAME: $(grep -m1 'cannot get a certificate' "$SV_ERR" | cut -c1-300)"
fi
FIRST=$T/first.pem
cp "$H1/live/$NAME/cert.pem" "$FIRST" 2>/dev/null
FIRST_ID=$(certid "$FIRST")
days=$(($(date -u -d "$(openssl x509 -in "$FIRST" -noout -enddate | sed 's/^notAfter=//')" +%s) / 86400 - EPOCHSECONDS / 86400))
assert_int_between "$days" 80 100 "the first certificate has about 90 days left ($days): not due by two thirds"
if wait_grep "$SV_PID" "$LOG" "^GET /renewal-info/${FIRST_ID//./\\.}\$" 30; then
	pass "moat serve asks for its renewal information by the RFC 9773 id ($FIRST_ID)"
else
	fail "no GET /renewal-info/$FIRST_ID in the scripted server's log"
	sed -e 's/^/#   script: /' "$LOG" | tail -n 8
fi
# certs_at_least N: the error log has N "new certificate" lines.
# shellcheck disable=SC2317 # called through until_true
certs_at_least() { [ "$(grep -c -E "$new_re" "$SV_ERR")" -ge "$1" ]; }
if until_true 60 certs_at_least 2; then
	pass "the certificate is renewed because the CA's window has begun"
else
	fail "no renewal after the CA's window said now"
	sed -e 's/^/#   serve: /' "$SV_ERR" | tail -n 5
fi
assert_contains "$(grep '^POST /order' "$LOG" | sed -n 2p)" "\"replaces\": \"$FIRST_ID\"" \
	"the renewal's order names the certificate it replaces"
if until_true 10 served_ok; then
	pass "the renewed certificate is served and verifies"
else
	fail "https://$NAME/ does not verify"
fi
serve_stop_checked "ARI"

# ---- renew-before-days set: the window is not asked for
H2=$T/home2
mkdir -p "$H2"
printf 'renew-before-days 30\nsite %s {\n\tupstream http://127.0.0.1:%s\n\tcert acme\n}\n' \
	"$NAME" "${UP_PORT[A]}" >"$T/rbd.conf"
: >"$LOG"
MOAT_HOME=$H2 need_serve --config "$T/rbd.conf" --server "$ACME_SCRIPT_URL" --ca-bundle "$BUNDLE" \
	--email t@example.test
if wait_grep "$SV_PID" "$SV_ERR" "$new_re" 60; then
	pass "renew-before-days 30: the certificate is obtained at the start"
else
	fail "renew-before-days 30: no certificate for $NAME"
fi
# (a negative: some of the certificate thread's 2-s rounds must pass)
past() { [ "$EPOCHSECONDS" -ge "$1" ]; }
until_true 15 past $((EPOCHSECONDS + 8))
assert_eq "$(grep -c -E "$new_re" "$SV_ERR")" 1 "renew-before-days 30: not renewed again"
assert_eq "$(grep -c '^GET /renewal-info/' "$LOG")" 0 "renew-before-days 30: the window is not asked for"
serve_stop_checked "renew-before-days"

finish
