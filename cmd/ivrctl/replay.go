package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/journal"
	"github.com/helpdesk-ivr/ivr/journal/replay"
)

func init() {
	register("replay", "run the journaled calls again under another configuration and report what changes", cmdReplay)
}

func cmdReplay(e env, args []string) int {
	fs := newFlags(e, "replay")
	path := fs.String("config", "", "the configuration to try (NEW.yaml)")
	since := fs.String("since", "", "calls that arrived from this day (2006-01-02, service time zone) or instant (RFC 3339)")
	until := fs.String("until", "", "calls that arrived up to this day included (2006-01-02) or before this instant (RFC 3339)")
	entry := fs.String("entry", "", "only the calls to this number")
	against := fs.String("against", "", "compare with this stored configuration version (an id of the published versions or 8+ hex digits of its SHA-256), run again too, instead of the calls' journaled ends")
	asJSON := fs.Bool("json", false, "JSON lines: one per call that ends differently, per group and hour whose load changes, and a summary")
	speed := fs.Float64("speed", 20, "how many times faster than real time the calls run")
	desks := fs.Int("desks", 0, "simulated Asterisks and controllers in parallel (default: 8 per processor)")
	concurrency := fs.Int("concurrency", 0, "calls at once over all of them (default: 25 per desk)")
	limit := fs.Int("limit", 0, "at most this many calls, the oldest (0: all)")
	show := fs.Int("show", 20, "calls listed per kind of change in the summary (0: all)")
	if fs.Parse(args) != nil {
		return 2
	}
	cfg := loadConfig(e, *path)
	if cfg == nil {
		return 1
	}
	src, err := os.ReadFile(*path)
	if err != nil {
		return fail(e, "%v", err)
	}
	f := journal.Filter{Entry: *entry, Limit: *limit}
	if f.Since, err = parseWhen(*since, cfg.Location(), false); err != nil {
		return fail(e, "-since: %v", err)
	}
	if f.Until, err = parseWhen(*until, cfg.Location(), true); err != nil {
		return fail(e, "-until: %v", err)
	}
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		return fail(e, "DATABASE_URL is required: the journal is in ivrd's database")
	}
	pool, err := pgxpool.New(e.ctx, url)
	if err != nil {
		return fail(e, "database: %v", err)
	}
	defer pool.Close()
	store := journal.NewStore(pool, cfg.Location())
	o := replay.Options{New: src, NewFile: *path, Speed: *speed, Desks: *desks, Concurrency: *concurrency}
	if *against != "" {
		v, old, err := store.ConfigSource(e.ctx, *against)
		if err != nil {
			return fail(e, "-against: %v", err)
		}
		o.Old, o.OldFile = old, "version "+v[:12]
	}
	if o.Calls, err = store.FindCalls(e.ctx, f); err != nil {
		return fail(e, "%v", err)
	}
	if len(o.Calls) == 0 {
		return fail(e, "no journaled calls match")
	}
	if !*asJSON {
		o.Progress = func(done, total int) { fmt.Fprintf(e.stderr, "\r%d/%d calls", done, total) }
	}
	r, err := replay.Run(e.ctx, o)
	if !*asJSON {
		fmt.Fprintln(e.stderr)
	}
	if err != nil {
		return fail(e, "replay: %v", err)
	}
	if *asJSON {
		err = r.WriteJSON(e.stdout)
	} else {
		err = r.WriteText(e.stdout, *show)
	}
	if err != nil {
		return fail(e, "%v", err)
	}
	return 0
}

// parseWhen reads a day in loc or an RFC 3339 instant; a day as an
// upper bound means the end of that day.
func parseWhen(s string, loc *time.Location, end bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.ParseInLocation("2006-01-02", s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a day (2006-01-02) nor an RFC 3339 time", s)
	}
	if end {
		d = d.AddDate(0, 0, 1)
	}
	return d, nil
}
