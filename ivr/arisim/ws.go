package arisim

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/net/websocket"
)

// wsConn is one /ari/events WebSocket. Events are queued by the code that
// produces them (under Server.mu, never blocking) and written by one writer
// goroutine per socket, in order, as compact JSON text frames.
type wsConn struct {
	s   *Server
	ws  *websocket.Conn
	raw net.Conn
	bw  *batchWriter

	// guarded by Server.mu
	apps    []string // apps this socket currently receives events for
	touched bool     // listed in Server.touched

	mu       sync.Mutex
	queue    [][]byte
	spare    [][]byte
	enq      uint64 // frames queued so far
	written  uint64 // frames written so far
	flushed  chan struct{}
	closing  bool // write what is queued, then send a close frame
	dead     bool // write nothing more
	notify   chan struct{}
	finished chan struct{} // closed when the writer goroutine has returned
}

// enqueue appends a frame; false if the socket no longer takes events.
func (c *wsConn) enqueue(ev []byte) bool {
	c.mu.Lock()
	if c.closing || c.dead {
		c.mu.Unlock()
		return false
	}
	if len(c.queue) >= c.s.opts.MaxQueuedEvents {
		// The client does not read: Asterisk would hit its websocket
		// write timeout and drop the session. Do the same.
		c.dead = true
		c.s.log.Warn("arisim: websocket queue full, dropping the connection", "limit", c.s.opts.MaxQueuedEvents)
		if c.raw != nil {
			c.raw.Close()
		}
		c.mu.Unlock()
		c.wake()
		return false
	}
	c.queue = append(c.queue, ev)
	c.enq++
	c.mu.Unlock()
	c.wake()
	return true
}

func (c *wsConn) wake() {
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

func (c *wsConn) enqueued() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.enq
}

// waitWritten waits until the writer has written frame number seq, the
// socket died, or timeout (wall time) passed.
func (c *wsConn) waitWritten(seq uint64, timeout time.Duration) {
	var t *time.Timer
	for {
		c.mu.Lock()
		if c.written >= seq || c.dead {
			c.mu.Unlock()
			break
		}
		ch := c.flushed
		c.mu.Unlock()
		if t == nil {
			t = time.NewTimer(timeout)
		}
		select {
		case <-ch:
		case <-t.C:
			return
		}
	}
	if t != nil {
		t.Stop()
	}
}

// closeGraceful writes what is queued, then a close frame (status 1000).
func (c *wsConn) closeGraceful() {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	c.wake()
}

// abort drops the TCP connection without a close frame.
func (c *wsConn) abort() {
	c.mu.Lock()
	c.dead = true
	raw := c.raw
	c.mu.Unlock()
	if raw != nil {
		raw.Close()
	}
	c.wake()
}

func (c *wsConn) writer() {
	defer close(c.finished)
	for range c.notify {
		c.mu.Lock()
		batch := c.queue
		c.queue = c.spare
		c.spare = nil
		closing, dead := c.closing, c.dead
		c.mu.Unlock()
		if dead {
			c.releaseWaiters()
			return
		}
		if len(batch) > 0 {
			c.raw.SetWriteDeadline(time.Now().Add(c.s.opts.WriteTimeout))
			var err error
			c.bw.begin()
			for i, f := range batch {
				if err == nil {
					_, err = c.ws.Write(f)
				}
				batch[i] = nil
			}
			if err2 := c.bw.end(); err == nil {
				err = err2
			}
			c.mu.Lock()
			c.written += uint64(len(batch))
			c.spare = batch[:0]
			close(c.flushed)
			c.flushed = make(chan struct{})
			if err != nil {
				c.dead = true
			}
			more := len(c.queue) > 0
			c.mu.Unlock()
			if err != nil {
				c.s.log.Info("arisim: websocket write failed, closing", "err", err)
				c.raw.Close()
				c.releaseWaiters()
				return
			}
			if more {
				c.wake()
				continue
			}
		}
		if closing {
			c.mu.Lock()
			empty := len(c.queue) == 0
			c.mu.Unlock()
			if !empty {
				c.wake()
				continue
			}
			c.raw.SetWriteDeadline(time.Now().Add(c.s.opts.WriteTimeout))
			c.ws.Close() // close frame 1000, then the TCP connection
			c.mu.Lock()
			c.dead = true
			c.mu.Unlock()
			c.releaseWaiters()
			return
		}
	}
}

func (c *wsConn) releaseWaiters() {
	c.mu.Lock()
	close(c.flushed)
	c.flushed = make(chan struct{})
	c.mu.Unlock()
}

