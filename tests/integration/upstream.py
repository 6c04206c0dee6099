#!/usr/bin/python3
"""upstream.py: an HTTP/1.1 origin server for the reverse-proxy tests.

Written by hand on asyncio streams (not http.server) so that the framing on
the wire is exactly what this file says.  Listens on 127.0.0.1 only.

    upstream.py --port N [--ready-file F] [--name NAME]

--port 0 picks a free port; once listening, the port number is written to
the ready file (atomically: readers never see a partial file) and
"upstream: listening on 127.0.0.1:PORT" goes to stderr.

Connections: HTTP/1.1 keep-alive (HTTP/1.0 only with "Connection:
keep-alive"), pipelined requests answered in order.  A request body is framed
by Content-Length or by "Transfer-Encoding: chunked" (decoded, chunk
extensions skipped, trailers read and kept); it is always consumed before the
response starts.  "Expect: 100-continue" gets an interim "100 Continue".
Malformed framing is answered "400" and the connection closed: bad request
line, bare LF line ends, obs-fold, space before the colon, missing or
repeated Host in HTTP/1.1, Content-Length that is not digits or repeated with
different values, Transfer-Encoding other than exactly "chunked",
Transfer-Encoding together with Content-Length, a bad chunk size or a chunk
not followed by CRLF.  An unknown HTTP major version gets 505, a head over
64 KiB or 100 fields gets 431.

Every response carries "X-Upstream-Name: NAME" (--name, default "upstream")
and "X-Upstream-Conn: C" (the number of the TCP connection it came on, from 1)
so tests can tell which upstream and which connection served a request.
One line per request goes to stderr:

    upstream: conn=C METHOD TARGET -> STATUS req=FRAMING/LEN resp=FRAMING

Endpoints (HEAD works wherever GET does):

  GET  /hello         200 "hello from upstream\\n" (Content-Length)
  ANY  /headers       200 JSON: {"method", "target", "version",
                      "headers": [[name, value], ...] in order, as received,
                      "body_length", "body_framing": "none"|"length"|"chunked",
                      "trailers": [[name, value], ...]}
                      (values decoded as latin-1, surrounding spaces and
                      tabs trimmed as RFC 9110 says; nothing else changed)
  POST|PUT /echo      200 with the request body, Content-Length framing;
                      /echo?chunked=1 sends it chunked, chunk sizes cycling
                      1, 7, 4096, 65536.  Header "X-Request-Framing:
                      none|length|chunked" tells how the request body came.
                      Bodies over 256 MiB get 413 (echo holds them whole).
  POST /sha256        200 "<hex sha256 of the body> <length>\\n"; the body is
                      hashed as it streams in (any size).
  GET  /bytes/N       N bytes of the pattern below, streamed in 64 KiB pieces;
                      ?chunked=1 for chunked framing (one chunk per piece).
  GET  /close         200 "until close\\n" with neither Content-Length nor
                      chunked: the end of the body is the server's close.
  GET  /slow?ms=N     waits N ms (at most 600000) before the response head.
  GET  /status/N      status N (200..599) with body "status N\\n" (no body for
                      204 and 304).
  GET  /ws            WebSocket (RFC 6455): with "Upgrade: websocket",
                      "Connection: upgrade", "Sec-WebSocket-Version: 13" and a
                      Sec-WebSocket-Key that is base64 of 16 bytes -> 101, then
                      every text/binary message is echoed back in one frame
                      (fragmented input is reassembled; text must be UTF-8),
                      ping -> pong, close -> close with the same code.  Client
                      frames must be masked (else close 1002).  Messages over
                      64 MiB: close 1009.  A bad or missing key, or a missing
                      "upgrade" in Connection -> 400; another version -> 426;
                      GET /ws without Upgrade -> 426.
  GET  /count         200 JSON {"connections": n, "requests": m}: TCP
                      connections accepted and requests received so far
                      (this request included).
  anything else       404 (405 for a known path with the wrong method)

/bytes pattern: byte i (from 0) of the body is

    (7*i + 11*(i >> 8) + 13*(i >> 16) + 17*(i >> 24) + 3) & 0xff

It has no period shorter than 4 GiB, so a dropped, repeated or moved piece
of the body changes its digest.  In Python:

    bytes((7*i + 11*(i >> 8) + 13*(i >> 16) + 17*(i >> 24) + 3) & 0xff
          for i in range(n))

(or, quickly: `import upstream; upstream.pattern(offset, n)` with this
directory on sys.path).
"""
import argparse
import asyncio
import base64
import hashlib
import json
import os
import re
import sys
import urllib.parse

