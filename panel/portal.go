package panel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/mailin"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// The Administrations' portal, under /portal: the people of the contacts
// directory (seed 001's technical referent and generic user) follow their
// tickets, write to the help desk and open tickets. Its sessions are not
// the staff's (their own table and cookie): a portal session opens no
// staff page, a staff session no portal page. Sessions, CSRF tokens and
// the login throttle work as the staff's.

// InvitationMailer queues the mail of a portal invitation in tx, the
// transaction that records it (package notify's Notifier).
type InvitationMailer interface {
	QueueInvitation(ctx context.Context, tx pgx.Tx, to, name, lang, link string, at, expires time.Time) error
}

const (
	portalCookie      = "portal_session"
	portalLoginCookie = "portal_login"
	portalPrefix      = "/portal"
	// maxUpload bounds a whole posted message with its files, as mailin's
	// default bounds a whole mail.
	maxUpload = 25<<20 + maxForm
)

// portalRequest is what the portal knows of an authenticated request.
type portalRequest struct {
	sess portalSession
	user portalUser
	lang lang
}

type portalKey struct{}

func portalOf(r *http.Request) *portalRequest {
	pr, _ := r.Context().Value(portalKey{}).(*portalRequest)
	return pr
}

func (s *Server) portalRoutes(r chi.Router) {
	r.Get("/login", s.portalLoginPage)
	r.Post("/login", s.portalLogin)
	r.Get("/accept", s.portalAcceptPage)
	r.Post("/accept", s.portalAccept)
	r.Group(func(r chi.Router) {
		// Staff's page: who may use the portal.
		r.Use(s.authenticate, s.require(RoleSupervisor, RoleAdmin))
		r.Get("/invitations", s.invitationsPage)
		r.Post("/invitations", s.invitationSend)
	})
	r.Group(func(r chi.Router) {
		r.Use(s.portalAuthenticate)
		r.Get("/", s.portalHome)
		r.Post("/logout", s.portalLogout)
		r.Post("/lang", s.portalSetLang)
		r.Get("/tickets/new", s.portalNewPage)
		r.Post("/tickets/new", s.portalCreate)
		r.Get("/tickets/{id}", s.portalTicket)
		r.Post("/tickets/{id}/messages", s.portalMessage)
		r.Get("/attachments/{ticketID}/{attachmentID}", s.portalAttachment)
	})
}

// portalPath is p if it is a page of the portal, the portal's home
// otherwise.
func portalPath(p string) string {
	p = localPath(p)
	if p != portalPrefix && !strings.HasPrefix(p, portalPrefix+"/") && !strings.HasPrefix(p, portalPrefix+"?") {
		return portalPrefix
	}
	return p
}

