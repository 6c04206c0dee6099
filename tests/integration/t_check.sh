#!/usr/bin/env bash
# t_check: moat check against the misconfigured endpoints of lib_check.sh
# (nginx, a 3-level PKI made by the openssl CLI, an OCSP responder, a CRL
# and caIssuers on a local HTTP server).  Each scenario must give exactly
# its expected finding, and the good one no error; --fix-chain must make
# curl succeed against the same server.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_check.sh"

check_have_tools || skip_test "$CHECK_MISSING is not installed"
if check_setup; then
	pass "fixture up"
else
	fail "check_setup"
	finish
fi
ROOT=$CHECK_ROOT

# mcheck SCENARIO [ARGS...]: moat check https://NAME:PORT/ --ca ROOT --json
mcheck() {
	local s=$1
	shift
	run "$MOAT" check "https://${CHECK_NAME[$s]}:${CHECK_PORT[$s]}/" --connect-to 127.0.0.1 \
		--ca "$ROOT" --json "$@"
}
# codes SEVERITY: the finding codes of that severity in the last JSON, sorted,
# space-separated.  When stdout is not moat check's JSON (a usage error, a
# crash) it prints a marker instead, so that no "exactly these codes" check,
# not even one for none, can pass on it.
codes() {
	python3 -c 'import json,sys
try:
    d = json.load(open(sys.argv[1]))
    fs = [f for t in d["targets"] for f in t["findings"]]
except (ValueError, KeyError, TypeError) as e:
    print("<stdout is not moat check JSON: %s>" % e)
    sys.exit(1)
print(" ".join(sorted(f["code"] for f in fs if f["severity"] == sys.argv[2])))' "$OUT_F" "$1"
}
has_code() { codes "$1" | tr ' ' '\n' | grep -qx "$2"; }
# finding CODE FIELD: message or fix of the first finding CODE in the last JSON.
finding() {
	json_get "[f[\"$2\"] for t in d[\"targets\"] for f in t[\"findings\"] if f[\"code\"] == \"$1\"][0]" <"$OUT_F"
}

# expect SCENARIO EXIT "ERRORS" "WARNINGS-THAT-MUST-BE-THERE" [ARGS...]
expect() {
	local s=$1 rc=$2 errs=$3 warns=$4
	shift 4
	mcheck "$s" "$@"
	assert_rc "$rc" "$s: exit $rc"
	assert_eq "$(codes error)" "$errs" "$s: error findings are exactly [$errs]"
	local w
	for w in $warns; do
		if has_code warning "$w"; then pass "$s: warning $w"; else fail "$s: warning $w missing (got: $(codes warning))"; fi
	done
}

# ---- the good one: no error, no warning, and the positive notes
expect good 0 "" ""
assert_eq "$(codes warning)" "" "good: no warning"
for ok in trusted ocsp-good crl-good ocsp-stapled hsts; do
	if has_code info "$ok"; then pass "good: $ok"; else fail "good: $ok missing (got: $(codes info))"; fi
done
assert_eq "$(json_get 'd["targets"][0]["version"]' <"$OUT_F")" "TLSv1.3" "good: TLS 1.3 negotiated"
assert_eq "$(json_get 'len(d["targets"][0]["chain"])' <"$OUT_F")" 2 "good: two certificates sent"
# without --ca the private root is not trusted
run "$MOAT" check "https://${CHECK_NAME[good]}:${CHECK_PORT[good]}/" --connect-to 127.0.0.1 --json --no-revocation
assert_rc 1 "good without --ca: exit 1"
assert_eq "$(codes error)" "untrusted-root" "good without --ca: untrusted-root"

# ---- the missing intermediate (RingCentral's SUB-524)
: >"$CHECK_HTTP_LOG.before"
cp "$CHECK_HTTP_LOG" "$T/http.before"
expect leafonly 1 "chain-incomplete" "" --fix-chain "$T/fixed.pem"
assert_contains "$(json_get '[f["message"] for f in d["targets"][0]["findings"] if f["code"]=="chain-incomplete"][0]' <"$OUT_F")" \
	"SUB-524" "leafonly: names the SUB-524 symptom"
if diff "$T/http.before" "$CHECK_HTTP_LOG" | grep -q 'GET /int.der 200'; then
	pass "leafonly: the intermediate was fetched from the caIssuers URL"
else
	fail "leafonly: no caIssuers fetch in the HTTP log"
