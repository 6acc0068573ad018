package arisim

import (
	"slices"
	"strings"
	"time"
)

type hangupHow int

const (
	hangRemote     hangupHow = iota // the far end hung up (SIP BYE)
	hangApp                         // DELETE /channels/{id}
	hangDialplan                    // the dialplan ended the call
	hangShutdown                    // Asterisk stops under the call (Shutdown)
	hangTargetGone                  // a snoop channel whose target went (snoop.go)
)

// causeText is Asterisk's ast_cause2str for the causes the simulator uses.
func causeText(cause int) string {
	switch cause {
	case 1:
		return "Unallocated (unassigned) number"
	case 16:
		return "Normal Clearing"
	case 17:
		return "User busy"
	case 18:
		return "No user responding"
	case 19:
		return "User alerted, no answer"
	case 20:
		return "Subscriber absent"
	case 21:
		return "Call Rejected"
	case 26:
		return "Answered elsewhere"
	case 34:
		return "Circuit/channel congestion"
	}
	return "Unknown"
}

// hangup ends a channel and emits what Asterisk emits for it. Must hold s.mu.
//
//   - remote hangup: [5 × ChannelVarset RTPAUDIOQOS*] ChannelHangupRequest (no cause)
//   - app hangup (DELETE): [5 × RTPAUDIOQOS* for an inbound channel]
//     ChannelHangupRequest {cause:32, soft:true}
//
// then PlaybackFinished "failed" for a running playback, RecordingFinished
// for a running recording, ChannelLeftBridge, StasisEnd, and for an
// originated channel ChannelVarset STASISSTATUS=SUCCESS and ChannelDestroyed.
func (s *Server) hangup(ch *channel, how hangupHow, cause int, by string) {
	if ch.gone {
		return
	}
	now := s.clk.Now()
	s.cancelChannelTimers(ch)
	if ch.dialing {
		ch.dialing = false
		if how == hangApp {
			s.chEmit(ch, func(app string) []byte { return s.evHangupRequest(ch, app, 32, now) })
		}
		s.chEmit(ch, func(app string) []byte { return s.evDial(ch, app, "CANCEL", ch.resource, now) })
		s.chEmit(ch, func(app string) []byte { return s.evDestroyed(ch, app, cause, causeText(cause), now) })
		s.removeChannel(ch)
		s.endCall(ch.call, CallerEvent{Kind: EventHangup, Time: now, By: by, State: causeText(cause)})
		s.endSnoops(ch, how)
		return
	}
	rtp := ch.answered && ch.tech != "Local"
	switch how {
	case hangRemote:
		if rtp {
			s.emitQoS(ch, now)
		}
		s.chEmit(ch, func(app string) []byte { return s.evHangupRequest(ch, app, 0, now) })
	case hangApp:
		if rtp && ch.inbound {
			s.emitQoS(ch, now)
		}
		s.chEmit(ch, func(app string) []byte { return s.evHangupRequest(ch, app, 32, now) })
	case hangShutdown:
		// Shutdown emitted every channel's hangup request first.
	case hangTargetGone:
		// The snoop's read failed: nobody requested a hangup.
	}
	s.stopChannelMedia(ch, now, ch.inStasis)
	if ch.rec != nil {
		s.finishRecording(ch.rec, now, "done", "")
	}
	if ch.bridge != nil {
		s.leaveBridge(ch, now, false)
	}
	wasInStasis := ch.inStasis
	if ch.inStasis {
		ch.inStasis = false
		s.emitChannel(ch, "StasisEnd", now)
	}
	if (ch.originated && !ch.dialplanStasis || ch.snoop != nil) && ch.subscribed && how != hangShutdown { // the sockets close first
		if wasInStasis {
			s.emitVarset(ch, "STASISSTATUS", "SUCCESS", now)
		}
		if ch.originated {
			ch.dp.exten, ch.dp.priority, ch.dp.appName, ch.dp.appData = "", 1, "AppDial2", "(Outgoing Line)"
		}
		ch.touch()
		s.chEmit(ch, func(app string) []byte { return s.evDestroyed(ch, app, cause, causeText(cause), now) })
	}
	s.removeChannel(ch)
	s.endCall(ch.call, CallerEvent{Kind: EventHangup, Time: now, By: by, State: causeText(cause)})
	if ch.snoop != nil {
		s.forgetSnoop(ch)
	}
	s.endSnoops(ch, how)
}

