#!/usr/bin/python3
"""limits_client.py: TLS clients that misbehave on purpose, for t_serve_limits.

    limits_client.py MODE --port N --cafile CA.pem [--servername NAME] ...

Every mode makes one verified TLS connection (SNI and certificate name
NAME, default chat.localhost; ALPN http/1.1) to 127.0.0.1:PORT and prints
one JSON object on stdout at the end.  The receive buffer is set to 64 KiB
before connecting (no autotuning), so that a client that does not read
makes the server's writes back up soon.

  paused --size N --pause S
      GET /bytes/N (Connection: close); reads the head and a little of the
      body (256 KiB), stops reading for S seconds, then reads until N body
      bytes have come or the connection ends.
      {"status", "got", "content_ok": body == the /bytes pattern (upstream.py),
       "end": "complete"|"eof"|"reset"|"timeout", "elapsed"}

  noread --size N --go-file F --max-wait S
      GET /bytes/N, then reads nothing until the file F exists (or S seconds
      have passed), then reads everything until the connection ends (10 s at
      most).  {"sent_at", "got", "complete": got == N, "end"}

  upload --size N --target PATH
      POST PATH with Content-Length: N and N bytes of body, written as fast as
      the server takes them, while reading whatever the server answers; ends
      when the server closes (or 30 s pass).
      {"status": the first response's status or null, "status_at",
       "sent", "end": "eof"|"reset"|"timeout", "elapsed": seconds from the
       head being sent to the end}
"""
import argparse
import hashlib
import json
import os
import select
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import upstream  # noqa: E402  (for upstream.pattern)


def connect(a):
    ctx = ssl.create_default_context(cafile=a.cafile)
    ctx.set_alpn_protocols(["http/1.1"])
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    raw.settimeout(10)
    raw.connect(("127.0.0.1", a.port))
    return ctx.wrap_socket(raw, server_hostname=a.servername)


def read_head(s):
    buf = b""
    while b"\r\n\r\n" not in buf:
        b = s.recv(65536)
        if not b:
            raise EOFError("closed before the response head")
        buf += b
    head, rest = buf.split(b"\r\n\r\n", 1)
    status = int(head.split(b"\r\n", 1)[0].split()[1])
    return status, head, rest


def pattern_sha(n):
    h = hashlib.sha256()
    off = 0
    while off < n:
        k = min(1 << 20, n - off)
        h.update(upstream.pattern(off, k))
        off += k
    return h.hexdigest()


def recv_end(s, want, h, got, timeout):
    """Read until want bytes in all (got counts them), EOF, reset or timeout."""
    end = time.monotonic() + timeout
    while got < want:
        left = end - time.monotonic()
        if left <= 0:
            return got, "timeout"
        s.settimeout(left)
        try:
            b = s.recv(min(1 << 20, want - got))
        except socket.timeout:
            return got, "timeout"
        except (ssl.SSLError, OSError):
            return got, "reset"
        if not b:
            return got, "eof"
        if h is not None:
            h.update(b)
        got += len(b)
    return got, "complete"


def mode_paused(a):
    t0 = time.monotonic()
    s = connect(a)
    s.sendall(b"GET /bytes/%d HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
              % (a.size, a.servername.encode()))
    status, _, rest = read_head(s)
    h = hashlib.sha256(rest)
    got = len(rest)
    got, end = recv_end(s, min(a.size, 256 * 1024), h, got, 20)
    time.sleep(a.pause)  # the point of the test: a reader that pauses
    if end == "complete":
        got, end = recv_end(s, a.size, h, got, 60)
    ok = got == a.size and h.hexdigest() == pattern_sha(a.size)
    return {"status": status, "got": got, "content_ok": ok, "end": end,
            "elapsed": round(time.monotonic() - t0, 3)}


def mode_noread(a):
    t0 = time.monotonic()
    s = connect(a)
    s.sendall(b"GET /bytes/%d HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
              % (a.size, a.servername.encode()))
    sent_at = time.monotonic() - t0
    end = time.monotonic() + a.max_wait
    while time.monotonic() < end and not os.path.exists(a.go_file):
        time.sleep(0.1)  # poll interval: waiting for the test to say "go"
    status = None
    got = 0
    try:
        status, _, rest = read_head(s)
        got = len(rest)
        got, how = recv_end(s, a.size, None, got, 10)
    except (EOFError, ssl.SSLError, OSError) as e:
        how = "reset" if not isinstance(e, EOFError) else "eof"
    return {"sent_at": round(sent_at, 3), "status": status, "got": got,
            "complete": got == a.size, "end": how}


def mode_upload(a):
    s = connect(a)
    s.sendall(b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n"
              b"Content-Type: application/octet-stream\r\n\r\n"
              % (a.target.encode(), a.servername.encode(), a.size))
    t0 = time.monotonic()
    s.setblocking(False)
    chunk = bytes(range(256)) * 64  # 16 KiB
    sent = 0
    inbuf = b""
    status = None
    status_at = None
    how = "timeout"
    deadline = t0 + 30
    writing = True
    while time.monotonic() < deadline:
        wl = [s] if writing and sent < a.size else []
        rl, wl, _ = select.select([s], wl, [], 0.1)
        if rl or s.pending():
            try:
                b = s.recv(65536)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                b = None
            except (ssl.SSLError, OSError):
                how = "reset"
                break
            if b == b"":
                how = "eof"
                break
            if b:
                inbuf += b
                if status is None and b"\r\n" in inbuf:
                    try:
                        status = int(inbuf.split(b"\r\n", 1)[0].split()[1])
                    except (IndexError, ValueError):
                        status = -1
                    status_at = round(time.monotonic() - t0, 3)
        if wl:
            n = min(len(chunk), a.size - sent)
            try:
                sent += s.send(chunk[:n])
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
            except (ssl.SSLError, OSError):
                writing = False  # the server went away: read what it said
    return {"status": status, "status_at": status_at, "sent": sent, "end": how,
            "elapsed": round(time.monotonic() - t0, 3)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["paused", "noread", "upload"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cafile", required=True)
    ap.add_argument("--servername", default="chat.localhost")
    ap.add_argument("--size", type=int, default=8000000)
    ap.add_argument("--pause", type=float, default=6)
    ap.add_argument("--go-file", default="")
    ap.add_argument("--max-wait", type=float, default=15)
    ap.add_argument("--target", default="/sha256")
    a = ap.parse_args()
    try:
        r = {"paused": mode_paused, "noread": mode_noread, "upload": mode_upload}[a.mode](a)
    except (EOFError, ssl.SSLError, OSError, ValueError, IndexError) as e:
        r = {"error": "%s: %s" % (type(e).__name__, e)}
    print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
