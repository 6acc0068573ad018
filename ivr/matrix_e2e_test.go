package ivr_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/internal/clock"
	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/internal/smtptest"
	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
	"github.com/helpdesk-ivr/ivr/ivr/simdesk"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/notify"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// The matrix of issue 14, part 1: every kind of call, end to end through
// the controller, the real ari/v5 client and the simulator, on PostgreSQL
// with the operator queues and the ticket store wired to the notifier as
// ivrd wires them, under each way notifications can be set up. Every call
// must leave a finished call record and a ticket with its group, priority
// and menu path; the caller hears every announcement to its end unless
// they press a key; no error is logged; the Administration's and the
// group's notices are sent, or wait in the outbox while no mail server
// is configured or while it is down.
func TestMatrix(t *testing.T) {
	// Cells run side by side (t.Run from goroutines: -parallel would let
	// only two of them wait at once on this two-core machine), a few at a
	// time so that the fast clock is not starved.
	sem := make(chan struct{}, matrixConcurrency)
	var wg sync.WaitGroup
	for _, p := range matrixPaths {
		wg.Go(func() {
			t.Run(p.name, func(t *testing.T) {
				var inner sync.WaitGroup
				for _, s := range mailSetups {
					inner.Go(func() {
						sem <- struct{}{}
						defer func() { <-sem }()
						t.Run(s.name, func(t *testing.T) { runCell(t, p, s) })
					})
				}
				inner.Wait()
			})
		})
	}
	wg.Wait()
}

const matrixConcurrency = 8

// mailSetup is how notifications are configured.
type mailSetup struct {
	name string
	mail mailMode
}

type mailMode int

const (
	mailNone mailMode = iota // no From, no SMTP server, no Sender: ivrd's default (make run)
	mailUp                   // a Sender and a mail server that accepts
	mailDown                 // a Sender and a mail server that is down
)

var mailSetups = []mailSetup{{"no-email", mailNone}, {"email", mailUp}, {"smtp-down", mailDown}}

// notice is one e-mail the call must queue: its kind and recipients.
type notice struct {
	kind notify.Kind
	to   string
}

const (
	referentTribunale = "referente.it@tribunale-roma.example"
	tribunale         = "tribunale-roma-demo"
	unknownNumber     = "3331234567"
	tribunaleNumber   = "0612345678" // +390612345678, an exact caller id of the Tribunale
	supervisors       = "supervisori@helpdesk.example"
)

var (
	saturday10 = time.Date(2026, 11, 21, 10, 0, 0, 0, mustLoc("Europe/Rome")) // the desk is open, the Cassazione's groups closed
	saturday20 = time.Date(2026, 11, 21, 20, 0, 0, 0, mustLoc("Europe/Rome")) // the whole desk is closed
)

// matrixPath is one kind of call and what it must leave behind.
type matrixPath struct {
	name  string
	at    time.Time
	drive func(c *cell) *caller // places the call(s); returns the one checked

	group    string
	priority tickets.Priority
	menuPath []string
	outcome  tickets.Outcome
	org      string
	role     tickets.CallerRole
	source   tickets.Source
	// notices of the checked call's ticket; others are those of earlier
	// calls of the path.
	notices, others []notice
}

