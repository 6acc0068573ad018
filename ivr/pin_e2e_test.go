package ivr_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/internal/testkit"
	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/simdesk"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// configWith is the shipped configuration with some text replaced (old,
// new, old, new...); every old text must be there.
func configWith(t testing.TB, pairs ...string) *menu.Config {
	t.Helper()
	data, err := os.ReadFile("../configs/helpdesk.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(text, pairs[i]) {
			t.Fatalf("configWith: %q is not in the shipped configuration", pairs[i])
		}
		text = strings.Replace(text, pairs[i], pairs[i+1], 1)
	}
	cfg, err := menu.Parse("helpdesk.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func withConfig(cfg *menu.Config) rigOption {
	return func(o *simdesk.Options) { o.Config = cfg }
}

func withLockouts(l ivr.Lockouts) rigOption {
	return func(o *simdesk.Options) { o.Lockouts = l }
}

func withLogger(l *slog.Logger) rigOption {
	return func(o *simdesk.Options) { o.Logger = l }
}

// syncBuffer is a log sink that calls may write to at once.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func withRegistry(reg prometheus.Registerer) rigOption {
	return func(o *simdesk.Options) { o.Registerer = reg }
}

// lockoutsOn opens a lockout store on the database at url with a pool of
// its own, as one ivrd does.
func lockoutsOn(t *testing.T, url string, cfg *menu.Config) *tickets.LockoutStore {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	l, err := tickets.NewLockoutStore(pool, tickets.LockoutOptions{Policy: func() tickets.LockoutPolicy { return ivr.LockoutPolicy(cfg) }})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// wrongPINs calls from a number, asks for the referents' branch and keys
// n wrong PINs; it reports whether the last one locked the caller out.
func (r *rig) wrongPINs(from string, n int) (locked bool) {
	r.t.Helper()
	c := r.call(from)
	r.waitPrompt(c.ID(), "node:root")
	press(r.t, c, "4")
	for i := range n {
		r.waitPrompt(c.ID(), "system:pin_ask")
		press(r.t, c, fmt.Sprintf("%04d#", 9870+i))
		r.waitFor(c.ID(), "verdict", func(e ivr.Event) bool { return e.Kind == ivr.EvPIN && e.Result == "wrong" })
	}
	asked := 0
	ev := r.waitFor(c.ID(), "another PIN question or a route", func(e ivr.Event) bool {
		if e.Kind == ivr.EvPrompt && slices.Contains(e.Prompt, "system:pin_ask") {
			asked++
		}
		return e.Kind == ivr.EvRoute || asked > n
	})
	c.Hangup()
	r.outcome(c.ID())
	return ev.Kind == ivr.EvRoute && ev.Reason == menu.ReasonPINLocked
}

// pinAttempt calls from a number, asks for the referents' branch and keys
// one PIN unless the caller is locked out first; it returns the route the
// call took.
func (r *rig) pinAttempt(from, pin string) ivr.Event {
	r.t.Helper()
	c := r.call(from)
	r.waitPrompt(c.ID(), "node:root")
	press(r.t, c, "4")
	ev := r.waitFor(c.ID(), "PIN question or lockout", func(e ivr.Event) bool {
		return e.Kind == ivr.EvRoute || (e.Kind == ivr.EvPrompt && strings.Contains(strings.Join(e.Prompt, " "), "system:pin_ask"))
	})
	if ev.Kind == ivr.EvPrompt {
		press(r.t, c, pin+"#")
		ev = r.waitKind(c.ID(), ivr.EvRoute)
	}
	c.Hangup()
	r.outcome(c.ID())
	return ev
}

// Two controllers on one database share the count of a number's wrong
// PINs, and a controller started afresh on it still knows the lock.
func TestPINLockoutsSharedAndKeptInPostgreSQL(t *testing.T) {
	url := pgtest.DatabaseURL(t)
	cfg := loadConfig(t)
	a := newRig(t, monday10, withLockouts(lockoutsOn(t, url, cfg)))
	b := newRig(t, monday10, withLockouts(lockoutsOn(t, url, cfg)))

	a.wrongPINs("3330000042", 2)
	if !b.wrongPINs("3330000042", 1) {
		t.Fatal("third wrong PIN, on the second controller: not locked out")
	}
	// Only numbers and counts are kept: no trace of the PINs keyed.
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var dump string
	err = pool.QueryRow(context.Background(), `SELECT concat_ws(' ',
		(SELECT string_agg(row_to_json(f)::text, ' ') FROM pin_failures f),
		(SELECT string_agg(row_to_json(c)::text, ' ') FROM pin_counters c),
		(SELECT string_agg(row_to_json(n)::text, ' ') FROM pin_trusted_numbers n))`).Scan(&dump)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dump, "+393330000042") || strings.Contains(dump, "9870") || strings.Contains(dump, "9871") {
		t.Errorf("lockout tables: %s", dump)
	}

	restarted := newRig(t, monday10, withLockouts(lockoutsOn(t, url, cfg)))
	if ev := restarted.pinAttempt("3330000042", "5035"); ev.Reason != menu.ReasonPINLocked {
		t.Errorf("after a restart the locked number may try again: %+v", ev)
	}
	if ev := restarted.pinAttempt("3330000043", "5035"); ev.Reason == menu.ReasonPINLocked || ev.Group != "modifiche" {
		t.Errorf("another number is locked out: %+v", ev)
	}
}

