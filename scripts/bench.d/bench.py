#!/usr/bin/env python3
"""nexmirror benchmarks: ingest, rebuild, query/export, each against its limit and a typical
alternative, side by side. Run through `scripts/bench` (which builds the release binary).

Every server listens on 127.0.0.1 only, every load run is bounded by wrk's -d, and every
generated file lives under the work directory (default: a fresh /tmp/nexmirror-bench.*).

One module per section (ingest.py, rebuild.py, query.py, asof.py), shared helpers in common.py,
table and column names in tables.py, the report in report.py.
"""

import argparse
import datetime
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep the repo free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from asof import as_of  # noqa: E402
from common import fsync_micros, loadavg, log  # noqa: E402
from ingest import ingest  # noqa: E402
from query import query  # noqa: E402
from rebuild import rebuild  # noqa: E402
from report import report  # noqa: E402

SHAPES = ["versions", "many-entity"]  # gen_log.py --shape: both are rebuilt at every size
QUICK = {"duration": 10, "rebuild_sizes": [20_000, 100_000], "rebuild_shapes": SHAPES, "coworkers": 10_000, "bookings": 100_000, "runs": 5,
         "asof_size": 100_000}
FULL = {"duration": 30, "rebuild_sizes": [200_000, 1_000_000], "rebuild_shapes": SHAPES, "coworkers": 100_000, "bookings": 1_000_000, "runs": 5,
        "asof_size": 1_000_000}


def machine_facts(mode):
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = f"{int(f.readline().split()[1]) / 2**20:.0f} GiB RAM"
    return {"nproc": os.cpu_count(), "cpu": cpu, "mem": mem,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "load_start": " ".join(f"{x:.2f}" for x in loadavg()), "mode": mode,
            "sqlite": subprocess.run(["sqlite3", "--version"], capture_output=True, text=True).stdout.split()[0]}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bin", required=True, help="the release nexmirror binary")
    parser.add_argument("--quick", action="store_true", help="small sizes: finishes in a few minutes")
    parser.add_argument("--only", default="ingest,rebuild,query,asof", help="comma-separated sections to run")
    parser.add_argument("--workdir", help="where generated data goes (default: a new /tmp/nexmirror-bench.*)")
    parser.add_argument("--keep", action="store_true", help="keep generated databases")
    parser.add_argument("--duration", type=int, help="seconds per wrk run (overrides the mode's)")
    parser.add_argument("--rebuild-sizes", help="comma-separated log sizes for rebuild (overrides the mode's)")
    parser.add_argument("--shapes", help=f"comma-separated log shapes for rebuild (default: {','.join(SHAPES)})")
    parser.add_argument("--max-busy", type=float, default=25,
                        help="wait before each measurement while other work keeps more than this %% of the CPUs busy")
    parser.add_argument("--load-wait", type=float, default=120, help="longest wait for a quiet machine before each measurement, seconds")
    args = parser.parse_args()
    # SIGTERM unwinds like Ctrl-C, so every server started so far is stopped by its `finally`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    sizes = dict(QUICK if args.quick else FULL)
    if args.duration:
        sizes["duration"] = args.duration
    if args.rebuild_sizes:
        sizes["rebuild_sizes"] = [int(x) for x in args.rebuild_sizes.split(",")]
    if args.shapes:
        sizes["rebuild_shapes"] = args.shapes.split(",")
    work = args.workdir or tempfile.mkdtemp(prefix="nexmirror-bench.", dir="/tmp")
    os.makedirs(work, exist_ok=True)
    results = {"machine": machine_facts("quick" if args.quick else "full"), "sizes": sizes}
    results["machine"]["fsync_us"] = round(fsync_micros(work))
    log(f"work directory {work}; results in {work}/results.json and {work}/results.md")
    sections = {"ingest": ingest, "rebuild": rebuild, "query": query, "asof": as_of}
    for name in args.only.split(","):
        started = time.time()
        sections[name](args, sizes, work, results)
        results.setdefault("section_seconds", {})[name] = round(time.time() - started, 1)
        with open(os.path.join(work, "results.json"), "w") as f:
            json.dump(results, f, indent=1)
    results["machine"]["load_end"] = " ".join(f"{x:.2f}" for x in loadavg())
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    text = report(results, args)
    with open(os.path.join(work, "results.md"), "w") as f:
        f.write(text + "\n")
    print()
    print(text)


if __name__ == "__main__":
    main()
