package ivr_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
	"github.com/helpdesk-ivr/ivr/ivr/simdesk"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// Conversations of lotto2 (keys 1 2), answered by op201, recorded as
// mode says ("" leaves the shipped configuration: not recorded).
func recordingRig(t *testing.T, mode menu.RecordingMode, op arisim.EndpointBehavior) (*qrig, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	r := newQueueRig(t, "", func(cfg *menu.Config) {
		if mode != "" {
			cfg.Group("lotto2").Recording = menu.Recording{Mode: mode, RefuseKey: "9", RefuseWait: 3 * time.Second}
		}
	}, withRegistry(reg))
	r.sim.SetEndpoint("PJSIP/op201", op)
	r.available("op201")
	return r, reg
}

// recordings are the conversation recordings attached to the call's
// ticket, once the call is over.
func (r *qrig) recordings(c *arisim.Call) (tickets.Call, []tickets.Attachment) {
	r.t.Helper()
	r.outcome(c.ID())
	waitDone(r.t, c)
	call, _, ok := r.mem.Call(c.ID())
	if !ok {
		r.t.Fatal("no call record")
	}
	_, atts, _ := r.mem.Ticket(call.TicketID)
	var out []tickets.Attachment
	for _, a := range atts {
		if strings.HasPrefix(a.URI, "ari:recording:conversation-") {
			out = append(out, a)
		}
	}
	return call, out
}

// stored reports whether Asterisk keeps a recording of that name.
func (r *qrig) stored(name string) bool {
	r.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, r.sim.URL()+"/recordings/stored/"+name, nil)
	req.SetBasicAuth(simdesk.User, simdesk.Password)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

func (r *qrig) recordingSteps(callID string) []string {
	var out []string
	for _, e := range r.eventsOf(callID) {
		if e.Kind == ivr.EvCallRecording {
			out = append(out, e.Result)
		}
	}
	return out
}

func heardPrompt(r *qrig, callID, name string) bool {
	for _, e := range r.eventsOf(callID) {
		if e.Kind == ivr.EvPrompt && slices.Contains(e.Prompt, name) {
			return true
		}
	}
	return false
}

func TestRecordingOff(t *testing.T) {
	r, reg := recordingRig(t, "", operatorEnds(6*time.Second))
	c := r.call("3331234567")
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "12")
	if op := r.answeredBy(c.ID()); op != "op201" {
		t.Fatalf("answered by %s", op)
	}
	_, recs := r.recordings(c)
	if len(recs) != 0 || heardPrompt(r, c.ID(), "system:recording_notice") || len(r.recordingSteps(c.ID())) != 0 {
		t.Fatalf("recorded %v, steps %v\n%s", recs, r.recordingSteps(c.ID()), r.transcript(c.ID()))
	}
	if n := metric(t, reg, "ivr_conversations_recorded_total"); n != 0 {
		t.Errorf("recorded metric %v", n)
	}
}

// announce: the caller hears the notice before the operator joins; the
// conversation is recorded from then to the operator's hangup, kept by
// Asterisk and attached to the ticket.
func TestRecordingAnnounced(t *testing.T) {
	r, reg := recordingRig(t, menu.RecordingAnnounce, operatorEnds(8*time.Second))
	c := r.call("3331234567")
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "12")
	r.waitPrompt(c.ID(), "system:recording_notice")
	if op := r.answeredBy(c.ID()); op != "op201" {
		t.Fatalf("answered by %s", op)
	}
	call, recs := r.recordings(c)
	if len(recs) != 1 {
		t.Fatalf("recordings %v\n%s", recs, r.transcript(c.ID()))
	}
	a := recs[0]
	if a.Duration < 6*time.Second || a.Duration > 9*time.Second || a.ContentType != "audio/wav" {
		t.Errorf("recording %+v, want about 8 s of wav", a)
	}
	name, _ := tickets.RecordingName(a.URI)
	if !r.stored(name) || tickets.KindOf(name) != tickets.RecordingConversation {
		t.Errorf("%s not kept by Asterisk, or not a conversation", name)
	}
	if got := r.recordingSteps(c.ID()); !slices.Equal(got, []string{"announced", "started", "kept"}) {
		t.Errorf("steps %v", got)
	}
	tl := r.timeline(c.ID())
	if !slices.Contains(tl, "recording_started lotto2 op201") || !slices.Contains(tl, "recorded lotto2") {
		t.Errorf("timeline %v", tl)
	}
	if call.Outcome != tickets.OutcomeAnswered || call.HangupBy != tickets.HangupOperator {
		t.Errorf("call %+v", call)
	}
	if n := metric(t, reg, "ivr_conversations_recorded_total", "group", "lotto2"); n != 1 {
		t.Errorf("recorded metric %v", n)
	}
}

