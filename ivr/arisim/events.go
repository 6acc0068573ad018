package arisim

import (
	"strconv"
	"time"

	"github.com/helpdesk-ivr/ivr/ivr/arijson"
)

// Event builders. Each returns one compact JSON text frame with the keys in
// the order a real Asterisk 20 sends them (see the traces): most events
// start with type and timestamp and end with asterisk_id and application;
// ChannelVarset starts with variable and value; a ChannelHangupRequest with
// a cause starts with cause and soft; ApplicationReplaced ends with
// application then asterisk_id.

func evHead(b []byte, typ string, now time.Time) []byte {
	b = append(b, `{"type":"`...)
	b = append(b, typ...)
	b = append(b, `","timestamp":`...)
	return appendTime(b, now)
}

func (s *Server) evTail(b []byte, app string) []byte {
	b = append(b, `,"asterisk_id":`...)
	b = appendStr(b, s.opts.AsteriskID)
	b = append(b, `,"application":`...)
	b = appendStr(b, app)
	return append(b, '}')
}

func newEvBuf() []byte { return make([]byte, 0, 640) }

// chBuf sizes an event buffer for a channel snapshot plus extra bytes.
func chBuf(ch *channel, extra int) []byte { return make([]byte, 0, len(ch.json())+extra) }

// evChannel builds {type,timestamp,channel} events (ChannelStateChange,
// StasisEnd, ChannelHangupRequest without cause, ChannelConnectedLine...).
func (s *Server) evChannel(typ string, ch *channel, app string, now time.Time) []byte {
	b := evHead(chBuf(ch, 160), typ, now)
	b = append(b, `,"channel":`...)
	b = append(b, ch.json()...)
	return s.evTail(b, app)
}

func (s *Server) evStasisStart(ch *channel, app string, now time.Time) []byte {
	b := evHead(chBuf(ch, 200), "StasisStart", now)
	b = append(b, `,"args":`...)
	b = appendStrList(b, ch.args)
	b = append(b, `,"channel":`...)
	b = append(b, ch.json()...)
	return s.evTail(b, app)
}

func (s *Server) evVarset(ch *channel, app, variable, value string, now time.Time) []byte {
	b := append(chBuf(ch, 200+len(variable)+len(value)), `{"variable":`...)
	b = appendStr(b, variable)
	b = append(b, `,"value":`...)
	b = appendStr(b, value)
	b = append(b, `,"type":"ChannelVarset","timestamp":`...)
	b = appendTime(b, now)
	b = append(b, `,"channel":`...)
	b = append(b, ch.json()...)
	return s.evTail(b, app)
}

func (s *Server) evHangupRequest(ch *channel, app string, cause int, now time.Time) []byte {
	b := chBuf(ch, 200)
	if cause == 0 {
		b = evHead(b, "ChannelHangupRequest", now)
	} else {
		b = append(b, `{"cause":`...)
		b = strconv.AppendInt(b, int64(cause), 10)
		b = append(b, `,"soft":true,"type":"ChannelHangupRequest","timestamp":`...)
		b = appendTime(b, now)
	}
	b = append(b, `,"channel":`...)
	b = append(b, ch.json()...)
	return s.evTail(b, app)
}

func (s *Server) evDtmf(ch *channel, app string, digit byte, durMs int, now time.Time) []byte {
	b := evHead(chBuf(ch, 200), "ChannelDtmfReceived", now)
	b = append(b, `,"digit":"`...)
	b = append(b, digit)
	b = append(b, `","duration_ms":`...)
	b = strconv.AppendInt(b, int64(durMs), 10)
	b = append(b, `,"channel":`...)
	b = append(b, ch.json()...)
	return s.evTail(b, app)
}

func (s *Server) evDestroyed(ch *channel, app string, cause int, causeTxt string, now time.Time) []byte {
	b := evHead(chBuf(ch, 220), "ChannelDestroyed", now)
	b = append(b, `,"cause":`...)
	b = strconv.AppendInt(b, int64(cause), 10)
	b = append(b, `,"cause_txt":`...)
	b = appendStr(b, causeTxt)
	b = append(b, `,"channel":`...)
	b = append(b, ch.json()...)
	return s.evTail(b, app)
}

func (s *Server) evDial(peer *channel, app, status, dialstring string, now time.Time) []byte {
	b := evHead(chBuf(peer, 240), "Dial", now)
	b = append(b, `,"dialstatus":`...)
	b = appendStr(b, status)
	b = append(b, `,"forward":"","dialstring":`...)
	b = appendStr(b, dialstring)
	b = append(b, `,"peer":`...)
	b = append(b, peer.json()...)
	return s.evTail(b, app)
}

