package menu

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var demoSecret = []byte("demo-pin-secret-not-for-production")

func loadExample(t testing.TB) *Config {
	t.Helper()
	data, err := os.ReadFile("../configs/helpdesk.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse("helpdesk.yaml", data)
	if err != nil {
		t.Fatalf("the example configuration does not validate:\n%v", err)
	}
	return cfg
}

// Every help-desk configuration shipped in configs/ must validate.
func TestConfigsValidate(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../configs/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), "\nmenu:") {
			continue // not a help-desk configuration (Prometheus, Grafana...)
		}
		n++
		if _, err := Parse(f, data); err != nil {
			t.Errorf("%s does not validate:\n%v", f, err)
		}
	}
	if n == 0 {
		t.Fatal("no help-desk configuration found in configs/")
	}
}

func TestExampleEncodesSeed003(t *testing.T) {
	t.Parallel()
	cfg := loadExample(t)
	if cfg.Service.Number != "800749049" || cfg.Location().String() != "Europe/Rome" {
		t.Fatalf("service = %+v, location %v", cfg.Service, cfg.Location())
	}
	if got := strings.Join(cfg.Service.Languages, ","); got != "it,en" {
		t.Errorf("languages = %s, want it,en", got)
	}
	want := map[string]string{
		"1-2": "lotto2", "1-3": "lotto3", "1-4": "lotto4", "1-5": "lotto5", "1-6": "lotto6",
		"2-1": "pct-libero-foro", "2-2": "pct-magistrati", "3-1": "sicoge", "4": "modifiche",
	}
	for id, group := range want {
		n := cfg.Node(id)
		if n == nil {
			t.Errorf("node %s missing", id)
			continue
		}
		if n.Action != KindRoute || n.Group != group {
			t.Errorf("node %s: %s %s, want route %s", id, n.Action, n.Group, group)
		}
	}
	if !cfg.Node("1").OrgRoute {
		t.Error("option 1 must route known Administrations straight to their lot")
	}
	if r := cfg.Node("4").RequirePIN; r == nil || len(r.Roles) != 1 || r.Roles[0] != RoleReferent {
		t.Errorf("option 4 must require a referent PIN, got %+v", r)
	}
	// Seed 001's PINs, under the demo secret.
	for pin, role := range map[string]Role{"5035": RoleReferent, "1035": RoleUser} {
		res := cfg.VerifyPIN(demoSecret, pin, "")
		if res.Status != PINAccepted || res.Role != role || res.Organization != "tribunale-roma-demo" {
			t.Errorf("PIN %s: %+v", pin, res)
		}
	}
}

