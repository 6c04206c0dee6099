#!/usr/bin/env bash
# t_cli_messages: what moat says, where issue 14 found it wrong (items 5 and
# 6, and the help): the PKCS#12 hint names --p12-passphrase-file; --no-qr
# does not offer a QR code; `moat trust status` (its help and its lines) uses
# the state words of its JSON; `trust export --json`; the help's summary of
# acme issue and acme list's columns.
. "$(dirname "$0")/lib.sh"

need_ca

# ---- PKCS#12 without a passphrase source: the hint names the p12 option
run_notty "$MOAT" issue p12.example.test --p12
assert_error_shape "issue --p12 without a terminal or MOAT_P12_PASSPHRASE"
assert_contains "$ERR" "--p12-passphrase-file" "  ... the hint names --p12-passphrase-file"
assert_not_contains "$ERR" "use --passphrase-file" "  ... not the CA key's --passphrase-file"
assert_no_file "$MOAT_HOME/live/p12.example.test/cert.p12" "  ... and nothing was written"

# ---- trust share --no-qr: no QR code offered in the words either
port=$(free_port 127.0.0.1)
moat trust share --listen "127.0.0.1:$port" --name 127.0.0.1 --timeout 1 --no-qr
assert_rc 0 "trust share --no-qr --timeout 1"
assert_contains "$ERR" "Open http://127.0.0.1:$port/ on the phone" "  ... gives the URL"
assert_not_contains "$ERR" "QR code" "  ... and does not mention a QR code"
port=$(free_port 127.0.0.1)
moat trust share --listen "127.0.0.1:$port" --name 127.0.0.1 --timeout 1
assert_contains "$ERR" "or scan the QR code" "trust share with the QR code offers it"

# ---- trust status: the help's state words are the JSON's, and so are the lines'
moat help trust status
for w in present absent pending foreign unavailable; do
	assert_contains "$OUT" "$w" "help trust status names the state \"$w\""
done
for w in conflict skipped; do
	assert_not_contains "$OUT" "$w (" "help trust status has no state \"$w\" of its own"
done
D=$T/debian
mkdir -p "$D/usr/local/share/ca-certificates" "$D/usr/share/ca-certificates/public" "$D/etc/ssl/certs"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
	-subj "/CN=Some Public Root" -days 30 -out "$D/usr/share/ca-certificates/public/some.crt" 2>/dev/null
echo "public/some.crt" >"$D/etc/ca-certificates.conf"
for step in before install; do
	if [ "$step" = install ]; then
		moat trust install --sysroot "$D" --store system
		assert_rc 0 "trust install into a Debian sysroot"
	fi
	moat trust status --sysroot "$D" --store system --json
	state=$(json_get 'd["places"][0]["state"]' <"$OUT_F")
	moat trust status --sysroot "$D" --store system
	word=$(awk 'NR == 2 { print $3 }' <<<"$OUT")
	assert_eq "$word" "$state" "trust status ($step): the line's word is the JSON state"
done
assert_eq "$state" present "  ... present once installed"

# ---- trust export --json
moat trust export --format der --out "$T/root.der" --json
assert_rc 0 "trust export --json"
assert_json "  ... prints JSON"
assert_eq "$(json_get 'd["file"]' <"$OUT_F")" "$T/root.der" "  ... names the file"
assert_eq "$(json_get 'd["format"]' <"$OUT_F")" der "  ... and the format"
assert_eq "$(json_get 'd["bytes"]' <"$OUT_F")" "$(stat -c %s "$T/root.der")" "  ... and its size"
assert_eq "$(json_get 'd["sha256"].replace(":","").lower()' <"$OUT_F")" "$(cert_fp "$MOAT_HOME/ca/root.pem")" \
	"  ... and the root's fingerprint"
moat trust export --format pem --out - --json
assert_rc 2 "trust export --json --out -: usage error (both on stdout)"

# ---- the help
moat help
assert_not_contains "$OUT" "(http-01: --standalone or --webroot)" "moat help: not the old acme issue summary"
acme_line=$(grep -A1 '^  acme issue' <<<"$OUT" | tr -s ' ')
for w in --standalone --webroot --manual dns-01 --dns-hook tls-alpn-01; do
	assert_contains "$acme_line" "$w" "moat help: the acme issue summary lists $w"
done
moat help acme list
for col in LINEAGE EXPIRES "DAYS LEFT" RENEWS NAMES; do
	assert_contains "$OUT" "$col" "help acme list names the column $col"
done

finish
