// Package busnode runs ARI over a message bus in process: a real NATS
// server embedded on a free loopback port, and simulated Asterisk nodes
// (arisim), each behind a real ari-proxy server, as production runs
// cycoresystems/ari-proxy beside each Asterisk. Tests use it through
// bustest; `ivrctl load -transport nats` directly.
package busnode

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
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
	port int
	mu   sync.Mutex
	srv  *natsserver.Server
}

// StartNATS starts a NATS server on a free loopback port.
func StartNATS() (*NATS, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	n := &NATS{port: port}
	if err := n.Start(); err != nil {
		return nil, err
	}
	return n, nil
}

// URL is the server's nats:// address.
func (n *NATS) URL() string { return "nats://127.0.0.1:" + strconv.Itoa(n.port) }

// Start (re)starts the server on its port.
func (n *NATS) Start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.srv != nil {
		return nil
	}
	srv, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: n.port, NoLog: true, NoSigs: true})
	if err != nil {
		return err
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return errors.New("busnode: NATS did not start")
	}
	n.srv = srv
	return nil
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
// an ari-proxy server for it on bus; Stop stops both.
func StartNode(bus *NATS, opts arisim.Options) (*Node, error) {
	if opts.AsteriskID == "" {
		return nil, errors.New("busnode: every node needs its own AsteriskID (entity id)")
	}
	opts.Username, opts.Password = "ivr", "bus"
	sim := arisim.New(opts)
	if err := sim.Start("127.0.0.1:0"); err != nil {
		return nil, err
	}
	n := &Node{Sim: sim, ID: opts.AsteriskID, bus: bus, app: opts.App, user: opts.Username, password: opts.Password,
		ariURL: sim.URL(), eventsURL: sim.EventsURL()}
	if n.app == "" {
		n.app = "ivr"
	}
	if err := n.startProxy(); err != nil {
		sim.Close()
		return nil, err
	}
	return n, nil
}

// ProxyAsterisk starts an ari-proxy server on bus for a real Asterisk's
// ARI (http://host:port/ari) and application. The node's ID is the
// Asterisk's entity id.
func ProxyAsterisk(bus *NATS, ariURL, app, user, password string) (*Node, error) {
	ws := "ws" + strings.TrimPrefix(ariURL, "http") + "/events"
	n := &Node{bus: bus, app: app, user: user, password: password, ariURL: ariURL, eventsURL: ws}
	if err := n.startProxy(); err != nil {
		return nil, err
	}
	return n, nil
}

// startProxy starts the node's ari-proxy server: its own ARI client (the
// library's native one, as the ari-proxy binary uses) and NATS connection.
func (n *Node) startProxy() error {
	cl, err := native.Connect(&native.Options{Application: n.app, URL: n.ariURL, WebsocketURL: n.eventsURL,
		Username: n.user, Password: n.password})
	if err != nil {
		return err
	}
	n.ari = cl.(*native.Client)
	n.nc, err = nats.Connect(n.bus.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond),
		nats.RetryOnFailedConnect(true))
	if err != nil {
		_ = ariconn.StopNative(n.ari)
		return err
	}
	//lint:ignore SA1019 ari-proxy v5.3.1 takes nothing else
	ec, err := nats.NewEncodedConn(n.nc, nats.JSON_ENCODER)
	if err != nil {
		n.nc.Close()
		_ = ariconn.StopNative(n.ari)
		return err
	}
	srv := server.New()
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel, n.done = cancel, make(chan error, 1)
	go func() { n.done <- srv.ListenOn(ctx, n.ari, ec) }()
	select {
	case <-srv.Ready():
	case err = <-n.done:
		n.done <- err // for stopProxy
		err = fmt.Errorf("busnode: ari-proxy for %s: %v", n.ID, err)
	case <-time.After(10 * time.Second):
		err = fmt.Errorf("busnode: ari-proxy for %s not ready", n.ID)
	}
	switch {
	case err != nil:
	case n.Sim == nil:
		n.ID = srv.AsteriskID // a real Asterisk's
	case srv.AsteriskID != n.ID:
		err = fmt.Errorf("busnode: ari-proxy took entity id %q from /asterisk/info, want %q", srv.AsteriskID, n.ID)
	}
	if err != nil {
		n.stopProxy()
	}
	return err
}

// stopProxy stops the ari-proxy server if it runs.
func (n *Node) stopProxy() {
	if n.cancel == nil {
		return
	}
	n.cancel()
	n.cancel = nil
	<-n.done
	n.nc.Close()
	_ = ariconn.StopNative(n.ari)
}

// RestartProxy stops the node's ari-proxy server and starts another, as
// a restart of its container would: the simulated Asterisk and its calls
// stay.
func (n *Node) RestartProxy() error {
	n.stopProxy()
	return n.startProxy()
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

// String names the node in messages.
func (n *Node) String() string { return fmt.Sprintf("node %s", n.ID) }
