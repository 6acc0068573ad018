package panel

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// The contacts directory: the people of each Administration (who calls,
// who is mailed). Everybody reads it; supervisors and administrators edit
// it and import it from CSV; an operator picks a ticket's contact, or adds
// one inline, on the ticket page and the console.

const (
	maxContactName = 200
	maxImportText  = maxForm - 4096 // a pasted or uploaded CSV file, within the form
)

// contactRoutes adds the directory's routes (behind authenticate).
func (s *Server) contactRoutes(r chi.Router) {
	r.Get("/contacts", s.contactList)
	// Reading the ticket with the user's view authorizes these.
	r.Post("/tickets/{id}/contact", s.ticketContact)
	r.Post("/tickets/{id}/contact/new", s.ticketContactNew)
	r.Group(func(r chi.Router) {
		r.Use(s.require(RoleSupervisor, RoleAdmin))
		r.Get("/contacts/new", s.contactNewPage)
		r.Post("/contacts/new", s.contactSave)
		r.Get("/contacts/import", s.contactImportPage)
		r.Post("/contacts/import", s.contactImport)
		r.Get("/contacts/{cid}", s.contactEditPage)
		r.Post("/contacts/{cid}", s.contactSave)
		r.Post("/contacts/{cid}/disable", s.contactDisable)
	})
}

func mayEditContacts(rq *request) bool {
	return rq.user.Role == RoleSupervisor || rq.user.Role == RoleAdmin
}

func (s *Server) orgOpts() []orgOpt {
	var out []orgOpt
	for _, o := range s.config().Organizations {
		if o != nil {
			out = append(out, orgOpt{o.ID, cmpOr(o.Name, o.ID)})
		}
	}
	return out
}

func (s *Server) orgName(id string) string {
	if o := s.config().Organization(id); o != nil && o.Name != "" {
		return o.Name
	}
	return id
}

func (s *Server) knownOrg(id string) bool { return s.config().Organization(id) != nil }

type contactRow struct {
	C       tickets.Contact
	OrgName string
}

type contactListData struct {
	Orgs     []orgOpt
	Org, Q   string
	Disabled bool
	Contacts []contactRow
	CanEdit  bool
}

func (s *Server) contactList(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	q := r.URL.Query()
	d := contactListData{Orgs: s.orgOpts(), Org: shorten(q.Get("org"), maxValue), Q: shorten(q.Get("q"), maxFilter),
		Disabled: q.Get("disabled") == "1", CanEdit: mayEditContacts(rq)}
	list, err := s.opts.Tickets.FindContacts(r.Context(), tickets.ContactFilter{Organization: d.Org, Text: d.Q, IncludeDisabled: d.Disabled})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, c := range list {
		d.Contacts = append(d.Contacts, contactRow{c, s.orgName(c.Organization)})
	}
	s.render(w, r, http.StatusOK, "contacts.html", s.newPage(r, "contacts", "nav.contacts", d))
}

// contactForm is the contact form's values, as typed.
type contactForm struct {
	ID                                                int64
	Organization, Name, Role, Email, Phones, Language string
	Disabled                                          bool
}

func formOfContact(c tickets.Contact) contactForm {
	return contactForm{ID: c.ID, Organization: c.Organization, Name: c.Name, Role: string(c.Role), Email: c.Email,
		Phones: strings.Join(c.Phones, "; "), Language: c.Language, Disabled: c.Disabled}
}

func contactFormOf(r *http.Request) contactForm {
	return contactForm{Organization: r.PostFormValue("organization"), Name: r.PostFormValue("name"),
		Role: r.PostFormValue("role"), Email: r.PostFormValue("email"), Phones: r.PostFormValue("phones"),
		Language: r.PostFormValue("language")}
}