// Caller ids rotating against one Administration lock the Administration
// for untrusted numbers, on every controller, but a number that keyed its
// PIN right before keeps its access; the alarm counts across numbers.
func TestPINLockoutPerAdministration(t *testing.T) {
	url := pgtest.DatabaseURL(t)
	cfg := configWith(t, "    max_attempts: 3\n", "    max_attempts: 3\n    max_attempts_per_organization: 3\n    alarm_failures: 4\n")
	regA := prometheus.NewRegistry()
	logA := &syncBuffer{}
	a := newRig(t, monday10, withConfig(cfg), withLockouts(lockoutsOn(t, url, cfg)), withRegistry(regA),
		withLogger(slog.New(slog.NewJSONHandler(logA, nil))))
	b := newRig(t, monday10, withConfig(cfg), withLockouts(lockoutsOn(t, url, cfg)))

	// The Tribunale's referent calls from an office number, PIN right.
	if ev := a.pinAttempt("0699990100", "5035"); ev.Group != "modifiche" {
		t.Fatalf("the referent's PIN: %+v", ev)
	}
	// One wrong PIN each from three other numbers of the Tribunale: the
	// third locks the Tribunale, and its caller with it.
	for i, r := range []*rig{a, b, a} {
		if locked := r.wrongPINs(fmt.Sprintf("069999000%d", i), 1); locked != (i == 2) {
			t.Fatalf("attempt %d: locked out %v", i, locked)
		}
	}
	if ev := b.pinAttempt("0699990007", "5035"); ev.Reason != menu.ReasonPINLocked {
		t.Errorf("an untrusted number of a locked Administration may key its PIN: %+v", ev)
	}
	// The PIN alone from a number of no Administration names the locked
	// Tribunale: refused as well, right as it is.
	if ev := a.pinAttempt("3331230000", "5035"); ev.Reason != menu.ReasonPINLocked {
		t.Errorf("a right PIN of a locked Administration from an unknown number: %+v", ev)
	}
	if ev := b.pinAttempt("0699990100", "5035"); ev.Group != "modifiche" || ev.Reason == menu.ReasonPINLocked {
		t.Errorf("the rightful referent is locked out by the attack: %+v", ev)
	}
	// Another Administration is not concerned.
	if ev := b.pinAttempt("0299990001", "6047"); ev.Group != "modifiche" {
		t.Errorf("Milan's referent: %+v", ev)
	}
	// A fourth wrong PIN across all numbers raised the alarm once.
	a.wrongPINs("3331230001", 1)
	a.wrongPINs("3331230002", 1)
	if got := testkit.MetricValue(t, regA, "ivr_pin_failure_alarms_total"); got != 1 {
		t.Errorf("ivr_pin_failure_alarms_total %v, want 1", got)
	}
	if n := strings.Count(logA.String(), `"msg":"pin_failure_alarm"`); n != 1 || !strings.Contains(logA.String(), `"failures":4,"threshold":4`) {
		t.Errorf("%d pin_failure_alarm log lines, want 1 with the count:\n%s", n, logA.String())
	}
	if got := testkit.MetricValue(t, regA, "ivr_pin_organization_lockouts_total"); got != 1 {
		t.Errorf("ivr_pin_organization_lockouts_total %v, want 1 (the third failure was on this controller)", got)
	}
}

