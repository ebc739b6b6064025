#!/usr/bin/env python3
"""Bulk-append N realistic deliveries to the `events` table of a nexmirror SQLite file.

The file must already exist and be migrated by nexmirror itself (`nexmirror serve` once). Rows
match what nexmirror's own importer writes: received_at and updated_on normalised to UTC with 7
digits, exact body bytes, lower-case body_sha256, source 'import', signature 'imported'.

The log is a mix of every projected entity type plus others (Tariff, CalendarEvent, Product and
an uncertain-type action), with creates, updates and deletes, ~3 % of versions delivered late
(older UpdatedOn than the entity already has), ~1 % ties on UpdatedOn, and Json.NET date forms
varying between `Z`, `+hh:mm` and no suffix, with 0-7 fractional digits.

Two shapes (--shape):
  versions     (default) few entities with many versions each: the mix above.
  many-entity  a log shaped like a real account: 1.4-2.3 deliveries per entity (Coworker 50 % new,
               Booking 54 %, CoworkerInvoice 42 %, Checkin 45 %, CoworkerContract 42 %, Proposal
               41 %, Team 27 %, CalendarEvent 90 % of their deliveries; weights 55.6 : 52.1 : 38.1 :
               18.1 : 12.1 : 10.1 : 9.9 : 4), ~11 % of deliveries deletes (one tombstone each), so
               most deliveries insert a new row rather than replace one.

  bookings     mostly new bookings (90 % of deliveries, 80 % of those a new booking) and the
               coworkers who book them: long `export bookings` results.

usage: gen_log.py DB EVENTS [--shape versions|many-entity|bookings] [--seed S]
"""

import argparse
import hashlib
import os
import random
import sqlite3
import sys

import time

sys.dont_write_bytecode = True  # keep the repo free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nexgen as g  # noqa: E402

TICKS = g.TICKS

# type: (weight, p_new, p_delete, create actions, update actions, delete action)
TYPES = {
    "Booking": (34, 0.50, 0.15, ["BookingCreate"], ["BookingUpdate"], "BookingDelete"),
    "Coworker": (12, 0.30, 0.03, ["CoworkerCreate"], ["CoworkerUpdate"], "CoworkerDelete"),
    "CoworkerInvoice": (15, 0.35, 0.03, ["CoworkerInvoiceCreate", "CoworkerInvoiceCreateFirst"],
                        ["CoworkerInvoiceUpdate", "CoworkerInvoicePaid", "CoworkerInvoiceReceivedPayment",
                         "CoworkerInvoiceAwaitingPayment", "CoworkerInvoiceFailedPayment",
                         "CoworkerInvoiceRefund", "CoworkerInvoiceCreditNote"], "CoworkerInvoiceDelete"),
    "Checkin": (14, 0.55, 0.05, ["CheckinCreated"], ["CheckinUpdated"], "CheckinDeleted"),
    "CoworkerContract": (6, 0.35, 0.05, ["CoworkerContractCreate"],
                         ["CoworkerContractUpdate", "CoworkerContractActivate", "CoworkerContractRenew",
                          "CoworkerContractCancel"], "CoworkerContractDelete"),
    "Proposal": (3, 0.45, 0.10, ["ProposalCreated"], ["ProposalUpdated"], "ProposalDeleted"),
    "Team": (2, 0.30, 0.05, ["TeamCreated"], ["TeamUpdated"], "TeamDeleted"),
    "Tariff": (2, 0.20, 0.05, ["TariffCreate"], ["TariffUpdate"], "TariffDelete"),
    "CalendarEvent": (5, 0.40, 0.05, ["CalendarEventCreate"], ["CalendarEventUpdate"], "CalendarEventDelete"),
    "Product": (4, 0.30, 0.05, ["ProductCreate"], ["ProductUpdate"], "ProductDelete"),
    "SendWelcomeEmail": (3, 1.00, 0.00, ["SendWelcomeEmail"], [], None),
}

