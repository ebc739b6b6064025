"""Soak: load at N connections on a real `nexmirror serve`, SIGKILLed and restarted every few
seconds, with a `rebuild` now and then; afterwards every acknowledged delivery must be in the log.

Run through scripts/soak, which builds and installs what is missing. Each 200 is recorded as
(seq, SHA-256 of the body); a delivery whose answer was lost to a kill is sent again, as Nexudus
would, and must then be a duplicate with the same seq. At the end the log is read back: an
acknowledged delivery missing, or with other bytes at its seq, counts as lost.
"""
import argparse
import asyncio
import hashlib
import hmac
import json
import os
import random
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

parser = argparse.ArgumentParser(prog="scripts/soak")
parser.add_argument("--binary", required=True)
parser.add_argument("--fixtures", required=True)
parser.add_argument("--seconds", type=float, default=120)
parser.add_argument("--kill-every", type=float, default=10)
parser.add_argument("--rebuild-every", type=int, default=3, help="a rebuild after every Nth restart")
parser.add_argument("--connections", type=int, default=64)
parser.add_argument("--keep", action="store_true", help="keep the database and logs")
args = parser.parse_args()

work = tempfile.mkdtemp(prefix="nexmirror-soak-")
database = os.path.join(work, "soak.sqlite")
secret_file = os.path.join(work, "soak.secret")
secret = secrets.token_hex(24)  # ASCII, so its .NET ASCII encoding is itself
with open(os.open(secret_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
    f.write(secret + "\n")

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]

template = open(os.path.join(args.fixtures, "BookingCreate.json"), "rb").read()
assert b'"Id":1419005644' in template


def body_for(n):
    return template.replace(b'"Id":1419005644', b'"Id":%d' % (2_000_000_000 + n), 1)


def sign(body):
    # The body's raw bytes are tried by the receiver too, so the raw HMAC is a valid signature.
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().upper()


class Server:
    def __init__(self):
        self.process = None
        self.starts = 0
        self.stderr = open(os.path.join(work, "serve.log"), "ab")

    def start(self):
        self.process = subprocess.Popen(
            [args.binary, "serve", "--db", database, "--secret-file", secret_file, "--port", str(port),
             "--log-level", "error"],
            stdout=subprocess.DEVNULL, stderr=self.stderr, stdin=subprocess.DEVNULL)
        self.starts += 1
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"soak: serve exited with {self.process.returncode} at start; see {work}/serve.log")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as c:
                    c.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    if c.recv(64).startswith(b"HTTP/1.1 200"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        sys.exit("soak: serve did not become ready within 60 s")

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


stats = {"acknowledged": 0, "duplicates": 0, "retried": 0, "refused": 0, "inconsistent": 0}
refused_by_status = {}  # e.g. 503 while a rebuild holds the write lock: retried like a lost answer
ledger = {}  # body sha256 -> seq of its first 200
next_n = 0
stop = False


async def request(reader, writer, body):
    head = (f"POST /webhooks/BookingCreate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nX-Nexudus-Hook-Signature: {sign(body)}\r\n\r\n").encode()
    writer.write(head + body)
    await writer.drain()
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("closed")
    status = int(status_line.split()[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def client():
    global next_n
    reader = writer = None
    rng = random.Random()
    pending = None
    while not stop:
        if pending is None:
            if ledger and rng.random() < 0.05:
                pending = body_for(rng.randrange(next_n))  # a redelivery, which may or may not be acknowledged yet
            else:
                pending = body_for(next_n)
                next_n += 1
        try:
            if writer is None:
                reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
            status, answer = await asyncio.wait_for(request(reader, writer, pending), 30)
        except (OSError, ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError, IndexError):
            if writer is not None:
                writer.close()
            reader = writer = None
            stats["retried"] += 1
            await asyncio.sleep(0.05)
            continue  # the same body again, as Nexudus retries
        if status != 200:
            stats["refused"] += 1
            refused_by_status[status] = refused_by_status.get(status, 0) + 1
            await asyncio.sleep(0.05)
            continue
        result = json.loads(answer)
        digest = hashlib.sha256(pending).hexdigest()
        stats["acknowledged"] += 1
        if result["duplicate"]:
            stats["duplicates"] += 1
        known = ledger.setdefault(digest, result["seq"])
        if known != result["seq"]:
            stats["inconsistent"] += 1
        pending = None
    if writer is not None:
        writer.close()


def rebuild():
    started = time.monotonic()
    result = subprocess.run([args.binary, "rebuild", "--db", database], capture_output=True, text=True)
    return result.returncode, time.monotonic() - started, result.stderr.strip()


async def chaos(server):
    global stop
    kills, rebuilds, failed_rebuilds = 0, 0, []
    started = time.monotonic()
    end = started + args.seconds
    loop = asyncio.get_running_loop()
    while time.monotonic() + args.kill_every <= end:
        await asyncio.sleep(args.kill_every)
        server.kill()
        kills += 1
        await loop.run_in_executor(None, server.start)
        if kills % args.rebuild_every == 0:
            code, took, error = await loop.run_in_executor(None, rebuild)
            rebuilds += 1
            if code != 0:
                failed_rebuilds.append(error)
    await asyncio.sleep(max(0, end - time.monotonic()))
    stop = True
    return kills, rebuilds, failed_rebuilds, time.monotonic() - started


async def main():
    server = Server()
    server.start()
    clients = [asyncio.create_task(client()) for _ in range(args.connections)]
    kills, rebuilds, failed_rebuilds, elapsed = await chaos(server)
    await asyncio.gather(*clients)
    server.process.send_signal(signal.SIGTERM)
    server.process.wait()

    db = sqlite3.connect(database)
    stored = {seq: (sha, hashlib.sha256(body).hexdigest())
              for seq, sha, body in db.execute("SELECT seq, body_sha256, body FROM events")}
    integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    db.close()
    lost = sum(1 for digest, seq in ledger.items() if stored.get(seq) != (digest, digest))
    summary = {
        "seconds": round(elapsed), "connections": args.connections, "kill_every": args.kill_every,
        "acknowledged": stats["acknowledged"], "distinct_acknowledged": len(ledger),
        "duplicates": stats["duplicates"], "retried_after_errors": stats["retried"], "non_200": stats["refused"],
        "non_200_by_status": ",".join(f"{k}:{v}" for k, v in sorted(refused_by_status.items())) or "-",
        "kills": kills, "rebuilds": rebuilds, "failed_rebuilds": len(failed_rebuilds),
        "events_in_log": len(stored), "lost": lost, "seq_mismatches": stats["inconsistent"],
        "integrity_check": integrity, "acknowledged_per_second": round(stats["acknowledged"] / elapsed),
    }
    print(" ".join(f"{k}={v}" for k, v in summary.items()))
    for error in failed_rebuilds:
        print(f"soak: rebuild failed: {error}", file=sys.stderr)
    ok = lost == 0 and not failed_rebuilds and stats["inconsistent"] == 0 and integrity == "ok"
    if args.keep or not ok:
        print(f"soak: database and serve log kept in {work}")
    else:
        subprocess.run(["rm", "-rf", work])
    print("soak: PASS" if ok else "soak: FAIL")
    sys.exit(0 if ok else 1)


asyncio.run(main())
