#!/usr/bin/env bash
# t_issue_verify: `moat issue` makes server certificates that a strict
# verifier accepts, for every kind of name and every key type, with the
# right extensions, validity, files and modes, and records them.
. "$(dirname "$0")/lib.sh"

need_ca
ROOT=$MOAT_HOME/ca/root.pem
IM=$MOAT_HOME/ca/intermediate.pem
LIVE=$MOAT_HOME/live

# check_issued LINEAGE_DIR KEYTYPE CLIENT(0|1) SAN-NEEDLE...
# Everything a freshly issued lineage must satisfy.
check_issued() {
	local d=$1 kt=$2 client=$3 label
	shift 3
	label=$(basename "$d")
	for f in privkey.pem cert.pem chain.pem fullchain.pem; do
		assert_file "$d/$f" "$label: $f exists"
	done
	assert_mode "$d/privkey.pem" 600 "$label: privkey.pem is 0600"
	run verify_server "$d/cert.pem" "$d/chain.pem" "$ROOT"
	assert_rc 0 "$label: openssl verify -x509_strict -purpose sslserver"
	assert_contains "$OUT" "cert.pem: OK" "$label: verify says OK"
	local san needle
	san=$(cert_ext "$d/cert.pem" subjectAltName)
	for needle in "$@"; do
		assert_contains "$san" "$needle" "$label: SAN has $needle"
	done
	local bc ku eku
	bc=$(cert_ext "$d/cert.pem" basicConstraints)
	assert_contains "$bc" "CA:FALSE" "$label: CA:FALSE"
	eku=$(cert_ext "$d/cert.pem" extendedKeyUsage)
	assert_contains "$eku" "TLS Web Server Authentication" "$label: EKU serverAuth"
	if [ "$client" = 1 ]; then
		assert_contains "$eku" "TLS Web Client Authentication" "$label: EKU clientAuth (--client)"
		assert_ok "$label: verifies as sslclient too" openssl verify -x509_strict -purpose sslclient \
			-CAfile "$ROOT" -untrusted "$d/chain.pem" "$d/cert.pem"
	else
		assert_not_contains "$eku" "TLS Web Client Authentication" "$label: no clientAuth without --client"
	fi
	ku=$(cert_ext "$d/cert.pem" keyUsage)
	assert_contains "$ku" "Digital Signature" "$label: KU digitalSignature"
	case $kt in
	rsa-*) assert_contains "$ku" "Key Encipherment" "$label: KU keyEncipherment (RSA)" ;;
	*) assert_not_contains "$ku" "Key Encipherment" "$label: no keyEncipherment for a non-RSA key" ;;
	esac
	assert_not_contains "$ku" "Certificate Sign" "$label: leaf cannot sign certificates"
	assert_eq "$(key_pubkey "$d/privkey.pem")" "$(cert_pubkey "$d/cert.pem")" \
		"$label: privkey.pem matches cert.pem"
	assert_same_file "$d/chain.pem" "$IM" "$label: chain.pem is the intermediate"
	cat "$d/cert.pem" "$d/chain.pem" >"$T/expected-fullchain.pem"
	assert_same_file "$d/fullchain.pem" "$T/expected-fullchain.pem" "$label: fullchain.pem = cert.pem + chain.pem"
	assert_eq "$(count_certs "$d/cert.pem")" 1 "$label: cert.pem holds one certificate"
	assert_eq "$(leftover_tmp "$MOAT_HOME")" "" "$label: no temporary files left"
}

# ---- one DNS name, default key type, --json output
moat issue app.example.com --json
assert_rc 0 "issue app.example.com --json"
cp "$OUT_F" "$T/issue.json"
check_issued "$LIVE/app.example.com" ec-p256 0 "DNS:app.example.com"
assert_int_between "$(cert_days "$LIVE/app.example.com/cert.pem")" 397 397 "default validity is 397 days"
run openssl x509 -in "$LIVE/app.example.com/cert.pem" -noout -text
assert_contains "$OUT" "prime256v1" "default leaf key type is ec-p256"
json_serial=$(json_get 'd["serial"]' <"$T/issue.json" 2>/dev/null)
assert_eq "$(norm_hex "$json_serial")" "$(cert_serial "$LIVE/app.example.com/cert.pem")" \
	"--json serial is the certificate's"