fi
if has_code info trusted; then pass "leafonly: trusted once the fetched intermediate is added"; else fail "leafonly: not trusted with the fetched intermediate"; fi
assert_file "$T/fixed.pem" "--fix-chain wrote the corrected chain"
assert_eq "$(count_certs "$T/fixed.pem")" 2 "--fix-chain: leaf and intermediate"
assert_eq "$(cert_fp "$T/fixed.pem")" "$(cert_fp "${CHECK_LEAF[leafonly]}")" "--fix-chain: the leaf first"
run curl -sS --max-time 20 --noproxy '*' --cacert "$ROOT" --capath /nonexistent \
	--resolve "${CHECK_NAME[leafonly]}:${CHECK_PORT[leafonly]}:127.0.0.1" \
	"https://${CHECK_NAME[leafonly]}:${CHECK_PORT[leafonly]}/"
assert_rc 60 "curl fails against the leaf-only server"
assert_contains "$ERR" "unable to get local issuer certificate" "  ... for want of the intermediate"
check_serve leafonly "$T/fixed.pem" "${CHECK_KEY[leafonly]}"
run curl -sS --max-time 20 --noproxy '*' --cacert "$ROOT" --capath /nonexistent \
	--resolve "${CHECK_NAME[leafonly]}:${CHECK_PORT[leafonly]}:127.0.0.1" \
	"https://${CHECK_NAME[leafonly]}:${CHECK_PORT[leafonly]}/"
assert_rc 0 "curl succeeds once the server sends the --fix-chain output"
expect leafonly 0 "" ""
check_serve leafonly "${CHECK_SENT_ORIG[leafonly]}" "${CHECK_KEY[leafonly]}"

# ---- chain shape
expect wrongorder 0 "" "chain-order" --fix-chain "$T/fixed-order.pem"
assert_eq "$(count_certs "$T/fixed-order.pem")" 3 "wrongorder: --fix-chain writes leaf + 2 intermediates"
cat >"$T/order.py" <<'PY'
import re, subprocess, sys
certs = re.findall(r'-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----', open(sys.argv[1]).read(), re.S)
def field(c, opt):
    return subprocess.run(["openssl", "x509", "-noout", opt, "-nameopt", "RFC2253"], input=c, capture_output=True, text=True).stdout.split("=", 1)[1].strip()
ok = all(field(certs[i], "-issuer") == field(certs[i + 1], "-subject") for i in range(len(certs) - 1))
print("ordered" if ok else "not ordered")
PY
run python3 "$T/order.py" "$T/fixed-order.pem"
assert_eq "$OUT" "ordered" "wrongorder: the fixed chain is in issuing order"
expect unrelated 0 "" "chain-unrelated"
expect withroot 0 "" ""
if has_code info chain-root-sent; then pass "withroot: chain-root-sent (info)"; else fail "withroot: chain-root-sent missing"; fi

# ---- trust, names, dates, keys
expect selfsigned 1 "self-signed" ""
expect expired 1 "expired" ""
expect expiring 0 "" "expiring"
# the fix is a command that works: acme renew needs the name (or --all)
assert_contains "$(finding expiring fix)" "moat acme renew ${CHECK_NAME[expiring]} --force" \
	"expiring: the fix names the certificate for moat acme renew"
assert_contains "$(finding expiring fix)" "moat acme renew --all" "  ... or says --all"
mcheck expired
assert_rc 1 "expired (again): exit 1"
assert_contains "$(finding expired fix)" "moat acme renew ${CHECK_NAME[expired]} --force" \
	"expired: the fix names the certificate for moat acme renew"
mcheck expiring --warn-days 3
assert_rc 0 "expiring --warn-days 3: exit 0"
assert_eq "$(codes warning)" "" "expiring: no warning with --warn-days 3 (5 days left)"
mcheck expiring --warn-days 0
assert_rc 0 "expiring --warn-days 0: exit 0"
assert_eq "$(codes warning)" "" "expiring: --warn-days 0 turns the warning off (not the 21-day default)"
mcheck expiring --warn-days 6
assert_rc 0 "expiring --warn-days 6: exit 0 (a warning is not an error)"
assert_eq "$(codes warning)" "expiring" "expiring: a warning with --warn-days 6 (5 days left)"
expect wronghost 1 "hostname-mismatch" ""
expect cnonly 1 "cn-only" ""
expect weak 1 "weak-key" ""
expect sha1 1 "sha1-signature" ""

