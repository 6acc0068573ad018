package panel

import (
	"context"
	"fmt"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// throttle slows password guessing with growing delays, kept in
// PostgreSQL (panel_login_throttle) so that every instance applies them:
// one count per (account, address) and one per address. There is no count
// per account alone: failures from elsewhere never delay the account's
// rightful user, who is held back only by their own address's failures.
// A guesser's delays double with each failure up to a ceiling, whichever
// accounts they try.
//
// Each attempt is counted as a failure before the password is checked,
// under a row lock: a burst of parallel attempts cannot all slip through
// before the first failure is written. A success takes it back.
type throttle struct {
	pool   *pgxpool.Pool
	now    func() time.Time
	pair   delayRule     // per (account, address)
	addr   delayRule     // per address, whatever the account
	forget time.Duration // failures older than this no longer count
}

// delayRule says how long the next attempt waits after n failures: none
// for the first Free, then Base, doubling each time, up to Max.
type delayRule struct {
	Free int
	Base time.Duration
	Max  time.Duration
}

func (d delayRule) after(failures int) time.Duration {
	if failures <= d.Free {
		return 0
	}
	n := failures - d.Free - 1
	if n >= 30 {
		return d.Max
	}
	return min(d.Base<<n, d.Max)
}

func newThrottle(pool *pgxpool.Pool, now func() time.Time) *throttle {
	return &throttle{pool: pool, now: now,
		pair:   delayRule{Free: 3, Base: time.Second, Max: 15 * time.Minute},
		addr:   delayRule{Free: 10, Base: time.Second, Max: 15 * time.Minute},
		forget: 24 * time.Hour}
}

func pairKey(login, address string) string { return "pair:" + login + " " + address }
func addrKey(address string) string        { return "addr:" + address }

// attempt claims a login attempt for login from address. It returns how
// long to wait when the attempt must not be made yet (nothing is counted
// then); otherwise 0, and the attempt is counted as a failure until
// succeeded says otherwise.
func (t *throttle) attempt(ctx context.Context, login, address string) (time.Duration, error) {
	now := t.now()
	keys := []struct {
		key  string
		rule delayRule
	}{{addrKey(address), t.addr}, {pairKey(login, address), t.pair}} // "addr:" < "pair:": one lock order
	var wait time.Duration
	err := pgx.BeginFunc(ctx, t.pool, func(tx pgx.Tx) error {
		for _, k := range keys {
			var failures int
			var last, until time.Time
			err := tx.QueryRow(ctx, `INSERT INTO panel_login_throttle AS t (key, failures, last_attempt, blocked_until)
				VALUES ($1, 0, $2, $2) ON CONFLICT (key) DO UPDATE SET key = t.key
				RETURNING failures, last_attempt, blocked_until`, k.key, now).Scan(&failures, &last, &until)
			if err != nil {
				return err
			}
			if until.After(now) {
				// No block lasts more than the rule's longest: a clock set
				// back (the demo's -demo-clock on kept data, a stepped
				// system clock) must not lock an account out for days.
				wait = max(wait, min(until.Sub(now), k.rule.Max))
			}
		}
		if wait > 0 {
			return errWait
		}
		for _, k := range keys {
			var failures int
			err := tx.QueryRow(ctx, `UPDATE panel_login_throttle
				SET failures = CASE WHEN last_attempt < $3 THEN 1 ELSE failures + 1 END, last_attempt = $2
				WHERE key = $1 RETURNING failures`, k.key, now, now.Add(-t.forget)).Scan(&failures)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE panel_login_throttle SET blocked_until = $2 WHERE key = $1`,
				k.key, now.Add(k.rule.after(failures))); err != nil {
				return err
			}
		}
		return nil
	})
	if err == errWait {
		return wait, nil
	}
	if err != nil {
		return 0, fmt.Errorf("login throttle: %w", err)
	}
	// Forget the old counts; rows in use are skipped, never waited for.
	_, err = t.pool.Exec(ctx, `DELETE FROM panel_login_throttle WHERE key IN (
		SELECT key FROM panel_login_throttle WHERE last_attempt < $1 FOR UPDATE SKIP LOCKED)`, now.Add(-t.forget))
	if err != nil {
		return 0, fmt.Errorf("login throttle: %w", err)
	}
	return 0, nil
}

// errWait ends attempt's transaction without counting anything.
var errWait = fault.Errorf(fault.EINTERNAL, "wait")

// succeeded takes back the failure attempt counted for a login that
// turned out right: the (account, address) count starts again; the
// address's count loses this attempt but not its other failures (a
// guesser who owns one account must not clear their count by logging in
// to it).
func (t *throttle) succeeded(ctx context.Context, login, address string) error {
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM panel_login_throttle WHERE key = $1`, pairKey(login, address))
	b.Queue(`UPDATE panel_login_throttle SET failures = greatest(failures - 1, 0),
			blocked_until = CASE WHEN failures - 1 <= $2 THEN last_attempt ELSE blocked_until END
		WHERE key = $1`, addrKey(address), t.addr.Free)
	if err := t.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("login throttle: %w", err)
	}
	return nil
}
