// Package realasterisk runs a real Asterisk for tests: a private instance
// built by scripts/install-asterisk.sh, configured from the project's own
// configs/asterisk with only the edits a loopback test needs, on free ports,
// stopped when the test ends. Callers and operator phones are sipp (Call,
// Phone), and Client talks
// ARI over plain net/http and a WebSocket, optionally writing every request,
// response and event to a JSONL trace (the format of
// ivr/arisim/testdata/ari-traces).
//
// A test that needs Asterisk fails when it is not installed, pointing at the
// install script; IVR_SKIP_ASTERISK=1 turns that failure into a skip.
package realasterisk

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// SkipEnv is the variable that turns a missing Asterisk into a skipped test.
const SkipEnv = "IVR_SKIP_ASTERISK"

// PrefixEnv overrides the install prefix (else the script's --print-prefix).
const PrefixEnv = "ASTERISK_PREFIX"

// Debian's core sound packages, installed by scripts/install-asterisk.sh.
var coreSounds = map[string]string{
	"it": "/usr/share/asterisk/sounds/it_IT_m_Carlo",
	"en": "/usr/share/asterisk/sounds/en_US_f_Allison",
}

// Options configure Start. The zero value is the shipped configuration.
type Options struct {
	// StartTimeout bounds the wait for ARI to answer (default 60 s).
	StartTimeout time.Duration
	// Phones are operator endpoints of configs/asterisk (e.g. "op201") whose
	// AOR gets a static contact on a loopback port, for Phone to answer on.
	Phones []string
	// Sounds, if set, is a directory laid out as <lang>/<entries> (what
	// `ivrctl prompts` writes under OUT/sounds): each entry is linked into
	// the instance's sounds of that language, beside the core sounds.
	Sounds string
	// Set changes options of the copy beyond the loopback edits, for a
	// benchmark that needs more than a test (e.g. rtp.conf's port range).
	Set []Setting
	// Append adds text at the end of files of the copy (file name → text):
	// a benchmark's own endpoints and dialplan beside the shipped ones.
	Append map[string]string
	// Overlay, relative to the repository's root, is a directory of files
	// that replace the shipped files of the same names before the loopback
	// edits: a variant of the configuration kept beside configs/asterisk
	// (configs/asterisk-kamailio, a node behind Kamailio).
	Overlay string
}

// Setting is one option of a configuration file: Section's Key = Value.
type Setting struct {
	File, Section, Key, Value string
}

// Asterisk is a running private Asterisk.
type Asterisk struct {
	Prefix   string // the install prefix
	Dir      string // the instance's directory (etc, run, log, spool, data ...)
	HTTPAddr string // 127.0.0.1:port of HTTP/ARI
	SIPAddr  string // 127.0.0.1:port of the PJSIP UDP transport
	User     string // ARI user
	Password string // ARI password
	App      string // the Stasis application of the dialplan
	Number   string // the number the dialplan hands to App

	phones map[string]string // endpoint → 127.0.0.1:port of its contact

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	werr error         // the process's exit, once done is closed
}

// ARIURL is the base of the REST API, with no trailing slash.
func (a *Asterisk) ARIURL() string { return "http://" + a.HTTPAddr + "/ari" }

// SoundsDir is where Asterisk looks for sounds of lang: tests may add files
// (e.g. the generated helpdesk prompts under SoundsDir("it")/helpdesk).
func (a *Asterisk) SoundsDir(lang string) string {
	return filepath.Join(a.Dir, "data", "sounds", lang)
}

// LogFile is Asterisk's messages log (notices, warnings, errors).
func (a *Asterisk) LogFile() string { return filepath.Join(a.Dir, "log", "messages.log") }

