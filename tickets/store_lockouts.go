package tickets

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// LockoutOptions configure a LockoutStore.
type LockoutOptions struct {
	// Policy returns the policy in force, for RecentPINFailureAlarm and the
	// metrics (the controller passes each call's own to Failed).
	Policy func() LockoutPolicy
	// Now is the clock of RecentPINFailureAlarm; default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Registerer, if set, receives ivr_pin_failures_recent and
	// ivr_pin_failure_alarm, read from the database at each scrape (so
	// that every instance reports the shared figure).
	Registerer prometheus.Registerer
}

// LockoutStore keeps failed-PIN counts and locks in PostgreSQL, shared by
// every ivrd on the database and kept across restarts.
type LockoutStore struct {
	pool   *pgxpool.Pool
	policy func() LockoutPolicy
	now    func() time.Time
	log    *slog.Logger
}

// NewLockoutStore returns a LockoutStore on pool (migrated with Migrate).
func NewLockoutStore(pool *pgxpool.Pool, opts LockoutOptions) (*LockoutStore, error) {
	l := &LockoutStore{pool: pool, policy: opts.Policy, now: opts.Now,
		log: cmp.Or(opts.Logger, slog.New(slog.DiscardHandler))}
	if l.now == nil {
		l.now = time.Now
	}
	if l.policy == nil {
		l.policy = func() LockoutPolicy { return LockoutPolicy{} }
	}
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(lockoutCollector{l}); err != nil {
			return nil, fmt.Errorf("pin lockouts: %w", err)
		}
	}
	return l, nil
}

// Advisory lock classes (pg_advisory_xact_lock(class, key)): counting one
// failure holds its number's and its Administration's, always in this
// order, so that counts are exact and no two counters deadlock.
const (
	lockClassNumber       = 0x50494e31 // "PIN1"
	lockClassOrganization = 0x50494e32 // "PIN2"
)

// failureRetention bounds how long a wrong PIN is kept: windows are at
// most a day (menu validation).
const failureRetention = 48 * time.Hour

// Locked reports whether t may not try a PIN at now.
func (l *LockoutStore) Locked(ctx context.Context, t PINTarget, now time.Time, p LockoutPolicy) (PINLock, error) {
	var lk PINLock
	err := l.pool.QueryRow(ctx, `
SELECT
  EXISTS (SELECT 1 FROM pin_counters WHERE scope = 'number' AND key = $1 AND locked_until > $3),
  $2 <> '' AND EXISTS (SELECT 1 FROM pin_counters WHERE scope = 'organization' AND key = $2 AND locked_until > $3)
    AND NOT EXISTS (SELECT 1 FROM pin_trusted_numbers
                    WHERE organization = $2 AND caller = $1 AND $1 <> '' AND last_success > $4)`,
		t.Caller, t.Organization, stamp(now), stamp(now.Add(-trust(p)))).Scan(&lk.Number, &lk.Organization)
	if err != nil {
		return PINLock{}, fmt.Errorf("pin lockouts: locked: %w", err)
	}
	return lk, nil
}

func trust(p LockoutPolicy) time.Duration { return cmp.Or(p.TrustFor, DefaultPINTrust) }

// Failed counts a wrong PIN of t at now and locks the number, the
// Administration, or raises the alarm, as p says.
func (l *LockoutStore) Failed(ctx context.Context, t PINTarget, now time.Time, p LockoutPolicy) (LockoutVerdict, error) {
	now = stamp(now)
	var v LockoutVerdict
	var id int64
	err := pgx.BeginFunc(ctx, l.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, lockClassNumber, t.Caller); err != nil {
			return err
		}
		if t.Organization != "" {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, lockClassOrganization, t.Organization); err != nil {
				return err
			}
		}
		var byNumber, byOrg int
		err := tx.QueryRow(ctx, `
WITH f AS (
  INSERT INTO pin_failures (at, caller, organization) VALUES ($1, $2, $3) RETURNING id
)
SELECT (SELECT id FROM f),
  1 + (SELECT count(*) FROM pin_failures WHERE caller = $2 AND at > $4
        AND id > coalesce((SELECT counted_after FROM pin_counters WHERE scope = 'number' AND key = $2), 0)),
  CASE WHEN $3 = '' THEN 0 ELSE
  1 + (SELECT count(*) FROM pin_failures WHERE organization = $3 AND at > $4
        AND id > coalesce((SELECT counted_after FROM pin_counters WHERE scope = 'organization' AND key = $3), 0)) END,
  1 + (SELECT count(*) FROM pin_failures WHERE at > $5)`,
			now, t.Caller, t.Organization, now.Add(-p.Window), now.Add(-p.AlarmWindow)).Scan(&id, &byNumber, &byOrg, &v.Recent)
		if err != nil {
			return err
		}
		lock := func(scope, key string) error {
			_, err := tx.Exec(ctx, `
INSERT INTO pin_counters (scope, key, counted_after, locked_until) VALUES ($1, $2, $3, $4)
ON CONFLICT (scope, key) DO UPDATE SET counted_after = excluded.counted_after, locked_until = excluded.locked_until`,
				scope, key, id, now.Add(p.Window))
			return err
		}
		if p.MaxPerNumber > 0 && byNumber >= p.MaxPerNumber {
			if err := lock("number", t.Caller); err != nil {
				return err
			}
			v.NumberLocked = true
		}
		if t.Organization != "" && p.MaxPerOrganization > 0 && byOrg >= p.MaxPerOrganization {
			if err := lock("organization", t.Organization); err != nil {
				return err
			}
			v.OrganizationLocked = true
		}
		if p.AlarmFailures > 0 && v.Recent >= p.AlarmFailures {
			// Whoever updates the row raises the alarm; the others see the
			// new raised_at and stay quiet until the window has passed.
			tag, err := tx.Exec(ctx, `UPDATE pin_alarm SET raised_at = $1 WHERE raised_at IS NULL OR raised_at <= $2`,
				now, now.Add(-p.AlarmWindow))
			if err != nil {
				return err
			}
			v.Alarm = tag.RowsAffected() == 1
		}
		return nil
	})
	if err != nil {
		return LockoutVerdict{}, fmt.Errorf("pin lockouts: count failure: %w", err)
	}
	if id%128 == 0 {
		l.prune(ctx, now, p)
	}
	return v, nil
}

