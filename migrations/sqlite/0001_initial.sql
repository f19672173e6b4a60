-- ikrar schema, SQLite. Keep in step with migrations/postgres/0001_initial.sql.
-- Times are unix seconds (INTEGER); hashes and records are BLOBs.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE signing_keys (
    key_id      BLOB PRIMARY KEY,
    purpose     TEXT NOT NULL CHECK (purpose IN ('pledge', 'log')),
    name        TEXT NOT NULL,
    public_key  BLOB NOT NULL,
    not_before  INTEGER NOT NULL,
    not_after   INTEGER
);

CREATE TABLE instansi (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    place       TEXT NOT NULL,
    tz          TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE units (
    id          INTEGER PRIMARY KEY,
    instansi_id INTEGER NOT NULL REFERENCES instansi (id),
    key         TEXT NOT NULL,
    name        TEXT NOT NULL,
    parent_id   INTEGER REFERENCES units (id),
    UNIQUE (instansi_id, key)
);

CREATE TABLE employees (
    id          INTEGER PRIMARY KEY,
    instansi_id INTEGER NOT NULL REFERENCES instansi (id),
    unit_id     INTEGER NOT NULL REFERENCES units (id),
    kind        TEXT NOT NULL CHECK (kind IN ('PNS', 'PPPK', 'NON_ASN')),
    number      TEXT NOT NULL,
    name        TEXT NOT NULL,
    position    TEXT,
    active      BOOLEAN NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (instansi_id, number)
);
CREATE INDEX employees_number ON employees (number);

CREATE TABLE templates (
    number      INTEGER PRIMARY KEY,
    code        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    sha256      BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (code, version)
);

CREATE TABLE campaigns (
    id           INTEGER PRIMARY KEY,
    instansi_id  INTEGER NOT NULL REFERENCES instansi (id),
    template_no  INTEGER NOT NULL REFERENCES templates (number),
    title        TEXT NOT NULL,
    place        TEXT NOT NULL,
    opens_at     INTEGER NOT NULL,
    closes_at    INTEGER NOT NULL,
    closed_at    INTEGER,
    mark_enabled BOOLEAN NOT NULL,
    screen_enabled BOOLEAN NOT NULL,
    created_at   INTEGER NOT NULL
);

CREATE TABLE campaign_units (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    unit_id     INTEGER NOT NULL REFERENCES units (id),
    PRIMARY KEY (campaign_id, unit_id)
);

CREATE TABLE invitations (
    id          INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    employee_id INTEGER NOT NULL REFERENCES employees (id),
    token_hash  BLOB NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE UNIQUE INDEX invitations_active ON invitations (campaign_id, employee_id) WHERE revoked_at IS NULL;

-- Every record ever appended, pledge (format 1) or annulment (format 2), by log index.
CREATE TABLE log_entries (
    idx         INTEGER PRIMARY KEY,
    record      BLOB NOT NULL
);

-- Hashes of complete (perfect) subtrees: level L, index N covers leaves [N << L, (N + 1) << L).
CREATE TABLE log_nodes (
    level       INTEGER NOT NULL,
    idx         INTEGER NOT NULL,
    hash        BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;

-- The single row every append compares-and-swaps.
CREATE TABLE log_state (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    size        INTEGER NOT NULL,
    root        BLOB NOT NULL,
    frontier    BLOB NOT NULL,
    last_time   INTEGER NOT NULL,
    checkpoint  TEXT NOT NULL
);

CREATE TABLE checkpoints (
    size        INTEGER PRIMARY KEY,
    root        BLOB NOT NULL,
    note        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE pledges (
    id            INTEGER PRIMARY KEY,
    campaign_id   INTEGER NOT NULL REFERENCES campaigns (id),
    employee_id   INTEGER NOT NULL REFERENCES employees (id),
    invitation_id INTEGER NOT NULL UNIQUE REFERENCES invitations (id),
    log_index     INTEGER NOT NULL UNIQUE REFERENCES log_entries (idx),
    number        TEXT NOT NULL,
    name          TEXT NOT NULL,
    unit_id       INTEGER NOT NULL REFERENCES units (id),
    statement     TEXT NOT NULL,
    mark          TEXT,
    signed_at     INTEGER NOT NULL,
    client_ip     TEXT,
    user_agent    TEXT,
    annulled_at   INTEGER,
    annul_category TEXT,
    annul_reason  TEXT,
    annul_text    TEXT,
    annul_log_index INTEGER REFERENCES log_entries (idx)
);
CREATE UNIQUE INDEX pledges_one_per_employee ON pledges (campaign_id, employee_id) WHERE annulled_at IS NULL;
CREATE INDEX pledges_number ON pledges (number);
CREATE INDEX pledges_employee ON pledges (employee_id);

CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY,
    instansi_id INTEGER REFERENCES instansi (id),
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    summary     TEXT NOT NULL,
    at          INTEGER NOT NULL
);

INSERT INTO log_state (id, size, root, frontier, last_time, checkpoint)
VALUES (1, 0, X'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', X'', 0, '');
