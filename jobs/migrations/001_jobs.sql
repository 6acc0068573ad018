-- One row per run of a scheduled job, claimed before the job starts: the
-- primary key lets one ivrd instance run a given slot and the others skip
-- it, and the latest row per job is where a restarted instance resumes.
CREATE TABLE job_runs (
    job          text        NOT NULL,
    scheduled_at timestamptz NOT NULL,
    instance     text        NOT NULL DEFAULT '',
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    error        text        NOT NULL DEFAULT '',
    PRIMARY KEY (job, scheduled_at)
);

-- Tickets whose recordings and personal data the retention job removed.
CREATE TABLE retention_purges (
    ticket_id  bigint      PRIMARY KEY REFERENCES tickets (id),
    purged_at  timestamptz NOT NULL,
    recordings integer     NOT NULL DEFAULT 0
);
