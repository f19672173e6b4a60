-- Witnessing (SPEC 3.8): per witness of the policy (by its cosignature/v1 vkey), the size it
-- last cosigned, which is the `old` of the next add-checkpoint request.
CREATE TABLE witness_progress (
    vkey        TEXT PRIMARY KEY,
    size        BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- Verified cosignature lines, per checkpoint and witness.
CREATE TABLE cosignatures (
    size        BIGINT NOT NULL REFERENCES checkpoints (size),
    vkey        TEXT NOT NULL,
    line        TEXT NOT NULL,
    cosigned_at BIGINT NOT NULL,
    PRIMARY KEY (size, vkey)
);

-- Work that runs once per deployment, not once per instance: the instance holding an
-- unexpired lease does it.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
