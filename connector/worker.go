package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdesk-ivr/ivr/connector/zammad"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// Tickets is what a pull needs of the ticket store.
type Tickets interface {
	FindTicketByID(ctx context.Context, id int64, v tickets.Viewer) (tickets.Ticket, error)
	UpdateTicket(ctx context.Context, id int64, upd tickets.TicketUpdate, actor tickets.Actor) (tickets.Ticket, error)
}

// Run sends the due changes every DeliverInterval, pulls the states every
// poll interval and prunes the outbox every hour, until ctx is cancelled.
func (s *Service) Run(ctx context.Context, store Tickets) error {
	t := time.NewTicker(s.opts.DeliverInterval)
	defer t.Stop()
	var pulled, pruned time.Time
	for {
		if _, err := s.DeliverPending(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("connector_deliver_failed", "error", err.Error())
		}
		if now := time.Now(); now.Sub(pulled) >= s.cfg.PollInterval {
			pulled = now
			if _, err := s.Pull(ctx, store); err != nil && ctx.Err() == nil {
				s.log.Warn("connector_pull_failed", "error", err.Error())
			}
		}
		if now := time.Now(); now.Sub(pruned) >= time.Hour {
			pruned = now
			if _, err := s.Prune(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("connector_prune_failed", "error", err.Error())
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// DeliverPending sends the changes due now, one at a time, and returns
// how many were delivered. Each row is claimed with FOR UPDATE SKIP
// LOCKED (another instance skips it), sent, and marked delivered or
// rescheduled in the same transaction: a crash before the commit leaves
// it pending, to be sent again. A row waits while an earlier one of its
// ticket is pending.
func (s *Service) DeliverPending(ctx context.Context) (int, error) {
	n := 0
	defer func() { _, _ = s.Backlog(context.WithoutCancel(ctx)) }()
	for {
		more, ok, err := s.deliverOne(ctx)
		if ok {
			n++
		}
		if err != nil || !more {
			return n, err
		}
	}
}

func (s *Service) deliverOne(ctx context.Context) (more, ok bool, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		now := s.opts.Now()
		var (
			id, ticketID int64
			kind         string
			raw          []byte
			attempts     int
		)
		err := tx.QueryRow(ctx, `SELECT o.id, o.ticket_id, o.kind, o.payload, o.attempts FROM connector_outbox o
			WHERE o.delivered_at IS NULL AND o.failed_at IS NULL AND o.next_attempt_at <= $1
			  AND NOT EXISTS (SELECT 1 FROM connector_outbox e WHERE e.ticket_id = o.ticket_id AND e.id < o.id
			        AND e.delivered_at IS NULL AND e.failed_at IS NULL)
			ORDER BY o.next_attempt_at, o.id LIMIT 1 FOR UPDATE OF o SKIP LOCKED`, now).
			Scan(&id, &ticketID, &kind, &raw, &attempts)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("claim: %w", err)
		}
		more = true
		var p payload
		sendErr := json.Unmarshal(raw, &p)
		if sendErr == nil {
			sendErr = s.send(ctx, tx, tickets.TicketEventKind(kind), p)
		} else {
			sendErr = &zammad.Error{Op: "read outbox", Message: sendErr.Error()} // not retryable
		}
		attempts++
		if sendErr == nil {
			ok = true
			s.metrics.deliveries.WithLabelValues(resultDelivered).Inc()
			s.log.Info("connector_delivered", "ticket", p.Ticket.Number, "kind", kind, "attempts", attempts)
			_, err := tx.Exec(ctx, `UPDATE connector_outbox SET delivered_at = $2, attempts = $3, last_error = '' WHERE id = $1`,
				id, now, attempts)
			return err
		}
		msg := shortError(sendErr.Error())
		if !zammad.Retryable(sendErr) || attempts >= s.opts.MaxAttempts {
			s.metrics.deliveries.WithLabelValues(resultFailed).Inc()
			s.log.Error("connector_given_up", "ticket", p.Ticket.Number, "kind", kind, "attempts", attempts, "error", msg)
			_, err = tx.Exec(ctx, `UPDATE connector_outbox SET failed_at = $2, attempts = $3, last_error = $4 WHERE id = $1`,
				id, now, attempts, msg)
			return err
		}
		next := now.Add(s.backoff(attempts))
		s.metrics.deliveries.WithLabelValues(resultRetry).Inc()
		s.log.Warn("connector_delivery_failed", "ticket", p.Ticket.Number, "kind", kind, "attempts", attempts,
			"retry_at", next, "error", msg)
		_, err = tx.Exec(ctx, `UPDATE connector_outbox SET next_attempt_at = $2, attempts = $3, last_error = $4 WHERE id = $1`,
			id, next, attempts, msg)
		return err
	})
	if err != nil {
		return false, false, fmt.Errorf("deliver to zammad: %w", err)
	}
	return more, ok, nil
}

// send makes the requests of one change. A ticket not yet linked (its
// creation failed, or it was opened before the connector was on) is
// created first, from the ticket as this change left it; the link is
// written at once, in the row's transaction, so that a later step's
// failure does not create it twice.
func (s *Service) send(ctx context.Context, tx pgx.Tx, kind tickets.TicketEventKind, p payload) error {
	l, linked, err := link(ctx, tx, p.Ticket.ID)
	if err != nil {
		return err
	}
	if !linked {
		if l, err = s.create(ctx, tx, p.Ticket); err != nil {
			return err
		}
		if tag := s.cfg.Categories[p.Ticket.Category]; tag != "" {
			if err := s.client.AddTag(ctx, l.ID, tag); err != nil {
				return err
			}
		}
		if kind != tickets.TicketMessage {
			return nil // the ticket was created as this change left it
		}
	}
	switch kind {
	case tickets.TicketCreated:
		// Already linked: an earlier attempt created it and then failed
		// to tag it; tagging again is harmless.
		if tag := s.cfg.Categories[p.Ticket.Category]; tag != "" {
			return s.client.AddTag(ctx, l.ID, tag)
		}
		return nil
	case tickets.TicketUpdated:
		return s.update(ctx, tx, l, p)
	case tickets.TicketMessage:
		if p.Article == nil {
			return nil
		}
		_, err := s.client.AddArticle(ctx, zammad.Article{TicketID: l.ID, Subject: title(p.Ticket), Body: p.Article.Body,
			ContentType: "text/plain", Type: "note", Internal: p.Article.Internal})
		return err
	}
	return nil
}

// title is the Zammad title of a ticket: our number first, so that
// agents on both sides find it.
func title(t snapshot) string {
	subj := strings.TrimSpace(t.Subject)
	if subj == "" {
		subj = "Chiamata"
		if t.Caller != "" {
			subj += " da " + t.Caller
		}
	}
	return "[" + t.Number + "] " + subj
}

// group is the Zammad group of one of ours.
func (s *Service) group(g string) string {
	if zg := s.cfg.Groups[g]; zg != "" {
		return zg
	}
	return s.cfg.DefaultGroup
}

// pendingTime is the reminder a "pending …" state needs in Zammad.
func (s *Service) pendingTime(state string) *time.Time {
	if !strings.HasPrefix(state, "pending") {
		return nil
	}
	t := s.opts.Now().Add(s.cfg.PendingFor).UTC().Truncate(time.Second)
	return &t
}

func (s *Service) create(ctx context.Context, tx pgx.Tx, t snapshot) (Link, error) {
	state := s.cfg.States[t.Status]
	var b strings.Builder
	fmt.Fprintf(&b, "Ticket %s del centralino (help desk IVR)\n", t.Number)
	for _, f := range [][2]string{{"Chiamante", t.Caller}, {"Amministrazione", t.Organization}, {"Gruppo", t.Group},
		{"Categoria", t.Category}, {"Canale", t.Source}} {
		if f[1] != "" {
			fmt.Fprintf(&b, "%s: %s\n", f[0], f[1])
		}
	}
	if d := strings.TrimSpace(t.Description); d != "" {
		b.WriteString("\n" + d + "\n")
	}
	zt, found, err := s.createdBefore(ctx, t)
	if err != nil {
		return Link{}, err
	}
	if !found {
		// The first article is internal: the tickets are opened for one
		// customer account standing for every caller, who must not read
		// the others' numbers.
		zt, err = s.client.CreateTicket(ctx, zammad.NewTicket{Title: title(t), Group: s.group(t.Group),
			CustomerID: "guess:" + s.cfg.Customer, State: state, Priority: s.cfg.Priorities[t.Priority],
			PendingTime: s.pendingTime(state),
			Article:     zammad.Article{Subject: title(t), Body: b.String(), ContentType: "text/plain", Type: "phone", Internal: true}})
		if err != nil {
			return Link{}, err
		}
	}
	now := s.opts.Now()
	if _, err := tx.Exec(ctx, `DELETE FROM connector_creating WHERE ticket_id = $1`, t.ID); err != nil {
		return Link{}, err
	}
	l := Link{TicketID: t.ID, System: "zammad", ID: zt.ID, Number: zt.Number, URL: s.client.TicketURL(zt.ID),
		State: zt.State, LinkedAt: now, SyncedAt: now}
	_, err = tx.Exec(ctx, `INSERT INTO connector_links (ticket_id, external_id, external_number, external_url, state, linked_at, synced_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6)`, l.TicketID, l.ID, l.Number, l.URL, l.State, now)
	if err != nil {
		return Link{}, fmt.Errorf("link ticket %s to zammad %s: %w", t.Number, zt.Number, err)
	}
	s.log.Info("connector_linked", "ticket", t.Number, "zammad_number", zt.Number, "zammad_id", zt.ID)
	return l, nil
}

// createdBefore finds the Zammad ticket an earlier attempt may have
// created without living to link it (its marker in connector_creating,
// committed before the request, says so), by our number in its title.
// Otherwise it leaves the marker for the attempt about to be made.
func (s *Service) createdBefore(ctx context.Context, t snapshot) (zammad.Ticket, bool, error) {
	var started bool
	err := s.pool.QueryRow(ctx, `SELECT true FROM connector_creating WHERE ticket_id = $1`, t.ID).Scan(&started)
	if errors.Is(err, pgx.ErrNoRows) {
		_, err = s.pool.Exec(ctx, `INSERT INTO connector_creating (ticket_id, started_at) VALUES ($1, $2)
			ON CONFLICT (ticket_id) DO NOTHING`, t.ID, s.opts.Now())
		return zammad.Ticket{}, false, err
	}
	if err != nil {
		return zammad.Ticket{}, false, err
	}
	found, err := s.client.Search(ctx, "title:"+t.Number, 1, 10)
	if err != nil {
		return zammad.Ticket{}, false, err
	}
	for _, zt := range found {
		if strings.HasPrefix(zt.Title, "["+t.Number+"]") {
			s.log.Warn("connector_found_created", "ticket", t.Number, "zammad_number", zt.Number)
			return zt, true, nil
		}
	}
	return zammad.Ticket{}, false, nil
}

// update pushes an update's changes: one PUT for the state, priority,
// group and title, and the category's tags.
func (s *Service) update(ctx context.Context, tx pgx.Tx, l Link, p payload) error {
	var u zammad.TicketUpdate
	var oldTag, newTag string
	for _, c := range p.Changes {
		switch c.Field {
		case "status":
			u.State = s.cfg.States[c.New]
			u.PendingTime = s.pendingTime(u.State)
		case "priority":
			u.Priority = s.cfg.Priorities[c.New]
		case "group":
			u.Group = s.group(c.New)
		case "subject":
			u.Title = title(p.Ticket)
		case "category":
			oldTag, newTag = s.cfg.Categories[c.Old], s.cfg.Categories[c.New]
		}
	}
	if u != (zammad.TicketUpdate{}) {
		zt, err := s.client.UpdateTicket(ctx, l.ID, u)
		if err != nil {
			return err
		}
		// The state as Zammad now has it: a pull that sees it finds
		// nothing new, so our own change does not come back.
		if _, err := tx.Exec(ctx, `UPDATE connector_links SET state = $2, synced_at = $3 WHERE ticket_id = $1`,
			l.TicketID, zt.State, s.opts.Now()); err != nil {
			return err
		}
	}
	if oldTag != newTag {
		if oldTag != "" {
			if err := s.client.RemoveTag(ctx, l.ID, oldTag); err != nil {
				return err
			}
		}
		if newTag != "" {
			return s.client.AddTag(ctx, l.ID, newTag)
		}
	}
	return nil
}

// Pull applies the state changes made in Zammad since the last complete
// pull to the linked tickets, and returns how many of our tickets it
// changed. It searches the tickets updated since then (with a margin),
// page by page; a state it has already seen or set is skipped, one that
// maps to none of our statuses is only noted, and a change our workflow
// refuses (e.g. closed → waiting) is logged and skipped.
func (s *Service) Pull(ctx context.Context, store Tickets) (int, error) {
	start := s.opts.Now()
	var last time.Time
	err := s.pool.QueryRow(ctx, `SELECT pulled_at FROM connector_sync`).Scan(&last)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		// First pull: from the first link on.
		var first *time.Time
		if err := s.pool.QueryRow(ctx, `SELECT min(linked_at) FROM connector_links`).Scan(&first); err != nil {
			return 0, fmt.Errorf("pull from zammad: %w", err)
		}
		last = start
		if first != nil {
			last = *first
		}
	case err != nil:
		return 0, fmt.Errorf("pull from zammad: %w", err)
	}
	// The margin covers the clocks' difference and the search index's lag.
	query := zammad.UpdatedSince(start.Sub(last) + 2*time.Minute)
	applied := 0
	for page := 1; ; page++ {
		if page > maxPullPages {
			// Not recorded as complete: the next pull looks as far back.
			return applied, fmt.Errorf("pull from zammad: more than %d pages of updated tickets", maxPullPages)
		}
		found, err := s.client.Search(ctx, query, page, s.opts.PageSize)
		if err != nil {
			return applied, fmt.Errorf("pull from zammad: %w", err)
		}
		for _, zt := range found {
			changed, err := s.apply(ctx, store, zt)
			if err != nil {
				return applied, fmt.Errorf("pull from zammad: ticket %s: %w", zt.Number, err)
			}
			if changed {
				applied++
			}
		}
		if len(found) < s.opts.PageSize {
			break
		}
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO connector_sync (pulled_at) VALUES ($1)
		ON CONFLICT (id) DO UPDATE SET pulled_at = excluded.pulled_at`, start); err != nil {
		return applied, fmt.Errorf("pull from zammad: %w", err)
	}
	s.metrics.lastSync.Set(float64(start.Unix()))
	return applied, nil
}

// maxPullPages bounds one pull's search.
const maxPullPages = 100

// apply brings one Zammad ticket's state to its linked ticket.
func (s *Service) apply(ctx context.Context, store Tickets, zt zammad.Ticket) (bool, error) {
	var ticketID int64
	var seen string
	err := s.pool.QueryRow(ctx, `SELECT ticket_id, state FROM connector_links WHERE external_id = $1`, zt.ID).Scan(&ticketID, &seen)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && seen == zt.State) {
		return false, nil // not ours, or nothing new
	}
	if err != nil {
		return false, err
	}
	changed := false
	if status, ok := s.cfg.Statuses[zt.State]; ok {
		changed, err = s.setStatus(ctx, store, ticketID, tickets.Status(status))
		if errors.Is(err, tickets.ErrInvalidTransition) {
			s.log.Warn("connector_state_not_applied", "zammad_number", zt.Number, "state", zt.State, "error", err.Error())
			err = nil
		}
		if err != nil {
			return false, err
		}
	}
	_, err = s.pool.Exec(ctx, `UPDATE connector_links SET state = $2, synced_at = $3 WHERE ticket_id = $1`,
		ticketID, zt.State, s.opts.Now())
	return changed, err
}

// setStatus sets a ticket's status as the connector, once more if
// someone changed the ticket in between.
func (s *Service) setStatus(ctx context.Context, store Tickets, id int64, status tickets.Status) (bool, error) {
	for attempt := 0; ; attempt++ {
		cur, err := store.FindTicketByID(ctx, id, tickets.Viewer{Kind: tickets.ViewerSystem, Login: Actor.ID})
		if err != nil {
			return false, err
		}
		if cur.Status == status {
			return false, nil
		}
		_, err = store.UpdateTicket(ctx, id, tickets.TicketUpdate{Version: cur.Version, Status: &status}, Actor)
		if err == nil {
			s.log.Info("connector_status_pulled", "ticket", string(cur.Number), "from", string(cur.Status), "to", string(status))
			return true, nil
		}
		if !errors.Is(err, tickets.ErrStale) || attempt > 0 {
			return false, err
		}
	}
}

// Prune deletes the rows delivered or given up more than Retention ago
// and returns how many.
func (s *Service) Prune(ctx context.Context) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM connector_outbox
		WHERE (delivered_at IS NOT NULL OR failed_at IS NOT NULL) AND coalesce(delivered_at, failed_at) < $1`,
		s.opts.Now().Add(-s.opts.Retention))
	if err != nil {
		return 0, fmt.Errorf("prune connector outbox: %w", err)
	}
	return tag.RowsAffected(), nil
}

// backoff is the wait after the n-th failed attempt.
func (s *Service) backoff(n int) time.Duration {
	d := float64(s.opts.BackoffBase) * math.Pow(2, float64(n-1))
	if d > float64(s.opts.BackoffMax) {
		return s.opts.BackoffMax
	}
	return time.Duration(d)
}

func shortError(s string) string {
	if len(s) > 500 {
		return s[:500]
	}
	return s
}
