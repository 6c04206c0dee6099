#!/usr/bin/env bash
# t_bad_input: every kind of bad input gives exit 1, exactly one
# "moat: error:" line (plus an optional "hint:"), and leaves no partial or
# temporary files; usage errors exit 2; help works for every command.
. "$(dirname "$0")/lib.sh"

OUTDIR=$T/out
mkdir -p "$OUTDIR"
WATCH=("$MOAT_HOME" "$OUTDIR")

# expect_fail DESC CMD...: exit 1, one error line, nothing changed on disk.
expect_fail() {
	local desc=$1 before
	shift
	before=$(tree_listing "${WATCH[@]}")
	run "$@"
	assert_error_shape "$desc"
	assert_eq "$(tree_listing "${WATCH[@]}")" "$before" "$desc: no files written or removed"
	assert_eq "$(leftover_tmp "${WATCH[@]}")" "" "$desc: no temporary files"
}

# expect_usage DESC CMD...: exit 2 with one error line, nothing changed on disk.
expect_usage() {
	local desc=$1 before
	shift
	before=$(tree_listing "${WATCH[@]}")
	run "$@"
	assert_rc 2 "$desc: exit 2"
	assert_eq "$(grep -c '^moat: error: ' "$ERR_F")" 1 "$desc: one 'moat: error:' line"
	assert_eq "$(tree_listing "${WATCH[@]}")" "$before" "$desc: no files written or removed"
}

# ================================================================ no CA yet

expect_fail "issue with no CA" "$MOAT" issue x.example.test
assert_match "$ERR" "^hint: .*moat ca init" "issue with no CA: hint says to run 'moat ca init'"
expect_fail "issue with no CA --out DIR" "$MOAT" issue x.example.test --out "$OUTDIR"
expect_fail "ca show with no CA" "$MOAT" ca show
expect_fail "ca list with no CA" "$MOAT" ca list
expect_fail "revoke with no CA" "$MOAT" revoke x.example.test
expect_fail "crl with no CA" "$MOAT" crl --out "$OUTDIR/crl.pem"
expect_fail "trust export with no CA" "$MOAT" trust export --format pem --out "$OUTDIR/root.pem"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/s.key" \
	-subj /CN=s.example.test -out "$T/s.csr" >/dev/null 2>&1
expect_fail "sign with no CA" "$MOAT" sign "$T/s.csr"

# ============================================================ ca init input

expect_fail "ca init --key-type dsa-1024" "$MOAT" ca init --no-passphrase --key-type dsa-1024
expect_fail "ca init --key-type rsa-1024" "$MOAT" ca init --no-passphrase --key-type rsa-1024
expect_fail "ca init --passphrase-file missing" "$MOAT" ca init --passphrase-file "$T/no-such-file"
expect_fail "ca init --permit 'exa mple.com'" "$MOAT" ca init --no-passphrase --permit 'exa mple.com'

need_ca
LIVE=$MOAT_HOME/live

# ================================================================ names

for name in 'exa mple.com' '-foo.com' '1.2.3.4.5' 'foo..com'; do
	expect_fail "issue '$name'" "$MOAT" issue -- "$name"
	expect_fail "issue ok.example.test '$name' --out DIR" "$MOAT" issue --out "$OUTDIR" ok.example.test -- "$name"
	assert_no_file "$LIVE/ok.example.test" "  ... no lineage for the good name either"
	expect_fail "csr '$name' --out DIR" "$MOAT" csr --out "$OUTDIR" -- "$name"
done
assert_contains "$(moat issue -- 'exa mple.com'; echo "$ERR")" "exa mple.com" "the error names the bad name"

# ============================================================ key types

expect_fail "issue --key-type rsa-1024" "$MOAT" issue kt.example.test --key-type rsa-1024
expect_fail "issue --key-type bogus" "$MOAT" issue kt.example.test --key-type bogus
expect_fail "csr --key-type bogus" "$MOAT" csr kt.example.test --key-type bogus --out "$OUTDIR"

# ============================================================ validity

expect_fail "issue --days 826" "$MOAT" issue days.example.test --days 826
expect_fail "issue --days 100000" "$MOAT" issue days.example.test --days 100000
for days in 0 -5 abc; do
	expect_usage "issue --days $days is refused" "$MOAT" issue days.example.test --days "$days"
	assert_contains "$ERR" "--days wants a whole number of days, not \"$days\"" \
		"issue --days $days: the message says why"
	assert_no_file "$LIVE/days.example.test" "issue --days $days: no lineage"
