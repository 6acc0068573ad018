// Package replay runs journaled calls (package journal) again through the
// real call controller, against the ARI simulator, under another
// configuration: each call at its original instant (so the hours and
// holidays of that day apply), from the same number to the same entry,
// with the same keys at the same times from its arrival, hanging up when
// the caller did. It reports which calls end differently and how, and how
// the load moves between groups. `ivrctl replay` prints its report; the
// panel may call Run.
package replay

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/clock"
	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
	"github.com/helpdesk-ivr/ivr/ivr/simdesk"
	"github.com/helpdesk-ivr/ivr/journal"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// Options configure a replay.
type Options struct {
	// Calls are the journaled calls to run again.
	Calls []journal.Call
	// New is the configuration file to try; NewFile names it in messages.
	New     []byte
	NewFile string
	// Old, if set, is a configuration run too, the calls' ends under it
	// being the old ones (-against); otherwise the journaled ends are.
	Old     []byte
	OldFile string
	// Speed is how many times faster than real time the calls run
	// (default 20). Faster gains little once the processors are busy,
	// and a key pressed near a timeout may land on its other side.
	Speed float64
	// Desks is how many simulated Asterisks and controllers share the
	// calls (default 8 per processor: one desk's event socket and
	// simulator lock serialise its calls, so more desks, not more calls
	// per desk, use the processors); Concurrency how many calls run at
	// once over all of them (default 25 per desk). Beyond that the desks
	// may fall behind their clocks, and then calls end differently: the
	// lag feeds itself (late keys, more timeouts, longer calls).
	Desks       int
	Concurrency int
	Logger      *slog.Logger
	// Progress, if set, hears how many calls are done, now and then.
	Progress func(done, total int)
}

// Change kinds: how a call that ends differently changed, the first that
// applies.
const (
	ChangeAfterHours = "now_after_hours" // the service or its group is now closed then
	ChangeAsksPIN    = "now_asks_pin"    // a PIN is asked that was not
	ChangeGroup      = "moved_group"     // handed to another group
	ChangeDeadEnd    = "now_dead_end"    // ends in the menu: invalid keys, locked PIN, or the caller gave up there
	ChangeOpen       = "now_open"        // was after hours, now served
	ChangeOther      = "other"           // another path or end
)

// Diff is a call that ends differently.
type Diff struct {
	JournalID int64       `json:"journal_id"`
	CallID    string      `json:"call_id"`
	ArrivedAt time.Time   `json:"arrived_at"`
	Caller    string      `json:"caller,omitempty"`
	Entry     string      `json:"entry,omitempty"`
	Kind      string      `json:"kind"`
	Old       journal.End `json:"old"`
	New       journal.End `json:"new"`
}

// Load is the calls handed to a group in one hour of the day (service
// time zone), before and after.
type Load struct {
	Group string `json:"group"`
	Hour  int    `json:"hour"`
	Old   int    `json:"old"`
	New   int    `json:"new"`
}

// Report is what a replay found.
type Report struct {
	Calls     int            `json:"calls"`
	Same      int            `json:"same"`
	Different int            `json:"different"`
	Failed    int            `json:"failed"` // calls that could not be run again
	Kinds     map[string]int `json:"kinds"`
	Diffs     []Diff         `json:"-"`
	Load      []Load         `json:"-"`
	// Late counts the calls the controller took up more than lateAfter
	// (simulated time) after they were placed: the desks fell behind
	// their clocks, and calls may end differently for that alone.
	Late int `json:"late"`
	// Errors are the first reasons calls failed, if any.
	Errors  []string      `json:"errors,omitempty"`
	Elapsed time.Duration `json:"-"`
}

// Run replays o.Calls under o.New (and o.Old) and compares.
func Run(ctx context.Context, o Options) (*Report, error) {
	began := time.Now()
	o.Speed = cmp.Or(o.Speed, 20)
	o.Desks = cmp.Or(o.Desks, 8*runtime.GOMAXPROCS(0))
	o.Concurrency = cmp.Or(o.Concurrency, 25*o.Desks)
	o.Logger = cmp.Or(o.Logger, slog.New(slog.DiscardHandler))
	if o.New == nil {
		return nil, errors.New("replay: no configuration to try")
	}
	newEnds, newErrs, loc, err := runAll(ctx, o, cmp.Or(o.NewFile, "new.yaml"), o.New)
	if err != nil {
		return nil, err
	}
	oldEnds := make([]journal.End, len(o.Calls))
	oldErrs := make([]error, len(o.Calls))
	if o.Old != nil {
		if oldEnds, oldErrs, _, err = runAll(ctx, o, cmp.Or(o.OldFile, "old.yaml"), o.Old); err != nil {
			return nil, err
		}
	} else {
		for i, c := range o.Calls {
			oldEnds[i] = c.End
		}
	}
	r := compare(o.Calls, oldEnds, newEnds, errors.Join, oldErrs, newErrs, loc)
	r.Elapsed = time.Since(began)
	return r, ctx.Err()
}