assert_eq "$(json_get 'd["names"]' <"$T/issue.json" 2>/dev/null)" '["app.example.com"]' "--json names"
assert_eq "$(json_get 'd["lineage"].rstrip("/").split("/")[-1]' <"$T/issue.json" 2>/dev/null)" \
	"app.example.com" "--json lineage"
for f in privkey cert chain fullchain; do
	p=$(json_get "d['files']['$f']" <"$T/issue.json" 2>/dev/null)
	assert_same_file "$p" "$LIVE/app.example.com/$f.pem" "--json files.$f is live/app.example.com/$f.pem"
done
na=$(json_get 'd["not_after"]' <"$T/issue.json" 2>/dev/null)
assert_eq "$(date -u -d "$na" +%s 2>/dev/null)" \
	"$(date -u -d "$(openssl x509 -in "$LIVE/app.example.com/cert.pem" -noout -enddate | sed 's/^notAfter=//')" +%s)" \
	"--json not_after is the certificate's notAfter"
app_serial=$(cert_serial "$LIVE/app.example.com/cert.pem")

# ---- wildcard
assert_ok "issue *.example.com" "$MOAT" issue '*.example.com'
check_issued "$LIVE/_wildcard.example.com" ec-p256 0 "DNS:*.example.com"

# ---- IPv4, IPv6, .local
assert_ok "issue 127.0.0.1" "$MOAT" issue 127.0.0.1
check_issued "$LIVE/127.0.0.1" ec-p256 0 "IP Address:127.0.0.1"
assert_not_contains "$(cert_ext "$LIVE/127.0.0.1/cert.pem" subjectAltName)" "DNS:127.0.0.1" \
	"127.0.0.1 is an IP SAN, not a DNS SAN"
moat issue ::1 --json
assert_rc 0 "issue ::1"
v6dir=$(json_get 'd["files"]["cert"]' <"$OUT_F" 2>/dev/null)
v6dir=$(dirname "${v6dir:-/nonexistent/x}")
assert_eq "$v6dir" "$LIVE/::1" "::1 lineage is live/::1"
check_issued "$v6dir" ec-p256 0 "IP Address:0:0:0:0:0:0:0:1"
assert_ok "issue printer.local" "$MOAT" issue printer.local
check_issued "$LIVE/printer.local" ec-p256 0 "DNS:printer.local"

# ---- several names in one certificate
assert_ok "issue four names" "$MOAT" issue multi.example.com www.multi.example.com 10.1.2.3 nas.local
check_issued "$LIVE/multi.example.com" ec-p256 0 "DNS:multi.example.com" "DNS:www.multi.example.com" \
	"IP Address:10.1.2.3" "DNS:nas.local"
assert_no_file "$LIVE/www.multi.example.com" "lineage is named after the first name only"

# ---- every key type (--client on one of them)
for kt in ec-p256 ec-p384 rsa-2048 rsa-3072 rsa-4096 ed25519; do
	assert_ok "issue --key-type $kt" "$MOAT" issue "$kt.example.com" --key-type "$kt"
	check_issued "$LIVE/$kt.example.com" "$kt" 0 "DNS:$kt.example.com"
done
run openssl x509 -in "$LIVE/ec-p384.example.com/cert.pem" -noout -text
assert_contains "$OUT" "secp384r1" "ec-p384 leaf has a P-384 key"
run openssl x509 -in "$LIVE/rsa-3072.example.com/cert.pem" -noout -text
assert_contains "$OUT" "Public-Key: (3072 bit)" "rsa-3072 leaf has a 3072-bit key"
run openssl x509 -in "$LIVE/ed25519.example.com/cert.pem" -noout -text
assert_contains "$OUT" "ED25519" "ed25519 leaf has an Ed25519 key"

