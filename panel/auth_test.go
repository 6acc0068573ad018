package panel

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/helpdesk-ivr/ivr/tickets"
)

// TestAuthorization is the matrix: every role against every page and
// action. Operators see only their groups' tickets (another group's ticket
// by id is 404, as if it did not exist); configuration and users are for
// administrators.
func TestAuthorization(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *Options) {
		o.Extra = []ExtraPage{{Path: "/phone", Label: map[string]string{"it": "Telefono"}, Roles: []Role{RoleSupervisor, RoleAdmin},
			Mount: func(r chi.Router) {
				r.Get("/phone", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("test phone")) })
			}}}
	})
	_, mine := e.openTicket("lotto2", "+390612345678", "Stampante guasta")
	_, theirs := e.openTicket("lotto3", "+390699990001", "PEC bloccata")
	rec, err := e.store.AddAttachment(ctx, theirs.ID, tickets.Attachment{Name: "msg.wav", URI: "ari:recording:msg-3",
		ContentType: "audio/wav"}, tickets.Actor{Kind: tickets.ActorSystem, ID: "ivr"})
	noErr(t, err)
	myRec, err := e.store.AddAttachment(ctx, mine.ID, tickets.Attachment{Name: "msg.wav", URI: "ari:recording:msg-2",
		ContentType: "audio/wav"}, tickets.Actor{Kind: tickets.ActorSystem, ID: "ivr"})
	noErr(t, err)

	const (
		anon = iota
		op
		sup
		adm
	)
	clients := []*client{e.anon(), e.login("op2"), e.login("sup"), e.login("adm")}
	// Each case gives the status for anonymous, operator of lotto2,
	// supervisor and administrator. Anonymous pages redirect to the login
	// (303), anonymous streams and actions are 401.
	type want [4]int
	ok, see := http.StatusOK, http.StatusSeeOther
	nf, forb, unauth := http.StatusNotFound, http.StatusForbidden, http.StatusUnauthorized
	gets := []struct {
		path string
		want want
	}{
		{"/", want{see, see, see, see}},
		{"/wallboard", want{see, ok, ok, ok}},
		{"/live", want{see, ok, ok, ok}},
		{"/console", want{see, ok, ok, ok}},
		{"/tickets", want{see, ok, ok, ok}},
		{fmt.Sprintf("/tickets/%d", mine.ID), want{see, ok, ok, ok}},
		{fmt.Sprintf("/tickets/%d", theirs.ID), want{see, nf, ok, ok}},
		{"/tickets/999999", want{see, nf, nf, nf}},
		{fmt.Sprintf("/recordings/%d/%d", mine.ID, myRec.ID), want{see, ok, ok, ok}},
		{fmt.Sprintf("/recordings/%d/%d", theirs.ID, rec.ID), want{see, nf, ok, ok}},
		{fmt.Sprintf("/recordings/%d/%d", mine.ID, rec.ID), want{see, nf, nf, nf}}, // attachment of another ticket
		{"/after-hours", want{see, ok, ok, ok}},
		{"/reports", want{see, ok, ok, ok}},
		{"/reports?group=lotto3", want{see, nf, ok, ok}},
		{"/reports.csv", want{see, ok, ok, ok}},
		{"/config", want{see, forb, forb, ok}},
		{"/config/versions", want{see, forb, forb, ok}},
		{"/admin/users", want{see, forb, forb, ok}},
		{"/admin/outbox", want{see, forb, forb, ok}},
		{"/admin/tokens", want{see, forb, forb, ok}},
		{"/admin/audit", want{see, forb, forb, ok}},
		{"/contacts", want{see, ok, ok, ok}},
		{"/contacts/new", want{see, forb, ok, ok}},
		{"/contacts/import", want{see, forb, ok, ok}},
		{"/contacts/999999", want{see, forb, nf, nf}},
		{"/wallboard/events?probe", want{unauth, -1, -1, -1}},
		{"/static/panel.css", want{ok, ok, ok, ok}},
		{"/login", want{ok, ok, ok, ok}},
		{"/phone", want{see, forb, ok, ok}}, // Options.Extra, behind the login, for its roles
	}
	for _, g := range gets {
		for role, c := range clients {
			if g.want[role] < 0 {
				continue
			}
			if r := c.get(g.path); r.status != g.want[role] {
				t.Errorf("GET %s as %d: status %d, want %d", g.path, role, r.status, g.want[role])
			}
		}
	}
	posts := []struct {
		path string
		form url.Values
		want want
	}{
		{fmt.Sprintf("/tickets/%d", theirs.ID), url.Values{"version": {"1"}, "status": {"in_progress"}, "priority": {"high"},
			"group": {"lotto3"}}, want{unauth, nf, see, http.StatusConflict}}, // the administrator's version 1 is stale by then
		{fmt.Sprintf("/tickets/%d/articles", theirs.ID), url.Values{"kind": {"internal"}, "body": {"nota"}},
			want{unauth, nf, see, see}},
		{fmt.Sprintf("/tickets/%d/articles", mine.ID), url.Values{"kind": {"public"}, "body": {"risposta"}},
			want{unauth, see, see, see}},
		{"/config/reload", nil, want{unauth, forb, forb, see}},
		{"/config/versions", url.Values{"source": {"service: {}\n"}}, want{unauth, forb, forb, see}},
		{"/admin/users", url.Values{"login": {"new"}, "name": {"New"}, "role": {"operator"}, "password": {password},
			"password2": {password}}, want{unauth, forb, forb, see}},
		{"/admin/users/op3", url.Values{"action": {"disable"}}, want{unauth, forb, forb, see}},
		{"/admin/tokens", url.Values{"name": {"crm"}, "login": {"sup"}, "scope": {"read"}, "days": {"30"}},
			want{unauth, forb, forb, ok}}, // the secret is on the answer, not behind a redirect
		{"/admin/tokens/999999/revoke", nil, want{unauth, forb, forb, nf}},
		{"/lang", url.Values{"lang": {"it"}, "back": {"/tickets"}}, want{unauth, see, see, see}},
		{"/contacts/new", url.Values{"organization": {"tribunale-roma-demo"}, "name": {"X"}, "role": {"user"}},
			want{unauth, forb, see, see}},
		{"/contacts/999999/disable", nil, want{unauth, forb, nf, nf}},
		{"/contacts/import", url.Values{"csv": {"organization,name,role,email\ntribunale-roma-demo,Y,user,y@x.example\n"}},
			want{unauth, forb, ok, ok}},
		{fmt.Sprintf("/tickets/%d/contact", theirs.ID), url.Values{"contact": {"0"}, "version": {"1"}},
			want{unauth, nf, http.StatusConflict, http.StatusConflict}}, // stale: changed above
	}
	for _, p := range posts {
		for role, c := range clients {
			if r := c.post(p.path, p.form); r.status != p.want[role] {
				t.Errorf("POST %s as %d: status %d, want %d\n%s", p.path, role, r.status, p.want[role], r.body)
			}
		}
	}
	if e.reload.Load() != 1 {
		t.Errorf("reload ran %d times, want once (administrator only)", e.reload.Load())
	}
	// A forged cross-site POST is refused whoever the victim is, before
	// any role check.
	for role, c := range clients {
		r := c.post("/config/reload", nil, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
		if r.status != http.StatusForbidden {
			t.Errorf("cross-site POST as %d: status %d", role, r.status)
		}
	}
	if e.reload.Load() != 1 {
		t.Errorf("a cross-site POST reloaded the configuration")
	}
	// The operator's refused update left the ticket as it was.
	after, err := e.store.FindTicketByID(ctx, theirs.ID, tickets.Viewer{Kind: tickets.ViewerSystem})
	noErr(t, err)
	if after.Version != 2 || after.Status != tickets.StatusInProgress { // the supervisor's update only
		t.Errorf("ticket after the matrix: version %d status %s", after.Version, after.Status)
	}

	// Lists show only the operator's groups.
	opList := clients[op].get("/tickets")
	opList.has(t, string(mine.Number))
	opList.hasNot(t, string(theirs.Number))
	clients[sup].get("/tickets").has(t, string(mine.Number), string(theirs.Number))
	wb := clients[op].get("/wallboard")
	wb.has(t, `data-testid="wb-row-lotto2"`)
	wb.hasNot(t, `data-testid="wb-row-lotto3"`)
	clients[sup].get("/wallboard").has(t, `data-testid="wb-row-lotto2"`, `data-testid="wb-row-lotto3"`)
	// Navigation shows the administration only to administrators.
	clients[sup].get("/tickets").hasNot(t, `href="/admin/users"`)
	clients[adm].get("/tickets").has(t, `href="/admin/users"`)
	// and an extra page only to its roles.
	clients[op].get("/tickets").hasNot(t, `href="/phone"`)
	clients[sup].get("/tickets").has(t, `href="/phone"`)
}

