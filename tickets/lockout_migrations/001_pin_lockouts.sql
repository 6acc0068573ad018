-- Failed-PIN lockouts, shared by every ivrd and kept across restarts. Only
-- counts, caller numbers and Administration ids: never a PIN's digits.

-- One row per wrong PIN. Kept two days at most (pruned by the store).
CREATE TABLE pin_failures (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL,
    caller       text NOT NULL,          -- E.164; '' when withheld
    organization text NOT NULL           -- the Administration targeted; '' when the PIN alone decided
);
CREATE INDEX pin_failures_caller ON pin_failures (caller, at);
CREATE INDEX pin_failures_organization ON pin_failures (organization, at) WHERE organization <> '';
CREATE INDEX pin_failures_at ON pin_failures (at);

-- Per number and per Administration: failures up to counted_after are
-- forgotten (a lock or a right PIN started a new count), and the lock.
CREATE TABLE pin_counters (
    scope         text NOT NULL CHECK (scope IN ('number', 'organization')),
    key           text NOT NULL,
    counted_after bigint NOT NULL DEFAULT 0,
    locked_until  timestamptz,
    PRIMARY KEY (scope, key)
);

-- Numbers that keyed a right PIN of an Administration: they keep trying
-- while the Administration is locked.
CREATE TABLE pin_trusted_numbers (
    organization text NOT NULL,
    caller       text NOT NULL CHECK (caller <> ''),
    last_success timestamptz NOT NULL,
    PRIMARY KEY (organization, caller)
);

-- When the alarm (failures across all numbers) was last raised: one
-- instance raises it, once per alarm window.
CREATE TABLE pin_alarm (
    only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    raised_at timestamptz
);
INSERT INTO pin_alarm DEFAULT VALUES;
