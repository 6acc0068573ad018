package webhooks

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/internal/testkit"
	"github.com/helpdesk-ivr/ivr/tickets"
)

func TestMain(m *testing.M) { pgtest.Main(m, tickets.Migrate, Migrate) }

var (
	ctx  = context.Background()
	rome = testkit.MustLoad("Europe/Rome")
	t0   = time.Date(2025, 11, 24, 10, 0, 0, 0, rome)
)

// received is one request the receiver got, its signature checked as the
// README tells a receiver to.
type received struct {
	id, event string
	ticket    int64
	validSig  bool
	body      []byte
}

// receiver is a real HTTP server on loopback; answer decides each
// request's status (it may block, to make the delivery time out).
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	secret atomic.Pointer[string]
	mu     sync.Mutex
	got    []received
	answer atomic.Pointer[func(r received) int]
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{t: t}
	ok := func(received) int { return http.StatusNoContent }
	rc.answer.Store(&ok)
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		var env struct {
			ID   string `json:"id"`
			Type string `json:"type"`
			Data struct {
				Ticket struct {
					ID int64 `json:"id"`
				} `json:"ticket"`
			} `json:"data"`
		}
		_ = json.Unmarshal(b, &env)
		got := received{id: r.Header.Get("Webhook-Id"), event: env.Type, ticket: env.Data.Ticket.ID, body: b}
		if s := rc.secret.Load(); s != nil {
			got.validSig = verify(*s, r.Header.Get("Webhook-Timestamp"), r.Header.Get("Webhook-Signature"), b)
		}
		if got.id != env.ID || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			got.validSig = false
		}
		rc.mu.Lock()
		rc.got = append(rc.got, got)
		rc.mu.Unlock()
		code := (*rc.answer.Load())(got)
		if code == 0 { // hold the request until the client gives up
			<-r.Context().Done()
			return
		}
		if code >= 300 && code < 400 {
			w.Header().Set("Location", rc.srv.URL+"/elsewhere")
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

// verify is the receiver's check, written from the README's recipe (not
// with the package's Sign).
func verify(secret, ts, sig string, body []byte) bool {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "." + string(body)))
	want := "v1=" + hex.EncodeToString(m.Sum(nil))
	return hmac.Equal([]byte(sig), []byte(want))
}

func (rc *receiver) received() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func (rc *receiver) setAnswer(f func(received) int) { rc.answer.Store(&f) }

type env struct {
	t     *testing.T
	pool  *pgxpool.Pool
	clk   *testkit.Clock
	svc   *Service
	store *tickets.Store
	rc    *receiver
	sub   Subscription
}

func newEnv(t *testing.T, events ...string) *env {
	t.Helper()
	e := &env{t: t, pool: pgtest.Pool(t), clk: testkit.NewClock(t0), rc: newReceiver(t)}
	e.svc = e.service(Options{Timeout: 2 * time.Second})
	e.store = tickets.New(e.pool, tickets.Options{Location: rome, Now: e.clk.Now, Hook: e.svc.Hook,
		HookOnCreate: e.svc.WantsCreated, HookOnUpdate: e.svc.WantsUpdated, HookOnMessage: e.svc.WantsMessage})
	if len(events) == 0 {
		events = []string{TicketCreated, TicketUpdated}
	}
	var secret string
	var err error
	e.sub, secret, err = e.svc.Create(ctx, NewSubscription{URL: e.rc.srv.URL + "/hook", Events: events, CreatedBy: "adm"})
	noErr(t, err)
	e.rc.secret.Store(&secret)
	return e
}

