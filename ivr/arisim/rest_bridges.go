package arisim

import (
	"net/url"
)

// ---- bridges ----

func (s *Server) hBridgeList(rq *request) {
	b := []byte{'['}
	for i, id := range sortedKeys(s.bridges) {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, s.bridges[id].json()...)
	}
	rq.ok(append(b, ']'))
}

func (s *Server) hBridgeCreate(rq *request) {
	id := rq.p.str("bridgeId")
	if len(rq.vars) > 0 {
		id = rq.vars[0]
	}
	if id == "" {
		id = newUUID()
	}
	if s.bridges[id] != nil {
		rq.fail(409, "Bridge with id '"+id+"' already exists")
		return
	}
	btype := "mixing"
	for _, t := range rq.p.list("type") {
		switch t {
		case "mixing", "holding", "proxy_media", "video_sfu", "video_single":
			btype = t
		case "dtmf_events":
		default:
			rq.fail(400, "Invalid bridge type '"+t+"'")
			return
		}
	}
	br := &bridge{id: id, name: rq.p.str("name"), btype: btype, created: s.clk.Now(), subs: map[string]int{}}
	s.bridges[id] = br
	rq.ok(br.json())
}

func (s *Server) hBridgeGet(rq *request) {
	br := s.bridges[rq.vars[0]]
	if br == nil {
		rq.fail(404, "Bridge not found")
		return
	}
	rq.ok(br.json())
}

func (s *Server) hBridgeDelete(rq *request) {
	br := s.bridges[rq.vars[0]]
	if br == nil {
		rq.fail(404, "Bridge not found")
		return
	}
	s.destroyBridge(br, s.clk.Now())
	rq.noContent()
}

// bridgeChannels resolves the channel parameter of add/removeChannel.
func (s *Server) bridgeChannels(rq *request) []*channel {
	ids := rq.p.multi("channel")
	if len(ids) == 0 {
		rq.fail(400, "Missing parameter channel")
		return nil
	}
	l := make([]*channel, 0, len(ids))
	for _, id := range ids {
		ch := s.channels[id]
		if ch == nil {
			rq.fail(400, "Channel not found")
			return nil
		}
		if !ch.inStasis {
			rq.fail(422, "Channel not in Stasis application")
			return nil
		}
		l = append(l, ch)
	}
	return l
}

func (s *Server) hBridgeAdd(rq *request) {
	br := s.bridges[rq.vars[0]]
	if br == nil {
		rq.fail(404, "Bridge not found")
		return
	}
	chans := s.bridgeChannels(rq)
	if chans == nil {
		return
	}
	now := s.clk.Now()
	for _, ch := range chans {
		s.joinBridge(ch, br, now)
	}
	rq.noContent()
}

func (s *Server) hBridgeRemove(rq *request) {
	br := s.bridges[rq.vars[0]]
	if br == nil {
		rq.fail(404, "Bridge not found")
		return
	}
	chans := s.bridgeChannels(rq)
	if chans == nil {
		return
	}
	for _, ch := range chans {
		if ch.bridge != br {
			rq.fail(422, "Channel not in this bridge")
			return
		}
	}
	now := s.clk.Now()
	for _, ch := range chans {
		s.leaveBridge(ch, now, true)
	}
	rq.noContent()
}

func (s *Server) hBridgeMOH(rq *request) {
	br := s.bridges[rq.vars[0]]
	if br == nil {
		rq.fail(404, "Bridge not found")
		return
	}
	now := s.clk.Now()
	if rq.r.Method == "POST" {
		class := rq.p.str("mohClass")
		if class == "" {
			class = "default"
		}
		if !br.mohOn || br.mohClass != class {
			br.mohOn, br.mohClass = true, class
			br.retech()
			for _, ch := range br.chans {
				s.notify(ch.call, CallerEvent{Kind: EventMOHStarted, Time: now, Class: class, Bridge: br.id})
			}
		}
		rq.noContent()
		return
	}
	if !br.mohOn {
		rq.fail(409, "Bridge isn't playing music on hold")
		return
	}
	br.mohOn = false
	br.retech()
	for _, ch := range br.chans {
		s.notify(ch.call, CallerEvent{Kind: EventMOHStopped, Time: now, Class: br.mohClass, Bridge: br.id})
	}
	rq.noContent()
}

func (s *Server) hBridgePlay(rq *request) {
	br := s.bridges[rq.vars[0]]
	if br == nil {
		rq.fail(404, "Bridge not found")
		return
	}
	media, lang, id, ok := s.playArgs(rq, s.opts.Language, 1)
	if !ok {
		return
	}
	pb := &playback{id: id, media: media, lang: lang, target: "bridge:" + br.id, br: br, state: "queued"}
	rq.created("/ari/playbacks/"+url.PathEscape(id), pb.json(""))
	s.queuePlayback(pb, s.clk.Now())
}
