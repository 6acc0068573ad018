package ivr

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"time"
)

// LiveCall is where a call in progress is, for the panel's live view.
type LiveCall struct {
	CallID       string
	Caller       string
	Organization string
	Role         string
	Ticket       string
	// Phase is one of "menu", "pin", "closed", "queue", "ringing",
	// "talking", "message", "status", "survey".
	Phase    string
	Node     string // the menu node last heard
	Group    string
	Operator string // ringing or talking with
	Position int    // in the queue
	Started  time.Time
	Since    time.Time // when Phase began
	Test     bool      // a test call (TestArg), not a caller's
	// Held: the caller hears music on hold while the operator (Operator
	// still) does something else; Consult is who the operator consults
	// (an operator's login or a number), ConsultAnswered once they
	// answered; ThreeWay the third party of a three-way call.
	Held            bool
	Consult         string
	ConsultAnswered bool
	ThreeWay        string
	// Callback: the help desk calling a caller back (Phase "ringing"
	// while the operator's phone rings with the ticket, "callback" while
	// the caller's rings, then "talking").
	Callback bool
	// Recording is "recording" or "paused" while the conversation is
	// recorded (recordcall.go), "" otherwise.
	Recording string
	// Supervisor is the login of a supervisor on the call and
	// SuperviseMode their mode (listen, whisper, barge), "ringing" while
	// their phone rings.
	Supervisor, SuperviseMode string
	// Instance is the ivrd instance driving the call when several share
	// the calls (leases); Remote: another one than the panel's, which
	// cannot act on it from here.
	Instance string
	Remote   bool
}

// Live folds the controller's events into the calls in progress. Observe
// is meant for Options.Observe (it never blocks for long); Calls may be
// read from any goroutine.
type Live struct {
	mu       sync.Mutex
	calls    map[string]*LiveCall
	onChange func()
}

// NewLive returns an empty view; onChange (may be nil) is called after
// every change, outside the lock.
func NewLive(onChange func()) *Live {
	return &Live{calls: map[string]*LiveCall{}, onChange: onChange}
}

// Observe applies one event.
func (l *Live) Observe(e Event) {
	if l.apply(e) && l.onChange != nil {
		l.onChange()
	}
}

func (l *Live) apply(e Event) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.calls[e.CallID]
	if c == nil {
		if e.Kind == EvHangup || e.Kind == EvOutcome || e.Kind == EvSupervise {
			return false // (a supervisor leaving a call over)
		}
		c = &LiveCall{CallID: e.CallID, Started: e.Time, Since: e.Time, Phase: "menu"}
		l.calls[e.CallID] = c
	}
	c.Test = c.Test || e.Test
	phase := func(p string) {
		if c.Phase != p {
			c.Phase, c.Since = p, e.Time
		}
	}
	switch e.Kind {
	case EvCall:
		c.Caller, c.Organization = e.Caller, e.Org
	case EvTicket, EvResumed:
		c.Ticket = cmp.Or(e.Ticket, c.Ticket)
	case EvHours:
		if e.Open != nil && !*e.Open {
			phase("closed")
		}
	case EvPrompt:
		for _, p := range e.Prompt {
			if node, ok := strings.CutPrefix(p, "node:"); ok {
				c.Node = node
				phase("menu")
			}
			if p == "system:pin_ask" {
				phase("pin")
			}
		}
	case EvKeys:
		if e.Node != "" && e.Node != "queue" && e.Node != "closed" && e.Node != surveyNode {
			c.Node = e.Node
		}
	case EvPIN:
		c.Organization = cmp.Or(e.Org, c.Organization)
		c.Role = cmp.Or(e.Role, c.Role)
	case EvRoute, EvOverflow:
		c.Group = cmp.Or(e.Group, c.Group)
	case EvQueued, EvPosition:
		c.Group = cmp.Or(e.Group, c.Group)
		c.Position = e.Position
		c.Operator = ""
		phase("queue")
	case EvRinging:
		if c.Consult != "" {
			return false // the colleague consulted, not the call's operator
		}
		c.Operator = cmp.Or(e.Operator, e.Text)
		phase("ringing")
	case EvNoAnswer:
		if c.Phase == "ringing" {
			c.Operator = ""
			phase("queue")
		}
	case EvAnswered:
		c.Operator = cmp.Or(e.Operator, e.Text)
		c.Position = 0
		c.Held, c.ThreeWay = false, ""
		phase("talking")
	case EvControl:
		switch e.Result {
		case "hold":
			c.Held = true
		case "resume":
			c.Held = false
		case "consult":
			c.Held, c.Consult, c.ConsultAnswered = true, cmp.Or(e.Operator, e.Text), false
		case "consulting":
			c.ConsultAnswered = true
		case "cancel", "complete":
			c.Consult, c.ConsultAnswered = "", false
		case "threeway_ended":
			c.ThreeWay = ""
		case "threeway":
			c.Consult, c.ConsultAnswered, c.ThreeWay = "", false, cmp.Or(e.Operator, e.Text)
		case "transfer", "move":
			c.Held, c.ThreeWay = false, ""
			if e.Group != "" {
				c.Group, c.Operator = e.Group, ""
				phase("queue")
			}
		default:
			return false
		}
	case EvRecording:
		phase("message")
	case EvStatus:
		phase("status")
	case EvSurvey:
		phase("survey")
	case EvCallback:
		if e.Result == "requested" || e.Result == "scheduled" {
			return false // the caller's own call, about to end
		}
		c.Callback = true
		c.Group = cmp.Or(e.Group, c.Group)
		c.Ticket = cmp.Or(e.Ticket, c.Ticket)
		if e.Result == "calling" {
			c.Operator = cmp.Or(e.Operator, c.Operator)
			phase("callback")
		}
	case EvCallRecording:
		switch e.Result {
		case "started", "resumed":
			c.Recording = "recording"
		case "paused":
			c.Recording = "paused"
		case "kept", "failed":
			c.Recording = ""
		default:
			return false
		}
	case EvSupervise:
		switch e.Result {
		case "ringing":
			c.Supervisor, c.SuperviseMode = e.By, "ringing"
		case "on":
			c.Supervisor, c.SuperviseMode = e.By, e.Reason
		default:
			c.Supervisor, c.SuperviseMode = "", ""
		}
	case EvHangup, EvOutcome:
		delete(l.calls, e.CallID)
	default:
		return false
	}
	return true
}

// Calls returns the calls in progress, oldest first.
func (l *Live) Calls() []LiveCall {
	l.mu.Lock()
	out := make([]LiveCall, 0, len(l.calls))
	for _, c := range l.calls {
		out = append(out, *c)
	}
	l.mu.Unlock()
	slices.SortFunc(out, func(a, b LiveCall) int {
		return cmp.Or(a.Started.Compare(b.Started), strings.Compare(a.CallID, b.CallID))
	})
	return out
}
