package interop

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// languagesYAML turns the shipped configuration into one that asks callers
// of unknown language which they speak, and serves British numbers in
// English.
func languagesYAML(shipped string) (string, error) {
	out := strings.Replace(shipped, "ivr:\n  language: it\n", `ivr:
  language: it
  language_menu:
    keys: {"1": it, "2": en}
    prompt:
      it: "Per l'italiano prema 1."
      en: "For English, press 2."
  caller_languages: {"+44": en}
`, 1)
	if out == shipped {
		return "", fmt.Errorf("configs/helpdesk.yaml changed: the language variant no longer applies")
	}
	return out, nil
}

// writeLanguagesConfig writes the language variant beside the prompts.
func writeLanguagesConfig(root, dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, "configs", "helpdesk.yaml"))
	if err != nil {
		return "", err
	}
	src, err := languagesYAML(string(b))
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "helpdesk-languages.yaml")
	return path, os.WriteFile(path, []byte(src), 0o644)
}

// channelLanguage waits until Asterisk says channel ch speaks lang (its
// CHANNEL(language), which picks the sound files).
func channelLanguage(ctx context.Context, t *testing.T, d *Desk, ch, lang string) {
	t.Helper()
	waitFor(ctx, t, "channel "+ch+" in "+lang, func() (string, bool) {
		resp, err := d.A.NewClient(nil).Do(ctx, "GET", "/channels/"+ch, nil, nil)
		if err != nil || resp.Status != 200 {
			return "", false
		}
		var c struct {
			Language string `json:"language"`
		}
		return c.Language, resp.JSON(&c) == nil && c.Language == lang
	})
}

// TestIvrdLanguage: on a real Asterisk through the ivrd binary, a caller
// of unknown language hears each language's sentence, presses 2 and gets
// the menu and the ticket-status question in English (Asterisk's channel
// is set to English, so it picks the English files); a British number is
// served in English without being asked. The tickets keep the language,
// the timelines how it was chosen.
func TestIvrdLanguage(t *testing.T) {
	t.Parallel()
	variant, err := writeLanguagesConfig(repoRoot(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d := StartDesk(t, DeskOptions{Clock: mondayClock, Config: variant})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cfg := shipped(t)
	monday := time.Date(2026, 11, 16, 10, 0, 0, 0, cfg.Location())
	inEnglish := func(ctx context.Context, t *testing.T, d *Desk, ch string) { channelLanguage(ctx, t, d, ch, "en") }
	for _, c := range []ivrdCase{{
		// The two sentences last about 3 s; the 2 comes within them, the
		// 9 within the English main menu.
		name: "chosen by key", caller: "3331240040", keys: slices.Concat(keyed("2", 2*time.Second, 0), keyed("9", 4*time.Second, 0)),
		hangUpAfter: 8 * time.Second, act: inEnglish, hangupBy: tickets.HangupCaller,
		check: func(ctx context.Context, t *testing.T, d *Desk, c Call, rec tickets.Call, events []tickets.CallEvent) {
			if !slices.ContainsFunc(events, func(e tickets.CallEvent) bool { return e.Kind == ivr.EventLanguage && e.Detail == "en (key)" }) {
				t.Errorf("events %v", events)
			}
			if tk := d.Ticket(ctx, t, rec); tk.Language != "en" {
				t.Errorf("ticket language %q", tk.Language)
			}
			hasSequence(t, c, sound("language-it"))
			hasSequence(t, c, sound("menu-root"))
			if !slices.ContainsFunc(c.Media, func(p Playback) bool { return p.Media == system("status_ask") }) {
				t.Errorf("no status question:\n%s", mediaLines(c))
			}
		},
	}, {
		name: "british number", caller: "00441612345678", hangUpAfter: 6 * time.Second,
		act: inEnglish, hangupBy: tickets.HangupCaller, outcome: tickets.OutcomeHungUpInMenu,
		check: func(ctx context.Context, t *testing.T, d *Desk, c Call, rec tickets.Call, events []tickets.CallEvent) {
			if !slices.ContainsFunc(events, func(e tickets.CallEvent) bool { return e.Kind == ivr.EventLanguage && e.Detail == "en (caller)" }) {
				t.Errorf("events %v", events)
			}
			if tk := d.Ticket(ctx, t, rec); tk.Language != "en" {
				t.Errorf("ticket language %q", tk.Language)
			}
			if slices.ContainsFunc(c.Media, func(p Playback) bool { return strings.HasPrefix(p.Media, sound("language-")) }) {
				t.Errorf("asked the language:\n%s", mediaLines(c))
			}
		},
	}} {
		t.Run(c.name, func(t *testing.T) {
			if why := runIvrdCase(ctx, t, d, cfg, monday, c); why != "" {
				t.Fatalf("known defect: %s", why)
			}
		})
	}
}
