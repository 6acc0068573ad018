package sipsecurity

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/realasterisk"
)

// External numbers a fraudster would dial: abroad and an Italian mobile.
var external = []string{"00441234567890", "3331234567", "+441234567890"}

// allowed is an address in the operators' network (realasterisk.PhonesNet)
// that is not the carrier's (127.0.0.1 in tests): a phone there is
// identified by its From user, not taken for the trunk.
const allowed = "127.0.0.4"

// TestRegistrationNeedsPasswordAndNetwork: an operator endpoint registers
// with its password from the operators' network, and with nothing else: a
// wrong password is refused, and so is the right one from another network
// (which must be the ACL's doing, said in Asterisk's log).
func TestRegistrationNeedsPasswordAndNetwork(t *testing.T) {
	t.Parallel()
	a := realasterisk.Start(t, realasterisk.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	password, err := a.Secret("pjsip.conf", "[op201](operator-auth)", "password")
	if err != nil {
		t.Fatal(err)
	}
	register := func(from, pw string, contact ...string) int {
		t.Helper()
		o := realasterisk.RequestOptions{Method: "REGISTER", From: "op201", Username: "op201", Password: pw, SourceIP: from}
		if len(contact) > 0 {
			o.ContactHost = contact[0]
		}
		c := a.Request(t, o)
		if err := c.Wait(ctx); err != nil {
			t.Fatalf("REGISTER from %s: %v", from, err)
		}
		code, err := c.FinalStatus()
		if err != nil {
			t.Fatalf("REGISTER from %s: %v", from, err)
		}
		return code
	}

	if code := register(allowed, password+"x"); code != 401 && code != 403 {
		t.Errorf("REGISTER op201 with a wrong password: %d, want 401 or 403", code)
	}
	if code := register(realasterisk.OutsideAddr, password); code != 401 && code != 403 {
		t.Errorf("REGISTER op201 with its password from %s, outside the operators' network: %d, want 401 or 403", realasterisk.OutsideAddr, code)
	}
	// Refused by the ACL, not by chance: Asterisk says why.
	waitLog(ctx, t, a, regexp.MustCompile(`Request 'REGISTER' from '[^']*op201[^']*' failed for '`+regexp.QuoteMeta(realasterisk.OutsideAddr)+`:\d+' .*Not match Endpoint ACL`))
	// From the right network, but asking to be called outside it.
	if code := register(allowed, password, realasterisk.OutsideAddr); code != 401 && code != 403 {
		t.Errorf("REGISTER op201 with its password from %s with a contact at %s: %d, want 401 or 403", allowed, realasterisk.OutsideAddr, code)
	}
	waitLog(ctx, t, a, regexp.MustCompile(`Request 'REGISTER' from '[^']*op201[^']*' failed for '`+regexp.QuoteMeta(allowed)+`:\d+' .*Not match Endpoint Contact ACL`))
	if got := contacts(ctx, t, a); strings.Contains(got, "op201/") {
		t.Fatalf("a refused REGISTER left a contact:\n%s", got)
	}

	// The way in for the real phone still works.
	if code := register(allowed, password); code != 200 {
		t.Fatalf("REGISTER op201 with its password from %s (in the operators' network): %d, want 200", allowed, code)
	}
	if got := contacts(ctx, t, a); !strings.Contains(got, "op201/sip:op201@"+allowed) {
		t.Errorf("op201 registered (200) but has no contact at %s:\n%s", allowed, got)
	}
}

// TestNobodyDialsOut: an operator phone calling an outside number, callers
// coming in through the trunk (the IVR path) asking for one, and callers
// nobody identified, all fail to make Asterisk create a single outgoing
// channel; while an operator still reaches a colleague (so the refusals are
// the dialplan's, not a broken login).
func TestNobodyDialsOut(t *testing.T) {
	t.Parallel()
	a := realasterisk.Start(t, realasterisk.Options{Phones: []string{"op202"}})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	w := watch(ctx, t, a)
	password, err := a.Secret("pjsip.conf", "[op201](operator-auth)", "password")
	if err != nil {
		t.Fatal(err)
	}
	invite := func(o realasterisk.RequestOptions) int {
		t.Helper()
		o.Method = "INVITE"
		c := a.Request(t, o)
		if err := c.Wait(ctx); err != nil {
			t.Fatalf("INVITE %s from %s@%s: %v", o.Number, o.From, o.SourceIP, err)
		}
		code, err := c.FinalStatus()
		if err != nil {
			t.Fatal(err)
		}
		return code
	}

	// The positive control: op201 logs in and calls op202, which answers.
	phone := a.Phone(t, "op202", realasterisk.PhoneOptions{Mode: realasterisk.PhoneAnswer, Timeout: 60 * time.Second})
	if code := invite(realasterisk.RequestOptions{From: "op201", Number: "202", Username: "op201", Password: password, SourceIP: allowed}); code != 200 {
		t.Fatalf("op201 calling op202 (the help desk's own use): %d, want 200", code)
	}
	if err := phone.Wait(ctx); err != nil {
		t.Fatalf("op202's phone: %v", err)
	}
	w.expect(t, "op201 calls op202", "PJSIP/op201-", "PJSIP/op202-")

	for _, n := range external {
		// An operator phone, logged in: its context reaches no trunk.
		code := invite(realasterisk.RequestOptions{From: "op201", Number: n, Username: "op201", Password: password, SourceIP: allowed})
		if code < 400 {
			t.Errorf("op201 dialling %s: %d, want a refusal", n, code)
		}
		w.expect(t, "op201 dials "+n)

		// Unidentified callers, even claiming to be the trunk or an
		// operator: challenged for a password no account has.
		for _, from := range []string{"anonymous", "carrier", "op201", "3331234567"} {
			code := invite(realasterisk.RequestOptions{From: from, Number: n, SourceIP: realasterisk.OutsideAddr})
			if code != 401 && code != 403 {
				t.Errorf("unidentified %s@%s dialling %s: %d, want 401 or 403", from, realasterisk.OutsideAddr, n, code)
			}
			w.expect(t, "unidentified "+from+" dials "+n)
		}

		// Through the trunk (the carrier's address): whatever the number,
		// the call goes to the IVR, here down, so to the fallback; the
		// caller hangs up after a few seconds.
		call := a.Call(t, realasterisk.CallOptions{Number: n, HangUpAfter: 3 * time.Second, Timeout: 40 * time.Second})
		if err := call.Wait(ctx); err != nil {
			t.Errorf("caller on the trunk dialling %s: %v", n, err)
		}
		path := w.expect(t, "trunk caller dials "+n, "PJSIP/carrier-")
		if !slices.Contains(path, "from-pstn") || !slices.Contains(path, "helpdesk-fallback") {
			t.Errorf("trunk caller dialling %s went through %q, want from-pstn then helpdesk-fallback (ivrd is down)", n, path)
		}
	}
	if t.Failed() {
		t.Log("Asterisk's log shows why a request was refused (Not match Endpoint ACL, No matching endpoint found, Failed to authenticate)")
	}
}

// TestIVRContextReachesNoTrunk: with the IVR up (a stand-in for ivrd on
// the application "ivr"), a trunk call for an outside number arrives in
// Stasis; sent back to the dialplan's ivr-continue with that number as
// extension (what a confused ivrd could do), it lands in the fallback and
// Asterisk creates no other channel.
func TestIVRContextReachesNoTrunk(t *testing.T) {
	t.Parallel()
	a := realasterisk.Start(t, realasterisk.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := watch(ctx, t, a)
	c := a.NewClient(nil)
	ivr, err := c.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer ivr.Close()
	for _, n := range external {
		call := a.Call(t, realasterisk.CallOptions{Number: n, HangUpAfter: 4 * time.Second, Timeout: 40 * time.Second})
		ev, err := ivr.WaitFor(ctx, "StasisStart")
		if err != nil {
			t.Fatal(err)
		}
		var start struct {
			Channel struct {
				ID       string `json:"id"`
				Dialplan struct {
					Exten string `json:"exten"`
				} `json:"dialplan"`
			} `json:"channel"`
		}
		if err := ev.Decode(&start); err != nil {
			t.Fatal(err)
		}
		// from-pstn rewrites any number to the toll-free one before Stasis.
		if start.Channel.Dialplan.Exten != a.Number {
			t.Errorf("trunk call for %s entered the IVR at extension %q, want %s", n, start.Channel.Dialplan.Exten, a.Number)
		}
		q := url.Values{"context": {"ivr-continue"}, "extension": {n}, "priority": {"1"}}
		if r, err := c.Do(ctx, "POST", "/channels/"+start.Channel.ID+"/continue", q, nil); err != nil || r.Status != 204 {
			t.Fatalf("continue to ivr-continue,%s: %v %+v", n, err, r)
		}
		if err := call.Wait(ctx); err != nil {
			t.Errorf("caller on the trunk dialling %s: %v", n, err)
		}
		path := w.expect(t, "IVR sends "+n+" to ivr-continue", "PJSIP/carrier-")
		if !slices.Contains(path, "ivr-continue") || !slices.Contains(path, "helpdesk-fallback") {
			t.Errorf("ivr-continue,%s went through %q, want ivr-continue then helpdesk-fallback", n, path)
		}
	}
}

// watcher records every channel Asterisk creates and the dialplan
// applications they run, from an ARI application subscribed to all.
type watcher struct {
	mu       sync.Mutex
	created  []string   // channel names, in order, since the last expect
	dialplan [][]string // [channel, context, app, data] since the last expect
	gone     map[string]bool
	changed  chan struct{} // signalled at each event
}

func watch(ctx context.Context, t *testing.T, a *realasterisk.Asterisk) *watcher {
	t.Helper()
	evs, err := a.NewClient(nil).ConnectAll(ctx, "sipsecurity-watch")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { evs.Close() })
	w := &watcher{gone: map[string]bool{}, changed: make(chan struct{}, 1)}
	go func() {
		for {
			ev, err := evs.Next(context.Background())
			if err != nil {
				return
			}
			var e struct {
				Channel struct {
					Name     string `json:"name"`
					Dialplan struct {
						Context string `json:"context"`
					} `json:"dialplan"`
				} `json:"channel"`
				App     string `json:"dialplan_app"`
				AppData string `json:"dialplan_app_data"`
			}
			if json.Unmarshal(ev.Raw, &e) != nil {
				continue
			}
			w.mu.Lock()
			switch ev.Type {
			case "ChannelCreated":
				w.created = append(w.created, e.Channel.Name)
			case "ChannelDialplan":
				w.dialplan = append(w.dialplan, []string{e.Channel.Name, e.Channel.Dialplan.Context, e.App, e.AppData})
			case "ChannelDestroyed":
				w.gone[e.Channel.Name] = true
			}
			w.mu.Unlock()
			select {
			case w.changed <- struct{}{}:
			default:
			}
		}
	}()
	return w
}

// expect checks the channels created since the last expect, once all of
// them are gone: exactly one whose name starts with each of want (no
// want: none at all), any other only an operator's phone (the fallback
// queue rings them), and no Dial() but to an operator. It returns the
// contexts the want[0] channel ran in.
func (w *watcher) expect(t *testing.T, what string, want ...string) []string {
	t.Helper()
	settled := func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, c := range w.created {
			if !w.gone[c] {
				return false
			}
		}
		return len(w.created) >= len(want)
	}
	// Events come over a WebSocket after the SIP exchange that caused
	// them: wait for the channels this step must have made, and for every
	// channel to end.
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	for waiting := true; waiting && !settled(); {
		select {
		case <-w.changed:
		case <-timeout.C:
			t.Errorf("%s: channels not settled after 30 s", what)
			waiting = false
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	count := map[string]int{}
	for _, c := range w.created {
		matched := false
		for _, p := range want {
			if strings.HasPrefix(c, p) {
				count[p]++
				matched = true
			}
		}
		if !matched && !strings.HasPrefix(c, "PJSIP/op") {
			t.Errorf("%s: Asterisk created channel %s (all: %q)", what, c, w.created)
		}
	}
	for _, p := range want {
		if count[p] != 1 {
			t.Errorf("%s: %d channels %s..., want 1 (all: %q)", what, count[p], p, w.created)
		}
	}
	var contexts []string
	for _, d := range w.dialplan {
		if d[2] == "Dial" && !strings.HasPrefix(d[3], "PJSIP/op") {
			t.Errorf("%s: %s in context %s ran Dial(%s)", what, d[0], d[1], d[3])
		}
		if len(want) > 0 && strings.HasPrefix(d[0], want[0]) && !slices.Contains(contexts, d[1]) {
			contexts = append(contexts, d[1])
		}
	}
	w.created, w.dialplan = nil, nil
	return contexts
}

// waitLog waits until a line of Asterisk's messages log matches re.
func waitLog(ctx context.Context, t *testing.T, a *realasterisk.Asterisk, re *regexp.Regexp) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		b, err := os.ReadFile(a.LogFile())
		if err == nil && re.Match(b) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("Asterisk's log has no line like %s", re)
		case <-tick.C:
		}
	}
}

func contacts(ctx context.Context, t *testing.T, a *realasterisk.Asterisk) string {
	t.Helper()
	out, err := a.CLI(ctx, "pjsip show contacts")
	if err != nil {
		t.Fatal(err)
	}
	return out
}
