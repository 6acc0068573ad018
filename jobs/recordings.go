package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/helpdesk-ivr/ivr/tickets"
)

// retentionActor removes expired recordings, in the tickets' history.
var retentionActor = tickets.Actor{Kind: tickets.ActorSystem, ID: "retention"}

// recordingsBatch bounds one run's removals per kind; the next run goes on.
const recordingsBatch = 500

// RetainRecordings deletes the recorded conversations older than
// ConversationRetention and the recorded requests older than
// RequestRetention: the file from Asterisk first, then the attachment,
// with a note in the ticket's history ("registrazione eliminata per
// conservazione scaduta il …"). A recording Asterisk cannot delete now
// stays attached, for the next run. It returns how many it removed.
func (j *Jobs) RetainRecordings(ctx context.Context, now time.Time) (int, error) {
	if j.d.Recordings == nil {
		return 0, errors.New("recordings retention: no recording deleter")
	}
	removed := 0
	var errs []error
	for _, k := range []struct {
		kind tickets.RecordingKind
		keep time.Duration
		what string
	}{
		{tickets.RecordingConversation, j.cfg.ConversationRetention, "Registrazione della conversazione"},
		{tickets.RecordingRequest, j.cfg.RequestRetention, "Registrazione della richiesta"},
	} {
		list, err := j.d.Store.ExpiredRecordings(ctx, k.kind, now.Add(-k.keep), recordingsBatch)
		if err != nil {
			errs = append(errs, fmt.Errorf("recordings retention: %w", err))
			continue
		}
		days := int(k.keep / (24 * time.Hour))
		note := fmt.Sprintf("%s eliminata il %s: conservazione di %d giorni scaduta.", k.what,
			now.In(j.d.Location).Format("02/01/2006"), days)
		for _, a := range list {
			name, _ := tickets.RecordingName(a.URI)
			if err := j.d.Recordings.DeleteRecording(ctx, name); err != nil {
				errs = append(errs, fmt.Errorf("recordings retention: delete %s: %w", name, err))
				continue
			}
			if err := j.d.Store.RemoveRecording(ctx, a, note, retentionActor); err != nil {
				errs = append(errs, fmt.Errorf("recordings retention: %w", err))
				continue
			}
			removed++
			j.d.Logger.Info("recording_deleted", "ticket_id", a.TicketID, "kind", string(k.kind), "recording", name)
		}
	}
	return removed, errors.Join(errs...)
}
