// Package pgcluster starts and stops a private PostgreSQL cluster from the
// Debian server binaries (/usr/lib/postgresql/<version>/bin). The tests use
// it to get a throw-away database server; the demo mode uses it to keep a
// local cluster under its data directory.
//
// PostgreSQL refuses to run as root, so when the process runs as root the
// cluster belongs to the "postgres" system user and initdb and pg_ctl run
// through runuser.
package pgcluster

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Options configure a cluster. The zero value starts a temporary cluster on a
// free loopback port that Stop removes.
type Options struct {
	// Dir holds the cluster: Dir/data (PGDATA), Dir/run (the Unix socket)
	// and Dir/postgres.log. Empty means a new temporary directory (under
	// ScratchBase with TestTuning). A Dir that already holds a cluster is
	// started again as it is.
	Dir string
	// Port is the TCP port on 127.0.0.1; 0 picks a free one.
	Port int
	// Keep leaves the directory in place on Stop (the demo mode keeps its
	// data); otherwise Stop removes what Start created.
	Keep bool
	// TestTuning trades durability for speed: fsync, synchronous_commit and
	// full_page_writes off. Never for data you want to keep.
	TestTuning bool
	// BinDir is where initdb, pg_ctl and postgres live. Empty means the
	// newest /usr/lib/postgresql/<version>/bin.
	BinDir string
	// NoInstall forbids installing the postgresql package when the server
	// binaries are missing (by default a root process installs it with apt-get).
	NoInstall bool
	// Settings are extra postgresql.conf parameters (name → value).
	Settings map[string]string
	// StartTimeout bounds how long Start waits for the server; default 60s.
	StartTimeout time.Duration
	// Logger receives progress; default discards.
	Logger *slog.Logger
}

// Cluster is a running PostgreSQL server started by Start.
type Cluster struct {
	opts       Options
	dir        string
	createdDir bool // Start created dir, so Stop may remove all of it
	dataDir    string
	socketDir  string
	logFile    string
	binDir     string
	port       int
	runAs      string // system user the server runs as; "" means this process's user
	log        *slog.Logger
	stopped    bool
}

// superuser is the database superuser initdb creates; trust authentication,
// so the cluster must only ever listen on loopback and its own socket.
const superuser = "postgres"

// Start initialises the cluster if needed, starts it and waits until it
// accepts connections.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	c := &Cluster{
		opts: opts,
		log:  cmp.Or(opts.Logger, slog.New(slog.DiscardHandler)),
	}
	opts.StartTimeout = cmp.Or(opts.StartTimeout, 60*time.Second)
	c.opts.StartTimeout = opts.StartTimeout

	binDir, err := findBinDir(ctx, opts.BinDir, !opts.NoInstall, c.log)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	c.binDir = binDir

	if os.Geteuid() == 0 {
		c.runAs = "postgres"
		if err := ensureSystemUser(ctx, c.runAs); err != nil {
			return nil, fmt.Errorf("pgcluster: %w", err)
		}
	}

	if err := c.prepareDir(); err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			c.removeDirs()
		}
	}()

	if err := c.initdb(ctx); err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	if err := c.start(ctx); err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	ok = true
	c.log.Info("pgcluster_started", "dir", c.dir, "port", c.port, "bin", c.binDir)
	return c, nil
}

// URL returns a connection URL for the superuser's "postgres" database over
// TCP on loopback.
func (c *Cluster) URL() string { return c.DatabaseURL("postgres") }

// DatabaseURL returns a connection URL for database name.
func (c *Cluster) DatabaseURL(name string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(superuser),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + name,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// SocketURL returns a connection URL over the cluster's Unix socket, which
// skips TCP for local clients.
func (c *Cluster) SocketURL(name string) string {
	q := url.Values{"host": {c.socketDir}, "port": {strconv.Itoa(c.port)}, "sslmode": {"disable"}}
	return "postgres://" + superuser + "@/" + url.PathEscape(name) + "?" + q.Encode()
}

// Port is the TCP port the server listens on.
func (c *Cluster) Port() int { return c.port }

// Dir is the directory holding the cluster.
func (c *Cluster) Dir() string { return c.dir }

// SocketDir is the directory of the server's Unix socket.
func (c *Cluster) SocketDir() string { return c.socketDir }

// Stop shuts the server down (fast, then immediate if that fails) and, unless
// Options.Keep, removes what Start created. Calling it again is a no-op.
func (c *Cluster) Stop() error {
	if c == nil || c.stopped {
		return nil
	}
	c.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := c.pgctl(ctx, "stop", "-D", c.dataDir, "-m", "fast", "-w", "-t", "30")
	if err != nil {
		c.log.Warn("pgcluster_fast_stop_failed", "err", err)
		if err2 := c.pgctl(ctx, "stop", "-D", c.dataDir, "-m", "immediate", "-w", "-t", "30"); err2 == nil {
			err = nil
		} else {
			err = errors.Join(err, err2)
		}
	}
	c.removeDirs()
	if err != nil {
		return fmt.Errorf("pgcluster: stop: %w", err)
	}
	c.log.Info("pgcluster_stopped", "dir", c.dir)
	return nil
}

// ScratchBase is where to put a throw-away cluster: /dev/shm when it is a
// writable directory, else the temporary directory. On tmpfs creating
// files is cheap, and creating a database creates hundreds of them (about
// 45 ms against 600 ms per CREATE DATABASE on the development VM's disk).
// Start uses it for temporary clusters with TestTuning.
func ScratchBase() string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() && syscall.Access("/dev/shm", 0o3) /* W_OK|X_OK */ == nil {
		return "/dev/shm"
	}
	return os.TempDir()
}

