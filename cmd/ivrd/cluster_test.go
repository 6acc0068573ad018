package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/pgtest"
)

// Two ivrd instances share one database with leases (-leases, each its
// -instance): a call driven by ivrd-a is on ivrd-b's /live too, tagged
// with the instance that drives it and without the actions ivrd-b could
// not carry out (on ivrd-a's own board it is tagged ivrd-a, not remote);
// once it ends it leaves ivrd-b's board.
func TestLiveShowsTheCallsOfEveryInstance(t *testing.T) {
	dbURL := pgtest.DatabaseURL(t)
	var bases [2]string
	for i, name := range []string{"ivrd-a", "ivrd-b"} {
		bases[i] = startDemoServerOn(t, flags{config: "../../configs/helpdesk.yaml", demo: true, demoClock: monday10,
			dataDir: t.TempDir(), drainTimeout: 5 * time.Second, leases: true, instance: name}, dbURL)
	}
	// (b first: the login throttle is in the shared database and each demo
	// clock starts at 10:00 when its server starts, so b's is behind a's.)
	b := logIn(t, bases[1], "admin")
	a := logIn(t, bases[0], "supervisore")
	call := place(t, a, "3331234567", "")
	call.on("node:root", "1")
	call.on("node:1", "3") // Lotto 3: queued or ringing an operator

	row := regexp.MustCompile(`(?s)<tr data-testid="live-call" data-call="` + regexp.QuoteMeta(call.id) + `">(.*?)</tr>`)
	eventually(t, 20*time.Second, func() string {
		_, live := b.get("/live")
		m := row.FindStringSubmatch(live)
		switch {
		case m == nil:
			return "ivrd-a's call is not on ivrd-b's /live"
		case !strings.Contains(m[1], `data-testid="live-instance" data-remote="1"`) || !strings.Contains(m[1], "ivrd-a"):
			return "the call on ivrd-b's /live does not say ivrd-a drives it: " + m[1]
		case strings.Contains(m[1], `data-testid="supervise-form"`) || strings.Contains(m[1], `data-testid="move-form"`):
			return "ivrd-b offers actions on ivrd-a's call: " + m[1]
		}
		return ""
	})
	// On ivrd-a's own board it is a call of its own: its name, not
	// remote.
	_, live := a.get("/live")
	if m := row.FindStringSubmatch(live); m == nil || !strings.Contains(m[1], `data-testid="live-instance">ivrd-a<`) {
		t.Errorf("ivrd-a's /live row of its own call: %q", m)
	}
	call.hangup()
	eventually(t, 20*time.Second, func() string {
		if _, live := b.get("/live"); row.MatchString(live) {
			return "the call ended but is still on ivrd-b's /live"
		}
		return ""
	})
}
