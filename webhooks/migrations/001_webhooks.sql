-- Webhook subscriptions: where to POST which events. The secret signs the
-- deliveries (HMAC-SHA256), so it is kept as it is: it is shown once, at
-- creation, and never listed.
CREATE TABLE webhook_subscriptions (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url           text        NOT NULL,
    events        text[]      NOT NULL,
    secret        text        NOT NULL,
    active        boolean     NOT NULL DEFAULT true,
    paused_reason text        NOT NULL DEFAULT '',
    created_by    text        NOT NULL,
    created_at    timestamptz NOT NULL,
    -- The first failed attempt since the last success: a subscription
    -- failing for Options.PauseAfter is paused.
    failing_since timestamptz
);

-- The outbox: one row per event and subscription, written in the
-- transaction of the change it tells about, and a delivery log once sent.
-- order_key (the ticket) orders a subscription's deliveries: one waits
-- until the earlier ones of the same key are delivered or given up.
CREATE TABLE webhook_deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscription_id bigint      NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    event_id        text        NOT NULL, -- Webhook-Id: the same for every attempt and redelivery
    event           text        NOT NULL,
    order_key       text        NOT NULL DEFAULT '',
    payload         bytea       NOT NULL,
    created_at      timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text        NOT NULL DEFAULT '',
    response_code   integer     NOT NULL DEFAULT 0,
    delivered_at    timestamptz,
    failed_at       timestamptz -- given up: a refusal (4xx) or too many attempts
);
-- The worker's queue: what is still to deliver, by due time.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at, id)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
-- The ordering check: the pending deliveries of a subscription and key.
CREATE INDEX webhook_deliveries_pending_key_idx ON webhook_deliveries (subscription_id, order_key, id)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
-- The delivery log of a subscription, newest first.
CREATE INDEX webhook_deliveries_subscription_idx ON webhook_deliveries (subscription_id, id DESC);
-- Pruning: the settled deliveries by when they were settled.
CREATE INDEX webhook_deliveries_settled_idx ON webhook_deliveries ((coalesce(delivered_at, failed_at)))
    WHERE delivered_at IS NOT NULL OR failed_at IS NOT NULL;
