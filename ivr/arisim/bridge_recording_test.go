package arisim

import (
	"context"
	"testing"
	"time"
)

// A bridge recording as Asterisk 20 makes one: the errors of
// POST /bridges/{id}/record, a recorder among the bridge's channels, the
// recording's events to the bridge's application, pause and unpause
// (the paused time is not in the duration), the recording kept when the
// parties leave, and its file.
func TestBridgeRecording(t *testing.T) {
	s, clk := newSim(t, 20, Options{})
	ws := dialEvents(t, s, "ivr")
	s.SetEndpoint("PJSIP/op101", EndpointBehavior{AnswerAfter: time.Second})
	call, _ := s.PlaceCall(context.Background(), "3331234567", "800749049", CallOptions{})
	ws.expect("StasisStart")
	do(t, s, "POST", "/channels/"+call.ID()+"/answer", nil)
	if r := do(t, s, "POST", "/bridges/nobridge/record?name=x&format=wav", nil); r.status != 404 {
		t.Errorf("no bridge: %d %s", r.status, r.body)
	}
	do(t, s, "POST", "/bridges", map[string]string{"bridgeId": "br1", "type": "mixing"})
	do(t, s, "POST", "/bridges/br1/addChannel", map[string]string{"channel": call.ID()})
	ws.expect("ChannelEnteredBridge")
	do(t, s, "POST", "/channels?endpoint=PJSIP/op101&app=ivr&channelId=op-1", nil)
	ws.expect("StasisStart")
	do(t, s, "POST", "/bridges/br1/addChannel?channel=op-1", nil)
	ws.expect("ChannelEnteredBridge")
	for _, c := range []struct {
		query  string
		status int
	}{
		{"name=c1&format=mp9", 422},
		{"name=c1&format=wav&terminateOn=x", 400},
		{"name=c1&format=wav&ifExists=never", 400},
	} {
		if r := do(t, s, "POST", "/bridges/br1/record?"+c.query, nil); r.status != c.status {
			t.Errorf("%s: %d %s, want %d", c.query, r.status, r.body, c.status)
		}
	}
	r := do(t, s, "POST", "/bridges/br1/record", map[string]any{"name": "c1", "format": "wav", "maxDurationSeconds": 0})
	if r.status != 201 || r.json(t)["target_uri"] != "bridge:br1" || r.header.Get("Location") != "/ari/recordings/live/c1" {
		t.Fatalf("record: %d %s %v", r.status, r.body, r.header)
	}
	if ev := ws.expect("RecordingStarted"); ev["recording"].(map[string]any)["name"] != "c1" {
		t.Errorf("started %v", ev)
	}
	if r := do(t, s, "POST", "/bridges/br1/record?name=c1&format=wav", nil); r.status != 409 {
		t.Errorf("same name again: %d %s", r.status, r.body)
	}
	if b := do(t, s, "GET", "/bridges/br1", nil).json(t); len(b["channels"].([]any)) != 3 {
		t.Errorf("bridge channels %v: want the caller, the operator and the recorder", b["channels"])
	}
	wait := func(d time.Duration) {
		t0 := clk.Now()
		for clk.Now().Sub(t0) < d {
			time.Sleep(5 * time.Millisecond)
		}
	}
	wait(3 * time.Second)
	if r := do(t, s, "POST", "/recordings/live/c1/pause", nil); r.status != 204 {
		t.Fatalf("pause %d %s", r.status, r.body)
	}
	if st := do(t, s, "GET", "/recordings/live/c1", nil).json(t)["state"]; st != "paused" {
		t.Errorf("state %v", st)
	}
	wait(10 * time.Second)
	if r := do(t, s, "DELETE", "/recordings/live/c1/pause", nil); r.status != 204 {
		t.Fatalf("unpause %d %s", r.status, r.body)
	}
	wait(3 * time.Second)
	// Both parties leave: the lonely recorder is ejected, the recording
	// is done and kept.
	call.Hangup()
	do(t, s, "DELETE", "/channels/op-1", nil)
	ev := ws.expect("RecordingFinished")
	rec := ev["recording"].(map[string]any)
	if rec["state"] != "done" || rec["target_uri"] != "bridge:br1" {
		t.Fatalf("finished %v", rec)
	}
	if d := rec["duration"].(float64); d < 6 || d > 9 {
		t.Errorf("duration %v s, want about 6 (16 s less 10 paused)", d)
	}
	if r := do(t, s, "GET", "/recordings/stored/c1", nil); r.status != 200 {
		t.Errorf("stored %d", r.status)
	}
	if r := do(t, s, "GET", "/recordings/stored/c1/file", nil); r.status != 200 || len(r.body) < 44+2*8000*6 {
		t.Errorf("file %d, %d bytes", r.status, len(r.body))
	}
	if b := do(t, s, "GET", "/bridges/br1", nil).json(t); len(b["channels"].([]any)) != 0 {
		t.Errorf("bridge channels after %v", b["channels"])
	}
	// Stopped by request, and a recording still going when its bridge is
	// destroyed: both kept.
	do(t, s, "POST", "/bridges/br1/record?name=c2&format=wav", nil)
	ws.expect("RecordingStarted")
	if r := do(t, s, "POST", "/recordings/live/c2/stop", nil); r.status != 204 {
		t.Errorf("stop %d", r.status)
	}
	ws.expect("RecordingFinished")
	do(t, s, "POST", "/bridges/br1/record?name=c3&format=wav", nil)
	ws.expect("RecordingStarted")
	do(t, s, "DELETE", "/bridges/br1", nil)
	if ev := ws.expect("RecordingFinished"); ev["recording"].(map[string]any)["name"] != "c3" {
		t.Errorf("finished %v", ev)
	}
	for _, n := range []string{"c2", "c3"} {
		if r := do(t, s, "GET", "/recordings/stored/"+n, nil); r.status != 200 {
			t.Errorf("%s stored %d", n, r.status)
		}
	}
}
