// Package queues keeps the operator groups' queues: the operators and their
// states, the callers waiting for each group, and the choice of the operator
// who is offered the next call.
//
// Everything lives in PostgreSQL, so an ivrd restart loses no caller's
// place and no operator's state, and several ivrd instances may share one
// database: the choice of an operator is made in a transaction that locks
// the group's row (one dispatcher per group at a time, so callers are
// served strictly by priority, then arrival) and the chosen operators' rows
// (FOR UPDATE SKIP LOCKED, so two groups never take the same operator).
// LISTEN/NOTIFY wakes the instance holding a call when another instance
// made the offer; polling covers lost notifications.
//
// The package knows nothing of Asterisk: it decides, the call controller
// rings, bridges and plays, then reports back what happened. A call's life
// in a queue:
//
//	Enqueue → (Overflow: act on it) or WaitOffer → ring Offer.Operators for
//	Offer.RingTimeout → Answer or NoAnswer (back to WaitOffer) … and Leave
//	when the caller hangs up while waiting; CallEnded when the operator's
//	call ends.
//
// Every step returns Events, ready to be recorded in the call record.
package queues

import (
	"fmt"
	"time"
)

// State is an operator's state.
type State string

const (
	LoggedOut State = "logged_out"
	Available State = "available"
	Offered   State = "offered" // a call is ringing the operator's phone
	OnCall    State = "on_call"
	WrapUp    State = "wrap_up" // after a call, for the group's WrapUp
	Paused    State = "paused"  // with a Reason
)

// States lists every state, in the order a wallboard shows them.
var States = []State{Available, Offered, OnCall, WrapUp, Paused, LoggedOut}

// Pause reasons. Any text is accepted; these are the usual ones.
const (
	ReasonBreak      = "break"
	ReasonBackOffice = "back_office"
	ReasonTraining   = "training"
	ReasonNoAnswer   = "no_answer" // set by the queue when an offer is not answered
)

// Strategy is how a group chooses among its free operators. Whatever the
// strategy, operators with a lower penalty in the group are always chosen
// before those with a higher one.
type Strategy string

const (
	// LongestIdle offers the call to the operator free for longest
	// (the default).
	LongestIdle Strategy = "longest_idle"
	// RoundRobin offers calls to the operators in turn (by login),
	// remembering in the database who was last.
	RoundRobin Strategy = "round_robin"
	// RingAll rings every free operator of the lowest penalty at once.
	RingAll Strategy = "ring_all"
	// FewestCalls offers the call to the operator who answered fewest
	// calls today (ties: longest idle).
	FewestCalls Strategy = "fewest_calls"
)

// OverflowAction is what the controller does with a caller the group will
// not serve.
type OverflowAction string

const (
	// OverflowWait keeps the caller waiting; only for NoOperators.
	OverflowWait OverflowAction = "wait"
	// OverflowGroup moves the caller to Overflow.Group (Enqueue there).
	OverflowGroup OverflowAction = "group"
	// OverflowMessage lets the caller leave a recorded request.
	OverflowMessage OverflowAction = "message"
	// OverflowHangup plays a message and hangs up.
	OverflowHangup OverflowAction = "hangup"
)

// OverflowPolicy is a group's configured action for one limit.
type OverflowPolicy struct {
	Action OverflowAction
	Group  string // for OverflowGroup
}

// Why a caller overflows.
const (
	OverflowMaxWait     = "max_wait"     // waited GroupConfig.MaxWait
	OverflowMaxWaiting  = "max_waiting"  // the queue was full on arrival
	OverflowNoOperators = "no_operators" // nobody logged in to the group
)

// Overflow is a decision the controller must act on: the caller is no
// longer in the group's queue.
type Overflow struct {
	Action OverflowAction
	Group  string // the group to go to, for OverflowGroup
	Reason string // OverflowMaxWait, OverflowMaxWaiting or OverflowNoOperators
}

// GroupConfig configures a group's queue. Zero fields take the defaults
// noted.
type GroupConfig struct {
	ID       string
	Strategy Strategy // default LongestIdle
	// WrapUp is the time an operator gets after each call of this group
	// before the next offer.
	WrapUp time.Duration
	// RingTimeout is how long an offer rings before it counts as not
	// answered (the controller enforces it); default 20 s.
	RingTimeout time.Duration
	MaxWait     time.Duration // 0: no limit
	MaxWaiting  int           // callers waiting, 0: no limit
	// NoOperators is applied when a caller arrives, or is still waiting,
	// while no operator of the group is logged in; default
	// OverflowMessage. OverflowWait keeps callers waiting anyway.
	NoOperators OverflowPolicy
	// Overflow is applied at MaxWait and MaxWaiting; default
	// OverflowMessage.
	Overflow OverflowPolicy
}

