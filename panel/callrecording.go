package panel

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// consoleRecording pauses or resumes the recording of a conversation
// (e.g. while payment or health data is spoken): only the operator on
// the call, or an administrator, may; to anyone else the call does not
// exist. The controller writes it into the ticket's history; the audit
// log has it too.
func (s *Server) consoleRecording(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	callID := r.PostFormValue("call")
	var kind, done string
	switch r.PostFormValue("action") {
	case "pause":
		kind, done = "recording_pause", "/console?msg=recording_pause"
	case "resume":
		kind, done = "recording_resume", "/console?msg=recording_resume"
	default:
		s.fail(w, r, errorKey(fault.EINVALID, "console.recording_bad_action"))
		return
	}
	st := s.hub.refresh() // who has the call now, not a second ago
	i := slices.IndexFunc(st.Calls, func(c LiveCall) bool { return c.CallID == callID })
	if callID == "" || i < 0 || s.opts.Control == nil ||
		(rq.user.Role != RoleAdmin && st.Calls[i].Operator != rq.user.Login) {
		s.fail(w, r, fault.ErrNotFound)
		return
	}
	err := s.opts.Control.Act(r.Context(), callID, CallAction{Kind: kind, By: rq.user.Login})
	switch fault.Code(err) {
	case "":
	case fault.ECONFLICT:
		s.renderConsole(w, r, http.StatusConflict, rq.lang.T("console.recording_not_now"))
		return
	default:
		s.fail(w, r, err)
		return
	}
	s.audited(r, "call."+kind, "call:"+callID, fmt.Sprintf("ticket=%s", st.Calls[i].Ticket))
	s.hub.refresh()
	http.Redirect(w, r, done, http.StatusSeeOther)
}

// recordingRow is a group's line of the reports' recordings table.
type recordingRow struct {
	tickets.RecordingRow
	Name string
}

func (s *Server) recordingRows(ctx context.Context, from, to time.Time, groups []string) ([]recordingRow, error) {
	rows, err := s.opts.Tickets.RecordingReport(ctx, tickets.RecordingFilter{From: from, To: to, Groups: groups})
	if err != nil {
		return nil, err
	}
	out := make([]recordingRow, len(rows))
	for i, x := range rows {
		out[i] = recordingRow{RecordingRow: x, Name: s.groupName(x.Group)}
	}
	return out, nil
}
