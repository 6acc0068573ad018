// Package leasestest helps tests kill an instance that shares calls by
// lease: in-process, its controller cannot be killed, but its leases can
// stop reaching the database, as kill -9 leaves its rows as they were.
package leasestest

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/helpdesk-ivr/ivr/leases"
)

// ErrKilled is what a killed instance's leases answer.
var ErrKilled = errors.New("leasestest: the instance was killed")

// Killable is an instance's leases that Kill cuts from the database.
type Killable struct {
	*leases.Store
	dead atomic.Bool
}

// Kill stops every later request of the instance from reaching the
// database; its rows stay as they were.
func (k *Killable) Kill() { k.dead.Store(true) }

// Revive lets the instance's requests reach the database again: what
// Kill did was an outage, not a death.
func (k *Killable) Revive() { k.dead.Store(false) }

func (k *Killable) Acquire(ctx context.Context, id, node string) (string, bool, error) {
	if k.dead.Load() {
		return "", false, ErrKilled
	}
	return k.Store.Acquire(ctx, id, node)
}

func (k *Killable) Renew(ctx context.Context) (map[string]bool, error) {
	if k.dead.Load() {
		return nil, ErrKilled
	}
	return k.Store.Renew(ctx)
}

func (k *Killable) Release(ctx context.Context, id string) error {
	if k.dead.Load() {
		return ErrKilled
	}
	return k.Store.Release(ctx, id)
}

func (k *Killable) Expired(ctx context.Context, limit int) ([]leases.Lease, error) {
	if k.dead.Load() {
		return nil, ErrKilled
	}
	return k.Store.Expired(ctx, limit)
}

func (k *Killable) Others(ctx context.Context) ([]leases.Instance, error) {
	if k.dead.Load() {
		return nil, ErrKilled
	}
	return k.Store.Others(ctx)
}

func (k *Killable) Holder(ctx context.Context, id string) (string, bool, error) {
	if k.dead.Load() {
		return "", false, ErrKilled
	}
	return k.Store.Holder(ctx, id)
}
