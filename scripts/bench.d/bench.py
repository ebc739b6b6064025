#!/usr/bin/env python3
"""nexmirror benchmarks: ingest, rebuild, query/export, each against its limit and a typical
alternative, side by side. Run through `scripts/bench` (which builds the release binary).

Every server listens on 127.0.0.1 only, every load run is bounded by wrk's -d, and every
generated file lives under the work directory (default: a fresh /tmp/nexmirror-bench.*).
"""

import argparse
import csv
import datetime
import io
import json
import os
import re
import resource
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys

import tempfile
import time

sys.dont_write_bytecode = True  # keep the repo free of __pycache__

HERE = os.path.dirname(os.path.abspath(__file__))
SECRET = "bench-s3cret-Nexudus"  # passed to servers through NEXMIRROR_SECRET, never on argv

QUICK = {"duration": 10, "rebuild_sizes": [20_000, 100_000], "coworkers": 10_000, "bookings": 100_000, "runs": 5,
         "asof_size": 100_000}
FULL = {"duration": 30, "rebuild_sizes": [100_000, 1_000_000], "coworkers": 100_000, "bookings": 1_000_000, "runs": 5,
        "asof_size": 1_000_000}
MAX_RATE = 25_000  # deliveries/s the pre-generated bodies cover without repeating


def log(message):
    print(f"[bench {datetime.datetime.now():%H:%M:%S}] {message}", flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def busy_share(seconds=3.0):
    """Share (%) of all cores busy over the next `seconds`, while we run nothing ourselves."""
    before = busy_seconds()
    time.sleep(seconds)
    return 100 * (busy_seconds() - before) / (seconds * os.cpu_count())


def wait_for_quiet(args, what):
    """Waits (bounded by --load-wait) until other work uses under --max-busy % of the cores
    (measured over 3 s; the load average lags and counts our own previous run). Returns the
    1/5/15-min load averages and the busy share seen."""
    deadline = time.time() + args.load_wait
    busy = busy_share()
    while busy > args.max_busy and time.time() < deadline:
        log(f"other work is using {busy:.0f} % of the CPUs before {what}; waiting (up to {args.load_wait:.0f} s in all)")
        time.sleep(10)
        busy = busy_share()
    return loadavg() + [round(busy, 1)]


def cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return None


def busy_seconds():
    """CPU seconds the whole machine has spent busy (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def children_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class OtherWork:
    """Measures the CPU that processes other than ours used during a measurement: the
    machine's busy time minus the measured server's and our waited-for children's (wrk,
    /usr/bin/time and what it runs). Reported as a share of all cores."""

    def __init__(self, server_pid=None):
        self.server_pid = server_pid
        self.started = time.time()
        self.busy = busy_seconds()
        self.children = children_seconds()
        self.server = cpu_seconds(server_pid) if server_pid else 0.0

    def finish(self):
        wall = time.time() - self.started
        server = (cpu_seconds(self.server_pid) - self.server) if self.server_pid else 0.0
        ours = (children_seconds() - self.children) + server
        other = max(0.0, busy_seconds() - self.busy - ours)
        return round(100 * other / (wall * os.cpu_count()), 1)


def context_switches(pid):
    """Voluntary + involuntary context switches of the live threads of `pid`."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/status") as f:
                for line in f:
                    if "ctxt_switches" in line:
                        total += int(line.split()[1])
        except OSError:
            pass  # a thread that ended meanwhile
    return total


