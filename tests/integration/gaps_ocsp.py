#!/usr/bin/python3
"""gaps_ocsp.py: an OCSP responder on loopback whose answers expire soon
and that can be told to fail, for the staple refresh tests.

    gaps_ocsp.py PORT_FILE WORK_DIR INDEX CA RSIGNER RKEY NMIN CONTROL LOG

Listens on 127.0.0.1 and a free port (written to PORT_FILE, atomically,
once listening).  Every OCSP request (POST, or GET with the base64 request
in the path) is answered by

    openssl ocsp -index INDEX -CA CA -rsigner RSIGNER -rkey RKEY
                 -nmin NMIN -reqin REQ -respout RESP

(`openssl ocsp -port` itself binds every address, not loopback), so an
answer is valid for NMIN minutes from now, and the index is read on each
request: revoking with `openssl ca -revoke` counts at once.  Before that,
the CONTROL file is read (a missing file is empty): a line "fail SERIAL"
(hex, any case) or "fail all" makes the responder answer such requests
"503 Service Unavailable" instead; a line "delay SECONDS" makes it wait
that long before it answers anything (a slow responder, or one far away:
the answer's thisUpdate is then later than the moment it was asked).
Every request appends one line to LOG:

    EPOCH_SECONDS SERIAL STATUS

(SERIAL in upper-case hex as `openssl ocsp -req_text` prints it, "?" if the
request cannot be read).
"""
import base64
import http.server
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

PORT_FILE, WORK, INDEX, CA, RSIGNER, RKEY, NMIN, CONTROL, LOG = sys.argv[1:10]
LOCK = threading.Lock()


def serial_of(reqf):
    r = subprocess.run(["openssl", "ocsp", "-reqin", reqf, "-req_text"],
                       stdin=subprocess.DEVNULL, capture_output=True)
    m = re.search(rb"Serial Number: ([0-9A-Fa-f]+)", r.stdout)
    return m.group(1).decode().upper() if m else "?"


def control():
    """The words of each line of the CONTROL file."""
    try:
        with open(CONTROL) as f:
            return [line.split() for line in f.read().split("\n")]
    except OSError:
        return []


def failing(serial):
    return any(len(w) == 2 and w[0] == "fail" and w[1].upper() in ("ALL", serial)
               for w in control())


def delay():
    for w in control():
        if len(w) == 2 and w[0] == "delay":
            return float(w[1])
    return 0.0


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def reply(self, code, body, ctype):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def answer(self, req):
        fd, reqf = tempfile.mkstemp(dir=WORK, suffix=".req")
        with os.fdopen(fd, "wb") as f:
            f.write(req)
        respf = reqf[:-4] + ".resp"
        try:
            time.sleep(delay())
            serial = serial_of(reqf)
            if failing(serial):
                code, body, ctype = 503, b"unavailable\n", "text/plain"
            else:
                r = subprocess.run(["openssl", "ocsp", "-index", INDEX, "-CA", CA,
                                    "-rsigner", RSIGNER, "-rkey", RKEY, "-nmin", NMIN,
                                    "-reqin", reqf, "-respout", respf],
                                   stdin=subprocess.DEVNULL, capture_output=True)
                if r.returncode != 0 or not os.path.exists(respf):
                    sys.stderr.write("openssl ocsp failed: %s\n"
                                     % r.stderr.decode(errors="replace"))
                    code, body, ctype = 400, b"bad OCSP request\n", "text/plain"
                else:
                    with open(respf, "rb") as f:
                        body = f.read()
                    code, ctype = 200, "application/ocsp-response"
            with LOCK, open(LOG, "a") as f:
                f.write("%.3f %s %d\n" % (time.time(), serial, code))
            self.reply(code, body, ctype)
        finally:
            for p in (reqf, respf):
                try:
                    os.unlink(p)
                except OSError:
                    pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n <= 0 or n > 65536:
            return self.reply(400, b"bad OCSP request\n", "text/plain")
        self.answer(self.rfile.read(n))

    def do_GET(self):
        try:
            req = base64.b64decode(urllib.parse.unquote(self.path.lstrip("/")), validate=True)
        except ValueError:
            return self.reply(400, b"bad OCSP request\n", "text/plain")
        self.answer(req)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


srv = Server(("127.0.0.1", 0), Handler)
tmp = PORT_FILE + ".tmp"
with open(tmp, "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(tmp, PORT_FILE)
srv.serve_forever()