// Start starts a private Asterisk and stops it when t ends.
func Start(t testing.TB, opts Options) *Asterisk {
	t.Helper()
	prefix := requireInstall(t)
	root := repoRoot(t)
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 60 * time.Second
	}
	// Not t.TempDir: the control socket's path must stay under 108 bytes.
	dir, err := os.MkdirTemp("", "realast-")
	if err != nil {
		t.Fatal(err)
	}
	a := &Asterisk{
		Prefix:   prefix,
		Dir:      dir,
		HTTPAddr: freeTCP(t),
		SIPAddr:  freeUDP(t),
		User:     "ivr",
		Password: randomHex(12),
		App:      "ivr",
		Number:   "800749049",
		done:     make(chan struct{}),
		phones:   map[string]string{},
	}
	for _, p := range opts.Phones {
		a.phones[p] = freeUDP(t)
	}
	t.Cleanup(func() {
		if t.Failed() {
			a.dumpLog(t)
		}
		if os.Getenv("REALASTERISK_KEEP") == "" {
			os.RemoveAll(dir)
		} else {
			t.Logf("realasterisk: kept %s", dir)
		}
	})
	overlay := ""
	if opts.Overlay != "" {
		overlay = filepath.Join(root, opts.Overlay)
	}
	if err := a.writeConfig(filepath.Join(root, "configs", "asterisk"), overlay, opts); err != nil {
		t.Fatalf("realasterisk: configure: %v", err)
	}
	out, err := os.Create(filepath.Join(dir, "log", "console.log"))
	if err != nil {
		t.Fatal(err)
	}
	a.cmd = exec.Command(filepath.Join(prefix, "sbin", "asterisk"), "-f", "-n", "-C", a.conf())
	a.cmd.Stdout, a.cmd.Stderr = out, out
	if err := a.cmd.Start(); err != nil {
		out.Close()
		t.Fatalf("realasterisk: start: %v", err)
	}
	go func() {
		a.werr = a.cmd.Wait()
		out.Close()
		close(a.done)
	}()
	t.Cleanup(a.stop)
	if err := a.waitReady(opts.StartTimeout); err != nil {
		a.dumpLog(t)
		t.Fatalf("realasterisk: %v", err)
	}
	return a
}

func (a *Asterisk) conf() string { return filepath.Join(a.Dir, "etc", "asterisk.conf") }

// CLI runs one Asterisk CLI command on the instance (asterisk -rx).
func (a *Asterisk) CLI(ctx context.Context, command string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(a.Prefix, "sbin", "asterisk"), "-C", a.conf(), "-rx", command)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("asterisk -rx %q: %w: %s", command, err, out)
	}
	return string(out), nil
}

// stop asks Asterisk to stop at once, then kills it if it has not.
func (a *Asterisk) stop() {
	select {
	case <-a.done:
		return
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = a.CLI(ctx, "core stop now")
	select {
	case <-a.done:
	case <-time.After(10 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.done
	}
}

// waitReady waits until ARI answers a ping with the instance's credentials.
func (a *Asterisk) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: 2 * time.Second}
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-a.done:
			return fmt.Errorf("asterisk exited during start-up: %v", a.werr)
		default:
		}
		req, _ := http.NewRequest(http.MethodGet, a.ARIURL()+"/asterisk/ping", nil)
		req.SetBasicAuth(a.User, a.Password)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("ping: %s", resp.Status)
		}
		last = err
		select {
		case <-a.done:
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("ARI at %s did not answer within %s: %v", a.ARIURL(), timeout, last)
}

func (a *Asterisk) dumpLog(t testing.TB) {
	for _, f := range []string{a.LogFile(), filepath.Join(a.Dir, "log", "console.log")} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if len(b) > 8000 {
			b = b[len(b)-8000:]
		}
		t.Logf("realasterisk: tail of %s:\n%s", f, b)
	}
}