func compare(calls []journal.Call, oldEnds, newEnds []journal.End, join func(...error) error, oldErrs, newErrs []error, loc *time.Location) *Report {
	r := &Report{Calls: len(calls), Kinds: map[string]int{}}
	type gh struct {
		g string
		h int
	}
	load := map[gh]*Load{}
	count := func(e journal.End, at time.Time, old bool) {
		if e.Result != journal.ResultRouted {
			return
		}
		k := gh{e.Group, at.In(loc).Hour()}
		l := load[k]
		if l == nil {
			l = &Load{Group: k.g, Hour: k.h}
			load[k] = l
		}
		if old {
			l.Old++
		} else {
			l.New++
		}
	}
	for i, c := range calls {
		if errors.Is(oldErrs[i], errLate) || errors.Is(newErrs[i], errLate) {
			r.Late++
			if errors.Is(oldErrs[i], errLate) {
				oldErrs[i] = nil
			}
			if errors.Is(newErrs[i], errLate) {
				newErrs[i] = nil
			}
		}
		if err := join(oldErrs[i], newErrs[i]); err != nil {
			r.Failed++
			if len(r.Errors) < 5 {
				r.Errors = append(r.Errors, fmt.Sprintf("call %d (%s): %v", c.ID, c.CallID, err))
			}
			continue
		}
		oe, ne := oldEnds[i], newEnds[i]
		count(oe, c.ArrivedAt, true)
		count(ne, c.ArrivedAt, false)
		if oe.Same(ne) {
			r.Same++
			continue
		}
		r.Different++
		k := Kind(oe, ne)
		r.Kinds[k]++
		r.Diffs = append(r.Diffs, Diff{JournalID: c.ID, CallID: c.CallID, ArrivedAt: c.ArrivedAt.In(loc), Caller: c.Caller,
			Entry: c.Entry, Kind: k, Old: oe, New: ne})
	}
	for _, l := range load {
		r.Load = append(r.Load, *l)
	}
	sort.Slice(r.Load, func(i, j int) bool {
		if r.Load[i].Group != r.Load[j].Group {
			return r.Load[i].Group < r.Load[j].Group
		}
		return r.Load[i].Hour < r.Load[j].Hour
	})
	return r
}

// Kind says how a call's end changed.
func Kind(old, new journal.End) string {
	deadEnd := func(res string) bool {
		return res == "invalid_input" || res == "pin_locked" || res == "hung_up_in_menu"
	}
	switch {
	case new.Result == journal.ResultAfterHours && old.Result != journal.ResultAfterHours:
		return ChangeAfterHours
	case new.AskedPIN && !old.AskedPIN:
		return ChangeAsksPIN
	case new.Result == journal.ResultRouted && old.Result == journal.ResultRouted && new.Group != old.Group:
		return ChangeGroup
	case deadEnd(new.Result) && !deadEnd(old.Result):
		return ChangeDeadEnd
	case old.Result == journal.ResultAfterHours && new.Result != journal.ResultAfterHours:
		return ChangeOpen
	}
	return ChangeOther
}

// argPrefix marks the Stasis argument that tells a replayed call's
// index, by which its desk gives it its original instant.
// traceCall, from REPLAY_TRACE, prints the events of that call (its
// index) to stderr, to see why it ends differently.
var traceCall = func() int {
	if i, err := strconv.Atoi(os.Getenv("REPLAY_TRACE")); err == nil {
		return i
	}
	return -1
}()

const argPrefix = "replay:"

