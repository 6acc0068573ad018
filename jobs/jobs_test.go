package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime/quotedprintable"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/hours"
	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/internal/testkit"
	"github.com/helpdesk-ivr/ivr/notify"
	"github.com/helpdesk-ivr/ivr/tickets"
)

func TestMain(m *testing.M) { pgtest.Main(m, tickets.Migrate, notify.Migrate, Migrate) }

var (
	ctx      = context.Background()
	rome     = mustLoad("Europe/Rome")
	channels atomic.Int64
)

var mustLoad = testkit.MustLoad

type clock = testkit.Clock

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, rome)
	if err != nil {
		panic(err)
	}
	return t
}

// seedSchedule is seed 001's hours: Monday to Friday 8-17, Saturday 8-14,
// closed on Italian holidays.
func seedSchedule() *hours.Schedule {
	s := &hours.Schedule{Location: rome, ItalianHolidays: true}
	week, _ := hours.ParseInterval("08:00-17:00")
	sat, _ := hours.ParseInterval("08:00-14:00")
	for d := time.Monday; d <= time.Friday; d++ {
		s.Weekly[d] = []hours.Interval{week}
	}
	s.Weekly[time.Saturday] = []hours.Interval{sat}
	return s
}

type groups map[string]*hours.Schedule

func (g groups) GroupIDs() []string {
	var ids []string
	for id := range g {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
func (g groups) GroupSchedule(id string) *hours.Schedule { return g[id] }

// GroupServiceLevels: lotto6 has its own 20 s, as in the shipped
// configuration; the others take def.
func (g groups) GroupServiceLevels(def time.Duration) map[string]time.Duration {
	out := map[string]time.Duration{}
	for id := range g {
		out[id] = def
	}
	if _, ok := g["lotto6"]; ok {
		out["lotto6"] = 20 * time.Second
	}
	return out
}

type dir struct{}

func (dir) OrganizationEmails(string) []string { return nil }
func (dir) GroupEmails(g string) []string      { return []string{g + "@helpdesk.test"} }

type deleter struct {
	mu     sync.Mutex
	names  []string
	fail   bool
	failOn string // one recording Asterisk cannot delete
}

func (d *deleter) DeleteRecording(_ context.Context, name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail || name == d.failOn {
		return errors.New("asterisk down")
	}
	d.names = append(d.names, name)
	return nil
}

type env struct {
	pool  *pgxpool.Pool
	clk   *clock
	store *tickets.Store
	jobs  *Jobs
	rec   *deleter
	reg   *prometheus.Registry
}

func newEnv(t *testing.T, start time.Time) *env {
	t.Helper()
	e := &env{pool: pgtest.Pool(t), clk: testkit.NewClock(start), rec: &deleter{}, reg: prometheus.NewRegistry()}
	n, err := notify.NewNotifier(notify.Config{From: "helpdesk@helpdesk.test", Supervisors: []string{"sup@helpdesk.test"}}, dir{}, rome, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.store = tickets.New(e.pool, tickets.Options{Location: rome, Now: e.clk.Now, Hook: n.Hook})
	e.jobs, err = New(Config{Retention: 90 * 24 * time.Hour}, Deps{
		Pool: e.pool, Store: e.store, Notifier: n, Groups: groups{"lotto6": seedSchedule(), "lotto7": seedSchedule()},
		Recordings: e.rec, Location: rome, Now: e.clk.Now, Registerer: e.reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) open(t *testing.T, when time.Time, nc tickets.NewCall) tickets.Ticket {
	t.Helper()
	e.clk.Set(when)
	nc.ChannelID = fmt.Sprintf("j.%d", channels.Add(1))
	_, tk, err := e.store.OpenCall(ctx, nc)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func (e *env) update(t *testing.T, when time.Time, tk tickets.Ticket, upd tickets.TicketUpdate) tickets.Ticket {
	t.Helper()
	e.clk.Set(when)
	upd.Version = tk.Version
	tk, err := e.store.UpdateTicket(ctx, tk.ID, upd, tickets.Actor{Kind: tickets.ActorSystem, ID: "ivr"})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func (e *env) ticket(t *testing.T, id int64) tickets.Ticket {
	t.Helper()
	tk, err := e.store.FindTicketByID(ctx, id, system)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func ptr[T any](v T) *T { return &v }

// TestServiceTime: only opening hours count, not nights, Sundays or
// holidays (8 December 2026 is a Tuesday, the Immacolata).
func TestServiceTime(t *testing.T) {
	t.Parallel()
	s := seedSchedule()
	for _, c := range []struct {
		from, to string
		want     time.Duration
	}{
		{"2026-12-04 16:00", "2026-12-07 10:00", 9 * time.Hour}, // Fri 1h, Sat 6h, Sun 0, Mon 2h
		{"2026-12-07 16:00", "2026-12-09 09:00", 2 * time.Hour}, // Mon 1h, Tue holiday, Wed 1h
		{"2026-12-05 20:00", "2026-12-07 07:59", 0},             // a weekend night
		{"2026-12-07 09:00", "2026-12-07 09:00", 0},
		{"2026-12-07 09:00", "2026-12-07 12:30", 3*time.Hour + 30*time.Minute},
	} {
		if got := serviceTime(s, at(c.from), at(c.to)); got != c.want {
			t.Errorf("serviceTime(%s, %s) = %v, want %v", c.from, c.to, got, c.want)
		}
	}
}

// TestEscalationWeekendAndHoliday: a medium ticket opened on Friday 16:30
// (limit 8 service hours) is raised on Monday at 09:30, not before; as high
// (limit set to 4h30m here) again at 14:00, counted from the first raise.
// Each raise is in the history by the system and mails the
// supervisors; a ticket taken in charge is never raised.
func TestEscalationWeekendAndHoliday(t *testing.T) {
	t.Parallel()
	e := newEnv(t, at("2026-12-04 16:30"))
	e.jobs.cfg.Escalation[tickets.PriorityHigh] = 4*time.Hour + 30*time.Minute
	tk := e.open(t, at("2026-12-04 16:30"), tickets.NewCall{Group: "lotto6"})
	taken := e.open(t, at("2026-12-04 16:30"), tickets.NewCall{Group: "lotto6"})
	e.update(t, at("2026-12-04 16:40"), taken, tickets.TicketUpdate{Status: ptr(tickets.StatusInProgress)})

	steps := []struct {
		now  string
		want tickets.Priority
	}{
		{"2026-12-05 13:59", tickets.PriorityMedium},   // Fri 0:30 + Sat 5:59
		{"2026-12-07 09:29", tickets.PriorityMedium},   // + Sun 0 + Mon 1:29 = 7:59
		{"2026-12-07 09:30", tickets.PriorityHigh},     // 8h
		{"2026-12-07 13:59", tickets.PriorityHigh},     // 4:29 since the raise
		{"2026-12-07 14:00", tickets.PriorityCritical}, // 4:30
	}
	for _, s := range steps {
		e.clk.Set(at(s.now))
		if _, err := e.jobs.Escalate(ctx, at(s.now)); err != nil {
			t.Fatal(err)
		}
		if got := e.ticket(t, tk.ID).Priority; got != s.want {
			t.Fatalf("at %s priority %s, want %s", s.now, got, s.want)
		}
	}
	if got := e.ticket(t, taken.ID).Priority; got != tickets.PriorityMedium {
		t.Errorf("ticket in progress raised to %s", got)
	}
	hist, err := e.store.History(ctx, tk.ID, system)
	if err != nil {
		t.Fatal(err)
	}
	var raises []string
	for _, h := range hist {
		if h.Field == "priority" {
			raises = append(raises, fmt.Sprintf("%s %s>%s %s", h.At.Format("Mon 15:04"), h.Old, h.New, h.Actor.ID))
		}
	}
	if want := []string{"Mon 09:30 medium>high escalation", "Mon 14:00 high>critical escalation"}; !slices.Equal(raises, want) {
		t.Errorf("history %v, want %v", raises, want)
	}
	var mails int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM notify_outbox WHERE kind = 'escalated' AND recipients = '{sup@helpdesk.test}'`).Scan(&mails); err != nil {
		t.Fatal(err)
	}
	if mails != 2 {
		t.Errorf("%d escalation mails, want 2", mails)
	}
}

// TestEscalationAcrossHoliday: high (4h) opened Monday 15:00 is raised on
// Wednesday 10:00: 2h on Monday, none on the Tuesday holiday, 2h on
// Wednesday.
func TestEscalationAcrossHoliday(t *testing.T) {
	t.Parallel()
	e := newEnv(t, at("2026-12-07 15:00"))
	tk := e.open(t, at("2026-12-07 15:00"), tickets.NewCall{Group: "lotto6", Priority: tickets.PriorityHigh})
	for _, s := range []struct {
		now  string
		want tickets.Priority
	}{
		{"2026-12-08 16:59", tickets.PriorityHigh},
		{"2026-12-09 09:59", tickets.PriorityHigh},
		{"2026-12-09 10:00", tickets.PriorityCritical},
	} {
		e.clk.Set(at(s.now))
		if _, err := e.jobs.Escalate(ctx, at(s.now)); err != nil {
			t.Fatal(err)
		}
		if got := e.ticket(t, tk.ID).Priority; got != s.want {
			t.Fatalf("at %s priority %s, want %s", s.now, got, s.want)
		}
	}
}

// TestOpening: at Monday's opening the after-hours requests still new of
// the group are listed by priority in one panel notification and one mail
// to the group, and are due from the opening; a second run of the same
// opening, or a run with no opening, adds nothing.
func TestOpening(t *testing.T) {
	t.Parallel()
	e := newEnv(t, at("2026-11-28 20:00"))
	afterHours := func(when string, g string, p tickets.Priority) tickets.Ticket {
		tk := e.open(t, at(when), tickets.NewCall{Group: g, Priority: p})
		return e.update(t, at(when), tk, tickets.TicketUpdate{Source: ptr(tickets.SourceAfterHours)})
	}
	low := afterHours("2026-11-28 20:00", "lotto6", tickets.PriorityLow)
	crit := afterHours("2026-11-29 11:00", "lotto6", tickets.PriorityCritical)
	med := afterHours("2026-11-29 12:00", "lotto6", tickets.PriorityMedium)
	afterHours("2026-11-29 12:00", "lotto7", tickets.PriorityHigh) // another group (also notified, separately)
	taken := afterHours("2026-11-29 13:00", "lotto6", tickets.PriorityHigh)
	e.update(t, at("2026-11-29 13:00"), taken, tickets.TicketUpdate{Status: ptr(tickets.StatusInProgress)})
	e.open(t, at("2026-11-29 13:00"), tickets.NewCall{Group: "lotto6"}) // not after hours

	open := at("2026-11-30 08:00")
	e.clk.Set(open)
	n, err := e.jobs.Opening(ctx, at("2026-11-30 07:59"), open)
	if err != nil || n != 2 {
		t.Fatalf("Opening: %d groups, %v; want 2", n, err)
	}
	var ids []int64
	if err := e.pool.QueryRow(ctx, `SELECT ticket_ids FROM notifications WHERE group_id = 'lotto6' AND kind = 'opening' AND at = $1`, open).Scan(&ids); err != nil {
		t.Fatal(err)
	}
	if want := []int64{crit.ID, med.ID, low.ID}; !slices.Equal(ids, want) {
		t.Fatalf("notified tickets %v, want %v (critical, medium, low)", ids, want)
	}
	for _, id := range ids {
		if due := e.ticket(t, id).DueAt; !due.Equal(open) {
			t.Errorf("ticket %d due %v, want %v", id, due, open)
		}
	}
	var body string
	if err := e.pool.QueryRow(ctx, `SELECT convert_from(message, 'UTF8') FROM notify_outbox WHERE kind = 'opening' AND recipients = '{lotto6@helpdesk.test}'`).Scan(&body); err != nil {
		t.Fatal(err)
	}
	if i, j := strings.Index(body, string(crit.Number)), strings.Index(body, string(low.Number)); i < 0 || j < i {
		t.Errorf("opening mail does not list critical before low:\n%s", body)
	}
	for _, r := range [][2]string{{"2026-11-30 07:59", "2026-11-30 08:00"}, {"2026-11-30 08:00", "2026-11-30 08:01"}} {
		if n, err := e.jobs.Opening(ctx, at(r[0]), at(r[1])); err != nil || n != 0 {
			t.Fatalf("Opening(%s, %s) notified %d groups (%v), want 0", r[0], r[1], n, err)
		}
	}
	var rows int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM notify_outbox WHERE kind = 'opening'`).Scan(&rows); err != nil || rows != 2 {
		t.Fatalf("%d opening mails (%v), want 2", rows, err)
	}
}

// TestRetention: an old closed ticket loses its recording (deleted from
// Asterisk too) and personal data and gets an internal note; a recently
// closed ticket and an old open one are untouched; a second run does
// nothing; a ticket whose recording cannot be deleted keeps everything.
func TestRetention(t *testing.T) {
	t.Parallel()
	e := newEnv(t, at("2026-01-05 09:00"))
	sys := tickets.Actor{Kind: tickets.ActorSystem, ID: "ivr"}
	mk := func(when, closeAt, rec string) tickets.Ticket {
		tk := e.open(t, at(when), tickets.NewCall{Caller: "+393331234567", Subject: "Richiesta da +393331234567", Group: "lotto6"})
		if _, err := e.store.AddAttachment(ctx, tk.ID, tickets.Attachment{Name: rec + ".wav", URI: "ari:recording:" + rec}, sys); err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.AddArticle(ctx, tk.ID, tickets.Article{Body: "Il signor Rossi chiede"}, sys); err != nil {
			t.Fatal(err)
		}
		if closeAt != "" {
			tk = e.update(t, at(closeAt), e.ticket(t, tk.ID), tickets.TicketUpdate{Status: ptr(tickets.StatusClosed)})
		}
		return tk
	}
	old := mk("2026-01-05 09:00", "2026-01-06 09:00", "old")
	stuck := mk("2026-01-05 09:00", "2026-01-06 09:00", "stuck")
	recent := mk("2026-01-05 09:00", "2026-03-01 09:00", "recent")
	openOld := mk("2026-01-05 09:00", "", "openold")

	now := at("2026-04-30 09:00") // 90 days after 30 January
	e.clk.Set(now)
	e.rec.fail = true
	if n, err := e.jobs.Retain(ctx, now); err == nil || n != 0 {
		t.Fatalf("Retain with Asterisk down: %d purged, %v", n, err)
	}
	e.rec.fail = false
	n, err := e.jobs.Retain(ctx, now)
	if err != nil || n != 2 {
		t.Fatalf("Retain: %d purged, %v; want 2", n, err)
	}
	if !slices.Equal(e.rec.names, []string{"old", "stuck"}) {
		t.Fatalf("recordings deleted %v, want old and stuck", e.rec.names)
	}
	got := e.ticket(t, old.ID)
	if got.Caller != "" || got.Subject != "" {
		t.Errorf("purged ticket keeps caller %q subject %q", got.Caller, got.Subject)
	}
	atts, _ := e.store.Attachments(ctx, old.ID, system)
	arts, _ := e.store.Articles(ctx, old.ID, system)
	if len(atts) != 0 || len(arts) != 2 || arts[0].Body != "[rimosso]" || !arts[1].Internal || !strings.Contains(arts[1].Body, "eliminati") {
		t.Errorf("purged ticket: attachments %+v, articles %+v", atts, arts)
	}
	for _, keep := range []tickets.Ticket{recent, openOld} {
		got := e.ticket(t, keep.ID)
		atts, _ := e.store.Attachments(ctx, keep.ID, system)
		arts, _ := e.store.Articles(ctx, keep.ID, system)
		if got.Caller == "" || len(atts) != 1 || len(arts) != 1 || arts[0].Body != "Il signor Rossi chiede" {
			t.Errorf("ticket %s touched: caller %q, %d attachments, articles %+v", got.Number, got.Caller, len(atts), arts)
		}
	}
	_ = stuck
	if n, err := e.jobs.Retain(ctx, now.Add(time.Hour)); err != nil || n != 0 || len(e.rec.names) != 2 {
		t.Fatalf("second run: %d purged, %v, deletions %v", n, err, e.rec.names)
	}
}

// TestRunnerTwoInstances: two runners (two ivrd instances) due at the same
// slot run the job once between them.
func TestRunnerTwoInstances(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	clk := testkit.NewClock(at("2026-11-23 09:00"))
	var runs atomic.Int64
	var runners []*Runner
	for i := range 2 {
		r, err := NewRunner(pool, RunnerOptions{Location: rome, Now: clk.Now, Instance: fmt.Sprint("ivrd", i)})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Add("tick", "0 * * * *", func(context.Context, time.Time, time.Time) error { runs.Add(1); return nil }); err != nil {
			t.Fatal(err)
		}
		runners = append(runners, r)
	}
	var wg sync.WaitGroup
	for _, r := range runners {
		wg.Go(func() {
			if err := r.RunDue(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if runs.Load() != 1 {
		t.Fatalf("job ran %d times, want 1", runs.Load())
	}
}

// TestRunnerCatchUp: an instance started after missed slots runs the job
// once, for the latest slot, with the previous run's slot; a failing run
// counts in the metrics and a good one sets the last success.
func TestRunnerCatchUp(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	clk := testkit.NewClock(at("2026-11-23 07:00"))
	type call struct{ prev, at time.Time }
	var calls []call
	fail := false
	reg := prometheus.NewRegistry()
	newRunner := func() *Runner {
		r, err := NewRunner(pool, RunnerOptions{Location: rome, Now: clk.Now, Registerer: reg})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Add("tick", "0 * * * *", func(_ context.Context, prev, at time.Time) error {
			calls = append(calls, call{prev, at})
			if fail {
				return errors.New("boom")
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return r
	}
	if err := newRunner().RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Set(at("2026-11-23 09:30")) // down from 07:00 to 09:30
	reg = prometheus.NewRegistry()
	r := newRunner()
	if err := r.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	want := []call{{time.Time{}, at("2026-11-23 07:00")}, {at("2026-11-23 07:00"), at("2026-11-23 09:00")}}
	if len(calls) != 2 || !calls[0].prev.IsZero() || !calls[0].at.Equal(want[0].at) || !calls[1].prev.Equal(want[1].prev) || !calls[1].at.Equal(want[1].at) {
		t.Fatalf("runs %v, want %v", calls, want)
	}
	if got := testkit.MetricValue(t, reg, "ivr_job_last_success_timestamp_seconds"); got != float64(at("2026-11-23 09:30").Unix()) {
		t.Errorf("last success %v", got)
	}
	fail = true
	clk.Set(at("2026-11-23 10:00"))
	if err := r.RunDue(ctx); err == nil {
		t.Fatal("failing run reported no error")
	}
	if got := testkit.MetricValue(t, reg, "ivr_job_failures_total"); got != 1 {
		t.Errorf("failures %v, want 1", got)
	}
}

// TestSummary: yesterday's summary goes to the supervisors once however
// often the job runs.
func TestSummary(t *testing.T) {
	t.Parallel()
	e := newEnv(t, at("2026-11-24 07:00"))
	for range 2 {
		if err := e.jobs.Summary(ctx, at("2026-11-24 07:00")); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	var body string
	if err := e.pool.QueryRow(ctx, `SELECT count(*), min(convert_from(message, 'UTF8')) FROM notify_outbox WHERE kind = 'summary' AND recipients = '{sup@helpdesk.test}'`).Scan(&n, &body); err != nil {
		t.Fatal(err)
	}
	if n != 1 || !strings.Contains(body, "2026-11-23") {
		t.Fatalf("%d summaries, body:\n%s", n, body)
	}
}

// TestSummaryServiceLevelPerGroup: the summary counts each group's calls
// against the group's own threshold, as the panel's reports do: answered
// after 25 s is in time for lotto7 (30 s) and late for lotto6 (20 s).
func TestSummaryServiceLevelPerGroup(t *testing.T) {
	t.Parallel()
	e := newEnv(t, at("2026-11-23 10:00"))
	e.jobs.cfg.ServiceLevelSeconds = 30
	for i, g := range []string{"lotto6", "lotto7"} {
		queued := at("2026-11-23 10:00").Add(time.Duration(i) * time.Minute)
		e.clk.Set(queued)
		c, _, err := e.store.OpenCall(ctx, tickets.NewCall{ChannelID: fmt.Sprintf("sl.%d", channels.Add(1)), Group: g})
		noErr(t, err)
		answered, op := queued.Add(25*time.Second), "op1"
		noErr(t, e.store.UpdateCall(ctx, c.ID, tickets.CallUpdate{QueuedAt: &queued, Group: &g}))
		noErr(t, e.store.UpdateCall(ctx, c.ID, tickets.CallUpdate{OperatorAnsweredAt: &answered, Operator: &op}))
		noErr(t, e.store.FinishCall(ctx, c.ID, tickets.CallEnd{EndedAt: answered.Add(time.Minute), Outcome: tickets.OutcomeAnswered}))
	}
	noErr(t, e.jobs.Summary(ctx, at("2026-11-24 07:00")))
	var body string
	noErr(t, e.pool.QueryRow(ctx, `SELECT convert_from(message, 'UTF8') FROM notify_outbox WHERE kind = 'summary'`).Scan(&body))
	_, qp, _ := strings.Cut(body, "\r\n\r\n")
	text, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(qp)))
	noErr(t, err)
	body = string(text)
	for _, want := range []string{"Gruppo lotto6: offerte 1, risposte 1, abbandonate 0, livello di servizio 0",
		"Gruppo lotto7: offerte 1, risposte 1, abbandonate 0, livello di servizio 100"} {
		if !strings.Contains(body, want) {
			t.Errorf("summary lacks %q:\n%s", want, body)
		}
	}
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
