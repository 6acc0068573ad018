package arisim

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestBasicCallFlow(t *testing.T) {
	s, clk := newSim(t, 20, Options{})
	ws := dialEvents(t, s, "ivr")
	col := newCollector()
	call, err := s.PlaceCall(context.Background(), "3331234567", "800749049", CallOptions{CallerName: "Mario Rossi", OnEvent: col.add})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(call.ID(), ".") {
		t.Errorf("inbound id %q is not <epoch>.<n>", call.ID())
	}
	ev := ws.expect("StasisStart")
	ch := ev["channel"].(map[string]any)
	if ch["state"] != "Ring" || ch["language"] != "it" || ch["caller"].(map[string]any)["name"] != "Mario Rossi" {
		t.Errorf("StasisStart channel = %v", ch)
	}
	if args, ok := ev["args"].([]any); !ok || len(args) != 0 {
		t.Errorf("args = %#v, want []", ev["args"])
	}
	dp := ch["dialplan"].(map[string]any)
	if dp["context"] != "from-pstn" || dp["exten"] != "800749049" || dp["app_data"] != "ivr" || dp["priority"] != 1.0 {
		t.Errorf("dialplan = %v", dp)
	}

	r := do(t, s, "POST", "/channels/"+call.ID()+"/answer", nil)
	if r.status != 204 || len(r.body) != 0 {
		t.Fatalf("answer: %d %s", r.status, r.body)
	}
	// ChannelStateChange was written before the 204.
	select {
	case b := <-ws.ch:
		if !strings.Contains(string(b), `"ChannelStateChange"`) || !strings.Contains(string(b), `"state":"Up"`) {
			t.Errorf("first event after answer: %s", b)
		}
	case <-time.After(time.Second):
		t.Fatal("ChannelStateChange not received right after the 204")
	}

	t0 := clk.Now()
	r = do(t, s, "POST", "/channels/"+call.ID()+"/play/pb1", map[string]any{"media": []string{"sound:hello-world", "digits:12"}})
	if r.status != 201 || r.header.Get("Location") != "/ari/playbacks/pb1" {
		t.Fatalf("play: %d %v %s", r.status, r.header, r.body)
	}
	if b := r.json(t); b["state"] != "queued" || b["next_media_uri"] != "digits:12" || b["target_uri"] != "channel:"+call.ID() {
		t.Errorf("play body %s", r.body)
	}
	var types []string
	for len(types) < 4 {
		ev := ws.next(5 * time.Second)
		types = append(types, ev["type"].(string))
	}
	if got := strings.Join(types, ","); got != "PlaybackStarted,PlaybackContinuing,PlaybackStarted,PlaybackFinished" {
		t.Errorf("playback events %s", got)
	}
	if el := clk.Now().Sub(t0); el < 1400*time.Millisecond {
		t.Errorf("playback lasted %v of clock time, want about 646ms+800ms", el)
	}
	if err := call.Press("1#"); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"1", "#"} {
		ev := ws.expect("ChannelDtmfReceived")
		if ev["digit"] != d || ev["duration_ms"] != 250.0 {
			t.Errorf("dtmf event %v", ev)
		}
	}
	if err := call.Hangup(); err != nil {
		t.Fatal(err)
	}
	var seq []string
	for len(seq) < 7 {
		ev := ws.next(5 * time.Second)
		typ := ev["type"].(string)
		if typ == "ChannelVarset" {
			typ += ":" + ev["variable"].(string)
		}
		if typ == "ChannelHangupRequest" {
			if _, has := ev["cause"]; has {
				t.Errorf("remote hangup has a cause: %v", ev)
			}
		}
		seq = append(seq, typ)
	}
	want := "ChannelVarset:RTPAUDIOQOS ChannelVarset:RTPAUDIOQOSJITTER ChannelVarset:RTPAUDIOQOSLOSS ChannelVarset:RTPAUDIOQOSRTT ChannelVarset:RTPAUDIOQOSMES ChannelHangupRequest StasisEnd"
	if got := strings.Join(seq, " "); got != want {
		t.Errorf("hangup sequence\n got %s\nwant %s", got, want)
	}
	ws.none(100 * time.Millisecond) // no ChannelDestroyed for an inbound channel
	<-call.Done()
	if r := do(t, s, "GET", "/channels/"+call.ID(), nil); r.status != 404 || string(r.body) != `{"message":"Channel not found"}` {
		t.Errorf("GET after hangup: %d %s", r.status, r.body)
	}
	col.waitKinds(t, "caller", "answered playback-started playback-finished playback-started playback-finished hangup")
	if fin, _ := call.Ended(); fin.By != ByCaller {
		t.Errorf("ended by %q", fin.By)
	}
}

