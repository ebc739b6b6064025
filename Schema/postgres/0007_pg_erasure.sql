-- Data protection (SPEC §10), as Schema/0006_erasure.sql on SQLite. Nothing here holds
-- personal data: ids, hashes, times, reasons.
CREATE TABLE erased_subjects (
    coworker_id  bigint  PRIMARY KEY,
    erased_at    text    NOT NULL,
    reason       text,
    origin       text    NOT NULL CHECK (origin IN ('forget', 'deleted', 'replay'))
);

CREATE TABLE erasures (
    seq              bigint  PRIMARY KEY,  -- events.seq
    original_sha256  text    NOT NULL,     -- also still events.body_sha256, the idempotency key
    erased_sha256    text    NOT NULL,     -- the body's hash now
    erased_at        text    NOT NULL,
    reason           text
);

-- nexmirror_append that honours the erasure ledger. Each delivery comes with the coworkers it
-- names (p_subjects, comma-separated ids) and those its body was already erased for
-- (p_erased_for). Under the append lock, which `forget` also takes, a delivery naming an erased
-- subject its body was not erased for is not written: it answers seq NULL with those subjects,
-- and the caller erases the body and sends it again. A store with no erasure pays one EXISTS per
-- call. An erased body is logged with the original bytes' hash (a retry stays a duplicate) and
-- an erasure record.
CREATE FUNCTION nexmirror_append_erasing(
    p_received_at text[], p_action text[], p_action_id integer[], p_entity_type text[],
    p_entity_id text[], p_updated_on text[], p_body bytea[], p_sha256 text[], p_source text[],
    p_signature text[], p_error text[], p_subjects text[], p_erased_for text[], p_erased_sha256 text[]
) RETURNS TABLE (appended_seq bigint, duplicate boolean, erase_for text) LANGUAGE plpgsql AS $$
DECLARE
    v_first bigint;
    v_last bigint;
    v_any boolean;
    v_missing text;
    r record;
BEGIN
    PERFORM set_config('synchronous_commit', 'on', true);
    SELECT last_seq INTO v_last FROM log_head WHERE id = 1 FOR UPDATE;
    v_first := v_last;
    v_any := EXISTS (SELECT 1 FROM erased_subjects);
    FOR r IN
        SELECT * FROM unnest(p_received_at, p_action, p_action_id, p_entity_type, p_entity_id, p_updated_on,
                             p_body, p_sha256, p_source, p_signature, p_error, p_subjects, p_erased_for,
                             p_erased_sha256) WITH ORDINALITY
            AS d(received_at, action, action_id, entity_type, entity_id, updated_on, body, sha256, source,
                 signature, error, subjects, erased_for, erased_sha256, n)
        ORDER BY n
    LOOP
        erase_for := NULL;
        IF v_any AND r.subjects <> '' THEN
            SELECT string_agg(s.coworker_id::text, ',') INTO v_missing FROM erased_subjects s
            WHERE s.coworker_id = ANY(string_to_array(r.subjects, ',')::bigint[])
              AND NOT s.coworker_id = ANY(coalesce(string_to_array(nullif(r.erased_for, ''), ',')::bigint[], '{}'));
            IF v_missing IS NOT NULL THEN
                appended_seq := NULL; duplicate := false; erase_for := v_missing;
                RETURN NEXT;
                CONTINUE;
            END IF;
        END IF;
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
            IF r.erased_sha256 <> '' THEN
                INSERT INTO erasures (seq, original_sha256, erased_sha256, erased_at, reason)
                SELECT v_last, r.sha256, r.erased_sha256, r.received_at,
                       (SELECT s.reason FROM erased_subjects s
                        WHERE s.coworker_id = ANY(string_to_array(r.erased_for, ',')::bigint[]) LIMIT 1);
            END IF;
        ELSE
            SELECT e.seq INTO appended_seq FROM events e WHERE e.action = r.action AND e.body_sha256 = r.sha256;
            duplicate := true;
        END IF;
        RETURN NEXT;
    END LOOP;
    IF v_last > v_first THEN
        UPDATE log_head SET last_seq = v_last WHERE id = 1;
        PERFORM pg_notify('nexmirror_events', '');
    END IF;
END $$;
