-- nexmirror_append without the look-up before each insert. It looked a delivery up with
-- `action = … AND body_sha256 = …`, and PL/pgSQL keeps a generic plan per session: planned while
-- `events` had no statistics (a new database, until autovacuum's first ANALYZE), that plan could
-- use `events_activity` on `action` alone and read every logged delivery of that action, so each
-- append got slower as the log grew (measured: 1,280-1,900 deliveries/s against 6,000-10,900 with
-- the unique index). Now the insert itself checks the unique index (ON CONFLICT), and only a
-- duplicate is looked up. No sequence is involved (seq is counted here under the lock), so a
-- conflict burns no seq. Same signature, same results: commit order is seq order, duplicates
-- (also within one call) answer with the first seq, synchronous_commit is on for the commit.
CREATE OR REPLACE FUNCTION nexmirror_append(
    p_received_at text[], p_action text[], p_action_id integer[], p_entity_type text[],
    p_entity_id text[], p_updated_on text[], p_body bytea[], p_sha256 text[], p_source text[],
    p_signature text[], p_error text[]
) RETURNS TABLE (appended_seq bigint, duplicate boolean) LANGUAGE plpgsql AS $$
DECLARE
    v_first bigint;
    v_last bigint;
    r record;
BEGIN
    PERFORM set_config('synchronous_commit', 'on', true);
    SELECT last_seq INTO v_last FROM log_head WHERE id = 1 FOR UPDATE;
    v_first := v_last;
    FOR r IN
        SELECT * FROM unnest(p_received_at, p_action, p_action_id, p_entity_type, p_entity_id, p_updated_on,
                             p_body, p_sha256, p_source, p_signature, p_error) WITH ORDINALITY
            AS d(received_at, action, action_id, entity_type, entity_id, updated_on, body, sha256, source,
                 signature, error, n)
        ORDER BY n
    LOOP
        INSERT INTO events (seq, received_at, action, action_id, entity_type, entity_id, updated_on,
                            body, body_sha256, source, signature, status, error)
        VALUES (v_last + 1, r.received_at, r.action, r.action_id, nullif(r.entity_type, ''),
                nullif(r.entity_id, '')::bigint, nullif(r.updated_on, ''), r.body, r.sha256,
                r.source, nullif(r.signature, ''),
                CASE WHEN r.error = '' THEN 'ok' ELSE 'quarantined' END, nullif(r.error, ''))
        ON CONFLICT (action, body_sha256) DO NOTHING;
        IF FOUND THEN
            v_last := v_last + 1;
            appended_seq := v_last; duplicate := false;
        ELSE
            -- Appends are serialized by the lock above, so the row in the way is committed (or
            -- this call's own) and this statement sees it.
            SELECT e.seq INTO appended_seq FROM events e WHERE e.action = r.action AND e.body_sha256 = r.sha256;
            duplicate := true;
        END IF;
        RETURN NEXT;
    END LOOP;
    IF v_last > v_first THEN
        UPDATE log_head SET last_seq = v_last WHERE id = 1;
        PERFORM pg_notify('nexmirror_events', '');  -- a wake-up hint for projectors; they also poll
    END IF;
END $$;
