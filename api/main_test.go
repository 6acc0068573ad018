package api

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/configstore"
	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/internal/testkit"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/panel"
	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
	"github.com/helpdesk-ivr/ivr/webhooks"
)

func TestMain(m *testing.M) {
	pgtest.Main(coverage{m}, tickets.Migrate, queues.Migrate, panel.Migrate, configstore.Migrate, Migrate, webhooks.Migrate)
}

// coverage runs the tests, then, when every test ran (no -run, -skip or
// -list), fails unless every operation of the OpenAPI document answered
// at least once and every answer was valid: "every documented route answers as
// documented" holds for the run, not for a list kept by hand.
type coverage struct{ m *testing.M }

func (c coverage) Run() int {
	code := c.m.Run()
	for _, name := range []string{"test.run", "test.skip", "test.list"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return code // not every test ran
		}
	}
	if code != 0 || testing.Short() {
		return code
	}
	doc := loadDoc()
	var missing []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if answered.count(op.OperationID) == 0 {
				missing = append(missing, method+" "+path)
			}
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		fmt.Fprintf(os.Stderr, "FAIL: documented operations no test called: %s\n", strings.Join(missing, ", "))
		return 1
	}
	return 0
}

// answered counts the validated answers per operation.
var answered = &opCounts{n: map[string]int{}}

type opCounts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *opCounts) add(op string) {
	c.mu.Lock()
	c.n[op]++
	c.mu.Unlock()
}

func (c *opCounts) count(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[op]
}

var (
	ctx  = context.Background()
	rome = testkit.MustLoad("Europe/Rome")
	t0   = time.Date(2025, 11, 24, 10, 0, 0, 0, rome) // a Monday morning
)

var helpdesk = sync.OnceValues(func() (*menu.Config, error) {
	b, err := os.ReadFile("../configs/helpdesk.yaml")
	if err != nil {
		return nil, err
	}
	return menu.Parse("helpdesk.yaml", b)
})

func loadDoc() *openapi3.T {
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPI())
	if err != nil {
		panic(err)
	}
	return doc
}

func init() {
	openapi3filter.RegisterBodyDecoder("text/csv", openapi3filter.FileBodyDecoder)
	openapi3filter.RegisterBodyDecoder("audio/wav", openapi3filter.FileBodyDecoder)
	openapi3filter.RegisterBodyDecoder("application/yaml", openapi3filter.FileBodyDecoder)
}

// env is the API on its own database, over a real loopback HTTP server:
// groups lotto2 and lotto3, operators op2 (lotto2) and op3 (lotto3), a
// supervisor sup and an administrator adm.
type env struct {
	t       *testing.T
	pool    *pgxpool.Pool
	clk     *testkit.Clock
	store   *tickets.Store
	queues  *queues.Service
	users   *panel.Users
	tokens  *panel.Tokens
	hooks   *webhooks.Service
	api     *API
	ts      *httptest.Server
	router  routers.Router
	rec     *fakeRecordings
	changed atomic.Int32
}

type fakeRecordings struct{}

func (fakeRecordings) OpenRecording(_ context.Context, name string) (io.ReadCloser, string, error) {
	if name == "missing" {
		return nil, "", &fault.Error{Code: fault.ENOTFOUND, Message: "no such recording"}
	}
	return io.NopCloser(strings.NewReader("RIFF" + name)), "audio/wav", nil
}