assert_ok "issue --client" "$MOAT" issue client.example.com --client
check_issued "$LIVE/client.example.com" ec-p256 1 "DNS:client.example.com"
assert_ok "issue --client --key-type rsa-2048" "$MOAT" issue rsaclient.example.com --client --key-type rsa-2048
check_issued "$LIVE/rsaclient.example.com" rsa-2048 1 "DNS:rsaclient.example.com"

# ---- validity
assert_ok "issue --days 30" "$MOAT" issue days30.example.com --days 30
assert_int_between "$(cert_days "$LIVE/days30.example.com/cert.pem")" 30 30 "--days 30 gives 30 days"
assert_ok "issue --days 825 (the maximum)" "$MOAT" issue days825.example.com --days 825
assert_int_between "$(cert_days "$LIVE/days825.example.com/cert.pem")" 825 825 "--days 825 gives 825 days"
moat issue days826.example.com --days 826
assert_error_shape "issue --days 826 is refused with exit 1"
assert_no_file "$LIVE/days826.example.com" "nothing written for --days 826"

# ---- --out DIR
mkdir -p "$T/out"
assert_ok "issue --out DIR" "$MOAT" issue out.example.com --out "$T/out"
for f in privkey.pem cert.pem chain.pem fullchain.pem; do
	assert_same_file "$T/out/$f" "$LIVE/out.example.com/$f" "--out DIR has the same $f"
done
assert_mode "$T/out/privkey.pem" 600 "--out DIR/privkey.pem is 0600"

# ---- --force replaces a lineage with a new certificate
moat issue app.example.com
assert_rc 1 "issuing an existing lineage again is refused"
assert_eq "$(cert_serial "$LIVE/app.example.com/cert.pem")" "$app_serial" "existing lineage untouched"
assert_ok "issue --force replaces the lineage" "$MOAT" issue app.example.com --force
new_serial=$(cert_serial "$LIVE/app.example.com/cert.pem")
assert_ne "$new_serial" "$app_serial" "--force gives a new serial"
check_issued "$LIVE/app.example.com" ec-p256 0 "DNS:app.example.com"

# ---- serials are unique and random-looking (at least 64 bits)
serials=$(for c in "$LIVE"/*/cert.pem; do cert_serial "$c"; done)
assert_eq "$(sort <<<"$serials" | uniq -d)" "" "all serials are distinct"
short=$(awk 'length($0) < 16' <<<"$serials")
assert_eq "$short" "" "serials have at least 64 bits"

# ---- ca list --json has every certificate
assert_ok "ca list --json" "$MOAT" ca list --json
cp "$OUT_F" "$T/list.json"
for c in "$LIVE"/*/cert.pem; do
	s=$(cert_serial "$c")
	name=$(basename "$(dirname "$c")")
	name=${name/#_wildcard./*.}
	got=$(python3 - "$T/list.json" "$s" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
want = sys.argv[2]
for c in d["certificates"]:
    if c["serial"].replace(":", "").lower().lstrip("0") == want:
        print(c["status"], " ".join(c["names"]), c["days_left"], c["not_after"])
        break
EOF
)
	assert_eq "${got%% *}" "valid" "ca list --json: $name ($s) is listed as valid"
	assert_contains " $got " " $name " "ca list --json: $name ($s) has its name"
done
got=$(python3 - "$T/list.json" "$app_serial" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
print(sum(1 for c in d["certificates"] if c["serial"].replace(":", "").lower().lstrip("0") == sys.argv[2]))
EOF
)
assert_eq "$got" 1 "ca list keeps the replaced certificate too"
days=$(python3 - "$T/list.json" "$(cert_serial "$LIVE/days30.example.com/cert.pem")" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
for c in d["certificates"]:
    if c["serial"].replace(":", "").lower().lstrip("0") == sys.argv[2]:
        print(c["days_left"])
EOF
)
assert_int_between "$days" 29 30 "ca list: days_left of a 30-day certificate"
assert_ok "ca list (text)" "$MOAT" ca list
assert_contains "$OUT" "days30.example.com" "ca list text shows the names"
assert_contains "$OUT" "valid" "ca list text shows the status"

finish
