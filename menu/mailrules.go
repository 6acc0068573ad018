package menu

import (
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// MailRule files a ticket opened by an e-mail (package mailin): the first
// rule whose every condition holds gives the ticket its category and,
// when set, its group. Conditions left empty hold for every mail.
type MailRule struct {
	// Subject holds when the subject contains one of these words or
	// phrases as whole words (case and punctuation do not matter).
	Subject []string `yaml:"subject"`
	// From holds when the sender is one of these addresses or has one of
	// these domains ("@example.it").
	From []string `yaml:"from"`
	// Organization holds when the sender is of this Administration.
	Organization string `yaml:"organization"`
	Category     string `yaml:"category"`
	Group        string `yaml:"group"`
	Pos          Pos    `yaml:"-"`
}

// UnmarshalYAML keeps the rule's position for validation messages.
func (x *MailRule) UnmarshalYAML(n *yaml.Node) error {
	type plain MailRule
	return decodeAt(n, (*plain)(x), &x.Pos)
}

// MailFiling is where a rule files a new mail's ticket.
type MailFiling struct {
	Category, Group string
	Rule            int // the rule's index in mail_rules, -1 when none matched
}

// FileMail applies the mail rules to a new mail from the sender from (of
// the Administration org, "" when unknown) with the subject subject.
func (c *Config) FileMail(from, org, subject string) MailFiling {
	from = strings.ToLower(strings.TrimSpace(from))
	for i, r := range c.MailRules {
		if r != nil && r.matches(from, org, subject) {
			return MailFiling{Category: r.Category, Group: r.Group, Rule: i}
		}
	}
	return MailFiling{Rule: -1}
}

func (r *MailRule) matches(from, org, subject string) bool {
	if r.Organization != "" && r.Organization != org {
		return false
	}
	if len(r.From) > 0 && !matchesSender(r.From, from) {
		return false
	}
	if len(r.Subject) > 0 && !containsAny(subject, r.Subject) {
		return false
	}
	return true
}

func matchesSender(patterns []string, from string) bool {
	for _, p := range patterns {
		p = strings.ToLower(strings.TrimSpace(p))
		if strings.HasPrefix(p, "@") && strings.HasSuffix(from, p) || p == from {
			return true
		}
	}
	return false
}

// containsAny reports whether one of phrases appears in s as whole
// words ("pct" is in "Errore PCT: deposito", not in "apctx").
func containsAny(s string, phrases []string) bool {
	words := wordsOf(s)
	for _, p := range phrases {
		if pw := wordsOf(p); len(pw) > 0 && containsRun(words, pw) {
			return true
		}
	}
	return false
}

func wordsOf(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

func containsRun(words, run []string) bool {
	for i := 0; i+len(run) <= len(words); i++ {
		if slices.Equal(words[i:i+len(run)], run) {
			return true
		}
	}
	return false
}

// validateMailRules checks every rule's references; it runs once the
// categories, groups and organizations are known.
func (c *Config) validateMailRules(v *validator) {
	for i, r := range c.MailRules {
		if r == nil {
			continue
		}
		where := "mail_rules[" + strconv.Itoa(i) + "]"
		if r.Category == "" && r.Group == "" {
			v.add(r.Pos, "%s: a rule sets a category, a group or both", where)
		}
		if r.Category != "" {
			if !c.HasCategories() {
				v.add(r.Pos, "%s: category %q, but the file lists no categories (categories:)", where, r.Category)
			} else if !c.ValidCategory(r.Category) {
				v.add(r.Pos, "%s: unknown category %q (categories are %s)", where, r.Category, c.categoryRefs())
			}
		}
		if r.Group != "" && c.groups[r.Group] == nil {
			v.add(r.Pos, "%s: unknown group %q", where, r.Group)
		}
		if r.Organization != "" && c.orgs[r.Organization] == nil {
			v.add(r.Pos, "%s: unknown organization %q", where, r.Organization)
		}
		for _, f := range r.From {
			f = strings.TrimSpace(f)
			if d, ok := strings.CutPrefix(f, "@"); ok {
				if d == "" || strings.ContainsAny(d, "@ ") || !strings.Contains(d, ".") {
					v.add(r.Pos, "%s: from %q is not a domain (@example.it)", where, f)
				}
			} else if a, err := mail.ParseAddress(f); err != nil || a.Address != f {
				v.add(r.Pos, "%s: from %q is neither an address nor a domain (@example.it)", where, f)
			}
		}
		for _, s := range r.Subject {
			if len(wordsOf(s)) == 0 {
				v.add(r.Pos, "%s: subject %q has no word to match", where, s)
			}
		}
	}
}
