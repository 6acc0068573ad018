package ivr_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// The shipped configuration asks lotto6's callers (keys 1 6) for a
// rating and a comment once the operator hangs up; lotto2 (keys 1 2)
// asks nothing.

// operatorEnds is an operator who answers after a second and ends the
// conversation after talk.
func operatorEnds(talk time.Duration) arisim.EndpointBehavior {
	return arisim.EndpointBehavior{Mode: arisim.Answer, AnswerAfter: time.Second, HangupAfter: talk}
}

// surveyRig is a queue rig whose op601 (lotto6) and op201 (lotto2) end
// their conversations after 4 s; tune adjusts lotto6's survey.
func surveyRig(t *testing.T, tune func(*menu.Survey)) (*qrig, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	r := newQueueRig(t, "", func(cfg *menu.Config) {
		if tune != nil {
			tune(&cfg.Group("lotto6").Survey)
		}
	}, withRegistry(reg))
	r.sim.SetEndpoint("PJSIP/op601", operatorEnds(4*time.Second))
	r.sim.SetEndpoint("PJSIP/op201", operatorEnds(4*time.Second))
	r.available("op601", "op201")
	return r, reg
}

// surveyOf waits for the call's end and returns its record, timeline
// kinds and survey.
func (r *qrig) surveyOf(c *arisim.Call) (tickets.Call, []string, tickets.Survey, bool) {
	r.t.Helper()
	out := r.outcome(c.ID())
	if out.Outcome != string(tickets.OutcomeAnswered) {
		r.t.Fatalf("outcome %+v\n%s", out, r.transcript(c.ID()))
	}
	waitDone(r.t, c)
	call, evs, ok := r.mem.Call(c.ID())
	if !ok {
		r.t.Fatalf("no call record")
	}
	var kinds []string
	for _, e := range evs {
		kinds = append(kinds, string(e.Kind))
	}
	sv, ok := r.mem.Survey(call.ID)
	return call, kinds, sv, ok
}

func (r *rig) surveySteps(callID string) []string {
	var out []string
	for _, e := range r.eventsOf(callID) {
		if e.Kind == ivr.EvSurvey {
			out = append(out, e.Result+e.Reason)
		}
	}
	return out
}

// metric is a counter's value or a histogram's sample count in reg.
func metric(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					found = found || (l.GetName() == labels[i] && l.GetValue() == labels[i+1])
				}
				if !found {
					continue next
				}
			}
			if h := m.GetHistogram(); h != nil {
				return float64(h.GetSampleCount())
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// TestSurveyGivenWithComment: the operator hangs up; the caller, left on
// the line, rates 5 and leaves a comment; the rating, the comment and the
// conversation's group and operator are kept with the call, the comment
// on the ticket too; the call record still says the operator ended the
// conversation, answered; the rating is an event for the webhooks and
// the metrics.
func TestSurveyGivenWithComment(t *testing.T) {
	r, reg := surveyRig(t, nil)
	c := r.call("3331234567", arisim.CallOptions{SpeakOnRecord: 3 * time.Second})
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "16")
	if op := r.answeredBy(c.ID()); op != "op601" {
		t.Fatalf("answered by %s", op)
	}
	r.waitPrompt(c.ID(), "system:survey_ask")
	press(t, c, "5")
	rated := r.waitFor(c.ID(), "rating", func(e ivr.Event) bool { return e.Kind == ivr.EvSurvey && e.Result == "rated" })
	if rated.Rating != 5 || rated.Group != "lotto6" || rated.Operator != "op601" || rated.Ticket == "" {
		t.Errorf("rated event %+v", rated)
	}
	r.waitPrompt(c.ID(), "system:survey_comment")
	r.waitPrompt(c.ID(), "system:survey_thanks")
	call, kinds, sv, ok := r.surveyOf(c)
	if !ok || sv.Rating != 5 || sv.Skipped != "" || sv.Group != "lotto6" || sv.Operator != "op601" ||
		sv.TicketID != call.TicketID || sv.AskedAt.IsZero() || sv.RatedAt.Before(sv.AskedAt) {
		t.Fatalf("survey %+v (%v)", sv, ok)
	}
	if sv.CommentURI == "" || sv.CommentDuration < 3*time.Second {
		t.Errorf("comment %q %s, want ≥ 3s", sv.CommentURI, sv.CommentDuration)
	}
	if call.HangupBy != tickets.HangupOperator || call.Outcome != tickets.OutcomeAnswered || call.Operator != "op601" ||
		!call.EndedAt.Before(sv.AskedAt.Add(time.Second)) {
		t.Errorf("call record %+v: the conversation ends when the operator hangs up", call)
	}
	if !slices.Contains(kinds, string(tickets.EventSurveyRated)) || slices.Contains(kinds, string(tickets.EventSurveySkipped)) {
		t.Errorf("timeline %v", kinds)
	}
	_, atts, _ := r.mem.Ticket(call.TicketID)
	if !slices.ContainsFunc(atts, func(a tickets.Attachment) bool { return a.URI == sv.CommentURI }) {
		t.Errorf("the comment %s is not on the ticket: %+v", sv.CommentURI, atts)
	}
	if got := r.surveySteps(c.ID()); !slices.Equal(got, []string{"asked", "rated", "comment", "commented"}) {
		t.Errorf("survey steps %v", got)
	}
	if n := metric(t, reg, "ivr_survey_rating", "group", "lotto6"); n != 1 {
		t.Errorf("ivr_survey_rating{group=lotto6} count %v", n)
	}
	if n := metric(t, reg, "ivr_surveys_given_total", "group", "lotto6"); n != 1 {
		t.Errorf("ivr_surveys_given_total %v", n)
	}
}