MAX_HEAD = 64 * 1024          # request line + header fields, bytes
MAX_FIELDS = 100
MAX_ECHO = 256 * 1024 * 1024
MAX_WS_MESSAGE = 64 * 1024 * 1024
MAX_SLOW_MS = 600000
PIECE = 64 * 1024
ECHO_CHUNKS = (1, 7, 4096, 65536)
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

TOKEN_RE = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
REQ_LINE_RE = re.compile(rb"^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) HTTP/(\d)\.(\d)$")
HEX_RE = re.compile(rb"^[0-9A-Fa-f]{1,16}$")

REASONS = {
    100: "Continue", 101: "Switching Protocols", 200: "OK", 201: "Created",
    202: "Accepted", 204: "No Content", 206: "Partial Content",
    301: "Moved Permanently", 302: "Found", 304: "Not Modified",
    307: "Temporary Redirect", 308: "Permanent Redirect", 400: "Bad Request",
    401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 408: "Request Timeout", 413: "Content Too Large",
    417: "Expectation Failed", 426: "Upgrade Required",
    429: "Too Many Requests", 431: "Request Header Fields Too Large",
    500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout",
    505: "HTTP Version Not Supported",
}

# ------------------------------------------------------------------ pattern

_BASE = bytes((7 * j + 11 * (j >> 8) + 3) & 0xff for j in range(PIECE))
_SHIFT = [bytes((b + c) & 0xff for b in range(256)) for c in range(256)]


def pattern(offset, n):
    """Bytes offset .. offset+n-1 of the /bytes pattern (see the docstring)."""
    out = bytearray()
    i = offset
    end = offset + n
    while i < end:
        block = i - i % PIECE
        # Within a 64 KiB-aligned block only the low 16 bits of i vary, so
        # the block is a fixed one plus a constant (mod 256).
        c = (7 * block + 11 * (block >> 8) + 13 * (block >> 16)
             + 17 * (block >> 24)) & 0xff
        lo = i - block
        hi = min(PIECE, end - block)
        out += _BASE[lo:hi].translate(_SHIFT[c])
        i = block + hi
    return bytes(out)


# ------------------------------------------------------------------ errors

class BadRequest(Exception):
    """The request cannot be parsed: answer STATUS and close."""

    def __init__(self, status, why):
        super().__init__(why)
        self.status = status
        self.why = why


class PeerGone(Exception):
    """The client went away in the middle of something."""


# ------------------------------------------------------------------ request

class Request:
    def __init__(self, method, target, version, headers):
        self.method = method
        self.target = target
        self.version = version          # (major, minor)
        self.headers = headers          # [(name bytes, value bytes)]
        split = urllib.parse.urlsplit(target)
        self.path = split.path
        self.query = urllib.parse.parse_qs(split.query)
        self.framing = "none"
        self.length = 0                 # Content-Length, for "length"
        self.body_read = 0
        self.trailers = []

    def get_all(self, name):
        name = name.lower()
        return [v for n, v in self.headers if n.decode("latin-1").lower() == name]

    def get(self, name):
        vals = self.get_all(name)
        return vals[0] if vals else None

    def tokens(self, name):
        """Comma-separated tokens of every NAME field, lowercased."""
        out = []
        for v in self.get_all(name):
            out += [t.strip().lower() for t in v.split(b",") if t.strip()]
        return out

    def qarg(self, name):
        v = self.query.get(name)
        return v[-1] if v else None

    def version_str(self):
        return "HTTP/%d.%d" % self.version


