package panel

import (
	"context"
	"crypto/subtle"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// request is what the panel knows of an authenticated request.
type request struct {
	sess   session
	user   User
	groups []string // an operator's groups (queue memberships)
	lang   lang
}

type requestKey struct{}

func reqOf(r *http.Request) *request {
	rq, _ := r.Context().Value(requestKey{}).(*request)
	return rq
}

// CSRFToken is the session's form token, for the pages of an ExtraPage
// ("" outside the panel's login).
func CSRFToken(r *http.Request) string {
	if rq := reqOf(r); rq != nil {
		return rq.sess.CSRF
	}
	return ""
}

// Lang is the user's language, "it" or "en", for the pages of an ExtraPage
// ("" outside the panel's login).
func Lang(r *http.Request) string {
	if rq := reqOf(r); rq != nil {
		return string(rq.lang)
	}
	return ""
}

// allGroups reports whether the user sees every group.
func (rq *request) allGroups() bool { return rq.user.Role != RoleOperator }

func (rq *request) mayGroup(g string) bool { return rq.allGroups() || slices.Contains(rq.groups, g) }

// viewer is the tickets store's view of the user.
func (rq *request) viewer() tickets.Viewer {
	if rq.allGroups() {
		return tickets.Viewer{Kind: tickets.ViewerStaffAll, Login: rq.user.Login}
	}
	return tickets.Viewer{Kind: tickets.ViewerStaffGroups, Groups: slices.Clone(rq.groups), Login: rq.user.Login}
}

// actor is who the ticket history records.
func (rq *request) actor() tickets.Actor {
	if rq.user.Role == RoleOperator {
		return tickets.Actor{Kind: tickets.ActorOperator, ID: rq.user.Login}
	}
	return tickets.Actor{Kind: tickets.ActorSupervisor, ID: rq.user.Login}
}

const (
	sessionCookie   = "panel_session"
	loginCSRFCookie = "panel_login"
	langCookie      = "panel_lang"
	csrfField       = "csrf"
	csrfHeader      = "X-CSRF-Token" // the same token, for script requests with a JSON body
)

// cookieName prefixes cookies with __Host- over TLS: the browser then
// refuses them from subdomains and over plain HTTP.
func (s *Server) cookieName(name string) string {
	if s.opts.Secure {
		return "__Host-" + name
	}
	return name
}

func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge int, sameSite http.SameSite) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(name), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.opts.Secure, SameSite: sameSite})
}

func (s *Server) cookie(r *http.Request, name string) string {
	c, err := r.Cookie(s.cookieName(name))
	if err != nil {
		return ""
	}
	return c.Value
}

// readForm reads a posted form, at most maxForm bytes: a bigger one is
// fault.ETOOLARGE, a malformed one fault.EINVALID.
func readForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	var err error
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		// A file upload (the contacts' import): its fields, the token
		// included, are in the multipart body, all of it in memory.
		err = r.ParseMultipartForm(maxForm)
	} else {
		err = r.ParseForm()
	}
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return errorKey(fault.ETOOLARGE, "err.too_large", maxForm>>10)
	}
	if err != nil {
		return errorKey(fault.EINVALID, "err.400")
	}
	return nil
}

func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// isStream tells requests that cannot follow a redirect to the login page.
func isStream(r *http.Request) bool {
	return strings.HasSuffix(r.URL.Path, "/events") || strings.Contains(r.Header.Get("Accept"), "text/event-stream")
}

