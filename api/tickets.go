package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/panel"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// Limits of what a request may carry: the panel's.
const (
	maxSubject  = 200
	maxCategory = 64
	maxText     = 10000 // a description, a message or a note
	maxFilter   = 64
	maxSearch   = 200
	maxCursor   = 200
	maxLogin    = 64
	maxPageSize = 500
)

// ticketJSON is a ticket as the API shows it. Times are RFC 3339 in the
// service time zone; absent ones are null.
type ticketJSON struct {
	ID           int64              `json:"id"`
	Number       string             `json:"number"`
	Source       string             `json:"source"`
	Caller       string             `json:"caller"`
	Organization string             `json:"organization"`
	CallerRole   string             `json:"caller_role"`
	MenuPath     []tickets.MenuStep `json:"menu_path"`
	Group        string             `json:"group"`
	Category     string             `json:"category"`
	Subject      string             `json:"subject"`
	Description  string             `json:"description"`
	Priority     string             `json:"priority"`
	Status       string             `json:"status"`
	Assignee     string             `json:"assignee"`
	DueAt        *time.Time         `json:"due_at"`
	CreatedAt    time.Time          `json:"created_at"`
	UpdatedAt    time.Time          `json:"updated_at"`
	ClosedAt     *time.Time         `json:"closed_at"`
	Version      int                `json:"version"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func ticketOf(t tickets.Ticket) ticketJSON {
	path := t.MenuPath
	if path == nil {
		path = []tickets.MenuStep{}
	}
	return ticketJSON{ID: t.ID, Number: string(t.Number), Source: string(t.Source), Caller: t.Caller,
		Organization: t.Organization, CallerRole: string(t.CallerRole), MenuPath: path, Group: t.Group,
		Category: t.Category, Subject: t.Subject, Description: t.Description, Priority: string(t.Priority),
		Status: string(t.Status), Assignee: t.Assignee, DueAt: optTime(t.DueAt), CreatedAt: t.CreatedAt,
		UpdatedAt: t.UpdatedAt, ClosedAt: optTime(t.ClosedAt), Version: t.Version}
}

// text checks a value: trimmed, valid UTF-8, no control characters (but
// line breaks and tabs where multiline), at most max characters, and not
// empty when required.
func text(name, s string, max int, required, multiline bool) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\r' || r == '\t'))
	}) {
		return s, fault.Errorf(fault.EINVALID, "%s: control characters or invalid UTF-8", name)
	}
	if n := utf8.RuneCountInString(s); n > max {
		return s, fault.Errorf(fault.EINVALID, "%s: at most %d characters (%d given)", name, max, n)
	}
	if required && s == "" {
		return s, fault.Errorf(fault.EINVALID, "%s: required", name)
	}
	return s, nil
}

// ticketFilter reads the list's query: the panel's filters (status and
// priority repeated for alternatives, group, assignee ("me"), org,
// caller, q, from and to as dates of the service time zone), the cursor
// (after) and the page size (limit).
func (a *API) ticketFilter(q url.Values, p *principal) (tickets.TicketFilter, error) {
	f := tickets.TicketFilter{Limit: 50}
	for _, x := range []struct {
		name string
		max  int
		dst  *string
	}{{"org", maxFilter, &f.Organization}, {"caller", maxFilter, &f.Caller}, {"assignee", maxLogin, &f.Assignee},
		{"q", maxSearch, &f.Text}} {
		v, err := text(x.name, q.Get(x.name), x.max, false, false)
		if err != nil {
			return f, err
		}
		*x.dst = v
	}
	after, err := text("after", q.Get("after"), maxCursor, false, false)
	if err != nil {
		return f, err
	}
	f.After = tickets.Cursor(after)
	if f.Assignee == "me" {
		f.Assignee = p.user.Login
	}
	f.Assignee = panel.NormalizeLogin(f.Assignee)
	for _, s := range q["status"] {
		if !tickets.Status(s).Valid() || len(q["status"]) > len(tickets.Statuses) {
			return f, fault.Errorf(fault.EINVALID, "status: unknown %q", shorten(s))
		}
		f.Statuses = append(f.Statuses, tickets.Status(s))
	}
	for _, s := range q["priority"] {
		if !tickets.Priority(s).Valid() || len(q["priority"]) > len(tickets.Priorities) {
			return f, fault.Errorf(fault.EINVALID, "priority: unknown %q", shorten(s))
		}
		f.Priorities = append(f.Priorities, tickets.Priority(s))
	}
	if g := q.Get("group"); g != "" {
		if a.config().Group(g) == nil || !p.mayGroup(g) {
			return f, fault.Errorf(fault.EINVALID, "group: unknown or not yours %q", shorten(g))
		}
		f.Groups = []string{g}
	}
	loc := a.opts.Tickets.Location()
	for _, d := range []struct {
		name string
		dst  *time.Time
		next int
	}{{"from", &f.CreatedFrom, 0}, {"to", &f.CreatedTo, 1}} {
		v := q.Get(d.name)
		if v == "" {
			continue
		}
		t, err := time.ParseInLocation(time.DateOnly, v, loc)
		if err != nil {
			return f, fault.Errorf(fault.EINVALID, "%s: not a date YYYY-MM-DD %q", d.name, shorten(v))
		}
		*d.dst = t.AddDate(0, 0, d.next)
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			return f, fault.Errorf(fault.EINVALID, "limit: 1 to %d", maxPageSize)
		}
		f.Limit = n
	}
	return f, nil
}

// shorten cuts a value echoed in a message.
func shorten(s string) string {
	if utf8.RuneCountInString(s) <= 40 {
		return s
	}
	return string([]rune(s)[:40]) + "…"
}

type ticketPage struct {
	Tickets     []ticketJSON `json:"tickets"`
	Next        *string      `json:"next"`
	Total       int          `json:"total"`
	TotalCapped bool         `json:"total_capped"`
}

func (a *API) listTickets(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r)
	f, err := a.ticketFilter(r.URL.Query(), p)
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	// A ticket number is looked up as such (a caller reads it on the
	// phone): the page has that ticket, if the principal sees it.
	if n := r.URL.Query().Get("number"); n != "" {
		a.ticketByNumber(w, r, n)
		return
	}
	page, err := a.opts.Tickets.FindTickets(r.Context(), f, p.viewer())
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	out := ticketPage{Tickets: make([]ticketJSON, 0, len(page.Tickets)), Total: page.Total, TotalCapped: page.TotalCapped}
	for _, t := range page.Tickets {
		out.Tickets = append(out.Tickets, ticketOf(t))
	}
	if page.Next != "" {
		next := string(page.Next)
		out.Next = &next
		v := r.URL.Query()
		v.Set("after", next)
		w.Header().Set("Link", fmt.Sprintf(`<%s/tickets?%s>; rel="next"`, Prefix, v.Encode()))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) ticketByNumber(w http.ResponseWriter, r *http.Request, number string) {
	out := ticketPage{Tickets: []ticketJSON{}}
	n, err := tickets.ParseNumber(strings.TrimSpace(number))
	if err != nil {
		a.writeProblem(w, r, err) // malformed, or a wrong check digit: 400 saying which
		return
	}
	t, err := a.opts.Tickets.FindTicketByNumber(r.Context(), n, principalOf(r).viewer())
	switch {
	case err == nil:
		out.Tickets, out.Total = append(out.Tickets, ticketOf(t)), 1
	case problemOf(err).Status != http.StatusNotFound:
		a.writeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(chi.URLParam(r, name), 10, 64)
	if err != nil || id <= 0 {
		return 0, fault.Errorf(fault.ENOTFOUND, "%s: no such id", name)
	}
	return id, nil
}

// ticketDetail is a ticket with its history and calls.
type ticketDetail struct {
	ticketJSON
	Attachments []attachmentJSON `json:"attachments"`
	History     []changeJSON     `json:"history"`
	Calls       []callJSON       `json:"calls"`
}

type attachmentJSON struct {
	ID              int64     `json:"id"`
	Name            string    `json:"name"`
	ContentType     string    `json:"content_type"`
	Size            int64     `json:"size"`
	DurationSeconds float64   `json:"duration_seconds"`
	CreatedAt       time.Time `json:"created_at"`
	CreatedBy       string    `json:"created_by"`
	// URL serves the bytes of a recording; null for what the API cannot
	// serve.
	URL *string `json:"url"`
}

type changeJSON struct {
	At        time.Time `json:"at"`
	ActorKind string    `json:"actor_kind"`
	Actor     string    `json:"actor"`
	Field     string    `json:"field"`
	Old       string    `json:"old"`
	New       string    `json:"new"`
}

// recordingScheme prefixes the URI of a recording kept by Asterisk (as in
// the panel).
const recordingScheme = "ari:recording:"

func (a *API) attachmentOf(x tickets.Attachment) attachmentJSON {
	j := attachmentJSON{ID: x.ID, Name: x.Name, ContentType: x.ContentType, Size: x.Size,
		DurationSeconds: x.Duration.Seconds(), CreatedAt: x.CreatedAt, CreatedBy: x.CreatedBy}
	if strings.HasPrefix(x.URI, recordingScheme) && a.opts.Recordings != nil {
		u := fmt.Sprintf("%s/tickets/%d/attachments/%d/content", Prefix, x.TicketID, x.ID)
		j.URL = &u
	}
	return j
}

func (a *API) getTicket(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := principalOf(r).viewer()
	id, err := pathID(r, "id")
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	t, err := a.opts.Tickets.FindTicketByID(ctx, id, v)
	var atts []tickets.Attachment
	var hist []tickets.Change
	var calls []tickets.Call
	if err == nil {
		atts, err = a.opts.Tickets.Attachments(ctx, id, v)
	}
	if err == nil {
		hist, err = a.opts.Tickets.History(ctx, id, v)
	}
	if err == nil {
		calls, err = a.opts.Tickets.CallsOfTicket(ctx, id, v)
	}
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	d := ticketDetail{ticketJSON: ticketOf(t), Attachments: []attachmentJSON{}, History: []changeJSON{}, Calls: []callJSON{}}
	for _, x := range atts {
		d.Attachments = append(d.Attachments, a.attachmentOf(x))
	}
	for _, c := range hist {
		d.History = append(d.History, changeJSON{At: c.At, ActorKind: string(c.Actor.Kind), Actor: c.Actor.ID,
			Field: c.Field, Old: c.Old, New: c.New})
	}
	for _, c := range calls {
		d.Calls = append(d.Calls, callOf(c))
	}
	writeJSON(w, http.StatusOK, d)
}

type articleJSON struct {
	ID        int64     `json:"id"`
	Kind      string    `json:"kind"` // public or internal
	Author    string    `json:"author"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

func articleOf(x tickets.Article) articleJSON {
	kind := "public"
	if x.Internal {
		kind = "internal"
	}
	return articleJSON{ID: x.ID, Kind: kind, Author: x.Author, Body: x.Body, CreatedAt: x.CreatedAt}
}

func (a *API) listArticles(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	list, err := a.opts.Tickets.Articles(r.Context(), id, principalOf(r).viewer())
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	out := make([]articleJSON, 0, len(list))
	for _, x := range list {
		out = append(out, articleOf(x))
	}
	writeJSON(w, http.StatusOK, map[string]any{"articles": out})
}

// newTicketJSON is the body of POST /tickets.
type newTicketJSON struct {
	Subject      string `json:"subject"`
	Description  string `json:"description"`
	Group        string `json:"group"`
	Priority     string `json:"priority"`
	Category     string `json:"category"`
	Caller       string `json:"caller"`
	Organization string `json:"organization"`
}

func (a *API) createTicket(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := principalOf(r)
	var in newTicketJSON
	if err := decode(w, r, &in); err != nil {
		a.writeProblem(w, r, err)
		return
	}
	nt, err := a.checkNewTicket(p, in)
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	t, err := a.opts.Tickets.CreateTicket(ctx, tickets.NewTicket{Source: tickets.SourcePanel, Subject: nt.Subject,
		Description: nt.Description, Group: nt.Group, Category: nt.Category, Caller: nt.Caller,
		Organization: nt.Organization, Priority: nt.Priority}, p.actor())
	if err == nil {
		t, err = a.opts.Tickets.FindTicketByID(ctx, t.ID, p.viewer())
	}
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	a.audit(ctx, p, "ticket.create", fmt.Sprintf("ticket:%d", t.ID), "number="+string(t.Number)+" group="+t.Group)
	w.Header().Set("Location", fmt.Sprintf("%s/tickets/%d", Prefix, t.ID))
	writeJSON(w, http.StatusCreated, ticketOf(t))
}

func (a *API) checkNewTicket(p *principal, in newTicketJSON) (newTicket, error) {
	var nt newTicket
	var err error
	for _, x := range []struct {
		name     string
		v        string
		max      int
		required bool
		multi    bool
		dst      *string
	}{{"subject", in.Subject, maxSubject, true, false, &nt.Subject}, {"description", in.Description, maxText, false, true, &nt.Description},
		{"category", in.Category, maxCategory, false, false, &nt.Category}, {"caller", in.Caller, maxFilter, false, false, &nt.Caller},
		{"organization", in.Organization, maxFilter, false, false, &nt.Organization}} {
		if *x.dst, err = text(x.name, x.v, x.max, x.required, x.multi); err != nil {
			return nt, err
		}
	}
	nt.Priority = tickets.Priority(cmpOr(in.Priority, string(tickets.PriorityMedium)))
	if !nt.Priority.Valid() {
		return nt, fault.Errorf(fault.EINVALID, "priority: unknown %q", shorten(in.Priority))
	}
	if err := a.checkCategory(nt.Category); err != nil {
		return nt, err
	}
	// A ticket is opened in a group the principal works in: an operator's
	// token cannot drop tickets in groups its user never sees.
	if a.config().Group(in.Group) == nil {
		return nt, fault.Errorf(fault.EINVALID, "group: unknown %q", shorten(in.Group))
	}
	if !p.mayGroup(in.Group) {
		return nt, fault.Errorf(fault.EFORBIDDEN, "group: not one of this token's groups")
	}
	nt.Group = in.Group
	return nt, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// ticketUpdateJSON is the body of PATCH /tickets/{id}: the version read,
// and the fields to change (absent ones are left alone).
type ticketUpdateJSON struct {
	Version  *int    `json:"version"`
	Status   *string `json:"status"`
	Priority *string `json:"priority"`
	Group    *string `json:"group"`
	Assignee *string `json:"assignee"`
	Subject  *string `json:"subject"`
	Category *string `json:"category"`
}

func (a *API) updateTicket(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := principalOf(r)
	id, err := pathID(r, "id")
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	var in ticketUpdateJSON
	if err := decode(w, r, &in); err != nil {
		a.writeProblem(w, r, err)
		return
	}
	// Reading in the principal's view first is the authorization, as in
	// the panel: another group's ticket does not exist for it.
	cur, err := a.opts.Tickets.FindTicketByID(ctx, id, p.viewer())
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	upd, changed, err := a.checkUpdate(r, p, cur, in)
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	t := cur
	if len(changed) > 0 {
		if t, err = a.opts.Tickets.UpdateTicket(ctx, id, upd, p.actor()); err != nil {
			a.writeProblem(w, r, err)
			return
		}
		a.audit(ctx, p, "ticket.update", fmt.Sprintf("ticket:%d", id), strings.Join(changed, ","))
	} else if *in.Version != cur.Version {
		a.writeProblem(w, r, fault.Errorf(fault.ECONFLICT, "the ticket changed since that version"))
		return
	}
	writeJSON(w, http.StatusOK, ticketOf(t))
}

// checkUpdate validates the fields given, as the panel's form: a known
// status, priority and group, and an assignee who works in the group the
// ticket will be in. The store checks the workflow and the version.
func (a *API) checkUpdate(r *http.Request, p *principal, cur tickets.Ticket, in ticketUpdateJSON) (tickets.TicketUpdate, []string, error) {
	if in.Version == nil {
		return tickets.TicketUpdate{}, nil, fault.Errorf(fault.EINVALID, "version: required (the ticket's version you read)")
	}
	u := tickets.TicketUpdate{Version: *in.Version}
	var changed []string
	if in.Status != nil && *in.Status != string(cur.Status) {
		if !tickets.Status(*in.Status).Valid() {
			return u, nil, fault.Errorf(fault.EINVALID, "status: unknown %q", shorten(*in.Status))
		}
		u.Status = new(tickets.Status(*in.Status))
		changed = append(changed, "status")
	}
	if in.Priority != nil && *in.Priority != string(cur.Priority) {
		if !tickets.Priority(*in.Priority).Valid() {
			return u, nil, fault.Errorf(fault.EINVALID, "priority: unknown %q", shorten(*in.Priority))
		}
		u.Priority = new(tickets.Priority(*in.Priority))
		changed = append(changed, "priority")
	}
	group := cur.Group
	if in.Group != nil && *in.Group != cur.Group {
		// Any configured group, as in the panel: handing a ticket over is
		// how it reaches the right people.
		if a.config().Group(*in.Group) == nil {
			return u, nil, fault.Errorf(fault.EINVALID, "group: unknown %q", shorten(*in.Group))
		}
		group = *in.Group
		u.Group = &group
		changed = append(changed, "group")
	}
	for _, x := range []struct {
		name string
		v    *string
		cur  string
		max  int
		req  bool
		dst  **string
	}{{"subject", in.Subject, cur.Subject, maxSubject, true, &u.Subject}, {"category", in.Category, cur.Category, maxCategory, false, &u.Category}} {
		if x.v == nil || *x.v == x.cur {
			continue
		}
		v, err := text(x.name, *x.v, x.max, x.req, false)
		if err == nil && x.name == "category" {
			err = a.checkCategory(v)
		}
		if err != nil {
			return u, nil, err
		}
		*x.dst = &v
		changed = append(changed, x.name)
	}
	assignee := cur.Assignee
	if in.Assignee != nil && panel.NormalizeLogin(*in.Assignee) != cur.Assignee {
		assignee = panel.NormalizeLogin(*in.Assignee)
		if _, err := text("assignee", assignee, maxLogin, false, false); err != nil {
			return u, nil, err
		}
		u.Assignee = &assignee
		changed = append(changed, "assignee")
	}
	if assignee != "" && (slices.Contains(changed, "assignee") || slices.Contains(changed, "group")) {
		ok, err := panel.MayHold(r.Context(), a.opts.Users, a.opts.Queues, a.config(), assignee, group)
		if err != nil {
			return u, nil, err
		}
		if !ok {
			return u, nil, fault.Errorf(fault.EINVALID, "assignee: %s does not work in group %q", shorten(assignee), group)
		}
	}
	return u, changed, nil
}

// articleInJSON is the body of POST /tickets/{id}/articles.
type articleInJSON struct {
	Kind string `json:"kind"` // public or internal
	Body string `json:"body"`
}

func (a *API) addArticle(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := principalOf(r)
	id, err := pathID(r, "id")
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	var in articleInJSON
	if err := decode(w, r, &in); err != nil {
		a.writeProblem(w, r, err)
		return
	}
	if _, err := a.opts.Tickets.FindTicketByID(ctx, id, p.viewer()); err != nil {
		a.writeProblem(w, r, err)
		return
	}
	body, err := text("body", in.Body, maxText, true, true)
	if err == nil && in.Kind != "public" && in.Kind != "internal" {
		err = fault.Errorf(fault.EINVALID, "kind: public or internal")
	}
	var art tickets.Article
	if err == nil {
		art, err = a.opts.Tickets.AddArticle(ctx, id, tickets.Article{Internal: in.Kind == "internal", Body: body}, p.actor())
	}
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	a.audit(ctx, p, "ticket.article", fmt.Sprintf("ticket:%d", id), fmt.Sprintf("article=%d kind=%s", art.ID, in.Kind))
	writeJSON(w, http.StatusCreated, articleOf(art))
}

// attachmentContent serves a recording of a ticket the principal may see,
// through Options.Recordings (from Asterisk), as the panel does.
func (a *API) attachmentContent(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	tid, err := pathID(r, "id")
	var aid int64
	if err == nil {
		aid, err = pathID(r, "attachmentID")
	}
	var atts []tickets.Attachment
	if err == nil {
		atts, err = a.opts.Tickets.Attachments(ctx, tid, principalOf(r).viewer())
	}
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	i := slices.IndexFunc(atts, func(x tickets.Attachment) bool { return x.ID == aid })
	var name string
	ok := i >= 0
	if ok {
		name, ok = strings.CutPrefix(atts[i].URI, recordingScheme)
	}
	if !ok || a.opts.Recordings == nil {
		a.writeProblem(w, r, fault.Errorf(fault.ENOTFOUND, "no such recording"))
		return
	}
	body, ctype, err := a.opts.Recordings.OpenRecording(ctx, name)
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	defer body.Close()
	// Every recording taken is in the audit log, as the panel's are.
	a.audit(ctx, principalOf(r), "media.download", fmt.Sprintf("ticket:%d", tid),
		fmt.Sprintf("attachment=%d name=%s", atts[i].ID, atts[i].Name))
	w.Header().Set("Content-Type", cmpOr(ctype, cmpOr(atts[i].ContentType, "audio/wav")))
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, body); err != nil && !errors.Is(err, context.Canceled) {
		a.log.Warn("api_recording_stream", "ticket", tid, "error", err.Error())
	}
}

// checkCategory refuses, when the configuration lists categories, a value
// that is not one of them (as the panel's form does).
func (a *API) checkCategory(ref string) error {
	if cfg := a.config(); cfg.HasCategories() && !cfg.ValidCategory(ref) {
		return fault.Errorf(fault.EINVALID, "category: %q is not one of the configured categories", shorten(ref))
	}
	return nil
}
