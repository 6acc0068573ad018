package arisim

import (
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Bridge recordings, as Asterisk 20 makes them (res/ari/resource_bridges.c,
// ast_ari_bridges_record): a "Recorder" channel, internal (no channel
// events of its own), joins the bridge, immovable and lonely, and records
// the mixed audio. Its uniqueid is among the bridge's channels. Its
// RecordingStarted and RecordingFinished are forwarded to the bridge's
// topic: the applications subscribed to the bridge get them. The
// recording ends when stopped or cancelled, at maxDurationSeconds, or
// when the recorder is ejected: the bridge destroyed, or the last party
// gone (a lonely channel alone in a bridge is made to leave).
//
// The simulator does not model the mixed audio: a bridge recording is
// taken as speech throughout (its WAV is a tone), and maxSilenceSeconds,
// which silence in a conversation would need, is accepted and not acted
// on.

// recorderSeq numbers the recorder channels' uniqueids.
var recorderSeq atomic.Int64

func (s *Server) hBridgeRecord(rq *request) {
	br := s.bridges[rq.vars[0]]
	if br == nil {
		rq.fail(404, "Bridge not found")
		return
	}
	p := rq.p
	format := p.str("format")
	if !recordFormats[format] {
		rq.fail(422, "specified format is unknown on this system")
		return
	}
	term := strings.ToLower(p.str("terminateOn"))
	switch term {
	case "", "none":
		term = ""
	case "any", "#", "*":
	default:
		rq.fail(400, "terminateOn invalid")
		return
	}
	ifExists := strings.ToLower(p.str("ifExists"))
	switch ifExists {
	case "":
		ifExists = "fail"
	case "fail", "overwrite", "append":
	default:
		rq.fail(400, "ifExists invalid")
		return
	}
	name := p.str("name")
	if name == "" || strings.Contains(name, "..") || strings.HasPrefix(name, "/") {
		rq.fail(500, "Error parsing request")
		return
	}
	if (ifExists == "fail" && s.stored.has(name)) || s.liveRecs[name] != nil {
		rq.fail(409, "Recording '"+name+"' already exists and can not be overwritten")
		return
	}
	now := s.clk.Now()
	r := &liveRec{
		name: name, format: format, target: "bridge:" + br.id, br: br, state: "queued",
		recorder: strconv.FormatInt(now.Unix(), 10) + "." + strconv.FormatInt(recorderSeq.Add(1), 10),
		maxDur:   time.Duration(p.int("maxDurationSeconds", 0)) * time.Second,
		// The recorder hears no DTMF: terminateOn never fires.
		terminate: term, beep: p.bool("beep"), ifExists: ifExists,
		total: -1, talking: -1,
	}
	rq.created("/ari/recordings/live/"+url.PathEscape(name), r.json())
	r.state = "recording"
	r.start = now
	s.liveRecs[name] = r
	br.recs = append(br.recs, r)
	rq.after = func() { s.startBridgeRecording(r) }
}

// startBridgeRecording runs after the 201: RecordingStarted to the
// bridge's applications, and the end at maxDurationSeconds. Must hold s.mu.
func (s *Server) startBridgeRecording(r *liveRec) {
	if r.finished() {
		return
	}
	now := s.clk.Now()
	s.emitBridgeRecording(r, "RecordingStarted", now)
	if r.maxDur > 0 {
		r.durTimer = s.atTime(r.start.Add(r.maxDur), func() {
			s.finishRecording(r, r.start.Add(r.maxDur+r.paused), "done", "")
		})
	}
}

func (s *Server) emitBridgeRecording(r *liveRec, typ string, now time.Time) {
	for _, app := range s.bridgeApps(r.br, nil) {
		s.emit(app, s.evRecording(typ, r, app, now))
	}
}

// ejectRecorders ends br's recordings as their recorder channels are
// made to leave it (the bridge destroyed, or nobody left to record).
// Must hold s.mu.
func (s *Server) ejectRecorders(br *bridge, now time.Time) {
	for len(br.recs) > 0 {
		s.finishRecording(br.recs[0], now, "done", "")
	}
}

// dropBridgeRecording forgets r in its bridge, once finished.
func dropBridgeRecording(r *liveRec) {
	br := r.br
	for i, o := range br.recs {
		if o == r {
			br.recs = append(br.recs[:i:i], br.recs[i+1:]...)
			return
		}
	}
}
