package menu

import (
	"os"
	"strings"
	"testing"
)

const languageMenu = `  language_menu:
    keys: {"1": it, "2": en}
    prompt:
      it: "Per l'italiano prema 1."
      en: "For English, press 2."
  caller_languages: {"+44": en, "+4420": it}
`

func withLanguages(t *testing.T, ivr string) string {
	t.Helper()
	data, err := os.ReadFile("../configs/helpdesk.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src := string(data)
	out := strings.Replace(src, "ivr:\n  language: it\n", "ivr:\n  language: it\n"+ivr, 1)
	out = strings.Replace(out, "    code: \"1002\"\n", "    code: \"1002\"\n    language: en\n", 1)
	if out == src {
		t.Fatal("the example configuration changed")
	}
	return out
}

func TestLanguages(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("helpdesk.yaml", []byte(withLanguages(t, languageMenu)))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ number, org, want string }{
		{"+441612345678", "", "en"},
		{"+442012345678", "", "it"}, // the longest prefix wins
		{"+390612345678", "", ""},
		{"", "", ""},
		{"+390612345678", "corte-appello-milano-demo", "en"}, // the Administration's
		{"+441612345678", "tribunale-roma-demo", "en"},       // it has none: the number's
	}
	for _, tc := range cases {
		if got := cfg.CallerLanguage(tc.number, tc.org); got != tc.want {
			t.Errorf("CallerLanguage(%q, %q) = %q, want %q", tc.number, tc.org, got, tc.want)
		}
	}
	var names, sounds, texts []string
	for _, p := range cfg.LanguagePrompts() {
		names, sounds, texts = append(names, p.Name), append(sounds, p.Sound), append(texts, p.Text)
	}
	if strings.Join(names, ",") != "system:language_it,system:language_en" ||
		strings.Join(sounds, ",") != "helpdesk/language-it,helpdesk/language-en" ||
		strings.Join(texts, "|") != "Per l'italiano prema 1.|For English, press 2." {
		t.Fatalf("prompts %v %v %v", names, sounds, texts)
	}
	if cfg.IVR.LanguageMenu.Timeout != DefaultLanguageTimeout {
		t.Fatalf("timeout %v", cfg.IVR.LanguageMenu.Timeout)
	}
	// Each sentence is generated in its own voice into every language's
	// sounds, so that the channel finds it whatever its language.
	got := map[string]string{}
	for _, p := range cfg.PromptTexts() {
		if strings.HasPrefix(p.Sound, "helpdesk/language-") {
			got[p.Lang+"/"+p.Sound] = p.Speaker() + ": " + p.Text
		}
	}
	want := map[string]string{
		"it/helpdesk/language-it": "it: Per l'italiano prema 1.", "it/helpdesk/language-en": "en: For English, press 2.",
		"en/helpdesk/language-it": "it: Per l'italiano prema 1.", "en/helpdesk/language-en": "en: For English, press 2.",
	}
	if len(got) != len(want) {
		t.Fatalf("language prompts %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
}

func TestLanguageProblems(t *testing.T) {
	t.Parallel()
	cases := []struct{ ivr, want string }{
		{strings.Replace(languageMenu, `"2": en`, `"2": fr`, 1), `ivr.language_menu.keys: "2" chooses "fr", which is not one of service.languages`},
		{strings.Replace(languageMenu, `"2": en`, `"22": en`, 1), `ivr.language_menu.keys: "22" must be one digit`},
		{strings.Replace(languageMenu, `"2": en`, `"2": it`, 1), `ivr.language_menu.keys: "1" and "2" both choose "it"`},
		{strings.Replace(languageMenu, `press 2.`, `press two or three.`, 1), ``}, // words count as keys
		{strings.Replace(languageMenu, `press 2.`, `press 3.`, 1), `ivr.language_menu.prompt.en does not announce key 2`},
		{strings.Replace(languageMenu, "      en: \"For English, press 2.\"\n", "", 1), `ivr.language_menu.prompt: missing "en" text`},
		{strings.Replace(languageMenu, `{"1": it, "2": en}`, `{"1": it}`, 1), `ivr.language_menu offers 1 language(s)`},
		{strings.Replace(languageMenu, `"+44": en`, `"44": en`, 1), `ivr.caller_languages: "44" is not a number prefix`},
		{strings.Replace(languageMenu, `"+44": en`, `"+44": de`, 1), `ivr.caller_languages: "de" for +44 is not one of service.languages`},
		{languageMenu + "  # \n", ``},
		{strings.Replace(languageMenu, "    keys:", "    timeout: 2m\n    keys:", 1), `ivr.language_menu.timeout 2m0s is out of range`},
	}
	for _, tc := range cases {
		_, err := Parse("helpdesk.yaml", []byte(withLanguages(t, tc.ivr)))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.ivr, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s:\ngot %v\nwant %q", tc.ivr, err, tc.want)
		}
	}
	// An Administration's language is checked too, at its line.
	src := strings.Replace(withLanguages(t, ""), "    language: en\n", "    language: fr\n", 1)
	if _, err := Parse("helpdesk.yaml", []byte(src)); err == nil || !strings.Contains(err.Error(), `organization "corte-appello-milano-demo": language "fr" is not one of service.languages`) {
		t.Fatalf("organization language: %v", err)
	}
}
