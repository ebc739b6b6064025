-- Retention (`nexmirror compact`), as Schema/0007_compaction.sql on SQLite.
CREATE TABLE compactions (
    id            bigserial PRIMARY KEY,
    compacted_at  text    NOT NULL,
    before        text    NOT NULL,
    removed       bigint  NOT NULL,
    body_bytes    bigint  NOT NULL,
    kinds         text    NOT NULL
);

CREATE TABLE compacted_seqs (
    first_seq   bigint PRIMARY KEY,
    last_seq    bigint NOT NULL,
    compaction  bigint NOT NULL REFERENCES compactions (id)
);

-- Roles given read access to the replica by `nexmirror grant-reader`: a rebuild replaces the
-- replica tables (and the `members` view), so its swap grants SELECT on the new ones again.
CREATE TABLE reader_roles (
    role        text PRIMARY KEY,
    granted_at  text NOT NULL
);

-- Grants SELECT on the named relations to every role in reader_roles; called by a rebuild's
-- swap with the tables it replaced. A role dropped since is skipped, not an error.
CREATE FUNCTION nexmirror_grant_readers(p_relations text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_role text;
BEGIN
    FOR v_role IN SELECT r.role FROM reader_roles r WHERE EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r.role) LOOP
        PERFORM nexmirror_grant_readers_one(v_role, p_relations);
    END LOOP;
END;
$$;

-- `nexmirror grant-reader ROLE`: takes every privilege on this schema's tables and sequences
-- away from the role, then grants USAGE on the schema and SELECT on the named relations only
-- (the replica tables and views), and records the role for later swaps. Idempotent.
CREATE FUNCTION nexmirror_grant_reader(p_role text, p_relations text[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM %I', current_schema(), p_role);
    EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM %I', current_schema(), p_role);
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', current_schema(), p_role);
    INSERT INTO reader_roles VALUES (p_role, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"0Z"'))
        ON CONFLICT (role) DO NOTHING;
    PERFORM nexmirror_grant_readers_one(p_role, p_relations);
END;
$$;

CREATE FUNCTION nexmirror_grant_readers_one(p_role text, p_relations text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_relation text;
BEGIN
    FOREACH v_relation IN ARRAY p_relations LOOP
        IF to_regclass(v_relation) IS NOT NULL THEN
            EXECUTE format('GRANT SELECT ON %I TO %I', v_relation, p_role);
        END IF;
    END LOOP;
END;
$$;
