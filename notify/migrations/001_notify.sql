-- The e-mail outbox: a message is written in the transaction of the change
-- it tells about, and a worker sends it. message_id is the message's
-- Message-ID, unique, so that writing the same notice twice (a job run
-- twice, an event seen again) keeps one row and one e-mail.
CREATE TABLE notify_outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id      text        NOT NULL,
    kind            text        NOT NULL,
    ticket_id       bigint,
    recipients      text[]      NOT NULL,
    message         bytea       NOT NULL, -- the whole RFC 5322 message
    created_at      timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text        NOT NULL DEFAULT '',
    sent_at         timestamptz,
    failed_at       timestamptz, -- given up: a permanent refusal or too many attempts
    CONSTRAINT notify_outbox_message_id_key UNIQUE (message_id)
);
-- The worker's queue: what is still to send, by due time.
CREATE INDEX notify_outbox_due_idx ON notify_outbox (next_attempt_at, id)
    WHERE sent_at IS NULL AND failed_at IS NULL;

-- Notifications for the operators' panel (to be shown by it later), one
-- per group, kind and instant.
CREATE TABLE notifications (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    group_id   text        NOT NULL,
    kind       text        NOT NULL,
    at         timestamptz NOT NULL,
    body       text        NOT NULL,
    ticket_ids bigint[]    NOT NULL DEFAULT '{}',
    read_at    timestamptz,
    CONSTRAINT notifications_key UNIQUE (group_id, kind, at)
);
