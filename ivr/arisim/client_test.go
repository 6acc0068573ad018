package arisim

// Tests through the real client, github.com/CyCoreSystems/ari/v5 native,
// over a real loopback WebSocket. ari/v5 v5.3.1 has data races in
// Client.Close and Client.Connected, so these tests call neither: the
// clients are left to redial a closed server. Each test uses its own app
// name so that such a leftover client can never steal another test's app.

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/CyCoreSystems/ari/v5/client/native"
)

func clientSim(t *testing.T, speed float64) (*Server, ari.Client, string) {
	t.Helper()
	app := "ivr-" + strings.ToLower(t.Name())
	s, _ := newSim(t, speed, Options{App: app})
	cl, err := native.Connect(&native.Options{
		Application:  app,
		URL:          s.URL(),
		WebsocketURL: s.EventsURL(),
		Username:     "ivr",
		Password:     "ivr",
	})
	if err != nil {
		t.Fatalf("native.Connect: %v", err)
	}
	return s, cl, app
}

// nextEvent waits for an event of one of the types on sub.
func nextEvent(t *testing.T, sub ari.Subscription, types ...string) ari.Event {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e, ok := <-sub.Events():
			if !ok {
				t.Fatal("subscription closed")
			}
			for _, typ := range types {
				if e.GetType() == typ {
					return e
				}
			}
		case <-timeout:
			t.Fatalf("no %v event", types)
		}
	}
}

func TestClientAnswerPlayDTMFHangup(t *testing.T) {
	s, cl, _ := clientSim(t, 20)
	sub := cl.Bus().Subscribe(nil, ari.Events.All)
	defer sub.Cancel()

	col := newCollector()
	call, err := s.PlaceCall(context.Background(), "3331234567", "800749049", CallOptions{CallerName: "Mario Rossi", OnEvent: col.add})
	if err != nil {
		t.Fatal(err)
	}
	st := nextEvent(t, sub, "StasisStart").(*ari.StasisStart)
	if st.Channel.ID != call.ID() || st.Channel.Caller.Number != "3331234567" || st.Channel.State != "Ring" {
		t.Errorf("StasisStart channel %+v", st.Channel)
	}
	if st.GetNode() != "02:fc:00:00:00:01" {
		t.Errorf("node %q", st.GetNode())
	}
	h := cl.Channel().Get(st.Key(ari.ChannelKey, st.Channel.ID))
	if err := h.Answer(); err != nil {
		t.Fatal(err)
	}
	data, err := h.Data()
	if err != nil {
		t.Fatal(err)
	}
	if data.State != "Up" || data.Dialplan.Context != "from-pstn" || (data.Creationtime.GetSeconds()-testStart.Unix() < 0 || data.Creationtime.GetSeconds()-testStart.Unix() > 10) {
		t.Errorf("channel data %+v", data)
	}
	nextEvent(t, sub, "ChannelStateChange")

	pb, err := h.Play("pb-hello", "sound:hello-world")
	if err != nil {
		t.Fatal(err)
	}
	ps := nextEvent(t, sub, "PlaybackStarted").(*ari.PlaybackStarted)
	if ps.Playback.ID != "pb-hello" || ps.Playback.MediaURI != "sound:hello-world" || ps.Playback.Language != "it" {
		t.Errorf("PlaybackStarted %+v", ps.Playback)
	}
	pf := nextEvent(t, sub, "PlaybackFinished").(*ari.PlaybackFinished)
	if pf.Playback.State != "done" {
		t.Errorf("PlaybackFinished %+v", pf.Playback)
	}
	if _, err := pb.Data(); err == nil {
		t.Error("finished playback still exists")
	}

	go call.Press("12")
	for _, d := range []string{"1", "2"} {
		e := nextEvent(t, sub, "ChannelDtmfReceived").(*ari.ChannelDtmfReceived)
		if e.Digit != d || e.DurationMs != 250 {
			t.Errorf("dtmf %+v", e)
		}
	}
	if err := h.SetVariable("IVR_LANG", "it"); err != nil {
		t.Fatal(err)
	}
	if v, err := h.GetVariable("CALLERID(num)"); err != nil || v != "3331234567" {
		t.Errorf("CALLERID(num) = %q, %v", v, err)
	}
	if err := call.Hangup(); err != nil {
		t.Fatal(err)
	}
	hr := nextEvent(t, sub, "ChannelHangupRequest").(*ari.ChannelHangupRequest)
	if hr.Cause != 0 || hr.Soft {
		t.Errorf("remote hangup %+v", hr)
	}
	nextEvent(t, sub, "StasisEnd")
	_, err = h.Data()
	if native.CodeFromError(errors.Unwrap(err)) != 404 && !strings.Contains(err.Error(), "404") {
		t.Errorf("data after hangup: %v", err)
	}
	col.waitKinds(t, "caller", "answered playback-started playback-finished hangup")
}

