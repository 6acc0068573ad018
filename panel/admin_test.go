package panel

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// TestConfigPage: the menu tree, the schedules with the holidays of the
// next twelve months, the groups with their operators, and the reload.
func TestConfigPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	noErr(t, e.queues.SetState(ctx, "op2", queues.Available, ""))
	c := e.login("adm")
	r := c.get("/config")
	wantStatus(t, "config", r, http.StatusOK)
	r.has(t, `data-testid="menu-tree"`,
		"<kbd>1</kbd> <strong>Assistenza agli Uffici territoriali", "<kbd>6</kbd> <strong>Lotto 6 (Cassazione)</strong>",
		"→ Lotto 6 – Cassazione", "PIN: referent", "instradamento per Amministrazione",
		`data-testid="schedule-standard"`, `data-testid="schedule-cassazione"`,
		"giovedì 25/12/2025 – Natale",              // within twelve months of 24/11/2025
		"lunedì 29/06/2026 – Santi Pietro e Paolo", // the local holiday
		"lunedì 06/04/2026",                        // Easter Monday
		"08:00-13:00",                              // Saturday at the standard desks
		"Anna Operatrice (op2)", "Disponibile")
	r.hasNot(t, "25/12/2026") // beyond the twelve months
	// The cassazione schedule has no Saturday.
	cass := r.body[strings.Index(r.body, `data-testid="schedule-cassazione"`):]
	cass = cass[:strings.Index(cass, "</table>")]
	if !strings.Contains(cass, "<th scope=\"row\">sabato</th><td>chiuso</td>") {
		t.Fatalf("cassazione Saturday:\n%s", cass)
	}
	wantStatus(t, "reload", c.post("/config/reload", nil), http.StatusSeeOther)
	if e.reload.Load() != 1 {
		t.Fatal("reload not called")
	}
	bad := newEnv(t, func(o *Options) { o.Reload = func() error { return errors.New("helpdesk.yaml:3:1: bad") } })
	r = bad.login("adm").post("/config/reload", nil)
	wantStatus(t, "bad reload", r, http.StatusBadRequest)
	r.has(t, "resta in vigore la precedente", "helpdesk.yaml:3:1: bad")
	none := newEnv(t, func(o *Options) { o.Reload = nil })
	cn := none.login("adm")
	cn.get("/config").hasNot(t, `data-testid="config-reload"`)
	wantStatus(t, "no reload", cn.post("/config/reload", nil), http.StatusNotFound)
}

// TestUsersPage: administrators add, disable, enable users and set
// passwords; the users page keeps what was typed on an error.
func TestUsersPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.login("adm")
	c.get("/admin/users").has(t, `data-login="op2"`, `data-login="sup"`)
	add := url.Values{"login": {"MRossi"}, "name": {"Mario Rossi"}, "role": {"supervisor"}, "lang": {"en"},
		"password": {"una password lunga"}, "password2": {"una password lunga"}}
	wantStatus(t, "add", c.post("/admin/users", add), http.StatusSeeOther)
	u, err := e.srv.Users().Find(ctx, "mrossi")
	noErr(t, err)
	if u.Name != "Mario Rossi" || u.Role != RoleSupervisor || u.Lang != "en" {
		t.Fatalf("added %+v", u)
	}
	m := e.anon()
	wantStatus(t, "new user logs in", m.postLogin("mrossi", "una password lunga"), http.StatusSeeOther)
	m.get("/wallboard").has(t, `<html lang="en">`)
	r := c.post("/admin/users", add)
	wantStatus(t, "duplicate", r, http.StatusConflict)
	r.has(t, "esiste già", `value="Mario Rossi"`)
	add.Set("login", "other")
	add.Set("password2", "different")
	wantStatus(t, "mismatch", c.post("/admin/users", add), http.StatusBadRequest)
	add.Set("password", "short")
	add.Set("password2", "short")
	wantStatus(t, "short", c.post("/admin/users", add), http.StatusBadRequest)

	wantStatus(t, "disable", c.post("/admin/users/mrossi", url.Values{"action": {"disable"}}), http.StatusSeeOther)
	wantStatus(t, "disabled login", e.anon().postLogin("mrossi", "una password lunga"), http.StatusUnauthorized)
	wantStatus(t, "enable", c.post("/admin/users/mrossi", url.Values{"action": {"enable"}}), http.StatusSeeOther)
	wantStatus(t, "password", c.post("/admin/users/mrossi", url.Values{"action": {"password"}, "password": {"un'altra password"}}), http.StatusSeeOther)
	wantStatus(t, "new password", e.anon().postLogin("mrossi", "un'altra password"), http.StatusSeeOther)
	wantStatus(t, "not self", c.post("/admin/users/adm", url.Values{"action": {"disable"}}), http.StatusBadRequest)
	wantStatus(t, "nobody", c.post("/admin/users/nobody", url.Values{"action": {"enable"}}), http.StatusNotFound)
	wantStatus(t, "bad action", c.post("/admin/users/mrossi", url.Values{"action": {"promote"}}), http.StatusBadRequest)
}

func TestUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.srv.Users()
	for _, tc := range []struct {
		login, name string
		role        Role
		pw, lang    string
		code        string
	}{
		{"ok.user-1", "Ok", RoleOperator, password, "", ""},
		{"ok.user-1", "Again", RoleOperator, password, "", fault.ECONFLICT},
		{"OK.USER-1", "Again, other case", RoleOperator, password, "", fault.ECONFLICT},
		{"bad login", "x", RoleOperator, password, "", fault.EINVALID},
		{"", "x", RoleOperator, password, "", fault.EINVALID},
		{"x", "", RoleOperator, password, "", fault.EINVALID},
		{"x", "x", "root", password, "", fault.EINVALID},
		{"x", "x", RoleAdmin, "short", "", fault.EINVALID},
		{"x", "x", RoleAdmin, strings.Repeat("x", 73), "", fault.EINVALID},
		{"x", "x", RoleAdmin, password, "fr", fault.EINVALID},
	} {
		err := u.Add(ctx, tc.login, tc.name, tc.role, tc.pw, tc.lang)
		if got := fault.Code(err); (err == nil) != (tc.code == "") || (err != nil && got != tc.code) {
			t.Errorf("Add(%q, %q, %q): %v, want code %q", tc.login, tc.name, tc.role, err, tc.code)
		}
	}
	got, err := u.Find(ctx, " Ok.User-1 ")
	noErr(t, err)
	if got.Lang != "it" || got.Role != RoleOperator {
		t.Fatalf("found %+v", got)
	}
	list, err := u.List(ctx)
	noErr(t, err)
	var logins []string
	for _, x := range list {
		logins = append(logins, x.Login)
	}
	if strings.Join(logins, ",") != "adm,ok.user-1,op2,op3,sup" {
		t.Fatalf("list %v", logins)
	}
	// A new password ends the user's sessions.
	c := e.login("op2")
	noErr(t, u.SetPassword(ctx, "op2", "a brand new password"))
	wantStatus(t, "after password change", c.get("/tickets"), http.StatusSeeOther)
	if err := u.SetPassword(ctx, "nobody", password); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("SetPassword(nobody): %v", err)
	}
	var hash string
	noErr(t, e.pool.QueryRow(ctx, `SELECT password_hash FROM panel_users WHERE login = 'op2'`).Scan(&hash))
	if !strings.HasPrefix(hash, "$2a$") || strings.Contains(hash, "brand new") {
		t.Fatalf("stored %q", hash)
	}
}

func TestHTTPStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want int
		msg  string
	}{
		{fmt.Errorf("x: %w", fault.ErrNotFound), http.StatusNotFound, ""},
		{fmt.Errorf("x: %w", &tickets.StaleError{Number: "20261207-0001-3", Now: 3, Edited: 2}), http.StatusConflict, "Il ticket è stato modificato"},
		{&tickets.TransitionError{From: tickets.StatusWaiting, To: tickets.StatusNew}, http.StatusBadRequest, "Un ticket non può passare da «In attesa» a «Nuovo»."},
		{fault.ErrForbidden, http.StatusForbidden, ""},
		{fmt.Errorf("db: %w", &fault.Error{Code: fault.EINTERNAL, Message: "SELECT secret"}), http.StatusInternalServerError, ""},
		{fmt.Errorf("q: %w", &fault.Error{Code: fault.ECONFLICT, Message: "operator op2 is on_call"}), http.StatusConflict, ""},
		{fault.ErrNotFound, http.StatusNotFound, ""},
		{fault.ErrInvalid, http.StatusBadRequest, ""},
		{&fault.Error{Code: fault.EINTERNAL, Message: "pg down"}, http.StatusInternalServerError, ""},
		{errorKey(fault.EUNAUTHORIZED, "err.401"), http.StatusUnauthorized, "Accesso richiesto"},
		{fmt.Errorf("add user: %w", errorKey(fault.EINVALID, "users.password_short", 10)), http.StatusBadRequest, "Password troppo corta: almeno 10 caratteri."},
		{fault.Errorf(fault.EINVALID, "an English text"), http.StatusBadRequest, ""}, // never shown: no catalog key
		{fault.ErrForbidden, http.StatusForbidden, ""},
		{errors.New("connection refused"), http.StatusInternalServerError, ""},
	} {
		if got := fault.HTTPStatus(tc.err); got != tc.want {
			t.Errorf("%v: %d, want %d", tc.err, got, tc.want)
		}
		// A message is Italian on the Italian panel, or none (the
		// status's own message is shown then).
		got := errorMessage("it", tc.err)
		if (tc.msg == "") != (got == "") || !strings.Contains(got, tc.msg) {
			t.Errorf("%v: message %q, want %q", tc.err, got, tc.msg)
		}
		if tc.want == http.StatusInternalServerError && got != "" {
			t.Errorf("%v: an internal error shows %q", tc.err, got)
		}
	}
	// The English text of a panel error is the English catalog's, for
	// logs and the command line.
	if e := errorKey(fault.EINVALID, "users.password_short", 10); e.Error() != "Password too short: at least 10 characters." {
		t.Errorf("English message %q", e.Error())
	}
	// A value typed by the user is never echoed back whole.
	if m := errorMessage("en", errorKey(fault.EINVALID, "ticket.bad_group", strings.Repeat("x", 5000))); len(m) > 200 {
		t.Errorf("a 5000-byte value echoed in %d bytes", len(m))
	}
}

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[string]string{"0s": "0:00", "42s": "0:42", "12m5s": "12:05", "1h2m3s": "1:02:03", "-5s": "0:00", "1.6s": "0:02"} {
		dd, err := timeParseDuration(d)
		noErr(t, err)
		if got := formatDuration(dd); got != want {
			t.Errorf("%s: %q, want %q", d, got, want)
		}
	}
}