var matrixPaths = []matrixPath{
	leaf("1-2", "lotto2"), leaf("1-3", "lotto3"), leaf("1-4", "lotto4"), leaf("1-5", "lotto5"), leaf("1-6", "lotto6"),
	leaf("2-1", "pct-libero-foro"), leaf("2-2", "pct-magistrati"), leaf("3-1", "sicoge"),
	{
		name: "4-referent-pin", at: monday10, drive: func(c *cell) *caller { return c.pinCall(tribunaleNumber, "5035") },
		group: "modifiche", priority: tickets.PriorityHigh, menuPath: []string{"4"}, outcome: tickets.OutcomeAnswered,
		org: tribunale, role: tickets.CallerReferent, source: tickets.SourcePhone,
		notices: []notice{{notify.KindCreated, referentTribunale}},
	},
	{
		name: "known-administration", at: monday10, drive: func(c *cell) *caller {
			cl := c.dial(tribunaleNumber, 0)
			c.r.waitPrompt(cl.ID(), "node:root")
			cl.press("1") // straight to the Tribunale's lot
			return c.served(cl)
		},
		// The second step, with no key, is the automatic routing.
		group: "lotto3", priority: tickets.PriorityMedium, menuPath: []string{"1", ""}, outcome: tickets.OutcomeAnswered,
		org: tribunale, role: tickets.CallerUnknown, source: tickets.SourcePhone,
		notices: []notice{{notify.KindCreated, referentTribunale}},
	},
	{
		name: "pin-referent-unknown-number", at: monday10, drive: func(c *cell) *caller { return c.pinCall(unknownNumber, "5035") },
		group: "modifiche", priority: tickets.PriorityHigh, menuPath: []string{"4"}, outcome: tickets.OutcomeAnswered,
		org: tribunale, role: tickets.CallerReferent, source: tickets.SourcePhone,
		notices: []notice{{notify.KindCreated, referentTribunale}},
	},
	{
		// A generic user's PIN is refused for the referents' branch: back
		// in the menu, the caller asks for an operator.
		name: "pin-user-unknown-number", at: monday10, drive: func(c *cell) *caller {
			cl := c.dial(unknownNumber, 0)
			c.r.waitPrompt(cl.ID(), "node:root")
			cl.press("4")
			c.r.waitPrompt(cl.ID(), "system:pin_ask")
			cl.waitHeard("sound:" + menu.SystemSoundName("pin_ask"))
			cl.press("1035#")
			c.r.waitPrompt(cl.ID(), "system:pin_role_refused")
			cl.waitHeard("sound:" + menu.SystemSoundName("pin_role_refused"))
			cl.press("0")
			return c.served(cl)
		},
		// The path keeps the branch refused (menu.Navigator, as the
		// navigator's tests want it).
		group: "accoglienza", priority: tickets.PriorityMedium, menuPath: []string{"4", "0"}, outcome: tickets.OutcomeAnswered,
		role: tickets.CallerUnknown, source: tickets.SourcePhone,
	},
	{
		name: "group-closed-2-1", at: saturday10, drive: func(c *cell) *caller { return c.groupClosed("2", "1") },
		group: "pct-libero-foro", priority: tickets.PriorityMedium, menuPath: []string{"2", "1"},
		outcome: tickets.OutcomeAfterHoursMessage, role: tickets.CallerUnknown, source: tickets.SourceAfterHours,
	},
	{
		name: "group-closed-1-6", at: saturday10, drive: func(c *cell) *caller { return c.groupClosed("1", "6") },
		group: "lotto6", priority: tickets.PriorityMedium, menuPath: []string{"1", "6"},
		outcome: tickets.OutcomeAfterHoursMessage, role: tickets.CallerUnknown, source: tickets.SourceAfterHours,
		notices: []notice{{notify.KindAfterHours, "lotto6@assistenza.example"}},
	},
	{
		// The whole desk closed, a caller of a known Administration: the
		// request goes to the Administration's lot.
		name: "service-closed", at: saturday20, drive: func(c *cell) *caller {
			cl := c.dial(tribunaleNumber, 5*time.Second)
			c.r.waitPrompt(cl.ID(), "system:closed")
			return c.leaveRequest(cl)
		},
		group: "lotto3", priority: tickets.PriorityMedium, menuPath: []string{},
		outcome: tickets.OutcomeAfterHoursMessage, org: tribunale, role: tickets.CallerUnknown, source: tickets.SourceAfterHours,
		notices: []notice{{notify.KindCreated, referentTribunale}, {notify.KindAfterHours, "lotto3@assistenza.example"}},
	},
	{
		// A first call hangs up in the menu (its ticket is closed); the
		// second asks for its status.
		name: "status-by-phone", at: monday10, drive: func(c *cell) *caller {
			first := c.dial(tribunaleNumber, 0)
			c.r.waitPrompt(first.ID(), "node:root")
			first.hangup()
			number := c.r.outcome(first.ID()).Ticket
			c.finished(first)
			cl := c.dial(tribunaleNumber, 0)
			c.r.waitPrompt(cl.ID(), "node:root")
			cl.press("9")
			c.r.waitPrompt(cl.ID(), "system:status_ask")
			cl.waitHeard("sound:" + menu.SystemSoundName("status_ask"))
			cl.press(number + "#")
			if st := c.r.waitKind(cl.ID(), ivr.EvStatus); st.Result != string(tickets.StatusClosed) {
				c.t.Errorf("status of %s: %+v", number, st)
			}
			return cl
		},
		group: "lotto3", priority: tickets.PriorityMedium, menuPath: []string{"9"}, outcome: tickets.OutcomeStatusTold,
		org: tribunale, role: tickets.CallerUnknown, source: tickets.SourcePhone,
		notices: []notice{{notify.KindCreated, referentTribunale}, {notify.KindClosed, referentTribunale}},
		others:  []notice{{notify.KindCreated, referentTribunale}, {notify.KindClosed, referentTribunale}},
	},
	{
		name: "hangup-in-menu", at: monday10, drive: func(c *cell) *caller {
			cl := c.dial(unknownNumber, 0)
			c.r.waitPrompt(cl.ID(), "node:root")
			cl.press("1")
			c.r.waitPrompt(cl.ID(), "node:1")
			cl.hangup()
			return cl
		},
		group: "accoglienza", priority: tickets.PriorityMedium, menuPath: []string{"1"}, outcome: tickets.OutcomeHungUpInMenu,
		role: tickets.CallerUnknown, source: tickets.SourcePhone,
	},
	{
		name: "hangup-in-queue", at: monday10, drive: func(c *cell) *caller {
			cl := c.dial(unknownNumber, 0)
			c.r.waitPrompt(cl.ID(), "node:root")
			cl.press("1")
			c.r.waitPrompt(cl.ID(), "node:1")
			cl.press("2")
			c.r.waitKind(cl.ID(), ivr.EvQueued)
			cl.waitHeard("digits:*") // the end of the announcement: the caller waits with music
			cl.hangup()
			return cl
		},
		group: "lotto2", priority: tickets.PriorityMedium, menuPath: []string{"1", "2"}, outcome: tickets.OutcomeAbandoned,
		role: tickets.CallerUnknown, source: tickets.SourcePhone,
	},
}

