package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/internal/clock"
	"github.com/helpdesk-ivr/ivr/internal/configfile"
	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// TestOpsOnDemoClock: with the demo's clock, the scheduled jobs run at
// that clock's slots (ops.go never passed it: the jobs ran on real time).
// The demo clock starts on another day, shortly before the summary's
// 07:00, and runs 600 times faster than the wall clock: the summary of
// that day and the escalations of its minutes are run, stamped with the
// demo's time.
func TestOpsOnDemoClock(t *testing.T) {
	t.Parallel()
	cfg, err := configfile.Load("../../configs/helpdesk.yaml")
	if err != nil {
		t.Fatal(err)
	}
	current := func() *menu.Config { return cfg }
	pool := pgtest.Pool(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := migrateOps(ctx, pool); err != nil {
		t.Fatal(err)
	}
	loc := cfg.Location()
	start := time.Date(2026, 11, 23, 6, 57, 30, 0, loc) // a Monday
	clk := clock.NewScaled(start, 600)
	log := slog.New(slog.DiscardHandler)
	n, err := newNotifier(opsConfig{}, current, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	store := tickets.New(pool, tickets.Options{Location: loc, Now: clk.Now, Hook: n.Hook, HookOnCreate: n.WantsCreated})
	if err := startOps(ctx, opsConfig{}, n, pool, store, current, &ariRecordings{}, log, prometheus.NewRegistry(), clk); err != nil {
		t.Fatal(err)
	}
	summary := time.Date(2026, 11, 23, 7, 0, 0, 0, loc)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var summaries, escalations int
		err := pool.QueryRow(ctx, `SELECT
				count(*) FILTER (WHERE job = 'summary' AND scheduled_at = $1 AND finished_at IS NOT NULL),
				count(*) FILTER (WHERE job = 'escalation' AND scheduled_at > $2 AND scheduled_at <= $1)
			FROM job_runs`, summary, start).Scan(&summaries, &escalations)
		if err != nil {
			t.Fatal(err)
		}
		if summaries == 1 && escalations >= 1 {
			break
		}
		if time.Now().After(deadline) {
			var runs []string
			rows, _ := pool.Query(ctx, `SELECT job || ' ' || scheduled_at::text FROM job_runs ORDER BY scheduled_at`)
			for rows.Next() {
				var r string
				_ = rows.Scan(&r)
				runs = append(runs, r)
			}
			rows.Close()
			t.Fatalf("no summary at 07:00 of the demo's day (now %s); runs: %v", clk.Now(), runs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Nothing ran at the wall clock's time, days after the demo's.
	var wall int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM job_runs WHERE scheduled_at > $1`, clk.Now().Add(time.Hour)).Scan(&wall); err != nil {
		t.Fatal(err)
	}
	if wall != 0 {
		t.Fatalf("%d jobs ran at the wall clock's time", wall)
	}
}