// Reclaim stops a cluster that a process which has since died left running
// in dir (Options.Dir of its Start) and removes dir. Test harnesses call it
// for the leftovers of crashed test processes.
func Reclaim(ctx context.Context, dir string) error {
	c := &Cluster{dir: dir, dataDir: filepath.Join(dir, "data"), log: slog.New(slog.DiscardHandler)}
	if _, err := os.Stat(filepath.Join(c.dataDir, "postmaster.pid")); err == nil {
		binDir, err := findBinDir(ctx, "", false, c.log)
		if err != nil {
			return fmt.Errorf("pgcluster: reclaim %s: %w", dir, err)
		}
		c.binDir = binDir
		if os.Geteuid() == 0 {
			c.runAs = "postgres"
		}
		// pg_ctl fails when no server runs there any more; that is fine.
		_ = c.pgctl(ctx, "stop", "-D", c.dataDir, "-m", "immediate", "-w", "-t", "30")
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("pgcluster: reclaim %s: %w", dir, err)
	}
	return nil
}

func (c *Cluster) removeDirs() {
	if c.opts.Keep || c.dir == "" {
		return
	}
	if c.createdDir {
		_ = os.RemoveAll(c.dir)
		return
	}
	// A Dir the caller owned before Start: remove only our parts of it.
	for _, p := range []string{c.dataDir, c.socketDir, c.logFile} {
		_ = os.RemoveAll(p)
	}
}

func (c *Cluster) prepareDir() error {
	dir := c.opts.Dir
	if dir == "" {
		base := ""
		if c.opts.TestTuning {
			base = ScratchBase()
		}
		d, err := os.MkdirTemp(base, "pgcluster-")
		if err != nil {
			return fmt.Errorf("create temporary directory: %w", err)
		}
		dir, c.createdDir = d, true
	} else {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return fmt.Errorf("cluster directory: %w", err)
		}
		dir = abs
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return fmt.Errorf("create cluster directory: %w", err)
			}
			c.createdDir = true
		} else if err != nil {
			return fmt.Errorf("cluster directory: %w", err)
		}
	}
	c.dir = dir
	c.dataDir = filepath.Join(dir, "data")
	c.socketDir = filepath.Join(dir, "run")
	c.logFile = filepath.Join(dir, "postgres.log")
	// The Unix socket path is limited to about 107 bytes.
	if n := len(filepath.Join(c.socketDir, ".s.PGSQL.65535")); n > 100 {
		return fmt.Errorf("cluster directory %s is too long for a Unix socket path (%d bytes)", dir, n)
	}
	if err := os.MkdirAll(c.socketDir, 0o700); err != nil {
		return fmt.Errorf("create socket directory: %w", err)
	}
	if c.runAs != "" {
		if err := chownTree(dir, c.runAs); err != nil {
			return err
		}
		// The server user must reach the directory through its parents.
		if err := c.run(context.Background(), "test", "-w", dir, "-a", "-x", dir); err != nil {
			return fmt.Errorf("user %s cannot write %s (are its parent directories searchable?): %w", c.runAs, dir, err)
		}
	}
	return nil
}

func (c *Cluster) initdb(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(c.dataDir, "PG_VERSION")); err == nil {
		c.log.Info("pgcluster_reuse", "data", c.dataDir)
		return nil
	}
	args := []string{
		"-D", c.dataDir, "-U", superuser, "-A", "trust", "-E", "UTF8",
		"--locale=" + pickLocale(ctx), "--no-instructions",
	}
	if c.opts.TestTuning {
		args = append(args, "--no-sync")
	}
	if err := c.run(ctx, filepath.Join(c.binDir, "initdb"), args...); err != nil {
		return fmt.Errorf("initdb: %w", err)
	}
	// postgresql.conf includes a file that Start rewrites each time, so that
	// a kept cluster can change port or tuning between runs.
	f, err := os.OpenFile(filepath.Join(c.dataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("initdb: %w", err)
	}
	_, err = io.WriteString(f, "\ninclude_if_exists = 'pgcluster.conf'\n")
	return errors.Join(err, f.Close())
}

