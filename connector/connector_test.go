package connector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/connector/zammad"
	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/internal/testkit"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/tickets"
)

func TestMain(m *testing.M) { pgtest.Main(m, tickets.Migrate, Migrate) }

var (
	ctx  = context.Background()
	rome = testkit.MustLoad("Europe/Rome")
	t0   = time.Date(2025, 11, 24, 10, 0, 0, 0, rome)
	op   = tickets.Actor{Kind: tickets.ActorOperator, ID: "op2"}
)

const token = "zt-4f6b0c1e9a"

func config(url string) *menu.Zammad {
	return &menu.Zammad{URL: url, TokenEnv: "ZAMMAD_TOKEN", Customer: "centralino@comune.example.it", DefaultGroup: "Users",
		Groups:     map[string]string{"lotto1": "Primo livello", "lotto2": "Secondo livello"},
		Priorities: map[string]string{"critical": "3 high", "high": "3 high", "medium": "2 normal", "low": "1 low"},
		Categories: map[string]string{"PCT": "pct", "SNT": "snt"},
		States:     map[string]string{"new": "new", "in_progress": "open", "waiting": "pending reminder", "closed": "closed"},
		Statuses: map[string]string{"new": "new", "open": "in_progress", "pending reminder": "waiting",
			"closed": "closed", "merged": "closed"},
		PendingFor: 24 * time.Hour, PollInterval: time.Minute, Timeout: 2 * time.Second}
}

type env struct {
	t     *testing.T
	pool  *pgxpool.Pool
	clk   *testkit.Clock
	z     *stubZammad
	reg   *prometheus.Registry
	svc   *Service
	store *tickets.Store
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, pool: pgtest.Pool(t), clk: testkit.NewClock(t0), reg: prometheus.NewRegistry()}
	e.z = newStubZammad(t, token, e.clk.Now)
	e.svc = e.service(e.reg)
	e.store = e.storeOf(e.svc)
	return e
}

