package tickets

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdesk-ivr/ivr/internal/fault"
)

// Survey is the post-call satisfaction survey of one call: asked when the
// operator ended the conversation, answered with a rating 1–5 and
// perhaps a recorded comment, or skipped.
type Survey struct {
	CallID   int64
	TicketID int64
	AskedAt  time.Time
	RatedAt  time.Time // zero when skipped
	Rating   int       // 1–5; 0 when skipped
	Skipped  SurveySkip
	// CommentURI is the comment's recording ("ari:recording:NAME"), ""
	// for none; CommentDuration its length.
	CommentURI      string
	CommentDuration time.Duration
	Group           string
	Operator        string
}

// SurveySkip says why a survey got no rating.
type SurveySkip string

const (
	SurveyHangup  SurveySkip = "hangup"  // the caller hung up
	SurveyTimeout SurveySkip = "timeout" // no key in time, twice
	SurveyInvalid SurveySkip = "invalid" // no key 1–5, twice
)

// The call events of a survey.
const (
	EventSurveyRated   EventKind = "survey_rated"
	EventSurveySkipped EventKind = "survey_skipped"
)

func (sv Survey) check() error {
	switch {
	case sv.CallID <= 0:
		return fault.Errorf(fault.EINVALID, "survey: call required")
	case sv.Group == "":
		return fault.Errorf(fault.EINVALID, "survey: group required")
	case sv.AskedAt.IsZero():
		return fault.Errorf(fault.EINVALID, "survey: asked_at required")
	case sv.Skipped == "" && (sv.Rating < 1 || sv.Rating > 5 || sv.RatedAt.IsZero()):
		return fault.Errorf(fault.EINVALID, "survey: a rating 1-5 and its time, or why it was skipped")
	case sv.Skipped != "" && sv.Rating != 0:
		return fault.Errorf(fault.EINVALID, "survey: skipped with a rating")
	case sv.Skipped != "" && sv.Skipped != SurveyHangup && sv.Skipped != SurveyTimeout && sv.Skipped != SurveyInvalid:
		return fault.Errorf(fault.EINVALID, "survey: unknown skip %q", sv.Skipped)
	case sv.CommentDuration < 0:
		return fault.Errorf(fault.EINVALID, "survey: negative comment duration")
	}
	return nil
}

// SaveSurvey records a call's survey; saved again (the comment after the
// rating), it replaces the first.
func (s *Store) SaveSurvey(ctx context.Context, sv Survey) error {
	const op = "save survey"
	if err := sv.check(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	var rating *int
	if sv.Rating > 0 {
		rating = &sv.Rating
	}
	var ticket *int64
	if sv.TicketID > 0 {
		ticket = &sv.TicketID
	}
	_, err := s.pool.Exec(ctx, `
		INSERT INTO call_surveys (call_id, ticket_id, asked_at, rated_at, rating, skipped, comment_uri, comment_ms, group_id, operator)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (call_id) DO UPDATE SET ticket_id = EXCLUDED.ticket_id, asked_at = EXCLUDED.asked_at,
			rated_at = EXCLUDED.rated_at, rating = EXCLUDED.rating, skipped = EXCLUDED.skipped,
			comment_uri = EXCLUDED.comment_uri, comment_ms = EXCLUDED.comment_ms,
			group_id = EXCLUDED.group_id, operator = EXCLUDED.operator`,
		sv.CallID, ticket, stamp(sv.AskedAt), nullTime(stamp(sv.RatedAt)), rating, string(sv.Skipped),
		sv.CommentURI, sv.CommentDuration.Milliseconds(), sv.Group, sv.Operator)
	if err != nil {
		return fault.FromDB(op, err, fmt.Sprintf("call %d not found", sv.CallID))
	}
	return nil
}

const surveyColumns = `s.call_id, coalesce(s.ticket_id, 0), s.asked_at, s.rated_at, coalesce(s.rating, 0), s.skipped,
	s.comment_uri, s.comment_ms, s.group_id, s.operator`

func (s *Store) scanSurvey(row pgx.CollectableRow) (Survey, error) {
	var sv Survey
	var rated *time.Time
	var ms int64
	err := row.Scan(&sv.CallID, &sv.TicketID, &sv.AskedAt, &rated, &sv.Rating, &sv.Skipped,
		&sv.CommentURI, &ms, &sv.Group, &sv.Operator)
	sv.AskedAt = sv.AskedAt.In(s.loc)
	sv.RatedAt = s.fromNull(rated)
	sv.CommentDuration = time.Duration(ms) * time.Millisecond
	return sv, err
}

// SurveysOfTicket returns the surveys of a ticket's calls, oldest first,
// if the viewer may see the ticket.
func (s *Store) SurveysOfTicket(ctx context.Context, ticketID int64, v Viewer) ([]Survey, error) {
	const op = "list surveys of ticket"
	var list []Survey
	err := s.withVisibleTicket(ctx, op, ticketID, v, func(b *pgx.Batch) {
		b.Queue(`SELECT `+surveyColumns+` FROM call_surveys s WHERE s.ticket_id = $1 ORDER BY s.asked_at, s.call_id`, ticketID).
			Query(func(rows pgx.Rows) error {
				var err error
				list, err = pgx.CollectRows(rows, s.scanSurvey)
				return err
			})
	})
	return list, err
}

// FindSurvey returns the survey of a call.
func (s *Store) FindSurvey(ctx context.Context, callID int64) (Survey, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+surveyColumns+` FROM call_surveys s WHERE s.call_id = $1`, callID)
	if err != nil {
		return Survey{}, fault.FromDB("find survey", err, "")
	}
	sv, err := pgx.CollectExactlyOneRow(rows, s.scanSurvey)
	if err != nil {
		return Survey{}, fault.FromDB("find survey", err, fmt.Sprintf("no survey for call %d", callID))
	}
	return sv, nil
}

