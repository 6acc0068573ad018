package tickets_test

import (
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// TestSurveysStoredAndReported: surveys are kept with the call and the
// ticket (a second save, the comment, replaces the first); the CSAT
// report counts them per group, per operator and per hour of the day in
// the service's zone, with the share of 4–5 and the average over the
// rated ones only; a group filter and the period bound it.
func TestSurveysStoredAndReported(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t, t0)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute).In(rome) }
	type given struct {
		group, op string
		min       int // minutes after 9:00
		rating    int // 0: skipped
	}
	var first tickets.Survey
	var firstTicket tickets.Ticket
	for i, g := range []given{
		{"lotto6", "op601", 0, 5}, {"lotto6", "op601", 10, 4}, {"lotto6", "op602", 70, 2},
		{"lotto6", "op602", 75, 0}, {"lotto2", "op201", 80, 3}, {"lotto2", "op201", 24 * 60, 5}, // the next day: out of range
	} {
		c, tk := open(t, s, tickets.NewCall{StartedAt: at(g.min - 5)})
		sv := tickets.Survey{CallID: c.ID, TicketID: tk.ID, AskedAt: at(g.min), Group: g.group, Operator: g.op}
		if g.rating > 0 {
			sv.Rating, sv.RatedAt = g.rating, at(g.min).Add(4*time.Second)
		} else {
			sv.Skipped = tickets.SurveyTimeout
		}
		noErr(t, s.SaveSurvey(ctx, sv))
		if i == 0 {
			sv.CommentURI, sv.CommentDuration = "ari:recording:survey-1", 7*time.Second
			noErr(t, s.SaveSurvey(ctx, sv))
			first, firstTicket = sv, tk
		}
	}
	got := must[[]tickets.Survey](t)(s.SurveysOfTicket(ctx, firstTicket.ID, everyone))
	equal(t, "surveys of the ticket", got, []tickets.Survey{first})
	equal(t, "survey of the call", must[tickets.Survey](t)(s.FindSurvey(ctx, first.CallID)), first)
	_, err := s.SurveysOfTicket(ctx, firstTicket.ID, tickets.Viewer{Kind: tickets.ViewerStaffGroups, Groups: []string{"lotto2"}})
	wantErr(t, err, fault.ErrNotFound) // the ticket has no group lotto2 sees

	for _, bad := range []tickets.Survey{
		{CallID: first.CallID, AskedAt: at(0), Group: "lotto6", Rating: 6, RatedAt: at(0)},
		{CallID: first.CallID, AskedAt: at(0), Group: "lotto6"}, // neither rated nor skipped
		{CallID: first.CallID, AskedAt: at(0), Group: "lotto6", Rating: 3, RatedAt: at(0), Skipped: tickets.SurveyHangup},
		{CallID: first.CallID, AskedAt: at(0), Rating: 3, RatedAt: at(0)},
	} {
		wantErr(t, s.SaveSurvey(ctx, bad), fault.ErrInvalid)
	}
	wantErr(t, s.SaveSurvey(ctx, tickets.Survey{CallID: 999999, AskedAt: at(0), Group: "g", Rating: 1, RatedAt: at(0)}), fault.ErrNotFound)

	day := tickets.CSATFilter{From: at(0), To: at(24 * 60)}
	rep := must[tickets.CSATReport](t)(s.CSAT(ctx, day))
	equal(t, "total", rep.Total, tickets.CSATRow{Asked: 5, Rated: 4, Satisfied: 2, CSAT: 0.5, Average: 3.5})
	equal(t, "by group", rep.ByGroup, []tickets.CSATRow{
		{Group: "lotto2", Asked: 1, Rated: 1, Satisfied: 0, CSAT: 0, Average: 3},
		{Group: "lotto6", Asked: 4, Rated: 3, Satisfied: 2, CSAT: 2.0 / 3, Average: 11.0 / 3},
	})
	equal(t, "by operator", rep.ByOperator, []tickets.CSATRow{
		{Operator: "op201", Asked: 1, Rated: 1, Average: 3},
		{Operator: "op601", Asked: 2, Rated: 2, Satisfied: 2, CSAT: 1, Average: 4.5},
		{Operator: "op602", Asked: 2, Rated: 1, Satisfied: 0, Average: 2},
	})
	equal(t, "by hour (Rome)", rep.ByHour, []tickets.CSATRow{
		{Hour: 9, Asked: 2, Rated: 2, Satisfied: 2, CSAT: 1, Average: 4.5},
		{Hour: 10, Asked: 3, Rated: 2, Satisfied: 0, Average: 2.5},
	})
	only := must[tickets.CSATReport](t)(s.CSAT(ctx, tickets.CSATFilter{From: day.From, To: day.To, Groups: []string{"lotto2"}}))
	equal(t, "lotto2 only", only.Total, tickets.CSATRow{Asked: 1, Rated: 1, Average: 3})
	none := must[tickets.CSATReport](t)(s.CSAT(ctx, tickets.CSATFilter{From: at(-120), To: at(-60)}))
	equal(t, "no survey", none, tickets.CSATReport{})
	_, err = s.CSAT(ctx, tickets.CSATFilter{From: day.To, To: day.From})
	wantErr(t, err, fault.ErrInvalid)
}
