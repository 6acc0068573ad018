package configstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdesk-ivr/ivr/internal/fault"
)

// Watch applies the version in force whenever it is not the one applied
// last (applied: the id in force at start), until ctx ends: at each
// notification of a publication, and every Options.Poll in case a
// notification was lost with its connection. A version apply refuses is
// logged and tried again at the next poll or notification; the old one
// stays in force meanwhile.
func (s *Store) Watch(ctx context.Context, applied int64, apply func(Version) error) {
	wake := make(chan struct{}, 1)
	go s.listen(ctx, wake)
	tick := time.NewTicker(s.o.Poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-tick.C:
		}
		v, err := s.InForce(ctx)
		if err != nil {
			if ctx.Err() == nil && fault.Code(err) != fault.ENOTFOUND {
				s.o.Logger.Warn("config_version_read_failed", "error", err.Error())
			}
			continue
		}
		if v.ID == applied {
			continue
		}
		if err := apply(v); err != nil {
			s.o.Logger.Error("config_version_not_applied", "version", v.ID, "error", err.Error())
			continue
		}
		applied = v.ID
	}
}

// listen wakes Watch at each notification, from a connection of its own
// (a pooled one would be handed to others between waits); it connects
// again after a failure.
func (s *Store) listen(ctx context.Context, wake chan<- struct{}) {
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, wake)
		if ctx.Err() != nil {
			return
		}
		s.o.Logger.Warn("config_listen_failed", "error", err.Error())
		select {
		case <-ctx.Done():
		case <-time.After(s.o.Poll):
		}
	}
}

func (s *Store) listenOnce(ctx context.Context, wake chan<- struct{}) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.o.Channel}.Sanitize()); err != nil {
		return err
	}
	// A publication made while no connection listened is read now.
	select {
	case wake <- struct{}{}:
	default:
	}
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		select {
		case wake <- struct{}{}:
		default: // a wake is pending already
		}
	}
}