// service is a Service (a worker) on the env's database and clock.
func (e *env) service(o Options) *Service {
	o.Now = e.clk.Now
	if o.AllowNetworks == nil { // the receiver is on loopback
		o.AllowNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	}
	o.Logger = slog.New(slog.NewTextHandler(e.t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	return New(e.pool, o)
}

var channels atomic.Int64

func (e *env) openTicket(subject string) tickets.Ticket {
	e.t.Helper()
	_, tk, err := e.store.OpenCall(ctx, tickets.NewCall{ChannelID: fmt.Sprintf("1795320990.%d", channels.Add(1)),
		Caller: "+390612345678", Subject: subject, Group: "lotto2", Organization: "tribunale-roma-demo",
		CallerRole: tickets.CallerReferent})
	noErr(e.t, err)
	return tk
}

func (e *env) setStatus(tk tickets.Ticket, st tickets.Status) tickets.Ticket {
	e.t.Helper()
	out, err := e.store.UpdateTicket(ctx, tk.ID, tickets.TicketUpdate{Version: tk.Version, Status: &st},
		tickets.Actor{Kind: tickets.ActorOperator, ID: "op2"})
	noErr(e.t, err)
	return out
}

func (e *env) deliver(svc *Service) int {
	e.t.Helper()
	n, err := svc.DeliverPending(ctx)
	noErr(e.t, err)
	return n
}

func (e *env) deliveries() []Delivery {
	e.t.Helper()
	d, err := e.svc.Deliveries(ctx, e.sub.ID, 100)
	noErr(e.t, err)
	return d
}

func noErr(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestWebhookSignedDelivery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tk := e.openTicket("Login PCT")
	tk = e.setStatus(tk, tickets.StatusInProgress)
	if n := e.deliver(e.svc); n != 2 {
		t.Fatalf("delivered %d, want 2", n)
	}
	got := e.rc.received()
	if len(got) != 2 || got[0].event != TicketCreated || got[1].event != TicketUpdated {
		t.Fatalf("received %+v", got)
	}
	for _, g := range got {
		if !g.validSig || g.ticket != tk.ID || g.id == "" {
			t.Fatalf("delivery %+v: signature or body wrong", g)
		}
	}
	var body struct {
		Data TicketData `json:"data"`
	}
	noErr(t, json.Unmarshal(got[1].body, &body))
	if body.Data.Ticket.Status != "in_progress" || body.Data.Actor != "operator:op2" || len(body.Data.Changes) == 0 ||
		body.Data.Changes[0].Field != "status" {
		t.Fatalf("ticket.updated data %+v", body.Data)
	}
	// A receiver with another secret refuses the signature.
	if verify("whsec_other", strconv.FormatInt(t0.Unix(), 10), Sign("whsec_other", t0.Unix()+1, got[0].body), got[0].body) {
		t.Fatal("a signature of another timestamp verified")
	}
	for _, d := range e.deliveries() {
		if d.State != StateDelivered || d.Attempts != 1 || d.ResponseCode != http.StatusNoContent {
			t.Fatalf("log %+v", d)
		}
	}
	// Nothing is due any more.
	if n := e.deliver(e.svc); n != 0 || len(e.rc.received()) != 2 {
		t.Fatalf("delivered again: %d", n)
	}
}

func TestWebhookOnlySubscribedEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t, TicketUpdated)
	tk := e.openTicket("Only updates")
	e.setStatus(tk, tickets.StatusInProgress)
	e.deliver(e.svc)
	got := e.rc.received()
	if len(got) != 1 || got[0].event != TicketUpdated {
		t.Fatalf("received %+v, want the update only", got)
	}
}

// A message added to a ticket (public or internal note) goes out as
// ticket.message, with the ticket and the article.
func TestWebhookTicketMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, TicketMessage)
	tk := e.openTicket("Messages")
	op := tickets.Actor{Kind: tickets.ActorOperator, ID: "op2"}
	_, err := e.store.AddArticle(ctx, tk.ID, tickets.Article{Body: "Abbiamo reimpostato la password."}, op)
	noErr(t, err)
	_, err = e.store.AddArticle(ctx, tk.ID, tickets.Article{Body: "utente già noto", Internal: true}, op)
	noErr(t, err)
	if n := e.deliver(e.svc); n != 2 {
		t.Fatalf("delivered %d, want 2", n)
	}
	got := e.rc.received()
	var msgs []Message
	for _, g := range got {
		var body struct {
			Data TicketData `json:"data"`
		}
		noErr(t, json.Unmarshal(g.body, &body))
		if g.event != TicketMessage || !g.validSig || body.Data.Ticket.ID != tk.ID || body.Data.Message == nil || body.Data.Actor != "operator:op2" {
			t.Fatalf("delivery %+v: %+v", g, body.Data)
		}
		msgs = append(msgs, *body.Data.Message)
	}
	if msgs[0].Body != "Abbiamo reimpostato la password." || msgs[0].Internal || msgs[1].Body != "utente già noto" || !msgs[1].Internal ||
		msgs[0].Author != "op2" || msgs[0].ID == 0 {
		t.Fatalf("messages %+v", msgs)
	}
}

