package arijson

import "testing"

func TestType(t *testing.T) {
	for _, c := range []struct{ frame, want string }{
		{`{"type":"StasisStart","timestamp":"2026-12-07T08:00:00.000+0000"}`, "StasisStart"},
		// ChannelVarset as Asterisk 20 sends it: type after variable and value.
		{`{"variable":"RTPAUDIOQOS","value":"ssrc=1;\"type\":\"x\"","type":"ChannelVarset","channel":{"id":"a"}}`, "ChannelVarset"},
		// A nested type is not the event's.
		{`{"channel":{"type":"Nested"},"type":"ChannelDestroyed"}`, "ChannelDestroyed"},
		{`{"channel":{"type":"Nested"}}`, ""},
		{`{"type":7}`, ""},
		{`["type","StasisStart"]`, ""},
		{`{"type":`, ""},
		{``, ""},
		{`not json`, ""},
		// Frames that begin like the compact common case but are not.
		{`{"type":"Stasis Start"}`, "Stasis Start"},
		{`{"type":"Stasis\u0053tart"}`, "StasisStart"},
		{`{"type":"StasisStart"`, "StasisStart"},
		{`{"type":"StasisStart`, ""},
		{`{"type":""}`, ""},
		{`{"type":"Ünïcode"}`, "Ünïcode"},
		{`{ "type" : "StasisEnd" }`, "StasisEnd"},
	} {
		if got := Type([]byte(c.frame)); got != c.want {
			t.Errorf("Type(%s) = %q, want %q", c.frame, got, c.want)
		}
		if got, ok := leadingType([]byte(c.frame)); ok && got != walkType([]byte(c.frame)) {
			t.Errorf("leadingType(%s) = %q, the walk %q", c.frame, got, walkType([]byte(c.frame)))
		}
	}
}

func BenchmarkType(b *testing.B) {
	frame := []byte(`{"variable":"IVR_RESUME","value":"v1;p=1.3;lang=it","type":"ChannelVarset","timestamp":"2026-12-07T08:00:00.000+0000","channel":{"id":"helpdesk1-1765094400.1","name":"PJSIP/carrier-00000001","state":"Up","protocol_id":"","caller":{"name":"","number":"3331234567"},"connected":{"name":"","number":""},"accountcode":"","dialplan":{"context":"helpdesk","exten":"800749050","priority":2,"app_name":"Stasis","app_data":"ivr"},"creationtime":"2026-12-07T08:00:00.000+0000","language":"it"},"asterisk_id":"00:00:00:00:00:01","application":"ivr"}`)
	for b.Loop() {
		if Type(frame) != "ChannelVarset" {
			b.Fatal("wrong type")
		}
	}
}