done

# ============================================================ existing lineage

assert_ok "issue exists.example.test" "$MOAT" issue exists.example.test
sums=$(tree_sums "$LIVE/exists.example.test")
expect_fail "issue of an existing lineage" "$MOAT" issue exists.example.test
assert_eq "$(tree_sums "$LIVE/exists.example.test")" "$sums" "  ... existing files unchanged"
expect_fail "issue of an existing lineage with --out DIR" "$MOAT" issue exists.example.test --out "$OUTDIR"

# ============================================================ unwritable --out

printf 'a file, not a directory\n' >"$T/notadir"
WATCH+=("$T/notadir")
expect_fail "issue --out FILE (not a directory)" "$MOAT" issue wr.example.test --out "$T/notadir"
assert_no_file "$LIVE/wr.example.test" "  ... no lineage"
expect_fail "issue --out FILE/sub (under a file)" "$MOAT" issue wr.example.test --out "$T/notadir/sub"
assert_no_file "$LIVE/wr.example.test" "  ... no lineage"
expect_fail "csr --out FILE" "$MOAT" csr wr.example.test --out "$T/notadir"
expect_fail "sign --out FILE" "$MOAT" sign "$T/s.csr" --out "$T/notadir"
assert_no_file "$LIVE/s.example.test" "  ... no lineage"
expect_fail "crl --out FILE/sub" "$MOAT" crl --out "$T/notadir/crl.pem"
expect_fail "trust export --out FILE/sub" "$MOAT" trust export --format pem --out "$T/notadir/root.pem"
# A directory moat may not write to.  Root writes anyway, so as root the
# case runs as nobody (setpriv, as t_trust_install does) on a copy of the
# CA that nobody owns.
not_root
RO_USER=$AS_NAME
RO_HOME=$MOAT_HOME
mkdir -p "$T/rw"
if [ "$(id -u)" -eq 0 ]; then
	RO_HOME=$T/home-nobody
	cp -a "$MOAT_HOME" "$RO_HOME"
	chown -R 65534:65534 "$RO_HOME" "$T/rw"
fi
mkdir -p "$T/ro"
chmod 0555 "$T/ro"
run "${AS_USER[@]}" touch "$T/ro/probe"
assert_rc 1 "(control) $RO_USER cannot write to the read-only dir"
MOAT_HOME=$RO_HOME assert_ok "(control) the same user can issue with --out a writable dir" \
	"${AS_USER[@]}" "$MOAT" issue rw.example.test --out "$T/rw"
WATCH_SAVE=("${WATCH[@]}")
WATCH=("$RO_HOME" "$OUTDIR" "$T/ro")
MOAT_HOME=$RO_HOME expect_fail "issue --out read-only dir" "${AS_USER[@]}" "$MOAT" issue ro.example.test --out "$T/ro"
assert_contains "$ERR" "cannot write $T/ro/" "  ... the message names the directory"
assert_contains "$ERR" "Permission denied" "  ... and says why"
assert_no_file "$RO_HOME/live/ro.example.test" "  ... no lineage"
WATCH=("${WATCH_SAVE[@]}")
chmod 0755 "$T/ro"

# ============================================================ bad CSRs

openssl req -new -newkey rsa:2048 -nodes -keyout "$T/b.key" -subj /CN=badsig.example.test \
	-outform DER -out "$T/good.der" >/dev/null 2>&1
python3 - "$T/good.der" "$T/bad.der" <<'EOF'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[-5] ^= 0x01
open(sys.argv[2], "wb").write(b)
EOF
openssl req -inform DER -in "$T/bad.der" -out "$T/bad.csr" 2>/dev/null
run openssl req -in "$T/bad.csr" -noout -verify
assert_contains "$OUT$ERR" "verify failure" "(control) openssl rejects the flipped CSR"
expect_fail "sign of a CSR with a bad signature" "$MOAT" sign "$T/bad.csr" --out "$OUTDIR"
printf 'not a csr\n' >"$T/junk.csr"
expect_fail "sign of junk" "$MOAT" sign "$T/junk.csr"
expect_fail "sign of a missing file" "$MOAT" sign "$T/no-such.csr"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/o.key" \
	-subj /CN=evil..example -out "$T/badname.csr" >/dev/null 2>&1
expect_fail "sign of a CSR with an invalid CN" "$MOAT" sign "$T/badname.csr"
cp "$LIVE/exists.example.test/cert.pem" "$T/a-cert.pem"
expect_fail "sign of a certificate instead of a CSR" "$MOAT" sign "$T/a-cert.pem"

