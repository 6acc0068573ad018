package panel

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/webhooks"
)

// The administrators' webhook pages: subscriptions (the secret shown once,
// on the answer to the form), pause and resume, removal, and each one's
// delivery log with redelivery. The same actions as the API's
// /api/v1/webhooks, written to the same audit log.

// deliveryLogLimit bounds a subscription's delivery page.
const deliveryLogLimit = 100

type webhooksData struct {
	Subscriptions []webhooks.Subscription
	Events        []string
	Paused        int // subscriptions paused by failures, for the banner
	Secret        string
	Created       *webhooks.Subscription
	Form          struct {
		URL    string
		Events []string
	}
}

type webhookData struct {
	Sub        webhooks.Subscription
	Deliveries []webhooks.Delivery
	Limit      int
}

// webhookService is the webhooks the pages manage, or a 404 when ivrd
// runs without them.
func (s *Server) webhookService(w http.ResponseWriter, r *http.Request) *webhooks.Service {
	if s.opts.Webhooks == nil {
		s.fail(w, r, fault.ErrNotFound)
	}
	return s.opts.Webhooks
}

func (s *Server) webhooksPage(w http.ResponseWriter, r *http.Request) {
	s.renderWebhooks(w, r, http.StatusOK, webhooksData{}, "")
}

func (s *Server) renderWebhooks(w http.ResponseWriter, r *http.Request, status int, d webhooksData, msg string) {
	svc := s.webhookService(w, r)
	if svc == nil {
		return
	}
	list, err := svc.List(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Subscriptions, d.Events = list, webhooks.EventTypes
	for _, sub := range list {
		if !sub.Active && sub.PausedReason != "" {
			d.Paused++
		}
	}
	p := s.newPage(r, "webhooks", "nav.webhooks", d)
	p.Error = msg
	s.render(w, r, status, "webhooks.html", p)
}

func (s *Server) webhookCreate(w http.ResponseWriter, r *http.Request) {
	svc := s.webhookService(w, r)
	if svc == nil {
		return
	}
	rq := reqOf(r)
	var d webhooksData
	d.Form.URL = shorten(r.PostFormValue("url"), 2000)
	events := r.PostForm["events"]
	var err error
	if len(events) > len(webhooks.EventTypes) {
		err = errorKey(fault.EINVALID, "err.400")
	}
	var sub webhooks.Subscription
	var secret string
	if err == nil {
		d.Form.Events = events
		sub, secret, err = svc.Create(r.Context(), webhooks.NewSubscription{URL: d.Form.URL, Events: events, CreatedBy: rq.user.Login})
	}
	if fault.Code(err) == fault.EINVALID {
		// The webhooks' checks speak English (they serve the API too):
		// shown as they are, beside the form's Italian labels.
		s.renderWebhooks(w, r, http.StatusBadRequest, d, rq.lang.Tf("webhooks.refused", fault.Message(err)))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.audited(r, "webhook.create", "webhook:"+strconv.FormatInt(sub.ID, 10), "url="+sub.URL)
	s.log.Info("panel_webhook_created", "webhook", sub.ID, "by", rq.user.Login)
	// As for tokens: the secret is on the answer to the POST only, never
	// in a URL; the page is not cached.
	s.renderWebhooks(w, r, http.StatusOK, webhooksData{Secret: secret, Created: &sub}, "")
}

// webhookID is the {id} of the route, or a 404.
func (s *Server) webhookID(w http.ResponseWriter, r *http.Request, name string) (int64, bool) {
	id, err := strconv.ParseInt(chi.URLParam(r, name), 10, 64)
	if err != nil || id <= 0 {
		s.fail(w, r, fault.ErrNotFound)
		return 0, false
	}
	return id, true
}

// webhookTarget is the service and the subscription {id} of the route,
// or false after answering 404.
func (s *Server) webhookTarget(w http.ResponseWriter, r *http.Request) (*webhooks.Service, int64, bool) {
	svc := s.webhookService(w, r)
	if svc == nil {
		return nil, 0, false
	}
	id, ok := s.webhookID(w, r, "id")
	return svc, id, ok
}

// webhookDone is where each action comes back to, with its message.
var webhookDone = map[string]string{
	"pause":  "/admin/webhooks?msg=webhook_pause",
	"resume": "/admin/webhooks?msg=webhook_resume",
	"delete": "/admin/webhooks?msg=webhook_delete",
}

// webhookAction pauses, resumes or removes a subscription.
func (s *Server) webhookAction(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		svc, id, ok := s.webhookTarget(w, r)
		if !ok {
			return
		}
		ctx, login := r.Context(), reqOf(r).user.Login
		var err error
		switch action {
		case "pause":
			_, err = svc.SetActive(ctx, id, false, "paused by "+login)
		case "resume":
			_, err = svc.SetActive(ctx, id, true, "")
		case "delete":
			err = svc.Delete(ctx, id)
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.audited(r, "webhook."+action, "webhook:"+strconv.FormatInt(id, 10), "")
		s.log.Info("panel_webhook_changed", "webhook", id, "action", action, "by", login)
		http.Redirect(w, r, webhookDone[action], http.StatusSeeOther)
	}
}

func (s *Server) webhookDeliveries(w http.ResponseWriter, r *http.Request) {
	svc, id, ok := s.webhookTarget(w, r)
	if !ok {
		return
	}
	sub, err := svc.Get(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	list, err := svc.Deliveries(r.Context(), id, deliveryLogLimit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := webhookData{Sub: sub, Deliveries: list, Limit: deliveryLogLimit}
	s.render(w, r, http.StatusOK, "webhook.html", s.newPage(r, "webhooks", "nav.webhooks", d))
}

func (s *Server) webhookRedeliver(w http.ResponseWriter, r *http.Request) {
	svc, id, ok := s.webhookTarget(w, r)
	if !ok {
		return
	}
	delivery, ok := s.webhookID(w, r, "delivery")
	if !ok {
		return
	}
	if _, err := svc.Redeliver(r.Context(), id, delivery); err != nil {
		s.fail(w, r, err)
		return
	}
	s.audited(r, "webhook.redeliver", "webhook:"+strconv.FormatInt(id, 10), "delivery="+strconv.FormatInt(delivery, 10))
	http.Redirect(w, r, "/admin/webhooks/"+strconv.FormatInt(id, 10)+"?msg=webhook_redelivered", http.StatusSeeOther)
}