// CSATFilter selects surveys by the time they were asked.
type CSATFilter struct {
	From, To time.Time // [From, To)
	Groups   []string  // empty: every group
}

// CSATRow is the customer satisfaction of some surveys: Asked callers,
// Rated of them, Satisfied (4 or 5) of those, the share Satisfied/Rated
// and the average rating.
type CSATRow struct {
	Group    string // per group
	Operator string // per operator
	Hour     int    // per hour of the day (service time zone), 0–23
	Asked    int
	Rated    int
	// Satisfied rated 4 or 5; CSAT is Satisfied / Rated (0 with no rating).
	Satisfied int
	CSAT      float64
	Average   float64
}

// CSATReport is CSAT per group, per operator and per hour of the day,
// and over all, from one query (the panel and the API both show it).
type CSATReport struct {
	ByGroup    []CSATRow
	ByOperator []CSATRow
	ByHour     []CSATRow
	Total      CSATRow
}

// CSAT reports the satisfaction surveys asked in [f.From, f.To).
func (s *Store) CSAT(ctx context.Context, f CSATFilter) (CSATReport, error) {
	const op = "csat report"
	var out CSATReport
	if f.From.IsZero() || f.To.IsZero() || !f.From.Before(f.To) {
		return out, fmt.Errorf("%s: %w", op, fault.Errorf(fault.EINVALID, "report needs From before To"))
	}
	var groups []string
	if len(f.Groups) > 0 {
		groups = f.Groups
	}
	rows, err := s.pool.Query(ctx, `
		SELECT grouping(x.group_id, x.operator, x.hour), coalesce(x.group_id, ''), coalesce(x.operator, ''), coalesce(x.hour, 0),
			count(*), count(x.rating), count(*) FILTER (WHERE x.rating >= 4), coalesce(avg(x.rating)::float8, 0)
		FROM (SELECT s.group_id, s.operator, extract(hour FROM s.asked_at AT TIME ZONE $1)::int AS hour, s.rating
			FROM call_surveys s
			WHERE s.asked_at >= $2 AND s.asked_at < $3 AND ($4::text[] IS NULL OR s.group_id = ANY($4))) x
		GROUP BY GROUPING SETS ((x.group_id), (x.operator), (x.hour), ())
		ORDER BY 1, 2, 3, 4`, s.zone, f.From, f.To, groups)
	if err != nil {
		return out, fault.FromDB(op, err, "")
	}
	type keyed struct {
		set int
		row CSATRow
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (keyed, error) {
		var k keyed
		r := &k.row
		err := row.Scan(&k.set, &r.Group, &r.Operator, &r.Hour, &r.Asked, &r.Rated, &r.Satisfied, &r.Average)
		if r.Rated > 0 {
			r.CSAT = float64(r.Satisfied) / float64(r.Rated)
		}
		return k, err
	})
	if err != nil {
		return out, fault.FromDB(op, err, "")
	}
	// grouping() sets a bit for each column not grouped by: group_id is
	// 4, operator 2, hour 1.
	for _, k := range list {
		switch k.set {
		case 0b011:
			out.ByGroup = append(out.ByGroup, k.row)
		case 0b101:
			out.ByOperator = append(out.ByOperator, k.row)
		case 0b110:
			out.ByHour = append(out.ByHour, k.row)
		case 0b111:
			out.Total = k.row
		}
	}
	return out, nil
}