func TestHangupDuringPlaybackAndAppHangup(t *testing.T) {
	s, _ := newSim(t, 20, Options{})
	ws := dialEvents(t, s, "ivr")
	call, err := s.PlaceCall(context.Background(), "100", "800749049", CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ws.expect("StasisStart")
	do(t, s, "POST", "/channels/"+call.ID()+"/answer", nil)
	ws.expect("ChannelStateChange")
	do(t, s, "POST", "/channels/"+call.ID()+"/play?media=sound:demo-congrats&playbackId=long", nil)
	ws.expect("PlaybackStarted")
	// pause: no event, GET shows paused; unpause: another PlaybackStarted
	if r := do(t, s, "POST", "/playbacks/long/control?operation=pause", nil); r.status != 204 {
		t.Fatalf("pause %d", r.status)
	}
	if r := do(t, s, "GET", "/playbacks/long", nil); r.json(t)["state"] != "paused" {
		t.Errorf("state %s", r.body)
	}
	if r := do(t, s, "POST", "/playbacks/long/control?operation=bogus", nil); r.status != 400 || !strings.Contains(string(r.body), "Invalid operation bogus") {
		t.Errorf("bogus op: %d %s", r.status, r.body)
	}
	do(t, s, "POST", "/playbacks/long/control?operation=unpause", nil)
	ws.expect("PlaybackStarted")
	call.Hangup()
	var seq []string
	for {
		ev := ws.next(5 * time.Second)
		if ev["type"] == "ChannelVarset" {
			continue
		}
		typ := ev["type"].(string)
		if typ == "PlaybackFinished" {
			typ += ":" + ev["playback"].(map[string]any)["state"].(string)
		}
		seq = append(seq, typ)
		if typ == "StasisEnd" {
			break
		}
	}
	if got := strings.Join(seq, " "); got != "ChannelHangupRequest PlaybackFinished:failed StasisEnd" {
		t.Errorf("got %s", got)
	}
	if r := do(t, s, "GET", "/playbacks/long", nil); r.status != 404 {
		t.Errorf("playback after hangup: %d", r.status)
	}

	// App hangup: cause 32, soft.
	call2, _ := s.PlaceCall(context.Background(), "100", "800749049", CallOptions{})
	ws.expect("StasisStart")
	if r := do(t, s, "DELETE", "/channels/"+call2.ID()+"?reason=normal", nil); r.status != 204 {
		t.Fatalf("delete: %d", r.status)
	}
	ev := ws.expect("ChannelHangupRequest")
	if ev["cause"] != 32.0 || ev["soft"] != true {
		t.Errorf("app hangup request %v", ev)
	}
	ws.expect("StasisEnd")
	<-call2.Done()
	if fin, _ := call2.Ended(); fin.By != ByApp {
		t.Errorf("by %q", fin.By)
	}
}

func TestRecording(t *testing.T) {
	s, _ := newSim(t, 20, Options{})
	ws := dialEvents(t, s, "ivr")
	call, _ := s.PlaceCall(context.Background(), "100", "800749049", CallOptions{})
	ws.expect("StasisStart")
	do(t, s, "POST", "/channels/"+call.ID()+"/answer", nil)
	r := do(t, s, "POST", "/channels/"+call.ID()+"/record", map[string]any{
		"name": "rec1", "format": "wav", "maxDurationSeconds": 20, "maxSilenceSeconds": 3, "ifExists": "fail", "beep": true, "terminateOn": "#",
	})
	if r.status != 201 || r.header.Get("Location") != "/ari/recordings/live/rec1" || r.json(t)["state"] != "queued" {
		t.Fatalf("record: %d %v %s", r.status, r.header, r.body)
	}
	if r := do(t, s, "GET", "/recordings/live/rec1", nil); r.json(t)["state"] != "recording" {
		t.Errorf("live: %s", r.body)
	}
	ws.expect("RecordingStarted")
	call.Talk(5 * time.Second)
	time.Sleep(clockWall(5200 * time.Millisecond))
	call.Press("#")
	ws.expect("ChannelDtmfReceived")
	ev := ws.next(5 * time.Second)
	rec := ev["recording"].(map[string]any)
	// The caller talked 5 s; '#' came about 0.45 s later (more if the
	// machine is slow): duration 5 (or a little more), talking 5.
	dur, _ := rec["duration"].(float64)
	if ev["type"] != "RecordingFinished" || rec["state"] != "done" || dur < 5 || dur > 7 || rec["talking_duration"] != 5.0 || rec["silence_duration"] != dur-5 {
		t.Errorf("finished: %v", ev)
	}
	if r := do(t, s, "GET", "/recordings/live/rec1", nil); r.status != 404 {
		t.Errorf("live after: %d", r.status)
	}
	if r := do(t, s, "GET", "/recordings/stored", nil); string(r.body) != `[{"name":"rec1","format":"wav"}]` {
		t.Errorf("stored: %s", r.body)
	}
	r = do(t, s, "GET", "/recordings/stored/rec1/file", nil)
	if r.status != 200 || r.header.Get("Content-Type") != "audio/wav" || string(r.body[:4]) != "RIFF" {
		t.Fatalf("file: %d %v", r.status, r.header)
	}
	if rate := binary.LittleEndian.Uint32(r.body[24:]); rate != 8000 {
		t.Errorf("rate %d", rate)
	}
	if n := len(r.body) - 44; n < 2*8000*5 || n > 2*8000*8 {
		t.Errorf("wav data %d bytes, want about 5.5s", n)
	}
	if r := do(t, s, "POST", "/channels/"+call.ID()+"/record?name=rec1&format=wav&ifExists=fail", nil); r.status != 409 {
		t.Errorf("dup: %d %s", r.status, r.body)
	}
	if r := do(t, s, "POST", "/channels/"+call.ID()+"/record?name=x&format=mp3", nil); r.status != 422 {
		t.Errorf("format: %d %s", r.status, r.body)
	}
	if r := do(t, s, "POST", "/channels/"+call.ID()+"/record?name=../x&format=wav", nil); r.status != 500 {
		t.Errorf("name: %d %s", r.status, r.body)
	}

	// Silence: the caller talks 2 s then is silent; maxSilenceSeconds=1.
	do(t, s, "POST", "/channels/"+call.ID()+"/record?name=rec2&format=wav&maxSilenceSeconds=1&maxDurationSeconds=30", nil)
	ws.expect("RecordingStarted")
	call.Talk(2 * time.Second)
	ev = ws.expect("RecordingFinished")
	rec = ev["recording"].(map[string]any)
	// 2 s of speech (starting a moment after the recording), then 1 s of
	// silence ends it; the trailing silence is trimmed.
	if d := rec["duration"].(float64); d < 2 || d > 3 || rec["talking_duration"] != 2.0 {
		t.Errorf("silence-terminated: %v", rec)
	}
	// maxDuration without silence detection: no talking_duration.
	do(t, s, "POST", "/channels/"+call.ID()+"/record?name=rec3&format=wav&maxDurationSeconds=2", nil)
	ev = ws.expect("RecordingFinished")
	rec = ev["recording"].(map[string]any)
	if _, has := rec["talking_duration"]; has || rec["duration"] != 2.0 {
		t.Errorf("max duration: %v", rec)
	}
	// copy, delete twice
	if r := do(t, s, "POST", "/recordings/stored/rec1/copy?destinationRecordingName=rec1-copy", nil); r.status != 200 || string(r.body) != `{"name":"rec1-copy","format":"wav"}` {
		t.Errorf("copy %d %s", r.status, r.body)
	}
	if r := do(t, s, "DELETE", "/recordings/stored/rec1-copy", nil); r.status != 204 {
		t.Errorf("delete %d", r.status)
	}
	if r := do(t, s, "DELETE", "/recordings/stored/rec1-copy", nil); r.status != 404 {
		t.Errorf("delete again %d", r.status)
	}
}

// clockWall converts clock time of the speed-20 tests to wall time.
func clockWall(d time.Duration) time.Duration { return d / 20 }

func TestWebSocketLifecycle(t *testing.T) {
	s, _ := newSim(t, 20, Options{})
	if _, err := s.PlaceCall(context.Background(), "1", "800749049", CallOptions{}); !errors.Is(err, ErrAppNotFound) {
		t.Fatalf("no app: %v", err)
	}
	ws1 := dialEvents(t, s, "ivr")
	call, err := s.PlaceCall(context.Background(), "1", "800749049", CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ws1.expect("StasisStart")
	do(t, s, "POST", "/channels/"+call.ID()+"/answer", nil)
	ws1.expect("ChannelStateChange")

	// Drop the socket: the app stays (it owns the call), events are lost,
	// new calls are rejected, REST keeps working.
	ws1.close()
	waitFor(t, func() bool { return s.Stats().ActiveApps == 0 })
	if r := do(t, s, "GET", "/applications/ivr", nil); r.status != 200 || !strings.Contains(string(r.body), call.ID()) {
		t.Errorf("app while inactive: %d %s", r.status, r.body)
	}
	var rej *RejectedError
	if _, err := s.PlaceCall(context.Background(), "2", "800749049", CallOptions{}); !errors.As(err, &rej) || !errors.Is(err, ErrAppNotActive) || rej.SIPCode != 603 {
		t.Errorf("inactive: %v", err)
	}
	if r := do(t, s, "POST", "/channels/"+call.ID()+"/play?media=sound:hello-world&playbackId=lost", nil); r.status != 201 {
		t.Errorf("play while disconnected: %d", r.status)
	}
	dropped := s.Stats().EventsDropped
	if dropped == 0 {
		t.Error("no dropped events counted")
	}
	ws2 := dialEvents(t, s, "ivr")
	// Nothing is replayed; the lost playback's PlaybackFinished may come
	// later on the new socket.
	do(t, s, "DELETE", "/playbacks/lost", nil)
	do(t, s, "POST", "/channels/"+call.ID()+"/play?media=sound:hello-world&playbackId=after", nil)
	for {
		ev := ws2.next(5 * time.Second)
		if ev["type"] == "PlaybackFinished" && ev["playback"].(map[string]any)["id"] == "after" {
			break
		}
		if ev["type"] == "StasisStart" {
			t.Fatal("replayed StasisStart")
		}
	}

	// A second socket replaces the first: ApplicationReplaced, then nothing.
	ws3 := dialEvents(t, s, "ivr")
	ev := ws2.expect("ApplicationReplaced")
	if ev["application"] != "ivr" || ev["asterisk_id"] != "02:fc:00:00:00:01" {
		t.Errorf("%v", ev)
	}
	call.Hangup()
	ws3.expect("StasisEnd")
	ws2.none(100 * time.Millisecond)
	// The last active socket closes and the app has no channel: destroyed,
	// although ws2 is still open.
	ws3.close()
	waitFor(t, func() bool { return do(t, s, "GET", "/applications/ivr", nil).status == 404 })
	if _, err := s.PlaceCall(context.Background(), "2", "800749049", CallOptions{}); !errors.Is(err, ErrAppNotFound) {
		t.Errorf("destroyed app: %v", err)
	}

	// Abrupt drop from the server side.
	ws4 := dialEvents(t, s, "ivr")
	waitFor(t, func() bool { return s.Stats().ActiveApps == 1 })
	s.DropWebSockets(true)
	<-ws4.done
	if ws4.err == nil {
		t.Error("no read error after abrupt drop")
	}
	ws5 := dialEvents(t, s, "ivr")
	waitFor(t, func() bool { return s.Stats().ActiveApps == 1 })
	s.DropWebSockets(false)
	<-ws5.done
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestErrorsAndHeaders(t *testing.T) {
	s, _ := newSim(t, 20, Options{})
	get := func(path string) resp { return do(t, s, "GET", path, nil) }
	for _, c := range []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/channels/nope", 404, `{"message":"Channel not found"}`},
		{"GET", "/bridges/nope", 404, `{"message":"Bridge not found"}`},
		{"GET", "/playbacks/nope", 404, `{"message":"Playback not found"}`},
		{"GET", "/recordings/stored/nope", 404, `{"message":"Recording not found"}`},
		{"GET", "/recordings/live/nope", 404, `{"message":"Recording not found"}`},
		{"GET", "/sounds/nope", 404, `{"message":"Sound not found"}`},
		{"GET", "/endpoints/SIP/nope", 404, `{"message":"Endpoint not found"}`},
		{"GET", "/applications/nope", 404, `{"message":"Application not found"}`},
		{"GET", "/nope", 404, `{"message":"Resource not found"}`},
		{"PATCH", "/channels", 405, `{"message":"Invalid method"}`},
		{"POST", "/channels", 400, `{"message":"Endpoint must be specified"}`},
		{"POST", "/channels?endpoint=SIP/nope&app=ivr", 500, `{"error":"Allocation failed"}`},
		{"POST", "/channels?endpoint=SIP/op1", 400, `{"message":"Application or extension must be specified"}`},
		{"GET", "/asterisk/variable?variable=NOPE", 200, `{"value":""}`},
		{"GET", "/sounds?format=wav", 404, `{"message":"No sounds found that matched the query"}`},
	} {
		r := do(t, s, c.method, c.path, nil)
		if r.status != c.status || string(r.body) != c.body {
			t.Errorf("%s %s: %d %s, want %d %s", c.method, c.path, r.status, r.body, c.status, c.body)
		}
		if r.header.Get("Server") != "Asterisk/20.20.1" || r.header.Get("Cache-Control") != "no-cache, no-store" || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s headers %v", c.method, c.path, r.header)
		}
	}
	if r := do(t, s, "PATCH", "/channels", nil); r.header.Get("Allow") != "OPTIONS,GET,POST" {
		t.Errorf("Allow %q", r.header.Get("Allow"))
	}
	// auth
	req, _ := httpNewRequest("GET", s.URL()+"/asterisk/info")
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 || res.Header.Get("WWW-Authenticate") != `Basic realm="Asterisk REST Interface"` {
		t.Errorf("no auth: %d %v", res.StatusCode, res.Header)
	}
	req, _ = httpNewRequest("GET", s.URL()+"/asterisk/ping?api_key=ivr:ivr")
	res, _ = httpClient.Do(req)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("api_key: %d", res.StatusCode)
	}
	info := get("/asterisk/info").json(t)
	if info["system"].(map[string]any)["entity_id"] != "02:fc:00:00:00:01" {
		t.Errorf("info %v", info)
	}
	ping := get("/asterisk/ping").json(t)
	if _, err := time.Parse(TimeLayout, ping["timestamp"].(string)); err != nil || ping["ping"] != "pong" {
		t.Errorf("ping %v %v", ping, err)
	}
	if r := get("/sounds/hello-world"); r.status != 200 || !strings.Contains(string(r.body), `{"language":"it","format":"slin"}`) {
		t.Errorf("sound %s", r.body)
	}
}