# ---- revocation
# moat check asks the responder by POST (nginx's stapling uses GET).
ocsp_posts() {
	local n
	n=$(grep -c '^POST ' "$CHECK_OCSP_LOG" 2>/dev/null)
	echo "${n:-0}"
}
posts=$(ocsp_posts)
expect revokedocsp 1 "revoked" ""
assert_int_between "$(($(ocsp_posts) - posts))" 1 10 "revokedocsp: moat asked the responder (its log shows the POST)"
assert_contains "$(json_get '[f["message"] for f in d["targets"][0]["findings"] if f["code"]=="revoked"][0]' <"$OUT_F")" \
	"OCSP" "revokedocsp: says the OCSP responder said so"
expect revokedcrl 1 "revoked" ""
assert_contains "$(json_get '[f["message"] for f in d["targets"][0]["findings"] if f["code"]=="revoked"][0]' <"$OUT_F")" \
	"CRL" "revokedcrl: says the CRL said so"
posts=$(ocsp_posts)
mcheck revokedocsp --no-revocation
assert_rc 0 "--no-revocation: exit 0"
assert_eq "$(codes error)" "" "--no-revocation: no revoked finding"
assert_eq "$(ocsp_posts)" "$posts" "--no-revocation: no OCSP request in the responder's log"

# ---- moat ocsp: one certificate, no server
run "$MOAT" ocsp "${CHECK_LEAF[revokedocsp]}" --issuer "$CHECK_INT" --json
assert_rc 1 "moat ocsp: revoked through OCSP: exit 1"
assert_eq "$(codes error)" "revoked" "moat ocsp: revoked"
run "$MOAT" ocsp "${CHECK_LEAF[good]}" --issuer "$CHECK_INT" --json
assert_rc 0 "moat ocsp: good: exit 0"
for ok in ocsp-good crl-good; do
	if has_code info "$ok"; then pass "moat ocsp good: $ok"; else fail "moat ocsp good: $ok missing (got $(codes info))"; fi
done
run "$MOAT" ocsp "${CHECK_LEAF[revokedcrl]}" --json
assert_rc 1 "moat ocsp: revoked through the CRL (issuer fetched via caIssuers): exit 1"
assert_eq "$(codes error)" "revoked" "moat ocsp: revoked by the CRL"
run "$MOAT" ocsp "${CHECK_LEAF[good]}" --issuer "$CHECK_INT" --url "http://127.0.0.1:$(free_port 127.0.0.1)/" --json
assert_rc 0 "moat ocsp --url (dead responder): exit 0 (a warning)"
if has_code warning ocsp-unreachable; then pass "moat ocsp --url: a dead responder is a warning"; else fail "ocsp-unreachable missing (got $(codes warning))"; fi
run "$MOAT" ocsp "${CHECK_LEAF[good]}" --issuer "$CHECK_UNRELATED"
assert_error_shape "moat ocsp with the wrong issuer: one error"

# ---- protocols and HTTP
if [ "$CHECK_TLS10" = yes ]; then
	expect tls10 0 "" "old-tls"
else
	skip_part "this OpenSSL cannot serve TLS 1.0: old-tls not tested"
fi
expect nohsts 0 "" ""
if has_code info no-hsts; then pass "nohsts: no-hsts noted"; else fail "nohsts: no-hsts missing"; fi
mcheck good --http-port "${CHECK_PORT[redirect]}"
assert_rc 0 "good --http-port (redirect): exit 0"
if has_code info http-redirect; then pass "redirect from plain HTTP noted"; else fail "http-redirect missing (got $(codes info))"; fi
mcheck good --http-port "${CHECK_PORT[plain]}"
assert_rc 0 "good --http-port (plain): exit 0 (a warning)"
if has_code warning no-redirect; then pass "plain HTTP without redirect: warning"; else fail "no-redirect missing (got $(codes warning))"; fi
run "$MOAT" check "127.0.0.1:${CHECK_PORT[plain]}" --ca "$ROOT" --json
assert_rc 1 "plain HTTP on the port: exit 1"
assert_eq "$(codes error)" "not-tls" "plain HTTP on the port: not-tls"
# (whatever this machine runs on port 443, one of the two must be said)
if has_code info no-https-on-443 || has_code info https-on-443; then
	pass "plain HTTP: says whether port 443 speaks TLS"
else
	fail "(no-)https-on-443 missing (got $(codes info))"
