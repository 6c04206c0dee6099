#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# bench/ca_serve.sh: the same ACME issuance workload against three servers --
# `moat ca serve`, step-ca (smallstep 0.19, ../shared/peers/step-ca.sh) and
# pebble (PEBBLE_VA_NOSLEEP=1, no nonce rejections): one account, then N
# orders (default 50) for distinct names all at once (N threads), each through
# http-01, finalize (a P-256 CSR) and the certificate download.  Printed as
# Markdown: certificates issued (and verified with openssl against the
# server's root), wall time, certificates per second, and the server's CPU
# time (user + system, from /proc/PID/stat, between the first order and the
# last download) per certificate -- the figure that compares servers, since
# the Python client is often the bottleneck.
#
# Names resolve to 127.0.0.1: through pebble-challtestsrv for moat
# (--dns-resolver) and pebble; through an /etc/hosts bind-mounted in a private
# mount namespace for step-ca only (it uses the system resolver).  step-ca
# validates http-01 on port 80, so the client then answers on 127.0.0.1:80
# (as root); moat and pebble on a free port (--http01-port / httpPort).
#
# Environment:
#   MOAT     binary (default <repo>/build/moat)
#   N        orders at once (default 50)
#   RUNS     runs per server (default 3)
#   SERVERS  default "moat stepca pebble"
#   STEPCA   step-ca.sh (default /work/shared/peers/step-ca.sh); its binary
#            must be built already (`step-ca.sh build`), else that row says so
#   KEEP=1   keep the work dir
#
# It sources the integration tests' lib.sh (temp dir, cleanup by PID, free
# ports), lib_acme.sh (pebble, challtestsrv) and lib_ca_serve.sh (moat ca
# serve), and uses acme_probe.py's JWS and CSR helpers for its client.

set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../tests/integration/lib.sh
. "$ROOT/tests/integration/lib.sh"
# shellcheck source=../tests/integration/lib_acme.sh
. "$IT_DIR/lib_acme.sh"
# shellcheck source=../tests/integration/lib_ca_serve.sh
. "$IT_DIR/lib_ca_serve.sh"
N=${N:-50}
RUNS=${RUNS:-3}
SERVERS=${SERVERS:-moat stepca pebble}
STEPCA=${STEPCA:-/work/shared/peers/step-ca.sh}
if [ -n "${KEEP:-}" ]; then
	export KEEP_TMP=1
fi

die() {
	echo "bench/ca_serve.sh: $*" >&2
	exit 1
}
case $N in
'' | *[!0-9]*) die "N must be a number" ;;
esac

# The client: one account, N orders in N threads; prints one JSON line.
cat >"$T/client.py" <<'EOF'
import json, os, sys, threading, time
sys.path.insert(0, sys.argv[1])
import requests
from acme_probe import Http01, Key, b64u, csr_der
from cryptography.hazmat.primitives import serialization

directory, bundle, port, n, prefix, pid, out = sys.argv[2:9]
port, n, pid = int(port), int(n), int(pid)
http = Http01(port)
threading.Thread(target=http.serve_forever, daemon=True).start()
tick = os.sysconf("SC_CLK_TCK")


def cpu():
    with open("/proc/%d/stat" % pid) as f:
        st = f.read().rsplit(")", 1)[1].split()
    return (int(st[11]) + int(st[12])) / tick


class Client:
    def __init__(self, key, kid=None):
        self.s = requests.Session()
        self.s.trust_env = False
        self.s.verify = bundle
        self.d = self.s.get(directory, timeout=60).json()
        self.key, self.kid, self.nonce = key, kid, None

    def post(self, url, payload):
        for _ in range(5):  # badNonce: again with the fresh nonce
            if not self.nonce:
                self.nonce = self.s.head(self.d["newNonce"], timeout=60).headers["Replay-Nonce"]
            prot = {"alg": "ES256", "nonce": self.nonce, "url": url}
            if self.kid:
                prot["kid"] = self.kid
            else:
                prot["jwk"] = self.key.jwk()
            p64 = b64u(json.dumps(prot).encode())
            pl = "" if payload is None else b64u(json.dumps(payload).encode())
            sig = b64u(self.key.sign(("%s.%s" % (p64, pl)).encode()))
            r = self.s.post(url, json={"protected": p64, "payload": pl, "signature": sig},
                            headers={"Content-Type": "application/jose+json"}, timeout=120)
            self.nonce = r.headers.get("Replay-Nonce")
            if r.status_code == 400 and "badNonce" in r.text:
                continue
            return r
        return r

    def poll(self, url, done):
        end = time.time() + 120
        while time.time() < end:
            r = self.post(url, None)
            if r.status_code != 200 or r.json().get("status") in done:
                return r
            time.sleep(0.1)
        return r


