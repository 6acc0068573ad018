-- The panel's users, their sessions and the failed logins that throttle
-- password guessing. Operators' logins are the queue operators' logins.

CREATE TABLE panel_users (
    login         text PRIMARY KEY CHECK (login ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    name          text NOT NULL,
    role          text NOT NULL CHECK (role IN ('operator', 'supervisor', 'admin')),
    password_hash text NOT NULL,
    lang          text NOT NULL DEFAULT 'it' CHECK (lang IN ('it', 'en')),
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

-- A session is known by the SHA-256 of its cookie's token, so that a copy
-- of this table does not let anyone in.
CREATE TABLE panel_sessions (
    token_hash bytea PRIMARY KEY,
    login      text NOT NULL REFERENCES panel_users (login) ON DELETE CASCADE,
    csrf       text NOT NULL,
    created_at timestamptz NOT NULL,
    last_seen  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE INDEX panel_sessions_login_idx ON panel_sessions (login);
CREATE INDEX panel_sessions_expires_idx ON panel_sessions (expires_at);

-- One row per failed login, kept for a day; the throttle counts the recent
-- ones per account and per remote address.
CREATE TABLE panel_login_failures (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login   text NOT NULL,
    address text NOT NULL,
    at      timestamptz NOT NULL
);

CREATE INDEX panel_login_failures_login_idx ON panel_login_failures (login, at);
CREATE INDEX panel_login_failures_address_idx ON panel_login_failures (address, at);
CREATE INDEX panel_login_failures_at_idx ON panel_login_failures (at);
