-- Kiosks: a shared tablet that signs for one campaign (SPEC 4.4). The device holds the
-- secret in a cookie; only its SHA-256 is stored. step_hash is the current signer's step
-- (SHA-256 of the step cookie's secret), NULL between signers.
-- Keep in step with migrations/postgres/0009_kiosks.sql.

CREATE TABLE kiosks (
    id          INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    label       TEXT NOT NULL,
    secret_hash BLOB NOT NULL UNIQUE,
    step_hash   BLOB,
    started_by  TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    ended_at    INTEGER,
    ended_by    TEXT
);

CREATE INDEX kiosks_campaign ON kiosks (campaign_id, id);
CREATE INDEX sessions_expires ON sessions (expires_at);
