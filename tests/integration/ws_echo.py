#!/usr/bin/python3
"""ws_echo.py: drive a WebSocket echo endpoint and check every echo.

    /usr/bin/python3 ws_echo.py URL [--cafile CA.pem] [--connect HOST:PORT]
                     [--messages N] [--size BYTES] [--timeout S]

Connects to URL (wss://... verifies the server certificate against CAFILE
and the URL's host name; ws://... is plain) with the `websockets` library
(Debian's python3-websockets 10.x), then sends N text and N binary messages,
one at a time, each checked byte-exact against its echo.  Sizes vary from 0
up to BYTES (default 1 MiB + 3) and include the frame length boundaries
125/126/127, 65535/65536 and BYTES itself; text messages mix ASCII with
2-, 3- and 4-byte UTF-8.  Then a ping (must be answered) and a clean close
(code 1000 both ways).  No permessage-deflate: what goes through the proxy is
what is compared.

--connect HOST:PORT opens the TCP connection there instead of to the URL's
host and port (like curl --connect-to): SNI, certificate name check and Host
header still use the URL's host.  E.g.
    ws_echo.py wss://chat.localhost:8443/ws --cafile root.pem \\
        --connect 127.0.0.1:8443

Prints "ok N messages of each kind (N text, N binary, largest L bytes)" and
exits 0; otherwise prints "FAIL: <what>" and exits 1.
"""
import argparse
import asyncio
import random
import ssl
import sys
import urllib.parse

import websockets

TEXT_UNIT = "moat ws \u00e9\u00e8 \u2713\u20ac \U0001f600 0123456789 "


def sizes_for(n, top):
    """N sizes in [0, top]: the boundaries first, top always among them."""
    marks = [0, 1, 125, 126, 127, 1000, 65535, 65536, 65537, 300000]
    marks = [s for s in marks if s < top]
    rnd = random.Random(top * 31 + n)
    out = [top] + marks[:max(0, n - 1)]
    while len(out) < n:
        out.append(rnd.randrange(0, top + 1))
    out = out[:n]
    # Largest in the middle: small, then big, then small again.
    out.sort(key=lambda s: rnd.random())
    return out


def text_of(size, seed):
    """A str whose UTF-8 encoding is at most SIZE bytes (cut at a char)."""
    unit = TEXT_UNIT[seed % len(TEXT_UNIT):] + TEXT_UNIT
    raw = (unit * (size // len(unit.encode()) + 2)).encode()[:size]
    return raw.decode("utf-8", errors="ignore")


def binary_of(size, seed):
    return random.Random(seed).randbytes(size)


class Failed(Exception):
    pass


async def exchange(ws, msg, what):
    await ws.send(msg)
    try:
        echo = await ws.recv()
    except websockets.ConnectionClosed as e:
        raise Failed("%s: connection closed waiting for the echo (%s)" % (what, e))
    if type(echo) is not type(msg):
        raise Failed("%s: echo came back as %s" % (what, type(echo).__name__))
    if echo != msg:
        a = msg.encode() if isinstance(msg, str) else msg
        b = echo.encode() if isinstance(echo, str) else echo
        at = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]),
                  min(len(a), len(b)))
        raise Failed("%s: echo differs (sent %d bytes, got %d, first "
                     "difference at byte %d)" % (what, len(a), len(b), at))


async def run(args):
    url = urllib.parse.urlsplit(args.url)
    if url.scheme not in ("ws", "wss") or not url.hostname:
        raise Failed("URL must be ws:// or wss://HOST...")
    kw = {}
    if url.scheme == "wss":
        ctx = ssl.create_default_context(cafile=args.cafile)
        kw["ssl"] = ctx
        kw["server_hostname"] = url.hostname
    elif args.cafile:
        raise Failed("--cafile needs a wss:// URL")
    if args.connect:
        host, sep, port = args.connect.rpartition(":")
        if not sep or not port.isdigit():
            raise Failed("--connect wants HOST:PORT")
        kw["host"] = host.strip("[]")
        kw["port"] = int(port)
    sizes = sizes_for(args.messages, args.size)
    try:
        ws = await websockets.connect(
            args.url, compression=None, max_size=None, ping_interval=None,
            open_timeout=args.timeout, close_timeout=args.timeout, **kw)
    except ssl.SSLCertVerificationError as e:
        raise Failed("certificate verification: %s" % e.verify_message)
    except websockets.InvalidStatusCode as e:
        raise Failed("handshake answered HTTP %d" % e.status_code)
    except (OSError, websockets.WebSocketException, asyncio.TimeoutError) as e:
        raise Failed("connect: %s: %s" % (type(e).__name__, e))
    try:
        for i, s in enumerate(sizes):
            msg = text_of(s, i)
            await exchange(ws, msg, "text #%d (%d bytes)" % (i, len(msg.encode())))
        for i, s in enumerate(sizes):
            await exchange(ws, binary_of(s, i), "binary #%d (%d bytes)" % (i, s))
        pong = await ws.ping(b"moat-ping")
        try:
            await asyncio.wait_for(pong, args.timeout)
        except asyncio.TimeoutError:
            raise Failed("no pong for a ping")
        await ws.close(1000, "done")
    except websockets.ConnectionClosed as e:
        raise Failed("connection closed: %s" % e)
    finally:
        await ws.close()
    if ws.close_code != 1000:
        raise Failed("close code %s from the server (expected 1000)" % ws.close_code)
    return len(sizes), max(sizes) if sizes else 0


def main():
    p = argparse.ArgumentParser(
        description="Check a WebSocket echo endpoint through TLS.")
    p.add_argument("url", help="ws://... or wss://HOST[:PORT]/PATH")
    p.add_argument("--cafile", help="trust only these CA certificates (wss)")
    p.add_argument("--connect", metavar="HOST:PORT",
                   help="TCP destination instead of the URL's host and port")
    p.add_argument("--messages", type=int, default=10,
                   help="text messages, and as many binary ones (default 10)")
    p.add_argument("--size", type=int, default=(1 << 20) + 3,
                   help="largest message in bytes (default 1 MiB + 3)")
    p.add_argument("--timeout", type=float, default=30,
                   help="seconds for the whole exchange (default 30)")
    args = p.parse_args()
    if args.messages < 1 or args.size < 0:
        p.error("--messages must be >= 1 and --size >= 0")

    async def bounded():
        return await asyncio.wait_for(run(args), args.timeout)

    try:
        n, top = asyncio.run(bounded())
    except Failed as e:
        print("FAIL: %s" % e)
        return 1
    except asyncio.TimeoutError:
        print("FAIL: no result within %g s" % args.timeout)
        return 1
    print("ok %d messages of each kind (%d text, %d binary, largest %d bytes)"
          % (n, n, n, top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
