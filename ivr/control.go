package ivr

import (
	"context"

	"github.com/helpdesk-ivr/ivr/internal/fault"
)

// ActionKind names something an operator or a supervisor asks of a live
// call from the panel (hold, transfer, listen...). Each kind is handled by
// the part of the session that can do it; elsewhere it answers ErrNotNow.
type ActionKind string

// Action is a request from the panel to act on a live call.
type Action struct {
	Kind ActionKind
	// By is the login of who asks, for the ticket's history and the audit.
	By string
	// What the kind needs: a group, an operator's login, a number, a mode
	// or a reason.
	Group, Operator, Number, Mode, Reason string
}

var (
	// ErrNoSuchCall: no call of that id is in progress on this
	// controller (it ended, or another instance has it).
	ErrNoSuchCall = &fault.Error{Code: fault.ENOTFOUND, Message: "no such call in progress here"}
	// ErrNotNow: the call is in progress but cannot do that now (e.g. a
	// transfer asked while the caller is still in the menu).
	ErrNotNow = &fault.Error{Code: fault.ECONFLICT, Message: "the call cannot do that now"}
	// ErrUnknownAction: no part of the controller knows that kind.
	ErrUnknownAction = &fault.Error{Code: fault.EINVALID, Message: "unknown action"}
)

// actRequest is an Action on its way to a session, answered once on done.
type actRequest struct {
	Action
	done chan error
}

func (r *actRequest) reply(err error) {
	select {
	case r.done <- err:
	default: // answered already
	}
}

// Act hands a to the session of the call callID (a LiveCall's CallID) and
// waits for its answer or ctx. The session acts between two of its own
// steps, so an action never races with what the call is doing.
func (c *Controller) Act(ctx context.Context, callID string, a Action) error {
	if a.Kind.supervisory() {
		return c.supervise(ctx, callID, a) // beside the call (supervise.go)
	}
	c.mu.RLock()
	s := c.routes[callKind+":"+callID]
	if s == nil {
		s = c.sessions[callID]
	}
	c.mu.RUnlock()
	if s == nil {
		return ErrNoSuchCall
	}
	req := &actRequest{Action: a, done: make(chan error, 1)}
	s.inbox.push(item{act: req})
	select {
	case err := <-req.done:
		return err
	case <-s.ended:
		// The call ended before reading the request.
		select {
		case err := <-req.done:
			return err
		default:
			return ErrNoSuchCall
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}

// callKind is the route kind of a call id that is not the session's own
// channel (a callback's session answers for the call that asked for it).
const callKind = "call"
