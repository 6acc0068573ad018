package replay_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/clock"
	"github.com/helpdesk-ivr/ivr/internal/configfile"
	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
	"github.com/helpdesk-ivr/ivr/ivr/simdesk"
	"github.com/helpdesk-ivr/ivr/journal"
	"github.com/helpdesk-ivr/ivr/journal/replay"
	"github.com/helpdesk-ivr/ivr/menu"
)

func TestMain(m *testing.M) { pgtest.Main(m, journal.Migrate) }

// A scripted caller of the shipped help desk.
type scripted struct {
	name   string
	at     string // service time, Monday 23 November 2026 unless said
	caller string
	keys   string
}

// The calls journaled: every kind of end, at 10:00 and at 16:00.
var calls = []scripted{
	{"lotto2", "2026-11-23T10:00", "3331234567", "1 2"},
	{"lotto3", "2026-11-23T10:00", "3331234568", "1 3"},
	{"lotto4", "2026-11-23T10:00", "3331234569", "1 4"},
	{"lotto6-morning", "2026-11-23T10:00", "3331234570", "1 6"},
	{"lotto6-afternoon", "2026-11-23T16:00", "3331234571", "1 6"},
	{"pct-afternoon", "2026-11-23T16:00", "3331234572", "2 1"},
	{"pct-morning", "2026-11-23T10:05", "3331234573", "2 2"},
	{"sicoge", "2026-11-23T10:00", "3331234574", "3 1"},
	{"operator", "2026-11-23T10:00", "3331234575", "0"},
	{"known-administration", "2026-11-23T10:00", "0699991234", "1"},
	{"status", "2026-11-23T10:00", "3331234576", "9 2026112300013#"},
	{"pin-good", "2026-11-23T10:00", "3331234577", "4 5035#"},
	{"pin-wrong-then-good", "2026-11-23T10:00", "3331234578", "4 1111# 5035#"},
	{"pin-user-refused", "2026-11-23T10:00", "3331234579", "4 1035#"},
	{"hangup-in-menu", "2026-11-23T10:00", "3331234580", "2 h"},
	{"invalid-input", "2026-11-23T10:00", "3331234581", "7 8 9"},
	{"after-hours-message", "2026-11-21T20:00", "3331234582", "1"},
	{"holiday", "2026-12-08T10:00", "3331234583", ""},
}

