package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/clock"
	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/internal/pgcluster"
	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/queues"
)

// simQueues are the operator queues of a simulated call, run as ivrd runs
// them (package queues: strategies, penalties, positions, limits,
// overflows) with simulated operators logged in. They live in a
// PostgreSQL schema of their own, with their own notification channel,
// dropped at the end: the real operators and callers of a database they
// share are never touched.
type simQueues struct {
	*queues.Service
	pool    *pgxpool.Pool
	admin   *pgxpool.Pool
	schema  string
	cluster *pgcluster.Cluster
	cancel  context.CancelFunc
	done    chan struct{}
}

// openSimQueues makes the queues' schema on the server at url, or on a
// private PostgreSQL cluster started for the run when url is "".
func openSimQueues(ctx context.Context, url string) (_ *simQueues, err error) {
	q := &simQueues{schema: fmt.Sprintf("ivrctl_simulate_%d_%d", os.Getpid(), time.Now().UnixNano()), done: make(chan struct{})}
	defer func() {
		if err != nil {
			q.drop()
		}
	}()
	if url == "" {
		if q.cluster, err = pgcluster.Start(ctx, pgcluster.Options{TestTuning: true, NoInstall: true}); err != nil {
			return nil, fmt.Errorf("a PostgreSQL for the queues (or set DATABASE_URL, or -queues=false): %w", err)
		}
		url = q.cluster.URL()
	}
	if q.admin, err = pgxpool.New(ctx, url); err != nil {
		return nil, fmt.Errorf("queues database: %w", err)
	}
	if _, err = q.admin.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{q.schema}.Sanitize()); err != nil {
		return nil, fmt.Errorf("queues schema: %w", err)
	}
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("queues database: %w", err)
	}
	pc.ConnConfig.RuntimeParams["search_path"] = q.schema
	if q.pool, err = pgxpool.NewWithConfig(ctx, pc); err != nil {
		return nil, fmt.Errorf("queues database: %w", err)
	}
	if err = queues.Migrate(ctx, q.pool); err != nil {
		return nil, fmt.Errorf("queues migrations: %w", err)
	}
	return q, nil
}

// start runs the queues of cfg on the desk's clock, which runs speed times
// faster than real time, with the operators available logged in and
// available (nil: all of them).
func (q *simQueues) start(ctx context.Context, cfg *menu.Config, clk *clock.Scaled, speed float64, available []string) error {
	// The queues poll on the wall clock: as often, in the desk's time, as
	// ivrd's do in real time.
	poll := max(time.Duration(float64(2*time.Second)/speed), 5*time.Millisecond)
	q.Service = queues.New(q.pool, queues.Options{Location: cfg.Location(), Now: clk.Now, PollInterval: poll, Channel: q.schema})
	if err := ivr.SyncQueues(ctx, q.Service, cfg); err != nil {
		return fmt.Errorf("operator queues: %w", err)
	}
	for _, login := range available {
		if !slices.ContainsFunc(cfg.Operators, func(o *menu.Operator) bool { return o.Login == login }) {
			return fmt.Errorf("-available: no operator %q in the configuration", login)
		}
	}
	for _, op := range cfg.Operators {
		if available != nil && !slices.Contains(available, op.Login) {
			continue
		}
		if err := q.SetState(ctx, op.Login, queues.Available, ""); err != nil && !errors.Is(err, fault.ErrConflict) {
			return fmt.Errorf("log in operator %s: %w", op.Login, err)
		}
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	q.cancel = cancel
	go func() {
		defer close(q.done)
		_ = q.Run(rctx)
	}()
	return nil
}

// close stops the queues and drops their schema (and cluster).
func (q *simQueues) close() {
	if q.cancel != nil {
		q.cancel()
		<-q.done
	}
	q.drop()
}

func (q *simQueues) drop() {
	if q.pool != nil {
		q.pool.Close()
	}
	if q.admin != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, _ = q.admin.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{q.schema}.Sanitize()+" CASCADE")
		cancel()
		q.admin.Close()
	}
	if q.cluster != nil {
		_ = q.cluster.Stop()
	}
}
