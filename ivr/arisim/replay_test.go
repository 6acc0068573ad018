package arisim

// TestReplayTraces replays every trace recorded from the real Asterisk
// (testdata/ari-traces/*.jsonl, copied from shared/ari/ari-traces) against the simulator:
//
//   - the REST requests are sent in the same order, at the same (scaled)
//     times, with the inbound channel ids and generated playback ids mapped
//     to the simulator's;
//   - the caller side is driven from the control API where the trace shows
//     it: a StasisStart of an inbound channel places the call, an inbound
//     ChannelDtmfReceived presses the key, an inbound ChannelHangupRequest
//     without cause hangs up, a note about a rejected second caller places
//     a call that must be refused, and the client's WebSocket connects,
//     closes and drops are reproduced;
//   - every response must have the trace's status, the same JSON keys and
//     value types, the same values for the meaningful keys (state, message,
//     media_uri, dialstatus, technology, ids...), and the same Location,
//     Allow, WWW-Authenticate, Content-Type, Server and Cache-Control
//     headers;
//   - the events of each socket must come in the trace's order, with the
//     same shape and meaningful values, and no extra event may come.
//
// Left out of the comparison: ChannelVarset for RTPAUDIOQOS*, BRIDGEPEER
// and BRIDGEPVTCALLID (chan_sip bookkeeping the simulator emits only in
// part), and values that differ by nature (channel names, protocol ids,
// timestamps, which are only checked to parse). The trace's pre-existing
// stored recording in info-no-call cannot exist in a fresh simulator: an
// empty list is accepted there.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/clock"
	"golang.org/x/net/websocket"
)

// replaySpeed is how much faster than the recording the replay runs. The
// traces last about 100 s in all and run in parallel: at 5x the whole
// replay takes about 3 s and leaves 100+ ms of wall time for the
// shortest waits (a GET during a 646 ms prompt).
const replaySpeed = 5

func tracesDir(t *testing.T) string {
	// A copy of the team's recordings (shared/ari/ari-traces), kept in the
	// repository so that any clone replays them.
	dir := filepath.Join("testdata", "ari-traces")
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		abs, _ := filepath.Abs(dir)
		t.Fatalf("the recorded ARI traces are missing: expected them in %s: %v", abs, err)
	}
	return dir
}

type traceLine struct {
	Seq        int               `json:"seq"`
	TS         time.Time         `json:"ts"`
	Dir        string            `json:"dir"`
	Kind       string            `json:"kind"`
	Event      json.RawMessage   `json:"event"`
	Method     string            `json:"method"`
	Path       string            `json:"path"`
	Query      string            `json:"query"`
	RequestSeq int               `json:"request_seq"`
	Status     int               `json:"status"`
	Headers    map[string]string `json:"headers"`
	Body       json.RawMessage   `json:"body"`
	BodyText   string            `json:"body_text"`
	Note       string            `json:"note"`
}

func readTrace(t *testing.T, path string) []traceLine {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []traceLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l traceLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		lines = append(lines, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

func TestReplayTraces(t *testing.T) {
	dir := tracesDir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	more, _ := filepath.Glob(filepath.Join(dir, "*", "*.jsonl")) // play-media: PJSIP, request bodies
	files = append(files, more...)
	if len(files) == 0 {
		t.Fatalf("no *.jsonl trace in %s", dir)
	}
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(f, dir+"/"), ".jsonl")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			lines := readTrace(t, f)
			r := newReplayer(t, name, lines)
			r.run()
		})
	}
}

// ignoredEvent: events left out of the comparison.
func ignoredEvent(ev map[string]any) bool {
	if ev["type"] != "ChannelVarset" {
		return false
	}
	v, _ := ev["variable"].(string)
	return strings.HasPrefix(v, "RTPAUDIOQOS") || v == "BRIDGEPEER" || v == "BRIDGEPVTCALLID"
}

type replaySock struct {
	conn   net.Conn
	ws     *websocket.Conn
	mu     sync.Mutex
	evs    []map[string]any
	raw    [][]byte
	signal chan struct{}
	done   chan struct{}
	closed bool
}