# The many-entity shape (issue 14's account): per type (deliveries in 200k, entities in them).
# p_delete applies to deliveries of existing entities (~52 % of all): 0.21 makes ~11 % deletes.
MANY_ENTITY = {
    etype: (deliveries, entities / deliveries, 0.21) + TYPES[etype][3:]
    for etype, (deliveries, entities) in {
        "Coworker": (55.6, 27.9), "Booking": (52.1, 28.2), "CoworkerInvoice": (38.1, 16.1),
        "Checkin": (18.1, 8.1), "CoworkerContract": (12.1, 5.1), "Proposal": (10.1, 4.1), "Team": (9.9, 2.7),
        "CalendarEvent": (4.0, 3.6)}.items()
}
# The bookings shape: a log that is mostly new bookings (~72 % of deliveries create one), with
# the coworkers who book them, for measuring long `export bookings` / `query` results.
BOOKINGS = {
    "Coworker": (10, 0.60, 0.02) + TYPES["Coworker"][3:],
    "Booking": (90, 0.80, 0.05) + TYPES["Booking"][3:],
}
SHAPES = {"versions": TYPES, "many-entity": MANY_ENTITY, "bookings": BOOKINGS}


class Generator:
    def __init__(self, seed, shape="versions"):
        self.kinds = SHAPES[shape]
        self.rnd = random.Random(seed)
        self.clock = g.BASE_TICKS
        self.next_id = 1_419_000_000
        self.live = {t: [] for t in self.kinds}  # entity dicts still alive, per type
        self.coworkers = []  # (id, name) of every coworker ever created
        self.types = list(self.kinds)
        self.weights = [self.kinds[t][0] for t in self.types]

    def new_entity(self, etype):
        rnd = self.rnd
        self.next_id += rnd.randint(1, 9)
        e = {"id": self.next_id, "uid": g.uuid(rnd), "created": self.clock, "updated": self.clock,
             "biz": rnd.choice(g.BUSINESSES)}
        if etype == "Coworker":
            e["name"] = g.person(rnd)
            e["ctype"] = 1 if rnd.random() < 0.8 else 2
            e["company"] = rnd.choice(g.COMPANIES) if rnd.random() < 0.6 else None
            self.coworkers.append((e["id"], e["name"]))
        else:
            cid, cname = rnd.choice(self.coworkers) if self.coworkers else (1_419_000_001, "Ren Kowalski")
            e["coworker"], e["name"] = cid, cname
        if etype == "Booking":
            e["resource"] = rnd.choice(g.RESOURCES)
            e["from"] = self.clock + rnd.randint(1, 30 * 24) * 1800 * TICKS
            e["minutes"] = rnd.choice([30, 60, 90, 120, 240, 480])
        elif etype == "Checkin":
            e["from"] = self.clock
        elif etype == "CalendarEvent":
            e["from"] = self.clock + rnd.randint(1, 60) * 86400 * TICKS
            e["tname"] = rnd.choice(["Breakfast", "Pitch night", "Yoga", "Lunch & learn"]) + " — " + g.person(rnd)
        elif etype == "CoworkerInvoice":
            e["total"] = g.amount(rnd, 10, 3000)
            e["number"] = f"{self.next_id % 100000:05d}"
            e["currency"] = rnd.choice(g.CURRENCIES)
        elif etype in ("Proposal", "CoworkerContract"):
            e["tariff"] = rnd.choice(g.TARIFFS)
        elif etype == "Team":
            members = sorted({e["coworker"]} | {rnd.choice(self.coworkers)[0] for _ in range(rnd.randint(0, 6))}
                             if self.coworkers else {e["coworker"]})
            e["members"] = [e["coworker"]] + [m for m in members if m != e["coworker"]]
            e["tname"] = "Team " + e["name"].split(" ")[-1]
        elif etype == "Tariff":
            e["tname"] = rnd.choice(["Hot desk", "Dedicated desk", "Private office", "Virtual office"]) + f" {self.next_id % 1000}"
        elif etype == "Product":
            e["tname"] = rnd.choice(["Coffee", "Locker", "Printing credits", "Day pass", "Mail handling"]) + f" {self.next_id % 1000}"
        return e

    def body(self, etype, action, e, u, f):
        rnd = self.rnd
        if etype == "Coworker":
            return g.coworker(e, u, f, rnd)
        if etype == "Booking":
            return g.booking(e, u, f, rnd)
        if etype == "CoworkerInvoice":
            return g.invoice(e, u, f, rnd, action)
        if etype == "Checkin":
            return g.checkin(e, u, f, rnd, action != "CheckinCreated")
        if etype == "CoworkerContract":
            return g.contract(e, u, f, rnd, action)
        if etype == "Proposal":
            return g.proposal(e, u, f, rnd)
        if etype == "Team":
            if action == "TeamUpdated" and self.coworkers and rnd.random() < 0.5:
                e["members"] = e["members"] + [rnd.choice(self.coworkers)[0]]
            return g.team(e, u, f, rnd)
        if etype == "Tariff":
            return g.tariff(e, u, f, rnd)
        if etype == "CalendarEvent":
            return g.calendar_event(e, u, f, rnd)
        if etype == "Product":
            return g.product(e, u, f, rnd)
        return g.welcome_email(e, u, f, rnd)

    def next(self):
        """One delivery: (received_at, action, action_id, entity_type, entity_id, updated_on, body, sha)."""
        rnd = self.rnd
        step = rnd.randint(1, 40 * TICKS)
        r = rnd.random()
        if r < 0.1:
            step -= step % TICKS  # whole seconds: Json.NET writes no fraction
        elif r < 0.3:
            step -= step % 10_000  # milliseconds: 3 digits
        self.clock += step
        etype = rnd.choices(self.types, self.weights)[0]
        weight, p_new, p_delete, creates, updates, delete = self.kinds[etype]
        live = self.live[etype]
        if not live or rnd.random() < p_new:
            e = self.new_entity(etype)
            if updates or delete:
                live.append(e)
            action = rnd.choice(creates)
            u = self.clock
        else:
            index = rnd.randrange(len(live))
            e = live[index]
            if delete and rnd.random() < p_delete:
                action = delete
                live[index] = live[-1]
                live.pop()
            else:
                action = rnd.choice(updates)
            r = rnd.random()
            if r < 0.03:
                # A late delivery: an older version than the entity already has.
                u = max(e["created"], e["updated"] - rnd.randint(1, 3600) * TICKS)
            elif r < 0.04:
                u = e["updated"]  # same UpdatedOn as the last version: the later log position wins
            else:
                u = self.clock
            e["updated"] = max(e["updated"], u)
            if action.endswith(("Delete", "Deleted")) and rnd.random() < 0.02:
                u = None  # a delete without UpdatedOn is final
        form = rnd.choice(g.DATE_FORMS)
        text = self.body(etype, action, e, u, form)
        body = text.encode("utf-8")
        received = self.clock + rnd.randint(1, 5 * TICKS)
        return (g.canonical(received), action, g.ACTION_IDS[action], etype, e["id"], g.canonical(u),
                body, hashlib.sha256(body).hexdigest())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("db")
    parser.add_argument("events", type=int)
    parser.add_argument("--shape", choices=list(SHAPES), default="versions")
    parser.add_argument("--seed", type=int, default=20260302)
    args = parser.parse_args()

    started = time.time()
    con = sqlite3.connect(args.db, isolation_level=None)
    con.execute("PRAGMA synchronous = OFF")
    con.execute("PRAGMA cache_size = -262144")
    generator = Generator(args.seed, args.shape)
    sql = ("INSERT OR IGNORE INTO events (received_at, action, action_id, entity_type, entity_id, updated_on, body,"
           " body_sha256, source, signature, status, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'import', 'imported', 'ok', NULL)")
    done = 0
    body_bytes = 0
    while done < args.events:
        batch = []
        for _ in range(min(20_000, args.events - done)):
            row = generator.next()
            body_bytes += len(row[6])
            batch.append(row)
        con.execute("BEGIN")
        con.executemany(sql, batch)
        con.execute("COMMIT")
        done += len(batch)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    rows = con.execute("SELECT count(*) FROM events").fetchone()[0]
    per_type = con.execute("SELECT entity_type, count(*) FROM events GROUP BY 1 ORDER BY 2 DESC").fetchall()
    deletes = con.execute("SELECT count(*) FROM events WHERE action LIKE '%Delete%'").fetchone()[0]
    entities = con.execute("SELECT count(*) FROM (SELECT DISTINCT entity_type, entity_id FROM events)").fetchone()[0]
    con.close()
    print(f"generated {done} {args.shape} deliveries ({rows} rows in events, {entities} entities, {deletes} deletes, mean body "
          f"{body_bytes / max(done, 1):.0f} B) in {time.time() - started:.1f} s: "
          + ", ".join(f"{t} {n}" for t, n in per_type))


if __name__ == "__main__":
    main()
