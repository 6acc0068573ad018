package jobs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/notify"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// escalationActor is who raises priorities, in the tickets' history; the
// Notifier tells the supervisors of its raises only.
var escalationActor = notify.EscalationActor

// Escalate raises one step the priority of every new ticket that has waited
// longer than its priority's limit in its group's service hours (since it
// was opened or since its priority last changed), through
// Store.UpdateTicket, so that the history records it and the Notifier's
// hook tells the supervisors. It returns how many it raised.
func (j *Jobs) Escalate(ctx context.Context, now time.Time) (int, error) {
	rows, err := j.d.Pool.Query(ctx, `
		SELECT t.id, t.version, t.group_id, t.priority,
			coalesce((SELECT max(h.at) FROM ticket_history h WHERE h.ticket_id = t.id AND h.field = 'priority'), t.created_at)
		FROM tickets t
		WHERE t.status = 'new' AND t.status <> 'closed' AND t.priority <> 'critical'
		ORDER BY t.created_at, t.id`)
	if err != nil {
		return 0, fmt.Errorf("escalate: list: %w", err)
	}
	type candidate struct {
		id       int64
		version  int
		group    string
		priority tickets.Priority
		since    time.Time
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (candidate, error) {
		var c candidate
		err := r.Scan(&c.id, &c.version, &c.group, &c.priority, &c.since)
		return c, err
	})
	if err != nil {
		return 0, fmt.Errorf("escalate: list: %w", err)
	}
	raised := 0
	var errs []error
	for _, c := range list {
		limit, ok := j.cfg.Escalation[c.priority]
		sched := j.d.Groups.GroupSchedule(c.group)
		if !ok || limit <= 0 || sched == nil || serviceTime(sched, c.since, now) < limit {
			continue
		}
		to, _ := raise(c.priority)
		_, err := j.d.Store.UpdateTicket(ctx, c.id, tickets.TicketUpdate{Version: c.version, Priority: &to}, escalationActor)
		switch {
		case errors.Is(err, fault.ErrConflict):
			// Someone changed it meanwhile: the next run looks again.
		case err != nil:
			errs = append(errs, err)
		default:
			raised++
			j.d.Logger.Info("ticket_escalated", "ticket_id", c.id, "group", c.group, "priority", string(to))
		}
	}
	if len(errs) > 0 {
		return raised, fmt.Errorf("escalate: %w", errors.Join(errs...))
	}
	return raised, nil
}

// Opening handles the openings of every group in (prev, now]: the
// requests left after hours and still new become due at the opening, and
// the group gets a panel notification and an e-mail listing them by
// priority, once per opening. It returns how many groups were notified.
func (j *Jobs) Opening(ctx context.Context, prev, now time.Time) (int, error) {
	if prev.IsZero() {
		prev = now.Add(-time.Minute)
	}
	notified := 0
	var errs []error
	for _, g := range j.d.Groups.GroupIDs() {
		sched := j.d.Groups.GroupSchedule(g)
		if sched == nil {
			continue
		}
		at, ok := latestOpening(sched, prev, now)
		if !ok {
			continue
		}
		did, err := j.openGroup(ctx, g, at)
		if err != nil {
			errs = append(errs, err)
		}
		if did {
			notified++
		}
	}
	return notified, errors.Join(errs...)
}

