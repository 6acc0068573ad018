package panel

import (
	"context"
	"fmt"
	"net/http"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// Related tickets and merges, from the ticket page: the other ticket is
// named by its number, as staff read it to each other, and must be one
// the user sees.

// otherTicket is the ticket whose number the form names.
func (s *Server) otherTicket(r *http.Request, rq *request) (tickets.Ticket, error) {
	raw, err := text("ticket.number", r.PostFormValue("number"), 32, true, false)
	if err != nil {
		return tickets.Ticket{}, err
	}
	n, err := tickets.ParseNumber(raw)
	if err != nil {
		return tickets.Ticket{}, errorKey(fault.EINVALID, "ticket.bad_number")
	}
	t, err := s.opts.Tickets.FindTicketByNumber(r.Context(), n, rq.viewer())
	if fault.Code(err) == fault.ENOTFOUND {
		return tickets.Ticket{}, errorKey(fault.EINVALID, "links.no_ticket", raw)
	}
	return t, err
}

// ticketLinkAction links, unlinks or merges, then comes back to the page.
func (s *Server) ticketLinkAction(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		rq := reqOf(r)
		id, err := ticketID(r, "id")
		if err != nil {
			s.fail(w, r, err)
			return
		}
		var other tickets.Ticket
		if action == "unlink" {
			var oid int64
			if oid, err = ticketID(r, "other"); err == nil {
				other, err = s.opts.Tickets.FindTicketByID(ctx, oid, rq.viewer())
			}
		} else {
			other, err = s.otherTicket(r, rq)
		}
		msg, back := "", id
		if err == nil {
			switch action {
			case "link":
				err, msg = s.opts.Tickets.LinkTickets(ctx, id, other.ID, rq.viewer(), rq.actor()), "linked"
			case "unlink":
				err, msg = s.opts.Tickets.UnlinkTickets(ctx, id, other.ID, rq.viewer(), rq.actor()), "unlinked"
			case "merge":
				// This ticket goes into the other, whose page comes next.
				_, err = s.opts.Tickets.MergeTicket(ctx, id, other.ID, rq.viewer(), rq.actor())
				msg, back = "merged", other.ID
			}
		}
		if code := fault.Code(err); code == fault.EINVALID || code == fault.ECONFLICT {
			d, lerr := s.loadTicket(ctx, rq, id)
			if lerr != nil {
				s.fail(w, r, lerr)
				return
			}
			p := s.newPage(r, "tickets", "nav.tickets", d)
			p.Title = string(d.T.Number) + " – " + shorten(d.T.Subject, maxSubject)
			p.Error = cmpOr(errorMessage(rq.lang, err), rq.lang.Tf("links.refused", fault.Message(err)))
			s.render(w, r, fault.HTTPStatus(err), "ticket.html", p)
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.log.Info("panel_ticket_"+msg, "ticket", id, "other", other.ID, "by", rq.user.Login)
		http.Redirect(w, r, fmt.Sprintf("/tickets/%d?msg=%s#links", back, msg), http.StatusSeeOther)
	}
}

// loadLinks fills the page's related tickets and, for a merged ticket,
// the one it went into (Number empty when the user may not see it).
func (s *Server) loadLinks(ctx context.Context, rq *request, d *ticketData) error {
	list, err := s.opts.Tickets.LinkedTickets(ctx, d.T.ID, rq.viewer())
	if err != nil {
		return err
	}
	d.Linked = list
	into, err := s.opts.Tickets.MergedInto(ctx, d.T.ID)
	if err != nil || into == 0 {
		return err
	}
	t, err := s.opts.Tickets.FindTicketByID(ctx, into, rq.viewer())
	if fault.Code(err) == fault.ENOTFOUND {
		d.MergedInto = &tickets.Ticket{}
		return nil
	}
	if err != nil {
		return err
	}
	d.MergedInto = &t
	return nil
}
