package menu

import (
	"strings"
	"testing"
	"time"
)

// reachConfig is base with okMenu, and text replaced (old, new, ...).
func reachConfig(t *testing.T, pairs ...string) string {
	t.Helper()
	cfg := base + okMenu
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(cfg, pairs[i]) {
			t.Fatalf("%q is not in the test configuration", pairs[i])
		}
		cfg = strings.Replace(cfg, pairs[i], pairs[i+1], 1)
	}
	return cfg
}

const (
	g1Line    = "  - id: g1\n    name: Gruppo uno\n"
	g2Line    = "  - {id: g2, name: Gruppo due}\n"
	op1Line   = "  - {login: op1, name: Operatore uno, endpoint: PJSIP/op1, groups: {g1: 0, g2: 0}}\n"
	stdSched  = "    holidays: italy\n"
	routeToG1 = `"1": {label: "Uno", group: g1}`
)

func TestReachPasses(t *testing.T) {
	t.Parallel()
	for name, yaml := range map[string]string{
		// A group nobody serves whose callers go on to one somebody does.
		"no operators, passed on": reachConfig(t, g2Line, g2Line+"  - {id: g3, name: Gruppo tre, queue: {no_operators: \"group:g1\"}}\n",
			routeToG1, `"1": {label: "Uno", group: g3}`),
		// Overflows that chain without closing a circle.
		"overflow chain": reachConfig(t, g1Line, g1Line+"    queue: {max_wait: 60s, overflow: \"group:g2\"}\n",
			g2Line, "  - {id: g2, name: Gruppo due, queue: {no_operators: \"group:g3\"}}\n  - {id: g3, name: Gruppo tre}\n",
			op1Line, "  - {login: op1, name: Operatore uno, endpoint: PJSIP/op1, groups: {g1: 0, g2: 0, g3: 0}}\n"),
		// Afternoon hours that meet the service's from 13:00 to 18:00.
		"partial overlap": reachConfig(t, stdSched, stdSched+"  pom:\n    weekly: {mon-fri: [\"13:00-20:00\"]}\n",
			g1Line, g1Line+"    schedule: pom\n"),
		// A group closed all week but for a dated extra opening.
		"only extra openings": reachConfig(t, stdSched, stdSched+"  evento:\n    weekly: {sun: []}\n    openings: [{date: \"2026-12-13\", from: \"09:00\", to: \"12:00\"}]\n",
			g1Line, g1Line+"    schedule: evento\n"),
	} {
		if _, err := Parse("x.yaml", []byte(yaml)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Each kind of unreachable path is an error at file:line.
func TestReachProblems(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		yaml string
		want []string
	}{
		{"two-group overflow cycle", reachConfig(t,
			g1Line, g1Line+"    queue: {max_wait: 60s, overflow: \"group:g2\"}\n",
			g2Line, "  - {id: g2, name: Gruppo due, queue: {max_wait: 60s, overflow: \"group:g1\"}}\n"),
			[]string{`x.yaml:16:12: group "g1": queue overflow cycle g1 → g2 → g1: callers would be passed round it`}},
		{"three-group cycle through no_operators", reachConfig(t,
			g1Line, g1Line+"    queue: {no_operators: \"group:g2\"}\n",
			g2Line, "  - {id: g2, name: Gruppo due, queue: {max_wait: 60s, overflow: \"group:g3\"}}\n  - {id: g3, name: Gruppo tre, queue: {max_waiting: 5, overflow: \"group:g1\"}}\n",
			op1Line, "  - {login: op1, name: Operatore uno, endpoint: PJSIP/op1, groups: {g1: 0, g2: 0, g3: 0}}\n"),
			[]string{`x.yaml:16:12: group "g1": queue overflow cycle g1 → g2 → g3 → g1`}},
		{"routed group nobody serves", reachConfig(t,
			g2Line, g2Line+"  - {id: g3, name: Gruppo tre, queue: {no_operators: message}}\n",
			routeToG1, `"1": {label: "Uno", group: g3}`),
			[]string{`x.yaml:17:5: group "g3" is routed to (menu option 1) but no operator serves it`}},
		{"overflow into a group nobody serves", reachConfig(t,
			g1Line, g1Line+"    queue: {max_wait: 60s, overflow: \"group:g3\"}\n",
			g2Line, g2Line+"  - {id: g3, name: Gruppo tre}\n"),
			[]string{`x.yaml:18:5: group "g3" is routed to (queue.overflow of group "g1") but no operator serves it`}},
		{"operator group nobody serves", reachConfig(t, op1Line, "  - {login: op1, name: Operatore uno, endpoint: PJSIP/op1, groups: {g1: 0}}\n"),
			[]string{`x.yaml:16:5: group "g2" is routed to (ivr.operator_group) but no operator serves it`}},
		{"group hours never open", reachConfig(t,
			stdSched, stdSched+"  mai:\n    weekly: {mon-fri: []}\n",
			g1Line, g1Line+"    schedule: mai\n"),
			[]string{`x.yaml:16:5: group "g1": its schedule "mai" never opens`}},
		{"service hours never open", reachConfig(t, "      mon-fri: [\"08:00-18:00\"]\n      sat: [\"08:00-13:00\"]\n", "      sun: []\n"),
			[]string{`x.yaml:2:3: service.schedule "std" never opens`}},
		{"branch reachable only outside its group's hours", reachConfig(t,
			stdSched, stdSched+"  sera:\n    weekly: {mon-fri: [\"19:00-22:00\"], sun: [\"08:00-13:00\"]}\n",
			g1Line, g1Line+"    schedule: sera\n"),
			[]string{`x.yaml:36:10: menu option 1: routes to group "g1", whose hours (schedule "sera") never overlap the service's (schedule "std"): callers reach it only while it is closed`}},
		{"overflow into a group never open with it", reachConfig(t,
			stdSched, stdSched+"  sera:\n    weekly: {mon-fri: [\"19:00-22:00\"]}\n",
			g1Line, g1Line+"    queue: {max_wait: 60s, overflow: \"group:g3\"}\n",
			g2Line, g2Line+"  - {id: g3, name: Gruppo tre, schedule: sera}\n",
			op1Line, "  - {login: op1, name: Operatore uno, endpoint: PJSIP/op1, groups: {g1: 0, g2: 0, g3: 0}}\n"),
			[]string{`x.yaml:18:12: group "g1": its queue overflows to group "g3", whose hours (schedule "sera") never overlap its own (schedule "std")`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("x.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatal("parsed without error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("missing %q in:\n%v", w, err)
				}
			}
			if n := strings.Count(err.Error(), "\n") + 1; n != len(tc.want) {
				t.Errorf("%d problems, want %d:\n%v", n, len(tc.want), err)
			}
		})
	}
}

func TestScheduleLocality(t *testing.T) {
	t.Parallel()
	yaml := reachConfig(t, stdSched, stdSched+"    locality: Milano\n    local_holidays: [{date: \"11-10\", name: \"Fiera\"}, {date: \"05-1tue\", name: \"San Secondo\"}]\n")
	cfg, err := Parse("x.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	rome := cfg.Location()
	at := func(d string) time.Time {
		t.Helper()
		v, err := time.ParseInLocation(time.DateTime, d+" 10:00:00", rome)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	s := cfg.Schedule("std")
	if st := s.StatusAt(at("2026-12-07")); st.Open || st.Holiday != "Sant'Ambrogio (festa patronale di Milano)" {
		t.Errorf("7 December 2026 in Milano: %+v, want closed for Sant'Ambrogio", st)
	}
	if st := s.StatusAt(at("2026-11-10")); st.Open || st.Holiday != "Fiera" {
		t.Errorf("local_holidays still apply: %+v", st)
	}
	if st := s.StatusAt(at("2026-05-05")); st.Open || st.Holiday != "San Secondo" {
		t.Errorf("a movable local holiday (first Tuesday of May): %+v", st)
	}
	if st := s.StatusAt(at("2026-06-29")); !st.Open {
		t.Errorf("29 June is Rome's, not Milan's: %+v", st)
	}

	_, err = Parse("x.yaml", []byte(reachConfig(t, stdSched, stdSched+"    local_holidays: [{date: \"05-6tue\", name: \"X\"}]\n")))
	if want := `x.yaml:13:22: schedule "std": local holiday date "05-6tue" must be MM-DD`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("bad local holiday: %v, want %q", err, want)
	}
	_, err = Parse("x.yaml", []byte(reachConfig(t, stdSched, stdSched+"    locality: Atlantide\n")))
	want := `x.yaml:13:5: schedule "std": unknown locality "Atlantide"`
	if err == nil || !strings.Contains(err.Error(), want) || strings.Count(err.Error(), "\n") != 0 {
		t.Errorf("unknown locality: %v, want one problem %q", err, want)
	}
}