func TestParseReportsEveryProblemWithPosition(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		yaml string
		want []string // "LINE:COL: substring"
	}{
		{"unknown fields", strings.Replace(base, "  max_retries: 3", "  languge: it", 1) + "bogus: 1\n" + okMenu, []string{
			"30:1: unknown field \"bogus\"", "22:3: unknown field \"languge\" in ivr"}},
		{"unknown after-hours group", strings.Replace(base, "  max_retries: 3", "  max_retries: 3\n  after_hours_group: nowhere", 1) + okMenu, []string{
			`ivr.after_hours_group: unknown group "nowhere"`}},
		{"negative max_calls", strings.Replace(base, "  max_retries: 3", "  max_retries: 3\n  max_calls: -1", 1) + okMenu, []string{
			"ivr.max_calls -1 is negative"}},
		{"wrong kinds", strings.Replace(base, "first_digit_timeout: 5s", "first_digit_timeout: soon", 1) + "", []string{
			"\"soon\" is not a duration"}},
		{"unknown group and empty submenu", base + `menu:
  prompt: {it: "Menu"}
  options:
    "1": {label: "Uno", group: nowhere}
    "2": {label: "Due", action: menu, prompt: {it: "x"}}
`, []string{"33:10: menu option 1: unknown group \"nowhere\"", "34:10: menu option 2: a menu with no options"}},
		{"duplicate key", base + `menu:
  prompt: {it: "Menu"}
  options:
    "1": {label: "Uno", group: g1}
    1: {label: "Uno bis", group: g1}
`, []string{"34:5: menu.options: duplicate key \"1\""}},
		{"no way out and missing prompt", base + `menu:
  options:
    "1": {label: "Uno"}
`, []string{"31:3: menu: missing \"it\" prompt text", "32:10: menu option 1: the node has no way out"}},
		{"shadowed key and depth", base + `menu:
  prompt: {it: "Menu"}
  options:
    "*": {label: "Star", group: g1}
`, []string{"33:10: menu: option \"*\" is unreachable: \"*\" is the back key"}},
		{"pin without organizations", base + `menu:
  prompt: {it: "Menu"}
  options:
    "4": {label: "Modifiche", group: g1, require_pin: {roles: [referent]}}
`, []string{"no organization has one"}},
		{"timeouts out of range", strings.Replace(base, "first_digit_timeout: 5s", "first_digit_timeout: 500s", 1) + okMenu, []string{
			"first_digit_timeout 8m20s is out of range"}},
		{"shared pin", base + `organizations:
  - {id: a, name: A, pins: {referent: "hmac-sha256:d94e65fccf9afc78c1014b89c267f2ec58f8470a663998424971e69a12502f38"}}
  - {id: b, name: B, pins: {user: "hmac-sha256:d94e65fccf9afc78c1014b89c267f2ec58f8470a663998424971e69a12502f38"}}
` + okMenu, []string{"32:5: organization \"b\": its user PIN is the same as the referent PIN of \"a\""}},
		{"clear pin", base + `organizations:
  - {id: a, name: A, pins: {referent: "5035"}}
` + okMenu, []string{"never the PIN itself"}},
		{"operators and queues", strings.NewReplacer(
			"  - {id: g2, name: Gruppo due}\n", `  - {id: g2, name: Gruppo due, queue: {strategy: fastest, overflow: "group:g2", no_operators: "group:zz", ring_timeout: 1s, break_out_key: "**"}}`+"\n",
			"  - {login: op1, name: Operatore uno, endpoint: PJSIP/op1, groups: {g1: 0, g2: 0}}\n",
			"  - {login: op1, name: Operatore uno, endpoint: PJSIP/op1, groups: {g1: 0, nowhere: 1}}\n  - {login: op1, name: \"\", endpoint: PJSIP/op1, groups: {g1: -1}}\n",
		).Replace(base) + okMenu, []string{
			`16:39: group "g2": queue.strategy "fastest"`, `queue.overflow sends callers back to the same group`,
			`queue.no_operators: unknown group "zz"`, `queue.ring_timeout 1s is out of range`, `queue.break_out_key "**"`,
			`18:5: operator "op1": unknown group "nowhere"`, `19:5: operator login "op1" is used twice (first at line 18)`,
			`operator "op1" needs a name`, `endpoint PJSIP/op1 is also "op1"'s phone`, `penalty -1 in group "g1"`}},
		{"supervisors", strings.Replace(base, "ivr:\n", `supervisors:
  - {login: sup1, name: Capo, endpoint: PJSIP/sup1, groups: [g1, nowhere, g1]}
  - {login: sup1, name: "", endpoint: PJSIP/op1, groups: [g2]}
  - {login: op1, name: Doppio, endpoint: sup, groups: []}
ivr:
`, 1) + okMenu, []string{
			`20:5: supervisor "sup1": unknown group "nowhere"`, `20:5: supervisor "sup1": group "g1" listed twice`,
			`21:5: supervisor login "sup1" is used twice (first at line 20)`, `21:5: supervisor "sup1" needs a name`,
			`21:5: supervisor "sup1": endpoint PJSIP/op1 is also operator op1's phone`,
			`22:5: supervisor login "op1" is an operator's`, `22:5: supervisor "op1": endpoint "sup" must look like PJSIP/sup1`}},
		{"overflow wait", strings.Replace(base, "  - {id: g2, name: Gruppo due}", "  - {id: g2, name: Gruppo due, queue: {overflow: wait, max_wait: 5s}}", 1) + okMenu,
			[]string{"queue.overflow cannot be wait", "queue.max_wait 5s: use 0 (no limit) or 30s..4h"}},
		{"survey", strings.Replace(base, "  - {id: g2, name: Gruppo due}", "  - {id: g2, name: Gruppo due, survey: {enabled: true, timeout: 1m, comment_max: 1s}}\n  - {id: g3, name: Gruppo tre, survey: {comment: true}}", 1) + okMenu,
			[]string{`16:40: group "g2": survey.timeout 1m0s is out of range 2s..30s`, `group "g2": survey.comment_max 1s is out of range 5s..2m`,
				`17:40: group "g3": survey has settings but is not enabled`}},
		{"survey unknown field", strings.Replace(base, "  - {id: g2, name: Gruppo due}", "  - {id: g2, name: Gruppo due, survey: {enabled: true, bogus: 1}}", 1) + okMenu,
			[]string{`unknown field "bogus" in groups[1].survey`}},
		{"callback", strings.Replace(base, "  - {id: g2, name: Gruppo due}", `  - {id: g2, name: Gruppo due, callback: {enabled: true, key: "*", after: 2h, endpoint: "PJSIP/carrier", caller_id: "12", ring_timeout: 5s, retries: 11, retry_interval: 10s, closing_margin: 5h}}
  - {id: g3, name: Gruppo tre, callback: {key: "3"}}
  - {id: g4, name: Gruppo quattro, callback: {enabled: true, endpoint: "PJSIP/{national}@carrier", caller_id: "800749049", amd_context: "ivr-amd"}}
  - {id: g5, name: Gruppo cinque, callback: {enabled: true, endpoint: "PJSIP/{national}@carrier", caller_id: "800749049", detect_voicemail: true, amd_context: "amd [x]"}}`, 1) + okMenu,
			[]string{`16:42: group "g2": callback.key "*" is also the queue's break_out_key`, `callback.after 2h0m0s is out of range 0s..1h`,
				`callback.endpoint "PJSIP/carrier" must contain {number} or {national}`, `callback.caller_id "12" is not a telephone number`,
				`callback.ring_timeout 5s is out of range`, `callback.retries 11 is out of range 0..10`, `callback.retry_interval 10s is out of range 1m..24h`,
				`callback.closing_margin 5h0m0s is out of range 0s..4h`, `17:42: group "g3": callback has settings but is not enabled`,
				`18:46: group "g4": callback.amd_context is set but detect_voicemail is not`,
				`19:45: group "g5": callback.amd_context "amd [x]" is not a dialplan context name`}},
		{"syntax", "service: [\n", []string{"1:1: did not find expected node content"}}, {"syntax with line", "a: 1\n b: 2\n", []string{"2:"}},
		{"empty", "", []string{"1:1: empty configuration"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := Parse("x.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatalf("parsed without error: %+v", cfg.Service)
			}
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("error is %T, want Problems: %v", err, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), "x.yaml:"+w) && !strings.Contains(err.Error(), w) {
					t.Errorf("missing %q in:\n%v", w, err)
				}
			}
			for _, p := range ps {
				if p.Line < 1 || p.Col < 1 {
					t.Errorf("problem without position: %+v", p)
				}
			}
		})
	}
}

