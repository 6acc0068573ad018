package tickets

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdesk-ivr/ivr/internal/fault"
)

// RecordingScheme prefixes the URI of an attachment that is a recording
// kept by Asterisk (its stored recording's name follows).
const RecordingScheme = "ari:recording:"

// RecordingKind is what a recording holds, told by its name's prefix,
// which the call controller chooses.
type RecordingKind string

// The recording kinds.
const (
	// RecordingConversation: a caller's conversation with an operator.
	RecordingConversation RecordingKind = "conversation"
	// RecordingRequest: a request left after the beep (after hours, or
	// when no operator answered).
	RecordingRequest RecordingKind = "helpdesk"
	// RecordingSurvey: a comment left in the post-call survey.
	RecordingSurvey RecordingKind = "survey"
)

// RecordingName is the stored recording an attachment's URI names, and
// whether it is one.
func RecordingName(uri string) (string, bool) {
	return strings.CutPrefix(uri, RecordingScheme)
}

// KindOf is the kind of a recording's name, "" for one of no known kind.
func KindOf(name string) RecordingKind {
	prefix, _, ok := strings.Cut(name, "-")
	if !ok {
		return ""
	}
	switch k := RecordingKind(prefix); k {
	case RecordingConversation, RecordingRequest, RecordingSurvey:
		return k
	}
	return ""
}

// FieldRecording is the history field of what happened to a ticket's
// conversation recording: paused, resumed, refused, deleted by retention.
const FieldRecording = "recording"

// AddChange writes one entry into a ticket's history (a step that changes
// no field of the ticket, e.g. a recording paused).
func (s *Store) AddChange(ctx context.Context, ticketID int64, field, old, new string, actor Actor) error {
	const op = "add history"
	if !actor.valid() {
		return fmt.Errorf("%s: %w", op, fault.Errorf(fault.EINVALID, "unknown actor kind %q", actor.Kind))
	}
	tag, err := s.pool.Exec(ctx, `
		INSERT INTO ticket_history (ticket_id, at, actor_kind, actor_id, field, old_value, new_value)
		SELECT id, $2, $3, $4, $5, $6, $7 FROM tickets WHERE id = $1`,
		ticketID, s.stampNow(), actor.Kind, actor.ID, field, old, new)
	if err != nil {
		return fault.FromDB(op, err, "")
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s: %w", op, fault.Errorf(fault.ENOTFOUND, "ticket %d not found", ticketID))
	}
	return nil
}

