#!/usr/bin/env python3
"""Profiles where nexmirror spends its CPU in each benchmark, with perf (cpu-clock sampling,
call graphs), and prints the share of samples under the functions that matter.

usage: profile.py --bin NEXMIRROR [--only ingest1,ingest64,rebuild,export] [--seconds 8]
(run through `scripts/bench --profile`). Needs `perf` (Debian: linux-perf); hardware counters
are not needed: the cpu-clock software event works inside VMs.

Each share is "children" time: samples in that function or anything it calls, as a % of all
samples of the process (all its threads). Shares overlap (a caller includes its callees).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys

import tempfile
import time

sys.dont_write_bytecode = True  # keep the repo free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import ingest  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

BUCKETS = {
    "ingest": [
        ("HTTP server event loops (NIO: socket I/O, HTTP/1 codec)", "SelectableEventLoop.run()"),
        ("webhook route handler (whole request, excluding the commit wait)", "closure #1 in buildRouter("),
        ("  signature check (HMAC-SHA256, ASCII fold)", "NexudusSignature.Verifier.verify(header:body:)"),
        ("  NewDelivery.init: SHA-256 + DTO scan to index the log row", "NewDelivery.init(action:body:source:signature:receivedAt:)"),
        ("log append transaction (SQLiteStore.append)", "closure #1 in SQLiteStore.append(_:)"),
        ("  fdatasync", "fdatasync"),
        ("projector fold (SQLiteStore.foldPending)", "closure #1 in SQLiteStore.foldPending(limit:)"),
        ("all DTO scans (DeliveryBody.decode: ingest + fold)", "static DeliveryBody.decode(_:for:)"),
        ("Swift runtime generic metadata lookups", "_swift_getGenericMetadata"),
        ("kernel context switches (finish_task_switch)", "finish_task_switch"),
        ("futex waits/wakes (thread hand-offs)", "do_futex"),
    ],
    "rebuild": [
        ("folding in entity order (EntityOrderedFold.foldBatch)", "EntityOrderedFold.foldBatch("),
        ("  one entity's outcome written (ReplicaFolder.apply)", "ReplicaFolder.apply("),
        ("  DTO scan: validate the body, find member positions (JSONParser.scanDocument)", "JSONParser.scanDocument()"),
        ("  field lookups by name (DTO.member)", "DTO.member(_:)"),
        ("  UTF-8 text for the data column and string fields (String._fromUTF8Repairing)", "String._fromUTF8Repairing("),
        ("  statement cache lookups by SQL text (Database.cachedStatement)", "Database.cachedStatement(sql:)"),
        ("  Timestamp.description (canonical text)", "Timestamp.description.getter"),
        ("  projections' column extraction (all Projection.project)", "Projection.project(_:) in conformance"),
        ("Swift runtime generic metadata lookups", "_swift_getGenericMetadata"),
        ("SQLite VM (self)", "sqlite3VdbeExec"),
        ("file reads (pread)", "__libc_pread"),
        ("file writes (pwrite)", "__libc_pwrite"),
    ],
    "export": [
        ("rows written: SQLite column bytes to CSV (DelimitedWriter.write)", "DelimitedWriter.write(_:arguments:)"),
        ("  quoting scan and copy (DelimitedWriter.csvField)", "DelimitedWriter.csvField("),
        ("Swift runtime generic metadata lookups", "_swift_getGenericMetadata"),
        ("SQLite VM (self)", "sqlite3VdbeExec"),
        ("file reads (pread)", "__libc_pread"),
        ("process start and exit (dynamic loading: ld-linux)", "_dl_relocate_object"),
    ],
}


def shares(perf_data):
    report = subprocess.run(["perf", "report", "-i", perf_data, "--stdio", "--children", "--sort", "sym", "-g", "none"],
                            capture_output=True, text=True).stdout
    demangled = subprocess.run(["swift", "demangle", "--simplified"], input=report, capture_output=True, text=True).stdout
    rows = []
    for line in demangled.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+([\d.]+)%\s+\[[.k]\]\s+(.*)", line)
        if m:
            rows.append((float(m.group(1)), float(m.group(2)), m.group(3)))
    samples = re.search(r"of event 'cpu-clock'.*?\n# Event count \(approx.\): (\d+)", report, re.S)
    return rows, samples


def print_buckets(kind, perf_data, note):
    rows, _ = shares(perf_data)
    print(f"\n## {kind}: {note}")
    print("| where | % of samples |\n|---|---:|")
    for label, needle in BUCKETS[kind]:
        found = [children for children, _, sym in rows if needle in sym]
        print(f"| {label} | {max(found) if found else 0.0:.1f} |")
    top = sorted(rows, key=lambda r: -r[1])[:12]
    print("\nTop functions by self time: " + "; ".join(f"{sym[:70]} {own:.1f}%" for _, own, sym in top))


def profile_command(args, work, kind, db_name, generator, command, note):
    """Generates data into a fresh nexmirror file, then runs one CLI command under perf."""
    run_dir = os.path.join(work, kind)
    os.makedirs(run_dir)
    db = os.path.join(run_dir, db_name)
    common.create_nexmirror_db(args, db, run_dir)
    subprocess.run([sys.executable, os.path.join(HERE, generator[0]), db, *generator[1:]], check=True)
    perf_data = os.path.join(run_dir, "perf.data")
    started = time.time()
    subprocess.run(perf_record(perf_data, [args.bin, *command, "--db", db]), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print_buckets(kind, perf_data, note(time.time() - started))


def perf_record(out, target):
    return ["perf", "record", "-F", "999", "-e", "cpu-clock", "-g", "-o", out, *target]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--only", default="ingest1,ingest64,rebuild,export")
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()
    if not shutil.which("perf"):
        sys.exit("profile: perf is missing (apt-get install linux-perf)")
    work = tempfile.mkdtemp(prefix="nexmirror-profile.", dir="/tmp")
    only = args.only.split(",")
    try:
        if any(x.startswith("ingest") for x in only):
            data = os.path.join(work, "ingest-data")
            subprocess.run([sys.executable, os.path.join(HERE, "gen_ingest.py"), data, "--secret", common.SECRET,
                            "--per-thread", str(args.seconds * 10_000), "--threads", "2"], check=True)
            for connections in (1, 64):
                if f"ingest{connections}" not in only:
                    continue
                run_dir = os.path.join(work, f"ingest-c{connections}")
                os.makedirs(run_dir)
                server = common.Server([args.bin, "serve", "--db", os.path.join(run_dir, "e.sqlite"), "--port", "0",
                                       "--log-level", "error"], os.path.join(run_dir, "server.log"))
                perf_data = os.path.join(run_dir, "perf.data")
                perf = subprocess.Popen(perf_record(perf_data, ["-p", str(server.proc.pid), "--", "sleep",
                                                               str(args.seconds)]),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                r = ingest.wrk(f"http://127.0.0.1:{server.port}", os.path.join(HERE, "post.lua"), connections,
                              args.seconds + 1, os.path.join(run_dir, "wrk.json"), extra=[data])
                perf.wait(timeout=60)
                server.stop()
                print_buckets("ingest", perf_data, f"{connections} connection(s), {r['rate']:.0f} deliveries/s under perf")
        if "rebuild" in only:
            profile_command(args, work, "rebuild", "log.sqlite", ["gen_log.py", "100000", "--shape", "many-entity"], ["rebuild"],
                            lambda seconds: f"100000 events, {seconds:.1f} s under perf")
        if "export" in only:
            profile_command(args, work, "export", "replica.sqlite",
                            ["gen_replica.py", "--coworkers", "20000", "--bookings", "300000"],
                            ["export", "bookings"], lambda _: "export bookings, 300000 rows")
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
