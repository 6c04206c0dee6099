#!/usr/bin/env bash
# t_name_constraints: `ca init --permit` puts critical RFC 5280 name
# constraints on root and intermediate.  moat refuses names outside them, and
# -- the point of the feature -- a certificate minted for an outside name with
# the raw intermediate key (openssl CLI, bypassing moat) fails verification,
# while one for an inside name made the same way passes.
. "$(dirname "$0")/lib.sh"

# raw_leaf CN SAN OUT: a leaf signed directly with $MOAT_HOME's intermediate
# key by the openssl CLI, with proper extensions (so -x509_strict can only
# object to the names).
raw_leaf() {
	local cn=$1 san=$2 out=$3 ca=$MOAT_HOME/ca
	cat >"$T/ext.cnf" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = $san
EOF
	rm -f "$out"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/raw.key" -subj "/CN=$cn" 2>/dev/null |
		openssl x509 -req -CA "$ca/intermediate.pem" -CAkey "$ca/intermediate-key.pem" \
			-set_serial "0x$(openssl rand -hex 16)" -days 30 -extfile "$T/ext.cnf" \
			-out "$out" >/dev/null 2>&1
	if [ -s "$out" ]; then
		pass "raw openssl leaf for $san made with the intermediate key"
	else
		fail "could not make a raw openssl leaf for $san"
	fi
}

# raw_verify CERT: strict verification with only the root trusted.
raw_verify() {
	run openssl verify -x509_strict -CAfile "$MOAT_HOME/ca/root.pem" \
		-untrusted "$MOAT_HOME/ca/intermediate.pem" "$1"
}

# raw_refused CERT REASON DESC: openssl verify -x509_strict refuses CERT
# (exit 2, not a crash) for REASON ("permitted subtree violation" or
# "excluded subtree violation") at the leaf.
raw_refused() {
	raw_verify "$1"
	assert_rc 2 "$3"
	assert_contains "$OUT$ERR" "at 0 depth lookup: $2" "  ... because of the name constraints ($2)"
}

# refused NAME REGEX-OF-CONSTRAINT: moat issue NAME fails cleanly.
refused() {
	local name=$1 re=$2 before
	before=$(tree_listing "$MOAT_HOME")
	moat issue "$name"
	assert_error_shape "issue $name outside the permits: exit 1, one error line"
	assert_match "$ERR" "$re" "issue $name: the message names the constraint"
	assert_eq "$(tree_listing "$MOAT_HOME")" "$before" "issue $name: nothing written"
}

# issued NAME: moat issue NAME succeeds and the result verifies strictly.
issued() {
	local d
	assert_ok "issue $1 inside the permits" "$MOAT" issue "$1"
	d=$MOAT_HOME/live/$1
	assert_ok "$1 verifies (x509_strict, sslserver)" verify_server "$d/cert.pem" "$d/chain.pem"
}

# =================================== CA 1: .local, home.example, 192.168/16
export MOAT_HOME=$T/home-mixed
need_ca --permit .local --permit home.example --permit 192.168.0.0/16
CA=$MOAT_HOME/ca

for c in root intermediate; do
	nc=$(cert_ext "$CA/$c.pem" nameConstraints)
	assert_contains "$nc" "critical" "$c: nameConstraints is critical"
	assert_contains "$nc" "Permitted" "$c: has permitted subtrees"
	assert_match "$nc" "DNS:\.?local" "$c: permits .local"
	assert_contains "$nc" "DNS:home.example" "$c: permits home.example"
	assert_contains "$nc" "IP:192.168.0.0/255.255.0.0" "$c: permits 192.168.0.0/16"
done
assert_ok "intermediate verifies against the constrained root" \
	openssl verify -x509_strict -CAfile "$CA/root.pem" "$CA/intermediate.pem"

issued printer.local
issued a.home.example
issued home.example
issued 192.168.1.10
assert_ok "issue several names, all inside" "$MOAT" issue nas.local b.home.example 192.168.200.1
assert_ok "  ... and they verify" verify_server "$MOAT_HOME/live/nas.local/cert.pem" \
	"$MOAT_HOME/live/nas.local/chain.pem"

DNS_RE='home\.example'
IP_RE='192\.168\.0\.0/(16|255\.255\.0\.0)'
refused example.com "$DNS_RE"
refused evil.home.example.com "$DNS_RE"
refused local "$DNS_RE"
refused 10.0.0.1 "$IP_RE"
refused 192.169.0.1 "$IP_RE"
before=$(tree_listing "$MOAT_HOME")
moat issue ::1
assert_error_shape "issue ::1 (no IPv6 permitted): exit 1, one error line"
assert_contains "$ERR" '"::1" is outside this CA'"'"'s name constraints' "issue ::1: the message says why"
assert_eq "$(tree_listing "$MOAT_HOME")" "$before" "issue ::1: nothing written"
moat issue ok.local example.com
assert_error_shape "issue of an inside and an outside name together: exit 1"
assert_contains "$ERR" '"example.com" is outside this CA'"'"'s name constraints' "  ... the message names the outside name"
assert_eq "$(tree_listing "$MOAT_HOME")" "$before" "  ... and nothing written for the inside name"

