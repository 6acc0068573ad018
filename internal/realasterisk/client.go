package realasterisk

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/websocket"
)

// Client talks ARI to an instance with plain net/http and a WebSocket, so
// that what goes over the wire is exactly what the test wrote (no library
// re-encodes a body). With a Trace, every request, response and event is
// written to it.
type Client struct {
	a     *Asterisk
	http  *http.Client
	Trace *Trace // nil: nothing is written
}

// NewClient returns a client for a's ARI user.
func (a *Asterisk) NewClient(trace *Trace) *Client {
	return &Client{a: a, http: &http.Client{Timeout: 10 * time.Second}, Trace: trace}
}

// Response is an ARI reply.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r *Response) JSON(v any) error { return json.Unmarshal(r.Body, v) }

// Do sends one request. path is below /ari (e.g. "/channels/ID/answer");
// body, when not nil, is sent verbatim as application/json.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, body []byte) (*Response, error) {
	u := c.a.ARIURL() + path
	q := query.Encode()
	if q != "" {
		u += "?" + q
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(c.a.User, c.a.Password)
	reqLine := traceLine{Dir: "out", Kind: "request", Method: method, Path: "/ari" + path, Query: q}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		reqLine.Headers = map[string]string{"Content-Type": "application/json"}
		reqLine.Body = json.RawMessage(body)
	}
	reqSeq := c.Trace.write(reqLine)
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.Trace.Note(fmt.Sprintf("request %d failed: %v", reqSeq, err))
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	elapsed := time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	n := len(b)
	l := traceLine{
		Dir: "in", Kind: "response", Method: method, Path: "/ari" + path, Query: q,
		RequestSeq: reqSeq, Status: resp.StatusCode, StatusText: resp.Status,
		Headers: flatten(resp.Header), BodyLen: &n,
		ElapsedMS: float64(elapsed.Microseconds()) / 1000,
	}
	if n > 0 {
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && json.Valid(b) {
			l.Body = json.RawMessage(b)
		} else {
			l.BodyText = string(b)
		}
	}
	c.Trace.write(l)
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

func flatten(h http.Header) map[string]string {
	m := make(map[string]string, len(h))
	for k, v := range h {
		m[k] = strings.Join(v, ", ")
	}
	return m
}

// Event is one WebSocket message from Asterisk.
type Event struct {
	Type string
	Raw  json.RawMessage // the frame as received
}

// Decode decodes the event into v.
func (e Event) Decode(v any) error { return json.Unmarshal(e.Raw, v) }

// Events is the application's event WebSocket.
type Events struct {
	ws    *websocket.Conn
	trace *Trace

	mu     sync.Mutex
	queue  []Event
	wake   chan struct{} // signalled when queue grows or the socket ends
	ended  bool
	endErr error
}

// Connect opens the event WebSocket of the instance's Stasis application
// (subscribeAll=false, as ivrd connects).
func (c *Client) Connect(ctx context.Context) (*Events, error) {
	return c.connect(ctx, c.a.App, false)
}

func (c *Client) connect(ctx context.Context, app string, all bool) (*Events, error) {
	q := url.Values{"app": {app}, "api_key": {c.a.User + ":" + c.a.Password}, "subscribeAll": {strconv.FormatBool(all)}}
	wsURL := "ws://" + c.a.HTTPAddr + "/ari/events?" + q.Encode()
	shown := strings.Replace(wsURL, url.QueryEscape(c.a.User+":"+c.a.Password), c.a.User+":***", 1)
	cfg, err := websocket.NewConfig(wsURL, "http://"+c.a.HTTPAddr)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.a.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("websocket dial: %w", err)
	}
	// x/net/websocket hides the handshake's response: keep its bytes.
	tee := &handshakeConn{Conn: conn}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	ws, err := websocket.NewClient(cfg, tee)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("websocket handshake: %w", err)
	}
	_ = conn.SetDeadline(time.Time{})
	l := traceLine{Dir: "meta", Kind: "ws", Note: "websocket connect " + shown}
	if resp, err := tee.response(); err == nil {
		l.Status, l.StatusText, l.Headers = resp.StatusCode, resp.Status, flatten(resp.Header)
	}
	c.Trace.write(l)
	e := &Events{ws: ws, trace: c.Trace, wake: make(chan struct{}, 1)}
	go e.read()
	return e, nil
}

func (e *Events) read() {
	for {
		var frame []byte
		if err := websocket.Message.Receive(e.ws, &frame); err != nil {
			e.trace.write(traceLine{Dir: "meta", Kind: "ws", Note: "websocket read ended: " + err.Error()})
			e.mu.Lock()
			e.ended, e.endErr = true, err
			e.mu.Unlock()
			e.signal()
			return
		}
		var head struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(frame, &head)
		e.trace.write(traceLine{Dir: "in", Kind: "event", Event: json.RawMessage(frame)})
		e.mu.Lock()
		e.queue = append(e.queue, Event{Type: head.Type, Raw: frame})
		e.mu.Unlock()
		e.signal()
	}
}

func (e *Events) signal() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Next returns the next event, waiting for it until ctx ends.
func (e *Events) Next(ctx context.Context) (Event, error) {
	for {
		e.mu.Lock()
		if len(e.queue) > 0 {
			ev := e.queue[0]
			e.queue = e.queue[1:]
			e.mu.Unlock()
			return ev, nil
		}
		ended, err := e.ended, e.endErr
		e.mu.Unlock()
		if ended {
			return Event{}, fmt.Errorf("event websocket ended: %w", err)
		}
		select {
		case <-e.wake:
		case <-ctx.Done():
			return Event{}, fmt.Errorf("waiting for an event: %w", ctx.Err())
		}
	}
}

// WaitFor returns the first event of one of the types, dropping the others
// before it.
func (e *Events) WaitFor(ctx context.Context, types ...string) (Event, error) {
	for {
		ev, err := e.Next(ctx)
		if err != nil {
			return Event{}, fmt.Errorf("waiting for %v: %w", types, err)
		}
		for _, t := range types {
			if ev.Type == t {
				return ev, nil
			}
		}
	}
}

// Close sends a close frame (1000) and waits for the reader to end.
func (e *Events) Close() error {
	e.trace.Note("client closes websocket (close frame 1000)")
	err := e.ws.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		e.mu.Lock()
		ended := e.ended
		e.mu.Unlock()
		if ended {
			return err
		}
		select {
		case <-e.wake:
		case <-ctx.Done():
			return errors.Join(err, errors.New("event websocket did not end after close"))
		}
	}
}

// handshakeConn records what is read until the end of the HTTP response
// header of the WebSocket handshake.
type handshakeConn struct {
	net.Conn
	mu   sync.Mutex
	head []byte
	done bool
}

func (c *handshakeConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	if !c.done {
		c.head = append(c.head, p[:n]...)
		if i := bytes.Index(c.head, []byte("\r\n\r\n")); i >= 0 {
			c.head, c.done = c.head[:i+4], true
		}
	}
	c.mu.Unlock()
	return n, err
}

func (c *handshakeConn) response() (*http.Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return http.ReadResponse(bufio.NewReader(bytes.NewReader(c.head)), nil)
}
