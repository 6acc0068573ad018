package api

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/panel"
	"github.com/helpdesk-ivr/ivr/webhooks"
)

func TestAPIWebhooks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	adm := e.token("adm", panel.ScopeAdmin)
	var status atomic.Int32
	status.Store(http.StatusGone)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(int(status.Load())) }))
	t.Cleanup(rcv.Close)

	// Who may: an administrator's admin token of every group only.
	for _, tok := range []string{e.token("adm", panel.ScopeWrite), e.token("sup", panel.ScopeWrite), e.token("adm", panel.ScopeAdmin, "lotto2")} {
		e.do(http.MethodGet, "/webhooks", tok, nil).problem(t, http.StatusForbidden, fault.EFORBIDDEN)
	}
	e.do(http.MethodGet, "/webhooks", "", nil).problem(t, http.StatusUnauthorized, fault.EUNAUTHORIZED)

	// Refused subscriptions.
	for _, body := range []map[string]any{
		{"url": "ftp://example.org/x", "events": []string{"ticket.created"}},
		{"url": rcv.URL, "events": []string{"ticket.deleted"}},
		{"url": rcv.URL, "events": []string{}},
	} {
		e.do(http.MethodPost, "/webhooks", adm, body).problem(t, http.StatusBadRequest, fault.EINVALID)
	}

	var created webhookJSON
	r := e.do(http.MethodPost, "/webhooks", adm, map[string]any{"url": rcv.URL + "/in", "events": []string{"ticket.updated", "ticket.created"}})
	wantStatus(t, "create", r, http.StatusCreated)
	r.json(t, &created)
	if !strings.HasPrefix(created.Secret, "whsec_") || !created.Active || !slices.Equal(created.Events, []string{"ticket.created", "ticket.updated"}) ||
		!strings.HasPrefix(created.CreatedBy, "adm (token ") || r.header.Get("Location") != fmt.Sprintf("%s/webhooks/%d", Prefix, created.ID) {
		t.Fatalf("created %+v, Location %q", created, r.header.Get("Location"))
	}
	var list struct {
		Webhooks []webhookJSON `json:"webhooks"`
	}
	r = e.do(http.MethodGet, "/webhooks", adm, nil)
	wantStatus(t, "list", r, http.StatusOK)
	r.json(t, &list)
	if len(list.Webhooks) != 1 || list.Webhooks[0].ID != created.ID || list.Webhooks[0].Secret != "" ||
		strings.Contains(string(r.body), created.Secret) {
		t.Fatalf("list %s", r.body)
	}
	path := fmt.Sprintf("/webhooks/%d", created.ID)
	var one webhookJSON
	e.do(http.MethodGet, path, adm, nil).json(t, &one)
	if one.URL != rcv.URL+"/in" || one.Secret != "" {
		t.Fatalf("get %+v", one)
	}
	e.do(http.MethodGet, "/webhooks/999999", adm, nil).problem(t, http.StatusNotFound, fault.ENOTFOUND)

	// Pause and resume.
	e.do(http.MethodPost, path+"/pause", adm, nil).json(t, &one)
	if one.Active || !strings.Contains(one.PausedReason, "adm") {
		t.Fatalf("paused %+v", one)
	}
	e.do(http.MethodPost, path+"/resume", adm, nil).json(t, &one)
	if !one.Active || one.PausedReason != "" {
		t.Fatalf("resumed %+v", one)
	}
	e.do(http.MethodPost, "/webhooks/999999/pause", adm, nil).problem(t, http.StatusNotFound, fault.ENOTFOUND)
	e.do(http.MethodPost, "/webhooks/999999/resume", adm, nil).problem(t, http.StatusNotFound, fault.ENOTFOUND)

	// A ticket's update, refused by the receiver (410): the log shows it,
	// and a redelivery goes out.
	noErr(t, e.hooks.Emit(ctx, e.pool, webhooks.Event{Type: webhooks.TicketUpdated, OrderKey: "ticket:1", At: e.clk.Now(),
		Data: map[string]string{"x": "y"}}))
	_, err := e.hooks.DeliverPending(ctx)
	noErr(t, err)
	var log struct {
		Deliveries []deliveryJSON `json:"deliveries"`
	}
	e.do(http.MethodGet, path+"/deliveries?limit=10", adm, nil).json(t, &log)
	if len(log.Deliveries) != 1 || log.Deliveries[0].State != "failed" || log.Deliveries[0].ResponseCode != http.StatusGone ||
		log.Deliveries[0].Event != "ticket.updated" || !strings.Contains(string(log.Deliveries[0].Payload), `"x":"y"`) {
		t.Fatalf("deliveries %+v", log.Deliveries)
	}
	e.do(http.MethodGet, path+"/deliveries?limit=0", adm, nil).problem(t, http.StatusBadRequest, fault.EINVALID)
	e.do(http.MethodGet, "/webhooks/999999/deliveries", adm, nil).problem(t, http.StatusNotFound, fault.ENOTFOUND)
	first := log.Deliveries[0].ID
	r = e.do(http.MethodPost, fmt.Sprintf("%s/deliveries/%d/redeliver", path, first), adm, nil)
	wantStatus(t, "redeliver", r, http.StatusAccepted)
	// The new delivery is pending: it cannot be redelivered yet.
	e.do(http.MethodGet, path+"/deliveries", adm, nil).json(t, &log)
	if len(log.Deliveries) != 2 || log.Deliveries[0].State != "pending" || log.Deliveries[0].EventID != log.Deliveries[1].EventID {
		t.Fatalf("after redelivery %+v", log.Deliveries)
	}
	e.do(http.MethodPost, fmt.Sprintf("%s/deliveries/%d/redeliver", path, log.Deliveries[0].ID), adm, nil).
		problem(t, http.StatusConflict, fault.ECONFLICT)
	e.do(http.MethodPost, fmt.Sprintf("%s/deliveries/999999/redeliver", path), adm, nil).problem(t, http.StatusNotFound, fault.ENOTFOUND)
	status.Store(http.StatusOK)
	if n, err := e.hooks.DeliverPending(ctx); err != nil || n != 1 {
		t.Fatalf("redelivered %d, %v", n, err)
	}

	// Delete, then it is gone.
	r = e.do(http.MethodDelete, path, adm, nil)
	wantStatus(t, "delete", r, http.StatusNoContent)
	e.do(http.MethodDelete, path, adm, nil).problem(t, http.StatusNotFound, fault.ENOTFOUND)

	var actions []string
	rows, err := e.pool.Query(ctx, `SELECT action FROM audit_log WHERE action LIKE 'webhook.%' AND via = 'api' ORDER BY id`)
	noErr(t, err)
	for rows.Next() {
		var a string
		noErr(t, rows.Scan(&a))
		actions = append(actions, a)
	}
	noErr(t, rows.Err())
	want := []string{"webhook.create", "webhook.pause", "webhook.resume", "webhook.redeliver", "webhook.delete"}
	if !slices.Equal(actions, want) {
		t.Fatalf("audit %v, want %v", actions, want)
	}
}

func TestAPIWebhooksDisabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *Options) { o.Webhooks = nil })
	adm := e.token("adm", panel.ScopeAdmin)
	e.do(http.MethodGet, "/webhooks", adm, nil).problem(t, http.StatusNotFound, fault.ENOTFOUND)
	e.do(http.MethodPost, "/webhooks", adm, map[string]any{"url": "https://example.org/", "events": []string{"ticket.created"}}).
		problem(t, http.StatusNotFound, fault.ENOTFOUND)
}