// journalCalls runs the calls on the simulator with the journal's
// recorder observing the controller, each at its own instant, and
// returns what the journal holds.
func journalCalls(t testing.TB, ctx context.Context, store *journal.Store, cfg *menu.Config, src []byte) []journal.Call {
	t.Helper()
	rec, err := journal.NewRecorder(store, journal.RecorderOptions{Every: 20 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
		Source: func(v string) []byte {
			if v == cfg.Version() {
				return src
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	recDone := make(chan struct{})
	go func() { defer close(recDone); rec.Run(rctx) }()
	var d *simdesk.Desk
	at := map[string]time.Time{}
	for _, c := range calls {
		ts, err := time.ParseInLocation("2006-01-02T15:04", c.at, cfg.Location())
		if err != nil {
			t.Fatal(err)
		}
		at[c.name] = ts
	}
	d, err = simdesk.Start(ctx, simdesk.Options{Config: cfg, PINSecret: []byte(configfile.DemoPINSecret), Speed: 40,
		Observe: rec.Observe, Operators: &arisim.EndpointBehavior{Mode: arisim.Answer, AnswerAfter: 3 * time.Second},
		CallClock: func(_ string, args []string) clock.Clock {
			for _, a := range args {
				if name, ok := strings.CutPrefix(a, "at="); ok {
					return clock.Offset(d.Clock, at[name].Sub(d.Clock.Now()))
				}
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var wg sync.WaitGroup
	for _, c := range calls {
		script, err := simdesk.ParseScript(c.keys)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			res, err := d.Call(ctx, c.caller, script, arisim.CallOptions{StasisArgs: []string{"at=" + c.name},
				SpeakOnRecord: 5 * time.Second}, simdesk.CallLimits{Talk: 20 * time.Second})
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
				return
			}
			if res.Outcome.Outcome == "" || res.Outcome.Outcome == "failed" {
				t.Errorf("%s: outcome %q", c.name, res.Outcome.Outcome)
			}
		})
	}
	wg.Wait()
	var got []journal.Call
	deadline := time.Now().Add(30 * time.Second)
	for len(got) < len(calls) && time.Now().Before(deadline) {
		if got, err = store.FindCalls(ctx, journal.Filter{}); err != nil {
			t.Fatal(err)
		}
		if len(got) < len(calls) {
			time.Sleep(20 * time.Millisecond) // polling the database for the writer's batch
		}
	}
	stop()
	<-recDone
	if len(got) != len(calls) {
		t.Fatalf("journal holds %d calls, want %d", len(got), len(calls))
	}
	return got
}

func byCaller(cs []journal.Call) map[string]journal.Call {
	m := map[string]journal.Call{}
	for _, c := range cs {
		m[c.Caller] = c
	}
	return m
}

func TestJournalOfRealCalls(t *testing.T) {
	ctx := context.Background()
	src, cfg := shipped(t)
	store := journal.NewStore(pgtest.Pool(t), cfg.Location())
	got := byCaller(journalCalls(t, ctx, store, cfg, src))
	for _, c := range calls {
		num, _ := menu.NormalizeNumber(c.caller)
		j, ok := got[num]
		if !ok {
			t.Errorf("%s: not journaled", c.name)
			continue
		}
		want, _ := time.ParseInLocation("2006-01-02T15:04", c.at, cfg.Location())
		if d := j.ArrivedAt.Sub(want); d < 0 || d > 5*time.Minute {
			t.Errorf("%s: arrived at %v, want %v (its own instant)", c.name, j.ArrivedAt, want)
		}
		if j.Version != cfg.Version() || j.Entry != "800749049" || !slices.Contains(j.Args, "at="+c.name) {
			t.Errorf("%s: version %q entry %q args %q", c.name, j.Version, j.Entry, j.Args)
		}
		if j.HangupBy == "" || j.Duration <= 0 || j.End.Outcome == "" {
			t.Errorf("%s: hangup %q after %v, outcome %q", c.name, j.HangupBy, j.Duration, j.End.Outcome)
		}
	}
	want := map[string]journal.End{
		"lotto2":              {Result: "routed", Group: "lotto2", Path: []string{"1", "2"}},
		"lotto6-afternoon":    {Result: "routed", Group: "lotto6", Path: []string{"1", "6"}},
		"pin-good":            {Result: "routed", Group: "modifiche", Path: []string{"4"}, AskedPIN: true},
		"hangup-in-menu":      {Result: "hung_up_in_menu", Path: []string{"2"}},
		"after-hours-message": {Result: "after_hours", Path: []string{}},
		"holiday":             {Result: "after_hours", Path: []string{}},
		"status":              {Result: "status_told", Path: []string{"9"}},
	}
	for name, w := range want {
		c := calls[slices.IndexFunc(calls, func(c scripted) bool { return c.name == name })]
		num, _ := menu.NormalizeNumber(c.caller)
		if e := got[num].End; !e.Same(w) || e.AskedPIN != w.AskedPIN {
			t.Errorf("%s: end %+v, want %+v", name, e, w)
		}
	}
	// Keys with their times; PIN entries as verdicts, never digits.
	steps := got["+393331234578"].Steps // pin-wrong-then-good
	var kinds []string
	for _, s := range steps {
		if s.Kind == journal.StepPrompt {
			continue
		}
		kinds = append(kinds, s.Kind+":"+s.Keys+s.Result+s.Org+"/"+s.Role)
		if strings.Contains(s.Keys, "5035") || strings.Contains(s.Keys, "1111") {
			t.Errorf("PIN digits journaled: %+v", s)
		}
	}
	if want := []string{"keys:4/", "pin:wrong/", "pin:acceptedtribunale-roma-demo/referent", "hangup:/"}; !slices.Equal(kinds, want) {
		t.Errorf("steps %q, want %q", kinds, want)
	}
	status := got["+393331234576"].Steps
	if i := slices.IndexFunc(status, func(s journal.Step) bool { return s.Node == "9" || s.Keys == "2026112300013" }); i < 0 || !status[i].Term {
		t.Errorf("the ticket number's keys and its # not journaled: %+v", status)
	}
	for i := 1; i < len(steps); i++ {
		if steps[i].At < steps[i-1].At {
			t.Errorf("steps out of time order: %+v", steps)
		}
	}
	// The configuration is kept with the journal, for -against.
	v, kept, err := store.ConfigSource(ctx, cfg.Version()[:12])
	if err != nil || v != cfg.Version() || string(kept) != string(src) {
		t.Errorf("configuration kept: %q, %v", v, err)
	}
}

func shipped(t testing.TB) ([]byte, *menu.Config) {
	t.Helper()
	src, err := os.ReadFile("../../configs/helpdesk.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := menu.Parse("helpdesk.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	return src, cfg
}

// changed is the shipped help desk with three changes: Lotto 2 and Lotto
// 3 swap keys in menu 1, the Cassazione's hours end at 14:00, and SICOGE
// asks a referent's PIN.
func changed(t *testing.T, src []byte) []byte {
	t.Helper()
	s := string(src)
	for _, r := range [][2]string{
		{`Per il Lotto 2, Area Nord, prema 2. Per il Lotto 3, Area Centro, prema 3.`, `Per il Lotto 2, Area Nord, prema 3. Per il Lotto 3, Area Centro, prema 2.`},
		{`For Lot 2, North, press 2. For Lot 3, Centre, press 3.`, `For Lot 2, North, press 3. For Lot 3, Centre, press 2.`},
		{`"2": {label: "Lotto 2 (Area Nord)", group: lotto2}`, `"3": {label: "Lotto 2 (Area Nord)", group: lotto2}`},
		{`"3": {label: "Lotto 3 (Area Centro)", group: lotto3}`, `"2": {label: "Lotto 3 (Area Centro)", group: lotto3}`},
		{"  cassazione:\n    weekly:\n      mon-fri: [\"08:00-18:00\"]", "  cassazione:\n    weekly:\n      mon-fri: [\"08:00-14:00\"]"},
		{`"1": {label: "SICOGE", group: sicoge, category: applicativi/sicoge}`, `"1": {label: "SICOGE", group: sicoge, category: applicativi/sicoge, require_pin: {roles: [referent]}}`},
	} {
		if !strings.Contains(s, r[0]) {
			t.Fatalf("the shipped configuration has no %q", r[0])
		}
		s = strings.Replace(s, r[0], r[1], 1)
	}
	if _, err := menu.Parse("changed.yaml", []byte(s)); err != nil {
		t.Fatal(err)
	}
	return []byte(s)
}

func TestReplay(t *testing.T) {
	ctx := context.Background()
	src, cfg := shipped(t)
	store := journal.NewStore(pgtest.Pool(t), cfg.Location())
	journaled := journalCalls(t, ctx, store, cfg, src)
	name := map[string]string{}
	for _, c := range calls {
		num, _ := menu.NormalizeNumber(c.caller)
		name[num] = c.name
	}
	diffs := func(r *replay.Report) map[string]string {
		got := map[string]string{}
		for _, d := range r.Diffs {
			got[name[d.Caller]] = d.Kind
		}
		return got
	}
	opts := replay.Options{Calls: journaled, Speed: 20, Desks: 2, Concurrency: 8}

	t.Run("same configuration", func(t *testing.T) {
		o := opts
		o.New = src
		r, err := replay.Run(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if r.Failed != 0 || r.Same != len(calls) || len(r.Diffs) != 0 {
			t.Errorf("same: %d of %d, failed %d %q, differences %+v", r.Same, r.Calls, r.Failed, r.Errors, r.Diffs)
		}
	})

	wantChanged := map[string]string{
		"lotto2":           replay.ChangeGroup,
		"lotto3":           replay.ChangeGroup,
		"lotto6-afternoon": replay.ChangeAfterHours,
		"pct-afternoon":    replay.ChangeAfterHours,
		"sicoge":           replay.ChangeAsksPIN,
	}
	check := func(t *testing.T, r *replay.Report) {
		t.Helper()
		if r.Failed != 0 {
			t.Fatalf("failed %d: %q", r.Failed, r.Errors)
		}
		got := diffs(r)
		for n, k := range wantChanged {
			if got[n] != k {
				t.Errorf("%s: change %q, want %q", n, got[n], k)
			}
		}
		for n, k := range got {
			if _, ok := wantChanged[n]; !ok {
				t.Errorf("%s: unexpected change %q", n, k)
			}
		}
		if r.Same != len(calls)-len(wantChanged) {
			t.Errorf("same %d, want %d", r.Same, len(calls)-len(wantChanged))
		}
		for _, d := range r.Diffs {
			if name[d.Caller] == "lotto2" && (d.Old.Group != "lotto2" || d.New.Group != "lotto3") {
				t.Errorf("lotto2's call: old %+v new %+v", d.Old, d.New)
			}
		}
		// The load moves between groups at their hours.
		load := map[string]replay.Load{}
		for _, l := range r.Load {
			load[l.Group+"@"+strconv.Itoa(l.Hour)] = l
		}
		if l := load["lotto6@16"]; l.Old != 1 || l.New != 0 {
			t.Errorf("lotto6 at 16: %+v", l)
		}
		if l := load["lotto2@10"]; l.Old != 1 || l.New != 1 {
			t.Errorf("lotto2 at 10 (one call each way): %+v", l)
		}
		if l := load["sicoge@10"]; l.Old != 1 || l.New != 0 {
			t.Errorf("sicoge at 10: %+v", l)
		}
	}

	t.Run("changed configuration", func(t *testing.T) {
		o := opts
		o.New = changed(t, src)
		r, err := replay.Run(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		check(t, r)
		var text, lines bytes.Buffer
		if err := r.WriteText(&text, 0); err != nil {
			t.Fatal(err)
		}
		t.Logf("report:\n%s", text.String())
		for _, want := range []string{"moved to another group: 2", "now after hours: 2", "now asks a PIN: 1",
			"routed lotto2 [1 2]", "lotto6           16:00  1    0    -1"} {
			if !strings.Contains(text.String(), want) {
				t.Errorf("the report lacks %q", want)
			}
		}
		if err := r.WriteJSON(&lines); err != nil {
			t.Fatal(err)
		}
		types := map[string]int{}
		sc := bufio.NewScanner(&lines)
		var last map[string]any
		for sc.Scan() {
			last = nil
			if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
				t.Fatalf("not JSON: %s", sc.Text())
			}
			types[last["type"].(string)]++
		}
		if types["diff"] != len(wantChanged) || types["load"] == 0 || types["summary"] != 1 || last["type"] != "summary" || last["same"] != float64(len(calls)-len(wantChanged)) {
			t.Errorf("JSON lines: %v, last %v", types, last)
		}
	})

	t.Run("against the stored version", func(t *testing.T) {
		_, old, err := store.ConfigSource(ctx, cfg.Version())
		if err != nil {
			t.Fatal(err)
		}
		o := opts
		o.New, o.Old = changed(t, src), old
		r, err := replay.Run(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		check(t, r)
	})
}

var _ = ivr.EvCall
