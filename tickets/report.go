package tickets

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/jackc/pgx/v5"
)

// Report aggregates the calls queued in [f.From, f.To) per group and per
// hour, day, week or month of the service time zone, in one query:
// offered, answered, abandoned, service level (against each group's
// threshold), average speed of answer and average handle time. Rows come
// ordered by period, then group.
func (s *Store) Report(ctx context.Context, f ReportFilter) ([]ReportRow, error) {
	const op = "report"
	f.Bucket = cmp.Or(f.Bucket, BucketHour)
	if f.Bucket.MaxDays() == 0 {
		return nil, fmt.Errorf("%s: %w", op, fault.Errorf(fault.EINVALID, "unknown bucket %q", f.Bucket))
	}
	if f.ServiceLevelSeconds < 0 {
		return nil, fmt.Errorf("%s: %w", op, fault.Errorf(fault.EINVALID, "negative service level"))
	}
	if f.ServiceLevelSeconds == 0 {
		f.ServiceLevelSeconds = 20
	}
	if f.From.IsZero() || f.To.IsZero() || !f.From.Before(f.To) {
		return nil, fmt.Errorf("%s: %w", op, fault.Errorf(fault.EINVALID, "report needs From before To"))
	}
	var groups []string // nil: every group
	if len(f.Groups) > 0 {
		groups = f.Groups
	}
	slGroups, slMillis := []string{}, []int64{}
	for g, d := range f.GroupServiceLevels {
		if d <= 0 {
			return nil, fmt.Errorf("%s: %w", op, fault.Errorf(fault.EINVALID, "group %q: service level not positive", g))
		}
		slGroups, slMillis = append(slGroups, g), append(slMillis, d.Milliseconds())
	}
	// Hours first, in absolute time (date_bin from a local hour boundary
	// is cheap and, for zones whose offsets differ by whole hours, lands
	// on local hours), then the few hourly rows into the zone's hours or
	// days: converting every call's time to the zone would cost more than
	// the rest of the query. date_trunc in the zone keeps the two 02:00
	// of the autumn change apart and starts days, ISO weeks (Monday) and
	// months at local midnight across a change of the clocks.
	from := f.From.In(s.loc)
	origin := time.Date(from.Year(), from.Month(), from.Day(), from.Hour(), 0, 0, 0, s.loc)
	rows, err := s.pool.Query(ctx, `
		WITH c AS (
			-- A call whose caller asked to be called back (ivr) is answered
			-- when the callback is, waited until then, and abandoned only if
			-- the callback failed: pending, it is neither.
			SELECT c.id, c.queued_at, c.group_id, c.talk_ms,
				-- A call that changed hands: each party's time is in its
				-- events (handled), counted for the group it was with.
				EXISTS (SELECT FROM call_events e WHERE e.call_id = c.id AND e.kind = 'handled') AS handed,
				coalesce(c.operator_answered_at, cb.answered) AS answered_at,
				CASE WHEN cb.answered IS NOT NULL
					THEN (extract(epoch FROM cb.answered - c.queued_at) * 1000)::integer ELSE c.wait_ms END AS wait_ms,
				c.ended_at IS NOT NULL AND (c.outcome <> 'callback_requested' OR coalesce(cb.failed, false)) AS ended
			FROM calls c
			LEFT JOIN LATERAL (
				SELECT min(e.at) FILTER (WHERE e.kind = 'callback_answered') AS answered,
					bool_or(e.kind = 'callback_failed') AS failed
				FROM call_events e WHERE e.call_id = c.id AND e.kind IN ('callback_answered', 'callback_failed')
			) cb ON c.outcome = 'callback_requested'
			WHERE c.queued_at >= $5 AND c.queued_at < $6 AND ($7::text[] IS NULL OR c.group_id = ANY($7))
		), h AS (
			SELECT date_bin('1 hour', c.queued_at, $3) AS hour, c.group_id,
				coalesce(sl.ms, $4) AS sl_ms,
				count(*) AS offered,
				count(c.answered_at) AS answered,
				count(*) FILTER (WHERE c.answered_at IS NULL AND c.ended) AS abandoned,
				count(*) FILTER (WHERE c.answered_at IS NOT NULL AND c.wait_ms <= coalesce(sl.ms, $4)) AS within_sl,
				sum(c.wait_ms) FILTER (WHERE c.answered_at IS NOT NULL) AS wait_ms,
				sum(c.talk_ms) FILTER (WHERE NOT c.handed) AS talk_ms,
				count(c.talk_ms) FILTER (WHERE NOT c.handed) AS talked
			FROM c
			LEFT JOIN unnest($8::text[], $9::bigint[]) AS sl(group_id, ms) ON sl.group_id = c.group_id
			GROUP BY 1, 2, 3
		), x AS (
			-- Operators' actions, for the group whose call it was then.
			SELECT date_bin('1 hour', c.queued_at, $3) AS hour, e.group_id,
				count(*) FILTER (WHERE e.kind = 'transfer_group') AS t_group,
				count(*) FILTER (WHERE e.kind = 'transfer_operator') AS t_operator,
				count(*) FILTER (WHERE e.kind = 'transfer_number') AS t_number,
				count(*) FILTER (WHERE e.kind = 'transfer_attended') AS t_attended,
				count(*) FILTER (WHERE e.kind = 'transfer_move') AS t_move,
				count(*) FILTER (WHERE e.kind = 'off_hold') AS holds,
				coalesce(sum(e.ms) FILTER (WHERE e.kind = 'off_hold'), 0) AS hold_ms,
				coalesce(sum(e.ms) FILTER (WHERE e.kind = 'handled' AND e.operator <> ''), 0) AS talk_ms,
				count(*) FILTER (WHERE e.kind = 'handled' AND e.operator <> '') AS talked
			FROM c JOIN call_events e ON e.call_id = c.id
			WHERE e.group_id <> '' AND e.kind IN ('transfer_group', 'transfer_operator', 'transfer_number',
				'transfer_attended', 'transfer_move', 'off_hold', 'handled')
			GROUP BY 1, 2
		), hx AS (
			SELECT coalesce(h.hour, x.hour) AS hour, coalesce(h.group_id, x.group_id) AS group_id,
				coalesce(h.sl_ms, sl.ms, $4) AS sl_ms, coalesce(h.offered, 0) AS offered, coalesce(h.answered, 0) AS answered,
				coalesce(h.abandoned, 0) AS abandoned, coalesce(h.within_sl, 0) AS within_sl, h.wait_ms,
				coalesce(h.talk_ms, 0) + coalesce(x.talk_ms, 0) AS talk_ms, coalesce(h.talked, 0) + coalesce(x.talked, 0) AS talked,
				coalesce(x.t_group, 0) AS t_group, coalesce(x.t_operator, 0) AS t_operator, coalesce(x.t_number, 0) AS t_number,
				coalesce(x.t_attended, 0) AS t_attended, coalesce(x.t_move, 0) AS t_move,
				coalesce(x.holds, 0) AS holds, coalesce(x.hold_ms, 0) AS hold_ms
			FROM h FULL JOIN x ON x.hour = h.hour AND x.group_id = h.group_id
			LEFT JOIN unnest($8::text[], $9::bigint[]) AS sl(group_id, ms) ON sl.group_id = coalesce(h.group_id, x.group_id)
		)
		SELECT date_trunc($1, hx.hour, $2), hx.group_id,
			sum(hx.offered)::bigint, sum(hx.answered)::bigint, sum(hx.abandoned)::bigint, sum(hx.within_sl)::bigint,
			max(hx.sl_ms)::bigint,
			coalesce(sum(hx.wait_ms)::float8 / nullif(sum(hx.answered), 0), 0),
			coalesce(sum(hx.talk_ms)::float8 / nullif(sum(hx.talked), 0), 0),
			sum(hx.t_group)::bigint, sum(hx.t_operator)::bigint, sum(hx.t_number)::bigint, sum(hx.t_attended)::bigint,
			sum(hx.t_move)::bigint, sum(hx.holds)::bigint, sum(hx.hold_ms)::float8
		FROM hx
		GROUP BY 1, 2
		ORDER BY 1, 2`,
		string(f.Bucket), s.zone, origin, int64(f.ServiceLevelSeconds)*1000, f.From, f.To, groups, slGroups, slMillis)
	if err != nil {
		return nil, fault.FromDB(op, err, "")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ReportRow, error) {
		var r ReportRow
		var asaMS, ahtMS, holdMS float64
		var slMS int64
		t := &r.Transfers
		err := row.Scan(&r.Start, &r.Group, &r.Offered, &r.Answered, &r.Abandoned, &r.AnsweredWithinSL, &slMS, &asaMS, &ahtMS,
			&t.Group, &t.Operator, &t.Number, &t.Attended, &t.Moved, &r.Holds, &holdMS)
		r.HoldTime = millis(holdMS)
		r.ServiceLevelSeconds = int(slMS / 1000)
		r.Start = r.Start.In(s.loc)
		r.ASA = millis(asaMS)
		r.AHT = millis(ahtMS)
		if r.Offered > 0 {
			r.ServiceLevel = float64(r.AnsweredWithinSL) / float64(r.Offered)
		}
		return r, err
	})
	if err != nil {
		return nil, fault.FromDB(op, err, "")
	}
	return out, nil
}