// service is a Service (an ivrd instance's) on the env's database.
func (e *env) service(reg prometheus.Registerer) *Service {
	e.t.Helper()
	svc, err := New(e.pool, Options{Config: config(e.z.srv.URL), Token: token, Now: e.clk.Now, Registerer: reg,
		Logger: slog.New(slog.NewTextHandler(e.t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	noErr(e.t, err)
	return svc
}

func (e *env) storeOf(svc *Service) *tickets.Store {
	return tickets.New(e.pool, tickets.Options{Location: rome, Now: e.clk.Now, Hook: svc.Hook,
		HookOnCreate: svc.WantsCreated, HookOnUpdate: svc.WantsUpdated, HookOnMessage: svc.WantsMessage})
}

var channels atomic.Int64

func (e *env) openTicket(subject string) tickets.Ticket {
	e.t.Helper()
	_, tk, err := e.store.OpenCall(ctx, tickets.NewCall{ChannelID: fmt.Sprintf("1795320990.%d", channels.Add(1)),
		Caller: "+390612345678", Subject: subject, Group: "lotto2", Organization: "tribunale-roma-demo",
		CallerRole: tickets.CallerReferent, Category: "PCT"})
	noErr(e.t, err)
	return tk
}

func (e *env) update(tk tickets.Ticket, u tickets.TicketUpdate) tickets.Ticket {
	e.t.Helper()
	u.Version = tk.Version
	out, err := e.store.UpdateTicket(ctx, tk.ID, u, op)
	noErr(e.t, err)
	return out
}

func (e *env) deliver(svc *Service) int {
	e.t.Helper()
	n, err := svc.DeliverPending(ctx)
	noErr(e.t, err)
	return n
}

func (e *env) link(tk tickets.Ticket) Link {
	e.t.Helper()
	l, ok, err := e.svc.Link(ctx, tk.ID)
	noErr(e.t, err)
	if !ok {
		e.t.Fatalf("ticket %s not linked", tk.Number)
	}
	return l
}

type row struct {
	Kind      string
	Attempts  int
	LastError string
	State     string // pending, delivered, failed
}

func (e *env) outbox(tk tickets.Ticket) []row {
	e.t.Helper()
	rows, err := e.pool.Query(ctx, `SELECT kind, attempts, last_error,
		CASE WHEN delivered_at IS NOT NULL THEN 'delivered' WHEN failed_at IS NOT NULL THEN 'failed' ELSE 'pending' END
		FROM connector_outbox WHERE ticket_id = $1 ORDER BY id`, tk.ID)
	noErr(e.t, err)
	defer rows.Close()
	var out []row
	for rows.Next() {
		var r row
		noErr(e.t, rows.Scan(&r.Kind, &r.Attempts, &r.LastError, &r.State))
		out = append(out, r)
	}
	noErr(e.t, rows.Err())
	return out
}

func noErr(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// body reads a JSON field of a recorded request, a.b for nested ones.
func body(r stubRequest, path string) any {
	var v any = r.Body
	for p := range strings.SplitSeq(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func TestCreateOnCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tk := e.openTicket("Login PCT non riuscito")
	if n := e.deliver(e.svc); n != 1 {
		t.Fatalf("delivered %d, want 1", n)
	}
	w := e.z.writes()
	if len(w) != 2 || w[0].Method != http.MethodPost || w[0].Path != "/api/v1/tickets" || w[1].Path != "/api/v1/tags/add" {
		t.Fatalf("requests %+v", w)
	}
	c := w[0]
	want := map[string]any{"title": "[" + string(tk.Number) + "] Login PCT non riuscito", "group": "Secondo livello",
		"customer_id": "guess:centralino@comune.example.it", "state": "new", "priority": "2 normal",
		"article.type": "phone", "article.internal": true, "article.content_type": "text/plain",
		"article.subject": "[" + string(tk.Number) + "] Login PCT non riuscito"}
	for k, v := range want {
		if got := body(c, k); got != v {
			t.Errorf("create %s = %v, want %v", k, got, v)
		}
	}
	if b, _ := body(c, "article.body").(string); !strings.Contains(b, "+390612345678") || !strings.Contains(b, "tribunale-roma-demo") {
		t.Errorf("first article %q lacks the caller", b)
	}
	if body(w[1], "item") != "pct" || body(w[1], "object") != "Ticket" {
		t.Errorf("tag %+v", w[1].Body)
	}
	l := e.link(tk)
	zt := e.z.ticket(l.ID)
	if l.Number != zt.Number || l.URL != e.z.srv.URL+"/#ticket/zoom/"+fmt.Sprint(l.ID) || l.State != "new" || l.System != "zammad" {
		t.Fatalf("link %+v, zammad ticket %+v", l, zt)
	}
	if got := testkit.MetricValue(t, e.reg, "ivr_connector_backlog"); got != 0 {
		t.Fatalf("backlog %v", got)
	}
	if n := e.deliver(e.svc); n != 0 || len(e.z.writes()) != 2 {
		t.Fatalf("sent again: %d", n)
	}
}

func TestUpdates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tk := e.openTicket("Deposito atti")
	inProgress, high, g1 := tickets.StatusInProgress, tickets.PriorityHigh, "lotto1"
	tk = e.update(tk, tickets.TicketUpdate{Status: &inProgress, Priority: &high, Group: &g1})
	waiting, cat, subj := tickets.StatusWaiting, "SNT", "Deposito atti telematico"
	tk = e.update(tk, tickets.TicketUpdate{Status: &waiting, Category: &cat, Subject: &subj})
	// An assignee is not synced: no row.
	who := "op2"
	e.update(tk, tickets.TicketUpdate{Assignee: &who})
	if n := e.deliver(e.svc); n != 3 {
		t.Fatalf("delivered %d, want 3 (%+v)", n, e.outbox(tk))
	}
	w := e.z.writes()
	paths := []string{}
	for _, r := range w {
		paths = append(paths, r.Method+" "+r.Path)
	}
	l := e.link(tk)
	put := fmt.Sprintf("PUT /api/v1/tickets/%d", l.ID)
	wantPaths := []string{"POST /api/v1/tickets", "POST /api/v1/tags/add", put, put, "DELETE /api/v1/tags/remove", "POST /api/v1/tags/add"}
	if !slices.Equal(paths, wantPaths) {
		t.Fatalf("requests %v, want %v", paths, wantPaths)
	}
	if w[2].Body["state"] != "open" || w[2].Body["priority"] != "3 high" || w[2].Body["group"] != "Primo livello" ||
		w[2].Body["pending_time"] != nil || len(w[2].Body) != 3 {
		t.Errorf("first update %+v", w[2].Body)
	}
	pending := e.clk.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
	if w[3].Body["state"] != "pending reminder" || w[3].Body["pending_time"] != pending ||
		w[3].Body["title"] != "["+string(tk.Number)+"] Deposito atti telematico" || len(w[3].Body) != 3 {
		t.Errorf("second update %+v, want pending_time %s", w[3].Body, pending)
	}
	if w[4].Body["item"] != "pct" || w[5].Body["item"] != "snt" {
		t.Errorf("tags %+v %+v", w[4].Body, w[5].Body)
	}
	zt := e.z.ticket(l.ID)
	if zt.State != "pending reminder" || zt.Group != "Primo livello" || !slices.Equal(zt.Tags, []string{"snt"}) {
		t.Fatalf("zammad ticket %+v", zt)
	}
	if l.State != "pending reminder" {
		t.Fatalf("link state %q, want the state set", l.State)
	}
}

func TestMessagesAsArticles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tk := e.openTicket("Messaggi")
	_, err := e.store.AddArticle(ctx, tk.ID, tickets.Article{Body: "Abbiamo reimpostato la password."}, op)
	noErr(t, err)
	_, err = e.store.AddArticle(ctx, tk.ID, tickets.Article{Body: "utente già noto", Internal: true}, op)
	noErr(t, err)
	if n := e.deliver(e.svc); n != 3 {
		t.Fatalf("delivered %d, want 3", n)
	}
	var arts []stubRequest
	for _, r := range e.z.writes() {
		if r.Path == "/api/v1/ticket_articles" {
			arts = append(arts, r)
		}
	}
	l := e.link(tk)
	if len(arts) != 2 {
		t.Fatalf("articles %+v", arts)
	}
	for i, want := range []struct {
		body     string
		internal bool
	}{{"Abbiamo reimpostato la password.", false}, {"utente già noto", true}} {
		a := arts[i].Body
		if a["body"] != want.body || a["internal"] != want.internal || a["type"] != "note" || a["content_type"] != "text/plain" ||
			a["ticket_id"] != float64(l.ID) {
			t.Errorf("article %d: %+v", i, a)
		}
	}
	if zt := e.z.ticket(l.ID); len(zt.Articles) != 3 || zt.Articles[2].Internal != true {
		t.Fatalf("zammad articles %+v", zt.Articles)
	}
}

// A 500 and a timeout are retried after the backoff; a 422 (a group
// Zammad does not know) is given up at once, with Zammad's message.
func TestRetries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var calls atomic.Int64
	e.z.setFail(func(r stubRequest) (int, string, bool) {
		if r.Path != "/api/v1/tickets" {
			return 0, "", false
		}
		switch calls.Add(1) {
		case 1:
			return http.StatusInternalServerError, `{"error":"Error ID xY1: Please contact your administrator."}`, true
		case 2:
			return 0, "", true // held until the client's timeout
		}
		return 0, "", false
	})
	tk := e.openTicket("Ritenta")
	if n := e.deliver(e.svc); n != 0 {
		t.Fatalf("delivered %d on a 500", n)
	}
	r := e.outbox(tk)
	if len(r) != 1 || r[0].State != "pending" || r[0].Attempts != 1 || !strings.Contains(r[0].LastError, "500") ||
		!strings.Contains(r[0].LastError, "Please contact your administrator") {
		t.Fatalf("after a 500: %+v", r)
	}
	// Not due before the backoff.
	e.clk.Advance(29 * time.Second)
	if n := e.deliver(e.svc); n != 0 || calls.Load() != 1 {
		t.Fatalf("retried before the backoff (%d calls)", calls.Load())
	}
	e.clk.Advance(time.Second)
	if n := e.deliver(e.svc); n != 0 {
		t.Fatal("delivered on a timeout")
	}
	if r := e.outbox(tk); r[0].Attempts != 2 || !strings.Contains(r[0].LastError, "deadline exceeded") {
		t.Fatalf("after a timeout: %+v", r)
	}
	e.clk.Advance(time.Minute)
	if n := e.deliver(e.svc); n != 1 {
		t.Fatalf("delivered %d after the backoff", n)
	}
	if got := testkit.MetricValue(t, e.reg, "ivr_connector_backlog"); got != 0 {
		t.Fatalf("backlog %v", got)
	}
	retries := testutilCounter(t, e.reg, "retry")
	if retries != 2 || testutilCounter(t, e.reg, "delivered") != 1 {
		t.Fatalf("retry %v delivered %v", retries, testutilCounter(t, e.reg, "delivered"))
	}

	// Refused: Zammad does not know the group.
	e.z.setFail(func(r stubRequest) (int, string, bool) {
		if r.Method == http.MethodPut {
			return http.StatusUnprocessableEntity, `{"error":"No lookup value found for 'group': \"Secondo livello\"","error_human":"No lookup value found for 'group': \"Secondo livello\""}`, true
		}
		return 0, "", false
	})
	closed := tickets.StatusClosed
	e.update(e.find(tk), tickets.TicketUpdate{Status: &closed})
	if n := e.deliver(e.svc); n != 0 {
		t.Fatal("a refused update delivered")
	}
	r = e.outbox(tk)
	if r[1].State != "failed" || r[1].Attempts != 1 || !strings.Contains(r[1].LastError, "422") ||
		!strings.Contains(r[1].LastError, "No lookup value found for 'group'") {
		t.Fatalf("refused: %+v", r[1])
	}
	if testutilCounter(t, e.reg, "failed") != 1 {
		t.Fatal("failed not counted")
	}
}

// testutilCounter is ivr_connector_deliveries_total{result}.
func testutilCounter(t *testing.T, reg *prometheus.Registry, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	noErr(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "ivr_connector_deliveries_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no ivr_connector_deliveries_total{result=%q}", result)
	return 0
}

func (e *env) find(tk tickets.Ticket) tickets.Ticket {
	e.t.Helper()
	out, err := e.store.FindTicketByID(ctx, tk.ID, tickets.Viewer{Kind: tickets.ViewerSystem})
	noErr(e.t, err)
	return out
}

// A ticket's changes wait for its earlier ones; another ticket's do not.
func TestOrderPerTicket(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.openTicket("Primo")
	var failA atomic.Bool
	failA.Store(true)
	e.z.setFail(func(r stubRequest) (int, string, bool) {
		if failA.Load() && r.Path == "/api/v1/tickets" && strings.Contains(fmt.Sprint(r.Body["title"]), "Primo") {
			return http.StatusServiceUnavailable, `{"error":"maintenance"}`, true
		}
		return 0, "", false
	})
	inProgress, closed := tickets.StatusInProgress, tickets.StatusClosed
	a = e.update(a, tickets.TicketUpdate{Status: &inProgress})
	e.update(a, tickets.TicketUpdate{Status: &closed})
	b := e.openTicket("Secondo")
	if n := e.deliver(e.svc); n != 1 {
		t.Fatalf("delivered %d, want only the other ticket's creation", n)
	}
	if r := e.outbox(a); r[0].State != "pending" || r[1].Attempts != 0 || r[2].Attempts != 0 {
		t.Fatalf("a's later changes were tried before its creation: %+v", r)
	}
	e.link(b)
	failA.Store(false)
	e.clk.Advance(time.Minute)
	if n := e.deliver(e.svc); n != 3 {
		t.Fatalf("delivered %d, want a's three", n)
	}
	var states []string
	for _, r := range e.z.writes() {
		if r.Method == http.MethodPut {
			states = append(states, fmt.Sprint(r.Body["state"]))
		}
	}
	if !slices.Equal(states, []string{"open", "closed"}) {
		t.Fatalf("states sent %v, want open then closed", states)
	}
	if e.z.ticket(e.link(a).ID).State != "closed" {
		t.Fatal("a not closed in Zammad")
	}
}

// Changes written while ivrd runs are sent by the next ivrd: one that
// stopped before sending them, and one whose send was cut (the row's
// transaction rolled back with the process).
func TestNoLossAcrossRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tk := e.openTicket("Prima del riavvio")
	inProgress := tickets.StatusInProgress
	e.update(tk, tickets.TicketUpdate{Status: &inProgress})
	// The first instance starts sending and dies in the middle: its
	// request is held, its context cancelled.
	held := make(chan struct{})
	var once atomic.Bool
	e.z.setFail(func(r stubRequest) (int, string, bool) {
		if r.Path == "/api/v1/tickets" && once.CompareAndSwap(false, true) {
			close(held)
			return 0, "", true
		}
		return 0, "", false
	})
	dctx, die := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { _, err := e.svc.DeliverPending(dctx); done <- err }()
	select {
	case <-held:
	case <-time.After(30 * time.Second):
		t.Fatal("the first instance sent nothing")
	}
	die()
	<-done
	if r := e.outbox(tk); r[0].State != "pending" || r[0].Attempts != 0 {
		t.Fatalf("after the crash: %+v", r)
	}
	// The next instance: a new Service and store on the same database. The
	// dead instance's row lock goes when PostgreSQL notices its connection
	// closed, a moment later (until then SKIP LOCKED passes the row by, as
	// a poll in production would, and the next poll sends it).
	next := e.service(nil)
	sent := 0
	for deadline := time.Now().Add(30 * time.Second); sent < 2 && time.Now().Before(deadline); {
		sent += e.deliver(next)
		if sent < 2 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if sent != 2 {
		t.Fatalf("the next instance delivered %d, want 2", sent)
	}
	l := e.link(tk)
	if zt := e.z.ticket(l.ID); zt.State != "open" {
		t.Fatalf("zammad ticket %+v", zt)
	}
}

// A creation Zammad made but whose answer was lost with ivrd is found by
// the next attempt (our number in the title), not made twice.
func TestNoDuplicateCreationAfterCrash(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tk := e.openTicket("Risposta persa")
	held := make(chan struct{})
	var once atomic.Bool
	e.z.setFail(func(r stubRequest) (int, string, bool) {
		if r.Path == "/api/v1/tickets" && r.Method == http.MethodPost && once.CompareAndSwap(false, true) {
			close(held)
			return processThenHold, "", true
		}
		return 0, "", false
	})
	dctx, die := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { _, err := e.svc.DeliverPending(dctx); done <- err }()
	select {
	case <-held:
	case <-time.After(30 * time.Second):
		t.Fatal("nothing sent")
	}
	die()
	<-done
	if _, ok, _ := e.svc.Link(ctx, tk.ID); ok {
		t.Fatal("linked although the process died before its commit")
	}
	if n := e.deliver(e.service(nil)); n != 1 {
		t.Fatalf("delivered %d", n)
	}
	creates := 0
	for _, r := range e.z.writes() {
		if r.Method == http.MethodPost && r.Path == "/api/v1/tickets" {
			creates++
		}
	}
	l := e.link(tk)
	if creates != 1 || e.z.count() != 1 || e.z.ticket(l.ID).Number != l.Number {
		t.Fatalf("%d creations, %d Zammad tickets, link %+v", creates, e.z.count(), l)
	}
	var markers int
	noErr(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM connector_creating`).Scan(&markers))
	if markers != 0 {
		t.Fatalf("%d creation markers left", markers)
	}
}

// A state set in Zammad comes back to our ticket as the actor zammad,
// and is not pushed back; our own change pushed there is not pulled back.
func TestPullState(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tk := e.openTicket("Da chiudere in Zammad")
	other := e.openTicket("Resta nuovo")
	e.deliver(e.svc)
	l := e.link(tk)
	e.clk.Advance(5 * time.Minute)
	e.z.agentSets(l.ID, "closed")
	n, err := e.svc.Pull(ctx, e.store)
	noErr(t, err)
	if n != 1 {
		t.Fatalf("pulled %d, want 1", n)
	}
	got := e.find(tk)
	if got.Status != tickets.StatusClosed {
		t.Fatalf("status %s, want closed", got.Status)
	}
	h, err := e.store.History(ctx, tk.ID, tickets.Viewer{Kind: tickets.ViewerSystem})
	noErr(t, err)
	if last := h[len(h)-1]; last.Actor != Actor {
		t.Fatalf("history %+v, want the actor zammad", h)
	}
	if e.find(other).Status != tickets.StatusNew {
		t.Fatal("the other ticket changed")
	}
	if got := testkit.MetricValue(t, e.reg, "ivr_connector_last_sync_timestamp_seconds"); got != float64(e.clk.Now().Unix()) {
		t.Fatalf("last sync %v", got)
	}
	// No echo: the pulled change is not in the outbox.
	writes := len(e.z.writes())
	if n := e.deliver(e.svc); n != 0 || len(e.z.writes()) != writes {
		t.Fatalf("the pulled change was pushed back (%d)", n)
	}
	// Pulled again: nothing new.
	e.clk.Advance(time.Minute)
	if n, err := e.svc.Pull(ctx, e.store); err != nil || n != 0 {
		t.Fatalf("second pull: %d %v", n, err)
	}
	// Our change goes to Zammad and is not applied again when its
	// update shows in the search.
	reopen := tickets.StatusInProgress
	e.update(got, tickets.TicketUpdate{Status: &reopen})
	e.deliver(e.svc)
	if zt := e.z.ticket(l.ID); zt.State != "open" {
		t.Fatalf("zammad state %q", zt.State)
	}
	e.clk.Advance(time.Minute)
	if n, err := e.svc.Pull(ctx, e.store); err != nil || n != 0 {
		t.Fatalf("our own change pulled back: %d %v", n, err)
	}
	h2, err := e.store.History(ctx, tk.ID, tickets.Viewer{Kind: tickets.ViewerSystem})
	noErr(t, err)
	if last := h2[len(h2)-1]; last.Actor != op {
		t.Fatalf("history ends with %+v", last)
	}
	// A state our workflow refuses (closed → waiting is not a step) is
	// noted and skipped, not retried for ever.
	e.z.agentSets(l.ID, "closed")
	e.clk.Advance(time.Minute)
	_, err = e.svc.Pull(ctx, e.store)
	noErr(t, err)
	e.z.agentSets(l.ID, "pending reminder")
	e.clk.Advance(time.Minute)
	if n, err := e.svc.Pull(ctx, e.store); err != nil || n != 0 {
		t.Fatalf("refused step: %d %v", n, err)
	}
	if s := e.find(tk).Status; s != tickets.StatusClosed {
		t.Fatalf("status %s", s)
	}
}

// racingStore changes the ticket behind the connector's back once, between
// its read and its write.
type racingStore struct {
	*tickets.Store
	e     *env
	raced atomic.Bool
}

func (r *racingStore) FindTicketByID(ctx context.Context, id int64, v tickets.Viewer) (tickets.Ticket, error) {
	tk, err := r.Store.FindTicketByID(ctx, id, v)
	if err == nil && r.raced.CompareAndSwap(false, true) {
		high := tickets.PriorityHigh
		r.e.update(tk, tickets.TicketUpdate{Priority: &high})
	}
	return tk, err
}

// A pull whose write finds the ticket changed since its read reads it
// again and sets the status.
func TestPullRetriesStale(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tk := e.openTicket("Modificato nel frattempo")
	e.deliver(e.svc)
	e.clk.Advance(time.Minute)
	e.z.agentSets(e.link(tk).ID, "open")
	rs := &racingStore{Store: e.store, e: e}
	if n, err := e.svc.Pull(ctx, rs); err != nil || n != 1 {
		t.Fatalf("pulled %d: %v", n, err)
	}
	got := e.find(tk)
	if !rs.raced.Load() || got.Status != tickets.StatusInProgress || got.Priority != tickets.PriorityHigh {
		t.Fatalf("ticket %+v", got)
	}
}

// A pull reads every page of the search.
func TestPullPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc, err := New(e.pool, Options{Config: config(e.z.srv.URL), Token: token, Now: e.clk.Now, PageSize: 2})
	noErr(t, err)
	var all []tickets.Ticket
	for i := range 5 {
		all = append(all, e.openTicket(fmt.Sprintf("Pagina %d", i)))
	}
	e.deliver(svc)
	e.clk.Advance(time.Minute)
	for _, tk := range all {
		l, _, err := svc.Link(ctx, tk.ID)
		noErr(t, err)
		e.z.agentSets(l.ID, "open")
	}
	n, err := svc.Pull(ctx, e.store)
	noErr(t, err)
	if n != 5 {
		t.Fatalf("pulled %d of 5", n)
	}
	searches := 0
	for _, r := range e.z.got() {
		if r.Path == "/api/v1/tickets/search" {
			searches++
		}
	}
	if searches != 3 {
		t.Fatalf("%d searches, want 3 pages", searches)
	}
}

func TestClientErrors(t *testing.T) {
	t.Parallel()
	z := newStubZammad(t, token, time.Now)
	c, err := zammad.New(z.srv.URL, "wrong", zammad.Options{})
	noErr(t, err)
	_, err = c.GetTicket(ctx, 1)
	var ze *zammad.Error
	if !errors.As(err, &ze) || ze.Status != http.StatusUnauthorized || ze.Message != "Authentication failed" || !ze.Retry {
		t.Fatalf("wrong token: %#v", err)
	}
	c, err = zammad.New(z.srv.URL, token, zammad.Options{})
	noErr(t, err)
	_, err = c.GetTicket(ctx, 99)
	if !errors.As(err, &ze) || ze.Status != http.StatusNotFound || ze.Retry || !strings.Contains(err.Error(), "Couldn't find Ticket") {
		t.Fatalf("missing ticket: %v", err)
	}
	c, err = zammad.New(z.srv.URL, token, zammad.Options{MaxBody: 64})
	noErr(t, err)
	z.setFail(func(stubRequest) (int, string, bool) {
		return http.StatusOK, `{"id": 1, "title": "` + strings.Repeat("x", 100) + `"}`, true
	})
	if _, err := c.GetTicket(ctx, 1); err == nil || !strings.Contains(err.Error(), "larger than 64 bytes") {
		t.Fatalf("large answer: %v", err)
	}
}

func TestToken(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "token")
	noErr(t, os.WriteFile(file, []byte("from-file\n"), 0o600))
	z := &menu.Zammad{TokenEnv: "ZAMMAD_TOKEN", TokenFile: file}
	env := map[string]string{}
	get := func(k string) string { return env[k] }
	if tok, err := Token(z, get); err != nil || tok != "from-file" {
		t.Fatalf("file: %q %v", tok, err)
	}
	env["ZAMMAD_TOKEN"] = "from-env"
	if tok, err := Token(z, get); err != nil || tok != "from-env" {
		t.Fatalf("env: %q %v", tok, err)
	}
	if _, err := Token(&menu.Zammad{TokenEnv: "NOPE"}, get); err == nil {
		t.Fatal("no token, no error")
	}
}

// menu keeps its own list of the statuses (it imports no tickets).
func TestStatusesAgree(t *testing.T) {
	t.Parallel()
	var ours []string
	for _, s := range tickets.Statuses {
		ours = append(ours, string(s))
	}
	if !slices.Equal(ours, menu.TicketStatuses) {
		t.Fatalf("menu.TicketStatuses %v, tickets.Statuses %v", menu.TicketStatuses, ours)
	}
}
