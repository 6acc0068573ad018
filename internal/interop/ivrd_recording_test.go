package interop

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/realasterisk"
	"github.com/helpdesk-ivr/ivr/panel"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// postForm posts a panel form with the session's token.
func (s *PanelSession) postForm(t *testing.T, path string, form url.Values) *http.Response {
	t.Helper()
	form.Set("csrf", s.csrf)
	resp, err := s.http.PostForm(s.base+path, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestIvrdConversationRecorded: on a real Asterisk through the ivrd
// binary, a caller for lotto2 hears the recording notice, op201 answers
// and Asterisk records the bridge; op201 pauses the recording from the
// console for a while and resumes it, then hangs up. The recording is a
// WAV file in Asterisk's recordings lasting about the conversation less
// the pause, attached to the ticket; the pause and the resume are in the
// ticket's history and the call record.
func TestIvrdConversationRecorded(t *testing.T) {
	t.Parallel()
	variant := shippedVariant(t, "helpdesk-recording.yaml", lotto2Line, "    recording: {mode: announce}\n")
	d := StartDesk(t, DeskOptions{Clock: mondayClock, Config: variant, Phones: []string{"op201"}})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if err := panel.NewUsers(d.DB).Add(ctx, "op201", "Luca Bianchi", panel.RoleOperator, panelPassword, "it"); err != nil {
		t.Fatal(err)
	}
	d.Phone(t, "op201", realasterisk.PhoneOptions{AnswerAfter: time.Second, Timeout: 4 * time.Minute})
	const caller = "3331240040"
	d.Caller(t, realasterisk.CallOptions{Caller: caller, Keys: keyed("12", keyGap, keyGap), Timeout: 4 * time.Minute})
	call := d.CallOf(ctx, t, caller)
	op := d.Obs.BridgedWith(ctx, t, call.ChannelID, "PJSIP/op201")
	d.WaitCallEvent(ctx, t, call, tickets.EventRecordingStarted)
	talkFrom := time.Now()
	sleep := func(d time.Duration) {
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
	}
	sleep(4 * time.Second)
	s := d.LogIn(t, "op201")
	if resp := s.postForm(t, "/console/recording", url.Values{"call": {call.ChannelID}, "action": {"pause"}}); resp.StatusCode != http.StatusOK {
		t.Fatalf("pause: %s", resp.Status) // the redirect to the console, followed
	}
	d.WaitCallEvent(ctx, t, call, tickets.EventRecordingPaused)
	pausedAt := time.Now()
	sleep(10 * time.Second)
	if resp := s.postForm(t, "/console/recording", url.Values{"call": {call.ChannelID}, "action": {"resume"}}); resp.StatusCode != http.StatusOK {
		t.Fatalf("resume: %s", resp.Status)
	}
	d.WaitCallEvent(ctx, t, call, tickets.EventRecordingResumed)
	paused := time.Since(pausedAt)
	sleep(4 * time.Second)
	d.HangUp(ctx, t, d.Obs.ChannelByName(op))
	rec, events := d.WaitEnded(ctx, t, call)
	talked := time.Since(talkFrom)
	if rec.Outcome != tickets.OutcomeAnswered || rec.HangupBy != tickets.HangupOperator {
		t.Fatalf("the call ended %+v; events %v", rec, eventKinds(events))
	}
	if !hasKind(events, tickets.EventRecorded) {
		t.Fatalf("events %v", eventKinds(events))
	}
	var kinds []string
	for _, e := range events {
		if strings.HasPrefix(string(e.Kind), "recording_") {
			kinds = append(kinds, string(e.Kind)+" "+e.Operator)
		}
	}
	if !slices.Equal(kinds, []string{"recording_started op201", "recording_paused op201", "recording_resumed op201"}) {
		t.Errorf("recording steps %v", kinds)
	}
	atts, err := d.Store.Attachments(ctx, rec.TicketID, tickets.Viewer{Kind: tickets.ViewerSystem})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(atts, func(a tickets.Attachment) bool { return strings.HasPrefix(a.URI, "ari:recording:conversation-") })
	if i < 0 {
		t.Fatalf("no conversation recording on the ticket: %+v", atts)
	}
	name, _ := tickets.RecordingName(atts[i].URI)
	secs := wavSeconds(t, filepath.Join(d.A.Dir, "spool", "recording", name+".wav"))
	want := (talked - paused).Seconds()
	t.Logf("conversation %.1f s, paused %.1f s; the file lasts %.1f s, the attachment says %s",
		talked.Seconds(), paused.Seconds(), secs, atts[i].Duration)
	if secs < want-4 || secs > want+3 {
		t.Errorf("the recording lasts %.1f s, want about %.1f (the conversation less the pause)", secs, want)
	}
	if got := atts[i].Duration.Seconds(); got < secs-2 || got > secs+2 {
		t.Errorf("the attachment says %s, the file lasts %.1f s", atts[i].Duration, secs)
	}
	hist, err := d.Store.History(ctx, rec.TicketID, tickets.Viewer{Kind: tickets.ViewerSystem})
	if err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, h := range hist {
		if h.Field == tickets.FieldRecording {
			notes = append(notes, h.Actor.ID+" "+h.New)
		}
	}
	if !slices.Equal(notes, []string{"op201 sospesa", "op201 ripresa"}) {
		t.Errorf("history %v", notes)
	}
	if v := d.Metric(t, `ivr_conversations_recorded_total{group="lotto2"}`); v != 1 {
		t.Errorf("ivr_conversations_recorded_total = %v", v)
	}
}

// TestIvrdRecordingRefused: on a real Asterisk through the ivrd binary,
// lotto2 records with the caller's consent (refusable); the caller
// presses 9 after the notice, op201 answers and nothing records the
// bridge: the call record has the refusal and no recording, the ticket no
// recording attached, Asterisk's recordings nothing of this call.
func TestIvrdRecordingRefused(t *testing.T) {
	t.Parallel()
	variant := shippedVariant(t, "helpdesk-refusable.yaml", lotto2Line, "    recording: {mode: refusable, refuse_wait: 15s}\n")
	d := StartDesk(t, DeskOptions{Clock: mondayClock, Config: variant, Phones: []string{"op201"}})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	d.Phone(t, "op201", realasterisk.PhoneOptions{AnswerAfter: time.Second, Timeout: 4 * time.Minute})
	const caller = "3331240041"
	// 9 after the transfer prompt (the ticket's number) and during the
	// notice or the 15 s after it.
	keys := slices.Concat(keyed("12", keyGap, keyGap), keyed("9", 16*time.Second, 0))
	d.Caller(t, realasterisk.CallOptions{Caller: caller, Keys: keys, Timeout: 4 * time.Minute})
	call := d.CallOf(ctx, t, caller)
	d.WaitCallEvent(ctx, t, call, tickets.EventRecordingRefused)
	d.Obs.BridgedWith(ctx, t, call.ChannelID, "PJSIP/op201")
	d.WaitCallEvent(ctx, t, call, tickets.EventAnswered)
	d.HangUp(ctx, t, call.ChannelID)
	rec, events := d.WaitEnded(ctx, t, call)
	if hasKind(events, tickets.EventRecordingStarted) || !hasKind(events, tickets.EventRecordingRefused) || rec.Outcome != "answered" {
		t.Errorf("call %+v, events %v", rec, eventKinds(events))
	}
	atts, err := d.Store.Attachments(ctx, rec.TicketID, tickets.Viewer{Kind: tickets.ViewerSystem})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range atts {
		if strings.Contains(a.URI, "conversation-") {
			t.Errorf("a refused conversation has a recording: %+v", a)
		}
	}
	if files, _ := filepath.Glob(filepath.Join(d.A.Dir, "spool", "recording", "conversation-*")); len(files) != 0 {
		t.Errorf("Asterisk recorded: %v", files)
	}
}
