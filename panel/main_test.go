package panel

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"

	"github.com/helpdesk-ivr/ivr/internal/configstore"
	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/internal/testkit"
	"github.com/helpdesk-ivr/ivr/mailin"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/notify"
	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
	"github.com/helpdesk-ivr/ivr/webhooks"
)

func TestMain(m *testing.M) {
	bcryptCost = bcrypt.MinCost // the tests log in hundreds of times
	pgtest.Main(m, tickets.Migrate, queues.Migrate, Migrate, notify.Migrate, webhooks.Migrate, mailin.Migrate, configstore.Migrate)
}

var (
	ctx  = context.Background()
	rome = testkit.MustLoad("Europe/Rome")
	t0   = time.Date(2025, 11, 24, 10, 0, 0, 0, rome) // a Monday morning
)

const password = "correct horse battery"

var helpdesk = sync.OnceValues(func() (*menu.Config, error) {
	b, err := os.ReadFile("../configs/helpdesk.yaml")
	if err != nil {
		return nil, err
	}
	return menu.Parse("helpdesk.yaml", b)
})

// env is a panel on its own database, with two operator groups (lotto2 and
// lotto3), an operator in each, a supervisor and an administrator, served
// over a real loopback HTTP server.
type env struct {
	t      testing.TB
	pool   *pgxpool.Pool
	clk    *testkit.Clock
	store  *tickets.Store
	queues *queues.Service
	srv    *Server
	ts     *httptest.Server
	live   *fakeLive
	rec    *fakeRecordings
	reload atomic.Int32
}

type fakeLive struct {
	mu    sync.Mutex
	calls []LiveCall
}

func (f *fakeLive) Calls() []LiveCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]LiveCall(nil), f.calls...)
}

func (f *fakeLive) set(calls ...LiveCall) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = calls
}

type fakeRecordings struct {
	mu     sync.Mutex
	opened []string
}

func (f *fakeRecordings) OpenRecording(_ context.Context, name string) (io.ReadCloser, string, error) {
	f.mu.Lock()
	f.opened = append(f.opened, name)
	f.mu.Unlock()
	if name == "missing" {
		return nil, "", &fault.Error{Code: fault.ENOTFOUND, Message: "no such recording"}
	}
	return io.NopCloser(strings.NewReader("RIFF" + name)), "audio/wav", nil
}

func newEnv(t testing.TB, configure ...func(*Options)) *env {
	t.Helper()
	return newEnvWith(t, pgtest.Pool(t), configure...)
}

// newEnvWith is newEnv on a given database.
func newEnvWith(t testing.TB, pool *pgxpool.Pool, configure ...func(*Options)) *env {
	t.Helper()
	cfg, err := helpdesk()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, pool: pool, clk: testkit.NewClock(t0), live: &fakeLive{}, rec: &fakeRecordings{}}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	e.store = tickets.New(e.pool, tickets.Options{Location: rome, Now: e.clk.Now})
	e.queues = queues.New(e.pool, queues.Options{Location: rome, Now: e.clk.Now})
	noErr(t, e.queues.SyncGroups(ctx, []queues.GroupConfig{{ID: "lotto2"}, {ID: "lotto3"}}))
	for _, op := range []queues.Operator{
		{Login: "op2", Name: "Anna Operatrice", Endpoint: "PJSIP/op201", Groups: map[string]int{"lotto2": 0}},
		{Login: "op3", Name: "Bruno Operatore", Endpoint: "PJSIP/op301", Groups: map[string]int{"lotto3": 0}},
	} {
		noErr(t, e.queues.UpsertOperator(ctx, op))
	}
	opts := Options{Pool: e.pool, Tickets: e.store, Queues: e.queues, Live: e.live, Recordings: e.rec,
		Config: func() *menu.Config { return cfg }, Now: e.clk.Now, Logger: log,
		Reload: func() error { e.reload.Add(1); return nil }, Versions: configstore.New(pool, configstore.Options{Now: e.clk.Now})}
	for _, c := range configure {
		c(&opts)
	}
	e.srv, err = New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.srv.Close)
	// As behind a reverse proxy on the loopback: a client's from address
	// (X-Forwarded-For) is its address for the login throttle.
	e.ts = httptest.NewServer(middleware.ClientIPFromXFF("127.0.0.1/32")(e.srv.Handler()))
	t.Cleanup(e.ts.Close)
	users := e.srv.Users()
	_, err = pool.Exec(ctx, `DELETE FROM panel_users WHERE login IN ('op2', 'op3', 'sup', 'adm')`) // a kept benchmark database
	noErr(t, err)
	for _, u := range []struct {
		login string
		role  Role
	}{{"op2", RoleOperator}, {"op3", RoleOperator}, {"sup", RoleSupervisor}, {"adm", RoleAdmin}} {
		noErr(t, users.Add(ctx, u.login, "User "+u.login, u.role, password, "it"))
	}
	return e
}

// client is a browser: a cookie jar, no redirects followed, and the
// headers a browser sends with a same-origin form.
type client struct {
	e    *env
	http *http.Client
	csrf string
	from string // the client's address, if not the loopback's
}

// anonFrom is a browser at address from.
func (e *env) anonFrom(from string) *client {
	c := e.anon()
	c.from = from
	return c
}