// codeAndPIN calls from a number, asks for the referents' branch, keys
// an Administration code when asked for one and then a PIN; it returns
// the verdict on the PIN and the route the call took.
func (r *rig) codeAndPIN(from, code, pin string) (verdict ivr.Event, route ivr.Event) {
	r.t.Helper()
	c := r.call(from)
	r.waitPrompt(c.ID(), "node:root")
	press(r.t, c, "4")
	r.waitPrompt(c.ID(), "system:pin_org_ask")
	press(r.t, c, code+"#")
	ev := r.waitFor(c.ID(), "PIN question or lockout", func(e ivr.Event) bool {
		return e.Kind == ivr.EvRoute || (e.Kind == ivr.EvPrompt && slices.Contains(e.Prompt, "system:pin_ask"))
	})
	if ev.Kind == ivr.EvPrompt {
		press(r.t, c, pin+"#")
		verdict = r.waitKind(c.ID(), ivr.EvPIN)
		asked := 0
		route = r.waitFor(c.ID(), "route or another question", func(e ivr.Event) bool {
			if e.Kind == ivr.EvPrompt && slices.Contains(e.Prompt, "system:pin_org_ask") {
				asked++
			}
			return e.Kind == ivr.EvRoute || asked > 1
		})
	} else {
		route = ev
	}
	c.Hangup()
	r.outcome(c.ID())
	return verdict, route
}

// With ivr.pin.require_org_code_from_unknown_numbers a caller on a number
// of no Administration keys its code, then a PIN checked against that
// Administration's PINs only; wrong PINs then count against it.
func TestPINAfterAdministrationCode(t *testing.T) {
	cfg := configWith(t, "    lockout: 15m\n", "    lockout: 15m\n    require_org_code_from_unknown_numbers: true\n    max_attempts_per_organization: 2\n")
	r := newRig(t, monday10, withConfig(cfg))

	v, route := r.codeAndPIN("3331110001", "1001", "5035")
	if v.Result != string(menu.PINAccepted) || v.Org != "tribunale-roma-demo" || route.Group != "modifiche" {
		t.Errorf("the Tribunale's code and its referent PIN: %+v, %+v\n%s", v, route, r.transcript(route.CallID))
	}
	// Another Administration's code: the same PIN is wrong there.
	if v, _ := r.codeAndPIN("3331110002", "1002", "5035"); v.Result != string(menu.PINWrong) {
		t.Errorf("Milan's code with the Tribunale's PIN: %+v", v)
	}
	// An unknown code sounds like a wrong PIN: the PIN is asked all the same.
	if v, _ := r.codeAndPIN("3331110003", "4242", "5035"); v.Result != string(menu.PINWrong) {
		t.Errorf("an unknown code: %+v", v)
	}
	// The wrong PIN after Milan's code and another one lock Milan for
	// numbers it does not trust...
	if v, _ := r.codeAndPIN("3331110004", "1002", "1111"); v.Result != string(menu.PINWrong) {
		t.Errorf("second wrong PIN for Milan: %+v", v)
	}
	if _, route := r.codeAndPIN("3331110005", "1002", "6047"); route.Reason != menu.ReasonPINLocked {
		t.Errorf("Milan locked, right PIN from a new number: %+v", route)
	}
	// ...not the Tribunale.
	if v, _ := r.codeAndPIN("3331110006", "1001", "1035"); v.Result != string(menu.PINAccepted) || v.Role != string(menu.RoleUser) {
		t.Errorf("the Tribunale's user PIN: %+v", v)
	}

	// A number of an Administration is not asked for a code.
	c := r.call("0612345678")
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "4")
	ask := r.waitFor(c.ID(), "a PIN question", func(e ivr.Event) bool {
		return e.Kind == ivr.EvPrompt && len(e.Prompt) > 0 && e.Prompt[0] != "node:root"
	})
	if slices.Contains(ask.Prompt, "system:pin_org_ask") || !slices.Contains(ask.Prompt, "system:pin_ask") {
		t.Errorf("a known number was asked %v", ask.Prompt)
	}
	press(t, c, "5035#")
	if v := r.waitKind(c.ID(), ivr.EvPIN); v.Result != string(menu.PINAccepted) {
		t.Errorf("known number: %+v", v)
	}
	c.Hangup()
	r.outcome(c.ID())
}
