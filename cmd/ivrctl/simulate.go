package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/clock"
	"github.com/helpdesk-ivr/ivr/internal/configfile"
	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
	"github.com/helpdesk-ivr/ivr/ivr/simdesk"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/tickets"
)

func init() {
	register("simulate", "run one scripted call through the real controller against a simulated Asterisk", cmdSimulate)
}

func cmdSimulate(e env, args []string) int {
	fs := newFlags(e, "simulate")
	path := fs.String("config", "", "configuration file")
	at := fs.String("at", "", "simulated start time, RFC 3339 (default now)")
	caller := fs.String("caller", "3331234567", "the caller's number")
	keys := fs.String("keys", "", `the caller's script: keys separated by spaces ("1 3", "4 5035#"), wN waits N s, h hangs up`)
	realtime := fs.Bool("realtime", false, "run in real time instead of fast")
	speed := fs.Float64("speed", 200, "how many times faster than real time")
	operators := fs.String("operators", "answer", "operators' phones: answer, noanswer or busy")
	answerAfter := fs.Duration("answer-after", 5*time.Second, "how long an operator's phone rings before they answer (-operators answer)")
	hold := fs.Duration("hold", 0, "how long an operator talks before hanging up (0: until the caller does, after -talk)")
	available := fs.String("available", "", "the operators logged in and available, as logins separated by commas, or none (default all)")
	useQueues := fs.Bool("queues", true, "wait in the operator queues as ivrd does (PostgreSQL: DATABASE_URL, -queues-db, or a private cluster); false rings every phone of the group at once")
	queuesDB := fs.String("queues-db", "", "the PostgreSQL server for the queues, in a schema of their own dropped at the end (default DATABASE_URL; neither: a private cluster for the run)")
	speak := fs.Duration("speak", 10*time.Second, "how long the caller speaks when recorded")
	talk := fs.Duration("talk", time.Minute, "how long the caller talks with an operator before hanging up")
	verbose := fs.Bool("v", false, "log the controller's own messages to stderr")
	if fs.Parse(args) != nil {
		return 2
	}
	cfg := loadConfig(e, *path)
	if cfg == nil {
		return 1
	}
	script, err := simdesk.ParseScript(*keys)
	if err != nil {
		return fail(e, "-keys: %v", err)
	}
	start := time.Now()
	if *at != "" {
		if start, err = time.Parse(time.RFC3339, *at); err != nil {
			return fail(e, "-at %q is not an RFC 3339 time such as 2026-11-23T10:00:00+01:00", *at)
		}
	}
	if *realtime {
		*speed = 1
	}
	behavior, ok := map[string]arisim.EndpointBehavior{
		"answer":   {Mode: arisim.Answer, AnswerAfter: *answerAfter, HangupAfter: *hold},
		"noanswer": {Mode: arisim.NoAnswer},
		"busy":     {Mode: arisim.Busy},
	}[*operators]
	if !ok {
		return fail(e, "-operators must be answer, noanswer or busy")
	}
	if *answerAfter < 0 || *hold < 0 {
		return fail(e, "-answer-after and -hold cannot be negative")
	}
	secret, err := configfile.PINSecret(cfg)
	if err != nil && cfg.HasPINs() {
		fmt.Fprintln(e.stderr, "ivrctl: no PIN secret configured: using the public demo secret")
		secret = []byte(configfile.DemoPINSecret)
	}
	opts := simdesk.Options{Config: cfg, PINSecret: secret, Operators: &behavior}
	if *verbose {
		opts.Logger = slog.New(slog.NewTextHandler(e.stderr, nil))
	}
	if url := os.Getenv("DATABASE_URL"); url != "" {
		store, closeStore, err := openStore(e.ctx, url, cfg)
		if err != nil {
			return fail(e, "%v", err)
		}
		defer closeStore()
		opts.Store = store
	}
	var q *simQueues
	if *useQueues {
		if q, err = openSimQueues(e.ctx, cmp.Or(*queuesDB, os.Getenv("DATABASE_URL"))); err != nil {
			return fail(e, "%v", err)
		}
		defer q.close()
	}
	// The clock starts once the database is ready: at -at, for the call.
	clk := clock.NewScaled(start, *speed)
	opts.Clock = clk
	if q != nil {
		var logins []string
		switch *available {
		case "":
		case "none":
			logins = []string{}
		default:
			logins = strings.Split(*available, ",")
		}
		if err := q.start(e.ctx, cfg, clk, *speed, logins); err != nil {
			return fail(e, "%v", err)
		}
		opts.Queues = q
	}
	desk, err := simdesk.Start(e.ctx, opts)
	if err != nil {
		return fail(e, "start the simulated help desk: %v", err)
	}
	defer desk.Close()
	res, err := desk.Call(e.ctx, *caller, script, arisim.CallOptions{SpeakOnRecord: *speak}, simdesk.CallLimits{Talk: *talk})
	if err != nil {
		return fail(e, "call: %v", err)
	}
	printTranscript(e, cfg, res.Events)
	return 0
}

// printTranscript writes one JSON object per line, times in the service's
// zone at millisecond precision.
func printTranscript(e env, cfg *menu.Config, events []ivr.Event) {
	enc := json.NewEncoder(e.stdout)
	enc.SetEscapeHTML(false)
	for _, ev := range events {
		ev.Time = ev.Time.In(cfg.Location()).Round(time.Millisecond)
		_ = enc.Encode(ev)
	}
}

func openStore(ctx context.Context, url string, cfg *menu.Config) (tickets.CallRecorder, func(), error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, nil, fmt.Errorf("database: %w", err)
	}
	if err := tickets.Migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("database migrations: %w", err)
	}
	return tickets.New(pool, tickets.Options{Location: cfg.Location()}), pool.Close, nil
}
