package panel

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/helpdesk-ivr/ivr/internal/browsertest"
	"github.com/helpdesk-ivr/ivr/webhooks"
)

var webhookSecretPattern = regexp.MustCompile(`data-testid="webhook-secret">(whsec_[A-Za-z0-9_-]+)<`)

// hooksEnv is a panel env with webhooks whose deliveries may reach the
// loopback receiver it starts, answering with status.
func hooksEnv(t *testing.T) (*env, *webhooks.Service, *httptest.Server, *atomic.Int32) {
	t.Helper()
	var status atomic.Int32
	status.Store(http.StatusGone)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(int(status.Load())) }))
	t.Cleanup(rcv.Close)
	var svc *webhooks.Service
	e := newEnv(t, func(o *Options) {
		svc = webhooks.New(o.Pool, webhooks.Options{Now: o.Now,
			AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
		o.Webhooks = svc
	})
	return e, svc, rcv, &status
}

// TestWebhooksPage: an administrator subscribes (the secret on the answer
// only), sees a delivery given up with its status, delivers it again,
// pauses, resumes and deletes the subscription; each write is audited.
func TestWebhooksPage(t *testing.T) {
	t.Parallel()
	e, svc, rcv, status := hooksEnv(t)
	adm := e.login("adm")
	adm.get("/tickets").has(t, `data-testid="nav-webhooks"`)
	r := adm.post("/admin/webhooks", url.Values{"url": {rcv.URL + "/in"}, "events": {"ticket.created", "call.ended"}})
	wantStatus(t, "create", r, http.StatusOK)
	m := webhookSecretPattern.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no secret on the answer:\n%s", r.body)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("the secret's page may be cached: %q", r.header.Get("Cache-Control"))
	}
	list := adm.get("/admin/webhooks")
	list.has(t, `data-testid="webhook-row"`, rcv.URL+"/in", "call.ended, ticket.created")
	list.hasNot(t, m[1], `data-testid="webhook-secret"`)
	subs, err := svc.List(ctx)
	noErr(t, err)
	if len(subs) != 1 || subs[0].CreatedBy != "adm" {
		t.Fatalf("subscriptions %+v", subs)
	}
	id := itoa(subs[0].ID)

	// A delivery the receiver refuses (410) is given up; the log shows it.
	noErr(t, svc.Emit(ctx, e.pool, webhooks.Event{Type: webhooks.TicketCreated, At: e.clk.Now(), Data: map[string]int{"ticket": 1}}))
	_, err = svc.DeliverPending(ctx)
	noErr(t, err)
	log := adm.get("/admin/webhooks/" + id)
	log.has(t, `data-testid="delivery-row"`, `data-state="failed"`, `data-testid="delivery-code">410<`, "answered 410",
		`data-testid="delivery-redeliver"`)
	ds, err := svc.Deliveries(ctx, subs[0].ID, 10)
	noErr(t, err)
	status.Store(http.StatusNoContent)
	wantStatus(t, "redeliver", adm.post("/admin/webhooks/"+id+"/deliveries/"+itoa(ds[0].ID)+"/redeliver", nil), http.StatusSeeOther)
	_, err = svc.DeliverPending(ctx)
	noErr(t, err)
	adm.get("/admin/webhooks/"+id).has(t, `data-state="delivered"`, `data-state="failed"`)
	// Another's delivery, or one still pending, is not delivered again.
	wantStatus(t, "redeliver unknown", adm.post("/admin/webhooks/"+id+"/deliveries/999999/redeliver", nil), http.StatusNotFound)

	wantStatus(t, "pause", adm.post("/admin/webhooks/"+id+"/pause", nil), http.StatusSeeOther)
	adm.get("/admin/webhooks").has(t, `data-active="false"`, "paused by adm")
	wantStatus(t, "resume", adm.post("/admin/webhooks/"+id+"/resume", nil), http.StatusSeeOther)
	adm.get("/admin/webhooks").has(t, `data-active="true"`)
	wantStatus(t, "delete", adm.post("/admin/webhooks/"+id+"/delete", nil), http.StatusSeeOther)
	adm.get("/admin/webhooks").hasNot(t, `data-testid="webhook-row"`)
	wantStatus(t, "delete twice", adm.post("/admin/webhooks/"+id+"/delete", nil), http.StatusNotFound)

	audit := adm.get("/admin/audit")
	audit.has(t, `data-action="webhook.create"`, `data-action="webhook.redeliver"`, `data-action="webhook.pause"`,
		`data-action="webhook.resume"`, `data-action="webhook.delete"`, "webhook:"+id)
}

