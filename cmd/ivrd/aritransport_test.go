package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/bustest"
	"github.com/helpdesk-ivr/ivr/internal/configfile"
	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
)

// The ari section of the operations file and its variables: direct by
// default, nats with a URL; mistakes are reported at file:line, or by
// the variable's name.
func TestARITransportConfig(t *testing.T) {
	for _, tc := range []struct {
		name, file      string
		env             map[string]string
		transport, nats string
		err             string
	}{
		{name: "no file, no variable", transport: "direct"},
		{name: "nats from the file", file: "ari:\n  transport: nats\n  nats_url: nats://nats:4222\n", transport: "nats", nats: "nats://nats:4222"},
		{name: "nats from the variables", env: map[string]string{"ARI_TRANSPORT": "nats", "ARI_NATS_URL": "nats://a:4222,nats://b:4222"},
			transport: "nats", nats: "nats://a:4222,nats://b:4222"},
		{name: "the file before the variables", file: "ari:\n  transport: direct\n", env: map[string]string{"ARI_TRANSPORT": "nats"}, transport: "direct"},
		{name: "unknown transport", file: "jobs: {}\nari:\n  transport: kafka\n", err: "ops.yaml:3: ari.transport \"kafka\""},
		{name: "nats without url", file: "ari:\n  transport: nats\n", err: "ops.yaml:2: ari.transport nats needs ari.nats_url"},
		{name: "bad url", file: "ari:\n  transport: nats\n  nats_url: http://nats:4222\n", err: "ops.yaml:3: ari.nats_url \"http://nats:4222\""},
		{name: "bad url in the variable", env: map[string]string{"ARI_TRANSPORT": "nats", "ARI_NATS_URL": "nats:4222"}, err: "ARI_NATS_URL: ari.nats_url"},
		{name: "unknown setting", file: "ari:\n  transport: nats\n  nats_uri: nats://x:4222\n", err: "ops.yaml:3: ari.nats_uri: not a setting"},
		{name: "bad transport variable", env: map[string]string{"ARI_TRANSPORT": "NATS"}, err: "ARI_TRANSPORT: ari.transport \"NATS\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("ARI_TRANSPORT", "")
			t.Setenv("ARI_NATS_URL", "")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			path := ""
			if tc.file != "" {
				path = filepath.Join(t.TempDir(), "ops.yaml")
				if err := os.WriteFile(path, []byte(tc.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			c, err := loadOps(path)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
				if tc.file != "" && !strings.HasPrefix(err.Error(), path+":") {
					t.Errorf("error %q does not start with the file:line", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.ARI.Transport != tc.transport || c.ARI.NATSURL != tc.nats {
				t.Errorf("transport %q url %q, want %q %q", c.ARI.Transport, c.ARI.NATSURL, tc.transport, tc.nats)
			}
		})
	}
}

// ivrd with ari.transport nats, end to end: a simulated Asterisk behind a
// real ari-proxy server on an embedded NATS; its call leaves a finished
// record with a ticket in PostgreSQL; /metrics counts the node and
// /readyz says when NATS is gone.
func TestIvrdOverNATS(t *testing.T) {
	bus := bustest.StartNATS(t)
	const node = "02:fc:00:00:00:0a"
	n := bustest.StartNode(t, bus, arisim.Options{AsteriskID: node, SystemName: "asta"})
	dir := t.TempDir()
	ops := filepath.Join(dir, "ops.yaml")
	if err := os.WriteFile(ops, []byte("ari:\n  transport: nats\n  nats_url: "+bus.URL()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(dir, "pin-secret")
	if err := os.WriteFile(secret, []byte(configfile.DemoPINSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("IVR_PIN_SECRET_FILE", secret)
	t.Setenv("ARI_URL", "")
	t.Setenv("ARI_TRANSPORT", "")
	t.Setenv("ARI_NATS_URL", "")
	dbURL := pgtest.DatabaseURL(t)
	base := startDemoServerOn(t, flags{config: "../../configs/helpdesk.yaml", ops: ops, dataDir: dir,
		drainTimeout: 5 * time.Second, noJournal: true}, dbURL)

	metrics := get(t, base+"/metrics")
	for _, want := range []string{"ivr_ari_nodes_up 1", `ivr_ari_node_up{node="` + node + `"} 1`, "ivr_ari_connected 1"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	c, err := n.Sim.PlaceCall(context.Background(), "0612345678", "800749049", arisim.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	row := func() (recNode string, ended, ticket bool) {
		_ = pool.QueryRow(context.Background(),
			`SELECT asterisk_node, ended_at IS NOT NULL, ticket_id IS NOT NULL FROM calls WHERE channel_id = $1`, c.ID()).Scan(&recNode, &ended, &ticket)
		return
	}
	waitFor(t, "the call's record", func() bool { nd, _, _ := row(); return nd != "" })
	// The caller hears the main menu, then hangs up.
	waitFor(t, "a prompt", func() bool { return n.Sim.Stats().ActivePlaybacks > 0 })
	if err := c.Hangup(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the record finished with its ticket", func() bool { _, ended, ticket := row(); return ended && ticket })
	if nd, _, _ := row(); nd != node {
		t.Errorf("call recorded on node %q, want %q", nd, node)
	}

	bus.Stop()
	waitFor(t, "/readyz to say NATS is down", func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(string(body), "NATS down")
	})
	bus.Start()
	waitReady(t, base, func() error { return nil })
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
