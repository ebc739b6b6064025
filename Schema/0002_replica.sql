-- The replica: tables folded from the log by the projection modules in Projections/.
-- Every typed table keeps the winning delivery's log position in `seq` (fold rule tie-break).

CREATE TABLE projections (
    name        TEXT    PRIMARY KEY,
    version     INTEGER NOT NULL,
    checkpoint  INTEGER NOT NULL DEFAULT 0,  -- last folded events.seq
    rebuilt_at  TEXT,
    updated_at  TEXT
);

CREATE TABLE coworkers (
    id             INTEGER PRIMARY KEY,
    unique_id      TEXT,
    created_on     TEXT,
    updated_on     TEXT,
    full_name      TEXT,
    email          TEXT,
    company_name   TEXT,
    coworker_type  TEXT,     -- individual | company
    active         INTEGER,
    archived       INTEGER,
    tariff_id      INTEGER,
    tariff_name    TEXT,
    business_id    INTEGER,  -- InvoicingBusinessId
    seq            INTEGER NOT NULL,
    data           TEXT    NOT NULL
);
CREATE INDEX coworkers_email ON coworkers (email);
CREATE INDEX coworkers_business ON coworkers (business_id);

CREATE VIEW members AS
    SELECT * FROM coworkers WHERE active = 1 AND archived = 0;

CREATE TABLE bookings (
    id             INTEGER PRIMARY KEY,
    unique_id      TEXT,
    created_on     TEXT,
    updated_on     TEXT,
    coworker_id    INTEGER,
    resource_id    INTEGER,
    resource_name  TEXT,
    from_time      TEXT,
    to_time        TEXT,
    tentative      INTEGER,
    online         INTEGER,
    invoiced       INTEGER,
    seq            INTEGER NOT NULL,
    data           TEXT    NOT NULL
);
CREATE INDEX bookings_coworker ON bookings (coworker_id);
CREATE INDEX bookings_from_time ON bookings (from_time);

CREATE TABLE invoices (
    id              INTEGER PRIMARY KEY,
    unique_id       TEXT,
    created_on      TEXT,
    updated_on      TEXT,
    coworker_id     INTEGER,
    business_id     INTEGER,
    invoice_number  TEXT,
    currency_code   TEXT,
    total_amount    REAL,
    paid_amount     REAL,
    paid            INTEGER,
    paid_on         TEXT,
    due_date        TEXT,
    status          TEXT,  -- draft | awaiting_payment | paid | refunded | credit_note | void
    seq             INTEGER NOT NULL,
    data            TEXT    NOT NULL
);
CREATE INDEX invoices_coworker ON invoices (coworker_id);

CREATE TABLE invoice_events (
    seq          INTEGER PRIMARY KEY,  -- events.seq of the delivery
    invoice_id   INTEGER NOT NULL,
    action       TEXT    NOT NULL,
    occurred_at  TEXT                  -- the DTO's UpdatedOn
);
CREATE INDEX invoice_events_invoice ON invoice_events (invoice_id);

CREATE TABLE teams (
    id                INTEGER PRIMARY KEY,
    unique_id         TEXT,
    created_on        TEXT,
    updated_on        TEXT,
    name              TEXT,
    business_id       INTEGER,
    paying_member_id  INTEGER,
    seq               INTEGER NOT NULL,
    data              TEXT    NOT NULL
);

CREATE TABLE team_members (
    team_id      INTEGER NOT NULL,
    coworker_id  INTEGER NOT NULL,
    PRIMARY KEY (team_id, coworker_id)
);
CREATE INDEX team_members_coworker ON team_members (coworker_id);

CREATE TABLE checkins (
    id           INTEGER PRIMARY KEY,
    unique_id    TEXT,
    created_on   TEXT,
    updated_on   TEXT,
    coworker_id  INTEGER,
    business_id  INTEGER,
    from_time    TEXT,
    to_time      TEXT,     -- NULL while checked in
    source       TEXT,     -- none | manual | door_access | network_activity | tile | sensor
    seq          INTEGER NOT NULL,
    data         TEXT    NOT NULL
);
CREATE INDEX checkins_coworker ON checkins (coworker_id);

CREATE TABLE proposals (
    id               INTEGER PRIMARY KEY,
    unique_id        TEXT,
    created_on       TEXT,
    updated_on       TEXT,
    coworker_id      INTEGER,
    issued_by_id     INTEGER,
    reference        TEXT,
    status           TEXT,  -- draft | sent | accepted | rejected
    price            REAL,
    tariff_name      TEXT,
    start_date       TEXT,
    expiration_date  TEXT,
    seq              INTEGER NOT NULL,
    data             TEXT    NOT NULL
);

CREATE TABLE contracts (
    id                 INTEGER PRIMARY KEY,
    unique_id          TEXT,
    created_on         TEXT,
    updated_on         TEXT,
    coworker_id        INTEGER,
    issued_by_id       INTEGER,
    tariff_id          INTEGER,
    tariff_name        TEXT,
    price              REAL,
    start_date         TEXT,
    renewal_date       TEXT,
    cancellation_date  TEXT,
    active             INTEGER,
    cancelled          INTEGER,
    seq                INTEGER NOT NULL,
    data               TEXT    NOT NULL
);
CREATE INDEX contracts_coworker ON contracts (coworker_id);

CREATE TABLE entities (
    entity_type  TEXT    NOT NULL,
    id           INTEGER NOT NULL,
    unique_id    TEXT,
    created_on   TEXT,
    updated_on   TEXT,
    action       TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    data         TEXT    NOT NULL,
    PRIMARY KEY (entity_type, id)
);

CREATE TABLE tombstones (
    entity_type  TEXT    NOT NULL,
    id           INTEGER NOT NULL,
    updated_on   TEXT,              -- NULL: a delete without UpdatedOn, final
    seq          INTEGER NOT NULL,
    PRIMARY KEY (entity_type, id)
);
