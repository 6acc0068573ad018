// Package kamailiotest runs a private Kamailio for tests: the project's own
// configs/kamailio/kamailio.cfg, unchanged, with its lists (the Asterisk
// nodes, the carrier's addresses, the operators' networks) and the phones'
// passwords written for the test and the file paths, the listening address
// and the probing timers given as the config's defines (kamailio -A), on a
// free loopback port; stopped when the test ends. It runs as whoever runs
// the test: unlike PostgreSQL, Kamailio does not refuse root, and it binds
// no privileged port here.
//
// A test that needs Kamailio fails when it is not installed (Debian package
// kamailio, scripts/install-deps.sh); IVR_SKIP_ASTERISK=1, which skips the
// real-Asterisk tests, skips these too.
package kamailiotest

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Binary is where Debian's package installs Kamailio.
const Binary = "/usr/sbin/kamailio"

// Options configure Start.
type Options struct {
	// Addr is the loopback host:port to listen on (UDP); default a free
	// one (FreeAddr). A test that must write Kamailio's address into
	// Asterisk's configuration before Kamailio starts picks it first.
	Addr string
	// Nodes are the Asterisk nodes (host:port of their SIP transport), in
	// the dispatcher's set 1, in this order of priority.
	Nodes []string
	// Carrier are the addresses the carrier's calls come from.
	Carrier []string
	// Phones is the operators' network, as an address and a prefix length
	// ("127.0.0.0/29").
	Phones string
	// Users are the phones' names and passwords (what the deployment's
	// dbtext/subscriber holds).
	Users map[string]string
	// PingInterval is the time between two OPTIONS to each node (default
	// 1 s; the shipped config says 10 s).
	PingInterval time.Duration
	// NodeTimeout is how long a node has to answer an INVITE before the
	// next is tried (default 2 s).
	NodeTimeout time.Duration
	// StartTimeout bounds the wait for Kamailio to answer (default 30 s).
	StartTimeout time.Duration
}

// Kamailio is a running private Kamailio.
type Kamailio struct {
	Addr string // 127.0.0.1:port of its UDP listener
	Dir  string // its lists, passwords, control socket and log

	cmd  *exec.Cmd
	done chan struct{}
	werr error
}

// ctl is the control socket kamcmd talks to.
func (k *Kamailio) ctl() string { return "unix:" + filepath.Join(k.Dir, "ctl") }

// LogFile is what Kamailio wrote (stderr).
func (k *Kamailio) LogFile() string { return filepath.Join(k.Dir, "kamailio.log") }