func (s *Server) evPlayback(typ string, pb *playback, state, app string, now time.Time) []byte {
	b := evHead(make([]byte, 0, 320), typ, now)
	b = append(b, `,"playback":`...)
	b = append(b, pb.json(state)...)
	return s.evTail(b, app)
}

func (s *Server) evRecording(typ string, r *liveRec, app string, now time.Time) []byte {
	b := evHead(make([]byte, 0, 320), typ, now)
	b = append(b, `,"recording":`...)
	b = append(b, r.json()...)
	return s.evTail(b, app)
}

func (s *Server) evBridgeChannel(typ string, br *bridge, ch *channel, app string, now time.Time) []byte {
	b := evHead(make([]byte, 0, 900), typ, now)
	b = append(b, `,"bridge":`...)
	b = append(b, br.json()...)
	b = append(b, `,"channel":`...)
	b = append(b, ch.json()...)
	return s.evTail(b, app)
}

func (s *Server) evBridge(typ string, br *bridge, app string, now time.Time) []byte {
	b := evHead(make([]byte, 0, 400), typ, now)
	b = append(b, `,"bridge":`...)
	b = append(b, br.json()...)
	return s.evTail(b, app)
}

func (s *Server) evAppReplaced(app string, now time.Time) []byte {
	b := evHead(make([]byte, 0, 160), "ApplicationReplaced", now)
	b = append(b, `,"application":`...)
	b = appendStr(b, app)
	b = append(b, `,"asterisk_id":`...)
	b = appendStr(b, s.opts.AsteriskID)
	return append(b, '}')
}

// emit hands one event to the socket of app. While the app has no socket
// the event is dropped, as Asterisk does ("Inactive Stasis app missed
// message"): nothing is queued for a later reconnect. Must hold s.mu.
func (s *Server) emit(app string, ev []byte) {
	a := s.apps[app]
	if a == nil || a.sock == nil {
		s.eventsDropped.Add(1)
		return
	}
	if (a.allowedSet != nil || a.disallowedSet != nil) && !a.allows(arijson.Type(ev)) {
		return // filtered by the application, as Asterisk's websocket does
	}
	s.sendTo(a.sock, ev)
}

// sendTo queues ev on one socket. Must hold s.mu.
func (s *Server) sendTo(ws *wsConn, ev []byte) {
	if !ws.enqueue(ev) {
		s.eventsDropped.Add(1)
		return
	}
	s.eventsSent.Add(1)
	if !ws.touched {
		ws.touched = true
		s.touched = append(s.touched, ws)
	}
}

// chEmit sends an event about ch to the app that follows ch, if any.
func (s *Server) chEmit(ch *channel, build func(app string) []byte) {
	if !ch.subscribed || ch.app == "" {
		return
	}
	s.emit(ch.app, build(ch.app))
}

func (s *Server) emitChannel(ch *channel, typ string, now time.Time) {
	s.chEmit(ch, func(app string) []byte { return s.evChannel(typ, ch, app, now) })
}

func (s *Server) emitVarset(ch *channel, variable, value string, now time.Time) {
	s.chEmit(ch, func(app string) []byte { return s.evVarset(ch, app, variable, value, now) })
}

// rtpQoSVars are the five variables chan_sip/chan_pjsip set on an RTP
// channel when it hangs up (values as in the traces; the counters are not
// meaningful in a simulation).
var rtpQoSVars = [5][2]string{
	{"RTPAUDIOQOS", "ssrc=619071832;themssrc=235223118;lp=0;rxjitter=0.000000;rxcount=0;txjitter=0.000000;txcount=0;rlp=0;rtt=0.000000;rxmes=0.000000;txmes=0.000000"},
	{"RTPAUDIOQOSJITTER", "minrxjitter=000.000000;maxrxjitter=000.000000;avgrxjitter=000.000000;stdevrxjitter=000.000000;mintxjitter=000.000000;maxtxjitter=000.000000;avgtxjitter=000.000000;stdevtxjitter=000.000000;"},
	{"RTPAUDIOQOSLOSS", "  minrxlost=000.000000;  maxrxlost=000.000000;  avgrxlost=000.000000;  stdevrxlost=000.000000;  mintxlost=000.000000;  maxtxlost=000.000000;  avgtxlost=000.000000;  stdevtxlost=000.000000;"},
	{"RTPAUDIOQOSRTT", "     minrtt=000.000000;     maxrtt=000.000000;     avgrtt=000.000000;     stdevrtt=000.000000;"},
	{"RTPAUDIOQOSMES", "   minrxmes=000.000000;   maxrxmes=000.000000;   avgrxmes=000.000000;   stdevrxmes=000.000000;   mintxmes=000.000000;   maxtxmes=000.000000;   avgtxmes=000.000000;   stdevtxmes=000.000000;"},
}