func (s *Server) emitQoS(ch *channel, now time.Time) {
	for _, v := range rtpQoSVars {
		s.emitVarset(ch, v[0], v[1], now)
	}
}

// removeChannel forgets a channel; must hold s.mu.
func (s *Server) removeChannel(ch *channel) {
	ch.gone = true
	s.cancelChannelTimers(ch)
	if s.channels[ch.id] == ch {
		delete(s.channels, ch.id)
	}
	s.leaveApp(ch)
}

// leaveApp removes ch from its app's channel list (StasisEnd of an inbound
// channel, or its end).
func (s *Server) leaveApp(ch *channel) {
	if a := s.apps[ch.app]; a != nil && a.chans[ch.id] == ch {
		delete(a.chans, ch.id)
		s.maybeDestroyApp(a)
	}
}

func (s *Server) cancelChannelTimers(ch *channel) {
	s.cancel(ch.dialTimer)
	s.cancel(ch.timeoutTimer)
	s.cancel(ch.lingerTimer)
	s.cancel(ch.hangupTimer)
	ch.dialTimer, ch.timeoutTimer, ch.lingerTimer, ch.hangupTimer = nil, nil, nil, nil
}

// dtmfReceived emits ChannelDtmfReceived and ends a recording whose
// terminateOn matches. Must hold s.mu.
func (s *Server) dtmfReceived(ch *channel, digit byte, durMs int) {
	now := s.clk.Now()
	s.chEmit(ch, func(app string) []byte { return s.evDtmf(ch, app, digit, durMs, now) })
	if r := ch.rec; r != nil && (r.state == "recording" || r.state == "paused") && r.terminatesOn(digit) {
		s.finishRecording(r, now, "done", "")
	}
}

// ---- dialing (originate, /channels/create + /dial) ----

func (s *Server) behavior(ch *channel) EndpointBehavior {
	if ch.ep != nil {
		return ch.ep.b
	}
	return EndpointBehavior{Mode: Answer} // undeclared Local/... answers at once
}

// dialStart runs a dial: Dial "" then, unless the phone is busy or
// unreachable, ChannelStateChange Ringing and Dial RINGING; the answer or
// the timeout follows on the scheduler. Must hold s.mu.
func (s *Server) dialStart(ch *channel) {
	if ch.gone {
		return
	}
	now := s.clk.Now()
	ch.dialing = true
	s.chEmit(ch, func(app string) []byte { return s.evDial(ch, app, "", ch.resource, now) })
	b := s.behavior(ch)
	switch b.Mode {
	case Busy:
		s.failDial(ch, "BUSY", 17, "User busy")
		return
	case Unavailable:
		s.failDial(ch, "CHANUNAVAIL", 20, "Subscriber absent")
		return
	}
	ch.setState("Ringing")
	s.emitChannel(ch, "ChannelStateChange", now)
	s.chEmit(ch, func(app string) []byte { return s.evDial(ch, app, "RINGING", ch.resource, now) })
	s.notify(ch.call, CallerEvent{Kind: EventIncoming, Time: now})
	if b.Mode == Answer {
		ch.dialTimer = s.after(b.AnswerAfter, func() { s.dialAnswer(ch) })
	}
	if ch.dialTimeout > 0 {
		ch.timeoutTimer = s.after(ch.dialTimeout, func() {
			if ch.dialing {
				s.failDial(ch, "NOANSWER", 19, "User alerted, no answer")
			}
		})
	}
}

// failDial ends a dial that did not connect. Must hold s.mu.
func (s *Server) failDial(ch *channel, status string, cause int, txt string) {
	if ch.gone {
		return
	}
	now := s.clk.Now()
	ch.dialing = false
	s.chEmit(ch, func(app string) []byte { return s.evDial(ch, app, status, ch.resource, now) })
	if ch.inStasis {
		ch.inStasis = false
		s.emitChannel(ch, "StasisEnd", now)
	}
	s.chEmit(ch, func(app string) []byte { return s.evDestroyed(ch, app, cause, txt, now) })
	s.removeChannel(ch)
	s.endCall(ch.call, CallerEvent{Kind: EventHangup, Time: now, By: ByNetwork, State: txt})
	s.endSnoops(ch, hangRemote)
}

