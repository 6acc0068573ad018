-- How long what an event closes lasted: a hold, an operator's part of a
-- call handed over by a transfer (the reports' handling time per group).
ALTER TABLE call_events ADD COLUMN ms bigint;
