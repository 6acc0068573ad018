package arisim

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ---- channels ----

// control finds a channel the app may control: 404 if it does not exist,
// 409 if it is not in Stasis.
func (s *Server) control(rq *request) *channel {
	ch := s.channels[rq.vars[0]]
	if ch == nil {
		rq.fail(404, "Channel not found")
		return nil
	}
	if !ch.inStasis {
		rq.fail(409, "Channel not in Stasis application")
		return nil
	}
	return ch
}

// controlUp is control plus Asterisk's channel_state_invalid: an outbound
// channel that is Down or Ringing cannot be manipulated (412).
func (s *Server) controlUp(rq *request) *channel {
	ch := s.control(rq)
	if ch != nil && (ch.state == "Down" || ch.state == "Ringing") {
		rq.fail(412, "Channel in invalid state")
		return nil
	}
	return ch
}

func (s *Server) hChannelList(rq *request) {
	l := make([]*channel, 0, len(s.channels))
	for _, ch := range s.channels {
		l = append(l, ch)
	}
	sort.Slice(l, func(i, j int) bool {
		if !l[i].created.Equal(l[j].created) {
			return l[i].created.Before(l[j].created)
		}
		return l[i].id < l[j].id
	})
	b := make([]byte, 0, 64+400*len(l))
	b = append(b, '[')
	for i, ch := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, ch.json()...)
	}
	rq.ok(append(b, ']'))
}

func (s *Server) hChannelGet(rq *request) {
	ch := s.channels[rq.vars[0]]
	if ch == nil {
		rq.fail(404, "Channel not found")
		return
	}
	rq.ok(ch.json())
}

var hangupReasons = map[string]int{
	"": 16, "normal": 16, "busy": 17, "congestion": 34, "no_answer": 19, "answered_elsewhere": 26,
}

func (s *Server) hChannelHangup(rq *request) {
	ch := s.channels[rq.vars[0]]
	if ch == nil {
		rq.fail(404, "Channel not found")
		return
	}
	cause, ok := hangupReasons[rq.p.str("reason")]
	if !ok {
		rq.fail(400, "Invalid reason for hangup provided")
		return
	}
	s.hangup(ch, hangApp, cause, ByApp)
	rq.noContent()
}

func (s *Server) answer(ch *channel, now time.Time) {
	if ch.answered {
		return
	}
	ch.answered = true
	ch.ringing = false
	ch.setState("Up")
	s.emitChannel(ch, "ChannelStateChange", now)
	s.notify(ch.call, CallerEvent{Kind: EventAnswered, Time: now})
}

func (s *Server) hAnswer(rq *request) {
	ch := s.controlUp(rq)
	if ch == nil {
		return
	}
	s.answer(ch, s.clk.Now())
	rq.noContent()
}

func (s *Server) hRing(rq *request) {
	ch := s.controlUp(rq)
	if ch == nil {
		return
	}
	on := rq.r.Method == "POST"
	if ch.ringing != on && !ch.answered {
		ch.ringing = on
		k := EventRinging
		if !on {
			k = EventRingingStopped
		}
		s.notify(ch.call, CallerEvent{Kind: k, Time: s.clk.Now()})
	}
	rq.noContent()
}

func (s *Server) hSendDTMF(rq *request) {
	ch := s.controlUp(rq)
	if ch == nil {
		return
	}
	d := rq.p.str("dtmf")
	if d == "" {
		rq.fail(400, "DTMF is required")
		return
	}
	s.notify(ch.call, CallerEvent{Kind: EventDTMFSent, Time: s.clk.Now(), Digits: d})
	rq.noContent()
}

func (s *Server) hMute(rq *request) {
	ch := s.controlUp(rq)
	if ch == nil {
		return
	}
	switch rq.p.str("direction") {
	case "":
		rq.fail(400, "Direction is required")
	case "in", "out", "both":
		rq.noContent()
	default:
		rq.fail(400, "Invalid direction specified")
	}
}

