package realasterisk

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

type playbackEvent struct {
	Type     string `json:"type"`
	Playback struct {
		ID           string `json:"id"`
		MediaURI     string `json:"media_uri"`
		NextMediaURI string `json:"next_media_uri"`
		State        string `json:"state"`
	} `json:"playback"`
}

type channelEvent struct {
	Type    string `json:"type"`
	Channel struct {
		ID    string `json:"id"`
		State string `json:"state"`
	} `json:"channel"`
}

// TestArrayPlaysEveryMedia proves the harness end to end: a real SIP call
// enters Stasis, is answered over ARI, and a play with a JSON array body
// plays both media to the end.
func TestArrayPlaysEveryMedia(t *testing.T) {
	t.Parallel()
	a := Start(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := a.NewClient(nil)
	evs, err := c.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer evs.Close()

	call := a.Call(t, CallOptions{Timeout: 25 * time.Second}) // waits for our hang-up
	ev, err := evs.WaitFor(ctx, "StasisStart")
	if err != nil {
		t.Fatal(err)
	}
	var start channelEvent
	if err := ev.Decode(&start); err != nil {
		t.Fatal(err)
	}
	ch := start.Channel.ID
	// The CLI sees the same call, in Stasis.
	out, err := a.CLI(ctx, "core show channels concise")
	if err != nil || !strings.Contains(out, "!Stasis!ivr!") {
		t.Fatalf("core show channels concise: %v\n%s", err, out)
	}
	if r, err := c.Do(ctx, "POST", "/channels/"+ch+"/answer", nil, nil); err != nil || r.Status != 204 {
		t.Fatalf("answer: %v %+v", err, r)
	}
	r, err := c.Do(ctx, "POST", "/channels/"+ch+"/play/pb-array", nil,
		[]byte(`{"media":["sound:hello-world","digits:12"]}`))
	if err != nil || r.Status != 201 {
		t.Fatalf("play: %v %+v", err, r)
	}
	var got []string
	for {
		ev, err := evs.WaitFor(ctx, "PlaybackStarted", "PlaybackContinuing", "PlaybackFinished")
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		var pe playbackEvent
		if err := ev.Decode(&pe); err != nil {
			t.Fatal(err)
		}
		if pe.Playback.ID != "pb-array" {
			t.Fatalf("event for playback %q: %s", pe.Playback.ID, ev.Raw)
		}
		got = append(got, pe.Type+" "+pe.Playback.MediaURI+" "+pe.Playback.State)
		if pe.Type == "PlaybackFinished" {
			break
		}
	}
	want := []string{
		"PlaybackStarted sound:hello-world playing",
		"PlaybackContinuing sound:hello-world continuing",
		"PlaybackStarted digits:12 playing",
		"PlaybackFinished digits:12 done",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("playback events:\n got %q\nwant %q", got, want)
	}
	if r, err := c.Do(ctx, "DELETE", "/channels/"+ch, url.Values{"reason": {"normal"}}, nil); err != nil || r.Status != 204 {
		t.Fatalf("hang up: %v %+v", err, r)
	}
	if _, err := evs.WaitFor(ctx, "StasisEnd"); err != nil {
		t.Fatal(err)
	}
	if err := call.Wait(ctx); err != nil {
		t.Fatalf("the caller: %v", err)
	}
}

// TestCallerKeysReachARI: the sipp caller's keys arrive as
// ChannelDtmfReceived, sent by SIP INFO and by RFC 2833, and a caller that
// hangs up ends the channel's Stasis.
func TestCallerKeysReachARI(t *testing.T) {
	t.Parallel()
	a := Start(t, Options{})
	for _, tc := range []struct {
		name string
		mode DTMFMode
		keys string
	}{
		{"info", DTMFInfo, "1#"},
		{"rfc2833", DTMFRFC2833, "2*"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c := a.NewClient(nil)
			evs, err := c.Connect(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer evs.Close()
			var keys []Key
			for i := range len(tc.keys) {
				keys = append(keys, Key{After: 500 * time.Millisecond, Digit: tc.keys[i]})
			}
			call := a.Call(t, CallOptions{DTMF: tc.mode, Keys: keys, HangUpAfter: 500 * time.Millisecond, Timeout: 25 * time.Second})
			ev, err := evs.WaitFor(ctx, "StasisStart")
			if err != nil {
				t.Fatal(err)
			}
			var start channelEvent
			if err := ev.Decode(&start); err != nil {
				t.Fatal(err)
			}
			if r, err := c.Do(ctx, "POST", "/channels/"+start.Channel.ID+"/answer", nil, nil); err != nil || r.Status != 204 {
				t.Fatalf("answer: %v %+v", err, r)
			}
			var got string
			for {
				ev, err := evs.WaitFor(ctx, "ChannelDtmfReceived", "StasisEnd")
				if err != nil {
					t.Fatalf("after keys %q: %v", got, err)
				}
				if ev.Type == "StasisEnd" {
					break
				}
				var d struct {
					Digit string `json:"digit"`
				}
				if err := ev.Decode(&d); err != nil {
					t.Fatal(err)
				}
				got += d.Digit
			}
			if got != tc.keys {
				t.Fatalf("keys received %q, want %q", got, tc.keys)
			}
			if err := call.Wait(ctx); err != nil {
				t.Fatalf("the caller: %v", err)
			}
		})
	}
}
