package configs_test

// The Prometheus files: prometheus.yml and the alert rules pass promtool's
// checks and the rules' unit tests (prometheus/alerts_test.yml); every
// alert is fit to page someone and is tested firing and not firing; the
// service-level rules measure each group of helpdesk.yaml against its own
// threshold. That every ivr_* metric the rules name is one ivrd exports is
// checked in cmd/ivrd (TestAlertRulesNameExportedMetrics), which runs it.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/queues"
)

const (
	prometheusDir = "prometheus"
	alertRules    = "prometheus/alerts.yml"
	alertTests    = "prometheus/alerts_test.yml"
	// IVR_SKIP_PROMTOOL=1 turns a missing promtool into a skip.
	skipPromtoolEnv = "IVR_SKIP_PROMTOOL"
	// defaultServiceLevel is the reports' threshold for a group without
	// service_level (docs/configuration.md; panel.Options.ServiceLevel).
	defaultServiceLevel = 30 * time.Second
)

// promtool finds Debian's promtool (package prometheus, installed by
// scripts/install-deps.sh --browser, which the test command runs). Its
// absence fails the test: rules nobody checked are not shipped.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err == nil {
		return p
	}
	if os.Getenv(skipPromtoolEnv) == "1" {
		t.Skipf("no promtool, skipped (%s=1)", skipPromtoolEnv)
	}
	t.Fatalf("PROMTOOL NOT FOUND: the alert rules cannot be checked. Install Debian's prometheus package "+
		"(scripts/install-deps.sh --browser, or apt-get install prometheus), or set %s=1 to skip: %v", skipPromtoolEnv, err)
	return ""
}