// prune forgets failures older than any window, expired counters that no
// longer filter anything, and trust that has run out.
func (l *LockoutStore) prune(ctx context.Context, now time.Time, p LockoutPolicy) {
	_, err := l.pool.Exec(ctx, `
WITH gone AS (DELETE FROM pin_failures WHERE at < $1)
DELETE FROM pin_trusted_numbers WHERE last_success < $2`, now.Add(-failureRetention), now.Add(-trust(p)))
	if err == nil {
		_, err = l.pool.Exec(ctx, `
DELETE FROM pin_counters
WHERE (locked_until IS NULL OR locked_until < $1)
  AND counted_after < coalesce((SELECT min(id) FROM pin_failures), 9223372036854775807)`, now)
	}
	if err != nil {
		l.log.Warn("pin_lockouts_prune_failed", "error", err.Error())
	}
}

// Succeeded records a right PIN: the number's count starts again, and the
// number is trusted by the Administration. A withheld number is never
// trusted and keeps its shared count: anyone may withhold a number.
func (l *LockoutStore) Succeeded(ctx context.Context, t PINTarget, now time.Time) error {
	if t.Caller == "" {
		return nil
	}
	batch := &pgx.Batch{}
	batch.Queue(`
INSERT INTO pin_counters (scope, key, counted_after)
SELECT 'number', $1, coalesce(max(id), 0) FROM pin_failures WHERE caller = $1
ON CONFLICT (scope, key) DO UPDATE SET counted_after = excluded.counted_after`, t.Caller)
	if t.Organization != "" {
		batch.Queue(`
INSERT INTO pin_trusted_numbers (organization, caller, last_success) VALUES ($1, $2, $3)
ON CONFLICT (organization, caller) DO UPDATE SET last_success = excluded.last_success`, t.Organization, t.Caller, stamp(now))
		// Numbers are personal data: none is kept past its trust.
		batch.Queue(`DELETE FROM pin_trusted_numbers WHERE organization = $1 AND last_success < $2`,
			t.Organization, stamp(now.Add(-trust(l.policy()))))
	}
	if err := l.pool.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("pin lockouts: success: %w", err)
	}
	return nil
}

// RecentPINFailureAlarm reports whether wrong PINs across all numbers
// within the alarm window have reached the alarm threshold, and how many
// there were: for the panel's notice.
func (l *LockoutStore) RecentPINFailureAlarm(ctx context.Context) (alarm bool, failures int, err error) {
	p := l.policy()
	if p.AlarmWindow <= 0 {
		return false, 0, nil
	}
	err = l.pool.QueryRow(ctx, `SELECT count(*) FROM pin_failures WHERE at > $1`, stamp(l.now().Add(-p.AlarmWindow))).Scan(&failures)
	if err != nil {
		return false, 0, fmt.Errorf("pin lockouts: alarm: %w", err)
	}
	return p.AlarmFailures > 0 && failures >= p.AlarmFailures, failures, nil
}

var (
	recentFailuresDesc = prometheus.NewDesc("ivr_pin_failures_recent",
		"Wrong PINs across all numbers within the alarm window (shared by every ivrd).", nil, nil)
	failureAlarmDesc = prometheus.NewDesc("ivr_pin_failure_alarm",
		"1 while wrong PINs across all numbers within the alarm window reach the alarm threshold.", nil, nil)
)

type lockoutCollector struct{ l *LockoutStore }

func (c lockoutCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- recentFailuresDesc
	ch <- failureAlarmDesc
}

func (c lockoutCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	alarm, n, err := c.l.RecentPINFailureAlarm(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(recentFailuresDesc, err)
		ch <- prometheus.NewInvalidMetric(failureAlarmDesc, err)
		return
	}
	a := 0.0
	if alarm {
		a = 1
	}
	ch <- prometheus.MustNewConstMetric(recentFailuresDesc, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(failureAlarmDesc, prometheus.GaugeValue, a)
}
