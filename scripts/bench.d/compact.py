#!/usr/bin/env python3
"""`nexmirror compact` on a generated log: wall time, peak RSS, bytes the process wrote, file size
before and after, what was removed, and that `rebuild` after it gives the same replica.

A nexmirror file is created by the binary (serve once), filled by gen_log.py, folded by
`nexmirror rebuild`, then copied so `compact` and `compact --vacuum` each start from the same log.

usage: scripts/bench.d/compact.py --bin .build/release/nexmirror [--events 1000000]
           [--shape versions|many-entity] [--workdir DIR] [--log FILE]
  --log FILE: reuse an already generated and folded log instead of generating one.
  --in-place: compact that file itself, once; skip the --vacuum run, the rebuild and check after.
"""

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
TABLES = ["coworkers", "bookings", "invoices", "invoice_events", "teams", "team_members", "checkins",
          "proposals", "contracts", "entities", "tombstones"]


def measured(argv):
    """Runs argv: (stdout, wall s, peak RSS MiB, bytes written as /proc/PID/io counts them)."""
    started = time.time()
    proc = subprocess.Popen(["/usr/bin/time", "-f", "%M", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    written = 0
    child = None
    while proc.poll() is None:
        try:
            if child is None:
                with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
                    pids = f.read().split()
                    child = pids[0] if pids else None
            if child:
                with open(f"/proc/{child}/io") as f:
                    for line in f:
                        if line.startswith("write_bytes:"):
                            written = int(line.split()[1])
        except OSError:
            pass
        time.sleep(0.02)
    out, err = proc.communicate()
    wall = time.time() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {out}{err}")
    rss = int(err.strip().splitlines()[-1]) / 1024
    return out, wall, rss, written


def files(db):
    return {suffix or "db": os.path.getsize(db + suffix) if os.path.exists(db + suffix) else 0
            for suffix in ("", "-wal")}


def replica_digest(db):
    con = sqlite3.connect(db)
    digest = {}
    for table in TABLES:
        h = hashlib.sha256()
        for row in con.execute(f"SELECT * FROM {table} ORDER BY 1, 2"):
            h.update(repr(row).encode())
        digest[table] = h.hexdigest()
    con.close()
    return digest


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--shape", default="versions")
    parser.add_argument("--workdir")
    parser.add_argument("--log")
    parser.add_argument("--in-place", action="store_true",
                        help="compact --log itself (no copy), once, without --vacuum, rebuild or check afterwards")
    args = parser.parse_args()
    work = args.workdir or tempfile.mkdtemp(prefix="nexmirror-compact-")
    os.makedirs(work, exist_ok=True)
    source = args.log
    if not source:
        source = os.path.join(work, "log.sqlite")
        server = subprocess.Popen([args.bin, "serve", "--db", source, "--port", "0", "--log-level", "error",
                                   "--insecure-no-signature"], stdout=subprocess.PIPE, text=True)
        server.stdout.readline()
        server.terminate()
        server.wait()
        subprocess.run([sys.executable, os.path.join(HERE, "gen_log.py"), source, str(args.events), "--shape",
                        args.shape], check=True)
        subprocess.run([args.bin, "rebuild", "--db", source], check=True, capture_output=True)
    results = {"source": source}
    runs = (("compact", []),) if args.in_place else (("compact", []), ("compact --vacuum", ["--vacuum"]))
    for label, extra in runs:
        db = source if args.in_place else os.path.join(work, "run.sqlite")
        if not args.in_place:
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(db + suffix):
                    os.remove(db + suffix)
            shutil.copyfile(source, db)
        # gen_log.py writes without secure_delete: mark the file as a database of this release
        # would be marked, so the figure is compact's own work; the one-off rewrite a database
        # from an earlier release gets on its first compact or erasure costs what --vacuum does.
        con = sqlite3.connect(db)
        con.execute("INSERT OR IGNORE INTO store_facts (name, value) VALUES ('secure_delete_since', 'bench')")
        con.commit()
        con.close()
        before = replica_digest(db)
        size_before = files(db)
        events_before = sqlite3.connect(db).execute("SELECT count(*) FROM events").fetchone()[0]
        command = [args.bin, "compact", "--db", db, "--before", "2100-01-01", *extra]
        out, wall, rss, written = measured(command)
        size_after = files(db)
        events_after = sqlite3.connect(db).execute("SELECT count(*) FROM events").fetchone()[0]
        rebuild_wall = None
        if not args.in_place:
            _, rebuild_wall, _, _ = measured([args.bin, "rebuild", "--db", db])
        same = replica_digest(db) == before
        check = subprocess.run([args.bin, "check", "--db", db] if not args.in_place else ["true"], capture_output=True, text=True)
        results[label] = {
            "command": " ".join(command), "wall_s": round(wall, 2), "rss_mib": round(rss), "written_mib":
            round(written / 2**20, 1), "events_before": events_before, "events_after": events_after,
            "file_mib_before": round(size_before["db"] / 2**20, 1), "file_mib_after": round(size_after["db"] / 2**20, 1),
            "wal_after": size_after["-wal"], "summary": out.strip(), "rebuild_same_replica": same,
            "check_exit": check.returncode, "rebuild_after_s": rebuild_wall and round(rebuild_wall, 2),
        }
        print(f"{label}: {wall:.2f} s, peak RSS {rss:.0f} MiB, wrote {written / 2**20:.1f} MiB; events "
              f"{events_before} -> {events_after}; file {size_before['db'] / 2**20:.1f} -> "
              f"{size_after['db'] / 2**20:.1f} MiB, WAL {size_after['-wal']} bytes; same replica after: {same}"
              + ("" if args.in_place else f" (after rebuild); check exit {check.returncode}"), flush=True)
        print("  " + out.strip().replace("\n", "\n  "), flush=True)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