// authenticate lets through only requests of a live session, and only
// POSTs carrying the session's form token.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		sess, err := s.sessions.load(ctx, s.cookie(r, sessionCookie))
		if errors.Is(err, fault.ErrUnauthorized) {
			s.setCookie(w, sessionCookie, "", -1, http.SameSiteLaxMode)
			if r.Method == http.MethodGet && !isStream(r) {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.fail(w, r, errorKey(fault.EUNAUTHORIZED, "err.401"))
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		rq := &request{sess: sess, user: sess.User, lang: lang(sess.User.Lang)}
		if rq.user.Role == RoleOperator {
			rq.groups = s.operatorGroups(ctx, rq.user.Login)
		}
		r = r.WithContext(context.WithValue(ctx, requestKey{}, rq))
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			// The form is read whole first: a form over the limit is "too
			// large", not a form without its token ("expired").
			if err := readForm(w, r); err != nil {
				s.fail(w, r, err)
				return
			}
			token := r.Header.Get(csrfHeader)
			if token == "" {
				token = r.PostFormValue(csrfField)
			}
			if !sameToken(token, sess.CSRF) {
				s.log.Warn("panel_csrf_refused", "login", rq.user.Login, "path", r.URL.Path)
				s.fail(w, r, errorKey(fault.EFORBIDDEN, "err.csrf"))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// operatorGroups are an operator's groups: their queue memberships. Without
// queues, or for a login the queues do not know, none.
func (s *Server) operatorGroups(ctx context.Context, login string) []string {
	if s.opts.Queues == nil {
		return []string{}
	}
	op, err := s.opts.Queues.Operator(ctx, login)
	if err != nil {
		if fault.Code(err) != fault.ENOTFOUND {
			s.log.Error("panel_operator_groups", "operator", login, "error", err.Error())
		}
		return []string{}
	}
	groups := make([]string, 0, len(op.Groups))
	for g := range op.Groups {
		groups = append(groups, g)
	}
	slices.Sort(groups)
	return groups
}

// require lets through only the given roles.
func (s *Server) require(roles ...Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !slices.Contains(roles, reqOf(r).user.Role) {
				s.fail(w, r, fault.ErrForbidden)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// anonLang is the language of the login page: asked in the URL, chosen
// before (cookie), or the browser's.
func (s *Server) anonLang(r *http.Request) lang {
	if l := r.URL.Query().Get("lang"); slices.Contains(Languages, l) {
		return lang(l)
	}
	if l := s.cookie(r, langCookie); slices.Contains(Languages, l) {
		return lang(l)
	}
	return acceptLanguage(r.Header.Get("Accept-Language"))
}

// acceptLanguage picks the preferred panel language of an Accept-Language
// header, Italian when none fits.
func acceptLanguage(header string) lang {
	type pref struct {
		tag string
		q   float64
	}
	var prefs []pref
	for part := range strings.SplitSeq(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		primary, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if q > 0 {
			prefs = append(prefs, pref{primary, q})
		}
	}
	sort.SliceStable(prefs, func(i, j int) bool { return prefs[i].q > prefs[j].q })
	for _, p := range prefs {
		if slices.Contains(Languages, p.tag) {
			return lang(p.tag)
		}
	}
	return lang(Languages[0])
}

type loginData struct {
	Login, Next, Error string
	Token              string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	l := s.anonLang(r)
	if q := r.URL.Query().Get("lang"); q != "" && slices.Contains(Languages, q) {
		s.setCookie(w, langCookie, q, 365*24*3600, http.SameSiteLaxMode)
	}
	s.renderLogin(w, r, l, http.StatusOK, loginData{Next: localPath(cmpOr(r.URL.Query().Get("next"), "/"))})
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// renderLogin shows the login form with a fresh login token: a
// double-submit cookie, since there is no session yet to hold one.
func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, l lang, status int, d loginData) {
	d.Token = newToken()
	s.setCookie(w, loginCSRFCookie, d.Token, 3600, http.SameSiteStrictMode)
	s.render(w, r, status, "login.html", &page{L: l, Title: l.T("login.title"), Data: d})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	l := s.anonLang(r)
	if err := readForm(w, r); err != nil {
		d := loginData{Next: "/", Error: errorMessage(l, err)}
		s.renderLogin(w, r, l, fault.HTTPStatus(err), d)
		return
	}
	login := NormalizeLogin(r.PostFormValue("login"))
	password := r.PostFormValue("password")
	d := loginData{Login: shorten(login, maxLoginLen), Next: localPath(cmpOr(r.PostFormValue("next"), "/"))}
	if !sameToken(r.PostFormValue(csrfField), s.cookie(r, loginCSRFCookie)) {
		d.Error = l.T("err.csrf")
		s.renderLogin(w, r, l, http.StatusForbidden, d)
		return
	}
	// No account has a longer login or password: refused before the
	// throttle and bcrypt.
	var err error
	if _, err = text("login.login", login, maxLoginLen, false, false); err == nil && len(password) > maxPassword {
		err = errorKey(fault.EINVALID, "input.too_long_bytes", field("login.password"), maxPassword)
	}
	if err != nil {
		d.Error = errorMessage(l, err)
		s.renderLogin(w, r, l, http.StatusBadRequest, d)
		return
	}
	addr := remoteAddress(r)
	wait, err := s.throttle.attempt(ctx, login, addr)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if wait > 0 {
		s.log.Warn("panel_login_delayed", "login", login, "address", addr, "wait_seconds", int(wait.Seconds()))
		d.Error = l.Tf("login.wait", l.Wait(wait))
		w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		s.renderLogin(w, r, l, http.StatusTooManyRequests, d)
		return
	}
	u, err := s.users.authenticate(ctx, login, password)
	if errors.Is(err, errBadCredentials) {
		s.log.Warn("panel_login_failed", "login", login, "address", addr)
		d.Error = l.T("login.wrong")
		s.renderLogin(w, r, l, http.StatusUnauthorized, d)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.throttle.succeeded(ctx, login, addr); err != nil {
		s.fail(w, r, err)
		return
	}
	// A new session, whatever the browser had: a token planted before the
	// login (session fixation) is worth nothing after it.
	_ = s.sessions.destroy(ctx, s.cookie(r, sessionCookie))
	token, _, err := s.sessions.create(ctx, u.Login)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("panel_login", "login", u.Login, "role", string(u.Role))
	s.setCookie(w, sessionCookie, token, 0, http.SameSiteLaxMode)
	s.setCookie(w, loginCSRFCookie, "", -1, http.SameSiteStrictMode)
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if err := s.sessions.destroy(r.Context(), s.cookie(r, sessionCookie)); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("panel_logout", "login", reqOf(r).user.Login)
	s.setCookie(w, sessionCookie, "", -1, http.SameSiteLaxMode)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// setLang switches the user's language and goes back to the page.
func (s *Server) setLang(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if err := s.users.SetLang(r.Context(), rq.user.Login, r.PostFormValue("lang")); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, localPath(r.PostFormValue("back")), http.StatusSeeOther)
}

// home sends operators to their console, the others to the wallboard.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	if reqOf(r).user.Role == RoleOperator {
		http.Redirect(w, r, "/console", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/wallboard", http.StatusSeeOther)
}
