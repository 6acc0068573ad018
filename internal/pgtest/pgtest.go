// Package pgtest gives each test its own freshly migrated PostgreSQL
// database, so tests can run in parallel against a real server and never see
// each other's rows.
//
// The server is TEST_DATABASE_URL when set (scripts/test.sh starts one for
// the whole run); otherwise the first test that needs a database starts a
// private cluster with pgcluster, and Main stops it when the package's tests
// end. There is no skipping: without a server, tests fail with the reason.
//
// A package migrates once, into a template database. Each test then gets
// either a copy of it (CREATE DATABASE ... TEMPLATE) or a fresh schema in it,
// migrated and selected through search_path, whichever measured faster on
// this server when the package's tests started: on the development VM a
// copy costs about 30 ms and a schema 60 ms when the server's files are on
// tmpfs (pgcluster puts test clusters there), while on its disk, where
// creating files is slow, a copy costs 500 ms and a schema 200 ms.
// PGTEST_ISOLATION=database|schema forces one. Either way the test's
// database or schema is dropped when the test ends.
//
//	func TestMain(m *testing.M) { pgtest.Main(m, tickets.Migrate) }
//
//	func TestX(t *testing.T) {
//		pool := pgtest.Pool(t)
//		...
//	}
package pgtest

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/pgcluster"
)

// MigrateFunc applies a package's schema to the database of pool (to the
// first schema of its search_path).
type MigrateFunc func(ctx context.Context, pool *pgxpool.Pool) error

// EnvURL names the variable that points the tests at an existing server.
// Its role must be allowed to create databases.
const EnvURL = "TEST_DATABASE_URL"

// Isolation is how tests are kept apart.
type Isolation string

const (
	IsolateDatabase Isolation = "database" // a copy of the template database per test
	IsolateSchema   Isolation = "schema"   // a migrated schema per test in the template database
)

var (
	mainCalled bool
	migrations []MigrateFunc

	setupOnce  sync.Once
	setupErr   error
	cluster    *pgcluster.Cluster
	clusterDir string
	serverURL  string        // the server's maintenance database
	admin      *pgxpool.Pool // on serverURL, for CREATE and DROP DATABASE
	template   string        // the migrated template database
	tplURL     string
	tplPool    *pgxpool.Pool // on the template, for schemas (IsolateSchema only)
	isolation  Isolation
	probe      struct{ database, schema time.Duration }
	counter    atomic.Int64
)

// Main runs the package's tests (call it from TestMain) with the given
// migrations applied to every test database, then drops the template and
// stops the cluster if it started one.
func Main(m interface{ Run() int }, migrate ...MigrateFunc) {
	mainCalled = true
	migrations = migrate
	code := m.Run()
	if err := teardown(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// ServerURL returns the URL of the test server's maintenance database,
// starting the server if needed.
func ServerURL(t testing.TB) string {
	t.Helper()
	setup(t)
	return serverURL
}

// Mode reports the isolation in use and the setup's probe of both, for
// tests that measure the harness.
func Mode(t testing.TB) (mode Isolation, database, schema time.Duration) {
	t.Helper()
	setup(t)
	return isolation, probe.database, probe.schema
}

// DatabaseURL returns the URL of a migrated database of this test's own
// (a fresh database, or a fresh schema that the URL selects with
// search_path; see the package comment). It is dropped, connections and
// all, when the test ends.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	name := fmt.Sprintf("pgtest_%d_%d", os.Getpid(), counter.Add(1))
	var (
		u       string
		cleanup func(context.Context) error
		err     error
	)
	if isolation == IsolateSchema {
		u, cleanup, err = newSchema(ctx, name)
	} else {
		u, cleanup, err = newDatabase(ctx, name)
	}
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := cleanup(ctx); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return u
}

// Pool returns a pool on a fresh migrated database for this test, closed
// and dropped when the test ends.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return PoolConfig(t, nil)
}

