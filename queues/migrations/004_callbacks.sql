-- Callbacks: a caller who asked to be called back hangs up but keeps the
-- entry, so the place (priority, then arrival) is kept. ivrd offers the
-- callback to an operator when it reaches the head, then calls the caller
-- ('calling'); a callback nobody answered waits again until not_before.
ALTER TABLE queue_entries
    -- the number to call back (E.164); '' for a caller on the line
    ADD COLUMN callback              text NOT NULL DEFAULT '',
    ADD COLUMN callback_requested_at timestamptz,
    -- callback attempts that reached nobody so far
    ADD COLUMN callback_tries        integer NOT NULL DEFAULT 0,
    -- not offered before this time: the next opening, the next attempt
    ADD COLUMN not_before            timestamptz;
ALTER TABLE queue_entries DROP CONSTRAINT queue_entries_state_check;
ALTER TABLE queue_entries ADD CONSTRAINT queue_entries_state_check
    CHECK (state IN ('waiting', 'offered', 'calling'));