# ------------------------------------------------------------------ connection

class Conn:
    def __init__(self, server, reader, writer, cid):
        self.srv = server
        self.r = reader
        self.w = writer
        self.cid = cid
        self.head_sent = False
        self.status = 0
        self.resp_framing = "none"
        self.is_head = False
        self.chunked_out = False
        self.keep = True

    # ---- reading

    async def readline(self, what):
        try:
            line = await self.r.readuntil(b"\n")
        except asyncio.LimitOverrunError:
            raise BadRequest(431, "%s too long" % what)
        except asyncio.IncompleteReadError as e:
            if e.partial:
                raise PeerGone("EOF inside %s" % what)
            raise
        if not line.endswith(b"\r\n"):
            raise BadRequest(400, "bare LF in %s" % what)
        return line[:-2]

    async def read_fields(self, what, budget):
        """Header or trailer fields up to the empty line."""
        fields = []
        while True:
            line = await self.readline(what)
            budget -= len(line) + 2
            if budget < 0 or len(fields) >= MAX_FIELDS:
                raise BadRequest(431, "%s too large" % what)
            if not line:
                return fields
            if line[:1] in (b" ", b"\t"):
                raise BadRequest(400, "obs-fold in %s" % what)
            name, sep, value = line.partition(b":")
            if not sep or not TOKEN_RE.match(name):
                raise BadRequest(400, "bad field name in %s: %r" % (what, line[:40]))
            value = value.strip(b" \t")
            if any(c < 0x20 and c != 0x09 or c == 0x7f for c in value):
                raise BadRequest(400, "control character in %s" % what)
            fields.append((name, value))

    async def read_head(self):
        """The next request head, or None at a clean EOF between requests."""
        try:
            line = await self.readline("request line")
        except asyncio.IncompleteReadError:
            return None
        # RFC 9112 2.2: ignore at least one empty line before the request.
        if not line:
            try:
                line = await self.readline("request line")
            except asyncio.IncompleteReadError:
                return None
        m = REQ_LINE_RE.match(line)
        if not m:
            raise BadRequest(400, "bad request line %r" % line[:80])
        version = (int(m.group(3)), int(m.group(4)))
        headers = await self.read_fields("header", MAX_HEAD - len(line))
        req = Request(m.group(1).decode(), m.group(2).decode("latin-1"),
                      version, headers)
        self.srv.requests += 1
        if version[0] != 1:
            raise BadRequest(505, "version %d.%d" % version)
        return req

    def body_framing(self, req):
        te = req.tokens("transfer-encoding")
        cl = req.get_all("content-length")
        if te:
            if cl:
                raise BadRequest(400, "both Transfer-Encoding and Content-Length")
            if req.version < (1, 1):
                raise BadRequest(400, "Transfer-Encoding in HTTP/1.0")
            if te != [b"chunked"]:
                raise BadRequest(400, "Transfer-Encoding %r" % b", ".join(te))
            req.framing = "chunked"
        elif cl:
            vals = set()
            for v in cl:
                for part in v.split(b","):
                    part = part.strip(b" \t")
                    if not part.isdigit() or len(part) > 18:
                        raise BadRequest(400, "bad Content-Length %r" % v)
                    vals.add(int(part))
            if len(vals) != 1:
                raise BadRequest(400, "conflicting Content-Length")
            req.framing = "length"
            req.length = vals.pop()

    async def body_pieces(self, req):
        """The request body, decoded, as an async iterator of bytes."""
        if req.framing == "length":
            left = req.length
            while left:
                data = await self.r.read(min(left, 256 * 1024))
                if not data:
                    raise PeerGone("EOF inside the body")
                left -= len(data)
                req.body_read += len(data)
                yield data
        elif req.framing == "chunked":
            while True:
                line = await self.readline("chunk size")
                size = line.split(b";", 1)[0].rstrip(b" \t")
                if not HEX_RE.match(size):
                    raise BadRequest(400, "bad chunk size %r" % line[:40])
                left = int(size, 16)
                if left == 0:
                    req.trailers = await self.read_fields("trailer", MAX_HEAD)
                    return
                while left:
                    data = await self.r.read(min(left, 256 * 1024))
                    if not data:
                        raise PeerGone("EOF inside a chunk")
                    left -= len(data)
                    req.body_read += len(data)
                    yield data
                try:
                    crlf = await self.r.readexactly(2)
                except asyncio.IncompleteReadError:
                    raise PeerGone("EOF after a chunk")
                if crlf != b"\r\n":
                    raise BadRequest(400, "chunk data not followed by CRLF")

    async def drain_body(self, req):
        async for _ in self.body_pieces(req):
            pass

    async def read_body(self, req, cap):
        buf = bytearray()
        async for data in self.body_pieces(req):
            buf += data
            if len(buf) > cap:
                raise BadRequest(413, "body over %d bytes" % cap)
        return bytes(buf)

    # ---- writing

    async def write(self, data):
        try:
            self.w.write(data)
            await self.w.drain()
        except ConnectionError as e:
            raise PeerGone(str(e))

    async def start(self, req, status, headers=(), framing="length", length=0):
        """Send the response head.  framing: length, chunked, close or none."""
        self.is_head = req.method == "HEAD"
        if framing == "chunked" and req.version < (1, 1):
            framing = "close"
        if framing == "close":
            self.keep = False
        lines = ["HTTP/1.1 %d %s" % (status, REASONS.get(status, "Status"))]
        lines += ["%s: %s" % h for h in headers]
        if framing == "length":
            lines.append("Content-Length: %d" % length)
        elif framing == "chunked":
            lines.append("Transfer-Encoding: chunked")
        lines.append("X-Upstream-Name: %s" % self.srv.name)
        lines.append("X-Upstream-Conn: %d" % self.cid)
        if not self.keep:
            lines.append("Connection: close")
        elif req.version < (1, 1):
            lines.append("Connection: keep-alive")
        self.status = status
        self.resp_framing = framing
        self.chunked_out = framing == "chunked"
        self.head_sent = True
        await self.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    async def body(self, data):
        if self.is_head or not data:
            return
        if self.chunked_out:
            data = b"%x\r\n%s\r\n" % (len(data), data)
        await self.write(data)

    async def end(self):
        if self.chunked_out and not self.is_head:
            await self.write(b"0\r\n\r\n")

    async def respond(self, req, status, body=b"", headers=()):
        await self.start(req, status, headers, "length", len(body))
        await self.body(body)

    async def text(self, req, status, text, headers=()):
        await self.respond(req, status, text.encode(),
                           (("Content-Type", "text/plain"),) + tuple(headers))

    # ---- the loop

    async def run(self):
        req = None
        try:
            while True:
                self.head_sent = False
                self.status = 0
                self.resp_framing = "none"
                self.chunked_out = False
                req = await self.read_head()
                if req is None:
                    break
                if not await self.serve(req):
                    break
                req = None
        except BadRequest as e:
            log("conn=%d bad request: %s" % (self.cid, e.why))
            if not self.head_sent:
                self.keep = False
                try:
                    fake = req or Request("GET", "/", (1, 1), [])
                    await self.text(fake, e.status, "%s\n" % e.why)
                except PeerGone:
                    pass
                if req is not None:
                    self.log_req(req)
        except PeerGone as e:
            log("conn=%d client gone: %s" % (self.cid, e))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.w.close()
            try:
                await self.w.wait_closed()
            except (ConnectionError, OSError):
                pass

    def log_req(self, req):
        log("conn=%d %s %s -> %d req=%s/%d resp=%s" % (
            self.cid, req.method, req.target, self.status, req.framing,
            req.body_read, self.resp_framing))

    async def serve(self, req):
        """Answer one request; False when the connection must close."""
        conn = req.tokens("connection")
        if req.version >= (1, 1):
            self.keep = b"close" not in conn
            hosts = req.get_all("host")
            if len(hosts) != 1:
                raise BadRequest(400, "%d Host fields" % len(hosts))
        else:
            self.keep = b"keep-alive" in conn
        self.body_framing(req)
        expect = req.get("expect")
        if expect is not None:
            if expect.lower() != b"100-continue":
                self.keep = False
                await self.text(req, 417, "unknown expectation\n")
                self.log_req(req)
                return False
            if req.version >= (1, 1) and req.framing != "none":
                await self.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        upgraded = await self.route(req)
        self.log_req(req)
        if upgraded:
            await self.websocket()
            return False
        if self.resp_framing == "close":
            return False
        return self.keep

    async def route(self, req):
        """Dispatch; True when the connection was upgraded to WebSocket."""
        path, m = req.path, req.method
        get = m in ("GET", "HEAD")
        if path == "/hello":
            await self.drain_body(req)
            if not get:
                return await self.not_allowed(req, "GET, HEAD")
            await self.text(req, 200, "hello from upstream\n")
        elif path == "/headers":
            await self.drain_body(req)
            doc = {
                "method": req.method,
                "target": req.target,
                "version": req.version_str(),
                "headers": [[n.decode("latin-1"), v.decode("latin-1")]
                            for n, v in req.headers],
                "body_length": req.body_read,
                "body_framing": req.framing,
                "trailers": [[n.decode("latin-1"), v.decode("latin-1")]
                             for n, v in req.trailers],
            }
            await self.respond(req, 200, (json.dumps(doc) + "\n").encode(),
                               (("Content-Type", "application/json"),))
        elif path == "/echo":
            if m not in ("POST", "PUT"):
                await self.drain_body(req)
                return await self.not_allowed(req, "POST, PUT")
            await self.echo(req)
        elif path == "/sha256":
            if m != "POST":
                await self.drain_body(req)
                return await self.not_allowed(req, "POST")
            h = hashlib.sha256()
            async for data in self.body_pieces(req):
                h.update(data)
            await self.text(req, 200, "%s %d\n" % (h.hexdigest(), req.body_read))
        elif path.startswith("/bytes/"):
            await self.drain_body(req)
            if not get:
                return await self.not_allowed(req, "GET, HEAD")
            n = path[len("/bytes/"):]
            if not n.isdigit() or len(n) > 15:
                return await self.text(req, 404, "bad byte count\n")
            await self.send_bytes(req, int(n))
        elif path == "/close":
            await self.drain_body(req)
            if not get:
                return await self.not_allowed(req, "GET, HEAD")
            await self.start(req, 200, (("Content-Type", "text/plain"),), "close")
            await self.body(b"until close\n")
        elif path == "/slow":
            await self.drain_body(req)
            ms = req.qarg("ms") or "0"
            if not ms.isdigit() or int(ms) > MAX_SLOW_MS:
                return await self.text(req, 400, "bad ms\n")
            await asyncio.sleep(int(ms) / 1000)
            await self.text(req, 200, "slept %s ms\n" % ms)
        elif path.startswith("/status/"):
            await self.drain_body(req)
            n = path[len("/status/"):]
            if not n.isdigit() or not 200 <= int(n) <= 599:
                return await self.text(req, 400, "status must be 200..599\n")
            n = int(n)
            if n in (204, 304):
                await self.start(req, n, (), "none")
            else:
                await self.text(req, n, "status %d\n" % n)
        elif path == "/ws":
            await self.drain_body(req)
            if not get:
                return await self.not_allowed(req, "GET")
            return await self.ws_handshake(req)
        elif path == "/count":
            await self.drain_body(req)
            doc = {"connections": self.srv.connections,
                   "requests": self.srv.requests}
            await self.respond(req, 200, (json.dumps(doc) + "\n").encode(),
                               (("Content-Type", "application/json"),))
        else:
            await self.drain_body(req)
            await self.text(req, 404, "not found\n")
        return False

    async def not_allowed(self, req, allow):
        await self.text(req, 405, "method not allowed\n", (("Allow", allow),))
        return False

    async def echo(self, req):
        body = await self.read_body(req, MAX_ECHO)
        headers = (("Content-Type", "application/octet-stream"),
                   ("X-Request-Framing", req.framing))
        if req.qarg("chunked") == "1":
            await self.start(req, 200, headers, "chunked")
            i = k = 0
            while i < len(body):
                n = ECHO_CHUNKS[k % len(ECHO_CHUNKS)]
                await self.body(body[i:i + n])
                i += n
                k += 1
            await self.end()
        else:
            await self.respond(req, 200, body, headers)

    async def send_bytes(self, req, n):
        headers = (("Content-Type", "application/octet-stream"),)
        chunked = req.qarg("chunked") == "1"
        await self.start(req, 200, headers, "chunked" if chunked else "length", n)
        off = 0
        while off < n and not self.is_head:
            piece = pattern(off, min(PIECE, n - off))
            await self.body(piece)
            off += len(piece)
        await self.end()

    # ---- websocket

    async def ws_handshake(self, req):
        upgrade = req.tokens("upgrade")
        if req.version < (1, 1):
            return await self.text(req, 400, "WebSocket needs HTTP/1.1\n")
        if not upgrade:
            await self.text(req, 426, "websocket only\n",
                            (("Upgrade", "websocket"),))
            return False
        if b"websocket" not in upgrade:
            return await self.text(req, 400, "Upgrade is not websocket\n")
        if b"upgrade" not in req.tokens("connection"):
            return await self.text(req, 400, "Connection lacks upgrade\n")
        if req.get("sec-websocket-version") != b"13":
            await self.text(req, 426, "version 13 only\n",
                            (("Sec-WebSocket-Version", "13"),))
            return False
        key = req.get_all("sec-websocket-key")
        try:
            ok = len(key) == 1 and len(base64.b64decode(key[0], validate=True)) == 16
        except ValueError:
            ok = False
        if not ok:
            return await self.text(req, 400, "bad Sec-WebSocket-Key\n")
        accept = base64.b64encode(hashlib.sha1(key[0] + WS_GUID).digest()).decode()
        self.keep = True
        await self.start(req, 101, (("Upgrade", "websocket"),
                                    ("Connection", "Upgrade"),
                                    ("Sec-WebSocket-Accept", accept)), "none")
        return True

    async def ws_send(self, op, payload):
        n = len(payload)
        if n < 126:
            hdr = bytes((0x80 | op, n))
        elif n < 65536:
            hdr = bytes((0x80 | op, 126)) + n.to_bytes(2, "big")
        else:
            hdr = bytes((0x80 | op, 127)) + n.to_bytes(8, "big")
        await self.write(hdr + payload)

    async def ws_close(self, code, why):
        """Fail or end the connection: send close CODE, await the peer's."""
        log("conn=%d ws: closing %d (%s)" % (self.cid, code, why))
        await self.ws_send(8, code.to_bytes(2, "big"))
        try:
            async with asyncio.timeout(2):
                while True:
                    op, _, _ = await self.ws_frame()
                    if op == 8:
                        break
        except (TimeoutError, asyncio.IncompleteReadError, PeerGone,
                WsError, ConnectionError):
            pass

    async def ws_frame(self):
        """One frame: (opcode, fin, unmasked payload)."""
        b0, b1 = await self.r.readexactly(2)
        if b0 & 0x70:
            raise WsError(1002, "RSV bits set")
        op = b0 & 0x0f
        fin = bool(b0 & 0x80)
        if not b1 & 0x80:
            raise WsError(1002, "unmasked client frame")
        n = b1 & 0x7f
        if n == 126:
            n = int.from_bytes(await self.r.readexactly(2), "big")
        elif n == 127:
            n = int.from_bytes(await self.r.readexactly(8), "big")
            if n >> 63:
                raise WsError(1002, "length with the top bit set")
        if op >= 8 and (not fin or n > 125):
            raise WsError(1002, "bad control frame")
        if op not in (0, 1, 2, 8, 9, 10):
            raise WsError(1002, "opcode %d" % op)
        if n > MAX_WS_MESSAGE:
            raise WsError(1009, "frame of %d bytes" % n)
        mask = await self.r.readexactly(4)
        data = await self.r.readexactly(n)
        if n:
            key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
            data = (int.from_bytes(data, "big") ^ key).to_bytes(n, "big")
        return op, fin, data

    async def websocket(self):
        msgs = 0
        parts, mop, size = [], 0, 0
        try:
            while True:
                op, fin, data = await self.ws_frame()
                if op == 9:
                    await self.ws_send(10, data)
                    continue
                if op == 10:
                    continue
                if op == 8:
                    code = await self.ws_peer_close(data)
                    log("conn=%d ws: closed by client %s after %d messages" % (
                        self.cid, code, msgs))
                    return
                if op == 0 and not mop:
                    raise WsError(1002, "continuation without a message")
                if op != 0 and mop:
                    raise WsError(1002, "new message inside a fragmented one")
                if op != 0:
                    mop = op
                size += len(data)
                if size > MAX_WS_MESSAGE:
                    raise WsError(1009, "message over %d bytes" % MAX_WS_MESSAGE)
                parts.append(data)
                if not fin:
                    continue
                msg = b"".join(parts)
                if mop == 1:
                    try:
                        msg.decode("utf-8")
                    except UnicodeDecodeError:
                        raise WsError(1007, "text message is not UTF-8")
                await self.ws_send(mop, msg)
                msgs += 1
                parts, mop, size = [], 0, 0
        except WsError as e:
            await self.ws_close(e.code, e.why)
        except asyncio.IncompleteReadError:
            log("conn=%d ws: EOF without a close frame after %d messages" % (
                self.cid, msgs))

    async def ws_peer_close(self, data):
        """Answer the client's close frame; returns its code (or None)."""
        code = None
        reply = b""
        if len(data) == 1:
            raise WsError(1002, "close payload of 1 byte")
        if len(data) >= 2:
            code = int.from_bytes(data[:2], "big")
            valid = (1000 <= code <= 1014 and code not in (1004, 1005, 1006)) \
                or 3000 <= code <= 4999
            if not valid:
                raise WsError(1002, "close code %d" % code)
            try:
                data[2:].decode("utf-8")
            except UnicodeDecodeError:
                raise WsError(1007, "close reason is not UTF-8")
            reply = data[:2]
        await self.ws_send(8, reply)
        return code