func (s *Server) hHold(rq *request) {
	ch := s.controlUp(rq)
	if ch == nil {
		return
	}
	on := rq.r.Method == "POST"
	if ch.held != on {
		ch.held = on
		k := EventHoldStarted
		if !on {
			k = EventHoldStopped
		}
		s.notify(ch.call, CallerEvent{Kind: k, Time: s.clk.Now()})
	}
	rq.noContent()
}

func (s *Server) hMOH(rq *request) {
	ch := s.controlUp(rq)
	if ch == nil {
		return
	}
	now := s.clk.Now()
	if rq.r.Method == "POST" {
		class := rq.p.str("mohClass")
		if class == "" {
			class = "default"
		}
		ch.mohOn = true
		s.notify(ch.call, CallerEvent{Kind: EventMOHStarted, Time: now, Class: class})
	} else if ch.mohOn {
		ch.mohOn = false
		s.notify(ch.call, CallerEvent{Kind: EventMOHStopped, Time: now})
	}
	rq.noContent()
}

func (s *Server) hSilence(rq *request) {
	ch := s.controlUp(rq)
	if ch == nil {
		return
	}
	on := rq.r.Method == "POST"
	if ch.silence != on {
		ch.silence = on
		k := EventSilenceStarted
		if !on {
			k = EventSilenceStopped
		}
		s.notify(ch.call, CallerEvent{Kind: k, Time: s.clk.Now()})
	}
	rq.noContent()
}

// playArgs reads the common play parameters; ok is false when a reply
// (error) was set.
func (s *Server) playArgs(rq *request, defLang string, pathID int) (media []string, lang, id string, ok bool) {
	if rq.p.int("skipms", 0) < 0 {
		rq.fail(400, "skipms cannot be negative")
		return
	}
	if rq.p.int("offsetms", 0) < 0 {
		rq.fail(400, "offsetms cannot be negative")
		return
	}
	media = rq.p.multi("media")
	if len(media) == 0 {
		rq.fail(500, "Failed to queue media for playback")
		return
	}
	lang = rq.p.str("lang")
	if lang == "" {
		lang = defLang
	}
	if pathID < len(rq.vars) {
		id = rq.vars[pathID]
	} else {
		id = rq.p.str("playbackId")
	}
	if id == "" {
		id = newUUID()
	}
	return media, lang, id, true
}

func (s *Server) hChannelPlay(rq *request) {
	ch := s.controlUp(rq)
	if ch == nil {
		return
	}
	media, lang, id, ok := s.playArgs(rq, ch.lang, 1)
	if !ok {
		return
	}
	pb := &playback{id: id, media: media, lang: lang, target: "channel:" + ch.id, ch: ch, state: "queued"}
	rq.created("/ari/playbacks/"+url.PathEscape(id), pb.json(""))
	s.queuePlayback(pb, s.clk.Now())
}

var recordFormats = map[string]bool{"wav": true}

