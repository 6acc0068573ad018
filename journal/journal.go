// Package journal keeps what callers did, one row per call in PostgreSQL,
// so that a call can be run again under another configuration (package
// journal/replay): when it arrived, from which number to which entry,
// each key with its time from the arrival, the silences, the PIN entries
// as their verdict and the identity they named (never the digits), when
// and by whom it ended, how it ended and the configuration it ran under.
// The Recorder builds the rows from the controller's events
// (ivr.Options.Observe) and writes them in batches; a job summarises and
// deletes the rows past the retention period.
package journal

import (
	"slices"
	"strings"
	"time"

	"github.com/helpdesk-ivr/ivr/ivr"
)

// Call is one journaled call.
type Call struct {
	ID        int64
	CallID    string // the channel id
	ArrivedAt time.Time
	Caller    string // E.164, "" when withheld
	Entry     string // the number dialled
	Args      []string
	// Version is the SHA-256 of the configuration in force for the call
	// (menu.Config.Version).
	Version  string
	Duration time.Duration // arrival to hangup
	HangupBy string        // caller, system, operator
	Steps    []Step
	End      End
}

// Step kinds.
const (
	StepKeys    = "keys"    // keys collected (Keys; Term: ended with #)
	StepTimeout = "timeout" // nothing keyed in time at Node
	StepPIN     = "pin"     // a PIN entry: Result, and the identity (Org, Role) when accepted
	StepRecord  = "record"  // a message recorded, Seconds long
	StepHangup  = "hangup"  // the call ended (By)
	// StepPrompt is a prompt starting: the caller answers what they
	// hear, so a replay times each key from the prompt before it (a
	// busy machine answering late would otherwise shift every key).
	StepPrompt = "prompt"
)

// Step is one thing the caller did, At from the arrival.
type Step struct {
	At      time.Duration `json:"-"`
	Ms      int64         `json:"t"`
	Kind    string        `json:"k"`
	Node    string        `json:"n,omitempty"`
	Keys    string        `json:"d,omitempty"`
	Term    bool          `json:"term,omitempty"`
	Result  string        `json:"r,omitempty"`
	Org     string        `json:"org,omitempty"`
	Role    string        `json:"role,omitempty"`
	Seconds float64       `json:"s,omitempty"`
	By      string        `json:"by,omitempty"`
}

// Results: how a call ended, as compared across configurations. The
// operators' part (answered, abandoned in the queue, no answer) depends
// on who was there and is not the configuration's doing: every call the
// menu handed to a group is "routed".
const (
	ResultRouted     = "routed"      // handed to a group (Group) that was open
	ResultAfterHours = "after_hours" // the service, or the group chosen, was closed
)

// End is how a call ended.
type End struct {
	// Outcome is the call record's (tickets.Outcome).
	Outcome string `json:"outcome"`
	// Result is ResultRouted, ResultAfterHours, or else the Outcome
	// (hung_up_in_menu, invalid_input, pin_locked, status_told, ...).
	Result string `json:"result"`
	// Group is the group the menu chose (before any queue overflow).
	Group    string   `json:"group,omitempty"`
	Path     []string `json:"menu_path"`
	AskedPIN bool     `json:"asked_pin,omitempty"`
}

// Same reports whether two ends are the same for the help desk's
// configuration: result, group and menu path.
func (e End) Same(o End) bool {
	return e.Result == o.Result && e.Group == o.Group && slices.Equal(e.Path, o.Path)
}

// Trace follows the events of one call and makes its journal entry.
type Trace struct {
	call     Call
	started  bool
	routed   bool
	closed   bool
	done     bool
	lastSeen time.Time // (Recorder's clock)
}

// Add takes the call's next event; it reports whether the call is over
// (its outcome came).
func (t *Trace) Add(e ivr.Event) bool {
	c := &t.call
	at := func() time.Duration {
		if !t.started {
			return 0
		}
		return e.Time.Sub(c.ArrivedAt)
	}
	step := func(s Step) {
		s.At = at()
		s.Ms = s.At.Milliseconds()
		c.Steps = append(c.Steps, s)
	}
	switch e.Kind {
	case ivr.EvCall:
		t.started = true
		c.CallID, c.ArrivedAt, c.Caller = e.CallID, e.Time, e.Caller
		c.Entry, c.Args, c.Version = e.Entry, slices.Clone(e.Args), e.Version
	case ivr.EvHours:
		if e.Open != nil && !*e.Open {
			t.closed = true
		}
	case ivr.EvPrompt:
		step(Step{Kind: StepPrompt})
		for _, p := range e.Prompt {
			switch p {
			case "system:group_closed":
				t.closed = true
			case "system:pin_ask", "system:pin_org_ask":
				c.End.AskedPIN = true
			}
		}
	case ivr.EvKeys:
		step(Step{Kind: StepKeys, Node: e.Node, Keys: e.Keys, Term: e.Terminated})
	case ivr.EvTimeout:
		step(Step{Kind: StepTimeout, Node: e.Node})
	case ivr.EvPIN:
		c.End.AskedPIN = true
		s := Step{Kind: StepPIN, Node: e.Node, Result: e.Result}
		if e.Result == "accepted" {
			s.Org, s.Role = e.Org, e.Role
		}
		step(s)
	case ivr.EvRoute:
		if !t.routed {
			t.routed = true
			c.End.Group = e.Group
		}
	case ivr.EvMessage:
		step(Step{Kind: StepRecord, Seconds: e.Seconds})
	case ivr.EvHangup:
		step(Step{Kind: StepHangup, By: e.By})
		c.HangupBy = e.By
		c.Duration = at()
	case ivr.EvOutcome:
		t.done = true
		c.End.Outcome = e.Outcome
		c.End.Path = slices.Clone(e.Path)
		if c.End.Path == nil {
			c.End.Path = []string{}
		}
		c.End.Result = Classify(e.Outcome, t.routed, t.closed)
		if c.Duration == 0 {
			c.Duration = at()
		}
		return true
	}
	return false
}

// Call is the journal entry of the call so far; Complete says whether
// it has all of it (arrival and outcome).
func (t *Trace) Call() Call { return t.call }

// Complete reports whether the trace saw the call from its arrival to
// its outcome (a call taken over from another controller is not).
func (t *Trace) Complete() bool { return t.started && t.done }

// Classify gives the Result of a call that ended with outcome, routed
// (the menu handed it to a group) and closed (the service or that group
// was closed).
func Classify(outcome string, routed, closed bool) string {
	switch {
	case closed || outcome == "after_hours_message" || outcome == "closed_no_message":
		return ResultAfterHours
	case routed:
		return ResultRouted
	}
	return strings.TrimSpace(outcome)
}
