// Package asteriskbench is the load benchmark on a real Asterisk (issue 15):
// sipp callers at increasing call rates against ivrd (the shipped
// Giustizia menu, its queues and a ticket per call in PostgreSQL) and
// against a plain dialplan IVR of the same call shape, with sipp operator
// phones that answer and hang up after a hold time. The benchmark itself
// is BenchmarkAsteriskLoad (scripts/bench-asterisk.sh runs it; it is not
// part of make test); this file holds what it is made of: the bench's
// Asterisk and help-desk configuration, the sipp scenarios, and the
// readings of sipp's statistics and of /proc.
package asteriskbench

import (
	"bufio"
	"bytes"
	"embed"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

//go:embed files
var files embed.FS

// Numbers the callers dial: ivrd's (the shipped Stasis number) and the
// dialplan IVR's.
const (
	IvrdNumber     = "800749049"
	DialplanNumber = "800749050"
)

// OperatorPrefix names the bench operators: b1, b2, ... (their endpoint,
// their queue login).
const OperatorPrefix = "b"

// Scenario returns the sipp scenario name ("caller" or "operator").
func Scenario(name string) []byte {
	b, err := files.ReadFile("files/" + name + ".xml")
	if err != nil {
		panic(err) // embedded: a missing file is a build defect
	}
	return b
}

// Dialplan is the same-shape dialplan IVR for the bench's extensions.conf,
// dialling operators b1..bN in turn.
func Dialplan(operators int) string {
	b, err := files.ReadFile("files/dialplan.conf")
	if err != nil {
		panic(err)
	}
	return strings.Replace(string(b), "; BENCH_OPERATORS and BENCH_PREFIX follow, written by the benchmark.",
		fmt.Sprintf("BENCH_OPERATORS = %d\nBENCH_PREFIX = %s", operators, OperatorPrefix), 1)
}

// DialplanModules are the modules.conf lines the dialplan IVR needs beyond
// the shipped list (which loads only what ivrd's deployment uses):
// GLOBAL() to take the operators in turn, STRFTIME() and RAND() for the
// ticket number, TIMEOUT() for the menu. Without func_global every call
// dialled "b0", which does not exist, and the dialplan's calls ended
// without an operator: shorter and cheaper than ivrd's.
const DialplanModules = "load = func_global.so\nload = func_strings.so\nload = func_rand.so\nload = func_timeout.so\n"

// Endpoints are the bench operators' PJSIP endpoints for pjsip.conf, on
// the shipped operator templates, all reaching the one sipp at contact
// (host:port): no registration, no qualify, no MWI.
func Endpoints(operators int, contact string) string {
	var b strings.Builder
	for i := 1; i <= operators; i++ {
		n := OperatorPrefix + strconv.Itoa(i)
		fmt.Fprintf(&b, "[%[1]s](operator-endpoint)\naors = %[1]s\nmailboxes =\ncallerid = \"Bench %[1]s\" <%[1]s>\n"+
			"[%[1]s](operator-aor)\ncontact = sip:%[1]s@%[2]s\nqualify_frequency = 0\n", n, contact)
	}
	return b.String()
}

// HelpDesk is the shipped configuration as the bench runs it: the same
// menu, prompts and groups, every schedule open every day from 00:00 to
// 23:59 (the bench runs whenever it is started; a schedule that never
// closes would make the controller look a year ahead for its next closing
// on every call, which no help desk of daily hours pays), and operators b1..bN in group lotto3
// (where keys 1 3 lead) with no wrap-up, enough for the call rates.
func HelpDesk(shipped []byte, operators int) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(shipped, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("configuration: not a mapping")
	}
	root := doc.Content[0]
	schedules := get(root, "schedules")
	if schedules == nil {
		return nil, errors.New("configuration: no schedules")
	}
	for i := 1; i < len(schedules.Content); i += 2 {
		s := schedules.Content[i]
		var open yaml.Node
		if err := yaml.Unmarshal([]byte(`{mon-fri: ["00:00-23:59"], sat: ["00:00-23:59"], sun: ["00:00-23:59"]}`), &open); err != nil {
			return nil, err
		}
		set(s, "weekly", open.Content[0])
		set(s, "holidays", &yaml.Node{Kind: yaml.ScalarNode, Value: "none"})
		del(s, "local_holidays")
		del(s, "closures")
	}
	groups := get(root, "groups")
	found := false
	for _, g := range groups.Content {
		if id := get(g, "id"); id == nil || id.Value != "lotto3" {
			continue
		}
		found = true
		q := get(g, "queue")
		if q == nil {
			q = &yaml.Node{Kind: yaml.MappingNode}
			set(g, "queue", q)
		}
		set(q, "wrap_up", &yaml.Node{Kind: yaml.ScalarNode, Value: "0s"})
		del(q, "max_waiting")
	}
	if !found {
		return nil, errors.New("configuration: no group lotto3")
	}
	ops := get(root, "operators")
	if ops == nil {
		return nil, errors.New("configuration: no operators")
	}
	for i := 1; i <= operators; i++ {
		var op yaml.Node
		n := OperatorPrefix + strconv.Itoa(i)
		src := fmt.Sprintf(`{login: %s, name: "Bench %d", endpoint: PJSIP/%s, groups: {lotto3: 0}}`, n, i, n)
		if err := yaml.Unmarshal([]byte(src), &op); err != nil {
			return nil, err
		}
		ops.Content = append(ops.Content, op.Content[0])
	}
	return yaml.Marshal(&doc)
}

