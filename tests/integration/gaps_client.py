#!/usr/bin/python3
"""gaps_client.py: TLS clients that do odd things, for t_serve_gaps.

    gaps_client.py hold PORT NAME CAFILE --hold N --extra M [--host H]
    gaps_client.py stall-hello PORT [--bytes K] [--wait S] [--host H]

hold: opens N TLS connections to HOST:PORT (SNI NAME, verified against
  CAFILE), sends "GET /hello" on each and reads the response (so each is a
  live keep-alive connection), then tries M more connections, one after the
  other, each given 5 s for its TLS handshake and a /hello response; then
  closes one of the N and tries one more, again and again for at most 10 s,
  until it is served.  Prints one JSON object:
    {"held": served of the N,
     "extra": [{"result": "served"|"closed"|"timeout", "s": seconds}, ...],
     "after_close": "served"|"closed"|"timeout", "after_close_s": seconds,
     "after_close_tries": connections tried after the close, the served
                          one included (more than 1 when the server had
                          not seen the close yet)}
  ("closed": the server ended the connection before answering -- EOF, a
  reset or a TLS alert; "s": from the connect to that.)

stall-hello: connects (TCP) and sends the first K (default 60) bytes of a
  real TLS ClientHello (made by Python's ssl for NAME "stall.localhost"),
  never the rest; prints {"sent": K, "closed_after_s": seconds} when the
  server closes the connection, or {"sent": K, "closed_after_s": null}
  after --wait seconds (default 30).

Exit status 0 (the JSON says what happened), 2 for a usage error.
"""
import argparse
import json
import socket
import ssl
import sys
import time

REQ = b"GET /hello HTTP/1.1\r\nHost: %s\r\n\r\n"


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def get_hello(s):
    """Read one /hello response (Content-Length framed); True if 200."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        b = s.recv(65536)
        if not b:
            return False
        buf += b
    head, _, body = buf.partition(b"\r\n\r\n")
    n = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            n = int(v.strip())
    while len(body) < n:
        b = s.recv(65536)
        if not b:
            return False
        body += b
    return head.startswith(b"HTTP/1.1 200")


def one(args, ctx, timeout):
    """A served connection, or (result, seconds) when it was not."""
    t0 = time.monotonic()
    raw = socket.socket(family(args.host), socket.SOCK_STREAM)
    raw.settimeout(timeout)
    try:
        raw.connect((args.host, args.port))
        s = ctx.wrap_socket(raw, server_hostname=args.name)
        s.sendall(REQ % args.name.encode())
        if get_hello(s):
            return s, "served", time.monotonic() - t0
        s.close()
        return None, "closed", time.monotonic() - t0
    except socket.timeout:
        raw.close()
        return None, "timeout", time.monotonic() - t0
    except (OSError, ssl.SSLError):
        raw.close()
        return None, "closed", time.monotonic() - t0


def hold(args):
    ctx = ssl.create_default_context(cafile=args.cafile)
    held = []
    for _ in range(args.hold):
        s, res, _ = one(args, ctx, 10)
        if s is not None:
            held.append(s)
    n_held = len(held)
    extra = []
    for _ in range(args.extra):
        s, res, dt = one(args, ctx, 5)
        if s is not None:
            held.append(s)
        extra.append({"result": res, "s": round(dt, 3)})
    after, after_s, tries = "timeout", None, 0
    if held:
        held.pop(0).close()
        t0 = time.monotonic()
        while time.monotonic() - t0 < 10:
            tries += 1
            s, after, _ = one(args, ctx, 5)
            if s is not None:
                held.append(s)
                break
            time.sleep(0.1)     # the server has to see the close first
        after_s = round(time.monotonic() - t0, 3)
    print(json.dumps({"held": n_held, "extra": extra, "after_close": after,
                      "after_close_s": after_s, "after_close_tries": tries}))
    for s in held:
        s.close()
    return 0


def client_hello():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="stall.localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def stall_hello(args):
    hello = client_hello()
    k = min(args.bytes, len(hello) - 1)
    s = socket.socket(family(args.host), socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect((args.host, args.port))
    s.sendall(hello[:k])
    t0 = time.monotonic()
    closed = None
    s.settimeout(args.wait)
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
    except socket.timeout:
        closed = "no"
    except OSError:
        pass
    dt = time.monotonic() - t0
    print(json.dumps({"sent": k, "of": len(hello),
                      "closed_after_s": None if closed == "no" else round(dt, 3)}))
    s.close()
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    h = sub.add_parser("hold")
    h.add_argument("port", type=int)
    h.add_argument("name")
    h.add_argument("cafile")
    h.add_argument("--hold", type=int, required=True)
    h.add_argument("--extra", type=int, default=1)
    h.add_argument("--host", default="127.0.0.1")
    st = sub.add_parser("stall-hello")
    st.add_argument("port", type=int)
    st.add_argument("--bytes", type=int, default=60)
    st.add_argument("--wait", type=float, default=30)
    st.add_argument("--host", default="127.0.0.1")
    args = p.parse_args()
    return hold(args) if args.cmd == "hold" else stall_hello(args)


if __name__ == "__main__":
    sys.exit(main())
