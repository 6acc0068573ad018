package tickets_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/tickets"
)

func TestRecordingKind(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]tickets.RecordingKind{
		"conversation-2026112300021-x1": tickets.RecordingConversation, "helpdesk-2026112300021-a": tickets.RecordingRequest,
		"survey-1-a": tickets.RecordingSurvey, "after-hours-42": "", "conversation": "", "": "",
	} {
		if got := tickets.KindOf(name); got != want {
			t.Errorf("KindOf(%q) = %q, want %q", name, got, want)
		}
	}
	if n, ok := tickets.RecordingName("ari:recording:conversation-1"); !ok || n != "conversation-1" {
		t.Errorf("RecordingName: %q %v", n, ok)
	}
	if _, ok := tickets.RecordingName("https://files.example/x.png"); ok {
		t.Error("a file is not a recording")
	}
}

// The history entries of a recording, the expired recordings of a kind,
// their removal with a note, and the per-group counts of the reports.
func TestRecordingsStore(t *testing.T) {
	t.Parallel()
	s, clk, _ := newStore(t, t0)
	open := func(group string) (tickets.Call, tickets.Ticket) {
		c, tk, err := s.OpenCall(ctx, tickets.NewCall{ChannelID: fmt.Sprintf("rec.%d", channels.Add(1)), Group: group})
		noErr(t, err)
		return c, tk
	}
	c1, t1 := open("lotto2")
	c2, _ := open("lotto3")
	noErr(t, s.AddChange(ctx, t1.ID, tickets.FieldRecording, "", "sospesa", operator))
	wantErr(t, s.AddChange(ctx, 999999, tickets.FieldRecording, "", "x", operator), fault.ErrNotFound)
	h := must[[]tickets.Change](t)(s.History(ctx, t1.ID, system))
	if last := h[len(h)-1]; last.Field != "recording" || last.New != "sospesa" || last.Actor != operator {
		t.Fatalf("history %+v", last)
	}
	a1 := must[tickets.Attachment](t)(s.AddAttachment(ctx, t1.ID, tickets.Attachment{Name: "c.wav", URI: "ari:recording:conversation-a"}, sysActor))
	must[tickets.Attachment](t)(s.AddAttachment(ctx, t1.ID, tickets.Attachment{Name: "h.wav", URI: "ari:recording:helpdesk-a"}, sysActor))
	clk.Set(t0.Add(48 * time.Hour))
	must[tickets.Attachment](t)(s.AddAttachment(ctx, t1.ID, tickets.Attachment{Name: "c2.wav", URI: "ari:recording:conversation-b"}, sysActor))
	exp := must[[]tickets.Attachment](t)(s.ExpiredRecordings(ctx, tickets.RecordingConversation, t0.Add(time.Hour), 10))
	if len(exp) != 1 || exp[0].ID != a1.ID {
		t.Fatalf("expired %+v", exp)
	}
	noErr(t, s.RemoveRecording(ctx, exp[0], "eliminata", tickets.Actor{Kind: tickets.ActorSystem, ID: "retention"}))
	wantErr(t, s.RemoveRecording(ctx, exp[0], "eliminata", sysActor), fault.ErrNotFound)
	var names []string
	for _, a := range must[[]tickets.Attachment](t)(s.Attachments(ctx, t1.ID, system)) {
		names = append(names, a.Name)
	}
	if !slices.Equal(names, []string{"h.wav", "c2.wav"}) {
		t.Errorf("attachments left %v", names)
	}
	h = must[[]tickets.Change](t)(s.History(ctx, t1.ID, system))
	if last := h[len(h)-1]; last.Field != "recording" || last.Old != "c.wav" || last.New != "eliminata" || last.Actor.ID != "retention" {
		t.Errorf("removal in history %+v", last)
	}

	// The reports' counts, by the time of each step.
	at := t0.Add(time.Hour)
	noErr(t, s.AppendCallEvents(ctx, c1.ID,
		tickets.CallEvent{At: at, Kind: tickets.EventRecordingStarted, Group: "lotto2"},
		tickets.CallEvent{At: at, Kind: tickets.EventRecordingPaused, Group: "lotto2"},
		tickets.CallEvent{At: at, Kind: tickets.EventRecordingPaused, Group: "lotto2"},
		tickets.CallEvent{At: at, Kind: tickets.EventRecorded, Group: "lotto2"}))
	noErr(t, s.AppendCallEvents(ctx, c2.ID,
		tickets.CallEvent{At: at, Kind: tickets.EventRecordingRefused, Group: "lotto3"},
		tickets.CallEvent{At: t0.Add(30 * 24 * time.Hour), Kind: tickets.EventRecorded, Group: "lotto3"}))
	rows := must[[]tickets.RecordingRow](t)(s.RecordingReport(ctx, tickets.RecordingFilter{From: t0, To: t0.Add(24 * time.Hour)}))
	want := []tickets.RecordingRow{{Group: "lotto2", Recorded: 1, Paused: 2}, {Group: "lotto3", Refused: 1}}
	if !slices.Equal(rows, want) {
		t.Errorf("report %+v, want %+v", rows, want)
	}
	rows = must[[]tickets.RecordingRow](t)(s.RecordingReport(ctx, tickets.RecordingFilter{From: t0, To: t0.Add(24 * time.Hour), Groups: []string{"lotto3"}}))
	if !slices.Equal(rows, want[1:]) {
		t.Errorf("lotto3's report %+v", rows)
	}
	_, err := s.RecordingReport(ctx, tickets.RecordingFilter{From: t0, To: t0})
	wantErr(t, err, fault.ErrInvalid)
}
