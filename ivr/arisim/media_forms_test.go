package arisim

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Asterisk 20 reads several media from the query string's comma list or
// a JSON array; a JSON string is one file name, commas and all, so a
// list sent that way fails as a missing file (res_ari_channels.c,
// ast_ari_channels_play_parse_body).
func TestPlayMediaForms(t *testing.T) {
	for _, tc := range []struct {
		name   string
		path   string
		body   any
		events string
		media  string // media_uri of the first PlaybackStarted
		next   string // its next_media_uri
	}{
		{"query-string list", "/play/pb?media=sound:hello-world,digits:12", nil,
			"PlaybackStarted PlaybackContinuing PlaybackStarted PlaybackFinished:done", "sound:hello-world", "digits:12"},
		{"JSON array", "/play/pb", map[string]any{"media": []string{"sound:hello-world", "digits:12"}},
			"PlaybackStarted PlaybackContinuing PlaybackStarted PlaybackFinished:done", "sound:hello-world", "digits:12"},
		{"JSON string with a comma", "/play/pb", map[string]any{"media": "sound:hello-world,digits:12"},
			"PlaybackStarted PlaybackFinished:failed", "sound:hello-world,digits:12", ""},
		{"JSON string, one media", "/play/pb", map[string]any{"media": "digits:12"},
			"PlaybackStarted PlaybackFinished:done", "digits:12", ""},
		{"JSON array, a missing item inside is skipped", "/play/pb", map[string]any{"media": []string{"sound:hello-world", "sound:no-such-file", "digits:12"}},
			"PlaybackStarted PlaybackContinuing PlaybackStarted PlaybackContinuing PlaybackStarted PlaybackFinished:done", "sound:hello-world", "sound:no-such-file"},
		{"JSON array, a missing last item fails it", "/play/pb", map[string]any{"media": []string{"sound:hello-world", "sound:no-such-file"}},
			"PlaybackStarted PlaybackContinuing PlaybackStarted PlaybackFinished:failed", "sound:hello-world", "sound:no-such-file"},
		{"JSON body replaces the query", "/play/pb?media=sound:hello-world,digits:12", map[string]any{"media": "digits:34"},
			"PlaybackStarted PlaybackFinished:done", "digits:34", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newSim(t, 50, Options{StrictSounds: true, Sounds: map[string]time.Duration{"hello-world": 650 * time.Millisecond}})
			ws := dialEvents(t, s, "ivr")
			call, err := s.PlaceCall(context.Background(), "3331234567", "800749049", CallOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ws.expect("StasisStart")
			if r := do(t, s, "POST", "/channels/"+call.ID()+"/answer", nil); r.status != 204 {
				t.Fatalf("answer: %d", r.status)
			}
			ws.expect("ChannelStateChange")
			if r := do(t, s, "POST", "/channels/"+call.ID()+tc.path, tc.body); r.status != 201 {
				t.Fatalf("play: %d %s", r.status, r.body)
			}
			var got []string
			for {
				ev := ws.next(5 * time.Second)
				typ := ev["type"].(string)
				pb := ev["playback"].(map[string]any)
				if len(got) == 0 {
					if pb["media_uri"] != tc.media {
						t.Errorf("media_uri %v, want %q", pb["media_uri"], tc.media)
					}
					if next, _ := pb["next_media_uri"].(string); next != tc.next {
						t.Errorf("next_media_uri %q, want %q", next, tc.next)
					}
				}
				if typ == "PlaybackFinished" {
					got = append(got, typ+":"+pb["state"].(string))
					break
				}
				got = append(got, typ)
			}
			if g := strings.Join(got, " "); g != tc.events {
				t.Errorf("events %s, want %s", g, tc.events)
			}
			missing := s.MissingMedia()
			if want := strings.Contains(tc.name, "missing") || strings.HasSuffix(tc.events, "failed"); want != (len(missing) == 1) {
				t.Errorf("missing media %q", missing)
			}
			call.Hangup()
		})
	}
}
