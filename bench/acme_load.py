#!/usr/bin/python3
"""bench/acme_load.py: a load client for an ACME server (RFC 8555).

One account (ES256), then N orders at once (one thread each), each for one
distinct DNS name, validated with http-01: this script runs the one HTTP
server that answers /.well-known/acme-challenge/TOKEN on --http-addr:--http-port
(the address and port the server under test validates on).  Each order is
finalized with a CSR for a fresh P-256 key and its certificate downloaded
and checked (PEM, the leaf names the identifier).  Polling follows the
server's Retry-After (or --poll seconds without one).

Prints one JSON object: issued, failed, errors (problem types or exception
names, with counts, and one sample message each), bad_nonce_retries,
challenges_served, wall_s (from the first new-order to the last certificate,
the account excluded), client_cpu_s (this process) and per-phase totals
(summed over the orders).  Exit status 1 unless every order got its
certificate.

  acme_load.py --directory URL --ca-bundle PEM --http-port N [--orders 50]
               [--prefix run1] [--domain bench.test] [--timeout 120]

Only Debian's python3-cryptography and python3-requests.
"""
import argparse
import base64
import hashlib
import http.server
import json
import os
import sys
import threading
import time

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

MAX_BODY = 1 << 20
BAD_NONCE = "urn:ietf:params:acme:error:badNonce"


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class AcmeError(Exception):
    def __init__(self, kind, detail):
        super().__init__("%s: %s" % (kind, detail))
        self.kind = kind


