-- Records fetched from the Nexudus REST API (`nexmirror sync`) join the log with
-- source = 'api'. SQLite cannot change a CHECK in place, so the log is copied into a table
-- with the wider constraint; seq values, bodies and AUTOINCREMENT's high mark are kept.
CREATE TABLE events_v3 (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,  -- strictly increasing, never reused
    received_at  TEXT    NOT NULL,                   -- UTC, YYYY-MM-DDTHH:MM:SS.fffffffZ
    action       TEXT    NOT NULL,                   -- canonical Nexudus action name
    action_id    INTEGER NOT NULL,
    entity_type  TEXT,
    entity_id    INTEGER,
    updated_on   TEXT,                               -- the DTO's UpdatedOn, normalised to UTC
    body         BLOB    NOT NULL,                   -- the exact bytes received
    body_sha256  TEXT    NOT NULL,                   -- lower-case hex
    source       TEXT    NOT NULL DEFAULT 'webhook' CHECK (source IN ('webhook', 'import', 'api')),
    signature    TEXT,                               -- raw | ascii-folded | unsigned | imported | api
    status       TEXT    NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'quarantined')),
    error        TEXT
);
INSERT INTO events_v3 (seq, received_at, action, action_id, entity_type, entity_id, updated_on,
                       body, body_sha256, source, signature, status, error)
    SELECT seq, received_at, action, action_id, entity_type, entity_id, updated_on,
           body, body_sha256, source, signature, status, error
    FROM events ORDER BY seq;
DROP TABLE events;
ALTER TABLE events_v3 RENAME TO events;
CREATE UNIQUE INDEX events_delivery ON events (action, body_sha256);
CREATE INDEX events_entity ON events (entity_type, entity_id);
CREATE INDEX events_quarantined ON events (seq) WHERE status = 'quarantined';

-- One row per kind that `nexmirror sync` reconciles (coworkers, bookings, …, tariffs,
-- resources, businesses): the last run and what it found that webhooks had not delivered.
CREATE TABLE sync_state (
    kind         TEXT    PRIMARY KEY,
    started_at   TEXT,                       -- UTC, start of the last run
    finished_at  TEXT,                       -- UTC, end of the last completed run
    error        TEXT,                       -- why the last run failed; NULL once one completes
    listed       INTEGER NOT NULL DEFAULT 0, -- ids the API listed
    fetched      INTEGER NOT NULL DEFAULT 0, -- full records fetched (GET …/{id})
    new          INTEGER NOT NULL DEFAULT 0, -- drift: ids the replica did not hold
    changed      INTEGER NOT NULL DEFAULT 0, -- drift: ids the API holds newer
    deleted      INTEGER NOT NULL DEFAULT 0, -- drift: ids gone from the API (404)
    unchanged    INTEGER NOT NULL DEFAULT 0
);

-- The account's webhooks as `sync`, `webhooks` or `webhooks setup` last saw them, so the
-- dashboard and `status --check` can say "disabled in Nexudus" without asking the API.
CREATE TABLE nexudus_webhooks (
    id           INTEGER PRIMARY KEY,        -- the Nexudus WebHook Id
    business_id  INTEGER,
    action       TEXT,                       -- action name from the catalog (id when unknown)
    url          TEXT,
    active       INTEGER NOT NULL,
    error_count  INTEGER,
    last_error   TEXT,
    last_trigger TEXT,                       -- UTC
    seen_at      TEXT    NOT NULL            -- UTC, when the API last listed it
);
CREATE INDEX nexudus_webhooks_action ON nexudus_webhooks (action);
