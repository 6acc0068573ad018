package asteriskbench

import (
	"encoding/xml"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/configfile"
)

// TestHelpDeskIsTheShippedMenuAlwaysOpen: the bench configuration loads
// as ivrd loads it, keeps the shipped menu and groups, is open at any
// hour but the day's last minute (a Sunday night, Christmas), and has the bench operators in lotto3
// with no wrap-up.
func TestHelpDeskIsTheShippedMenuAlwaysOpen(t *testing.T) {
	t.Parallel()
	shipped, err := os.ReadFile("../../configs/helpdesk.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := HelpDesk(shipped, 40)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "helpdesk.yaml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := configfile.Load(path)
	if err != nil {
		t.Fatalf("the bench configuration does not load: %v", err)
	}
	orig, err := configfile.Load("../../configs/helpdesk.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(cfg.NodeIDs(), " "), strings.Join(orig.NodeIDs(), " "); got != want {
		t.Errorf("menu nodes %s, shipped %s", got, want)
	}
	for _, at := range []string{"2026-12-06T03:00:00+01:00", "2026-12-25T12:00:00+01:00", "2026-12-25T23:58:00+01:00", "2026-11-23T10:00:00+01:00"} {
		tm, _ := time.Parse(time.RFC3339, at)
		if !cfg.ServiceSchedule().IsOpen(tm) || !cfg.GroupSchedule("lotto3").IsOpen(tm) {
			t.Errorf("closed at %s", at)
		}
	}
	if n := len(cfg.OperatorsOf("lotto3")); n != len(orig.OperatorsOf("lotto3"))+40 {
		t.Errorf("lotto3 has %d operators", n)
	}
	if op := cfg.Operator("b40"); op == nil || op.Endpoint != "PJSIP/b40" {
		t.Errorf("operator b40: %+v", op)
	}
	if w := cfg.Group("lotto3").Queue.WrapUp; w != 0 {
		t.Errorf("lotto3 wrap-up %s", w)
	}
}

func TestScenariosAreXML(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"caller", "operator"} {
		d := xml.NewDecoder(strings.NewReader(string(Scenario(name))))
		d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil } // ASCII
		for {
			_, err := d.Token()
			if err != nil {
				if err != io.EOF {
					t.Errorf("%s: %v", name, err)
				}
				break
			}
		}
	}
}

func TestDialplanAndEndpoints(t *testing.T) {
	t.Parallel()
	d := Dialplan(7)
	for _, want := range []string{"BENCH_OPERATORS = 7\n", "BENCH_PREFIX = b\n", "exten => " + DialplanNumber + ",",
		"Background(helpdesk/menu-root)", "Background(helpdesk/menu-1)", "Playback(helpdesk/system-transfer)"} {
		if !strings.Contains(d, want) {
			t.Errorf("dialplan has no %q", want)
		}
	}
	e := Endpoints(2, "127.0.0.1:5999")
	for _, want := range []string{"[b1](operator-endpoint)\n", "[b2](operator-aor)\ncontact = sip:b2@127.0.0.1:5999\n", "mailboxes =\n"} {
		if !strings.Contains(e, want) {
			t.Errorf("endpoints have no %q:\n%s", want, e)
		}
	}
}

func TestProcReadings(t *testing.T) {
	t.Parallel()
	st, err := ParseProcStat([]byte("4242 (asterisk (x)) S 1 4242 4242 0 -1 4194560 1 2 3 4 150 50 7 3 20 0 30 0 1 2 3\n"))
	if err != nil {
		t.Fatal(err)
	}
	if st.PPID != 1 || st.CPU != 2100*time.Millisecond {
		t.Errorf("got %+v, want ppid 1 and 2.1 s", st)
	}
	self, err := TreeCPU(os.Getpid())
	if err != nil || self <= 0 {
		t.Errorf("own CPU %s, %v", self, err)
	}
	rss, err := ParseVmHWM([]byte("Name:\tivrd\nVmPeak:\t  99 kB\nVmHWM:\t   61440 kB\nVmRSS:\t 100 kB\n"))
	if err != nil || rss != 60<<20 {
		t.Errorf("VmHWM %d, %v", rss, err)
	}
	if _, err := PeakRSS(os.Getpid()); err != nil {
		t.Error(err)
	}
}

func TestSippReadings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stat := "StartTime;CurrentCall;SuccessfulCall(P);SuccessfulCall(C);FailedCall(P);FailedCall(C);\n" +
		"x;5;1;1;0;0;\nx;0;3;98;0;2;\n"
	if err := os.WriteFile(filepath.Join(dir, "s.csv"), []byte(stat), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := ReadSippStats(filepath.Join(dir, "s.csv"))
	if err != nil || s != (SippStats{Successful: 98, Failed: 2}) {
		t.Errorf("got %+v, %v", s, err)
	}
	rtt := "Date_ms;response_time_ms;rtd_no\n1.0;12.5;1\n2.0;3.0;1\n3.0;250.0;1\n"
	if err := os.WriteFile(filepath.Join(dir, "caller_1_rtt.csv"), []byte(rtt), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := ReadRTT(dir)
	if err != nil || len(d) != 3 {
		t.Fatalf("got %v, %v", d, err)
	}
	if p := Percentile(d, 50); p != 12500*time.Microsecond {
		t.Errorf("p50 %s", p)
	}
	if p := Percentile(d, 99); p != 250*time.Millisecond {
		t.Errorf("p99 %s", p)
	}
}

func TestBucketPercentile(t *testing.T) {
	before := map[float64]float64{0.01: 5, 0.1: 10, 0.2: 10, math.MaxFloat64: 10}
	// 100 more: 90 under 10 ms, 9 under 100 ms, 1 under 200 ms.
	after := map[float64]float64{0.01: 95, 0.1: 109, 0.2: 110, math.MaxFloat64: 110}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 10 * time.Millisecond}, {0.9, 10 * time.Millisecond}, {0.95, 100 * time.Millisecond}, {0.99, 100 * time.Millisecond}, {1, 200 * time.Millisecond}} {
		if got := bucketPercentile(before, after, c.q); got != c.want {
			t.Errorf("q %v: %v, want %v", c.q, got, c.want)
		}
	}
	if got := bucketPercentile(before, before, 0.99); got != 0 {
		t.Errorf("no observations: %v", got)
	}
}