// runAll runs every call under the configuration src.
func runAll(ctx context.Context, o Options, file string, src []byte) ([]journal.End, []error, *time.Location, error) {
	dc, err := prepare(file, src)
	if err != nil {
		return nil, nil, nil, err
	}
	loc := dc.cfg.Location()
	calls := o.Calls
	desks := make([]*simdesk.Desk, 0, o.Desks)
	defer func() {
		for _, d := range desks {
			d.Close()
		}
	}()
	for range o.Desks {
		var d *simdesk.Desk
		callClock := func(_ string, args []string) clock.Clock {
			for _, a := range args {
				if s, ok := strings.CutPrefix(a, argPrefix); ok {
					if i, err := strconv.Atoi(s); err == nil && i >= 0 && i < len(calls) {
						return clock.Offset(d.Clock, calls[i].ArrivedAt.Sub(d.Clock.Now()))
					}
				}
			}
			return nil
		}
		d, err = simdesk.Start(ctx, simdesk.Options{Config: dc.cfg, PINSecret: dc.secret, Speed: o.Speed,
			Store: &discard{loc: loc}, CallClock: callClock, Logger: o.Logger, Lockouts: noLockouts{},
			Operators: &arisim.EndpointBehavior{Mode: arisim.NoAnswer}})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("replay: start a simulated help desk: %w", err)
		}
		desks = append(desks, d)
	}
	ends := make([]journal.End, len(calls))
	errs := make([]error, len(calls))
	late := make([]bool, len(calls))
	next := make(chan int)
	var done sync.WaitGroup
	var mu sync.Mutex
	finished := 0
	for range min(o.Concurrency, max(len(calls), 1)) {
		done.Go(func() {
			for i := range next {
				ends[i], late[i], errs[i] = replayCall(ctx, desks[i%len(desks)], dc, calls[i], i)
				if o.Progress != nil {
					mu.Lock()
					finished++
					if finished%1000 == 0 || finished == len(calls) {
						o.Progress(finished, len(calls))
					}
					mu.Unlock()
				}
			}
		})
	}
feed:
	for i := range calls {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	done.Wait()
	for i, l := range late {
		if l && errs[i] == nil {
			errs[i] = errLate
		}
	}
	return ends, errs, loc, nil
}

// errLate marks a call the controller took up late; compare counts it
// apart (Report.Late) and still compares it.
var errLate = errors.New("late")

// lateAfter is how long after being placed a call may reach the
// controller before the replay says it fell behind.
const lateAfter = 5 * time.Second

// maxExtra is how long a replayed call may go on past the original's
// end when the caller did not hang up (the help desk ended it): under
// another configuration the call may take longer.
const maxExtra = 30 * time.Minute

// fallbackSlack is how long after its original time from the arrival a
// key waits for the prompt it answered, when the replayed call plays
// fewer prompts (another configuration) and that prompt never comes.
const fallbackSlack = time.Minute

// action is a journaled step the replayed caller acts on, timed from the
// prompt it followed (anchor: its index among the call's prompts, -1
// for none) as the caller heard it.
type action struct {
	journal.Step
	anchor int
	rel    time.Duration // from that prompt's start
}