type replayer struct {
	t      *testing.T
	name   string
	lines  []traceLine
	s      *Server
	clk    *clock.Scaled
	t0     time.Time
	socks  []*replaySock
	ids    map[string]string // trace id → simulator id
	calls  map[string]*Call  // by trace channel id
	resps  map[int]resp
	skipWS map[int]bool
	client *http.Client
}

func newReplayer(t *testing.T, name string, lines []traceLine) *replayer {
	t0 := lines[0].TS
	clk := clock.NewScaled(t0, replaySpeed)
	s := New(Options{
		Clock:          clk,
		StrictSounds:   true, // no-such-prompt-xyz is a missing file
		SoundLanguages: []string{"en_US", "en", "it", "it_IT"},
	})
	s.SetEndpoint("SIP/op1", EndpointBehavior{AnswerAfter: time.Second, Context: "operators"})
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &replayer{
		t: t, name: name, lines: lines, s: s, clk: clk, t0: t0,
		ids: map[string]string{}, calls: map[string]*Call{}, resps: map[int]resp{},
		skipWS: map[int]bool{},
		client: &http.Client{Timeout: 10 * time.Second},
	}
}

// waitUntil sleeps until the simulator's clock reaches the trace time ts.
func (r *replayer) waitUntil(ts time.Time) {
	d := ts.Sub(r.t0) - r.clk.Now().Sub(r.t0)
	if d <= 0 {
		return
	}
	tm := r.clk.NewTimer(d)
	<-tm.C
}

