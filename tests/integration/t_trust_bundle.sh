#!/usr/bin/env bash
# t_trust_bundle: moat trust against a system trust store of real size --
# a Debian sysroot holding a copy of this machine's /usr/share/ca-certificates
# and /etc/ca-certificates.conf, its bundle rebuilt by the real
# update-ca-certificates --sysroot (about 150 certificates, where a cap of 64
# meant for hostile input once made every install on a real Debian fail);
# moat check with the same full bundle as its trust store; moat inspect on it; and a place that
# fails after adding (update-ca-certificates that does not rebuild) taken
# back too, not left half-installed.
. "$(dirname "$0")/lib.sh"

UCC=$(command -v update-ca-certificates || echo /usr/sbin/update-ca-certificates)
if [ ! -x "$UCC" ] || [ ! -d /usr/share/ca-certificates/mozilla ] || [ ! -f /etc/ca-certificates.conf ]; then
	echo "# SKIP ca-certificates is not installed (update-ca-certificates, /usr/share/ca-certificates)"
	exit 77
fi

need_ca --name "moat bundle CA"
ROOT=$MOAT_HOME/ca/root.pem
SLUG=moat-bundle-ca
moat issue bundle.test >/dev/null
LEAF=$MOAT_HOME/live/bundle.test/cert.pem
CHAIN=$MOAT_HOME/live/bundle.test/chain.pem

ncerts() { grep -c 'BEGIN CERTIFICATE' "$1"; }
root_in() {
	python3 - "$1" "$ROOT" <<'PY'
import sys, re
def certs(p):
    return re.findall(r'-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----', open(p).read())
root = re.sub(r'\s', '', certs(sys.argv[2])[0])
print(sum(1 for c in certs(sys.argv[1]) if re.sub(r'\s', '', c) == root))
PY
}

# A Debian image with every certificate Debian ships, as on a real system.
D=$T/debian
mkdir -p "$D/usr/local/share/ca-certificates" "$D/etc/ssl/certs" "$D/usr/share"
cp -a /usr/share/ca-certificates "$D/usr/share/"
cp /etc/ca-certificates.conf "$D/etc/"
run "$UCC" --sysroot "$D" --fresh
assert_rc 0 "update-ca-certificates --sysroot builds the image's bundle"
BUNDLE=$D/etc/ssl/certs/ca-certificates.crt
N0=$(ncerts "$BUNDLE")
if [ "$N0" -ge 100 ]; then
	pass "the image's bundle is of real size ($N0 certificates, over 64)"
else
	fail "the image's bundle has only $N0 certificates: not a real-size test"
fi

# moat inspect reads the whole bundle (a cap of 64 objects once refused it).
moat inspect --json "$BUNDLE"
assert_rc 0 "moat inspect on the full bundle: exit 0"
assert_eq "$(json_get 'len(d["objects"])' <"$OUT_F")" "$N0" "moat inspect lists every certificate of the bundle"

moat trust install --sysroot "$D" --store system --json
assert_rc 0 "install into a Debian image with a full bundle: exit 0"
assert_eq "$(json_get 'd["places"][0]["outcome"]' <"$OUT_F")" added "the report says added, not failed"
assert_file "$D/usr/local/share/ca-certificates/$SLUG.crt" "the anchor file is there"
assert_eq "$(root_in "$BUNDLE")" 1 "the rebuilt bundle has the root once"
assert_eq "$(ncerts "$BUNDLE")" "$((N0 + 1))" "the rebuilt bundle has every other certificate too"
run openssl verify -x509_strict -purpose sslserver -CAfile "$BUNDLE" -untrusted "$CHAIN" "$LEAF"
assert_rc 0 "openssl verify with the full rebuilt bundle accepts a moat leaf"
moat trust status --sysroot "$D" --store system --json
assert_rc 0 "status: exit 0"
assert_eq "$(json_get 'd["places"][0]["state"]' <"$OUT_F")" present "status: present (not pending)"

# moat check with the same full bundle as its trust store (SSL_CERT_FILE):
# the last certificate of the bundle is an anchor too.
moat check "$MOAT_HOME/live/bundle.test/fullchain.pem" --ca "$BUNDLE" --json
assert_eq "$(json_get '"trusted" in [f["code"] for f in d["targets"][0]["findings"]]' <"$OUT_F")" \
	true "moat check --ca FULL-BUNDLE: the leaf chains to the root in it"

moat trust uninstall --sysroot "$D" --store system
assert_rc 0 "uninstall: exit 0"
assert_eq "$(root_in "$BUNDLE")" 0 "uninstall: the root is out of the bundle"
assert_eq "$(ncerts "$BUNDLE")" "$N0" "uninstall: the rest of the bundle is as it was"

# A place that fails after its add got halfway: update-ca-certificates
# that says it worked but rebuilds nothing.  The anchor written must be
# taken back with the rest, not left to be picked up later.
mkdir -p "$T/badbin"
printf '#!/bin/sh\nexit 0\n' >"$T/badbin/update-ca-certificates"
chmod +x "$T/badbin/update-ca-certificates"
run env PATH="$T/badbin:$PATH" "$MOAT" trust install --sysroot "$D" --store system --json
assert_rc 1 "a bundle that is not rebuilt fails the install"
assert_eq "$(json_get 'd["places"][0]["outcome"]' <"$OUT_F")" failed "the report says failed"
assert_no_file "$D/usr/local/share/ca-certificates/$SLUG.crt" \
	"the failed place is taken back too: no anchor file left behind"
moat trust status --sysroot "$D" --store system --json
assert_eq "$(json_get 'd["places"][0]["state"]' <"$OUT_F")" absent \
	"status after the failed install: absent (not pending)"
finish
