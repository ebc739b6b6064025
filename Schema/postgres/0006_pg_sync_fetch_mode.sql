-- How `nexmirror sync` fetched each kind's full records (as Schema/0005_sync_fetch_mode.sql on SQLite).
ALTER TABLE sync_state ADD COLUMN fetch_mode text;
ALTER TABLE sync_state ADD COLUMN fetch_note text;
ALTER TABLE sync_state ADD COLUMN fetch_checked_at text;