# The raw intermediate key cannot mint certificates outside the permits.
raw_leaf evil.example.com "DNS:evil.example.com" "$T/evil.pem"
raw_refused "$T/evil.pem" "permitted subtree violation" \
	"raw leaf for evil.example.com FAILS openssl verify -x509_strict"

raw_leaf iptest "IP:10.0.0.1" "$T/evil-ip.pem"
raw_refused "$T/evil-ip.pem" "permitted subtree violation" \
	"raw leaf for IP 10.0.0.1 FAILS openssl verify -x509_strict"

raw_leaf iptest "IP:::1" "$T/evil-ip6.pem"
raw_refused "$T/evil-ip6.pem" "permitted subtree violation" \
	"raw leaf for IP ::1 FAILS openssl verify -x509_strict"

# The same recipe for names inside the permits passes: the failures above are
# the constraints at work, not a broken recipe.
raw_leaf ok.home.example "DNS:ok.home.example" "$T/ok.pem"
raw_verify "$T/ok.pem"
assert_rc 0 "raw leaf for ok.home.example passes openssl verify -x509_strict"
raw_leaf iptest "IP:192.168.7.7" "$T/ok-ip.pem"
raw_verify "$T/ok-ip.pem"
assert_rc 0 "raw leaf for IP 192.168.7.7 passes openssl verify -x509_strict"
raw_leaf cam.local "DNS:cam.local" "$T/ok-local.pem"
raw_verify "$T/ok-local.pem"
assert_rc 0 "raw leaf for cam.local passes openssl verify -x509_strict"

# ====================================== CA 2: DNS permits only => no IPs
export MOAT_HOME=$T/home-dns-only
need_ca --permit .lan
CA=$MOAT_HOME/ca
nc=$(cert_ext "$CA/intermediate.pem" nameConstraints)
assert_contains "$nc" "Excluded" "DNS-only CA: intermediate has excluded subtrees"
assert_contains "$nc" "IP:0.0.0.0/0.0.0.0" "DNS-only CA: all IPv4 excluded"
assert_match "$nc" "IP:(0:){7}0/(0:){7}0|IP:::/::" "DNS-only CA: all IPv6 excluded"
nc=$(cert_ext "$CA/root.pem" nameConstraints)
assert_contains "$nc" "IP:0.0.0.0/0.0.0.0" "DNS-only CA: root excludes all IPv4 too"
issued nas.lan
refused 192.168.1.1 'lan'
refused nas.example 'lan'
raw_leaf iptest "IP:192.168.1.1" "$T/dnsonly-ip.pem"
raw_refused "$T/dnsonly-ip.pem" "excluded subtree violation" \
	"DNS-only CA: raw leaf for an IP FAILS verification"
raw_leaf iptest "IP:::1" "$T/dnsonly-ip6.pem"
raw_refused "$T/dnsonly-ip6.pem" "excluded subtree violation" \
	"DNS-only CA: raw leaf for IPv6 ::1 FAILS verification"
raw_leaf x.lan "DNS:x.lan" "$T/dnsonly-ok.pem"
raw_verify "$T/dnsonly-ok.pem"
assert_rc 0 "DNS-only CA: raw leaf for x.lan passes"

# ====================================== CA 3: IP permits only => no DNS names
export MOAT_HOME=$T/home-ip-only
need_ca --permit 10.0.0.0/8
CA=$MOAT_HOME/ca
nc=$(cert_ext "$CA/intermediate.pem" nameConstraints)
assert_contains "$nc" "Excluded" "IP-only CA: intermediate has excluded subtrees"
issued 10.1.2.3
refused example.com '10\.0\.0\.0/(8|255\.0\.0\.0)'
refused 11.0.0.1 '10\.0\.0\.0/(8|255\.0\.0\.0)'
raw_leaf iptest "DNS:example.com" "$T/iponly-dns.pem"
raw_refused "$T/iponly-dns.pem" "excluded subtree violation" \
	"IP-only CA: raw leaf for a DNS name FAILS verification"
raw_leaf iptest "IP:10.9.9.9" "$T/iponly-ok.pem"
raw_verify "$T/iponly-ok.pem"
assert_rc 0 "IP-only CA: raw leaf for 10.9.9.9 passes"

# ====================================== bad permits are refused
export MOAT_HOME=$T/home-bad-permit
moat ca init --no-passphrase --permit 192.168.0.0/33
assert_error_shape "ca init --permit 192.168.0.0/33 is refused"
assert_contains "$ERR" 'invalid permit "192.168.0.0/33": prefix length 33 is out of range' "  ... the message says why"
assert_eq "$(tree_listing "$MOAT_HOME")" "" "  ... and nothing is written (not even MOAT_HOME)"

finish
