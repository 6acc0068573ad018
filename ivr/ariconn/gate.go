package ariconn

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/helpdesk-ivr/ivr/ivr/arijson"
	"golang.org/x/net/websocket"
)

// ErrReplaced means another connection (another ivrd with the same
// application name) took over the Stasis application.
var ErrReplaced = errors.New("another connection took over the Stasis application (ApplicationReplaced); give each ivrd its own ARI_APP")

// gate owns the event socket to Asterisk. It decodes every frame into the
// library's own types (arijson.Decode) and hands the events, in order, straight to the
// controller: the library's bus, which silently drops events when a
// subscriber's 100-event buffer is full, is never used. The library's own
// socket ends at the gate and stays idle (its Connect needs one).
type gate struct {
	opts   Options
	m      *metrics
	onUp   func()
	onDown func(error)
	auth   string

	http *http.Client
	ln   net.Listener
	srv  *http.Server
	path string // random, so a stale client can never reach a newer gate on a reused port

	wanted map[string]bool // Options.Events and ApplicationReplaced; nil: all

	mu       sync.Mutex
	down     *websocket.Conn
	upstream *websocket.Conn
	handle   func(ari.Event)
	opened   bool
	closed   bool
}

func newGate(o Options, hc *http.Client, m *metrics, onUp func(), onDown func(error)) (*gate, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("ari: event gate: %w", err)
	}
	token := make([]byte, 16)
	if _, err := rand.Read(token); err != nil {
		ln.Close()
		return nil, err
	}
	g := &gate{opts: o, m: m, onUp: onUp, onDown: onDown, ln: ln, http: hc,
		auth: "Basic " + base64.StdEncoding.EncodeToString([]byte(o.Username+":"+o.Password)),
		path: "/" + hex.EncodeToString(token) + "/events"}
	if len(o.Events) > 0 {
		g.wanted = map[string]bool{"ApplicationReplaced": true}
		for _, t := range o.Events {
			g.wanted[t] = true
		}
	}
	mux := http.NewServeMux()
	mux.Handle(g.path, websocket.Server{Handshake: g.handshake, Handler: g.serveLibrary})
	g.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go g.srv.Serve(ln) //nolint:errcheck // ends with close
	return g, nil
}

func (g *gate) url() string { return "ws://" + g.ln.Addr().String() + g.path }

// handshake admits only the library (same credentials), so no other local
// process can read the help desk's events through the gate.
func (g *gate) handshake(_ *websocket.Config, r *http.Request) error {
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(g.auth)) != 1 {
		return errors.New("unauthorized")
	}
	return nil
}

func (g *gate) serveLibrary(ws *websocket.Conn) {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		ws.Close()
		return
	}
	if g.down != nil {
		g.down.Close()
	}
	g.down = ws
	g.mu.Unlock()
	// The library never writes; reading tells when it goes away.
	var discard []byte
	for websocket.Message.Receive(ws, &discard) == nil {
	}
	g.mu.Lock()
	if g.down == ws {
		g.down = nil
	}
	g.mu.Unlock()
}

// open starts the upstream loop, handing every event to handle: only now
// does Asterisk see the application.
func (g *gate) open(ctx context.Context, handle func(ari.Event)) {
	g.mu.Lock()
	if g.opened || g.closed {
		g.mu.Unlock()
		return
	}
	g.opened = true
	g.handle = handle
	g.mu.Unlock()
	go g.upstreamLoop(ctx)
}

func (g *gate) upstreamLoop(ctx context.Context) {
	backoff := g.opts.MinBackoff
	for ctx.Err() == nil {
		start := time.Now()
		err := g.relayOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		g.onDown(err)
		if errors.Is(err, ErrReplaced) {
			// Redialling would take the application back and the two
			// connections would flap; the new owner drives the calls now.
			return
		}
		if time.Since(start) > 10*g.opts.MinBackoff {
			backoff = g.opts.MinBackoff // it was a healthy connection
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, g.opts.MaxBackoff)
	}
}

func (g *gate) upstreamURL() string {
	u, _ := url.Parse(g.opts.URL) // checked by Options.fill
	scheme := "ws"
	if u.Scheme == "https" {
		scheme = "wss"
	}
	q := url.Values{"app": {g.opts.App}, "subscribeAll": {"false"}}
	return scheme + "://" + u.Host + strings.TrimRight(u.Path, "/") + "/events?" + q.Encode()
}

