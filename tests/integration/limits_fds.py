#!/usr/bin/python3
"""limits_fds.py: bring a server to its file-descriptor limit, then free
exactly one descriptor and send a request through it.

    limits_fds.py --pid PID --port HTTP_PORT [--name chat.localhost]
                  [--path /hello] [--spare 12]

For `moat serve` with one worker, plain HTTP proxied (redirect off) and a
long idle-timeout.  Run as root (or as the server's user).

 1. Lowers the server's RLIMIT_NOFILE soft limit (prlimit(2)) so that
    exactly --spare descriptor numbers below it are free (from
    /proc/PID/fd).
 2. Opens idle plain-TCP connections to 127.0.0.1:PORT one at a time; each
    one is either taken by the server (its descriptor count grows) or, once
    none are left, accepted and closed at once (libuv's EMFILE trick: this
    connection sees EOF).  Stops at the first such close: the server is full.
 3. Closes one of the idle connections and waits until the server has
    closed its end (its count drops by one): exactly one descriptor free.
 4. A new connection sends "GET PATH" (Connection: close): the accept takes
    the free descriptor, so the connection to the upstream cannot get one.
 5. Closes everything, waits for the server to let go of it, sends one more
    request on a new connection (the server still works), and puts the
    soft limit back.

One JSON object on stdout:
  {"limit", "fds_before", "held", "full", "freed": the count went down by
   one after step 3, "status": the status of step 4 (null: none),
   "seconds": from sending it to its status line, "after_status": step 5's,
   "error": only when something went wrong}
"""
import argparse
import json
import os
import resource
import select
import socket
import time


def fds(pid):
    return [int(x) for x in os.listdir("/proc/%d/fd" % pid)]


def nfds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def wait_until(pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.01)  # poll interval
    return pred()


def closed_by_peer(s):
    r, _, _ = select.select([s], [], [], 0)
    if not r:
        return False
    try:
        return s.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def request(port, name, path, timeout):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    t0 = time.monotonic()
    s.sendall(b"GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
              % (path.encode(), name.encode()))
    buf = b""
    status = None
    try:
        while b"\r\n" not in buf:
            b = s.recv(4096)
            if not b:
                break
            buf += b
        if b"\r\n" in buf:
            status = int(buf.split(b"\r\n", 1)[0].split()[1])
    except (OSError, ValueError, IndexError):
        pass
    secs = round(time.monotonic() - t0, 3)
    s.close()
    return status, secs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--name", default="chat.localhost")
    ap.add_argument("--path", default="/hello")
    ap.add_argument("--spare", type=int, default=12)
    a = ap.parse_args()
    pid = a.pid
    r = {"limit": None, "fds_before": None, "held": 0, "full": False, "freed": False,
         "status": None, "seconds": None, "after_status": None}
    old = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    held = []
    try:
        open_now = set(fds(pid))
        # The smallest limit with exactly --spare free numbers below it
        # (descriptors numbered above it, inherited ones say, stay usable:
        # the limit only bounds the numbers of new ones).
        limit = 0
        while limit - len([f for f in open_now if f < limit]) < a.spare:
            limit += 1
        r["limit"] = limit
        r["fds_before"] = len(open_now)
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (limit, old[1]))
        for _ in range(a.spare + 20):
            before = nfds(pid)
            s = socket.create_connection(("127.0.0.1", a.port), timeout=5)
            got = {}

            def settled():
                if nfds(pid) > before:
                    got["how"] = "held"
                    return True
                if closed_by_peer(s):
                    got["how"] = "closed"
                    return True
                return False

            if not wait_until(settled, 3):
                r["error"] = "a connection was neither held nor closed within 3 s"
                s.close()
                break
            if got["how"] == "closed":
                r["full"] = True
                s.close()
                break
            held.append(s)
        r["held"] = len(held)
        if r["full"] and held:
            n_full = nfds(pid)
            held.pop(0).close()
            r["freed"] = wait_until(lambda: nfds(pid) == n_full - 1, 5)
            r["fds_full"] = n_full
            if r["freed"]:
                r["status"], r["seconds"] = request(a.port, a.name, a.path, 15)
        for s in held:
            s.close()
        held = []
        wait_until(lambda: nfds(pid) <= r["fds_before"] + 1, 5)
        r["after_status"], _ = request(a.port, a.name, a.path, 10)
    except OSError as e:
        r["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        for s in held:
            s.close()
        try:
            resource.prlimit(pid, resource.RLIMIT_NOFILE, old)
        except OSError:
            pass
    print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
