-- How `nexmirror sync` fetched each kind's full records: in batches (`GET …/?id=[a,b,…]`) once a
-- check on a few ids found the batch answer equal to `GET …/{id}`, or one record per request
-- when the batch form was refused or answered otherwise. Kept so `status` and the dashboard can
-- say so, and so a kind whose batch form failed is not checked again on every run.
ALTER TABLE sync_state ADD COLUMN fetch_mode TEXT;        -- 'batch' | 'single'; NULL until checked
ALTER TABLE sync_state ADD COLUMN fetch_note TEXT;        -- why 'single' (refused, records differ)
ALTER TABLE sync_state ADD COLUMN fetch_checked_at TEXT;  -- UTC, when the batch form was last checked