class WsError(Exception):
    def __init__(self, code, why):
        super().__init__(why)
        self.code = code
        self.why = why


# ------------------------------------------------------------------ server

class Server:
    def __init__(self, name):
        self.name = name
        self.connections = 0
        self.requests = 0

    async def handle(self, reader, writer):
        self.connections += 1
        await Conn(self, reader, writer, self.connections).run()


def log(msg):
    print("upstream: " + msg, file=sys.stderr, flush=True)


def write_ready(path, text):
    tmp = "%s.tmp-%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


async def main(args):
    srv = Server(args.name)
    server = await asyncio.start_server(srv.handle, "127.0.0.1", args.port,
                                        limit=MAX_HEAD, backlog=1024,
                                        reuse_address=True)
    port = server.sockets[0].getsockname()[1]
    log("listening on 127.0.0.1:%d" % port)
    if args.ready_file:
        write_ready(args.ready_file, "%d\n" % port)
    async with server:
        await server.serve_forever()


def parse_args():
    p = argparse.ArgumentParser(
        description="HTTP/1.1 origin server for the reverse-proxy tests "
        "(see the docstring for the endpoints).")
    p.add_argument("--port", type=int, required=True,
                   help="port on 127.0.0.1 (0: pick a free one)")
    p.add_argument("--ready-file", help="write the port here once listening")
    p.add_argument("--name", default="upstream",
                   help="value of the X-Upstream-Name response header")
    return p.parse_args()


if __name__ == "__main__":
    try:
        asyncio.run(main(parse_args()))
    except KeyboardInterrupt:
        pass
