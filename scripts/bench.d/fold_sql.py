#!/usr/bin/env python3
"""Writes fold.sql: the replica folded from `events` in pure SQL by the sqlite3 shell.

This is the "C limit" that `nexmirror rebuild` is compared with. It does the same work as
nexmirror's fold (Projections/*.swift + ReplicaFolder.swift), expressed as set operations:
  1. one pass over the log parses every body once (json_extract of UpdatedOn) into a version
     key per delivery (normalised UpdatedOn, delete flag, seq);
  2. per typed table, a window function picks each entity's greatest version (greatest
     UpdatedOn, deletes win ties, then the later seq; a delete without UpdatedOn is final) and,
     where it is not a delete, the winning body is parsed again for the columns (booleans 0/1,
     enum names, timestamps normalised to UTC with 7 digits, invoice status from its flags);
  3. tombstones hold each entity's greatest delete; invoice_events one row per invoice delivery;
     team_members come from the winning team's TeamMembers.
Indexes are dropped before and created after, as nexmirror's rebuild builds index-less copies.

Timestamps are normalised with SQLite's date functions (Z, +hh:mm or no suffix; the fraction
padded to 7 digits), which covers every form the benchmark log holds.

usage: fold_sql.py > fold.sql
"""


def norm(x):
    """SQL for a Json.NET date text x -> `YYYY-MM-DDTHH:MM:SS.fffffffZ` (UTC), NULL stays NULL."""
    # SQLite's date functions round fractions to milliseconds, so they get the text without its
    # fraction (seconds + offset suffix) and the fraction is carried over as digits.
    frac = (f"iif(substr({x}, 20, 1) = '.', substr({x}, 21, length({x}) - 20 - "
            f"length(ltrim(substr({x}, 21), '0123456789'))), '')")
    suffix = f"iif(substr({x}, 20, 1) = '.', ltrim(substr({x}, 21), '0123456789'), substr({x}, 20))"
    return (f"(strftime('%Y-%m-%dT%H:%M:%S', substr({x}, 1, 19) || {suffix}) || '.' || "
            f"substr({frac} || '0000000', 1, 7) || 'Z')")


def j(field):
    return f"json_extract(e.body, '$[0].{field}')"


def ts(field):
    return norm(j(field))


def enum(field, names):
    cases = " ".join(f"WHEN {code} THEN '{name}'" for code, name in names)
    return f"CASE {j(field)} {cases} ELSE CAST({j(field)} AS TEXT) END"


# table: (entity type, [(column, SQL expression over the winning body e.body)])
TABLES = {
    "coworkers": ("Coworker", [
        ("full_name", j("FullName")), ("email", j("Email")), ("company_name", j("CompanyName")),
        ("coworker_type", enum("CoworkerType", [(1, "individual"), (2, "company")])),
        ("active", j("Active")), ("archived", j("Archived")), ("tariff_id", j("TariffId")),
        ("tariff_name", j("TariffName")), ("business_id", j("InvoicingBusinessId"))]),
    "bookings": ("Booking", [
        ("coworker_id", j("CoworkerId")), ("resource_id", j("ResourceId")), ("resource_name", j("ResourceName")),
        ("from_time", ts("FromTime")), ("to_time", ts("ToTime")), ("tentative", j("Tentative")),
        ("online", j("Online")), ("invoiced", j("Invoiced"))]),
    "invoices": ("CoworkerInvoice", [
        ("coworker_id", j("CoworkerId")), ("business_id", j("BusinessId")), ("invoice_number", j("InvoiceNumber")),
        ("currency_code", j("CurrencyCode")), ("total_amount", j("TotalAmount")), ("paid_amount", j("PaidAmount")),
        ("paid", j("Paid")), ("paid_on", ts("PaidOn")), ("due_date", ts("DueDate")),
        ("status", f"CASE WHEN {j('CreditNote')} THEN 'credit_note' WHEN {j('Void')} THEN 'void' "
                   f"WHEN {j('Refunded')} THEN 'refunded' WHEN {j('Paid')} THEN 'paid' "
                   f"WHEN {j('Draft')} THEN 'draft' ELSE 'awaiting_payment' END")]),
    "teams": ("Team", [
        ("name", j("Name")), ("business_id", j("BusinessId")), ("paying_member_id", j("PayingMemberId"))]),
    "checkins": ("Checkin", [
        ("coworker_id", j("CoworkerId")), ("business_id", j("BusinessId")), ("from_time", ts("FromTime")),
        ("to_time", ts("ToTime")),
        ("source", enum("Source", [(0, "none"), (1, "manual"), (2, "door_access"), (3, "network_activity"),
                                   (4, "tile"), (5, "sensor")]))]),
    "proposals": ("Proposal", [
        ("coworker_id", j("CoworkerId")), ("issued_by_id", j("IssuedById")), ("reference", j("Reference")),
        ("status", enum("ProposalStatus", [(1, "draft"), (2, "sent"), (3, "accepted"), (4, "rejected")])),
        ("price", j("Price")), ("tariff_name", j("TariffName")), ("start_date", ts("StartDate")),
        ("expiration_date", ts("ExpirationDate"))]),
    "contracts": ("CoworkerContract", [
        ("coworker_id", j("CoworkerId")), ("issued_by_id", j("IssuedById")), ("tariff_id", j("TariffId")),
        ("tariff_name", j("TariffName")), ("price", j("Price")), ("start_date", ts("StartDate")),
        ("renewal_date", ts("RenewalDate")), ("cancellation_date", ts("CancellationDate")),
        ("active", j("Active")), ("cancelled", j("Cancelled"))]),
}

