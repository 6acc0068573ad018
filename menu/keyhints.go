package menu

import (
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Key hints: a menu's prompt text must announce every key that does
// something there (its options, and the back, repeat and operator keys
// where they work) and no key that does nothing, in every language it is
// written in. A caller cannot guess a key nobody told them of, and a key
// announced but dead sends them round the retry loop.

// keyVocabulary is how one language announces keys: "prema 3", "press
// three", "prema il tasto cancelletto", "press 1 or 2".
type keyVocabulary struct {
	triggers map[string]bool   // words after which keys are named
	fillers  map[string]bool   // words allowed between such a word and the key
	joiners  map[string]bool   // words between two keys: "1 o 2"
	keys     map[string]string // key names: "tre" -> "3", "cancelletto" -> "#"
	example  func(key string) string
}

func words(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

func keyNames(digits, star, hash string) map[string]string {
	m := map[string]string{}
	for i, w := range strings.Fields(digits) {
		m[w] = fmt.Sprint(i)
	}
	for _, w := range strings.Fields(star) {
		m[w] = "*"
	}
	for _, w := range strings.Fields(hash) {
		m[w] = "#"
	}
	return m
}

func exampleIn(verb, star, hash string) func(string) string {
	return func(k string) string {
		switch k {
		case "*":
			k = star
		case "#":
			k = hash
		}
		return verb + " " + k
	}
}

// keyVocabularies covers the languages a help desk here is likely to
// speak; a language missing here is not checked (docs/configuration.md).
var keyVocabularies = map[string]keyVocabulary{
	"it": {
		triggers: words("prema premere premi premete digiti digitare digita digitate selezioni selezionare tasto tasti"),
		fillers:  words("il lo i tasto tasti numero sul su"),
		joiners:  words("o oppure od e"),
		keys:     keyNames("zero uno due tre quattro cinque sei sette otto nove", "asterisco stella", "cancelletto diesis"),
		example:  exampleIn("prema", "asterisco", "cancelletto"),
	},
	"en": {
		triggers: words("press dial enter key select push hit"),
		fillers:  words("the key button number on"),
		joiners:  words("or and"),
		keys:     keyNames("zero one two three four five six seven eight nine", "star asterisk", "hash pound"),
		example:  exampleIn("press", "star", "hash"),
	},
	"fr": {
		triggers: words("appuyez tapez composez pressez touche"),
		fillers:  words("sur la le touche"),
		joiners:  words("ou et"),
		keys:     keyNames("zéro un deux trois quatre cinq six sept huit neuf", "étoile", "dièse"),
		example:  exampleIn("appuyez sur", "étoile", "dièse"),
	},
	"de": {
		triggers: words("drücken wählen tippen taste"),
		fillers:  words("sie die den auf taste"),
		joiners:  words("oder und"),
		keys:     keyNames("null eins zwei drei vier fünf sechs sieben acht neun", "stern", "raute"),
		example:  exampleIn("drücken Sie", "Stern", "Raute"),
	},
	"es": {
		triggers: words("pulse marque presione oprima pulsa marca tecla"),
		fillers:  words("la el tecla número"),
		joiners:  words("o u y"),
		keys:     keyNames("cero uno dos tres cuatro cinco seis siete ocho nueve", "asterisco", "almohadilla numeral"),
		example:  exampleIn("pulse", "asterisco", "almohadilla"),
	},
}

var keyToken = regexp.MustCompile(`[\p{L}']+|[0-9]+|[*#]|[.;:!?]`)

// mentionedKeys returns the keys a text announces, in order of first
// mention. A key counts when it follows a word that announces keys
// ("prema", "press", "tasto"), possibly through a few fillers ("prema il
// tasto 3") or after another key ("prema 1 o 2"); a number elsewhere
// ("il Lotto 3") is not a key.
func (kv keyVocabulary) mentionedKeys(text string) []string {
	const (
		idle = iota
		armed
		afterKey
	)
	state, budget := idle, 0
	seen := map[string]bool{}
	var out []string
	for _, tok := range keyToken.FindAllString(strings.ToLower(text), -1) {
		key, isKey := kv.keys[tok]
		if len(tok) == 1 && strings.ContainsAny(tok, "0123456789*#") {
			key, isKey = tok, true
		}
		switch {
		case strings.ContainsAny(tok, ".;:!?"):
			state = idle
		case isKey && state != idle:
			if !seen[key] {
				seen[key] = true
				out = append(out, key)
			}
			state = afterKey
		case kv.triggers[tok]:
			state, budget = armed, 3
		case state == armed && kv.fillers[tok] && budget > 0:
			budget--
		case state == afterKey && (kv.joiners[tok] || kv.fillers[tok]):
			state, budget = armed, 2
		default:
			state = idle
		}
	}
	return out
}

// validateKeyHints checks every menu's prompt text against its keys.
func (c *Config) validateKeyHints(v *validator) {
	for _, id := range c.NodeIDs() {
		n := c.nodes[id]
		if n == nil {
			continue
		}
		if n.KeyHints != nil && n.Action != KindMenu {
			v.add(n.Pos, "%s: key_hints is only for menus", n.describe())
			continue
		}
		if n.Action != KindMenu || (n.KeyHints != nil && !*n.KeyHints) {
			continue
		}
		c.checkKeyHints(v, n)
	}
}

func (c *Config) checkKeyHints(v *validator, n *Node) {
	type use struct {
		what     string
		required bool
	}
	active := map[string]use{}
	for _, k := range n.keys {
		if child := n.Options[k]; child != nil {
			active[k] = use{fmt.Sprintf("key %s (%s)", k, child.Label), true}
		}
	}
	ivr := &c.IVR
	if ivr.RepeatKey != "" {
		active[ivr.RepeatKey] = use{fmt.Sprintf("the repeat key %q", ivr.RepeatKey), true}
	}
	if ivr.BackKey != "" {
		// At the top the back key only repeats the menu: it may be
		// announced, it need not be.
		active[ivr.BackKey] = use{fmt.Sprintf("the back key %q", ivr.BackKey), n.parent != nil}
	}
	if n.operatorAllowed(c) {
		active[ivr.OperatorKey] = use{fmt.Sprintf("the operator key %q", ivr.OperatorKey), true}
	}
	where := n.describe()
	for _, lang := range c.Service.Languages {
		text := n.Prompt[lang]
		kv, known := keyVocabularies[lang]
		if strings.TrimSpace(text) == "" || !known {
			continue
		}
		pos := n.Pos
		if p, ok := n.promptPos[lang]; ok {
			pos = p
		}
		mentioned := map[string]bool{}
		for _, k := range kv.mentionedKeys(text) {
			mentioned[k] = true
			if _, ok := active[k]; !ok {
				v.add(pos, "%s: the %q prompt announces key %s, which does nothing here", where, lang, k)
			}
		}
		for _, k := range sortedKeys(active) {
			if u := active[k]; u.required && !mentioned[k] {
				v.add(pos, "%s: the %q prompt does not announce %s (say e.g. %q; key_hints: false if the prompt is a recording not written here)", where, lang, u.what, kv.example(k))
			}
		}
	}
}

// fieldPositions returns where each key of a mapping is: of n itself, or
// of its field named sub ("prompt" gives the line of each language).
func fieldPositions(n *yaml.Node, sub string) map[string]Pos {
	if sub != "" {
		n = fieldValue(n, sub)
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	out := map[string]Pos{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if _, dup := out[k.Value]; !dup {
			out[k.Value] = Pos{Line: k.Line, Col: k.Column}
		}
	}
	return out
}

func fieldValue(n *yaml.Node, name string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == name {
			return n.Content[i+1]
		}
	}
	return nil
}