// Start starts Kamailio with opts and stops it when t ends.
func Start(t testing.TB, opts Options) *Kamailio {
	t.Helper()
	if v := os.Getenv("IVR_SKIP_ASTERISK"); v != "" && v != "0" {
		t.Skipf("IVR_SKIP_ASTERISK=%s: skipping a test that needs Kamailio and Asterisk", v)
	}
	if _, err := os.Stat(Binary); err != nil {
		t.Fatalf("kamailiotest: no %s: run scripts/install-deps.sh (as root), or apt-get install kamailio", Binary)
	}
	opts.PingInterval = cmp.Or(opts.PingInterval, time.Second)
	opts.NodeTimeout = cmp.Or(opts.NodeTimeout, 2*time.Second)
	opts.StartTimeout = cmp.Or(opts.StartTimeout, 30*time.Second)
	// Not t.TempDir: the control socket's path must stay under 108 bytes.
	dir, err := os.MkdirTemp("", "kamailio-")
	if err != nil {
		t.Fatal(err)
	}
	k := &Kamailio{Addr: cmp.Or(opts.Addr, FreeAddr(t)), Dir: dir, done: make(chan struct{})}
	t.Cleanup(func() {
		if t.Failed() {
			k.dumpLog(t)
		}
		os.RemoveAll(dir)
	})
	if err := k.writeFiles(opts); err != nil {
		t.Fatalf("kamailiotest: %v", err)
	}
	host, port, _ := net.SplitHostPort(k.Addr)
	cfg := filepath.Join(repoRoot(t), "configs", "kamailio", "kamailio.cfg")
	define := func(name, value string) []string { return []string{"-A", name + "=" + value} }
	quoted := func(name, value string) []string { return define(name, strconv.Quote(value)) }
	args := []string{"-DD", "-E", "-m", "64", "-M", "8", "-f", cfg, "-Y", dir, "-P", filepath.Join(dir, "kamailio.pid")}
	for _, d := range [][]string{
		define("LISTEN", "udp:"+host+":"+port),
		define("ALIAS", host+":"+port),
		quoted("DISPATCHER_LIST", filepath.Join(dir, "dispatcher.list")),
		quoted("ADDRESS_LIST", filepath.Join(dir, "address.list")),
		quoted("DBURL", "text://"+filepath.Join(dir, "dbtext")),
		quoted("CTL_SOCKET", k.ctl()),
		define("PING_INTERVAL", strconv.Itoa(max(1, int(opts.PingInterval.Seconds())))),
		define("FR_TIMER", strconv.Itoa(int(opts.NodeTimeout.Milliseconds()))),
	} {
		args = append(args, d...)
	}
	out, err := os.Create(k.LogFile())
	if err != nil {
		t.Fatal(err)
	}
	k.cmd = exec.Command(Binary, args...)
	// Its own process group: Stop ends Kamailio's children too, even when
	// the main process has to be killed.
	k.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	k.cmd.Stdout, k.cmd.Stderr = out, out
	if err := k.cmd.Start(); err != nil {
		out.Close()
		t.Fatalf("kamailiotest: start: %v", err)
	}
	go func() {
		k.werr = k.cmd.Wait()
		out.Close()
		close(k.done)
	}()
	t.Cleanup(k.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), opts.StartTimeout)
	defer cancel()
	if err := k.waitReady(ctx); err != nil {
		k.dumpLog(t)
		t.Fatalf("kamailiotest: %v", err)
	}
	return k
}