key = Key()
acct = Client(key)
r = acct.post(acct.d["newAccount"], {"termsOfServiceAgreed": True})
kid = r.headers["Location"]
results, errors = [], []


def one(i):
    c = Client(key, kid)
    name = "b%d.%s" % (i, prefix)
    try:
        r = c.post(c.d["newOrder"], {"identifiers": [{"type": "dns", "value": name}]})
        if r.status_code != 201:
            raise RuntimeError("newOrder %d %s" % (r.status_code, r.text[:120]))
        ourl, o = r.headers["Location"], r.json()
        for az in o["authorizations"]:
            a = c.post(az, None).json()
            ch = [x for x in a["challenges"] if x["type"] == "http-01"][0]
            http.tokens[ch["token"]] = "%s.%s" % (ch["token"], key.thumbprint())
            c.post(ch["url"], {})
            r = c.poll(az, ("valid", "invalid"))
            if r.json().get("status") != "valid":
                raise RuntimeError("authz %s" % r.text[:160])
        r = c.poll(ourl, ("ready", "invalid"))
        r = c.post(o["finalize"], {"csr": b64u(csr_der([name]))})
        if r.status_code != 200:
            raise RuntimeError("finalize %d %s" % (r.status_code, r.text[:120]))
        r = c.poll(ourl, ("valid", "invalid"))
        cert = r.json().get("certificate")
        if not cert:
            raise RuntimeError("order %s" % r.text[:160])
        r = c.post(cert, None)
        if r.status_code != 200 or "BEGIN CERTIFICATE" not in r.text:
            raise RuntimeError("certificate %d" % r.status_code)
        results.append((name, r.text))
    except Exception as e:  # counted, and the first few reported
        errors.append("%s: %s" % (name, e))


threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
c0, t0 = cpu(), time.time()
for t in threads:
    t.start()
for t in threads:
    t.join()
wall, used = time.time() - t0, cpu() - c0
for name, pem in results:
    with open(os.path.join(out, name + ".pem"), "w") as f:
        f.write(pem)
print(json.dumps({"issued": len(results), "wall": wall, "cpu": used, "errors": errors[:3],
                  "n_errors": len(errors)}))
EOF