# ============================================================ inspect / revoke

expect_fail "inspect of a missing file" "$MOAT" inspect "$T/no-such.pem"
expect_fail "revoke of an unknown name" "$MOAT" revoke unknown.example.test
expect_fail "revoke of an unknown serial" "$MOAT" revoke 0123456789ABCDEF0123

# ============================================================ corrupt CA files

# corrupt FILE DESC CMD...: in a copy of the CA, FILE replaced by junk.
corrupt() {
	local file=$1 desc=$2 home=$T/corrupt-$RANDOM
	shift 2
	cp -a "$MOAT_HOME" "$home"
	printf -- '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n' >"$home/ca/$file"
	local saved_home=$MOAT_HOME saved_watch=("${WATCH[@]}")
	MOAT_HOME=$home
	WATCH=("$home" "$OUTDIR")
	expect_fail "$desc" "$@"
	MOAT_HOME=$saved_home
	WATCH=("${saved_watch[@]}")
}
corrupt intermediate.pem "issue with a corrupt intermediate.pem" "$MOAT" issue c1.example.test
corrupt intermediate-key.pem "issue with a corrupt intermediate-key.pem" "$MOAT" issue c2.example.test
corrupt root.pem "ca show with a corrupt root.pem" "$MOAT" ca show
corrupt root.pem "trust export with a corrupt root.pem" "$MOAT" trust export --format der --out "$OUTDIR/r.der"
corrupt ca.db "issue with a corrupt ca.db" "$MOAT" issue c3.example.test
corrupt ca.db "ca list with a corrupt ca.db" "$MOAT" ca list
corrupt intermediate.pem "crl with a corrupt intermediate.pem" "$MOAT" crl

# An empty (truncated) intermediate key.
home=$T/truncated
cp -a "$MOAT_HOME" "$home"
: >"$home/ca/intermediate-key.pem"
WATCH_SAVE=("${WATCH[@]}")
WATCH=("$home" "$OUTDIR")
MOAT_HOME=$home expect_fail "issue with an empty intermediate-key.pem" "$MOAT" issue c4.example.test
WATCH=("${WATCH_SAVE[@]}")

# The intermediate key of another CA.
other=$T/other-home
MOAT_HOME=$other make_ca
home=$T/mismatch
cp -a "$MOAT_HOME" "$home"
cp "$other/ca/intermediate-key.pem" "$home/ca/intermediate-key.pem"
WATCH=("$home" "$OUTDIR")
MOAT_HOME=$home expect_fail "issue with another CA's intermediate key" "$MOAT" issue c5.example.test
WATCH=("${WATCH_SAVE[@]}")

# The intermediate certificate and key of another CA: caught when the CA is
# opened (issuer name / key identifier do not chain to root.pem).
home=$T/foreign-intermediate
cp -a "$MOAT_HOME" "$home"
cp "$other/ca/intermediate.pem" "$other/ca/intermediate-key.pem" "$home/ca/"
WATCH=("$home" "$OUTDIR")
MOAT_HOME=$home expect_fail "issue with another CA's intermediate" "$MOAT" issue c6.example.test
assert_contains "$ERR" "inconsistent" "  ... the message says the CA is inconsistent"
MOAT_HOME=$home expect_fail "ca show with another CA's intermediate" "$MOAT" ca show
WATCH=("${WATCH_SAVE[@]}")

# An intermediate whose signature was tampered with (names and key
# identifiers still chain): `ca show` checks signatures, and `issue`
# refuses because its own chain verification fails, writing nothing.
home=$T/forged-intermediate
cp -a "$MOAT_HOME" "$home"
python3 - "$home/ca/intermediate.pem" <<'PY'
import base64, sys
path = sys.argv[1]
body = "".join(l for l in open(path).read().splitlines() if "-----" not in l)
der = bytearray(base64.b64decode(body))
der[-1] ^= 0x01  # last byte of the signature's s value: still valid DER
b64 = base64.b64encode(bytes(der)).decode()
with open(path, "w") as f:
    f.write("-----BEGIN CERTIFICATE-----\n")
    f.write("".join(b64[i:i + 64] + "\n" for i in range(0, len(b64), 64)))
    f.write("-----END CERTIFICATE-----\n")