// dialAnswer: the phone answers. ChannelStateChange Up, Dial ANSWER, then
// ChannelVarset STASISSTATUS="" and StasisStart with the originate's
// appArgs — or, for an originate into an extension, the dialplan runs for
// Options.DialplanDuration and hangs up. Must hold s.mu.
func (s *Server) dialAnswer(ch *channel) {
	if ch.gone || !ch.dialing {
		return
	}
	now := s.clk.Now()
	s.cancel(ch.dialTimer)
	s.cancel(ch.timeoutTimer)
	ch.dialTimer, ch.timeoutTimer = nil, nil
	ch.dialing = false
	ch.answered = true
	ch.setState("Up")
	s.emitChannel(ch, "ChannelStateChange", now)
	s.chEmit(ch, func(app string) []byte { return s.evDial(ch, app, "ANSWER", ch.resource, now) })
	s.notify(ch.call, CallerEvent{Kind: EventAnswered, Time: now})
	b := s.behavior(ch)
	hangupAfter := b.HangupAfter
	if ch.call != nil && ch.call.opts.HangupAfter > 0 {
		hangupAfter = ch.call.opts.HangupAfter
	}
	if hangupAfter > 0 {
		ch.hangupTimer = s.after(hangupAfter, func() { s.hangup(ch, hangRemote, 16, ByCaller) })
	}
	switch {
	case ch.inStasis:
		// created with /channels/create: already in Stasis.
	case ch.app != "":
		s.enterStasis(ch, now)
	default:
		ch.dp = ch.origTarget
		ch.touch()
		if slices.Contains(s.opts.AMDContexts, ch.dp.context) {
			s.runAMD(ch, b.AnsweringMachine)
			return
		}
		ch.lingerTimer = s.after(s.opts.DialplanDuration, func() { s.hangup(ch, hangDialplan, 16, ByDialplan) })
	}
}

// enterStasis runs Stasis(ch.app, ch.args) in ch's dialplan: StasisStart,
// or, when the app has no socket, STASISSTATUS=FAILED and a hangup. Must
// hold s.mu.
func (s *Server) enterStasis(ch *channel, now time.Time) {
	a := s.apps[ch.app]
	if a == nil || a.sock == nil {
		s.log.Info("arisim: channel cannot enter inactive app", "channel", ch.id, "app", ch.app)
		s.emitVarset(ch, "STASISSTATUS", "FAILED", now)
		s.hangup(ch, hangDialplan, 16, ByDialplan)
		return
	}
	appData := ch.app
	if len(ch.args) > 0 {
		appData += "," + strings.Join(ch.args, ",")
	}
	ch.dp.appName, ch.dp.appData = "Stasis", appData
	ch.touch()
	s.emitVarset(ch, "STASISSTATUS", "", now)
	ch.inStasis, ch.subscribed = true, true
	a.chans[ch.id] = ch
	s.emitStasisStart(ch, now)
}

// How long AMD() listens (amd.conf defaults): a person's short hello
// (~0.5 s) and after_greeting_silence (0.8 s); a machine's greeting past
// greeting (1.5 s).
const (
	amdHumanTime   = 1300 * time.Millisecond
	amdMachineTime = 1500 * time.Millisecond
)

// runAMD is an AMD context's dialplan: AMD(), its verdict in AMDSTATUS
// and AMDCAUSE, then Stasis(${IVR_APP},${IVR_ARGS},${AMDSTATUS},${AMDCAUSE}).
// Must hold s.mu.
func (s *Server) runAMD(ch *channel, machine bool) {
	ch.dp.appName, ch.dp.appData = "AMD", ""
	status, cause, d := "HUMAN", "HUMAN-800-800", amdHumanTime
	if machine {
		status, cause, d = "MACHINE", "LONGGREETING-1500-1500", amdMachineTime
	}
	ch.lingerTimer = s.after(d, func() {
		if ch.gone {
			return
		}
		ch.lingerTimer = nil
		now := s.clk.Now()
		if ch.vars == nil {
			ch.vars = map[string]string{}
		}
		ch.vars["AMDSTATUS"], ch.vars["AMDCAUSE"] = status, cause
		ch.dp.priority++
		ch.app = ch.vars["IVR_APP"]
		ch.args = nil
		if a := ch.vars["IVR_ARGS"]; a != "" {
			ch.args = strings.Split(a, ",")
		}
		ch.args = append(ch.args, status, cause)
		ch.dialplanStasis = true
		s.enterStasis(ch, now)
	})
}

func (s *Server) emitStasisStart(ch *channel, now time.Time) {
	s.chEmit(ch, func(app string) []byte { return s.evStasisStart(ch, app, now) })
}