// TestCrossSite: a state-changing request from another site, or without
// the session's form token, changes nothing.
func TestCrossSite(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, tk := e.openTicket("lotto2", "+390612345678", "Accesso negato")
	c := e.login("op2")
	path := fmt.Sprintf("/tickets/%d/articles", tk.ID)
	form := func(token string) url.Values {
		v := url.Values{"kind": {"internal"}, "body": {"forged"}}
		v.Set("csrf", token) // "" sends none
		return v
	}
	for _, tc := range []struct {
		name    string
		form    url.Values
		headers []string
		want    int
	}{
		{"fetch metadata cross-site", form(c.csrf), []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}, http.StatusForbidden},
		{"fetch metadata same-site", form(c.csrf), []string{"Sec-Fetch-Site", "same-site", "Origin", "https://sub.example"}, http.StatusForbidden},
		{"origin mismatch", form(c.csrf), []string{"Sec-Fetch-Site", "", "Origin", "https://evil.example"}, http.StatusForbidden},
		{"no form token", form(""), nil, http.StatusForbidden},
		{"wrong form token", form("AAAAAAAAAAAAAAAAAAAAAAAAAA"), nil, http.StatusForbidden},
		{"another session's token", form(e.login("op2").csrf), nil, http.StatusForbidden},
		{"wrong header token", form(""), []string{"X-CSRF-Token", "AAAAAAAAAAAAAAAAAAAAAAAAAA"}, http.StatusForbidden},
		{"wrong header, right form token", form(c.csrf), []string{"X-CSRF-Token", "AAAAAAAAAAAAAAAAAAAAAAAAAA"}, http.StatusForbidden},
	} {
		r := c.post(path, tc.form, tc.headers...)
		if r.status != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, r.status, tc.want)
		}
	}
	arts, err := e.store.Articles(ctx, tk.ID, tickets.Viewer{Kind: tickets.ViewerSystem})
	noErr(t, err)
	if len(arts) != 0 {
		t.Fatalf("a refused request wrote %d articles", len(arts))
	}
	wantStatus(t, "genuine", c.post(path, form(c.csrf)), http.StatusSeeOther)
	arts, err = e.store.Articles(ctx, tk.ID, tickets.Viewer{Kind: tickets.ViewerSystem})
	noErr(t, err)
	if len(arts) != 1 {
		t.Fatalf("%d articles after the genuine request, want 1", len(arts))
	}
	// Scripts send the token as a header.
	wantStatus(t, "genuine header token", c.post(path, form(""), "X-CSRF-Token", c.csrf), http.StatusSeeOther)
	arts, err = e.store.Articles(ctx, tk.ID, tickets.Viewer{Kind: tickets.ViewerSystem})
	noErr(t, err)
	if len(arts) != 2 {
		t.Fatalf("%d articles after the header-token request, want 2", len(arts))
	}

	// The login form has its own token (no session yet) and the same
	// cross-origin check.
	a := e.anon()
	wantStatus(t, "login without token", a.post("/login", url.Values{"login": {"op2"}, "password": {password}, "csrf": {""}}), http.StatusForbidden)
	a.get("/login")
	wantStatus(t, "cross-site login", a.post("/login", url.Values{"login": {"op2"}, "password": {password}},
		"Sec-Fetch-Site", "cross-site"), http.StatusForbidden)
}

