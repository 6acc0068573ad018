package panel

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdesk-ivr/ivr/internal/fault"
)

// Portal accounts are made by invitation only: a supervisor or an
// administrator picks a contact, who gets a one-time link by e-mail and
// chooses a password there.

type invitationsData struct {
	Contact string // as typed
	Rows    []invitationRow
	NoMail  bool // no mail configured: nothing can be sent
}

// invitationsShown bounds the invitations page's list.
const invitationsShown = 100

func (s *Server) invitationsPage(w http.ResponseWriter, r *http.Request) {
	s.renderInvitations(w, r, http.StatusOK, "", "")
}

func (s *Server) renderInvitations(w http.ResponseWriter, r *http.Request, status int, typed, msg string) {
	rows, err := s.portal.recentInvitations(r.Context(), invitationsShown)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.newPage(r, "invitations", "portal.invitations", invitationsData{Contact: typed, Rows: rows,
		NoMail: s.opts.Invitations == nil})
	p.Error = msg
	s.render(w, r, status, "portal_invitations.html", p)
}

// invitationSend invites the contact named by id or e-mail address.
func (s *Server) invitationSend(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rq := reqOf(r)
	typed, err := text("portal.contact", r.PostFormValue("contact"), maxEmail, true, false)
	var c portalUser
	if err == nil {
		if id, perr := strconv.ParseInt(typed, 10, 64); perr == nil && id > 0 {
			c, err = s.portal.contact(ctx, id, "")
		} else {
			c, err = s.portal.contact(ctx, 0, typed)
		}
	}
	switch {
	case err != nil:
	case s.opts.Invitations == nil:
		err = errorKey(fault.ECONFLICT, "portal.no_mail")
	case c.Disabled:
		err = errorKey(fault.ECONFLICT, "portal.contact_disabled", c.Name)
	case c.Email == "":
		err = errorKey(fault.ECONFLICT, "portal.contact_no_email", c.Name)
	}
	if err == nil {
		link := s.portalBase(r) + portalPrefix + "/accept?token="
		err = s.portal.invite(ctx, c, rq.user.Login, func(tx pgx.Tx, token string, expires time.Time) error {
			return s.opts.Invitations.QueueInvitation(ctx, tx, c.Email, c.Name, s.contactLang(ctx, c),
				link+url.QueryEscape(token), s.now(), expires)
		})
	}
	if code := fault.Code(err); code == fault.EINVALID || code == fault.ENOTFOUND || code == fault.ECONFLICT {
		s.renderInvitations(w, r, fault.HTTPStatus(err), shorten(typed, maxEmail), errorMessage(rq.lang, err))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.audited(r, "portal.invite", "contact:"+strconv.FormatInt(c.ContactID, 10), c.Email)
	http.Redirect(w, r, portalPrefix+"/invitations?msg=portal_invited", http.StatusSeeOther)
}

// contactLang is the language of a contact's mails: theirs if the
// directory says a panel language, else the configured one.
func (s *Server) contactLang(ctx context.Context, c portalUser) string {
	var l string
	if err := s.opts.Pool.QueryRow(ctx, `SELECT language FROM contacts WHERE id = $1`, c.ContactID).Scan(&l); err != nil {
		// The mail goes all the same, in the configured language.
		s.log.Warn("portal_contact_language", "contact", c.ContactID, "error", err.Error())
		return ""
	}
	if l = strings.ToLower(strings.TrimSpace(l)); l == "it" || l == "en" {
		return l
	}
	return ""
}

// portalBase is where invitation links point: Options.PortalURL, else
// the site the inviting staff member is on.
func (s *Server) portalBase(r *http.Request) string {
	if s.opts.PortalURL != "" {
		return strings.TrimRight(s.opts.PortalURL, "/")
	}
	scheme := "http"
	if s.opts.Secure || r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// --- accepting an invitation ---

type acceptData struct {
	Token, Form string // the invitation's token; the form's CSRF token
	Name, Email string
	Lang        string
}

func (s *Server) portalAcceptPage(w http.ResponseWriter, r *http.Request) {
	l := s.anonLang(r)
	token := r.URL.Query().Get("token")
	c, err := s.portal.invitation(r.Context(), token)
	if err != nil {
		s.renderAccept(w, r, l, fault.HTTPStatus(err), acceptData{}, errorMessage(l, err))
		return
	}
	s.renderAccept(w, r, l, http.StatusOK, acceptData{Token: token, Name: c.Name, Email: c.Email, Lang: string(l)}, "")
}

func (s *Server) renderAccept(w http.ResponseWriter, r *http.Request, l lang, status int, d acceptData, msg string) {
	d.Form = newToken()
	s.setCookie(w, portalLoginCookie, d.Form, 3600, http.SameSiteStrictMode)
	s.render(w, r, status, "portal_accept.html", &page{L: l, Title: l.T("portal.accept_title"), Data: d, Error: msg})
}

// portalAccept sets the invited person's password and logs them in.
func (s *Server) portalAccept(w http.ResponseWriter, r *http.Request) {
	l := s.anonLang(r)
	if err := readForm(w, r); err != nil {
		s.renderAccept(w, r, l, fault.HTTPStatus(err), acceptData{}, errorMessage(l, err))
		return
	}
	token := r.PostFormValue("token")
	if !sameToken(r.PostFormValue(csrfField), s.cookie(r, portalLoginCookie)) {
		s.renderAccept(w, r, l, http.StatusForbidden, acceptData{}, l.T("err.csrf"))
		return
	}
	c, err := s.portal.invitation(r.Context(), token)
	if err != nil {
		s.renderAccept(w, r, l, fault.HTTPStatus(err), acceptData{}, errorMessage(l, err))
		return
	}
	d := acceptData{Token: token, Name: c.Name, Email: c.Email, Lang: r.PostFormValue("lang")}
	password := r.PostFormValue("password")
	if password != r.PostFormValue("password2") {
		s.renderAccept(w, r, l, http.StatusBadRequest, d, l.T("users.mismatch"))
		return
	}
	u, err := s.portal.accept(r.Context(), token, password, d.Lang)
	if code := fault.Code(err); code == fault.EINVALID || code == fault.ENOTFOUND {
		s.renderAccept(w, r, l, fault.HTTPStatus(err), d, errorMessage(l, err))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("portal_invitation_accepted", "contact", u.ContactID)
	s.startPortalSession(w, r, u, portalPrefix+"?msg=portal_welcome")
}