// ---- bridges ----

// bridgeApps lists the apps that get events about br (and ch).
func (s *Server) bridgeApps(br *bridge, ch *channel) []string {
	var l []string
	if ch != nil && ch.subscribed && ch.app != "" {
		l = append(l, ch.app)
	}
	for a, n := range br.subs {
		if n > 0 && (len(l) == 0 || l[0] != a) {
			l = append(l, a)
		}
	}
	return l
}

func (s *Server) peers(br *bridge, except *channel) []string {
	l := make([]string, 0, len(br.chans))
	for _, o := range br.chans {
		if o != except {
			l = append(l, o.id)
		}
	}
	return l
}

// joinBridge puts ch into br: ChannelEnteredBridge, and when two parties
// meet, ChannelConnectedLine on both (the newcomer first). Re-adding a
// channel already in br makes it leave and enter again. Must hold s.mu.
func (s *Server) joinBridge(ch *channel, br *bridge, now time.Time) {
	if ch.bridge != nil {
		s.leaveBridge(ch, now, true)
	}
	br.chans = append(br.chans, ch)
	ch.bridge = br
	if ch.app != "" {
		br.subs[ch.app]++
	}
	for _, app := range s.bridgeApps(br, ch) {
		s.emit(app, s.evBridgeChannel("ChannelEnteredBridge", br, ch, app, now))
	}
	if len(br.chans) == 2 {
		other := br.chans[0]
		if other.caller != ch.connected || ch.caller != other.connected {
			ch.connected, other.connected = other.caller, ch.caller
			ch.touch()
			other.touch()
			s.emitChannel(ch, "ChannelConnectedLine", now)
			s.emitChannel(other, "ChannelConnectedLine", now)
		}
	}
	s.notify(ch.call, CallerEvent{Kind: EventBridged, Time: now, Bridge: br.id, Peers: s.peers(br, ch)})
	for _, o := range br.chans {
		if o != ch {
			s.notify(o.call, CallerEvent{Kind: EventBridgePeers, Time: now, Bridge: br.id, Peers: s.peers(br, o)})
		}
	}
	if br.mohOn {
		s.notify(ch.call, CallerEvent{Kind: EventMOHStarted, Time: now, Class: br.mohClass, Bridge: br.id})
	}
	br.retech()
}

// leaveBridge takes ch out of its bridge: ChannelLeftBridge (with the
// bridge as it is after). explicit (removeChannel) also drops the app's
// subscription to the bridge. Must hold s.mu.
func (s *Server) leaveBridge(ch *channel, now time.Time, explicit bool) {
	br := ch.bridge
	if br == nil {
		return
	}
	for i, o := range br.chans {
		if o == ch {
			br.chans = append(br.chans[:i:i], br.chans[i+1:]...)
			break
		}
	}
	ch.bridge = nil
	apps := s.bridgeApps(br, ch)
	if explicit && ch.app != "" && br.subs[ch.app] > 0 {
		br.subs[ch.app]--
	}
	for _, app := range apps {
		s.emit(app, s.evBridgeChannel("ChannelLeftBridge", br, ch, app, now))
	}
	if br.mohOn {
		s.notify(ch.call, CallerEvent{Kind: EventMOHStopped, Time: now, Class: br.mohClass, Bridge: br.id})
	}
	s.notify(ch.call, CallerEvent{Kind: EventUnbridged, Time: now, Bridge: br.id})
	for _, o := range br.chans {
		s.notify(o.call, CallerEvent{Kind: EventBridgePeers, Time: now, Bridge: br.id, Peers: s.peers(br, o)})
	}
	if len(br.chans) == 0 {
		// The recorders are lonely: alone, they are made to leave.
		s.ejectRecorders(br, now)
	}
	br.retech()
}

// destroyBridge: channels still inside leave, then BridgeDestroyed goes to
// the apps subscribed to it (those that added a channel that was not
// removed again with removeChannel). Must hold s.mu.
func (s *Server) destroyBridge(br *bridge, now time.Time) {
	for len(br.chans) > 0 {
		s.leaveBridge(br.chans[len(br.chans)-1], now, false)
	}
	s.ejectRecorders(br, now)
	s.stopQueue(&br.pbq, now, "done")
	delete(s.bridges, br.id)
	for _, app := range s.bridgeApps(br, nil) {
		s.emit(app, s.evBridge("BridgeDestroyed", br, app, now))
	}
}