class Account:
    """The account key, the nonce pool, and signed POSTs (one requests
    session per thread: requests.Session is not thread-safe)."""

    def __init__(self, directory_url, ca_bundle, timeout):
        self.key = ec.generate_private_key(ec.SECP256R1())
        pub = self.key.public_key().public_numbers()
        self.jwk = {
            "crv": "P-256",
            "kty": "EC",
            "x": b64u(pub.x.to_bytes(32, "big")),
            "y": b64u(pub.y.to_bytes(32, "big")),
        }
        canon = json.dumps(self.jwk, sort_keys=True, separators=(",", ":")).encode()
        self.thumbprint = b64u(hashlib.sha256(canon).digest())
        self.verify = ca_bundle
        self.timeout = timeout
        self.kid = None
        self.nonces = []
        self.lock = threading.Lock()
        self.local = threading.local()
        self.bad_nonce_retries = 0
        self.dir = self.session().get(directory_url, timeout=timeout).json()

    def session(self):
        s = getattr(self.local, "s", None)
        if s is None:
            s = requests.Session()
            # REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE and proxies in the
            # environment would win over s.verify: ignore the environment
            s.trust_env = False
            s.verify = self.verify
            self.local.s = s
        return s

    def _nonce(self):
        with self.lock:
            if self.nonces:
                return self.nonces.pop()
        r = self.session().head(self.dir["newNonce"], timeout=self.timeout)
        nonce = r.headers.get("Replay-Nonce")
        if not nonce:
            raise AcmeError("noNonce", "new-nonce gave no Replay-Nonce (HTTP %d)" % r.status_code)
        return nonce

    def _keep_nonce(self, r):
        nonce = r.headers.get("Replay-Nonce")
        if nonce:
            with self.lock:
                self.nonces.append(nonce)

    def _jws(self, url, payload, nonce):
        protected = {"alg": "ES256", "nonce": nonce, "url": url}
        if self.kid:
            protected["kid"] = self.kid
        else:
            protected["jwk"] = self.jwk
        p64 = b64u(json.dumps(protected).encode())
        b64 = "" if payload is None else b64u(json.dumps(payload).encode())
        der = self.key.sign(("%s.%s" % (p64, b64)).encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        sig = b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
        return json.dumps({"protected": p64, "payload": b64, "signature": sig})

    def post(self, url, payload, accept=None):
        """Signed POST (payload None: POST-as-GET).  Retries badNonce up to
        5 times (RFC 8555 6.5); any other problem raises AcmeError."""
        headers = {"Content-Type": "application/jose+json"}
        if accept:
            headers["Accept"] = accept
        for attempt in range(6):
            body = self._jws(url, payload, self._nonce())
            r = self.session().post(url, data=body, headers=headers, timeout=self.timeout)
            self._keep_nonce(r)
            if len(r.content) > MAX_BODY:
                raise AcmeError("tooLarge", "%d bytes from %s" % (len(r.content), url))
            if r.status_code < 400:
                return r
            kind, detail = "http%d" % r.status_code, r.text[:200]
            if r.headers.get("Content-Type", "").startswith("application/problem+json"):
                try:
                    prob = r.json()
                    kind = prob.get("type", kind).rsplit(":", 1)[-1]
                    detail = prob.get("detail", "")[:200]
                    if prob.get("type") == BAD_NONCE and attempt < 5:
                        with self.lock:
                            self.bad_nonce_retries += 1
                        continue
                except ValueError:
                    pass
            raise AcmeError(kind, "%s (HTTP %d) %s" % (url, r.status_code, detail))
        raise AcmeError("badNonce", "five badNonce in a row")

    def register(self):
        r = self.post(self.dir["newAccount"], {"termsOfServiceAgreed": True})
        self.kid = r.headers["Location"]


class Challenges(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, addr):
        self.tokens = {}
        self.tokens_lock = threading.Lock()
        self.served = 0
        super().__init__(addr, ChallengeHandler)


class ChallengeHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        prefix = "/.well-known/acme-challenge/"
        body = None
        if self.path.startswith(prefix):
            with self.server.tokens_lock:
                body = self.server.tokens.get(self.path[len(prefix):])
                if body is not None:
                    self.server.served += 1
        if body is None:
            self.send_error(404)
            return
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def retry_after(r, default):
    value = r.headers.get("Retry-After", "")
    try:
        return min(max(float(value), 0.0), 10.0)
    except ValueError:
        return default


def poll(acct, url, want, until, interval):
    """POST-as-GET url until its status is in want; AcmeError on invalid or
    when the deadline passes."""
    while True:
        r = acct.post(url, None)
        obj = r.json()
        status = obj.get("status")
        if status in want:
            return obj
        if status == "invalid":
            err = obj.get("error") or {}
            for authz in obj.get("challenges", []):
                err = authz.get("error") or err
            kind = str(err.get("type", "invalid")).rsplit(":", 1)[-1]
            raise AcmeError(kind, "%s invalid: %s" % (url, str(err.get("detail", ""))[:200]))
        if time.monotonic() > until:
            raise AcmeError("timeout", "%s still %s" % (url, status))
        time.sleep(retry_after(r, interval))


def one_order(acct, chals, name, args, phases):
    until = time.monotonic() + args.timeout
    t0 = time.monotonic()
    r = acct.post(acct.dir["newOrder"], {"identifiers": [{"type": "dns", "value": name}]})
    order_url = r.headers["Location"]
    order = r.json()
    t1 = time.monotonic()
    tokens = []
    try:
        for authz_url in order["authorizations"]:
            authz = acct.post(authz_url, None).json()
            if authz.get("status") == "valid":
                continue
            chal = [c for c in authz.get("challenges", []) if c.get("type") == "http-01"]
            if not chal:
                raise AcmeError("noHttp01", authz_url)
            token = chal[0]["token"]
            with chals.tokens_lock:
                chals.tokens[token] = "%s.%s" % (token, acct.thumbprint)
            tokens.append(token)
            acct.post(chal[0]["url"], {})
            poll(acct, authz_url, ("valid",), until, args.poll)
        t2 = time.monotonic()
        order = poll(acct, order_url, ("ready", "valid"), until, args.poll)
    finally:
        with chals.tokens_lock:
            for token in tokens:
                chals.tokens.pop(token, None)
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    t3 = time.monotonic()
    if order["status"] == "ready":
        r = acct.post(order["finalize"], {"csr": b64u(csr.public_bytes(serialization.Encoding.DER))})
        order = r.json()
        if order.get("status") != "valid":
            time.sleep(retry_after(r, args.poll))
            order = poll(acct, order_url, ("valid",), until, args.poll)
    pem = acct.post(order["certificate"], None, accept="application/pem-certificate-chain").content
    t4 = time.monotonic()
    leaf = x509.load_pem_x509_certificate(pem)
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    if name not in sans.get_values_for_type(x509.DNSName):
        raise AcmeError("wrongName", "certificate for %s does not name it" % name)
    if leaf.public_key().public_numbers() != key.public_key().public_numbers():
        raise AcmeError("wrongKey", "certificate for %s has another key" % name)
    with acct.lock:
        phases["new_order"] += t1 - t0
        phases["validate"] += t2 - t1
        phases["order_ready"] += t3 - t2
        phases["finalize_download"] += t4 - t3


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--directory", required=True)
    ap.add_argument("--ca-bundle", required=True, help="PEM the server's TLS certificate chains to")
    ap.add_argument("--http-addr", default="127.0.0.1")
    ap.add_argument("--http-port", type=int, required=True)
    ap.add_argument("--orders", type=int, default=50)
    ap.add_argument("--prefix", default="r%d" % int(time.time()))
    ap.add_argument("--domain", default="bench.test")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per order")
    ap.add_argument("--poll", type=float, default=0.5, help="seconds between polls without Retry-After")
    ap.add_argument("--names", action="store_true", help="print the names and exit")
    args = ap.parse_args()
    names = ["o%d.%s.%s" % (i, args.prefix, args.domain) for i in range(1, args.orders + 1)]
    if args.names:
        print("\n".join(names))
        return 0

    chals = Challenges((args.http_addr, args.http_port))
    threading.Thread(target=chals.serve_forever, daemon=True).start()
    acct = Account(args.directory, args.ca_bundle, args.timeout)
    acct.register()

    results, phases = {}, dict.fromkeys(
        ("new_order", "validate", "order_ready", "finalize_download"), 0.0)

    def run(name):
        try:
            one_order(acct, chals, name, args, phases)
            results[name] = None
        except AcmeError as e:
            results[name] = (e.kind, str(e))
        except Exception as e:  # a broken response is a failed order too
            results[name] = (type(e).__name__, str(e)[:300])

    start = time.monotonic()
    threads = [threading.Thread(target=run, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - start
    chals.shutdown()

    errors, samples = {}, {}
    for name, res in results.items():
        if res is not None:
            errors[res[0]] = errors.get(res[0], 0) + 1
            samples.setdefault(res[0], res[1])
    issued = sum(1 for r in results.values() if r is None)
    print(json.dumps({
        "orders": len(names),
        "issued": issued,
        "failed": len(names) - issued,
        "errors": errors,
        "error_samples": samples,
        "bad_nonce_retries": acct.bad_nonce_retries,
        "challenges_served": chals.served,
        "wall_s": round(wall, 3),
        "client_cpu_s": round(os.times()[0] + os.times()[1], 3),
        "phase_s_total": {k: round(v, 3) for k, v in phases.items()},
    }))
    return 0 if issued == len(names) else 1


if __name__ == "__main__":
    sys.exit(main())
