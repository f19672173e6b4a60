-- Campaigns HR marks public appear on /transparansi with their per-unit counts (SPEC 4.3).
ALTER TABLE campaigns ADD COLUMN public_enabled BOOLEAN NOT NULL DEFAULT 0;
