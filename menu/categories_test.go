package menu

import (
	"errors"
	"strings"
	"testing"
)

// categoriesOK is a valid list; base+okMenu is 33 lines, so it starts at
// line 34.
const categoriesOK = `categories:
  - {id: stampa, name: {it: Stampa}}
  - id: applicativi
    name: {it: Applicativi}
    sub:
      - {id: pct, name: {it: PCT}}
  - {id: altro, name: {it: Altro}}
`

func TestCategories(t *testing.T) {
	t.Parallel()
	src := strings.Replace(base+okMenu, `"1": {label: "Uno", group: g1}`, `"1": {label: "Uno", group: g1, category: applicativi/pct}`, 1)
	src = strings.Replace(src, "    name: Gruppo uno\n", "    name: Gruppo uno\n    default_category: stampa\n", 1)
	cfg, err := Parse("x.yaml", []byte(src+categoriesOK))
	if err != nil {
		t.Fatal(err)
	}
	var refs, labels []string
	for _, o := range cfg.CategoryOptions("it") {
		refs, labels = append(refs, o.Ref), append(labels, o.Label)
	}
	if strings.Join(refs, ",") != "stampa,applicativi,applicativi/pct,altro" ||
		strings.Join(labels, ",") != "Stampa,Applicativi,Applicativi › PCT,Altro" {
		t.Fatalf("options %v %v", refs, labels)
	}
	// A language without names falls back to the service's first.
	if got := cfg.CategoryLabel("applicativi/pct", "en"); got != "Applicativi › PCT" {
		t.Fatalf("label in en: %q", got)
	}
	// A value from before the list is shown as it is.
	if got := cfg.CategoryLabel("Stampante rotta", "it"); got != "Stampante rotta" || cfg.ValidCategory("Stampante rotta") {
		t.Fatalf("free text: %q valid %v", got, cfg.ValidCategory("Stampante rotta"))
	}
	if !cfg.ValidCategory("") || !cfg.ValidCategory("applicativi/pct") || cfg.ValidCategory("pct") || !cfg.HasCategories() {
		t.Fatal("ValidCategory")
	}
	if cfg.GroupCategory("g1") != "stampa" || cfg.GroupCategory("g2") != "" {
		t.Fatalf("group defaults %q %q", cfg.GroupCategory("g1"), cfg.GroupCategory("g2"))
	}
	// The leaf's category reaches the navigator's route.
	nav := NewNavigator(cfg, Caller{}, "it")
	nav.Start()
	act := nav.Feed(Input{Kind: InputDigits, Digits: "1"})
	if act.Step != StepRoute || act.Category != "applicativi/pct" {
		t.Fatalf("route %+v", act)
	}
}

func TestCategoryProblems(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, from, to string
		want           []string
	}{
		{"unknown on a leaf", `"1": {label: "Uno", group: g1}`, `"1": {label: "Uno", group: g1, category: stampanti}`, []string{
			`x.yaml:33:10: menu option 1: unknown category "stampanti" (categories are stampa, applicativi, applicativi/pct, altro)`}},
		{"sub named alone", `"1": {label: "Uno", group: g1}`, `"1": {label: "Uno", group: g1, category: pct}`, []string{
			`unknown category "pct"`}},
		{"unknown group default", "    name: Gruppo uno\n", "    name: Gruppo uno\n    default_category: rete\n", []string{
			`x.yaml:14:5: group "g1" default_category: unknown category "rete"`}},
		{"category on a menu", "  prompt: {it:", "  category: stampa\n  prompt: {it:", []string{
			"category is only for route and message nodes"}},
		{"twice", "  - {id: altro, name: {it: Altro}}", "  - {id: altro, name: {it: Altro}}\n  - {id: stampa, name: {it: Stampe}}", []string{
			`x.yaml:41:5: category "stampa" is listed twice (first at line 35)`}},
		{"bad id", "  - {id: altro, name: {it: Altro}}", "  - {id: Altro, name: {it: Altro}}", []string{
			`x.yaml:40:5: category id "Altro": use lower-case letters`}},
		{"no name", "  - {id: altro, name: {it: Altro}}", "  - {id: altro}", []string{
			`category "altro" needs a name`}},
		{"name in a language not served", "  - {id: altro, name: {it: Altro}}", "  - {id: altro, name: {it: Altro, fr: Autre}}", []string{
			`category "altro": name for "fr", which is not one of service.languages`}},
		{"two levels down", "      - {id: pct, name: {it: PCT}}", "      - {id: pct, name: {it: PCT}, sub: [{id: x, name: {it: X}}]}", []string{
			`category "applicativi/pct": sub-categories go one level down only`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := base + okMenu + categoriesOK
			changed := strings.Replace(src, tc.from, tc.to, 1)
			if changed == src {
				t.Fatalf("%q not in the file", tc.from)
			}
			_, err := Parse("x.yaml", []byte(changed))
			var probs Problems
			if !errors.As(err, &probs) {
				t.Fatalf("want problems, got %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("missing %q in:\n%v", w, err)
				}
			}
		})
	}
	// With a list, the connector's category mapping names its entries.
	zammad := strings.Replace(zammadOK, "      PCT: pct", "      applicativi/pct: pct\n      PCT: pct", 1)
	if _, err := Parse("x.yaml", []byte(base+okMenu+categoriesOK+zammad)); err == nil ||
		!strings.Contains(err.Error(), `connector.zammad.categories: unknown category "PCT"`) ||
		strings.Contains(err.Error(), `"applicativi/pct"`) {
		t.Fatalf("connector categories: %v", err)
	}
	// Without a list, a category named anywhere is an error too.
	src := strings.Replace(base+okMenu, `"1": {label: "Uno", group: g1}`, `"1": {label: "Uno", group: g1, category: stampa}`, 1)
	if _, err := Parse("x.yaml", []byte(src)); err == nil || !strings.Contains(err.Error(), "the file lists no categories") {
		t.Fatalf("category without a list: %v", err)
	}
}