// mapText replaces every known trace id in a path or query string.
func (r *replayer) mapText(s string) string {
	keys := make([]string, 0, len(r.ids))
	for k := range r.ids {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	for _, k := range keys {
		s = strings.ReplaceAll(s, k, r.ids[k])
		s = strings.ReplaceAll(s, url.QueryEscape(k), url.QueryEscape(r.ids[k]))
	}
	return s
}

func (r *replayer) run() {
	for i, l := range r.lines {
		switch l.Kind {
		case "ws":
			if r.skipWS[i] {
				continue
			}
			if strings.Contains(l.Note, "websocket connect") || strings.HasPrefix(l.Note, "second websocket") {
				r.waitUntil(l.TS)
				r.connect(l.Note)
			}
		case "note":
			r.note(l)
		case "request":
			r.waitUntil(l.TS)
			r.request(l)
		case "response":
			r.compareResponse(l)
		case "event":
			r.event(i, l)
		}
	}
	// No event may be left over.
	time.Sleep(200 * time.Millisecond)
	for i, sk := range r.socks {
		sk.mu.Lock()
		if len(sk.evs) > 0 {
			b, _ := json.Marshal(sk.evs[0])
			r.t.Errorf("%s: %d unexpected event(s) on ws%d, first: %s", r.name, len(sk.evs), i+1, b)
		}
		sk.mu.Unlock()
	}
}

func (r *replayer) connect(note string) {
	app := "ivr"
	if i := strings.Index(note, "app="); i >= 0 {
		app = note[i+4:]
		if j := strings.IndexByte(app, '&'); j >= 0 {
			app = app[:j]
		}
	}
	u := r.s.EventsURL() + "?app=" + app + "&api_key=ivr:ivr&subscribeAll=false"
	cfg, err := websocket.NewConfig(u, "http://localhost/")
	if err != nil {
		r.t.Fatal(err)
	}
	conn, err := net.Dial("tcp", r.s.Addr())
	if err != nil {
		r.t.Fatal(err)
	}
	ws, err := websocket.NewClient(cfg, conn)
	if err != nil {
		r.t.Fatalf("websocket: %v", err)
	}
	sk := &replaySock{conn: conn, ws: ws, signal: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(sk.done)
		for {
			var b []byte
			if err := websocket.Message.Receive(ws, &b); err != nil {
				return
			}
			var ev map[string]any
			if err := json.Unmarshal(b, &ev); err != nil {
				r.t.Errorf("bad frame %q", b)
				return
			}
			sk.mu.Lock()
			sk.raw = append(sk.raw, b)
			if !ignoredEvent(ev) {
				sk.evs = append(sk.evs, ev)
			}
			sk.mu.Unlock()
			select {
			case sk.signal <- struct{}{}:
			default:
			}
		}
	}()
	r.t.Cleanup(func() { conn.Close() })
	r.socks = append(r.socks, sk)
}

func (r *replayer) latestOpen() *replaySock {
	for i := len(r.socks) - 1; i >= 0; i-- {
		if !r.socks[i].closed {
			return r.socks[i]
		}
	}
	r.t.Fatalf("%s: no open websocket", r.name)
	return nil
}

func (r *replayer) note(l traceLine) {
	n := l.Note
	switch {
	case strings.HasPrefix(n, "client closes websocket"), strings.HasPrefix(n, "closing ws2"):
		r.waitUntil(l.TS)
		sk := r.latestOpen()
		sk.closed = true
		sk.ws.Close()
		select {
		case <-sk.done: // the server answered the close frame: it has detached
		case <-time.After(5 * time.Second):
			r.t.Fatalf("%s: the server did not close the websocket", r.name)
		}
	case strings.HasPrefix(n, "client drops websocket TCP connection"):
		r.waitUntil(l.TS)
		sk := r.latestOpen()
		open := r.s.Stats().WebSocketsOpen
		sk.closed = true
		sk.conn.Close()
		waitFor(r.t, func() bool { return r.s.Stats().WebSocketsOpen < open })
	case n == "asterisk -rx 'core stop now'": // shutdown/: Asterisk stops under the calls
		r.waitUntil(l.TS)
		r.s.Shutdown()
	case strings.Contains(n, "uac-expect-reject"):
		r.waitUntil(l.TS)
		_, err := r.s.PlaceCall(context.Background(), "3331234567", "800749049", CallOptions{CallerName: "Mario Rossi"})
		want := ErrAppNotActive
		if strings.HasPrefix(r.name, "h-") {
			want = ErrAppNotFound // the app was destroyed with its last socket
		}
		if !errors.Is(err, want) {
			r.t.Errorf("%s: second caller: got %v, want %v", r.name, err, want)
		}
	}
}

func (r *replayer) request(l traceLine) {
	path := strings.TrimPrefix(r.mapText(l.Path), "/ari")
	u := r.s.URL() + path
	if l.Query != "" {
		u += "?" + r.mapText(l.Query)
	}
	var body io.Reader
	if l.Body != nil {
		body = bytes.NewReader([]byte(r.mapText(string(l.Body))))
	}
	req, err := http.NewRequest(l.Method, u, body)
	if err != nil {
		r.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	var traceStatus int
	for _, x := range r.lines {
		if x.Kind == "response" && x.RequestSeq == l.Seq {
			traceStatus = x.Status
		}
	}
	if traceStatus != 401 {
		req.SetBasicAuth("ivr", "ivr")
	} else if l.Seq%2 == 1 {
		req.SetBasicAuth("ivr", "wrong")
	}
	res, err := r.client.Do(req)
	if err != nil {
		r.t.Fatalf("%s seq %d %s %s: %v", r.name, l.Seq, l.Method, u, err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	r.resps[l.Seq] = resp{res.StatusCode, res.Header, b}
}

func (r *replayer) compareResponse(l traceLine) {
	got, ok := r.resps[l.RequestSeq]
	if !ok {
		r.t.Fatalf("%s: response %d without request", r.name, l.Seq)
	}
	where := fmt.Sprintf("%s seq %d (%s %s?%s)", r.name, l.Seq, l.Method, l.Path, l.Query)
	if got.status != l.Status {
		r.t.Errorf("%s: status %d, trace %d (body %s)", where, got.status, l.Status, got.body)
		return
	}
	for _, h := range []string{"Content-Type", "Allow", "Www-Authenticate", "Server", "Cache-Control"} {
		if want := l.Headers[h]; want != got.header.Get(h) {
			r.t.Errorf("%s: header %s = %q, trace %q", where, h, got.header.Get(h), want)
		}
	}
	if loc := l.Headers["Location"]; loc != "" {
		// generated playback ids: learn the mapping from the body
		var tb, gb map[string]any
		json.Unmarshal(l.Body, &tb)
		json.Unmarshal(got.body, &gb)
		if tid, ok := tb["id"].(string); ok && !strings.Contains(l.Path+l.Query, tid) {
			r.ids[tid] = gb["id"].(string)
		}
		if want := r.mapText(loc); got.header.Get("Location") != want {
			r.t.Errorf("%s: Location %q, trace %q", where, got.header.Get("Location"), want)
		}
	}
	if l.Body == nil {
		if l.BodyText != "" && strings.Contains(l.BodyText, "RIFF") && !bytes.HasPrefix(got.body, []byte("RIFF")) {
			r.t.Errorf("%s: not a WAV file", where)
		}
		if l.BodyText == "" && len(got.body) != 0 {
			r.t.Errorf("%s: body %q, trace has none", where, got.body)
		}
		return
	}
	var want, have any
	json.Unmarshal(l.Body, &want)
	if err := json.Unmarshal(got.body, &have); err != nil {
		r.t.Errorf("%s: body %q is not JSON", where, got.body)
		return
	}
	// The 201 of a play says "queued" or, sometimes, already "playing".
	if w, ok := want.(map[string]any); ok && l.Method == "POST" && strings.Contains(l.Path, "/play") && w["state"] == "playing" {
		w["state"] = "queued"
	}
	for _, d := range r.compare("body", want, have) {
		r.t.Errorf("%s: %s", where, d)
	}
}

func (r *replayer) event(i int, l traceLine) {
	var ev map[string]any
	if err := json.Unmarshal(l.Event, &ev); err != nil {
		r.t.Fatal(err)
	}
	typ, _ := ev["type"].(string)
	ch, _ := ev["channel"].(map[string]any)
	chID, _ := ch["id"].(string)
	inbound := false
	if ch != nil {
		dp, _ := ch["dialplan"].(map[string]any)
		inbound = dp["context"] == "from-pstn"
	}

	// Drive the caller side where the trace shows it.
	switch {
	case typ == "ApplicationReplaced":
		for j := i + 1; j < len(r.lines); j++ {
			if r.lines[j].Kind == "ws" && strings.HasPrefix(r.lines[j].Note, "second websocket") {
				r.skipWS[j] = true
				break
			}
		}
		r.connect("app=ivr")
	case typ == "StasisStart" && inbound && r.calls[chID] == nil:
		r.waitUntil(l.TS)
		caller := ch["caller"].(map[string]any)
		dp := ch["dialplan"].(map[string]any)
		call, err := r.s.PlaceCall(context.Background(), caller["number"].(string), dp["exten"].(string),
			CallOptions{CallerName: caller["name"].(string), SpeakOnRecord: time.Hour})
		if err != nil {
			r.t.Fatalf("%s seq %d: PlaceCall: %v", r.name, l.Seq, err)
		}
		r.calls[chID] = call
		r.ids[chID] = call.ID()
	case typ == "ChannelDtmfReceived" && inbound:
		r.waitUntil(l.TS.Add(-r.s.opts.DTMFDuration))
		if err := r.calls[chID].Press(ev["digit"].(string)); err != nil {
			r.t.Fatalf("%s seq %d: Press: %v", r.name, l.Seq, err)
		}
	case typ == "ChannelHangupRequest" && inbound && ev["cause"] == nil:
		r.waitUntil(l.TS)
		if err := r.calls[chID].Hangup(); err != nil {
			r.t.Fatalf("%s seq %d: Hangup: %v", r.name, l.Seq, err)
		}
	}
	if ignoredEvent(ev) {
		return
	}

	sk := r.latestOpen()
	if typ == "ApplicationReplaced" {
		sk = r.socks[len(r.socks)-2]
	}
	got := r.nextEvent(sk, l)
	where := fmt.Sprintf("%s seq %d (%s)", r.name, l.Seq, typ)
	if got["type"] != typ {
		b, _ := json.Marshal(got)
		r.t.Fatalf("%s: event order differs: got %s", where, b)
	}
	for _, d := range r.compare("event", ev, got) {
		r.t.Errorf("%s: %s", where, d)
	}
}

func (r *replayer) nextEvent(sk *replaySock, l traceLine) map[string]any {
	deadline := time.After(5 * time.Second)
	for {
		sk.mu.Lock()
		if len(sk.evs) > 0 {
			ev := sk.evs[0]
			sk.evs = sk.evs[1:]
			sk.mu.Unlock()
			return ev
		}
		sk.mu.Unlock()
		select {
		case <-sk.signal:
		case <-deadline:
			r.t.Fatalf("%s seq %d: no %s event from the simulator", r.name, l.Seq, l.Event)
		}
	}
}

// compared are the keys whose values must equal the trace's (after id
// mapping); every other key only has to exist with the same JSON type.
var compared = map[string]bool{
	"type": true, "state": true, "media_uri": true, "next_media_uri": true, "target_uri": true,
	"dialstatus": true, "dialstring": true, "digit": true, "variable": true, "value": true,
	"message": true, "error": true, "technology": true, "bridge_type": true, "bridge_class": true,
	"format": true, "cause": true, "cause_txt": true, "soft": true, "args": true, "duration": true,
	"talking_duration": true, "silence_duration": true, "application": true, "asterisk_id": true,
	"language": true, "context": true, "exten": true, "ping": true, "id": true, "channels": true,
	"channel_ids": true, "video_mode": true, "creator": true, "app_name": true, "number": true,
	"entity_id": true, "version": true, "default_language": true, "resource": true,
}

var timeKeys = map[string]bool{"timestamp": true, "creationtime": true, "startup_time": true, "last_reload_time": true}

func (r *replayer) compare(path string, want, got any) []string {
	key := path[strings.LastIndexByte(path, '.')+1:]
	if i := strings.IndexByte(key, '['); i >= 0 {
		key = key[:i] // an array element is compared like its array
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %T, trace an object", path, got)}
		}
		var diffs []string
		for k := range w {
			if _, ok := g[k]; !ok {
				diffs = append(diffs, fmt.Sprintf("%s.%s missing", path, k))
			}
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				diffs = append(diffs, fmt.Sprintf("%s.%s not in the trace", path, k))
			}
		}
		for k, wv := range w {
			if gv, ok := g[k]; ok {
				diffs = append(diffs, r.compare(path+"."+k, wv, gv)...)
			}
		}
		if dp, ok := w["app_name"]; ok && dp != "AppDial2" && dp != "Stasis" {
			// a dialplan application after /continue: the lab's Playback
			// is not simulated; only the location is compared.
			diffs = filterPrefix(diffs, path+".app_name")
		}
		return diffs
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %T, trace an array", path, got)}
		}
		if compared[key] {
			if len(g) != len(w) {
				return []string{fmt.Sprintf("%s: got %v, trace %v", path, got, want)}
			}
			var diffs []string
			for i := range w {
				diffs = append(diffs, r.compare(fmt.Sprintf("%s[%d]", path, i), w[i], g[i])...)
			}
			return diffs
		}
		if len(w) > 0 && len(g) > 0 {
			return r.compare(path+"[0]", w[0], g[0])
		}
		return nil
	case string:
		g, ok := got.(string)
		if !ok {
			return []string{fmt.Sprintf("%s: got %T %v, trace a string", path, got, got)}
		}
		if timeKeys[key] {
			if _, err := time.Parse(TimeLayout, g); err != nil {
				return []string{fmt.Sprintf("%s: %q is not an ARI timestamp", path, g)}
			}
		}
		if compared[key] && r.mapText(w) != g {
			return []string{fmt.Sprintf("%s = %q, trace %q", path, g, r.mapText(w))}
		}
	case float64:
		g, ok := got.(float64)
		if !ok {
			return []string{fmt.Sprintf("%s: got %T %v, trace a number", path, got, got)}
		}
		if compared[key] && g != w {
			// Recording durations depend on when the simulated key press
			// lands: one second of slack.
			if (key == "duration" || key == "talking_duration" || key == "silence_duration") && g-w >= -1 && g-w <= 1 {
				return nil
			}
			return []string{fmt.Sprintf("%s = %v, trace %v", path, g, w)}
		}
	case bool:
		g, ok := got.(bool)
		if !ok || (compared[key] && g != w) {
			return []string{fmt.Sprintf("%s = %v, trace %v", path, got, w)}
		}
	case nil:
		if got != nil {
			return []string{fmt.Sprintf("%s = %v, trace null", path, got)}
		}
	}
	return nil
}

func filterPrefix(l []string, prefix string) []string {
	out := l[:0]
	for _, s := range l {
		if !strings.HasPrefix(s, prefix) {
			out = append(out, s)
		}
	}
	return out
}
