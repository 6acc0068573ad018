package menu

import (
	"strings"
	"testing"
)

// walk feeds a script to a navigator: a digit, "t" for a timeout, or
// "pin:<digits>" for a PIN verified with the demo secret.
func walk(t *testing.T, cfg *Config, caller Caller, script ...string) (*Navigator, []Action) {
	t.Helper()
	nav := NewNavigator(cfg, caller, "")
	acts := []Action{nav.Start()}
	for _, s := range script {
		var in Input
		switch {
		case s == "t":
			in = Input{Kind: InputTimeout}
		case strings.HasPrefix(s, "pin:"):
			org, _ := nav.Identity()
			if caller.Organization == "" {
				org = ""
			}
			in = Input{Kind: InputPIN, PIN: cfg.VerifyPIN(demoSecret, strings.TrimPrefix(s, "pin:"), org)}
		case s == "locked":
			in = Input{Kind: InputPIN, PIN: PINResult{Status: PINLocked}}
		default:
			in = Input{Kind: InputDigits, Digits: s}
		}
		acts = append(acts, nav.Feed(in))
	}
	return nav, acts
}

func promptNames(a Action) string {
	names := make([]string, len(a.Prompts))
	for i, p := range a.Prompts {
		names[i] = p.Name
	}
	return strings.Join(names, ",")
}

func TestNavigatorGiustizia(t *testing.T) {
	t.Parallel()
	cfg := loadExample(t)
	roma := Caller{Number: "+390699991234", Organization: "tribunale-roma-demo"}
	anyone := Caller{Number: "+393331234567"}
	cases := []struct {
		name    string
		caller  Caller
		script  []string
		step    Step
		group   string
		reason  string
		keys    string
		prompts string // prompts of the last action, if set
	}{
		{"lotto 3", anyone, []string{"1", "3"}, StepRoute, "lotto3", "", "1,3", ""},
		{"lotto 6", anyone, []string{"1", "6"}, StepRoute, "lotto6", "", "1,6", ""},
		{"libero foro", anyone, []string{"2", "1"}, StepRoute, "pct-libero-foro", "", "2,1", ""},
		{"magistrati", anyone, []string{"2", "2"}, StepRoute, "pct-magistrati", "", "2,2", ""},
		{"sicoge", anyone, []string{"3", "1"}, StepRoute, "sicoge", "", "3,1", ""},
		{"known Administration skips the lots", roma, []string{"1"}, StepRoute, "lotto3", ReasonOrgRoute, "1", "system:transfer"},
		{"known Administration elsewhere uses the menu", roma, []string{"2", "1"}, StepRoute, "pct-libero-foro", "", "2,1", ""},
		{"operator key", anyone, []string{"0"}, StepRoute, "accoglienza", ReasonOperator, "0", ""},
		{"operator key in a submenu", anyone, []string{"2", "0"}, StepRoute, "accoglienza", ReasonOperator, "2,0", ""},
		{"back then choose", anyone, []string{"1", "*", "3", "1"}, StepRoute, "sicoge", "", "3,1", ""},
		{"repeat", anyone, []string{"#", "#", "1"}, StepMenu, "", "", "1", "node:1"},
		{"invalid then fine", anyone, []string{"7", "1", "2"}, StepRoute, "lotto2", "", "1,2", ""},
		{"three invalid keys fall back", anyone, []string{"7", "8", "7"}, StepRoute, "accoglienza", ReasonInvalidInput, "", "system:too_many_errors,system:transfer"},
		{"three timeouts fall back", anyone, []string{"t", "t", "t"}, StepRoute, "accoglienza", ReasonInvalidInput, "", ""},
		{"retries reset after a good key", anyone, []string{"7", "7", "1", "9", "9", "3"}, StepRoute, "lotto3", "", "1,3", ""},
		{"referent PIN", anyone, []string{"4", "pin:5035"}, StepRoute, "modifiche", "", "4", ""},
		{"user PIN is refused", anyone, []string{"4", "pin:1035"}, StepMenu, "", "", "4", "system:pin_role_refused,node:root"},
		{"wrong PIN then right", anyone, []string{"4", "pin:1111", "pin:5035"}, StepRoute, "modifiche", "", "4", ""},
		{"three wrong PINs", anyone, []string{"4", "pin:1111", "pin:2222", "t"}, StepRoute, "accoglienza", ReasonPINLocked, "4", "system:pin_locked,system:transfer"},
		{"locked out", anyone, []string{"4", "locked"}, StepRoute, "accoglienza", ReasonPINLocked, "4", ""},
		{"another Administration's PIN", roma, []string{"4", "pin:6047"}, StepPIN, "", "", "4", "system:pin_wrong,system:pin_ask"},
		{"status", anyone, []string{"9"}, StepStatus, "", "", "9", "system:status_ask"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			nav, acts := walk(t, cfg, tc.caller, tc.script...)
			last := acts[len(acts)-1]
			if last.Step != tc.step || last.Group != tc.group || last.Reason != tc.reason {
				t.Fatalf("last action = %s group %q reason %q, want %s %q %q", last.Step, last.Group, last.Reason, tc.step, tc.group, tc.reason)
			}
			if got := strings.Join(nav.Keys(), ","); got != tc.keys {
				t.Errorf("path keys = %s, want %s", got, tc.keys)
			}
			if tc.prompts != "" && promptNames(last) != tc.prompts {
				t.Errorf("prompts = %s, want %s", promptNames(last), tc.prompts)
			}
		})
	}
}

