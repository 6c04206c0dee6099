#!/usr/bin/python3
"""slow_webroot.py PORT DIR DELAY: serve DIR on 127.0.0.1:PORT, every answer
DELAY seconds late -- an http-01 answer that is still on its way when the
ACME server is stopped in the middle of validating it (t_ca_serve_acme)."""
import functools
import http.server
import sys
import time


class Slow(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        sys.stderr.write("slow_webroot: asked for %s\n" % self.path)
        sys.stderr.flush()
        time.sleep(float(sys.argv[3]))
        super().do_GET()

    def log_message(self, fmt, *args):
        sys.stderr.write("slow_webroot: " + (fmt % args) + "\n")


handler = functools.partial(Slow, directory=sys.argv[2])
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), handler).serve_forever()
