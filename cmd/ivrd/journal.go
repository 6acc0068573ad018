package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/jobs"
	"github.com/helpdesk-ivr/ivr/journal"
)

// startJournal keeps every call's journal (package journal) for `ivrctl
// replay`, with the configuration file each ran under, and runs the job
// that summarises and deletes calls older than keep. It returns the
// observer to hand the controller's events to, and stop, which writes
// what is left once the calls are over.
func startJournal(ctx context.Context, pool *pgxpool.Pool, configPath string, keep time.Duration, loc *time.Location,
	now func() time.Time, log *slog.Logger, reg prometheus.Registerer) (observe func(ivr.Event), stop func(), err error) {
	store := journal.NewStore(pool, loc)
	rec, err := journal.NewRecorder(store, journal.RecorderOptions{Now: now, Logger: log, Registerer: reg,
		// The file as it is now, if it is the version the call ran under
		// (a file edited but not reloaded is not).
		Source: func(version string) []byte {
			src, err := os.ReadFile(configPath)
			if err != nil {
				return nil
			}
			sum := sha256.Sum256(src)
			if hex.EncodeToString(sum[:]) != version {
				return nil
			}
			return src
		}})
	if err != nil {
		return nil, nil, err
	}
	host, _ := os.Hostname()
	// A runner of its own (its metrics are the other jobs' names: not
	// registered twice).
	runner, err := jobs.NewRunner(pool, jobs.RunnerOptions{Location: loc, Now: now, Logger: log, Instance: host})
	if err != nil {
		return nil, nil, err
	}
	if err := runner.Add("journal_retention", journal.RetentionSpec, store.RetentionJob(keep)); err != nil {
		return nil, nil, err
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	recDone, jobsDone := make(chan struct{}), make(chan struct{})
	go func() { defer close(recDone); rec.Run(rctx) }()
	go func() { defer close(jobsDone); _ = runner.Run(rctx) }()
	log.Info("journal_on", "retention", keep.String())
	return rec.Observe, func() { cancel(); <-recDone; <-jobsDone }, nil
}
