package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/webhooks"
)

// TestSurveyRatedWebhook: the controller's "rated" survey step becomes a
// survey.rated event ordered with the call's other events; the other
// survey steps make none.
func TestSurveyRatedWebhook(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 23, 10, 5, 0, 0, time.UTC)
	ev, ok := callWebhookEvent(ivr.Event{Time: at, CallID: "c1", Kind: ivr.EvSurvey, Result: "rated", Rating: 5,
		Group: "lotto6", Operator: "op601", Ticket: "2026112300017"})
	if !ok || ev.Type != webhooks.SurveyRated || ev.OrderKey != "call:c1" || !ev.At.Equal(at) {
		t.Fatalf("event %+v, %v", ev, ok)
	}
	b, err := json.Marshal(ev.Data)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"call_id":"c1","group":"lotto6","operator":"op601","ticket_number":"2026112300017","rating":5}`; string(b) != want {
		t.Errorf("data %s, want %s", b, want)
	}
	for _, r := range []string{"asked", "skipped", "comment", "commented"} {
		if ev, ok := callWebhookEvent(ivr.Event{CallID: "c1", Kind: ivr.EvSurvey, Result: r}); ok {
			t.Errorf("survey step %s made %+v", r, ev)
		}
	}
	if ev, ok := callWebhookEvent(ivr.Event{CallID: "c1", Kind: ivr.EvOutcome, Outcome: "answered"}); !ok || ev.Type != webhooks.CallEnded {
		t.Errorf("outcome made %+v, %v", ev, ok)
	}
}
