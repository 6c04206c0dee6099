#!/usr/bin/env bash
# bench/check.sh: moat check against testssl.sh -S and sslscan on the same
# loopback endpoints (tests/integration/lib_check.sh: nginx, a 3-level
# test PKI, an OCSP responder, a CRL and caIssuers over HTTP), in one run.
#
#   good      full chain, OCSP stapled, OCSP responder and CRL say good
#   leafonly  the intermediate is missing (moat fetches it via caIssuers)
#   revoked   revoked through the OCSP responder
#
# A moat check here is the full check: chain as sent, AIA fetch when
# needed, path to the root, names, dates, keys, the stapled response,
# an OCSP request with nonce, the CRL, TLS 1.0/1.1/1.2 probes, HSTS.
# hyperfine measures wall time; the script prints the ratios and each
# tool's verdict on the chain and revocation, side by side.
#
# Goal: a full check <= 0.3 s wall on loopback and >= 30x faster than
# testssl -S, with the same chain/revocation verdicts.
#
# Environment: MOAT (default build/moat), RUNS (moat, default 20),
# SLOW_RUNS (testssl and sslscan, default 3).
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$ROOT/bench/lib.sh"
MOAT=${MOAT:-$ROOT/build/moat}
export MOAT BUILD=${BUILD:-$ROOT/build}
RUNS=${RUNS:-20}
SLOW_RUNS=${SLOW_RUNS:-3}
# The fixture's helpers (and its temp dir, removed on exit).
. "$ROOT/tests/integration/lib.sh"
. "$ROOT/tests/integration/lib_check.sh"

for t in hyperfine testssl sslscan nginx python3; do
	command -v "$t" >/dev/null 2>&1 || { echo "bench/check.sh: $t is not installed" >&2; exit 1; }
done
check_setup >/dev/null || { echo "bench/check.sh: the fixture did not start" >&2; exit 1; }

url() { printf 'https://%s:%s/' "${CHECK_NAME[$1]}" "${CHECK_PORT[$1]}"; }
moat_cmd() { printf '%q check %s --connect-to 127.0.0.1 --ca %q' "$MOAT" "$(url "$1")" "$CHECK_ROOT"; }
testssl_cmd() {
	# --phone-out: without it testssl does not ask OCSP responders or fetch CRLs
	printf 'testssl --quiet --color 0 --warnings off --phone-out --ip 127.0.0.1 --add-ca %q -S %s' \
		"$CHECK_ROOT" "$(url "$1")"
}
sslscan_cmd() {
	printf 'sslscan --no-colour --sni-name=%s --certinfo 127.0.0.1:%s' "${CHECK_NAME[$1]}" \
		"${CHECK_PORT[$1]}"
}

echo "# moat check vs testssl -S vs sslscan ($(date -u +%F), $(nproc) cores, $(openssl version | cut -d' ' -f1-2))"
echo
cmds=()
for s in good leafonly revokedocsp; do
	m=$(moat_cmd "$s") ts=$(testssl_cmd "$s") sc=$(sslscan_cmd "$s")
	cmds+=("$m" "$ts" "$sc")
	hyperfine -N --warmup 2 --runs "$RUNS" -i --export-json "$T/m-$s.json" "$m" >/dev/null 2>&1
	hyperfine --runs "$SLOW_RUNS" -i --export-json "$T/t-$s.json" "$ts" >/dev/null 2>&1
	hyperfine --runs "$SLOW_RUNS" -i --export-json "$T/s-$s.json" "$sc" >/dev/null 2>&1
	# verdicts
	eval "$m --json" >"$T/m-$s.out" 2>/dev/null
	eval "$ts" >"$T/t-$s.out" 2>&1
	python3 - "$s" "$T/m-$s.json" "$T/t-$s.json" "$T/s-$s.json" "$T/m-$s.out" "$T/t-$s.out" <<'PY'
import json, re, sys
s, mj, tj, sj, mo, to = sys.argv[1:]
mean = lambda f: json.load(open(f))["results"][0]["mean"]
m, t, c = mean(mj), mean(tj), mean(sj)
codes = sorted(f["code"] for f in json.load(open(mo))["targets"][0]["findings"] if f["severity"] != "info")
ts = open(to, errors="replace").read()
chain = re.search(r"Chain of trust\s+(.*)", ts)
ocsp = re.search(r"OCSP URI\s+(.*)", ts)
crl = re.search(r"Certificate Revocation List\s+(.*)", ts)
print(f"| {s} | {m*1000:.0f} ms | {t:.2f} s | {c:.2f} s | {t/m:.0f}x | {c/m:.0f}x | "
      f"{', '.join(codes) or 'no error'} | {chain.group(1).strip() if chain else '?'}; "
      f"OCSP: {ocsp.group(1).strip() if ocsp else '?'}; CRL: {crl.group(1).strip() if crl else '?'} |")
PY
done >"$T/rows"
echo "| endpoint | moat check | testssl -S | sslscan | testssl/moat | sslscan/moat | moat's findings | testssl's chain, OCSP, CRL |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
cat "$T/rows"
echo
bench_print_commands "hyperfine -N --warmup 2 --runs $RUNS '<moat check ...>'" "${cmds[@]}"