func newEnv(t *testing.T, configure ...func(*Options)) *env {
	t.Helper()
	cfg, err := helpdesk()
	noErr(t, err)
	e := &env{t: t, pool: pgtest.Pool(t), clk: testkit.NewClock(t0), rec: &fakeRecordings{}}
	e.store = tickets.New(e.pool, tickets.Options{Location: rome, Now: e.clk.Now})
	e.queues = queues.New(e.pool, queues.Options{Location: rome, Now: e.clk.Now})
	noErr(t, e.queues.SyncGroups(ctx, []queues.GroupConfig{{ID: "lotto2"}, {ID: "lotto3"}}))
	for _, op := range []queues.Operator{
		{Login: "op2", Name: "Anna Operatrice", Endpoint: "PJSIP/op201", Groups: map[string]int{"lotto2": 0}},
		{Login: "op3", Name: "Bruno Operatore", Endpoint: "PJSIP/op301", Groups: map[string]int{"lotto3": 0}},
	} {
		noErr(t, e.queues.UpsertOperator(ctx, op))
	}
	e.users = panel.NewUsers(e.pool)
	for _, u := range []struct {
		login string
		role  panel.Role
	}{{"op2", panel.RoleOperator}, {"op3", panel.RoleOperator}, {"sup", panel.RoleSupervisor}, {"adm", panel.RoleAdmin}} {
		noErr(t, e.users.Add(ctx, u.login, "User "+u.login, u.role, "correct horse battery", "it"))
	}
	e.tokens = panel.NewTokens(e.pool, e.clk.Now)
	e.hooks = webhooks.New(e.pool, webhooks.Options{Now: e.clk.Now, // the receivers are on loopback
		AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	opts := Options{Pool: e.pool, Tickets: e.store, Queues: e.queues, Users: e.users, Tokens: e.tokens,
		Audit: panel.NewAudit(e.pool, e.clk.Now), Recordings: e.rec, Config: func() *menu.Config { return cfg },
		Now: e.clk.Now, Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		Changed: func() { e.changed.Add(1) }, Webhooks: e.hooks}
	for _, c := range configure {
		c(&opts)
	}
	e.api, err = New(opts)
	noErr(t, err)
	r := chi.NewRouter()
	r.Mount(Prefix, e.api.Handler())
	e.ts = httptest.NewServer(r)
	t.Cleanup(e.ts.Close)
	doc := loadDoc()
	noErr(t, doc.Validate(ctx))
	doc.Servers = openapi3.Servers{{URL: e.ts.URL + Prefix}}
	e.router, err = legacy.NewRouter(doc)
	noErr(t, err)
	return e
}

// token creates a token for login and returns its secret.
func (e *env) token(login string, scope panel.Scope, groups ...string) string {
	e.t.Helper()
	secret, _, err := e.tokens.Create(ctx, panel.NewToken{Name: login + " " + string(scope), Login: login, Scope: scope,
		Groups: groups, ExpiresAt: e.clk.Now().Add(24 * time.Hour), CreatedBy: "adm"})
	noErr(e.t, err)
	return secret
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into v.
func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("answer (status %d) is not JSON: %v\n%s", r.status, err, r.body)
	}
}

// problem checks the answer is a problem of that status and code.
func (r response) problem(t *testing.T, status int, code string) Problem {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d\n%s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json", ct)
	}
	var p Problem
	r.json(t, &p)
	if p.Status != status || p.Code != code || p.Type != "about:blank" || p.Title != http.StatusText(status) || p.Instance == "" {
		t.Fatalf("problem %+v, want status %d code %s", p, status, code)
	}
	return p
}

// do sends a request with token (none if "") and a JSON body (none if
// nil; a string or []byte is sent as it is), and checks the answer against
// the OpenAPI document.
func (e *env) do(method, path, token string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		noErr(e.t, err)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.ts.URL+Prefix+path, rd)
	noErr(e.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	noErr(e.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	noErr(e.t, err)
	r := response{res.StatusCode, res.Header, b}
	e.validate(req, r)
	return r
}

// validate checks an answer against the document: the route and its
// operation exist, the status is documented, and so are the body and its
// content type. Routes that are not the API's (404 of the router for an
// unknown path) are checked as problems only.
func (e *env) validate(req *http.Request, r response) {
	e.t.Helper()
	route, params, err := e.router.FindRoute(req)
	if err != nil {
		if r.status != http.StatusNotFound && r.status != http.StatusMethodNotAllowed {
			e.t.Errorf("%s %s: not in the OpenAPI document (%v), answered %d", req.Method, req.URL.Path, err, r.status)
		}
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status: r.status, Header: r.header, Body: io.NopCloser(bytes.NewReader(r.body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
		e.t.Errorf("%s %s answered %d, not as documented: %v\n%s", req.Method, req.URL.Path, r.status, err, r.body)
		return
	}
	answered.add(route.Operation.OperationID)
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

// openCall opens a call and its ticket in group.
func (e *env) openCall(group, caller, subject string) (tickets.Call, tickets.Ticket) {
	e.t.Helper()
	c, tk, err := e.store.OpenCall(ctx, tickets.NewCall{ChannelID: fmt.Sprintf("1795320990.%d", channels.Add(1)),
		Caller: caller, Subject: subject, Group: group, Organization: "tribunale-roma-demo", CallerRole: tickets.CallerReferent})
	noErr(e.t, err)
	return c, tk
}
