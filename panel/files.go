package panel

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// Files opens the attachments that are not recordings (a mail's, stored by
// package mailin as mail:attachment:ID) by URI: their type and bytes. An
// unknown URI is fault.ErrNotFound.
type Files interface {
	OpenFile(ctx context.Context, uri string) (contentType string, data []byte, err error)
}

// fileSchemes are the URIs Files serves.
var fileSchemes = []string{"mail:attachment:"}

func isFile(uri string) bool {
	return slices.ContainsFunc(fileSchemes, func(p string) bool { return strings.HasPrefix(uri, p) })
}

// inlineTypes are shown in the browser; anything else a mail brings is
// downloaded as bytes, never rendered on the panel's origin (an HTML or
// SVG file would run as the panel).
var inlineTypes = []string{"application/pdf", "image/png", "image/jpeg", "image/gif", "text/plain"}

// ticketAttachment is the attachment of the route, on a ticket the user
// sees, or false after answering 404.
func (s *Server) ticketAttachment(w http.ResponseWriter, r *http.Request) (tickets.Attachment, bool) {
	tid, err := ticketID(r, "ticketID")
	var aid int64
	if err == nil {
		aid, err = ticketID(r, "attachmentID")
	}
	var atts []tickets.Attachment
	if err == nil {
		atts, err = s.opts.Tickets.Attachments(r.Context(), tid, reqOf(r).viewer()) // not found when not visible
	}
	if err != nil {
		s.fail(w, r, err)
		return tickets.Attachment{}, false
	}
	i := slices.IndexFunc(atts, func(a tickets.Attachment) bool { return a.ID == aid })
	if i < 0 {
		s.fail(w, r, fault.ErrNotFound)
		return tickets.Attachment{}, false
	}
	return atts[i], true
}

// attachment sends a mail's attachment: inline for the few types a
// browser shows safely, a download for every other.
func (s *Server) attachment(w http.ResponseWriter, r *http.Request) {
	att, ok := s.ticketAttachment(w, r)
	if !ok {
		return
	}
	s.sendFile(w, r, att, s.fail)
}

// sendFile sends att's bytes (a file, not a recording), answering errors
// with fail.
func (s *Server) sendFile(w http.ResponseWriter, r *http.Request, att tickets.Attachment,
	fail func(http.ResponseWriter, *http.Request, error)) {
	if !isFile(att.URI) || s.opts.Files == nil {
		fail(w, r, fault.ErrNotFound)
		return
	}
	ctype, data, err := s.opts.Files.OpenFile(r.Context(), att.URI)
	if err != nil {
		fail(w, r, err)
		return
	}
	mt, _, _ := mime.ParseMediaType(cmpOr(ctype, att.ContentType))
	disposition := "attachment"
	if slices.Contains(inlineTypes, mt) {
		disposition = "inline"
		if mt == "text/plain" {
			mt += "; charset=utf-8"
		}
	} else {
		mt = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", mt)
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": att.Name}))
	h.Set("Cache-Control", "private, no-store")
	h.Set("Content-Length", strconv.Itoa(len(data)))
	if _, err := w.Write(data); err != nil {
		s.log.Warn("panel_attachment_write", "ticket", att.TicketID, "attachment", att.ID, "error", err.Error())
	}
}

func attachmentURL(a tickets.Attachment) string {
	return fmt.Sprintf("/attachments/%d/%d", a.TicketID, a.ID)
}
