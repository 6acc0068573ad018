package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/tickets"
)

func TestMain(m *testing.M) { pgtest.Main(m, tickets.Migrate) }

// The server in demo mode, on a throwaway database: a call placed through
// its demo API leaves a ticket in PostgreSQL and shows in /metrics; SIGTERM
// (the context) stops it cleanly. The demo API is a POST of the panel:
// a cross-site request, one without a session or one without the form
// token opens nothing (a cross-site POST with no cookie answered 200 and
// opened a ticket).
func TestDemoServer(t *testing.T) {
	base := startDemoServer(t, "") // the real clock; stopped cleanly at the end
	dbURL := os.Getenv("DATABASE_URL")
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	const call = "/demo/call?caller=3331234567&keys=h"
	for _, tc := range []struct {
		name    string
		headers map[string]string
		want    int
	}{
		{"cross-site, no cookie", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, http.StatusForbidden},
		{"no cookie", nil, http.StatusUnauthorized},
	} {
		req, _ := http.NewRequest(http.MethodPost, base+call, nil)
		for k, v := range tc.headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
	c := logIn(t, base, "supervisore")
	token := c.csrf
	c.csrf = ""
	if status, _ := c.postForm(call, url.Values{}); status != http.StatusForbidden {
		t.Errorf("no form token: status %d, want 403", status)
	}
	var count int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM tickets`).Scan(&count); err != nil || count != 0 {
		t.Fatalf("refused demo calls left %d tickets (%v)", count, err)
	}

	// Whatever the day, keys "h" hang up at the first prompt: a call with
	// a ticket, whether the desk is open or closed now.
	c.csrf = token
	status, body := c.postForm(call, url.Values{})
	if status != http.StatusOK {
		t.Fatalf("demo call: status %d\n%s", status, body)
	}
	var last map[string]any
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		last = nil
		if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
			t.Fatalf("not JSON: %q", sc.Text())
		}
	}
	if last["event"] != "outcome" || last["ticket"] == "" {
		t.Fatalf("last line %v", last)
	}
	store := tickets.New(pool, tickets.Options{})
	n, err := tickets.ParseNumber(last["ticket"].(string))
	if err != nil {
		t.Fatal(err)
	}
	tk, err := store.FindTicketByNumber(context.Background(), n, tickets.Viewer{Kind: tickets.ViewerSystem})
	if err != nil || tk.Caller != "+393331234567" || tk.Status != tickets.StatusClosed {
		t.Fatalf("ticket %+v, %v", tk, err)
	}
	metrics, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	scraped, _ := io.ReadAll(metrics.Body)
	metrics.Body.Close()
	for _, want := range []string{`ivr_calls_total{outcome="` + last["outcome"].(string) + `"} 1`, "ivr_ari_connected 1", "go_goroutines"} {
		if !strings.Contains(string(scraped), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// The call is journaled (on by default), with the configuration it
	// ran under kept beside it, for `ivrctl replay`.
	src, err := os.ReadFile("../../configs/helpdesk.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(src)
	var outcome, version string
	var kept int
	for deadline := time.Now().Add(30 * time.Second); ; {
		err := pool.QueryRow(context.Background(), `SELECT outcome, config_version,
			(SELECT count(*) FROM journal_configs WHERE sha256 = config_version) FROM journal_calls WHERE caller = '+393331234567'`).
			Scan(&outcome, &version, &kept)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond) // the journal writes once a second
	}
	if outcome != last["outcome"] || version != hex.EncodeToString(sum[:]) || kept != 1 {
		t.Errorf("journal: outcome %q version %q (configuration kept: %d), want %v %x", outcome, version, kept, last["outcome"], sum)
	}
	// The versions pages' replay runs it again under the same file: it
	// ends the same.
	rome, _ := time.LoadLocation("Europe/Rome")
	res, err := panelReplay(pool, rome)(context.Background(), src, time.Now().Add(-24*time.Hour))
	if err != nil || res.Calls != 1 || res.Same != 1 || res.Different != 0 || res.Failed != 0 {
		t.Errorf("replay from the panel: %+v, %v", res, err)
	}
}

// A bad file on reload is refused and the configuration in force stays.
func TestReloadKeepsTheOldConfiguration(t *testing.T) {
	good, err := os.ReadFile("../../configs/helpdesk.yaml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "helpdesk.yaml")
	if err := os.WriteFile(path, good, 0o644); err != nil {
		t.Fatal(err)
	}
	h := &configHolder{path: path, log: slog.New(slog.DiscardHandler), hasSecret: true}
	if err := h.reload(); err != nil {
		t.Fatal(err)
	}
	before := h.get()
	bad := strings.Replace(string(good), "group: lotto3}", "group: lotto33}", 1)
	if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	err = h.reload()
	if err == nil || !strings.Contains(err.Error(), path+":") || !strings.Contains(err.Error(), "lotto33") {
		t.Fatalf("reload of a bad file: %v", err)
	}
	if h.get() != before {
		t.Error("a bad file replaced the configuration in force")
	}
	// PINs need the secret ivrd started with.
	h.hasSecret = false
	if err := os.WriteFile(path, good, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := h.reload(); err == nil || h.get() != before {
		t.Errorf("a configuration with PINs was loaded without a PIN secret: %v", err)
	}
}