func TestClientRecord(t *testing.T) {
	s, cl, _ := clientSim(t, 20)
	sub := cl.Bus().Subscribe(nil, ari.Events.All)
	defer sub.Cancel()
	call, err := s.PlaceCall(context.Background(), "3331234567", "800749049", CallOptions{SpeakOnRecord: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	st := nextEvent(t, sub, "StasisStart").(*ari.StasisStart)
	h := cl.Channel().Get(st.Key(ari.ChannelKey, st.Channel.ID))
	h.Answer()
	lr, err := h.Record("msg-1", &ari.RecordingOptions{Format: "wav", MaxDuration: 30 * time.Second, MaxSilence: 2 * time.Second, Beep: true, Terminate: "#"})
	if err != nil {
		t.Fatal(err)
	}
	nextEvent(t, sub, "RecordingStarted")
	fin := nextEvent(t, sub, "RecordingFinished").(*ari.RecordingFinished)
	// 4 s of speech, then 2 s of silence end it; the trailing silence is trimmed.
	if fin.Recording.State != "done" || time.Duration(fin.Recording.Duration) != 4*time.Second || time.Duration(fin.Recording.Talking) != 4*time.Second {
		t.Errorf("finished %+v", fin.Recording)
	}
	if _, err := lr.Data(); err == nil {
		t.Error("live recording still exists")
	}
	stored, err := cl.StoredRecording().List(nil)
	if err != nil || len(stored) != 1 || stored[0].ID != "msg-1" {
		t.Errorf("stored %v %v", stored, err)
	}
	req, _ := http.NewRequest("GET", s.URL()+"/recordings/stored/msg-1/file", nil)
	req.SetBasicAuth("ivr", "ivr")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.Header.Get("Content-Type") != "audio/wav" || string(b[:4]) != "RIFF" || len(b) < 44+2*8000*4 {
		t.Errorf("wav %v %d bytes", res.Header, len(b))
	}
	call.Hangup()
	nextEvent(t, sub, "StasisEnd")
}

func TestClientOriginateBridge(t *testing.T) {
	s, cl, app := clientSim(t, 20)
	opCalls := make(chan *Call, 1)
	opCol := newCollector()
	s.SetEndpoint("PJSIP/op101", EndpointBehavior{AnswerAfter: 2 * time.Second, Context: "operators",
		OnCall: func(c *Call) { opCalls <- c }, CallOptions: CallOptions{OnEvent: opCol.add}})
	sub := cl.Bus().Subscribe(nil, ari.Events.All)
	defer sub.Cancel()
	col := newCollector()
	call, _ := s.PlaceCall(context.Background(), "3331234567", "800749049", CallOptions{CallerName: "Mario Rossi", OnEvent: col.add})
	st := nextEvent(t, sub, "StasisStart").(*ari.StasisStart)
	caller := cl.Channel().Get(st.Key(ari.ChannelKey, st.Channel.ID))
	caller.Answer()

	br, err := cl.Bridge().Create(ari.NewKey(ari.BridgeKey, "br-op"), "mixing", "operator")
	if err != nil {
		t.Fatal(err)
	}
	if err := br.AddChannel(caller.ID()); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, sub, "ChannelEnteredBridge")
	if err := br.MOH("default"); err != nil {
		t.Fatal(err)
	}
	oh, err := cl.Channel().Originate(nil, ari.OriginateRequest{
		Endpoint: "PJSIP/op101", App: app, AppArgs: "operator", CallerID: `"IVR" <800749049>`, Timeout: 20, ChannelID: "op-1",
	})
	if err != nil {
		t.Fatal(err)
	}
	dial := nextEvent(t, sub, "Dial").(*ari.Dial)
	if dial.Peer.ID != "op-1" || dial.Dialstatus != "" {
		t.Errorf("dial %+v", dial)
	}
	var opStart *ari.StasisStart
	for opStart == nil {
		e := nextEvent(t, sub, "StasisStart").(*ari.StasisStart)
		if e.Channel.ID == "op-1" {
			opStart = e
		}
	}
	if len(opStart.Args) != 1 || opStart.Args[0] != "operator" || opStart.Channel.Dialplan.Context != "operators" {
		t.Errorf("operator StasisStart %+v", opStart)
	}
	if err := br.AddChannel(oh.ID()); err != nil {
		t.Fatal(err)
	}
	br.StopMOH()
	bd, err := br.Data()
	if err != nil || len(bd.ChannelIDs) != 2 || bd.Technology != "native_rtp" {
		t.Errorf("bridge %+v %v", bd, err)
	}
	col.waitFor(t, EventBridgePeers)
	var op *Call
	select {
	case op = <-opCalls:
	case <-time.After(5 * time.Second):
		t.Fatal("OnCall not called")
	}
	// The app hangs up the operator: cause 32 soft, StasisEnd, ChannelDestroyed.
	if err := oh.Hangup(); err != nil {
		t.Fatal(err)
	}
	hr := nextEvent(t, sub, "ChannelHangupRequest").(*ari.ChannelHangupRequest)
	if hr.Cause != 32 || !hr.Soft || hr.Channel.ID != "op-1" {
		t.Errorf("hangup request %+v", hr)
	}
	nextEvent(t, sub, "ChannelDestroyed")
	<-op.Done()
	if fin, _ := op.Ended(); fin.By != ByApp {
		t.Errorf("operator ended by %s", fin.By)
	}
	if err := br.Delete(); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, sub, "BridgeDestroyed")
	call.Hangup()
	nextEvent(t, sub, "StasisEnd")
	opCol.waitKinds(t, "operator", "incoming answered bridged moh-started moh-stopped unbridged hangup")
}

