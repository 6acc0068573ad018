package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/webhooks"
)

// The webhook routes manage the subscriptions of package webhooks: scope
// admin of an administrator, with a token of every group (a delivery
// tells about tickets of every group).

type webhookJSON struct {
	ID           int64      `json:"id"`
	URL          string     `json:"url"`
	Events       []string   `json:"events"`
	Active       bool       `json:"active"`
	PausedReason string     `json:"paused_reason"`
	CreatedBy    string     `json:"created_by"`
	CreatedAt    time.Time  `json:"created_at"`
	FailingSince *time.Time `json:"failing_since"`
	// Secret is set only in the answer to the creation.
	Secret string `json:"secret,omitempty"`
}

func webhookOf(s webhooks.Subscription) webhookJSON {
	return webhookJSON{ID: s.ID, URL: s.URL, Events: s.Events, Active: s.Active, PausedReason: s.PausedReason,
		CreatedBy: s.CreatedBy, CreatedAt: s.CreatedAt, FailingSince: optTime(s.FailingSince)}
}

type deliveryJSON struct {
	ID            int64           `json:"id"`
	EventID       string          `json:"event_id"`
	Event         string          `json:"event"`
	State         string          `json:"state"`
	Attempts      int             `json:"attempts"`
	LastError     string          `json:"last_error"`
	ResponseCode  int             `json:"response_code"`
	CreatedAt     time.Time       `json:"created_at"`
	NextAttemptAt *time.Time      `json:"next_attempt_at"`
	DeliveredAt   *time.Time      `json:"delivered_at"`
	FailedAt      *time.Time      `json:"failed_at"`
	Payload       json.RawMessage `json:"payload"`
}

// webhooksOn lets through requests when ivrd runs webhooks, from tokens
// of every group.
func (a *API) webhooksOn(w http.ResponseWriter, r *http.Request) bool {
	if a.opts.Webhooks == nil {
		a.writeProblem(w, r, fault.Errorf(fault.ENOTFOUND, "webhooks are not enabled on this server"))
		return false
	}
	if !principalOf(r).all {
		a.writeProblem(w, r, fault.Errorf(fault.EFORBIDDEN, "a token restricted to groups does not manage webhooks"))
		return false
	}
	return true
}

func (a *API) listWebhooks(w http.ResponseWriter, r *http.Request) {
	if !a.webhooksOn(w, r) {
		return
	}
	list, err := a.opts.Webhooks.List(r.Context())
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	out := make([]webhookJSON, 0, len(list))
	for _, s := range list {
		out = append(out, webhookOf(s))
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": out})
}

func (a *API) createWebhook(w http.ResponseWriter, r *http.Request) {
	if !a.webhooksOn(w, r) {
		return
	}
	ctx := r.Context()
	p := principalOf(r)
	var in struct {
		URL    string   `json:"url"`
		Events []string `json:"events"`
	}
	if err := decode(w, r, &in); err != nil {
		a.writeProblem(w, r, err)
		return
	}
	sub, secret, err := a.opts.Webhooks.Create(ctx, webhooks.NewSubscription{URL: in.URL, Events: in.Events,
		CreatedBy: p.user.Login + " (token " + strconv.FormatInt(p.token.ID, 10) + ")"})
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	a.audit(ctx, p, "webhook.create", "webhook:"+strconv.FormatInt(sub.ID, 10), "url="+sub.URL)
	out := webhookOf(sub)
	out.Secret = secret
	w.Header().Set("Location", Prefix+"/webhooks/"+strconv.FormatInt(sub.ID, 10))
	writeJSON(w, http.StatusCreated, out)
}

func (a *API) getWebhook(w http.ResponseWriter, r *http.Request) {
	if !a.webhooksOn(w, r) {
		return
	}
	id, err := pathID(r, "id")
	var sub webhooks.Subscription
	if err == nil {
		sub, err = a.opts.Webhooks.Get(r.Context(), id)
	}
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, webhookOf(sub))
}