// refusable, refused: the key during the notice means no recording, and
// the refusal is in the ticket's history and the metrics.
func TestRecordingRefused(t *testing.T) {
	r, reg := recordingRig(t, menu.RecordingRefusable, operatorEnds(6*time.Second))
	c := r.call("3331234567")
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "12")
	r.waitPrompt(c.ID(), "system:recording_notice")
	press(t, c, "9")
	r.waitPrompt(c.ID(), "system:recording_refused")
	if op := r.answeredBy(c.ID()); op != "op201" {
		t.Fatalf("answered by %s", op)
	}
	call, recs := r.recordings(c)
	if len(recs) != 0 {
		t.Fatalf("recorded although refused: %v", recs)
	}
	if got := r.recordingSteps(c.ID()); !slices.Equal(got, []string{"refused"}) {
		t.Errorf("steps %v", got)
	}
	if tl := r.timeline(c.ID()); !slices.Contains(tl, "recording_refused lotto2") {
		t.Errorf("timeline %v", tl)
	}
	ch := r.mem.Changes(call.TicketID)
	if len(ch) != 1 || ch[0].Field != tickets.FieldRecording || ch[0].Actor.Kind != tickets.ActorCaller {
		t.Errorf("history %+v", ch)
	}
	if n := metric(t, reg, "ivr_recording_refusals_total", "group", "lotto2"); n != 1 {
		t.Errorf("refusals metric %v", n)
	}
}

// refusable, not refused: recorded; a key that is not the refusing one
// changes nothing.
func TestRecordingRefusableAccepted(t *testing.T) {
	r, _ := recordingRig(t, menu.RecordingRefusable, operatorEnds(6*time.Second))
	c := r.call("3331234567")
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "12")
	r.waitPrompt(c.ID(), "system:recording_refuse")
	press(t, c, "5")
	if op := r.answeredBy(c.ID()); op != "op201" {
		t.Fatalf("answered by %s", op)
	}
	_, recs := r.recordings(c)
	if len(recs) != 1 || heardPrompt(r, c.ID(), "system:recording_refused") {
		t.Fatalf("recordings %v\n%s", recs, r.transcript(c.ID()))
	}
}

