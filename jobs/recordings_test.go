package jobs

import (
	"slices"
	"strings"
	"testing"

	"github.com/helpdesk-ivr/ivr/tickets"
)

// TestRecordingRetention: conversations older than 90 days and requests
// older than 365 are deleted from Asterisk and taken off their ticket,
// open or not, with a note in its history; younger ones, survey comments
// and other files stay; one Asterisk cannot delete stays attached for
// the next run; a second run does nothing more.
func TestRecordingRetention(t *testing.T) {
	t.Parallel()
	e := newEnv(t, at("2026-01-05 09:00"))
	sys := tickets.Actor{Kind: tickets.ActorSystem, ID: "ivr"}
	attach := func(tk tickets.Ticket, when, name string) {
		t.Helper()
		e.clk.Set(at(when))
		if _, err := e.store.AddAttachment(ctx, tk.ID, tickets.Attachment{Name: name + ".wav", URI: "ari:recording:" + name,
			ContentType: "audio/wav"}, sys); err != nil {
			t.Fatal(err)
		}
	}
	open := e.open(t, at("2026-01-05 09:00"), tickets.NewCall{Group: "lotto6"})
	other := e.open(t, at("2026-01-05 09:00"), tickets.NewCall{Group: "lotto6"})
	attach(open, "2026-01-05 09:10", "conversation-old")
	attach(open, "2026-03-20 09:10", "conversation-young")
	attach(open, "2026-01-05 09:20", "helpdesk-req")   // 100 days old: a request keeps 365
	attach(open, "2026-01-05 09:30", "survey-comment") // the ticket's retention's
	attach(other, "2025-04-01 09:00", "helpdesk-ancient")
	attach(other, "2026-01-02 09:00", "conversation-stuck")
	e.clk.Set(at("2026-04-15 03:45"))
	e.rec.failOn = "conversation-stuck"
	n, err := e.jobs.RetainRecordings(ctx, e.clk.Now())
	if err == nil || !strings.Contains(err.Error(), "conversation-stuck") || n != 2 {
		t.Fatalf("first run: %d removed, %v; want 2 and the stuck one's error", n, err)
	}
	if !slices.Equal(e.rec.names, []string{"conversation-old", "helpdesk-ancient"}) {
		t.Fatalf("deleted from Asterisk: %v", e.rec.names)
	}
	names := func(tk tickets.Ticket) []string {
		atts, err := e.store.Attachments(ctx, tk.ID, system)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range atts {
			out = append(out, a.Name)
		}
		return out
	}
	if got := names(open); !slices.Equal(got, []string{"conversation-young.wav", "helpdesk-req.wav", "survey-comment.wav"}) {
		t.Errorf("open ticket keeps %v", got)
	}
	if got := names(other); !slices.Equal(got, []string{"conversation-stuck.wav"}) {
		t.Errorf("other ticket keeps %v", got)
	}
	hist, err := e.store.History(ctx, open.ID, system)
	if err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, h := range hist {
		if h.Field == tickets.FieldRecording {
			notes = append(notes, h.Actor.ID+" "+h.Old+": "+h.New)
		}
	}
	want := "retention conversation-old.wav: Registrazione della conversazione eliminata il 15/04/2026: conservazione di 90 giorni scaduta."
	if len(notes) != 1 || notes[0] != want {
		t.Errorf("history notes %q, want %q", notes, want)
	}
	e.rec.failOn = ""
	if n, err := e.jobs.RetainRecordings(ctx, e.clk.Now()); err != nil || n != 1 {
		t.Fatalf("second run: %d, %v; want the stuck one", n, err)
	}
	if n, err := e.jobs.RetainRecordings(ctx, e.clk.Now()); err != nil || n != 0 || len(e.rec.names) != 3 {
		t.Fatalf("third run: %d, %v, deleted %v", n, err, e.rec.names)
	}
}