// contact checks the form and returns the contact it describes, with
// errors in the user's language.
func (s *Server) contact(f *contactForm) (tickets.Contact, error) {
	var err error
	for _, x := range []struct {
		name     field
		v        *string
		max      int
		required bool
	}{
		{"contacts.name", &f.Name, maxContactName, true},
		{"contacts.email", &f.Email, maxFilter, false},
		{"contacts.phones", &f.Phones, maxFilter * 4, false},
		{"contacts.language", &f.Language, maxValue, false},
		{"ticket.organization", &f.Organization, maxValue, true},
		{"contacts.role", &f.Role, maxValue, true},
	} {
		if *x.v, err = text(x.name, *x.v, x.max, x.required, false); err != nil {
			return tickets.Contact{}, err
		}
	}
	c := tickets.Contact{ID: f.ID, Organization: f.Organization, Name: f.Name, Role: tickets.ContactRole(f.Role),
		Email: f.Email, Language: f.Language, Disabled: f.Disabled}
	for p := range strings.FieldsFuncSeq(f.Phones, func(r rune) bool { return r == ';' || r == ',' || r == '\n' }) {
		if strings.TrimSpace(p) == "" {
			continue
		}
		if _, err := tickets.NormalizePhone(p); err != nil {
			return c, errorKey(fault.EINVALID, "contacts.bad_phone", strings.TrimSpace(p))
		}
		c.Phones = append(c.Phones, p)
	}
	switch {
	case !s.knownOrg(c.Organization):
		return c, errorKey(fault.EINVALID, "tickets.bad_org", c.Organization)
	case !c.Role.Valid():
		return c, errorKey(fault.EINVALID, "contacts.bad_role", f.Role)
	case c.Email != "" && !tickets.ValidEmail(c.Email):
		return c, errorKey(fault.EINVALID, "contacts.bad_email", c.Email)
	}
	return tickets.NormalizeContact(c)
}

// contactError is a store error in the user's words: a used address.
func contactError(err error) error {
	if fault.Code(err) == fault.ECONFLICT {
		return errorKey(fault.ECONFLICT, "contacts.email_taken")
	}
	return err
}

type contactEditData struct {
	Orgs  []orgOpt
	Roles []tickets.ContactRole
	Form  contactForm
}

func (s *Server) renderContactForm(w http.ResponseWriter, r *http.Request, status int, f contactForm, msg string) {
	title := "contacts.new"
	if f.ID != 0 {
		title = "contacts.edit"
	}
	p := s.newPage(r, "contacts", title, contactEditData{Orgs: s.orgOpts(), Roles: tickets.ContactRoles, Form: f})
	p.Error = msg
	s.render(w, r, status, "contact.html", p)
}

func (s *Server) contactNewPage(w http.ResponseWriter, r *http.Request) {
	f := contactForm{Role: string(tickets.ContactUser), Organization: shorten(r.URL.Query().Get("org"), maxValue)}
	s.renderContactForm(w, r, http.StatusOK, f, "")
}

func contactID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(chi.URLParam(r, "cid"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fault.ErrNotFound
	}
	return id, nil
}

