-- Sign-in with the government's SSO (SPEC 4.5). Keep in step with migrations/sqlite/0011_oidc.sql.

-- An HR account may be linked to one OIDC subject (`ikrar user link-oidc`), a subject to one account.
ALTER TABLE users ADD COLUMN oidc_subject TEXT;
CREATE UNIQUE INDEX users_oidc_subject ON users (oidc_subject);

-- Evidence of how the signer was authenticated (never public): 'link' (the token) or 'sso',
-- with the provider's subject for 'sso'.
ALTER TABLE pledges ADD COLUMN signed_via TEXT NOT NULL DEFAULT 'link';
ALTER TABLE pledges ADD COLUMN sso_subject TEXT;

-- A signer signed in at /masuk: the NIP read from the ID token, stored hashed by session id.
CREATE TABLE signer_sessions (
    id_hash     BYTEA PRIMARY KEY,
    number      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    csrf        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

-- /masuk lists a NIP's invitations: from the employee to their invitations.
CREATE INDEX invitations_employee ON invitations (employee_id);
