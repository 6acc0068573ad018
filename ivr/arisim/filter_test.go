package arisim

import (
	"context"
	"strings"
	"testing"
	"time"
)

// The application's event filter behaves as Asterisk 20's
// (res/stasis/app.c): what it accepts, what it answers, what it lets
// through the socket.
func TestEventFilter(t *testing.T) {
	s, _ := newSim(t, 20, Options{})
	if r := do(t, s, "PUT", "/applications/ivr/eventFilter", map[string]any{}); r.status != 404 {
		t.Fatalf("no app: %d %s", r.status, r.body)
	}
	ws := dialEvents(t, s, "ivr")
	waitFor(t, func() bool { return s.Stats().ActiveApps == 1 })

	for _, bad := range []any{
		map[string]any{"allowed": "StasisStart"},
		map[string]any{"allowed": []any{"StasisStart"}},
		map[string]any{"allowed": []any{map[string]any{"type": ""}}},
		map[string]any{"allowed": []any{map[string]any{"type": 1}}},
		map[string]any{"disallowed": []any{map[string]any{"name": "ChannelVarset"}}},
	} {
		if r := do(t, s, "PUT", "/applications/ivr/eventFilter", bad); r.status != 400 || !strings.Contains(string(r.body), "Invalid format definition") {
			t.Errorf("%v: %d %s", bad, r.status, r.body)
		}
	}

	r := do(t, s, "PUT", "/applications/ivr/eventFilter", map[string]any{
		"allowed":    []any{map[string]any{"type": "StasisStart"}, map[string]any{"type": "StasisEnd"}, map[string]any{"type": "ChannelVarset"}},
		"disallowed": []any{map[string]any{"type": "ChannelVarset"}},
	})
	if r.status != 200 {
		t.Fatalf("filter: %d %s", r.status, r.body)
	}
	app := r.json(t)
	if got := len(app["events_allowed"].([]any)); got != 3 {
		t.Errorf("events_allowed %v", app["events_allowed"])
	}
	if got := len(app["events_disallowed"].([]any)); got != 1 {
		t.Errorf("events_disallowed %v", app["events_disallowed"])
	}
	// A list not given is kept.
	r = do(t, s, "PUT", "/applications/ivr/eventFilter", map[string]any{"other": 1})
	if got := r.json(t)["events_allowed"].([]any); len(got) != 3 {
		t.Errorf("allowed list lost: %v", got)
	}

	call, err := s.PlaceCall(context.Background(), "3331234567", "800749049", CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ev := ws.next(5 * time.Second); ev["type"] != "StasisStart" {
		t.Fatalf("first event %v", ev)
	}
	do(t, s, "POST", "/channels/"+call.ID()+"/answer", nil)
	do(t, s, "POST", "/channels/"+call.ID()+"/variable?variable=X&value=1", nil)
	call.Hangup()
	// ChannelStateChange, ChannelVarset (disallowed wins), the hangup
	// request and ChannelDestroyed are filtered: StasisEnd comes next.
	if ev := ws.next(5 * time.Second); ev["type"] != "StasisEnd" {
		t.Fatalf("after StasisStart: %v", ev)
	}
	ws.none(50 * time.Millisecond)

	// An empty body clears both lists: everything flows again.
	r = do(t, s, "PUT", "/applications/ivr/eventFilter", nil)
	if app := r.json(t); len(app["events_allowed"].([]any)) != 0 || len(app["events_disallowed"].([]any)) != 0 {
		t.Errorf("not cleared: %s", r.body)
	}
	call, err = s.PlaceCall(context.Background(), "3331234567", "800749049", CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ws.expect("StasisStart")
	do(t, s, "POST", "/channels/"+call.ID()+"/variable?variable=X&value=1", nil)
	ws.expect("ChannelVarset")
	call.Hangup()
	ws.expect("StasisEnd")
}
