-- Calls not finished, per Asterisk node: ivrd looks for those whose end it
-- missed (it was down, or events were lost) when it connects.
CREATE INDEX calls_open_idx ON calls (asterisk_node, started_at) WHERE ended_at IS NULL;
