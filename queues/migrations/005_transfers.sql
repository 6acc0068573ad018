-- A caller transferred from another group keeps the time already waited:
-- each queue orders its callers by priority, then by their arrival in the
-- help desk's queues (arrived_at), which for a transferred caller is the
-- first group's; enqueued_at stays this group's own, for its waits.
ALTER TABLE queue_entries ADD COLUMN arrived_at timestamptz;
UPDATE queue_entries SET arrived_at = enqueued_at;
ALTER TABLE queue_entries ALTER COLUMN arrived_at SET NOT NULL;
DROP INDEX queue_entries_order;
CREATE INDEX queue_entries_order ON queue_entries (group_id, priority DESC, arrived_at, seq);
