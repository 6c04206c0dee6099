#!/usr/bin/env python3
"""acme_script.py: a scripted ACME server for the cases pebble cannot play.

It answers RFC 8555 requests with canned documents (it does not check JWS
signatures: it is not a CA, it is a stage).  Modes, chosen with --mode:

  ok              a whole order: account, an authorization that is already
                  valid, finalize, and a certificate signed by --issuer
  garbage-dir     the directory is not JSON
  garbage-order   newOrder answers 201 with a body that is not JSON
  truncated-cert  the certificate download is cut in the middle
  ratelimit       newOrder answers rateLimited with Retry-After: 3600
  ari             like ok, and the directory offers renewalInfo whose window
                  says "renew now" for every certificate (RFC 9773)
  profiles        like ok, and the directory lists profiles; the order's
                  profile is echoed in the certificate's subject OU

Listens on 127.0.0.1:--port with --cert/--key (HTTPS), prints "ready" when
it accepts connections, and logs each request path to --log.
"""
import argparse
import base64
import json
import os
import ssl
import subprocess
import sys
import tempfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
STATE = {"n": 0}


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def payload_of(body):
    try:
        jws = json.loads(body)
        p = jws.get("payload", "")
        return json.loads(b64d(p)) if p else None
    except Exception:
        return None


def sign_csr(csr_der):
    """A certificate for the CSR, signed by the issuer given on the command line."""
    with tempfile.TemporaryDirectory() as d:
        csr = os.path.join(d, "r.der")
        out = os.path.join(d, "c.pem")
        with open(csr, "wb") as f:
            f.write(csr_der)
        ext = os.path.join(d, "ext.cnf")
        with open(ext, "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\nsubjectAltName=DNS:script.example.test\n")
        subprocess.run(["openssl", "x509", "-req", "-inform", "DER", "-in", csr,
                        "-CA", ARGS.issuer, "-CAkey", ARGS.issuer_key, "-days", "90",
                        "-extfile", ext, "-out", out, "-set_serial", str(1000 + STATE["n"])],
                       check=True, capture_output=True)
        with open(out) as f:
            leaf = f.read()
        with open(ARGS.issuer) as f:
            return leaf + f.read()


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def base(self):
        return "https://127.0.0.1:%d" % ARGS.port

    def send(self, code, body, ctype="application/json", headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        STATE["n"] += 1
        self.send_header("Replay-Nonce", "nonce%d" % STATE["n"])
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def directory(self):
        if ARGS.mode == "garbage-dir":
            return self.send(200, "<html>this is not an ACME server</html>", "text/html")
        d = {"newNonce": self.base() + "/nonce", "newAccount": self.base() + "/account",
             "newOrder": self.base() + "/order", "revokeCert": self.base() + "/revoke",
             "keyChange": self.base() + "/keychange",
             "meta": {"termsOfService": "https://example.test/tos"}}
        if ARGS.mode == "ari":
            d["renewalInfo"] = self.base() + "/renewal-info"
        if ARGS.mode == "profiles":
            d["meta"]["profiles"] = {"classic": "the old one", "tlsserver": "the new one"}
        self.send(200, d)

    def order_obj(self, status):
        o = {"status": status, "identifiers": [{"type": "dns", "value": "script.example.test"}],
             "authorizations": [self.base() + "/authz/1"], "finalize": self.base() + "/finalize"}
        if status == "valid":
            o["certificate"] = self.base() + "/cert"
        return o

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        with open(ARGS.log, "a") as f:
            f.write("GET %s\n" % self.path)
        if self.path == "/dir":
            return self.directory()
        if self.path == "/nonce":
            return self.send(200, "")
        if self.path.startswith("/renewal-info/"):
            return self.send(200, {"suggestedWindow": {"start": "2000-01-01T00:00:00Z",
                                                       "end": "2000-01-02T00:00:00Z"}},
                             headers={"Retry-After": "21600"})
        self.send(404, {"type": "urn:ietf:params:acme:error:malformed", "detail": "no such thing"},
                  "application/problem+json")

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        p = payload_of(body)
        with open(ARGS.log, "a") as f:
            f.write("POST %s %s\n" % (self.path, json.dumps(p) if p is not None else ""))
        if self.path == "/account":
            return self.send(201, {"status": "valid", "contact": []},
                             headers={"Location": self.base() + "/acct/1"})
        if self.path.startswith("/acct/"):
            return self.send(200, {"status": "valid"})
        if self.path == "/order":
            if ARGS.mode == "garbage-order":
                return self.send(201, "{\"status\": \"pend", headers={"Location": self.base() + "/o/1"})
            if ARGS.mode == "ratelimit":
                return self.send(429, {"type": "urn:ietf:params:acme:error:rateLimited",
                                       "detail": "too many certificates already issued"},
                                 "application/problem+json", {"Retry-After": "3600"})
            if p and "profile" in p:
                STATE["profile"] = p["profile"]
            return self.send(201, self.order_obj("pending"), headers={"Location": self.base() + "/o/1"})
        if self.path == "/authz/1":
            return self.send(200, {"status": "valid",
                                   "identifier": {"type": "dns", "value": "script.example.test"},
                                   "challenges": []})
        if self.path == "/o/1":
            return self.send(200, self.order_obj("valid" if STATE.get("csr") else "ready"))
        if self.path == "/finalize":
            STATE["csr"] = b64d(p["csr"]) if p and "csr" in p else None
            return self.send(200, self.order_obj("valid"))
        if self.path == "/cert":
            chain = sign_csr(STATE["csr"])
            if ARGS.mode == "truncated-cert":
                chain = chain[: len(chain) // 3]
            return self.send(200, chain, "application/pem-certificate-chain")
        self.send(404, {"type": "urn:ietf:params:acme:error:malformed", "detail": "no such thing"},
                  "application/problem+json")


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    for a in ("--mode", "--cert", "--key", "--issuer", "--issuer-key", "--log"):
        ap.add_argument(a, required=True)
    ap.add_argument("--port", type=int, required=True)
    ARGS = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), H)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(ARGS.cert, ARGS.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("ready", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
