#!/usr/bin/python3
"""gaps_upstream6.py: upstream.py's origin server on an IPv6 address.

    gaps_upstream6.py --ready-file F [--host ::1] [--name NAME]

upstream.py listens on 127.0.0.1 only; this runs the same server (every
endpoint of upstream.py's docstring, imported from beside this file) on
HOST (default ::1) and a free port, writes the port to the ready file
(atomically) once listening, and adds nothing else.  Every request is also
logged with the peer's address ("upstream6: peer ::1 ...") to stderr.
"""
import argparse
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import upstream  # noqa: E402


async def main(args):
    srv = upstream.Server(args.name)

    async def handle(reader, writer):
        peer = writer.get_extra_info("peername")
        print("upstream6: peer %s" % (peer[0] if peer else "?"), file=sys.stderr, flush=True)
        await srv.handle(reader, writer)

    server = await asyncio.start_server(handle, args.host, 0, limit=upstream.MAX_HEAD,
                                        backlog=1024)
    port = server.sockets[0].getsockname()[1]
    print("upstream6: listening on [%s]:%d" % (args.host, port), file=sys.stderr, flush=True)
    upstream.write_ready(args.ready_file, "%d\n" % port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description="upstream.py on an IPv6 address")
    p.add_argument("--ready-file", required=True)
    p.add_argument("--host", default="::1")
    p.add_argument("--name", default="upstream6")
    try:
        asyncio.run(main(p.parse_args()))
    except KeyboardInterrupt:
        pass