// requireInstall returns the install prefix, or ends the test: skipped when
// the user opted out with IVR_SKIP_ASTERISK=1, failed otherwise.
func requireInstall(t testing.TB) string {
	t.Helper()
	SkipIfOptedOut(t)
	var missing []string
	prefix := os.Getenv(PrefixEnv)
	if prefix == "" {
		out, err := exec.Command("bash", filepath.Join(repoRoot(t), "scripts", "install-asterisk.sh"), "--print-prefix").Output()
		if err != nil {
			t.Fatalf("realasterisk: scripts/install-asterisk.sh --print-prefix: %v", err)
		}
		prefix = strings.TrimSpace(string(out))
	}
	if _, err := os.Stat(filepath.Join(prefix, ".installed")); err != nil {
		missing = append(missing, "Asterisk in "+prefix)
	}
	if _, err := exec.LookPath("sipp"); err != nil {
		missing = append(missing, "sipp (Debian sip-tester)")
	}
	for lang, d := range coreSounds {
		if _, err := os.Stat(d); err != nil {
			missing = append(missing, "the "+lang+" core sounds in "+d)
		}
	}
	if _, err := os.Stat(mohFiles); err != nil {
		missing = append(missing, "the music on hold in "+mohFiles)
	}
	if len(missing) > 0 {
		t.Fatalf("realasterisk: missing %s: run scripts/install-asterisk.sh (as root), or set %s=1 to skip the tests that need a real Asterisk",
			strings.Join(missing, ", "), SkipEnv)
	}
	return prefix
}

// SkipIfOptedOut skips t when the user opted out of the tests that need a
// real Asterisk (IVR_SKIP_ASTERISK=1): for a test that prepares something
// costly before Start.
func SkipIfOptedOut(t testing.TB) {
	t.Helper()
	if v := os.Getenv(SkipEnv); v != "" && v != "0" {
		t.Skipf("%s=%s: skipping a test that needs a real Asterisk", SkipEnv, v)
	}
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
			t.Fatalf("realasterisk: no go.mod above %s", dir)
		}
	}
}

