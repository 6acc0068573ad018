package main

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/helpdesk-ivr/ivr/internal/pgtest"
)

// With PostgreSQL made highly available (a primary and a streaming
// replica, switched by Patroni: README "PostgreSQL high availability"),
// DATABASE_URL lists every server with target_session_attrs=read-write,
// and ivrd uses whichever is the primary. Here the first server listed is
// down (a primary that failed): ivrd starts, migrates and serves its
// panel through the second.
func TestDatabaseURLWithSeveralServers(t *testing.T) {
	url := pgtest.DatabaseURL(t)
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	// A port where nothing listens: the failed server.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	params := []string{
		fmt.Sprintf("host=127.0.0.1,%s", cfg.Host), fmt.Sprintf("port=%d,%d", dead, cfg.Port),
		"user=" + cfg.User, "dbname=" + cfg.Database, "target_session_attrs=read-write", "connect_timeout=5",
	}
	if cfg.Password != "" {
		params = append(params, "password="+cfg.Password)
	}
	for k, v := range cfg.RuntimeParams {
		params = append(params, k+"="+v)
	}
	dsn := strings.Join(params, " ")
	base := startDemoServerOn(t, flags{config: "../../configs/helpdesk.yaml", demo: true, demoClock: monday10,
		dataDir: t.TempDir(), drainTimeout: 5 * time.Second}, dsn)
	c := logIn(t, base, "admin")
	if status, _ := c.get("/tickets"); status != http.StatusOK {
		t.Errorf("GET /tickets through the second server: %d", status)
	}
}
