package kamailiotest

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// TestProbingMarksDeadNodeInactive: the shipped config probes its nodes;
// one that answers OPTIONS 200 stays active, a port nobody listens on is
// marked inactive. The Asterisk tests (internal/interop) check that calls
// follow; this one checks the harness and the probing on their own.
func TestProbingMarksDeadNodeInactive(t *testing.T) {
	t.Parallel()
	live := optionsResponder(t)
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

// optionsResponder answers every OPTIONS on a loopback UDP port with 200,
// as a node's SIP stack does; it stops with the test.
func optionsResponder(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			msg := string(buf[:n])
			if !strings.HasPrefix(msg, "OPTIONS ") {
				continue
			}
			var resp bytes.Buffer
			resp.WriteString("SIP/2.0 200 OK\r\n")
			for _, l := range strings.Split(msg, "\r\n") {
				name, _, _ := strings.Cut(strings.ToLower(l), ":")
				switch strings.TrimSpace(name) {
				case "via", "from", "to", "call-id", "cseq":
					resp.WriteString(l + "\r\n")
				}
			}
			resp.WriteString("Content-Length: 0\r\n\r\n")
			_, _ = c.WriteTo(resp.Bytes(), from)
		}
	}()
	return c.LocalAddr().String()
}
