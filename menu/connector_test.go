package menu

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// zammadOK is a valid connector section; base+okMenu is 33 lines, so it
// starts at line 34.
const zammadOK = `connector:
  zammad:
    url: https://zammad.example.org
    token_env: ZAMMAD_TOKEN
    customer: centralino@comune.example.it
    default_group: Users
    groups:
      g1: Primo livello
    priorities:
      critical: "3 high"
    categories:
      PCT: pct
    statuses:
      open: in_progress
`

func TestConnectorConfig(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("x.yaml", []byte(base+okMenu+zammadOK))
	if err != nil {
		t.Fatal(err)
	}
	z := cfg.Connector.Zammad
	// Unmapped priorities and statuses take the defaults of a fresh
	// Zammad; a statuses mapping given replaces the default one.
	if z.Priorities["critical"] != "3 high" || z.Priorities["medium"] != "2 normal" || z.States["waiting"] != "pending reminder" ||
		len(z.Statuses) != 1 || z.Statuses["open"] != "in_progress" || z.Groups["g1"] != "Primo livello" {
		t.Fatalf("mappings %+v", z)
	}
	if z.PollInterval != time.Minute || z.Timeout != 10*time.Second || z.PendingFor != 24*time.Hour {
		t.Fatalf("defaults %v %v %v", z.PollInterval, z.Timeout, z.PendingFor)
	}
	if p := z.KeyPos("groups", "g1"); p.Line != 41 || p.Col != 7 {
		t.Fatalf("groups.g1 at %+v, want 41:7", p)
	}
}

func TestConnectorConfigProblems(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, from, to string
		want           []string
	}{
		{"unknown group", "      g1: Primo livello", "      g1: Primo livello\n      nowhere: Altro", []string{
			`x.yaml:42:7: connector.zammad.groups: unknown group "nowhere"`}},
		{"unknown priority", `      critical: "3 high"`, `      urgentissimo: "3 high"`, []string{
			`x.yaml:43:7: connector.zammad.priorities: unknown priority "urgentissimo"`}},
		{"unknown status pulled", "      open: in_progress", "      open: aperto", []string{
			`x.yaml:47:7: connector.zammad.statuses.open: unknown status "aperto"`}},
		{"token in the file", "    token_env: ZAMMAD_TOKEN", "    token: s3cr3t", []string{
			"x.yaml:37:5: connector.zammad.token: the token does not belong in this file",
			"token_env or token_file is required"}},
		{"bad url and customer", "    url: https://zammad.example.org", "    url: zammad.example.org", []string{
			"x.yaml:36:5: connector.zammad.url: an absolute http or https URL is required"}},
		{"bad customer", "    customer: centralino@comune.example.it", "    customer: nobody", []string{
			"x.yaml:38:5: connector.zammad.customer:"}},
		{"comma in a tag", "      PCT: pct", "      PCT: \"pct,tribunale\"", []string{
			"x.yaml:45:7: connector.zammad.categories.PCT: want a Zammad tag"}},
		{"unknown field", "    default_group: Users", "    default_group: Users\n    gruppi: {}", []string{
			`unknown field "gruppi" in connector.zammad`}},
		{"poll too often", "    default_group: Users", "    default_group: Users\n    poll_interval: 1s", []string{
			"connector.zammad.poll_interval: 1s is out of range"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := strings.Replace(zammadOK, tc.from, tc.to, 1)
			if src == zammadOK {
				t.Fatalf("%q not in the section", tc.from)
			}
			_, err := Parse("x.yaml", []byte(base+okMenu+src))
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("want Problems, got %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("missing %q in:\n%v", w, err)
				}
			}
		})
	}
}
