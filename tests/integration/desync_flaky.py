#!/usr/bin/python3
"""desync_flaky.py: an app that closes a kept-alive connection under a request.

    desync_flaky.py --ready-file F

Listens on 127.0.0.1 (a free port; the port number is written to F
atomically once listening).  The first request on each connection is
answered (200, body "conn C\\n", kept alive); the second one is read whole
(head and Content-Length body), logged, and the connection closed without
an answer -- as an app whose keep-alive time ran out just then, or one that
crashed while handling it.  The proxy cannot tell whether the request was
received, so it must not send a non-idempotent one again.

One line per request to stderr:

    flaky: conn=C n=N METHOD TARGET body=LEN answered|closed unanswered

(C counts TCP connections from 1, N requests on the connection from 1).
"""
import argparse
import os
import socket
import sys
import threading

lock = threading.Lock()


def log(msg):
    with lock:
        print("flaky: " + msg, file=sys.stderr, flush=True)


def serve(c, cid):
    buf, n = b"", 0
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
            blen = 0
            for ln in lines[1:]:
                name, _, value = ln.partition(b":")
                if name.strip().lower() == b"content-length":
                    blen = int(value.strip())
            while len(buf) < blen:
                b = c.recv(65536)
                if not b:
                    return
                buf += b
            buf = buf[blen:]
            n += 1
            what = "answered" if n == 1 else "closed unanswered"
            log("conn=%d n=%d %s %s body=%d %s" % (
                cid, n, method.decode(), target.decode("latin-1"), blen, what))
            if n >= 2:
                return
            body = b"conn %d\n" % cid
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    except OSError:
        pass
    finally:
        c.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ready-file", required=True)
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
        threading.Thread(target=serve, args=(c, n), daemon=True).start()


if __name__ == "__main__":
    main()