func get(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func set(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
}

func del(m *yaml.Node, key string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = slices.Delete(m.Content, i, i+2)
			return
		}
	}
}

// SippStats is the last line of sipp's -trace_stat file.
type SippStats struct {
	Successful, Failed, Current int
}

// ReadSippStats reads the last line of a sipp -trace_stat CSV.
func ReadSippStats(path string) (SippStats, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return SippStats{}, err
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < 2 {
		return SippStats{}, fmt.Errorf("%s: no statistics yet", path)
	}
	head := strings.Split(lines[0], ";")
	last := strings.Split(lines[len(lines)-1], ";")
	col := func(name string) (int, error) {
		i := slices.Index(head, name)
		if i < 0 || i >= len(last) {
			return 0, fmt.Errorf("%s: no column %s", path, name)
		}
		return strconv.Atoi(strings.TrimSpace(last[i]))
	}
	var s SippStats
	for _, c := range []struct {
		name string
		v    *int
	}{{"SuccessfulCall(C)", &s.Successful}, {"FailedCall(C)", &s.Failed}, {"CurrentCall", &s.Current}} {
		if *c.v, err = col(c.name); err != nil {
			return s, err
		}
	}
	return s, nil
}

// ReadRTT reads the response times of sipp's -trace_rtt files in dir
// (lines "date_ms;response_time_ms;rtd_no").
func ReadRTT(dir string) ([]time.Duration, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*_rtt.csv"))
	if err != nil {
		return nil, err
	}
	var out []time.Duration
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Split(sc.Text(), ";")
			if len(fields) < 2 {
				continue
			}
			ms, err := strconv.ParseFloat(strings.TrimSpace(fields[1]), 64)
			if err != nil {
				continue // the header
			}
			out = append(out, time.Duration(ms*float64(time.Millisecond)))
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Percentile is the p-th percentile (0 < p <= 100) of d, nearest rank.
func Percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// clockTick is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on
// every Linux the project runs on.
const clockTick = 10 * time.Millisecond

// ProcStat is what the benchmark reads of /proc/<pid>/stat.
type ProcStat struct {
	PPID int
	// CPU is user + system time of the process (all its threads) and of
	// its children it has waited for.
	CPU time.Duration
}

// ParseProcStat reads the content of /proc/<pid>/stat.
func ParseProcStat(b []byte) (ProcStat, error) {
	// The command name is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return ProcStat{}, errors.New("proc stat: no command")
	}
	f := strings.Fields(string(b[i+1:]))
	// After the command: state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17).
	if len(f) < 15 {
		return ProcStat{}, errors.New("proc stat: short")
	}
	var st ProcStat
	var err error
	if st.PPID, err = strconv.Atoi(f[1]); err != nil {
		return st, fmt.Errorf("proc stat: ppid: %w", err)
	}
	for _, k := range f[11:15] {
		n, err := strconv.ParseInt(k, 10, 64)
		if err != nil {
			return st, fmt.Errorf("proc stat: %w", err)
		}
		st.CPU += time.Duration(n) * clockTick
	}
	return st, nil
}

// TreeCPU is the CPU time of pid and of its live children (PostgreSQL's
// backends; the exited ones are in pid's own count).
func TreeCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	st, err := ParseProcStat(b)
	if err != nil {
		return 0, err
	}
	total := st.CPU
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		if c, err := ParseProcStat(b); err == nil && c.PPID == pid {
			total += c.CPU
		}
	}
	return total, nil
}

// PeakRSS is VmHWM of /proc/<pid>/status: the process's peak resident set.
func PeakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return ParseVmHWM(b)
}

// ParseVmHWM reads VmHWM (bytes) from the content of /proc/<pid>/status.
func ParseVmHWM(b []byte) (int64, error) {
	for l := range strings.SplitSeq(string(b), "\n") {
		v, ok := strings.CutPrefix(l, "VmHWM:")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("VmHWM: %q", v)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		return kb * 1024, err
	}
	return 0, errors.New("no VmHWM")
}
