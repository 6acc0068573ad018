package arisim

import (
	"fmt"
	"slices"
	"strings"
)

// Snoop channels, as res_stasis_snoop.c of Asterisk 20 makes them (POST
// /channels/{id}/snoop): a channel "Snoop/<target id>-<8 hex>", Up at
// once, that enters the given Stasis application with its arguments
// (ChannelVarset STASISSTATUS "" then StasisStart, as the Stasis
// application does). Its target need not be in Stasis. Spy copies the
// target's audio into the snoop channel ("in": what the target's phone
// sends, "out": what it is sent); whisper mixes what the snoop channel
// is given into the target's audio ("out": the target's phone hears it,
// "in": whoever the target talks to does). When the target goes, the
// snoop channel's audiohooks stop and its read fails: StasisEnd,
// ChannelVarset STASISSTATUS SUCCESS and ChannelDestroyed (cause 0,
// "Unknown"), with no ChannelHangupRequest since nobody asked for one.

var snoopDirections = []string{"none", "both", "out", "in"}

func (s *Server) hSnoop(rq *request) {
	p := &rq.p
	spy, whisper := cmpOr(p.str("spy"), "none"), cmpOr(p.str("whisper"), "none")
	switch {
	case !slices.Contains(snoopDirections, spy):
		rq.fail(400, "Invalid direction specified for spy")
		return
	case !slices.Contains(snoopDirections, whisper):
		rq.fail(400, "Invalid direction specified for whisper")
		return
	case spy == "none" && whisper == "none":
		rq.fail(400, "Direction must be specified for at least spy or whisper")
		return
	case p.str("app") == "":
		rq.fail(400, "Application name is required")
		return
	}
	target := s.channels[rq.vars[0]]
	if target == nil || target.gone {
		rq.fail(404, "Provided channel was not found")
		return
	}
	id := p.str("snoopId")
	if len(rq.vars) > 1 {
		id = rq.vars[1]
	}
	if id != "" && s.channels[id] != nil {
		// ast_channel_alloc refuses a uniqueid in use.
		rq.fail(500, "Snoop channel could not be created")
		return
	}
	now := s.clk.Now()
	ch := s.newChannel(id, "Snoop/x", now)
	s.snoopSeq++
	ch.name = fmt.Sprintf("Snoop/%s-%08x", target.id, s.snoopSeq)
	ch.tech, ch.resource, ch.protoID = "Snoop", "", ""
	ch.state, ch.answered = "Up", true
	ch.snoop = &snoopHooks{target: target, spy: spy, whisper: whisper}
	ch.app, ch.subscribed = p.str("app"), true
	if a := p.str("appArgs"); a != "" {
		ch.args = strings.Split(a, ",")
	}
	appData := ch.app
	if len(ch.args) > 0 {
		appData += "," + strings.Join(ch.args, ",")
	}
	ch.dp = dialplanLoc{"default", "s", 1, "Stasis", appData}
	target.snoops = append(target.snoops, ch)
	s.channels[ch.id] = ch
	rq.ok(ch.json())
	rq.after = func() {
		if ch.gone {
			return
		}
		a := s.apps[ch.app]
		now := s.clk.Now()
		if a == nil || a.sock == nil {
			s.emitVarset(ch, "STASISSTATUS", "FAILED", now)
			s.hangup(ch, hangDialplan, 0, ByDialplan)
			return
		}
		s.emitVarset(ch, "STASISSTATUS", "", now)
		ch.inStasis = true
		a.chans[ch.id] = ch
		s.emitStasisStart(ch, now)
	}
}

// snoopHooks is a snoop channel's audiohooks on its target.
type snoopHooks struct {
	target       *channel
	spy, whisper string
}

func (h *snoopHooks) spies(dir string) bool    { return h.spy == "both" || h.spy == dir }
func (h *snoopHooks) whispers(dir string) bool { return h.whisper == "both" || h.whisper == dir }

// endSnoops hangs up the snoop channels of a target that is going. Must
// hold s.mu.
func (s *Server) endSnoops(target *channel, how hangupHow) {
	if how != hangShutdown {
		how = hangTargetGone
	}
	for _, sn := range slices.Clone(target.snoops) {
		s.hangup(sn, how, 0, ByNetwork)
	}
	target.snoops = nil
}

// forgetSnoop detaches a snoop channel that ends from its target.
func (s *Server) forgetSnoop(sn *channel) {
	t := sn.snoop.target
	t.snoops = slices.DeleteFunc(t.snoops, func(c *channel) bool { return c == sn })
}

// Hears lists the phones (channels other than snoop channels) whose voice
// reaches the phone of the channel id now, sorted: the other parties of
// its bridge with what their snoop channels whisper in, what snoop
// channels on it whisper out, and for a snoop channel's bridge, what the
// snoop spies on. A channel never hears itself. Tests check the sound
// path with it (a whisper reaches the operator, not the caller).
func (s *Server) Hears(id string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[id]
	if ch == nil {
		return nil
	}
	set := map[string]bool{}
	s.hearsInto(ch, set, 0)
	delete(set, ch.id)
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// maxAudioDepth stops a walk through snoops of snoops.
const maxAudioDepth = 8

// hearsInto adds what ch's phone is sent: its bridge's mix, and what
// snoops on it whisper out.
func (s *Server) hearsInto(ch *channel, set map[string]bool, depth int) {
	if depth > maxAudioDepth {
		return
	}
	s.bridgeMix(ch, set, depth)
	for _, sn := range ch.snoops {
		if sn.snoop.whispers("out") {
			s.bridgeMix(sn, set, depth+1)
		}
	}
}

// bridgeMix adds what the other parties of ch's bridge send into it.
func (s *Server) bridgeMix(ch *channel, set map[string]bool, depth int) {
	if ch.bridge == nil {
		return
	}
	for _, o := range ch.bridge.chans {
		if o != ch {
			s.sends(o, set, depth+1)
		}
	}
}

// sends adds what ch sends into its bridge: a phone its voice and what
// snoops on it whisper in; a snoop channel what it spies (before any
// whisper is mixed in, as audiohook.c feeds spies first).
func (s *Server) sends(ch *channel, set map[string]bool, depth int) {
	if depth > maxAudioDepth {
		return
	}
	if h := ch.snoop; h != nil {
		if h.spies("in") {
			set[h.target.id] = true
		}
		if h.spies("out") {
			s.bridgeMix(h.target, set, depth+1)
		}
		return
	}
	set[ch.id] = true
	for _, sn := range ch.snoops {
		if sn.snoop.whispers("in") {
			s.bridgeMix(sn, set, depth+1)
		}
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// ChannelIDs lists the ids of the channels that exist now, sorted.
func (s *Server) ChannelIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedKeys(s.channels)
}

// BridgeIDs lists the ids of the bridges that exist now, sorted.
func (s *Server) BridgeIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedKeys(s.bridges)
}
