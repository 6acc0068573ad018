package panel

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// Tickets opened by staff: a call that came in on another line, a walk-in,
// a mail. The same numbering, notifications and history as a call's
// (tickets.Store.CreateTicket runs the Hook); the group must be one the
// user works in, as for the API's tokens.

type orgOpt struct{ ID, Name string }

type newTicketData struct {
	Groups     []groupOpt
	Orgs       []orgOpt
	Categories []menu.CategoryOption
	Prios      []tickets.Priority
	Form       newTicketForm
}

type newTicketForm struct {
	Subject, Description, Group, Category, Caller, Organization, Priority string
}

func (s *Server) newTicketPage(w http.ResponseWriter, r *http.Request) {
	s.renderNewTicket(w, r, http.StatusOK, newTicketForm{Priority: string(tickets.PriorityMedium)}, "")
}

func (s *Server) renderNewTicket(w http.ResponseWriter, r *http.Request, status int, f newTicketForm, msg string) {
	rq := reqOf(r)
	cfg := s.config()
	d := newTicketData{Groups: s.groupOpts(rq), Prios: tickets.Priorities, Form: f}
	for _, o := range cfg.Organizations {
		if o != nil {
			d.Orgs = append(d.Orgs, orgOpt{o.ID, cmpOr(o.Name, o.ID)})
		}
	}
	if cfg.HasCategories() {
		d.Categories = cfg.CategoryOptions(string(rq.lang))
	}
	p := s.newPage(r, "tickets", "tickets.new", d)
	p.Error = msg
	s.render(w, r, status, "newticket.html", p)
}

func (s *Server) ticketCreate(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	f := newTicketForm{Subject: r.PostFormValue("subject"), Description: r.PostFormValue("description"),
		Group: r.PostFormValue("group"), Category: r.PostFormValue("category"), Caller: r.PostFormValue("caller"),
		Organization: r.PostFormValue("organization"), Priority: r.PostFormValue("priority")}
	err := s.checkNewTicket(rq, &f)
	var t tickets.Ticket
	if err == nil {
		t, err = s.opts.Tickets.CreateTicket(r.Context(), tickets.NewTicket{Subject: f.Subject, Description: f.Description,
			Group: f.Group, Category: f.Category, Caller: f.Caller, Organization: f.Organization,
			Priority: tickets.Priority(f.Priority)}, rq.actor())
	}
	if fault.Code(err) == fault.EINVALID {
		s.renderNewTicket(w, r, http.StatusBadRequest, f, errorMessage(rq.lang, err))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("panel_ticket_created", "ticket", string(t.Number), "group", t.Group, "by", rq.user.Login)
	http.Redirect(w, r, "/tickets/"+strconv.FormatInt(t.ID, 10)+"?msg=created", http.StatusSeeOther)
}

// checkNewTicket checks the form, cutting what is too long so that the
// form shows it again within limits.
func (s *Server) checkNewTicket(rq *request, f *newTicketForm) error {
	cfg := s.config()
	var err error
	for _, x := range []struct {
		name      field
		v         *string
		max       int
		required  bool
		multiline bool
	}{
		{"ticket.subject", &f.Subject, maxSubject, true, false},
		{"ticket.description", &f.Description, maxBody, false, true},
		{"ticket.caller", &f.Caller, maxFilter, false, false},
		{"ticket.organization", &f.Organization, maxFilter, false, false},
		{"ticket.category", &f.Category, maxCategory, false, false},
	} {
		if *x.v, err = text(x.name, *x.v, x.max, x.required, x.multiline); err != nil {
			*x.v = shorten(*x.v, x.max)
			return err
		}
	}
	switch {
	case !slices.Contains(tickets.Priorities, tickets.Priority(f.Priority)):
		return errorKey(fault.EINVALID, "ticket.bad_priority", f.Priority)
	case cfg.Group(f.Group) == nil || !rq.mayGroup(f.Group):
		// An operator opens tickets in the groups they work in only.
		return errorKey(fault.EINVALID, "ticket.bad_group", f.Group)
	case f.Organization != "" && cfg.Organization(f.Organization) == nil:
		return errorKey(fault.EINVALID, "tickets.bad_org", f.Organization)
	case cfg.HasCategories() && !cfg.ValidCategory(f.Category):
		return errorKey(fault.EINVALID, "ticket.bad_category", f.Category)
	}
	if f.Caller != "" {
		n, nerr := menu.NormalizeNumber(f.Caller)
		if nerr != nil {
			return errorKey(fault.EINVALID, "tickets.bad_caller", f.Caller)
		}
		f.Caller = n
	}
	return nil
}