// TestSurveySkipped: a hangup during the question, two silences, two
// wrong keys: no rating, the reason kept, the call record complete.
func TestSurveySkipped(t *testing.T) {
	for _, tc := range []struct {
		name  string
		drive func(t *testing.T, r *qrig, c *arisim.Call)
		why   tickets.SurveySkip
		by    string // who hung up the caller's channel, as the caller sees it
	}{
		{"hangup during the question", func(t *testing.T, r *qrig, c *arisim.Call) {
			r.waitPrompt(c.ID(), "system:survey_ask")
			c.Hangup()
		}, tickets.SurveyHangup, arisim.ByCaller},
		{"no answer after a repeat", func(t *testing.T, r *qrig, c *arisim.Call) {
			r.waitPrompt(c.ID(), "system:no_input") // asked again once
			r.waitPrompt(c.ID(), "system:goodbye")
		}, tickets.SurveyTimeout, arisim.ByApp},
		{"wrong keys twice", func(t *testing.T, r *qrig, c *arisim.Call) {
			r.waitPrompt(c.ID(), "system:survey_ask")
			press(t, c, "9")
			r.waitPrompt(c.ID(), "system:invalid")
			press(t, c, "*")
			r.waitPrompt(c.ID(), "system:goodbye")
		}, tickets.SurveyInvalid, arisim.ByApp},
		{"a burst of keys", func(t *testing.T, r *qrig, c *arisim.Call) {
			r.waitPrompt(c.ID(), "system:survey_ask")
			// The call may end (goodbye) before the last keys are sent.
			if err := c.Press("#*0987654321#*"); err != nil && !errors.Is(err, arisim.ErrCallEnded) {
				t.Fatal(err)
			}
			r.waitPrompt(c.ID(), "system:goodbye")
		}, tickets.SurveyInvalid, arisim.ByApp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, reg := surveyRig(t, nil)
			c := r.call("3331234567")
			r.waitPrompt(c.ID(), "node:root")
			press(t, c, "16")
			r.answeredBy(c.ID())
			tc.drive(t, r, c)
			call, kinds, sv, ok := r.surveyOf(c)
			if !ok || sv.Skipped != tc.why || sv.Rating != 0 || sv.Group != "lotto6" || sv.Operator != "op601" {
				t.Fatalf("survey %+v (%v)", sv, ok)
			}
			if call.HangupBy != tickets.HangupOperator || call.EndedAt.IsZero() || call.Operator != "op601" {
				t.Errorf("call record %+v", call)
			}
			if !slices.Contains(kinds, string(tickets.EventSurveySkipped)) || slices.Contains(kinds, string(tickets.EventSurveyRated)) {
				t.Errorf("timeline %v", kinds)
			}
			if end, _ := c.Ended(); end.By != tc.by {
				t.Errorf("the caller's channel ended by %q, want %q", end.By, tc.by)
			}
			tk, _, _ := r.mem.Ticket(call.TicketID)
			if tk.Status != tickets.StatusInProgress || tk.Assignee != "op601" {
				t.Errorf("ticket %+v", tk)
			}
			if n := metric(t, reg, "ivr_surveys_skipped_total", "group", "lotto6", "reason", string(tc.why)); n != 1 {
				t.Errorf("ivr_surveys_skipped_total{reason=%s} = %v", tc.why, n)
			}
			if n := metric(t, reg, "ivr_survey_rating", "group", "lotto6"); n != 0 {
				t.Errorf("a skipped survey observed a rating")
			}
		})
	}
}

// TestSurveyWrongKeyAskedAgain: a wrong key, then 4: rated 4. Without
// comment in the group's survey, the thanks follow the rating.
func TestSurveyWrongKeyAskedAgain(t *testing.T) {
	r, _ := surveyRig(t, func(sv *menu.Survey) { sv.Comment = false })
	c := r.call("3331234567")
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "16")
	r.answeredBy(c.ID())
	r.waitPrompt(c.ID(), "system:survey_ask")
	press(t, c, "0")
	r.waitPrompt(c.ID(), "system:invalid")
	press(t, c, "4")
	r.waitPrompt(c.ID(), "system:survey_thanks")
	_, _, sv, ok := r.surveyOf(c)
	if !ok || sv.Rating != 4 || sv.CommentURI != "" {
		t.Fatalf("survey %+v (%v)", sv, ok)
	}
	if got := r.surveySteps(c.ID()); !slices.Equal(got, []string{"asked", "rated"}) {
		t.Errorf("survey steps %v", got)
	}
}

