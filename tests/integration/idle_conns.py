#!/usr/bin/python3
"""idle_conns.py: open many verified TLS connections and keep them idle.

    idle_conns.py HOST PORT --conns N --cafile CA.pem --servername NAME
                  [--hold S] [--ready-file F] [--concurrency 200]
                  [--handshake-timeout S]

Opens N TLS connections to HOST:PORT, each a complete handshake verified
against CAFILE and NAME (SNI and certificate name), at most --concurrency
(default 200) connecting or handshaking at a time, and then sends nothing.
RLIMIT_NOFILE is first raised to its hard limit; N above what that allows
(less a few descriptors) is refused at once, exit status 2.

When every connection has either been established or failed, the number
established is written to --ready-file (atomically), then the connections
are held idle for --hold seconds (default 0: until SIGTERM or SIGINT), the
whole time watching for the server closing them.  Last, one JSON object on
stdout:

  {"requested", "established", "failed", "closed_by_server", "open_at_end",
   "connect_s":  seconds from the start until all were established/failed,
   "held_s":     seconds they were then held,
   "nofile":     the RLIMIT_NOFILE soft limit in use,
   "errors":     {"ConnectionRefusedError": k, "timeout": j, ...}}

closed_by_server counts established connections the server ended (EOF,
close_notify, reset) at any time.  Exit status 0 when all N were
established, 1 otherwise.

Written with non-blocking sockets and one epoll selector (not asyncio
streams) so that 10,000 connections cost little memory.
"""
import argparse
import errno
import json
import os
import resource
import selectors
import signal
import socket
import ssl
import sys
import time

CONNECTING, HANDSHAKING, OPEN, DONE = range(4)


class Conn:
    __slots__ = ("sock", "state", "deadline", "events")

    def __init__(self):
        self.sock = None
        self.state = CONNECTING
        self.deadline = 0.0
        self.events = 0