func TestWebhookRetriesAfter500AndTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := e.service(Options{Timeout: 100 * time.Millisecond, BackoffBase: time.Minute})
	var calls atomic.Int32
	e.rc.setAnswer(func(received) int {
		switch calls.Add(1) {
		case 1:
			return http.StatusInternalServerError
		case 2:
			return 0 // timeout
		case 3:
			return http.StatusTooManyRequests
		}
		return http.StatusOK
	})
	e.openTicket("Retry me")
	if n := e.deliver(w); n != 0 {
		t.Fatalf("delivered %d after a 500", n)
	}
	d := e.deliveries()[0]
	if d.State != StatePending || d.Attempts != 1 || d.ResponseCode != 500 || !d.NextAttemptAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("after a 500: %+v", d)
	}
	if n := e.deliver(w); n != 0 || calls.Load() != 1 {
		t.Fatal("retried before its time")
	}
	e.clk.Advance(time.Minute)
	e.deliver(w)
	d = e.deliveries()[0]
	if d.Attempts != 2 || d.ResponseCode != 0 || d.LastError == "" || !d.NextAttemptAt.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("after a timeout: %+v", d)
	}
	e.clk.Advance(2 * time.Minute)
	e.deliver(w)
	e.clk.Advance(4 * time.Minute)
	if n := e.deliver(w); n != 1 {
		t.Fatalf("fourth attempt delivered %d", n)
	}
	d = e.deliveries()[0]
	if d.State != StateDelivered || d.Attempts != 4 || d.ResponseCode != 200 || d.LastError != "" {
		t.Fatalf("delivered: %+v", d)
	}
	got := e.rc.received()
	for _, g := range got[1:] {
		if g.id != got[0].id || !g.validSig {
			t.Fatalf("a retry changed the Webhook-Id or its signature: %+v", got)
		}
	}
}

func TestWebhookClientErrorGivesUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.rc.setAnswer(func(received) int { return http.StatusGone })
	e.openTicket("Refused")
	e.deliver(e.svc)
	d := e.deliveries()
	if len(d) != 1 || d[0].State != StateFailed || d[0].Attempts != 1 || d[0].ResponseCode != http.StatusGone {
		t.Fatalf("after a 410: %+v", d)
	}
	// Redelivery: a new delivery of the same event, which goes out.
	e.rc.setAnswer(func(received) int { return http.StatusOK })
	_, err := e.svc.Redeliver(ctx, e.sub.ID, d[0].ID)
	noErr(t, err)
	if n := e.deliver(e.svc); n != 1 {
		t.Fatalf("redelivered %d", n)
	}
	got := e.rc.received()
	if len(got) != 2 || got[1].id != got[0].id || string(got[1].body) != string(got[0].body) || !got[1].validSig {
		t.Fatalf("redelivery %+v", got)
	}
	// A pending delivery is not redelivered (it goes out anyway).
	e.rc.setAnswer(func(received) int { return http.StatusServiceUnavailable })
	e.openTicket("Pending")
	e.deliver(e.svc)
	if _, err := e.svc.Redeliver(ctx, e.sub.ID, e.deliveries()[0].ID); err == nil {
		t.Fatal("a pending delivery was redelivered")
	}
}

