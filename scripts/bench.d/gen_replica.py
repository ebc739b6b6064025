#!/usr/bin/env python3
"""Fills the replica tables `coworkers` and `bookings` of a nexmirror SQLite file directly, for
the query and export benchmarks (what a folded account of that size holds: the same columns
nexmirror's projections write, `data` = the DTO text).

usage: gen_replica.py DB --coworkers N --bookings M [--seed S]
"""

import argparse
import os
import random
import sqlite3
import sys

import time

sys.dont_write_bytecode = True  # keep the repo free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nexgen as g  # noqa: E402
from tables import columns  # noqa: E402

TICKS = g.TICKS


def insert(table):
    """Rows below are in the table's column order (tables.py), named so a new column fails loudly."""
    names = columns(table)
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("--coworkers", type=int, required=True)
    parser.add_argument("--bookings", type=int, required=True)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    started = time.time()
    rnd = random.Random(args.seed)
    con = sqlite3.connect(args.db, isolation_level=None)
    con.execute("PRAGMA synchronous = OFF")
    con.execute("PRAGMA cache_size = -262144")
    span = 2 * 365 * 86400 * TICKS
    coworkers = []
    seq = 0

    con.execute("BEGIN")
    rows = []
    for n in range(args.coworkers):
        cid = 1_419_000_000 + n * 7
        created = g.BASE_TICKS + rnd.randrange(span)
        updated = created + rnd.randrange(90 * 86400 * TICKS)
        e = {"id": cid, "uid": g.uuid(rnd), "created": created, "biz": rnd.choice(g.BUSINESSES),
             "name": g.person(rnd), "ctype": 1 if rnd.random() < 0.8 else 2,
             "company": rnd.choice(g.COMPANIES) if rnd.random() < 0.6 else None}
        body = g.coworker(e, updated, rnd.choice(g.DATE_FORMS), rnd)
        dto = body[1:-1]
        # Column values exactly as the fold writes them, read back from the DTO text.
        seq += 1
        rows.append((cid, e["uid"], g.canonical(created), g.canonical(updated), e["name"], f"m{cid}@example.org",
                     e["company"], "individual" if e["ctype"] == 1 else "company",
                     1 if '"Active":true' in dto else 0, 1 if '"Archived":true' in dto else 0,
                     int(dto.split('"TariffId":', 1)[1].split(",", 1)[0]),
                     dto.split('"TariffName":"', 1)[1].split('"', 1)[0], e["biz"][0], seq, dto))
        coworkers.append((cid, e["name"]))
        if len(rows) >= 20_000:
            con.executemany(insert("coworkers"), rows)
            rows = []
    con.executemany(insert("coworkers"), rows)
    con.execute("COMMIT")

    con.execute("BEGIN")
    rows = []
    for n in range(args.bookings):
        bid = 1_500_000_000 + n * 3
        created = g.BASE_TICKS + rnd.randrange(span)
        updated = created + rnd.randrange(3 * 86400 * TICKS)
        cid, cname = rnd.choice(coworkers)
        start = created + rnd.randint(1, 60 * 24) * 1800 * TICKS
        start -= start % (900 * TICKS)
        minutes = rnd.choice([30, 60, 90, 120, 240, 480])
        resource = rnd.choice(g.RESOURCES)
        e = {"id": bid, "uid": g.uuid(rnd), "created": created, "coworker": cid, "name": cname,
             "resource": resource, "from": start, "minutes": minutes}
        body = g.booking(e, updated, rnd.choice(g.DATE_FORMS), rnd)
        dto = body[1:-1]
        seq += 1
        rows.append((bid, e["uid"], g.canonical(created), g.canonical(updated), cid, resource[0], resource[1],
                     g.canonical(start), g.canonical(start + minutes * 60 * TICKS),
                     1 if '"Tentative":true' in dto else 0, 1 if '"Online":true' in dto else 0,
                     1 if '"Invoiced":true' in dto else 0, seq, dto))
        if len(rows) >= 20_000:
            con.executemany(insert("bookings"), rows)
            rows = []
    con.executemany(insert("bookings"), rows)
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    print(f"generated {args.coworkers} coworkers and {args.bookings} bookings in {time.time() - started:.1f} s")


if __name__ == "__main__":
    main()
