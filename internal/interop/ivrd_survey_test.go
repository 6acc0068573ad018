package interop

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/realasterisk"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// TestIvrdSurveyRated: on a real Asterisk through the ivrd binary, the
// operator of lotto6 (whose survey asks for a comment) hangs up; the
// caller, taken out of the bridge, hears the question, rates 5, speaks a
// comment after the beep and ends it with #. PostgreSQL keeps the rating
// and the comment (recorded by Asterisk, attached to the ticket); the
// call record keeps the operator's hang-up.
func TestIvrdSurveyRated(t *testing.T) {
	t.Parallel()
	d := StartDesk(t, DeskOptions{Clock: mondayClock, Phones: []string{"op601"}})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cfg := shipped(t)
	monday := time.Date(2026, 11, 16, 10, 0, 0, 0, cfg.Location())
	// sipp's keys are timed from the answer, not driven by what it hears:
	// the operator is hung up at hangAt (the bridge is up well before:
	// menu keys at 3 and 6 s, then about 14 s of transfer prompt); the
	// 5 comes 10 s later, within the question (10.5 s, then 5 s to
	// answer, then once more); the comment's prompt (9.5 s) follows the 5
	// at once, so the speech and the # are timed from the 5.
	const hangAt = 36 * time.Second
	keys := slices.Concat(keyed("16", keyGap, keyGap), []realasterisk.Key{
		{After: hangAt + 10*time.Second - 2*keyGap, Digit: '5'},
		{After: 12 * time.Second, Audio: realasterisk.SpeechPcap}, // 7 s of speech, from the beep
		{After: 9 * time.Second, Digit: '#'},
	})
	c := ivrdCase{
		name: "the caller rates the conversation and leaves a comment", caller: "3331240020",
		phones: []phoneSpec{answers("op601")}, keys: keys,
		act: func(ctx context.Context, t *testing.T, d *Desk, ch string) {
			start := time.Now() // sipp has just placed the call
			op := d.Obs.BridgedWith(ctx, t, ch, "PJSIP/op")
			// Aligned with the caller's timed keys (above), not a wait for
			// a state: the state (bridged) is waited for first.
			select {
			case <-time.After(time.Until(start.Add(hangAt))):
			case <-ctx.Done():
			}
			d.HangUp(ctx, t, d.Obs.ChannelByName(op))
		},
		outcome: tickets.OutcomeAnswered, hangupBy: tickets.HangupOperator, group: "lotto6",
		check: func(ctx context.Context, t *testing.T, d *Desk, c Call, rec tickets.Call, events []tickets.CallEvent) {
			sv, err := d.Store.FindSurvey(ctx, rec.ID)
			if err != nil || sv.Rating != 5 || sv.Group != "lotto6" || sv.Operator != "op601" || sv.TicketID != rec.TicketID {
				t.Fatalf("survey %+v, %v; events %v; media:\n%s", sv, err, eventKinds(events), mediaLines(c))
			}
			if sv.CommentURI == "" || sv.CommentDuration < 5*time.Second {
				t.Errorf("comment %q of %s, want the caller's 7 s of speech", sv.CommentURI, sv.CommentDuration)
			}
			atts, err := d.Store.Attachments(ctx, rec.TicketID, tickets.Viewer{Kind: tickets.ViewerSystem})
			if err != nil || !slices.ContainsFunc(atts, func(a tickets.Attachment) bool { return a.URI == sv.CommentURI }) {
				t.Errorf("the comment is not on the ticket: %+v, %v", atts, err)
			}
			if !hasKind(events, tickets.EventSurveyRated) || hasKind(events, tickets.EventSurveySkipped) {
				t.Errorf("events %v", eventKinds(events))
			}
			hasSequence(t, c, system("survey_comment"), system("survey_thanks"))
			if !rec.EndedAt.Before(sv.RatedAt) {
				t.Errorf("the conversation ended at %s, after the rating (%s)", rec.EndedAt, sv.RatedAt)
			}
		},
	}
	if why := runIvrdCase(ctx, t, d, cfg, monday, c); why != "" {
		t.Fatalf("known defect: %s", why)
	}
}