// The operator pauses the recording (twice: no error) and resumes it;
// the paused time is not recorded, both steps are in the ticket's
// history with the operator; the caller hangs up while it records: the
// recording is kept and attached. A call that is not recorded answers
// ErrNotRecording.
func TestRecordingPauseResumeAndCallerHangup(t *testing.T) {
	r, reg := recordingRig(t, menu.RecordingAnnounce, answerAfter(time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := r.call("3331234567")
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "12")
	if err := r.ctrl.Act(ctx, c.ID(), ivr.Action{Kind: ivr.ActionRecordingPause, By: "op201"}); !errors.Is(err, ivr.ErrNotNow) {
		t.Fatalf("pause before the operator: %v, want ErrNotNow", err)
	}
	r.answeredBy(c.ID())
	r.waitFor(c.ID(), "recording started", func(e ivr.Event) bool { return e.Kind == ivr.EvCallRecording && e.Result == "started" })
	waitSim(r.rig, 4*time.Second)
	for range 2 {
		if err := r.ctrl.Act(ctx, c.ID(), ivr.Action{Kind: ivr.ActionRecordingPause, By: "op201"}); err != nil {
			t.Fatalf("pause: %v", err)
		}
	}
	waitSim(r.rig, 20*time.Second)
	if err := r.ctrl.Act(ctx, c.ID(), ivr.Action{Kind: ivr.ActionRecordingResume, By: "op201"}); err != nil {
		t.Fatalf("resume: %v", err)
	}
	waitSim(r.rig, 4*time.Second)
	c.Hangup()
	call, recs := r.recordings(c)
	if len(recs) != 1 {
		t.Fatalf("recordings %v\n%s", recs, r.transcript(c.ID()))
	}
	if d := recs[0].Duration; d < 7*time.Second || d > 14*time.Second {
		t.Errorf("duration %s: want about 8 s (28 s less 20 paused)", d)
	}
	if got := r.recordingSteps(c.ID()); !slices.Equal(got, []string{"announced", "started", "paused", "resumed", "kept"}) {
		t.Errorf("steps %v", got)
	}
	var hist []string
	for _, ch := range r.mem.Changes(call.TicketID) {
		hist = append(hist, string(ch.Actor.Kind)+":"+ch.Actor.ID+":"+ch.New)
	}
	if !slices.Equal(hist, []string{"operator:op201:sospesa", "operator:op201:ripresa"}) {
		t.Errorf("history %v", hist)
	}
	if call.HangupBy != tickets.HangupCaller {
		t.Errorf("hangup by %s", call.HangupBy)
	}
	if n := metric(t, reg, "ivr_recording_pauses_total", "group", "lotto2"); n != 1 {
		t.Errorf("pauses metric %v", n)
	}

	// Not recorded (group off): the console's pause is refused.
	r2, _ := recordingRig(t, "", answerAfter(time.Second))
	c2 := r2.call("3331234568")
	r2.waitPrompt(c2.ID(), "node:root")
	press(t, c2, "12")
	r2.answeredBy(c2.ID())
	if err := r2.ctrl.Act(ctx, c2.ID(), ivr.Action{Kind: ivr.ActionRecordingPause, By: "op201"}); !errors.Is(err, ivr.ErrNotRecording) {
		t.Errorf("pause unrecorded: %v, want ErrNotRecording", err)
	}
	c2.Hangup()
	r2.outcome(c2.ID())
}

// waitSim waits until d of the rig's clock has passed.
func waitSim(r *rig, d time.Duration) {
	r.t.Helper()
	until := r.clk.Now().Add(d)
	waitUntil(r.t, "simulated time", func() bool { return !r.clk.Now().Before(until) })
}

// A recorded conversation taken over by another controller (the first
// stopped) is still attached when it ends: Asterisk kept recording it.
func TestRecordingAfterTakeover(t *testing.T) {
	r, _ := recordingRig(t, menu.RecordingAnnounce, operatorEnds(40*time.Second))
	c := r.call("3331234567")
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "12")
	r.answeredBy(c.ID())
	r.waitFor(c.ID(), "recording started", func(e ivr.Event) bool { return e.Kind == ivr.EvCallRecording && e.Result == "started" })
	second := newController(t, r.rig, func(o *ivr.Options) { o.Queues = r.q })
	if e := second.waitKind(c.ID(), ivr.EvAnswered); e.Reason != "resumed talking" {
		t.Fatalf("conversation taken over: %+v", e)
	}
	second.waitFor(c.ID(), "recording adopted", func(e ivr.Event) bool { return e.Kind == ivr.EvCallRecording && e.Reason == "resumed" })
	second.outcome(c.ID())
	waitDone(t, c)
	call, _, _ := r.mem.Call(c.ID())
	_, atts, _ := r.mem.Ticket(call.TicketID)
	var recs []tickets.Attachment
	for _, a := range atts {
		if strings.HasPrefix(a.URI, "ari:recording:conversation-") {
			recs = append(recs, a)
		}
	}
	if len(recs) != 1 || recs[0].Duration < 35*time.Second || recs[0].Duration > 45*time.Second {
		t.Fatalf("recordings %+v: want the whole 40 s conversation\n%s", recs, second.transcript(c.ID()))
	}
}
