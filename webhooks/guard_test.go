package webhooks

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestAllowedAddresses(t *testing.T) {
	t.Parallel()
	lan := []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")}
	for _, tc := range []struct {
		addr  string
		allow []netip.Prefix
		want  bool
	}{
		{"8.8.8.8", nil, true},
		{"2a00:1450:4002:402::200e", nil, true},
		{"127.0.0.1", nil, false},
		{"::1", nil, false},
		{"::ffff:127.0.0.1", nil, false}, // v4 in v6 is unmapped first
		{"169.254.169.254", nil, false},  // the clouds' metadata service
		{"10.20.3.4", nil, false},
		{"10.20.3.4", lan, true},
		{"10.21.3.4", lan, false},
		{"192.168.1.1", nil, false},
		{"172.31.255.255", nil, false},
		{"172.32.0.1", nil, true},
		{"100.64.0.1", nil, false},
		{"fd12::1", nil, false},
		{"fe80::1", nil, false},
		{"0.0.0.0", nil, false},
		{"224.0.0.1", nil, false},
	} {
		if got := allowed(netip.MustParseAddr(tc.addr), tc.allow); got != tc.want {
			t.Errorf("allowed(%s, %v) = %v, want %v", tc.addr, tc.allow, got, tc.want)
		}
	}
}

func TestParseNetworks(t *testing.T) {
	t.Parallel()
	got, err := ParseNetworks(" 10.0.0.0/8, 192.168.1.7 ,fd00::/8,")
	noErr(t, err)
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32"), netip.MustParsePrefix("fd00::/8")}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "intranet", "10.0.0/8"} {
		if _, err := ParseNetworks(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestWebhookGuardAtCreation: a URL naming a loopback or private address
// is refused when the subscription is made, unless its network is allowed.
func TestWebhookGuardAtCreation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	strict := e.service(Options{AllowNetworks: []netip.Prefix{}})
	for _, u := range []string{"http://127.0.0.1:9/x", "http://localhost/x", "http://api.localhost./x", "http://[::1]/x",
		"http://169.254.169.254/latest/meta-data/", "https://10.1.2.3/in"} {
		_, _, err := strict.Create(ctx, NewSubscription{URL: u, Events: []string{TicketCreated}, CreatedBy: "adm"})
		if !errors.Is(err, fault.ErrInvalid) || !strings.Contains(err.Error(), "not a public address") {
			t.Errorf("%s: %v", u, err)
		}
	}
	lan := e.service(Options{AllowNetworks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	if _, _, err := lan.Create(ctx, NewSubscription{URL: "https://10.1.2.3/in", Events: []string{TicketCreated}}); err != nil {
		t.Fatalf("allowed network refused: %v", err)
	}
	if _, _, err := strict.Create(ctx, NewSubscription{URL: "https://crm.example.org/in", Events: []string{TicketCreated}}); err != nil {
		t.Fatalf("a public name refused: %v", err)
	}
}

// TestWebhookGuardAtConnection: a subscription to a loopback receiver (made
// while allowed) is not delivered by a worker that does not allow it: the
// guard acts on the address connected to, whatever the URL said then.
func TestWebhookGuardAtConnection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.openTicket("Guarded")
	strict := e.service(Options{AllowNetworks: []netip.Prefix{}})
	e.deliver(strict)
	if got := e.rc.received(); len(got) != 0 {
		t.Fatalf("the receiver on loopback got %d deliveries", len(got))
	}
	d := e.deliveries()
	if len(d) != 1 || d[0].State != StatePending || d[0].Attempts != 1 || !strings.Contains(d[0].LastError, "127.0.0.1 is not public") {
		t.Fatalf("log %+v", d)
	}
}

// TestWebhookNoRedirect: a receiver answering with a redirect is not
// followed (the Location could be anywhere); the 3xx is logged.
func TestWebhookNoRedirect(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.rc.setAnswer(func(r received) int { return http.StatusFound })
	e.openTicket("Redirected")
	e.deliver(e.svc)
	if got := e.rc.received(); len(got) != 1 {
		t.Fatalf("received %d requests, want 1 (no redirect followed)", len(got))
	}
	d := e.deliveries()
	if len(d) != 1 || d[0].ResponseCode != http.StatusFound || d[0].State != StateFailed {
		t.Fatalf("log %+v", d)
	}
}

// TestWebhookMetrics: attempts are counted by result and the backlog is
// what is still pending.
func TestWebhookMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	svc := e.service(Options{Registerer: reg})
	e.rc.setAnswer(func(received) int { return http.StatusServiceUnavailable })
	e.openTicket("Uno")
	e.deliver(svc)
	noErr(t, svc.countBacklog(ctx))
	if r, b := testutil.ToFloat64(svc.metrics.attempts.WithLabelValues("retry")), testutil.ToFloat64(svc.metrics.backlog); r != 1 || b != 1 {
		t.Fatalf("after a 503: retry %v backlog %v", r, b)
	}
	e.rc.setAnswer(func(received) int { return http.StatusOK })
	e.clk.Advance(time.Hour)
	e.deliver(svc)
	noErr(t, svc.countBacklog(ctx))
	if d, b := testutil.ToFloat64(svc.metrics.attempts.WithLabelValues("delivered")), testutil.ToFloat64(svc.metrics.backlog); d != 1 || b != 0 {
		t.Fatalf("after a 200: delivered %v backlog %v", d, b)
	}
	if n := testutil.CollectAndCount(reg, "ivr_webhook_attempt_seconds"); n != 1 {
		t.Fatalf("histogram: %d", n)
	}
}
