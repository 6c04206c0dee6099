#!/usr/bin/env bash
# t_trust_install: moat trust install / uninstall / status against real
# stores: Debian's update-ca-certificates on a --sysroot tree (then openssl
# verify with the rebuilt bundle), Fedora and Arch layouts, real NSS
# databases made by certutil (explicit, Firefox profile, Chromium's
# ~/.pki/nssdb), a Java keystore changed by keytool; idempotence, conflicts,
# missing tools, no permission, and undoing a run that fails half-way.
. "$(dirname "$0")/lib.sh"

for tool in certutil keytool update-ca-certificates; do
	if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
		echo "# SKIP $tool not installed (libnss3-tools, a JDK, ca-certificates)"
		exit 77
	fi
done

need_ca --name "moat test CA"
ROOT=$MOAT_HOME/ca/root.pem
NICK="moat test CA"
SLUG=moat-test-ca
root_fp=$(cert_fp "$ROOT")
moat issue trust.test
assert_rc 0 "moat issue trust.test"
LEAF=$MOAT_HOME/live/trust.test/cert.pem
CHAIN=$MOAT_HOME/live/trust.test/chain.pem
# A certificate that is not ours, with the same name as our root.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/other.key" \
	-subj "/CN=$NICK" -days 30 -out "$T/other.pem" 2>/dev/null
other_fp=$(cert_fp "$T/other.pem")
export HOME=$T/userhome
mkdir -p "$HOME"

# Count the certificates in a PEM bundle equal to our root.
root_in() {
	python3 - "$1" "$ROOT" <<'PY'
import sys, re
def certs(p):
    return re.findall(r'-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----', open(p).read())
root = re.sub(r'\s', '', certs(sys.argv[2])[0])
print(sum(1 for c in certs(sys.argv[1]) if re.sub(r'\s', '', c) == root))
PY
}
# Count the certificates under our nickname in an NSS database.
nss_count() { certutil -L -d "sql:$1" -n "$NICK" -a 2>/dev/null | grep -c 'BEGIN CERT'; }
nss_flags() { certutil -L -d "sql:$1" | sed -n "s/^$NICK  *\([^ ]*\) *\$/\1/p"; }

# ---------------------------------------------------------------- Debian
D=$T/debian
mkdir -p "$D/usr/local/share/ca-certificates" "$D/usr/share/ca-certificates/public" "$D/etc/ssl/certs"
# One distribution root, as on a real system (the bundle is never empty).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
	-subj "/CN=Some Public Root" -days 30 -out "$D/usr/share/ca-certificates/public/some.crt" 2>/dev/null
echo "public/some.crt" >"$D/etc/ca-certificates.conf"
moat trust install --sysroot "$D" --store system
assert_rc 0 "install into a Debian sysroot"
assert_contains "$OUT" "debian" "the Debian layout is detected"
assert_contains "$OUT" "added" "the report says added"
ANCHOR=$D/usr/local/share/ca-certificates/$SLUG.crt
assert_file "$ANCHOR" "anchor file in /usr/local/share/ca-certificates"
assert_eq "$(cert_fp "$ANCHOR")" "$root_fp" "the anchor is the root"
assert_mode "$ANCHOR" 644 "the anchor is world-readable (0644)"
BUNDLE=$D/etc/ssl/certs/ca-certificates.crt
assert_eq "$(root_in "$BUNDLE")" 1 "update-ca-certificates put the root into the bundle"
run openssl verify -x509_strict -purpose sslserver -CAfile "$BUNDLE" -untrusted "$CHAIN" "$LEAF"
assert_rc 0 "openssl verify with the rebuilt bundle accepts a moat leaf"
assert_eq "$(readlink "$D/etc/ssl/certs/$SLUG.pem")" "/usr/local/share/ca-certificates/$SLUG.crt" \
	"the hash-directory link points inside the image, not at the sysroot path"
moat trust status --sysroot "$D" --store system --json
assert_rc 0 "status: exit 0 when trusted"
assert_eq "$(json_get 'd["places"][0]["state"]' <"$OUT_F")" present "status --json: present"
assert_eq "$(json_get 'd["root"]["sha256"].replace(":","").lower()' <"$OUT_F")" "$root_fp" \
	"status --json names the root's fingerprint"
