package ariproxyconn_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari-proxy/v5/client"
	"github.com/CyCoreSystems/ari/v5"

	"github.com/helpdesk-ivr/ivr/internal/bustest"
	"github.com/helpdesk-ivr/ivr/ivr/ariproxyconn"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
)

const node = "02:fc:00:00:00:0a"

// seen records the events one connection handed on.
type seen struct {
	mu     sync.Mutex
	starts map[string]int // StasisStart by channel id
	ends   map[string]int // StasisEnd by channel id
}

func (s *seen) handle(e ari.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch e := e.(type) {
	case *ari.StasisStart:
		s.starts[e.Channel.ID]++
	case *ari.StasisEnd:
		s.ends[e.Channel.ID]++
	}
}

func (s *seen) count(m func(*seen) map[string]int, id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return m(s)[id]
}

func starts(s *seen) map[string]int { return s.starts }
func ends(s *seen) map[string]int   { return s.ends }

func connect(t *testing.T, bus *bustest.NATS) (*ariproxyconn.Conn, *seen) {
	t.Helper()
	s := &seen{starts: map[string]int{}, ends: map[string]int{}}
	conn, err := ariproxyconn.Start(context.Background(), ariproxyconn.Options{URL: bus.URL(), App: "ivr",
		PingInterval: 50 * time.Millisecond, RequestTimeout: 5 * time.Second,
		NewCall: func(st *ari.StasisStart) bool { return len(st.Args) == 0 || st.Args[0] != "operator" }},
		func(ari.Client) func(ari.Event) { return s.handle })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	wait(t, "ready", conn.Ready)
	return conn, s
}

func wait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Each new call's StasisStart goes to one connection of the two; every
// other event (StasisEnd), and the start of a channel a controller made
// (an operator's leg), to both.
func TestNewCallsToOneConnection(t *testing.T) {
	bus := bustest.StartNATS(t)
	n := bustest.StartNode(t, bus, arisim.Options{AsteriskID: node, Routes: map[string]string{"901": "ivr,operator,x"}})
	_, a := connect(t, bus)
	_, b := connect(t, bus)
	ctx := context.Background()
	for range 10 {
		c, err := n.Sim.PlaceCall(ctx, "0612345678", "800749049", arisim.CallOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wait(t, "the call's start", func() bool { return a.count(starts, c.ID())+b.count(starts, c.ID()) > 0 })
		if err := c.Hangup(); err != nil {
			t.Fatal(err)
		}
		wait(t, "its end at both", func() bool { return a.count(ends, c.ID()) == 1 && b.count(ends, c.ID()) == 1 })
		if got := a.count(starts, c.ID()) + b.count(starts, c.ID()); got != 1 {
			t.Errorf("call %s: its StasisStart handed on %d times", c.ID(), got)
		}
	}
	leg, err := n.Sim.PlaceCall(ctx, "0612345678", "901", arisim.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wait(t, "the leg's start at both", func() bool { return a.count(starts, leg.ID()) == 1 && b.count(starts, leg.ID()) == 1 })
	_ = leg.Hangup()
}

// Requests through the client reach the node named in the key: the
// request timeout client.WithNATS leaves at zero is set (at zero every
// request fails at once).
func TestRequestsReachTheNode(t *testing.T) {
	bus := bustest.StartNATS(t)
	bustest.StartNode(t, bus, arisim.Options{AsteriskID: node})
	conn, _ := connect(t, bus)
	info, err := conn.Client().Asterisk().Info(ari.NodeKey("ivr", node))
	if err != nil {
		t.Fatal(err)
	}
	if info.SystemInfo.EntityID != node {
		t.Errorf("entity id %q, want %q", info.SystemInfo.EntityID, node)
	}
	if got := conn.Nodes(); len(got) != 1 || got[0] != node {
		t.Errorf("nodes %v", got)
	}
}

// Why ariproxyconn takes new calls from a queue of its own: ari-proxy
// v5.3.1's client.Listen, meant to give each call to one listener, hands
// it to every one over NATS. Should an upgrade fix it, this test says so.
func TestLibraryListenGivesEveryCallToAll(t *testing.T) {
	bus := bustest.StartNATS(t)
	n := bustest.StartNode(t, bus, arisim.Options{AsteriskID: node})
	var mu sync.Mutex
	got := map[int]int{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range 2 {
		cl, err := client.New(ctx, client.WithURI(bus.URL()), client.WithApplication("ivr"))
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			_ = client.Listen(ctx, cl, func(*ari.ChannelHandle, *ari.StasisStart) {
				mu.Lock()
				got[i]++
				mu.Unlock()
			})
		}()
	}
	// Listen subscribes on its goroutine: calls are placed until both
	// listeners hear one, or one hears three alone.
	deadline := time.Now().Add(15 * time.Second)
	for placed := 0; ; placed++ {
		mu.Lock()
		both, alone := got[0] > 0 && got[1] > 0, got[0] >= 3 && got[1] == 0 || got[1] >= 3 && got[0] == 0
		mu.Unlock()
		if both {
			return
		}
		if alone || time.Now().After(deadline) {
			t.Fatalf("client.Listen gave the calls to one listener (%v): the library's queue works now; ariproxyconn may use it", got)
		}
		if placed < 10 {
			c, err := n.Sim.PlaceCall(context.Background(), "0612345678", "800749049", arisim.CallOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Hangup() //nolint:errcheck
		}
		time.Sleep(20 * time.Millisecond)
	}
}
