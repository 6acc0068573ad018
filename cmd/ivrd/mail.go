package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/mailin"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/notify"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// startMail listens for the help desk's inbound mail on listen
// ("lmtp:HOST:PORT" or "smtp:HOST:PORT", -mail-listen) and delivers it into
// the tickets; stop closes the listener and waits for the conversations
// in progress (at most 10 s).
func startMail(listen string, cfg mailin.Config, pool *pgxpool.Pool, store *tickets.Store, n *notify.Notifier,
	current func() *menu.Config, now func() time.Time, log *slog.Logger, reg prometheus.Registerer) (stop func(), err error) {
	proto, addr, err := mailin.ParseListen(listen)
	if err != nil {
		return nil, err
	}
	svc, err := mailin.New(cfg, mailin.Options{Pool: pool, Tickets: store, Notifier: n, Config: current, Now: now,
		Logger: log, Registerer: reg})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mail listener: %w", err)
	}
	srv := svc.NewServer(mailin.ServerOptions{Protocol: proto, Domain: n.Domain()})
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil {
			log.Error("mail_listener_stopped", "error", err.Error())
		}
	}()
	log.Info("mail_listening", "protocol", string(proto), "address", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}, nil
}

// mailFiles opens the attachments of mails for the panel.
type mailFiles struct{ pool *pgxpool.Pool }

func (m mailFiles) OpenFile(ctx context.Context, uri string) (string, []byte, error) {
	return mailin.OpenAttachment(ctx, m.pool, uri)
}
