package arisim

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestShutdownLikeAsterisk: Asterisk stopped under two calls, one playing
// a prompt and one alone in a bridge with music on hold, as recorded in
// testdata/ari-traces/shutdown/s1-core-stop-now.jsonl: the application
// gets, per channel, the same events after the stop (ChannelHangupRequest
// with cause 4 and soft, the failed playback, leaving the bridge,
// StasisEnd; no ChannelDestroyed), then the socket closes; the callers are
// hung up.
func TestShutdownLikeAsterisk(t *testing.T) {
	t.Parallel()
	want := shutdownTraceEvents(t)
	s, _ := newSim(t, 1, Options{})
	ws := dialEvents(t, s, "ivr")
	var ids []string
	var calls []*Call
	for _, from := range []string{"3331000001", "3331000002"} {
		col := newCollector()
		call, err := s.PlaceCall(context.Background(), from, "800749049", CallOptions{OnEvent: col.add})
		if err != nil {
			t.Fatal(err)
		}
		calls = append(calls, call)
		ev := ws.expect("StasisStart")
		id := ev["channel"].(map[string]any)["id"].(string)
		ids = append(ids, id)
		mustStatus(t, do(t, s, "POST", "/channels/"+id+"/answer", nil), 204)
	}
	mustStatus(t, do(t, s, "POST", "/channels/"+ids[0]+"/play/pb-s1?media=sound:demo-congrats", nil), 201)
	ws.expect("PlaybackStarted")
	mustStatus(t, do(t, s, "POST", "/bridges/br-s1?type=mixing", nil), 200)
	mustStatus(t, do(t, s, "POST", "/bridges/br-s1/addChannel?channel="+ids[1], nil), 204)
	ws.expect("ChannelEnteredBridge")
	mustStatus(t, do(t, s, "POST", "/bridges/br-s1/moh?mohClass=default", nil), 204)
	// Drain what came before the stop.
	for drained := false; !drained; {
		select {
		case <-ws.ch:
		case <-time.After(200 * time.Millisecond):
			drained = true
		}
	}

	s.Shutdown()
	select {
	case <-ws.done: // the reader has queued every event it got
	case <-time.After(5 * time.Second):
		t.Fatal("the event socket stayed open after the shutdown")
	}
	got := map[string][]string{}
	for len(ws.ch) > 0 {
		var ev traceEvent
		if err := json.Unmarshal(<-ws.ch, &ev); err != nil {
			t.Fatal(err)
		}
		if k := ev.key(); k != "" {
			ch := ev.Channel.ID
			if ch == "" {
				ch = ids[0] // a playback's event: on the first call
			}
			got[ch] = append(got[ch], k)
		}
	}
	// The trace's channels in the order of their StasisStart.
	for i, id := range ids {
		if !slices.Equal(got[id], want[i]) {
			t.Errorf("call %d after the stop:\n got %q\nwant %q (Asterisk)", i, got[id], want[i])
		}
	}
	for i, c := range calls {
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Errorf("call %d not ended by the shutdown", i)
		}
	}
	if r := do(t, s, "GET", "/bridges/br-s1", nil); r.status != 404 {
		t.Errorf("the bridge outlived Asterisk: %d", r.status)
	}
}

type traceEvent struct {
	Type    string `json:"type"`
	Cause   *int   `json:"cause"`
	Soft    bool   `json:"soft"`
	Channel struct {
		ID string `json:"id"`
	} `json:"channel"`
	Playback struct {
		TargetURI string `json:"target_uri"`
		State     string `json:"state"`
	} `json:"playback"`
}

// key is what the comparison keeps of an event: its type and the values
// that matter ("" for the bookkeeping ChannelVarset).
func (e traceEvent) key() string {
	switch e.Type {
	case "ChannelVarset":
		return ""
	case "ChannelHangupRequest":
		if e.Cause == nil {
			return e.Type
		}
		k := fmt.Sprintf("%s cause=%d", e.Type, *e.Cause)
		if e.Soft {
			k += " soft"
		}
		return k
	case "PlaybackFinished":
		return e.Type + " " + e.Playback.State
	}
	return e.Type
}

// shutdownTraceEvents reads the recorded trace: the events of each call
// (in the order of their StasisStart) after the note of the stop.
func shutdownTraceEvents(t *testing.T) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join(tracesDir(t), "shutdown", "s1-core-stop-now.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var order []string
	per := map[string][]string{}
	stopped := false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l traceLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		if l.Kind == "note" && strings.Contains(l.Note, "core stop now") && !strings.HasPrefix(l.Note, "scenario") {
			stopped = true
		}
		if l.Kind != "event" {
			continue
		}
		var ev traceEvent
		if err := json.Unmarshal(l.Event, &ev); err != nil {
			t.Fatal(err)
		}
		ch := ev.Channel.ID
		if ev.Type == "StasisStart" {
			order = append(order, ch)
		}
		if ch == "" {
			ch, _ = strings.CutPrefix(ev.Playback.TargetURI, "channel:")
		}
		if k := ev.key(); stopped && k != "" {
			per[ch] = append(per[ch], k)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if !stopped || len(order) != 2 {
		t.Fatalf("the trace has no stop or not two calls (%d)", len(order))
	}
	return [][]string{per[order[0]], per[order[1]]}
}

func mustStatus(t *testing.T, r resp, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d: %s", r.status, want, r.body)
	}
}
