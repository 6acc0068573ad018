package tickets

import (
	"context"
	"fmt"

	"github.com/helpdesk-ivr/ivr/internal/fault"
)

// NoteHistory writes a step that changes no field of the ticket into its
// history (e.g. a supervisor listening to its call): field names the
// step, value says what it was.
func (s *Store) NoteHistory(ctx context.Context, ticketID int64, actor Actor, field, value string) error {
	if !actor.valid() || field == "" {
		return fmt.Errorf("note ticket history: %w", fault.Errorf(fault.EINVALID, "an actor and a field are required"))
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO ticket_history (ticket_id, at, actor_kind, actor_id, field, new_value)
		SELECT id, $2, $3, $4, $5, $6 FROM tickets WHERE id = $1`, ticketID, s.stampNow(), actor.Kind, actor.ID, field, value)
	if err != nil {
		return fmt.Errorf("note ticket history: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("note ticket history: %w", fault.ErrNotFound)
	}
	return nil
}