PY
run openssl verify -CAfile "$home/ca/root.pem" "$home/ca/intermediate.pem"
assert_rc 2 "openssl agrees the tampered intermediate does not verify"
assert_contains "$OUT$ERR" "certificate signature failure" "  ... because of its signature"
WATCH=("$home" "$OUTDIR")
MOAT_HOME=$home expect_fail "ca show with a tampered intermediate" "$MOAT" ca show
assert_contains "$ERR" "not signed by root.pem" "  ... ca show says the signature is wrong"
MOAT_HOME=$home expect_fail "issue with a tampered intermediate" "$MOAT" issue c7.example.test
assert_contains "$ERR" "does not verify" "  ... issue refuses to hand out an unverifiable chain"
WATCH=("${WATCH_SAVE[@]}")

# ============================================================ wrong passphrase

enc=$T/enc-home
MOAT_CA_PASSPHRASE=right-one MOAT_HOME=$enc run "$MOAT" ca init --encrypt-intermediate
assert_rc 0 "ca init --encrypt-intermediate"
WATCH=("$enc" "$OUTDIR")
MOAT_CA_PASSPHRASE=wrong-one MOAT_HOME=$enc expect_fail "issue with a wrong CA passphrase" \
	"$MOAT" issue pw.example.test
assert_contains_i "$ERR" "passphrase" "  ... the message says 'passphrase'"
printf 'wrong-again\n' >"$T/wrongpass"
MOAT_HOME=$enc expect_fail "issue with a wrong --passphrase-file" \
	"$MOAT" issue pw.example.test --passphrase-file "$T/wrongpass" --out "$OUTDIR"
assert_contains_i "$ERR" "passphrase" "  ... the message says 'passphrase'"
MOAT_CA_PASSPHRASE=wrong-one MOAT_HOME=$enc expect_fail "crl with a wrong CA passphrase" \
	"$MOAT" crl
WATCH=("${WATCH_SAVE[@]}")

# ============================================================ usage errors

expect_usage "unknown command" "$MOAT" frobnicate
expect_usage "unknown option" "$MOAT" issue x.example.test --bogus
expect_usage "unknown ca init option" "$MOAT" ca init --bogus
expect_usage "unknown ca subcommand" "$MOAT" ca frobnicate
expect_usage "unknown trust subcommand" "$MOAT" trust frobnicate
expect_usage "issue without names" "$MOAT" issue
expect_usage "issue --days without a value" "$MOAT" issue x.example.test --days
expect_usage "issue --out without a value" "$MOAT" issue x.example.test --out
expect_usage "ca init --key-type without a value" "$MOAT" ca init --key-type
expect_usage "csr without names" "$MOAT" csr
expect_usage "sign without a CSR" "$MOAT" sign
expect_usage "revoke without an argument" "$MOAT" revoke
expect_usage "inspect without files" "$MOAT" inspect
expect_usage "trust export --format without a value" "$MOAT" trust export --format
expect_usage "help for an unknown command" "$MOAT" help frobnicate
run "$MOAT"
assert_rc 2 "moat without arguments: exit 2"
assert_no_file "$LIVE/x.example.test" "usage errors wrote nothing"

# ============================================================ help

assert_ok "moat --version" "$MOAT" --version
assert_match "$OUT" "^moat [0-9]+\.[0-9]+" "--version prints 'moat X.Y'"
assert_ok "moat --help" "$MOAT" --help
assert_contains "$OUT" "Usage" "--help prints usage on stdout"
assert_ok "moat help" "$MOAT" help
assert_contains "$OUT" "Usage" "help prints usage on stdout"
for cmd in ca "ca init" "ca show" "ca list" issue csr sign revoke crl inspect trust "trust export" \
	"trust install" "trust uninstall" "trust status" "trust share" check fetch ocsp; do
	# shellcheck disable=SC2086 # split "ca init" into two words on purpose
	assert_ok "moat help $cmd" "$MOAT" help $cmd
	assert_contains "$OUT" "Usage" "moat help $cmd prints usage on stdout"
	# shellcheck disable=SC2086
	assert_ok "moat $cmd --help" "$MOAT" $cmd --help
	assert_contains "$OUT" "Usage" "moat $cmd --help prints usage on stdout"
done
run "$MOAT" help issue
assert_contains "$OUT" "--days" "help issue documents --days"
run "$MOAT" help ca init
assert_contains "$OUT" "--permit" "help ca init documents --permit"

assert_eq "$(leftover_tmp "$MOAT_HOME" "$OUTDIR" "$T")" "" "no temporary files anywhere"

finish