// PoolConfig is Pool with a chance to adjust the pool's configuration
// (size, hooks) first.
func PoolConfig(t testing.TB, configure func(*pgxpool.Config)) *pgxpool.Pool {
	t.Helper()
	u := DatabaseURL(t)
	cfg, err := pgxpool.ParseConfig(u)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if configure != nil {
		configure(cfg)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	t.Cleanup(pool.Close) // runs before the drop registered by DatabaseURL
	return pool
}

func newDatabase(ctx context.Context, name string) (string, func(context.Context) error, error) {
	id := pgx.Identifier{name}.Sanitize()
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+id+" TEMPLATE "+pgx.Identifier{template}.Sanitize()); err != nil {
		return "", nil, fmt.Errorf("create test database: %w", err)
	}
	drop := func(ctx context.Context) error {
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+id+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop test database: %w", err)
		}
		return nil
	}
	u, err := withDatabase(serverURL, name)
	if err != nil {
		return "", nil, err
	}
	return u, drop, nil
}

func newSchema(ctx context.Context, name string) (string, func(context.Context) error, error) {
	id := pgx.Identifier{name}.Sanitize()
	if _, err := tplPool.Exec(ctx, "CREATE SCHEMA "+id); err != nil {
		return "", nil, fmt.Errorf("create test schema: %w", err)
	}
	drop := func(ctx context.Context) error {
		// Connections the test left open would hold locks on the schema.
		_, err := tplPool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = $1`, name)
		if err == nil {
			_, err = tplPool.Exec(ctx, "DROP SCHEMA "+id+" CASCADE")
		}
		if err != nil {
			return fmt.Errorf("drop test schema: %w", err)
		}
		return nil
	}
	u := withParams(tplURL, map[string]string{"search_path": name, "application_name": name})
	pool, err := pgxpool.New(ctx, u)
	if err != nil {
		return "", nil, fmt.Errorf("connect to test schema: %w", err)
	}
	defer pool.Close()
	for _, m := range migrations {
		if err := m(ctx, pool); err != nil {
			_ = drop(ctx)
			return "", nil, fmt.Errorf("migrate test schema: %w", err)
		}
	}
	return u, drop, nil
}

func setup(t testing.TB) {
	t.Helper()
	if !mainCalled {
		t.Fatal("pgtest: the package's TestMain must call pgtest.Main(m, migrations...)")
	}
	setupOnce.Do(func() { setupErr = start() })
	if setupErr != nil {
		t.Fatalf("pgtest: %v", setupErr)
	}
}

func start() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	serverURL = os.Getenv(EnvURL)
	if serverURL == "" {
		base := cmp.Or(os.Getenv("PGTEST_DIR"), pgcluster.ScratchBase())
		reclaimStale(ctx, base)
		dir, err := os.MkdirTemp(base, fmt.Sprintf("pgtest-%d-", os.Getpid()))
		if err != nil {
			return err
		}
		clusterDir = dir
		cluster, err = pgcluster.Start(ctx, pgcluster.Options{
			Dir:        dir,
			TestTuning: true,
			// Benchmarks seed a million tickets; keep them in memory.
			Settings: map[string]string{"shared_buffers": "512MB", "max_connections": "300"},
		})
		if err != nil {
			os.RemoveAll(dir)
			return fmt.Errorf("no %s set and could not start a PostgreSQL cluster: %w", EnvURL, err)
		}
		// Its Unix socket: cheaper than loopback TCP for both ends.
		serverURL = cluster.SocketURL("postgres")
	}
	var err error
	if admin, err = pgxpool.New(ctx, serverURL); err != nil {
		return fmt.Errorf("connect to test server: %w", err)
	}
	if err := admin.Ping(ctx); err != nil {
		return fmt.Errorf("connect to test server: %w", err)
	}

	template = fmt.Sprintf("pgtest_tpl_%d_%d", os.Getpid(), time.Now().UnixNano())
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{template}.Sanitize()); err != nil {
		return fmt.Errorf("create template database: %w", err)
	}
	if tplURL, err = withDatabase(serverURL, template); err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, tplURL)
	if err != nil {
		return fmt.Errorf("connect to template database: %w", err)
	}
	for _, m := range migrations {
		if err := m(ctx, pool); err != nil {
			pool.Close()
			return fmt.Errorf("migrate template database: %w", err)
		}
	}
	pool.Close()
	return chooseIsolation(ctx)
}

// chooseIsolation times one test database made each way and keeps the
// faster, unless PGTEST_ISOLATION says.
func chooseIsolation(ctx context.Context) error {
	forced := Isolation(os.Getenv("PGTEST_ISOLATION"))
	switch forced {
	case "", IsolateDatabase, IsolateSchema:
	default:
		return fmt.Errorf("PGTEST_ISOLATION=%s: want %s or %s", forced, IsolateDatabase, IsolateSchema)
	}
	// The best of three: the first of each is slower (cold caches).
	timeIt := func(isolation Isolation) (time.Duration, error) {
		best := time.Duration(1<<63 - 1)
		for i := range 3 {
			start := time.Now()
			name := fmt.Sprintf("pgtest_%d_probe_%s_%d", os.Getpid(), isolation, i)
			var cleanup func(context.Context) error
			var err error
			if isolation == IsolateSchema {
				_, cleanup, err = newSchema(ctx, name)
			} else {
				_, cleanup, err = newDatabase(ctx, name)
			}
			if err == nil {
				err = cleanup(ctx)
			}
			if err != nil {
				return 0, err
			}
			best = min(best, time.Since(start))
		}
		return best, nil
	}
	var err error
	if forced != IsolateSchema {
		if probe.database, err = timeIt(IsolateDatabase); err != nil {
			return err
		}
	}
	// The template must have no connections while it is being copied, so
	// the schema pool opens only now and only if schemas may be used.
	if forced != IsolateDatabase {
		if tplPool, err = pgxpool.New(ctx, tplURL); err != nil {
			return fmt.Errorf("connect to template database: %w", err)
		}
		if probe.schema, err = timeIt(IsolateSchema); err != nil {
			return err
		}
	}
	switch {
	case forced != "":
		isolation = forced
	case probe.schema < probe.database:
		isolation = IsolateSchema
	default:
		isolation = IsolateDatabase
	}
	if isolation == IsolateDatabase && tplPool != nil {
		tplPool.Close()
		tplPool = nil
	}
	return nil
}

func teardown() error {
	var errs []string
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if tplPool != nil {
		tplPool.Close()
	}
	if admin != nil {
		if template != "" {
			if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{template}.Sanitize()+" WITH (FORCE)"); err != nil {
				errs = append(errs, err.Error())
			}
		}
		admin.Close()
	}
	if cluster != nil {
		if err := cluster.Stop(); err != nil {
			errs = append(errs, err.Error())
		}
		os.RemoveAll(clusterDir)
	}
	if len(errs) > 0 {
		return fmt.Errorf("pgtest: teardown: %s", strings.Join(errs, "; "))
	}
	return nil
}

// withDatabase returns the connection string s pointing at database name;
// s is a URL or a keyword/value string.
func withDatabase(s, name string) (string, error) {
	if isURL(s) {
		u, err := url.Parse(s)
		if err != nil {
			return "", fmt.Errorf("parse %s: %w", EnvURL, err)
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	return s + " dbname=" + name, nil // the last dbname wins
}

// withParams adds run-time parameters to the connection string s (pgx
// passes unknown URL parameters and keywords to the server).
func withParams(s string, params map[string]string) string {
	if isURL(s) {
		u, _ := url.Parse(s) // parsed by withDatabase already
		q := u.Query()
		for k, v := range params {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
		return u.String()
	}
	for k, v := range params {
		s += " " + k + "=" + v
	}
	return s
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// reclaimStale stops the clusters of earlier test processes that died
// without running Main's teardown (a panic, a kill), so they do not pile up.
func reclaimStale(ctx context.Context, base string) {
	dirs, _ := filepath.Glob(filepath.Join(base, "pgtest-*-*"))
	for _, dir := range dirs {
		pid, err := strconv.Atoi(strings.Split(filepath.Base(dir), "-")[1])
		if err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		_ = pgcluster.Reclaim(ctx, dir)
	}
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}
