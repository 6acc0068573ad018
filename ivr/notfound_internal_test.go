package ivr

import (
	"testing"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/CyCoreSystems/ari/v5/client/native"

	"github.com/helpdesk-ivr/ivr/ivr/arisim"
)

// Every way ari/v5 reports a 404 must read as "gone": the Data calls wrap
// it in errors that have Cause but no Unwrap.
func TestIsNotFound(t *testing.T) {
	sim := arisim.New(arisim.Options{})
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	c := native.New(&native.Options{Application: "nf", URL: sim.URL(), Username: "ivr", Password: "ivr"})
	missing := func(kind string) *ari.Key { return ari.NewKey(kind, "nope") }
	_, errData := c.Channel().Data(missing(ari.ChannelKey))
	_, errPlayback := c.Playback().Data(missing(ari.PlaybackKey))
	_, errRec := c.LiveRecording().Data(missing(ari.LiveRecordingKey))
	errAnswer := c.Channel().Answer(missing(ari.ChannelKey))
	errHangup := c.Channel().Hangup(missing(ari.ChannelKey), "normal")
	for name, err := range map[string]error{"channel data": errData, "playback data": errPlayback,
		"recording data": errRec, "answer": errAnswer, "hangup": errHangup} {
		if !isNotFound(err) {
			t.Errorf("%s: %v (%T) not seen as 404", name, err, err)
		}
	}
	if isNotFound(nil) {
		t.Error("nil is not a 404")
	}
}
