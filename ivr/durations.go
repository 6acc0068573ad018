package ivr

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/helpdesk-ivr/ivr/menu"
)

// speakingRate is how long a synthesised prompt takes per character of
// its text: about 14 characters a second, a calm IVR voice.
const speakingRate = 70 * time.Millisecond

// PromptDurations tells the ARI simulator how long each media URI of a
// configuration plays, from the prompt texts, so simulated calls take as
// long as real ones (at the simulation's speed). Unknown sounds count as
// missing files, as on a real Asterisk.
func PromptDurations(cfg *menu.Config) func(uri, lang string) (time.Duration, bool) {
	texts := map[string]string{}
	for _, p := range cfg.PromptTexts() {
		texts[p.Lang+"/"+p.Sound] = p.Text
	}
	return func(uri, lang string) (time.Duration, bool) {
		scheme, rest, _ := strings.Cut(uri, ":")
		switch scheme {
		case "digits":
			return time.Duration(len(rest)) * 600 * time.Millisecond, true
		case "number":
			return 900 * time.Millisecond, true
		case "characters":
			return time.Duration(len(rest)) * 500 * time.Millisecond, true
		case "tone":
			return 2 * time.Second, true
		case "sound":
		default:
			return 0, false
		}
		if t, ok := texts[lang+"/"+rest]; ok {
			return time.Duration(utf8.RuneCountInString(t)) * speakingRate, true
		}
		if t, ok := texts[cfg.IVR.Language+"/"+rest]; ok {
			return time.Duration(utf8.RuneCountInString(t)) * speakingRate, true
		}
		switch {
		case strings.HasPrefix(rest, "digits/"):
			return 600 * time.Millisecond, true // Asterisk's core sounds
		case rest == "beep":
			return 300 * time.Millisecond, true
		}
		return 0, false
	}
}
