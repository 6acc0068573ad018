package arisim

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// A snoop channel is made as res_stasis_snoop does: its parameters
// checked, Up at once, into the app with its arguments; the sound reaches
// whom the directions say; it ends, without a hangup request, when its
// target goes.
func TestSnoop(t *testing.T) {
	s, _ := newSim(t, 20, Options{})
	ws := dialEvents(t, s, "ivr")
	s.SetEndpoint("PJSIP/op101", EndpointBehavior{Mode: Answer})
	s.SetEndpoint("PJSIP/sup1", EndpointBehavior{Mode: Answer})
	call, _ := s.PlaceCall(context.Background(), "3331234567", "800749049", CallOptions{})
	ws.expect("StasisStart")
	do(t, s, "POST", "/channels/"+call.ID()+"/answer", nil)
	do(t, s, "POST", "/bridges?bridgeId=qb&type=mixing", nil)
	do(t, s, "POST", "/bridges/qb/addChannel?channel="+call.ID(), nil)
	do(t, s, "POST", "/channels?endpoint=PJSIP/op101&app=ivr&appArgs=operator&channelId=op", nil)
	ws.expect("StasisStart")
	do(t, s, "POST", "/bridges/qb/addChannel?channel=op", nil)
	do(t, s, "POST", "/channels?endpoint=PJSIP/sup1&app=ivr&appArgs=supervisor&channelId=sup", nil)
	ws.expect("StasisStart")
	do(t, s, "POST", "/bridges?bridgeId=sv&type=mixing", nil)
	do(t, s, "POST", "/bridges/sv/addChannel?channel=sup", nil)

	for _, bad := range []struct{ q, msg string }{
		{"spy=none&whisper=none&app=ivr", "Direction must be specified for at least spy or whisper"},
		{"spy=sideways&app=ivr", "Invalid direction specified for spy"},
		{"spy=both&whisper=up&app=ivr", "Invalid direction specified for whisper"},
		{"spy=both", "Application name is required"},
	} {
		if r := do(t, s, "POST", "/channels/op/snoop?"+bad.q, nil); r.status != 400 || r.json(t)["message"] != bad.msg {
			t.Errorf("snoop?%s: %d %s", bad.q, r.status, r.body)
		}
	}
	if r := do(t, s, "POST", "/channels/nobody/snoop?spy=both&app=ivr", nil); r.status != 404 {
		t.Errorf("snoop on a missing channel: %d", r.status)
	}
	hears := func(id string, want ...string) {
		t.Helper()
		if got := s.Hears(id); !slices.Equal(got, want) {
			t.Errorf("%s hears %v, want %v", id, got, want)
		}
	}
	hears(call.ID(), "op")
	hears("sup")

	snoop := func(id, spy, whisper string) {
		t.Helper()
		r := do(t, s, "POST", "/channels/op/snoop/"+id+"?spy="+spy+"&whisper="+whisper+"&app=ivr&appArgs=snoop,"+call.ID(), nil)
		if r.status != 200 {
			t.Fatalf("snoop: %d %s", r.status, r.body)
		}
		m := r.json(t)
		if m["id"] != id || m["state"] != "Up" || !strings.HasPrefix(m["name"].(string), "Snoop/op-") {
			t.Errorf("snoop channel %s", r.body)
		}
		if ev := ws.expect("ChannelVarset"); ev["variable"] != "STASISSTATUS" {
			t.Errorf("before StasisStart: %v", ev)
		}
		ev := ws.expect("StasisStart")
		if a := ev["args"].([]any); len(a) != 2 || a[0] != "snoop" || a[1] != call.ID() {
			t.Errorf("snoop StasisStart args %v", a)
		}
		do(t, s, "POST", "/bridges/sv/addChannel?channel="+id, nil)
	}
	snoop("sn1", "both", "none") // listen
	hears("sup", call.ID(), "op")
	hears("op", call.ID())
	hears(call.ID(), "op")
	if r := do(t, s, "POST", "/channels/op/snoop/sn1?spy=both&app=ivr", nil); r.status != 500 {
		t.Errorf("snoop id in use: %d %s", r.status, r.body)
	}
	do(t, s, "DELETE", "/channels/sn1", nil)
	var seq []string
	for len(seq) == 0 || seq[len(seq)-1] != "ChannelDestroyed" {
		ev := ws.next(5 * time.Second)
		if ch, _ := ev["channel"].(map[string]any); ch != nil && ch["id"] == "sn1" && ev["type"] != "ChannelEnteredBridge" {
			seq = append(seq, ev["type"].(string))
		}
	}
	if got := strings.Join(seq, " "); got != "ChannelHangupRequest ChannelLeftBridge StasisEnd ChannelVarset ChannelDestroyed" {
		t.Errorf("snoop hung up by the app: %s", got)
	}
	hears("sup")

	snoop("sn2", "both", "out") // whisper: the operator only
	hears("op", call.ID(), "sup")
	hears(call.ID(), "op")
	hears("sup", call.ID(), "op")
	do(t, s, "DELETE", "/channels/sn2", nil)
	snoop("sn3", "both", "both") // barge: everyone
	hears("op", call.ID(), "sup")
	hears(call.ID(), "op", "sup")
	hears("sup", call.ID(), "op")

	// The operator hangs up: the snoop channel goes with no hangup request.
	do(t, s, "DELETE", "/channels/op", nil)
	seq = nil
	for len(seq) == 0 || seq[len(seq)-1] != "ChannelDestroyed" {
		ev := ws.next(5 * time.Second)
		if ch, _ := ev["channel"].(map[string]any); ch != nil && ch["id"] == "sn3" && ev["type"] != "ChannelEnteredBridge" {
			seq = append(seq, ev["type"].(string))
			if ev["type"] == "ChannelDestroyed" && ev["cause"] != 0.0 {
				t.Errorf("snoop destroyed with cause %v", ev["cause"])
			}
		}
	}
	if got := strings.Join(seq, " "); got != "ChannelLeftBridge StasisEnd ChannelVarset ChannelDestroyed" {
		t.Errorf("snoop whose target went: %s", got)
	}
	if r := do(t, s, "GET", "/channels/sn3", nil); r.status != 404 {
		t.Errorf("snoop still there: %d", r.status)
	}
	hears("sup")
}
