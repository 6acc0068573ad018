package arisim

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// ---- playbacks ----

func (s *Server) hPlaybackGet(rq *request) {
	pb := s.findPlayback(rq.vars[0])
	if pb == nil {
		rq.fail(404, "Playback not found")
		return
	}
	rq.ok(pb.json(""))
}

func (s *Server) hPlaybackStop(rq *request) {
	pb := s.findPlayback(rq.vars[0])
	if pb == nil {
		rq.fail(404, "Playback not found")
		return
	}
	s.stopPlayback(pb, s.clk.Now())
	rq.noContent()
}

func (s *Server) hPlaybackControl(rq *request) {
	op := rq.p.str("operation")
	switch op {
	case "":
		rq.fail(400, "Missing operation")
		return
	case "pause", "unpause", "restart", "reverse", "forward":
	default:
		rq.fail(400, "Invalid operation "+op)
		return
	}
	pb := s.findPlayback(rq.vars[0])
	if pb == nil {
		rq.fail(404, "Playback not found")
		return
	}
	status, msg := s.controlPlayback(pb, op, s.clk.Now())
	if status != 204 {
		rq.fail(status, msg)
		return
	}
	rq.noContent()
}

// ---- recordings ----

func (s *Server) hStoredList(rq *request) {
	b := []byte{'['}
	for i, r := range s.stored.list() {
		if i > 0 {
			b = append(b, ',')
		}
		b = storedJSON(b, r.name, r.format)
	}
	rq.ok(append(b, ']'))
}

func (s *Server) hStoredGet(rq *request) {
	r, ok := s.stored.get(rq.vars[0])
	if !ok {
		rq.fail(404, "Recording not found")
		return
	}
	rq.ok(storedJSON(nil, r.name, r.format))
}

func (s *Server) hStoredDelete(rq *request) {
	if !s.stored.remove(rq.vars[0]) {
		rq.fail(404, "Recording not found")
		return
	}
	rq.noContent()
}

func (s *Server) hStoredFile(rq *request) {
	cp, ok := s.stored.get(rq.vars[0])
	if !ok {
		rq.fail(404, "Recording not found")
		return
	}
	rq.status, rq.ctype = 200, "audio/wav"
	rq.lazy = func() []byte { return wavFile(&cp) }
}

func (s *Server) hStoredCopy(rq *request) {
	if !s.stored.has(rq.vars[0]) {
		rq.fail(404, "Recording not found")
		return
	}
	dst := rq.p.str("destinationRecordingName")
	if dst == "" {
		rq.fail(400, "Missing parameter destinationRecordingName")
		return
	}
	if strings.Contains(dst, "..") || strings.HasPrefix(dst, "/") {
		rq.fail(403, "Destination file is outside the recordings directory")
		return
	}
	cp, ok := s.stored.copyTo(rq.vars[0], dst)
	if !ok {
		rq.fail(409, "A recording with the same name already exists on the system")
		return
	}
	rq.ok(storedJSON(nil, dst, cp.format))
}

func (s *Server) hLiveGet(rq *request) {
	r := s.liveRecs[rq.vars[0]]
	if r == nil {
		rq.fail(404, "Recording not found")
		return
	}
	rq.ok(r.json())
}

func (s *Server) hLiveCancel(rq *request) {
	r := s.liveRecs[rq.vars[0]]
	if r == nil {
		rq.fail(404, "Recording not found")
		return
	}
	now := s.clk.Now()
	s.finishRecording(r, now, "canceled", "")
	rq.noContent()
}

func (s *Server) hLiveStop(rq *request) {
	r := s.liveRecs[rq.vars[0]]
	if r == nil {
		rq.fail(404, "Recording not found")
		return
	}
	now := s.clk.Now()
	s.finishRecording(r, now, "done", "")
	rq.noContent()
}

func (s *Server) hLivePause(rq *request) {
	r := s.liveRecs[rq.vars[0]]
	if r == nil {
		rq.fail(404, "Recording not found")
		return
	}
	now := s.clk.Now()
	pause := rq.r.Method == "POST"
	switch {
	case pause && r.state == "recording":
		r.state, r.pausedAt = "paused", now
		s.cancel(r.silTimer)
		r.silTimer = nil
	case !pause && r.state == "paused":
		r.state = "recording"
		r.paused += now.Sub(r.pausedAt)
		s.recScheduleSilence(r, now)
	case pause && r.state == "paused", !pause && r.state == "recording":
	default:
		rq.fail(409, "Recording not in session")
		return
	}
	rq.noContent()
}