// TestSession: a login makes a new session (a token planted before is
// worthless), logout ends it, and so do the idle timeout and the absolute
// lifetime, on the injected clock.
func TestSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.login("op2")
	first := c.sessionToken()
	if first == "" {
		t.Fatal("no session cookie")
	}
	// Logging in again on the same browser renews the token.
	wantStatus(t, "second login", c.postLogin("op2", password), http.StatusSeeOther)
	second := c.sessionToken()
	if second == "" || second == first {
		t.Fatalf("session token not renewed at login: %q then %q", first, second)
	}
	old := e.anon()
	u, _ := url.Parse(e.ts.URL)
	old.http.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: first, Path: "/"}})
	wantStatus(t, "old token", old.get("/tickets"), http.StatusSeeOther)
	wantStatus(t, "new token", c.get("/tickets"), http.StatusOK)

	// Logout ends the session on the server, not only in the browser.
	c.refreshToken()
	wantStatus(t, "logout", c.post("/logout", nil), http.StatusSeeOther)
	stolen := e.anon()
	stolen.http.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: second, Path: "/"}})
	r := stolen.get("/tickets")
	wantStatus(t, "after logout", r, http.StatusSeeOther)
	if loc := r.header.Get("Location"); !strings.HasPrefix(loc, "/login?next=") {
		t.Fatalf("redirect to %q, want the login page", loc)
	}
	var n int
	noErr(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM panel_sessions WHERE token_hash = $1`, hashToken(second)).Scan(&n))
	if n != 0 {
		t.Fatal("logout left the session in the database")
	}

	// Idle timeout: 29 minutes of silence are fine, 30 are not.
	c = e.login("op2")
	e.clk.Advance(29 * time.Minute)
	wantStatus(t, "after 29 idle minutes", c.get("/tickets"), http.StatusOK)
	e.clk.Advance(29 * time.Minute)
	wantStatus(t, "active again after 29 more", c.get("/tickets"), http.StatusOK)
	e.clk.Advance(30 * time.Minute)
	wantStatus(t, "after 30 idle minutes", c.get("/tickets"), http.StatusSeeOther)

	// Absolute lifetime: a session used every 20 minutes still ends.
	c = e.login("sup")
	start := e.clk.Now()
	for e.clk.Now().Sub(start) < 12*time.Hour-20*time.Minute {
		e.clk.Advance(20 * time.Minute)
		wantStatus(t, "active session", c.get("/wallboard"), http.StatusOK)
	}
	e.clk.Advance(20 * time.Minute)
	wantStatus(t, "past the lifetime", c.get("/wallboard"), http.StatusSeeOther)

	// Disabling a user ends their sessions at once.
	c = e.login("op3")
	noErr(t, e.srv.Users().SetDisabled(ctx, "op3", true))
	wantStatus(t, "disabled user", c.get("/tickets"), http.StatusSeeOther)
	wantStatus(t, "disabled user login", e.anon().postLogin("op3", password), http.StatusUnauthorized)
}

// TestLoginThrottle: failures from an attacker's address never lock the
// account's rightful user out (the old throttle locked admin for 15
// minutes after five failures from anywhere, even for the right
// password), while the attacker's own delays grow.
func TestLoginThrottle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const attacker, user = "203.0.113.66", "198.51.100.7"
	// The attacker guesses adm's password 40 times, waiting out each
	// delay; every wait is at least the one before, and they grow.
	var waits []int
	for i := range 40 {
		r := e.anonFrom(attacker).postLogin("adm", fmt.Sprint("guess ", i))
		if r.status == http.StatusTooManyRequests {
			r.has(t, "Troppi tentativi falliti da questo indirizzo")
			secs, err := strconv.Atoi(r.header.Get("Retry-After"))
			noErr(t, err)
			waits = append(waits, secs)
			e.clk.Advance(time.Duration(secs) * time.Second)
			r = e.anonFrom(attacker).postLogin("adm", fmt.Sprint("guess ", i))
		}
		wantStatus(t, "guess after waiting", r, http.StatusUnauthorized)
		r.has(t, "Utente o password errati.")
	}
	if len(waits) < 30 || waits[0] > 2 || waits[len(waits)-1] < 600 {
		t.Fatalf("the attacker's waits: %v", waits)
	}
	for i := 1; i < len(waits); i++ {
		if waits[i] < waits[i-1] {
			t.Fatalf("the attacker's waits shrink: %v", waits)
		}
	}
	// Right now the attacker must wait, even with the right password…
	wantStatus(t, "attacker, right password", e.anonFrom(attacker).postLogin("adm", password), http.StatusTooManyRequests)
	// …while the administrator, at their own address, logs in at once.
	wantStatus(t, "rightful user", e.anonFrom(user).postLogin("adm", password), http.StatusSeeOther)

	// The state is in PostgreSQL: another instance (or a restart) applies
	// the same delay to the attacker and none to the user.
	other := newEnvWith(t, e.pool)
	other.clk.Set(e.clk.Now())
	wantStatus(t, "attacker, other instance", other.anonFrom(attacker).postLogin("sup", password), http.StatusTooManyRequests)
	wantStatus(t, "user, other instance", other.anonFrom(user).postLogin("adm", password), http.StatusSeeOther)

	// The rightful user's own typos cost them a short delay at most, and a
	// success forgets them.
	typo := "192.0.2.10"
	for i := range 4 {
		wantStatus(t, "typo", e.anonFrom(typo).postLogin("op2", fmt.Sprint("typo ", i)), http.StatusUnauthorized)
	}
	r := e.anonFrom(typo).postLogin("op2", password)
	wantStatus(t, "after 4 typos", r, http.StatusTooManyRequests)
	r.has(t, "riprovi tra 1 secondi")
	e.clk.Advance(time.Second)
	wantStatus(t, "after the delay", e.anonFrom(typo).postLogin("op2", password), http.StatusSeeOther)
	wantStatus(t, "typo after success", e.anonFrom(typo).postLogin("op2", "typo again"), http.StatusUnauthorized)
	wantStatus(t, "right after", e.anonFrom(typo).postLogin("op2", password), http.StatusSeeOther)

	// One address guessing many accounts, one try each (below the
	// per-account delay), is slowed by its address count after 11
	// failures; an unknown login counts like a wrong password.
	spray := "192.0.2.99"
	for i := range 11 {
		wantStatus(t, "spray", e.anonFrom(spray).postLogin(fmt.Sprintf("user%d", i), "x"), http.StatusUnauthorized)
	}
	wantStatus(t, "spray delayed", e.anonFrom(spray).postLogin("sup", password), http.StatusTooManyRequests)
	wantStatus(t, "others are not", e.anonFrom("192.0.2.100").postLogin("sup", password), http.StatusSeeOther)
}

// TestLoginThrottleBurst: parallel guesses from one address get no more
// tries than guesses one after the other (each attempt is counted before
// the password is checked).
func TestLoginThrottleBurst(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const n = 16
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		c := e.anonFrom("203.0.113.77")
		c.get("/login")
		page := c.get("/login")
		m := tokenPattern.FindStringSubmatch(page.body)
		wg.Go(func() {
			res, err := c.http.PostForm(e.ts.URL+"/login", url.Values{"login": {"adm"}, "password": {fmt.Sprint("burst ", i)}, "csrf": {m[1]}})
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			statuses <- res.StatusCode
		})
	}
	wg.Wait()
	close(statuses)
	checked := 0
	for s := range statuses {
		switch s {
		case http.StatusUnauthorized:
			checked++
		case http.StatusTooManyRequests:
		default:
			t.Errorf("status %d", s)
		}
	}
	if checked != 4 { // 3 free failures, then the 4th, which set the first delay
		t.Fatalf("%d of %d parallel guesses were checked, want 4", checked, n)
	}
}

// TestSecurityHeaders: every answer carries the headers; cookies are
// HttpOnly, SameSite=Lax, and Secure with the __Host- prefix over TLS.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range []string{"/login", "/tickets", "/static/panel.js", "/nowhere"} {
		r := e.anon().get(path)
		h := r.header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY"} {
			if h.Get(k) != v {
				t.Errorf("%s: %s = %q, want %q", path, k, h.Get(k), v)
			}
		}
	}
	// No inline script anywhere.
	c := e.login("adm")
	for _, path := range []string{"/login", "/wallboard", "/console", "/tickets", "/reports", "/config", "/admin/users"} {
		r := c.get(path)
		if strings.Contains(r.body, "<script>") || strings.Contains(r.body, " onclick=") || strings.Contains(r.body, "style=") {
			t.Errorf("%s has inline script or style", path)
		}
	}

	res := e.anon().postLogin("op2", password)
	ck := sessionSetCookie(t, res, sessionCookie)
	if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure {
		t.Errorf("plain HTTP session cookie: %+v", ck)
	}
	// Over TLS: Secure, __Host- prefixed cookies and HSTS.
	s := newEnv(t, func(o *Options) { o.Secure = true })
	page := s.anon().get("/login")
	ck = sessionSetCookie(t, page, "__Host-"+loginCSRFCookie)
	if !ck.Secure || !ck.HttpOnly || ck.Path != "/" || ck.SameSite != http.SameSiteStrictMode {
		t.Errorf("TLS login cookie: %+v", ck)
	}
	if page.header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS over TLS")
	}
}

func sessionSetCookie(t *testing.T, r response, name string) *http.Cookie {
	t.Helper()
	for _, line := range r.header.Values("Set-Cookie") {
		ck, err := http.ParseSetCookie(line)
		if err == nil && ck.Name == name && ck.Value != "" {
			return ck
		}
	}
	t.Fatalf("no cookie %s in %q", name, r.header.Values("Set-Cookie"))
	return nil
}

// TestLanguage: Italian by default, the browser's language on the login
// page, and the user's own choice once logged in.
func TestLanguage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.anon().get("/login").has(t, `lang="it"`, "Entra")
	req, _ := http.NewRequest(http.MethodGet, e.ts.URL+"/login", nil)
	req.Header.Set("Accept-Language", "de-DE, en-GB;q=0.8, it;q=0.5")
	e.anon().do(req).has(t, `<html lang="en">`, "Log in")
	e.anon().get("/login?lang=en").has(t, `<html lang="en">`)

	c := e.login("op2")
	c.get("/tickets").has(t, "Ticket", "Cerca")
	r := c.post("/lang", url.Values{"lang": {"en"}, "back": {"/tickets?status=new"}})
	wantStatus(t, "switch", r, http.StatusSeeOther)
	if loc := r.header.Get("Location"); loc != "/tickets?status=new" {
		t.Fatalf("back to %q", loc)
	}
	c.get("/tickets").has(t, `<html lang="en">`, "Search")
	u, err := e.srv.Users().Find(ctx, "op2")
	noErr(t, err)
	if u.Lang != "en" {
		t.Fatalf("language %q saved", u.Lang)
	}
	// A redirect elsewhere is refused.
	r = c.post("/lang", url.Values{"lang": {"it"}, "back": {"//evil.example/"}})
	if loc := r.header.Get("Location"); loc != "/" {
		t.Fatalf("open redirect to %q", loc)
	}
	wantStatus(t, "unknown language", c.post("/lang", url.Values{"lang": {"fr"}}), http.StatusBadRequest)
}

func TestAcceptLanguage(t *testing.T) {
	t.Parallel()
	for header, want := range map[string]lang{
		"":                          "it",
		"en":                        "en",
		"en-US,en;q=0.9":            "en",
		"fr-FR, it;q=0.4, en;q=0.6": "en",
		"de, fr":                    "it",
		"en;q=0, it":                "it",
		"IT-it":                     "it",
	} {
		if got := acceptLanguage(header); got != want {
			t.Errorf("%q: %s, want %s", header, got, want)
		}
	}
}

// TestLoginThrottleClockSetBack: a block set under a later clock (kept
// data under the demo's -demo-clock, a stepped system clock) lasts no more
// than the longest delay, not until that later time comes back.
func TestLoginThrottleClockSetBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const from = "192.0.2.77"
	for i := range 4 {
		wantStatus(t, "typo", e.anonFrom(from).postLogin("op2", fmt.Sprint("typo ", i)), http.StatusUnauthorized)
	}
	// The next attempt waits a second; the clock then goes back two weeks.
	e.clk.Set(e.clk.Now().Add(-14 * 24 * time.Hour))
	r := e.anonFrom(from).postLogin("op2", password)
	if r.status == http.StatusTooManyRequests {
		secs, err := strconv.Atoi(r.header.Get("Retry-After"))
		noErr(t, err)
		if secs > 15*60 {
			t.Fatalf("told to wait %d s after the clock went back", secs)
		}
	}
}
