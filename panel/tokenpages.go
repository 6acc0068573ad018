package panel

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/helpdesk-ivr/ivr/internal/fault"
)

// The administrators' API token page: create (the secret shown once, on
// the answer to the form, never again), list with the last use, revoke.
// Token changes go to the audit log, whose page is here too.

type tokenRow struct {
	Token
	State string // active, expired or revoked
}

type tokensData struct {
	Tokens  []tokenRow
	Users   []User
	Scopes  []Scope
	Groups  []groupOpt
	Secret  string // the token just created, shown once
	Created *Token
	Form    struct {
		Name, Login, Scope, Days string
		Groups                   []string
	}
}

// defaultTokenDays is the form's proposed lifetime.
const defaultTokenDays = 90

func (s *Server) tokensPage(w http.ResponseWriter, r *http.Request) {
	var d tokensData
	d.Form.Scope, d.Form.Days = string(ScopeRead), strconv.Itoa(defaultTokenDays)
	s.renderTokens(w, r, http.StatusOK, d, "")
}

func (s *Server) renderTokens(w http.ResponseWriter, r *http.Request, status int, d tokensData, msg string) {
	ctx := r.Context()
	list, err := s.tokens.List(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	users, err := s.users.List(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	now := s.now()
	for _, t := range list {
		row := tokenRow{Token: t, State: "active"}
		switch {
		case !t.RevokedAt.IsZero():
			row.State = "revoked"
		case !now.Before(t.ExpiresAt):
			row.State = "expired"
		}
		d.Tokens = append(d.Tokens, row)
	}
	for _, u := range users {
		if !u.Disabled {
			d.Users = append(d.Users, u)
		}
	}
	d.Scopes, d.Groups = Scopes, s.allGroupOpts()
	p := s.newPage(r, "tokens", "nav.tokens", d)
	p.Error = msg
	s.render(w, r, status, "tokens.html", p)
}

func (s *Server) tokenCreate(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rq := reqOf(r)
	var d tokensData
	d.Form.Name, d.Form.Login = shorten(r.PostFormValue("name"), maxName), shorten(r.PostFormValue("login"), maxLoginLen)
	d.Form.Scope, d.Form.Days = shorten(r.PostFormValue("scope"), maxValue), shorten(r.PostFormValue("days"), maxValue)
	groups := r.PostForm["groups"]
	var err error
	if len(groups) > len(s.config().Groups) {
		err = errorKey(fault.EINVALID, "err.400")
	}
	for _, g := range groups {
		if err == nil && s.config().Group(g) == nil {
			err = errorKey(fault.EINVALID, "ticket.bad_group", g)
		}
	}
	if err == nil {
		d.Form.Groups = groups
	}
	days, cerr := strconv.Atoi(strings.TrimSpace(d.Form.Days))
	if err == nil && (cerr != nil || days < 1) {
		err = errorKey(fault.EINVALID, "tokens.bad_expiry", int(MaxTokenLifetime.Hours()/24))
	}
	var secret string
	var tok Token
	if err == nil {
		secret, tok, err = s.tokens.Create(ctx, NewToken{Name: d.Form.Name, Login: d.Form.Login, Scope: Scope(d.Form.Scope),
			Groups: groups, ExpiresAt: s.now().Add(time.Duration(days) * 24 * time.Hour), CreatedBy: rq.user.Login})
	}
	if fault.Code(err) == fault.EINVALID {
		s.renderTokens(w, r, http.StatusBadRequest, d, errorMessage(rq.lang, err))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.audited(r, "token.create", "token:"+strconv.FormatInt(tok.ID, 10),
		"user="+tok.Login+" scope="+string(tok.Scope)+" groups="+strings.Join(tok.Groups, ","))
	s.log.Info("panel_token_created", "token", tok.ID, "login", tok.Login, "scope", string(tok.Scope), "by", rq.user.Login)
	// The answer to the POST carries the secret: a redirect would have to
	// put it in a URL. The page is not cached (Cache-Control: no-store).
	var fresh tokensData
	fresh.Form.Scope, fresh.Form.Days = string(ScopeRead), strconv.Itoa(defaultTokenDays)
	fresh.Secret, fresh.Created = secret, &tok
	s.renderTokens(w, r, http.StatusOK, fresh, "")
}

func (s *Server) tokenRevoke(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rq := reqOf(r)
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		s.fail(w, r, fault.ErrNotFound)
		return
	}
	tok, err := s.tokens.Revoke(ctx, id, rq.user.Login)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.audited(r, "token.revoke", "token:"+strconv.FormatInt(id, 10), "user="+tok.Login)
	s.log.Info("panel_token_revoked", "token", id, "by", rq.user.Login)
	http.Redirect(w, r, "/admin/tokens?msg=token_revoked", http.StatusSeeOther)
}

// auditLimit bounds the audit page.
const auditLimit = 500

type auditData struct {
	Login   string
	Entries []AuditEntry
	Limit   int
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request) {
	login, err := text("audit.login", r.URL.Query().Get("login"), maxLoginLen, false, false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	list, err := s.audit.List(r.Context(), NormalizeLogin(login), auditLimit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := auditData{Login: login, Entries: list, Limit: auditLimit}
	s.render(w, r, http.StatusOK, "audit.html", s.newPage(r, "audit", "nav.audit", d))
}
