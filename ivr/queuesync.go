package ivr

import (
	"context"
	"fmt"

	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/queues"
)

// SyncQueues makes the queue service's groups and operators those of the
// configuration (at start and after each reload). Operators keep their
// state; a new one starts logged out; an operator no longer configured is
// logged out and belongs to no group.
func SyncQueues(ctx context.Context, q *queues.Service, cfg *menu.Config) error {
	groups := make([]queues.GroupConfig, 0, len(cfg.Groups))
	for _, g := range cfg.Groups {
		groups = append(groups, QueueGroupConfig(g))
	}
	if err := q.SyncGroups(ctx, groups); err != nil {
		return err
	}
	known := map[string]bool{}
	for _, o := range cfg.Operators {
		known[o.Login] = true
		if err := q.UpsertOperator(ctx, queues.Operator{Login: o.Login, Name: o.Name, Endpoint: o.Endpoint, Groups: o.Groups}); err != nil {
			return fmt.Errorf("operator %s: %w", o.Login, err)
		}
	}
	all, err := q.Operators(ctx, "")
	if err != nil {
		return err
	}
	for _, o := range all {
		if known[o.Login] || len(o.Groups) == 0 {
			continue
		}
		o.Groups = nil
		if err := q.UpsertOperator(ctx, o); err != nil {
			return fmt.Errorf("retire operator %s: %w", o.Login, err)
		}
		if o.State != queues.LoggedOut && o.State != queues.Offered && o.State != queues.OnCall {
			if err := q.SetState(ctx, o.Login, queues.LoggedOut, ""); err != nil {
				return fmt.Errorf("retire operator %s: %w", o.Login, err)
			}
		}
	}
	return nil
}

// QueueGroupConfig is a configured group's queue, for package queues.
func QueueGroupConfig(g *menu.Group) queues.GroupConfig {
	q := g.Queue
	policy := func(s string) queues.OverflowPolicy {
		o, _ := menu.ParseOverflow(s) // validated with the configuration
		return queues.OverflowPolicy{Action: queues.OverflowAction(o.Action), Group: o.Group}
	}
	return queues.GroupConfig{ID: g.ID, Strategy: queues.Strategy(q.Strategy), WrapUp: q.WrapUp, RingTimeout: q.RingTimeout,
		MaxWait: q.MaxWait, MaxWaiting: q.MaxWaiting, NoOperators: policy(q.NoOperators), Overflow: policy(q.Overflow)}
}
