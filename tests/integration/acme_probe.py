#!/usr/bin/python3
"""acme_probe.py: a raw ACME (RFC 8555) client that sends hand-made requests
to an ACME server and checks, for each case, the HTTP status, the problem
document's Content-Type (application/problem+json) and its type
(urn:ietf:params:acme:error:*).  One line per named check:

    ok NAME[: note]       the server did what RFC 8555 asks
    FAIL NAME: why        it did not (followed by "#   request:" and
                          "#   response:" lines with the exact exchange)
    skip NAME: why        the case does not apply to this server

Exit status 1 if any check failed, 2 on a usage or setup error.

    acme_probe.py --directory URL --ca-bundle FILE --root FILE \
        --http01-port N --domain D [--outside-name NAME] [--ip ADDR]

Names under D (happy.D, fail.D, ...) and --ip must reach the probe's http-01
server on 127.0.0.1:N through the server's validation (its resolver and its
http-01 port); --outside-name is a name the CA must refuse at newOrder.

Against pebble 2.4 (Debian; PEBBLE_WFE_NONCEREJECT=0), t_ca_serve_reject.sh
with CA_SERVE_PEER=pebble, these checks FAIL -- pebble breaks RFC 8555 there,
which proves the checks can fail:
  nonce.head, nonce.get          no Cache-Control: no-store on newNonce (7.2)
  jws.alg_none, jws.hs256        malformed, not badSignatureAlgorithm, and no
                                 "algorithms" list (6.2)
  jws.url_mismatch               malformed 400, not unauthorized (6.4)
  jws.oversized_413              a 256 KiB request is accepted (201)
  acct.tos_not_agreed            agreementRequired (not an RFC 8555 type)
  acct.other_account_url, acct.signer_unchanged
                                 a POST to another account's URL updates the
                                 signer's own account, with 200 (7.3.2)
  acct.deactivated_refused, acct.deactivated_no_order, acct.deactivated_new_account
                                 403 for a deactivated account, not 401 (7.3.6)
  acct.key_change_to_used_key_409, no_5xx
                                 a rollover to another account's key: HTTP 500
  authz.deactivated_order_invalid
                                 an order whose authorization the client
                                 deactivated is "deactivated" (not an order
                                 status; 7.1.6 says invalid)
  finalize.csr_bad_signature, finalize.csr_rsa1024, finalize.csr_p521
                                 a CSR with a broken signature, RSA-1024 and
                                 P-521 keys are accepted and signed
  finalize.csr_extra_name, finalize.csr_other_name
                                 unauthorized, not badCSR (7.4)
  happy.retry_after_processing   a processing order without Retry-After (7.4)
  authz.retry_after_while_validating
                                 nor an authorization being validated (7.5.1)
  finalize.csr_extra_ip          unauthorized, not badCSR
  ident.double_dot, ident.leading_hyphen, ident.label_64, ident.too_many
                                 orders for invalid DNS names and for 1000
                                 names are accepted
  res.unknown_order              a 404 without a problem document
  parse.chunked_body             a request with a chunked body: 400 (HTTP/1.1
                                 servers must take chunked bodies)
  race.finalize_once, race.finalize_certificate_key
                                 (often) two of 10 simultaneous finalizes
                                 accepted, and the certificate is for another
                                 CSR than the one the answer accepted
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa, utils
from cryptography.x509.oid import NameOID

PROB = "urn:ietf:params:acme:error:"
TIMEOUT = 30  # seconds for one HTTP exchange and for one polling loop


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64u_json(o):
    return b64u(json.dumps(o, separators=(",", ":")).encode())


class Key:
    """An ES256 key (P-256): an account key or a certificate key."""

    def __init__(self, k=None):
        self.k = k or ec.generate_private_key(ec.SECP256R1())
        self.alg = "ES256"

    def jwk(self):
        n = self.k.public_key().public_numbers()
        return {"crv": "P-256", "kty": "EC", "x": b64u(n.x.to_bytes(32, "big")),
                "y": b64u(n.y.to_bytes(32, "big"))}

    def thumbprint(self):
        j = json.dumps(self.jwk(), sort_keys=True, separators=(",", ":")).encode()
        return b64u(hashlib.sha256(j).digest())

    def sign(self, data):
        r, s = utils.decode_dss_signature(self.k.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


class Account:
    def __init__(self, key, kid):
        self.key = key
        self.kid = kid


# ------------------------------------------------------------ http-01 server

class Http01(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port):
        self.tokens = {}
        self.hits = []
        super().__init__(("127.0.0.1", port), Http01Handler)

    def handle_error(self, request, client_address):
        pass  # a validator that hangs up in the middle of an answer (the huge one)


class Http01Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        pre = "/.well-known/acme-challenge/"
        self.server.hits.append(self.path)
        tok = self.path[len(pre):] if self.path.startswith(pre) else None
        body = self.server.tokens.get(tok)
        if body is not None and body.startswith("REDIRECT "):
            self.send_response(302)
            self.send_header("Location", body[9:])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if body is None and self.path.startswith("/moved/"):
            body = self.server.tokens.get("moved/" + self.path[7:])
        if body is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        b = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def log_message(self, *a):
        pass


class TlsAlpn:
    """A tls-alpn-01 responder (RFC 8737) on 127.0.0.1:port: for each SNI
    name, the certificate set with put() (ALPN acme-tls/1 always offered)."""

    def __init__(self, port, tmpdir):
        import socket
        import ssl
        self.ssl, self.tmp, self.ctxs = ssl, tmpdir, {}
        self.default = self.context("default.invalid", b"\0" * 32, True)
        self.default.sni_callback = self.pick
        self.sock = socket.create_server(("127.0.0.1", port))
        threading.Thread(target=self.loop, daemon=True).start()

    def context(self, san, digest, critical):
        k = ec.generate_private_key(ec.SECP256R1())
        import datetime
        now = datetime.datetime.now(datetime.timezone.utc)
        nm = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, san)])
        c = (x509.CertificateBuilder().subject_name(nm).issuer_name(nm)
             .public_key(k.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(minutes=5))
             .not_valid_after(now + datetime.timedelta(days=1))
             .add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False)
             .add_extension(x509.UnrecognizedExtension(
                 x509.ObjectIdentifier("1.3.6.1.5.5.7.1.31"), b"\x04\x20" + digest),
                 critical=critical)
             .sign(k, hashes.SHA256()))
        path = os.path.join(self.tmp, "alpn-%s.pem" % b64u(os.urandom(6)))
        with open(path, "wb") as f:
            f.write(k.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
            f.write(c.public_bytes(serialization.Encoding.PEM))
        ctx = self.ssl.SSLContext(self.ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(path)
        ctx.set_alpn_protocols(["acme-tls/1"])
        return ctx

    def put(self, sni, san, keyauth, critical=True):
        self.ctxs[sni] = self.context(san, hashlib.sha256(keyauth.encode()).digest(), critical)

    def pick(self, sslsock, name, ctx):
        if name in self.ctxs:
            sslsock.context = self.ctxs[name]

    def loop(self):
        while True:
            conn, _ = self.sock.accept()
            threading.Thread(target=self.one, args=(conn,), daemon=True).start()

    def one(self, conn):
        try:
            conn.settimeout(10)
            t = self.default.wrap_socket(conn, server_side=True)
            t.close()
        except (OSError, ValueError):
            conn.close()


# ------------------------------------------------------------------- probe

def csr_der(names, key=None, ips=()):
    """A CSR (DER) for names, signed by key (a cryptography private key;
    a new P-256 one by default)."""
    import ipaddress
    key = key or ec.generate_private_key(ec.SECP256R1())
    sans = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(i))
                                                for i in ips]
    b = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, (list(names) + list(ips))[0])]))
    b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


class Probe:
    def __init__(self, a):
        self.a = a
        self.s = requests.Session()
        self.s.trust_env = False
        self.s.verify = a.ca_bundle
        self.nonce = None
        self.n_ok = self.n_fail = self.n_skip = 0
        self.seen = []  # (method, url, status) of every response
        self.posts_without_nonce = []
        self.pending_polls = 0
        self.pending_no_retry_after = []
        self.last = None
        self.http = Http01(a.http01_port)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        r = self.s.get(a.directory, timeout=TIMEOUT)
        self.record("GET", a.directory, r)
        r.raise_for_status()
        self.dir = r.json()

    # ---- reporting

    def result(self, name, good, why="", r=None, note=""):
        if good:
            self.n_ok += 1
            print("ok %s%s" % (name, ": " + note if note else ""))
        else:
            self.n_fail += 1
            print("FAIL %s: %s" % (name, why))
            self.show(r)
        sys.stdout.flush()

    def skip(self, name, why):
        self.n_skip += 1
        print("skip %s: %s" % (name, why))

    def show(self, r):
        if r is None:
            return
        if self.last is not None and self.last[4] is r:
            method, url, prot, payload, _ = self.last
            print("#   request: %s %s protected=%s payload=%s" % (
                method, url, json.dumps(prot), json.dumps(payload)[:300]))
        else:
            print("#   request: %s %s" % (r.request.method, r.request.url))
        hdrs = {k: v for k, v in r.headers.items() if k.lower() in (
            "content-type", "replay-nonce", "location", "retry-after", "cache-control", "link")}
        print("#   response: %d %s %s" % (r.status_code, json.dumps(hdrs),
                                         r.text[:400].replace("\n", " ")))

    # ---- transport

    def record(self, method, url, r):
        self.seen.append((method, url, r.status_code))
        n = r.headers.get("Replay-Nonce")
        if n:
            self.nonce = n
        elif method == "POST" and r.status_code < 300:
            self.posts_without_nonce.append(url)

    def fresh_nonce(self):
        r = self.s.head(self.dir["newNonce"], timeout=TIMEOUT)
        self.record("HEAD", self.dir["newNonce"], r)
        n = r.headers.get("Replay-Nonce")
        if not n:
            raise RuntimeError("newNonce: no Replay-Nonce (HTTP %d)" % r.status_code)
        self.nonce = None
        return n

    def take_nonce(self):
        if self.nonce:
            n, self.nonce = self.nonce, None
            return n
        return self.fresh_nonce()

    def jws(self, url, payload, key, kid=None, extra=None, nonce=None, sign=None):
        """A flattened JWS (dict) and its protected header.  payload None is
        POST-as-GET (empty payload); extra overrides/adds header fields (a
        value None removes the field)."""
        prot = {"alg": key.alg, "nonce": nonce or self.take_nonce(), "url": url}
        if kid:
            prot["kid"] = kid
        else:
            prot["jwk"] = key.jwk()
        for k, v in (extra or {}).items():
            if v is None:
                prot.pop(k, None)
            else:
                prot[k] = v
        p64 = b64u_json(prot)
        pl64 = "" if payload is None else b64u_json(payload)
        sig = (sign or key.sign)(("%s.%s" % (p64, pl64)).encode())
        return {"protected": p64, "payload": pl64, "signature": b64u(sig)}, prot

    def post(self, url, payload, key, kid=None, extra=None, body=None, prot=None,
             ctype="application/jose+json", accept=None):
        if body is None:
            obj, prot = self.jws(url, payload, key, kid, extra)
            body = json.dumps(obj)
        headers = {"Content-Type": ctype}
        if accept:
            headers["Accept"] = accept
        r = self.s.post(url, data=body, headers=headers, timeout=TIMEOUT)
        self.record("POST", url, r)
        self.last = ("POST", url, prot, payload, r)
        return r

    def post_acct(self, acct, url, payload):
        return self.post(url, payload, acct.key, acct.kid)

    # ---- expectations

    def expect_problem(self, name, r, statuses, types, extra=None, note=""):
        """r is a problem document with one of the statuses and types;
        extra(doc) returns a reason to fail or None.  Returns the document."""
        why = []
        if r.status_code not in statuses:
            why.append("HTTP %d, want %s" % (r.status_code, "/".join(map(str, statuses))))
        ct = r.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ct != "application/problem+json":
            why.append("Content-Type %r, want application/problem+json" % ct)
        try:
            doc = r.json()
        except ValueError:
            doc = None
        t = doc.get("type") if isinstance(doc, dict) else None
        if t not in [PROB + x for x in types]:
            why.append("type %r, want %s" % (t, " or ".join(types)))
        if isinstance(doc, dict) and isinstance(doc.get("status"), int) and \
                doc["status"] != r.status_code:
            why.append("the problem's status %r is not the HTTP status" % (doc["status"],))
        if extra and isinstance(doc, dict):
            w = extra(doc)
            if w:
                why.append(w)
        if not note and isinstance(t, str):
            note = t[len(PROB):] if t.startswith(PROB) else t
        self.result(name, not why, "; ".join(why), r, note)
        return doc

    def expect_status(self, name, r, statuses, note=""):
        good = r.status_code in statuses
        self.result(name, good, "HTTP %d, want %s" % (
            r.status_code, "/".join(map(str, statuses))), r, note)
        return good

    # ---- ACME steps (raise on a broken happy path)

    def new_account(self, key=None, contact=None):
        key = key or Key()
        payload = {"termsOfServiceAgreed": True}
        if contact:
            payload["contact"] = contact
        r = self.post(self.dir["newAccount"], payload, key)
        if r.status_code != 201 or not r.headers.get("Location"):
            self.show(r)
            raise RuntimeError("newAccount: HTTP %d" % r.status_code)
        return Account(key, r.headers["Location"]), r

    def new_order(self, acct, idents):
        payload = {"identifiers": [{"type": t, "value": v} for t, v in idents]}
        return self.post_acct(acct, self.dir["newOrder"], payload)

    def poll(self, acct, url, done, what, track=False):
        """POST-as-GET url until its status is in done.  track: count the
        answers still pending (a challenge being validated) and those of
        them without Retry-After (RFC 8555 7.5.1)."""
        end = time.time() + TIMEOUT
        while True:
            r = self.post_acct(acct, url, None)
            if r.status_code != 200:
                self.show(r)
                raise RuntimeError("%s: HTTP %d" % (what, r.status_code))
            doc = r.json()
            if doc.get("status") in done or time.time() > end:
                return r, doc
            if track:
                self.pending_polls += 1
                if not r.headers.get("Retry-After"):
                    self.pending_no_retry_after.append(url)
            ra = r.headers.get("Retry-After", "")
            time.sleep(min(float(ra), 2.0) if ra.isdigit() else 0.2)

    def answer_http01(self, acct, authz_url, content=None):
        """Answer the authorization's http-01 challenge (with the right key
        authorization, or content) and poll it to a final state."""
        r = self.post_acct(acct, authz_url, None)
        if r.status_code != 200:
            self.show(r)
            raise RuntimeError("authz: HTTP %d" % r.status_code)
        az = r.json()
        if az.get("status") == "valid":
            return az
        ch = [c for c in az.get("challenges", []) if c.get("type") == "http-01"]
        if not ch:
            raise RuntimeError("authz %s offers no http-01" % authz_url)
        tok = ch[0]["token"]
        self.http.tokens[tok] = content if content is not None else (
            "%s.%s" % (tok, acct.key.thumbprint()))
        r = self.post_acct(acct, ch[0]["url"], {})
        if r.status_code != 200:
            self.show(r)
            raise RuntimeError("challenge: HTTP %d" % r.status_code)
        return self.poll(acct, authz_url, ("valid", "invalid", "deactivated", "expired",
                                           "revoked"), "authz", track=True)[1]

    def ready_order(self, acct, names):
        r = self.new_order(acct, [("dns", n) for n in names])
        if r.status_code != 201:
            self.show(r)
            raise RuntimeError("newOrder %s: HTTP %d" % (names, r.status_code))
        url, order = r.headers["Location"], r.json()
        for az in order["authorizations"]:
            d = self.answer_http01(acct, az)
            if d.get("status") != "valid":
                raise RuntimeError("authz %s: %s %s" % (az, d.get("status"),
                                                        json.dumps(d)[:300]))
        r, order = self.poll(acct, url, ("ready", "invalid", "valid"), "order")
        if order.get("status") != "ready":
            raise RuntimeError("order %s: %s" % (url, order.get("status")))
        return url, order

    def order_still_ready(self, acct, url, names):
        r = self.post_acct(acct, url, None)
        if r.status_code == 200 and r.json().get("status") == "ready":
            return url, r.json()
        return self.ready_order(acct, names)

    # ------------------------------------------------------------- the cases

    def t_nonce(self):
        for method in ("HEAD", "GET"):
            r = self.s.request(method, self.dir["newNonce"], timeout=TIMEOUT)
            self.record(method, self.dir["newNonce"], r)
            why = []
            if r.status_code != (200 if method == "HEAD" else 204):
                why.append("HTTP %d" % r.status_code)
            if not r.headers.get("Replay-Nonce"):
                why.append("no Replay-Nonce")
            cc = [x.strip().lower() for x in r.headers.get("Cache-Control", "").split(",")]
            if "no-store" not in cc:
                why.append("Cache-Control %r, want no-store (RFC 8555 7.2)"
                           % r.headers.get("Cache-Control"))
            self.result("nonce.%s" % method.lower(), not why, "; ".join(why), r)

        # the same request twice: the second one's nonce was used
        key = Key()
        obj, prot = self.jws(self.dir["newAccount"], {"termsOfServiceAgreed": True}, key)
        body = json.dumps(obj)
        r1 = self.post(self.dir["newAccount"], None, key, body=body, prot=prot)
        self.expect_status("nonce.first_use", r1, (201,))
        r2 = self.post(self.dir["newAccount"], None, key, body=body, prot=prot)
        self.expect_problem("nonce.replay", r2, (400,), ("badNonce",),
                            lambda d: None if r2.headers.get("Replay-Nonce")
                            else "no fresh Replay-Nonce in the badNonce response")
        obj, prot = self.jws(self.dir["newAccount"], {"termsOfServiceAgreed": True}, Key(),
                             nonce=b64u(b"not-a-nonce-of-this-server"))
        r = self.post(self.dir["newAccount"], None, key, body=json.dumps(obj), prot=prot)
        self.expect_problem("nonce.unknown", r, (400,), ("badNonce",),
                            lambda d: None if r.headers.get("Replay-Nonce")
                            else "no fresh Replay-Nonce in the badNonce response")
        obj, prot = self.jws(self.dir["newAccount"], {"termsOfServiceAgreed": True}, Key(),
                             extra={"nonce": None})
        r = self.post(self.dir["newAccount"], None, key, body=json.dumps(obj), prot=prot)
        self.expect_problem("nonce.missing", r, (400,), ("badNonce",))

    def t_jws(self):
        url = self.dir["newAccount"]
        pl = {"termsOfServiceAgreed": True}

        k = Key()
        obj, prot = self.jws(url, pl, k, extra={"alg": "none"}, sign=lambda d: b"")
        r = self.post(url, pl, k, body=json.dumps(obj), prot=prot)
        self.expect_problem("jws.alg_none", r, (400,), ("badSignatureAlgorithm",))

        mac = os.urandom(32)
        obj, prot = self.jws(url, pl, k, extra={"alg": "HS256"},
                             sign=lambda d: hmac.new(mac, d, hashlib.sha256).digest())
        r = self.post(url, pl, k, body=json.dumps(obj), prot=prot)

        def has_algorithms(d):
            al = d.get("algorithms")
            if not isinstance(al, list) or not al or "HS256" in al:
                return "algorithms %r: want a list of the accepted ones (RFC 8555 6.2)" % (al,)
            return None
        self.expect_problem("jws.hs256", r, (400,), ("badSignatureAlgorithm",), has_algorithms)

        acct, _ = self.new_account()
        r = self.post(url, pl, acct.key, extra={"kid": acct.kid})
        self.expect_problem("jws.jwk_and_kid", r, (400,), ("malformed",))
        r = self.post(url, pl, acct.key, extra={"jwk": None})
        self.expect_problem("jws.neither_jwk_nor_kid", r, (400,), ("malformed",))

        r = self.post(acct.kid, None, acct.key, acct.kid, extra={"url": self.dir["newOrder"]})
        self.expect_problem("jws.url_mismatch", r, (401, 403), ("unauthorized",))
        r = self.post(acct.kid, None, acct.key, acct.kid, extra={"url": None})
        self.expect_problem("jws.url_missing", r, (400, 401, 403), ("malformed", "unauthorized"))

        obj, prot = self.jws(url, pl, Key())
        general = {"payload": obj["payload"],
                   "signatures": [{"protected": obj["protected"], "signature": obj["signature"]}]}
        r = self.post(url, pl, k, body=json.dumps(general), prot=prot)
        self.expect_problem("jws.general_serialization", r, (400,), ("malformed",))

        obj, prot = self.jws(url, pl, Key())
        compact = "%s.%s.%s" % (obj["protected"], obj["payload"], obj["signature"])
        r = self.post(url, pl, k, body=compact, prot=prot)
        self.expect_problem("jws.compact_serialization", r, (400,), ("malformed",))

        obj, prot = self.jws(url, pl, Key())
        r = self.post(url, pl, k, body=json.dumps(obj), prot=prot, ctype="application/json")
        self.expect_problem("jws.content_type", r, (415,), ("malformed",))

        obj, prot = self.jws(url, pl, Key())
        sig = bytearray(base64.urlsafe_b64decode(obj["signature"] + "=="))
        sig[5] ^= 0x40
        obj["signature"] = b64u(bytes(sig))
        r = self.post(url, pl, k, body=json.dumps(obj), prot=prot)
        self.expect_problem("jws.bad_signature", r, (400, 401, 403), ("malformed", "unauthorized"))

        obj, prot = self.jws(url, {"termsOfServiceAgreed": True,
                                   "contact": ["mailto:%s@example.test" % ("a" * 262144)]}, Key())
        try:
            r = self.post(url, None, k, body=json.dumps(obj), prot=prot)
            self.expect_status("jws.oversized_413", r, (413,))
        except requests.RequestException as e:
            self.result("jws.oversized_413", False, "no HTTP response to a %d-byte body: %s"
                        % (len(json.dumps(obj)), e))

    def t_accounts(self):
        url = self.dir["newAccount"]
        meta = self.dir.get("meta") or {}
        if meta.get("termsOfService"):
            r = self.post(url, {"termsOfServiceAgreed": False}, Key())
            self.expect_problem("acct.tos_not_agreed", r, (400, 403),
                                ("malformed", "userActionRequired"))
        else:
            self.skip("acct.tos_not_agreed", "the directory has no meta.termsOfService")

        r = self.post(url, {"onlyReturnExisting": True}, Key())
        self.expect_problem("acct.only_return_existing_unknown", r, (400,),
                            ("accountDoesNotExist",))

        a, r = self.new_account(contact=["mailto:a@example.test"])
        doc = r.json()
        self.result("acct.created_valid", doc.get("status") == "valid",
                    "status %r" % doc.get("status"), r)
        r = self.post(url, {"termsOfServiceAgreed": True}, a.key)
        self.result("acct.same_key_again", r.status_code == 200 and
                    r.headers.get("Location") == a.kid,
                    "HTTP %d Location %r, want 200 and %s" % (
                        r.status_code, r.headers.get("Location"), a.kid), r)
        r = self.post(url, {"onlyReturnExisting": True}, a.key)
        self.result("acct.only_return_existing", r.status_code == 200 and
                    r.headers.get("Location") == a.kid,
                    "HTTP %d Location %r" % (r.status_code, r.headers.get("Location")), r)
        r = self.post_acct(a, a.kid, None)
        self.result("acct.post_as_get", r.status_code == 200 and
                    r.json().get("status") == "valid", "HTTP %d" % r.status_code, r)
        r = self.post_acct(a, a.kid, {"contact": ["mailto:b@example.test"]})
        self.result("acct.contact_update", r.status_code == 200 and
                    r.json().get("contact") == ["mailto:b@example.test"],
                    "HTTP %d contact %r" % (r.status_code,
                                            r.json().get("contact") if r.status_code == 200
                                            else None), r)
        r = self.post_acct(a, a.kid, None)
        self.result("acct.contact_update_kept", r.status_code == 200 and
                    r.json().get("contact") == ["mailto:b@example.test"],
                    "contact now %r" % (r.json().get("contact"),), r)

        b, _ = self.new_account(contact=["mailto:other@example.test"])
        r = self.post_acct(a, b.kid, {"contact": ["mailto:hijack@example.test"]})
        self.expect_problem("acct.other_account_url", r, (401, 403), ("unauthorized",))
        r = self.post_acct(b, b.kid, None)
        self.result("acct.other_account_unchanged", r.status_code == 200 and
                    r.json().get("contact") == ["mailto:other@example.test"],
                    "the other account's contact is now %r" % (r.json().get("contact"),), r)
        r = self.post_acct(a, a.kid, None)
        self.result("acct.signer_unchanged", r.status_code == 200 and
                    r.json().get("contact") == ["mailto:b@example.test"],
                    "the signer's contact is now %r" % (r.json().get("contact"),), r)

        r = self.post_acct(b, b.kid, {"status": "deactivated"})
        self.result("acct.deactivate", r.status_code == 200 and
                    r.json().get("status") == "deactivated", "HTTP %d %s" % (
                        r.status_code, r.text[:200]), r)
        r = self.post_acct(b, b.kid, None)
        # RFC 8555 7.3.6: "MUST return ... 401 (Unauthorized)"
        self.expect_problem("acct.deactivated_refused", r, (401,), ("unauthorized",))
        r = self.new_order(b, [("dns", "deact." + self.a.domain)])
        self.expect_problem("acct.deactivated_no_order", r, (401,), ("unauthorized",))

        # key rollover (RFC 8555 7.3.5)
        kc = self.dir.get("keyChange")
        new = Key()
        inner, _ = self.jws(kc, {"account": a.kid, "oldKey": a.key.jwk()}, new,
                            extra={"nonce": None}, nonce="x")
        r = self.post_acct(a, kc, inner)
        self.expect_status("acct.key_change", r, (200,))
        old = a.key
        r = self.post(url, {"onlyReturnExisting": True}, old)
        self.expect_problem("acct.old_key_unknown", r, (400,), ("accountDoesNotExist",))
        r = self.post(a.kid, None, old, a.kid)
        self.expect_problem("acct.old_key_kid_refused", r, (400, 401, 403),
                            ("unauthorized", "malformed"))
        a.key = new
        r = self.post_acct(a, a.kid, None)
        self.expect_status("acct.new_key_works", r, (200,))
        r = self.post(url, {"onlyReturnExisting": True}, new)
        self.result("acct.new_key_finds_account", r.status_code == 200 and
                    r.headers.get("Location") == a.kid, "HTTP %d Location %r" % (
                        r.status_code, r.headers.get("Location")), r)
        # a rollover to a key another account has: conflict
        c, _ = self.new_account()
        inner, _ = self.jws(kc, {"account": a.kid, "oldKey": a.key.jwk()}, c.key,
                            extra={"nonce": None}, nonce="x")
        r = self.post_acct(a, kc, inner)
        self.expect_status("acct.key_change_to_used_key_409", r, (409,))
        self.acct = a

    def t_orders(self):
        a = self.acct
        d = self.a.domain
        r = self.new_order(a, [("email", "probe@" + d)])
        self.expect_problem("order.identifier_type", r, (400, 403),
                            ("unsupportedIdentifier", "malformed", "rejectedIdentifier"))
        if self.a.outside_name:
            r = self.new_order(a, [("dns", self.a.outside_name)])
            self.expect_problem("order.outside_permits_at_new_order", r, (400, 403),
                                ("rejectedIdentifier",))
            r = self.new_order(a, [("dns", "in." + d), ("dns", self.a.outside_name)])
            doc = self.expect_problem("order.outside_permits_mixed", r, (400, 403),
                                      ("rejectedIdentifier",))
            sub = doc.get("subproblems") if isinstance(doc, dict) else None
            self.result("order.outside_permits_subproblem",
                        isinstance(sub, list) and any(
                            (s.get("identifier") or {}).get("value") == self.a.outside_name
                            for s in sub if isinstance(s, dict)),
                        "no subproblem for %s: %r" % (self.a.outside_name, sub), r)
        else:
            self.skip("order.outside_permits_at_new_order", "no --outside-name")

        r = self.new_order(a, [("dns", "*.w." + d)])
        if self.expect_status("order.wildcard_created", r, (201,)):
            az = self.post_acct(a, r.json()["authorizations"][0], None).json()
            types = sorted(c.get("type") for c in az.get("challenges", []))
            self.result("order.wildcard_dns01_only", types == ["dns-01"],
                        "challenges %s" % types, self.last[4])
            self.result("order.wildcard_authz_flag", az.get("wildcard") is True and
                        (az.get("identifier") or {}).get("value") == "w." + d,
                        "identifier %r wildcard %r" % (az.get("identifier"), az.get("wildcard")),
                        self.last[4])
            orders_made = [r.headers.get("Location")]
        else:
            orders_made = []

        r = self.new_order(a, [("ip", self.a.ip)])
        if self.expect_status("order.ip_created", r, (201,)):
            orders_made.append(r.headers.get("Location"))
            az = self.post_acct(a, r.json()["authorizations"][0], None).json()
            types = set(c.get("type") for c in az.get("challenges", []))
            self.result("order.ip_challenges", types and types <= {"http-01", "tls-alpn-01"},
                        "challenges %s (RFC 8738 7: no dns-01 for an IP)" % sorted(types),
                        self.last[4])

        r = self.new_order(a, [("dns", "nr." + d)])
        if self.expect_status("order.created", r, (201,)):
            orders_made.append(r.headers.get("Location"))
            o = r.json()
            self.result("order.pending", o.get("status") == "pending",
                        "status %r" % o.get("status"), r)
            ok_dates = "expires" in o
            self.result("order.has_expires", ok_dates, "no expires", r)
            r = self.post_acct(a, o["finalize"], {"csr": b64u(csr_der(["nr." + d]))})
            self.expect_problem("order.finalize_not_ready", r, (403,), ("orderNotReady",))

        # the account's orders list
        r = self.post_acct(a, a.kid, None)
        ourl = r.json().get("orders") if r.status_code == 200 else None
        if not ourl:
            self.result("order.list", False, "the account has no orders URL", r)
        else:
            r = self.post_acct(a, ourl, None)
            try:
                doc = r.json()
            except ValueError:
                doc = None
            lst = doc.get("orders") if isinstance(doc, dict) else None
            self.result("order.list", r.status_code == 200 and isinstance(lst, list) and
                        all(u in lst for u in orders_made),
                        "HTTP %d, want {\"orders\": [...]} with %s" % (
                            r.status_code, orders_made), r)

        # a failed challenge: the authorization (and the order) become invalid
        r = self.new_order(a, [("dns", "fail." + d)])
        if self.expect_status("order.fail_created", r, (201,)):
            ourl, o = r.headers["Location"], r.json()
            az = self.answer_http01(a, o["authorizations"][0], content="wrong.key-authorization")
            self.result("authz.failed_challenge_invalid", az.get("status") == "invalid",
                        "authorization status %r after a wrong key authorization" %
                        az.get("status"), self.last[4])
            ch = [c for c in az.get("challenges", []) if c.get("type") == "http-01"]
            err = (ch[0].get("error") or {}) if ch else {}
            self.result("authz.failed_challenge_error",
                        ch and ch[0].get("status") == "invalid" and
                        str(err.get("type", "")).startswith(PROB),
                        "challenge %s" % json.dumps(ch)[:300], self.last[4])
            r = self.post_acct(a, ourl, None)
            self.result("order.failed_challenge_invalid", r.json().get("status") == "invalid",
                        "order status %r" % r.json().get("status"), r)
            # invalid is final: the right answer and the challenge again change nothing
            if ch:
                tok = ch[0]["token"]
                self.http.tokens[tok] = "%s.%s" % (tok, a.key.thumbprint())
                r = self.post_acct(a, ch[0]["url"], {})
                time.sleep(1)
                azd = self.post_acct(a, o["authorizations"][0], None).json()
                self.result("authz.invalid_is_final", azd.get("status") == "invalid" and
                            r.status_code < 500, "HTTP %d to the challenge, then the "
                            "authorization is %r" % (r.status_code, azd.get("status")), r)

    def t_finalize(self):
        a = self.acct
        names = ["csr." + self.a.domain]
        url, o = self.ready_order(a, names)
        self.result("order.ready", True)

        der = bytearray(csr_der(names))
        der[-1] ^= 0x01  # in the signature
        r = self.post_acct(a, o["finalize"], {"csr": b64u(bytes(der))})
        self.expect_problem("finalize.csr_bad_signature", r, (400,), ("badCSR",))

        url, o = self.order_still_ready(a, url, names)
        r = self.post_acct(a, o["finalize"], {"csr": b64u(csr_der(names + ["extra." +
                                                                          self.a.domain]))})
        self.expect_problem("finalize.csr_extra_name", r, (400, 403), ("badCSR",))
        url, o = self.order_still_ready(a, url, names)
        r = self.post_acct(a, o["finalize"], {"csr": b64u(csr_der(["other." + self.a.domain]))})
        self.expect_problem("finalize.csr_other_name", r, (400, 403), ("badCSR",))

        url, o = self.order_still_ready(a, url, names)
        weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        r = self.post_acct(a, o["finalize"], {"csr": b64u(csr_der(names, weak))})
        self.expect_problem("finalize.csr_rsa1024", r, (400,), ("badCSR",))

        url, o = self.order_still_ready(a, url, names)
        p521 = ec.generate_private_key(ec.SECP521R1())
        r = self.post_acct(a, o["finalize"], {"csr": b64u(csr_der(names, p521))})
        self.expect_problem("finalize.csr_p521", r, (400,), ("badCSR",))

        url, o = self.order_still_ready(a, url, names)
        r = self.post_acct(a, o["finalize"], {"csr": "!!not base64url!!"})
        self.expect_problem("finalize.csr_garbage", r, (400,), ("badCSR", "malformed"))

    def t_happy(self):
        a = self.acct
        name = "happy." + self.a.domain
        url, o = self.ready_order(a, [name])
        ck = ec.generate_private_key(ec.SECP256R1())
        r = self.post_acct(a, o["finalize"], {"csr": b64u(csr_der([name], ck))})
        self.expect_status("happy.finalize", r, (200,))
        st = r.json().get("status") if r.status_code == 200 else None
        if st == "processing":
            self.result("happy.retry_after_processing", bool(r.headers.get("Retry-After")) or
                        bool(self.post_acct(a, url, None).headers.get("Retry-After")),
                        "a processing order answered without Retry-After (RFC 8555 7.4)", r)
        else:
            self.skip("happy.retry_after_processing",
                      "finalize answered %r at once: no processing state to poll" % st)
        r, o = self.poll(a, url, ("valid", "invalid"), "order")
        self.result("happy.order_valid", o.get("status") == "valid" and
                    bool(o.get("certificate")), "order %s" % json.dumps(o)[:300], r)
        if not o.get("certificate"):
            return
        r = self.post(o["certificate"], None, a.key, a.kid,
                      accept="application/pem-certificate-chain")
        ct = r.headers.get("Content-Type", "").split(";")[0].strip().lower()
        self.result("happy.cert_content_type", r.status_code == 200 and
                    ct == "application/pem-certificate-chain",
                    "HTTP %d Content-Type %r" % (r.status_code, ct), r)
        pems = [("-----BEGIN CERTIFICATE-----" + p).strip() + "\n"
                for p in r.text.split("-----BEGIN CERTIFICATE-----")[1:]]
        certs = [x509.load_pem_x509_certificate(p.encode()) for p in pems]
        root = x509.load_pem_x509_certificate(open(self.a.root, "rb").read())
        self.result("happy.chain_without_root", len(certs) >= 2 and all(
            c != root and c.subject != c.issuer for c in certs),
            "%d certificates, subjects %s" % (len(certs),
                                              [c.subject.rfc4514_string() for c in certs]), r)
        with tempfile.TemporaryDirectory() as td:
            leaf, chain = os.path.join(td, "leaf.pem"), os.path.join(td, "chain.pem")
            open(leaf, "w").write(pems[0] if pems else "")
            open(chain, "w").write("".join(pems[1:]))
            p = subprocess.run(["openssl", "verify", "-x509_strict", "-purpose", "sslserver",
                                "-verify_hostname", name, "-CAfile", self.a.root,
                                "-untrusted", chain, leaf], capture_output=True, text=True)
            self.result("happy.openssl_verify", p.returncode == 0,
                        (p.stdout + p.stderr).strip().replace("\n", " | "))
        if not certs:
            return
        leaf_der = certs[0].public_bytes(serialization.Encoding.DER)
        self.result("happy.cert_key_is_csr_key", certs[0].public_key().public_numbers() ==
                    ck.public_key().public_numbers(), "the certificate's key is not the CSR's")

        self.happy_cert = certs[0]
        self.ari(certs[0], "ari.before_revocation", revoked=False)
        rv = self.dir["revokeCert"]
        other, _ = self.new_account()
        r = self.post_acct(other, rv, {"certificate": b64u(leaf_der), "reason": 1})
        self.expect_problem("revoke.by_other_account", r, (401, 403), ("unauthorized",))
        r = self.post_acct(a, rv, {"certificate": b64u(leaf_der), "reason": 1})
        self.expect_status("revoke.by_account_key", r, (200,))
        r = self.post_acct(a, rv, {"certificate": b64u(leaf_der), "reason": 1})
        self.expect_problem("revoke.already_revoked", r, (400,), ("alreadyRevoked",))
        self.ari(certs[0], "ari.after_revocation", revoked=True)

        # a second certificate, revoked with its own key (jwk)
        name2 = "happy2." + self.a.domain
        url, o = self.ready_order(a, [name2])
        k2 = ec.generate_private_key(ec.SECP256R1())
        self.post_acct(a, o["finalize"], {"csr": b64u(csr_der([name2], k2))})
        r, o = self.poll(a, url, ("valid", "invalid"), "order")
        r = self.post_acct(a, o.get("certificate") or url, None)
        if r.status_code != 200 or "BEGIN CERTIFICATE" not in r.text:
            self.result("revoke.by_certificate_key", False, "no second certificate", r)
            return
        der2 = x509.load_pem_x509_certificate(r.text.encode()).public_bytes(
            serialization.Encoding.DER)
        r = self.post(rv, {"certificate": b64u(der2), "reason": 99}, Key(k2))
        self.expect_problem("revoke.bad_reason", r, (400,), ("badRevocationReason",))
        r = self.post(rv, {"certificate": b64u(der2), "reason": 4}, Key(k2))
        self.expect_status("revoke.by_certificate_key", r, (200,))

    def t_more(self):
        """Ownership of orders/authorizations/certificates, which key form
        each resource takes, identifier syntax, and odd but legal requests."""
        a, d = self.acct, self.a.domain
        b, _ = self.new_account()
        url, o = self.ready_order(a, ["own." + d])
        az_url = o["authorizations"][0]
        r = self.post_acct(b, url, None)
        self.expect_problem("own.order_of_other_account", r, (401, 403, 404),
                            ("unauthorized", "malformed"))
        r = self.post_acct(b, az_url, None)
        self.expect_problem("own.authz_of_other_account", r, (401, 403, 404),
                            ("unauthorized", "malformed"))
        r = self.post_acct(b, o["finalize"], {"csr": b64u(csr_der(["own." + d]))})
        self.expect_problem("own.finalize_of_other_account", r, (401, 403, 404),
                            ("unauthorized", "malformed"))
        r = self.post_acct(a, url, None)
        self.result("own.order_still_ready", r.status_code == 200 and
                    r.json().get("status") == "ready", "order %s" % r.text[:200], r)

        # a pending authorization: another account cannot trigger its challenge
        r = self.new_order(a, [("dns", "own2." + d)])
        if self.expect_status("own.order2_created", r, (201,)):
            az2, o2url = r.json()["authorizations"][0], r.headers["Location"]
            azd = self.post_acct(a, az2, None).json()
            ch = [c for c in azd.get("challenges", []) if c.get("type") == "http-01"]
            if ch:
                r = self.post_acct(b, ch[0]["url"], {})
                self.expect_problem("own.challenge_of_other_account", r, (401, 403, 404),
                                    ("unauthorized", "malformed"))
                r = self.post_acct(a, ch[0]["url"], None)
                self.result("own.challenge_untouched", r.status_code == 200 and
                            r.json().get("status") == "pending",
                            "challenge after the other account's POST: %s" % r.text[:200], r)
            # client deactivation of an authorization (RFC 8555 7.5.2)
            r = self.post_acct(a, az2, {"status": "deactivated"})
            self.result("authz.client_deactivate", r.status_code == 200 and
                        r.json().get("status") == "deactivated",
                        "HTTP %d %s" % (r.status_code, r.text[:200]), r)
            r = self.post_acct(a, o2url, None)
            self.result("authz.deactivated_order_invalid", r.status_code == 200 and
                        r.json().get("status") == "invalid",
                        "the order is %r once an authorization is deactivated (7.1.6)"
                        % r.json().get("status"), r)

        # key forms (RFC 8555 6.2): newAccount takes jwk, the rest kid
        r = self.post(self.dir["newOrder"], {"identifiers": [{"type": "dns", "value":
                                                               "jwk." + d}]}, a.key)
        self.expect_problem("keyform.new_order_with_jwk", r, (400, 401, 403),
                            ("malformed", "unauthorized"))
        r = self.post(self.dir["newAccount"], {"termsOfServiceAgreed": True}, a.key, a.kid)
        self.expect_problem("keyform.new_account_with_kid", r, (400,), ("malformed",))
        ghost = a.kid.rstrip("/").rsplit("/", 1)[0] + "/999999999"
        r = self.post(a.kid, None, a.key, ghost)
        self.expect_problem("keyform.unknown_kid", r, (400, 401, 403),
                            ("accountDoesNotExist", "unauthorized"))
        # an ES256 signature in DER form instead of r||s
        obj, prot = self.jws(a.kid, None, a.key, a.kid,
                             sign=lambda m: a.key.k.sign(m, ec.ECDSA(hashes.SHA256())))
        r = self.post(a.kid, None, a.key, body=json.dumps(obj), prot=prot)
        self.expect_problem("jws.es256_der_signature", r, (400, 401, 403),
                            ("malformed", "unauthorized"))
        # ES384 header over a P-256 key
        r = self.post(a.kid, None, a.key, a.kid, extra={"alg": "ES384"})
        self.expect_problem("jws.alg_key_mismatch", r, (400, 401, 403),
                            ("malformed", "badSignatureAlgorithm", "unauthorized"))

        # identifiers
        bad_names = [("empty_list", []),
                     ("double_dot", [("dns", "a..%s" % d)]),
                     ("underscore", [("dns", "a_b.%s" % d)]),
                     ("leading_hyphen", [("dns", "-a.%s" % d)]),
                     ("label_64", [("dns", "%s.%s" % ("a" * 64, d))]),
                     ("ip_as_dns", [("dns", self.a.ip)]),
                     ("bad_ip", [("ip", "127.0.0.256")]),
                     ("wildcard_middle", [("dns", "a.*.%s" % d)]),
                     ("uppercase_unicode", [("dns", "\u00e9t\u00e9.%s" % d)]),
                     ("too_many", [("dns", "n%d.%s" % (i, d)) for i in range(1000)])]
        for tag, idents in bad_names:
            r = self.new_order(a, idents)
            self.expect_problem("ident.%s" % tag, r, (400, 403),
                                ("malformed", "rejectedIdentifier", "unsupportedIdentifier"))
        if self.a.outside_ip:
            r = self.new_order(a, [("ip", self.a.outside_ip)])
            self.expect_problem("ident.ip_outside_permits", r, (400, 403),
                                ("rejectedIdentifier",))
        else:
            self.skip("ident.ip_outside_permits", "no --outside-ip")
        # the same name twice (in two cases): one identifier, or refused; an
        # order the server took must be finalizable with the name once
        r = self.new_order(a, [("dns", "Dup." + d), ("dns", "dup." + d)])
        if r.status_code == 201:
            ids = r.json().get("identifiers", [])
            self.result("ident.duplicates_merged", len(ids) == 1 and
                        ids[0].get("value") == "dup." + d and
                        len(r.json().get("authorizations", [])) == 1,
                        "identifiers %s" % ids, r)
            durl, o = r.headers["Location"], r.json()
            for az in o.get("authorizations", []):
                self.answer_http01(a, az)
            r, o = self.poll(a, durl, ("ready", "invalid"), "order")
            r = self.post_acct(a, o["finalize"], {"csr": b64u(csr_der(["dup." + d]))})
            self.expect_status("ident.duplicates_finalize", r, (200,),
                               "a CSR with the name once")
        else:
            self.expect_problem("ident.duplicates_merged", r, (400,),
                                ("malformed", "rejectedIdentifier"))

        # resources: unknown ones are 404 problems, GET on POST-only ones 405
        r = self.post_acct(a, url.rstrip("/").rsplit("/", 1)[0] + "/999999999", None)
        self.expect_problem("res.unknown_order", r, (404,), ("malformed",))
        r = self.s.get(url, timeout=TIMEOUT)
        self.record("GET", url, r)
        self.expect_status("res.get_on_order_405", r, (405,))
        r = self.s.get(self.dir["newOrder"], timeout=TIMEOUT)
        self.record("GET", self.dir["newOrder"], r)
        self.expect_status("res.get_on_new_order_405", r, (405,))

        # finalize: a CSR with an extra IP SAN, then twice
        url, o = self.order_still_ready(a, url, ["own." + d])
        r = self.post_acct(a, o["finalize"],
                           {"csr": b64u(csr_der(["own." + d], ips=[self.a.ip]))})
        self.expect_problem("finalize.csr_extra_ip", r, (400, 403), ("badCSR",))
        url, o = self.order_still_ready(a, url, ["own." + d])
        r = self.post_acct(a, o["finalize"], {"csr": b64u(csr_der(["own." + d]))})
        if self.expect_status("finalize.good", r, (200,)):
            r, o = self.poll(a, url, ("valid", "invalid"), "order")
            r = self.post_acct(a, o["finalize"], {"csr": b64u(csr_der(["own." + d]))})
            self.expect_problem("finalize.twice", r, (403,), ("orderNotReady",))
            if o.get("certificate"):
                r = self.post_acct(b, o["certificate"], None)
                self.expect_problem("own.cert_of_other_account", r, (401, 403, 404),
                                    ("unauthorized", "malformed"))
                r = self.post_acct(a, o["certificate"], None)
                der = x509.load_pem_x509_certificate(r.text.encode()).public_bytes(
                    serialization.Encoding.DER)
                r = self.post_acct(a, self.dir["revokeCert"],
                                   {"certificate": b64u(der), "reason": 7})
                self.expect_problem("revoke.reason_7_unused", r, (400,),
                                    ("badRevocationReason",))

        # a certificate this CA did not issue
        k = ec.generate_private_key(ec.SECP256R1())
        import datetime
        now = datetime.datetime.now(datetime.timezone.utc)
        nm = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stranger." + d)])
        stranger = (x509.CertificateBuilder().subject_name(nm).issuer_name(nm)
                    .public_key(k.public_key()).serial_number(x509.random_serial_number())
                    .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
                    .sign(k, hashes.SHA256()))
        r = self.post(self.dir["revokeCert"], {"certificate": b64u(stranger.public_bytes(
            serialization.Encoding.DER))}, Key(k))
        self.expect_problem("revoke.foreign_certificate", r, (400, 401, 403, 404),
                            ("malformed", "unauthorized", "notFound"))

        # key rollover edge cases
        kc = self.dir["keyChange"]
        new = Key()
        inner, _ = self.jws(kc, {"account": a.kid, "oldKey": Key().jwk()}, new,
                            extra={"nonce": None}, nonce="x")
        r = self.post_acct(a, kc, inner)
        self.expect_problem("keychange.wrong_old_key", r, (400, 401, 403),
                            ("malformed", "unauthorized"))
        inner, _ = self.jws(kc, {"account": b.kid, "oldKey": a.key.jwk()}, new,
                            extra={"nonce": None}, nonce="x")
        r = self.post_acct(a, kc, inner)
        self.expect_problem("keychange.other_account", r, (400, 401, 403),
                            ("malformed", "unauthorized"))
        inner, _ = self.jws(kc, {"account": a.kid, "oldKey": a.key.jwk()}, new,
                            extra={"nonce": None, "url": self.dir["newOrder"]}, nonce="x")
        r = self.post_acct(a, kc, inner)
        self.expect_problem("keychange.inner_url", r, (400, 401, 403),
                            ("malformed", "unauthorized"))
        r = self.post_acct(a, a.kid, None)
        self.result("keychange.refused_ones_changed_nothing", r.status_code == 200,
                    "the account no longer answers to its key: HTTP %d" % r.status_code, r)

        # a deactivated account's key cannot come back through newAccount
        c, _ = self.new_account()
        self.post_acct(c, c.kid, {"status": "deactivated"})
        r = self.post(self.dir["newAccount"], {"termsOfServiceAgreed": True}, c.key)
        self.expect_problem("acct.deactivated_new_account", r, (401,), ("unauthorized",))

    def issue(self, acct, names, order_extra=None):
        """An order (with extra newOrder fields) through to its certificate:
        (order URL, order, the leaf as a cryptography certificate)."""
        r = self.post_acct(acct, self.dir["newOrder"], dict(
            {"identifiers": [{"type": "dns", "value": n} for n in names]},
            **(order_extra or {})))
        if r.status_code != 201:
            self.show(r)
            raise RuntimeError("newOrder %s: HTTP %d" % (names, r.status_code))
        url = r.headers["Location"]
        for az in r.json()["authorizations"]:
            self.answer_http01(acct, az)
        r, o = self.poll(acct, url, ("ready", "invalid"), "order")
        self.post_acct(acct, o["finalize"], {"csr": b64u(csr_der(names))})
        r, o = self.poll(acct, url, ("valid", "invalid"), "order")
        if not o.get("certificate"):
            raise RuntimeError("order %s: %s" % (url, json.dumps(o)[:300]))
        r = self.post_acct(acct, o["certificate"], None)
        return url, o, x509.load_pem_x509_certificate(r.text.encode())

    def t_profiles(self):
        """Profiles (meta.profiles, invalidProfile) and ARI's replaces."""
        a, d = self.acct, self.a.domain
        prof = (self.dir.get("meta") or {}).get("profiles")
        if not isinstance(prof, dict) or not prof:
            self.skip("profile.listed", "the directory has no meta.profiles")
        else:
            self.result("profile.listed", all(isinstance(v, str) for v in prof.values()),
                        "meta.profiles %r: want names with descriptions" % (prof,))
            r = self.new_order_extra(a, ["p0." + d], {"profile": "no-such-profile"})
            self.expect_problem("profile.unknown", r, (400,), ("invalidProfile",))
            days = {}
            for name in sorted(prof):
                try:
                    _, o, c = self.issue(a, ["p-%s.%s" % (name, d)], {"profile": name})
                except RuntimeError as e:
                    self.result("profile.%s_issues" % name, False, str(e))
                    continue
                days[name] = (c.not_valid_after - c.not_valid_before).total_seconds() / 86400
                self.result("profile.%s_issues" % name, o.get("profile") == name,
                            "the order's profile is %r" % o.get("profile"), None,
                            "%.1f days" % days[name])
            self.result("profile.lifetimes_differ", len(set(round(x) for x in days.values()))
                        == len(days), "lifetimes %s" % days)
        cert = getattr(self, "happy_cert", None)
        if not self.dir.get("renewalInfo") or cert is None:
            self.skip("replaces.accepted", "no renewalInfo in the directory, or no certificate")
            return
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        ser = cert.serial_number.to_bytes((cert.serial_number.bit_length() + 8) // 8, "big")
        cid = b64u(aki.key_identifier) + "." + b64u(ser)
        name = cert.extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)[0]
        other, _ = self.new_account()
        r = self.new_order_extra(other, [name], {"replaces": cid})
        self.expect_problem("replaces.other_accounts_certificate", r, (400, 401, 403),
                            ("unauthorized", "malformed"))
        r = self.new_order_extra(a, [name], {"replaces": "not-a-cert-id"})
        self.expect_problem("replaces.garbage", r, (400,), ("malformed",))
        try:
            url, o, _ = self.issue(a, [name], {"replaces": cid})
            self.result("replaces.accepted", o.get("replaces") == cid,
                        "the order's replaces is %r" % o.get("replaces"))
        except RuntimeError as e:
            self.result("replaces.accepted", False, str(e))
            return
        r = self.new_order_extra(a, [name], {"replaces": cid})
        self.expect_problem("replaces.already_replaced", r, (409,), ("alreadyReplaced",))

    def new_order_extra(self, acct, names, extra):
        return self.post_acct(acct, self.dir["newOrder"], dict(
            {"identifiers": [{"type": "dns", "value": n} for n in names]}, **extra))

    def ari(self, cert, name, revoked):
        """RFC 9773: GET renewalInfo/<certID> gives a suggestedWindow inside
        the validity (in the past once revoked: a SHOULD) and Retry-After."""
        base = self.dir.get("renewalInfo")
        if not base:
            self.skip(name, "the directory has no renewalInfo")
            return
        import datetime
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        ser = cert.serial_number.to_bytes((cert.serial_number.bit_length() + 8) // 8, "big")
        url = base.rstrip("/") + "/" + b64u(aki.key_identifier) + "." + b64u(ser)
        r = self.s.get(url, timeout=TIMEOUT)
        self.record("GET", url, r)
        why = []
        try:
            w = r.json()["suggestedWindow"]
            start = datetime.datetime.fromisoformat(w["start"].replace("Z", "+00:00"))
            end = datetime.datetime.fromisoformat(w["end"].replace("Z", "+00:00"))
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            self.result(name, False, "HTTP %d, no suggestedWindow (%s)" % (r.status_code, e), r)
            return
        nb = cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)
        na = cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)
        now = datetime.datetime.now(datetime.timezone.utc)
        if r.status_code != 200:
            why.append("HTTP %d" % r.status_code)
        if not start < end:
            why.append("start %s not before end %s" % (start, end))
        if revoked and not end <= now + datetime.timedelta(minutes=1):
            why.append("a revoked certificate's window ends %s, in the future (RFC 9773 4.2)"
                       % end)
        if not revoked and not (nb <= start and end <= na and start > now):
            why.append("window %s..%s, validity %s..%s" % (start, end, nb, na))
        if not r.headers.get("Retry-After"):
            why.append("no Retry-After")
        self.result(name, not why, "; ".join(why), r)
        if not revoked:
            bad = base.rstrip("/") + "/" + b64u(aki.key_identifier) + "." + b64u(b"\x01\x02")
            r = self.s.get(bad, timeout=TIMEOUT)
            self.record("GET", bad, r)
            self.expect_problem("ari.unknown_serial", r, (404,), ("malformed",))
            r = self.s.get(base.rstrip("/") + "/not-a-cert-id", timeout=TIMEOUT)
            self.record("GET", base, r)
            self.expect_problem("ari.bad_cert_id", r, (400, 404), ("malformed",))

    def t_race(self):
        """One nonce, 16 requests at once: exactly one may succeed."""
        a = self.acct
        obj, _ = self.jws(a.kid, None, a.key, a.kid)
        out = self.concurrently([(a.kid, json.dumps(obj))] * 16)
        n200 = sum(1 for c in out if c[0] == 200)
        nbad = sum(1 for c in out if c[:2] == (400, PROB + "badNonce"))
        self.result("nonce.race_single_use", n200 == 1 and nbad == 15,
                    "16 concurrent uses of one nonce: %d succeeded, %d badNonce, others %s"
                    % (n200, nbad, [c[:2] for c in out if c[0] not in (200, 400)][:3]))

    def concurrently(self, reqs):
        """POST each (url, body) at the same moment, each on its own
        connection: [(status, problem type or "", json or None, headers)]."""
        go = threading.Barrier(len(reqs))
        out = [None] * len(reqs)

        def one(i, url, body):
            s = requests.Session()
            s.trust_env = False
            s.verify = self.a.ca_bundle
            s.head(self.dir["newNonce"], timeout=TIMEOUT)  # connect first
            go.wait()
            try:
                r = s.post(url, data=body, timeout=TIMEOUT,
                           headers={"Content-Type": "application/jose+json"})
                try:
                    doc = r.json()
                except ValueError:
                    doc = None
                t = doc.get("type", "") if r.status_code >= 400 and isinstance(doc, dict) else ""
                out[i] = (r.status_code, t, doc, r.headers)
            except requests.RequestException as e:
                out[i] = (0, str(e), None, {})
        th = [threading.Thread(target=one, args=(i, u, b)) for i, (u, b) in enumerate(reqs)]
        for t in th:
            t.start()
        for t in th:
            t.join()
        for (u, _), o in zip(reqs, out):
            self.seen.append(("POST", u, o[0]))
        return out

    def t_races(self):
        """The same request from 10 connections at once (distinct nonces)."""
        a, d = self.acct, self.a.domain
        k = Key()
        reqs = []
        for _ in range(10):
            obj, _ = self.jws(self.dir["newAccount"], {"termsOfServiceAgreed": True}, k,
                              nonce=self.fresh_nonce())
            reqs.append((self.dir["newAccount"], json.dumps(obj)))
        out = self.concurrently(reqs)
        locs = set(o[3].get("Location") for o in out)
        st = sorted(o[0] for o in out)
        self.result("race.new_account_same_key", st == [200] * 9 + [201] and len(locs) == 1,
                    "statuses %s, %d distinct Locations" % (st, len(locs)))

        r = self.new_order(a, [("dns", "race-ch." + d)])
        if self.expect_status("race.challenge_order", r, (201,)):
            az = r.json()["authorizations"][0]
            ch = [c for c in self.post_acct(a, az, None).json()["challenges"]
                  if c["type"] == "http-01"][0]
            self.http.tokens[ch["token"]] = "%s.%s" % (ch["token"], a.key.thumbprint())
            reqs = []
            for _ in range(10):
                obj, _ = self.jws(ch["url"], {}, a.key, a.kid, nonce=self.fresh_nonce())
                reqs.append((ch["url"], json.dumps(obj)))
            out = self.concurrently(reqs)
            _, azd = self.poll(a, az, ("valid", "invalid"), "authz")
            self.result("race.challenge_ten_times", all(o[0] == 200 for o in out) and
                        azd.get("status") == "valid",
                        "statuses %s, authorization %s" % (sorted(o[0] for o in out),
                                                           azd.get("status")))

        names = ["race-fin." + d]
        url, o = self.ready_order(a, names)
        keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(10)]
        reqs = []
        for key in keys:
            obj, _ = self.jws(o["finalize"], {"csr": b64u(csr_der(names, key))}, a.key, a.kid,
                              nonce=self.fresh_nonce())
            reqs.append((o["finalize"], json.dumps(obj)))
        out = self.concurrently(reqs)
        n200 = sum(1 for x in out if x[0] == 200)
        nnr = sum(1 for x in out if (x[0], x[1]) == (403, PROB + "orderNotReady"))
        self.result("race.finalize_once", n200 == 1 and nnr == 9,
                    "10 finalizes at once: %d accepted, %d orderNotReady, others %s" % (
                        n200, nnr, [x[:2] for x in out if x[0] not in (200, 403)][:3]))
        r, o = self.poll(a, url, ("valid", "invalid"), "order")
        if o.get("certificate"):
            r = self.post_acct(a, o["certificate"], None)
            c = x509.load_pem_x509_certificate(r.text.encode())
            won = [i for i, x in enumerate(out) if x[0] == 200]
            self.result("race.finalize_certificate_key",
                        len(won) == 1 and c.public_key().public_numbers() ==
                        keys[won[0]].public_key().public_numbers(),
                        "the certificate's key is not the accepted CSR's")
        else:
            self.result("race.finalize_certificate_key", False, "order %s" % o)

    def save(self, path):
        """Before a restart: an account, a pending order, and a request whose
        nonce was used (to replay after the restart)."""
        a, _ = self.new_account()
        r = self.new_order(a, [("dns", "restart." + self.a.domain)])
        self.expect_status("restart.order_before", r, (201,))
        order = r.headers.get("Location", "")
        obj, prot = self.jws(a.kid, None, a.key, a.kid)
        body = json.dumps(obj)
        r = self.post(a.kid, None, a.key, body=body, prot=prot)
        self.expect_status("restart.nonce_used_before", r, (200,))
        st = {"key": a.key.k.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()).decode(),
              "kid": a.kid, "order": order, "body": body}
        with open(path, "w") as f:
            json.dump(st, f)

    def resume(self, st):
        a = Account(Key(serialization.load_pem_private_key(st["key"].encode(), None)),
                    st["kid"])
        r = self.post(a.kid, None, a.key, body=st["body"])
        self.expect_problem("restart.used_nonce_still_refused", r, (400,), ("badNonce",))
        r = self.post_acct(a, a.kid, None)
        self.result("restart.account_kept", r.status_code == 200 and
                    r.json().get("status") == "valid", "HTTP %d" % r.status_code, r)
        r = self.post_acct(a, st["order"], None)
        self.result("restart.order_kept", r.status_code == 200 and
                    r.json().get("status") == "pending", "HTTP %d %s" % (
                        r.status_code, r.text[:200]), r)
        if r.status_code != 200:
            return
        o = r.json()
        for az in o.get("authorizations", []):
            self.answer_http01(a, az)
        r, o = self.poll(a, st["order"], ("ready", "invalid"), "order")
        self.result("restart.order_ready", o.get("status") == "ready", "order %s" % o, r)
        r = self.post_acct(a, o["finalize"], {"csr": b64u(csr_der(["restart." +
                                                                     self.a.domain]))})
        r, o = self.poll(a, st["order"], ("valid", "invalid"), "order")
        self.result("restart.order_completes", o.get("status") == "valid" and
                    bool(o.get("certificate")), "order %s" % json.dumps(o)[:300], r)

    def t_validation(self):
        """http-01 details: a redirect (RFC 8555 8.3: followed), a huge
        answer (invalid, no crash), and an IP identifier (RFC 8738) issued."""
        a, d = self.acct, self.a.domain
        r = self.new_order(a, [("dns", "redir." + d)])
        if self.expect_status("http01.redirect_order", r, (201,)):
            az = r.json()["authorizations"][0]
            ch = [c for c in self.post_acct(a, az, None).json()["challenges"]
                  if c["type"] == "http-01"][0]
            tok = ch["token"]
            self.http.tokens["moved/" + tok] = "%s.%s" % (tok, a.key.thumbprint())
            self.http.tokens[tok] = "REDIRECT /moved/" + tok
            self.post_acct(a, ch["url"], {})
            _, azd = self.poll(a, az, ("valid", "invalid"), "authz")
            self.result("http01.redirect_followed", azd.get("status") == "valid",
                        "authorization %s" % json.dumps(azd)[:300], self.last[4])
        r = self.new_order(a, [("dns", "huge." + d)])
        if self.expect_status("http01.huge_order", r, (201,)):
            azd = self.answer_http01(a, r.json()["authorizations"][0],
                                     content="x" * (4 << 20))
            self.result("http01.huge_answer_invalid", azd.get("status") == "invalid",
                        "a 4 MiB answer: authorization %s" % azd.get("status"), self.last[4])
        r = self.new_order(a, [("ip", self.a.ip)])
        if not self.expect_status("ip.order", r, (201,)):
            return
        url, o = r.headers["Location"], r.json()
        azd = self.answer_http01(a, o["authorizations"][0])
        self.result("ip.http01_valid", azd.get("status") == "valid",
                    "authorization %s" % json.dumps(azd)[:300], self.last[4])
        r, o = self.poll(a, url, ("ready", "invalid"), "order")
        r = self.post_acct(a, o["finalize"], {"csr": b64u(csr_der([], ips=[self.a.ip]))})
        r, o = self.poll(a, url, ("valid", "invalid"), "order")
        if not o.get("certificate"):
            self.result("ip.issued", False, "order %s" % json.dumps(o)[:300], r)
            return
        r = self.post_acct(a, o["certificate"], None)
        c = x509.load_pem_x509_certificate(r.text.encode())
        sans = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        self.result("ip.issued", [str(i) for i in sans.get_values_for_type(x509.IPAddress)] ==
                    [self.a.ip] and not sans.get_values_for_type(x509.DNSName),
                    "SANs %s" % sans, r)

    def t_tlsalpn(self):
        """tls-alpn-01 (RFC 8737) answered by the probe's own responder:
        the right certificate validates; a wrong digest, a non-critical
        acmeIdentifier or another name in the certificate do not."""
        if not self.a.tls_alpn_port:
            self.skip("tlsalpn.valid", "no --tls-alpn-port")
            return
        a, d = self.acct, self.a.domain
        with tempfile.TemporaryDirectory() as td:
            srv = TlsAlpn(self.a.tls_alpn_port, td)
            cases = [("valid", {}, "valid"),
                     ("wrong_digest", {"keyauth": "not.the-key-authorization"}, "invalid"),
                     ("not_critical", {"critical": False}, "invalid"),
                     ("other_name", {"san": "other." + d}, "invalid")]
            for tag, kw, want in cases:
                name = "alpn-%s.%s" % (tag.replace("_", "-"), d)
                r = self.new_order(a, [("dns", name)])
                if not self.expect_status("tlsalpn.%s_order" % tag, r, (201,)):
                    continue
                az = r.json()["authorizations"][0]
                azd = self.post_acct(a, az, None).json()
                ch = [c for c in azd.get("challenges", []) if c["type"] == "tls-alpn-01"]
                if not ch:
                    self.result("tlsalpn.%s" % tag, False, "no tls-alpn-01 challenge offered")
                    continue
                ka = "%s.%s" % (ch[0]["token"], a.key.thumbprint())
                srv.put(name, kw.get("san", name), kw.get("keyauth", ka),
                        kw.get("critical", True))
                self.post_acct(a, ch[0]["url"], {})
                _, azd = self.poll(a, az, ("valid", "invalid"), "authz")
                self.result("tlsalpn.%s" % tag, azd.get("status") == want,
                            "authorization %s, want %s: %s" % (
                                azd.get("status"), want, json.dumps(azd)[:300]),
                            self.last[4])

    def t_rate(self):
        """A server run with --rate-orders N --rate-accounts N (N = --rate-n):
        within N+2 attempts each, 429 rateLimited with Retry-After."""
        n = self.a.rate_n
        acct, _ = self.new_account()
        for what, make in (("orders", lambda i: self.new_order(
                               acct, [("dns", "rate%d.%s" % (i, self.a.domain))])),
                           ("accounts", lambda i: self.post(
                               self.dir["newAccount"], {"termsOfServiceAgreed": True}, Key()))):
            got = None
            for i in range(n + 2):
                r = make(i)
                if r.status_code not in (200, 201):
                    got = r
                    break
            if got is None:
                self.result("rate.%s_limited" % what, False,
                            "%d new %s, none refused (limit %d)" % (n + 2, what, n))
                continue
            self.expect_problem("rate.%s_limited" % what, got, (429,), ("rateLimited",),
                                lambda d: None if got.headers.get("Retry-After", "").isdigit()
                                else "no Retry-After in seconds (RFC 8555 6.6)",
                                note="after %d" % i)

    def t_parse(self):
        """Malformed bodies and headers: each a 4xx problem, never a 5xx."""
        url = self.dir["newAccount"]
        k = Key()

        def raw(name, body, types=("malformed",), statuses=(400,), ctype="application/jose+json"):
            r = self.s.post(url, data=body, headers={"Content-Type": ctype}, timeout=TIMEOUT)
            self.record("POST", url, r)
            self.last = ("POST", url, None, None, r)
            return self.expect_problem(name, r, statuses, types)

        def signed(prot_json, payload_json):
            p64 = b64u(prot_json.encode())
            pl64 = b64u(payload_json.encode())
            return json.dumps({"protected": p64, "payload": pl64,
                               "signature": b64u(k.sign(("%s.%s" % (p64, pl64)).encode()))})

        def prot_json(**extra):
            pr = {"alg": "ES256", "nonce": self.take_nonce(), "url": url, "jwk": k.jwk()}
            pr.update(extra)
            return json.dumps(pr)

        raw("parse.body_not_json", b"{")
        raw("parse.body_json_array", b"[]")
        raw("parse.protected_not_b64", json.dumps({"protected": "!!!", "payload": "",
                                                    "signature": "AA"}))
        raw("parse.protected_not_json", signed("{", '{"termsOfServiceAgreed": true}'))
        raw("parse.payload_array", signed(prot_json(), "[1, 2]"))
        raw("parse.payload_deep_nesting", signed(prot_json(), "[" * 20000 + "]" * 20000))
        # RFC 7515 4.1.11: a critical header parameter the server does not know
        raw("parse.unknown_crit", signed(prot_json(crit=["x-probe"], **{"x-probe": 1}),
                                         '{"termsOfServiceAgreed": true}'))
        # duplicate "alg": the last one counts (RFC 7515 5.2) or it is refused
        pj = prot_json()[:-1] + ', "alg": "none"}'
        raw("parse.duplicate_alg_last_none", signed(pj, '{"termsOfServiceAgreed": true}'),
            types=("malformed", "badSignatureAlgorithm"))
        raw("parse.no_content_type", signed(prot_json(), '{"termsOfServiceAgreed": true}'),
            statuses=(415, 400), ctype="")
        # a good request with a chunked body is taken whole
        body = signed(prot_json(), '{"termsOfServiceAgreed": true}').encode()
        r = self.s.post(url, data=iter([body[:40], body[40:]]), timeout=TIMEOUT,
                        headers={"Content-Type": "application/jose+json"})
        self.record("POST", url, r)
        self.expect_status("parse.chunked_body", r, (201,))

    def eab(self, key, url, kid=None, mac=None, alg="HS256", jwk=None):
        """An externalAccountBinding (RFC 8555 7.3.4) for key."""
        prot = {"alg": alg, "kid": kid or self.a.eab_kid, "url": url}
        p64, pl64 = b64u_json(prot), b64u_json(jwk or key.jwk())
        k = base64.urlsafe_b64decode((mac or self.a.eab_hmac) + "==")
        sig = hmac.new(k, ("%s.%s" % (p64, pl64)).encode(), hashlib.sha256).digest()
        return {"protected": p64, "payload": pl64, "signature": b64u(sig)}

    def t_eab(self):
        """A server run with --require-eab and one key (--eab-kid/--eab-hmac)."""
        url = self.dir["newAccount"]
        meta = self.dir.get("meta") or {}
        self.result("eab.meta_required", meta.get("externalAccountRequired") is True,
                    "meta %s" % meta)
        k = Key()
        r = self.post(url, {"termsOfServiceAgreed": True}, k)
        self.expect_problem("eab.missing", r, (400, 401, 403), ("externalAccountRequired",))
        bad_mac = b64u(os.urandom(32))
        cases = [("wrong_hmac", {"mac": bad_mac}), ("unknown_kid", {"kid": "no-such-kid"}),
                 ("other_key", {"jwk": Key().jwk()}),
                 ("inner_url", {"url": self.dir["newOrder"]}),
                 ("alg_none", {"alg": "none"})]
        for tag, kw in cases:
            u = kw.pop("url", url)
            pl = {"termsOfServiceAgreed": True, "externalAccountBinding": self.eab(k, u, **kw)}
            r = self.post(url, pl, k)
            self.expect_problem("eab.%s" % tag, r, (400, 401, 403),
                                ("unauthorized", "malformed", "badSignatureAlgorithm"))
        pl = {"termsOfServiceAgreed": True, "externalAccountBinding": self.eab(k, url)}
        r = self.post(url, pl, k)
        self.result("eab.bound_account", r.status_code == 201,
                    "HTTP %d %s" % (r.status_code, r.text[:200]), r)
        r = self.post(url, {"onlyReturnExisting": True}, k)
        self.expect_status("eab.account_exists", r, (200,))
        k2 = Key()
        pl = {"termsOfServiceAgreed": True, "externalAccountBinding": self.eab(k2, url)}
        r = self.post(url, pl, k2)
        self.expect_problem("eab.key_used_twice", r, (400, 401, 403),
                            ("unauthorized", "malformed"))

    def t_global(self):
        bad = [x for x in self.seen if x[2] >= 500]
        self.result("no_5xx", not bad, "server errors: %s" % bad[:5])
        self.result("replay_nonce_on_every_post_success", not self.posts_without_nonce,
                    "no Replay-Nonce on: %s" % self.posts_without_nonce[:5])
        if self.a.save:
            return
        if self.pending_polls:
            self.result("authz.retry_after_while_validating", not self.pending_no_retry_after,
                        "%d of %d polls of an authorization being validated had no "
                        "Retry-After: %s" % (len(self.pending_no_retry_after),
                                             self.pending_polls,
                                             self.pending_no_retry_after[:3]))
        else:
            self.skip("authz.retry_after_while_validating",
                      "every validation was over before the first poll")
        self.result("http01_server_used", bool(self.http.hits),
                    "the server never fetched an http-01 token from 127.0.0.1:%d"
                    % self.a.http01_port)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--directory", required=True)
    p.add_argument("--ca-bundle", required=True, help="trust for the ACME server's TLS")
    p.add_argument("--root", required=True, help="the root the issued certificates chain to")
    p.add_argument("--http01-port", type=int, required=True)
    p.add_argument("--tls-alpn-port", type=int, default=0)
    p.add_argument("--domain", required=True)
    p.add_argument("--outside-name", default="")
    p.add_argument("--ip", default="127.0.0.1")
    p.add_argument("--outside-ip", default="", help="an address the CA must refuse")
    p.add_argument("--only", default="", help="comma-separated groups: nonce,jws,...")
    p.add_argument("--rate-n", type=int, default=3, help="with --only rate: the limits")
    p.add_argument("--eab-kid", default="")
    p.add_argument("--eab-hmac", default="", help="with --only eab: a key from moat ca eab add")
    p.add_argument("--nonce-census", type=int, default=0, metavar="N",
                   help="only send N requests with fresh nonces, print how many got badNonce")
    p.add_argument("--save", default="", help="before a restart: make state, write it here")
    p.add_argument("--resume", default="", help="after a restart: go on from this state")
    a = p.parse_args()
    try:
        pr = Probe(a)
    except Exception as e:  # setup: no directory, port taken
        print("FAIL setup: %s" % e)
        return 2
    groups = ["nonce", "jws", "accounts", "orders", "finalize", "happy", "profiles", "more",
              "validation", "tlsalpn", "parse",
              "race", "races"]
    if a.only in ("eab", "rate"):
        try:
            getattr(pr, "t_" + a.only)()
        except Exception as e:  # a broken step
            pr.result(a.only + ".completed", False, "%s: %s" % (type(e).__name__, e))
        print("# %d ok, %d FAIL, %d skip" % (pr.n_ok, pr.n_fail, pr.n_skip))
        return 1 if pr.n_fail else 0
    want = a.only.split(",") if a.only else groups
    if a.nonce_census:
        acct, bad = None, 0
        while acct is None:  # (newAccount itself may get badNonce)
            try:
                acct, _ = pr.new_account()
            except RuntimeError:
                pass
        for _ in range(a.nonce_census):
            # (the nonce of the last answer, as clients do: moat never refuses
            # one from newNonce or from a badNonce answer)
            r = pr.post(acct.kid, None, acct.key, acct.kid)
            if r.status_code == 400 and r.json().get("type") == PROB + "badNonce":
                bad += 1
            elif r.status_code != 200:
                print("FAIL census: HTTP %d %s" % (r.status_code, r.text[:200]))
                return 1
        print("census: %d of %d badNonce" % (bad, a.nonce_census))
        return 0
    if a.save or a.resume:
        try:
            if a.save:
                pr.save(a.save)
            else:
                with open(a.resume) as f:
                    pr.resume(json.load(f))
        except Exception as e:  # a broken step
            pr.result("restart.completed", False, "%s: %s" % (type(e).__name__, e))
        want = []
    for g in groups:
        if g not in want:
            continue
        if g not in ("nonce", "jws", "accounts") and not hasattr(pr, "acct"):
            pr.acct, _ = pr.new_account()
        try:
            getattr(pr, "t_" + g)()
        except Exception as e:  # a broken step: the rest of the group cannot run
            pr.result("%s.completed" % g, False, "%s: %s" % (type(e).__name__, e))
    pr.t_global()
    print("# %d ok, %d FAIL, %d skip" % (pr.n_ok, pr.n_fail, pr.n_skip))
    return 1 if pr.n_fail else 0


if __name__ == "__main__":
    sys.exit(main())