class Runner:
    def __init__(self, args, addr, family):
        self.args = args
        self.addr = addr
        self.family = family
        self.sel = selectors.DefaultSelector()
        self.ctx = ssl.create_default_context(cafile=args.cafile)
        self.ctx.set_alpn_protocols(["http/1.1"])
        self.established = 0
        self.failed = 0
        self.closed = 0
        self.in_flight = set()
        self.errors = {}
        self.stop = False

    def error(self, c, what):
        self.errors[what] = self.errors.get(what, 0) + 1
        self.failed += 1
        self.finish(c)

    def finish(self, c):
        if c.sock is not None:
            if c.events:
                self.sel.unregister(c.sock)
            c.sock.close()
        c.sock = None
        c.events = 0
        c.state = DONE
        self.in_flight.discard(c)

    def watch(self, c, events):
        if c.events == events:
            return
        if c.events:
            self.sel.modify(c.sock, events, c)
        else:
            self.sel.register(c.sock, events, c)
        c.events = events

    def start(self):
        c = Conn()
        c.deadline = time.monotonic() + self.args.handshake_timeout
        try:
            c.sock = socket.socket(self.family, socket.SOCK_STREAM)
            c.sock.setblocking(False)
            rc = c.sock.connect_ex(self.addr)
        except OSError as e:
            return self.error(c, errno.errorcode.get(e.errno, type(e).__name__))
        if rc not in (0, errno.EINPROGRESS):
            return self.error(c, errno.errorcode.get(rc, str(rc)))
        self.in_flight.add(c)
        self.watch(c, selectors.EVENT_WRITE)

    def connected(self, c):
        err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            names = {errno.ECONNREFUSED: "ConnectionRefusedError",
                     errno.ECONNRESET: "ConnectionResetError"}
            return self.error(c, names.get(err, errno.errorcode.get(err, str(err))))
        # wrap_socket takes over the descriptor: re-register the new object.
        self.sel.unregister(c.sock)
        c.events = 0
        c.sock = self.ctx.wrap_socket(c.sock, server_hostname=self.args.servername,
                                      do_handshake_on_connect=False)
        c.state = HANDSHAKING
        self.handshake(c)

    def handshake(self, c):
        try:
            c.sock.do_handshake()
        except ssl.SSLWantReadError:
            return self.watch(c, selectors.EVENT_READ)
        except ssl.SSLWantWriteError:
            return self.watch(c, selectors.EVENT_WRITE)
        except ssl.SSLCertVerificationError as e:
            return self.error(c, "certificate: %s" % e.verify_message)
        except ssl.SSLError as e:
            return self.error(c, "tls: %s" % (e.reason or e))
        except OSError as e:
            return self.error(c, type(e).__name__)
        c.state = OPEN
        self.established += 1
        self.in_flight.discard(c)
        self.watch(c, selectors.EVENT_READ)

    def readable(self, c):
        """An open connection became readable: data, a ticket, or the end."""
        try:
            while True:
                if not c.sock.recv(16384):
                    break
        except ssl.SSLWantReadError:
            return            # TLS 1.3 session tickets and the like
        except ssl.SSLWantWriteError:
            return
        except (ssl.SSLError, OSError):
            pass
        self.closed += 1
        self.finish(c)

    def step(self, timeout):
        for key, _ in self.sel.select(timeout):
            c = key.data
            if c.state == CONNECTING:
                self.connected(c)
            elif c.state == HANDSHAKING:
                self.handshake(c)
            elif c.state == OPEN:
                self.readable(c)

    def expire(self):
        now = time.monotonic()
        for c in [c for c in self.in_flight if c.deadline < now]:
            self.error(c, "timeout")

    def run(self):
        args = self.args
        t0 = time.monotonic()
        started = 0
        next_expiry = t0 + 0.5
        while not self.stop and (started < args.conns or self.in_flight):
            while started < args.conns and len(self.in_flight) < args.concurrency:
                self.start()
                started += 1
            self.step(0.2)
            if time.monotonic() >= next_expiry:
                self.expire()
                next_expiry = time.monotonic() + 0.5
        t1 = time.monotonic()
        if args.ready_file and not self.stop:
            tmp = "%s.tmp-%d" % (args.ready_file, os.getpid())
            with open(tmp, "w") as f:
                f.write("%d\n" % self.established)
            os.rename(tmp, args.ready_file)
        print("idle_conns: %d established, %d failed in %.2f s" % (
            self.established, self.failed, t1 - t0), file=sys.stderr, flush=True)
        end = t1 + args.hold if args.hold > 0 else None
        while not self.stop and (end is None or time.monotonic() < end):
            self.step(0.2 if end is None else max(0, min(0.2, end - time.monotonic())))
        t2 = time.monotonic()
        return {
            "requested": args.conns,
            "established": self.established,
            "failed": self.failed,
            "closed_by_server": self.closed,
            "open_at_end": self.established - self.closed,
            "connect_s": round(t1 - t0, 3),
            "held_s": round(t2 - t1, 3),
            "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
            "errors": self.errors,
        }


def main():
    p = argparse.ArgumentParser(
        description="Open many verified TLS connections and hold them idle.")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--conns", type=int, required=True)
    p.add_argument("--cafile", required=True, help="trust only these CAs")
    p.add_argument("--servername", required=True,
                   help="SNI and the name the certificate must have")
    p.add_argument("--hold", type=float, default=0,
                   help="seconds to hold them (default 0: until SIGTERM)")
    p.add_argument("--ready-file", help="gets the established count")
    p.add_argument("--concurrency", type=int, default=200,
                   help="connects + handshakes in flight (default 200)")
    p.add_argument("--handshake-timeout", type=float, default=20,
                   help="seconds per connection to connect and handshake")
    args = p.parse_args()
    if args.conns < 1 or args.concurrency < 1:
        p.error("--conns and --concurrency must be positive")

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if args.conns + 32 > nofile:
        print("idle_conns: %d connections need more than RLIMIT_NOFILE %d allows"
              % (args.conns, nofile), file=sys.stderr)
        return 2
    try:
        ai = socket.getaddrinfo(args.host, args.port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        print("idle_conns: %s: %s" % (args.host, e), file=sys.stderr)
        return 2
    family, _, _, _, addr = ai[0]

    r = Runner(args, addr, family)

    def on_signal(signum, frame):
        r.stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    report = r.run()
    print(json.dumps(report), flush=True)
    return 0 if report["established"] == args.conns else 1


if __name__ == "__main__":
    sys.exit(main())
