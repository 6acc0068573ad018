package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/leases"
	"github.com/helpdesk-ivr/ivr/panel"
)

// leasesOf is the controller's view of the leases: nil without them (an
// interface holding a nil *leases.Store would not be nil).
func leasesOf(st *leases.Store) ivr.CallLeases {
	if st == nil {
		return nil
	}
	return st
}

// clusterLive is /live when several instances share the calls: this
// instance's calls, from its controller's events, and the others', as
// each last published them (every period, in its instance row).
type clusterLive struct {
	local  *ivr.Live
	leases *leases.Store
	log    *slog.Logger

	mu     sync.Mutex
	remote []panel.LiveCall
	seen   []byte // the others' rows as last read, to notify on change only

	// What this instance last published and when: unchanged calls are
	// published again only now and then (a row rewritten every second
	// for nothing is WAL and vacuum work on a shared database).
	published   []byte
	publishedAt time.Time
}

// republishEvery bounds how stale this instance's row may get when its
// calls do not change (a quiet night).
const republishEvery = 30 * time.Second

func (l *clusterLive) Calls() []panel.LiveCall {
	out := liveCalls{l.local}.Calls()
	for i := range out {
		out[i].Instance = l.leases.Owner()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return append(out, l.remote...)
}

// run publishes this instance's calls and reads the others' every period
// until ctx ends; changed runs when the others' calls changed.
func (l *clusterLive) run(ctx context.Context, period time.Duration, changed func()) {
	t := time.NewTicker(period)
	defer t.Stop()
	failing := false
	for {
		err := l.sync(ctx, changed)
		switch {
		case err != nil && !failing && ctx.Err() == nil:
			l.log.Warn("live_sync_failed", "error", err.Error())
			failing = true
		case err == nil && failing:
			l.log.Info("live_sync_recovered")
			failing = false
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (l *clusterLive) sync(ctx context.Context, changed func()) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	mine, err := json.Marshal(l.local.Calls())
	if err != nil {
		return err
	}
	if !bytes.Equal(mine, l.published) || time.Since(l.publishedAt) >= republishEvery {
		if err := l.leases.PublishLive(ctx, mine); err != nil {
			return err
		}
		l.published, l.publishedAt = mine, time.Now()
	}
	others, err := l.leases.Others(ctx)
	if err != nil {
		return err
	}
	var raw bytes.Buffer
	var remote []panel.LiveCall
	for _, o := range others {
		raw.WriteString(o.Name)
		raw.Write(o.Live)
		var calls []panel.LiveCall
		if err := json.Unmarshal(o.Live, &calls); err != nil {
			l.log.Warn("live_unreadable", "instance", o.Name, "error", err.Error())
			continue
		}
		for _, c := range calls {
			c.Instance, c.Remote = o.Name, true
			remote = append(remote, c)
		}
	}
	l.mu.Lock()
	same := bytes.Equal(raw.Bytes(), l.seen)
	l.remote, l.seen = remote, slices.Clone(raw.Bytes())
	l.mu.Unlock()
	if !same {
		changed()
	}
	return nil
}
