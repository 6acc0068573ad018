package arisim

import (
	"context"
	"testing"
	"time"
)

// Servers sharing Recordings are Asterisks sharing a recording spool: a
// recording made on one is served by the other, after the first is gone
// (the test phone's desks at a chosen time, whose recordings the demo's
// panel plays through the demo's own simulator).
func TestSharedRecordings(t *testing.T) {
	recs := NewRecordings()
	a, _ := newSim(t, 20, Options{Recordings: recs})
	b, _ := newSim(t, 20, Options{Recordings: recs})
	own, _ := newSim(t, 20, Options{})
	ws := dialEvents(t, a, "ivr")
	call, _ := a.PlaceCall(context.Background(), "100", "800749049", CallOptions{})
	ws.expect("StasisStart")
	do(t, a, "POST", "/channels/"+call.ID()+"/answer", nil)
	do(t, a, "POST", "/channels/"+call.ID()+"/record?name=shared&format=wav&maxDurationSeconds=2", nil)
	call.Talk(2 * time.Second)
	ws.expect("RecordingFinished")
	a.Close()
	if r := do(t, b, "GET", "/recordings/stored/shared/file", nil); r.status != 200 || string(r.body[:4]) != "RIFF" || len(r.body) < 44+2*8000*2 {
		t.Errorf("the other server: %d, %d bytes", r.status, len(r.body))
	}
	if r := do(t, b, "GET", "/recordings/stored", nil); string(r.body) != `[{"name":"shared","format":"wav"}]` {
		t.Errorf("the other server lists %s", r.body)
	}
	if r := do(t, own, "GET", "/recordings/stored/shared/file", nil); r.status != 404 {
		t.Errorf("a server with a spool of its own: %d", r.status)
	}
}