func (j *Jobs) openGroup(ctx context.Context, group string, at time.Time) (bool, error) {
	page, err := j.d.Store.FindTickets(ctx, tickets.TicketFilter{
		Statuses: []tickets.Status{tickets.StatusNew}, Groups: []string{group}, CreatedTo: at, Limit: 500, CountLimit: -1,
	}, system)
	if err != nil {
		return false, fmt.Errorf("opening of %s: %w", group, err)
	}
	var waiting []tickets.Ticket
	for _, t := range page.Tickets {
		if t.Source != tickets.SourceAfterHours {
			continue
		}
		if t.DueAt.IsZero() || t.DueAt.After(at) {
			due := at
			if t, err = j.d.Store.UpdateTicket(ctx, t.ID, tickets.TicketUpdate{Version: t.Version, DueAt: &due},
				tickets.Actor{Kind: tickets.ActorSystem, ID: "opening"}); err != nil {
				return false, fmt.Errorf("opening of %s: %w", group, err)
			}
		}
		waiting = append(waiting, t)
	}
	if len(waiting) == 0 {
		return false, nil
	}
	// By priority (seed 001), then oldest first.
	slices.SortStableFunc(waiting, func(a, b tickets.Ticket) int {
		return cmp.Or(
			cmp.Compare(slices.Index(tickets.Priorities, a.Priority), slices.Index(tickets.Priorities, b.Priority)),
			a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	var did bool
	err = pgx.BeginFunc(ctx, j.d.Pool, func(tx pgx.Tx) error {
		var err error
		did, err = j.d.Notifier.QueueOpening(ctx, tx, group, at, waiting)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("opening of %s: %w", group, err)
	}
	return did, nil
}

// Retain removes the recordings and personal data of the tickets closed
// before now minus the retention period, and leaves an internal note on
// each. Nothing newer and nothing open is touched. A ticket whose
// recordings cannot be deleted keeps everything, for the next run. It
// returns how many tickets it purged.
func (j *Jobs) Retain(ctx context.Context, now time.Time) (int, error) {
	cutoff := now.Add(-j.cfg.Retention)
	rows, err := j.d.Pool.Query(ctx, `
		SELECT t.id FROM tickets t
		WHERE t.status = 'closed' AND t.closed_at < $1
			AND NOT EXISTS (SELECT FROM retention_purges p WHERE p.ticket_id = t.id)
		ORDER BY t.closed_at, t.id LIMIT 1000`, cutoff)
	if err != nil {
		return 0, fmt.Errorf("retention: list: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, fmt.Errorf("retention: list: %w", err)
	}
	purged := 0
	var errs []error
	for _, id := range ids {
		ok, err := j.purge(ctx, id, cutoff, now)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			purged++
		}
	}
	return purged, errors.Join(errs...)
}

const recordingScheme = "ari:recording:"

func (j *Jobs) purge(ctx context.Context, id int64, cutoff, now time.Time) (bool, error) {
	atts, err := j.d.Store.Attachments(ctx, id, system)
	if err != nil {
		return false, fmt.Errorf("retention of ticket %d: %w", id, err)
	}
	recordings := 0
	for _, a := range atts {
		if name, ok := strings.CutPrefix(a.URI, recordingScheme); ok {
			if j.d.Recordings == nil {
				return false, fmt.Errorf("retention of ticket %d: no recording deleter", id)
			}
			if err := j.d.Recordings.DeleteRecording(ctx, name); err != nil {
				return false, fmt.Errorf("retention of ticket %d: delete recording: %w", id, err)
			}
			recordings++
		}
	}
	days := int(j.cfg.Retention / (24 * time.Hour))
	note := fmt.Sprintf("Registrazioni (%d) e dati personali eliminati il %s: conservazione di %d giorni dalla chiusura scaduta.",
		recordings, now.In(j.d.Location).Format("02/01/2006"), days)
	var done bool
	err = pgx.BeginFunc(ctx, j.d.Pool, func(tx pgx.Tx) error {
		var closed bool
		err := tx.QueryRow(ctx, `SELECT status = 'closed' AND closed_at < $2 FROM tickets WHERE id = $1 FOR UPDATE`, id, cutoff).Scan(&closed)
		if err != nil || !closed {
			return err // reopened meanwhile: not ours to purge
		}
		b := &pgx.Batch{}
		b.Queue(`DELETE FROM ticket_attachments WHERE ticket_id = $1`, id)
		b.Queue(`UPDATE ticket_articles SET body = '[rimosso]' WHERE ticket_id = $1`, id)
		b.Queue(`UPDATE ticket_history SET old_value = '', new_value = '' WHERE ticket_id = $1 AND field IN ('subject', 'description')`, id)
		b.Queue(`UPDATE calls SET caller = '' WHERE ticket_id = $1`, id)
		b.Queue(`DELETE FROM notify_outbox WHERE ticket_id = $1 AND (sent_at IS NOT NULL OR failed_at IS NOT NULL)`, id)
		b.Queue(`UPDATE tickets SET caller = '', subject = '', description = '', updated_at = $2,
			search = ticket_search_vector('', category, '') || to_tsvector('simple', $3),
			search_public = ticket_search_vector('', category, '')
			WHERE id = $1`, id, now, note)
		b.Queue(`WITH a AS (
				INSERT INTO ticket_articles (ticket_id, internal, author, body, created_at)
				VALUES ($1, true, 'retention', $2, $3) RETURNING id
			)
			INSERT INTO ticket_history (ticket_id, at, actor_kind, actor_id, field, new_value)
			SELECT $1, $3, 'system', 'retention', 'internal_note', a.id::text FROM a`, id, note, now)
		b.Queue(`INSERT INTO retention_purges (ticket_id, purged_at, recordings) VALUES ($1, $2, $3)`, id, now, recordings)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		done = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("retention of ticket %d: %w", id, err)
	}
	if done {
		j.d.Logger.Info("ticket_data_purged", "ticket_id", id, "recordings", recordings)
	}
	return done, nil
}

// Summary queues the supervisors' summary of the day before now's day (in
// the service time zone): offered, answered, abandoned calls and service
// level per group, from tickets.Store.Report. Once per day.
func (j *Jobs) Summary(ctx context.Context, now time.Time) error {
	local := now.In(j.d.Location)
	to := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, j.d.Location)
	from := to.AddDate(0, 0, -1)
	// Each group against its own threshold, as the panel's reports count.
	def := time.Duration(j.cfg.ServiceLevelSeconds) * time.Second
	rows, err := j.d.Store.Report(ctx, tickets.ReportFilter{From: from, To: to, Bucket: tickets.BucketDay,
		ServiceLevelSeconds: j.cfg.ServiceLevelSeconds, GroupServiceLevels: j.d.Groups.GroupServiceLevels(def)})
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	if err := j.d.Notifier.QueueSummary(ctx, j.d.Pool, from.Format(time.DateOnly), now, rows); err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	return nil
}