moat trust install --sysroot "$D" --store system
assert_rc 0 "install again"
assert_contains "$OUT" "already" "second install: already there"
assert_eq "$(ls "$D/usr/local/share/ca-certificates" | wc -l)" 1 "install twice: one anchor file"
assert_eq "$(root_in "$BUNDLE")" 1 "install twice: the root once in the bundle"
moat trust uninstall --sysroot "$D" --store system
assert_rc 0 "uninstall from the Debian sysroot"
assert_contains "$OUT" "removed" "the report says removed"
assert_no_file "$ANCHOR" "anchor file removed"
assert_eq "$(root_in "$BUNDLE")" 0 "the root left the bundle"
run openssl verify -x509_strict -purpose sslserver -CAfile "$BUNDLE" -untrusted "$CHAIN" "$LEAF"
assert_ne "$RC" 0 "openssl verify fails again without the root"
moat trust status --sysroot "$D" --store system
assert_rc 1 "status: exit 1 when not trusted"
assert_contains "$OUT" "absent" "status says absent"
moat trust uninstall --sysroot "$D" --store system
assert_rc 0 "uninstall when not installed is fine"

# ---------------------------------------------------------------- Fedora, Arch
F=$T/fedora
mkdir -p "$F/etc/pki/ca-trust/source/anchors" "$F/etc/pki/ca-trust/extracted/pem"
moat trust install --sysroot "$F" --store system --json
assert_rc 0 "install into a Fedora sysroot"
assert_eq "$(json_get 'd["places"][0]["kind"]' <"$OUT_F")" fedora "the Fedora layout is detected"
assert_eq "$(json_get 'd["places"][0]["outcome"]' <"$OUT_F")" added "Fedora: added"
assert_contains "$(json_get 'd["places"][0]["detail"]' <"$OUT_F")" "update-ca-trust" \
	"Fedora under --sysroot: says to run update-ca-trust inside the image"
assert_eq "$(cert_fp "$F/etc/pki/ca-trust/source/anchors/$SLUG.pem")" "$root_fp" \
	"Fedora anchor in /etc/pki/ca-trust/source/anchors"
moat trust uninstall --sysroot "$F" --store system
assert_rc 0 "uninstall from the Fedora sysroot"
assert_no_file "$F/etc/pki/ca-trust/source/anchors/$SLUG.pem" "Fedora anchor removed"
A=$T/arch
mkdir -p "$A/etc/ca-certificates/trust-source/anchors"
moat trust install --sysroot "$A" --store system
assert_rc 0 "install into an Arch sysroot"
assert_contains "$OUT" "arch" "the Arch layout is detected"
assert_eq "$(cert_fp "$A/etc/ca-certificates/trust-source/anchors/$SLUG.crt")" "$root_fp" \
	"Arch anchor in /etc/ca-certificates/trust-source/anchors"
mkdir -p "$T/empty-root"
moat trust install --sysroot "$T/empty-root" --store system
assert_error_shape "no known layout: one error"
assert_contains "$OUT" "no known system trust store" "no known layout: says so"

# ---------------------------------------------------------------- NSS
DB=$T/nssdb
mkdir -p "$DB"
assert_ok "certutil -N makes an NSS database" certutil -N --empty-password -d "sql:$DB"
moat trust install --store nss --nssdb "$DB"
assert_rc 0 "install into an NSS database"
assert_eq "$(nss_count "$DB")" 1 "certutil -L finds the root under the CA's name"
assert_eq "$(nss_flags "$DB")" "C,," "trust bits C,, (trusted CA for TLS servers)"
assert_eq "$(certutil -L -d "sql:$DB" -n "$NICK" | openssl x509 -noout -fingerprint -sha256 2>/dev/null | wc -l)" 0 \
	"(sanity: certutil's text form is not PEM)"
certutil -L -d "sql:$DB" -n "$NICK" -a >"$T/nss-out.pem"
assert_eq "$(cert_fp "$T/nss-out.pem")" "$root_fp" "the NSS entry is the root"
moat trust install --store nss --nssdb "$DB"
assert_rc 0 "NSS: install again"
assert_contains "$OUT" "already" "NSS: second install says already"
assert_eq "$(nss_count "$DB")" 1 "NSS: install twice, one entry"
# Trust bits taken away by hand: status says pending, install repairs them.
assert_ok "certutil -M takes the trust bits away" certutil -M -d "sql:$DB" -n "$NICK" -t ",,"
moat trust status --store nss --nssdb "$DB"
assert_rc 1 "status: the root without trust bits is not trusted"
assert_contains "$OUT" "pending" "status: pending (present, trust bits off)"
moat trust install --store nss --nssdb "$DB"
assert_rc 0 "NSS: install repairs the trust bits"
assert_eq "$(nss_flags "$DB")" "C,," "install sets the trust bits again"
moat trust uninstall --store nss --nssdb "$DB"
assert_rc 0 "uninstall from the NSS database"
assert_eq "$(nss_count "$DB")" 0 "the root is gone from the NSS database"

