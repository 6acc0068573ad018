// Package bustest runs ARI over a message bus for tests (package busnode
// with the test's failures and cleanups): a real NATS server embedded on
// a free loopback port, and simulated Asterisk nodes (arisim), each
// behind a real ari-proxy server in process, as production runs
// cycoresystems/ari-proxy beside each Asterisk.
package bustest

import (
	"testing"

	"github.com/helpdesk-ivr/ivr/internal/busnode"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
)

// NATS is an embedded NATS server that can be stopped and started again
// on the same port.
type NATS struct {
	*busnode.NATS
	t testing.TB
}

// StartNATS starts a NATS server on a free loopback port; it stops at the
// end of the test.
func StartNATS(t testing.TB) *NATS {
	t.Helper()
	n, err := busnode.StartNATS()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Stop)
	return &NATS{NATS: n, t: t}
}

// Start (re)starts the server on its port.
func (n *NATS) Start() {
	n.t.Helper()
	if err := n.NATS.Start(); err != nil {
		n.t.Fatal(err)
	}
}

// Node is a simulated Asterisk behind its own ari-proxy server.
type Node struct {
	*busnode.Node
}

// StartNode starts a simulator with opts (AsteriskID required: each
// Asterisk needs its own entity id, or ari-proxy mixes the nodes up) and
// an ari-proxy server for it on bus; both stop at the end of the test.
func StartNode(t testing.TB, bus *NATS, opts arisim.Options) *Node {
	t.Helper()
	n, err := busnode.StartNode(bus.NATS, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Stop)
	return &Node{n}
}

// ProxyAsterisk starts an ari-proxy server on bus for a real Asterisk's
// ARI (http://host:port/ari) and application; it stops at the end of the
// test. The node's ID is the Asterisk's entity id.
func ProxyAsterisk(t testing.TB, bus *NATS, ariURL, app, user, password string) *Node {
	t.Helper()
	n, err := busnode.ProxyAsterisk(bus.NATS, ariURL, app, user, password)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Stop)
	return &Node{n}
}

// RestartProxy stops the node's ari-proxy server and starts another, as
// a restart of its container would: the simulated Asterisk and its calls
// stay.
func (n *Node) RestartProxy(t testing.TB) {
	t.Helper()
	if err := n.Node.RestartProxy(); err != nil {
		t.Fatal(err)
	}
}
