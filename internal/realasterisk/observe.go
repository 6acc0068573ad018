package realasterisk

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/net/websocket"
)

// Observe opens the event WebSocket of a Stasis application of the test's
// own (app, not the help desk's) subscribed to every channel, bridge and
// endpoint of the instance: a test watches what Asterisk does with the
// calls of a program it does not run in-process (the ivrd binary) without
// taking the help desk's application from it.
func (c *Client) Observe(ctx context.Context, app string) (*Events, error) {
	if app == c.a.App {
		return nil, fmt.Errorf("observe: %q is the help desk's application", app)
	}
	q := url.Values{"app": {app}, "api_key": {c.a.User + ":" + c.a.Password}, "subscribeAll": {"true"}}
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
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	ws, err := websocket.NewClient(cfg, conn)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("websocket handshake: %w", err)
	}
	_ = conn.SetDeadline(time.Time{})
	c.Trace.write(traceLine{Dir: "meta", Kind: "ws", Note: "websocket connect " + shown})
	e := &Events{ws: ws, trace: c.Trace, wake: make(chan struct{}, 1)}
	go e.read()
	return e, nil
}

// Restart stops the instance at once (core stop now: every call is cut)
// and starts it again on the same ports and configuration, waiting for
// ARI. Phones keep their addresses.
func (a *Asterisk) Restart(t interface {
	Helper()
	Fatalf(string, ...any)
}) {
	t.Helper()
	a.stop()
	if err := a.relaunch(); err != nil {
		t.Fatalf("realasterisk: restart: %v", err)
	}
	if err := a.waitReady(60 * time.Second); err != nil {
		t.Fatalf("realasterisk: restart: %v", err)
	}
}

// relaunch starts the stopped instance's process again, as Start did,
// its console appended to the same log.
func (a *Asterisk) relaunch() error {
	out, err := os.OpenFile(filepath.Join(a.Dir, "log", "console.log"), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(a.Prefix, "sbin", "asterisk"), "-f", "-n", "-C", a.conf())
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		return err
	}
	done := make(chan struct{})
	a.cmd, a.done = cmd, done
	go func() {
		a.werr = cmd.Wait()
		out.Close()
		close(done)
	}()
	return nil
}