// ExpiredRecordings lists up to limit recordings of a kind attached before
// before, oldest first, on every ticket (the retention job's).
func (s *Store) ExpiredRecordings(ctx context.Context, kind RecordingKind, before time.Time, limit int) ([]Attachment, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, ticket_id, name, uri, content_type, size_bytes, duration_ms, created_at, created_by
		FROM ticket_attachments
		WHERE starts_with(uri, $1) AND created_at < $2
		ORDER BY created_at, id LIMIT $3`, RecordingScheme+string(kind)+"-", before, limit)
	if err != nil {
		return nil, fault.FromDB("list expired recordings", err, "")
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Attachment, error) {
		var a Attachment
		var ms int64
		err := row.Scan(&a.ID, &a.TicketID, &a.Name, &a.URI, &a.ContentType, &a.Size, &ms, &a.CreatedAt, &a.CreatedBy)
		a.Duration = time.Duration(ms) * time.Millisecond
		a.CreatedAt = a.CreatedAt.In(s.loc)
		return a, err
	})
	if err != nil {
		return nil, fault.FromDB("list expired recordings", err, "")
	}
	return list, nil
}

// RemoveRecording takes a recording off its ticket, whose history keeps
// note (who removed it, when, why) under FieldRecording with the file's
// name. The stored file is the caller's to delete, first.
func (s *Store) RemoveRecording(ctx context.Context, att Attachment, note string, actor Actor) error {
	const op = "remove recording"
	if !actor.valid() {
		return fmt.Errorf("%s: %w", op, fault.Errorf(fault.EINVALID, "unknown actor kind %q", actor.Kind))
	}
	now := s.stampNow()
	var removed bool
	err := s.pool.QueryRow(ctx, `
		WITH a AS (
			DELETE FROM ticket_attachments WHERE id = $1 AND ticket_id = $2 RETURNING ticket_id, name
		), h AS (
			INSERT INTO ticket_history (ticket_id, at, actor_kind, actor_id, field, old_value, new_value)
			SELECT a.ticket_id, $3, $4, $5, $6, a.name, $7 FROM a
		), t AS (
			UPDATE tickets SET updated_at = $3 WHERE id IN (SELECT ticket_id FROM a)
		)
		SELECT EXISTS (SELECT FROM a)`, att.ID, att.TicketID, now, actor.Kind, actor.ID, FieldRecording, note).Scan(&removed)
	if err != nil {
		return fault.FromDB(op, err, "")
	}
	if !removed {
		return fmt.Errorf("%s: %w", op, fault.Errorf(fault.ENOTFOUND, "attachment %d not found", att.ID))
	}
	return nil
}

// The call events of a conversation's recording.
const (
	// EventRecordingRefused: the caller pressed the key that refuses.
	EventRecordingRefused EventKind = "recording_refused"
	// EventRecordingStarted: the conversation is being recorded.
	EventRecordingStarted EventKind = "recording_started"
	// EventRecordingPaused, EventRecordingResumed: by the operator
	// (Operator), e.g. while payment or health data is spoken.
	EventRecordingPaused  EventKind = "recording_paused"
	EventRecordingResumed EventKind = "recording_resumed"
	// EventRecorded: the recording was kept with the ticket (Detail its
	// duration).
	EventRecorded EventKind = "recorded"
)

// RecordingFilter selects the calls whose recording steps RecordingReport
// counts, by the time of the step.
type RecordingFilter struct {
	From, To time.Time // [From, To)
	Groups   []string  // empty: every group
}

// RecordingRow counts one group's conversation recordings in a period.
type RecordingRow struct {
	Group    string
	Recorded int // conversations recorded and kept with their ticket
	Refused  int // callers who refused the recording
	Paused   int // pauses by the operators
}

// RecordingReport counts, per group, the conversations recorded, the
// refusals and the pauses in [f.From, f.To), from the calls' records.
// Rows come ordered by group.
func (s *Store) RecordingReport(ctx context.Context, f RecordingFilter) ([]RecordingRow, error) {
	const op = "recording report"
	if f.From.IsZero() || f.To.IsZero() || !f.From.Before(f.To) {
		return nil, fmt.Errorf("%s: %w", op, fault.Errorf(fault.EINVALID, "report needs From before To"))
	}
	var groups []string // nil: every group
	if len(f.Groups) > 0 {
		groups = f.Groups
	}
	rows, err := s.pool.Query(ctx, `
		SELECT e.group_id,
			count(*) FILTER (WHERE e.kind = $4), count(*) FILTER (WHERE e.kind = $5), count(*) FILTER (WHERE e.kind = $6)
		FROM call_events e
		WHERE e.kind IN ($4, $5, $6) AND e.at >= $1 AND e.at < $2 AND ($3::text[] IS NULL OR e.group_id = ANY($3))
		GROUP BY 1 ORDER BY 1`, f.From, f.To, groups, EventRecorded, EventRecordingRefused, EventRecordingPaused)
	if err != nil {
		return nil, fault.FromDB(op, err, "")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (RecordingRow, error) {
		var r RecordingRow
		err := row.Scan(&r.Group, &r.Recorded, &r.Refused, &r.Paused)
		return r, err
	})
	if err != nil {
		return nil, fault.FromDB(op, err, "")
	}
	return out, nil
}
