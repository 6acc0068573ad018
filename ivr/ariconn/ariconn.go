// Package ariconn connects the call controller to Asterisk through
// github.com/CyCoreSystems/ari/v5 v5.3.1 and shields it from that
// version's weak spots:
//
//   - native.Connect blocks forever when Asterisk is unreachable. Start
//     returns at once; a background loop probes Asterisk with backoff and
//     connects only once it answers, and Ready/Wait report the state.
//   - its WebSocket reader crashes the process on an event type it cannot
//     decode (it hands a nil event to the bus), and its bus drops events
//     silently when a subscriber falls 100 events behind. The real event
//     socket is therefore held by a gate, which decodes frames with the
//     library's decoder, skips the undecodable ones and hands the events
//     in order to the controller; the library's socket ends idle at the
//     gate on loopback.
//   - it reconnects silently and Asterisk replays nothing. The gate owns
//     the upstream connection, redials it with backoff and calls OnConnect
//     after every (re)connection so the controller can reconcile its calls.
//   - events that arrive before a subscription exists are lost. The gate
//     registers the Stasis application with Asterisk (by opening the
//     upstream socket) only once the controller's handler is in place.
//   - its HTTP client is Go's default: 2 idle connections per host and no
//     timeout. Start installs a client that keeps enough connections alive
//     and gives every request a deadline.
package ariconn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/CyCoreSystems/ari/v5/client/native"
	"github.com/prometheus/client_golang/prometheus"
)

// Options configures the connection. URL, Username, Password and App are
// required.
type Options struct {
	// URL is ARI's base URL, e.g. http://127.0.0.1:8088/ari.
	URL      string
	Username string
	Password string
	App      string

	// RequestTimeout bounds every REST request (default 5s).
	RequestTimeout time.Duration
	// MaxConns is the number of HTTP connections kept to Asterisk
	// (default 64; keep it under http.conf's sessionlimit, default 100).
	MaxConns int
	// DialTimeout bounds a TCP connection attempt (default 3s).
	DialTimeout time.Duration
	// PingInterval is how often Asterisk must answer a ping while the
	// event socket is up (default 10s): a host that vanishes without
	// closing TCP would otherwise leave the socket silent, and the
	// controller believing it up, for minutes. Two misses reconnect.
	PingInterval time.Duration
	// MinBackoff and MaxBackoff bound the reconnection delay (1s, 30s).
	MinBackoff, MaxBackoff time.Duration

	// Events are the event types the handler uses. Others are dropped
	// before decoding and, through the application's event filter
	// (Asterisk 13.26/16.3 and later), never sent: on a real Asterisk
	// most of a call's events (ChannelVarset, ChannelStateChange,
	// bridge, dialplan, playback-started events) interest nobody, and
	// decoding them was a fifth of ivrd's CPU under load. Empty: all.
	// ApplicationReplaced is always let through.
	Events []string

	Logger     *slog.Logger
	Registerer prometheus.Registerer

	// OnConnect runs (on its own goroutine) after every connection of the
	// event socket, the first one included; OnReplaced when another
	// connection takes the application over. Given here, they cannot miss
	// the first connection.
	OnConnect  func()
	OnReplaced func()
}

func (o *Options) fill() error {
	if o.URL == "" || o.App == "" || o.Username == "" || o.Password == "" {
		return errors.New("ari: url, app, username and password are required")
	}
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("ari: url %q must look like http://asterisk:8088/ari", o.URL)
	}
	o.URL = strings.TrimRight(o.URL, "/")
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 5 * time.Second
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 64
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 3 * time.Second
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 10 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	return nil
}

// Conn is a managed connection to Asterisk.
type Conn struct {
	opts    Options
	client  *native.Client
	http    *http.Client
	gate    *gate
	metrics *metrics
	log     *slog.Logger

	ready     chan struct{} // closed once the library is connected
	readyOnce sync.Once
	up        atomic.Bool // the upstream event socket is connected
	// libConnected is set once the library's Connect has returned.
	libConnected atomic.Bool
	lastErr      atomic.Value

	mu         sync.Mutex
	onConnect  []func()
	onReplaced []func()
	cancel     context.CancelFunc
	done       chan struct{}
}

