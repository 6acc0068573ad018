package arisim

import (
	"sort"
	"strconv"
	"strings"
)

// shutdownCause is what ChannelHangupRequest carries when Asterisk stops:
// ast_softhangup's flag AST_SOFTHANGUP_SHUTDOWN (1<<2), with soft:true;
// not a Q.850 cause (that would be 16, Normal Clearing, which follows on
// the channel but never reaches the application).
const shutdownCause = 4

// Shutdown stops Asterisk under its calls, as "core stop now" does (an
// Asterisk restart, recorded in testdata/ari-traces/shutdown): every
// channel in an application first gets ChannelHangupRequest {cause:4,
// soft:true}; then, channel by channel, what a hangup emits up to
// StasisEnd (PlaybackFinished "failed", ChannelLeftBridge, StasisEnd); no
// ChannelDestroyed nor BridgeDestroyed: the event WebSockets close first.
// Every call ends (a hangup by "server") and every bridge is gone. The
// server goes on: clients may reconnect, to a fresh Asterisk
// (RefuseWebSockets keeps them out while it "restarts").
func (s *Server) Shutdown() {
	s.mu.Lock()
	now := s.clk.Now()
	chans := make([]*channel, 0, len(s.channels))
	for _, ch := range s.channels {
		chans = append(chans, ch)
	}
	// The order of the recording: Asterisk requests the hangups newest
	// channel first (its walk of the channel container), then each
	// channel's thread hangs up, here oldest first. Nothing documents
	// either order: a client must not depend on it.
	sort.Slice(chans, func(i, j int) bool { return olderChannel(chans[i], chans[j]) })
	for i := len(chans) - 1; i >= 0; i-- {
		if ch := chans[i]; !ch.gone && !ch.dialing {
			s.chEmit(ch, func(app string) []byte { return s.evHangupRequest(ch, app, shutdownCause, now) })
		}
	}
	for _, ch := range chans {
		s.hangup(ch, hangShutdown, 16, "server")
	}
	socks := make([]*wsConn, 0, len(s.sockets))
	for c := range s.sockets {
		socks = append(socks, c)
	}
	for _, c := range socks {
		s.detachSocket(c)
	}
	// With the sockets gone, what the bridges' end emits reaches nobody.
	for id, br := range s.bridges {
		s.stopQueue(&br.pbq, now, "failed")
		delete(s.bridges, id)
	}
	s.unlock()
	for _, c := range socks {
		c.closeGraceful() // after the events queued above
	}
}

// olderChannel orders channels by creation, then by the sequence number
// that ends their id ("1795320990.12"): two made at one clock instant.
func olderChannel(a, b *channel) bool {
	if !a.created.Equal(b.created) {
		return a.created.Before(b.created)
	}
	seq := func(id string) int {
		n, _ := strconv.Atoi(id[strings.LastIndexByte(id, '.')+1:])
		return n
	}
	return seq(a.id) < seq(b.id)
}
