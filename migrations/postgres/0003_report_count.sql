-- "Data saya salah" reports per invitation (SPEC 6: at most 3 per token).
ALTER TABLE invitations ADD COLUMN reports INTEGER NOT NULL DEFAULT 0;