func TestNavigatorPromptsAndCollect(t *testing.T) {
	t.Parallel()
	cfg := loadExample(t)
	nav := NewNavigator(cfg, Caller{}, "")
	a := nav.Start()
	if a.Step != StepMenu || a.Collect.MaxDigits != 1 || a.Collect.FirstDigitTimeout != cfg.IVR.FirstDigitTimeout {
		t.Fatalf("start = %+v", a)
	}
	if !strings.HasPrefix(a.Prompts[0].Text, "Benvenuto") || a.Prompts[0].Sound != "helpdesk/menu-root" {
		t.Errorf("root prompt = %+v", a.Prompts[0])
	}
	a = nav.Feed(Input{Kind: InputDigits, Digits: "4"})
	if a.Step != StepPIN || a.Collect.Terminator != "#" || a.Collect.MaxDigits != 8 {
		t.Fatalf("PIN action = %+v", a)
	}
	// English callers hear English.
	en := NewNavigator(cfg, Caller{}, "en").Start()
	if !strings.HasPrefix(en.Prompts[0].Text, "Welcome") {
		t.Errorf("English prompt = %q", en.Prompts[0].Text)
	}
	// A finished navigator keeps its final action whatever comes.
	done := nav.Feed(Input{Kind: InputPIN, PIN: cfg.VerifyPIN(demoSecret, "5035", "")})
	if done.Step != StepRoute {
		t.Fatalf("after PIN: %+v", done)
	}
	again := nav.Feed(Input{Kind: InputDigits, Digits: "1"})
	if again.Step != StepRoute || again.Group != done.Group || !nav.Done() {
		t.Errorf("a finished navigator changed its mind: %+v", again)
	}
	if org, role := nav.Identity(); org != "tribunale-roma-demo" || role != RoleReferent {
		t.Errorf("identity = %s %s", org, role)
	}
}

func FuzzNavigator(f *testing.F) {
	cfg := loadExample(f)
	f.Add("1 3", false)
	f.Add("4 p5035", true)
	f.Add("4 p1 p2 p3 x", false)
	f.Add("* * # 0 t t t", true)
	f.Add("12 ab #* 9", false)
	f.Fuzz(func(t *testing.T, script string, known bool) {
		caller := Caller{Number: "+393331234567"}
		if known {
			caller = Caller{Number: "+390699991234", Organization: "tribunale-roma-demo"}
		}
		nav := NewNavigator(cfg, caller, "")
		a := nav.Start()
		for _, tok := range strings.Fields(script) {
			var in Input
			switch {
			case tok == "t":
				in = Input{Kind: InputTimeout}
			case tok == "x":
				in = Input{Kind: InputPIN, PIN: PINResult{Status: PINLocked}}
			case strings.HasPrefix(tok, "p"):
				in = Input{Kind: InputPIN, PIN: cfg.VerifyPIN(demoSecret, tok[1:], caller.Organization)}
			case strings.HasPrefix(tok, "k"):
				in = Input{Kind: InputKind(len(tok)), Digits: tok}
			default:
				in = Input{Kind: InputDigits, Digits: tok}
			}
			wasDone := nav.Done()
			prev := a
			a = nav.Feed(in)
			if wasDone && (a.Step != prev.Step || a.Group != prev.Group) {
				t.Fatalf("a finished navigator moved from %+v to %+v", prev, a)
			}
			switch a.Step {
			case StepMenu:
				if a.Collect.MaxDigits != 1 || len(a.Prompts) == 0 || a.Collect.FirstDigitTimeout <= 0 {
					t.Fatalf("bad menu action %+v", a)
				}
			case StepPIN, StepStatus:
				if a.Collect.Terminator != "#" || a.Collect.MaxDigits < 4 {
					t.Fatalf("bad entry action %+v", a)
				}
			case StepRoute:
				if cfg.Group(a.Group) == nil {
					t.Fatalf("route to unknown group %+v", a)
				}
			case StepMessage, StepHangup:
			default:
				t.Fatalf("unknown step %+v", a)
			}
			for _, p := range a.Prompts {
				if p.Text == "" || p.Sound == "" {
					t.Fatalf("empty prompt in %+v", a)
				}
			}
		}
	})
}