// Operator is a person who answers calls.
type Operator struct {
	Login    string
	Name     string
	Endpoint string // the phone, e.g. PJSIP/op101
	// Groups maps the groups the operator belongs to to the penalty there
	// (0 is the first choice; higher ones are tried only when nobody with a
	// lower penalty is free).
	Groups map[string]int

	// Read only: filled by Operator and Operators.
	State      State
	Reason     string    // for Paused
	Since      time.Time // when State began
	CallID     string    // offered or on call
	CallGroup  string
	CallsToday int
}

// Entry is a caller joining a group's queue.
type Entry struct {
	CallID string // unique per call; the controller's channel id will do
	Group  string
	// Priority orders the queue: higher first, then by arrival. See
	// PriorityFor for the help desk's rule.
	Priority int
	Caller   string // shown to the operator; not used for ordering
	TicketID int64
	// Since, when set, is when the caller first joined a queue of the help
	// desk: a caller transferred from another group keeps the time already
	// waited, and goes before those of the same priority who came later.
	Since time.Time
}

// PriorityFor is the help desk's rule for Entry.Priority, for the
// controller: the menu node's priority ("critical", "high", "medium",
// "low" or "") counts most, then a caller who identified as a technical
// referent (menu.RoleReferent), then a caller from a known organization.
// So a referent of a known Administration on a "high" node (30+5+1) goes
// before an unknown caller on a "high" node (30) and after anyone on a
// "critical" one (40).
func PriorityFor(nodePriority string, referent, knownOrganization bool) int {
	p := 0
	switch nodePriority {
	case "critical":
		p = 40
	case "high":
		p = 30
	case "medium", "":
		p = 20
	case "low":
		p = 10
	}
	if referent {
		p += 5
	}
	if knownOrganization {
		p++
	}
	return p
}

// Enqueued is the result of Enqueue.
type Enqueued struct {
	// Overflow is non-nil when the group refused the caller (queue full,
	// nobody logged in): the caller is not queued.
	Overflow *Overflow
	Position Position
	Events   []Event
	// Offer is the call's offer when an operator was free at once: what
	// the first WaitOffer would return (which may still be called).
	Offer *Offer
}

// Position is a waiting caller's place in the queue, for announcements.
type Position struct {
	Group         string
	Position      int           // 1 is next
	EstimatedWait time.Duration // 0 when there is no recent history
}

// Offer is an operator (or several, for RingAll) chosen for a call.
type Offer struct {
	CallID      string
	Group       string
	Attempt     int        // 1 for the first offer of the call, then 2…
	Operators   []Operator // ring them all; the first to answer takes the call
	RingTimeout time.Duration
	// Callback is the number to call back when the entry is a callback
	// (RequestCallback), "" for a caller on the line; CallbackTries counts
	// the attempts that reached nobody so far.
	Callback      string
	CallbackTries int
	// Overflow is non-nil instead of an offer when the caller reached the
	// group's MaxWait or nobody is logged in any more: the caller has left
	// the queue; act on it.
	Overflow *Overflow
	Events   []Event
}

// Event kinds. They match the kinds of tickets.CallEvent
// (tickets.EventKind(e.Kind)); NoAnswer is the controller's "no_answer".
const (
	EventQueued      = "queued"
	EventOffered     = "offered"
	EventNoAnswer    = "no_answer"
	EventAnswered    = "answered"
	EventAbandoned   = "abandoned"
	EventTransferred = "transferred" // overflow; Detail says where and why
)

// Event is one reportable step of a call in a queue. Its fields are those
// of tickets.CallEvent.
type Event struct {
	At       time.Time
	Kind     string
	Group    string
	Operator string // login
	Detail   string
}

// Leave reasons.
const (
	LeaveAbandoned = "abandoned" // the caller hung up while waiting
	LeaveOverflow  = "overflow"  // the controller took the caller elsewhere
)

// GroupStats is a group's line on a wallboard.
type GroupStats struct {
	Group       string
	Waiting     int
	LongestWait time.Duration
	Operators   map[State]int
	// Today, in the service's time zone.
	Offered, Answered, Abandoned, Overflowed int
	// Callbacks: waiting now (not counted in Waiting: the caller is off
	// the line); today requested, made (an operator took one; attempts
	// that reached nobody count each), answered (also in Answered) and
	// failed, and the mean time from request to an answered callback.
	CallbacksWaiting                                                      int
	CallbacksRequested, CallbacksMade, CallbacksAnswered, CallbacksFailed int
	CallbackDelay                                                         time.Duration
}

func ms(d time.Duration) int64 { return d.Milliseconds() }

func fromMS(v int64) time.Duration { return time.Duration(v) * time.Millisecond }

func (o Overflow) detail() string {
	if o.Action == OverflowGroup {
		return fmt.Sprintf("overflow to %s (%s)", o.Group, o.Reason)
	}
	return fmt.Sprintf("overflow: %s (%s)", o.Action, o.Reason)
}