func TestWebhookOrderPerTicket(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.openTicket("Ticket A")
	b := e.openTicket("Ticket B")
	a = e.setStatus(a, tickets.StatusInProgress)
	e.setStatus(a, tickets.StatusWaiting)
	// A's first delivery fails: A's later ones wait, B's go.
	var failedA atomic.Bool
	e.rc.setAnswer(func(r received) int {
		if r.ticket == a.ID && failedA.CompareAndSwap(false, true) {
			return http.StatusBadGateway
		}
		return http.StatusOK
	})
	if n := e.deliver(e.svc); n != 1 {
		t.Fatalf("delivered %d, want B's only", n)
	}
	got := e.rc.received()
	if len(got) != 2 || got[0].ticket != a.ID || got[1].ticket != b.ID {
		t.Fatalf("received %+v", got)
	}
	e.clk.Advance(time.Hour)
	if n := e.deliver(e.svc); n != 3 {
		t.Fatalf("delivered %d, want A's three", n)
	}
	var events []string
	for _, g := range e.rc.received()[2:] {
		if g.ticket != a.ID {
			t.Fatalf("unexpected %+v", g)
		}
		var body struct {
			Data TicketData `json:"data"`
		}
		noErr(t, json.Unmarshal(g.body, &body))
		events = append(events, g.event+"/"+body.Data.Ticket.Status)
	}
	want := []string{"ticket.created/new", "ticket.updated/in_progress", "ticket.updated/waiting"}
	if fmt.Sprint(events) != fmt.Sprint(want) {
		t.Fatalf("A's order %v, want %v", events, want)
	}
}

func TestWebhookNoDeliveryLostAcrossRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first := e.service(Options{Timeout: time.Minute})
	held := make(chan struct{})
	var once sync.Once
	e.rc.setAnswer(func(received) int {
		once.Do(func() { close(held) })
		return 0 // hold until the worker goes away
	})
	tk := e.openTicket("Across a restart")
	e.setStatus(tk, tickets.StatusInProgress)
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { _, err := first.DeliverPending(wctx); done <- err }()
	select {
	case <-held:
	case <-time.After(30 * time.Second):
		t.Fatal("the first worker never posted")
	}
	stop() // the worker stops in the middle of a delivery
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the first worker did not stop")
	}
	for _, d := range e.deliveries() {
		if d.State != StatePending {
			t.Fatalf("after the stop: %+v", d)
		}
	}
	e.rc.setAnswer(func(received) int { return http.StatusOK })
	second := e.service(Options{})
	if n := e.deliver(second); n != 2 {
		t.Fatalf("the new worker delivered %d, want 2", n)
	}
	got := e.rc.received()
	if got[len(got)-2].event != TicketCreated || got[len(got)-1].event != TicketUpdated {
		t.Fatalf("received %+v", got)
	}
}

func TestWebhookPausedAfterADayOfFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.rc.setAnswer(func(received) int { return http.StatusInternalServerError })
	e.openTicket("Never delivered")
	for range 30 {
		e.deliver(e.svc)
		sub, err := e.svc.Get(ctx, e.sub.ID)
		noErr(t, err)
		if !sub.Active {
			if e.clk.Now().Sub(t0) < 24*time.Hour || sub.PausedReason == "" {
				t.Fatalf("paused at %v: %+v", e.clk.Now().Sub(t0), sub)
			}
			break
		}
		e.clk.Advance(time.Hour)
	}
	sub, err := e.svc.Get(ctx, e.sub.ID)
	noErr(t, err)
	if sub.Active {
		t.Fatal("still active after a day of failures")
	}
	// Paused: nothing is attempted, and new events still queue.
	n := len(e.rc.received())
	e.openTicket("While paused")
	e.clk.Advance(2 * time.Hour)
	e.deliver(e.svc)
	if len(e.rc.received()) != n {
		t.Fatal("a paused subscription was delivered to")
	}
	// Resumed: what waited goes out.
	e.rc.setAnswer(func(received) int { return http.StatusOK })
	_, err = e.svc.SetActive(ctx, e.sub.ID, true, "")
	noErr(t, err)
	if d := e.deliver(e.svc); d != 2 {
		t.Fatalf("after resuming delivered %d, want 2", d)
	}
}

