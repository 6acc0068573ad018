-- API tokens (package api) and the audit log of changes made through the
-- API and of the tokens themselves.
--
-- A token acts as a panel user (login): it can never do more than that
-- user could in the panel, and less when its scope or groups say so. Only
-- the SHA-256 of its secret is kept: the secret is 256 random bits, so a
-- copy of this table lets nobody in.
CREATE TABLE api_tokens (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    secret_hash    bytea NOT NULL UNIQUE,
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    login          text NOT NULL REFERENCES panel_users (login) ON DELETE CASCADE,
    scope          text NOT NULL CHECK (scope IN ('read', 'write', 'admin')),
    groups         text[] NOT NULL DEFAULT '{}', -- empty: every group the user sees
    created_by     text NOT NULL,
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    revoked_at     timestamptz,
    revoked_by     text,
    last_used_at   timestamptz,
    last_used_from text
);

CREATE INDEX api_tokens_login_idx ON api_tokens (login);

-- One row per change: who (the user, and the token when through the API),
-- what and on what. Never a secret, never a PIN.
CREATE TABLE audit_log (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       timestamptz NOT NULL,
    login    text NOT NULL,
    via      text NOT NULL CHECK (via IN ('api', 'panel', 'ivrctl')),
    token_id bigint,
    action   text NOT NULL,
    target   text NOT NULL,
    detail   text NOT NULL DEFAULT ''
);

CREATE INDEX audit_log_at_idx ON audit_log (at DESC, id DESC);