func (s *Server) hRecord(rq *request) {
	p := &rq.p
	if p.int("maxDurationSeconds", 0) < 0 {
		rq.fail(400, "max_duration_seconds cannot be negative")
		return
	}
	if p.int("maxSilenceSeconds", 0) < 0 {
		rq.fail(400, "max_silence_seconds cannot be negative")
		return
	}
	ch := s.control(rq)
	if ch == nil {
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
	format := p.str("format")
	if !recordFormats[format] {
		rq.fail(422, "specified format is unknown on this system")
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
	if ch.rec != nil {
		rq.fail(409, "Channel is already recording")
		return
	}
	now := s.clk.Now()
	r := &liveRec{
		name: name, format: format, target: "channel:" + ch.id, ch: ch, state: "queued",
		maxDur:    time.Duration(p.int("maxDurationSeconds", 0)) * time.Second,
		maxSil:    time.Duration(p.int("maxSilenceSeconds", 0)) * time.Second,
		terminate: term, beep: p.bool("beep"), ifExists: ifExists,
		total: -1, talking: -1,
	}
	rq.created("/ari/recordings/live/"+url.PathEscape(name), r.json())
	r.state = "recording"
	r.start = now
	s.liveRecs[name] = r
	ch.rec = r
	rq.after = func() { s.startRecording(r) }
}

// channel variables and the few dialplan functions an IVR reads.
func (s *Server) readFunc(ch *channel, expr string) (string, bool) {
	fn, arg, _ := strings.Cut(strings.TrimSuffix(expr, ")"), "(")
	arg = strings.ToLower(arg)
	switch strings.ToUpper(fn) {
	case "CALLERID":
		switch arg {
		case "num", "number":
			return ch.caller.Number, true
		case "name":
			return ch.caller.Name, true
		case "all":
			return fmt.Sprintf("%q <%s>", ch.caller.Name, ch.caller.Number), true
		}
	case "CONNECTEDLINE":
		switch arg {
		case "num", "number":
			return ch.connected.Number, true
		case "name":
			return ch.connected.Name, true
		}
	case "CHANNEL":
		switch arg {
		case "language":
			return ch.lang, true
		case "name":
			return ch.name, true
		case "uniqueid", "linkedid":
			return ch.id, true
		case "state":
			return ch.state, true
		case "channeltype":
			return ch.tech, true
		}
	}
	return "", false
}

func (s *Server) hChanVarGet(rq *request) {
	name := rq.p.str("variable")
	if name == "" {
		rq.fail(400, "Variable name is required")
		return
	}
	ch := s.channels[rq.vars[0]]
	if ch == nil {
		rq.fail(404, "Provided channel was not found")
		return
	}
	var v string
	if strings.HasSuffix(name, ")") {
		var ok bool
		if v, ok = s.readFunc(ch, name); !ok {
			rq.fail(500, "Unable to read provided function")
			return
		}
	} else {
		var ok bool
		if v, ok = ch.vars[name]; !ok {
			switch name {
			case "CHANNEL":
				v = ch.name
			case "UNIQUEID":
				v = ch.id
			case "EXTEN":
				v = ch.dp.exten
			case "CONTEXT":
				v = ch.dp.context
			default:
				rq.fail(404, "Provided variable was not found")
				return
			}
		}
	}
	b := append([]byte(nil), `{"value":`...)
	b = appendStr(b, v)
	rq.ok(append(b, '}'))
}

func (s *Server) hChanVarSet(rq *request) {
	name := rq.p.str("variable")
	if name == "" {
		rq.fail(400, "Variable name is required")
		return
	}
	ch := s.control(rq)
	if ch == nil {
		return
	}
	value := rq.p.str("value")
	if strings.HasSuffix(name, ")") {
		fn, arg, _ := strings.Cut(strings.TrimSuffix(name, ")"), "(")
		switch strings.ToUpper(fn) + "(" + strings.ToLower(arg) + ")" {
		case "CHANNEL(language)":
			ch.lang = value
		case "CALLERID(name)":
			ch.caller.Name = value
		case "CALLERID(num)", "CALLERID(number)":
			ch.caller.Number = value
		case "CONNECTEDLINE(name)":
			ch.connected.Name = value
		case "CONNECTEDLINE(num)", "CONNECTEDLINE(number)":
			ch.connected.Number = value
		default:
			rq.fail(400, "Failed to execute function")
			return
		}
		ch.touch()
		rq.noContent()
		return
	}
	if ch.vars == nil {
		ch.vars = map[string]string{}
	}
	ch.vars[name] = value
	s.emitVarset(ch, name, value, s.clk.Now())
	rq.noContent()
}

func (s *Server) hContinue(rq *request) {
	ch := s.controlUp(rq)
	if ch == nil {
		return
	}
	p := &rq.p
	ctxArg, ext, label := p.str("context"), p.str("extension"), p.str("label")
	prio := p.int("priority", 0)
	var c, e string
	if ctxArg == "" {
		c, e = ch.dp.context, ext
		if e == "" {
			e = ch.dp.exten
		}
	} else {
		c, e = ctxArg, ext
		if e == "" {
			e = "s"
		}
	}
	next := false
	var pr int
	switch {
	case label != "":
		n, err := strconv.Atoi(label)
		if err != nil {
			rq.fail(404, "Requested label can not be found")
			return
		}
		if n == 0 {
			rq.fail(400, "Requested priority is illegal")
			return
		}
		pr = n
	case prio != 0:
		pr = prio
	case ctxArg == "" && ext == "":
		pr, next = ch.dp.priority+1, true
	default:
		pr = 1
	}
	rq.noContent()
	rq.after = func() { s.continueChannel(ch, c, e, pr, next) }
}

// continueChannel takes ch out of Stasis (StasisEnd) into the dialplan. A
// plain /continue goes to the next priority of the inbound context, which
// in the lab (and here) hangs up at once; an explicit location runs for
// Options.DialplanDuration. Control requests then get 409. Must hold s.mu.
func (s *Server) continueChannel(ch *channel, ctx, exten string, prio int, next bool) {
	if ch.gone || !ch.inStasis {
		return
	}
	now := s.clk.Now()
	s.stopChannelMedia(ch, now, false)
	if ch.rec != nil {
		s.finishRecording(ch.rec, now, "done", "")
	}
	if ch.bridge != nil {
		s.leaveBridge(ch, now, true)
	}
	ch.inStasis = false
	s.emitChannel(ch, "StasisEnd", now)
	if !ch.originated || ch.dialplanStasis {
		ch.subscribed = false
	}
	s.leaveApp(ch)
	s.notify(ch.call, CallerEvent{Kind: EventContinued, Time: now, Context: ctx, Exten: exten, Priority: prio})
	if next {
		s.hangup(ch, hangDialplan, 16, ByDialplan)
		return
	}
	ch.dp = dialplanLoc{context: ctx, exten: exten, priority: prio}
	ch.touch()
	s.cancel(ch.lingerTimer)
	ch.lingerTimer = s.after(s.opts.DialplanDuration, func() { s.hangup(ch, hangDialplan, 16, ByDialplan) })
}

// ---- originate ----

func parseCallerID(s string) party {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		if j := strings.IndexByte(s[i:], '>'); j > 0 {
			name := strings.Trim(strings.TrimSpace(s[:i]), `"`)
			return party{name, strings.TrimSpace(s[i+1 : i+j])}
		}
	}
	if s != "" && strings.Trim(s, "0123456789+*#-() ") == "" {
		return party{"", s}
	}
	return party{strings.Trim(s, `"`), ""}
}

// newOutbound builds a channel to endpoint (originate or create); on error
// the reply is set and nil returned. Must hold s.mu.
func (s *Server) newOutbound(rq *request, endpointName, id string, now time.Time) *channel {
	tech, res, _ := strings.Cut(endpointName, "/")
	if tech == "" || res == "" {
		rq.fail(400, "Invalid endpoint specified")
		return nil
	}
	ep := s.endpoints[endpointName]
	if ep == nil && tech != "Local" {
		rq.allocFailed()
		return nil
	}
	if id != "" && s.channels[id] != nil {
		rq.fail(409, "Channel with given unique ID already exists")
		return nil
	}
	if o := rq.p.str("originator"); o != "" && s.channels[o] == nil {
		rq.fail(400, "Provided originator channel was not found")
		return nil
	}
	ch := s.newChannel(id, endpointName, now)
	ch.originated = true
	ch.ep = ep
	ctx := "default"
	if ep != nil {
		ctx = ep.b.Context
		if ep.b.Language != "" {
			ch.lang = ep.b.Language
		}
	}
	exten := ""
	if tech == "Local" {
		e, c, ok := strings.Cut(res, "@")
		exten = e
		if ok {
			ctx = c
		}
	}
	ch.dp = dialplanLoc{ctx, exten, 1, "AppDial2", "(Outgoing Line)"}
	if cid := rq.p.str("callerId"); cid != "" {
		ch.caller = parseCallerID(cid)
		ch.connected = ch.caller
	}
	if raw, ok := rq.p.body["variables"]; ok {
		vars, err := decodeVariables(raw)
		if err != nil {
			rq.fail(400, "Only string values in the 'variables' object allowed")
			return nil
		}
		ch.vars = vars
	}
	return ch
}

func (s *Server) hOriginate(rq *request) {
	p := &rq.p
	endpointName := p.str("endpoint")
	if endpointName == "" {
		rq.fail(400, "Endpoint must be specified")
		return
	}
	if p.str("originator") != "" && p.str("formats") != "" {
		rq.fail(400, "Originator and formats can't both be specified")
		return
	}
	appName, ext := p.str("app"), p.str("extension")
	if appName == "" && ext == "" {
		if t, r, _ := strings.Cut(endpointName, "/"); t == "" || r == "" {
			rq.fail(400, "Invalid endpoint specified")
			return
		}
		rq.fail(400, "Application or extension must be specified")
		return
	}
	id := p.str("channelId")
	if len(rq.vars) > 0 {
		id = rq.vars[0]
	}
	now := s.clk.Now()
	ch := s.newOutbound(rq, endpointName, id, now)
	if ch == nil {
		return
	}
	timeout := p.int("timeout", 30)
	switch {
	case timeout > 0:
		ch.dialTimeout = time.Duration(timeout) * time.Second
	case timeout == -1:
		ch.dialTimeout = 0
	default:
		ch.dialTimeout = s.opts.OriginateTimeout
	}
	if appName != "" {
		ch.app = appName
		if a := p.str("appArgs"); a != "" {
			ch.args = strings.Split(a, ",")
		}
		ch.subscribed = true
		if a := s.apps[appName]; a != nil {
			a.chans[ch.id] = ch
		}
	} else {
		ctx := p.str("context")
		if ctx == "" {
			ctx = "default"
		}
		prio := p.int("priority", 1)
		if prio <= 0 {
			prio = 1
		}
		ch.origTarget = dialplanLoc{context: ctx, exten: ext, priority: prio}
	}
	s.registerOutbound(ch)
	rq.ok(ch.json())
	rq.after = func() { s.dialStart(ch) }
}

func (s *Server) registerOutbound(ch *channel) {
	s.channels[ch.id] = ch
	var o CallOptions
	var onCall func(*Call)
	if ch.ep != nil {
		o, onCall = ch.ep.b.CallOptions, ch.ep.b.OnCall
	}
	c := s.newCall(ch, o)
	if onCall != nil {
		c.pmu.Lock()
		c.hook = onCall
		c.queued = true
		c.pmu.Unlock()
		s.dirty = append(s.dirty, c)
	}
}

func (s *Server) hChannelCreate(rq *request) {
	p := &rq.p
	endpointName := p.str("endpoint")
	if endpointName == "" {
		rq.fail(400, "Endpoint must be specified")
		return
	}
	appName := p.str("app")
	if appName == "" {
		rq.fail(400, "Missing parameter app")
		return
	}
	now := s.clk.Now()
	ch := s.newOutbound(rq, endpointName, p.str("channelId"), now)
	if ch == nil {
		return
	}
	ch.app = appName
	if a := p.str("appArgs"); a != "" {
		ch.args = strings.Split(a, ",")
	}
	appData := appName
	if len(ch.args) > 0 {
		appData += "," + strings.Join(ch.args, ",")
	}
	ch.dp.appName, ch.dp.appData = "Stasis", appData
	ch.subscribed = true
	ch.dialTimeout = s.opts.OriginateTimeout
	a := s.apps[appName]
	if a == nil || a.sock == nil {
		rq.allocFailed()
		return
	}
	ch.inStasis = true
	a.chans[ch.id] = ch
	s.registerOutbound(ch)
	rq.ok(ch.json())
	rq.after = func() {
		if !ch.gone {
			s.emitStasisStart(ch, s.clk.Now())
		}
	}
}

func (s *Server) hDial(rq *request) {
	ch := s.control(rq)
	if ch == nil {
		return
	}
	if ch.state != "Down" || ch.dialing || ch.answered {
		rq.fail(409, "Channel is not in the 'Down' state")
		return
	}
	if !ch.originated {
		rq.fail(409, "Dialing a channel not created by ARI")
		return
	}
	if t := rq.p.int("timeout", 0); t > 0 {
		ch.dialTimeout = time.Duration(t) * time.Second
	}
	rq.noContent()
	rq.after = func() { s.dialStart(ch) }
}