fi
run "$MOAT" check "http://${CHECK_NAME[good]}:${CHECK_PORT[good]}/" --connect-to 127.0.0.1 --ca "$ROOT" --json --no-revocation
assert_rc 0 "http:// target: exit 0 (a warning)"
if has_code warning http-url; then pass "http:// target: warning, https checked instead"; else fail "http-url missing"; fi
# the advice is moat's, attributed to its source, with no word from outside the product
assert_contains "$(finding http-url fix)" "Rocket.Chat's guide" "http-url: the fix says whose advice it is"
assert_not_contains "$(finding http-url fix)" "seed" "http-url: no stray word in the fix"
if LC_ALL=C grep -a -o -iE "[a-z' ]{0,20}\bseed('s)?\b[a-z' ]{0,20}" "$MOAT" >"$T/seed.txt"; then
	fail "a string in the binary says \"seed\": $(head -n 3 "$T/seed.txt" | tr '\n' '|')"
else
	pass "no string in the binary says \"seed\""
fi
assert_eq "$(codes error)" "" "http:// target: https on that port has no error"
FP=$(free_port 127.0.0.1)
run "$MOAT" check "127.0.0.1:$FP" --json
assert_rc 3 "nothing listening: exit 3"
assert_eq "$(codes error)" "unreachable" "nothing listening: unreachable"

# ---- several targets, human output, files
run "$MOAT" check "https://${CHECK_NAME[good]}:${CHECK_PORT[good]}/" \
	"https://${CHECK_NAME[expired]}:${CHECK_PORT[expired]}/" --connect-to 127.0.0.1 --ca "$ROOT"
assert_rc 1 "two targets, one bad: exit 1"
assert_contains "$OUT" "ERROR   expired" "human output: the error line"
assert_contains "$OUT" "fix: " "human output: the fix line"
assert_not_contains "$OUT" $'\033[' "no color when not a terminal"
run "$MOAT" check "${CHECK_LEAF[good]}" --chain "${CHECK_CHAIN[good]}" --key "${CHECK_KEY[good]}" \
	--servername "${CHECK_NAME[good]}" --ca "$ROOT" --json --no-revocation
assert_rc 0 "files: good cert, chain and key"
if has_code info key-match; then pass "files: key-match"; else fail "files: key-match missing"; fi
run "$MOAT" check "${CHECK_LEAF[good]}" --key "${CHECK_KEY[expired]}" --ca "$ROOT" --json --no-revocation
assert_rc 1 "files: leaf alone + another key: exit 1"
assert_eq "$(codes error)" "chain-incomplete key-mismatch" "files: leaf alone + another key"
# files are not a server: nothing "sends" or "staples"
run "$MOAT" check "${CHECK_LEAF[leafonly]}" --ca "$ROOT" --json
assert_rc 1 "files: a leaf without its intermediate: exit 1"
assert_eq "$(codes error)" "chain-incomplete" "files: a leaf without its intermediate"
assert_contains "$(finding chain-incomplete message)" "the file does not hold the intermediate" \
	"files: chain-incomplete says the file does not hold it"
msgs=$(json_get '[f["message"] for t in d["targets"] for f in t["findings"]]' <"$OUT_F")
assert_match "$msgs" '^\[".+' "files: the findings' messages (control: not empty)"
assert_not_contains "$msgs" "server" "files: no finding speaks of a server"
run "$MOAT" check "${CHECK_SENT_ORIG[withroot]}" --ca "$ROOT" --json --no-revocation
assert_rc 0 "files: leaf + int + root: exit 0"
assert_contains "$(finding chain-root-sent message)" "the file also holds the root" \
	"files: chain-root-sent says the file holds the root"

# ---- timing is reported, not asserted (bench/check.sh measures it)
mcheck good
assert_rc 0 "good (timed): exit 0"
note "full check of good (chain, names, dates, OCSP, CRL, staple, versions, HTTP): $(json_get 'd["targets"][0]["seconds"]' <"$OUT_F") s"

# ---- usage
run "$MOAT" check
assert_rc 2 "no target: usage error"
assert_contains "$ERR" "moat: error: what? moat check https://HOST" "no target: says what is missing"
run "$MOAT" check "ftp://x.test"
assert_rc 2 "ftp:// target: usage error"
assert_contains "$ERR" "only https:// and http:// URLs can be checked" "ftp:// target: says why"
run "$MOAT" check a.test b.test --fix-chain "$T/x.pem"
assert_rc 2 "--fix-chain with two targets: usage error"
assert_contains "$ERR" "--fix-chain takes one target" "--fix-chain with two targets: says why"
assert_no_file "$T/x.pem" "--fix-chain with two targets: nothing written"

finish