func (g *gate) relayOnce(ctx context.Context) error {
	cfg, err := websocket.NewConfig(g.upstreamURL(), "http://localhost/")
	if err != nil {
		return err
	}
	cfg.Header.Set("Authorization", g.auth)
	dctx, cancel := context.WithTimeout(ctx, g.opts.DialTimeout+g.opts.RequestTimeout)
	up, err := cfg.DialContext(dctx)
	cancel()
	if err != nil {
		return fmt.Errorf("event socket: %w", err)
	}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		up.Close()
		return errors.New("closed")
	}
	g.upstream = up
	g.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { up.Close() })
	defer stop()
	defer up.Close()
	lctx, endLiveness := context.WithCancel(ctx)
	defer endLiveness()
	go g.watch(lctx, up)
	if g.wanted != nil {
		// Before the controller reconciles: what it asks about must not
		// wait behind a flood of unwanted events. Failing is not fatal:
		// the events are then dropped here, at some cost.
		if err := g.setFilter(ctx); err != nil {
			g.opts.Logger.Warn("ari_event_filter_failed", "error", err.Error())
		}
	}
	g.onUp()
	for {
		var frame []byte
		if err := websocket.Message.Receive(up, &frame); err != nil {
			return fmt.Errorf("event socket closed: %w", err)
		}
		typ := arijson.Type(frame)
		if g.wanted != nil && !g.wanted[typ] {
			g.m.event(typ, false)
			continue
		}
		g.m.event(typ, true)
		ev, err := arijson.Decode(typ, frame)
		if err != nil || ev == nil {
			// v5.3.1's reader would hand a nil event to its bus and crash.
			g.m.undecodable.WithLabelValues(boundedType(frame)).Inc()
			continue
		}
		if st, ok := ev.(*ari.StasisStart); ok && st.Channel.Language == "" {
			st.Channel.Language = channelLanguage(frame)
		}
		if ev.GetType() == "ApplicationReplaced" {
			g.m.replaced.Inc()
			return ErrReplaced
		}
		g.handle(ev)
	}
}

// setFilter asks Asterisk to send the application only the wanted events.
func (g *gate) setFilter(ctx context.Context) error {
	type entry struct {
		Type string `json:"type"`
	}
	var allowed []entry
	for t := range g.wanted {
		allowed = append(allowed, entry{t})
	}
	slices.SortFunc(allowed, func(a, b entry) int { return strings.Compare(a.Type, b.Type) })
	body, err := json.Marshal(map[string]any{"allowed": allowed, "disallowed": []entry{}})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, g.opts.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut,
		g.opts.URL+"/applications/"+url.PathEscape(g.opts.App)+"/eventFilter", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", g.auth)
	req.Header.Set("Content-Type", "application/json")
	resp, err := g.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("event filter: %s %s", resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// watch closes the event socket when Asterisk stops answering pings
// twice in a row, so that the gate reconnects and reports "ARI down".
func (g *gate) watch(ctx context.Context, up *websocket.Conn) {
	t := time.NewTicker(g.opts.PingInterval)
	defer t.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := g.ping(ctx); err != nil {
			if failures++; failures >= 2 {
				up.Close()
				return
			}
			continue
		}
		failures = 0
	}
}

func (g *gate) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, g.opts.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.opts.URL+"/asterisk/ping", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", g.auth)
	resp, err := g.http.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ping: %s", resp.Status)
	}
	return nil
}

func (g *gate) close() {
	g.mu.Lock()
	g.closed = true
	if g.down != nil {
		g.down.Close()
	}
	if g.upstream != nil {
		g.upstream.Close()
	}
	g.mu.Unlock()
	g.srv.Close()
}

// channelLanguage reads the channel's language from a StasisStart frame:
// v5.3.1's ChannelData decoder drops it, and without it the controller
// set the language of every call, one needless request each.
func channelLanguage(frame []byte) string {
	var f struct {
		Channel struct {
			Language string `json:"language"`
		} `json:"channel"`
	}
	_ = json.Unmarshal(frame, &f)
	return f.Channel.Language
}

// boundedType names an undecodable frame's type for a metric label,
// without letting arbitrary strings grow the label set.
func boundedType(frame []byte) string {
	var t struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(frame, &t) != nil || t.Type == "" {
		return "malformed"
	}
	return "unknown_type"
}