// leaf is a call from an unknown number to a leaf of two keys, answered
// by an operator of its group.
func leaf(keys, group string) matrixPath {
	k := strings.Split(keys, "-")
	return matrixPath{name: "leaf-" + keys, at: monday10, drive: func(c *cell) *caller {
		cl := c.dial(unknownNumber, 0)
		c.r.waitPrompt(cl.ID(), "node:root")
		cl.press(k[0])
		c.r.waitPrompt(cl.ID(), "node:"+k[0])
		cl.press(k[1])
		return c.served(cl)
	}, group: group, priority: tickets.PriorityMedium, menuPath: k, outcome: tickets.OutcomeAnswered,
		role: tickets.CallerUnknown, source: tickets.SourcePhone}
}

// cell is one call path under one notification setup: a help desk of its
// own on a database of its own.
type cell struct {
	t      *testing.T
	setup  mailSetup
	pool   *pgxpool.Pool
	store  *tickets.Store
	r      *qrig
	sink   *smtptest.Server
	sender *notify.Sender
	logs   *syncBuffer
	calls  []*caller
}

// matrixSpeed: the fast clock, slower than the other tests' since eight
// desks share two cores (a PIN's or a ticket number's keys must not be
// split by the inter-digit timeout).
const matrixSpeed = 20

