package testphone_test

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/helpdesk-ivr/ivr/internal/testphone"
	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/simdesk"
	"github.com/helpdesk-ivr/ivr/menu"
)

var (
	rome      = mustLoc("Europe/Rome")
	monday10  = time.Date(2026, 11, 23, 10, 0, 0, 0, rome) // a working Monday morning
	demoPIN   = []byte("demo-pin-secret-not-for-production")
	waitLimit = 15 * time.Second
)

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

func loadConfig(t *testing.T) *menu.Config {
	t.Helper()
	data, err := os.ReadFile("../../configs/helpdesk.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := menu.Parse("helpdesk.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// fixture is a test phone on a desk at monday10, served over HTTP, with
// a prompts directory holding the root menu's prompt.
type fixture struct {
	t       *testing.T
	srv     *httptest.Server
	prompts string
	phone   *testphone.Phone
}

func newFixture(t *testing.T, mod ...func(*testphone.Options)) *fixture {
	t.Helper()
	cfg := loadConfig(t)
	store := ivr.NewMemoryRecorder(rome)
	start := func(ctx context.Context, at time.Time, draft *menu.Config) (*simdesk.Desk, error) {
		if at.IsZero() {
			at = monday10
		}
		return simdesk.Start(ctx, simdesk.Options{Config: cmp.Or(draft, cfg), PINSecret: demoPIN, Start: at, Speed: 40, Store: store})
	}
	desk, err := start(context.Background(), monday10, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(desk.Close)
	dir := t.TempDir()
	wav := filepath.Join(dir, "sounds", "it", "helpdesk", "menu-root.wav")
	if err := os.MkdirAll(filepath.Dir(wav), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wav, []byte("RIFF-root-prompt"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := testphone.Options{Desk: desk, NewDesk: start, Config: func() *menu.Config { return cfg },
		Prompts: dir, Location: rome, CSRFToken: func(*http.Request) string { return "tok-123" }}
	for _, m := range mod {
		m(&o)
	}
	phone := testphone.New(o)
	t.Cleanup(phone.Close) // before the desk closes
	r := chi.NewRouter()
	phone.Routes(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &fixture{t: t, srv: srv, prompts: dir, phone: phone}
}

func (f *fixture) post(path, contentType, body string) (int, string) {
	f.t.Helper()
	res, err := http.Post(f.srv.URL+path, contentType, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func (f *fixture) get(path string) (int, string) {
	f.t.Helper()
	res, err := http.Get(f.srv.URL + path)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// place places a call through the API and returns its id.
func (f *fixture) place(form url.Values) string {
	f.t.Helper()
	code, body := f.post("/testphone/calls", "application/x-www-form-urlencoded", form.Encode())
	if code != http.StatusCreated {
		f.t.Fatalf("place call: %d %s", code, body)
	}
	var res struct{ ID string }
	if err := json.Unmarshal([]byte(body), &res); err != nil || res.ID == "" {
		f.t.Fatalf("place call: %q: %v", body, err)
	}
	return res.ID
}

func (f *fixture) press(id, keys string) {
	f.t.Helper()
	if code, body := f.post("/testphone/calls/"+id+"/keys", "application/json", `{"keys":"`+keys+`"}`); code != http.StatusNoContent {
		f.t.Fatalf("press %q: %d %s", keys, code, body)
	}
}

// stream reads a call's Server-Sent Events.
type stream struct {
	t      *testing.T
	events chan testphone.Event
	seen   []testphone.Event
}

func (f *fixture) stream(id string) *stream {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f.t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.srv.URL+"/testphone/calls/"+id+"/events", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	if ct := res.Header.Get("Content-Type"); res.StatusCode != http.StatusOK || ct != "text/event-stream" {
		f.t.Fatalf("events: %d %s", res.StatusCode, ct)
	}
	s := &stream{t: f.t, events: make(chan testphone.Event, 1024)}
	go func() {
		defer res.Body.Close()
		defer close(s.events)
		sc := bufio.NewScanner(res.Body)
		event := ""
		for sc.Scan() {
			line := sc.Text()
			if name, ok := strings.CutPrefix(line, "event: "); ok {
				event = name
			}
			data, ok := strings.CutPrefix(line, "data: ")
			if !ok || event == "end" {
				continue
			}
			var e testphone.Event
			if err := json.Unmarshal([]byte(data), &e); err != nil {
				panic(err)
			}
			s.events <- e
		}
	}()
	return s
}

// waitFor returns the first event from now on matching pred.
func (s *stream) waitFor(what string, pred func(testphone.Event) bool) testphone.Event {
	s.t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case e, ok := <-s.events:
			if !ok {
				s.t.Fatalf("stream ended without %s; saw %s", what, s.kinds())
			}
			s.seen = append(s.seen, e)
			if pred(e) {
				return e
			}
		case <-deadline:
			s.t.Fatalf("no %s within %s; saw %s", what, waitLimit, s.kinds())
		}
	}
}

func (s *stream) kind(k string) testphone.Event {
	s.t.Helper()
	return s.waitFor(k, func(e testphone.Event) bool { return e.Kind == k })
}

func (s *stream) prompt(name string) testphone.Event {
	s.t.Helper()
	return s.waitFor("prompt "+name, func(e testphone.Event) bool { return e.Kind == ivr.EvPrompt && slices.Contains(e.Prompt, name) })
}

func (s *stream) kinds() string {
	var b []string
	for _, e := range s.seen {
		b = append(b, e.Kind+" "+strings.Join(e.Prompt, "+"))
	}
	return strings.Join(b, ", ")
}

// ended waits for the end of the stream, which must come after the outcome.
func (s *stream) ended() {
	s.t.Helper()
	select {
	case e, ok := <-s.events:
		if ok {
			s.t.Fatalf("event %s after the outcome", e.Kind)
		}
	case <-time.After(waitLimit):
		s.t.Fatal("the stream did not end after the outcome")
	}
}

func TestCallNowRoutesAndOpensTicket(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.place(url.Values{"caller": {"3331234567"}})
	s := f.stream(id)
	if e := s.kind(ivr.EvCall); !strings.HasSuffix(e.Caller, "3331234567") || !e.Test {
		t.Errorf("call event caller = %q, test call %v: want the number, a test call (Stasis argument test)", e.Caller, e.Test)
	}
	root := s.prompt("node:root")
	if want := []string{"it/helpdesk/menu-root.wav"}; !slices.Equal(root.Audio, want) {
		t.Errorf("root prompt audio = %q, want %q", root.Audio, want)
	}
	if root.Text == "" {
		t.Error("root prompt has no text")
	}
	f.press(id, "13")
	if e := s.kind(ivr.EvRoute); e.Group != "lotto3" {
		t.Errorf("routed to %q, want lotto3", e.Group)
	}
	s.kind(ivr.EvAnswered)
	if code, body := f.post("/testphone/calls/"+id+"/hangup", "", ""); code != http.StatusNoContent {
		t.Fatalf("hang up: %d %s", code, body)
	}
	out := s.kind(ivr.EvOutcome)
	if out.Ticket == "" || out.Group != "lotto3" {
		t.Errorf("outcome = %+v, want a ticket and group lotto3", out.Event)
	}
	if !slices.ContainsFunc(s.seen, func(e testphone.Event) bool { return e.Kind == ivr.EvTicket && e.Ticket == out.Ticket }) {
		t.Errorf("no ticket event for %s; saw %s", out.Ticket, s.kinds())
	}
	s.ended()
	// The call is over; its transcript is still there to read again.
	if code, body := f.post("/testphone/calls/"+id+"/keys", "application/json", `{"keys":"1"}`); code != http.StatusConflict {
		t.Errorf("keys after the end: %d %s, want 409", code, body)
	}
	again := f.stream(id)
	again.kind(ivr.EvCall)
	again.kind(ivr.EvOutcome)
}

func TestCallAtSundayHearsClosed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.place(url.Values{"caller": {"+390612345678"}, "at": {"2026-11-22T10:00"}})
	s := f.stream(id)
	if e := s.kind(ivr.EvHours); e.Open == nil || *e.Open {
		t.Errorf("hours event = %+v, want closed", e.Event)
	}
	if e := s.prompt("system:closed"); e.Time.In(rome).Weekday() != time.Sunday || e.Time.Before(time.Date(2026, 11, 22, 10, 0, 0, 0, rome)) {
		t.Errorf("closed prompt at %s, want on Sunday from 10:00", e.Time)
	}
	f.post("/testphone/calls/"+id+"/hangup", "", "")
	s.kind(ivr.EvOutcome)
	s.ended()
}

func TestRequestsRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.place(url.Values{"caller": {"3331234567"}})
	s := f.stream(id)
	s.prompt("node:root")
	tests := []struct {
		name, path, body string
		want             int
	}{
		{"no keys", "/testphone/calls/" + id + "/keys", `{"keys":""}`, http.StatusBadRequest},
		{"a letter", "/testphone/calls/" + id + "/keys", `{"keys":"12a"}`, http.StatusBadRequest},
		{"too many keys", "/testphone/calls/" + id + "/keys", `{"keys":"` + strings.Repeat("1", 33) + `"}`, http.StatusBadRequest},
		{"not JSON", "/testphone/calls/" + id + "/keys", `{"keys":`, http.StatusBadRequest},
		{"unknown call keys", "/testphone/calls/nope/keys", `{"keys":"1"}`, http.StatusNotFound},
		{"unknown call hangup", "/testphone/calls/nope/hangup", `{}`, http.StatusNotFound},
		{"bad caller", "/testphone/calls", `{"caller":"33x"}`, http.StatusBadRequest},
		{"bad date", "/testphone/calls", `{"caller":"3331234567","at":"tomorrow"}`, http.StatusBadRequest},
	}
	for _, tt := range tests {
		code, body := f.post(tt.path, "application/json", tt.body)
		if code != tt.want {
			t.Errorf("%s: %d %s, want %d", tt.name, code, body, tt.want)
		}
		if code == http.StatusBadRequest && !strings.Contains(body, `"error"`) {
			t.Errorf("%s: no error message in %s", tt.name, body)
		}
	}
	if code, _ := f.get("/testphone/calls/nope/events"); code != http.StatusNotFound {
		t.Errorf("events of an unknown call: %d, want 404", code)
	}
	f.post("/testphone/calls/"+id+"/hangup", "", "")
	s.kind(ivr.EvOutcome)
}

func TestCallLimitAndNoDateDesk(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *testphone.Options) { o.MaxCalls, o.NewDesk = 1, nil })
	if code, body := f.post("/testphone/calls", "application/json", `{"caller":"3331234567","at":"2026-11-22T10:00"}`); code != http.StatusBadRequest {
		t.Errorf("a date without NewDesk: %d %s, want 400", code, body)
	}
	id := f.place(url.Values{"caller": {"3331234567"}})
	s := f.stream(id)
	if code, body := f.post("/testphone/calls", "application/json", `{"caller":"3331234568"}`); code != http.StatusTooManyRequests {
		t.Errorf("a second call: %d %s, want 429", code, body)
	}
	f.post("/testphone/calls/"+id+"/hangup", "", "")
	s.kind(ivr.EvOutcome)
}

func TestAudio(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// A file outside sounds/ that traversal would reach.
	if err := os.WriteFile(filepath.Join(f.prompts, "secret.wav"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, body := f.get("/testphone/audio/it/helpdesk/menu-root.wav")
	if code != http.StatusOK || body != "RIFF-root-prompt" {
		t.Errorf("known prompt: %d %q", code, body)
	}
	for _, p := range []string{
		"it/../../secret.wav",
		"it/%2e%2e/%2e%2e/secret.wav",
		"..%2f..%2fsecret.wav",
		"it/helpdesk/../../../secret.wav",
		"it/helpdesk/unknown.wav",
		"de/helpdesk/menu-root.wav",
		"it/helpdesk/menu-root",
		"it/helpdesk/system-welcome.wav", // known but not generated
	} {
		if code, body := f.get("/testphone/audio/" + p); code != http.StatusNotFound || strings.Contains(body, "secret") {
			t.Errorf("%s: %d %q, want 404", p, code, body)
		}
	}
}

func TestPage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	code, body := f.get("/testphone")
	if code != http.StatusOK {
		t.Fatalf("page: %d", code)
	}
	for _, want := range []string{`<meta name="csrf-token" content="tok-123">`, `data-testid="tp-caller"`, `data-testid="tp-call"`,
		`data-testid="tp-key-star"`, `data-testid="tp-key-hash"`, `data-testid="tp-transcript"`, `data-testid="tp-ticket"`,
		`data-testid="tp-audio"`, `Telefono di prova`, `src="/testphone/static/phone.js"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(body, "<script>") {
		t.Error("inline script in the page")
	}
	if _, body := f.get("/testphone?lang=en"); !strings.Contains(body, "Test phone") {
		t.Error("?lang=en is not in English")
	}
	if code, body := f.get("/testphone/static/phone.js"); code != http.StatusOK || !strings.Contains(body, "X-CSRF-Token") {
		t.Errorf("phone.js: %d", code)
	}
	if code, _ := f.get("/testphone/static/../page.go"); code != http.StatusNotFound {
		t.Errorf("static outside: %d", code)
	}
}

func TestCloseHangsUp(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	now := f.stream(f.place(url.Values{"caller": {"3331234567"}}))
	sunday := f.stream(f.place(url.Values{"caller": {"3331234568"}, "at": {"2026-11-22T10:00"}}))
	now.prompt("node:root")
	sunday.prompt("system:closed")
	f.phone.Close()
	now.kind(ivr.EvOutcome)
	sunday.kind(ivr.EvOutcome)
	if code, body := f.post("/testphone/calls", "application/json", `{"caller":"3331234567"}`); code != http.StatusServiceUnavailable {
		t.Errorf("a call after Close: %d %s, want 503", code, body)
	}
}

// A call with ?draft= runs under the draft the Draft option returns (its
// key 3 goes to Lotto 4 instead of Lotto 3), a call without it under the
// configuration in force; a user who may not try drafts is refused, and
// without the option drafts are not taken.
func TestCallUnderDraft(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../configs/helpdesk.yaml")
	if err != nil {
		t.Fatal(err)
	}
	moved := strings.Replace(string(data), `"3": {label: "Lotto 3 (Area Centro)", group: lotto3}`, `"3": {label: "Lotto 3 (Area Centro)", group: lotto4}`, 1)
	draft, err := menu.Parse("helpdesk.yaml", []byte(moved))
	if err != nil || moved == string(data) {
		t.Fatalf("draft: %v (changed %v)", err, moved != string(data))
	}
	f := newFixture(t, func(o *testphone.Options) {
		o.Draft = func(r *http.Request, id int64) (*menu.Config, error) {
			switch {
			case r.Header.Get("X-Role") == "supervisor":
				return nil, testphone.ErrDraftForbidden
			case id != 7:
				return nil, errors.New("no draft")
			}
			return draft, nil
		}
	})
	route := func(form url.Values) string {
		t.Helper()
		id := f.place(form)
		s := f.stream(id)
		s.prompt("node:root")
		f.press(id, "13")
		g := s.kind(ivr.EvRoute).Group
		f.post("/testphone/calls/"+id+"/hangup", "", "")
		s.kind(ivr.EvOutcome)
		return g
	}
	if g := route(url.Values{"caller": {"3331234567"}, "draft": {"7"}}); g != "lotto4" {
		t.Errorf("under the draft, 1 3 went to %q, want lotto4", g)
	}
	if g := route(url.Values{"caller": {"3331234567"}}); g != "lotto3" {
		t.Errorf("in force, 1 3 went to %q, want lotto3", g)
	}
	if code, body := f.post("/testphone/calls", "application/json", `{"caller":"3331234567","draft":"8"}`); code != http.StatusBadRequest {
		t.Errorf("an unknown draft: %d %s", code, body)
	}
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/testphone/calls", strings.NewReader(`{"caller":"3331234567","draft":"7"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Role", "supervisor")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("a supervisor's draft call: %d, want 403", res.StatusCode)
	}
	if code, body := f.get("/testphone?draft=7"); code != http.StatusOK || !strings.Contains(body, `id="tp-draft" name="draft" value="7"`) {
		t.Errorf("the page for draft 7: %d\n%s", code, body)
	}
	plain := newFixture(t)
	if code, body := plain.post("/testphone/calls", "application/json", `{"caller":"3331234567","draft":"7"}`); code != http.StatusBadRequest || !strings.Contains(body, "not tried here") {
		t.Errorf("a draft without the option: %d %s", code, body)
	}
}
