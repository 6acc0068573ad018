-- Operator states changed by someone other than the operator: a supervisor
-- forcing a state, or ivrd freeing an operator whose call it found over
-- (a missed hangup, a crash). Kept for the panel and for audits.
CREATE TABLE operator_state_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL,
    login      text NOT NULL,
    from_state text NOT NULL,
    to_state   text NOT NULL,
    reason     text NOT NULL DEFAULT '',
    -- who: a panel user's login, or "ivrd" for a reconciliation
    by_whom    text NOT NULL,
    call_id    text NOT NULL DEFAULT ''
);
CREATE INDEX operator_state_log_login ON operator_state_log (login, at DESC);
CREATE INDEX operator_state_log_at ON operator_state_log (at DESC);