def fsync_micros(directory):
    """Mean time of a 4 KiB write + fdatasync in `directory`: what one durable commit costs here."""
    path = os.path.join(directory, "fsync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        started = time.perf_counter()
        for i in range(200):
            os.pwrite(fd, b"x" * 4096, (i % 16) * 4096)
            os.fdatasync(fd)
        return (time.perf_counter() - started) / 200 * 1e6
    finally:
        os.close(fd)
        os.unlink(path)


class Server:
    """A receiver process on 127.0.0.1 that prints `... listening on http://127.0.0.1:PORT`."""

    def __init__(self, argv, log_path):
        env = dict(os.environ, NEXMIRROR_SECRET=SECRET)
        self.command = "NEXMIRROR_SECRET=... " + " ".join(shlex.quote(a) for a in argv)
        self.log_path = log_path
        self.out = open(log_path, "w")
        self.proc = subprocess.Popen(argv, stdout=self.out, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        deadline = time.time() + 60
        self.port = None
        while time.time() < deadline:
            with open(log_path) as f:
                m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", f.read())
            if m:
                self.port = int(m.group(1))
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server did not start: {' '.join(argv)}\n{open(log_path).read()}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()
        return self.proc.returncode


def run(argv, **kw):
    return subprocess.run(argv, check=True, **kw)


def create_nexmirror_db(args, path, logdir):
    """A migrated, empty nexmirror file, made by nexmirror itself."""
    server = Server([args.bin, "serve", "--db", path, "--port", "0", "--log-level", "error"],
                    os.path.join(logdir, "create-" + os.path.basename(path) + ".log"))
    server.stop()


# ------------------------------------------------------------------------------------ ingest

def wrk(url, script, connections, duration, result_path, extra=()):
    threads = 1 if connections == 1 else 2
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "--latency",
            "-s", script, url]
    if extra:
        argv += ["--", *extra]
    env = dict(os.environ, BENCH_RESULT=result_path)
    text = run(argv, env=env, capture_output=True, text=True, timeout=duration + 120).stdout
    with open(result_path) as f:
        result = json.load(f)
    result["command"] = f"BENCH_RESULT={result_path} " + " ".join(shlex.quote(a) for a in argv)
    result["wrk_output"] = text
    result["rate"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def count_rows(db, table="events"):
    con = sqlite3.connect(db)
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


def ingest(args, sizes, work, results):
    data = os.path.join(work, "ingest-data")
    per_thread = sizes["duration"] * MAX_RATE // 2
    log(f"ingest: generating 2 x {per_thread} signed unique deliveries")
    run([sys.executable, os.path.join(HERE, "gen_ingest.py"), data, "--secret", SECRET,
         "--per-thread", str(per_thread), "--threads", "2"])
    out = results.setdefault("ingest", {})
    targets = [
        ("nexmirror", lambda db, logp: Server([args.bin, "serve", "--db", db, "--port", "0", "--log-level", "error"], logp)),
        ("python", lambda db, logp: Server([sys.executable, os.path.join(HERE, "pyreceiver.py"), "--db", db,
                                            "--port", "0"], logp)),
    ]
    for name, start in targets:
        for connections in (1, 16, 64):
            run_dir = os.path.join(work, f"ingest-{name}-c{connections}")
            os.makedirs(run_dir)
            db = os.path.join(run_dir, "events.sqlite")
            load = wait_for_quiet(args, f"ingest {name} c={connections}")
            server = start(db, os.path.join(run_dir, "server.log"))
            cpu_before = cpu_seconds(server.proc.pid)
            switches_before = context_switches(server.proc.pid)
            log(f"ingest: {name}, {connections} connection(s), {sizes['duration']} s (load {load[0]:.2f}, other work {load[3]:.0f} % CPU)")
            other = OtherWork(server.proc.pid)
            try:
                r = wrk(f"http://127.0.0.1:{server.port}", os.path.join(HERE, "post.lua"), connections,
                        sizes["duration"], os.path.join(run_dir, "wrk.json"), extra=[data])
                cpu_after = cpu_seconds(server.proc.pid)
                switches_after = context_switches(server.proc.pid)
                other_cpu = other.finish()
                time.sleep(0.5)
            finally:
                code = server.stop()
            r["server_exit"] = code
            r["server_command"] = server.command
            r["other_cpu_pct"] = other_cpu
            r["server_cpu_s"] = (cpu_after - cpu_before) if cpu_before is not None and cpu_after is not None else None
            r["server_switches"] = (switches_after - switches_before) \
                if switches_before is not None and switches_after is not None else None
            r["rows"] = count_rows(db)
            r["load_before"] = load
            # Requests cut off in flight when wrk stops may still have been committed: at most
            # one per connection. Fewer rows than 200s would be a lost acknowledged delivery.
            r["rows_minus_200"] = r["rows"] - (r["ok"] - r["duplicates"])
            r["rows_check"] = "ok" if 0 <= r["rows_minus_200"] <= connections else "MISMATCH"
            out[f"{name}-c{connections}"] = r
            log(f"  {r['rate']:.0f}/s, p50 {r['latency_us']['p50'] / 1000:.2f} ms, p99 "
                f"{r['latency_us']['p99'] / 1000:.2f} ms, 200s {r['ok']}, non-200 {r['non200']}, rows {r['rows']} "
                f"({r['rows_check']}), duplicates {r['duplicates']}, server CPU {r['server_cpu_s']:.1f} s")
            if not args.keep:
                shutil.rmtree(run_dir)
    run_dir = os.path.join(work, "ingest-healthz")
    os.makedirs(run_dir)
    load = wait_for_quiet(args, "healthz")
    server = Server([args.bin, "serve", "--db", os.path.join(run_dir, "events.sqlite"), "--port", "0",
                     "--log-level", "error"], os.path.join(run_dir, "server.log"))
    log(f"ingest: nexmirror GET /healthz, 64 connections, {sizes['duration']} s (load {load[0]:.2f}, other work {load[3]:.0f} % CPU)")
    cpu_before, switches_before = cpu_seconds(server.proc.pid), context_switches(server.proc.pid)
    other = OtherWork(server.proc.pid)
    try:
        r = wrk(f"http://127.0.0.1:{server.port}", os.path.join(HERE, "healthz.lua"), 64, sizes["duration"],
                os.path.join(run_dir, "wrk.json"))
        r["other_cpu_pct"] = other.finish()
        r["server_cpu_s"] = cpu_seconds(server.proc.pid) - cpu_before
        r["server_switches"] = context_switches(server.proc.pid) - switches_before
    finally:
        server.stop()
    r["load_before"] = load
    r["server_command"] = server.command
    out["healthz-c64"] = r
    log(f"  {r['rate']:.0f}/s, p50 {r['latency_us']['p50'] / 1000:.2f} ms, p99 {r['latency_us']['p99'] / 1000:.2f} ms")
    if not args.keep:
        shutil.rmtree(run_dir)
        shutil.rmtree(data)


# ------------------------------------------------------------------------------------ rebuild

def timed(argv, stdin_path=None, cwd=None):
    """Runs argv under /usr/bin/time -v: (stdout, wall seconds, peak RSS in MiB)."""
    stdin = open(stdin_path) if stdin_path else subprocess.DEVNULL
    other = OtherWork()
    started = time.time()
    proc = subprocess.run(["/usr/bin/time", "-v", *argv], stdin=stdin, capture_output=True, text=True, cwd=cwd)
    wall = time.time() - started
    timed.other_cpu_pct = other.finish()
    if stdin_path:
        stdin.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr[-3000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1)) / 1024
    return proc.stdout, wall, rss


REPLICA_TABLES = ["coworkers", "bookings", "invoices", "invoice_events", "teams", "team_members", "checkins",
                  "proposals", "contracts", "entities", "tombstones"]


def compare_replicas(a, b):
    """Rows per table in each file and how many differ (either direction, every column)."""
    con = sqlite3.connect(a)
    con.execute("ATTACH DATABASE ? AS other", (b,))
    report = {}
    for table in REPLICA_TABLES:
        n_a = con.execute(f"SELECT count(*) FROM main.{table}").fetchone()[0]
        n_b = con.execute(f"SELECT count(*) FROM other.{table}").fetchone()[0]
        only_a = con.execute(f"SELECT count(*) FROM (SELECT * FROM main.{table} EXCEPT SELECT * FROM other.{table})").fetchone()[0]
        only_b = con.execute(f"SELECT count(*) FROM (SELECT * FROM other.{table} EXCEPT SELECT * FROM main.{table})").fetchone()[0]
        report[table] = {"nexmirror": n_a, "sql": n_b, "only_nexmirror": only_a, "only_sql": only_b}
    con.close()
    return report


def rebuild(args, sizes, work, results):
    out = results.setdefault("rebuild", {})
    fold_sql = os.path.join(HERE, "fold.sql")
    for n in sizes["rebuild_sizes"]:
        run_dir = os.path.join(work, f"rebuild-{n}")
        os.makedirs(run_dir)
        db = os.path.join(run_dir, "log.sqlite")
        db_sql = os.path.join(run_dir, "log-sql.sqlite")
        create_nexmirror_db(args, db, run_dir)
        log(f"rebuild: generating a log of {n} deliveries")
        gen = run([sys.executable, os.path.join(HERE, "gen_log.py"), db, str(n)], capture_output=True, text=True)
        log("  " + gen.stdout.strip())
        shutil.copyfile(db, db_sql)
        r = {"events": count_rows(db), "generator": gen.stdout.strip(),
             "db_mib": os.path.getsize(db) / 2**20}
        for path in (db, db_sql):  # both start from a warm page cache
            with open(path, "rb") as f:
                while f.read(1 << 24):
                    pass
        load = wait_for_quiet(args, f"rebuild {n}")
        log(f"rebuild: nexmirror rebuild, {r['events']} events (load {load[0]:.2f}, other work {load[3]:.0f} % CPU)")
        stdout, wall, rss = timed([args.bin, "rebuild", "--db", db])
        r["nexmirror"] = {"wall_s": wall, "rss_mib": rss, "summary": stdout.strip(), "load_before": load,
                          "other_cpu_pct": timed.other_cpu_pct,
                          "command": f"/usr/bin/time -v {args.bin} rebuild --db {db}"}
        log(f"  {stdout.strip()} | wall {wall:.2f} s, peak RSS {rss:.0f} MiB")
        load = wait_for_quiet(args, f"sql fold {n}")
        log(f"rebuild: sqlite3 pure-SQL fold, {r['events']} events (load {load[0]:.2f}, other work {load[3]:.0f} % CPU)")
        _, wall, rss = timed(["sqlite3", db_sql], stdin_path=fold_sql)
        r["sql"] = {"wall_s": wall, "rss_mib": rss, "load_before": load, "other_cpu_pct": timed.other_cpu_pct,
                    "command": f"/usr/bin/time -v sqlite3 {db_sql} < {fold_sql}"}
        log(f"  wall {wall:.2f} s, peak RSS {rss:.0f} MiB")
        r["compare"] = compare_replicas(db, db_sql)
        differing = sum(t["only_nexmirror"] + t["only_sql"] for t in r["compare"].values())
        log(f"  replicas compared: {differing} differing rows "
            + ", ".join(f"{k} {v['nexmirror']}" for k, v in r["compare"].items()))
        out[str(n)] = r
        if not args.keep:
            shutil.rmtree(run_dir)


# ------------------------------------------------------------------------------------ as-of

ASOF_SQL = "SELECT count(*), coalesce(sum(length(data)), 0) FROM coworkers"
EVENT_COLUMNS = ("seq, received_at, action, action_id, entity_type, entity_id, updated_on, body, body_sha256, "
                 "source, signature, status, error")


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


# ------------------------------------------------------------------------------------ query/export

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


# ------------------------------------------------------------------------------------ report

def verdict(ok):
    return "met" if ok else "MISSED"


def report(results, args):
    lines = []
    m = results["machine"]
    lines.append(f"Machine: {m['nproc']} cores, {m['cpu']}, {m['mem']}; {m['date']}; load at start "
                 f"{m['load_start']}, at end {m.get('load_end')}; sqlite {m['sqlite']}; 4 KiB write+fdatasync "
                 f"{m.get('fsync_us')} µs; mode {m['mode']}")
    lines.append("")
    ing = results.get("ingest")
    if ing:
        lines.append("### Ingest (POST /webhooks/<Action>, signed unique ~1.0-1.3 KB bodies, keep-alive, synchronous=FULL)")
        lines.append("")
        lines.append("| target | conns | deliveries/s | p50 ms | p99 ms | 200s | non-200 | rows in events | rows check "
                     "| server CPU µs/req | server ctx switches/req | other work CPU % |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|")
        for key, r in ing.items():
            name, conns = key.rsplit("-c", 1)
            label = "nexmirror GET /healthz" if name == "healthz" else name
            cpu = r.get("server_cpu_s")
            switches = r.get("server_switches")
            per_cpu = "-" if cpu is None else f"{cpu * 1e6 / max(r['ok'], 1):.0f}"
            per_switch = "-" if switches is None else f"{switches / max(r['ok'], 1):.1f}"
            codes = " " + json.dumps(r["non200_by_status"]) if r["non200"] else ""
            errors = {k: v for k, v in r["errors"].items() if v and k != "status"}
            if errors:  # no answer at all within wrk's --timeout, or a broken connection
                codes += " + " + ", ".join(f"{v} {k}" for k, v in errors.items())
            lines.append(f"| {label} | {conns} | {r['rate']:.0f} | {r['latency_us']['p50'] / 1000:.2f} | "
                         f"{r['latency_us']['p99'] / 1000:.2f} | {r['ok']} | {r['non200']}{codes} | "
                         f"{r.get('rows', '-')} | {r.get('rows_check', '-')} | {per_cpu} | {per_switch} | "
                         f"{r.get('other_cpu_pct', '-')} |")
        lines.append("")
        if "nexmirror-c64" in ing and "healthz-c64" in ing and "python-c64" in ing:
            nm, hz, py = ing["nexmirror-c64"], ing["healthz-c64"], ing["python-c64"]
            lines.append(f"- nexmirror / healthz at 64 conns: **{nm['rate'] / hz['rate']:.2f}x** "
                         f"(target >= 0.5x: {verdict(nm['rate'] / hz['rate'] >= 0.5)})")
            lines.append(f"- nexmirror / Python receiver at 64 conns: **{nm['rate'] / py['rate']:.1f}x** "
                         f"(target >= 10x: {verdict(nm['rate'] / py['rate'] >= 10)})")
            lines.append(f"- nexmirror p99 at 64 conns: **{nm['latency_us']['p99'] / 1000:.2f} ms** "
                         f"(target < 25 ms: {verdict(nm['latency_us']['p99'] < 25_000)})")
            for c in (1, 16):
                a, b = ing.get(f"nexmirror-c{c}"), ing.get(f"python-c{c}")
                if a and b:
                    lines.append(f"- nexmirror / Python at {c} conn(s): {a['rate'] / b['rate']:.1f}x")
            lines.append("")
    reb = results.get("rebuild")
    if reb:
        lines.append("### Rebuild (refold the whole log; nexmirror rebuild vs sqlite3 pure-SQL fold, json_extract)")
        lines.append("")
        lines.append("| events | DB MiB | nexmirror s | nexmirror events/s | nexmirror peak RSS MiB | sqlite3 s | sqlite3 events/s | sqlite3 peak RSS MiB | speed ratio | replicas differ | other work CPU % |")
        lines.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for n, r in reb.items():
            a, b = r["nexmirror"], r["sql"]
            differing = sum(t["only_nexmirror"] + t["only_sql"] for t in r["compare"].values())
            lines.append(f"| {r['events']} | {r['db_mib']:.0f} | {a['wall_s']:.2f} | {r['events'] / a['wall_s']:.0f} | "
                         f"{a['rss_mib']:.0f} | {b['wall_s']:.2f} | {r['events'] / b['wall_s']:.0f} | {b['rss_mib']:.0f} | "
                         f"{b['wall_s'] / a['wall_s']:.2f}x | {differing} rows | "
                         f"{a.get('other_cpu_pct', '-')} / {b.get('other_cpu_pct', '-')} |")
        lines.append("")
        keys = list(reb)
        big = reb[keys[-1]]
        ratio = big["sql"]["wall_s"] / big["nexmirror"]["wall_s"]
        lines.append(f"- speed vs sqlite3 fold at {big['events']} events: **{ratio:.3f}x** (target >= 0.5x: {verdict(ratio >= 0.5)})")
        peak = max(r["nexmirror"]["rss_mib"] for r in reb.values())
        lines.append(f"- nexmirror peak RSS: **{peak:.0f} MiB** (target < 200 MiB: {verdict(peak < 200)})")
        if len(keys) > 1:
            small = reb[keys[0]]
            growth = big["nexmirror"]["rss_mib"] / small["nexmirror"]["rss_mib"]
            lines.append(f"- RSS from {small['events']} to {big['events']} events: {small['nexmirror']['rss_mib']:.0f} -> "
                         f"{big['nexmirror']['rss_mib']:.0f} MiB, x{growth:.2f} (target flat: {verdict(growth < 1.25)})")
        lines.append("")
    q = results.get("query")
    if q:
        lines.append("### Query and export (hyperfine, output to /dev/null)")
        lines.append("")
        if "skipped" in q:
            lines.append(f"skipped: {q['skipped']}")
        else:
            lines.append(f"Replica: {q.get('replica')}")
            lines.append("")
            lines.append("| case | rows | nexmirror ms | sqlite3 -csv ms | ratio | target <= 1.3x | same rows (parsed CSV) | nexmirror RSS MiB | sqlite3 RSS MiB |")
            lines.append("|---|---:|---:|---:|---:|---|---|---:|---:|")
            for name, r in q.items():
                if not isinstance(r, dict) or "nexmirror" not in r:
                    continue
                a, b = r["nexmirror"], r["sqlite3"]
                ratio = a["mean_s"] / b["mean_s"]
                startup = name.startswith("process start")
                lines.append(f"| {name} | {'-' if startup else r['rows']} | {a['mean_s'] * 1000:.1f} ± {a['stddev_s'] * 1000:.1f} | "
                             f"{b['mean_s'] * 1000:.1f} ± {b['stddev_s'] * 1000:.1f} | {ratio:.2f}x | "
                             f"{'(no target)' if startup else verdict(ratio <= 1.3)} | "
                             f"{'-' if startup else 'yes' if r['same_output'] else 'no'} | {a['max_rss_mib']:.0f} | {b['max_rss_mib']:.0f} |")
            for key in ("query", "export"):
                if isinstance(q.get(key), str):
                    lines.append(f"\n{key}: {q[key]}")
            for name, r in q.items():
                if isinstance(r, dict) and "error" in r:
                    lines.append(f"\n{name}: nexmirror failed: {r['error'][:300]}")
        lines.append("")
    asof = results.get("asof")
    if asof:
        lines.append(f"### As-of (`query --as-of T` vs `rebuild` of a file holding only the deliveries up to T; log of {asof['events']} events, {asof['db_mib']:.0f} MiB)")
        lines.append("")
        lines.append(f"Full rebuild of the whole log: {asof['rebuild_all']['wall_s']:.2f} s.")
        lines.append("")
        lines.append("| T | deliveries up to T | as-of s | as-of peak RSS MiB | rebuild of those s | ratio | target <= 1.0x | same answer |")
        lines.append("|---|---:|---:|---:|---:|---:|---|---|")
        for label in ("median", "after last"):
            r = asof.get(label)
            if not r:
                continue
            ratio = r["as_of"]["wall_s"] / r["rebuild_subset"]["wall_s"]
            lines.append(f"| {label} ({r['instant']}) | {r['deliveries']} | {r['as_of']['wall_s']:.2f} | {r['as_of']['rss_mib']:.0f} | "
                         f"{r['rebuild_subset']['wall_s']:.2f} | {ratio:.2f}x | {verdict(ratio <= 1.0)} | {'yes' if r['same_replica'] else 'NO'} |")
        lines.append("")
    commands = []
    for key, r in (results.get("ingest") or {}).items():
        commands.append(f"# ingest {key}\n{r.get('server_command', '')} &\n{r['command']}")
    for n, r in (results.get("rebuild") or {}).items():
        commands.append(f"# rebuild {n}\n{r['nexmirror']['command']}\n{r['sql']['command']}")
    for name, r in (results.get("query") or {}).items():
        if isinstance(r, dict) and "command" in r:
            commands.append(f"# {name}\n{r['command']}")
    if asof:
        commands.append(f"# as-of: full rebuild\n{asof['rebuild_all']['command']}")
        for label in ("median", "after last"):
            if asof.get(label):
                commands.append(f"# as-of {label}\n{asof[label]['as_of']['command']}\n{asof[label]['rebuild_subset']['command']}")
    if commands:
        lines.append("<details><summary>Exact commands of this run</summary>")
        lines.append("")
        lines.append("```")
        lines += commands
        lines.append("```")
        lines.append("</details>")
        lines.append("")
    if results.get("section_seconds"):
        lines.append("Section times (s): " + ", ".join(f"{k} {v}" for k, v in results["section_seconds"].items()))
    return "\n".join(lines)


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
    parser.add_argument("--max-busy", type=float, default=25,
                        help="wait before each measurement while other work keeps more than this %% of the CPUs busy")
    parser.add_argument("--load-wait", type=float, default=120, help="longest wait for a quiet machine before each measurement, seconds")
    args = parser.parse_args()
    # SIGTERM unwinds like Ctrl-C, so every server started so far is stopped by its `finally`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    sizes = dict(QUICK if args.quick else FULL)
    if args.duration:
        sizes["duration"] = args.duration
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
