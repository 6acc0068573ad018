-- The Administrations' portal: accounts of contacts (tickets' contacts
-- table, seed 001's referent and user), their invitations and sessions.
-- No foreign key to contacts: ivrctl creates the first administrator
-- before the tickets' schema exists; every read joins contacts, so an
-- account without its contact lets nobody in.

-- One account per contact, made when the invited person sets a password.
CREATE TABLE portal_accounts (
    contact_id    bigint PRIMARY KEY,
    password_hash text        NOT NULL,
    lang          text        NOT NULL DEFAULT 'it' CHECK (lang IN ('it', 'en')),
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

-- An invitation is known by the SHA-256 of the token its link carries:
-- a copy of this table lets nobody in. It is used once, before it expires.
CREATE TABLE portal_invitations (
    token_hash bytea PRIMARY KEY,
    contact_id bigint      NOT NULL,
    email      text        NOT NULL, -- the address it was sent to: a changed address voids it
    created_by text        NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX portal_invitations_contact_idx ON portal_invitations (contact_id, created_at DESC);

-- Sessions as panel_sessions, apart from them: a portal token is no staff
-- session and a staff token no portal one.
CREATE TABLE portal_sessions (
    token_hash bytea PRIMARY KEY,
    contact_id bigint      NOT NULL REFERENCES portal_accounts (contact_id) ON DELETE CASCADE,
    csrf       text        NOT NULL,
    created_at timestamptz NOT NULL,
    last_seen  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX portal_sessions_contact_idx ON portal_sessions (contact_id);
CREATE INDEX portal_sessions_expires_idx ON portal_sessions (expires_at);
