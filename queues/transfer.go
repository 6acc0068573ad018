package queues

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/helpdesk-ivr/ivr/internal/fault"
)

// Reserve sets aside a free operator for a call transferred to them by
// name (an operator's blind or attended transfer): the operator is offered
// the call, so no queue offers them another while their phone rings. It
// answers fault.ErrConflict when the operator is not free (on a call,
// paused, logged out), fault.ErrNotFound when there is no such operator.
// Then TakeCall when they answer, ReleaseCall when they do not.
func (s *Service) Reserve(ctx context.Context, login, callID, group string) (Operator, error) {
	now := s.stampNow()
	op, err := s.scanOperator(s.pool.QueryRow(ctx, `WITH o AS (
			UPDATE queue_operators o SET state = 'offered', reason = '', state_since = $1, available_at = NULL,
				call_id = $4, call_group = $5
			WHERE login = $3 AND (o.state = 'available' OR (o.state = 'wrap_up' AND o.available_at <= $1))
			RETURNING o.*
		)
		SELECT `+operatorColumns+` FROM o`, now, s.day(now), login, callID, group))
	if errors.Is(err, pgx.ErrNoRows) {
		var state State
		if err = s.pool.QueryRow(ctx, `SELECT state FROM queue_operators WHERE login = $1`, login).Scan(&state); err == nil {
			return Operator{}, fault.Errorf(fault.ECONFLICT, "operator %s is %s, not available", login, state)
		}
	}
	return op, fault.FromDB("reserve operator", err, "no such operator "+login)
}

// TakeCall reports that an operator reserved for callID answered: they
// are on the call (CallEnded when it is over).
func (s *Service) TakeCall(ctx context.Context, login, callID string) error {
	now := s.stampNow()
	tag, err := s.pool.Exec(ctx, `UPDATE queue_operators SET state = 'on_call', state_since = $3,
			calls_today = CASE WHEN calls_day = $4 THEN calls_today + 1 ELSE 1 END, calls_day = $4
		WHERE login = $1 AND call_id = $2 AND state = 'offered'`, login, callID, now, s.day(now))
	if err == nil && tag.RowsAffected() == 0 {
		err = fault.Errorf(fault.ECONFLICT, "operator %s is not reserved for the call", login)
	}
	return fault.FromDB("take call", err, "")
}
