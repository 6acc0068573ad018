package arijson

import (
	"reflect"
	"testing"

	"github.com/CyCoreSystems/ari/v5"
)

// Frames as Asterisk 20 sends them.
var frames = map[string]string{
	"StasisStart":          `{"type":"StasisStart","timestamp":"2026-12-07T08:00:00.000+0000","args":["a","b"],"channel":{"id":"helpdesk1-1765094400.1","name":"PJSIP/carrier-00000001","state":"Ring","protocol_id":"","caller":{"name":"","number":"3331234567"},"connected":{"name":"","number":""},"accountcode":"","dialplan":{"context":"helpdesk","exten":"800749050","priority":2,"app_name":"Stasis","app_data":"ivr"},"creationtime":"2026-12-07T08:00:00.000+0000","language":"it"},"asterisk_id":"00:00:00:00:00:01","application":"ivr"}`,
	"StasisEnd":            `{"type":"StasisEnd","timestamp":"2026-12-07T08:00:01.000+0000","channel":{"id":"c1","name":"PJSIP/x-1","state":"Up","caller":{"name":"","number":"1"},"connected":{"name":"","number":""},"dialplan":{"context":"c","exten":"s","priority":1},"creationtime":"2026-12-07T08:00:00.000+0000"},"asterisk_id":"00:00:00:00:00:01","application":"ivr"}`,
	"ChannelDestroyed":     `{"type":"ChannelDestroyed","timestamp":"2026-12-07T08:00:02.000+0000","cause":16,"cause_txt":"Normal Clearing","channel":{"id":"c1","name":"PJSIP/x-1","state":"Up"},"asterisk_id":"00:00:00:00:00:01","application":"ivr"}`,
	"ChannelHangupRequest": `{"type":"ChannelHangupRequest","timestamp":"2026-12-07T08:00:02.000+0000","cause":16,"soft":true,"channel":{"id":"c1","name":"PJSIP/x-1","state":"Up"},"asterisk_id":"00:00:00:00:00:01","application":"ivr"}`,
	"ChannelDtmfReceived":  `{"type":"ChannelDtmfReceived","timestamp":"2026-12-07T08:00:01.500+0000","digit":"1","duration_ms":120,"channel":{"id":"c1","name":"PJSIP/x-1","state":"Up"},"asterisk_id":"00:00:00:00:00:01","application":"ivr"}`,
	"PlaybackFinished":     `{"type":"PlaybackFinished","timestamp":"2026-12-07T08:00:01.000+0000","playback":{"id":"pb-1","media_uri":"sound:welcome","target_uri":"channel:c1","language":"it","state":"done"},"asterisk_id":"00:00:00:00:00:01","application":"ivr"}`,
	"RecordingFinished":    `{"type":"RecordingFinished","timestamp":"2026-12-07T08:00:09.000+0000","recording":{"name":"r1","format":"wav","state":"done","target_uri":"channel:c1","duration":7},"asterisk_id":"00:00:00:00:00:01","application":"ivr"}`,
	"RecordingFailed":      `{"type":"RecordingFailed","timestamp":"2026-12-07T08:00:09.000+0000","recording":{"name":"r1","format":"wav","state":"failed","cause":"x","target_uri":"channel:c1"},"asterisk_id":"00:00:00:00:00:01","application":"ivr"}`,
	"ChannelLeftBridge":    `{"type":"ChannelLeftBridge","timestamp":"2026-12-07T08:00:09.000+0000","bridge":{"id":"b1","technology":"simple_bridge","bridge_type":"mixing","bridge_class":"stasis","channels":["c2"]},"channel":{"id":"c1","name":"PJSIP/x-1","state":"Up"},"asterisk_id":"00:00:00:00:00:01","application":"ivr"}`,
	"ApplicationReplaced":  `{"type":"ApplicationReplaced","timestamp":"2026-12-07T08:00:09.000+0000","application":"ivr"}`,
	// Not one of decoders': ari.DecodeEvent's.
	"ChannelVarset": `{"variable":"IVR_RESUME","value":"v1","type":"ChannelVarset","timestamp":"2026-12-07T08:00:00.000+0000","channel":{"id":"c1","name":"PJSIP/x-1","state":"Up"},"asterisk_id":"00:00:00:00:00:01","application":"ivr"}`,
}

// TestDecodeAsLibrary: Decode gives exactly what ari.DecodeEvent gives,
// for every type it decodes itself.
func TestDecodeAsLibrary(t *testing.T) {
	for typ := range decoders {
		if _, ok := frames[typ]; !ok {
			t.Errorf("no frame for %s", typ)
		}
	}
	for typ, frame := range frames {
		if got := Type([]byte(frame)); got != typ {
			t.Fatalf("Type(%s frame) = %q", typ, got)
		}
		got, err := Decode(typ, []byte(frame))
		if err != nil {
			t.Errorf("Decode(%s): %v", typ, err)
			continue
		}
		want, err := ari.DecodeEvent([]byte(frame))
		if err != nil {
			t.Fatalf("ari.DecodeEvent(%s): %v", typ, err)
		}
		if reflect.TypeOf(got) != reflect.TypeOf(want) || !reflect.DeepEqual(got, want) {
			t.Errorf("Decode(%s) = %#v\nari.DecodeEvent = %#v", typ, got, want)
		}
		if got.GetType() != typ {
			t.Errorf("Decode(%s).GetType() = %q", typ, got.GetType())
		}
	}
}

func TestDecodeRefusesBrokenFrames(t *testing.T) {
	for _, frame := range []string{
		`{"type":"StasisStart","channel":`,
		`{"type":"PlaybackFinished","playback":7}`,
		`{"type":"NoSuchEvent"}`,
		`{"type":""}`,
	} {
		if ev, err := Decode(Type([]byte(frame)), []byte(frame)); err == nil {
			t.Errorf("Decode(%s) = %#v, want an error", frame, ev)
		}
	}
}

// BenchmarkDecode decodes a call's commonest events, as the gate does:
// Type, then Decode, or (ari.DecodeEvent) as it did.
func BenchmarkDecode(b *testing.B) {
	var common [][]byte
	for _, typ := range []string{"PlaybackFinished", "ChannelDtmfReceived", "StasisEnd", "ChannelDestroyed", "ChannelHangupRequest"} {
		common = append(common, []byte(frames[typ]))
	}
	b.Run("Decode", func(b *testing.B) {
		for b.Loop() {
			for _, f := range common {
				if _, err := Decode(Type(f), f); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("ari.DecodeEvent", func(b *testing.B) {
		for b.Loop() {
			for _, f := range common {
				walkType(f)
				if _, err := ari.DecodeEvent(f); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