func TestOriginateBridge(t *testing.T) {
	s, _ := newSim(t, 20, Options{})
	ws := dialEvents(t, s, "ivr")
	opCol := newCollector()
	opCalls := make(chan *Call, 1)
	s.SetEndpoint("PJSIP/op101", EndpointBehavior{AnswerAfter: time.Second, Context: "operators", OnCall: func(c *Call) { opCalls <- c }, CallOptions: CallOptions{OnEvent: opCol.add}})
	s.SetEndpoint("PJSIP/busy", EndpointBehavior{Mode: Busy})
	s.SetEndpoint("PJSIP/away", EndpointBehavior{Mode: NoAnswer})
	col := newCollector()
	call, _ := s.PlaceCall(context.Background(), "3331234567", "800749049", CallOptions{CallerName: "Mario Rossi", OnEvent: col.add})
	ws.expect("StasisStart")
	do(t, s, "POST", "/channels/"+call.ID()+"/answer", nil)
	if r := do(t, s, "POST", "/bridges", map[string]string{"bridgeId": "br1", "type": "mixing", "name": "op"}); r.status != 200 || r.json(t)["technology"] != "simple_bridge" {
		t.Fatalf("bridge %d %s", r.status, r.body)
	}
	if r := do(t, s, "POST", "/bridges?bridgeId=br1&type=mixing", nil); r.status != 409 {
		t.Errorf("dup bridge %d", r.status)
	}
	do(t, s, "POST", "/bridges/br1/addChannel", map[string]string{"channel": call.ID()})
	ws.expect("ChannelEnteredBridge")
	do(t, s, "POST", "/bridges/br1/moh", map[string]string{"mohClass": "default"})
	r := do(t, s, "POST", "/channels", map[string]any{"endpoint": "PJSIP/op101", "app": "ivr", "appArgs": "operator", "channelId": "op-1", "callerId": `"IVR" <800749049>`, "timeout": 20, "variables": map[string]string{"X": "1"}})
	if r.status != 200 || r.json(t)["state"] != "Down" || r.json(t)["id"] != "op-1" {
		t.Fatalf("originate %d %s", r.status, r.body)
	}
	var seq []string
	for {
		ev := ws.next(5 * time.Second)
		typ := ev["type"].(string)
		switch typ {
		case "Dial":
			typ += ":" + ev["dialstatus"].(string)
		case "ChannelStateChange":
			typ += ":" + ev["channel"].(map[string]any)["state"].(string)
		case "ChannelVarset":
			typ += ":" + ev["variable"].(string)
		}
		seq = append(seq, typ)
		if ev["type"] == "StasisStart" {
			if a := ev["args"].([]any); len(a) != 1 || a[0] != "operator" {
				t.Errorf("args %v", a)
			}
			break
		}
	}
	want := "Dial: ChannelStateChange:Ringing Dial:RINGING ChannelStateChange:Up Dial:ANSWER ChannelVarset:STASISSTATUS StasisStart"
	if got := strings.Join(seq, " "); got != want {
		t.Errorf("originate events\n got %s\nwant %s", got, want)
	}
	if v := do(t, s, "GET", "/channels/op-1/variable?variable=X", nil); string(v.body) != `{"value":"1"}` {
		t.Errorf("variable %s", v.body)
	}
	do(t, s, "POST", "/bridges/br1/addChannel?channel=op-1", nil)
	ws.expect("ChannelEnteredBridge")
	ws.expect("ChannelConnectedLine")
	ws.expect("ChannelConnectedLine")
	do(t, s, "DELETE", "/bridges/br1/moh", nil)
	if b := do(t, s, "GET", "/bridges/br1", nil).json(t); b["technology"] != "native_rtp" || len(b["channels"].([]any)) != 2 {
		t.Errorf("bridge %v", b)
	}
	if c := do(t, s, "GET", "/channels/"+call.ID(), nil).json(t)["connected"].(map[string]any); c["number"] != "800749049" {
		t.Errorf("connected %v", c)
	}
	var opCall *Call
	select {
	case opCall = <-opCalls:
	default:
		t.Fatal("OnCall not called")
	}
	opCall.Hangup() // the operator hangs up
	var seq2 []string
	for {
		ev := ws.next(5 * time.Second)
		if ev["type"] == "ChannelVarset" && strings.HasPrefix(ev["variable"].(string), "RTPAUDIOQOS") {
			continue
		}
		seq2 = append(seq2, ev["type"].(string))
		if ev["type"] == "ChannelDestroyed" {
			break
		}
	}
	if got := strings.Join(seq2, " "); got != "ChannelHangupRequest ChannelLeftBridge StasisEnd ChannelVarset ChannelDestroyed" {
		t.Errorf("operator hangup: %s", got)
	}
	opCol.waitFor(t, EventHangup)
	col.waitKinds(t, "caller", "answered bridged moh-started bridge-peers moh-stopped bridge-peers")
	opCol.waitKinds(t, "operator", "incoming answered bridged moh-started moh-stopped unbridged hangup")
	do(t, s, "DELETE", "/bridges/br1", nil)
	ws.expect("BridgeDestroyed")

	// busy and no-answer
	do(t, s, "POST", "/channels?endpoint=PJSIP/busy&app=ivr&channelId=b1", nil)
	for _, st := range []string{"", "BUSY"} {
		if ev := ws.expect("Dial"); ev["dialstatus"] != st {
			t.Errorf("busy dial %v", ev["dialstatus"])
		}
	}
	if ev := ws.expect("ChannelDestroyed"); ev["cause"] != 17.0 {
		t.Errorf("busy destroyed %v", ev)
	}
	do(t, s, "POST", "/channels?endpoint=PJSIP/away&app=ivr&channelId=n1&timeout=2", nil)
	for _, st := range []string{"", "RINGING", "NOANSWER"} {
		if ev := ws.expect("Dial"); ev["dialstatus"] != st {
			t.Errorf("noanswer dial %v, want %q", ev["dialstatus"], st)
		}
	}
	ws.expect("ChannelDestroyed")
}