// Start begins connecting and returns at once. attach is called once, as
// soon as the library is connected and before Asterisk can send any call
// to the application; it returns the handler that receives every event,
// in order, from then on (it must not block for long: it is the one
// reader of the socket).
func Start(ctx context.Context, opts Options, attach func(ari.Client) func(ari.Event)) (*Conn, error) {
	if err := opts.fill(); err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	c := &Conn{opts: opts, metrics: m, log: opts.Logger, ready: make(chan struct{}), cancel: cancel, done: make(chan struct{})}
	c.lastErr.Store("connecting")
	if opts.OnConnect != nil {
		c.onConnect = append(c.onConnect, opts.OnConnect)
	}
	if opts.OnReplaced != nil {
		c.onReplaced = append(c.onReplaced, opts.OnReplaced)
	}
	c.http = newHTTPClient(opts, m)
	c.gate, err = newGate(opts, c.http, m, c.upstreamUp, c.upstreamDown)
	if err != nil {
		cancel()
		return nil, err
	}
	c.client = native.New(&native.Options{
		Application:  opts.App,
		URL:          opts.URL,
		WebsocketURL: c.gate.url(),
		Username:     opts.Username,
		Password:     opts.Password,
	})
	if err := setHTTPClient(c.client, c.http); err != nil {
		cancel()
		c.gate.close()
		return nil, err
	}
	go c.run(ctx, attach)
	return c, nil
}

// Client is the ari/v5 client. Use it only after Wait succeeded.
func (c *Conn) Client() ari.Client { return c.client }

// HTTPClient is the tuned client used for REST requests, for the few
// requests the library does not offer (e.g. fetching a recording's file).
func (c *Conn) HTTPClient() *http.Client { return c.http }

// Options returns the options in force.
func (c *Conn) Options() Options { return c.opts }

// OnConnect registers f to run after every connection of the event socket
// to Asterisk, the first one included. f runs on its own goroutine.
func (c *Conn) OnConnect(f func()) {
	c.mu.Lock()
	c.onConnect = append(c.onConnect, f)
	c.mu.Unlock()
}

// OnReplaced registers f to run when another connection takes over the
// application: this one stops, and the calls belong to the new owner.
func (c *Conn) OnReplaced(f func()) {
	c.mu.Lock()
	c.onReplaced = append(c.onReplaced, f)
	c.mu.Unlock()
}

// Wait blocks until the controller is connected or ctx ends.
func (c *Conn) Wait(ctx context.Context) error {
	select {
	case <-c.ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("ARI at %s not reachable: %s: %w", c.opts.URL, c.Status(), ctx.Err())
	}
}

// Ready reports whether events flow from Asterisk now.
func (c *Conn) Ready() bool { return c.up.Load() }

// Status says in a few words why the connection is not ready, or "up".
func (c *Conn) Status() string {
	if c.Ready() {
		return "up"
	}
	return "ARI down: " + c.lastErr.Load().(string)
}

// Close stops reconnecting and closes the event socket. The library's own
// Close is racy at v5.3.1 (it closes the bus under a running reader and
// writes an unguarded flag); only its context is cancelled, which ends its
// reconnection loop cleanly.
func (c *Conn) Close() {
	c.cancel()
	c.gate.close()
	<-c.done
	if !c.libConnected.Load() {
		return // Connect never returned: its fields may still be written
	}
	if err := cancelLibrary(c.client); err != nil {
		c.log.Warn("ari_library_not_stopped", "error", err.Error())
	}
}

func (c *Conn) run(ctx context.Context, attach func(ari.Client) func(ari.Event)) {
	defer close(c.done)
	// Probe until Asterisk answers: native.Connect would block forever.
	backoff := c.opts.MinBackoff
	for {
		err := c.probe(ctx)
		if err == nil {
			break
		}
		c.lastErr.Store(err.Error())
		c.log.Warn("ari_unreachable", "url", c.opts.URL, "error", err.Error(), "retry_in", backoff.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, c.opts.MaxBackoff)
	}
	// Asterisk answers: the library's socket goes to the gate on loopback,
	// which accepts at once, so Connect returns promptly.
	connected := make(chan error, 1)
	go func() { connected <- c.client.Connect() }()
	select {
	case err := <-connected:
		if err != nil {
			c.lastErr.Store(err.Error())
			c.log.Error("ari_connect_failed", "error", err.Error())
			return
		}
		c.libConnected.Store(true)
	case <-ctx.Done():
		return
	}
	handle := attach(c.client)
	// Only now may Asterisk register the application and send calls.
	c.gate.open(ctx, handle)
	<-ctx.Done()
}

