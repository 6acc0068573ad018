-- The choice of the operator for a longest-idle group walks the free
-- operators in idle order and stops at the first member of the group with
-- its lowest penalty, instead of sorting every free member at every offer
-- (0.05 ms instead of 0.6 ms with 600 members). The price: a change of an
-- operator's state is no longer a HOT update.
CREATE INDEX queue_operators_free_idle ON queue_operators (idle_since, login) WHERE state IN ('available', 'wrap_up');
CREATE INDEX queue_members_penalty ON queue_members (group_id, penalty);