// runPromtool runs promtool in dir and returns its output, failing the test
// on an error unless wantErr.
func runPromtool(t *testing.T, dir string, wantErr bool, args ...string) string {
	t.Helper()
	cmd := exec.Command(promtool(t), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if (err != nil) != wantErr {
		t.Fatalf("promtool %s: error %v, want error %v\n%s", strings.Join(args, " "), err, wantErr, out)
	}
	return string(out)
}

// TestPrometheusRules: prometheus.yml (with the rule files it loads) and
// the rules are valid, and the rules pass their unit tests.
func TestPrometheusRules(t *testing.T) {
	t.Parallel()
	runPromtool(t, prometheusDir, false, "check", "config", "prometheus.yml")
	runPromtool(t, prometheusDir, false, "check", "config", "prometheus-cluster.yml")
	runPromtool(t, prometheusDir, false, "check", "rules", "alerts.yml")
	runPromtool(t, prometheusDir, false, "test", "rules", "alerts_test.yml")
}

// ---------------------------------------------------------------------------
// Every alert pages well and is tested both ways.
// ---------------------------------------------------------------------------

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

type ruleTestFile struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		AlertRuleTest []struct {
			EvalTime  string           `yaml:"eval_time"`
			Alertname string           `yaml:"alertname"`
			ExpAlerts []map[string]any `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

// checkAlerts: each alert has a severity (critical or warning), a summary
// and a description, and a `for` of at least a minute (no page for a blip);
// the unit tests load these rules and see each alert fire and stay silent.
func checkAlerts(rules, tests string) []string {
	var rf ruleFile
	if err := yaml.Unmarshal([]byte(rules), &rf); err != nil {
		return []string{fmt.Sprintf("%s: %v", alertRules, err)}
	}
	var tf ruleTestFile
	if err := yaml.Unmarshal([]byte(tests), &tf); err != nil {
		return []string{fmt.Sprintf("%s: %v", alertTests, err)}
	}
	var problems []string
	if !slices.Contains(tf.RuleFiles, filepath.Base(alertRules)) {
		problems = append(problems, fmt.Sprintf("%s does not load %s", alertTests, filepath.Base(alertRules)))
	}
	firing, silent := map[string]bool{}, map[string]bool{}
	for _, tc := range tf.Tests {
		for _, at := range tc.AlertRuleTest {
			if len(at.ExpAlerts) > 0 {
				firing[at.Alertname] = true
			} else {
				silent[at.Alertname] = true
			}
		}
	}
	alerts := 0
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts++
			if s := r.Labels["severity"]; s != "critical" && s != "warning" {
				problems = append(problems, fmt.Sprintf("%s: severity %q, want critical or warning", r.Alert, s))
			}
			for _, a := range []string{"summary", "description"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					problems = append(problems, fmt.Sprintf("%s: no %s", r.Alert, a))
				}
			}
			if d, err := time.ParseDuration(r.For); err != nil || d < time.Minute {
				problems = append(problems, fmt.Sprintf("%s: for %q, want a minute or more (a blip must not page)", r.Alert, r.For))
			}
			if !firing[r.Alert] {
				problems = append(problems, fmt.Sprintf("%s: no test in %s sees it fire", r.Alert, alertTests))
			}
			if !silent[r.Alert] {
				problems = append(problems, fmt.Sprintf("%s: no test in %s sees it stay silent", r.Alert, alertTests))
			}
		}
	}
	if alerts == 0 {
		problems = append(problems, alertRules+": no alerts")
	}
	return problems
}

func TestAlertsPageWellAndAreTested(t *testing.T) {
	t.Parallel()
	report(t, checkAlerts(read(t, alertRules), read(t, alertTests)))
}

// checkComposePrometheus: docker-compose's Prometheus gets the rules where
// prometheus.yml loads them (its directory).
func checkComposePrometheus(compose, prometheusYML string) []string {
	var p struct {
		RuleFiles []string `yaml:"rule_files"`
	}
	if err := yaml.Unmarshal([]byte(prometheusYML), &p); err != nil {
		return []string{"prometheus.yml: " + err.Error()}
	}
	if !slices.Contains(p.RuleFiles, "alerts.yml") {
		return []string{"prometheus.yml: rule_files does not load alerts.yml"}
	}
	var c struct {
		Services map[string]struct {
			Volumes []string `yaml:"volumes"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal([]byte(compose), &c); err != nil {
		return []string{composeFile + ": " + err.Error()}
	}
	if !slices.Contains(c.Services["prometheus"].Volumes, "./configs/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro") {
		return []string{composeFile + ": the prometheus service does not mount configs/prometheus/alerts.yml beside its prometheus.yml"}
	}
	return nil
}

// checkClusterPrometheus: the cluster's prometheus-cluster.yml is
// prometheus.yml with the job ivrd's targets the cluster's instances
// (each ivrd-N service of the profile, port 8080), and its service mounts
// the same alerts.
func checkClusterPrometheus(compose, single, cluster string) []string {
	var p []string
	targets := func(name, doc string) (map[string]any, []string) {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			p = append(p, name+": "+err.Error())
			return nil, nil
		}
		var got []string
		jobs, _ := m["scrape_configs"].([]any)
		for _, j := range jobs {
			job, _ := j.(map[string]any)
			if job["job_name"] != "ivrd" {
				continue
			}
			statics, _ := job["static_configs"].([]any)
			for _, sc := range statics {
				ts, _ := sc.(map[string]any)["targets"].([]any)
				for _, t := range ts {
					got = append(got, fmt.Sprint(t))
				}
			}
			delete(job, "static_configs")
		}
		return m, got
	}
	one, _ := targets("prometheus.yml", single)
	two, got := targets("prometheus-cluster.yml", cluster)
	if one == nil || two == nil {
		return p
	}
	if fmt.Sprint(one) != fmt.Sprint(two) {
		p = append(p, "prometheus-cluster.yml differs from prometheus.yml in more than the job ivrd's targets")
	}
	var c struct {
		Services map[string]struct {
			Profiles []string `yaml:"profiles"`
			Volumes  []string `yaml:"volumes"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal([]byte(compose), &c); err != nil {
		return append(p, composeFile+": "+err.Error())
	}
	var want []string
	for name, svc := range c.Services {
		if strings.HasPrefix(name, "ivrd-") && slices.Contains(svc.Profiles, "cluster") {
			want = append(want, name+":8080")
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if len(want) == 0 || !slices.Equal(got, want) {
		p = append(p, fmt.Sprintf("prometheus-cluster.yml scrapes %q, want the cluster's instances %q", got, want))
	}
	vols := c.Services["prometheus-cluster"].Volumes
	for _, v := range []string{"./configs/prometheus/prometheus-cluster.yml:/etc/prometheus/prometheus.yml:ro",
		"./configs/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro"} {
		if !slices.Contains(vols, v) {
			p = append(p, fmt.Sprintf("%s: the prometheus-cluster service does not mount %s", composeFile, v))
		}
	}
	return p
}

func TestClusterPrometheus(t *testing.T) {
	t.Parallel()
	report(t, checkClusterPrometheus(read(t, composeFile), read(t, "prometheus/prometheus.yml"), read(t, "prometheus/prometheus-cluster.yml")))
}

func TestClusterPrometheusChecksCatch(t *testing.T) {
	t.Parallel()
	compose, single, cluster := read(t, composeFile), read(t, "prometheus/prometheus.yml"), read(t, "prometheus/prometheus-cluster.yml")
	for _, c := range []struct{ name, compose, cluster, want string }{
		{"one instance missing", compose, strings.Replace(cluster, `, "ivrd-2:8080"`, "", 1), "want the cluster's instances"},
		{"another interval", compose, strings.Replace(cluster, "scrape_interval: 15s", "scrape_interval: 30s", 1), "differs from prometheus.yml"},
		{"rules not mounted", strings.Replace(compose, "- ./configs/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro\n      - prometheus-cluster-data", "- prometheus-cluster-data", 1), cluster, "does not mount ./configs/prometheus/alerts.yml"},
	} {
		p := checkClusterPrometheus(c.compose, single, c.cluster)
		if !slices.ContainsFunc(p, func(s string) bool { return strings.Contains(s, c.want) }) {
			t.Errorf("%s: problems %q, want one saying %q", c.name, p, c.want)
		}
	}
}

func TestComposeLoadsTheAlerts(t *testing.T) {
	t.Parallel()
	report(t, checkComposePrometheus(read(t, composeFile), read(t, "prometheus/prometheus.yml")))
}

// ---------------------------------------------------------------------------
// The service-level rules against the groups of helpdesk.yaml.
// ---------------------------------------------------------------------------

// serviceLevelTest writes a promtool unit test of the recorded service
// level of every group of cfg against its own threshold, and returns its
// path. Two scenarios, one answer a minute for every group: every answer
// just within the threshold (the ratio must be 1: a rule on a lower bucket
// gives 0), and every answer in the bucket just above it (the ratio must
// be 0: a rule on a higher bucket gives 1). A group no rule covers, or
// covered under another threshold, has no sample or a wrong label.
func serviceLevelTest(t *testing.T, cfg *menu.Config) (path string, problems []string) {
	t.Helper()
	buckets := queues.TimeToAnswerBuckets()
	rules, err := filepath.Abs(alertRules)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "rule_files: [%q]\nevaluation_interval: 1m\ntests:\n", rules)
	for _, within := range []bool{true, false} {
		var series, samples strings.Builder
		for id, sl := range cfg.GroupServiceLevels(defaultServiceLevel) {
			threshold := sl.Seconds()
			i := slices.Index(buckets, threshold)
			if i < 0 {
				problems = append(problems, fmt.Sprintf("group %s: service_level %v is not a bucket of ivr_queue_time_to_answer_seconds %v: "+
					"the alert cannot measure it (add the bucket in queues/metrics.go)", id, sl, buckets))
				continue
			}
			for _, le := range append(slices.Clone(buckets), 0) { // 0: +Inf
				in := le == 0 || le > threshold || (le == threshold && within)
				name := strconv.FormatFloat(le, 'g', -1, 64)
				if le == 0 {
					name = "+Inf"
				}
				values := "0x90"
				if in {
					values = "0+1x90"
				}
				fmt.Fprintf(&series, "      - series: 'ivr_queue_time_to_answer_seconds_bucket{group=%q, le=%q}'\n        values: '%s'\n", id, name, values)
			}
			fmt.Fprintf(&series, "      - series: 'ivr_queue_time_to_answer_seconds_count{group=%q}'\n        values: '0+1x90'\n", id)
			ratio := 0
			if within {
				ratio = 1
			}
			fmt.Fprintf(&samples, "          - labels: '{group=%q, threshold=\"%gs\"}'\n            value: %d\n", id, threshold, ratio)
		}
		fmt.Fprintf(&b, "  - interval: 1m\n    input_series:\n%s", series.String())
		fmt.Fprintf(&b, "    promql_expr_test:\n      - expr: group:ivr_queue_answered_within_sl:increase1h / ignoring (threshold) group_left group:ivr_queue_offered:increase1h\n")
		fmt.Fprintf(&b, "        eval_time: 80m\n        exp_samples:\n%s", samples.String())
	}
	path = filepath.Join(t.TempDir(), "service_level_test.yml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, problems
}

func loadHelpdesk(t *testing.T, src string) *menu.Config {
	t.Helper()
	cfg, err := menu.Parse(helpdeskYAML, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestServiceLevelRulesFollowTheConfig(t *testing.T) {
	t.Parallel()
	cfg := loadHelpdesk(t, read(t, helpdeskYAML))
	path, problems := serviceLevelTest(t, cfg)
	report(t, problems)
	runPromtool(t, prometheusDir, false, "test", "rules", path)
}

// The service-level check must fail when the YAML and the rules part: a
// group moved to another threshold, one not on a bucket.
func TestServiceLevelCheckCatches(t *testing.T) {
	t.Parallel()
	src := read(t, helpdeskYAML)
	const lotto6 = "    service_level: 20s\n"
	if !strings.Contains(src, lotto6) {
		t.Fatalf("%s no longer sets lotto6's service_level 20s: update this test", helpdeskYAML)
	}
	for _, tc := range []struct {
		name, level, want string
	}{
		{"lotto6 at 45s, the rules at 20s", "45s", "FAILED"},
		{"lotto6 at the default, the rules at 20s", "30s", "FAILED"},
	} {
		cfg := loadHelpdesk(t, strings.Replace(src, lotto6, "    service_level: "+tc.level+"\n", 1))
		path, problems := serviceLevelTest(t, cfg)
		report(t, problems)
		if out := runPromtool(t, prometheusDir, true, "test", "rules", path); !strings.Contains(out, tc.want) {
			t.Errorf("%s: promtool said\n%s", tc.name, out)
		}
	}
	cfg := loadHelpdesk(t, strings.Replace(src, lotto6, "    service_level: 25s\n", 1))
	if _, problems := serviceLevelTest(t, cfg); !slices.ContainsFunc(problems, func(p string) bool {
		return strings.Contains(p, "group lotto6: service_level 25s is not a bucket")
	}) {
		t.Errorf("a threshold between buckets: problems %q", problems)
	}
}

// The structural checks must fail on broken copies.
func TestAlertChecksCatch(t *testing.T) {
	t.Parallel()
	rules, tests := read(t, alertRules), read(t, alertTests)
	compose, prom := read(t, composeFile), read(t, "prometheus/prometheus.yml")
	replace := func(text, old, new string) string {
		t.Helper()
		if !strings.Contains(text, old) {
			t.Fatalf("the fixture no longer contains %q: update this test", old)
		}
		return strings.Replace(text, old, new, 1)
	}
	expect := func(what string, problems []string, want string) {
		t.Helper()
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, want) }) {
			t.Errorf("%s: want a problem containing %q, got %q", what, want, problems)
		}
	}
	expect("no for", checkAlerts(replace(rules, "        for: 2m\n", ""), tests), `IvrdDown: for ""`)
	expect("no severity", checkAlerts(replace(rules, "severity: critical", "severity: page"), tests), `severity "page"`)
	expect("no summary", checkAlerts(replace(rules, `summary: "ivrd {{ $labels.instance }} does not answer on /metrics"`, `summary: ""`), tests),
		"IvrdDown: no summary")
	expect("never seen firing", checkAlerts(rules, replace(tests, "alertname: IvrdDown\n        exp_alerts:\n          - exp_labels",
		"alertname: IvrdDownX\n        exp_alerts:\n          - exp_labels")), "IvrdDown: no test in prometheus/alerts_test.yml sees it fire")
	expect("never seen silent", checkAlerts(rules, replace(tests, "alertname: IvrdDown\n        exp_alerts: []", "alertname: IvrdDownX\n        exp_alerts: []")),
		"IvrdDown: no test in prometheus/alerts_test.yml sees it stay silent")
	expect("rules not loaded by the tests", checkAlerts(rules, replace(tests, "  - alerts.yml\n", "  - other.yml\n")), "does not load alerts.yml")
	expect("not mounted", checkComposePrometheus(replace(compose, "      - ./configs/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro\n", ""), prom),
		"does not mount")
	expect("not loaded", checkComposePrometheus(compose, replace(prom, "  - alerts.yml\n", "")), "does not load alerts.yml")
}
