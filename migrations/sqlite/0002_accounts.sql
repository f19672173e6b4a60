-- Accounts, API tokens and admin sessions. Keep in step with migrations/postgres/0002_accounts.sql.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    instansi_id   INTEGER REFERENCES instansi (id),
    username      TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('superadmin', 'admin', 'hr', 'auditor', 'log-auditor')),
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    token_hash  BLOB NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

CREATE TABLE sessions (
    id_hash     BLOB PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    csrf        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);

CREATE INDEX audit_events_instansi ON audit_events (instansi_id, id);
CREATE INDEX employees_unit ON employees (unit_id);
