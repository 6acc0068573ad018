package arisim

import "time"

// Restart does to the clients what a restart of Asterisk does: every event
// socket drops at once, every channel and bridge is gone without an event
// reaching any application (the sockets are closed first), callers and
// phones see their calls end, and the startup time in /asterisk/info
// changes, which is how a client can tell a restart from a network cut.
func (s *Server) Restart() {
	s.DropWebSockets(true)
	s.mu.Lock()
	now := s.clk.Now()
	before := s.start
	for _, ch := range s.channels {
		s.hangup(ch, hangRemote, 16, "asterisk restart")
	}
	for _, br := range s.bridges {
		s.destroyBridge(br, now)
	}
	// A test clock may stand still: the new start must still differ.
	s.start = now
	if !now.After(before) {
		s.start = before.Add(time.Second)
	}
	s.unlock()
}
