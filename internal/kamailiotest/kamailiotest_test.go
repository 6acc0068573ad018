package kamailiotest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestProbingMarksDeadNodeInactive: the shipped config probes its nodes;
// one that answers OPTIONS 200 stays active, a port nobody listens on is
// marked inactive. The Asterisk tests (internal/interop) check that calls
// follow; this one checks the harness and the probing on their own.
func TestProbingMarksDeadNodeInactive(t *testing.T) {
	t.Parallel()
	live := fakeNode(t, "200 OK").addr
	dead := FreeAddr(t)
	k := Start(t, Options{Nodes: []string{dead, live}, Carrier: []string{"127.0.0.2"}, Phones: "127.0.0.0/29",
		Users: map[string]string{"op201": "s3cret-but-test0nly"}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		ds, err := k.Destinations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		state := map[string]bool{}
		for _, d := range ds {
			state[d.URI] = d.Active()
		}
		if len(ds) == 2 && !state["sip:"+dead] && state["sip:"+live] {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("dispatcher.list never showed %s inactive and %s active: %+v", dead, live, ds)
		case <-time.After(200 * time.Millisecond):
		}
	}
	if cs, err := k.Contacts(ctx, "op201"); err != nil || len(cs) != 0 {
		t.Fatalf("op201 registered before any REGISTER: %q %v", cs, err)
	}
}

// TestFailoverOn5xx: a node that answers an INVITE 503 gets no more calls
// and the call goes on to the next node, whose answer (here 486) reaches
// the carrier. Round robin gives one of two calls to the failing node
// first; probing is off (one an hour), so the failure alone marks it.
func TestFailoverOn5xx(t *testing.T) {
	t.Parallel()
	failing, busy := fakeNode(t, "503 Service Unavailable"), fakeNode(t, "486 Busy Here")
	k := Start(t, Options{Nodes: []string{failing.addr, busy.addr}, Carrier: []string{"127.0.0.2"}, PingInterval: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	carrier, err := net.ListenPacket("udp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	defer carrier.Close()
	for i := range 2 {
		start := time.Now()
		got := invite(ctx, t, carrier, k.Addr, i)
		t.Logf("call %d: %s after %s", i, got, time.Since(start))
		if got != "486" {
			t.Fatalf("call %d: final answer %s, want 486 from the second node", i, got)
		}
	}
	if a, b := failing.invites.Load(), busy.invites.Load(); a != 1 || b != 2 {
		t.Errorf("INVITEs: %d to the failing node, %d to the next; want 1 and 2", a, b)
	}
	ds, err := k.Destinations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.URI == "sip:"+failing.addr && d.Active() {
			t.Errorf("the node that answered 503 is still active: %+v", ds)
		}
	}
}

// invite sends an INVITE from the carrier's socket c to the proxy and
// returns the status code of the final answer (after ACKing it).
func invite(ctx context.Context, t *testing.T, c net.PacketConn, proxy string, n int) string {
	t.Helper()
	to, err := net.ResolveUDPAddr("udp", proxy)
	if err != nil {
		t.Fatal(err)
	}
	local := c.LocalAddr().String()
	branch := fmt.Sprintf("z9hG4bK-test-%d", n)
	head := fmt.Sprintf("Via: SIP/2.0/UDP %s;branch=%s\r\nFrom: <sip:3331234567@%s>;tag=c%d\r\n", local, branch, local, n)
	callID := fmt.Sprintf("Call-ID: failover-%d\r\n", n)
	req := "INVITE sip:800749049@" + proxy + " SIP/2.0\r\n" + head + "To: <sip:800749049@" + proxy + ">\r\n" + callID +
		"CSeq: 1 INVITE\r\nContact: <sip:3331234567@" + local + ">\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	if _, err := c.WriteTo([]byte(req), to); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65535)
	for {
		deadline, _ := ctx.Deadline()
		_ = c.SetReadDeadline(deadline)
		size, _, err := c.ReadFrom(buf)
		if err != nil {
			t.Fatalf("call %d: no final answer: %v", n, err)
		}
		resp := string(buf[:size])
		parts := strings.SplitN(resp, " ", 3)
		if len(parts) < 3 || parts[0] != "SIP/2.0" {
			continue
		}
		code := parts[1]
		if code < "200" {
			continue
		}
		toHdr := ""
		for _, l := range strings.Split(resp, "\r\n") {
			if strings.HasPrefix(strings.ToLower(l), "to:") {
				toHdr = l
			}
		}
		ack := "ACK sip:800749049@" + proxy + " SIP/2.0\r\n" + head + toHdr + "\r\n" + callID + "CSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
		if _, err := c.WriteTo([]byte(ack), to); err != nil {
			t.Fatal(err)
		}
		return code
	}
}

// TestNodeCallsOutOnlyToTheCarrier: a node's own call to an outside number
// goes to the carrier (group 1) and nowhere else: the address of another
// host is refused, whoever asks.
func TestNodeCallsOutOnlyToTheCarrier(t *testing.T) {
	t.Parallel()
	n := fakeNode(t, "200 OK")
	carrier := fakeNodeOn(t, "127.0.0.2", "486 Busy Here")
	k := Start(t, Options{Nodes: []string{n.addr}, Carrier: []string{"127.0.0.2"}, PingInterval: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	call := func(i int, host string) string {
		t.Helper()
		to, _ := net.ResolveUDPAddr("udp", k.Addr)
		local := n.addr
		req := fmt.Sprintf("INVITE sip:00441234567890@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-out-%d\r\n"+
			"Route: <sip:%s;lr>\r\nFrom: <sip:800749049@%s>;tag=n%d\r\nTo: <sip:00441234567890@%s>\r\nCall-ID: out-%d\r\n"+
			"CSeq: 1 INVITE\r\nContact: <sip:800749049@%s>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
			host, local, i, k.Addr, local, i, host, i, local)
		if _, err := n.conn.WriteTo([]byte(req), to); err != nil {
			t.Fatal(err)
		}
		for {
			select {
			case r := <-n.responses:
				if code := strings.SplitN(r, " ", 3)[1]; code >= "200" {
					return code
				}
			case <-ctx.Done():
				t.Fatalf("call %d to %s: no final answer", i, host)
			}
		}
	}
	if code := call(1, "203.0.113.99"); code != "403" {
		t.Errorf("a node's call to another host than the carrier: %s, want 403", code)
	}
	if code := call(2, carrier.addr); code != "486" || carrier.invites.Load() != 1 {
		t.Errorf("a node's call to the carrier: %s and %d INVITEs at the carrier, want the carrier's 486 and 1", code, carrier.invites.Load())
	}
}

// TestInDialogRelayRefused: a request that claims to be within a dialog
// (a to-tag, this proxy as its Route) is relayed only to a node, the
// carrier or a phone's network: from a phone's network towards an outside
// host it is refused, and from a stranger refused before anything else.
func TestInDialogRelayRefused(t *testing.T) {
	t.Parallel()
	n := fakeNode(t, "200 OK")
	k := Start(t, Options{Nodes: []string{n.addr}, Carrier: []string{"127.0.0.2"}, Phones: "127.0.0.0/29", PingInterval: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, from := range []string{"127.0.0.4", "127.0.0.9"} {
		c, err := net.ListenPacket("udp", from+":0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		to, _ := net.ResolveUDPAddr("udp", k.Addr)
		local := c.LocalAddr().String()
		req := fmt.Sprintf("INVITE sip:00441234567890@203.0.113.99 SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-dlg\r\n"+
			"Route: <sip:%s;lr>\r\nFrom: <sip:op201@%s>;tag=a\r\nTo: <sip:00441234567890@203.0.113.99>;tag=b\r\n"+
			"Call-ID: dlg-%s\r\nCSeq: 2 INVITE\r\nContact: <sip:op201@%s>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
			local, k.Addr, local, from, local)
		if _, err := c.WriteTo([]byte(req), to); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 65535)
		deadline, _ := ctx.Deadline()
		_ = c.SetReadDeadline(deadline)
		size, _, err := c.ReadFrom(buf)
		if err != nil {
			t.Fatalf("from %s: no answer: %v", from, err)
		}
		if status := strings.SplitN(string(buf[:size]), "\r\n", 2)[0]; !strings.HasPrefix(status, "SIP/2.0 403 ") {
			t.Errorf("an in-dialog INVITE from %s towards 203.0.113.99: %q, want 403", from, status)
		}
	}
}

func TestSubscribers(t *testing.T) {
	t.Parallel()
	got, err := Subscribers(map[string]string{"op202": "b2", "op201": "a1"})
	if err != nil {
		t.Fatal(err)
	}
	want := "id(int,auto) username(string) domain(string,null) password(string) ha1(string,null) ha1b(string,null)\n1:op201::a1::\n2:op202::b2::\n"
	if got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
	if _, err := Subscribers(map[string]string{"op201": "a:b"}); err == nil {
		t.Fatal("a password with db_text's separator was written")
	}
}

// node is a stand-in for an Asterisk node's SIP stack on a loopback UDP
// port: it answers every OPTIONS 200 and every INVITE with its status, and
// counts the INVITEs; it stops with the test.
type node struct {
	addr      string
	conn      net.PacketConn
	invites   atomic.Int32
	options   atomic.Int32 // probes received
	responses chan string  // the responses it receives, to requests of a test's own
}

func fakeNode(t *testing.T, inviteStatus string) *node {
	t.Helper()
	return fakeNodeOn(t, "127.0.0.1", inviteStatus)
}

func fakeNodeOn(t *testing.T, host, inviteStatus string) *node {
	t.Helper()
	c, err := net.ListenPacket("udp", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	n := &node{addr: c.LocalAddr().String(), conn: c, responses: make(chan string, 16)}
	go func() {
		buf := make([]byte, 65535)
		for {
			size, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			msg := string(buf[:size])
			status := ""
			switch {
			case strings.HasPrefix(msg, "OPTIONS "):
				n.options.Add(1)
				status = "200 OK"
			case strings.HasPrefix(msg, "INVITE "):
				n.invites.Add(1)
				status = inviteStatus
			case strings.HasPrefix(msg, "SIP/2.0 "):
				select {
				case n.responses <- msg:
				default:
				}
				continue
			default: // the ACK of a final answer
				continue
			}
			_, _ = c.WriteTo(response(msg, status), from)
		}
	}()
	return n
}

// response answers request with status, the headers a UAS copies and its
// own to-tag.
func response(request, status string) []byte {
	var b bytes.Buffer
	b.WriteString("SIP/2.0 " + status + "\r\n")
	for _, l := range strings.Split(request, "\r\n") {
		name, _, _ := strings.Cut(strings.ToLower(l), ":")
		switch strings.TrimSpace(name) {
		case "via", "from", "call-id", "cseq":
			b.WriteString(l + "\r\n")
		case "to":
			b.WriteString(l + ";tag=node\r\n")
		}
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.Bytes()
}

// TestDrainNode: an operator drains a node for maintenance with
// `kamcmd dispatcher.set_state d 1 sip:NODE` (disabled: no new calls, not
// probed, so probing does not bring it back); every call goes to the
// other node until `set_state a` puts it back in turn.
func TestDrainNode(t *testing.T) {
	t.Parallel()
	one, two := fakeNode(t, "486 Busy Here"), fakeNode(t, "486 Busy Here")
	k := Start(t, Options{Nodes: []string{one.addr, two.addr}, Carrier: []string{"127.0.0.2"}, PingInterval: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	carrier, err := net.ListenPacket("udp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	defer carrier.Close()
	if out, err := k.RPC(ctx, "dispatcher.set_state", "d", "1", "sip:"+one.addr); err != nil {
		t.Fatalf("drain: %v %s", err, out)
	}
	// Past two probing rounds (of the other node: a disabled one is not
	// probed), the drained node is still out.
	probed := two.options.Load()
	for two.options.Load() < probed+2 {
		select {
		case <-ctx.Done():
			t.Fatal("Kamailio stopped probing")
		case <-time.After(50 * time.Millisecond):
		}
	}
	ds, err := k.Destinations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.URI == "sip:"+one.addr && !strings.HasPrefix(d.Flags, "D") {
			t.Fatalf("the drained node's state %q, want disabled (D…): %+v", d.Flags, ds)
		}
	}
	for i := range 4 {
		if got := invite(ctx, t, carrier, k.Addr, 100+i); got != "486" {
			t.Fatalf("call %d: %s", i, got)
		}
	}
	if a, b := one.invites.Load(), two.invites.Load(); a != 0 || b != 4 {
		t.Fatalf("INVITEs while draining: %d to the drained node, %d to the other; want 0 and 4", a, b)
	}
	if out, err := k.RPC(ctx, "dispatcher.set_state", "a", "1", "sip:"+one.addr); err != nil {
		t.Fatalf("undrain: %v %s", err, out)
	}
	for i := range 2 {
		if got := invite(ctx, t, carrier, k.Addr, 200+i); got != "486" {
			t.Fatalf("call %d after: %s", i, got)
		}
	}
	if a := one.invites.Load(); a != 1 {
		t.Errorf("INVITEs to the node back in turn: %d of 2, want 1 (round robin)", a)
	}
}
