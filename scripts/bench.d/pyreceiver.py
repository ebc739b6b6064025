#!/usr/bin/env python3
"""The alternative a user would write: a minimal Nexudus webhook receiver in standard Python.

ThreadingHTTPServer (HTTP/1.1 keep-alive, TCP_NODELAY, one write per answer), HMAC-SHA256
check (upper-case hex, raw body first, then the ASCII-folded form Nexudus signs), then one
sqlite3 INSERT committed per request with WAL and synchronous=FULL, answering
{"seq": N, "duplicate": false} like nexmirror.

usage: NEXMIRROR_SECRET=... pyreceiver.py --db FILE [--port 0]
Prints `pyreceiver listening on http://127.0.0.1:PORT` when ready; stops on SIGTERM/SIGINT.
"""

import argparse
import datetime
import hashlib
import hmac
import json
import os
import signal
import sqlite3
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def ascii_fold(data):
    return "".join(c if ord(c) < 0x80 else ("??" if ord(c) > 0xFFFF else "?")
                   for c in data.decode("utf-8", "replace")).encode("ascii")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    key = ascii_fold(os.environ["NEXMIRROR_SECRET"].strip().encode("utf-8"))

    setup = sqlite3.connect(args.db)
    setup.execute("PRAGMA journal_mode = WAL")
    setup.execute("""CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, received_at TEXT NOT NULL, action TEXT NOT NULL,
        body BLOB NOT NULL, body_sha256 TEXT NOT NULL)""")
    setup.commit()
    setup.close()
    local = threading.local()

    def connection():
        if not hasattr(local, "db"):
            local.db = sqlite3.connect(args.db, timeout=30)
            local.db.execute("PRAGMA synchronous = FULL")
        return local.db

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body in one write, no Nagle: without these two lines every keep-alive
        # answer waits ~40 ms for a delayed ACK (23 requests/s on one connection).
        wbufsize = 1 << 16
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def answer(self, status, payload):
            data = json.dumps(payload, separators=(",", ":")).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/healthz":
                self.answer(200, {"status": "ok"})
            else:
                self.answer(404, {"error": "not found"})

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if not self.path.startswith("/webhooks/"):
                return self.answer(404, {"error": "not found"})
            action = self.path[len("/webhooks/"):]
            given = self.headers.get("X-Nexudus-Hook-Signature", "").strip().upper()
            if not (hmac.compare_digest(hmac.new(key, body, hashlib.sha256).hexdigest().upper(), given)
                    or hmac.compare_digest(hmac.new(key, ascii_fold(body), hashlib.sha256).hexdigest().upper(), given)):
                return self.answer(401, {"error": "bad signature"})
            db = connection()
            now = datetime.datetime.now(datetime.timezone.utc).isoformat()
            cursor = db.execute("INSERT INTO events (received_at, action, body, body_sha256) VALUES (?, ?, ?, ?)",
                                (now, action, body, hashlib.sha256(body).hexdigest()))
            db.commit()
            self.answer(200, {"seq": cursor.lastrowid, "duplicate": False})

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"pyreceiver listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