// TestLocalPath: known open-redirect bypasses all fall back to the home
// page; a browser would read each as another site (the WHATWG parser
// drops tabs and newlines, strips leading spaces and controls, reads a
// backslash as a slash), or they hide such a path behind an encoding.
func TestLocalPath(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"", "tickets", "//evil.example", "///evil.example", "/\\evil.example", "\\\\evil.example", "/\\/evil.example",
		"https://evil.example", "http:evil.example", "javascript:alert(1)", "data:text/html,x",
		"/\t/evil.example/x", "/\n/evil.example", "/\r/evil.example", "\t//evil.example", " //evil.example", "/ \t/evil.example",
		"/%09/evil.example/x", "/%0a/evil.example", "/%0D/evil.example", "/%5Cevil.example", "/%5c%5cevil.example",
		"/%2F/evil.example", "/%2f%2fevil.example", "/%252F%252Fevil.example", "/%25252F/evil.example",
		"/%2525252525252F/evil.example", "/a\r\nSet-Cookie: x", "/a%0d%0aSet-Cookie:%20x", "/\x00/evil.example",
		"/\u0085/evil.example", "/\x7f/evil.example", "/%", "/%zz", "/\xff\xfe", "/" + strings.Repeat("a", 3000),
	} {
		if got := localPath(in); got != "/" {
			t.Errorf("%q: %q, want /", in, got)
		}
	}
	for _, in := range []string{"/", "/tickets?x=1", "/tickets/42?msg=saved#articles", "/tickets?q=a%2Fb",
		"/reports?from=2025-01-01&to=2025-01-31", "/a/b/../c", "/%C3%A8"} {
		if got := localPath(in); got != in {
			t.Errorf("%q: %q, want it kept", in, got)
		}
	}
}

// TestLoginNextRedirect: after the login, the browser goes where next
// says only if that stays on the panel.
func TestLoginNextRedirect(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for next, want := range map[string]string{"/tickets?status=new": "/tickets?status=new", "/%09/evil.example/x": "/",
		"/\\evil.example": "/", "//evil.example": "/"} {
		c := e.anon()
		page := c.get("/login?next=" + url.QueryEscape(next))
		m := tokenPattern.FindStringSubmatch(page.body)
		r := c.post("/login", url.Values{"login": {"sup"}, "password": {password}, "csrf": {m[1]}, "next": {next}})
		wantStatus(t, next, r, http.StatusSeeOther)
		if loc := r.header.Get("Location"); loc != want {
			t.Errorf("next %q: Location %q, want %q", next, loc, want)
		}
		c.refreshToken()
		r = c.post("/lang", url.Values{"lang": {"it"}, "back": {next}})
		if loc := r.header.Get("Location"); loc != want {
			t.Errorf("back %q: Location %q, want %q", next, loc, want)
		}
	}
}

// The login throttle's address: the peer's, or behind trusted proxies the
// client's from X-Forwarded-For; a forged header from anyone else is
// ignored.
func TestRemoteAddress(t *testing.T) {
	var got string
	h := middleware.ClientIPFromXFF("10.0.0.0/8")(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		got = remoteAddress(r)
	}))
	for _, tc := range []struct{ peer, xff, want string }{
		{"10.1.2.3:5555", "203.0.113.7", "203.0.113.7"},          // our proxy says who the client is
		{"198.51.100.9:5555", "203.0.113.7", "198.51.100.9"},     // anyone else: their own address
		{"10.1.2.3:5555", "", "10.1.2.3"},                        // the proxy itself
		{"10.1.2.3:5555", "1.1.1.1, 203.0.113.7", "203.0.113.7"}, // the entry our proxy added
	} {
		r := httptest.NewRequest(http.MethodGet, "/login", nil)
		r.RemoteAddr = tc.peer
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got != tc.want {
			t.Errorf("peer %s, X-Forwarded-For %q: address %s, want %s", tc.peer, tc.xff, got, tc.want)
		}
	}
}