// base is a small valid configuration without menu (29 lines).
const base = `service:
  name: Test
  number: "800123456"
  timezone: Europe/Rome
  languages: [it]
  schedule: std
schedules:
  std:
    weekly:
      mon-fri: ["08:00-18:00"]
      sat: ["08:00-13:00"]
    holidays: italy
groups:
  - id: g1
    name: Gruppo uno
  - {id: g2, name: Gruppo due}
operators:
  - {login: op1, name: Operatore uno, endpoint: PJSIP/op1, groups: {g1: 0, g2: 0}}
ivr:
  first_digit_timeout: 5s
  inter_digit_timeout: 3s
  max_retries: 3
  back_key: "*"
  repeat_key: "#"
  operator_key: "0"
  operator_group: g2
  on_failure: {action: hangup}
  pin: {max_attempts: 3, lockout: 10m}
  message: {max_duration: 60s}
`

const okMenu = `menu:
  prompt: {it: "Per il servizio uno prema 1. Per un operatore prema 0. Per riascoltare prema cancelletto."}
  options:
    "1": {label: "Uno", group: g1}
`

func TestBaseLineCount(t *testing.T) {
	// The expected positions above count on base being 29 lines long.
	if n := strings.Count(base, "\n"); n != 29 {
		t.Fatalf("base has %d lines, want 29", n)
	}
	if _, err := Parse("ok.yaml", []byte(base+okMenu)); err != nil {
		t.Fatalf("base+okMenu must be valid: %v", err)
	}
}

