package arisim

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/clock"
	"golang.org/x/net/websocket"
)

var testStart = time.Date(2026, 11, 22, 4, 16, 30, 0, time.UTC)

// newSim starts a simulator on loopback with a clock running speed times
// faster than real time.
func newSim(t testing.TB, speed float64, opts Options) (*Server, *clock.Scaled) {
	t.Helper()
	clk := clock.NewScaled(testStart, speed)
	opts.Clock = clk
	s := New(opts)
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, clk
}

// wsClient is a raw event socket, like the lab's recording client.
type wsClient struct {
	t    testing.TB
	conn net.Conn
	ws   *websocket.Conn
	ch   chan []byte
	done chan struct{}
	err  error
}

func dialEvents(t testing.TB, s *Server, app string) *wsClient {
	t.Helper()
	u := s.EventsURL() + "?app=" + url.QueryEscape(app) + "&api_key=ivr:ivr&subscribeAll=false"
	cfg, err := websocket.NewConfig(u, "http://localhost/")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	ws, err := websocket.NewClient(cfg, conn)
	if err != nil {
		t.Fatalf("websocket handshake: %v", err)
	}
	c := &wsClient{t: t, conn: conn, ws: ws, ch: make(chan []byte, 4096), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			var msg []byte
			if err := websocket.Message.Receive(ws, &msg); err != nil {
				c.err = err
				return
			}
			c.ch <- msg
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return c
}

// next returns the next event, failing after timeout (wall time).
func (c *wsClient) next(timeout time.Duration) map[string]any {
	c.t.Helper()
	select {
	case b := <-c.ch:
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			c.t.Fatalf("bad event %s: %v", b, err)
		}
		return m
	case <-time.After(timeout):
		c.t.Fatalf("no event within %v", timeout)
	}
	return nil
}

// expect skips events until one of type typ arrives.
func (c *wsClient) expect(typ string) map[string]any {
	c.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			c.t.Fatalf("no %s event", typ)
		}
		ev := c.next(left)
		if ev["type"] == typ {
			return ev
		}
	}
}

// none fails if an event arrives within d.
func (c *wsClient) none(d time.Duration) {
	c.t.Helper()
	select {
	case b := <-c.ch:
		c.t.Fatalf("unexpected event %s", b)
	case <-time.After(d):
	}
}

func (c *wsClient) close() {
	c.ws.Close()
	<-c.done
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("bad body %q: %v", r.body, err)
	}
	return m
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

// do sends a REST request with basic auth; path is relative to /ari.
func do(t testing.TB, s *Server, method, path string, body any) resp {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("ivr", "ivr")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, b}
}

// collector gathers a Call's CallerEvents through OnEvent.
type collector struct {
	mu  sync.Mutex
	evs []CallerEvent
	sig chan struct{}
}

func newCollector() *collector { return &collector{sig: make(chan struct{}, 1)} }

func (c *collector) add(ev CallerEvent) {
	c.mu.Lock()
	c.evs = append(c.evs, ev)
	c.mu.Unlock()
	select {
	case c.sig <- struct{}{}:
	default:
	}
}

func (c *collector) kinds() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var l []string
	for _, e := range c.evs {
		l = append(l, string(e.Kind))
	}
	return strings.Join(l, " ")
}

// waitKinds waits until the kinds collected are want (events reach a
// caller on its own delivery goroutine, after the REST answer), failing
// with what was heard after 5 s.
func (c *collector) waitKinds(t testing.TB, who, want string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		got := c.kinds()
		if got == want {
			return
		}
		select {
		case <-c.sig:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Errorf("%s heard %s, want %s", who, got, want)
			return
		}
	}
}

// waitFor waits until an event of kind k was collected and returns it.
func (c *collector) waitFor(t testing.TB, k CallerEventKind) CallerEvent {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		c.mu.Lock()
		for _, e := range c.evs {
			if e.Kind == k {
				c.mu.Unlock()
				return e
			}
		}
		c.mu.Unlock()
		select {
		case <-c.sig:
		case <-deadline:
			t.Fatalf("no caller event %s; got %s", k, c.kinds())
		}
	}
}

func httpNewRequest(method, u string) (*http.Request, error) { return http.NewRequest(method, u, nil) }
