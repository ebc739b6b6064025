-- The event log: every verified delivery, exactly as received. Append-only; only the
-- quarantine fields (status, error) are ever updated.
CREATE TABLE events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,  -- strictly increasing, never reused
    received_at  TEXT    NOT NULL,                   -- UTC, YYYY-MM-DDTHH:MM:SS.fffffffZ
    action       TEXT    NOT NULL,                   -- canonical Nexudus action name
    action_id    INTEGER NOT NULL,
    entity_type  TEXT,
    entity_id    INTEGER,
    updated_on   TEXT,                               -- the DTO's UpdatedOn, normalised to UTC
    body         BLOB    NOT NULL,                   -- the exact bytes received
    body_sha256  TEXT    NOT NULL,                   -- lower-case hex
    source       TEXT    NOT NULL DEFAULT 'webhook' CHECK (source IN ('webhook', 'import')),
    signature    TEXT,                               -- raw | ascii-folded | unsigned | imported
    status       TEXT    NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'quarantined')),
    error        TEXT
);
-- A byte-identical redelivery of the same action is the same delivery.
CREATE UNIQUE INDEX events_delivery ON events (action, body_sha256);
CREATE INDEX events_entity ON events (entity_type, entity_id);
CREATE INDEX events_quarantined ON events (seq) WHERE status = 'quarantined';

-- Deliveries refused for their signature: kept (bounded) so an operator can see a wrong secret.
CREATE TABLE rejections (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,  -- max(id) counts every rejection ever
    received_at     TEXT    NOT NULL,
    action          TEXT    NOT NULL,
    size            INTEGER NOT NULL,
    body_sha256     TEXT    NOT NULL,
    remote_address  TEXT,
    reason          TEXT    NOT NULL
);