func (a *API) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	if !a.webhooksOn(w, r) {
		return
	}
	ctx := r.Context()
	id, err := pathID(r, "id")
	if err == nil {
		err = a.opts.Webhooks.Delete(ctx, id)
	}
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	a.audit(ctx, principalOf(r), "webhook.delete", "webhook:"+strconv.FormatInt(id, 10), "")
	w.WriteHeader(http.StatusNoContent)
}

// setWebhookActive is pause (false) or resume (true).
func (a *API) setWebhookActive(active bool) http.HandlerFunc {
	action := map[bool]string{false: "webhook.pause", true: "webhook.resume"}[active]
	return func(w http.ResponseWriter, r *http.Request) {
		if !a.webhooksOn(w, r) {
			return
		}
		ctx := r.Context()
		p := principalOf(r)
		id, err := pathID(r, "id")
		var sub webhooks.Subscription
		if err == nil {
			sub, err = a.opts.Webhooks.SetActive(ctx, id, active, "paused by "+p.user.Login)
		}
		if err != nil {
			a.writeProblem(w, r, err)
			return
		}
		a.audit(ctx, p, action, "webhook:"+strconv.FormatInt(id, 10), "")
		writeJSON(w, http.StatusOK, webhookOf(sub))
	}
}

func (a *API) listDeliveries(w http.ResponseWriter, r *http.Request) {
	if !a.webhooksOn(w, r) {
		return
	}
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			a.writeProblem(w, r, fault.Errorf(fault.EINVALID, "limit: 1 to %d", maxPageSize))
			return
		}
		limit = n
	}
	id, err := pathID(r, "id")
	var list []webhooks.Delivery
	if err == nil {
		list, err = a.opts.Webhooks.Deliveries(r.Context(), id, limit)
	}
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	out := make([]deliveryJSON, 0, len(list))
	for _, d := range list {
		dj := deliveryJSON{ID: d.ID, EventID: d.EventID, Event: d.Event, State: string(d.State), Attempts: d.Attempts,
			LastError: d.LastError, ResponseCode: d.ResponseCode, CreatedAt: d.CreatedAt,
			DeliveredAt: optTime(d.DeliveredAt), FailedAt: optTime(d.FailedAt), Payload: d.Payload}
		if d.State == webhooks.StatePending {
			dj.NextAttemptAt = optTime(d.NextAttemptAt)
		}
		out = append(out, dj)
	}
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": out})
}

func (a *API) redeliver(w http.ResponseWriter, r *http.Request) {
	if !a.webhooksOn(w, r) {
		return
	}
	ctx := r.Context()
	id, err := pathID(r, "id")
	var did, newID int64
	if err == nil {
		did, err = pathID(r, "deliveryID")
	}
	if err == nil {
		newID, err = a.opts.Webhooks.Redeliver(ctx, id, did)
	}
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	a.audit(ctx, principalOf(r), "webhook.redeliver", "webhook:"+strconv.FormatInt(id, 10),
		"delivery="+strconv.FormatInt(did, 10))
	writeJSON(w, http.StatusAccepted, map[string]any{"id": newID})
}

// webhookRoutes are mounted within the admin group.
func (a *API) webhookRoutes(r chi.Router) {
	r.Get("/webhooks", a.listWebhooks)
	r.Post("/webhooks", a.createWebhook)
	r.Get("/webhooks/{id}", a.getWebhook)
	r.Delete("/webhooks/{id}", a.deleteWebhook)
	r.Post("/webhooks/{id}/pause", a.setWebhookActive(false))
	r.Post("/webhooks/{id}/resume", a.setWebhookActive(true))
	r.Get("/webhooks/{id}/deliveries", a.listDeliveries)
	r.Post("/webhooks/{id}/deliveries/{deliveryID}/redeliver", a.redeliver)
}
