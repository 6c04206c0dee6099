#!/usr/bin/python3
r"""limits_logcheck.py: read a `moat serve` access log written during
t_serve_limits and say what is in it.

    limits_logcheck.py FILE json|combined

The test sends, in this order but on different connections:

  plain     GET /hello?m=plain           User-Agent: limits-test/1
  attacker  GET /secret-admin-action     User-Agent: attacker\xff
  utf8      GET /hello?m=utf8            User-Agent: 200 x U+00E9 (400 bytes)
  long      GET /hello?long=<1000 x ">   Referer and User-Agent: 250 x \xff
  rejected  three heads moat refuses (400, 431, 505)

Prints one JSON object: "lines" (complete lines), "partial" (bytes after
the last newline), "bad" (lines that are not one record of the format: for
json not strict UTF-8 or not a JSON object; for combined not the combined
pattern or not printable ASCII), "statuses" (sorted, of the records) and
one key per request above with what was found for it:

  plain:    {"found", "status", "ua"}
  attacker: {"found", "ua"}        ua as logged (for combined: the text
                                   between the quotes, escapes as written)
  utf8:     {"found", "ua_valid": the value (combined: unescaped) is strict
             UTF-8 made of whole U+00E9 only, "chars": how many}
  long:     {"found", "uri_ok" (json: the whole target), "referer_ok",
             "ua_ok" (json: exactly 250 escaped \xff each)}
"""
import json
import re
import sys

COMBINED = re.compile(
    r'^(\S+) - - \[([^\]]*)\] "((?:[^"\\]|\\.)*)" (\d{3}) (\d+) '
    r'"((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)" (\S+) (\S+)$')
LONG_TARGET = "/hello?long=" + '"' * 1000
FF250 = "\\xff" * 250


def unescape(s):
    """\\xNN and \\<char> as moat's combined format writes them -> bytes."""
    out = bytearray()
    i = 0
    while i < len(s):
        if s[i] == "\\" and i + 3 < len(s) and s[i + 1] == "x" and \
                re.match(r"[0-9a-fA-F]{2}", s[i + 2:i + 4]):
            out.append(int(s[i + 2:i + 4], 16))
            i += 4
        elif s[i] == "\\" and i + 1 < len(s):
            out += s[i + 1].encode("latin-1")
            i += 2
        else:
            out += s[i].encode("latin-1")
            i += 1
    return bytes(out)


def utf8_e9_only(b):
    try:
        t = b.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        return False, 0
    return (len(t) > 0 and set(t) == {"\u00e9"}), len(t)


def main():
    path, fmt = sys.argv[1], sys.argv[2]
    data = open(path, "rb").read()
    raw_lines = data.split(b"\n")
    partial = len(raw_lines[-1])
    raw_lines = raw_lines[:-1]
    recs = []
    bad = 0
    for rl in raw_lines:
        if fmt == "json":
            try:
                d = json.loads(rl.decode("utf-8", errors="strict"))
                if not isinstance(d, dict):
                    raise ValueError("not an object")
            except (UnicodeDecodeError, ValueError):
                bad += 1
                continue
            recs.append({"uri": d.get("uri"), "status": d.get("status"),
                         "ua": d.get("user_agent"), "referer": d.get("referer"),
                         "ua_bytes": None})
        else:
            line = rl.decode("latin-1")
            m = COMBINED.match(line)
            if m is None or any(c < 0x20 or c > 0x7e for c in rl):
                bad += 1
                continue
            req = m.group(3)
            parts = req.split(" ")
            recs.append({"uri": parts[1] if len(parts) > 1 else req,
                         "status": int(m.group(4)), "ua": m.group(7),
                         "referer": m.group(6), "ua_bytes": unescape(m.group(7))})
    r = {"lines": len(raw_lines), "partial": partial, "bad": bad,
         "statuses": sorted(x["status"] for x in recs if isinstance(x["status"], int))}

    def find(pred):
        for x in recs:
            if isinstance(x["uri"], str) and pred(x["uri"]):
                return x
        return None

    x = find(lambda u: u == "/hello?m=plain")
    r["plain"] = {"found": x is not None, "status": x and x["status"], "ua": x and x["ua"]}
    x = find(lambda u: u == "/secret-admin-action")
    r["attacker"] = {"found": x is not None, "ua": x and x["ua"]}
    x = find(lambda u: u == "/hello?m=utf8")
    if x is None:
        r["utf8"] = {"found": False, "ua_valid": False, "chars": 0}
    else:
        if fmt == "json":
            b = x["ua"].encode("utf-8", errors="surrogatepass") if isinstance(x["ua"], str) else b""
        else:
            b = x["ua_bytes"]
            if b.endswith(b"..."):
                b = b[:-3]  # the format's own "cut here" mark
        ok, n = utf8_e9_only(b)
        r["utf8"] = {"found": True, "ua_valid": ok, "chars": n}
    x = find(lambda u: u.startswith("/hello?long="))
    if x is None:
        r["long"] = {"found": False, "uri_ok": False, "referer_ok": False, "ua_ok": False}
    elif fmt == "json":
        r["long"] = {"found": True, "uri_ok": x["uri"] == LONG_TARGET,
                     "referer_ok": x["referer"] == FF250, "ua_ok": x["ua"] == FF250}
    else:
        # combined: the fields may be cut ("..."), but what is there is the
        # escaped text of what was sent.
        ref = unescape(x["referer"])
        ua = x["ua_bytes"]
        r["long"] = {"found": True,
                     "uri_ok": set(unescape(x["uri"])[len("/hello?long="):].rstrip(b".")) <= {0x22},
                     "referer_ok": len(ref) > 3 and set(ref.rstrip(b".")) == {0xff},
                     "ua_ok": len(ua) > 3 and set(ua.rstrip(b".")) == {0xff}}
    print(json.dumps(r))


if __name__ == "__main__":
    main()
