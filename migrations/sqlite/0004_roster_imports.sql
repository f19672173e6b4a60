-- Each roster import, so that the staff rows one import touched can be told apart in SQL
-- (deactivating staff missing from the file without holding the file's rows in memory).
CREATE TABLE roster_imports (
    id          INTEGER PRIMARY KEY,
    instansi_id INTEGER NOT NULL REFERENCES instansi (id),
    started_at  INTEGER NOT NULL
);
ALTER TABLE employees ADD COLUMN import_id INTEGER REFERENCES roster_imports (id);