func newCell(t *testing.T, p matrixPath, s mailSetup) *cell {
	t.Helper()
	ctx := context.Background()
	url := pgtest.DatabaseURL(t)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := notify.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	c := &cell{t: t, setup: s, pool: pool, logs: &syncBuffer{}}
	log := slog.New(slog.NewJSONHandler(c.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg := loadConfig(t)
	clk := clock.NewScaled(p.at, matrixSpeed)

	// As cmd/ivrd wires them (newNotifier, startOps): the notifier's Hook
	// writes the outbox in the ticket's transaction, a Sender sends it
	// when a mail server is configured.
	ncfg := notify.Config{Service: cfg.Service.Name, BackoffBase: time.Second, PollInterval: 50 * time.Millisecond}
	if s.mail != mailNone {
		c.sink = smtptest.Start(t)
		c.sink.SetDown(s.mail == mailDown)
		ncfg.SMTP = notify.SMTPConfig{Host: c.sink.Host(), Port: c.sink.Port(), TLS: notify.TLSNone, Timeout: 5 * time.Second}
		ncfg.From = "Help Desk Giustizia <helpdesk@giustizia.example>"
		ncfg.Supervisors = []string{supervisors}
	}
	n, err := notify.NewNotifier(ncfg, notify.MenuDirectory(func() *menu.Config { return cfg }), cfg.Location(), log)
	if err != nil {
		t.Fatal(err)
	}
	c.store = tickets.New(pool, tickets.Options{Location: cfg.Location(), Logger: log, Now: clk.Now,
		Hook: n.Hook, HookOnCreate: n.WantsCreated})
	if s.mail != mailNone {
		c.sender, err = notify.NewSender(pool, ncfg, notify.NewSMTP(ncfg.SMTP, nil),
			notify.SenderOptions{Logger: log, Registerer: prometheus.NewRegistry(), Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		if s.mail == mailUp {
			sctx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { defer close(done); _ = c.sender.Run(sctx) }()
			t.Cleanup(func() { cancel(); <-done })
		}
	}
	c.r = newQueueRig(t, url, nil, withStore(c.store), withLogger(log), func(o *simdesk.Options) {
		o.Clock = clk
		o.Operators = &arisim.EndpointBehavior{Mode: arisim.Answer, AnswerAfter: 2 * time.Second}
	})
	// Every operator is at the desk but busy: callers wait in the queue
	// and hear their place (see served).
	var logins []string
	for _, op := range cfg.Operators {
		logins = append(logins, op.Login)
	}
	c.r.pause(logins...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", c.logs.String())
			for _, cl := range c.calls {
				t.Logf("call %s, the help desk's transcript:\n%s\nthe caller's:\n%s", cl.ID(), c.r.transcript(cl.ID()), cl.transcript())
			}
		}
	})
	return c
}

func (c *cell) dial(from string, speak time.Duration) *caller {
	cl := dial(c.t, c.r.rig, from, speak)
	c.calls = append(c.calls, cl)
	return cl
}

// served waits until the routed caller is queued and has heard their
// place to its end, then lets the operators take calls: one answers, and
// the caller hangs up after a while.
func (c *cell) served(cl *caller) *caller {
	c.t.Helper()
	c.r.waitKind(cl.ID(), ivr.EvQueued)
	cl.waitHeard("digits:*") // the last piece of the announcement: the break-out key
	for _, op := range c.r.cfg.Operators {
		c.r.available(op.Login)
	}
	c.r.waitKind(cl.ID(), ivr.EvAnswered)
	cl.hangup()
	return cl
}

// pinCall asks for the referents' branch and keys a PIN.
func (c *cell) pinCall(from, pin string) *caller {
	c.t.Helper()
	cl := c.dial(from, 0)
	c.r.waitPrompt(cl.ID(), "node:root")
	cl.press("4")
	c.r.waitPrompt(cl.ID(), "system:pin_ask")
	cl.waitHeard("sound:" + menu.SystemSoundName("pin_ask"))
	cl.press(pin + "#")
	return c.served(cl)
}

// groupClosed chooses a leaf whose group is closed and leaves a request.
func (c *cell) groupClosed(k1, k2 string) *caller {
	c.t.Helper()
	cl := c.dial(unknownNumber, 5*time.Second)
	c.r.waitPrompt(cl.ID(), "node:root")
	cl.press(k1)
	c.r.waitPrompt(cl.ID(), "node:"+k1)
	cl.press(k2)
	c.r.waitPrompt(cl.ID(), "system:group_closed")
	return c.leaveRequest(cl)
}

// leaveRequest answers the offer to leave a message once it is heard,
// speaks, and hears the acknowledgement to the end.
func (c *cell) leaveRequest(cl *caller) *caller {
	c.t.Helper()
	cl.waitHeard("sound:" + menu.SystemSoundName("record_offer"))
	cl.press("1")
	c.r.waitKind(cl.ID(), ivr.EvMessage)
	return cl
}

// finished checks what every call must leave: a finished call record and
// a ticket with a group; it returns them.
func (c *cell) finished(cl *caller) (tickets.Call, tickets.Ticket) {
	c.t.Helper()
	out := c.r.outcome(cl.ID())
	cl.waitEnded()
	ctx := context.Background()
	call, err := c.store.FindCallByChannel(ctx, cl.ID())
	if err != nil {
		c.t.Fatalf("call %s: no call record: %v", cl.ID(), err)
	}
	if call.Outcome == "" || call.EndedAt.IsZero() || call.TicketID == 0 {
		c.t.Errorf("call %s: record not finished: %+v", cl.ID(), call)
	}
	tk, err := c.store.FindTicketByID(ctx, call.TicketID, tickets.Viewer{Kind: tickets.ViewerSystem})
	if err != nil {
		c.t.Fatalf("call %s: no ticket: %v", cl.ID(), err)
	}
	if tk.Group == "" || c.r.cfg.Group(tk.Group) == nil {
		c.t.Errorf("call %s: ticket %s has group %q", cl.ID(), tk.Number, tk.Group)
	}
	if out.Ticket != string(tk.Number) {
		c.t.Errorf("call %s: outcome names ticket %q, the record %q", cl.ID(), out.Ticket, tk.Number)
	}
	var offers []time.Time
	for _, e := range c.r.eventsOf(cl.ID()) {
		if e.Kind == ivr.EvRinging {
			offers = append(offers, e.Time)
		}
	}
	if cut := cl.cutShort(offers); len(cut) > 0 {
		c.t.Errorf("call %s: announcements cut short:\n%s", cl.ID(), strings.Join(cut, "\n"))
	}
	// The caller hears the number of the ticket wherever a sentence
	// announces one.
	for _, e := range c.r.eventsOf(cl.ID()) {
		if e.Kind != ivr.EvPrompt {
			continue
		}
		if (slices.Contains(e.Prompt, "system:transfer") || slices.Contains(e.Prompt, "system:record_saved")) &&
			!slices.Contains(e.Prompt, "digits:"+string(tk.Number)) {
			c.t.Errorf("call %s: %v announces a ticket without its number %s", cl.ID(), e.Prompt, tk.Number)
		}
	}
	return call, tk
}

func runCell(t *testing.T, p matrixPath, s mailSetup) {
	c := newCell(t, p, s)
	cl := p.drive(c)
	if t.Failed() {
		return
	}
	call, tk := c.finished(cl)
	if call.Outcome != p.outcome {
		t.Errorf("outcome %s, want %s", call.Outcome, p.outcome)
	}
	var keys []string
	for _, st := range tk.MenuPath {
		keys = append(keys, st.Key)
	}
	if tk.Group != p.group || tk.Priority != p.priority || !slices.Equal(keys, p.menuPath) ||
		tk.Organization != p.org || tk.CallerRole != p.role || tk.Source != p.source {
		t.Errorf("ticket %s: group %q priority %s menu path %q organization %q role %s source %s\n"+
			"want group %q priority %s menu path %q organization %q role %s source %s",
			tk.Number, tk.Group, tk.Priority, keys, tk.Organization, tk.CallerRole, tk.Source,
			p.group, p.priority, p.menuPath, p.org, p.role, p.source)
	}
	switch p.outcome {
	case tickets.OutcomeAnswered:
		if tk.Assignee == "" || tk.Status != tickets.StatusInProgress || call.Operator != tk.Assignee || call.Group != p.group {
			t.Errorf("answered call %+v, ticket %+v", call, tk)
		}
	case tickets.OutcomeAfterHoursMessage:
		att, err := c.store.Attachments(context.Background(), tk.ID, tickets.Viewer{Kind: tickets.ViewerSystem})
		if err != nil || len(att) != 1 || att[0].Duration < 5*time.Second || tk.DueAt.IsZero() || tk.Status != tickets.StatusNew {
			t.Errorf("request: ticket %+v, recordings %+v %v", tk, att, err)
		}
	case tickets.OutcomeStatusTold, tickets.OutcomeHungUpInMenu:
		if tk.Status != tickets.StatusClosed {
			t.Errorf("ticket %s: %s, want closed", tk.Number, tk.Status)
		}
	}
	c.checkNotices(p, tk)
	if strings.Contains(c.logs.String(), `"level":"ERROR"`) {
		t.Errorf("errors logged:\n%s", c.logs.String())
	}
}

// outboxRow is a notice in notify_outbox.
type outboxRow struct {
	id         int64
	kind       notify.Kind
	ticket     int64
	recipients []string
	sent       bool
	failed     bool
	attempts   int
	lastError  string
	size       int
}

func (c *cell) outbox() []outboxRow {
	c.t.Helper()
	rows, err := c.pool.Query(context.Background(), `SELECT id, kind, coalesce(ticket_id, 0), recipients,
		sent_at IS NOT NULL, failed_at IS NOT NULL, attempts, last_error, length(message) FROM notify_outbox ORDER BY id`)
	if err != nil {
		c.t.Fatal(err)
	}
	defer rows.Close()
	var out []outboxRow
	for rows.Next() {
		var r outboxRow
		var kind string
		if err := rows.Scan(&r.id, &kind, &r.ticket, &r.recipients, &r.sent, &r.failed, &r.attempts, &r.lastError, &r.size); err != nil {
			c.t.Fatal(err)
		}
		r.kind = notify.Kind(kind)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		c.t.Fatal(err)
	}
	return out
}

func noticeList(ns []notice) []string {
	out := []string{}
	for _, n := range ns {
		out = append(out, string(n.kind)+" "+n.to)
	}
	slices.Sort(out)
	return out
}

// checkNotices: the notices of the call are in the outbox, and, as the
// setup says, wait there, arrive at the mail server, or wait with the
// reason of the failed attempt and arrive once the server is back.
func (c *cell) checkNotices(p matrixPath, tk tickets.Ticket) {
	t := c.t
	rows := c.outbox()
	var mine, others []notice
	for _, r := range rows {
		n := notice{r.kind, strings.Join(r.recipients, ",")}
		if r.ticket == tk.ID {
			mine = append(mine, n)
		} else {
			others = append(others, n)
		}
		if r.failed || r.size == 0 {
			t.Errorf("notice %d (%s) failed or was never built: %+v", r.id, r.kind, r)
		}
	}
	if got, want := noticeList(mine), noticeList(p.notices); !slices.Equal(got, want) {
		t.Errorf("notices of ticket %s: %q, want %q", tk.Number, got, want)
	}
	if got, want := noticeList(others), noticeList(p.others); !slices.Equal(got, want) {
		t.Errorf("notices of earlier calls: %q, want %q", got, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	switch c.setup.mail {
	case mailNone:
		for _, r := range rows {
			if r.sent || r.attempts != 0 {
				t.Errorf("notice %d left without a mail server: %+v", r.id, r)
			}
		}
	case mailUp:
		msgs, err := c.sink.Wait(ctx, func(m []smtptest.Message) bool { return len(m) >= len(rows) })
		if err != nil {
			t.Errorf("%d of %d notices arrived", len(msgs), len(rows))
		}
		waitUntil(t, "every notice marked sent", func() bool {
			for _, r := range c.outbox() {
				if !r.sent {
					return false
				}
			}
			return true
		})
		c.checkArrived(msgs, rows, tk)
	case mailDown:
		if len(rows) == 0 {
			return
		}
		if _, err := c.sender.SendPending(ctx); err == nil {
			t.Errorf("sending to a server that is down: no error")
		}
		after := c.outbox()
		tried := 0
		for _, r := range after {
			if r.sent || r.failed {
				t.Errorf("notice %d while the server is down: %+v", r.id, r)
			}
			if r.attempts > 0 {
				tried++
				if r.lastError == "" {
					t.Errorf("notice %d: attempted with no error kept: %+v", r.id, r)
				}
			}
		}
		if tried == 0 || c.sink.Refused() == 0 {
			t.Errorf("no attempt recorded (%d connections refused): %+v", c.sink.Refused(), after)
		}
		// Back up: everything goes once the retry is due (a second of
		// the help desk's time).
		c.sink.SetDown(false)
		for sent := 0; sent < len(rows); {
			n, err := c.sender.SendPending(ctx)
			if err != nil {
				t.Errorf("server back: %v", err)
				break
			}
			sent += n
			if ctx.Err() != nil {
				t.Errorf("server back: %d of %d notices sent", sent, len(rows))
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		c.checkArrived(c.sink.Messages(), rows, tk)
	}
}

// checkArrived: each notice reached the mail server once, for its
// recipients, with its ticket's tag in the subject and the sender's From.
func (c *cell) checkArrived(msgs []smtptest.Message, rows []outboxRow, tk tickets.Ticket) {
	t := c.t
	var got, want []string
	for _, m := range msgs {
		tag := ""
		if strings.Contains(m.Subject(), notify.SubjectTag(tk.Number)) {
			tag = " " + string(tk.Number)
		}
		got = append(got, strings.Join(m.To, ",")+tag)
		if m.Header.Get("From") == "" || m.From != "helpdesk@giustizia.example" {
			t.Errorf("message %q: From %q, envelope %q", m.Subject(), m.Header.Get("From"), m.From)
		}
	}
	for _, r := range rows {
		tag := ""
		if r.ticket == tk.ID {
			tag = " " + string(tk.Number)
		}
		want = append(want, strings.Join(r.recipients, ",")+tag)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("messages at the mail server %q, want %q", got, want)
	}
	for _, r := range c.outbox() {
		if !r.sent {
			t.Errorf("notice %d not marked sent: %+v", r.id, r)
		}
	}
}