func TestWebhookSuccessResetsFailureClock(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var fail atomic.Bool
	fail.Store(true)
	e.rc.setAnswer(func(received) int {
		if fail.Load() {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	e.openTicket("First")
	e.deliver(e.svc)
	e.clk.Advance(20 * time.Hour)
	fail.Store(false)
	e.deliver(e.svc)
	fail.Store(true)
	e.openTicket("Second")
	e.deliver(e.svc)
	e.clk.Advance(5 * time.Hour) // 25 h since the first failure, 5 since the last success
	e.deliver(e.svc)
	sub, err := e.svc.Get(ctx, e.sub.ID)
	noErr(t, err)
	if !sub.Active {
		t.Fatalf("paused although it succeeded 5 h ago: %+v", sub)
	}
}

func TestWebhookSubscriptionChecks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, ns := range []NewSubscription{
		{URL: "ftp://example.org/x", Events: []string{TicketCreated}},
		{URL: "file:///etc/passwd", Events: []string{TicketCreated}},
		{URL: "/relative", Events: []string{TicketCreated}},
		{URL: "https://user:pw@example.org/", Events: []string{TicketCreated}},
		{URL: "https://example.org/", Events: nil},
		{URL: "https://example.org/", Events: []string{"ticket.deleted"}},
	} {
		if _, _, err := e.svc.Create(ctx, ns); err == nil {
			t.Errorf("%+v accepted", ns)
		}
	}
	sub, secret, err := e.svc.Create(ctx, NewSubscription{URL: "https://example.org/hook",
		Events: []string{SurveyRated, CallbackRequested, CallEnded, CallEnded}, CreatedBy: "adm"})
	noErr(t, err)
	if len(secret) < 40 || fmt.Sprint(sub.Events) != "[call.ended callback.requested survey.rated]" {
		t.Fatalf("created %+v %q", sub, secret)
	}
	noErr(t, e.svc.Delete(ctx, sub.ID))
	if err := e.svc.Delete(ctx, sub.ID); err == nil {
		t.Fatal("deleted twice")
	}
	// Wants follows the active subscriptions.
	if !e.svc.Wants(TicketCreated) || e.svc.Wants(CallEnded) {
		t.Fatal("Wants does not follow the subscriptions")
	}
	noErr(t, e.svc.Delete(ctx, e.sub.ID))
	if e.svc.Wants(TicketCreated) {
		t.Fatal("Wants true without subscriptions")
	}
}

func TestWebhookAsyncCallEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t, CallStarted, CallEnded)
	a := e.svc.StartAsync(16)
	a.Emit(Event{Type: CallStarted, OrderKey: "call:c1", At: t0, Data: map[string]string{"call_id": "c1"}})
	a.Emit(Event{Type: CallRouted, OrderKey: "call:c1", At: t0, Data: map[string]string{"call_id": "c1"}}) // not subscribed
	a.Emit(Event{Type: CallEnded, OrderKey: "call:c1", At: t0, Data: map[string]string{"call_id": "c1"}})
	a.Close()
	if n := e.deliver(e.svc); n != 2 || a.Dropped() != 0 {
		t.Fatalf("delivered %d (dropped %d), want 2", n, a.Dropped())
	}
	got := e.rc.received()
	if got[0].event != CallStarted || got[1].event != CallEnded || !got[0].validSig {
		t.Fatalf("received %+v", got)
	}
}

func TestWebhookPrune(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.openTicket("Old")
	e.deliver(e.svc)
	e.rc.setAnswer(func(received) int { return http.StatusInternalServerError })
	e.clk.Advance(29 * 24 * time.Hour)
	e.openTicket("Pending")
	e.deliver(e.svc)
	e.clk.Advance(2 * 24 * time.Hour)
	n, err := e.svc.Prune(ctx)
	noErr(t, err)
	d := e.deliveries()
	if n != 1 || len(d) != 1 || d[0].State != StatePending {
		t.Fatalf("pruned %d, left %+v", n, d)
	}
}
