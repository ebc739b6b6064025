"""Ingest section: wrk POSTs signed unique deliveries to each receiver at 1/16/64 connections;
GET /healthz at 64 is the HTTP stack's ceiling."""

import json
import os
import shlex
import shutil
import sys
import time

from common import (HERE, SECRET, OtherWork, Server, context_switches, count_rows, cpu_seconds, log, run,
                    wait_for_quiet)

MAX_RATE = 25_000  # deliveries/s the pre-generated bodies cover without repeating



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



GO_ENV = {"GO111MODULE": "off", "GOPATH": "/usr/share/gocode", "GOFLAGS": "", "CGO_ENABLED": "1",
          "GOCACHE": "/tmp/nexmirror-bench-gocache"}  # Debian's packages only: no module download


def build_go_receiver(work):
    """goreceiver/main.go built against Debian's golang-github-mattn-go-sqlite3-dev."""
    binary = os.path.join(work, "goreceiver")
    run(["go", "build", "-o", binary, os.path.join(HERE, "goreceiver", "main.go")],
        env=dict(os.environ, **GO_ENV), capture_output=True, text=True)
    return binary


def receivers(args, work):
    """name -> (connection counts, how to start it on a fresh database)."""
    go = build_go_receiver(work)
    nexmirror = [args.bin, "serve", "--port", "0", "--log-level", "error"]
    return {
        "nexmirror": ((1, 16, 64), lambda db, logp: Server(nexmirror + ["--db", db], logp)),
        "go": ((1, 16, 64), lambda db, logp: Server([go, "--db", db, "--port", "0"], logp)),
        # gunicorn's gthread workers keep connections alive; 4 processes for 2 cores, 8 threads each.
        "flask": ((1, 16, 64), lambda db, logp: Server(
            ["/usr/bin/python3", "-m", "gunicorn", "-k", "gthread", "--workers", "4", "--threads", "8",
             "-b", "127.0.0.1:0", "--chdir", HERE, "flaskreceiver:app"], logp, env={"FLASK_RECEIVER_DB": db})),
    }


def measure(args, sizes, work, name, connections, start, script, extra, check_rows=True):
    """One wrk run against a fresh receiver: rate, latency, server CPU and context switches,
    and (for durable POSTs) the rows committed against the 200s answered."""
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
        r = wrk(f"http://127.0.0.1:{server.port}", os.path.join(HERE, script), connections,
                sizes["duration"], os.path.join(run_dir, "wrk.json"), extra=extra)
        # gunicorn's work is done in its worker processes: count the whole process group.
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
    r["load_before"] = load
    if check_rows:
        r["rows"] = count_rows(db)
        # Requests cut off in flight when wrk stops may still have been committed: at most
        # one per connection. Fewer rows than 200s would be a lost acknowledged delivery.
        r["rows_minus_200"] = r["rows"] - (r["ok"] - r["duplicates"])
        r["rows_check"] = "ok" if 0 <= r["rows_minus_200"] <= connections else "MISMATCH"
    log(f"  {r['rate']:.0f}/s, p50 {r['latency_us']['p50'] / 1000:.2f} ms, p99 "
        f"{r['latency_us']['p99'] / 1000:.2f} ms, 200s {r['ok']}, non-200 {r['non200']}, rows {r.get('rows', '-')} "
        f"({r.get('rows_check', '-')}), duplicates {r['duplicates']}, server CPU {r['server_cpu_s'] or 0:.1f} s")
    if not args.keep:
        shutil.rmtree(run_dir)
    return r


def ingest(args, sizes, work, results):
    data = os.path.join(work, "ingest-data")
    per_thread = sizes["duration"] * MAX_RATE // 2
    log(f"ingest: generating 2 x {per_thread} signed unique deliveries")
    run([sys.executable, os.path.join(HERE, "gen_ingest.py"), data, "--secret", SECRET,
         "--per-thread", str(per_thread), "--threads", "2"])
    out = results.setdefault("ingest", {})
    targets = receivers(args, work)
    for name, (connection_counts, start) in targets.items():
        for connections in connection_counts:
            out[f"{name}-c{connections}"] = measure(args, sizes, work, name, connections, start, "post.lua", [data])
    nexmirror = targets["nexmirror"][1]
    # The framework's own cost for the same POSTs: body read and HMAC checked (both forms), 401.
    r = measure(args, sizes, work, "rejected", 64, nexmirror, "post.lua", [data, "wrong-signature"])
    r["rows_check"] = "ok" if r["rows"] == 0 and r["ok"] == 0 else "MISMATCH"
    out["rejected-c64"] = r
    out["healthz-c64"] = measure(args, sizes, work, "healthz", 64, nexmirror, "healthz.lua", [], check_rows=False)
    if not args.keep:
        shutil.rmtree(data)
