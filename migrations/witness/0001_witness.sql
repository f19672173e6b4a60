-- The database of `ikrar witness serve`: never the log server's (their migrations refuse
-- each other's databases).

-- One row per watched log: the checkpoint last cosigned. Size 0 with the empty tree's
-- root until the first cosignature.
CREATE TABLE witness_log (
    origin TEXT PRIMARY KEY,
    size INTEGER NOT NULL CHECK (size >= 0),
    root BLOB NOT NULL CHECK (length(root) = 32),
    -- The log-signed checkpoint as received, and the time of our cosignature (POSIX s).
    checkpoint TEXT,
    cosigned_at INTEGER,
    -- Requests signed by the log but refused as inconsistent (possible forks).
    refused INTEGER NOT NULL DEFAULT 0
);

-- Evidence: the first such requests per log, verbatim.
CREATE TABLE witness_refusal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    origin TEXT NOT NULL REFERENCES witness_log (origin),
    received_at INTEGER NOT NULL,
    reason TEXT NOT NULL,
    request TEXT NOT NULL
);
CREATE INDEX witness_refusal_by_origin ON witness_refusal (origin, id);
