package interop

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/realasterisk"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// mondayClock is a working Monday at 10 in Rome, for ivrd -clock.
const mondayClock = "2026-11-16T10:00"

// leaf is a call through the menu to a group whose operator answers.
type leaf struct {
	keys     string // menu keys, one every keyGap
	pin      string // keyed after the keys, when the leaf asks for one
	group    string
	operator string
}

// The leaves of the shipped Giustizia tree, each with the operator
// (penalty 0) who answers.
var leaves = []leaf{
	{keys: "12", group: "lotto2", operator: "op201"},
	{keys: "13", group: "lotto3", operator: "op301"},
	{keys: "14", group: "lotto4", operator: "op401"},
	{keys: "15", group: "lotto5", operator: "op501"},
	{keys: "16", group: "lotto6", operator: "op601"},
	{keys: "21", group: "pct-libero-foro", operator: "op701"},
	{keys: "22", group: "pct-magistrati", operator: "op702"},
	{keys: "31", group: "sicoge", operator: "op801"},
	{keys: "4", pin: "5035#", group: "modifiche", operator: "op901"}, // the referent's PIN
	{keys: "0", group: "accoglienza", operator: "op100"},
}

// keyGap is the time between two menu keys: each cuts the prompt it
// answers, which starts as the previous key lands.
const keyGap = 3 * time.Second

// TestIvrdEveryLeafAnswered calls every leaf of the tree at once through
// the ivrd binary: each call is routed to its group and bridged in
// Asterisk to the phone of its operator, who answers; the record and the
// ticket in PostgreSQL say so; and the simulator, given the same keys,
// makes the same call (outcome, group, menu path, media played).
func TestIvrdEveryLeafAnswered(t *testing.T) {
	t.Parallel()
	var phones []string
	for _, l := range leaves {
		phones = append(phones, l.operator)
	}
	d := StartDesk(t, DeskOptions{Clock: mondayClock, Phones: phones})
	cfg := shipped(t)
	monday := time.Date(2026, 11, 16, 10, 0, 0, 0, cfg.Location())
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	var wg sync.WaitGroup
	for i, l := range leaves {
		wg.Add(1)
		go func() {
			defer wg.Done()
			caller := fmt.Sprintf("33312300%02d", i)
			phone := d.Phone(t, l.operator, realasterisk.PhoneOptions{AnswerAfter: time.Second, Timeout: 3 * time.Minute})
			keys := keyed(l.keys, keyGap, keyGap)
			if l.pin != "" {
				keys = append(keys, keyed(l.pin, keyGap, 200*time.Millisecond)...)
			}
			sip := d.Caller(t, realasterisk.CallOptions{Caller: caller, Keys: keys, Timeout: 3 * time.Minute})
			call := d.CallOf(ctx, t, caller)
			op := d.Obs.BridgedWith(ctx, t, call.ChannelID, "PJSIP/"+l.operator+"-")
			d.WaitCallEvent(ctx, t, call, tickets.EventAnswered)
			// The test hangs the caller up once they talk (Asterisk sends
			// the BYE the sipp caller waits for).
			d.HangUp(ctx, t, call.ChannelID)
			rec, events := d.WaitEnded(ctx, t, call)
			for _, s := range []*realasterisk.SIPCall{sip, phone} {
				if err := s.Wait(ctx); err != nil {
					t.Errorf("%s: %v", l.keys, err)
				}
			}
			t.Logf("%s: bridged with %s; record %+v", l.keys, op, rec)
			if rec.Outcome != tickets.OutcomeAnswered || rec.Group != l.group || rec.Operator != l.operator {
				t.Errorf("%s: outcome %q, group %q, operator %q; want answered, %s, %s", l.keys, rec.Outcome, rec.Group, rec.Operator, l.group, l.operator)
			}
			tk := d.Ticket(ctx, t, rec)
			if tk.Group != l.group || tk.Caller != "+39"+caller {
				t.Errorf("%s: ticket %s: group %q, caller %q", l.keys, tk.Number, tk.Group, tk.Caller)
			}
			got := d.Summary(ctx, t, rec, events)
			if bad := got.Failed(); len(bad) > 0 {
				t.Errorf("%s: playbacks that did not play: %q", l.keys, bad)
			}
			presses := []simPress{{sound("menu-root"), l.keys[:1]}}
			if len(l.keys) > 1 {
				presses = append(presses, simPress{sound("menu-" + l.keys[:1]), l.keys[1:]})
			}
			if l.pin != "" {
				presses = append(presses, simPress{system("pin_ask"), l.pin})
			}
			_, _, sim := runSimRecorded(t, cfg, monday, caller, presses, 0, nil, l.operator)
			if diff := Diff(got.UntilWait(), sim.UntilWait()); len(diff) > 0 {
				t.Errorf("%s: the simulator differs from ivrd on Asterisk:\n%s\nAsterisk's media:\n%s\nsimulator's media:\n%s",
					l.keys, strings.Join(diff, "\n"), mediaLines(got), mediaLines(sim))
			}
		}()
	}
	wg.Wait()
	if m := d.Metrics(t); !strings.Contains(m, "ivr_") {
		t.Errorf("/metrics has no ivr_ metric:\n%.2000s", m)
	}
}

// HangUp hangs channel id up through ARI, as if the far end had.
func (d *Desk) HangUp(ctx context.Context, t *testing.T, id string) {
	t.Helper()
	resp, err := d.A.NewClient(nil).Do(ctx, "DELETE", "/channels/"+id, url.Values{"reason": {"normal"}}, nil)
	if err != nil {
		t.Fatalf("hang up %s: %v", id, err)
	}
	if resp.Status != 204 && resp.Status != 404 {
		t.Fatalf("hang up %s: %d %s", id, resp.Status, resp.Body)
	}
}
