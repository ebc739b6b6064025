"""The receiver a Python user would deploy: Flask under gunicorn, one sqlite3 INSERT per request.

Same checks and durability as pyreceiver.py and goreceiver: HMAC-SHA256 (upper-case hex, raw
body first, then the ASCII-folded form Nexudus signs), WAL, synchronous=FULL, committed before
200. Run by scripts/bench with Debian's python3-flask and gunicorn (installed when missing):

  NEXMIRROR_SECRET=... FLASK_RECEIVER_DB=FILE /usr/bin/python3 -m gunicorn -k gthread \
      --workers 4 --threads 8 -b 127.0.0.1:0 --chdir scripts/bench.d flaskreceiver:app
"""

import datetime
import hashlib
import hmac
import os
import sqlite3
import threading

from flask import Flask, request

DB = os.environ["FLASK_RECEIVER_DB"]
app = Flask(__name__)
local = threading.local()


def ascii_fold(data):
    return "".join(c if ord(c) < 0x80 else ("??" if ord(c) > 0xFFFF else "?")
                   for c in data.decode("utf-8", "replace")).encode("ascii")


KEY = ascii_fold(os.environ["NEXMIRROR_SECRET"].strip().encode("utf-8"))
with sqlite3.connect(DB, timeout=30) as setup:
    setup.execute("PRAGMA journal_mode = WAL")
    setup.execute("""CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, received_at TEXT NOT NULL, action TEXT NOT NULL,
        body BLOB NOT NULL, body_sha256 TEXT NOT NULL)""")


def connection():
    if not hasattr(local, "db"):
        local.db = sqlite3.connect(DB, timeout=30)
        local.db.execute("PRAGMA synchronous = FULL")
    return local.db


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


@app.post("/webhooks/<action>")
def webhook(action):
    body = request.get_data()
    given = request.headers.get("X-Nexudus-Hook-Signature", "").strip().upper()
    if not (hmac.compare_digest(hmac.new(KEY, body, hashlib.sha256).hexdigest().upper(), given)
            or hmac.compare_digest(hmac.new(KEY, ascii_fold(body), hashlib.sha256).hexdigest().upper(), given)):
        return {"error": "bad signature"}, 401
    db = connection()
    now = datetime.datetime.now(datetime.timezone.utc).isoformat()
    cursor = db.execute("INSERT INTO events (received_at, action, body, body_sha256) VALUES (?, ?, ?, ?)",
                        (now, action, body, hashlib.sha256(body).hexdigest()))
    db.commit()
    return {"seq": cursor.lastrowid, "duplicate": False}
