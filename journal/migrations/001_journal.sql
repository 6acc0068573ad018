-- The call journal: one row per call with what is needed to replay it
-- (package journal). Never PIN digits: a PIN entry is its verdict and the
-- identity it named.
CREATE TABLE journal_calls (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_id        text        NOT NULL,
    arrived_at     timestamptz NOT NULL,
    caller         text        NOT NULL DEFAULT '',
    entry          text        NOT NULL DEFAULT '',
    args           text[]      NOT NULL DEFAULT '{}',
    config_version text        NOT NULL DEFAULT '',
    duration_ms    bigint      NOT NULL,
    hangup_by      text        NOT NULL DEFAULT '',
    outcome        text        NOT NULL,
    result         text        NOT NULL,
    grp            text        NOT NULL DEFAULT '',
    menu_path      text[]      NOT NULL DEFAULT '{}',
    asked_pin      boolean     NOT NULL DEFAULT false,
    steps          jsonb       NOT NULL
);
CREATE INDEX journal_calls_arrived ON journal_calls (arrived_at);

-- The configurations calls ran under, by SHA-256 of the file, so that a
-- replay can run the old one again (config_versions keeps only those
-- published through the panel or the API, not a file edited on disk).
CREATE TABLE journal_configs (
    sha256     text PRIMARY KEY,
    source     bytea       NOT NULL,
    first_seen timestamptz NOT NULL
);

-- What the retention job keeps of the calls it deletes: counts per day
-- (service time zone), entry, outcome and group.
CREATE TABLE journal_daily (
    day     date   NOT NULL,
    entry   text   NOT NULL,
    outcome text   NOT NULL,
    result  text   NOT NULL,
    grp     text   NOT NULL,
    calls   bigint NOT NULL,
    PRIMARY KEY (day, entry, outcome, result, grp)
);
