-- PostgreSQL: the event log, with the same table and column names as on SQLite (Schema/0001,
-- 0003). Timestamps are the same 7-digit UTC text (timestamptz keeps only microseconds, and the
-- fold compares versions at 100 ns), booleans 0/1, so every command prints the same values.
CREATE TABLE events (
    seq          bigint  PRIMARY KEY,               -- assigned under log_head's row lock: commit order
    received_at  text    NOT NULL,                  -- UTC, YYYY-MM-DDTHH:MM:SS.fffffffZ
    action       text    NOT NULL,
    action_id    integer NOT NULL,
    entity_type  text,
    entity_id    bigint,
    updated_on   text,
    body         bytea   NOT NULL,                  -- the exact bytes received
    body_sha256  text    NOT NULL,                  -- lower-case hex
    source       text    NOT NULL DEFAULT 'webhook' CHECK (source IN ('webhook', 'import', 'api')),
    signature    text,
    status       text    NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'quarantined')),
    error        text
);
-- A byte-identical redelivery of the same action is the same delivery, whichever receiver got it.
CREATE UNIQUE INDEX events_delivery ON events (action, body_sha256);
CREATE INDEX events_entity ON events (entity_type, entity_id);
CREATE INDEX events_quarantined ON events (seq) WHERE status = 'quarantined';
CREATE INDEX events_activity ON events (action, source, received_at, signature);

-- One row whose lock serializes appends until COMMIT, so a seq is never visible before a lower
-- one: a reader following seq never skips a delivery (design/POSTGRES.md §1).
CREATE TABLE log_head (
    id        smallint PRIMARY KEY CHECK (id = 1),
    last_seq  bigint   NOT NULL
);
INSERT INTO log_head VALUES (1, 0);

CREATE TABLE rejections (
    id              bigserial PRIMARY KEY,
    received_at     text    NOT NULL,
    action          text    NOT NULL,
    size            integer NOT NULL,
    body_sha256     text    NOT NULL,
    remote_address  text,
    reason          text    NOT NULL
);

-- Appends a batch of deliveries (parallel arrays; '' stands for NULL in the nullable text ones)
-- in one statement, so the append lock is never held across a client round trip. Returns one
-- row per delivery, in order: its seq, and whether it was already in the log.
CREATE FUNCTION nexmirror_append(
    p_received_at text[], p_action text[], p_action_id integer[], p_entity_type text[],
    p_entity_id text[], p_updated_on text[], p_body bytea[], p_sha256 text[], p_source text[],
    p_signature text[], p_error text[]
) RETURNS TABLE (appended_seq bigint, duplicate boolean) LANGUAGE plpgsql AS $$
DECLARE
    v_seq bigint;
    v_inserted boolean := false;
BEGIN
    -- In effect at this transaction's COMMIT (unlike a function SET clause): a 200 needs the
    -- commit flushed, whatever the session or role says.
    PERFORM set_config('synchronous_commit', 'on', true);
    PERFORM 1 FROM log_head WHERE id = 1 FOR UPDATE;
    FOR i IN 1 .. coalesce(array_length(p_action, 1), 0) LOOP
        SELECT e.seq INTO v_seq FROM events e WHERE e.action = p_action[i] AND e.body_sha256 = p_sha256[i];
        IF FOUND THEN
            appended_seq := v_seq; duplicate := true;
        ELSE
            UPDATE log_head SET last_seq = last_seq + 1 WHERE id = 1 RETURNING last_seq INTO v_seq;
            INSERT INTO events (seq, received_at, action, action_id, entity_type, entity_id, updated_on,
                                body, body_sha256, source, signature, status, error)
            VALUES (v_seq, p_received_at[i], p_action[i], p_action_id[i], nullif(p_entity_type[i], ''),
                    nullif(p_entity_id[i], '')::bigint, nullif(p_updated_on[i], ''), p_body[i], p_sha256[i],
                    p_source[i], nullif(p_signature[i], ''),
                    CASE WHEN p_error[i] = '' THEN 'ok' ELSE 'quarantined' END, nullif(p_error[i], ''));
            appended_seq := v_seq; duplicate := false; v_inserted := true;
        END IF;
        RETURN NEXT;
    END LOOP;
    IF v_inserted THEN
        PERFORM pg_notify('nexmirror_events', '');  -- a wake-up hint for projectors; they also poll
    END IF;
END $$;

-- What `nexmirror sync` found (as Schema/0003_sync.sql on SQLite).
CREATE TABLE sync_state (
    kind         text    PRIMARY KEY,
    started_at   text,
    finished_at  text,
    error        text,
    listed       integer NOT NULL DEFAULT 0,
    fetched      integer NOT NULL DEFAULT 0,
    new          integer NOT NULL DEFAULT 0,
    changed      integer NOT NULL DEFAULT 0,
    deleted      integer NOT NULL DEFAULT 0,
    unchanged    integer NOT NULL DEFAULT 0
);
CREATE TABLE nexudus_webhooks (
    id           bigint  PRIMARY KEY,
    business_id  bigint,
    action       text,
    url          text,
    active       integer NOT NULL,
    error_count  integer,
    last_error   text,
    last_trigger text,
    seen_at      text    NOT NULL
);
CREATE INDEX nexudus_webhooks_action ON nexudus_webhooks (action);
