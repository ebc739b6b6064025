-- Retention (`nexmirror compact`): each run that removed deliveries, and the seq ranges it
-- removed, so `check` tells a compacted seq from a missing one, and `history` and `--as-of`
-- can say that detail before `before` was compacted away. No personal data: counts and seqs.
CREATE TABLE compactions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    compacted_at  TEXT    NOT NULL,            -- UTC, when the run finished
    before        TEXT    NOT NULL,            -- UTC: only deliveries received before it were removed
    removed       INTEGER NOT NULL,            -- deliveries removed
    body_bytes    INTEGER NOT NULL,            -- bytes of their bodies
    kinds         TEXT    NOT NULL             -- JSON object: deliveries removed per entity type
);

-- Consecutive seqs removed by one compaction (first..last, inclusive).
CREATE TABLE compacted_seqs (
    first_seq   INTEGER PRIMARY KEY,
    last_seq    INTEGER NOT NULL,
    compaction  INTEGER NOT NULL REFERENCES compactions (id)
);
