package interop

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/kamailiotest"
	"github.com/helpdesk-ivr/ivr/internal/realasterisk"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// Loopback addresses of the parties around Kamailio (all of 127.0.0.0/8 is
// loopback on Linux): the carrier, an operator phone inside the operators'
// network (127.0.0.0/29), and a stranger outside it.
const (
	carrierIP  = "127.0.0.2"
	phoneIP    = "127.0.0.4"
	strangerIP = "127.0.0.9"
)

// TestIvrdBehindKamailio runs the shipped Kamailio (configs/kamailio) in
// front of a real Asterisk configured as a node behind it
// (configs/asterisk-kamailio) and the ivrd binary, on one Asterisk start:
// an operator phone registers at Kamailio (not with a wrong password) and
// takes a call that came in through Kamailio and was dispatched to the
// node; a dead node in the dispatcher's list is found by probing and gets
// no call, and a call it would have got fails over to the live node; and
// nobody relays through Kamailio to an outside number.
func TestIvrdBehindKamailio(t *testing.T) {
	t.Parallel()
	realasterisk.SkipIfOptedOut(t)
	kamAddr := kamailiotest.FreeAddr(t)
	d := StartDesk(t, DeskOptions{Clock: mondayClock, Available: []string{"op201"},
		Overlay: "configs/asterisk-kamailio", Set: behindKamailio(t, kamAddr)})
	password, err := d.A.Secret("pjsip.conf", "[op201](operator-auth)", "password")
	if err != nil {
		t.Fatal(err)
	}
	dead := kamailiotest.FreeAddr(t)
	k := kamailiotest.Start(t, kamailiotest.Options{Addr: kamAddr, Nodes: []string{dead, d.A.SIPAddr},
		Carrier: []string{carrierIP}, Phones: "127.0.0.0/29", Users: map[string]string{"op201": password}})

	t.Run("probing", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// The dead node answers no OPTIONS: inactive; the node answers.
		waitFor(ctx, t, "the dead node inactive and the live one active in dispatcher.list", func() ([]kamailiotest.Destination, bool) {
			ds, err := k.Destinations(ctx)
			if err != nil {
				t.Fatal(err)
			}
			active := map[string]bool{}
			for _, x := range ds {
				active[x.URI] = x.Active()
			}
			return ds, len(ds) == 2 && !active["sip:"+dead] && active["sip:"+d.A.SIPAddr]
		})
	})

	t.Run("operator registered at Kamailio answers a dispatched call", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		phonePort := realasterisk.FreeUDPOn(t, phoneIP)
		_, p, _ := strings.Cut(phonePort, ":")
		port, err := strconv.Atoi(p)
		if err != nil {
			t.Fatal(err)
		}
		register := func(pw string) int {
			t.Helper()
			return finalStatus(ctx, t, d.A.Request(t, realasterisk.RequestOptions{Method: "REGISTER", From: "op201",
				Username: "op201", Password: pw, SourceIP: phoneIP, Port: port, Target: kamAddr}))
		}
		// Asterisk asks Kamailio whether op201 is there: no answer while it
		// is not registered (any answer would mean "reachable").
		qualify(ctx, t, d, kamAddr, "Unavail")
		if code := register(password + "x"); code != 401 && code != 403 {
			t.Fatalf("REGISTER op201 at Kamailio with a wrong password: %d, want 401 or 403", code)
		}
		if cs, err := k.Contacts(ctx, "op201"); err != nil || len(cs) != 0 {
			t.Fatalf("a refused REGISTER left a contact: %q %v", cs, err)
		}
		if code := register(password); code != 200 {
			t.Fatalf("REGISTER op201 at Kamailio with its password: %d, want 200", code)
		}
		if cs, err := k.Contacts(ctx, "op201"); err != nil || len(cs) != 1 || !strings.Contains(cs[0], phonePort) {
			t.Fatalf("op201's contacts at Kamailio: %q %v, want one at %s", cs, err, phonePort)
		}
		qualify(ctx, t, d, kamAddr, "Avail")

		phone := d.A.PhoneAt(t, phonePort, realasterisk.PhoneOptions{AnswerAfter: time.Second, Timeout: 3 * time.Minute})
		const caller = "3331290001"
		sip := d.Caller(t, realasterisk.CallOptions{Caller: caller, Keys: keyed("12", keyGap, keyGap),
			Target: kamAddr, SourceIP: carrierIP, Timeout: 3 * time.Minute})
		call := d.CallOf(ctx, t, caller)
		d.Obs.BridgedWith(ctx, t, call.ChannelID, "PJSIP/op201-")
		d.WaitCallEvent(ctx, t, call, tickets.EventAnswered)
		d.HangUp(ctx, t, call.ChannelID)
		rec, _ := d.WaitEnded(ctx, t, call)
		for _, s := range []*realasterisk.SIPCall{sip, phone} {
			if err := s.Wait(ctx); err != nil {
				t.Error(err)
			}
		}
		if rec.Outcome != tickets.OutcomeAnswered || rec.Group != "lotto2" || rec.Operator != "op201" {
			t.Errorf("record: outcome %q, group %q, operator %q; want answered, lotto2, op201", rec.Outcome, rec.Group, rec.Operator)
		}
		if tk := d.Ticket(ctx, t, rec); tk.Group != "lotto2" || tk.Caller != "+39"+caller {
			t.Errorf("ticket %s: group %q, caller %q", tk.Number, tk.Group, tk.Caller)
		}
		// Kamailio stayed on the path (Record-Route): the phone's answer
		// and the caller's requests went through it.
		for _, s := range []*realasterisk.SIPCall{sip, phone} {
			if b, err := os.ReadFile(filepath.Join(s.Dir, "messages.log")); err != nil || !strings.Contains(string(b), "Record-Route: <sip:"+kamAddr) {
				t.Errorf("no Record-Route of Kamailio in %s: %v", s.Dir, err)
			}
		}
	})

	t.Run("failover to the next node", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// A second Kamailio that has not probed yet (one probe an hour):
		// both nodes are active, round robin gives one of two calls to the
		// dead node first, which times out, and the call goes on to the
		// live node.
		k2 := kamailiotest.Start(t, kamailiotest.Options{Nodes: []string{dead, d.A.SIPAddr}, Carrier: []string{carrierIP},
			Phones: "127.0.0.0/29", Users: map[string]string{"op201": password}, PingInterval: time.Hour})
		for _, caller := range []string{"3331290011", "3331290012"} {
			c := d.A.Request(t, realasterisk.RequestOptions{Method: "INVITE", From: caller, Number: d.A.Number,
				SourceIP: carrierIP, Target: k2.Addr, HangUpAfter: 2 * time.Second, Timeout: time.Minute})
			if code := finalStatus(ctx, t, c); code != 200 {
				t.Errorf("call %s through the second Kamailio: %d, want 200 (answered by the live node)", caller, code)
			}
			d.Obs.WaitChannel(ctx, t, caller)
		}
		if n := strings.Count(k2.Log(), "node sip:"+dead+" failed call"); n != 1 {
			t.Errorf("Kamailio tried the dead node %d times, want once (then it is inactive):\n%s", n, k2.Log())
		}
		ds, err := k2.Destinations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range ds {
			if x.URI == "sip:"+dead && x.Active() {
				t.Errorf("the dead node is still active after a failed call: %+v", ds)
			}
		}
	})

	t.Run("no relay to outside numbers", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		channels := len(d.Obs.Names())
		for _, tc := range []struct {
			name string
			o    realasterisk.RequestOptions
			want []int
		}{
			{"a stranger", realasterisk.RequestOptions{From: "anonymous", Number: "00441234567890", SourceIP: strangerIP}, []int{403}},
			{"a stranger with op201's password", realasterisk.RequestOptions{From: "op201", Number: "+441234567890",
				Username: "op201", Password: password, SourceIP: strangerIP}, []int{403}},
			{"a phone", realasterisk.RequestOptions{From: "op201", Number: "00441234567890",
				Username: "op201", Password: password, SourceIP: phoneIP}, []int{403, 404}},
			{"a phone", realasterisk.RequestOptions{From: "op201", Number: "3331234567",
				Username: "op201", Password: password, SourceIP: phoneIP}, []int{403, 404}},
			// The control: a colleague's number needs the phone's password.
			{"a phone without its password", realasterisk.RequestOptions{From: "op201", Number: "202", SourceIP: phoneIP}, []int{407}},
		} {
			tc.o.Method, tc.o.Target = "INVITE", kamAddr
			if code := finalStatus(ctx, t, d.A.Request(t, tc.o)); !slices.Contains(tc.want, code) {
				t.Errorf("%s dialling %s through Kamailio: %d, want one of %v", tc.name, tc.o.Number, code, tc.want)
			}
		}
		if code := finalStatus(ctx, t, d.A.Request(t, realasterisk.RequestOptions{Method: "REGISTER", From: "op201",
			Username: "op201", Password: password, SourceIP: strangerIP, Target: kamAddr})); code != 403 {
			t.Errorf("REGISTER op201 with its password from %s: %d, want 403", strangerIP, code)
		}
		// From the operators' network, with the password, but asking to be
		// called outside it: the nodes' calls would go there.
		if code := finalStatus(ctx, t, d.A.Request(t, realasterisk.RequestOptions{Method: "REGISTER", From: "op201",
			Username: "op201", Password: password, SourceIP: phoneIP, ContactHost: strangerIP, Target: kamAddr})); code != 403 {
			t.Errorf("REGISTER op201 with its password from %s with a contact at %s: %d, want 403", phoneIP, strangerIP, code)
		}
		if cs, err := k.Contacts(ctx, "op201"); err != nil || slices.ContainsFunc(cs, func(c string) bool { return strings.Contains(c, strangerIP) }) {
			t.Errorf("op201's contacts at Kamailio: %q %v, none may be at %s", cs, err, strangerIP)
		}
		if got := d.Obs.Names(); len(got) != channels {
			t.Errorf("Asterisk made channels for refused requests: %q", got[channels:])
		}
		if !regexp.MustCompile(`refused INVITE sip:00441234567890@\S+ from unknown ` + regexp.QuoteMeta(strangerIP)).MatchString(k.Log()) {
			t.Errorf("Kamailio's log does not say it refused the stranger")
		}
	})
}