func millis(ms float64) time.Duration {
	return time.Duration(math.Round(ms * float64(time.Millisecond)))
}

// CategoryFilter selects tickets for CategoryReport by the time they were
// opened.
type CategoryFilter struct {
	From, To time.Time // [From, To)
	Groups   []string  // empty: every group
}

// CategoryRow counts the tickets of one category and group opened in a
// period.
type CategoryRow struct {
	Category string // a reference ("stampa", "applicativi/pct"); "" uncategorised
	Group    string
	Tickets  int // opened in the period
	Open     int // of them, not closed now
}

// CategoryReport counts the tickets opened in [f.From, f.To) per category
// and group, the uncategorised ones as category "". A ticket merged into
// another is left out: its problem is counted once, in the ticket that
// carries on. Rows come ordered by category (uncategorised last), then
// group.
func (s *Store) CategoryReport(ctx context.Context, f CategoryFilter) ([]CategoryRow, error) {
	const op = "category report"
	if f.From.IsZero() || f.To.IsZero() || !f.From.Before(f.To) {
		return nil, fmt.Errorf("%s: %w", op, fault.Errorf(fault.EINVALID, "report needs From before To"))
	}
	var groups []string
	if len(f.Groups) > 0 {
		groups = f.Groups
	}
	rows, err := s.pool.Query(ctx, `
		SELECT t.category, t.group_id, count(*), count(*) FILTER (WHERE t.status <> 'closed')
		FROM tickets t
		WHERE t.created_at >= $1 AND t.created_at < $2 AND t.merged_into IS NULL
			AND ($3::text[] IS NULL OR t.group_id = ANY($3))
		GROUP BY 1, 2
		ORDER BY t.category = '', 1, 2`, f.From, f.To, groups)
	if err != nil {
		return nil, fault.FromDB(op, err, "")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (CategoryRow, error) {
		var r CategoryRow
		return r, row.Scan(&r.Category, &r.Group, &r.Tickets, &r.Open)
	})
	if err != nil {
		return nil, fault.FromDB(op, err, "")
	}
	return out, nil
}
