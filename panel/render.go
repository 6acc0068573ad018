package panel

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// page is what every page template gets.
type page struct {
	L      lang
	User   *User
	CSRF   string
	Title  string
	Nav    string // the menu entry to highlight
	Path   string // this page, for the language switch to come back to
	Flash  string
	Error  string
	SSE    string // the page's event stream, if live
	Wide   bool   // the wall display layout
	Kiosk  bool   // no navigation: a wall display showing one page
	Data   any
	Config bool // the user may see the configuration and users
	Hooks  bool // ... and webhooks, which this ivrd runs
	Extra  []navLink
	Alarm  string // a notice for supervisors (PIN guessing)
	Invite bool   // the user may invite to the portal
	// Portal is the portal's user on the Administrations' pages (User is
	// nil there): their own header and navigation.
	Portal *portalUser
}

type navLink struct{ Path, Label string }

// newPage fills a page for an authenticated request.
func (s *Server) newPage(r *http.Request, nav, titleKey string, data any) *page {
	rq := reqOf(r)
	p := &page{L: rq.lang, User: &rq.user, CSRF: rq.sess.CSRF, Nav: nav, Path: r.URL.RequestURI(),
		Title: rq.lang.T(titleKey), Data: data, Config: rq.user.Role == RoleAdmin}
	p.Hooks = p.Config && s.opts.Webhooks != nil
	p.Invite = rq.user.Role == RoleAdmin || rq.user.Role == RoleSupervisor
	for _, x := range s.opts.Extra {
		if x.Path != "" && slices.Contains(x.Roles, rq.user.Role) {
			p.Extra = append(p.Extra, navLink{Path: x.Path, Label: cmpOr(x.Label[string(rq.lang)], x.Label["it"])})
		}
	}
	if m := r.URL.Query().Get("msg"); m != "" && rq.lang.Has("msg."+m) {
		p.Flash = rq.lang.T("msg." + m)
	}
	if s.opts.PINAlarm != nil && rq.user.Role != RoleOperator {
		if on, n, err := s.opts.PINAlarm(r.Context()); err != nil {
			s.log.Warn("pin_alarm_unreadable", "error", err.Error())
		} else if on {
			p.Alarm = rq.lang.Tf("alarm.pin_failures", n)
		}
	}
	return p
}

var funcs = template.FuncMap{
	"dur":   formatDuration,
	"pct":   func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
	"has":   func(list []string, v string) bool { return slices.Contains(list, v) },
	"join":  strings.Join,
	"add":   func(a, b int) int { return a + b },
	"mul":   func(a, b int) int { return a * b },
	"lower": strings.ToLower,
	"since": func(now, t time.Time) time.Duration {
		if t.IsZero() {
			return 0
		}
		return now.Sub(t)
	},
	"nodeCtx": func(l lang, v any) (nodeCtx, error) {
		switch n := v.(type) {
		case nodeView:
			return nodeCtx{l, n}, nil
		case *nodeView:
			return nodeCtx{l, *n}, nil
		}
		return nodeCtx{}, fmt.Errorf("nodeCtx: %T", v)
	},
}

// nodeCtx is a menu node with the language, for the recursive template.
type nodeCtx struct {
	L lang
	N nodeView
}

// formatDuration shows a wait or a call's length: 0:42, 12:05, 1:02:03.
func formatDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	sec := int64(d.Round(time.Second) / time.Second)
	h, m, s := sec/3600, sec/60%60, sec%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}

// parseTemplates parses every page once, each with the layout and the
// shared partials.
func parseTemplates() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" || base == "partials.html" || base == "portal_partials.html" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/partials.html",
			"templates/portal_partials.html", n)
		if err != nil {
			return nil, fmt.Errorf("panel templates: %w", err)
		}
		pages[base] = t
	}
	return pages, nil
}

// render writes a whole page; the template runs into a buffer first, so
// that a template error is a clean 500.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		s.log.Error("panel_template", "template", name, "error", err.Error())
		http.Error(w, p.L.T("err.500"), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fragment renders one named template of a page, for live updates.
func (s *Server) fragment(page, name string, data any) ([]byte, error) {
	var buf bytes.Buffer
	if err := s.pages[page].ExecuteTemplate(&buf, name, data); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

// fail answers an error: its status from httpStatus, a message that is
// safe to show, and a log line for internal errors.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := fault.HTTPStatus(err)
	var (
		l    lang
		user *User
	)
	if rq := reqOf(r); rq != nil {
		l, user = rq.lang, &rq.user
	} else {
		l = s.anonLang(r)
	}
	msg := errorMessage(l, err)
	if status == http.StatusNotFound {
		msg = "" // "ticket 42 not found" says no more than the translated page
	}
	if status == http.StatusInternalServerError {
		s.log.Error("panel_error", "path", r.URL.Path, "error", err.Error())
		msg = ""
	}
	if msg == "" {
		msg = l.T(fmt.Sprintf("err.%d", status))
	}
	if isStream(r) {
		http.Error(w, msg, status)
		return
	}
	p := &page{L: l, User: user, Title: l.T(fmt.Sprintf("err.%d", status)), Error: msg, Data: status}
	if rq := reqOf(r); rq != nil {
		p.CSRF, p.Path, p.Config = rq.sess.CSRF, r.URL.RequestURI(), rq.user.Role == RoleAdmin
	}
	s.render(w, r, status, "error.html", p)
}

func staticHandler() http.Handler {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err)
	}
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}
