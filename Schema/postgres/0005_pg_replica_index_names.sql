-- Rebuilds before this migration recreated the replica tables' indexes under names PostgreSQL
-- generated (coworkers__next_pkey, coworkers__next_email_idx, ...); a rebuild now keeps each
-- index's own name. This gives a database rebuilt before then the names of 0002 back, so later
-- migrations can name its indexes. A database never rebuilt has them already: nothing changes.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT t.relname AS tbl, con.conname AS current
        FROM pg_constraint con JOIN pg_class t ON t.oid = con.conrelid
        WHERE con.contype = 'p' AND pg_table_is_visible(t.oid)
          AND con.conname LIKE '%\_\_next\_pkey' AND con.conname <> t.relname || '_pkey'
          AND to_regclass(quote_ident(t.relname || '_pkey')) IS NULL
    LOOP
        EXECUTE format('ALTER TABLE %I RENAME CONSTRAINT %I TO %I', r.tbl, r.current, r.tbl || '_pkey');
    END LOOP;
    FOR r IN
        SELECT c.relname AS current, want.name AS wanted
        FROM (VALUES
            ('coworkers', 'email', 'coworkers_email'),
            ('coworkers', 'business_id', 'coworkers_business'),
            ('bookings', 'coworker_id', 'bookings_coworker'),
            ('bookings', 'from_time', 'bookings_from_time'),
            ('invoices', 'coworker_id', 'invoices_coworker'),
            ('invoice_events', 'invoice_id', 'invoice_events_invoice'),
            ('team_members', 'coworker_id', 'team_members_coworker'),
            ('checkins', 'coworker_id', 'checkins_coworker'),
            ('contracts', 'coworker_id', 'contracts_coworker')
        ) AS want(tbl, col, name)
        JOIN pg_class t ON t.relname = want.tbl AND t.relkind = 'r' AND pg_table_is_visible(t.oid)
        JOIN pg_index i ON i.indrelid = t.oid AND NOT i.indisunique AND i.indnatts = 1
        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = i.indkey[0] AND a.attname = want.col
        JOIN pg_class c ON c.oid = i.indexrelid
        WHERE c.relname <> want.name AND to_regclass(quote_ident(want.name)) IS NULL
    LOOP
        EXECUTE format('ALTER INDEX %I RENAME TO %I', r.current, r.wanted);
    END LOOP;
END $$;
