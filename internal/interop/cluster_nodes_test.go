package interop

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/bustest"
	"github.com/helpdesk-ivr/ivr/internal/kamailiotest"
	"github.com/helpdesk-ivr/ivr/internal/realasterisk"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// TestTwoNodesBehindKamailio: two real Asterisk nodes (each its own
// entity id and system name) behind Kamailio, each behind a real ari-proxy
// server on one NATS, ivrd over the bus. op201's phone registers at
// Kamailio only. Callers enter through Kamailio, which deals them to the
// nodes in turn; a call that came in on the second node is answered by
// op201, whose leg that node originates through Kamailio to the phone
// wherever it registered. The record names the node.
func TestTwoNodesBehindKamailio(t *testing.T) {
	t.Parallel()
	realasterisk.SkipIfOptedOut(t)
	bus := bustest.StartNATS(t)
	kamAddr := kamailiotest.FreeAddr(t)
	node := func(n string) []realasterisk.Setting {
		return append(behindKamailio(t, kamAddr),
			realasterisk.Setting{File: "asterisk.conf", Section: "options", Key: "entityid", Value: "02:fc:00:00:01:0" + n},
			realasterisk.Setting{File: "asterisk.conf", Section: "options", Key: "systemname", Value: "helpdesk" + n},
			// No qualify of op201 at all: asked at a node's start, before
			// the phone registered, it left the contact unreachable (not
			// dialled), and a question still in flight reached the phone.
			realasterisk.Setting{File: "pjsip.conf", Section: "[op201](operator-aor)", Key: "qualify_frequency", Value: "0"})
	}
	d := StartDesk(t, DeskOptions{Clock: mondayClock, Available: []string{"op201"}, Bus: bus,
		Overlay: "configs/asterisk-kamailio", Set: node("1"), Env: []string{"IVR_LEASES=1", "IVR_INSTANCE=ivrd-1"}})
	second := realasterisk.Start(t, realasterisk.Options{Sounds: promptSounds(t), Overlay: "configs/asterisk-kamailio", Set: node("2")})
	bustest.ProxyAsterisk(t, bus, second.ARIURL(), second.App, second.User, second.Password)
	password, err := d.A.Secret("pjsip.conf", "[op201](operator-auth)", "password")
	if err != nil {
		t.Fatal(err)
	}
	k := kamailiotest.Start(t, kamailiotest.Options{Addr: kamAddr, Nodes: []string{d.A.SIPAddr, second.SIPAddr},
		Carrier: []string{carrierIP}, Phones: "127.0.0.0/29", Users: map[string]string{"op201": password}})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	waitFor(ctx, t, "both nodes active in Kamailio", func() ([]kamailiotest.Destination, bool) {
		ds, err := k.Destinations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return ds, len(ds) == 2 && ds[0].Active() && ds[1].Active()
	})
	waitFor(ctx, t, "ivrd hears both nodes", func() (string, bool) {
		m := d.Metrics(t)
		return m, strings.Contains(m, "ivr_ari_nodes_up 2")
	})
	phonePort := realasterisk.FreeUDPOn(t, phoneIP)
	_, p, _ := strings.Cut(phonePort, ":")
	port, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	if code := finalStatus(ctx, t, d.A.Request(t, realasterisk.RequestOptions{Method: "REGISTER", From: "op201",
		Username: "op201", Password: password, SourceIP: phoneIP, Port: port, Target: kamAddr})); code != 200 {
		t.Fatalf("REGISTER op201 at Kamailio: %d", code)
	}

	// Node 1 drained at Kamailio: the caller lands on node 2, presses 1 2
	// (Lotto 2), and op201's phone, registered at Kamailio only, rings
	// through it from node 2 and answers.
	if out, err := k.RPC(ctx, "dispatcher.set_state", "d", "1", "sip:"+d.A.SIPAddr); err != nil {
		t.Fatalf("drain node 1: %v %s", err, out)
	}
	phone := d.A.PhoneAt(t, phonePort, realasterisk.PhoneOptions{AnswerAfter: time.Second, Timeout: 3 * time.Minute})
	const caller = "3331291001"
	sip := d.Caller(t, realasterisk.CallOptions{Caller: caller, Keys: keyed("12", keyGap, keyGap), HangUpAfter: 45 * time.Second,
		Target: kamAddr, SourceIP: carrierIP, Timeout: 3 * time.Minute})
	// (Desk.CallOf watches node 1: the record says where the call is.)
	call := waitFor(ctx, t, "the call's record", func() (tickets.Call, bool) {
		var id string
		if err := d.DB.QueryRow(ctx, `SELECT channel_id FROM calls WHERE caller = $1`, "+39"+caller).Scan(&id); err != nil {
			return tickets.Call{}, false
		}
		c, err := d.Store.FindCallByChannel(ctx, id)
		return c, err == nil
	})
	if call.AsteriskNode != "02:fc:00:00:01:02" || !strings.HasPrefix(call.ChannelID, "helpdesk2-") {
		t.Fatalf("the call came in on node %q as %s, want the second node (02:fc:00:00:01:02, helpdesk2-…)", call.AsteriskNode, call.ChannelID)
	}
	d.WaitCallEvent(ctx, t, call, tickets.EventAnswered)
	rec, events := d.WaitEnded(ctx, t, call)
	for _, c := range []*realasterisk.SIPCall{sip, phone} {
		if err := c.Wait(ctx); err != nil {
			t.Error(err)
		}
	}
	if rec.Outcome != tickets.OutcomeAnswered || rec.Operator != "op201" || rec.Group != "lotto2" || rec.AsteriskNode != "02:fc:00:00:01:02" {
		t.Errorf("record: outcome %q operator %q group %q node %q; events %v", rec.Outcome, rec.Operator, rec.Group, rec.AsteriskNode, eventKinds(events))
	}
	// Node 1 made no channel for it: the caller and op201's leg were
	// both on node 2.
	if slices.ContainsFunc(d.Obs.Names(), func(n string) bool { return strings.HasPrefix(n, "PJSIP/op201-") }) {
		t.Errorf("node 1 rang op201: %q", d.Obs.Names())
	}
}
