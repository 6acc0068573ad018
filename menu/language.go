package menu

import (
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// LanguageMenu is the first question of a call whose language is not
// known from its number: "per l'italiano prema 1, for English press 2".
// Each language's sentence is spoken in that language, whatever the
// channel's language is (prompts.go generates it into every language's
// sounds).
type LanguageMenu struct {
	// Keys maps a key to the language it chooses.
	Keys map[string]string `yaml:"keys"`
	// Prompt is each language's sentence, played in the keys' order.
	Prompt Text `yaml:"prompt"`
	// Timeout is how long after the sentences silence means the default
	// language (ivr.language); default DefaultLanguageTimeout.
	Timeout time.Duration `yaml:"timeout"`
	Pos     Pos           `yaml:"-"`
}

// UnmarshalYAML keeps the menu's position for validation messages.
func (x *LanguageMenu) UnmarshalYAML(n *yaml.Node) error {
	type plain LanguageMenu
	return decodeAt(n, (*plain)(x), &x.Pos)
}

// DefaultLanguageTimeout is a short wait: most callers of an Italian help
// desk speak the default language and should not wait for it.
const DefaultLanguageTimeout = 3 * time.Second

// LanguageSoundName is the sound of a language's sentence of the
// language menu.
func LanguageSoundName(lang string) string { return "helpdesk/language-" + lang }

// CallerLanguage is the language a caller is served in from what is known
// at the start: their Administration's, else the longest caller_languages
// prefix of their number, else "" (not known: ask, or the default).
func (c *Config) CallerLanguage(number, org string) string {
	if o := c.orgs[org]; o != nil && o.Language != "" {
		return o.Language
	}
	best, lang := 0, ""
	for prefix, l := range c.IVR.CallerLanguages {
		if len(prefix) > best && strings.HasPrefix(number, prefix) {
			best, lang = len(prefix), l
		}
	}
	return lang
}

// LanguageKeys lists the language menu's keys in order ("" when there is
// no menu).
func (c *Config) LanguageKeys() []string {
	if c.IVR.LanguageMenu == nil {
		return nil
	}
	return sortedKeys(c.IVR.LanguageMenu.Keys)
}

// LanguagePrompts is what the language menu plays: each language's
// sentence in its own voice, in the keys' order.
func (c *Config) LanguagePrompts() []Prompt {
	m := c.IVR.LanguageMenu
	if m == nil {
		return nil
	}
	var out []Prompt
	for _, k := range c.LanguageKeys() {
		lang := m.Keys[k]
		out = append(out, Prompt{Name: "system:language_" + lang, Sound: LanguageSoundName(lang), Text: m.Prompt[lang]})
	}
	return out
}

// ServedLanguage reports whether lang is one of service.languages.
func (c *Config) ServedLanguage(lang string) bool { return slices.Contains(c.Service.Languages, lang) }

func (c *Config) validateLanguages(v *validator) {
	ivr := &c.IVR
	for prefix, lang := range ivr.CallerLanguages {
		if len(prefix) < 2 || prefix[0] != '+' || strings.Trim(prefix[1:], "0123456789") != "" {
			v.add(ivr.Pos, "ivr.caller_languages: %q is not a number prefix (+44, +4191)", prefix)
		}
		if !c.ServedLanguage(lang) {
			v.add(ivr.Pos, "ivr.caller_languages: %q for %s is not one of service.languages", lang, prefix)
		}
	}
	for _, o := range c.Organizations {
		if o != nil && o.Language != "" && !c.ServedLanguage(o.Language) {
			v.add(o.Pos, "organization %q: language %q is not one of service.languages", o.ID, o.Language)
		}
	}
	m := ivr.LanguageMenu
	if m == nil {
		return
	}
	m.Timeout = orDefault(m.Timeout, DefaultLanguageTimeout)
	if m.Timeout < time.Second || m.Timeout > time.Minute {
		v.add(m.Pos, "ivr.language_menu.timeout %s is out of range 1s..1m", m.Timeout)
	}
	if len(c.Service.Languages) < 2 {
		v.add(m.Pos, "ivr.language_menu: the service speaks one language (service.languages)")
	}
	chosen := map[string]string{}
	for _, k := range sortedKeys(m.Keys) {
		lang := m.Keys[k]
		switch {
		case len(k) != 1 || k[0] < '0' || k[0] > '9':
			v.add(m.Pos, "ivr.language_menu.keys: %q must be one digit", k)
		case !c.ServedLanguage(lang):
			v.add(m.Pos, "ivr.language_menu.keys: %q chooses %q, which is not one of service.languages", k, lang)
		case chosen[lang] != "":
			v.add(m.Pos, "ivr.language_menu.keys: %q and %q both choose %q", chosen[lang], k, lang)
		default:
			chosen[lang] = k
			text := m.Prompt[lang]
			if strings.TrimSpace(text) == "" {
				v.add(m.Pos, "ivr.language_menu.prompt: missing %q text (each language's sentence is spoken in it)", lang)
				continue
			}
			if kv, ok := keyVocabularies[lang]; ok && !slices.Contains(kv.mentionedKeys(text), k) {
				v.add(m.Pos, "ivr.language_menu.prompt.%s does not announce key %s (%s)", lang, k, kv.example(k))
			}
		}
	}
	if len(chosen) < 2 {
		v.add(m.Pos, "ivr.language_menu offers %d language(s): it needs at least two keys", len(chosen))
	}
	for lang := range m.Prompt {
		if chosen[lang] == "" {
			v.add(m.Pos, "ivr.language_menu.prompt: text for %q, which no key chooses", lang)
		}
	}
}

// languagePromptTexts are the language menu's sentences, each spoken in
// its own language but written into every language's sounds, so that the
// channel finds it whatever its language.
func (c *Config) languagePromptTexts() []PromptText {
	m := c.IVR.LanguageMenu
	if m == nil {
		return nil
	}
	langs := make([]string, 0, len(m.Keys))
	for _, l := range m.Keys {
		langs = append(langs, l)
	}
	sort.Strings(langs)
	var out []PromptText
	for _, dir := range c.Service.Languages {
		for _, l := range langs {
			if t := m.Prompt[l]; t != "" {
				out = append(out, PromptText{Sound: LanguageSoundName(l), Lang: dir, Voice: l, Text: t})
			}
		}
	}
	return out
}