func (s *Server) hLiveMute(rq *request) {
	r := s.liveRecs[rq.vars[0]]
	if r == nil {
		rq.fail(404, "Recording not found")
		return
	}
	if r.state != "recording" && r.state != "paused" {
		rq.fail(409, "Recording not in session")
		return
	}
	r.muted = rq.r.Method == "POST"
	rq.noContent()
}

// ---- sounds ----

func (s *Server) soundJSON(b []byte, id string, langs []string) []byte {
	b = append(b, `{"id":`...)
	b = appendStr(b, id)
	b = append(b, `,"formats":[`...)
	for i, l := range langs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"language":`...)
		b = appendStr(b, l)
		b = append(b, `,"format":"slin"}`...)
	}
	return append(b, "]}"...)
}

// soundLangs lists the languages a sound exists in (none: no such sound).
func (s *Server) soundLangs(id string) []string {
	if s.opts.SoundDuration != nil {
		var l []string
		for _, lang := range s.opts.SoundLanguages {
			if _, ok := s.opts.SoundDuration("sound:"+id, lang); ok {
				l = append(l, lang)
			}
		}
		return l
	}
	if _, ok := s.opts.Sounds[id]; ok {
		return s.opts.SoundLanguages
	}
	return nil
}

func (s *Server) hSoundGet(rq *request) {
	langs := s.soundLangs(rq.vars[0])
	if len(langs) == 0 {
		rq.fail(404, "Sound not found")
		return
	}
	rq.ok(s.soundJSON(nil, rq.vars[0], langs))
}

func (s *Server) hSoundList(rq *request) {
	lang, format := rq.p.str("lang"), rq.p.str("format")
	b := []byte{'['}
	n := 0
	if format == "" || format == "slin" {
		for _, id := range sortedKeys(s.opts.Sounds) {
			langs := s.soundLangs(id)
			if lang != "" {
				if !containsString(langs, lang) {
					continue
				}
				langs = []string{lang}
			}
			if len(langs) == 0 {
				continue
			}
			if n > 0 {
				b = append(b, ',')
			}
			b = s.soundJSON(b, id, langs)
			n++
		}
	}
	if n == 0 {
		rq.fail(404, "No sounds found that matched the query")
		return
	}
	rq.ok(append(b, ']'))
}

// ---- endpoints ----

func (s *Server) endpointJSON(b []byte, ep *endpoint, ids []string) []byte {
	b = append(b, `{"technology":`...)
	b = appendStr(b, ep.tech)
	b = append(b, `,"resource":`...)
	b = appendStr(b, ep.resource)
	b = append(b, `,"state":"unknown","channel_ids":`...)
	sort.Strings(ids)
	b = appendStrList(b, ids)
	return append(b, '}')
}

// endpointChannels maps each endpoint to the ids of its channels.
func (s *Server) endpointChannels() map[*endpoint][]string {
	m := map[*endpoint][]string{}
	for id, ch := range s.channels {
		if ch.ep != nil {
			m[ch.ep] = append(m[ch.ep], id)
		}
	}
	return m
}

func (s *Server) hEndpointList(rq *request) {
	tech := ""
	if len(rq.vars) > 0 {
		tech = rq.vars[0]
	}
	chans := s.endpointChannels()
	b := []byte{'['}
	n := 0
	for _, name := range sortedKeys(s.endpoints) {
		ep := s.endpoints[name]
		if tech != "" && !strings.EqualFold(ep.tech, tech) {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		b = s.endpointJSON(b, ep, chans[ep])
		n++
	}
	rq.ok(append(b, ']'))
}

func (s *Server) hEndpointGet(rq *request) {
	for _, ep := range s.endpoints {
		if strings.EqualFold(ep.tech, rq.vars[0]) && ep.resource == rq.vars[1] {
			rq.ok(s.endpointJSON(nil, ep, s.endpointChannels()[ep]))
			return
		}
	}
	rq.fail(404, "Endpoint not found")
}

// decodeVariables reads originate's {"variables":{...}}: string values only.
func decodeVariables(raw []byte) (map[string]string, error) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		sv, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("variable %s is not a string", k)
		}
		out[k] = sv
	}
	return out, nil
}
