#!/usr/bin/python3
"""desync_raw.py: send hand-made bytes to moat serve, print what comes back.

    desync_raw.py PORT [--tls NAME --ca ROOT] [--timeout S] PIECE...

Connects to 127.0.0.1:PORT (plain TCP, or TLS verified against ROOT with SNI
NAME), sends the bytes the PIECEs make, in order, at once, then reads until
the server closes the connection (exit 0) or TIMEOUT seconds (default 5)
pass without a close (exit 3).  Everything received goes to stdout.  A send
that fails because the server closed early is not an error: what the server
answered is read all the same.

A PIECE is (TEXT takes the escapes \\r \\n \\t \\\\ \\xHH):

    t:TEXT              TEXT as it is
    cl:N:TEXT           "Content-Length: N", the empty line, and a body of
                        N bytes: TEXT padded with "A" (N 0: TEXT's length)
    clpart:N:TEXT       "Content-Length: N", the empty line, only TEXT
                        (a body announced larger than what is sent)
    chunked:N:K:TEXT    "Transfer-Encoding: chunked", the empty line, TEXT
                        padded with "A" to N bytes in chunks of K bytes, and
                        the last chunk "0"

so a request is "t:POST /x HTTP/1.1\\r\\nHost: h\\r\\n" followed by a body
piece (which ends the head), or by "t:\\r\\n".
"""
import argparse
import codecs
import socket
import ssl
import sys
import threading
import time


def text(s):
    return codecs.decode(s, "unicode_escape").encode("latin-1")


def piece(p):
    kind, _, rest = p.partition(":")
    if kind == "t":
        return text(rest)
    if kind in ("cl", "clpart"):
        n, _, body = rest.partition(":")
        body = text(body)
        n = int(n) or len(body)
        if kind == "cl":
            body += b"A" * (n - len(body))
        return b"Content-Length: %d\r\n\r\n" % n + body
    if kind == "chunked":
        n, k, body = rest.split(":", 2)
        body = text(body)
        n, k = int(n) or len(body), int(k)
        body += b"A" * (n - len(body))
        out = b"Transfer-Encoding: chunked\r\n\r\n"
        for i in range(0, len(body), k):
            c = body[i:i + k]
            out += b"%x\r\n%s\r\n" % (len(c), c)
        return out + b"0\r\n\r\n"
    raise SystemExit("desync_raw.py: unknown piece %r" % p)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("pieces", nargs="+")
    ap.add_argument("--tls")
    ap.add_argument("--ca")
    ap.add_argument("--timeout", type=float, default=5)
    a = ap.parse_args()
    data = b"".join(piece(p) for p in a.pieces)
    s = socket.create_connection(("127.0.0.1", a.port), timeout=a.timeout)
    if a.tls:
        ctx = ssl.create_default_context(cafile=a.ca)
        ctx.set_alpn_protocols(["http/1.1"])
        s = ctx.wrap_socket(s, server_hostname=a.tls)
        try:
            s.sendall(data)  # (an SSL object is not for two threads at once)
        except OSError:
            pass
    else:
        # A server that stops reading must not keep us from reading.
        def send():
            try:
                s.sendall(data)
            except OSError:
                pass
        threading.Thread(target=send, daemon=True).start()
    out = bytearray()
    end = time.monotonic() + a.timeout
    rc = 3
    while time.monotonic() < end:
        s.settimeout(max(0.01, end - time.monotonic()))
        try:
            b = s.recv(65536)
        except socket.timeout:
            break
        except OSError:  # reset (unread bytes at the server's close), TLS EOF
            rc = 0
            break
        if not b:
            rc = 0
            break
        out += b
    sys.stdout.buffer.write(bytes(out))
    sys.exit(rc)


if __name__ == "__main__":
    main()