func TestContinue(t *testing.T) {
	s, _ := newSim(t, 20, Options{})
	ws := dialEvents(t, s, "ivr")
	col := newCollector()
	call, _ := s.PlaceCall(context.Background(), "1", "800749049", CallOptions{OnEvent: col.add})
	ws.expect("StasisStart")
	do(t, s, "POST", "/channels/"+call.ID()+"/answer", nil)
	if r := do(t, s, "POST", "/channels/"+call.ID()+"/continue", map[string]any{"context": "ivr-continue", "extension": "s", "priority": 1}); r.status != 204 {
		t.Fatalf("continue %d", r.status)
	}
	ws.expect("StasisEnd")
	r := do(t, s, "GET", "/channels/"+call.ID(), nil)
	if r.status != 200 || r.json(t)["dialplan"].(map[string]any)["context"] != "ivr-continue" {
		t.Errorf("after continue %d %s", r.status, r.body)
	}
	if r := do(t, s, "POST", "/channels/"+call.ID()+"/answer", nil); r.status != 409 || string(r.body) != `{"message":"Channel not in Stasis application"}` {
		t.Errorf("answer after continue %d %s", r.status, r.body)
	}
	<-call.Done()
	if fin, _ := call.Ended(); fin.By != ByDialplan {
		t.Errorf("by %s", fin.By)
	}
	col.waitKinds(t, "caller", "answered continued hangup")

	call2, _ := s.PlaceCall(context.Background(), "1", "800749049", CallOptions{})
	ws.expect("StasisStart")
	do(t, s, "POST", "/channels/"+call2.ID()+"/continue", nil)
	ws.expect("StasisEnd")
	if r := do(t, s, "GET", "/channels/"+call2.ID(), nil); r.status != 404 {
		t.Errorf("default continue: %d", r.status)
	}
	ws.none(50 * time.Millisecond)
}

