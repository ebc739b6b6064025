"""The replica's table and column names, in one place for every benchmark script.

fold_sql.py builds the pure-SQL fold from these, bench's rebuild section compares replicas table
by table with them (after checking them against the columns nexmirror's migrations created), and
gen_replica.py fills coworkers and bookings by column name. Mirrors Projections/*.swift.
"""

# Column kinds: "value" (json_extract as is), "ts" (Json.NET date -> canonical UTC text),
# ("enum", [(code, name), ...]), "invoice_status" (from the invoice's flags).
# typed table: (entity type, [(column, DTO field, kind)])
TYPED = {
    "coworkers": ("Coworker", [
        ("full_name", "FullName", "value"), ("email", "Email", "value"), ("company_name", "CompanyName", "value"),
        ("coworker_type", "CoworkerType", ("enum", [(1, "individual"), (2, "company")])),
        ("active", "Active", "value"), ("archived", "Archived", "value"), ("tariff_id", "TariffId", "value"),
        ("tariff_name", "TariffName", "value"), ("business_id", "InvoicingBusinessId", "value")]),
    "bookings": ("Booking", [
        ("coworker_id", "CoworkerId", "value"), ("resource_id", "ResourceId", "value"),
        ("resource_name", "ResourceName", "value"), ("from_time", "FromTime", "ts"), ("to_time", "ToTime", "ts"),
        ("tentative", "Tentative", "value"), ("online", "Online", "value"), ("invoiced", "Invoiced", "value")]),
    "invoices": ("CoworkerInvoice", [
        ("coworker_id", "CoworkerId", "value"), ("business_id", "BusinessId", "value"),
        ("invoice_number", "InvoiceNumber", "value"), ("currency_code", "CurrencyCode", "value"),
        ("total_amount", "TotalAmount", "value"), ("paid_amount", "PaidAmount", "value"), ("paid", "Paid", "value"),
        ("paid_on", "PaidOn", "ts"), ("due_date", "DueDate", "ts"), ("status", None, "invoice_status")]),
    "teams": ("Team", [
        ("name", "Name", "value"), ("business_id", "BusinessId", "value"),
        ("paying_member_id", "PayingMemberId", "value")]),
    "checkins": ("Checkin", [
        ("coworker_id", "CoworkerId", "value"), ("business_id", "BusinessId", "value"),
        ("from_time", "FromTime", "ts"), ("to_time", "ToTime", "ts"),
        ("source", "Source", ("enum", [(0, "none"), (1, "manual"), (2, "door_access"), (3, "network_activity"),
                                       (4, "tile"), (5, "sensor")]))]),
    "proposals": ("Proposal", [
        ("coworker_id", "CoworkerId", "value"), ("issued_by_id", "IssuedById", "value"),
        ("reference", "Reference", "value"),
        ("status", "ProposalStatus", ("enum", [(1, "draft"), (2, "sent"), (3, "accepted"), (4, "rejected")])),
        ("price", "Price", "value"), ("tariff_name", "TariffName", "value"), ("start_date", "StartDate", "ts"),
        ("expiration_date", "ExpirationDate", "ts")]),
    "contracts": ("CoworkerContract", [
        ("coworker_id", "CoworkerId", "value"), ("issued_by_id", "IssuedById", "value"),
        ("tariff_id", "TariffId", "value"), ("tariff_name", "TariffName", "value"), ("price", "Price", "value"),
        ("start_date", "StartDate", "ts"), ("renewal_date", "RenewalDate", "ts"),
        ("cancellation_date", "CancellationDate", "ts"), ("active", "Active", "value"),
        ("cancelled", "Cancelled", "value")]),
}

# Every typed row: key and version first, the projection's columns, then the log position and
# the DTO text (FoldSQL.rowColumns in ReplicaFolder.swift).
HEAD = ["id", "unique_id", "created_on", "updated_on"]
TAIL = ["seq", "data"]
ENTITIES = ["entity_type", "id", "unique_id", "created_on", "updated_on", "action", "seq", "data"]
TOMBSTONES = ["entity_type", "id", "updated_on", "seq"]
INVOICE_EVENTS = ["seq", "invoice_id", "action", "occurred_at"]  # one row per invoice delivery
TEAM_MEMBERS = ["team_id", "coworker_id"]  # the winning team's TeamMembers

INDEXES = [
    ("coworkers_email", "coworkers (email)"), ("coworkers_business", "coworkers (business_id)"),
    ("bookings_coworker", "bookings (coworker_id)"), ("bookings_from_time", "bookings (from_time)"),
    ("invoices_coworker", "invoices (coworker_id)"), ("invoice_events_invoice", "invoice_events (invoice_id)"),
    ("team_members_coworker", "team_members (coworker_id)"), ("checkins_coworker", "checkins (coworker_id)"),
    ("contracts_coworker", "contracts (coworker_id)"),
]

EVENT_COLUMNS = ["seq", "received_at", "action", "action_id", "entity_type", "entity_id", "updated_on", "body",
                 "body_sha256", "source", "signature", "status", "error"]


def columns(table):
    """Every column of a replica table, in the table's order."""
    if table in TYPED:
        return HEAD + [c for c, _, _ in TYPED[table][1]] + TAIL
    return {"entities": ENTITIES, "tombstones": TOMBSTONES, "invoice_events": INVOICE_EVENTS,
            "team_members": TEAM_MEMBERS}[table]


REPLICA_TABLES = list(TYPED) + ["invoice_events", "team_members", "entities", "tombstones"]


def check_against(con):
    """Names of the replica tables whose columns differ from the database's (`con`, migrated by
    nexmirror): a schema change that this file has not followed yet."""
    return [t for t in REPLICA_TABLES
            if [r[1] for r in con.execute(f"PRAGMA table_info({t})")] != columns(t)]
