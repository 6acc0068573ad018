// Package bustest runs ARI over a message bus for tests: a real NATS
// server embedded on a free loopback port, and simulated Asterisk nodes
// (arisim), each behind a real ari-proxy server in process, as
// production runs cycoresystems/ari-proxy beside each Asterisk.
package bustest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari-proxy/v5/server"
	"github.com/CyCoreSystems/ari/v5/client/native"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/helpdesk-ivr/ivr/ivr/ariconn"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
)

// NATS is an embedded NATS server that can be stopped and started again
// on the same port.
type NATS struct {
	t    testing.TB
	port int
	mu   sync.Mutex
	srv  *natsserver.Server
}

// StartNATS starts a NATS server on a free loopback port; it stops at the
// end of the test.
func StartNATS(t testing.TB) *NATS {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	n := &NATS{t: t, port: port}
	n.Start()
	t.Cleanup(n.Stop)
	return n
}

// URL is the server's nats:// address.
func (n *NATS) URL() string { return "nats://127.0.0.1:" + strconv.Itoa(n.port) }

// Start (re)starts the server on its port.
func (n *NATS) Start() {
	n.t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.srv != nil {
		return
	}
	srv, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: n.port, NoLog: true, NoSigs: true})
	if err != nil {
		n.t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		n.t.Fatal("bustest: NATS did not start")
	}
	n.srv = srv
}

// Stop shuts the server down; clients see their connection drop.
func (n *NATS) Stop() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.srv != nil {
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
		n.srv = nil
	}
}

// Node is a simulated Asterisk behind its own ari-proxy server.
type Node struct {
	Sim *arisim.Server
	// ID is the Asterisk entity id, the node in ari-proxy's subjects and
	// in every key of its resources.
	ID string

	bus                 *NATS
	app, user, password string
	ariURL, eventsURL   string
	cancel              context.CancelFunc
	done                chan error
	ari                 *native.Client
	nc                  *nats.Conn
	once                sync.Once
}

// StartNode starts a simulator with opts (AsteriskID required: each
// Asterisk needs its own entity id, or ari-proxy mixes the nodes up) and
// an ari-proxy server for it on bus; both stop at the end of the test.
func StartNode(t testing.TB, bus *NATS, opts arisim.Options) *Node {
	t.Helper()
	if opts.AsteriskID == "" {
		t.Fatal("bustest: every node needs its own AsteriskID (entity id)")
	}
	opts.Username, opts.Password = "ivr", "bus"
	sim := arisim.New(opts)
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	n := &Node{Sim: sim, ID: opts.AsteriskID, bus: bus, app: opts.App, user: opts.Username, password: opts.Password,
		ariURL: sim.URL(), eventsURL: sim.EventsURL()}
	if n.app == "" {
		n.app = "ivr"
	}
	n.startProxy(t)
	t.Cleanup(n.Stop)
	return n
}

// ProxyAsterisk starts an ari-proxy server on bus for a real Asterisk's
// ARI (http://host:port/ari) and application; it stops at the end of the
// test. The node's ID is the Asterisk's entity id.
func ProxyAsterisk(t testing.TB, bus *NATS, ariURL, app, user, password string) *Node {
	t.Helper()
	ws := "ws" + strings.TrimPrefix(ariURL, "http") + "/events"
	n := &Node{bus: bus, app: app, user: user, password: password, ariURL: ariURL, eventsURL: ws}
	n.startProxy(t)
	t.Cleanup(n.Stop)
	return n
}

// startProxy starts the node's ari-proxy server: its own ARI client (the
// library's native one, as the ari-proxy binary uses) and NATS connection.
func (n *Node) startProxy(t testing.TB) {
	t.Helper()
	cl, err := native.Connect(&native.Options{Application: n.app, URL: n.ariURL, WebsocketURL: n.eventsURL,
		Username: n.user, Password: n.password})
	if err != nil {
		t.Fatal(err)
	}
	n.ari = cl.(*native.Client)
	n.nc, err = nats.Connect(n.bus.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond),
		nats.RetryOnFailedConnect(true))
	if err != nil {
		t.Fatal(err)
	}
	//lint:ignore SA1019 ari-proxy v5.3.1 takes nothing else
	ec, err := nats.NewEncodedConn(n.nc, nats.JSON_ENCODER)
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New()
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel, n.done = cancel, make(chan error, 1)
	go func() { n.done <- srv.ListenOn(ctx, n.ari, ec) }()
	select {
	case <-srv.Ready():
	case err := <-n.done:
		t.Fatalf("bustest: ari-proxy for %s: %v", n.ID, err)
	case <-time.After(10 * time.Second):
		t.Fatalf("bustest: ari-proxy for %s not ready", n.ID)
	}
	switch {
	case n.Sim == nil:
		n.ID = srv.AsteriskID // a real Asterisk's
	case srv.AsteriskID != n.ID:
		t.Fatalf("bustest: ari-proxy took entity id %q from /asterisk/info, want %q", srv.AsteriskID, n.ID)
	}
}

func (n *Node) stopProxy() {
	n.cancel()
	<-n.done
	n.nc.Close()
	_ = ariconn.StopNative(n.ari)
}

// RestartProxy stops the node's ari-proxy server and starts another, as
// a restart of its container would: the simulated Asterisk and its calls
// stay.
func (n *Node) RestartProxy(t testing.TB) {
	t.Helper()
	n.stopProxy()
	n.startProxy(t)
}

// Stop stops the node's ari-proxy server and its simulator (again: no-op).
func (n *Node) Stop() {
	n.once.Do(func() {
		n.stopProxy()
		if n.Sim != nil {
			n.Sim.Close()
		}
	})
}

// String names the node in test messages.
func (n *Node) String() string { return fmt.Sprintf("node %s", n.ID) }
