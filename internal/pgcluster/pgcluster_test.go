package pgcluster_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdesk-ivr/ivr/internal/pgcluster"
)

// TestStartStop starts a temporary cluster, talks to it over TCP and over its
// socket, checks the test tuning took effect, and checks Stop removes it.
func TestStartStop(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	c, err := pgcluster.Start(ctx, pgcluster.Options{TestTuning: true, Settings: map[string]string{"work_mem": "'8MB'"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })

	for _, u := range []string{c.URL(), c.SocketURL("postgres")} {
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Fatalf("connect %s: %v", u, err)
		}
		for setting, want := range map[string]string{"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "work_mem": "8MB", "server_encoding": "UTF8"} {
			var got string
			if err := conn.QueryRow(ctx, "select current_setting($1)", setting).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("%s = %q, want %q", setting, got, want)
			}
		}
		conn.Close(ctx)
	}

	dir := c.Dir()
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("cluster directory %s still there after Stop: %v", dir, err)
	}
	if err := c.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

// TestKeepRestart keeps a cluster in a given directory, restarts it, and
// finds the data written by the first run (what the demo mode relies on).
func TestKeepRestart(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := filepath.Join(os.TempDir(), "pgcluster-keep-"+time.Now().Format("150405.000000000"))
	t.Cleanup(func() { os.RemoveAll(dir) })

	c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Keep: true})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, c.URL())
	if err != nil {
		c.Stop()
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "create table kept(v text); insert into kept values ('still here')"); err != nil {
		c.Stop()
		t.Fatal(err)
	}
	conn.Close(ctx)
	firstPort := c.Port()
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "PG_VERSION")); err != nil {
		t.Fatalf("kept cluster lost its data directory: %v", err)
	}

	c, err = pgcluster.Start(ctx, pgcluster.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	conn, err = pgx.Connect(ctx, c.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, "select v from kept").Scan(&v); err != nil {
		t.Fatalf("restart (first port %d, now %d): %v", firstPort, c.Port(), err)
	}
	if v != "still here" {
		t.Fatalf("got %q", v)
	}
	// Not kept this time, and the caller's directory existed before Start:
	// Stop removes the cluster's parts, not the directory itself.
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("data directory survived Stop without Keep: %v", err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("caller's directory removed: %v", err)
	}
}

func TestMissingBinDir(t *testing.T) {
	t.Parallel()
	_, err := pgcluster.Start(context.Background(), pgcluster.Options{BinDir: t.TempDir()})
	if err == nil {
		t.Fatal("Start with a bin directory without pg_ctl succeeded")
	}
}
