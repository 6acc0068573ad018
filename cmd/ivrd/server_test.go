package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/pgtest"
)

// monday10 is a working Monday morning in Rome: the desk is open.
const monday10 = "2026-11-23T10:00"

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// waitReady polls /readyz until it says ready, failing if stopped says
// the server is gone.
func waitReady(t *testing.T, base string, stopped func() error) {
	t.Helper()
	// Generous: on a loaded 2-core machine with the race detector, ivrd's
	// migrations and demo set-up have taken over a minute.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.TrimSpace(string(body)) == "ready" {
				return
			}
		}
		if err := stopped(); err != nil {
			t.Fatalf("ivrd stopped: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startDemoServer runs ivrd -demo in-process on a throwaway database,
// its clock at clockAt, and returns its base URL; the server is stopped
// (as by SIGTERM) at the end of the test and must stop cleanly.
func startDemoServer(t *testing.T, clockAt string) string {
	t.Helper()
	return startDemoServerWith(t, flags{config: "../../configs/helpdesk.yaml", demo: true, demoClock: clockAt,
		dataDir: t.TempDir(), drainTimeout: 5 * time.Second})
}

// startDemoServerWith is startDemoServer with flags of its own (the
// address is chosen here).
func startDemoServerWith(t *testing.T, f flags) string {
	t.Helper()
	return startDemoServerOn(t, f, pgtest.DatabaseURL(t))
}

// startDemoServerOn is startDemoServerWith on a given database, which
// several servers may share.
func startDemoServerOn(t *testing.T, f flags, dbURL string) string {
	t.Helper()
	t.Setenv("DATABASE_URL", dbURL)
	t.Setenv("IVR_PIN_SECRET", "")
	addr := freeAddr(t)
	f.listen = addr
	ctx, cancel := context.WithCancel(context.Background())
	finished := make(chan struct{})
	var runErr error
	logs := &lockedBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	go func() {
		runErr = run(ctx, f, log)
		close(finished)
	}()
	// Registered before the wait, so that an ivrd that never gets ready
	// shows its log.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("ivrd log:\n%s", logs.String())
		}
		cancel()
		select {
		case <-finished:
			if runErr != nil {
				t.Errorf("stop: %v", runErr)
			}
		case <-time.After(30 * time.Second):
			t.Error("ivrd did not stop")
		}
	})
	base := "http://" + addr
	waitReady(t, base, func() error {
		select {
		case <-finished:
			return fmt.Errorf("returned %v", runErr)
		default:
			return nil
		}
	})
	return base
}

// panelClient is a logged-in HTTP client of the panel.
type panelClient struct {
	t    *testing.T
	base string
	http *http.Client
	csrf string
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func logIn(t *testing.T, base, login string) *panelClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &panelClient{t: t, base: base, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	_, page := c.get("/login")
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no login token in the login page:\n%s", page)
	}
	status, body := c.postForm("/login", url.Values{"csrf": {m[1]}, "login": {login}, "password": {demoPassword}})
	if status != http.StatusOK || !strings.Contains(body, `data-testid="current-user"`) {
		t.Fatalf("log in as %s: %d\n%s", login, status, body)
	}
	m = csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no session token after login")
	}
	c.csrf = m[1]
	return c
}

func (c *panelClient) do(req *http.Request) (int, string) {
	c.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (c *panelClient) get(path string) (int, string) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	return c.do(req)
}

func (c *panelClient) postForm(path string, form url.Values) (int, string) {
	c.t.Helper()
	if form.Get("csrf") == "" && c.csrf != "" {
		form.Set("csrf", c.csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

func (c *panelClient) postJSON(path, body string) (int, string) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", c.csrf)
	return c.do(req)
}

// pause puts the operator logged in with c on a break, so that calls go
// to someone else.
func (c *panelClient) pause() {
	c.t.Helper()
	status, body := c.postForm("/console/state", url.Values{"state": {"paused"}, "reason": {"break"}})
	if status != http.StatusOK || !strings.Contains(body, `data-state="paused"`) {
		c.t.Fatalf("pause: %d\n%s", status, body)
	}
}

// sse reads a Server-Sent Events stream in the background; wait returns
// the first data that satisfies ok.
type sse struct {
	data chan string
	stop func()
}

func (c *panelClient) stream(path string) *sse {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	req.Header.Set("Accept", "text/event-stream")
	client := &http.Client{Jar: c.http.Jar} // no timeout: a stream
	resp, err := client.Do(req)
	if err != nil {
		cancel()
		c.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		cancel()
		c.t.Fatalf("GET %s: %s", path, resp.Status)
	}
	s := &sse{data: make(chan string, 1024), stop: func() { cancel(); resp.Body.Close() }}
	c.t.Cleanup(s.stop)
	go func() {
		defer close(s.data)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var data []string
		for sc.Scan() {
			line := sc.Text()
			if d, ok := strings.CutPrefix(line, "data:"); ok {
				data = append(data, strings.TrimPrefix(d, " "))
			} else if line == "" && data != nil {
				s.data <- strings.Join(data, "\n")
				data = nil
			}
		}
	}()
	return s
}

func (s *sse) wait(t *testing.T, what string, ok func(string) bool) string {
	t.Helper()
	return s.waitWithin(t, 60*time.Second, what, ok)
}

// waitWithin is wait with a time limit of its own.
func (s *sse) waitWithin(t *testing.T, limit time.Duration, what string, ok func(string) bool) string {
	t.Helper()
	timeout := time.After(limit)
	var last string
	for {
		select {
		case d, open := <-s.data:
			if !open {
				t.Fatalf("%s: the stream ended; last data:\n%s", what, last)
			}
			last = d
			if ok(d) {
				return d
			}
		case <-timeout:
			t.Fatalf("%s: not seen in %v; last data:\n%s", what, limit, last)
		}
	}
}

// phoneEvent is an event of the test phone's call stream.
type phoneEvent struct {
	Kind     string `json:"event"`
	Node     string `json:"node"`
	Group    string `json:"group"`
	Operator string `json:"operator"`
	Ticket   string `json:"ticket"`
	Outcome  string `json:"outcome"`
}

func (s *sse) waitEvent(t *testing.T, kind string) phoneEvent {
	t.Helper()
	var e phoneEvent
	s.wait(t, "event "+kind, func(d string) bool {
		e = phoneEvent{}
		return json.Unmarshal([]byte(d), &e) == nil && e.Kind == kind
	})
	return e
}
