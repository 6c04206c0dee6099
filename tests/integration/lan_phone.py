#!/usr/bin/python3
"""lan_phone.py: a phone on the LAN, for t_lan_path.sh.

A phone knows nothing but what it is shown: the URL of the `moat trust
share` page (the QR code) and, on the computer's screen, the fingerprint.
It trusts no CA of this machine.

    lan_phone.py root SHARE_URL OUT_DIR
        Opens the share page, finds the download link for Android (the
        link whose text says "Android"), downloads it, and writes it to
        OUT_DIR/root.der and OUT_DIR/root.pem.  Prints three lines:
            link <absolute URL of the download>
            type <its Content-Type>
            sha256 <AA:BB:... of the DER, as devices show it>
            page-fp <the fingerprint the page shows, AA:BB:...>
        Exit 0, or 1 with a reason on stderr (page or link missing, not a
        certificate).

    lan_phone.py get TRUST URL [--name NAME] [--ws]
        An HTTPS request to URL (https://IP:PORT/PATH): the TCP connection
        goes to URL's host and port; TLS verifies the certificate for NAME
        (default: URL's host) against TRUST only:
            a PEM file  trust exactly those certificates
            none        trust nothing
            system      the system's default CA store (what a phone has
                        before it installed the root)
        Prints "status N" and the body.  With --ws, a WebSocket handshake
        instead, then one text message: "status 101", "accept ok" (the
        Sec-WebSocket-Accept is right) and "echo TEXT" (what came back).
        Exit 0 when an HTTP answer came, 2 when certificate verification
        failed (the reason on stderr), 3 on any other error.
"""
import base64
import hashlib
import html.parser
import os
import socket
import ssl
import sys
import urllib.parse
import urllib.request


def fp(der):
    return ":".join("%02X" % b for b in hashlib.sha256(der).digest())


class Links(html.parser.HTMLParser):
    """Anchors (href and text) and the text of the fingerprint element."""

    def __init__(self):
        super().__init__()
        self.links = []
        self._a = None
        self.texts = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._a = [dict(attrs).get("href", ""), ""]

    def handle_endtag(self, tag):
        if tag == "a" and self._a is not None:
            self.links.append(tuple(self._a))
            self._a = None

    def handle_data(self, data):
        if self._a is not None:
            self._a[1] += data
        self.texts.append(data)


def no_proxy_opener():
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def cmd_root(share_url, out_dir):
    opener = no_proxy_opener()
    with opener.open(share_url, timeout=20) as r:
        page = r.read().decode("utf-8", "replace")
    p = Links()
    p.feed(page)
    android = [href for href, text in p.links if "Android" in text]
    if not android:
        sys.exit("no link for Android on the page %s (links: %r)" % (share_url, p.links))
    link = urllib.parse.urljoin(share_url, android[0])
    with opener.open(link, timeout=20) as r:
        ctype = r.headers.get("Content-Type", "")
        body = r.read()
    # What Android accepts as a CA certificate: DER, or PEM text.
    if body.startswith(b"-----BEGIN CERTIFICATE-----"):
        der = ssl.PEM_cert_to_DER_cert(body.decode("ascii"))
    else:
        der = body
    try:
        pem = ssl.DER_cert_to_PEM_cert(der)
        ssl.create_default_context(cadata=pem)  # parses, or raises
    except (ValueError, ssl.SSLError) as e:
        sys.exit("%s is not a certificate: %s" % (link, e))
    with open(os.path.join(out_dir, "root.der"), "wb") as f:
        f.write(der)
    with open(os.path.join(out_dir, "root.pem"), "w") as f:
        f.write(pem)
    # The fingerprint as the page shows it (64 hex digits with colons).
    page_fp = ""
    for t in p.texts:
        t = t.strip()
        if len(t) == 95 and all(c in "0123456789ABCDEF:" for c in t):
            page_fp = t
            break
    print("link %s" % link)
    print("type %s" % ctype)
    print("sha256 %s" % fp(der))
    print("page-fp %s" % page_fp)


def context(trust):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies, checks the name
    if trust == "system":
        ctx.load_default_certs()
    elif trust != "none":
        ctx.load_verify_locations(cafile=trust)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def read_response(s):
    data = b""
    while b"\r\n\r\n" not in data:
        b = s.recv(65536)
        if not b:
            break
        data += b
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    fields = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        fields[k.strip().lower()] = v.strip()
    return status, fields, rest


def plain_get(s, path, authority):
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: lan_phone\r\n"
               "Connection: close\r\n\r\n" % (path, authority)).encode())
    status, fields, body = read_response(s)
    n = int(fields.get("content-length", "-1"))
    while n < 0 or len(body) < n:
        b = s.recv(65536)
        if not b:
            break
        body += b
    s.close()
    print("status %d" % status)
    sys.stdout.write(body.decode("utf-8", "replace"))


def websocket(s, path, authority):
    """The upgrade, then one masked text frame; the echo is printed."""
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Key: %s\r\n\r\n" % (path, authority, key)).encode())
    status, fields, data = read_response(s)
    print("status %d" % status)
    if status != 101:
        return
    want = base64.b64encode(hashlib.sha1(
        (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
    print("accept %s" % ("ok" if fields.get("sec-websocket-accept") == want else "wrong"))
    text = b"hello over wss"
    mask = os.urandom(4)
    s.sendall(bytes([0x81, 0x80 | len(text)]) + mask +
              bytes(c ^ mask[i % 4] for i, c in enumerate(text)))
    while len(data) < 2 or len(data) < 2 + (data[1] & 0x7F):
        b = s.recv(65536)
        if not b:
            break
        data += b
    if len(data) >= 2 and data[0] == 0x81 and not data[1] & 0x80:
        print("echo %s" % data[2:2 + (data[1] & 0x7F)].decode("utf-8", "replace"))
    s.close()


def cmd_get(trust, url, name, ws):
    u = urllib.parse.urlsplit(url)
    host, port = u.hostname, u.port or 443
    path = (u.path or "/") + ("?" + u.query if u.query else "")
    shown = name or host  # the name typed into the phone (resolved to host by mDNS)
    authority = ("[%s]" % shown if ":" in shown else shown) + ("" if port == 443 else ":%d" % port)
    ctx = context(trust)
    try:
        s = ctx.wrap_socket(socket.create_connection((host, port), timeout=20),
                            server_hostname=shown)
    except ssl.SSLCertVerificationError as e:
        print("verification failed: %s" % e.verify_message, file=sys.stderr)
        sys.exit(2)
    except (ssl.SSLError, OSError) as e:
        print("connection failed: %s" % e, file=sys.stderr)
        sys.exit(3)
    try:
        if ws:
            websocket(s, path, authority)
        else:
            plain_get(s, path, authority)
    except (ssl.SSLError, OSError, ValueError, IndexError) as e:
        print("request failed: %s" % e, file=sys.stderr)
        sys.exit(3)


def main():
    a = sys.argv[1:]
    if len(a) == 3 and a[0] == "root":
        try:
            cmd_root(a[1], a[2])
        except OSError as e:
            sys.exit("cannot get the root from %s: %s" % (a[1], e))
        return
    if len(a) >= 3 and a[0] == "get":
        name, ws, rest = None, False, a[3:]
        while rest:
            if rest[0] == "--name" and len(rest) > 1:
                name, rest = rest[1], rest[2:]
            elif rest[0] == "--ws":
                ws, rest = True, rest[1:]
            else:
                sys.exit("unknown argument %r" % rest[0])
        cmd_get(a[1], a[2], name, ws)
        return
    sys.exit(__doc__)


if __name__ == "__main__":
    main()