func (c *Conn) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.opts.URL+"/asterisk/info", nil)
	if err != nil {
		return err
	}
	req.SetBasicAuth(c.opts.Username, c.opts.Password)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return errors.New("ARI refused the username or password (401)")
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("GET /asterisk/info: %s", resp.Status)
	}
	return nil
}

func (c *Conn) upstreamUp() {
	c.up.Store(true)
	c.readyOnce.Do(func() { close(c.ready) })
	c.metrics.connected.Set(1)
	c.log.Info("ari_connected", "url", c.opts.URL, "app", c.opts.App)
	c.mu.Lock()
	fs := append([]func(){}, c.onConnect...)
	c.mu.Unlock()
	for _, f := range fs {
		go f()
	}
}

func (c *Conn) upstreamDown(err error) {
	if c.up.Swap(false) {
		c.metrics.reconnects.Inc()
	}
	c.metrics.connected.Set(0)
	c.lastErr.Store(err.Error())
	c.log.Warn("ari_events_lost", "error", err.Error())
	if errors.Is(err, ErrReplaced) {
		c.log.Error("ari_application_replaced", "app", c.opts.App)
		c.mu.Lock()
		fs := append([]func(){}, c.onReplaced...)
		c.mu.Unlock()
		for _, f := range fs {
			f()
		}
	}
}

// newHTTPClient keeps up to MaxConns connections to Asterisk open (the
// library's default transport keeps 2, so under load nearly every request
// opened a new TCP connection) and bounds every request, its body read
// included, by RequestTimeout.
func newHTTPClient(o Options, m *metrics) *http.Client {
	dialer := &net.Dialer{Timeout: o.DialTimeout, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		DialContext:           dialer.DialContext,
		MaxIdleConns:          o.MaxConns,
		MaxIdleConnsPerHost:   o.MaxConns,
		MaxConnsPerHost:       o.MaxConns,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: o.RequestTimeout,
		ForceAttemptHTTP2:     false,
	}
	// The bound is the request's context deadline, set by instrumented,
	// not http.Client.Timeout: with a RoundTripper net/http does not know,
	// that one costs a goroutine and a timer per request (its legacy
	// Request.Cancel path).
	return &http.Client{Transport: &instrumented{next: t, m: m, timeout: o.RequestTimeout}}
}

// cancelLibrary calls the native client's unexported context cancel
// function, set by Connect. A nil one (never connected) is fine.
func cancelLibrary(c *native.Client) error {
	f := reflect.ValueOf(c).Elem().FieldByName("cancel")
	if !f.IsValid() || f.Type() != reflect.TypeOf(context.CancelFunc(nil)) {
		return errors.New("ari: the native client has no cancel field of type context.CancelFunc")
	}
	cancel := reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Interface().(context.CancelFunc)
	if cancel != nil {
		cancel()
	}
	return nil
}

// setHTTPClient replaces the unexported http.Client of the native client:
// v5.3.1 offers no option for it. The field is checked by name and type so
// a library upgrade that changes it fails loudly at start, not silently.
func setHTTPClient(c *native.Client, hc *http.Client) error {
	f := reflect.ValueOf(c).Elem().FieldByName("httpClient")
	if !f.IsValid() || f.Type() != reflect.TypeOf(http.Client{}) {
		return errors.New("ari: the native client has no httpClient field of type http.Client; ariconn must be updated for this ari/v5 version")
	}
	reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Set(reflect.ValueOf(hc).Elem())
	return nil
}

// StopNative ends a native client's background reconnection without its
// racy Close (see Conn.Close): for other owners of a native client, such
// as an in-process ari-proxy server.
func StopNative(c *native.Client) error { return cancelLibrary(c) }
