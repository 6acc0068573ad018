package arijson

import (
	"encoding/json"

	"github.com/CyCoreSystems/ari/v5"
)

// decoders make the events the controller handles (ivr.HandledEvents)
// and ApplicationReplaced.
var decoders = map[string]func() ari.Event{
	"StasisStart":          event[ari.StasisStart],
	"StasisEnd":            event[ari.StasisEnd],
	"ChannelDestroyed":     event[ari.ChannelDestroyed],
	"ChannelHangupRequest": event[ari.ChannelHangupRequest],
	"ChannelDtmfReceived":  event[ari.ChannelDtmfReceived],
	"PlaybackFinished":     event[ari.PlaybackFinished],
	"RecordingFinished":    event[ari.RecordingFinished],
	"RecordingFailed":      event[ari.RecordingFailed],
	"ChannelLeftBridge":    event[ari.ChannelLeftBridge],
	"ApplicationReplaced":  event[ari.ApplicationReplaced],
}

func event[T any, P interface {
	*T
	ari.Event
}]() ari.Event {
	return P(new(T))
}

// Decode decodes an event frame whose type Type read. It gives what
// ari.DecodeEvent gives, in one pass over the frame instead of two (that
// one decodes the type first): for the events the controller handles,
// that is a third of the gate's decoding. Other types go to
// ari.DecodeEvent.
func Decode(typ string, frame []byte) (ari.Event, error) {
	mk, ok := decoders[typ]
	if !ok {
		return ari.DecodeEvent(frame)
	}
	ev := mk()
	if err := json.Unmarshal(frame, ev); err != nil {
		return nil, err
	}
	return ev, nil
}
