-- nexmirror_append, linear in the batch size. The first version bumped log_head once per
-- delivery: within one transaction each UPDATE of that row adds a version the next one must
-- walk past, and each p_body[i] could copy the whole bytea array, so a 1,000-delivery import
-- batch took seconds. Now the head is read once under its row lock, seqs are counted in the
-- function and written back once, and the arrays are read once through unnest. Same signature,
-- same results: commit order is seq order, duplicates (also within one call) answer with the
-- first seq, synchronous_commit is on for the appending commit.
CREATE OR REPLACE FUNCTION nexmirror_append(
    p_received_at text[], p_action text[], p_action_id integer[], p_entity_type text[],
    p_entity_id text[], p_updated_on text[], p_body bytea[], p_sha256 text[], p_source text[],
    p_signature text[], p_error text[]
) RETURNS TABLE (appended_seq bigint, duplicate boolean) LANGUAGE plpgsql AS $$
DECLARE
    v_first bigint;
    v_last bigint;
    v_seq bigint;
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
        SELECT e.seq INTO v_seq FROM events e WHERE e.action = r.action AND e.body_sha256 = r.sha256;
        IF FOUND THEN
            appended_seq := v_seq; duplicate := true;
        ELSE
            v_last := v_last + 1;
            INSERT INTO events (seq, received_at, action, action_id, entity_type, entity_id, updated_on,
                                body, body_sha256, source, signature, status, error)
            VALUES (v_last, r.received_at, r.action, r.action_id, nullif(r.entity_type, ''),
                    nullif(r.entity_id, '')::bigint, nullif(r.updated_on, ''), r.body, r.sha256,
                    r.source, nullif(r.signature, ''),
                    CASE WHEN r.error = '' THEN 'ok' ELSE 'quarantined' END, nullif(r.error, ''));
            appended_seq := v_last; duplicate := false;
        END IF;
        RETURN NEXT;
    END LOOP;
    IF v_last > v_first THEN
        UPDATE log_head SET last_seq = v_last WHERE id = 1;
        PERFORM pg_notify('nexmirror_events', '');  -- a wake-up hint for projectors; they also poll
    END IF;
END $$;