// writeFiles writes the lists and the passwords the config reads.
func (k *Kamailio) writeFiles(opts Options) error {
	var ds strings.Builder
	ds.WriteString("# setid destination flags priority\n")
	for i, n := range opts.Nodes {
		// A higher priority first: the order of Nodes.
		fmt.Fprintf(&ds, "1 sip:%s 0 %d\n", n, len(opts.Nodes)-i)
	}
	var addr strings.Builder
	addr.WriteString("# group address [prefix length]\n")
	for _, c := range opts.Carrier {
		fmt.Fprintf(&addr, "1 %s\n", c)
	}
	if opts.Phones != "" {
		ip, bits, ok := strings.Cut(opts.Phones, "/")
		if !ok {
			return fmt.Errorf("operators' network %q is not address/prefix", opts.Phones)
		}
		fmt.Fprintf(&addr, "2 %s %s\n", ip, bits)
	}
	subscriber, err := Subscribers(opts.Users)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(k.Dir, "dbtext"), 0o700); err != nil {
		return err
	}
	for name, text := range map[string]string{
		"dispatcher.list":   ds.String(),
		"address.list":      addr.String(),
		"dbtext/subscriber": subscriber,
	} {
		if err := os.WriteFile(filepath.Join(k.Dir, name), []byte(text), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// Subscribers is the db_text table "subscriber" of users (name →
// password), as scripts/compose-secrets.sh writes it for a deployment.
func Subscribers(users map[string]string) (string, error) {
	var b strings.Builder
	b.WriteString("id(int,auto) username(string) domain(string,null) password(string) ha1(string,null) ha1b(string,null)\n")
	id := 1
	for _, name := range slices.Sorted(maps.Keys(users)) {
		pw := users[name]
		// db_text's separator and line breaks would need escapes; the
		// deployment's passwords are letters and digits.
		if strings.ContainsAny(name+pw, ":\\\n\r\t ") {
			return "", fmt.Errorf("user %s: a name or password with a character db_text escapes", name)
		}
		fmt.Fprintf(&b, "%d:%s::%s::\n", id, name, pw)
		id++
	}
	return b.String(), nil
}

// waitReady waits until Kamailio answers an RPC on its control socket,
// which it opens once every module has started.
func (k *Kamailio) waitReady(ctx context.Context) error {
	var last error
	for {
		select {
		case <-k.done:
			return fmt.Errorf("kamailio exited during start-up: %v", k.werr)
		default:
		}
		if _, err := k.RPC(ctx, "core.version"); err == nil {
			return nil
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kamailio did not answer on %s: %v", k.ctl(), last)
		case <-k.done:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// RPC runs one RPC command through kamcmd (e.g. "dispatcher.list") and
// returns its output.
func (k *Kamailio) RPC(ctx context.Context, command ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "kamcmd", append([]string{"-s", k.ctl()}, command...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kamcmd %s: %w: %s", strings.Join(command, " "), err, out)
	}
	return string(out), nil
}

// Destination is one node of the dispatcher, as dispatcher.list says.
type Destination struct {
	URI   string
	Flags string // "AP": active, probing; "IP": inactive, probing; ...
}

// Active says whether the dispatcher gives the node new calls.
func (d Destination) Active() bool { return strings.HasPrefix(d.Flags, "A") }

var destRE = regexp.MustCompile(`URI:\s*(\S+)\s+FLAGS:\s*(\S+)`)

// Destinations are the dispatcher's nodes and their states (RPC
// dispatcher.list).
func (k *Kamailio) Destinations(ctx context.Context) ([]Destination, error) {
	out, err := k.RPC(ctx, "dispatcher.list")
	if err != nil {
		return nil, err
	}
	var ds []Destination
	for _, m := range destRE.FindAllStringSubmatch(out, -1) {
		ds = append(ds, Destination{URI: m[1], Flags: m[2]})
	}
	return ds, nil
}

// Contacts is where user is registered (RPC ul.lookup): the contact URIs,
// none when it is not.
func (k *Kamailio) Contacts(ctx context.Context, user string) ([]string, error) {
	out, err := k.RPC(ctx, "ul.lookup", "location", user)
	if err != nil {
		if strings.Contains(out, "Not Found") || strings.Contains(out, "AOR not found") {
			return nil, nil
		}
		return nil, err
	}
	var cs []string
	for _, m := range contactRE.FindAllStringSubmatch(out, -1) {
		cs = append(cs, m[1])
	}
	return cs, nil
}

var contactRE = regexp.MustCompile(`Address:\s*(\S+)`)

// Stop stops Kamailio and its children (SIGTERM to its process group,
// SIGKILL after 10 s) and waits for it.
func (k *Kamailio) Stop() {
	pgid := -k.cmd.Process.Pid
	select {
	case <-k.done:
	default:
		_ = syscall.Kill(pgid, syscall.SIGTERM)
		select {
		case <-k.done:
		case <-time.After(10 * time.Second):
		}
	}
	// A child that outlived the main process, or the lot after 10 s.
	_ = syscall.Kill(pgid, syscall.SIGKILL)
	<-k.done
}

// Log is what Kamailio has written so far.
func (k *Kamailio) Log() string {
	b, _ := os.ReadFile(k.LogFile())
	return string(b)
}

func (k *Kamailio) dumpLog(t testing.TB) {
	b := k.Log()
	if len(b) > 8000 {
		b = b[len(b)-8000:]
	}
	t.Logf("kamailiotest: tail of %s:\n%s", k.LogFile(), b)
}

func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			t.Fatalf("kamailiotest: no go.mod above %s", dir)
		}
	}
}

// FreeAddr is a free UDP port on 127.0.0.1, as host:port.
func FreeAddr(t testing.TB) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}