// replayCall runs one call again and returns how it ended.
func replayCall(ctx context.Context, d *simdesk.Desk, dc *deskConfig, c journal.Call, i int) (end journal.End, late bool, err error) {
	entry := cmp.Or(c.Entry, dc.cfg.Service.Number)
	var acts []action
	var speak time.Duration
	prompts := -1
	var promptAt time.Duration
	add := func(s journal.Step) {
		rel := s.At
		if prompts >= 0 {
			rel = s.At - promptAt
		}
		acts = append(acts, action{Step: s, anchor: prompts, rel: rel})
	}
	for _, s := range c.Steps {
		switch {
		case s.Kind == journal.StepPrompt:
			prompts++
			promptAt = s.At
		case s.Kind == journal.StepKeys && s.Node != "queue" && s.Node != "survey":
			// (Keys while queued or in the survey come after the menu's
			// decision, where a replayed call stops.)
			add(s)
		case s.Kind == journal.StepPIN:
			add(s)
		case s.Kind == journal.StepHangup && c.HangupBy == "caller":
			add(s)
		case s.Kind == journal.StepRecord:
			speak = time.Duration(s.Seconds * float64(time.Second))
		}
	}
	args := append(slices.Clone(c.Args), argPrefix+strconv.Itoa(i))
	placed := d.Clock.Now()
	call, events, err := d.PlaceAndFollow(ctx, c.Caller, entry,
		arisim.CallOptions{StasisArgs: args, SpeakOnRecord: speak, EventBuffer: -1})
	if err != nil {
		return journal.End{}, false, fmt.Errorf("place the call: %w", err)
	}
	defer d.Unfollow(call.ID())
	var (
		tr      journal.Trace
		t0      time.Time   // the arrival, on the desk's clock
		heard   []time.Time // when each prompt started, on the desk's clock
		k       int         // next action
		started bool
		routed  bool
		gone    bool // we hung up
		timer   *clock.Timer
	)
	hangup := func() {
		if !gone {
			gone = true
			_ = call.Hangup()
		}
	}
	press := func(keys string) {
		if !gone && keys != "" {
			_ = call.Press(keys) // a call over meanwhile: its outcome comes
		}
	}
	// dueAt is when action a falls due: that long after the prompt it
	// followed started in this call, or a while after its time from the
	// arrival if that prompt has not come.
	dueAt := func(a action) time.Time {
		if a.anchor < 0 {
			return t0.Add(a.At)
		}
		if a.anchor < len(heard) {
			return heard[a.anchor].Add(a.rel)
		}
		return t0.Add(a.At + fallbackSlack)
	}
	arm := func() {
		if timer != nil {
			timer.Stop()
			timer = nil
		}
		if gone || !started {
			return
		}
		// The end the original had, when the help desk ended it: a
		// longer call here is cut after maxExtra.
		at := t0.Add(c.Duration + maxExtra)
		if k < len(acts) {
			at = dueAt(acts[k])
		}
		timer = d.Clock.NewTimer(max(at.Sub(d.Clock.Now()), 0))
	}
	// due does the actions whose time has come. A PIN entry is keyed when
	// the PIN is asked; one whose question never came is dropped once
	// the caller's next action is due.
	due := func() {
		now := d.Clock.Now()
		for k < len(acts) && !dueAt(acts[k]).After(now) {
			a := acts[k]
			switch a.Kind {
			case journal.StepPIN:
				if k+1 < len(acts) && !dueAt(acts[k+1]).After(now) {
					k++
					continue
				}
				return
			case journal.StepHangup:
				hangup()
			default:
				keys := a.Keys
				if a.Term {
					keys += "#"
				}
				press(keys)
			}
			k++
		}
		if k == len(acts) && now.After(t0.Add(c.Duration+maxExtra)) {
			hangup()
		}
	}
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	wall := time.NewTimer(d.Clock.Wall(c.Duration+3*maxExtra) + time.Minute)
	defer wall.Stop()
	for {
		var timerC <-chan time.Time
		if timer != nil {
			timerC = timer.C
		}
		select {
		case e := <-events:
			if traceCall == i {
				fmt.Fprintf(os.Stderr, "TRACE %d %v %s %s %v\n", i, e.Time.Format("15:04:05.000"), e.Kind, e.Keys, e.Prompt)
			}
			if tr.Add(e) {
				if !tr.Complete() {
					return journal.End{}, late, errors.New("the call's events were not all seen")
				}
				return tr.Call().End, late, nil
			}
			switch e.Kind {
			case ivr.EvCall:
				// Times count from the call's arrival at the controller, as
				// the journal's do.
				started, t0 = true, d.Clock.Now()
				late = t0.Sub(placed) > lateAfter
				arm()
			case ivr.EvRoute:
				routed = true
			case ivr.EvPrompt:
				heard = append(heard, d.Clock.Now())
				if routed {
					if !slices.Contains(e.Prompt, "system:group_closed") {
						// The group is open and the caller is handed to it:
						// the configuration's part is done.
						hangup()
					}
					continue
				}
				if k < len(acts) && acts[k].Kind == journal.StepPIN {
					a := acts[k]
					switch {
					case slices.Contains(e.Prompt, "system:pin_org_ask"):
						if a.Result == "accepted" {
							press(dc.codes[a.Org] + "#")
						}
					case slices.Contains(e.Prompt, "system:pin_ask"):
						k++
						switch a.Result {
						case "accepted":
							pin, ok := dc.pins[a.Org+"/"+a.Role]
							if !ok {
								pin = dc.wrong // that identity has no PIN now
							}
							press(pin + "#")
						case "wrong":
							press(dc.wrong + "#")
						}
					}
				}
				arm()
			}
		case <-timerC:
			due()
			arm()
		case <-wall.C:
			hangup()
			return journal.End{}, late, errors.New("the replayed call did not end")
		case <-ctx.Done():
			hangup()
			return journal.End{}, late, ctx.Err()
		}
	}
}

// noLockouts counts wrong PINs within each call only (the navigator's
// own limit): calls replayed side by side, out of their original order,
// must not lock each other out.
type noLockouts struct{}

func (noLockouts) Locked(context.Context, tickets.PINTarget, time.Time, tickets.LockoutPolicy) (tickets.PINLock, error) {
	return tickets.PINLock{}, nil
}

func (noLockouts) Failed(context.Context, tickets.PINTarget, time.Time, tickets.LockoutPolicy) (tickets.LockoutVerdict, error) {
	return tickets.LockoutVerdict{}, nil
}

func (noLockouts) Succeeded(context.Context, tickets.PINTarget, time.Time) error { return nil }
