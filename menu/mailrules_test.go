package menu

import (
	"strings"
	"testing"
)

// mailRulesOK lists rules after categoriesOK (lines 41 on).
const mailRulesOK = `mail_rules:
  - {subject: ["deposito telematico", PCT], category: applicativi/pct, group: g2}
  - {from: ["@stampanti.example", "help@tipografia.example"], category: stampa}
  - {category: altro}
`

func TestFileMail(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("x.yaml", []byte(base+okMenu+categoriesOK+mailRulesOK))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		from, subject string
		want          MailFiling
	}{
		{"a@b.example", "Errore nel Deposito Telematico", MailFiling{Category: "applicativi/pct", Group: "g2", Rule: 0}},
		{"a@b.example", "[PCT] bloccato", MailFiling{Category: "applicativi/pct", Group: "g2", Rule: 0}},
		{"a@b.example", "deposito  telematico!", MailFiling{Category: "applicativi/pct", Group: "g2", Rule: 0}},
		// Whole words only.
		{"a@b.example", "apctx", MailFiling{Category: "altro", Rule: 2}},
		{"Mario@Stampanti.example", "Inceppata", MailFiling{Category: "stampa", Rule: 1}},
		{"help@tipografia.example", "Inceppata", MailFiling{Category: "stampa", Rule: 1}},
		// A domain matches the address's whole domain only by its suffix
		// after @, not any address merely ending the same way.
		{"x@altrestampanti.example", "Inceppata", MailFiling{Category: "altro", Rule: 2}},
		{"a@b.example", "Altro", MailFiling{Category: "altro", Rule: 2}},
	}
	for _, tc := range cases {
		if got := cfg.FileMail(tc.from, "", tc.subject); got != tc.want {
			t.Errorf("FileMail(%q, %q) = %+v, want %+v", tc.from, tc.subject, got, tc.want)
		}
	}
	// Without rules nothing is filed.
	plain, err := Parse("x.yaml", []byte(base+okMenu+categoriesOK))
	if err != nil {
		t.Fatal(err)
	}
	if got := plain.FileMail("a@b.example", "", "PCT"); got != (MailFiling{Rule: -1}) {
		t.Fatalf("no rules: %+v", got)
	}
}

func TestMailRuleProblems(t *testing.T) {
	t.Parallel()
	cases := []struct{ rule, want string }{
		{`{subject: [x], category: stampanti}`, `x.yaml:42:5: mail_rules[0]: unknown category "stampanti"`},
		{`{subject: [x], group: g9}`, `mail_rules[0]: unknown group "g9"`},
		{`{organization: nessuna, category: stampa}`, `mail_rules[0]: unknown organization "nessuna"`},
		{`{subject: [x]}`, `mail_rules[0]: a rule sets a category, a group or both`},
		{`{from: ["@"], category: stampa}`, `from "@" is not a domain`},
		{`{from: ["mario"], category: stampa}`, `from "mario" is neither an address nor a domain`},
		{`{subject: [" - "], category: stampa}`, `subject " - " has no word to match`},
	}
	for _, tc := range cases {
		_, err := Parse("x.yaml", []byte(base+okMenu+categoriesOK+"mail_rules:\n  - "+tc.rule+"\n"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.rule, err, tc.want)
		}
	}
	if _, err := Parse("x.yaml", []byte(base+okMenu+"mail_rules:\n  - {subject: [x], category: stampa}\n")); err == nil ||
		!strings.Contains(err.Error(), "the file lists no categories") {
		t.Fatalf("without categories: %v", err)
	}
}