// TestWebhooksRefused: a bad URL or event, and an address the guard
// refuses, are shown on the form, which keeps what was typed; only
// administrators see the pages; without webhooks they are not there.
func TestWebhooksRefused(t *testing.T) {
	t.Parallel()
	e, svc, _, _ := hooksEnv(t)
	adm := e.login("adm")
	for _, c := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"url": {"ftp://x.example/in"}, "events": {"ticket.created"}}, "absolute http or https URL"},
		{url.Values{"url": {"https://crm.example/in"}, "events": {"ticket.deleted"}}, "unknown"},
		{url.Values{"url": {"https://crm.example/in"}}, "at least one"},
		{url.Values{"url": {"http://10.1.2.3/in"}, "events": {"ticket.created"}}, "not a public address"},
	} {
		r := adm.post("/admin/webhooks", c.form)
		wantStatus(t, c.form.Encode(), r, http.StatusBadRequest)
		r.has(t, "Webhook rifiutato", c.want, `value="`+c.form.Get("url")+`"`)
	}
	if subs, err := svc.List(ctx); err != nil || len(subs) != 0 {
		t.Fatalf("made %v %v", subs, err)
	}
	for _, login := range []string{"sup", "op2"} {
		c := e.login(login)
		c.get("/tickets").hasNot(t, `data-testid="nav-webhooks"`)
		wantStatus(t, login+" list", c.get("/admin/webhooks"), http.StatusForbidden)
		wantStatus(t, login+" create", c.post("/admin/webhooks", url.Values{"url": {"https://crm.example/in"},
			"events": {"ticket.created"}}), http.StatusForbidden)
	}
	// A form from elsewhere is refused.
	wantStatus(t, "no token", adm.post("/admin/webhooks", url.Values{"csrf": {""}, "url": {"https://crm.example/in"},
		"events": {"ticket.created"}}), http.StatusForbidden)

	plain := newEnv(t)
	a := plain.login("adm")
	a.get("/tickets").hasNot(t, `data-testid="nav-webhooks"`)
	wantStatus(t, "without webhooks", a.get("/admin/webhooks"), http.StatusNotFound)
}

// TestWebhooksPausedBanner: a subscription the worker paused after a day of
// failures is announced on the page with its reason.
func TestWebhooksPausedBanner(t *testing.T) {
	t.Parallel()
	e, svc, rcv, _ := hooksEnv(t)
	sub, _, err := svc.Create(ctx, webhooks.NewSubscription{URL: rcv.URL, Events: []string{webhooks.CallEnded}, CreatedBy: "adm"})
	noErr(t, err)
	_, err = svc.SetActive(ctx, sub.ID, false, "paused: every delivery failed since 2026-11-23T09:00:00Z (last: answered 503)")
	noErr(t, err)
	e.login("adm").get("/admin/webhooks").has(t, `data-testid="webhooks-paused"`, "answered 503", `data-testid="webhook-resume"`)
}

// TestBrowserWebhooks: the pages in Chromium: subscribe, read the secret,
// open the delivery log, pause.
func TestBrowserWebhooks(t *testing.T) {
	t.Parallel()
	e, svc, rcv, _ := hooksEnv(t)
	b := browsertest.New(t)
	browserLogin(t, b, e.ts.URL, "adm", "/wallboard")
	var secret, active string
	browsertest.Run(t, b, "subscribe",
		chromedp.Click(`[data-testid="nav-webhooks"]`),
		chromedp.WaitVisible(`[data-testid="webhook-add-form"]`),
		chromedp.SendKeys(`#w-url`, rcv.URL+"/crm"),
		chromedp.Click(`[data-testid="webhook-event"][value="ticket.updated"]`),
		chromedp.Click(`[data-testid="webhook-add"]`),
		chromedp.WaitVisible(`[data-testid="webhook-secret"]`),
		chromedp.Text(`[data-testid="webhook-secret"]`, &secret))
	browsertest.Screenshot(t, b, "webhook-created")
	if !strings.HasPrefix(strings.TrimSpace(secret), "whsec_") {
		t.Fatalf("secret %q", secret)
	}
	noErr(t, svc.Emit(ctx, e.pool, webhooks.Event{Type: webhooks.TicketUpdated, At: e.clk.Now(), Data: map[string]int{"ticket": 7}}))
	_, err := svc.DeliverPending(ctx)
	noErr(t, err)
	var state string
	browsertest.Run(t, b, "the delivery log",
		chromedp.Click(`[data-testid="webhook-url"]`),
		chromedp.WaitVisible(`[data-testid="delivery-row"]`),
		chromedp.AttributeValue(`[data-testid="delivery-row"]`, "data-state", &state, nil))
	browsertest.Screenshot(t, b, "webhook-deliveries")
	if state != "failed" {
		t.Fatalf("delivery state %q, want failed (the receiver answers 410)", state)
	}
	browsertest.Run(t, b, "pause",
		chromedp.Click(`[data-testid="nav-webhooks"]`),
		chromedp.WaitVisible(`[data-testid="webhook-pause"]`),
		chromedp.Click(`[data-testid="webhook-pause"]`),
		chromedp.WaitVisible(`[data-testid="flash"]`),
		chromedp.AttributeValue(`[data-testid="webhook-row"]`, "data-active", &active, nil))
	if active != "false" {
		t.Fatalf("after pause: active %q", active)
	}
}
