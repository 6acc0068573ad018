package ivr_test

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// languageConfig is the shipped configuration with a language menu for
// callers of unknown language, British numbers served in English, and the
// Corte d'Appello di Milano's callers too.
func languageConfig(t *testing.T) *menu.Config {
	t.Helper()
	data, err := os.ReadFile("../configs/helpdesk.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(data), "ivr:\n  language: it\n", `ivr:
  language: it
  language_menu:
    keys: {"1": it, "2": en}
    prompt:
      it: "Per l'italiano prema 1."
      en: "For English, press 2."
  caller_languages: {"+44": en, "+39": it}
`, 1)
	src = strings.Replace(src, "    code: \"1002\"\n", "    code: \"1002\"\n    language: en\n", 1)
	if !strings.Contains(src, "language_menu") || !strings.Contains(src, "    language: en\n") {
		t.Fatal("the shipped configuration changed: language test setup not applied")
	}
	cfg, err := menu.Parse("helpdesk.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// playedIn lists the languages sound media was played in to the caller.
func playedIn(cl *caller, media string) []string {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	var langs []string
	for _, e := range cl.heard {
		if e.Kind == arisim.EventPlaybackStarted && e.Media == media {
			langs = append(langs, e.Lang)
		}
	}
	return langs
}

// TestLanguageChosenByKey: a caller whose language is unknown (number
// withheld) hears each language's sentence, presses 2 and is served in
// English from then on: menu and system prompts, Asterisk's own sounds
// (the channel's language), the ticket and the call's timeline.
func TestLanguageChosenByKey(t *testing.T) {
	r := newRig(t, monday10, withConfig(languageConfig(t)))
	cl := dial(t, r, "anonymous", 0)
	p := r.waitPrompt(cl.ID(), "system:language_en")
	if !slices.Equal(p.Prompt, []string{"system:language_it", "system:language_en"}) || p.Text != "Per l'italiano prema 1. For English, press 2." {
		t.Fatalf("language menu %+v", p)
	}
	cl.press("2")
	lang := r.waitKind(cl.ID(), ivr.EvLanguage)
	if lang.Text != "en" || lang.Reason != "key" {
		t.Fatalf("language %+v", lang)
	}
	root := r.waitPrompt(cl.ID(), "node:root")
	if !strings.HasPrefix(root.Text, "Welcome to the help desk") {
		t.Fatalf("root menu in %q", root.Text)
	}
	cl.press("9") // a ticket's status: a system prompt
	status := r.waitPrompt(cl.ID(), "system:status_ask")
	if status.Text != r.cfg.SystemText("status_ask", "en") {
		t.Fatalf("status prompt %q", status.Text)
	}
	cl.hangup()
	r.outcome(cl.ID())
	if got := playedIn(cl, "sound:helpdesk/menu-root"); !slices.Equal(got, []string{"en"}) {
		t.Errorf("root menu played in %v, want [en]\n%s", got, cl.transcript())
	}
	// The language menu itself plays before the choice, in the default
	// language's sounds (each sentence is in its own voice in every one);
	// the key stopped it at its first sentence.
	if got := playedIn(cl, "sound:helpdesk/language-it"); !slices.Equal(got, []string{"it"}) {
		t.Errorf("language menu played in %v\n%s", got, cl.transcript())
	}
	call, evs, _ := r.mem.Call(cl.ID())
	tk, _, _ := r.mem.Ticket(call.TicketID)
	if tk.Language != "en" {
		t.Errorf("ticket language %q", tk.Language)
	}
	if !slices.ContainsFunc(evs, func(e tickets.CallEvent) bool { return e.Kind == ivr.EventLanguage && e.Detail == "en (key)" }) {
		t.Errorf("timeline %+v", evs)
	}
}

// TestLanguageKnownFromTheCaller: a British number and a caller of an
// Administration that speaks English are served in English without being
// asked; an Italian number in Italian; a caller who presses nothing at
// the language menu gets the default, and one who presses a key that
// chooses nothing is told so and asked once more.
func TestLanguageKnownFromTheCaller(t *testing.T) {
	cfg := languageConfig(t)
	for _, tc := range []struct {
		name, from, keys, want, how, root string
	}{
		{"british number", "+442071234567", "", "en", "caller", "Welcome"},
		{"administration", "0299991234", "", "en", "caller", "Welcome"},
		{"italian number", "3331234567", "", "it", "caller", "Benvenuto"},
		{"silence", "anonymous", "", "it", "silence", "Benvenuto"},
		{"wrong key then english", "anonymous", "72", "en", "key", "Welcome"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, monday10, withConfig(cfg))
			cl := dial(t, r, tc.from, 0)
			if tc.keys != "" {
				r.waitPrompt(cl.ID(), "system:language_en")
				cl.press(tc.keys[:1])
				r.waitPrompt(cl.ID(), "system:invalid")
				cl.press(tc.keys[1:])
			}
			lang := r.waitKind(cl.ID(), ivr.EvLanguage)
			root := r.waitPrompt(cl.ID(), "node:root")
			cl.hangup()
			r.outcome(cl.ID())
			if lang.Text != tc.want || lang.Reason != tc.how || !strings.HasPrefix(root.Text, tc.root) {
				t.Fatalf("language %+v, root %q\n%s", lang, root.Text, r.transcript(cl.ID()))
			}
			asked := slices.ContainsFunc(r.eventsOf(cl.ID()), func(e ivr.Event) bool {
				return e.Kind == ivr.EvPrompt && slices.Contains(e.Prompt, "system:language_it")
			})
			if asked != (tc.how != "caller") {
				t.Errorf("language menu played: %v\n%s", asked, r.transcript(cl.ID()))
			}
			call, _, _ := r.mem.Call(cl.ID())
			if tk, _, _ := r.mem.Ticket(call.TicketID); tk.Language != tc.want {
				t.Errorf("ticket language %q", tk.Language)
			}
		})
	}
}

// TestLanguageAfterHours: a caller served in English hears the closure,
// the reopening date (Asterisk's day and month sounds in English) and the
// offer to leave a message in English.
func TestLanguageAfterHours(t *testing.T) {
	saturday20 := time.Date(2026, 11, 21, 20, 0, 0, 0, mustLoc("Europe/Rome"))
	r := newRig(t, saturday20, withConfig(languageConfig(t)))
	cl := dial(t, r, "+442071234567", 0)
	p := r.waitPrompt(cl.ID(), "system:reopens")
	if !strings.Contains(p.Text, r.cfg.SystemText("reopens", "en")) {
		t.Errorf("reopening announcement %q", p.Text)
	}
	r.waitPrompt(cl.ID(), "system:record_offer")
	cl.hangup()
	r.outcome(cl.ID())
	if got := playedIn(cl, "sound:digits/mon-10"); !slices.Equal(got, []string{"en"}) {
		t.Errorf("month played in %v\n%s", got, cl.transcript())
	}
}

// TestLanguageKeptOnTakeover: a call taken over by another controller
// goes on in the language the caller chose (Asterisk keeps the channel's
// language): the menu comes back in English, and nobody is asked again.
func TestLanguageKeptOnTakeover(t *testing.T) {
	r := newRig(t, monday10, withConfig(languageConfig(t)))
	cl := dial(t, r, "anonymous", 0)
	r.waitPrompt(cl.ID(), "system:language_en")
	cl.press("2")
	r.waitPrompt(cl.ID(), "node:root")
	cl.press("1")
	r.waitPrompt(cl.ID(), "node:1")
	second := newController(t, r)
	e := second.waitKind(cl.ID(), ivr.EvResumed)
	p := second.waitFor(cl.ID(), "a menu prompt", func(e ivr.Event) bool { return e.Kind == ivr.EvPrompt })
	cl.hangup()
	second.outcome(cl.ID())
	if slices.Contains(p.Prompt, "system:language_it") || !strings.Contains(p.Text, "press") {
		t.Fatalf("after the takeover (%+v): %+v\n%s", e, p, second.transcript(cl.ID()))
	}
}
