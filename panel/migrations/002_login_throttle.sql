-- Login throttling by growing delays instead of a lock on the account:
-- one row per (account, address) and one per address, each counting the
-- recent failed attempts and saying until when the next attempt waits.
-- Nothing is kept per account alone, so that failures from elsewhere can
-- never lock its rightful user out.
DROP TABLE panel_login_failures;

CREATE TABLE panel_login_throttle (
    key           text PRIMARY KEY, -- 'pair:' || login || ' ' || address, or 'addr:' || address
    failures      integer     NOT NULL,
    last_attempt  timestamptz NOT NULL,
    blocked_until timestamptz NOT NULL
);

CREATE INDEX panel_login_throttle_last_idx ON panel_login_throttle (last_attempt);
