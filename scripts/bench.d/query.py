"""Query section: `nexmirror query --format csv` and `nexmirror export bookings` vs `sqlite3 -csv`
on a generated replica (hyperfine), with the outputs compared as parsed CSV."""

import csv
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

from common import HERE, create_nexmirror_db, log, run, timed, wait_for_quiet



QUERIES = {
    "members csv": "SELECT id, full_name, email, company_name, coworker_type, tariff_name, business_id "
                   "FROM members ORDER BY full_name, id",
    "bookings join csv": "SELECT b.id, b.from_time, b.to_time, b.resource_name, c.full_name, c.email "
                         "FROM bookings AS b JOIN coworkers AS c ON c.id = b.coworker_id ORDER BY b.from_time, b.id",
    "hours per resource/month": "SELECT resource_name, substr(from_time, 1, 7) AS month, count(*) AS bookings, "
                                "round(sum((julianday(to_time) - julianday(from_time)) * 24), 2) AS hours "
                                "FROM bookings GROUP BY 1, 2 ORDER BY 1, 2",
}


def subcommands(binary):
    text = subprocess.run([binary, "--help"], capture_output=True, text=True).stdout
    section = text.split("SUBCOMMANDS:", 1)[-1]
    return set(re.findall(r"^\s{2}(\w+)\s", section, re.M))


def export_sql():
    """The sqlite3 twin of `nexmirror export bookings` (same columns and order), if known."""
    path = os.path.join(HERE, "export_bookings.sql")
    if os.path.exists(path):
        return open(path).read().strip()
    return None


def parse_csv(data):
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def hyperfine(commands, runs, json_path):
    argv = ["hyperfine", "-N", "--warmup", "1", "--runs", str(runs), "--export-json", json_path, *commands]
    run(argv, capture_output=True, text=True, timeout=3600)
    with open(json_path) as f:
        data = json.load(f)["results"]
    return [{"command": c, "mean_s": d["mean"], "stddev_s": d["stddev"], "median_s": d["median"],
             "max_rss_mib": None} for c, d in zip(commands, data)], argv


def query(args, sizes, work, results):
    out = results.setdefault("query", {})
    available = subcommands(args.bin)
    missing = [c for c in ("query", "export") if c not in available]
    run_dir = os.path.join(work, "query")
    os.makedirs(run_dir)
    db = os.path.join(run_dir, "replica.sqlite")
    if "query" not in available and "export" not in available:
        out["skipped"] = "query/export not available"
        log("query: skipped: query/export not available in this build")
        return
    create_nexmirror_db(args, db, run_dir)
    log(f"query: generating {sizes['coworkers']} coworkers and {sizes['bookings']} bookings")
    gen = run([sys.executable, os.path.join(HERE, "gen_replica.py"), db, "--coworkers", str(sizes["coworkers"]),
               "--bookings", str(sizes["bookings"])], capture_output=True, text=True)
    log("  " + gen.stdout.strip())
    out["replica"] = gen.stdout.strip()
    cases = []
    if "query" in available:
        for name, sql in QUERIES.items():
            cases.append((name, f"{args.bin} query --db {db} --format csv {shlex.quote(sql)}",
                          f"sqlite3 -csv -header {db} {shlex.quote(sql)}"))
    else:
        out["query"] = "skipped: query not available"
    # Process start alone: what every small query pays before its first row.
    cases.append(("process start (--version)", f"{args.bin} --version", "sqlite3 --version"))
    if "export" in available and export_sql():
        cases.append(("export bookings", f"{args.bin} export bookings --db {db}",
                      f"sqlite3 -csv -header {db} {shlex.quote(export_sql())}"))
    else:
        out["export"] = "skipped: query/export not available" if "export" not in available else \
            "skipped: no sqlite3 twin (export_bookings.sql) for this export"
    for name, ours, theirs in cases:
        load = wait_for_quiet(args, f"query {name}")
        log(f"query: {name} (load {load[0]:.2f}, other work {load[3]:.0f} % CPU)")
        # Same output first: rows and bytes of each side.
        a = subprocess.run(shlex.split(ours), capture_output=True)
        b = subprocess.run(shlex.split(theirs), capture_output=True)
        if a.returncode != 0:
            out[name] = {"error": a.stderr.decode(errors="replace")[-2000:], "command": ours}
            log(f"  nexmirror failed: {a.stderr.decode(errors='replace')[-500:]}")
            continue
        # Same rows and values once parsed as CSV (quoting style and line ends may differ).
        same = parse_csv(a.stdout) == parse_csv(b.stdout)
        slug = re.sub(r"[^a-z0-9]+", "-", name)
        timings, argv = hyperfine([ours, theirs], sizes["runs"], os.path.join(run_dir, f"hyperfine-{slug}.json"))
        for t, cmd in zip(timings, (ours, theirs)):
            _, _, rss = timed(shlex.split(cmd))
            t["max_rss_mib"] = rss
        out[name] = {"nexmirror": timings[0], "sqlite3": timings[1], "load_before": load,
                     "rows": len(parse_csv(a.stdout)) - 1, "sqlite3_rows": len(parse_csv(b.stdout)) - 1,
                     "same_output": same,
                     "command": f"hyperfine -N --warmup 1 --runs {sizes['runs']} CMD1 CMD2, where\n"
                                f"CMD1: {ours}\nCMD2: {theirs}"}
        log(f"  nexmirror {timings[0]['mean_s'] * 1000:.0f} ms, sqlite3 {timings[1]['mean_s'] * 1000:.0f} ms, "
            f"rows {out[name]['rows']}/{out[name]['sqlite3_rows']}, same rows and values: {same}")
    if not args.keep:
        shutil.rmtree(run_dir)

