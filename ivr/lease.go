package ivr

import (
	"context"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/leases"
)

// CallLeases is what the controller needs of package leases: with several
// instances on the same Asterisk nodes, a call is driven only by the
// instance holding its lease, and the calls of an instance that stopped
// renewing are taken over and resumed where they were.
type CallLeases interface {
	Owner() string
	TTL() time.Duration
	Acquire(ctx context.Context, channelID, node string) (prev string, ok bool, err error)
	Renew(ctx context.Context) (map[string]bool, error)
	Release(ctx context.Context, channelID string) error
	Expired(ctx context.Context, limit int) ([]leases.Lease, error)
	Others(ctx context.Context) ([]leases.Instance, error)
	Holder(ctx context.Context, channelID string) (owner string, alive bool, err error)
}

type leaseMetrics struct {
	takeovers prometheus.Counter
	lost      prometheus.Counter
}

func newLeaseMetrics(reg prometheus.Registerer, owner string) (*leaseMetrics, error) {
	m := &leaseMetrics{
		takeovers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ivr_call_takeovers_total", ConstLabels: prometheus.Labels{"instance": owner},
			Help: "Calls this instance took over from an instance that stopped renewing their leases (died or lost the database).",
		}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ivr_call_leases_lost_total", ConstLabels: prometheus.Labels{"instance": owner},
			Help: "Calls this instance let go because another took them over while it did not renew (a pause longer than the lease).",
		}),
	}
	for _, c := range []prometheus.Collector{m.takeovers, m.lost} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// takeoverBatch bounds the calls taken over per round.
const takeoverBatch = 200

// acquireNew takes the lease of a call that has just arrived; false when
// another instance holds it (the call is not this one's to drive). With
// the database down the call is served anyway, unleased.
func (c *Controller) acquireNew(s *session) bool {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.StoreTimeout)
	defer cancel()
	_, ok, err := c.opts.Leases.Acquire(ctx, s.channelID, s.node)
	switch {
	case err != nil:
		// Served anyway; leased once the database answers (leaseLate),
		// so that it too is taken over if this instance dies.
		s.log.Warn("lease_acquire_failed", "error", err.Error())
		c.mu.Lock()
		s.unleased = true
		c.mu.Unlock()
		return true
	case !ok:
		s.log.Info("call_owned_elsewhere")
		return false
	}
	// Stamped once the lease is stored: a renewal that read the table
	// before then began before this instant, and does not count the call
	// as lost for missing it (stamped at the request's start, it did).
	c.mu.Lock() // renewLeases reads it under c.mu
	s.leasedAt = time.Now()
	c.mu.Unlock()
	return true
}

// releaseLease gives the lease of a session's call up at its end.
func (c *Controller) releaseLease(s *session) {
	if c.opts.Leases == nil {
		return
	}
	c.mu.RLock() // leaseLate may have set it meanwhile
	leased := !s.leasedAt.IsZero()
	c.mu.RUnlock()
	if !leased {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.StoreTimeout)
	defer cancel()
	if err := c.opts.Leases.Release(ctx, s.channelID); err != nil {
		s.log.Warn("lease_release_failed", "error", err.Error())
	}
}

// runLeases renews this instance's leases and takes over the calls of
// instances that stopped renewing theirs, every third of the lease's
// life, until ctx ends.
func (c *Controller) runLeases(ctx context.Context) {
	period := c.opts.Leases.TTL() / 3
	for {
		if c.renewLeases(ctx) {
			c.leaseLate(ctx)
		}
		c.takeOver(ctx)
		t := c.clock.NewTimer(period)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// renewLeases extends the leases of the calls this instance drives; a
// call another instance took over meanwhile (this one paused past its
// lease) is let go without being touched.
func (c *Controller) renewLeases(ctx context.Context) bool {
	start := time.Now()
	rctx, cancel := context.WithTimeout(ctx, c.opts.StoreTimeout)
	held, err := c.opts.Leases.Renew(rctx)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("lease_renew_failed", "error", err.Error())
		}
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, s := range c.sessions {
		// (A session leased after the renewal began is not in held yet.)
		if !s.leasedAt.IsZero() && s.leasedAt.Before(start) && !held[id] {
			c.leaseMetrics.lost.Inc()
			s.log.Warn("call_lease_lost")
			s.inbox.push(item{release: true})
		}
	}
	return true
}

// leaseLate takes the leases of the calls served without one while the
// database was down.
func (c *Controller) leaseLate(ctx context.Context) {
	c.mu.RLock()
	var late []*session
	for _, s := range c.sessions {
		if s.unleased {
			late = append(late, s)
		}
	}
	c.mu.RUnlock()
	for _, s := range late {
		actx, cancel := context.WithTimeout(ctx, c.opts.StoreTimeout)
		_, ok, err := c.opts.Leases.Acquire(actx, s.channelID, s.node)
		cancel()
		if err != nil {
			return // still down: next round
		}
		c.mu.Lock()
		s.unleased = false
		if ok {
			s.leasedAt = time.Now()
		}
		c.mu.Unlock()
		if ok {
			s.log.Info("call_leased_late")
		} else {
			s.log.Warn("call_leased_late_elsewhere")
		}
	}
}

// takeOver resumes the calls whose owner stopped renewing their leases:
// each where it was (resume), or, gone meanwhile, with its record closed.
func (c *Controller) takeOver(ctx context.Context) {
	c.mu.RLock()
	client := c.client
	c.mu.RUnlock()
	if client == nil || c.released.Load() || c.draining.Load() {
		return
	}
	// Batch after batch while they come back full: a dead instance's
	// hundreds of calls are all resumed now, not one batch per round.
	for ctx.Err() == nil {
		lctx, cancel := context.WithTimeout(ctx, c.opts.StoreTimeout)
		expired, err := c.opts.Leases.Expired(lctx, takeoverBatch)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				c.log.Warn("lease_expired_failed", "error", err.Error())
			}
			return
		}
		taken := 0
		for _, l := range expired {
			c.mu.RLock()
			mine := c.sessions[l.ChannelID] != nil
			c.mu.RUnlock()
			if mine {
				continue // renewed late: ours still
			}
			actx, cancel := context.WithTimeout(ctx, c.opts.StoreTimeout)
			prev, ok, err := c.opts.Leases.Acquire(actx, l.ChannelID, "")
			cancel()
			if err != nil || !ok {
				continue // another instance was quicker
			}
			c.adoptLeased(ctx, l, prev)
			taken++
		}
		if len(expired) < takeoverBatch || taken == 0 {
			return
		}
	}
}