func (s *Server) contactEditPage(w http.ResponseWriter, r *http.Request) {
	id, err := contactID(r)
	var c tickets.Contact
	if err == nil {
		c, err = s.opts.Tickets.FindContactByID(r.Context(), id)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderContactForm(w, r, http.StatusOK, formOfContact(c), "")
}

// contactSave creates (/contacts/new) or updates (/contacts/{cid}) a
// contact.
func (s *Server) contactSave(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rq := reqOf(r)
	f := contactFormOf(r)
	if chi.URLParam(r, "cid") != "" {
		id, err := contactID(r)
		var cur tickets.Contact
		if err == nil {
			cur, err = s.opts.Tickets.FindContactByID(ctx, id)
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		f.ID, f.Disabled = id, cur.Disabled
	}
	c, err := s.contact(&f)
	if err == nil {
		if f.ID == 0 {
			c, err = s.opts.Tickets.CreateContact(ctx, c)
		} else {
			c, err = s.opts.Tickets.UpdateContact(ctx, c)
		}
		err = contactError(err)
	}
	if code := fault.Code(err); code == fault.EINVALID || code == fault.ECONFLICT {
		s.renderContactForm(w, r, fault.HTTPStatus(err), f, errorMessage(rq.lang, err))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	action := "contact.update"
	if f.ID == 0 {
		action = "contact.create"
	}
	s.audited(r, action, fmt.Sprintf("contact:%d", c.ID), c.Organization)
	http.Redirect(w, r, "/contacts?msg=contact_saved&org="+url.QueryEscape(c.Organization), http.StatusSeeOther)
}

func (s *Server) contactDisable(w http.ResponseWriter, r *http.Request) {
	id, err := contactID(r)
	var c tickets.Contact
	if err == nil {
		c, err = s.opts.Tickets.DisableContact(r.Context(), id, r.PostFormValue("enable") != "1")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	msg, action := "contact_disabled", "contact.disable"
	if !c.Disabled {
		msg, action = "contact_enabled", "contact.enable"
	}
	s.audited(r, action, fmt.Sprintf("contact:%d", c.ID), c.Organization)
	http.Redirect(w, r, "/contacts?disabled=1&msg="+msg+"&org="+url.QueryEscape(c.Organization), http.StatusSeeOther)
}

type contactImportData struct {
	Text   string // the file, carried from the dry run to the confirmation
	Result *tickets.ImportResult
	Done   bool
}

func (s *Server) contactImportPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "contactimport.html", s.newPage(r, "contacts", "contacts.import", contactImportData{}))
}

// contactImport runs the dry run of a file (uploaded or pasted), or, with
// confirm, the import of the text the dry run showed. Either way the whole
// file is checked again: nothing is written if any line is wrong.
func (s *Server) contactImport(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	text := r.PostFormValue("csv")
	if file, _, err := r.FormFile("file"); err == nil {
		b, rerr := io.ReadAll(io.LimitReader(file, maxImportText+1))
		_ = file.Close()
		if rerr != nil {
			s.fail(w, r, errorKey(fault.EINVALID, "err.400"))
			return
		}
		if len(b) > 0 {
			text = string(b)
		}
	}
	d := contactImportData{Text: text}
	p := s.newPage(r, "contacts", "contacts.import", &d)
	if strings.TrimSpace(text) == "" || len(text) > maxImportText {
		p.Error = rq.lang.Tf("contacts.import_size", maxImportText>>10)
		s.render(w, r, http.StatusBadRequest, "contactimport.html", p)
		return
	}
	confirm := r.PostFormValue("confirm") == "1"
	res, err := s.opts.Tickets.ImportContacts(r.Context(), strings.NewReader(text), s.knownOrg, !confirm)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Result = &res
	d.Done = confirm && len(res.Errors) == 0
	status := http.StatusOK
	if len(res.Errors) > 0 {
		status = http.StatusUnprocessableEntity
	}
	if d.Done {
		s.audited(r, "contact.import", "contacts", fmt.Sprintf("%d added, %d updated", res.Created, res.Updated))
	}
	s.render(w, r, status, "contactimport.html", p)
}

// contactBox is a ticket's contact on the ticket page and the console:
// the person, the Administration's contacts to pick from, the form to add
// one.
type contactBox struct {
	Current *tickets.Contact
	Choices []tickets.Contact
	Orgs    []orgOpt // for a ticket of no Administration, the new contact's
	Roles   []tickets.ContactRole
}

// fillContactBox sets the contact box of a ticket's form and names the
// contacts in its history (hist may be nil), in one query for both.
func (s *Server) fillContactBox(ctx context.Context, f *ticketFormData, hist []tickets.Change) error {
	t := f.T
	ids := []int64{}
	if t.ContactID != 0 {
		ids = append(ids, t.ContactID)
	}
	for _, c := range hist {
		if c.Field == "contact" {
			for _, v := range []string{c.Old, c.New} {
				if id, err := strconv.ParseInt(v, 10, 64); err == nil {
					ids = append(ids, id)
				}
			}
		}
	}
	known, err := s.opts.Tickets.ContactsByID(ctx, ids)
	if err != nil {
		return err
	}
	for i, c := range hist {
		if c.Field == "contact" {
			hist[i].Old, hist[i].New = contactLabel(known, c.Old), contactLabel(known, c.New)
		}
	}
	box := &contactBox{Roles: tickets.ContactRoles}
	if c, ok := known[t.ContactID]; ok {
		box.Current = &c
	}
	if t.Organization != "" {
		box.Choices, err = s.opts.Tickets.FindContacts(ctx, tickets.ContactFilter{Organization: t.Organization, Limit: 500})
		if err != nil {
			return err
		}
	} else {
		box.Orgs = s.orgOpts()
		if t.Caller != "" {
			// No Administration: the people having the caller's number.
			if box.Choices, err = s.opts.Tickets.FindContactsByPhone(ctx, t.Caller, ""); err != nil && fault.Code(err) != fault.EINVALID {
				return err
			}
		}
	}
	f.Contact = box
	return nil
}

func contactLabel(known map[int64]tickets.Contact, v string) string {
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return v
	}
	if c, ok := known[id]; ok {
		return fmt.Sprintf("%s (#%d)", c.Name, id)
	}
	return "#" + v
}

// ticketContact sets or clears a ticket's contact.
func (s *Server) ticketContact(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	t, ok := s.contactTicket(w, r)
	if !ok {
		return
	}
	cid, err := strconv.ParseInt(r.PostFormValue("contact"), 10, 64)
	if err != nil || cid < 0 {
		s.fail(w, r, errorKey(fault.EINVALID, "contacts.bad_choice"))
		return
	}
	s.setTicketContact(w, r, t, cid, rq)
}

// ticketContactNew adds a contact of the ticket's Administration and makes
// it the ticket's: operators may, on the phone with a new person.
func (s *Server) ticketContactNew(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	t, ok := s.contactTicket(w, r)
	if !ok {
		return
	}
	f := contactFormOf(r)
	if t.Organization != "" {
		f.Organization = t.Organization
	}
	c, err := s.contact(&f)
	if err == nil {
		c, err = s.opts.Tickets.CreateContact(r.Context(), c)
		err = contactError(err)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.audited(r, "contact.create", fmt.Sprintf("contact:%d", c.ID), c.Organization)
	s.setTicketContact(w, r, t, c.ID, rq)
}

// contactTicket reads the ticket of the request with the user's view: an
// operator cannot touch another group's ticket.
func (s *Server) contactTicket(w http.ResponseWriter, r *http.Request) (tickets.Ticket, bool) {
	id, err := ticketID(r, "id")
	var t tickets.Ticket
	if err == nil {
		t, err = s.opts.Tickets.FindTicketByID(r.Context(), id, reqOf(r).viewer())
	}
	if err != nil {
		s.fail(w, r, err)
		return t, false
	}
	return t, true
}

func (s *Server) setTicketContact(w http.ResponseWriter, r *http.Request, t tickets.Ticket, cid int64, rq *request) {
	version, err := strconv.Atoi(r.PostFormValue("version"))
	if err != nil {
		s.fail(w, r, errorKey(fault.EINVALID, "err.400"))
		return
	}
	if _, err := s.opts.Tickets.UpdateTicket(r.Context(), t.ID, tickets.TicketUpdate{Version: version, ContactID: &cid}, rq.actor()); err != nil {
		if fault.Code(err) == fault.EINVALID {
			err = errorKey(fault.EINVALID, "contacts.bad_choice")
		}
		s.fail(w, r, err)
		return
	}
	s.hub.notify()
	if r.PostFormValue("return") == "console" {
		http.Redirect(w, r, "/console?msg=contact_set", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/tickets/%d?msg=contact_set", t.ID), http.StatusSeeOther)
}
