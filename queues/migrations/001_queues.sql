-- Operator groups' queues: configuration, operators and their states,
-- waiting callers, and a log of what happened to them (for statistics and
-- the estimated wait). Durations are in milliseconds; 0 means "no limit"
-- where a limit is meant.

CREATE TABLE queue_groups (
    id                  text PRIMARY KEY,
    strategy            text NOT NULL DEFAULT 'longest_idle'
                        CHECK (strategy IN ('longest_idle', 'round_robin', 'ring_all', 'fewest_calls')),
    wrap_up_ms          bigint NOT NULL DEFAULT 0 CHECK (wrap_up_ms >= 0),
    ring_timeout_ms     bigint NOT NULL DEFAULT 20000 CHECK (ring_timeout_ms > 0),
    max_wait_ms         bigint NOT NULL DEFAULT 0 CHECK (max_wait_ms >= 0),
    max_waiting         integer NOT NULL DEFAULT 0 CHECK (max_waiting >= 0),
    no_operators_action text NOT NULL DEFAULT 'message'
                        CHECK (no_operators_action IN ('wait', 'group', 'message', 'hangup')),
    no_operators_group  text NOT NULL DEFAULT '',
    overflow_action     text NOT NULL DEFAULT 'message'
                        CHECK (overflow_action IN ('group', 'message', 'hangup')),
    overflow_group      text NOT NULL DEFAULT '',
    -- round robin's memory: the operator last offered a call of this group
    rr_last             text NOT NULL DEFAULT '',
    -- false once the group left the configuration; its callers may finish
    active              boolean NOT NULL DEFAULT true
);

CREATE TABLE queue_operators (
    login        text PRIMARY KEY,
    name         text NOT NULL DEFAULT '',
    endpoint     text NOT NULL,
    state        text NOT NULL DEFAULT 'logged_out'
                 CHECK (state IN ('logged_out', 'available', 'offered', 'on_call', 'wrap_up', 'paused')),
    reason       text NOT NULL DEFAULT '',
    state_since  timestamptz NOT NULL,
    -- since when the operator has been free: longest idle goes first
    idle_since   timestamptz NOT NULL,
    -- the end of wrap_up: from then on the operator counts as available
    available_at timestamptz,
    -- the call offered to or talking with the operator, and its group
    call_id      text NOT NULL DEFAULT '',
    call_group   text NOT NULL DEFAULT '',
    -- calls answered on calls_day (days since 1970-01-01 in the service zone)
    calls_day    integer NOT NULL DEFAULT 0,
    calls_today  integer NOT NULL DEFAULT 0
);

CREATE TABLE queue_members (
    group_id text NOT NULL REFERENCES queue_groups (id) ON DELETE CASCADE,
    login    text NOT NULL REFERENCES queue_operators (login) ON DELETE CASCADE,
    penalty  integer NOT NULL DEFAULT 0 CHECK (penalty >= 0),
    PRIMARY KEY (group_id, login)
);
CREATE INDEX queue_members_login ON queue_members (login);

CREATE TABLE queue_entries (
    call_id           text PRIMARY KEY,
    group_id          text NOT NULL REFERENCES queue_groups (id),
    -- arrival order: unlike a timestamp it never ties and ignores clocks
    seq               bigint GENERATED ALWAYS AS IDENTITY,
    priority          integer NOT NULL DEFAULT 0,
    caller            text NOT NULL DEFAULT '',
    ticket_id         bigint NOT NULL DEFAULT 0,
    enqueued_at       timestamptz NOT NULL,
    position_at_entry integer NOT NULL DEFAULT 1,
    state             text NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'offered')),
    offered_to        text[] NOT NULL DEFAULT '{}',
    offered_at        timestamptz,
    attempt           integer NOT NULL DEFAULT 0,
    -- the controller's session holding the call touches this while it
    -- waits: entries of sessions gone for good (an instance that crashed
    -- and did not come back) are removed by the maintenance loop
    seen_at           timestamptz NOT NULL
);
CREATE INDEX queue_entries_order ON queue_entries (group_id, priority DESC, seq);

CREATE TABLE queue_log (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL,
    group_id  text NOT NULL,
    call_id   text NOT NULL,
    kind      text NOT NULL,
    operator  text NOT NULL DEFAULT '',
    waited_ms bigint NOT NULL DEFAULT 0,
    position  integer NOT NULL DEFAULT 0
);
CREATE INDEX queue_log_group ON queue_log (group_id, kind, at DESC);