func (e *env) anon() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, http: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// login returns a client logged in as login.
func (e *env) login(login string) *client {
	e.t.Helper()
	c := e.anon()
	res := c.postLogin(login, password)
	if res.status != http.StatusSeeOther {
		e.t.Fatalf("login %s: status %d\n%s", login, res.status, res.body)
	}
	c.refreshToken()
	return c
}

var tokenPattern = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// refreshToken reads the session's form token from a page.
func (c *client) refreshToken() {
	c.e.t.Helper()
	res := c.get("/tickets")
	m := tokenPattern.FindStringSubmatch(res.body)
	if m == nil {
		c.e.t.Fatalf("no form token in /tickets (status %d)", res.status)
	}
	c.csrf = m[1]
}

func (c *client) postLogin(login, pw string) response {
	c.e.t.Helper()
	page := c.get("/login")
	m := tokenPattern.FindStringSubmatch(page.body)
	if m == nil {
		c.e.t.Fatalf("no login token:\n%s", page.body)
	}
	return c.post("/login", url.Values{"login": {login}, "password": {pw}, "csrf": {m[1]}})
}

type response struct {
	status int
	header http.Header
	body   string
}

func (r response) has(t *testing.T, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(r.body, p) {
			t.Fatalf("answer (status %d) lacks %q:\n%s", r.status, p, r.body)
		}
	}
}

func (r response) hasNot(t *testing.T, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if strings.Contains(r.body, p) {
			t.Fatalf("answer (status %d) has %q:\n%s", r.status, p, r.body)
		}
	}
}

func (c *client) do(req *http.Request) response {
	c.e.t.Helper()
	if c.from != "" {
		req.Header.Set("X-Forwarded-For", c.from)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, string(b)}
}

func (c *client) get(path string) response {
	c.e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.e.ts.URL+path, nil)
	if err != nil {
		c.e.t.Fatal(err)
	}
	return c.do(req)
}

// post sends a same-origin form, as the panel's own pages do; the
// session's token is added unless the form has one.
func (c *client) post(path string, form url.Values, headers ...string) response {
	c.e.t.Helper()
	form = cloneValues(form)
	if v, ok := form["csrf"]; ok && len(v) == 1 && v[0] == "" {
		form.Del("csrf") // a form without a token, on purpose
	} else if !ok && c.csrf != "" {
		form.Set("csrf", c.csrf)
	}
	req, err := http.NewRequest(http.MethodPost, c.e.ts.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", c.e.ts.URL)
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	return c.do(req)
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, x := range v {
		out[k] = append([]string(nil), x...)
	}
	return out
}

func (c *client) sessionToken() string {
	u, _ := url.Parse(c.e.ts.URL)
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == sessionCookie {
			return ck.Value
		}
	}
	return ""
}

// stream is an open event stream.
type stream struct {
	events chan sseEvent
	cancel context.CancelFunc
}

// subscribe opens a page's event stream.
func (c *client) subscribe(path string) *stream {
	c.e.t.Helper()
	sctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(sctx, http.MethodGet, c.e.ts.URL+path, nil)
	if err != nil {
		c.e.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	hc := &http.Client{Jar: c.http.Jar} // no timeout: a stream lasts
	res, err := hc.Do(req)
	if err != nil {
		cancel()
		c.e.t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		cancel()
		c.e.t.Fatalf("subscribe %s: status %d, %s", path, res.StatusCode, res.Header.Get("Content-Type"))
	}
	s := &stream{events: make(chan sseEvent, 64), cancel: cancel}
	c.e.t.Cleanup(cancel)
	go func() {
		defer res.Body.Close()
		defer close(s.events)
		readEvents(res.Body, func(ev sseEvent) bool {
			select {
			case s.events <- ev:
				return true
			case <-sctx.Done():
				return false
			}
		})
	}()
	return s
}

// readEvents parses a Server-Sent Events stream.
func readEvents(r io.Reader, emit func(sseEvent) bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	var name string
	var data []string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if name != "" || data != nil {
				if !emit(sseEvent{name: name, data: []byte(strings.Join(data, "\n"))}) {
					return
				}
			}
			name, data = "", nil
		case strings.HasPrefix(line, "event: "):
			name = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			data = append(data, line[len("data: "):])
		}
	}
}

// waitEvent waits for an event of that name whose data satisfies ok.
func (s *stream) waitEvent(t *testing.T, name string, ok func(string) bool) string {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case ev, open := <-s.events:
			if !open {
				t.Fatalf("stream closed before a %s event", name)
			}
			if ev.name == name && ok(string(ev.data)) {
				return string(ev.data)
			}
		case <-timeout:
			t.Fatalf("no matching %s event within 15 s", name)
		}
	}
}

func noErr(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantStatus(t *testing.T, what string, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d\n%s", what, r.status, status, r.body)
	}
}

var channels atomic.Int64

// openTicket opens a call and its ticket in group.
func (e *env) openTicket(group, caller, subject string) (tickets.Call, tickets.Ticket) {
	e.t.Helper()
	c, tk, err := e.store.OpenCall(ctx, tickets.NewCall{ChannelID: fmt.Sprintf("1795320990.%d", channels.Add(1)),
		Caller: caller, Subject: subject, Group: group, Organization: "tribunale-roma-demo", CallerRole: tickets.CallerReferent})
	noErr(e.t, err)
	return c, tk
}

var timeParseDuration = time.ParseDuration
