package menu

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func TestMentionedKeys(t *testing.T) {
	t.Parallel()
	cases := []struct {
		lang, text string
		want       []string
	}{
		{"it", "Per il Lotto 3, Area Centro, prema 3.", []string{"3"}},
		{"it", "Prema il tasto 1 o il 2; per tornare, prema asterisco.", []string{"1", "2", "*"}},
		{"it", "Per riascoltare digitare cancelletto. Per l'operatore, premere zero.", []string{"#", "0"}},
		{"it", "Prema 1, 2 oppure tre.", []string{"1", "2", "3"}},
		{"it", "Tasto 5 per il Lotto 5.", []string{"5"}},
		{"it", "Se sei un referente prema quattro.", []string{"4"}},
		{"it", "Chiami lo 800 749 049 o scriva al lotto 2.", nil},
		{"en", "For Lot 2, press 2. To go back, press star. Press the hash key to hear this again.", []string{"2", "*", "#"}},
		{"en", "Press one or two. Dial nine for the status.", []string{"1", "2", "9"}},
		{"en", "One of our operators will answer: there are 3 of them.", nil},
		{"fr", "Appuyez sur la touche 1 ou sur étoile.", []string{"1", "*"}},
		{"de", "Drücken Sie die 1 oder die Raute.", []string{"1", "#"}},
		{"es", "Pulse 3 o almohadilla.", []string{"3", "#"}},
	}
	for _, c := range cases {
		got := keyVocabularies[c.lang].mentionedKeys(c.text)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s %q: keys %q, want %q", c.lang, c.text, got, c.want)
		}
	}
}

// keyHintConfig is base (29 lines) with both languages and a two-level
// menu starting at line 30; prompts are substituted per case.
func keyHintConfig(root, sub string, extra ...string) string {
	cfg := strings.Replace(base, "languages: [it]", "languages: [it, en]", 1) + `menu:
  prompt:
    it: "` + root + `"
    en: "For one press 1. For the office press 2. For an operator press 0. To hear this again press hash."
  options:
    "1": {label: "Uno", group: g1}
    "2":
      label: "Ufficio"
      prompt:
        it: "` + sub + `"
        en: "For lot one press 1. Back: press star. Operator: press 0. Again: press hash."
      options:
        "1": {label: "Lotto uno", group: g1}
`
	for i := 0; i+1 < len(extra); i += 2 {
		cfg = strings.Replace(cfg, extra[i], extra[i+1], 1)
	}
	return cfg
}

const (
	goodRoot = "Per uno prema 1. Per l'ufficio prema 2. Per un operatore prema 0. Per riascoltare prema cancelletto."
	goodSub  = "Per il lotto uno prema uno. Per tornare prema asterisco. Operatore: prema zero. Per riascoltare, prema il tasto cancelletto."
)

func TestKeyHintsPass(t *testing.T) {
	t.Parallel()
	for name, yaml := range map[string]string{
		"announced":   keyHintConfig(goodRoot, goodSub),
		"back at top": keyHintConfig(goodRoot+" Prema asterisco per riascoltare.", goodSub),
		"opt-out": keyHintConfig("Benvenuto.", goodSub, `  prompt:
    it: "Benvenuto."`, `  key_hints: false
  sound: {it: custom/benvenuto}
  prompt:
    it: "Benvenuto."`),
		"no operator": keyHintConfig(goodRoot, "Per il lotto uno prema 1. Per tornare prema asterisco. Per riascoltare prema cancelletto.", `      label: "Ufficio"`, `      label: "Ufficio"
      allow_operator: false`, `Operator: press 0. `, ``),
	} {
		if _, err := Parse("x.yaml", []byte(yaml)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Each kind of mismatch is an error at the line of the prompt's text in
// that language.
func TestKeyHintsMismatches(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		yaml string
		want []string
	}{
		{"option not announced", keyHintConfig("Per uno prema 1. Per un operatore prema 0. Per riascoltare prema cancelletto.", goodSub),
			[]string{`x.yaml:32:5: menu: the "it" prompt does not announce key 2 (Ufficio) (say e.g. "prema 2"`}},
		{"dead key announced", keyHintConfig(goodRoot+" Per il lotto sette prema 7.", goodSub),
			[]string{`x.yaml:32:5: menu: the "it" prompt announces key 7, which does nothing here`}},
		{"back key not announced", keyHintConfig(goodRoot, "Per il lotto uno prema 1. Operatore: prema 0. Per riascoltare prema cancelletto."),
			[]string{`x.yaml:39:9: menu option 2: the "it" prompt does not announce the back key "*" (say e.g. "prema asterisco"`}},
		{"repeat key not announced", keyHintConfig(goodRoot, "Per il lotto uno prema 1. Per tornare prema asterisco. Operatore: prema 0."),
			[]string{`x.yaml:39:9: menu option 2: the "it" prompt does not announce the repeat key "#" (say e.g. "prema cancelletto"`}},
		{"operator key not announced", keyHintConfig("Per uno prema 1. Per l'ufficio prema 2. Per riascoltare prema cancelletto.", goodSub),
			[]string{`x.yaml:32:5: menu: the "it" prompt does not announce the operator key "0" (say e.g. "prema 0"`}},
		{"operator key where it does nothing", keyHintConfig(goodRoot, goodSub, `      label: "Ufficio"`, `      label: "Ufficio"
      allow_operator: false`),
			[]string{`x.yaml:40:9: menu option 2: the "it" prompt announces key 0, which does nothing here`,
				`x.yaml:41:9: menu option 2: the "en" prompt announces key 0, which does nothing here`}},
		{"english text", keyHintConfig(goodRoot, goodSub, "For the office press 2. ", ""),
			[]string{`x.yaml:33:5: menu: the "en" prompt does not announce key 2 (Ufficio) (say e.g. "press 2"`}},
		{"key_hints on a route", keyHintConfig(goodRoot, goodSub, `"1": {label: "Uno", group: g1}`, `"1": {label: "Uno", group: g1, key_hints: false}`),
			[]string{`x.yaml:35:10: menu option 1: key_hints is only for menus`}},
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

// The minimal file of docs/configuration.md stays valid as the checks grow.
func TestDocsMinimalFileValidates(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "## A minimal file")
	if !ok {
		t.Fatal("docs/configuration.md has no minimal file")
	}
	_, rest, _ = strings.Cut(rest, "```yaml\n")
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("the minimal file's yaml block is not closed")
	}
	if _, err := Parse("configuration.md", []byte(block)); err != nil {
		t.Errorf("the minimal file does not validate:\n%v", err)
	}
}

// Any text gives only real keys, each once.
func FuzzMentionedKeys(f *testing.F) {
	f.Add("it", "Per il Lotto 3 prema 3. Prema il tasto 1 o 2, oppure cancelletto.")
	f.Add("en", "Press one or two; press the star key.")
	f.Fuzz(func(t *testing.T, lang, text string) {
		kv, ok := keyVocabularies[lang]
		if !ok {
			kv = keyVocabularies["it"]
		}
		seen := map[string]bool{}
		for _, k := range kv.mentionedKeys(text) {
			if !validKey(k) || seen[k] {
				t.Fatalf("%q: key %q (seen %v)", text, k, seen)
			}
			seen[k] = true
		}
	})
}