// writeConfig lays out the instance: the shipped configs (a file of
// overlay, if not "", instead of the shipped one) with the loopback edits
// (see edits), an asterisk.conf whose directories are the instance's,
// the core sounds (and opts.Sounds, if not "") linked under data/sounds,
// and opts' own settings and appended text.
func (a *Asterisk) writeConfig(shipped, overlay string, opts Options) error {
	extra := opts.Sounds
	// The spool's subdirectories are what `make install` creates: ARI
	// records into spool/recording and answers 500 ("Unrecognized
	// recording error: No such file or directory") without it.
	for _, d := range []string{"etc", "run", "log", "spool/recording", "spool/voicemail", "spool/tmp", "spool/monitor",
		"lib", "db", "keys", "cache", "data/sounds", "data/moh"} {
		if err := os.MkdirAll(filepath.Join(a.Dir, d), 0o755); err != nil {
			return err
		}
	}
	files, err := filepath.Glob(filepath.Join(shipped, "*.conf"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no *.conf in %s", shipped)
	}
	if overlay != "" {
		variant, err := filepath.Glob(filepath.Join(overlay, "*.conf"))
		if err != nil || len(variant) == 0 {
			return fmt.Errorf("no *.conf in %s", overlay)
		}
		for _, f := range variant {
			if !slices.Contains(files, filepath.Join(shipped, filepath.Base(f))) {
				return fmt.Errorf("%s replaces no file of %s", f, shipped)
			}
		}
	}
	edits := a.edits()
	for _, f := range files {
		name := filepath.Base(f)
		if overlay != "" {
			if _, err := os.Stat(filepath.Join(overlay, name)); err == nil {
				f = filepath.Join(overlay, name)
			}
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if e, ok := edits[name]; ok {
			if b, err = e(b); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			delete(edits, name)
		}
		for _, st := range opts.Set {
			if st.File == name {
				if b, err = setOption(b, st.Section, st.Key, st.Value); err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
			}
		}
		if text, ok := opts.Append[name]; ok {
			b = append(append(b, '\n'), text...)
		}
		if err := os.WriteFile(filepath.Join(a.Dir, "etc", name), b, 0o644); err != nil {
			return err
		}
	}
	for name := range edits {
		return fmt.Errorf("%s is not in %s", name, shipped)
	}
	for _, st := range opts.Set {
		if !slices.Contains(files, filepath.Join(shipped, st.File)) {
			return fmt.Errorf("%s is not in %s", st.File, shipped)
		}
	}
	for name := range opts.Append {
		if !slices.Contains(files, filepath.Join(shipped, name)) {
			return fmt.Errorf("%s is not in %s", name, shipped)
		}
	}
	for lang, src := range coreSounds {
		if err := linkEntries(src, a.SoundsDir(lang)); err != nil {
			return err
		}
	}
	// musiconhold.conf's class "default" plays astdatadir/moh.
	if err := linkEntries(mohFiles, filepath.Join(a.Dir, "data", "moh")); err != nil {
		return err
	}
	if extra == "" {
		return nil
	}
	langs, err := os.ReadDir(extra)
	if err != nil {
		return fmt.Errorf("sounds: %w", err)
	}
	for _, l := range langs {
		if !l.IsDir() {
			continue
		}
		// An entry the core sounds have already is an error, not a
		// silent shadowing.
		if err := linkEntries(filepath.Join(extra, l.Name()), a.SoundsDir(l.Name())); err != nil {
			return fmt.Errorf("sounds: %w", err)
		}
	}
	return nil
}

// Debian's music on hold (asterisk-moh-opsound-wav), installed by
// scripts/install-asterisk.sh.
const mohFiles = "/usr/share/asterisk/moh"

// edits are the only changes to configs/asterisk, each one what a loopback
// test needs (issue 15: anything else would be a defect of the shipped files).
func (a *Asterisk) edits() map[string]func([]byte) ([]byte, error) {
	sipHost, sipPort, _ := net.SplitHostPort(a.SIPAddr)
	_, httpPort, _ := net.SplitHostPort(a.HTTPAddr)
	return map[string]func([]byte) ([]byte, error){
		// The instance's own directories; no runuser, so it runs as whoever
		// runs the test (root included) and owns its files.
		"asterisk.conf": func(b []byte) ([]byte, error) {
			b = dropOptions(b, "runuser", "rungroup")
			d := func(k, v string) string { return k + " => " + filepath.Join(a.Dir, v) + "\n" }
			dirs := "\n[directories]\n" + d("astetcdir", "etc") +
				"astmoddir => " + filepath.Join(a.Prefix, "lib", "asterisk", "modules") + "\n" +
				d("astvarlibdir", "lib") + d("astdbdir", "db") +
				"astkeydir => " + a.Dir + "\n" + // Asterisk adds /keys
				d("astdatadir", "data") + d("astagidir", "data/agi-bin") + d("astspooldir", "spool") +
				d("astrundir", "run") + d("astlogdir", "log") + d("astcachedir", "cache") +
				"astsbindir => " + filepath.Join(a.Prefix, "sbin") + "\n"
			return append(b, dirs...), nil
		},
		"http.conf": func(b []byte) ([]byte, error) {
			return setOption(b, "general", "bindport", httpPort)
		},
		"ari.conf": func(b []byte) ([]byte, error) {
			return setOption(b, a.User, "password", a.Password)
		},
		// The operators' network is loopback (see PhonesNet).
		"acl.conf": func(b []byte) ([]byte, error) {
			return setOption(b, "operator-phones", "permit", PhonesNet)
		},
		"pjsip.conf": func(b []byte) ([]byte, error) {
			b, err := setOption(b, "transport-udp", "bind", net.JoinHostPort(sipHost, sipPort))
			if err != nil {
				return nil, err
			}
			// No carrier here: callers are sipp on loopback. (A node
			// behind Kamailio registers nowhere: no [carrier-reg].)
			if bytes.Contains(b, []byte("\n[carrier-reg]")) {
				if b, err = dropSection(b, "carrier-reg"); err != nil {
					return nil, err
				}
			}
			b, err = setOption(b, "carrier-identify", "match", "127.0.0.1")
			if err != nil {
				return nil, err
			}
			// Test phones: a static contact, and no OPTIONS nor
			// unsolicited MWI NOTIFY (a sipp scenario would take either for
			// its call).
			for p, addr := range a.phones {
				if b, err = setOption(b, "["+p+"](operator-endpoint)", "mailboxes", ""); err != nil {
					return nil, err
				}
				aor := "[" + p + "](operator-aor)"
				if b, err = setOption(b, aor, "contact", "sip:"+p+"@"+addr); err != nil {
					return nil, err
				}
				if b, err = setOption(b, aor, "qualify_frequency", "0"); err != nil {
					return nil, err
				}
			}
			return b, nil
		},
	}
}

func linkEntries(src, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.Symlink(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

var sectionRE = regexp.MustCompile(`^\[([^\]]+)\]`)

// setOption sets key = value in the first section named section (or whose
// whole header line is section, e.g. "[op201](operator-aor)"), replacing the
// key's line if it is there, else adding one after the header.
func setOption(b []byte, section, key, value string) ([]byte, error) {
	lines := strings.Split(string(b), "\n")
	in, header := false, -1
	for i, l := range lines {
		if m := sectionRE.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			if in {
				break
			}
			in = m[1] == section || strings.TrimSpace(l) == section
			if in {
				header = i
			}
			continue
		}
		if in && optionKey(l) == key {
			lines[i] = key + " = " + value
			return []byte(strings.Join(lines, "\n")), nil
		}
	}
	if header < 0 {
		return nil, fmt.Errorf("no section [%s]", section)
	}
	lines = append(lines[:header+1], append([]string{key + " = " + value}, lines[header+1:]...)...)
	return []byte(strings.Join(lines, "\n")), nil
}

// dropSection removes the section named section, up to the next header.
func dropSection(b []byte, section string) ([]byte, error) {
	lines := strings.Split(string(b), "\n")
	var out []string
	in, found := false, false
	for _, l := range lines {
		if m := sectionRE.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			in = m[1] == section
			found = found || in
		}
		if !in {
			out = append(out, l)
		}
	}
	if !found {
		return nil, fmt.Errorf("no section [%s]", section)
	}
	return []byte(strings.Join(out, "\n")), nil
}

func dropOptions(b []byte, keys ...string) []byte {
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		drop := false
		for _, k := range keys {
			drop = drop || optionKey(string(l)) == k
		}
		if !drop {
			out = append(out, l)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

// optionKey is the key of a "key = value" or "key => value" line, or "".
func optionKey(l string) string {
	l = strings.TrimSpace(l)
	if l == "" || l[0] == ';' {
		return ""
	}
	i := strings.IndexByte(l, '=')
	if i < 0 {
		return ""
	}
	return strings.TrimSpace(l[:i])
}

func freeTCP(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func freeUDP(t testing.TB) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

// sippMediaPorts is where sipp's media ports are taken: below the
// kernel's ephemeral ports (32768 up), where every SIP port of the tests
// and every other socket come from, and above Asterisk's RTP range
// (rtp.conf, 10000-19999), so a caller's media never takes another UA's
// SIP port. Each caller takes 4 (audio RTP and RTCP, video RTP and RTCP:
// sipp binds them all).
const (
	sippMediaLow  = 20000
	sippMediaHigh = 32000
)

var sippMediaNext atomic.Int64

// freeMediaPorts finds p, a multiple of 4 in the sipp media range, with p to
// p+3 free. The next caller starts after it; test binaries running side
// by side start at random places.
func freeMediaPorts() (int, error) {
	span := int64(sippMediaHigh-sippMediaLow) / 4
	sippMediaNext.CompareAndSwap(0, 1+mrand.Int64N(span))
	for range span {
		p := sippMediaLow + int((sippMediaNext.Add(1)%span)*4)
		ok := true
		var held []net.PacketConn
		for q := p; q < p+4; q++ {
			c, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(q))
			if err != nil {
				ok = false
				break
			}
			held = append(held, c)
		}
		for _, c := range held {
			c.Close()
		}
		if ok {
			return p, nil
		}
	}
	return 0, errors.New("no 4 free UDP ports for sipp's media")
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
