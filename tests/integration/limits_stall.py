#!/usr/bin/python3
"""limits_stall.py: an upstream that takes a request head and then nothing.

    limits_stall.py --ready-file F [--log F]

Listens on a free port of 127.0.0.1 and writes the port number to the ready
file (atomically) once listening.  Every connection it accepts gets its
request head read (up to the empty line), one line
"stall: conn=C head REQUEST-LINE" logged, and then nothing more: the body
is never read, no response is ever sent and the connection is never closed,
so the sender's writes back up once the socket buffers are full.  The
receive buffer is kept small (SO_RCVBUF 64 KiB, set before listen) so that
happens soon.  Runs until killed.
"""
import argparse
import os
import socket
import sys
import threading


def log(f, msg):
    f.write(msg + "\n")
    f.flush()


def serve(conn, n, out, keep):
    buf = b""
    try:
        while b"\r\n\r\n" not in buf and len(buf) < 65536:
            b = conn.recv(1)  # one byte at a time: nothing of the body is taken
            if not b:
                break
            buf += b
    except OSError:
        pass
    line = buf.split(b"\r\n", 1)[0].decode("latin-1")
    log(out, "stall: conn=%d head %s" % (n, line))
    keep.append(conn)  # held, never read again, until the process ends


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ready-file", required=True)
    ap.add_argument("--log", default=None)
    a = ap.parse_args()
    out = open(a.log, "a") if a.log else sys.stderr
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    port = s.getsockname()[1]
    tmp = a.ready_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, a.ready_file)
    log(out, "stall: listening on 127.0.0.1:%d" % port)
    n = 0
    keep = []
    while True:
        conn, _ = s.accept()
        n += 1
        threading.Thread(target=serve, args=(conn, n, out, keep), daemon=True).start()


if __name__ == "__main__":
    main()
