"""As-of section: `query --as-of T` on a generated log vs `rebuild` of a file holding only the
deliveries up to T."""

import os
import shlex
import shutil
import sqlite3
import sys

import tables
from common import HERE, create_nexmirror_db, log, run, timed, wait_for_quiet



ASOF_SQL = "SELECT count(*), coalesce(sum(length(data)), 0) FROM coworkers"
EVENT_COLUMNS = ", ".join(tables.EVENT_COLUMNS)


def as_of(args, sizes, work, results):
    """`query --as-of T` on a generated log vs `rebuild` of a file holding only the deliveries up to T
    (what as-of must fold), at the median version time and after the last, plus a full rebuild."""
    out = results.setdefault("asof", {})
    n = sizes["asof_size"]
    run_dir = os.path.join(work, f"asof-{n}")
    os.makedirs(run_dir)
    db = os.path.join(run_dir, "log.sqlite")
    create_nexmirror_db(args, db, run_dir)
    log(f"as-of: generating a log of {n} deliveries")
    gen = run([sys.executable, os.path.join(HERE, "gen_log.py"), db, str(n)], capture_output=True, text=True)
    log("  " + gen.stdout.strip())
    con = sqlite3.connect(db)
    total = con.execute("SELECT count(*) FROM events").fetchone()[0]
    median = con.execute("SELECT v FROM (SELECT coalesce(updated_on, received_at) AS v FROM events ORDER BY v) "
                         "LIMIT 1 OFFSET ?", (total // 2,)).fetchone()[0]
    con.close()
    out["events"] = total
    out["db_mib"] = os.path.getsize(db) / 2**20
    load = wait_for_quiet(args, "full rebuild")
    stdout, wall, rss = timed([args.bin, "rebuild", "--db", db])
    out["rebuild_all"] = {"wall_s": wall, "rss_mib": rss, "summary": stdout.strip(), "load_before": load,
                          "command": f"/usr/bin/time -v {args.bin} rebuild --db {db}"}
    log(f"as-of: full rebuild {stdout.strip()} | wall {wall:.2f} s")
    for label, instant in (("median", median), ("after last", "2100-01-01T00:00:00Z")):
        subset = os.path.join(run_dir, f"subset-{label.replace(' ', '-')}.sqlite")
        create_nexmirror_db(args, subset, run_dir)
        con = sqlite3.connect(subset)
        con.execute("ATTACH DATABASE ? AS src", (db,))
        con.execute(f"INSERT INTO events ({EVENT_COLUMNS}) SELECT {EVENT_COLUMNS} FROM src.events "
                    "WHERE coalesce(updated_on, received_at) <= ? ORDER BY seq", (instant,))
        con.commit()
        included = con.execute("SELECT count(*) FROM events").fetchone()[0]
        con.close()
        load = wait_for_quiet(args, f"as-of {label}")
        as_of_out, as_of_wall, as_of_rss = timed([args.bin, "query", "--db", db, "--as-of", instant, "--format", "csv", ASOF_SQL])
        load2 = wait_for_quiet(args, f"rebuild up to {label}")
        _, rebuild_wall, rebuild_rss = timed([args.bin, "rebuild", "--db", subset])
        subset_out = run([args.bin, "query", "--db", subset, "--format", "csv", ASOF_SQL], capture_output=True, text=True).stdout
        out[label] = {
            "instant": instant, "deliveries": included,
            "as_of": {"wall_s": as_of_wall, "rss_mib": as_of_rss, "load_before": load,
                      "command": f"/usr/bin/time -v {args.bin} query --db {db} --as-of {instant} --format csv {shlex.quote(ASOF_SQL)}"},
            "rebuild_subset": {"wall_s": rebuild_wall, "rss_mib": rebuild_rss, "load_before": load2,
                               "command": f"/usr/bin/time -v {args.bin} rebuild --db {subset}"},
            "same_replica": as_of_out == subset_out, "answer": as_of_out.strip().splitlines()[-1],
        }
        log(f"as-of {label} ({instant}, {included} deliveries): as-of {as_of_wall:.2f} s, rebuild of those "
            f"{rebuild_wall:.2f} s, same answer: {as_of_out == subset_out}")
        os.remove(subset)
    if not args.keep:
        shutil.rmtree(run_dir)

