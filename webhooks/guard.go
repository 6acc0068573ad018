package webhooks

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
)

// A subscription names any URL, so without a guard whoever may create one
// (an administrator, or an API token of admin scope) could make ivrd POST
// to the machine itself, the local network or the cloud's metadata address
// (169.254.169.254), and read back status codes: server-side request
// forgery. The guard refuses, at connection time (so that neither DNS
// tricks nor redirects get round it), every address that is not public,
// unless it is in a network the operator allowed (Options.AllowNetworks:
// the help desk's own ticketing system is often on the LAN).

// nonPublic are the ranges refused unless allowed: loopback, private,
// carrier-grade NAT, link-local, unique-local, multicast, documentation
// and benchmarking ranges, and the unspecified address.
var nonPublic = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
		"203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
		"::/128", "::1/128", "64:ff9b::/96", "100::/64", "2001:db8::/32", "fc00::/7", "fe80::/10", "ff00::/8",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// ParseNetworks reads a comma-separated list of CIDRs (or single
// addresses), as -webhook-networks takes it.
func ParseNetworks(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("webhook networks: %q is not an address or a CIDR", f)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("webhook networks: %q is not an address or a CIDR", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// allowed reports whether a delivery may connect to addr.
func allowed(addr netip.Addr, allow []netip.Prefix) bool {
	addr = addr.Unmap()
	for _, p := range allow {
		if p.Contains(addr) {
			return true
		}
	}
	for _, p := range nonPublic {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// refusedError is a connection the guard refused: the delivery log shows
// its text, and the delivery is retried like any failure (the operator may
// allow the network meanwhile).
func refusedError(addr netip.Addr) error {
	return fault.Errorf(fault.EFORBIDDEN, "address %s is not public: allow its network with -webhook-networks", addr)
}

// guardedClient is the deliveries' HTTP client: the guard on every
// connection, no redirects (a 3xx is the subscriber's answer, logged as a
// failure), no proxy from the environment (it would hide the address).
func guardedClient(timeout time.Duration, allow []netip.Prefix) *http.Client {
	dialer := &net.Dialer{
		Timeout: timeout,
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("webhook dial %s: %w", address, err)
			}
			if !allowed(ap.Addr(), allow) {
				return refusedError(ap.Addr())
			}
			return nil
		},
	}
	transport := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
	}
	return &http.Client{
		Timeout:       timeout,
		Transport:     transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// checkHost refuses, when the subscription is made, a URL whose host is an
// address or a name the guard would refuse anyway (the loopback's names);
// other names are checked on each connection, as they resolve then.
func (s *Service) checkHost(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return invalid("url: an absolute http or https URL is required")
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	addr, err := netip.ParseAddr(host)
	if err != nil {
		if host != "localhost" && !strings.HasSuffix(host, ".localhost") {
			return nil
		}
		addr = netip.MustParseAddr("127.0.0.1")
	}
	if !allowed(addr, s.opts.AllowNetworks) {
		return invalid("url: %s is not a public address: allow its network with -webhook-networks", host)
	}
	return nil
}
