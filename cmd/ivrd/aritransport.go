package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/ariproxyconn"
)

// The ways ivrd reaches Asterisk (ari.transport).
const (
	transportDirect = "direct" // ARI's REST and WebSocket at ARI_URL: one Asterisk
	transportNATS   = "nats"   // through ari-proxy over NATS: every node, shared with other ivrd
)

// ariConfig is the operations file's ari section. ARI_TRANSPORT and
// ARI_NATS_URL fill what the file leaves out; the URL, credentials and
// application of a direct connection stay in ARI_URL, ARI_USERNAME,
// ARI_PASSWORD, ARI_APP.
type ariConfig struct {
	Transport string
	NATSURL   string

	// where each setting came from, for errors: "line 12" or the
	// variable's name
	transportAt, natsAt string
	// unknown is the first setting not known, at its line
	unknown, unknownAt string
}

// UnmarshalYAML reads the section by hand, keeping the lines: fill
// reports what is wrong as file:line, like the other configuration
// errors (the decoder's KnownFields does not reach a custom unmarshaler).
func (a *ariConfig) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		a.unknown, a.unknownAt = "ari", fmt.Sprintf("line %d", n.Line)
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		at := fmt.Sprintf("line %d", v.Line)
		if v.Kind != yaml.ScalarNode && a.unknown == "" {
			a.unknown, a.unknownAt = "ari."+k.Value, at
			continue
		}
		switch k.Value {
		case "transport":
			a.Transport, a.transportAt = v.Value, at
		case "nats_url":
			a.NATSURL, a.natsAt = v.Value, at
		default:
			if a.unknown == "" {
				a.unknown, a.unknownAt = "ari."+k.Value, fmt.Sprintf("line %d", k.Line)
			}
		}
	}
	return nil
}

// fill takes what the file left out from the environment and validates;
// path names the file in errors ("path:line: ...").
func (a *ariConfig) fill(path string) error {
	if a.Transport == "" {
		a.Transport, a.transportAt = os.Getenv("ARI_TRANSPORT"), "ARI_TRANSPORT"
	}
	if a.NATSURL == "" {
		a.NATSURL, a.natsAt = os.Getenv("ARI_NATS_URL"), "ARI_NATS_URL"
	}
	where := func(at string) string {
		if line, ok := strings.CutPrefix(at, "line "); ok {
			return path + ":" + line
		}
		return at
	}
	if a.unknown != "" {
		return fmt.Errorf("%s: %s: not a setting of ari (transport: direct|nats, nats_url: a string)", where(a.unknownAt), a.unknown)
	}
	switch a.Transport {
	case "":
		a.Transport = transportDirect
	case transportDirect, transportNATS:
	default:
		return fmt.Errorf("%s: ari.transport %q: use direct (ARI_URL) or nats (ari-proxy)", where(a.transportAt), a.Transport)
	}
	if a.Transport != transportNATS {
		return nil
	}
	if a.NATSURL == "" {
		return fmt.Errorf("%s: ari.transport nats needs ari.nats_url (or ARI_NATS_URL), e.g. nats://nats:4222", where(a.transportAt))
	}
	for u := range strings.SplitSeq(a.NATSURL, ",") {
		u = strings.TrimSpace(u)
		if !strings.HasPrefix(u, "nats://") && !strings.HasPrefix(u, "tls://") || len(u) <= len("nats://") {
			return fmt.Errorf("%s: ari.nats_url %q: nats://host:port (several separated by commas)", where(a.natsAt), u)
		}
	}
	return nil
}

// ariLink is what ivrd uses of its connection to Asterisk, direct
// (ariconn) or over NATS (ariproxyconn).
type ariLink interface {
	Ready() bool
	Status() string
	Wait(ctx context.Context) error
	Close()
}

// startBus connects ctrl to every Asterisk node through ari-proxy. The
// controller must have been made with Shared: other ivrd see the same
// events.
func startBus(ctx context.Context, c ariConfig, app string, ctrl *ivr.Controller, log *slog.Logger,
	reg prometheus.Registerer, attach func(ari.Client) func(ari.Event)) (*ariproxyconn.Conn, error) {
	if c.Transport != transportNATS {
		return nil, errors.New("startBus: transport is not nats")
	}
	return ariproxyconn.Start(ctx, ariproxyconn.Options{URL: c.NATSURL, App: app, NewCall: ivr.NewCall,
		Events: ivr.HandledEvents, Logger: log, Registerer: reg, OnConnect: func() { ctrl.Reconcile(ctx) }}, attach)
}
