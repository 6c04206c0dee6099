#!/usr/bin/python3
"""desync_late.py: an app that sends bytes after a response without a body.

    desync_late.py --ready-file F [--delay S]

Listens on 127.0.0.1 (a free port; the port number is written to F
atomically once listening).  Connections are kept alive, requests answered
in order, one thread per connection:

  HEAD /late...     "200 OK" with "Content-Length: 38" (a HEAD response:
                    no body), then S seconds (default 0.5) later, on the
                    same connection, unasked,
                    "HTTP/1.1 200 OK\\r\\nContent-Length: 6\\r\\n\\r\\nPOISON"
  GET /late204...   "204 No Content" with "Content-Length: 5", then the same
  GET /late304...   "304 Not Modified" with "Content-Length: 5", the same
  GET /hello...     200 "hello\\n"
  anything else     404 "nope\\n"

A proxy that reuses the connection after such a response hands POISON to
the next client whose request goes on it before the late bytes come (this
thread answers it only after sending them).  One line per request goes
to stderr, "late: conn=C METHOD TARGET", and one per late send, "late:
conn=C late bytes after TARGET: sent" (or ": failed" when the proxy had
closed the connection); C counts TCP connections from 1.
"""
import argparse
import os
import socket
import sys
import threading
import time

POISON = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nPOISON"
lock = threading.Lock()


def log(msg):
    with lock:
        print("late: " + msg, file=sys.stderr, flush=True)


def serve(c, cid, delay):
    buf = b""
    try:
        while True:
            while b"\r\n\r\n" not in buf:
                b = c.recv(65536)
                if not b:
                    return
                buf += b
            head, buf = buf.split(b"\r\n\r\n", 1)
            lines = head.split(b"\r\n")
            method, target = lines[0].split(b" ")[:2]
            for ln in lines[1:]:
                name, _, value = ln.partition(b":")
                if name.strip().lower() == b"content-length":
                    n = int(value.strip())
                    while len(buf) < n:
                        b = c.recv(65536)
                        if not b:
                            return
                        buf += b
                    buf = buf[n:]
            method, target = method.decode(), target.decode("latin-1")
            path = target.split("?")[0]
            log("conn=%d %s %s" % (cid, method, target))
            late = None
            if method == "HEAD" and path == "/late":
                late = b"HTTP/1.1 200 OK\r\nContent-Length: 38\r\n\r\n"
            elif path == "/late204":
                late = b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"
            elif path == "/late304":
                late = b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n"
            if late is not None:
                c.sendall(late)
                time.sleep(delay)
                try:
                    c.sendall(POISON)
                    log("conn=%d late bytes after %s: sent" % (cid, target))
                except OSError:
                    log("conn=%d late bytes after %s: failed" % (cid, target))
                    return
            elif path == "/hello":
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n")
            else:
                c.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\nnope\n")
    except OSError:
        pass
    finally:
        c.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ready-file", required=True)
    ap.add_argument("--delay", type=float, default=0.5)
    a = ap.parse_args()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    tmp = "%s.tmp-%d" % (a.ready_file, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    os.rename(tmp, a.ready_file)
    n = 0
    while True:
        c, _ = s.accept()
        n += 1
        threading.Thread(target=serve, args=(c, n, a.delay), daemon=True).start()


if __name__ == "__main__":
    main()
