package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/helpdesk-ivr/ivr/internal/clock"
	"github.com/helpdesk-ivr/ivr/internal/testphone"
	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
	"github.com/helpdesk-ivr/ivr/ivr/simdesk"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/panel"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// liveCalls gives the panel the controller's calls in progress.
type liveCalls struct{ *ivr.Live }

func (l liveCalls) Calls() []panel.LiveCall {
	calls := l.Live.Calls()
	out := make([]panel.LiveCall, len(calls))
	for i, c := range calls {
		out[i] = panel.LiveCall(c)
	}
	return out
}

// testPhoneOptions say where the test phone's calls go.
type testPhoneOptions struct {
	// desk takes the calls placed "now": in the demo the demo's own desk
	// (tickets in the database, the real queues); elsewhere a desk of its
	// own whose tickets stay in memory, so that trying the menu never
	// touches real tickets or real operators.
	desk *simdesk.Desk
	// What a call at a chosen date and time shares with the demo's own
	// calls, to run their path (zero: tickets in memory, every phone of
	// the group rings at once, seen by nobody):
	// storeAt keeps its tickets and call record, numbered and dated on
	// the call's clock (now);
	storeAt func(now func() time.Time) tickets.CallRecorder
	// queues are the demo's operator queues, on the demo's clock now;
	queues ivr.Queues
	now    func() time.Time
	// observe is the panel's live view, on the demo's clock;
	observe  func(ivr.Event)
	lockouts ivr.Lockouts
	// operators is how the simulated operators' phones behave;
	operators *arisim.EndpointBehavior
	// recordings is the demo's recording spool, which the panel plays.
	recordings *arisim.Recordings
	// phones answer from the operators' consoles.
	phones *demoPhones

	// draft finds a draft version's configuration for the request's
	// user (nil: drafts are not tried).
	draft   func(r *http.Request, id int64) (*menu.Config, error)
	config  func() *menu.Config
	secret  []byte
	prompts string
	log     *slog.Logger
	roles   []panel.Role
}

// newTestPhone returns the test phone as a page of the panel, and what
// stops it.
func newTestPhone(ctx context.Context, o testPhoneOptions) (panel.ExtraPage, func(), error) {
	cfg := o.config()
	desk, own := o.desk, false
	if desk == nil {
		var err error
		desk, err = simdesk.Start(ctx, simdesk.Options{Config: cfg, ConfigFunc: o.config, PINSecret: o.secret,
			Logger: o.log, SystemName: "testphone"})
		if err != nil {
			return panel.ExtraPage{}, nil, fmt.Errorf("test phone: %w", err)
		}
		own = true
	}
	var desks atomic.Uint64
	phone := testphone.New(testphone.Options{
		Desk: desk,
		NewDesk: func(ctx context.Context, at time.Time, draft *menu.Config) (*simdesk.Desk, error) {
			// A desk's channel ids count from its clock, which starts at the
			// chosen time: a prefix of its own keeps two calls at one time
			// (or at a time tried before a restart) apart, in the test
			// phone and in the call records.
			name := fmt.Sprintf("testphone-at-%d-%d", time.Now().UnixNano(), desks.Add(1))
			if at.IsZero() { // now, under a draft
				at = time.Now()
				if o.now != nil {
					at = o.now()
				}
			}
			cfg := o.config()
			if draft != nil {
				cfg = draft
			}
			clk := clock.NewScaled(at, 1)
			opts := simdesk.Options{Config: cfg, PINSecret: o.secret, Clock: clk, Logger: o.log, SystemName: name,
				Operators: o.operators, Recordings: o.recordings, Lockouts: o.lockouts}
			if o.storeAt != nil {
				opts.Store = o.storeAt(clk.Now)
			}
			// The call runs at its own instant; the demo's queues and
			// panel at theirs: both clocks run at the same speed, this
			// far apart.
			demoNow := o.now
			if demoNow == nil {
				demoNow = time.Now
			}
			ahead := clk.Now().Sub(demoNow())
			if o.queues != nil {
				opts.Queues = simdesk.ShiftQueues(o.queues, ahead)
			}
			if o.observe != nil {
				opts.Observe = func(e ivr.Event) {
					e.Time = e.Time.Add(-ahead)
					o.observe(e)
				}
			}
			var detach func()
			opts.OnClose = func() {
				if detach != nil {
					detach()
				}
			}
			desk, err := simdesk.Start(ctx, opts)
			if err == nil && o.phones != nil {
				detach = o.phones.attach(desk.Sim)
			}
			return desk, err
		},
		Draft: o.draft, Config: o.config, Prompts: o.prompts, Location: cfg.Location(), Logger: o.log,
		Lang: panel.Lang, CSRFToken: panel.CSRFToken, Number: cfg.Service.Number,
	})
	stop := func() {
		phone.Close() // its calls end before their desk does
		if own {
			desk.Close()
		}
	}
	page := panel.ExtraPage{Path: "/testphone", Label: map[string]string{"it": "Telefono di prova", "en": "Test phone"},
		Roles: o.roles, Mount: func(r chi.Router) { phone.Routes(r) }}
	return page, stop, nil
}

// callControl gives the panel the controller's hands on live calls.
type callControl struct{ ctrl *ivr.Controller }

func (c callControl) Act(ctx context.Context, callID string, a panel.CallAction) error {
	return c.ctrl.Act(ctx, callID, ivr.Action{Kind: ivr.ActionKind(a.Kind), By: a.By, Group: a.Group,
		Operator: a.Operator, Number: a.Number, Mode: a.Mode, Reason: a.Reason})
}