# bench_one LABEL DIRECTORY BUNDLE ROOT HTTP01_PORT PID PREFIX: one run; a
# Markdown row.
bench_one() {
	local label=$1 dir=$2 bundle=$3 root=$4 port=$5 pid=$6 prefix=$7 out res ok=0 f
	out=$T/certs.$prefix
	mkdir -p "$out"
	res=$(/usr/bin/python3 "$T/client.py" "$IT_DIR" "$dir" "$bundle" "$port" "$N" "$prefix" \
		"$pid" "$out") || {
		echo "| $label | client failed | | | | |"
		return
	}
	for f in "$out"/*.pem; do
		[ -e "$f" ] || continue
		if verify_acme_cert "$f" "$root" "$(basename "$f" .pem)" >/dev/null 2>&1; then
			ok=$((ok + 1))
		fi
	done
	/usr/bin/python3 - "$label" "$N" "$ok" "$res" "$T/summary" <<'EOF'
import json, sys
label, n, ok, r = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
per = "%.1f" % (r["cpu"] * 1000 / r["issued"]) if r["issued"] else "-"
if r["issued"]:
    with open(sys.argv[5], "a") as f:
        f.write("%s\t%f\n" % (label, r["cpu"] * 1000 / r["issued"]))
err = "; ".join(e.replace("|", "/")[:100] for e in r["errors"])
print("| %s | %d/%d (%d verify) | %.2f | %.1f | %s | %s |" % (
    label, r["issued"], n, ok, r["wall"], r["issued"] / r["wall"] if r["wall"] else 0, per,
    ("%d errors: %s" % (r["n_errors"], err)) if r["n_errors"] else ""))
EOF
}

start_challtestsrv || die "pebble-challtestsrv did not start"
echo "### ACME issuance: $N orders at once, one account, http-01 ($(date -u +%Y-%m-%d))"
echo
echo "| server | issued | wall s | certs/s | server CPU ms/cert | errors |"
echo "|---|---|---|---|---|---|"
for srv in $SERVERS; do
	case $srv in
	moat)
		CS_PEER=moat
		cs_have_serve || die "$MOAT has no \`moat ca serve\`"
		# shellcheck disable=SC2119 # (no ca init options: a CA without permits)
		_cs_start_moat >/dev/null || die "moat ca serve did not start"
		for r in $(seq 1 "$RUNS"); do
			bench_one "moat ca serve" "$CS_DIRECTORY" "$CS_CA_BUNDLE" "$CS_ROOT" \
				"$CS_HTTP01_PORT" "$CS_PID" "m$r.bench.test"
		done
		cs_stop
		;;
	pebble)
		start_pebble PEBBLE_WFE_NONCEREJECT=0 >/dev/null || die "pebble did not start"
		pebble_roots "$T/pebble-root.pem" || die "no pebble root"
		for r in $(seq 1 "$RUNS"); do
			bench_one "pebble" "$ACME_DIRECTORY" "$ACME_CA_BUNDLE" "$T/pebble-root.pem" \
				"$ACME_HTTP_PORT" "$PEBBLE_PID" "p$r.bench.test"
		done
		stop_pebble
		;;
	stepca)
		if [ ! -x "${STEPCA_CACHE:-/var/tmp/step-ca}/step-ca" ]; then
			echo "| step-ca | not built: run $STEPCA build | | | | |"
			continue
		fi
		if acme_tcp_open 127.0.0.1 80; then
			echo "| step-ca | port 80 is taken (it validates http-01 there) | | | | |"
			continue
		fi
		for r in $(seq 1 "$RUNS"); do
			for i in $(seq 0 $((N - 1))); do
				echo "127.0.0.1 b$i.s$r.bench.test"
			done
		done >"$T/hosts"
		port=$(free_port)
		# shellcheck disable=SC2016 # (expanded by that sh)
		line=$(unshare --mount --propagation private -- sh -c \
			'mount --bind "$0" /etc/hosts && exec bash "$@"' "$T/hosts" \
			"$STEPCA" up "$T/stepca" "$port" 2>"$T/stepca.err") || {
			echo "| step-ca | did not start: $(tail -n 1 "$T/stepca.err") | | | | |"
			continue
		}
		# "pid PID dir URL root PEM"
		read -r _ spid _ surl _ sroot <<<"$line"
		SERVER_PIDS+=("$spid")
		for r in $(seq 1 "$RUNS"); do
			bench_one "step-ca 0.19" "$surl" "$sroot" "$sroot" 80 "$spid" "s$r.bench.test"
		done
		bash "$STEPCA" down "$T/stepca"
		;;
	*) die "unknown server $srv (moat, stepca, pebble)" ;;
	esac
done
echo
# moat's server CPU per certificate against the others' (means over the runs)
if [ -s "$T/summary" ]; then
	/usr/bin/python3 - "$T/summary" <<'EOF'
import sys
per = {}
for line in open(sys.argv[1]):
    k, v = line.rstrip("\n").split("\t")
    per.setdefault(k, []).append(float(v))
mean = {k: sum(v) / len(v) for k, v in per.items()}
m = mean.get("moat ca serve")
for k, v in mean.items():
    if m and k != "moat ca serve":
        print("moat ca serve / %s, server CPU per certificate: %.2fx (%.1f / %.1f ms)"
              % (k, m / v, m, v))
EOF
	echo
fi
echo "Client: Python (requests), $N threads, one connection each; CPU from /proc/PID/stat of"
echo "the server process, between the first order and the last download."
