-- The connector's outbox: one row per ticket change to push to the
-- ticketing system, written in the transaction of the change. A row waits
-- while an earlier one of its ticket is pending, so that changes arrive in
-- order; payload is the ticket as written and what changed.
CREATE TABLE connector_outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id       bigint      NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    kind            text        NOT NULL CHECK (kind IN ('created', 'updated', 'message')),
    payload         jsonb       NOT NULL,
    created_at      timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text        NOT NULL DEFAULT '',
    delivered_at    timestamptz,
    failed_at       timestamptz -- given up: a refusal, or too many attempts
);
-- The worker's queue, by due time.
CREATE INDEX connector_outbox_due_idx ON connector_outbox (next_attempt_at, id)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
-- The ordering check: the pending rows of a ticket.
CREATE INDEX connector_outbox_ticket_idx ON connector_outbox (ticket_id, id)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
-- Pruning: the settled rows by when they were settled.
CREATE INDEX connector_outbox_settled_idx ON connector_outbox ((coalesce(delivered_at, failed_at)))
    WHERE delivered_at IS NOT NULL OR failed_at IS NOT NULL;

-- Our ticket and its counterpart in the ticketing system. state is the
-- external state last seen or set, so that a pull applies only what
-- changed there.
CREATE TABLE connector_links (
    ticket_id       bigint      PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    external_id     bigint      NOT NULL,
    external_number text        NOT NULL,
    external_url    text        NOT NULL,
    state           text        NOT NULL,
    linked_at       timestamptz NOT NULL,
    synced_at       timestamptz NOT NULL
);
CREATE UNIQUE INDEX connector_links_external_idx ON connector_links (external_id);

-- When the states were last pulled completely (one row).
CREATE TABLE connector_sync (
    id          boolean     PRIMARY KEY DEFAULT true CHECK (id),
    pulled_at   timestamptz NOT NULL
);

-- A creation sent to the ticketing system and not yet linked: committed
-- before the request, so that after a crash between the system's answer
-- and our commit the next attempt looks for the ticket before creating
-- it again.
CREATE TABLE connector_creating (
    ticket_id   bigint      PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    started_at  timestamptz NOT NULL
);
