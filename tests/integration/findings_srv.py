#!/usr/bin/env python3
"""findings_srv.py: the odd network peers of t_check_findings, in one process
on 127.0.0.1 (started by check_more_start_helpers in lib_check.sh).

    findings_srv.py PORTFILE GARBAGE_BODY_FILE

Once every socket is bound, it writes "ROLE PORT" lines to PORTFILE (through
a rename: the file appears complete or not at all) and serves until killed.
The roles:

  garbage  HTTP/1.1: every GET and POST is answered 200 with the bytes of
           GARBAGE_BODY_FILE (Content-Type application/ocsp-response): an
           OCSP responder that sends something that is not an OCSP response.
  plain    HTTP/1.1: every request is answered 200 "plain http" (a plain-HTTP
           port that does not redirect).
  silent   accepts TCP connections and never sends a byte (holds them open).
  syndrop  listen(2) with a backlog of 0, whose accept queue it fills with one
           connection of its own and never accepts: Linux then drops every
           further SYN, so a client's connect() times out (a firewall that
           drops packets, on loopback).  Never probe this port to see whether
           it is up: the probe would hang too.
  dead     bound, never listening: a connection is refused (RST) at once, and
           no other process can bind the port while this one holds it.

Every HTTP request is logged to stderr as "ROLE METHOD PATH USER-AGENT", every
connection the silent peer accepts as "silent accepted".
"""
import http.server
import os
import socket
import sys
import threading

portfile, garbage_file = sys.argv[1], sys.argv[2]
with open(garbage_file, "rb") as f:
    GARBAGE = f.read()


def log(line):
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def handler(role, body, ctype):
    class H(http.server.BaseHTTPRequestHandler):
        server_version = "moat-fixture"
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass  # one line per request, from answer()

        def answer(self):
            n = int(self.headers.get("Content-Length") or 0)
            if 0 < n <= 65536:
                self.rfile.read(n)
            log("%s %s %s %s" % (role, self.command, self.path,
                                 self.headers.get("User-Agent", "-")))
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_HEAD = answer

    return H


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False


def tcp(backlog):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    if backlog is not None:
        s.listen(backlog)
    return s


ports = {}
for role, body, ctype in (("garbage", GARBAGE, "application/ocsp-response"),
                          ("plain", b"plain http\n", "text/plain")):
    srv = Server(("127.0.0.1", 0), handler(role, body, ctype))
    ports[role] = srv.server_address[1]
    threading.Thread(target=srv.serve_forever, daemon=True).start()

silent = tcp(16)
ports["silent"] = silent.getsockname()[1]
held = []


def hold():
    while True:
        c, _ = silent.accept()
        held.append(c)  # never read, never written, never closed
        log("silent accepted")


threading.Thread(target=hold, daemon=True).start()

syndrop = tcp(0)
ports["syndrop"] = syndrop.getsockname()[1]
# The one connection the accept queue holds (its handshake completes at
# once: the queue was empty).  It is never accepted.
filler = socket.create_connection(("127.0.0.1", ports["syndrop"]), timeout=5)

dead = tcp(None)
ports["dead"] = dead.getsockname()[1]

tmp = portfile + ".tmp"
with open(tmp, "w") as f:
    for role in sorted(ports):
        f.write("%s %d\n" % (role, ports[role]))
os.rename(tmp, portfile)
threading.Event().wait()
