package notify_test

import (
	"testing"

	"github.com/helpdesk-ivr/ivr/notify"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// The call controller sets the priority of the caller's menu branch (the
// referents' branch is high) as a system actor: no escalation notice for
// that, only for the escalation job's raises.
func TestOnlyTheEscalationJobEscalates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ivr := tickets.Actor{Kind: tickets.ActorSystem, ID: "ivr"}
	tk := e.open(t, tickets.NewCall{})
	tk = e.update(t, tk, tickets.TicketUpdate{Priority: ptr(tickets.PriorityHigh)}, ivr)
	e.update(t, tk, tickets.TicketUpdate{Priority: ptr(tickets.PriorityCritical)}, notify.EscalationActor)
	var kinds []string
	rows, err := e.pool.Query(ctx, `SELECT kind || ' ' || array_to_string(recipients, ',') FROM notify_outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, k)
	}
	if len(kinds) != 1 || kinds[0] != "escalated sup@helpdesk.test" {
		t.Errorf("notices %q, want one escalation (the job's) to the supervisors", kinds)
	}
}
