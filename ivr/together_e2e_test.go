package ivr_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// A recorded conversation transferred to another group: the recording
// with op201 ends and is attached when the caller leaves for Lotto 3's
// queue, and the conversation with op301 is recorded anew; each on the
// ticket, nothing left in Asterisk (newXferRig's cleanup).
func TestRecordedCallTransferred(t *testing.T) {
	r := newXferRig(t, func(cfg *menu.Config) {
		cfg.Group("lotto2").Recording = menu.Recording{Mode: menu.RecordingAnnounce}
		cfg.Group("lotto3").Recording = menu.Recording{Mode: menu.RecordingAnnounce}
	})
	r.phones.answering(r.qrig, "PJSIP/op301", 2*time.Second)
	r.available("op301")
	r.pause("op301")
	c, caller, op := r.answered(t)
	r.waitFor(c.ID(), "recording with op201", func(e ivr.Event) bool { return e.Kind == ivr.EvCallRecording && e.Result == "started" })
	r.mustAct(t, c.ID(), ivr.Action{Kind: ivr.ActTransfer, By: "op201", Group: "lotto3"})
	r.hears(t, op, "gone")
	r.waitFor(c.ID(), "queued in lotto3", func(e ivr.Event) bool { return e.Kind == ivr.EvQueued && e.Group == "lotto3" })
	r.available("op301")
	r.waitFor(c.ID(), "op301", func(e ivr.Event) bool { return e.Kind == ivr.EvAnswered && e.Operator == "op301" })
	op3 := r.phones.nth(t, "PJSIP/op301", 1)
	r.hears(t, caller, op3.call.ID())
	c.Hangup()
	r.hears(t, op3, "gone")
	_, evs, tk := r.record(t, c.ID())
	var started []string
	for _, e := range evs {
		if e.Kind == tickets.EventRecordingStarted {
			started = append(started, e.Operator)
		}
	}
	if strings.Join(started, " ") != "op201 op301" {
		t.Errorf("recordings started with %v, want op201 then op301", started)
	}
	var atts []tickets.Attachment
	waitUntil(t, "two recordings attached", func() bool {
		all, err := r.store.Attachments(context.Background(), tk.ID, tickets.Viewer{Kind: tickets.ViewerSystem})
		atts = atts[:0]
		for _, a := range all {
			if strings.HasPrefix(a.URI, "ari:recording:conversation-") {
				atts = append(atts, a)
			}
		}
		return err == nil && len(atts) == 2
	})
}
