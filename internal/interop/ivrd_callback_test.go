package interop

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/realasterisk"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// callbackPhone is the caller's number; the callback reaches it through
// op202's address, a test phone that stands for the carrier here
// (callback.endpoint "PJSIP/{national}@op202", the shape of
// "PJSIP/{national}@carrier"; op202 stays logged out of the queues).
const callbackPhone = "3331240031"

// shippedVariant writes the shipped configuration with insert added after
// the line anchor (which must be there) as name in the test's directory,
// and returns its path.
func shippedVariant(t *testing.T, name, anchor, insert string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "configs", "helpdesk.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(b), anchor, anchor+insert, 1)
	if src == string(b) {
		t.Fatalf("configs/helpdesk.yaml has no line %q", anchor)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// lotto2Line is where the variants add a setting of lotto2's.
const lotto2Line = "    emails: [lotto2@assistenza.example]\n"

// TestIvrdCallback: on a real Asterisk through the ivrd binary, a caller
// queued for lotto2 (its operator on a break) presses 2 and 1 to be called
// back on their own number and is let go; when the operator is available
// their phone rings first, then ivrd originates the call to the caller's
// phone (a sipp UAS) with the help desk's number and Asterisk bridges the
// two. With voicemail detection on (as shipped for Lotto 4), the call goes
// through AMD() first: the phone answers with a short "Pronto?" (a tone)
// and silence, which AMD() takes for a person. PostgreSQL keeps the
// callback's steps in the call's timeline.
func TestIvrdCallback(t *testing.T) {
	t.Parallel()
	d, rec := requestCallback(t, "helpdesk-callback.yaml", "detect_voicemail: true, retries: 0")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	hello, err := realasterisk.GreetingPcap(t.TempDir(), 600*time.Millisecond, 4*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	d.Phone(t, "op201", realasterisk.PhoneOptions{AnswerAfter: time.Second, Timeout: 2 * time.Minute})
	d.Phone(t, "op202", realasterisk.PhoneOptions{AnswerAfter: 2 * time.Second, Timeout: 2 * time.Minute, Greeting: hello})
	d.SetAvailable(t, "op201")
	d.Obs.Wait(ctx, t, "the caller's phone bridged with op201's", func(o *Observer) bool { return bridged(o, "op201", "op202") })
	events := d.WaitCallEvent(ctx, t, rec, tickets.EventAnswered)
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, string(e.Kind)+" "+e.Operator)
	}
	want := []string{"callback_requested ", "offered op201", "callback_made op201", "callback_answered op201", "answered op201"}
	i := 0
	for _, k := range kinds {
		if i < len(want) && k == want[i] {
			i++
		}
	}
	if i < len(want) {
		t.Errorf("timeline %v lacks %v", kinds, want)
	}
	if leg := phoneChannels(d.Obs, "op202"); len(leg) != 1 || !slices.Contains(leg[0].Dialplan, "ivr-callback-amd,s,AMD") {
		t.Errorf("the call to the caller did not go through AMD(): %+v", leg)
	}
	waitFor(ctx, t, "the ticket to op201", func() (tickets.Ticket, bool) {
		tk := d.Ticket(ctx, t, rec)
		return tk, tk.Assignee == "op201" && tk.Status == tickets.StatusInProgress
	})
	if v := d.Metric(t, `ivr_queue_callbacks_total{event="answered",group="lotto2"}`); v != 1 {
		t.Errorf("ivr_queue_callbacks_total answered = %v", v)
	}
}

// TestIvrdCallbackVoicemail: the caller's phone answers with seven seconds
// of speech (sipp's bundled capture), an answering machine's greeting to
// AMD() on the real Asterisk: the operator is never put through to it, the
// attempt counts as no answer and, with no retry left, the group gets the
// ticket back as a task saying why.
func TestIvrdCallbackVoicemail(t *testing.T) {
	t.Parallel()
	d, rec := requestCallback(t, "helpdesk-callback-voicemail.yaml", "detect_voicemail: true, retries: 0")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	d.Phone(t, "op201", realasterisk.PhoneOptions{AnswerAfter: time.Second, Timeout: 2 * time.Minute})
	d.Phone(t, "op202", realasterisk.PhoneOptions{AnswerAfter: 2 * time.Second, Timeout: 2 * time.Minute, Greeting: realasterisk.SpeechPcap})
	d.SetAvailable(t, "op201")
	events := d.WaitCallEvent(ctx, t, rec, "callback_failed")
	i := slices.IndexFunc(events, func(e tickets.CallEvent) bool { return e.Kind == "callback_failed" })
	if !strings.HasPrefix(events[i].Detail, "voicemail (MACHINE ") {
		t.Errorf("the callback failed for %q, want AMD()'s MACHINE verdict; timeline %v", events[i].Detail, eventKinds(events))
	}
	if hasKind(events, tickets.EventAnswered) || hasKind(events, "callback_answered") {
		t.Errorf("the operator was put through to the answering machine: %v", eventKinds(events))
	}
	leg := phoneChannels(d.Obs, "op202")
	if len(leg) != 1 || !slices.Contains(leg[0].Dialplan, "ivr-callback-amd,s,AMD") {
		t.Errorf("the call to the caller did not go through AMD(): %+v", leg)
	}
	for _, c := range leg {
		if c.Bridged {
			t.Errorf("Asterisk bridged the answering machine (%s): %v", c.Name, c.Events)
		}
	}
	waitFor(ctx, t, "the ticket back to lotto2 as a task", func() (tickets.Ticket, bool) {
		tk := d.Ticket(ctx, t, rec)
		return tk, tk.Assignee == "" && tk.Group == "lotto2" && tk.Priority == tickets.PriorityHigh
	})
	if v := d.Metric(t, `ivr_queue_callbacks_total{event="failed",group="lotto2"}`); v != 1 {
		t.Errorf("ivr_queue_callbacks_total failed = %v", v)
	}
}

// requestCallback starts a desk whose lotto2 offers callbacks (with the
// extra settings) to callbackPhone through op202's address, op201 on a
// break, and has the caller ask for a callback on their own number; it
// returns the desk and the record of the call that asked.
func requestCallback(t *testing.T, name, settings string) (*Desk, tickets.Call) {
	t.Helper()
	variant := shippedVariant(t, name, lotto2Line,
		`    callback: {enabled: true, key: "2", endpoint: "PJSIP/{national}@op202", caller_id: "800749049", `+settings+`}`+"\n")
	d := StartDesk(t, DeskOptions{Clock: mondayClock, Config: variant, Phones: []string{"op201", "op202"}, Available: []string{}})
	d.SetPaused(t, "op201")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	// 1 and 2 lead to lotto2; the transfer prompt with the ticket number
	// lasts about 14 s, then the queue's announcements, which a key stops:
	// 2 asks for the callback, 1 (within the choice) takes the caller id.
	keys := slices.Concat(keyed("12", keyGap, keyGap), keyed("2", 22*time.Second, 0), keyed("1", 4*time.Second, 0))
	d.Caller(t, realasterisk.CallOptions{Caller: callbackPhone, Keys: keys, Timeout: 3 * time.Minute})
	call := d.CallOf(ctx, t, callbackPhone)
	rec, events := d.WaitEnded(ctx, t, call)
	if rec.Outcome != "callback_requested" || !hasKind(events, "callback_requested") {
		t.Fatalf("the call ended %+v; events %v", rec, eventKinds(events))
	}
	// The caller heard the confirmation to its end: the goodbye follows
	// it (the queue's wait, stopped for the callback, once cut it short).
	hasSequence(t, d.Summary(ctx, t, rec, events), system("callback_confirmed"), system("goodbye"))
	return d, rec
}

// phoneChannels are the channels Asterisk made to a test phone.
func phoneChannels(o *Observer, phone string) []Channel {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []Channel
	for _, ch := range o.channels {
		if strings.HasPrefix(ch.Name, "PJSIP/"+phone+"-") {
			out = append(out, ch.Channel)
		}
	}
	return out
}

// bridged: Asterisk has a bridge with both phones' channels in it.
func bridged(o *Observer, a, b string) bool {
	for _, chans := range o.bridges {
		var inA, inB bool
		for _, c := range chans {
			if ch := o.channels[c]; ch != nil {
				inA = inA || strings.HasPrefix(ch.Name, "PJSIP/"+a+"-")
				inB = inB || strings.HasPrefix(ch.Name, "PJSIP/"+b+"-")
			}
		}
		if inA && inB {
			return true
		}
	}
	return false
}
