package panel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// groupOpt is a group in a select.
type groupOpt struct{ ID, Name string }

func (s *Server) groupOpts(rq *request) []groupOpt {
	var out []groupOpt
	for _, g := range s.visibleGroups(rq) {
		out = append(out, groupOpt{g, s.groupName(g)})
	}
	return out
}

// allGroupOpts are the groups a ticket may be handed to: every configured
// group, whoever edits.
func (s *Server) allGroupOpts() []groupOpt {
	var out []groupOpt
	for _, g := range s.config().Groups {
		out = append(out, groupOpt{g.ID, cmpOr(g.Name, g.ID)})
	}
	return out
}

// listQuery is the ticket list's filter as typed in its form.
type listQuery struct {
	Statuses, Priorities                     []string
	Group, Assignee, Org, Caller, Text, From string
	To                                       string
	After                                    string
}

func parseListQuery(q url.Values) listQuery {
	return listQuery{Statuses: q["status"], Priorities: q["priority"], Group: q.Get("group"), Assignee: q.Get("assignee"),
		Org: q.Get("org"), Caller: q.Get("caller"), Text: q.Get("q"), From: q.Get("from"), To: q.Get("to"), After: q.Get("after")}
}

func (lq listQuery) values() url.Values {
	v := url.Values{}
	v["status"], v["priority"] = lq.Statuses, lq.Priorities
	for k, x := range map[string]string{"group": lq.Group, "assignee": lq.Assignee, "org": lq.Org, "caller": lq.Caller,
		"q": lq.Text, "from": lq.From, "to": lq.To} {
		if x != "" {
			v.Set(k, x)
		}
	}
	return v
}