# Firefox profile and Chromium's database, found under HOME.
PROF=$HOME/.mozilla/firefox/abcd1234.default-release
mkdir -p "$PROF" "$HOME/.pki/nssdb"
assert_ok "certutil -N makes a Firefox profile database" certutil -N --empty-password -d "sql:$PROF"
# (moat may have made ~/.pki/nssdb already: Chromium is installed)
if [ ! -e "$HOME/.pki/nssdb/cert9.db" ]; then
	assert_ok "certutil -N makes ~/.pki/nssdb" certutil -N --empty-password -d "sql:$HOME/.pki/nssdb"
fi
moat trust install --store nss --json
assert_rc 0 "install into the user's NSS databases"
assert_eq "$(json_get '",".join(sorted(p["kind"] for p in d["places"] if p["outcome"] == "added"))' <"$OUT_F")" \
	"chromium,firefox" "Firefox profile and ~/.pki/nssdb both found and changed"
assert_eq "$(nss_count "$PROF")" 1 "the Firefox profile has the root"
assert_eq "$(nss_count "$HOME/.pki/nssdb")" 1 "~/.pki/nssdb has the root"
moat trust uninstall --store nss
assert_rc 0 "uninstall from the user's NSS databases"
assert_eq "$(nss_count "$PROF")$(nss_count "$HOME/.pki/nssdb")" 00 "uninstall removes both"

# ---------------------------------------------------------------- Java
J=$T/javaroot
mkdir -p "$J/etc/ssl/certs/java"
assert_ok "keytool makes a cacerts with another entry" keytool -importcert -noprompt \
	-keystore "$J/etc/ssl/certs/java/cacerts" -storepass changeit -alias someone -file "$T/other.pem"
moat trust install --sysroot "$J" --store java
assert_rc 0 "install into a Java cacerts"
keytool -list -keystore "$J/etc/ssl/certs/java/cacerts" -storepass changeit -alias $SLUG \
	>"$T/kt.out" 2>&1
assert_eq "$(sed -n 's/^.*(SHA-256): //p' "$T/kt.out" | tr -d ':' | tr 'A-F' 'a-f')" "$root_fp" \
	"keytool lists the root under alias $SLUG"
moat trust install --sysroot "$J" --store java
assert_rc 0 "Java: install again"
assert_contains "$OUT" "already" "Java: second install says already"
moat trust uninstall --sysroot "$J" --store java
assert_rc 0 "uninstall from the Java cacerts"
run keytool -list -keystore "$J/etc/ssl/certs/java/cacerts" -storepass changeit -alias $SLUG
assert_ne "$RC" 0 "Java: the alias is gone after uninstall"
run keytool -list -keystore "$J/etc/ssl/certs/java/cacerts" -storepass changeit -alias someone
assert_rc 0 "Java: the other entry is still there"

# ---------------------------------------------------------------- conflicts
# Another certificate under moat's name: install refuses and changes nothing
# anywhere, uninstall leaves it alone, --replace replaces it.
cp "$T/other.pem" "$ANCHOR"
moat trust install --sysroot "$D" --store system,nss --nssdb "$DB"
assert_error_shape "foreign certificate with the same name: one error"
assert_contains "$OUT" "another certificate" "the report names the conflict"
assert_contains "$OUT" "--replace" "the report's hint offers --replace"
assert_eq "$(cert_fp "$ANCHOR")" "$other_fp" "the foreign anchor is untouched"
assert_eq "$(nss_count "$DB")" 0 "nothing was installed into NSS either"
moat trust uninstall --sysroot "$D" --store system
assert_rc 0 "uninstall with a foreign anchor in place"
assert_eq "$(cert_fp "$ANCHOR")" "$other_fp" "uninstall leaves the foreign anchor alone"
moat trust install --sysroot "$D" --store system --replace
assert_rc 0 "install --replace"
assert_eq "$(cert_fp "$ANCHOR")" "$root_fp" "--replace put the root in place"
moat trust uninstall --sysroot "$D" --store system
assert_rc 0 "uninstall after --replace"
assert_ok "certutil -A puts another certificate under the name" \
	certutil -A -d "sql:$DB" -n "$NICK" -t "C,," -i "$T/other.pem"
moat trust install --store nss --nssdb "$DB"
assert_error_shape "NSS nickname held by another certificate: one error"
moat trust uninstall --store nss --nssdb "$DB"
assert_rc 0 "NSS uninstall with a foreign certificate under the name"
assert_eq "$(nss_count "$DB")" 1 "NSS uninstall leaves the foreign certificate alone"
assert_ok "certutil -D removes it again" certutil -D -d "sql:$DB" -n "$NICK"