// portalAuthenticate lets through only requests of a live portal session,
// and only POSTs carrying its form token.
func (s *Server) portalAuthenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		sess, err := s.portal.loadSession(ctx, s.cookie(r, portalCookie))
		if errors.Is(err, fault.ErrUnauthorized) {
			s.setCookie(w, portalCookie, "", -1, http.SameSiteLaxMode)
			if r.Method == http.MethodGet {
				http.Redirect(w, r, portalPrefix+"/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.portalFail(w, r, errorKey(fault.EUNAUTHORIZED, "err.401"))
			return
		}
		if err != nil {
			s.portalFail(w, r, err)
			return
		}
		pr := &portalRequest{sess: sess, user: sess.User, lang: lang(sess.User.Lang)}
		pr.user.OrgName = pr.user.Organization
		if o := s.config().Organization(pr.user.Organization); o != nil && o.Name != "" {
			pr.user.OrgName = o.Name
		}
		r = r.WithContext(context.WithValue(ctx, portalKey{}, pr))
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if err := s.readPortalForm(w, r); err != nil {
				s.portalFail(w, r, err)
				return
			}
			if !sameToken(r.PostFormValue(csrfField), sess.CSRF) {
				s.log.Warn("portal_csrf_refused", "contact", sess.User.ContactID, "path", r.URL.Path)
				s.portalFail(w, r, errorKey(fault.EFORBIDDEN, "err.csrf"))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// readPortalForm reads a posted form: a message with files is multipart,
// at most maxUpload bytes; any other form as the staff's.
func (s *Server) readPortalForm(w http.ResponseWriter, r *http.Request) error {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		return readForm(w, r)
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxUpload)
	err := r.ParseMultipartForm(8 << 20)
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return errorKey(fault.ETOOLARGE, "err.too_large", maxUpload>>10)
	}
	if err != nil {
		return errorKey(fault.EINVALID, "err.400")
	}
	return nil
}

// portalPage fills a page for an authenticated portal request.
func (s *Server) portalPage(r *http.Request, nav, titleKey string, data any) *page {
	pr := portalOf(r)
	p := &page{L: pr.lang, Portal: &pr.user, CSRF: pr.sess.CSRF, Nav: nav, Path: r.URL.RequestURI(),
		Title: pr.lang.T(titleKey), Data: data}
	if m := r.URL.Query().Get("msg"); m != "" && pr.lang.Has("msg."+m) {
		p.Flash = pr.lang.T("msg." + m)
	}
	return p
}

// portalFail is fail for the portal's pages: the portal's header, never
// the staff's.
func (s *Server) portalFail(w http.ResponseWriter, r *http.Request, err error) {
	pr := portalOf(r)
	if pr == nil {
		s.fail(w, r, err)
		return
	}
	status := fault.HTTPStatus(err)
	msg := errorMessage(pr.lang, err)
	if status == http.StatusInternalServerError {
		s.log.Error("portal_error", "path", r.URL.Path, "error", err.Error())
		msg = ""
	}
	if status == http.StatusNotFound || msg == "" {
		msg = pr.lang.T(fmt.Sprintf("err.%d", status))
	}
	p := &page{L: pr.lang, Portal: &pr.user, CSRF: pr.sess.CSRF, Path: r.URL.RequestURI(),
		Title: pr.lang.T(fmt.Sprintf("err.%d", status)), Error: msg, Data: status}
	s.render(w, r, status, "error.html", p)
}

// --- login, logout, language ---

func (s *Server) portalLoginPage(w http.ResponseWriter, r *http.Request) {
	l := s.anonLang(r)
	if q := r.URL.Query().Get("lang"); slices.Contains(Languages, q) {
		s.setCookie(w, langCookie, q, 365*24*3600, http.SameSiteLaxMode)
	}
	s.renderPortalLogin(w, r, l, http.StatusOK, loginData{Next: portalPath(r.URL.Query().Get("next"))})
}

func (s *Server) renderPortalLogin(w http.ResponseWriter, r *http.Request, l lang, status int, d loginData) {
	d.Token = newToken()
	s.setCookie(w, portalLoginCookie, d.Token, 3600, http.SameSiteStrictMode)
	s.render(w, r, status, "portal_login.html", &page{L: l, Title: l.T("portal.login_title"), Data: d})
}

// maxEmail bounds an e-mail address typed at login (RFC 5321's path).
const maxEmail = 254

func (s *Server) portalLogin(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	l := s.anonLang(r)
	if err := readForm(w, r); err != nil {
		s.renderPortalLogin(w, r, l, fault.HTTPStatus(err), loginData{Next: portalPrefix, Error: errorMessage(l, err)})
		return
	}
	email := strings.ToLower(strings.TrimSpace(r.PostFormValue("email")))
	password := r.PostFormValue("password")
	d := loginData{Login: shorten(email, maxEmail), Next: portalPath(r.PostFormValue("next"))}
	if !sameToken(r.PostFormValue(csrfField), s.cookie(r, portalLoginCookie)) {
		d.Error = l.T("err.csrf")
		s.renderPortalLogin(w, r, l, http.StatusForbidden, d)
		return
	}
	var err error
	if _, err = text("portal.email", email, maxEmail, true, false); err == nil && len(password) > maxPassword {
		err = errorKey(fault.EINVALID, "input.too_long_bytes", field("login.password"), maxPassword)
	}
	if err != nil {
		d.Error = errorMessage(l, err)
		s.renderPortalLogin(w, r, l, http.StatusBadRequest, d)
		return
	}
	// The staff's throttle, on keys of their own: an address guessing
	// portal passwords is slowed down for staff logins too.
	key, addr := "portal:"+email, remoteAddress(r)
	wait, err := s.throttle.attempt(ctx, key, addr)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if wait > 0 {
		s.log.Warn("portal_login_delayed", "address", addr, "wait_seconds", int(wait.Seconds()))
		d.Error = l.Tf("login.wait", l.Wait(wait))
		w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		s.renderPortalLogin(w, r, l, http.StatusTooManyRequests, d)
		return
	}
	u, err := s.portal.authenticate(ctx, email, password)
	if errors.Is(err, errBadCredentials) {
		s.log.Warn("portal_login_failed", "address", addr)
		d.Error = l.T("portal.login_wrong")
		s.renderPortalLogin(w, r, l, http.StatusUnauthorized, d)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.throttle.succeeded(ctx, key, addr); err != nil {
		s.fail(w, r, err)
		return
	}
	s.startPortalSession(w, r, u, d.Next)
}

// startPortalSession logs u in: a new session whatever the browser had
// (no fixation), then next.
func (s *Server) startPortalSession(w http.ResponseWriter, r *http.Request, u portalUser, next string) {
	ctx := r.Context()
	_ = s.portal.destroySession(ctx, s.cookie(r, portalCookie))
	token, err := s.portal.createSession(ctx, u.ContactID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("portal_login", "contact", u.ContactID, "role", u.Role, "organization", u.Organization)
	s.setCookie(w, portalCookie, token, 0, http.SameSiteLaxMode)
	s.setCookie(w, portalLoginCookie, "", -1, http.SameSiteStrictMode)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) portalLogout(w http.ResponseWriter, r *http.Request) {
	if err := s.portal.destroySession(r.Context(), s.cookie(r, portalCookie)); err != nil {
		s.portalFail(w, r, err)
		return
	}
	s.log.Info("portal_logout", "contact", portalOf(r).user.ContactID)
	s.setCookie(w, portalCookie, "", -1, http.SameSiteLaxMode)
	http.Redirect(w, r, portalPrefix+"/login", http.StatusSeeOther)
}

func (s *Server) portalSetLang(w http.ResponseWriter, r *http.Request) {
	if err := s.portal.setLang(r.Context(), portalOf(r).user.ContactID, r.PostFormValue("lang")); err != nil {
		s.portalFail(w, r, err)
		return
	}
	http.Redirect(w, r, portalPath(r.PostFormValue("back")), http.StatusSeeOther)
}

// --- tickets ---

type portalListData struct {
	Rows    ticketRows
	NextURL string
	Total   int
	Capped  bool
}

func (s *Server) portalHome(w http.ResponseWriter, r *http.Request) {
	pr := portalOf(r)
	after, err := text("tickets.pages", r.URL.Query().Get("after"), maxCursor, false, false)
	if err != nil {
		s.portalFail(w, r, err)
		return
	}
	page, err := s.opts.Tickets.FindTickets(r.Context(), tickets.TicketFilter{Limit: 50, After: tickets.Cursor(after)},
		pr.user.viewer())
	if err != nil {
		s.portalFail(w, r, err)
		return
	}
	d := portalListData{Rows: newTicketRows(pr.lang, page.Tickets), Total: page.Total, Capped: page.TotalCapped}
	if page.Next != "" {
		d.NextURL = portalPrefix + "?after=" + url.QueryEscape(string(page.Next))
	}
	s.render(w, r, http.StatusOK, "portal_tickets.html", s.portalPage(r, "tickets", "portal.tickets", d))
}

// portalHistoryRow is a line of a ticket's history as the portal shows
// it: no staff login, only whether the help desk or the Administration
// did it.
type portalHistoryRow struct {
	At         time.Time
	Who, Field string
	Old, New   string
	Translated bool // Old and New are catalog keys
	ItemOnly   bool // an article or file: no values to show
}

// portalArticle is a public message with its author as the portal says
// it.
type portalArticle struct {
	A      tickets.Article
	Author string
}

type portalAttachment struct {
	A   tickets.Attachment
	URL string // "" when it cannot be downloaded (a recording)
}

type portalTicketData struct {
	T           tickets.Ticket
	Category    string
	Articles    []portalArticle
	Attachments []portalAttachment
	History     []portalHistoryRow
	Body        string // a message typed, shown again with an error
	Files       mailin.FileRules
	MaxMB       int64
}

// loadPortalTicket reads a ticket in the portal user's view: one they may
// not see is fault.ErrNotFound, as one that does not exist.
func (s *Server) loadPortalTicket(ctx context.Context, pr *portalRequest, id int64) (portalTicketData, error) {
	v := pr.user.viewer()
	t, err := s.opts.Tickets.FindTicketByID(ctx, id, v)
	if err != nil {
		return portalTicketData{}, err
	}
	d := portalTicketData{T: t, Files: s.fileRules, MaxMB: s.fileRules.MaxBytes >> 20,
		Category: s.config().CategoryLabel(t.Category, string(pr.lang))}
	arts, err := s.opts.Tickets.Articles(ctx, id, v)
	if err != nil {
		return d, err
	}
	atts, err := s.opts.Tickets.Attachments(ctx, id, v)
	if err != nil {
		return d, err
	}
	for _, a := range atts {
		pa := portalAttachment{A: a}
		if isFile(a.URI) && s.opts.Files != nil {
			pa.URL = fmt.Sprintf("%s/attachments/%d/%d", portalPrefix, a.TicketID, a.ID)
		}
		d.Attachments = append(d.Attachments, pa)
	}
	hist, err := s.opts.Tickets.History(ctx, id, v)
	if err != nil {
		return d, err
	}
	me := pr.user.actor()
	// The help desk's messages are signed by the help desk, not by a
	// staff login: the history says who wrote each.
	byCaller := map[string]bool{}
	for _, c := range hist {
		if c.Field == "article" && c.Actor.Kind == tickets.ActorCaller {
			byCaller[c.New] = true
		}
	}
	for _, a := range arts {
		pa := portalArticle{A: a, Author: a.Author}
		if !byCaller[strconv.FormatInt(a.ID, 10)] {
			pa.Author = pr.lang.T("portal.by_helpdesk")
		}
		d.Articles = append(d.Articles, pa)
	}
	for _, c := range hist {
		row := portalHistoryRow{At: c.At, Field: c.Field, Old: c.Old, New: c.New}
		switch {
		case c.Actor == me:
			row.Who = "portal.by_you"
		case c.Actor.Kind == tickets.ActorCaller:
			row.Who = "portal.by_administration"
		default:
			row.Who = "portal.by_helpdesk"
		}
		switch c.Field {
		case "status":
			row.Old, row.New, row.Translated = "status."+c.Old, "status."+c.New, true
		case "priority":
			row.Old, row.New, row.Translated = "priority."+c.Old, "priority."+c.New, true
		case "article", "attachment":
			row.ItemOnly = true
		case "due_at", "closed_at":
			row.Old, row.New = "", "" // the facts above say them, in the user's format
			row.ItemOnly = true
		}
		d.History = append(d.History, row)
	}
	return d, nil
}

func (s *Server) portalTicket(w http.ResponseWriter, r *http.Request) {
	pr := portalOf(r)
	id, err := ticketID(r, "id")
	if err == nil {
		var d portalTicketData
		if d, err = s.loadPortalTicket(r.Context(), pr, id); err == nil {
			p := s.portalPage(r, "tickets", "portal.tickets", d)
			p.Title = string(d.T.Number) + " – " + shorten(d.T.Subject, maxSubject)
			s.render(w, r, http.StatusOK, "portal_ticket.html", p)
			return
		}
	}
	s.portalFail(w, r, err)
}

// upload is a file posted with a message, checked.
type upload struct {
	Name, ContentType string
	Data              []byte
}

// readUploads reads and checks the files of the form's "files" field by
// the mails' rules: how many, how big, which types.
func (s *Server) readUploads(r *http.Request) ([]upload, error) {
	if r.MultipartForm == nil {
		return nil, nil
	}
	var out []upload
	for _, fh := range r.MultipartForm.File["files"] {
		if fh.Filename == "" && fh.Size == 0 {
			continue // the empty input of a form sent without a file
		}
		ct := fh.Header.Get("Content-Type")
		name := mailin.CleanName(fh.Filename, ct)
		if len(out) >= s.fileRules.MaxFiles {
			return nil, errorKey(fault.EINVALID, "portal.too_many_files", s.fileRules.MaxFiles)
		}
		if fh.Size > s.fileRules.MaxBytes {
			return nil, errorKey(fault.EINVALID, "portal.file_too_big", name, s.fileRules.MaxBytes>>20)
		}
		if reason := s.fileRules.Refused(name, ct); reason != "" {
			return nil, errorKey(fault.EINVALID, "portal.file_refused", name)
		}
		data, err := readUpload(fh)
		if err != nil {
			return nil, err
		}
		out = append(out, upload{Name: name, ContentType: strings.ToLower(strings.TrimSpace(strings.Split(ct, ";")[0])), Data: data})
	}
	return out, nil
}

func readUpload(fh *multipart.FileHeader) ([]byte, error) {
	f, err := fh.Open()
	if err != nil {
		return nil, fmt.Errorf("read upload: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read upload: %w", err)
	}
	return b, nil
}

// attachUploads keeps files with ticket id, where the mails' files are.
func (s *Server) attachUploads(ctx context.Context, id int64, files []upload, actor tickets.Actor) error {
	for _, f := range files {
		uri, err := mailin.StoreFile(ctx, s.opts.Pool, id, f.Name, f.ContentType, f.Data, s.now())
		if err != nil {
			return err
		}
		if _, err := s.opts.Tickets.AddAttachment(ctx, id, tickets.Attachment{Name: f.Name, URI: uri,
			ContentType: f.ContentType, Size: int64(len(f.Data))}, actor); err != nil {
			return err
		}
	}
	return nil
}

// portalMessage adds a public message, and files, to a ticket the user
// sees; a closed or waiting ticket goes back to the help desk, as when
// the caller answers by mail.
func (s *Server) portalMessage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	pr := portalOf(r)
	id, err := ticketID(r, "id")
	if err == nil {
		_, err = s.opts.Tickets.FindTicketByID(ctx, id, pr.user.viewer())
	}
	if err != nil {
		s.portalFail(w, r, err)
		return
	}
	body, err := text("article.body", r.PostFormValue("body"), maxBody, true, true)
	var files []upload
	if err == nil {
		files, err = s.readUploads(r)
	}
	if fault.Code(err) == fault.EINVALID {
		d, lerr := s.loadPortalTicket(ctx, pr, id)
		if lerr != nil {
			s.portalFail(w, r, lerr)
			return
		}
		d.Body = body
		p := s.portalPage(r, "tickets", "portal.tickets", d)
		p.Title = string(d.T.Number) + " – " + shorten(d.T.Subject, maxSubject)
		p.Error = cmpOr(errorMessage(pr.lang, err), pr.lang.T("err.400"))
		s.render(w, r, http.StatusBadRequest, "portal_ticket.html", p)
		return
	}
	actor := pr.user.actor()
	if err == nil {
		_, err = s.opts.Tickets.AddArticle(ctx, id, tickets.Article{Body: body, Author: pr.user.Name}, actor)
	}
	if err == nil {
		err = s.attachUploads(ctx, id, files, actor)
	}
	if err == nil {
		err = s.opts.Tickets.Reopen(ctx, id, actor)
	}
	if err != nil {
		s.portalFail(w, r, err)
		return
	}
	s.hub.notify()
	s.log.Info("portal_message", "ticket", id, "contact", pr.user.ContactID, "files", len(files))
	http.Redirect(w, r, fmt.Sprintf("%s/tickets/%d?msg=portal_sent#articles", portalPrefix, id), http.StatusSeeOther)
}

func (s *Server) portalAttachment(w http.ResponseWriter, r *http.Request) {
	tid, err := ticketID(r, "ticketID")
	var aid int64
	if err == nil {
		aid, err = ticketID(r, "attachmentID")
	}
	var atts []tickets.Attachment
	if err == nil {
		atts, err = s.opts.Tickets.Attachments(r.Context(), tid, portalOf(r).user.viewer())
	}
	if err != nil {
		s.portalFail(w, r, err)
		return
	}
	i := slices.IndexFunc(atts, func(a tickets.Attachment) bool { return a.ID == aid })
	if i < 0 {
		s.portalFail(w, r, fault.ErrNotFound)
		return
	}
	s.sendFile(w, r, atts[i], s.portalFail)
}

// --- a new ticket ---

type portalNewData struct {
	Subject, Description, Category string
	Categories                     []menu.CategoryOption
	Files                          mailin.FileRules
	MaxMB                          int64
}

func (s *Server) portalNewPage(w http.ResponseWriter, r *http.Request) {
	s.renderPortalNew(w, r, http.StatusOK, portalNewData{}, "")
}

func (s *Server) renderPortalNew(w http.ResponseWriter, r *http.Request, status int, d portalNewData, msg string) {
	pr := portalOf(r)
	if cfg := s.config(); cfg.HasCategories() {
		d.Categories = cfg.CategoryOptions(string(pr.lang))
	}
	d.Files, d.MaxMB = s.fileRules, s.fileRules.MaxBytes>>20
	p := s.portalPage(r, "new", "portal.new", d)
	p.Error = msg
	s.render(w, r, status, "portal_new.html", p)
}

// portalCreate opens a ticket for the user's Administration, in its
// group, with the user as its contact: numbered, notified and recorded as
// the staff's (tickets.Store.CreateContactTicket).
func (s *Server) portalCreate(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	pr := portalOf(r)
	cfg := s.config()
	d := portalNewData{Subject: r.PostFormValue("subject"), Description: r.PostFormValue("description"),
		Category: r.PostFormValue("category")}
	var err error
	for _, x := range []struct {
		name      field
		v         *string
		max       int
		required  bool
		multiline bool
	}{
		{"ticket.subject", &d.Subject, maxSubject, true, false},
		{"ticket.description", &d.Description, maxBody, false, true},
		{"ticket.category", &d.Category, maxCategory, false, false},
	} {
		if *x.v, err = text(x.name, *x.v, x.max, x.required, x.multiline); err != nil {
			*x.v = shorten(*x.v, x.max)
			break
		}
	}
	if err == nil && cfg.HasCategories() && d.Category != "" && !cfg.ValidCategory(d.Category) {
		err = errorKey(fault.EINVALID, "ticket.bad_category", d.Category)
	}
	var files []upload
	if err == nil {
		files, err = s.readUploads(r)
	}
	if fault.Code(err) == fault.EINVALID {
		s.renderPortalNew(w, r, http.StatusBadRequest, d, errorMessage(pr.lang, err))
		return
	}
	if err != nil {
		s.portalFail(w, r, err)
		return
	}
	if cfg.Organization(pr.user.Organization) == nil {
		// A contact of an Administration no longer configured: its ticket
		// would belong to nobody's view.
		s.renderPortalNew(w, r, http.StatusBadRequest, d, pr.lang.T("portal.no_organization"))
		return
	}
	actor := pr.user.actor()
	t, err := s.opts.Tickets.CreateContactTicket(ctx, tickets.NewTicket{Source: tickets.SourcePortal, Subject: d.Subject,
		Description: d.Description, Group: cfg.DefaultGroup(pr.user.Organization), Category: d.Category,
		Organization: pr.user.Organization}, pr.user.ContactID, actor)
	if err == nil {
		err = s.attachUploads(ctx, t.ID, files, actor)
	}
	if err != nil {
		s.portalFail(w, r, err)
		return
	}
	s.hub.notify()
	s.log.Info("portal_ticket_created", "ticket", string(t.Number), "contact", pr.user.ContactID, "group", t.Group)
	http.Redirect(w, r, fmt.Sprintf("%s/tickets/%d?msg=portal_created", portalPrefix, t.ID), http.StatusSeeOther)
}