// hijackCapture remembers the net.Conn that x/net/websocket hijacks, so that
// the simulator can drop a socket without a close frame and set write
// deadlines.
type hijackCapture struct {
	http.ResponseWriter
	conn net.Conn
	bw   *batchWriter
}

func (h *hijackCapture) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return c, rw, err
	}
	h.conn = c
	h.bw = &batchWriter{conn: c}
	return c, bufio.NewReadWriter(rw.Reader, bufio.NewWriterSize(h.bw, 4096)), nil
}

// batchWriter sits under x/net/websocket's buffered writer: while the
// event writer is batching, the frames it writes (and a pong the reader
// might write meanwhile) accumulate and go out in one write system call.
type batchWriter struct {
	mu       sync.Mutex
	conn     net.Conn
	batching bool
	buf      []byte
}

func (w *batchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.batching {
		w.buf = append(w.buf, p...)
		return len(p), nil
	}
	return w.conn.Write(p)
}

func (w *batchWriter) begin() {
	w.mu.Lock()
	w.batching = true
	w.mu.Unlock()
}

func (w *batchWriter) end() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.batching = false
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.conn.Write(w.buf)
	if cap(w.buf) > 1<<20 {
		w.buf = nil
	} else {
		w.buf = w.buf[:0]
	}
	return err
}

func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request, apps []string) {
	hc := &hijackCapture{ResponseWriter: w}
	c := &wsConn{
		s:        s,
		flushed:  make(chan struct{}),
		notify:   make(chan struct{}, 1),
		finished: make(chan struct{}),
	}
	registered, ran := false, false
	srv := websocket.Server{
		// Asterisk checks allowed_origins only for browsers that send one
		// it does not know; accept every origin. The apps are registered
		// here, before the 101 goes out, so that a call placed as soon as
		// the client is connected reaches it.
		Handshake: func(*websocket.Config, *http.Request) error {
			if !s.register(c, apps) {
				return errors.New("arisim: server closed")
			}
			registered = true
			return nil
		},
		Handler: func(ws *websocket.Conn) {
			ran = true
			c.mu.Lock()
			c.ws, c.raw, c.bw = ws, hc.conn, hc.bw
			dead := c.dead
			c.mu.Unlock()
			if dead {
				hc.conn.Close()
			}
			s.runSocket(c)
		},
	}
	srv.ServeHTTP(hc, r)
	if registered && !ran {
		s.mu.Lock()
		s.detachSocket(c)
		s.unlock()
		s.wsWG.Done()
	}
}

// register makes c the socket of apps (creating them); the previous socket
// of each app gets ApplicationReplaced and nothing more. Events queue until
// the writer starts.
func (s *Server) register(c *wsConn, apps []string) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	s.wsWG.Add(1)
	s.sockets[c] = struct{}{}
	s.wsAccepted.Add(1)
	now := s.clk.Now()
	for _, name := range apps {
		a := s.apps[name]
		if a == nil {
			a = &app{name: name, chans: map[string]*channel{}}
			s.apps[name] = a
			s.log.Debug("arisim: creating Stasis app", "app", name)
		}
		if old := a.sock; old != nil {
			// The old socket is told, then hears nothing more for this app.
			s.sendTo(old, s.evAppReplaced(name, now))
			old.apps = removeString(old.apps, name)
			s.log.Debug("arisim: Stasis app replaced", "app", name)
		}
		a.sock = c
		c.apps = append(c.apps, name)
	}
	s.unlock()
	return true
}

func (s *Server) runSocket(c *wsConn) {
	defer s.wsWG.Done()
	c.ws.PayloadType = websocket.TextFrame
	go c.writer()
	c.wake()
	for {
		var data []byte
		if err := websocket.Message.Receive(c.ws, &data); err != nil {
			break
		}
	}
	s.mu.Lock()
	s.detachSocket(c)
	s.unlock()
	c.closeGraceful()
	<-c.finished
}

// detachSocket stops routing events to c and deactivates its apps. Must
// hold s.mu.
func (s *Server) detachSocket(c *wsConn) {
	for _, name := range c.apps {
		if a := s.apps[name]; a != nil && a.sock == c {
			a.sock = nil
			s.log.Debug("arisim: deactivating Stasis app", "app", name)
			s.maybeDestroyApp(a)
		}
	}
	c.apps = nil
	delete(s.sockets, c)
}

func removeString(l []string, s string) []string {
	for i, v := range l {
		if v == s {
			return append(l[:i:i], l[i+1:]...)
		}
	}
	return l
}
