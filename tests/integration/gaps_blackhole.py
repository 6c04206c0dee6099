#!/usr/bin/python3
"""gaps_blackhole.py: a TCP address on loopback that never answers a connect.

    gaps_blackhole.py READY_FILE [HOST]

Listens on HOST (default 127.0.0.1) and a free port with a backlog of 0 and
never accepts.  It fills its own accept queue with connections of its own
until one more connect gets no answer at all: Linux drops a SYN while the
accept queue of the listener is full, so from then on a connect to HOST:PORT
neither succeeds nor is refused -- it times out, as one to a firewalled or
unreachable host does (a non-routable address cannot be used: the tests
stay on loopback).  Then the port is written to READY_FILE (atomically) and
the process sleeps until it is terminated.  Exit 1 if a connect still
succeeds after 64 fillers.
"""
import os
import select
import signal
import socket
import sys


def probe(host, port, wait_s):
    """True when a connect to host:port gets no answer within wait_s."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.connect((host, port))
    except BlockingIOError:
        pass
    _, w, _ = select.select([], [s], [], wait_s)
    if not w:
        return None, s          # still connecting: a black hole
    return s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR), s


def main():
    ready = sys.argv[1]
    host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    lsock = socket.socket(fam, socket.SOCK_STREAM)
    lsock.bind((host, 0))
    lsock.listen(0)
    port = lsock.getsockname()[1]
    held = []
    for _ in range(64):
        err, s = probe(host, port, 1.0)
        if err is None:
            s.close()           # the probe itself: no connection stays half-open
            break
        held.append(s)
        if err != 0:
            print("gaps_blackhole: connect failed: %s" % os.strerror(err), file=sys.stderr)
            return 1
    else:
        print("gaps_blackhole: the accept queue never filled", file=sys.stderr)
        return 1
    tmp = "%s.tmp-%d" % (ready, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, ready)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        signal.pause()


if __name__ == "__main__":
    sys.exit(main())
