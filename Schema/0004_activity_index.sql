-- Per-action activity (status, the dashboard, /metrics, the silence alarm) reads action,
-- source, received_at and signature of every delivery. Without this covering index each of
-- those reads scanned the whole log with its bodies: `status` took 8 s on a 1M-event log.
CREATE INDEX events_activity ON events (action, source, received_at, signature);
