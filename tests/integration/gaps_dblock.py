#!/usr/bin/python3
"""gaps_dblock.py: hold an exclusive lock on an SQLite database.

    gaps_dblock.py DB READY_FILE

Opens DB (moat's CA database, MOAT_HOME/ca/ca.db), takes an exclusive
lock (BEGIN EXCLUSIVE: no other connection may read or write it, as while
another process is in the middle of writing it), writes "locked" to
READY_FILE (atomically) and keeps the lock until it is terminated
(SIGTERM, SIGINT); then rolls back and exits 0.  Exit 1 if the lock cannot
be taken within 10 s.
"""
import os
import signal
import sqlite3
import sys


def main():
    db, ready = sys.argv[1], sys.argv[2]
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    con = sqlite3.connect(db, timeout=10, isolation_level=None)
    try:
        con.execute("BEGIN EXCLUSIVE")
    except sqlite3.Error as e:
        print("gaps_dblock: %s: %s" % (db, e), file=sys.stderr)
        return 1
    tmp = "%s.tmp-%d" % (ready, os.getpid())
    with open(tmp, "w") as f:
        f.write("locked\n")
    os.rename(tmp, ready)
    while not stop:
        signal.pause()
    con.execute("ROLLBACK")
    con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