// behindKamailio are the settings that point the variant's "kamailio" at
// the test's Kamailio: every operator contact and the carrier's outbound
// proxy. (acl.conf's operators' network, 127.0.0.0/29 in tests, has
// Kamailio's 127.0.0.1.)
func behindKamailio(t *testing.T, kamAddr string) []realasterisk.Setting {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "configs", "asterisk-kamailio", "pjsip.conf"))
	if err != nil {
		t.Fatal(err)
	}
	set := []realasterisk.Setting{{File: "pjsip.conf", Section: "[carrier](carrier-endpoint)", Key: "outbound_proxy", Value: "sip:" + kamAddr + ";lr"},
		// op201 is qualified when the test asks (qualify), not every 30 s:
		// an unanswered question in flight would mark it unreachable after
		// it registered.
		{File: "pjsip.conf", Section: "[op201](operator-aor)", Key: "qualify_frequency", Value: "3600"}}
	for _, m := range regexp.MustCompile(`(?m)^(\[(\w+)\]\(operator-aor\))\ncontact = sip:(\w+)@kamailio$`).FindAllStringSubmatch(string(b), -1) {
		set = append(set, realasterisk.Setting{File: "pjsip.conf", Section: m[1], Key: "contact", Value: "sip:" + m[3] + "@" + kamAddr})
	}
	if len(set) < 10 {
		t.Fatalf("configs/asterisk-kamailio/pjsip.conf: only %d operator contacts at kamailio", len(set)-2)
	}
	return set
}