INDEXES = [
    ("coworkers_email", "coworkers (email)"), ("coworkers_business", "coworkers (business_id)"),
    ("bookings_coworker", "bookings (coworker_id)"), ("bookings_from_time", "bookings (from_time)"),
    ("invoices_coworker", "invoices (coworker_id)"), ("invoice_events_invoice", "invoice_events (invoice_id)"),
    ("team_members_coworker", "team_members (coworker_id)"), ("checkins_coworker", "checkins (coworker_id)"),
    ("contracts_coworker", "contracts (coworker_id)"),
]

COMMON = "e.entity_id, json_extract(e.body, '$[0].UniqueId'), " + ts("CreatedOn") + ", w.updated_on"
DATA = "CAST(substr(e.body, 2, length(e.body) - 2) AS TEXT)"  # the DTO's exact text inside [ ]


def winners(where):
    """Each entity's greatest version among deliveries matching `where`, deletes included."""
    return (f"SELECT seq, updated_on, is_delete FROM (SELECT seq, updated_on, is_delete, row_number() OVER ("
            f"PARTITION BY entity_type, entity_id ORDER BY coalesce(updated_on, iif(is_delete, '~', '')) DESC, "
            f"is_delete DESC, seq DESC) AS rank FROM versions WHERE {where}) WHERE rank = 1")


def main():
    out = ["-- Generated by scripts/bench.d/fold_sql.py; see there for what it does.",
           "PRAGMA synchronous = OFF;", "BEGIN;"]
    out += [f"DROP INDEX IF EXISTS {name};" for name, _ in INDEXES]
    for table in list(TABLES) + ["invoice_events", "team_members", "entities", "tombstones"]:
        out.append(f"DELETE FROM {table};")
    # 1. Every body parsed once: its version key.
    out.append(
        "CREATE TEMP TABLE versions AS SELECT seq, entity_type, entity_id, action, "
        "instr(action, 'Delete') > 0 AS is_delete, "
        + norm("json_extract(body, '$[0].UpdatedOn')") + " AS updated_on "
        "FROM events WHERE status = 'ok' AND entity_id IS NOT NULL;")
    claimed = []
    # 2. Typed tables: the winning version of each entity, unless it is a delete.
    for table, (etype, columns) in TABLES.items():
        claimed.append(etype)
        names = ", ".join(c for c, _ in columns)
        exprs = ",\n       ".join(x for _, x in columns)
        out.append(
            f"INSERT INTO {table} (id, unique_id, created_on, updated_on, {names}, seq, data)\n"
            f"SELECT {COMMON},\n       {exprs},\n       e.seq, {DATA}\n"
            f"FROM ({winners(f'entity_type = {sq(etype)}')}) AS w JOIN events AS e ON e.seq = w.seq\n"
            f"WHERE NOT w.is_delete;")
    # Every other entity type: `entities`, keyed by (entity_type, id).
    others = ", ".join(sq(t) for t in claimed)
    out.append(
        "INSERT INTO entities (entity_type, id, unique_id, created_on, updated_on, action, seq, data)\n"
        f"SELECT e.entity_type, {COMMON}, e.action, e.seq, {DATA}\n"
        f"FROM ({winners(f'entity_type NOT IN ({others})')}) AS w JOIN events AS e ON e.seq = w.seq\n"
        "WHERE NOT w.is_delete;")
    # 3. Tombstones, invoice history, team members.
    out.append(
        "INSERT INTO tombstones (entity_type, id, updated_on, seq)\n"
        "SELECT entity_type, entity_id, updated_on, seq FROM (SELECT entity_type, entity_id, updated_on, seq, "
        "row_number() OVER (PARTITION BY entity_type, entity_id ORDER BY coalesce(updated_on, '~') DESC, seq DESC) "
        "AS rank FROM versions WHERE is_delete) WHERE rank = 1;")
    out.append(
        "INSERT INTO invoice_events (seq, invoice_id, action, occurred_at)\n"
        "SELECT seq, entity_id, action, updated_on FROM versions WHERE entity_type = 'CoworkerInvoice';")
    out.append(
        "INSERT OR IGNORE INTO team_members (team_id, coworker_id)\n"
        "SELECT t.id, m.value FROM teams AS t, json_each(t.data, '$.TeamMembers') AS m;")
    out += [f"CREATE INDEX {name} ON {definition};" for name, definition in INDEXES]
    out.append("UPDATE projections SET checkpoint = (SELECT max(seq) FROM events);")
    out.append("COMMIT;")
    print("\n".join(out))


def sq(text):
    return "'" + text.replace("'", "''") + "'"


if __name__ == "__main__":
    main()
