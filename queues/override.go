package queues

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/jackc/pgx/v5"
)

// ByReconcile is the author of state changes ivrd makes when it finds an
// operator's call over without having seen its end.
const ByReconcile = "ivrd"

// StateChange is one entry of the operator state log: a state set by
// someone other than the operator.
type StateChange struct {
	At       time.Time
	Login    string
	From, To State
	Reason   string
	By       string
	CallID   string
}

// ForceState sets an operator's state whatever it is, for a supervisor
// (SetState refuses while a call decides): an operator left on a call that
// is over, or offered a call that never rings, is freed. The operator's
// call, if any, goes on; the change is logged with who made it.
func (s *Service) ForceState(ctx context.Context, login string, state State, reason, by string) error {
	reason, err := manualState(state, reason)
	if err != nil {
		return fmt.Errorf("force operator state: %w", err)
	}
	if by == "" {
		return fmt.Errorf("force operator state: %w", fault.Errorf(fault.EINVALID, "who forces the state must be named"))
	}
	now := s.stampNow()
	var old State
	var callID string
	err = s.tx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT state, call_id FROM queue_operators WHERE login = $1 FOR UPDATE`, login).
			Scan(&old, &callID); err != nil {
			return err
		}
		if old == Offered && callID != "" {
			// The caller goes back to waiting for someone else.
			if _, err := tx.Exec(ctx, `UPDATE queue_entries SET offered_to = array_remove(offered_to, $2),
					state = CASE WHEN cardinality(array_remove(offered_to, $2)) = 0 THEN 'waiting' ELSE state END
				WHERE call_id = $1`, callID, login); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE queue_operators SET state = $2, reason = $3, state_since = $4, available_at = NULL,
				idle_since = CASE WHEN $2 = 'available' AND state <> 'available' THEN $4 ELSE idle_since END,
				call_id = '', call_group = ''
			WHERE login = $1`, login, state, reason, now); err != nil {
			return err
		}
		return logStateChange(ctx, tx, StateChange{At: now, Login: login, From: old, To: state, Reason: reason, By: by, CallID: callID})
	})
	if err != nil {
		return fault.FromDB("force operator state", err, "no such operator "+login)
	}
	s.log.Warn("queue_operator_state_forced", "operator", login, "from", string(old), "to", string(state),
		"reason", reason, "by", by, "call_id", callID)
	if state == Available || old == Offered {
		s.dispatchOperator(ctx, login)
		if old == Offered && callID != "" {
			s.wake(callID)
		}
	}
	return nil
}

// ReleaseCall frees an operator still offered, or on, a call that is over
// (its end was never reported: a crash, a lost event): on call, the
// operator wraps up as after any call; offered, the operator is available.
// It does nothing (false) unless the operator is held by that very call.
func (s *Service) ReleaseCall(ctx context.Context, login, callID string) (bool, error) {
	now := s.stampNow()
	var old State
	var group string
	err := s.tx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT state, call_group FROM queue_operators WHERE login = $1 AND call_id = $2
			AND state IN ('offered', 'on_call') FOR UPDATE`, login, callID).Scan(&old, &group)
		if err != nil {
			return err
		}
		var wrap int64
		if old == OnCall {
			if err := tx.QueryRow(ctx, `SELECT wrap_up_ms FROM queue_groups WHERE id = $1`, group).Scan(&wrap); err != nil &&
				!errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		free := now.Add(fromMS(wrap))
		if _, err := tx.Exec(ctx, `UPDATE queue_operators SET state = CASE WHEN $2 > 0 THEN 'wrap_up' ELSE 'available' END,
				state_since = $3, available_at = CASE WHEN $2 > 0 THEN $4::timestamptz END, idle_since = $4,
				call_id = '', call_group = ''
			WHERE login = $1`, login, wrap, now, free); err != nil {
			return err
		}
		to := Available
		if wrap > 0 {
			to = WrapUp
		}
		return logStateChange(ctx, tx, StateChange{At: now, Login: login, From: old, To: to,
			Reason: "call over without its end reported", By: ByReconcile, CallID: callID})
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fault.FromDB("release operator", err, "")
	}
	s.log.Warn("queue_operator_released", "operator", login, "from", string(old), "call_id", callID)
	s.dispatchOperator(ctx, login)
	return true, nil
}

// StateLog returns the latest state changes made for operators (newest
// first), of one operator when login is not "".
func (s *Service) StateLog(ctx context.Context, login string, limit int) ([]StateChange, error) {
	rows, err := s.pool.Query(ctx, `SELECT at, login, from_state, to_state, reason, by_whom, call_id
		FROM operator_state_log WHERE $1 = '' OR login = $1 ORDER BY at DESC, id DESC LIMIT $2`, login, limit)
	if err != nil {
		return nil, fault.FromDB("operator state log", err, "")
	}
	log, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (StateChange, error) {
		var c StateChange
		err := r.Scan(&c.At, &c.Login, &c.From, &c.To, &c.Reason, &c.By, &c.CallID)
		c.At = c.At.In(s.loc)
		return c, err
	})
	return log, fault.FromDB("operator state log", err, "")
}

func logStateChange(ctx context.Context, tx pgx.Tx, c StateChange) error {
	_, err := tx.Exec(ctx, `INSERT INTO operator_state_log (at, login, from_state, to_state, reason, by_whom, call_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, c.At, c.Login, c.From, c.To, c.Reason, c.By, c.CallID)
	return err
}