# ---------------------------------------------------------------- missing tool
mkdir -p "$T/nobin"
run env PATH="$T/nobin" "$MOAT" trust install --store nss --nssdb "$DB"
assert_error_shape "certutil missing: one error"
assert_contains "$OUT" "certutil missing" "certutil missing: says so"
assert_contains "$OUT" "libnss3-tools" "certutil missing: names the package"

# ---------------------------------------------------------------- failure half-way
# keytool that reads but cannot write: system and NSS were added first,
# then Java fails; both must be taken back.
mkdir -p "$T/badbin"
REAL_KEYTOOL=$(command -v keytool)
cat >"$T/badbin/keytool" <<SH
#!/bin/sh
case " \$* " in *" -importcert "*) echo "keytool error: injected failure" >&2; exit 1 ;; esac
exec "$REAL_KEYTOOL" "\$@"
SH
chmod +x "$T/badbin/keytool"
cp -a "$J/etc/ssl/certs/java" "$D/etc/ssl/certs/"
run env PATH="$T/badbin:$PATH" "$MOAT" trust install --sysroot "$D" --store all --nssdb "$DB" --json
assert_rc 1 "a failing store fails the install"
assert_eq "$(json_get '" ".join(p["outcome"] for p in d["places"] if p["kind"] in ("debian","nssdb","java"))' <"$OUT_F")" \
	"undone undone failed" "report: system and NSS undone, Java failed"
assert_contains "$(json_get '[p["reason"] for p in d["places"] if p["kind"]=="java"][0]' <"$OUT_F")" \
	"injected failure" "the Java failure names keytool's complaint"
assert_no_file "$ANCHOR" "undone: no anchor file left"
assert_eq "$(root_in "$BUNDLE")" 0 "undone: the root is not in the bundle"
assert_eq "$(nss_count "$DB")" 0 "undone: the root is not in NSS"

# ---------------------------------------------------------------- permissions
# Someone who may not write the store: nothing changes and moat says
# that root is needed (default: skipped with a hint; --store: an error).
not_root
if [ "$(id -u)" -eq 0 ]; then
	cp -a "$MOAT_HOME" "$T/home-ro"
	chmod -R a+rX "$T/home-ro"
	PERM_HOME=$T/home-ro
else
	PERM_HOME=$MOAT_HOME
	chmod 555 "$D/usr/local/share/ca-certificates"
fi
run env MOAT_HOME="$PERM_HOME" HOME="$T/nohome" "${AS_USER[@]}" "$MOAT" trust install \
	--sysroot "$D" --store system
assert_error_shape "no permission on the store: one error"
assert_contains "$OUT" "not writable" "no permission: the report says the store is not writable"
assert_no_file "$ANCHOR" "no permission: nothing installed"
run env MOAT_HOME="$PERM_HOME" HOME="$T/nohome" "${AS_USER[@]}" "$MOAT" trust install \
	--sysroot "$D"
assert_rc 0 "no permission without --store: skipped, not an error"
assert_contains "$OUT" "skipped" "no permission without --store: reported as skipped"
[ "$(id -u)" -ne 0 ] && chmod 755 "$D/usr/local/share/ca-certificates"

# ---------------------------------------------------------------- bad input
run env MOAT_HOME="$T/no-ca" "$MOAT" trust install --sysroot "$D"
assert_error_shape "no CA yet: one error"
assert_contains "$ERR" "ca init" "no CA yet: the hint says moat ca init"
# A damaged root: clear error, nothing installed.
cp -a "$MOAT_HOME" "$T/home-bad"
echo "not a certificate" >"$T/home-bad/ca/root.pem"
run env MOAT_HOME="$T/home-bad" "$MOAT" trust install --sysroot "$D" --store system
assert_error_shape "damaged root.pem: one error"
assert_contains "$ERR" "root.pem" "damaged root.pem: names the file"
assert_no_file "$ANCHOR" "damaged root.pem: nothing installed"
moat trust install --store bogus
assert_rc 2 "unknown store: usage error"
assert_contains "$ERR" "unknown trust store" "unknown store: says so"
moat trust install --sysroot "$T/does-not-exist"
assert_error_shape "missing sysroot: one error"
moat trust status --replace
assert_rc 2 "--replace is only for install"
moat trust install --help
assert_rc 0 "trust install --help"
assert_contains "$OUT" "--sysroot" "help lists --sysroot"
moat help trust status
assert_rc 0 "moat help trust status"
assert_contains "$OUT" "Exit status" "help trust status documents the exit status"

finish
