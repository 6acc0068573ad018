-- Which ivrd instance controls each live call (package leases). A row
-- lives as long as the call: the owner renews expires_at while it drives
-- the call and deletes the row at the end; a row whose expires_at has
-- passed belongs to an instance that died, and another takes it over.
CREATE TABLE call_leases (
    channel_id  text        PRIMARY KEY,
    node        text        NOT NULL DEFAULT '',
    owner       text        NOT NULL,
    acquired_at timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX call_leases_owner ON call_leases (owner);
CREATE INDEX call_leases_expires_at ON call_leases (expires_at);

-- The instances alive: each renews its row with its leases; one whose
-- expires_at has passed is dead (its calls are taken over).
CREATE TABLE ivr_instances (
    name       text        PRIMARY KEY,
    started_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    -- What the instance's callers are doing, for every instance's /live
    -- (a JSON list the instance writes every second or so).
    live       jsonb       NOT NULL DEFAULT '[]',
    live_at    timestamptz
);