// TestNoSurvey: a group without a survey, and a caller who hangs up
// first, get none: the call ends as before.
func TestNoSurvey(t *testing.T) {
	for _, tc := range []struct {
		name, keys  string
		callerHangs bool
		by          tickets.HangupBy
	}{
		{"group without survey", "12", false, tickets.HangupOperator},
		{"caller hangs up first", "16", true, tickets.HangupCaller},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, reg := surveyRig(t, nil)
			c := r.call("3331234567")
			r.waitPrompt(c.ID(), "node:root")
			press(t, c, tc.keys)
			r.answeredBy(c.ID())
			if tc.callerHangs {
				time.Sleep(25 * time.Millisecond) // they talk a second
				c.Hangup()
			}
			call, kinds, sv, ok := r.surveyOf(c)
			if ok {
				t.Errorf("survey %+v", sv)
			}
			if call.HangupBy != tc.by {
				t.Errorf("hung up by %s, want %s", call.HangupBy, tc.by)
			}
			if slices.Contains(kinds, string(tickets.EventSurveyRated)) || slices.Contains(kinds, string(tickets.EventSurveySkipped)) {
				t.Errorf("timeline %v", kinds)
			}
			if steps := r.surveySteps(c.ID()); len(steps) > 0 {
				t.Errorf("survey steps %v", steps)
			}
			for _, e := range r.eventsOf(c.ID()) {
				if e.Kind == ivr.EvPrompt && slices.Contains(e.Prompt, "system:survey_ask") {
					t.Errorf("asked: %+v", e)
				}
			}
			if n := metric(t, reg, "ivr_surveys_skipped_total", "group", "lotto6", "reason", "hangup"); n != 0 {
				t.Errorf("counted as skipped")
			}
		})
	}
}

// TestSurveyRingAll: without the operator queues (every phone of the
// group rings), the survey follows the conversation too; # at once ends
// the comment with nothing said: the rating alone is kept.
func TestSurveyRingAll(t *testing.T) {
	r := newRig(t, monday10)
	r.sim.SetEndpoint("PJSIP/op601", operatorEnds(3*time.Second))
	c := r.call("3331234567")
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "16")
	r.waitPrompt(c.ID(), "system:survey_ask")
	press(t, c, "3")
	r.waitFor(c.ID(), "comment", func(e ivr.Event) bool { return e.Kind == ivr.EvSurvey && e.Result == "comment" })
	press(t, c, "#")
	r.waitPrompt(c.ID(), "system:survey_thanks")
	out := r.outcome(c.ID())
	call, _, _ := r.mem.Call(c.ID())
	sv, ok := r.mem.Survey(call.ID)
	if out.Outcome != string(tickets.OutcomeAnswered) || !ok || sv.Rating != 3 || sv.CommentURI != "" || sv.Operator != "op601" {
		t.Fatalf("outcome %+v, survey %+v (%v)\n%s", out, sv, ok, r.transcript(c.ID()))
	}
}

// TestSurveyAfterTakeover: a conversation taken over by another
// controller (the first stopped) still ends with the survey when the
// operator hangs up; the operator is free (wrap-up) during it. (Here the
// first controller frees them as it lets go; the controller that takes
// over frees them as the conversation ends, not after the survey, for a
// first one that died without a word.)
func TestSurveyAfterTakeover(t *testing.T) {
	r := newQueueRig(t, "", nil)
	// 40 s of talk (1 s of real time): the second controller adopts the
	// conversation after its 2 s grace even on a loaded machine; with 8 s
	// the operator once hung up first and the caller was queued again.
	r.sim.SetEndpoint("PJSIP/op601", operatorEnds(40*time.Second))
	r.available("op601")
	c := r.call("3331234567")
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "16")
	r.answeredBy(c.ID())
	second := newController(t, r.rig, func(o *ivr.Options) { o.Queues = r.q })
	if e := second.waitKind(c.ID(), ivr.EvAnswered); e.Reason != "resumed talking" {
		t.Fatalf("conversation taken over: %+v", e)
	}
	second.waitPrompt(c.ID(), "system:survey_ask")
	if st := r.operator("op601").State; st == queues.OnCall {
		t.Errorf("op601 still on call during the survey")
	}
	press(t, c, "2")
	second.waitPrompt(c.ID(), "system:survey_comment")
	c.Hangup()
	out := second.outcome(c.ID())
	call, _, _ := r.mem.Call(c.ID())
	sv, ok := r.mem.Survey(call.ID)
	if out.Outcome != string(tickets.OutcomeAnswered) || !ok || sv.Rating != 2 || sv.Operator != "op601" || call.HangupBy != tickets.HangupOperator {
		t.Fatalf("outcome %+v, call %+v, survey %+v (%v)", out, call, sv, ok)
	}
}