func TestNormalizeNumber(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"3331234567":      "+393331234567",
		"06 1234 5678":    "+390612345678",
		"+39 06 12345678": "+390612345678",
		"0039061234567":   "+39061234567",
		"800749049":       "+39800749049",
		"+442071234567":   "+442071234567",
	}
	for in, want := range cases {
		got, err := NormalizeNumber(in)
		if err != nil || got != want {
			t.Errorf("NormalizeNumber(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "anonymous", "12ab", "+0123", "123", "+1234567890123456"} {
		if got, err := NormalizeNumber(bad); err == nil {
			t.Errorf("NormalizeNumber(%q) = %q, want an error", bad, got)
		}
	}
}

func TestOrganizationByCaller(t *testing.T) {
	t.Parallel()
	cfg := loadExample(t)
	cases := map[string]string{
		"+390699991234": "tribunale-roma-demo",
		"+390612345678": "tribunale-roma-demo",
		"+390299990000": "corte-appello-milano-demo",
		"+393331234567": "",
		"":              "",
	}
	for number, want := range cases {
		got := ""
		if o := cfg.OrganizationByCaller(number); o != nil {
			got = o.ID
		}
		if got != want {
			t.Errorf("OrganizationByCaller(%q) = %q, want %q", number, got, want)
		}
	}
}

func TestVerifyPIN(t *testing.T) {
	t.Parallel()
	cfg := loadExample(t)
	cases := []struct {
		pin, callerOrg string
		want           PINStatus
		role           Role
	}{
		{"5035", "", PINAccepted, RoleReferent},
		{"5035", "tribunale-roma-demo", PINAccepted, RoleReferent},
		{"5035", "corte-appello-milano-demo", PINWrong, ""}, // another Administration's PIN
		{"6047", "", PINAccepted, RoleReferent},
		{"5036", "", PINWrong, ""},
		{"", "", PINNoInput, ""},
		{"12", "", PINWrong, ""},
		{"50a5", "", PINWrong, ""},
	}
	for _, c := range cases {
		got := cfg.VerifyPIN(demoSecret, c.pin, c.callerOrg)
		if got.Status != c.want || got.Role != c.role {
			t.Errorf("VerifyPIN(%q, %q) = %+v, want %s %s", c.pin, c.callerOrg, got, c.want, c.role)
		}
	}
	// Under another secret the same PIN means nothing.
	if got := cfg.VerifyPIN([]byte("other"), "5035", ""); got.Status != PINWrong {
		t.Errorf("PIN under a wrong secret: %+v", got)
	}
	h1, _ := HashPIN(demoSecret, "5035")
	h2, _ := HashPIN([]byte("other"), "5035")
	if h1 == h2 || strings.Contains(h1, "5035") {
		t.Errorf("hash must depend on the secret and hide the PIN: %s %s", h1, h2)
	}
}

func FuzzParse(f *testing.F) {
	example, err := os.ReadFile("../configs/helpdesk.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte(base + okMenu))
	f.Add([]byte("menu: {options: {\"1\": {options: {\"1\": {}}}}}"))
	f.Add([]byte("a: &x [*x]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data)
		if err == nil {
			if cfg.Menu == nil || cfg.ServiceSchedule() == nil {
				t.Fatal("a valid configuration must have a menu and a schedule")
			}
			return
		}
		var ps Problems
		if !errors.As(err, &ps) || len(ps) == 0 {
			t.Fatalf("error is not a list of problems: %T %v", err, err)
		}
	})
}

// Every ticket gets a group: the Administration's own, else the
// configured one.
func TestDefaultGroup(t *testing.T) {
	t.Parallel()
	cfg := loadExample(t)
	org := cfg.Organization("tribunale-roma-demo")
	if got := cfg.DefaultGroup(org.ID); got != org.Group || got == "" {
		t.Errorf("known Administration: %q, want its group %q", got, org.Group)
	}
	if got := cfg.DefaultGroup(""); got != "accoglienza" {
		t.Errorf("unknown caller: %q, want ivr.operator_group accoglienza", got)
	}
	cfg.IVR.AfterHoursGroup = "lotto6"
	if got := cfg.DefaultGroup(""); got != "lotto6" {
		t.Errorf("with after_hours_group: %q", got)
	}
}

func TestSupervisorWatches(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("x.yaml", []byte(strings.Replace(base, "ivr:\n", "supervisors:\n  - {login: sup1, name: Capo, endpoint: PJSIP/sup1, groups: [g1]}\n  - {login: admin, name: Admin, endpoint: PJSIP/adm}\nivr:\n", 1)+okMenu))
	if err != nil {
		t.Fatal(err)
	}
	sup := cfg.Supervisor("sup1")
	if sup == nil || sup.Endpoint != "PJSIP/sup1" || !sup.Watches("g1") || sup.Watches("g2") || sup.Watches("") {
		t.Errorf("sup1: %+v", sup)
	}
	if a := cfg.Supervisor("admin"); a == nil || a.Watches("g1") {
		t.Errorf("admin: %+v", a)
	}
	if cfg.Supervisor("op1") != nil || cfg.Supervisor("nobody").Watches("g1") {
		t.Error("an operator or nobody is a supervisor")
	}
}
