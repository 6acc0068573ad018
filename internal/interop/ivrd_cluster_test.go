package interop

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/bustest"
	"github.com/helpdesk-ivr/ivr/internal/kamailiotest"
	"github.com/helpdesk-ivr/ivr/internal/realasterisk"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// TestIvrdClusterKill9: two ivrd binaries share the calls of a real
// Asterisk through a real ari-proxy server and NATS, by lease (-leases),
// with Kamailio in front as deployed (the carrier's calls reach the node
// through its dispatcher). Four callers reach menu 2, spread over both;
// the instance driving the first is killed (SIGKILL). Once its leases expire the other takes each
// of its calls over: the caller hears the apology and menu 2 again, their
// key 1 (pressed later, as timed) routes them, and every call ends with
// one record.
func TestIvrdClusterKill9(t *testing.T) {
	t.Parallel()
	bus := bustest.StartNATS(t)
	kamAddr := kamailiotest.FreeAddr(t)
	one := StartDesk(t, DeskOptions{Clock: mondayClock, Bus: bus, Env: []string{"IVR_LEASES=1", "IVR_INSTANCE=ivrd-1"},
		Overlay: "configs/asterisk-kamailio", Set: behindKamailio(t, kamAddr)})
	two := one.Peer(t, "IVR_INSTANCE=ivrd-2")
	desks := map[string]*Desk{"ivrd-1": one, "ivrd-2": two}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	k := kamailiotest.Start(t, kamailiotest.Options{Addr: kamAddr, Nodes: []string{one.A.SIPAddr},
		Carrier: []string{carrierIP}, Phones: "127.0.0.0/29"})
	waitFor(ctx, t, "the node active in Kamailio", func() ([]kamailiotest.Destination, bool) {
		ds, err := k.Destinations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return ds, len(ds) == 1 && ds[0].Active()
	})

	// Key 2 (menu 2), then key 1 a minute later: long after the takeover.
	keys := slices.Concat(keyed("2", keyGap, 0), keyed("1", 60*time.Second, 0))
	var calls []tickets.Call
	for i := range 4 {
		caller := fmt.Sprintf("333129000%d", i)
		one.Caller(t, realasterisk.CallOptions{Caller: caller, Keys: keys, HangUpAfter: 10 * time.Second, Timeout: 3 * time.Minute,
			Target: kamAddr, SourceIP: carrierIP})
		calls = append(calls, one.CallOf(ctx, t, caller))
	}
	owner := map[string]string{}
	before := map[string]int{}
	for _, c := range calls {
		one.Obs.Wait(ctx, t, c.Caller+" in menu 2", func(o *Observer) bool {
			ch := o.channels[c.ChannelID]
			return ch != nil && slices.ContainsFunc(ch.media.List(), func(p Playback) bool { return p.Media == sound("menu-2") })
		})
		before[c.ChannelID] = len(one.Obs.Media(c.ChannelID))
		owner[c.ChannelID] = leaseOwner(ctx, t, one, c.ChannelID)
	}
	dead := owner[calls[0].ChannelID]
	survivor := "ivrd-1"
	if dead == survivor {
		survivor = "ivrd-2"
	}
	t.Logf("owners %v; killing %s", owner, dead)
	desks[dead].Kill(t)

	taken := 0
	for _, c := range calls {
		if owner[c.ChannelID] != dead {
			continue
		}
		taken++
		one.Obs.Wait(ctx, t, c.Caller+" resumed at menu 2 by "+survivor, func(o *Observer) bool {
			ch := o.channels[c.ChannelID]
			if ch == nil {
				return false
			}
			after := ch.media.List()[before[c.ChannelID]:]
			i := slices.IndexFunc(after, func(p Playback) bool { return p.Media == system("technical_problem") })
			return i >= 0 && slices.ContainsFunc(after[i:], func(p Playback) bool { return p.Media == sound("menu-2") })
		})
		if got := leaseOwner(ctx, t, one, c.ChannelID); got != survivor {
			t.Errorf("%s's lease is %q's after the takeover, want %s", c.Caller, got, survivor)
		}
	}
	for _, c := range calls {
		rec, events := one.WaitEnded(ctx, t, c)
		if rec.Group != "pct-libero-foro" {
			t.Errorf("%s (driven by %s): group %q, want pct-libero-foro (key 1 at menu 2); events %v", c.Caller, owner[c.ChannelID], rec.Group, eventKinds(events))
		}
		var n int
		if err := one.DB.QueryRow(ctx, `SELECT count(*) FROM calls WHERE channel_id = $1`, c.ChannelID).Scan(&n); err != nil || n != 1 {
			t.Errorf("%s: %d call records (%v)", c.Caller, n, err)
		}
	}
	metrics := desks[survivor].Metrics(t)
	want := fmt.Sprintf(`ivr_call_takeovers_total{instance="%s"} %d`, survivor, taken)
	if !strings.Contains(metrics, want) {
		t.Errorf("%s's /metrics lacks %q", survivor, want)
	}
}

// leaseOwner is the instance holding the call's lease ("" for none).
func leaseOwner(ctx context.Context, t *testing.T, d *Desk, channelID string) string {
	t.Helper()
	var owner string
	err := d.DB.QueryRow(ctx, `SELECT owner FROM call_leases WHERE channel_id = $1`, channelID).Scan(&owner)
	if err != nil && !strings.Contains(err.Error(), "no rows") {
		t.Fatalf("lease of %s: %v", channelID, err)
	}
	return owner
}
