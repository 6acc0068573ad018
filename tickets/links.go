package tickets

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/helpdesk-ivr/ivr/internal/fault"
)

// Related tickets and merges: two calls about one problem (a printer that
// two offices report) are linked, or one is merged into the other. Both
// need the actor to see both tickets.

// LinkTickets links two tickets as related; each one's history says so.
// Linking them twice is a conflict.
func (s *Store) LinkTickets(ctx context.Context, a, b int64, v Viewer, actor Actor) error {
	return s.link(ctx, a, b, v, actor, true)
}

// UnlinkTickets removes a link; one that is not there is not found.
func (s *Store) UnlinkTickets(ctx context.Context, a, b int64, v Viewer, actor Actor) error {
	return s.link(ctx, a, b, v, actor, false)
}

func (s *Store) link(ctx context.Context, a, b int64, v Viewer, actor Actor, add bool) error {
	op := "link tickets"
	if !add {
		op = "unlink tickets"
	}
	if a == b {
		return fmt.Errorf("%s: %w", op, fault.Errorf(fault.EINVALID, "a ticket cannot be linked to itself"))
	}
	ta, err := s.FindTicketByID(ctx, a, v)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	tb, err := s.FindTicketByID(ctx, b, v)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	lo, hi := min(a, b), max(a, b)
	now := s.stampNow()
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var n int64
		if add {
			tag, err := tx.Exec(ctx, `INSERT INTO ticket_links (ticket_a, ticket_b, created_at, created_by)
				VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, lo, hi, now, actor.ID)
			if err != nil {
				return err
			}
			if n = tag.RowsAffected(); n == 0 {
				return fault.Errorf(fault.ECONFLICT, "tickets %s and %s are already linked", ta.Number, tb.Number)
			}
		} else {
			tag, err := tx.Exec(ctx, `DELETE FROM ticket_links WHERE ticket_a = $1 AND ticket_b = $2`, lo, hi)
			if err != nil {
				return err
			}
			if n = tag.RowsAffected(); n == 0 {
				return fault.Errorf(fault.ENOTFOUND, "tickets %s and %s are not linked", ta.Number, tb.Number)
			}
		}
		old, new := "", ""
		for _, x := range [][2]Ticket{{ta, tb}, {tb, ta}} {
			if add {
				old, new = "", string(x[1].Number)
			} else {
				old, new = string(x[1].Number), ""
			}
			if _, err := tx.Exec(ctx, `INSERT INTO ticket_history (ticket_id, at, actor_kind, actor_id, field, old_value, new_value)
				VALUES ($1, $2, $3, $4, 'link', $5, $6)`, x[0].ID, now, actor.Kind, actor.ID, old, new); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fault.FromDB(op, err, "ticket not found")
	}
	return nil
}

// LinkedTickets returns the tickets linked to id that v may see, oldest
// first.
func (s *Store) LinkedTickets(ctx context.Context, id int64, v Viewer) ([]Ticket, error) {
	const op = "linked tickets"
	if _, err := s.FindTicketByID(ctx, id, v); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	a := args{id}
	vis, err := visibility(v, &a)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+ticketColumns+` FROM tickets t
		WHERE t.id IN (SELECT ticket_b FROM ticket_links WHERE ticket_a = $1 UNION SELECT ticket_a FROM ticket_links WHERE ticket_b = $1)
		  AND `+vis+` ORDER BY t.id`, a...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	list, err := s.collectTickets(rows)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return list, nil
}

// MergeTicket merges ticket from into ticket into: from's calls, messages
// and attachments move to into; from is closed, remembers into
// (MergedInto) and keeps its own history; both histories say so. The Hook
// hears of from's closing as of any update. A ticket merged already, or
// merged into, cannot be merged again.
func (s *Store) MergeTicket(ctx context.Context, from, into int64, v Viewer, actor Actor) (Ticket, error) {
	const op = "merge ticket"
	if from == into {
		return Ticket{}, fmt.Errorf("%s: %w", op, fault.Errorf(fault.EINVALID, "a ticket cannot be merged into itself"))
	}
	for _, id := range []int64{from, into} {
		if _, err := s.FindTicketByID(ctx, id, v); err != nil {
			return Ticket{}, fmt.Errorf("%s: %w", op, err)
		}
	}
	now := s.stampNow()
	var out Ticket
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Both rows locked, in id order (two merges the other way round
		// must not deadlock), with what they are merged into.
		rows, err := tx.Query(ctx, `SELECT `+ticketColumns+`, t.merged_into FROM tickets t
			WHERE t.id = ANY($1) ORDER BY t.id FOR UPDATE`, []int64{from, into})
		if err != nil {
			return err
		}
		byID := map[int64]Ticket{}
		merged := map[int64]*int64{}
		for rows.Next() {
			var r ticketRow
			var m *int64
			if err := rows.Scan(append(r.dest(), &m)...); err != nil {
				rows.Close()
				return err
			}
			t := s.ticket(&r)
			byID[t.ID], merged[t.ID] = t, m
		}
		if err := rows.Err(); err != nil {
			return err
		}
		cur, target := byID[from], byID[into]
		switch {
		case merged[from] != nil:
			return fault.Errorf(fault.ECONFLICT, "ticket %s is merged already", cur.Number)
		case merged[into] != nil:
			return fault.Errorf(fault.ECONFLICT, "ticket %s is merged into another: merge into that one", target.Number)
		}
		var into2 int64
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM tickets WHERE merged_into = $1`, from).Scan(&into2); err != nil {
			return err
		}
		if into2 > 0 {
			return fault.Errorf(fault.ECONFLICT, "other tickets were merged into %s: merge %s into it instead", cur.Number, target.Number)
		}
		for _, q := range []string{
			`UPDATE calls SET ticket_id = $2 WHERE ticket_id = $1`,
			`UPDATE ticket_articles SET ticket_id = $2 WHERE ticket_id = $1`,
			`UPDATE ticket_attachments SET ticket_id = $2 WHERE ticket_id = $1`,
			`UPDATE call_surveys SET ticket_id = $2 WHERE ticket_id = $1`,
			`UPDATE tickets SET merged_into = $2 WHERE id = $1`,
		} {
			if _, err := tx.Exec(ctx, q, from, into); err != nil {
				return err
			}
		}
		next := cur
		changes := []Change{{Field: "merged_into", New: string(target.Number)}}
		if cur.Status != StatusClosed {
			next.Status, next.ClosedAt = StatusClosed, now.In(s.loc)
			changes = append(changes, Change{Field: "status", Old: string(cur.Status), New: string(StatusClosed)},
				Change{Field: "closed_at", Old: s.formatTime(cur.ClosedAt), New: s.formatTime(next.ClosedAt)})
		}
		if out, err = s.writeTicket(ctx, tx, cur, next, changes, actor, now, nil, nil); err != nil {
			return err
		}
		// The ticket that carries on names the merged one in its history;
		// the searches of both follow the messages that moved.
		kept := []Change{{Field: "merged_from", New: string(cur.Number)}}
		if _, err := s.writeTicket(ctx, tx, target, target, kept, actor, now, nil, nil); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE tickets t SET
				search = ticket_search_vector(t.subject, t.category, t.description) || coalesce(
					(SELECT to_tsvector('simple', string_agg(a.body, ' ')) FROM ticket_articles a WHERE a.ticket_id = t.id),
					''::tsvector),
				search_public = ticket_search_vector(t.subject, t.category, t.description) || coalesce(
					(SELECT to_tsvector('simple', string_agg(a.body, ' ')) FROM ticket_articles a WHERE a.ticket_id = t.id AND NOT a.internal),
					''::tsvector)
			WHERE t.id = ANY($1)`, []int64{from, into}); err != nil {
			return err
		}
		ev := TicketEvent{Kind: TicketUpdated, Ticket: out, Previous: cur, Changes: changes, Actor: actor, At: now.In(s.loc)}
		if s.hook != nil && (s.hookOnUpdate == nil || s.hookOnUpdate(ev)) {
			return s.hook(ctx, tx, ev)
		}
		return nil
	})
	if err != nil {
		if _, ok := errors.AsType[*fault.Error](err); ok {
			return Ticket{}, fmt.Errorf("%s: %w", op, err)
		}
		return Ticket{}, fault.FromDB(op, err, "ticket not found")
	}
	return out, nil
}

// MergedInto returns the id of the ticket id was merged into, or 0.
func (s *Store) MergedInto(ctx context.Context, id int64) (int64, error) {
	var into *int64
	if err := s.pool.QueryRow(ctx, `SELECT merged_into FROM tickets WHERE id = $1`, id).Scan(&into); err != nil {
		return 0, fault.FromDB("merged into", err, fmt.Sprintf("ticket %d not found", id))
	}
	if into == nil {
		return 0, nil
	}
	return *into, nil
}