// check validates the filter form's lengths and choices; the values come
// back cut to their limits, to be shown again.
func (lq *listQuery) check(groups []groupOpt) error {
	var errs []error
	for _, x := range []struct {
		f   field
		v   *string
		max int
	}{{"tickets.search", &lq.Text, maxSearch}, {"ticket.organization", &lq.Org, maxFilter},
		{"ticket.caller", &lq.Caller, maxFilter}, {"ticket.assignee", &lq.Assignee, maxFilter},
		{"filter.from", &lq.From, maxValue}, {"filter.to", &lq.To, maxValue}, {"tickets.pages", &lq.After, maxCursor}} {
		var err error
		*x.v, err = text(x.f, *x.v, x.max, false, false)
		errs = append(errs, err)
	}
	if lq.Group != "" && !slices.ContainsFunc(groups, func(g groupOpt) bool { return g.ID == lq.Group }) {
		errs = append(errs, errorKey(fault.EINVALID, "ticket.bad_group", lq.Group))
		lq.Group = ""
	}
	if len(lq.Statuses) > len(tickets.Statuses) || len(lq.Priorities) > len(tickets.Priorities) {
		errs = append(errs, errorKey(fault.EINVALID, "err.400"))
		lq.Statuses, lq.Priorities = nil, nil
	}
	for _, x := range lq.Statuses {
		if !slices.Contains(tickets.Statuses, tickets.Status(x)) {
			errs = append(errs, errorKey(fault.EINVALID, "ticket.bad_status", x))
			lq.Statuses = nil
			break
		}
	}
	for _, x := range lq.Priorities {
		if !slices.Contains(tickets.Priorities, tickets.Priority(x)) {
			errs = append(errs, errorKey(fault.EINVALID, "ticket.bad_priority", x))
			lq.Priorities = nil
			break
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// filter turns the form into the store's filter.
func (lq listQuery) filter(loc *time.Location, me string) (tickets.TicketFilter, error) {
	f := tickets.TicketFilter{Organization: strings.TrimSpace(lq.Org), Caller: strings.TrimSpace(lq.Caller),
		Text: lq.Text, After: tickets.Cursor(lq.After), Limit: 50}
	for _, x := range lq.Statuses {
		f.Statuses = append(f.Statuses, tickets.Status(x))
	}
	for _, x := range lq.Priorities {
		f.Priorities = append(f.Priorities, tickets.Priority(x))
	}
	if lq.Group != "" {
		f.Groups = []string{lq.Group}
	}
	f.Assignee = NormalizeLogin(lq.Assignee)
	if lq.Assignee == "me" {
		f.Assignee = me
	}
	for _, d := range []struct {
		text string
		dst  *time.Time
		next int
	}{{lq.From, &f.CreatedFrom, 0}, {lq.To, &f.CreatedTo, 1}} {
		if d.text == "" {
			continue
		}
		t, err := time.ParseInLocation(time.DateOnly, d.text, loc)
		if err != nil {
			return f, errorKey(fault.EINVALID, "filter.bad_date", d.text)
		}
		*d.dst = t.AddDate(0, 0, d.next)
	}
	return f, nil
}

type listData struct {
	Q        listQuery
	Rows     ticketRows
	FirstURL string
	Page     tickets.TicketPage
	NextURL  string
	Groups   []groupOpt
	Statuses []tickets.Status
	Prios    []tickets.Priority
}

func (s *Server) ticketList(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	lq := parseListQuery(r.URL.Query())
	groups := s.groupOpts(rq)
	err := lq.check(groups)
	var f tickets.TicketFilter
	if err == nil {
		f, err = lq.filter(s.location(), rq.user.Login)
	}
	if fault.Code(err) == fault.EINVALID {
		// The form again, with what was typed and the message.
		d := listData{Q: lq, Groups: groups, Statuses: tickets.Statuses, Prios: tickets.Priorities,
			Rows: newTicketRows(rq.lang, nil), FirstURL: "/tickets"}
		p := s.newPage(r, "tickets", "nav.tickets", d)
		p.Error = errorMessage(rq.lang, err)
		s.render(w, r, http.StatusBadRequest, "tickets.html", p)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// A ticket number typed in the search box opens that ticket (if the
	// user may see it; otherwise the search goes on as text).
	if n, err := tickets.ParseNumber(lq.Text); err == nil && lq.After == "" {
		if t, err := s.opts.Tickets.FindTicketByNumber(r.Context(), n, rq.viewer()); err == nil {
			http.Redirect(w, r, fmt.Sprintf("/tickets/%d", t.ID), http.StatusSeeOther)
			return
		}
	}
	page, err := s.opts.Tickets.FindTickets(r.Context(), f, rq.viewer())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := listData{Q: lq, Page: page, Groups: groups, Statuses: tickets.Statuses, Prios: tickets.Priorities,
		Rows: newTicketRows(rq.lang, page.Tickets), FirstURL: "/tickets?" + lq.values().Encode()}
	if page.Next != "" {
		v := lq.values()
		v.Set("after", string(page.Next))
		d.NextURL = "/tickets?" + v.Encode()
	}
	s.render(w, r, http.StatusOK, "tickets.html", s.newPage(r, "tickets", "nav.tickets", d))
}

// ticketRows is a table of tickets, its labels translated here: a page of
// fifty rows renders in a fraction of the time the template's own calls
// would take.
type ticketRows struct {
	L       lang
	Tickets []ticketRow
}

type ticketRow struct {
	ID                                             int64
	Number, Created, Subject, Caller, Organization string
	Group, Priority, PriorityLabel, Status         string
	StatusLabel, Assignee                          string
}

func newTicketRows(l lang, list []tickets.Ticket) ticketRows {
	rows := make([]ticketRow, len(list))
	for i, t := range list {
		rows[i] = ticketRow{ID: t.ID, Number: string(t.Number), Created: l.DateTime(t.CreatedAt), Subject: t.Subject,
			Caller: t.Caller, Organization: t.Organization, Group: t.Group, Priority: string(t.Priority),
			PriorityLabel: l.T("priority." + string(t.Priority)), Status: string(t.Status),
			StatusLabel: l.T("status." + string(t.Status)), Assignee: t.Assignee}
	}
	return ticketRows{L: l, Tickets: rows}
}

// ticketValues are the ticket's fields the edit form shows.
type ticketValues struct {
	Subject, Status, Priority, Category, Group, Assignee string
}

func valuesOf(t tickets.Ticket) ticketValues {
	return ticketValues{Subject: t.Subject, Status: string(t.Status), Priority: string(t.Priority), Category: t.Category,
		Group: t.Group, Assignee: t.Assignee}
}

// ticketFormFields are the form's field names, each with its value in
// ticketValues.
var ticketFormFields = []struct {
	name string
	get  func(*ticketValues) *string
}{
	{"subject", func(v *ticketValues) *string { return &v.Subject }},
	{"status", func(v *ticketValues) *string { return &v.Status }},
	{"priority", func(v *ticketValues) *string { return &v.Priority }},
	{"category", func(v *ticketValues) *string { return &v.Category }},
	{"group", func(v *ticketValues) *string { return &v.Group }},
	{"assignee", func(v *ticketValues) *string { return &v.Assignee }},
}

// ticketForm is the edit form of a ticket, as shown or as posted. It
// carries the values it was shown with (Was, hidden fields "was_<name>"):
// a save changes only the fields the user changed, never one they did not
// touch (a ticket without a group stays without one; a field someone else
// changed meanwhile is not put back).
type ticketForm struct {
	Version int
	ticketValues
	Was ticketValues
}

func formOf(t tickets.Ticket) ticketForm {
	return ticketForm{Version: t.Version, ticketValues: valuesOf(t), Was: valuesOf(t)}
}

// parseTicketForm reads the posted form; a field not posted, and the
// values shown when the form does not say them, are cur's.
func parseTicketForm(r *http.Request, cur tickets.Ticket) (ticketForm, error) {
	f := formOf(cur)
	v, err := strconv.Atoi(r.PostFormValue("version"))
	if err != nil {
		return f, errorKey(fault.EINVALID, "ticket.no_version")
	}
	f.Version = v
	for _, x := range ticketFormFields {
		if was, ok := r.PostForm["was_"+x.name]; ok {
			*x.get(&f.Was) = was[0]
		}
		*x.get(&f.ticketValues) = *x.get(&f.Was)
		if val, ok := r.PostForm[x.name]; ok {
			*x.get(&f.ticketValues) = val[0]
		}
	}
	f.Assignee = NormalizeLogin(f.Assignee)
	f.Subject, f.Category = strings.TrimSpace(f.Subject), strings.TrimSpace(f.Category)
	return f, nil
}

// changed lists the fields the user changed.
func (f ticketForm) changed() []string {
	var out []string
	for _, x := range ticketFormFields {
		if *x.get(&f.ticketValues) != *x.get(&f.Was) {
			out = append(out, x.name)
		}
	}
	return out
}

// check validates the changed fields, before anything is written: their
// length and shape, a known status, priority and group, and an assignee
// who works in the group that will hold the ticket. The values come back
// cut to their limits, to be shown again.
func (s *Server) checkTicketForm(ctx context.Context, f *ticketForm, changed []string) error {
	var err error
	for _, name := range changed {
		switch name {
		case "subject":
			f.Subject, err = text("ticket.subject", f.Subject, maxSubject, true, false)
		case "category":
			f.Category, err = text("ticket.category", f.Category, maxCategory, false, false)
			// With a list, only its entries (or clearing the value).
			if cfg := s.config(); err == nil && cfg.HasCategories() && !cfg.ValidCategory(f.Category) {
				err = errorKey(fault.EINVALID, "ticket.bad_category", f.Category)
			}
		case "status":
			if !slices.Contains(tickets.Statuses, tickets.Status(f.Status)) {
				err = errorKey(fault.EINVALID, "ticket.bad_status", f.Status)
			}
		case "priority":
			if !slices.Contains(tickets.Priorities, tickets.Priority(f.Priority)) {
				err = errorKey(fault.EINVALID, "ticket.bad_priority", f.Priority)
			}
		case "group":
			if s.config().Group(f.Group) == nil {
				err = errorKey(fault.EINVALID, "ticket.bad_group", f.Group)
			}
		}
		if err != nil {
			f.cut()
			return err
		}
	}
	if f.Assignee != "" && (slices.Contains(changed, "assignee") || slices.Contains(changed, "group")) {
		ok, err := s.mayHold(ctx, f.Assignee, f.Group)
		if err != nil {
			return err
		}
		if !ok {
			g := f.Group
			f.cut()
			if g == "" {
				return errorKey(fault.EINVALID, "ticket.assignee_no_group", f.Assignee)
			}
			return errorKey(fault.EINVALID, "ticket.bad_assignee", f.Assignee, s.groupName(g))
		}
	}
	return nil
}

// cut shortens the values to their limits, to be shown again.
func (f *ticketForm) cut() {
	f.Subject, f.Category = shorten(f.Subject, maxSubject), shorten(f.Category, maxCategory)
	f.Status, f.Priority = shorten(f.Status, maxValue), shorten(f.Priority, maxValue)
	f.Group, f.Assignee = shorten(f.Group, maxValue), shorten(f.Assignee, maxLoginLen)
}

// mayHold reports whether login is an active user who works in group (an
// operator of its queue, or of the configuration without queues).
func (s *Server) mayHold(ctx context.Context, login, group string) (bool, error) {
	return MayHold(ctx, s.users, s.opts.Queues, s.config(), login, group)
}

// MayHold is the rule for a ticket's assignee, for the panel and the API
// alike: login is an active user who works in group (an operator of its
// queue, or of cfg's operators when q is nil).
func MayHold(ctx context.Context, users *Users, q *queues.Service, cfg *menu.Config, login, group string) (bool, error) {
	if group == "" || !loginPattern.MatchString(login) {
		return false, nil
	}
	u, err := users.Find(ctx, login)
	if fault.Code(err) == fault.ENOTFOUND {
		return false, nil
	}
	if err != nil || u.Disabled {
		return false, err
	}
	if q == nil {
		return slices.ContainsFunc(cfg.Operators, func(op *menu.Operator) bool {
			_, in := op.Groups[group]
			return op.Login == login && in
		}), nil
	}
	op, err := q.Operator(ctx, login)
	if fault.Code(err) == fault.ENOTFOUND {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, in := op.Groups[group]
	return in, nil
}

// update is the store's update of the changed fields only.
func (f ticketForm) update(changed []string) tickets.TicketUpdate {
	u := tickets.TicketUpdate{Version: f.Version}
	for _, name := range changed {
		switch name {
		case "subject":
			u.Subject = &f.Subject
		case "status":
			u.Status = ptrTo(tickets.Status(f.Status))
		case "priority":
			u.Priority = ptrTo(tickets.Priority(f.Priority))
		case "category":
			u.Category = &f.Category
		case "group":
			u.Group = &f.Group
		case "assignee":
			u.Assignee = &f.Assignee
		}
	}
	return u
}

func ptrTo[T any](v T) *T { return &v }

// ticketFormData is what the edit form partial needs; the console shows
// the same form.
type ticketFormData struct {
	L        lang
	CSRF     string
	T        tickets.Ticket
	F        ticketForm
	Groups   []groupOpt
	Statuses []tickets.Status
	Prios    []tickets.Priority
	Return   string // "console" to come back to the console
	Me       string
	Body     string // a message typed, shown again with an error
	Kind     string // its kind, "public" or "internal"
	// Categories is the configured list offered instead of free text;
	// Legacy is the ticket's category when it is not in the list (from
	// before it, or a list changed since), kept selectable.
	Categories []menu.CategoryOption
	Legacy     string
	// Contact is the ticket's contact box (contacts.go); nil: not shown.
	Contact *contactBox
}

func (s *Server) formData(rq *request, t tickets.Ticket, f ticketForm, ret string) ticketFormData {
	d := ticketFormData{L: rq.lang, CSRF: rq.sess.CSRF, T: t, F: f, Groups: s.allGroupOpts(),
		Statuses: tickets.Statuses, Prios: tickets.Priorities, Return: ret, Me: rq.user.Login}
	if cfg := s.config(); cfg.HasCategories() {
		d.Categories = cfg.CategoryOptions(string(rq.lang))
		if !cfg.ValidCategory(t.Category) {
			d.Legacy = t.Category
		}
	}
	return d
}

type attachmentView struct {
	A         tickets.Attachment
	Recording bool // an after-hours recording
	Playable  bool
	URL       string
	Download  string // a mail's file, when it can be opened
}

// surveyView is a call's survey with its comment's player, if any.
type surveyView struct {
	S       tickets.Survey
	Comment *attachmentView
}

type ticketData struct {
	T           tickets.Ticket
	Articles    []tickets.Article
	Attachments []attachmentView
	History     []tickets.Change
	Calls       []tickets.Call
	// Handling is, per call, who had it and for how long, its holds and
	// transfers (handlingKinds).
	Handling   map[int64][]tickets.CallEvent
	Surveys    []surveyView
	Notices    []OutboxMessage
	External   *ExternalTicket
	Category   string // the ticket's category, named in the user's language
	Linked     []tickets.Ticket
	MergedInto *tickets.Ticket
	Form       ticketFormData
	Conflict   bool
}

func ticketID(r *http.Request, param string) (int64, error) {
	id, err := strconv.ParseInt(chi.URLParam(r, param), 10, 64)
	if err != nil || id <= 0 {
		return 0, fault.ErrNotFound
	}
	return id, nil
}

func (s *Server) attachmentViews(list []tickets.Attachment) []attachmentView {
	out := make([]attachmentView, len(list))
	for i, a := range list {
		_, rec := strings.CutPrefix(a.URI, recordingScheme)
		out[i] = attachmentView{A: a, Recording: rec, Playable: rec && s.opts.Recordings != nil,
			URL: fmt.Sprintf("/recordings/%d/%d", a.TicketID, a.ID)}
		if isFile(a.URI) && s.opts.Files != nil {
			out[i].Download = attachmentURL(a)
		}
	}
	return out
}

// loadTicket reads a ticket with everything its page shows, in the
// viewer's view: another group's ticket is fault.ErrNotFound.
func (s *Server) loadTicket(ctx context.Context, rq *request, id int64) (ticketData, error) {
	v := rq.viewer()
	t, err := s.opts.Tickets.FindTicketByID(ctx, id, v)
	if err != nil {
		return ticketData{}, err
	}
	d := ticketData{T: t}
	if d.Articles, err = s.opts.Tickets.Articles(ctx, id, v); err != nil {
		return d, err
	}
	atts, err := s.opts.Tickets.Attachments(ctx, id, v)
	if err != nil {
		return d, err
	}
	d.Attachments = s.attachmentViews(atts)
	if d.History, err = s.opts.Tickets.History(ctx, id, v); err != nil {
		return d, err
	}
	if d.Calls, err = s.opts.Tickets.CallsOfTicket(ctx, id, v); err != nil {
		return d, err
	}
	for _, c := range d.Calls {
		if c.OperatorAnsweredAt.IsZero() {
			continue // nobody had it
		}
		evs, err := s.opts.Tickets.CallEvents(ctx, c.ID)
		if err != nil {
			return d, err
		}
		evs = slices.DeleteFunc(evs, func(e tickets.CallEvent) bool { return !slices.Contains(handlingKinds, string(e.Kind)) })
		if len(evs) > 0 {
			if d.Handling == nil {
				d.Handling = map[int64][]tickets.CallEvent{}
			}
			d.Handling[c.ID] = evs
		}
	}
	svs, err := s.opts.Tickets.SurveysOfTicket(ctx, id, v)
	if err != nil {
		return d, err
	}
	for _, sv := range svs {
		view := surveyView{S: sv}
		// The comment is one of the ticket's recordings: it plays as they do.
		if i := slices.IndexFunc(d.Attachments, func(a attachmentView) bool { return sv.CommentURI != "" && a.A.URI == sv.CommentURI }); i >= 0 {
			view.Comment = &d.Attachments[i]
		}
		d.Surveys = append(d.Surveys, view)
	}
	if d.Notices, err = s.outbox.OfTicket(ctx, id); err != nil {
		return d, err
	}
	if s.opts.ExternalTicket != nil {
		// The link is a convenience: a failure to read it is logged,
		// and the page shown without it.
		if x, ok, err := s.opts.ExternalTicket(ctx, id); err != nil {
			s.log.Warn("panel_external_ticket_unreadable", "ticket", id, "error", err.Error())
		} else if ok {
			d.External = &x
		}
	}
	if err := s.loadLinks(ctx, rq, &d); err != nil {
		return d, err
	}
	d.Category = s.config().CategoryLabel(t.Category, string(rq.lang))
	d.Form = s.formData(rq, t, formOf(t), "")
	if err := s.fillContactBox(ctx, &d.Form, d.History); err != nil {
		return d, err
	}
	return d, nil
}

func (s *Server) ticketDetail(w http.ResponseWriter, r *http.Request) {
	id, err := ticketID(r, "id")
	if err == nil {
		var d ticketData
		if d, err = s.loadTicket(r.Context(), reqOf(r), id); err == nil {
			p := s.newPage(r, "tickets", "nav.tickets", d)
			p.Title = string(d.T.Number) + " – " + shorten(d.T.Subject, maxSubject)
			s.render(w, r, http.StatusOK, "ticket.html", p)
			return
		}
	}
	s.fail(w, r, err)
}

// ticketUpdate saves the edit form. A ticket changed by someone else since
// the form was shown (its version) is not overwritten: the page comes back
// with the current ticket, the user's values still in the form, and a
// message; saving again applies them.
func (s *Server) ticketUpdate(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rq := reqOf(r)
	id, err := ticketID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Reading with the user's view first is the authorization: an
	// operator cannot write another group's ticket.
	cur, err := s.opts.Tickets.FindTicketByID(ctx, id, rq.viewer())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := parseTicketForm(r, cur)
	changed := f.changed()
	if err == nil {
		err = s.checkTicketForm(ctx, &f, changed)
	}
	if err == nil && len(changed) == 0 && f.Version != cur.Version {
		err = errorKey(fault.ECONFLICT, "ticket.conflict") // a stale form is never "nothing to save"
	}
	ret := r.PostFormValue("return")
	if err == nil && len(changed) > 0 {
		_, err = s.opts.Tickets.UpdateTicket(ctx, id, f.update(changed), rq.actor())
	}
	if err == nil {
		msg := "saved"
		if len(changed) == 0 {
			msg = "unchanged"
		} else {
			s.hub.notify()
		}
		if ret == "console" {
			http.Redirect(w, r, "/console?msg="+msg, http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/tickets/%d?msg=%s", id, msg), http.StatusSeeOther)
		return
	}
	code := fault.Code(err)
	if code != fault.ECONFLICT && code != fault.EINVALID {
		s.fail(w, r, err)
		return
	}
	d, lerr := s.loadTicket(ctx, rq, id)
	if lerr != nil {
		s.fail(w, r, lerr)
		return
	}
	// Keep what the user changed, over the ticket as it is now; on a
	// conflict with the current version, so that saving again is a
	// deliberate overwrite of those fields only.
	if code == fault.ECONFLICT {
		d.Conflict = true
	}
	mine := f
	f = formOf(d.T)
	for _, x := range ticketFormFields {
		if slices.Contains(changed, x.name) {
			*x.get(&f.ticketValues) = *x.get(&mine.ticketValues)
		}
	}
	d.Form = s.formData(rq, d.T, f, "")
	if err := s.fillContactBox(ctx, &d.Form, nil); err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.newPage(r, "tickets", "nav.tickets", d)
	p.Title = string(d.T.Number) + " – " + shorten(d.T.Subject, maxSubject)
	p.Error = cmpOr(errorMessage(rq.lang, err), rq.lang.T("err.400"))
	if code == fault.ECONFLICT {
		p.Error = rq.lang.T("ticket.conflict")
	}
	s.render(w, r, fault.HTTPStatus(err), "ticket.html", p)
}

// ticketArticle adds a public message or an internal note. Invalid input
// shows the ticket again with the text typed (cut to its limit) and the
// message.
func (s *Server) ticketArticle(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rq := reqOf(r)
	id, err := ticketID(r, "id")
	if err == nil {
		_, err = s.opts.Tickets.FindTicketByID(ctx, id, rq.viewer())
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	kind := r.PostFormValue("kind")
	body, err := text("article.body", r.PostFormValue("body"), maxBody, true, true)
	if err == nil && kind != "public" && kind != "internal" {
		err = errorKey(fault.EINVALID, "article.bad_kind")
	}
	if err == nil {
		_, err = s.opts.Tickets.AddArticle(ctx, id, tickets.Article{Internal: kind == "internal", Body: body}, rq.actor())
	}
	if fault.Code(err) == fault.EINVALID {
		d, lerr := s.loadTicket(ctx, rq, id)
		if lerr != nil {
			s.fail(w, r, lerr)
			return
		}
		d.Form.Body, d.Form.Kind = body, kind
		p := s.newPage(r, "tickets", "nav.tickets", d)
		p.Title = string(d.T.Number) + " – " + shorten(d.T.Subject, maxSubject)
		p.Error = cmpOr(errorMessage(rq.lang, err), rq.lang.T("err.400"))
		s.render(w, r, http.StatusBadRequest, "ticket.html", p)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if r.PostFormValue("return") == "console" {
		http.Redirect(w, r, "/console?msg=article", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/tickets/%d?msg=article#articles", id), http.StatusSeeOther)
}

// recordingScheme prefixes the URI of a recording stored by Asterisk.
const recordingScheme = "ari:recording:"

// recording streams an attachment's recording to a user who may see its
// ticket. Recordings never have a public URL: the bytes come through
// Options.Recordings (the controller, from Asterisk) on each request.
func (s *Server) recording(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	att, ok := s.ticketAttachment(w, r)
	if !ok {
		return
	}
	tid := att.TicketID
	name, ok := strings.CutPrefix(att.URI, recordingScheme)
	if !ok || s.opts.Recordings == nil {
		s.fail(w, r, errorKey(fault.ENOTFOUND, "recording.unavailable"))
		return
	}
	body, ctype, err := s.opts.Recordings.OpenRecording(ctx, name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer body.Close()
	download := r.URL.Query().Get("download") == "1"
	if startsListening(r) {
		// Who heard or took which recording, and when (a player asks
		// for the rest of a file in further ranges: one entry a playback).
		action := "media.play"
		if download {
			action = "media.download"
		}
		s.audited(r, action, fmt.Sprintf("ticket:%d", tid), fmt.Sprintf("attachment=%d name=%s", att.ID, att.Name))
	}
	h := w.Header()
	h.Set("Content-Type", cmpOr(ctype, cmpOr(att.ContentType, "audio/wav")))
	h.Set("Cache-Control", "private, no-store")
	h.Set("Content-Disposition", "inline")
	if download {
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": att.Name}))
	}
	if rs, ok := body.(io.ReadSeeker); ok {
		http.ServeContent(w, r, "", att.CreatedAt, rs)
		return
	}
	// The length is the file's, as its source says: the attachment's size
	// is an estimate made when the call ended (a wrong Content-Length cut
	// recordings short).
	if sized, ok := body.(interface{ Size() int64 }); ok && sized.Size() >= 0 {
		h.Set("Content-Length", strconv.FormatInt(sized.Size(), 10))
	}
	if _, err := io.Copy(w, body); err != nil && !errors.Is(err, context.Canceled) {
		s.log.Warn("panel_recording_stream", "ticket", tid, "error", err.Error())
	}
}

// startsListening reports a request for a recording from its start: a
// playback or a download begins, not a player's request for a later part.
func startsListening(r *http.Request) bool {
	rng := r.Header.Get("Range")
	return rng == "" || strings.HasPrefix(strings.ReplaceAll(rng, " ", ""), "bytes=0-")
}

type afterHoursRow struct {
	T          tickets.Ticket
	Recordings []attachmentView
	Overdue    bool
}

// afterHoursLimit bounds the after-hours list: the open requests left
// while closed, due soonest first.
const afterHoursLimit = 200

func (s *Server) afterHours(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rq := reqOf(r)
	v := rq.viewer()
	// The store's filter has no source; the ids come from here, every
	// ticket then through the store in the user's view.
	var groups []string // nil: every group
	if !rq.allGroups() {
		groups = append([]string{}, rq.groups...)
	}
	rows, err := s.opts.Pool.Query(ctx, `SELECT t.id FROM tickets t
		WHERE t.source = 'after_hours' AND t.status <> 'closed' AND ($1::text[] IS NULL OR t.group_id = ANY($1))
		ORDER BY t.due_at NULLS LAST, t.created_at, t.id LIMIT $2`, groups, afterHoursLimit)
	var ids []int64
	if err == nil {
		for rows.Next() {
			var id int64
			if err = rows.Scan(&id); err != nil {
				break
			}
			ids = append(ids, id)
		}
		rows.Close()
		err = cmpErr(err, rows.Err())
	}
	if err != nil {
		s.fail(w, r, fmt.Errorf("after-hours list: %w", err))
		return
	}
	now := s.now()
	list := make([]afterHoursRow, 0, len(ids))
	for _, id := range ids {
		t, err := s.opts.Tickets.FindTicketByID(ctx, id, v)
		if fault.Code(err) == fault.ENOTFOUND {
			continue // moved to another group meanwhile
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		atts, err := s.opts.Tickets.Attachments(ctx, id, v)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		row := afterHoursRow{T: t, Overdue: !t.DueAt.IsZero() && t.DueAt.Before(now)}
		for _, a := range s.attachmentViews(atts) {
			if a.Recording {
				row.Recordings = append(row.Recordings, a)
			}
		}
		list = append(list, row)
	}
	s.render(w, r, http.StatusOK, "afterhours.html", s.newPage(r, "afterhours", "nav.afterhours", list))
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// handlingKinds are the call events of operators' actions on a call that
// the ticket's page lists (ivr/transfer.go), each with its label
// "step.<kind>".
var handlingKinds = []string{"on_hold", "off_hold", "handled", "transfer_group", "transfer_operator", "transfer_number",
	"transfer_attended", "transfer_move", "transfer_failed", "consult", "consult_ended", "three_way"}
