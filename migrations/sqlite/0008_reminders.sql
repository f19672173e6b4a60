-- Contact data for reminders (SPEC 4.1, 4.2): HR-only, never on public pages, in the log,
-- the record or the statement. `telepon` is stored normalised (62…).
ALTER TABLE employees ADD COLUMN email TEXT;
ALTER TABLE employees ADD COLUMN telepon TEXT;
-- A link revoked because a reminder carried a fresh one answers 410 token_replaced.
ALTER TABLE invitations ADD COLUMN replaced BOOLEAN NOT NULL DEFAULT 0;
-- One row per reminder round. `round_key` makes a repeated request (HR pressing the button
-- twice, a client retrying) find the round it repeats instead of sending again.
CREATE TABLE reminder_rounds (
    id          INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    channel     TEXT NOT NULL CHECK (channel IN ('email', 'whatsapp')),
    round_key   TEXT NOT NULL,
    actor       TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    sent        INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    skipped     INTEGER NOT NULL DEFAULT 0,
    UNIQUE (campaign_id, round_key)
);
