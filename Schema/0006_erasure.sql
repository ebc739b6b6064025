-- Data protection (SPEC §10). Nothing here holds personal data: ids, hashes, times, reasons.

-- The erasure ledger: each subject (coworker) whose personal data was erased. A delivery that
-- refers to one of them is written already erased; `forget --ledger` lists them and
-- `forget --replay` re-applies the list to a database restored from an older backup.
CREATE TABLE erased_subjects (
    coworker_id  INTEGER PRIMARY KEY,
    erased_at    TEXT    NOT NULL,  -- UTC, first erasure
    reason       TEXT,
    origin       TEXT    NOT NULL CHECK (origin IN ('forget', 'deleted', 'replay'))
);

-- One row per delivery whose body was rewritten. `events.body_sha256` keeps the hash of the
-- bytes Nexudus sent (a retry is still a duplicate); `erased_sha256` is the body's hash now.
CREATE TABLE erasures (
    seq              INTEGER PRIMARY KEY,  -- events.seq
    original_sha256  TEXT    NOT NULL,
    erased_sha256    TEXT    NOT NULL,
    erased_at        TEXT    NOT NULL,
    reason           TEXT
);

-- Facts about the file itself: `secure_delete_since` says from when freed bytes were zeroed,
-- so the first erasure in a database written by an earlier release knows it must rewrite the
-- file once to reach bytes freed before.
CREATE TABLE store_facts (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
