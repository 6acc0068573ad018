package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

var (
	factCreated   = regexp.MustCompile(`<dt>Aperto</dt><dd>([^<]*)</dd>`)
	factRecording = regexp.MustCompile(`<audio controls preload="none" src="([^"]+)" data-testid="recording-audio"`)
	wallBusy      = regexp.MustCompile(`(?s)data-testid="wb-row-lotto3".*?data-testid="wb-busy">([0-9]+)<`)
)

// eventually polls check until it returns "" (what is still wrong
// otherwise), for at most limit; then the test fails and goes on.
func eventually(t *testing.T, limit time.Duration, check func() string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		wrong := check()
		if wrong == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("after %v: %s", limit, wrong)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Test-phone calls at a chosen date and time run the demo's call path
// (issue 19), where each used to take a path of its own: two calls at
// the same instant each get their ticket, numbered and dated at that
// instant, not at the demo's clock; they wait in the demo's queues, so
// lotto3's penalties hold (op301 or op302, never op101 with them); they
// are on /live marked as test calls, and on the wallboard; the simulated
// operator hangs up after the hold time; a request left at a closed hour
// plays in the panel.
func TestTestPhoneAtChosenTime(t *testing.T) {
	base := startDemoServer(t, monday10)
	admin := logIn(t, base, "admin")
	const monday = "2026-12-14T10:00" // three weeks after the demo's clock

	a := place(t, admin, "3331234567", monday)
	b := place(t, admin, "3331234567", monday)
	if a.id == b.id || a.ticket == b.ticket {
		t.Fatalf("two calls at one instant: calls %s and %s, tickets %s and %s", a.id, b.id, a.ticket, b.ticket)
	}
	for _, d := range []*demoCall{a, b} {
		if !strings.HasPrefix(d.ticket, "20261214") {
			t.Errorf("call %s: ticket %s, want a number of 14/12/2026, the call's day", d.id, d.ticket)
		}
	}
	b.hangup()
	if out := b.waitKind("outcome"); out.Ticket != b.ticket {
		t.Errorf("second call: outcome %+v, want its ticket %s", out, b.ticket)
	}

	a.on("node:root", "1")
	a.on("node:1", "3")
	var rung []string
	answered := a.wait("answered", func(e demoEvent) bool {
		if e.Kind == "ringing" {
			rung = append(rung, e.Operator)
		}
		return e.Kind == "answered"
	})
	if slices.Contains(rung, "op101") || (answered.Operator != "op301" && answered.Operator != "op302") {
		t.Errorf("lotto3 rang %v, %s answered; want op301 or op302 (penalty 0) alone", rung, answered.Operator)
	}
	if !answered.Test {
		t.Errorf("the answered event is not marked as a test call: %+v", answered)
	}
	row := regexp.MustCompile(`(?s)<tr data-testid="live-call" data-call="` + regexp.QuoteMeta(a.id) + `">(.*?)</tr>`)
	eventually(t, 20*time.Second, func() string {
		_, live := admin.get("/live")
		m := row.FindStringSubmatch(live)
		switch {
		case m == nil:
			return "the call is not on /live"
		case !strings.Contains(m[1], `data-testid="live-test"`):
			return "the call on /live is not marked as a test call: " + m[1]
		case !strings.Contains(m[1], answered.Operator):
			return "the call on /live does not show " + answered.Operator + ": " + m[1]
		}
		return ""
	})
	eventually(t, 20*time.Second, func() string {
		_, wall := admin.get("/wallboard")
		if m := wallBusy.FindStringSubmatch(wall); m == nil || m[1] == "0" {
			return fmt.Sprintf("the wallboard's lotto3 row shows no operator busy: %q", m)
		}
		return ""
	})
	// Meanwhile a call on a Sunday: closed; the caller leaves a request, which plays.
	s := place(t, admin, "3339876543", "2026-12-13T10:00")
	s.on("system:record_offer", "1")
	if msg := s.waitKind("message"); msg.Ticket != s.ticket {
		t.Fatalf("message %+v, want ticket %s", msg, s.ticket)
	}
	_, page := admin.get("/tickets?q=" + s.ticket)
	if got := submatches(factCreated, page); !slices.Contains(got, "13/12/2026 10:00") {
		t.Errorf("request %s opened %q, want 13/12/2026 10:00", s.ticket, got)
	}
	recs := submatches(factRecording, page)
	if len(recs) != 1 {
		t.Fatalf("request %s: recordings %q, want one", s.ticket, recs)
	}
	req, _ := http.NewRequest(http.MethodGet, base+recs[0], nil)
	status, body := admin.do(req)
	if status != http.StatusOK || !strings.HasPrefix(body, "RIFF") {
		t.Errorf("GET %s: %d, %d bytes, want 200 and a WAV", recs[0], status, len(body))
	}
	// 10 s of speech at 8 kHz, 16-bit: the whole request.
	if n := len(body); n < 44+2*8000*9 {
		t.Errorf("the recording has %s bytes, want about 10 s", strconv.Itoa(n))
	}

	// The operator hangs up after the demo's hold time (a minute).
	var hangup demoEvent
	a.events.waitWithin(t, 2*time.Minute, "the operator's hang-up", func(d string) bool {
		hangup = demoEvent{}
		return json.Unmarshal([]byte(d), &hangup) == nil && hangup.Kind == "hangup"
	})
	if hangup.By != "operator" {
		t.Errorf("hang-up by %q, want the operator", hangup.By)
	}
	if out := a.waitKind("outcome"); out.Outcome != "answered" || out.Group != "lotto3" {
		t.Errorf("outcome %+v, want answered in lotto3", out)
	}
	if _, page := admin.get("/tickets?q=" + a.ticket); !slices.Contains(submatches(factCreated, page), "14/12/2026 10:00") {
		t.Errorf("ticket %s opened %q, want 14/12/2026 10:00, the call's time", a.ticket, submatches(factCreated, page))
	}
}

// An operator with the console open answers a test-phone call at a chosen
// time from the console, as a call now: the phones of the call's own
// simulated Asterisk follow the consoles too.
func TestTestPhoneAtChosenTimeAnsweredFromConsole(t *testing.T) {
	base := startDemoServer(t, monday10)
	// Lotto 2 has op201 and op202: op202 takes a break, so the call is
	// op201's.
	logIn(t, base, "op202").pause()
	op := logIn(t, base, "op201")
	console := op.stream("/console/events")
	d := place(t, logIn(t, base, "admin"), "3331234567", "2026-12-14T10:00")
	d.on("node:root", "1")
	d.on("node:1", "2")
	if e := d.waitKind("ringing"); e.Operator != "op201" {
		t.Fatalf("rang %q, want op201", e.Operator)
	}
	console.wait(t, "the answer button", func(d string) bool { return strings.Contains(d, `data-testid="phone-answer"`) })
	if status, body := op.postForm("/console/phone", url.Values{"action": {"answer"}}); status != http.StatusOK || strings.Contains(body, `data-testid="flash"`) {
		t.Fatalf("answer from the console: %d\n%s", status, body)
	}
	if e := d.waitKind("answered"); e.Operator != "op201" {
		t.Fatalf("answered by %q, want op201", e.Operator)
	}
	if status, body := op.postForm("/console/phone", url.Values{"action": {"hangup"}}); status != http.StatusOK || strings.Contains(body, `data-testid="flash"`) {
		t.Fatalf("hang up from the console: %d\n%s", status, body)
	}
	if e := d.waitKind("hangup"); e.By != "operator" {
		t.Errorf("hang-up by %q, want the operator", e.By)
	}
}

// A test-phone call at a chosen time starts a simulated Asterisk of its
// own: connecting, its controller reconciles the calls of its node only,
// never closing the record of a demo call in progress as "ended while no
// controller watched it" (it did when every simulated Asterisk had the
// same node).
func TestTestPhoneAtChosenTimeLeavesOtherCallsAlone(t *testing.T) {
	base := startDemoServer(t, monday10)
	admin := logIn(t, base, "admin")
	now := place(t, admin, "3331234567", "")
	now.on("node:root", "1")
	at := place(t, admin, "3337654321", "2026-12-14T10:00")
	at.on("node:root", "1")
	now.on("node:1", "2")
	now.waitKind("answered")
	now.hangup()
	if out := now.waitKind("outcome"); out.Outcome != "answered" {
		t.Errorf("the call now: outcome %+v, want answered", out)
	}
	at.hangup()
	at.waitKind("outcome")
	pool, err := pgxpool.New(t.Context(), os.Getenv("DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var outcome, by string
	if err := pool.QueryRow(t.Context(), `SELECT outcome, hangup_by FROM calls WHERE channel_id = $1`, now.id).Scan(&outcome, &by); err != nil {
		t.Fatal(err)
	}
	if outcome != "answered" || by != "caller" {
		t.Errorf("the call now is recorded %s, hung up by %q; want answered, by the caller", outcome, by)
	}
}