func (c *Cluster) writeConf() error {
	settings := map[string]string{
		"listen_addresses":        "'127.0.0.1'",
		"port":                    strconv.Itoa(c.port),
		"unix_socket_directories": quoteConf(c.socketDir),
		"max_connections":         "200",
		"logging_collector":       "off",
	}
	if c.opts.TestTuning {
		settings["fsync"] = "off"
		settings["synchronous_commit"] = "off"
		settings["full_page_writes"] = "off"
	}
	for k, v := range c.opts.Settings {
		settings[k] = v
	}
	var b strings.Builder
	b.WriteString("# Written by pgcluster at every start; edit Options instead.\n")
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		fmt.Fprintf(&b, "%s = %s\n", k, settings[k])
	}
	p := filepath.Join(c.dataDir, "pgcluster.conf")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	if c.runAs != "" {
		return chownTree(p, c.runAs)
	}
	return nil
}

func (c *Cluster) start(ctx context.Context) error {
	var errs []error
	for attempt := 0; attempt < 5; attempt++ {
		port := c.opts.Port
		if port == 0 {
			p, err := freePort()
			if err != nil {
				return err
			}
			port = p
		}
		c.port = port
		if err := c.writeConf(); err != nil {
			return err
		}
		timeout := strconv.Itoa(int(c.opts.StartTimeout / time.Second))
		err := c.pgctl(ctx, "start", "-D", c.dataDir, "-l", c.logFile, "-w", "-t", timeout)
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("start on port %d: %w\n%s", port, err, tail(c.logFile, 2048)))
		// Only a port picked here can be retried: someone may have taken it
		// between our probe and the server's bind.
		if c.opts.Port != 0 || ctx.Err() != nil {
			break
		}
	}
	return errors.Join(errs...)
}

func (c *Cluster) pgctl(ctx context.Context, args ...string) error {
	return c.run(ctx, filepath.Join(c.binDir, "pg_ctl"), args...)
}

// run executes name as the cluster's owner and returns its output in the error.
func (c *Cluster) run(ctx context.Context, name string, args ...string) error {
	if c.runAs != "" {
		args = append([]string{"-u", c.runAs, "--", name}, args...)
		name = "runuser"
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = "/" // the server user may not be able to read our working directory
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// findBinDir returns dir if given, else the newest Debian server version,
// installing the package first when allowed and running as root.
func findBinDir(ctx context.Context, dir string, install bool, log *slog.Logger) (string, error) {
	if dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "pg_ctl")); err != nil {
			return "", fmt.Errorf("no pg_ctl in %s: %w", dir, err)
		}
		return dir, nil
	}
	if d, ok := newestDebianBinDir("/usr/lib/postgresql"); ok {
		return d, nil
	}
	if !install || os.Geteuid() != 0 {
		return "", errors.New("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin: install the postgresql package (apt-get install postgresql) or set Options.BinDir")
	}
	log.Info("pgcluster_installing_postgresql")
	for _, args := range [][]string{{"update"}, {"install", "-y", "--no-install-recommends", "postgresql"}} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("apt-get %s: %w: %s", strings.Join(args, " "), err, tailBytes(out, 2048))
		}
	}
	if d, ok := newestDebianBinDir("/usr/lib/postgresql"); ok {
		return d, nil
	}
	return "", errors.New("installed postgresql but found no server binaries in /usr/lib/postgresql/*/bin")
}

func newestDebianBinDir(root string) (string, bool) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return "", false
	}
	best, bestVer := "", -1.0
	for _, e := range entries {
		v, err := strconv.ParseFloat(e.Name(), 64) // "15", "9.6"
		if err != nil {
			continue
		}
		bin := filepath.Join(root, e.Name(), "bin")
		if _, err := os.Stat(filepath.Join(bin, "pg_ctl")); err != nil {
			continue
		}
		if v > bestVer {
			best, bestVer = bin, v
		}
	}
	return best, best != ""
}

func ensureSystemUser(ctx context.Context, name string) error {
	if _, err := user.Lookup(name); err == nil {
		return nil
	}
	out, err := exec.CommandContext(ctx, "useradd", "--system", "--user-group", "--no-create-home",
		"--home-dir", "/var/lib/postgresql", "--shell", "/bin/sh", name).CombinedOutput()
	if err != nil {
		return fmt.Errorf("create system user %s: %w: %s", name, err, bytes.TrimSpace(out))
	}
	return nil
}

func chownTree(root, owner string) error {
	u, err := user.Lookup(owner)
	if err != nil {
		return fmt.Errorf("look up user %s: %w", owner, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(p, uid, gid); err != nil {
			return fmt.Errorf("give %s to %s: %w", p, owner, err)
		}
		return nil
	})
}

// pickLocale prefers C.UTF-8 (byte-order collation like C, but lower() and
// the text-search parser understand accented letters); plain C otherwise.
func pickLocale(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "locale", "-a").Output()
	if err == nil {
		for _, l := range strings.Fields(string(out)) {
			if strings.EqualFold(l, "C.utf8") || strings.EqualFold(l, "C.UTF-8") {
				return "C.UTF-8"
			}
		}
	}
	return "C"
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func quoteConf(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return tailBytes(b, n)
}

func tailBytes(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}
