-- The choice of the operator for a longest-idle group walks the free
-- operators in idle order and stops at the first member of the group with
-- its lowest penalty, instead of sorting every free member at every offer
-- (0.05 ms instead of 0.6 ms with 600 members). The price: a change of an
-- operator's state is no longer a HOT update.
CREATE INDEX queue_operators_free_idle ON queue_operators (idle_since, login) WHERE state IN ('available', 'wrap_up');
CREATE INDEX queue_members_penalty ON queue_members (group_id, penalty);

-- The service instance whose session holds the call (set by Enqueue and
-- by each WaitOffer): an offer wakes that instance's WaitOffer directly
-- when it is the offering one, with NOTIFY only for another.
ALTER TABLE queue_entries ADD COLUMN instance text NOT NULL DEFAULT '';
