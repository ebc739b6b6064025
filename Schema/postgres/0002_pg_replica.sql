-- PostgreSQL: the replica, as Schema/0002_replica.sql on SQLite (same names; INTEGER -> bigint,
-- REAL -> numeric so amounts stay exact, timestamps the same 7-digit text).
-- Every typed table keeps the winning delivery's log position in `seq` (fold rule tie-break).

CREATE TABLE projections (
    name        text    PRIMARY KEY,
    version     bigint NOT NULL,
    checkpoint  bigint NOT NULL DEFAULT 0,  -- last folded events.seq
    rebuilt_at  text,
    updated_at  text
);

CREATE TABLE coworkers (
    id             bigint PRIMARY KEY,
    unique_id      text,
    created_on     text,
    updated_on     text,
    full_name      text,
    email          text,
    company_name   text,
    coworker_type  text,     -- individual | company
    active         bigint,
    archived       bigint,
    tariff_id      bigint,
    tariff_name    text,
    business_id    bigint,  -- InvoicingBusinessId
    seq            bigint NOT NULL,
    data           text    NOT NULL
);
CREATE INDEX coworkers_email ON coworkers (email);
CREATE INDEX coworkers_business ON coworkers (business_id);

CREATE VIEW members AS
    SELECT * FROM coworkers WHERE active = 1 AND archived = 0;

CREATE TABLE bookings (
    id             bigint PRIMARY KEY,
    unique_id      text,
    created_on     text,
    updated_on     text,
    coworker_id    bigint,
    resource_id    bigint,
    resource_name  text,
    from_time      text,
    to_time        text,
    tentative      bigint,
    online         bigint,
    invoiced       bigint,
    seq            bigint NOT NULL,
    data           text    NOT NULL
);
CREATE INDEX bookings_coworker ON bookings (coworker_id);
CREATE INDEX bookings_from_time ON bookings (from_time);

CREATE TABLE invoices (
    id              bigint PRIMARY KEY,
    unique_id       text,
    created_on      text,
    updated_on      text,
    coworker_id     bigint,
    business_id     bigint,
    invoice_number  text,
    currency_code   text,
    total_amount    numeric,
    paid_amount     numeric,
    paid            bigint,
    paid_on         text,
    due_date        text,
    status          text,  -- draft | awaiting_payment | paid | refunded | credit_note | void
    seq             bigint NOT NULL,
    data            text    NOT NULL
);
CREATE INDEX invoices_coworker ON invoices (coworker_id);

CREATE TABLE invoice_events (
    seq          bigint PRIMARY KEY,  -- events.seq of the delivery
    invoice_id   bigint NOT NULL,
    action       text    NOT NULL,
    occurred_at  text                  -- the DTO's UpdatedOn
);
CREATE INDEX invoice_events_invoice ON invoice_events (invoice_id);

CREATE TABLE teams (
    id                bigint PRIMARY KEY,
    unique_id         text,
    created_on        text,
    updated_on        text,
    name              text,
    business_id       bigint,
    paying_member_id  bigint,
    seq               bigint NOT NULL,
    data              text    NOT NULL
);

CREATE TABLE team_members (
    team_id      bigint NOT NULL,
    coworker_id  bigint NOT NULL,
    PRIMARY KEY (team_id, coworker_id)
);
CREATE INDEX team_members_coworker ON team_members (coworker_id);

CREATE TABLE checkins (
    id           bigint PRIMARY KEY,
    unique_id    text,
    created_on   text,
    updated_on   text,
    coworker_id  bigint,
    business_id  bigint,
    from_time    text,
    to_time      text,     -- NULL while checked in
    source       text,     -- none | manual | door_access | network_activity | tile | sensor
    seq          bigint NOT NULL,
    data         text    NOT NULL
);
CREATE INDEX checkins_coworker ON checkins (coworker_id);

CREATE TABLE proposals (
    id               bigint PRIMARY KEY,
    unique_id        text,
    created_on       text,
    updated_on       text,
    coworker_id      bigint,
    issued_by_id     bigint,
    reference        text,
    status           text,  -- draft | sent | accepted | rejected
    price            numeric,
    tariff_name      text,
    start_date       text,
    expiration_date  text,
    seq              bigint NOT NULL,
    data             text    NOT NULL
);

CREATE TABLE contracts (
    id                 bigint PRIMARY KEY,
    unique_id          text,
    created_on         text,
    updated_on         text,
    coworker_id        bigint,
    issued_by_id       bigint,
    tariff_id          bigint,
    tariff_name        text,
    price              numeric,
    start_date         text,
    renewal_date       text,
    cancellation_date  text,
    active             bigint,
    cancelled          bigint,
    seq                bigint NOT NULL,
    data               text    NOT NULL
);
CREATE INDEX contracts_coworker ON contracts (coworker_id);

CREATE TABLE entities (
    entity_type  text    NOT NULL,
    id           bigint NOT NULL,
    unique_id    text,
    created_on   text,
    updated_on   text,
    action       text    NOT NULL,
    seq          bigint NOT NULL,
    data         text    NOT NULL,
    PRIMARY KEY (entity_type, id)
);

CREATE TABLE tombstones (
    entity_type  text    NOT NULL,
    id           bigint NOT NULL,
    updated_on   text,              -- NULL: a delete without UpdatedOn, final
    seq          bigint NOT NULL,
    PRIMARY KEY (entity_type, id)
);
