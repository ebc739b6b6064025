"""Shared by the benchmark sections: logging, CPU/load sampling, the receiver process wrapper,
timed child processes. Every server listens on 127.0.0.1 only."""

import datetime
import os
import re
import resource
import shlex
import signal
import sqlite3
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the repo free of __pycache__

HERE = os.path.dirname(os.path.abspath(__file__))
SECRET = "bench-s3cret-Nexudus"  # passed to servers through NEXMIRROR_SECRET, never on argv

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


def group_pids(pid):
    """`pid` and every process in its process group (servers start in their own session, so a
    pre-forking server such as gunicorn is counted with its workers)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[2]) == pid:
                        pids.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass  # ended meanwhile
    return pids or [pid]


def cpu_seconds(pid):
    """User + system CPU seconds of `pid`'s process group, None once it is gone."""
    total, seen = 0, False
    for member in group_pids(pid):
        try:
            with open(f"/proc/{member}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
            seen = True
        except OSError:
            pass
    return total / os.sysconf("SC_CLK_TCK") if seen else None


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
    """Voluntary + involuntary context switches of the live threads of `pid`'s process group."""
    total, seen = 0, False
    for member in group_pids(pid):
        try:
            tasks = os.listdir(f"/proc/{member}/task")
        except OSError:
            continue
        seen = True
        for task in tasks:
            try:
                with open(f"/proc/{member}/task/{task}/status") as f:
                    for line in f:
                        if "ctxt_switches" in line:
                            total += int(line.split()[1])
            except OSError:
                pass  # a thread that ended meanwhile
    return total if seen else None


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
    """A receiver process on 127.0.0.1 that prints `... listening on http://127.0.0.1:PORT` (or
    gunicorn's `Listening at: http://127.0.0.1:PORT`)."""

    def __init__(self, argv, log_path, env=None):
        extra = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
        env = dict(os.environ, NEXMIRROR_SECRET=SECRET, **(env or {}))
        self.command = "NEXMIRROR_SECRET=... " + (extra + " " if extra else "") + " ".join(shlex.quote(a) for a in argv)
        self.log_path = log_path
        self.out = open(log_path, "w")
        self.proc = subprocess.Popen(argv, stdout=self.out, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        deadline = time.time() + 60
        self.port = None
        while time.time() < deadline:
            with open(log_path) as f:
                m = re.search(r"[Ll]istening (?:on|at:) http://127\.0\.0\.1:(\d+)", f.read())
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


def count_rows(db, table="events"):
    con = sqlite3.connect(db)
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


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
    # CPU seconds (user + system): on a shared machine the steadier figure than wall time.
    timed.cpu_s = sum(float(re.search(rf"{kind} time \(seconds\): ([\d.]+)", proc.stderr).group(1))
                      for kind in ("User", "System"))
    return proc.stdout, wall, rss