// adoptLeased resumes a call just taken over.
func (c *Controller) adoptLeased(ctx context.Context, l leases.Lease, prev string) {
	log := c.log.With("channel_id", l.ChannelID, "from", prev)
	ch, err := c.client.Channel().Data(ari.NewKey(ari.ChannelKey, l.ChannelID, ari.WithNode(l.Node), ari.WithApp(c.opts.App)))
	if err != nil {
		if isNotFound(err) {
			// The call ended while nobody drove it.
			c.closeUnwatched(ctx, l.ChannelID)
		} else {
			log.Warn("takeover_failed", "error", err.Error())
		}
		rctx, cancel := context.WithTimeout(ctx, c.opts.StoreTimeout)
		if err := c.opts.Leases.Release(rctx, l.ChannelID); err != nil {
			log.Warn("lease_release_failed", "error", err.Error())
		}
		cancel()
		return
	}
	c.leaseMetrics.takeovers.Inc()
	c.metrics.resumed.Inc()
	log.Warn("call_taken_over")
	c.startSession(ctx, *ch, l.Node, true, nil)
}

// closeUnwatched finishes the record of a taken-over call that had ended.
func (c *Controller) closeUnwatched(ctx context.Context, channelID string) {
	sctx, cancel := context.WithTimeout(ctx, 2*c.opts.StoreTimeout)
	defer cancel()
	call, err := c.opts.Store.FindCallByChannel(sctx, channelID)
	if err != nil || !call.EndedAt.IsZero() {
		return
	}
	c.finishUnwatched(sctx, call)
}

// claimForResume takes the lease of a call found without a session (at a
// reconnection): false when another instance alive holds it, which drives
// it. Without leases every such call is this instance's.
func (c *Controller) claimForResume(ctx context.Context, id, node string) bool {
	if c.opts.Leases == nil {
		return true
	}
	actx, cancel := context.WithTimeout(ctx, c.opts.StoreTimeout)
	defer cancel()
	prev, ok, err := c.opts.Leases.Acquire(actx, id, node)
	if err != nil {
		c.log.Warn("lease_acquire_failed", "channel_id", id, "error", err.Error())
		return false // not sure it is ours: the takeover loop will see
	}
	if ok && prev != "" {
		c.leaseMetrics.takeovers.Inc()
		c.log.Warn("call_taken_over", "channel_id", id, "from", prev)
	}
	return ok
}

// aloneOnNodes: no other instance is alive, so a leg or bridge no session
// of this one claims is an orphan (of this instance before a restart).
// With others alive it may be theirs, and is left to them.
func (c *Controller) aloneOnNodes(ctx context.Context) bool {
	if c.opts.Leases == nil {
		return true
	}
	octx, cancel := context.WithTimeout(ctx, c.opts.StoreTimeout)
	defer cancel()
	others, err := c.opts.Leases.Others(octx)
	return err == nil && len(others) == 0
}

// heldElsewhere: another instance alive holds the call's lease (it drives
// the call, or runs its callback). Unsure (the database failing) counts as
// held: reconciliation waits for the next round.
func (c *Controller) heldElsewhere(ctx context.Context, callID string) bool {
	if c.opts.Leases == nil {
		return false
	}
	hctx, cancel := context.WithTimeout(ctx, c.opts.StoreTimeout)
	defer cancel()
	owner, alive, err := c.opts.Leases.Holder(hctx, callID)
	if err != nil {
		return true
	}
	return alive && owner != c.opts.Leases.Owner()
}

// leaseCallback holds the lease of the call a callback is made for while
// this instance runs an attempt, so that other instances leave its
// operator alone; the returned func gives it up. Without leases, or when
// the database fails, it holds nothing.
func (c *Controller) leaseCallback(callID, node string) func() {
	if c.opts.Leases == nil {
		return func() {}
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.StoreTimeout)
	defer cancel()
	if _, ok, err := c.opts.Leases.Acquire(ctx, callID, node); err != nil || !ok {
		return func() {}
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), c.opts.StoreTimeout)
		defer cancel()
		if err := c.opts.Leases.Release(ctx, callID); err != nil {
			c.log.Warn("lease_release_failed", "call_id", callID, "error", err.Error())
		}
	}
}