func TestClientReconnect(t *testing.T) {
	s, cl, _ := clientSim(t, 20)
	sub := cl.Bus().Subscribe(nil, ari.Events.All)
	defer sub.Cancel()
	call, _ := s.PlaceCall(context.Background(), "1", "800749049", CallOptions{})
	st := nextEvent(t, sub, "StasisStart").(*ari.StasisStart)
	h := cl.Channel().Get(st.Key(ari.ChannelKey, st.Channel.ID))
	h.Answer()
	nextEvent(t, sub, "ChannelStateChange")

	// Asterisk goes away for a while: the client's redial fails and it
	// retries every second.
	s.RefuseWebSockets(true)
	s.DropWebSockets(false)
	waitFor(t, func() bool { return s.Stats().ActiveApps == 0 })
	if _, err := s.PlaceCall(context.Background(), "2", "800749049", CallOptions{}); !errors.Is(err, ErrAppNotActive) {
		t.Errorf("call while disconnected: %v", err)
	}
	// REST still works; the playback really plays but its events are lost.
	if _, err := h.Play("pb-lost", "sound:beep"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return s.Stats().ActivePlaybacks == 0 })
	s.RefuseWebSockets(false)
	waitFor(t, func() bool { return s.Stats().ActiveApps == 1 })

	if _, err := h.Play("pb-after", "sound:beep"); err != nil {
		t.Fatal(err)
	}
	e := nextEvent(t, sub, "PlaybackStarted", "PlaybackFinished")
	if id := e.(*ari.PlaybackStarted).Playback.ID; id != "pb-after" {
		t.Errorf("got an event of %s: events were replayed", id)
	}
	call.Hangup()
	nextEvent(t, sub, "StasisEnd")

	// An abrupt drop: the client redials at once.
	s.DropWebSockets(true)
	waitFor(t, func() bool { return s.Stats().ActiveApps == 1 && s.Stats().WebSocketsAccepted >= 3 })
	if _, err := s.PlaceCall(context.Background(), "3", "800749049", CallOptions{}); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, sub, "StasisStart")
}

func TestClientApplicationReplaced(t *testing.T) {
	app := "ivr-replaced"
	s, _ := newSim(t, 20, Options{App: app})
	ws1 := dialEvents(t, s, app)
	cl, err := native.Connect(&native.Options{Application: app, URL: s.URL(), WebsocketURL: s.EventsURL(), Username: "ivr", Password: "ivr"})
	if err != nil {
		t.Fatal(err)
	}
	ev := ws1.expect("ApplicationReplaced")
	if ev["application"] != app {
		t.Errorf("%v", ev)
	}
	sub := cl.Bus().Subscribe(nil, ari.Events.All)
	defer sub.Cancel()
	if _, err := s.PlaceCall(context.Background(), "1", "800749049", CallOptions{}); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, sub, "StasisStart")
	ws1.none(100 * time.Millisecond)
}