func TestStuckAndStats(t *testing.T) {
	s, _ := newSim(t, 20, Options{})
	s.SetStuck(true)
	c := *httpClient
	c.Timeout = 200 * time.Millisecond
	req, _ := httpNewRequest("GET", s.URL()+"/asterisk/ping")
	req.SetBasicAuth("ivr", "ivr")
	if _, err := c.Do(req); err == nil {
		t.Error("request did not hang")
	}
	s.SetStuck(false)
	for i := 0; i < 5; i++ {
		do(t, s, "GET", "/asterisk/ping", nil)
	}
	st := s.Stats()
	if st.Requests["GET /asterisk/ping"] != 6 {
		t.Errorf("requests %v", st.Requests)
	}
	if st.TCPConnections > 3 {
		t.Errorf("keep-alive not used: %d connections", st.TCPConnections)
	}
	ws := dialEvents(t, s, "ivr")
	if !s.InjectEvent("ivr", json.RawMessage(`{"type":"Bogus"}`)) {
		t.Fatal("inject failed")
	}
	if ev := ws.next(time.Second); ev["type"] != "Bogus" {
		t.Errorf("%v", ev)
	}
}

// A caller scripted from OnEvent may call the blocking Press; the call may
// even end meanwhile.
func TestPressFromOnEvent(t *testing.T) {
	s, _ := newSim(t, 20, Options{})
	ws := dialEvents(t, s, "ivr")
	var call *Call
	ready := make(chan struct{})
	pressed := make(chan error, 4)
	call, err := s.PlaceCall(context.Background(), "1", "800749049", CallOptions{OnEvent: func(ev CallerEvent) {
		<-ready
		switch ev.Kind {
		case EventPlaybackFinished:
			pressed <- call.Press("1")
		case EventAnswered:
			pressed <- call.Press("123456789") // interrupted by the app's hangup
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	close(ready)
	ws.expect("StasisStart")
	do(t, s, "POST", "/channels/"+call.ID()+"/play?media=sound:beep", nil)
	if ev := ws.expect("ChannelDtmfReceived"); ev["digit"] != "1" {
		t.Errorf("%v", ev)
	}
	if err := <-pressed; err != nil {
		t.Fatal(err)
	}
	do(t, s, "POST", "/channels/"+call.ID()+"/answer", nil)
	ws.expect("ChannelDtmfReceived")
	do(t, s, "DELETE", "/channels/"+call.ID(), nil)
	if err := <-pressed; !errors.Is(err, ErrCallEnded) {
		t.Errorf("press during hangup: %v", err)
	}
	select {
	case <-call.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("call not done")
	}
}

// A channel originated into an AMD context runs AMD() when answered and
// enters the application named by IVR_APP with IVR_ARGS and the verdict,
// as the shipped ivr-callback-amd context does; the app hears nothing of
// it before its StasisStart.
func TestOriginateIntoAMDContext(t *testing.T) {
	s, _ := newSim(t, 20, Options{AMDContexts: []string{"ivr-callback-amd"}})
	ws := dialEvents(t, s, "ivr")
	s.SetEndpoint("PJSIP/machine@carrier", EndpointBehavior{AnswerAfter: time.Second, AnsweringMachine: true})
	s.SetEndpoint("PJSIP/person@carrier", EndpointBehavior{AnswerAfter: time.Second})
	for _, tc := range []struct{ endpoint, status, cause string }{
		{"PJSIP/machine@carrier", "MACHINE", "LONGGREETING-1500-1500"},
		{"PJSIP/person@carrier", "HUMAN", "HUMAN-800-800"},
	} {
		id := "cb-" + tc.status
		r := do(t, s, "POST", "/channels", map[string]any{"endpoint": tc.endpoint, "context": "ivr-callback-amd", "extension": "s",
			"priority": 1, "channelId": id, "variables": map[string]string{"IVR_APP": "ivr", "IVR_ARGS": "callback,call-1"}})
		if r.status != 200 {
			t.Fatalf("originate %d %s", r.status, r.body)
		}
		ev := ws.next(5 * time.Second)
		if ev["type"] != "StasisStart" {
			t.Fatalf("first event %v, want StasisStart (the channel was in the dialplan until then)", ev)
		}
		args := fmt.Sprint(ev["args"])
		if want := fmt.Sprint([]any{"callback", "call-1", tc.status, tc.cause}); args != want {
			t.Errorf("%s: args %s, want %s", tc.endpoint, args, want)
		}
		if v := do(t, s, "GET", "/channels/"+id+"/variable?variable=AMDSTATUS", nil); string(v.body) != `{"value":"`+tc.status+`"}` {
			t.Errorf("AMDSTATUS %s", v.body)
		}
		do(t, s, "DELETE", "/channels/"+id, nil)
		ws.expect("StasisEnd")
		ws.none(300 * time.Millisecond) // followed only while in Stasis
	}
}