// qualify asks Asterisk to qualify op201 and waits until its contact (at
// Kamailio) has status ("Avail" or "Unavail"), asking again every 4 s: one
// question at a time, each answered or timed out (qualify_timeout, 3 s)
// before the next, so that a late timeout never follows an answer.
func qualify(ctx context.Context, t *testing.T, d *Desk, kamAddr, status string) {
	t.Helper()
	re := regexp.MustCompile(`op201/sip:op201@` + regexp.QuoteMeta(kamAddr) + `\s+\S+\s+` + status + `\b`)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var last string
	for {
		if _, err := d.A.CLI(ctx, "pjsip qualify op201"); err != nil {
			t.Fatal(err)
		}
		for again := time.Now().Add(4 * time.Second); time.Now().Before(again); {
			if out, err := d.A.CLI(ctx, "pjsip show contacts"); err == nil {
				if re.MatchString(out) {
					return
				}
				last = out
			}
			select {
			case <-ctx.Done():
				t.Fatalf("op201's contact at Kamailio not %s:\n%s", status, last)
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
}

func finalStatus(ctx context.Context, t *testing.T, c *realasterisk.SIPCall) int {
	t.Helper()
	if err := c.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	code, err := c.FinalStatus()
	if err != nil {
		t.Fatal(err)
	}
	return code
}
