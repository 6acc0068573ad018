package menu

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// exampleWith parses the shipped example with texts replaced (old, new,
// ...), each of which must be there.
func exampleWith(t *testing.T, pairs ...string) (*Config, error) {
	t.Helper()
	data, err := os.ReadFile("../configs/helpdesk.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(text, pairs[i]) {
			t.Fatalf("%q is not in the example", pairs[i])
		}
		text = strings.Replace(text, pairs[i], pairs[i+1], 1)
	}
	return Parse("helpdesk.yaml", []byte(text))
}

const pinPolicyLine = "    lockout: 15m\n"

// moreOrganizations is YAML for n more Administrations with two PINs each
// (and codes, unless withCodes is false), to put before "ivr:".
func moreOrganizations(t *testing.T, n int, withCodes bool) string {
	t.Helper()
	var b strings.Builder
	for i := range n {
		ref, err := HashPIN(demoSecret, fmt.Sprintf("%04d", 7000+2*i))
		if err != nil {
			t.Fatal(err)
		}
		user, _ := HashPIN(demoSecret, fmt.Sprintf("%04d", 7001+2*i))
		fmt.Fprintf(&b, "  - id: extra-%d\n    name: \"Extra %d\"\n", i, i)
		if withCodes {
			fmt.Fprintf(&b, "    code: \"%d\"\n", 2000+i)
		}
		fmt.Fprintf(&b, "    pins: {referent: %q, user: %q}\n", ref, user)
	}
	return b.String() + "\nivr:\n"
}

func TestPINGuardValidation(t *testing.T) {
	t.Parallel()
	on := pinPolicyLine + "    require_org_code_from_unknown_numbers: true\n"
	cases := []struct {
		name  string
		pairs []string
		want  []string // substrings of the problems; none: valid
	}{
		{"defaults", nil, nil},
		{"code option on, codes given", []string{pinPolicyLine, on}, nil},
		{"code option on, an Administration without a code", []string{pinPolicyLine, on, "    code: \"1002\"\n", ""},
			[]string{`organization "corte-appello-milano-demo" has PINs but no code`}},
		{"code option on, no codes at all", []string{pinPolicyLine, on, "    code: \"1001\"\n", "", "    code: \"1002\"\n", ""},
			[]string{`"tribunale-roma-demo" has PINs but no code`, `"corte-appello-milano-demo" has PINs but no code`}},
		{"codes unique", []string{"code: \"1002\"", "code: \"1001\""},
			[]string{`organization "corte-appello-milano-demo": code "1001" is also the code of "tribunale-roma-demo"`}},
		{"codes are digits", []string{"code: \"1002\"", "code: \"10a\""}, []string{`code "10a" must be 2 to 8 digits`}},
		{"codes are not one key", []string{"code: \"1002\"", "code: \"7\""}, []string{`code "7" must be 2 to 8 digits`}},
		{"codes fit the entry", []string{"code: \"1002\"", "code: \"123456789\""}, []string{`must be 2 to 8 digits`}},
		{"limits", []string{pinPolicyLine, pinPolicyLine + "    max_attempts_per_organization: 5000\n    alarm_failures: -1\n    alarm_window: 30s\n"},
			[]string{"max_attempts_per_organization 5000 is out of range", "alarm_failures -1 is out of range", "alarm_window 30s is out of range"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := exampleWith(t, c.pairs...)
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("want valid, got:\n%v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want problems %q, the configuration is valid", c.want)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("missing %q in:\n%v", w, err)
				}
			}
		})
	}
	cfg, err := exampleWith(t)
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.IVR.PIN; p.MaxAttemptsPerOrganization != 10 || p.AlarmFailures != 30 || p.AlarmWindow != 10*time.Minute || p.RequireOrgCodeFromUnknownNumbers {
		t.Errorf("defaults: %+v", p)
	}
	if o := cfg.OrganizationByCode("1002"); o == nil || o.ID != "corte-appello-milano-demo" {
		t.Errorf("code 1002: %+v", o)
	}
	if o := cfg.OrganizationByCode("1003"); o != nil {
		t.Errorf("code 1003: %+v", o)
	}
	if o := cfg.OrganizationByCode(""); o != nil {
		t.Errorf("no code: %+v", o)
	}
}

// The odds of one guess from a number of no Administration: every PIN of
// the file against 10^min_digits, or one Administration's when its code is
// required.
func TestUnknownNumberPINOdds(t *testing.T) {
	t.Parallel()
	on := pinPolicyLine + "    require_org_code_from_unknown_numbers: true\n"
	cases := []struct {
		name   string
		pairs  []string
		pins   int
		digits int
		warn   bool
		says   string
	}{
		{"the example", nil, 4, 4, false, "odds 4 in 10,000 (1 in 2,500)"},
		{"the example, codes required", []string{pinPolicyLine, on}, 2, 4, false, "odds 2 in 10,000 (1 in 5,000)"},
		{"seed 001 at scale: 500 Administrations", []string{"\nivr:\n", moreOrganizations(t, 498, false)}, 1000, 4, true, "odds 1,000 in 10,000 (1 in 10)"},
		{"just above 1 in 1000", []string{"\nivr:\n", moreOrganizations(t, 4, false)}, 12, 4, true, "(1 in 833)"},
		{"500 Administrations, codes required", []string{"\nivr:\n", moreOrganizations(t, 498, true), pinPolicyLine, on}, 2, 4, false, "odds 2 in 10,000"},
		{"longer PINs", []string{"\nivr:\n", moreOrganizations(t, 4, false), "    max_digits: 8\n", "    min_digits: 6\n    max_digits: 8\n"}, 12, 6, false, "odds 12 in 1,000,000"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := exampleWith(t, c.pairs...)
			if err != nil {
				t.Fatal(err)
			}
			o := cfg.UnknownNumberPINOdds()
			if o.PINs != c.pins || o.Digits != c.digits || o.Warn() != c.warn {
				t.Errorf("odds %+v (chance %g, warn %v), want %d PINs of %d digits, warn %v", o, o.Chance(), o.Warn(), c.pins, c.digits, c.warn)
			}
			if !strings.Contains(o.String(), c.says) {
				t.Errorf("%q does not say %q", o, c.says)
			}
		})
	}
}
