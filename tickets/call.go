package tickets

import (
	"context"
	"time"
)

// Call is the record of one call to the help desk. Times are zero when the
// call never got there. The durations the reports use derive from them:
// offered means QueuedAt is set, answered means OperatorAnsweredAt is set,
// abandoned means queued and ended without an operator answering.
type Call struct {
	ID                 int64
	ChannelID          string // Asterisk channel id (unique per node)
	AsteriskNode       string
	Caller             string // E.164, "" when withheld
	Called             string // the number dialled
	StartedAt          time.Time
	AnsweredAt         time.Time // the IVR answered
	QueuedAt           time.Time // entered an operator group's queue
	OperatorAnsweredAt time.Time
	EndedAt            time.Time
	Outcome            Outcome
	HangupBy           HangupBy
	Group              string
	Operator           string
	TicketID           int64
}

// Wait is how long the caller waited in the queue: until an operator
// answered, or until the call ended if none did. 0 if never queued.
func (c Call) Wait() time.Duration {
	if c.QueuedAt.IsZero() {
		return 0
	}
	switch {
	case !c.OperatorAnsweredAt.IsZero():
		return c.OperatorAnsweredAt.Sub(c.QueuedAt)
	case !c.EndedAt.IsZero():
		return c.EndedAt.Sub(c.QueuedAt)
	}
	return 0
}

// Talk is how long the caller talked with an operator (0 until the call
// has ended).
func (c Call) Talk() time.Duration {
	if c.OperatorAnsweredAt.IsZero() || c.EndedAt.IsZero() {
		return 0
	}
	return c.EndedAt.Sub(c.OperatorAnsweredAt)
}

// NewCall opens a call and its ticket.
type NewCall struct {
	ChannelID    string
	AsteriskNode string
	Caller       string
	Called       string
	StartedAt    time.Time // default now
	Source       Source    // default SourcePhone
	Priority     Priority  // default PriorityMedium
	Subject      string
	// Optional ticket fields, when already known at the start of the call.
	Organization string
	CallerRole   CallerRole // default CallerUnknown
	Group        string
	Category     string
	Language     string // the caller's, when known at the start
	// AnsweredAt, when the IVR has already answered (zero: not yet, see
	// CallUpdate.AnsweredAt), and Events, the first of the call's timeline:
	// written with the record, in the same statement.
	AnsweredAt time.Time
	Events     []CallEvent
	// ContactID is set by OpenCall, not by its caller: the ticket's
	// contact found by the caller's number, when it asks HookOnCreate a
	// second time (see OpenCall).
	ContactID int64
}

// EventKind is a step of a call's timeline.
type EventKind string

const (
	EventEntered       EventKind = "entered"
	EventHoursCheck    EventKind = "hours_check"
	EventMenuSelection EventKind = "menu_selection"
	EventPINAccepted   EventKind = "pin_accepted" // never with the digits
	EventPINRefused    EventKind = "pin_refused"  // never with the digits
	EventPINLocked     EventKind = "pin_locked"
	EventInvalidInput  EventKind = "invalid_input"
	EventStatusTold    EventKind = "status_told"
	EventQueued        EventKind = "queued"
	EventOffered       EventKind = "offered"  // rung an operator
	EventAnswered      EventKind = "answered" // an operator answered
	EventAbandoned     EventKind = "abandoned"
	EventMessageLeft   EventKind = "message_left"
	EventTransferred   EventKind = "transferred"
	EventHangup        EventKind = "hangup"
)

// CallEvent is one entry of a call's timeline. Fields that do not apply
// stay empty. PIN events must carry no Key and no digits in Detail.
type CallEvent struct {
	At       time.Time
	Kind     EventKind
	Node     string // menu node
	Key      string // key pressed in a menu
	Label    string
	Group    string
	Operator string
	Detail   string
	// Duration is how long what the event closes lasted (a hold, an
	// operator's part of a call), zero for most events.
	Duration time.Duration
}

// Outcome is how a call ended up.
type Outcome string

const (
	OutcomeRouted            Outcome = "routed"              // sent to an operator group
	OutcomeAnswered          Outcome = "answered"            // an operator talked with the caller
	OutcomeAbandoned         Outcome = "abandoned"           // hung up while queued
	OutcomeAfterHoursMessage Outcome = "after_hours_message" // left a message out of hours
	OutcomeClosedNoMessage   Outcome = "closed_no_message"   // out of hours, no message
	OutcomePINLocked         Outcome = "pin_locked"          // too many wrong PINs
	OutcomeInvalidInput      Outcome = "invalid_input"       // gave up after repeated invalid input
	OutcomeStatusTold        Outcome = "status_told"         // heard a ticket's status
	OutcomeTransferred       Outcome = "transferred"
	OutcomeHungUpInMenu      Outcome = "hung_up_in_menu"
	OutcomeFailed            Outcome = "failed"       // a system error ended the call
	OutcomeMessageLeft       Outcome = "message_left" // left a recorded request in service hours (nobody answered, or a message leaf)
	OutcomeOverflowed        Outcome = "overflowed"   // the group's queue refused the call (full, nobody logged in) and it ended with a message
)

// HangupBy says who ended the call.
type HangupBy string

const (
	HangupCaller   HangupBy = "caller"
	HangupSystem   HangupBy = "system"
	HangupOperator HangupBy = "operator"
)

// CallUpdate changes some fields of a call while it runs; nil fields are
// left alone.
type CallUpdate struct {
	AnsweredAt         *time.Time
	QueuedAt           *time.Time
	OperatorAnsweredAt *time.Time
	Group              *string
	Operator           *string
	// Events are appended to the call's timeline in the same statement
	// (as AppendCallEvents would).
	Events []CallEvent
}

// CallEnd closes a call record.
type CallEnd struct {
	EndedAt  time.Time // default now
	Outcome  Outcome
	HangupBy HangupBy
	// Events are appended to the call's timeline in the same statement,
	// whether or not the call was already finished (as AppendCallEvents
	// before FinishCall would).
	Events []CallEvent
}

// Bucket is the period a report row covers.
type Bucket string

// The buckets, in the service time zone: a week is an ISO week (from
// Monday 00:00), a day or a month starts at local midnight, whatever the
// clocks do in between.
const (
	BucketHour  Bucket = "hour"
	BucketDay   Bucket = "day"
	BucketWeek  Bucket = "week"
	BucketMonth Bucket = "month"
)

// Buckets lists the buckets, shortest first.
var Buckets = []Bucket{BucketHour, BucketDay, BucketWeek, BucketMonth}

// MaxDays is the longest period a report by b may cover (after
// AlignPeriod), so that one request cannot ask for years of hours; 0 for
// an unknown bucket.
func (b Bucket) MaxDays() int {
	switch b {
	case BucketHour:
		return 31
	case BucketDay:
		return 366
	case BucketWeek:
		return 53 * 7
	case BucketMonth:
		return 2*366 + 31
	}
	return 0
}

// AlignPeriod widens [from, to) to whole weeks or months for those
// buckets (both local midnights), so that no row covers part of its
// period; hours and days are left as they are.
func (b Bucket) AlignPeriod(from, to time.Time) (time.Time, time.Time) {
	switch b {
	case BucketWeek:
		back := (int(from.Weekday()) + 6) % 7 // days since Monday
		from = time.Date(from.Year(), from.Month(), from.Day()-back, 0, 0, 0, 0, from.Location())
		if fwd := (8 - int(to.Weekday())) % 7; fwd > 0 { // days to the next Monday
			to = time.Date(to.Year(), to.Month(), to.Day()+fwd, 0, 0, 0, 0, to.Location())
		}
	case BucketMonth:
		from = time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, from.Location())
		if to.Day() != 1 {
			to = time.Date(to.Year(), to.Month()+1, 1, 0, 0, 0, 0, to.Location())
		}
	}
	return from, to
}

// ReportFilter selects calls for Report by the time they were queued.
type ReportFilter struct {
	From, To            time.Time // [From, To)
	Groups              []string  // empty: every group
	Bucket              Bucket    // default BucketHour
	ServiceLevelSeconds int       // default 20
	// GroupServiceLevels are the groups' own thresholds (the config's
	// service_level), in place of ServiceLevelSeconds for their calls.
	GroupServiceLevels map[string]time.Duration
}

// ReportRow aggregates the calls offered to one group in one period (in the
// service time zone). Periods without calls have no row.
type ReportRow struct {
	Start     time.Time // the period's start
	Group     string
	Offered   int // queued to the group
	Answered  int // answered by an operator
	Abandoned int // hung up while queued
	// AnsweredWithinSL were answered within the group's threshold,
	// ServiceLevelSeconds, of queueing; ServiceLevel is AnsweredWithinSL /
	// Offered.
	AnsweredWithinSL    int
	ServiceLevel        float64
	ServiceLevelSeconds int
	ASA                 time.Duration // average speed of answer (answered calls)
	// AHT is the average handle time (answered, ended calls): of a call
	// that changed hands, each operator's part counts for the group they
	// had it for.
	AHT time.Duration
	// Transfers are the calls the group's operators passed on (and its
	// queued callers moved elsewhere); Holds the conversations they put on
	// hold, for HoldTime in all.
	Transfers Transfers
	Holds     int
	HoldTime  time.Duration
}

// Transfers counts transfers by kind: blind to a group, to an operator, to
// an outside number; attended; a queued caller moved by a supervisor.
type Transfers struct {
	Group, Operator, Number, Attended, Moved int
}

// Total is every kind together.
func (t Transfers) Total() int { return t.Group + t.Operator + t.Number + t.Attended + t.Moved }

// ReportTotal sums rows: the totals' service level, ASA and AHT are over
// all their calls (each call counted against its own group's threshold).
// Start, Group and ServiceLevelSeconds are left zero.
func ReportTotal(rows []ReportRow) ReportRow {
	var t ReportRow
	var asa, aht time.Duration
	for _, x := range rows {
		t.Offered += x.Offered
		t.Answered += x.Answered
		t.Abandoned += x.Abandoned
		t.AnsweredWithinSL += x.AnsweredWithinSL
		asa += x.ASA * time.Duration(x.Answered)
		aht += x.AHT * time.Duration(x.Answered)
		t.Transfers.Group += x.Transfers.Group
		t.Transfers.Operator += x.Transfers.Operator
		t.Transfers.Number += x.Transfers.Number
		t.Transfers.Attended += x.Transfers.Attended
		t.Transfers.Moved += x.Transfers.Moved
		t.Holds += x.Holds
		t.HoldTime += x.HoldTime
	}
	if t.Offered > 0 {
		t.ServiceLevel = float64(t.AnsweredWithinSL) / float64(t.Offered)
	}
	if t.Answered > 0 {
		t.ASA = asa / time.Duration(t.Answered)
		t.AHT = aht / time.Duration(t.Answered)
	}
	return t
}

// CallRecorder is what the call controller needs from the store.
type CallRecorder interface {
	OpenCall(ctx context.Context, nc NewCall) (Call, Ticket, error)
	AppendCallEvents(ctx context.Context, callID int64, events ...CallEvent) error
	UpdateCall(ctx context.Context, callID int64, upd CallUpdate) error
	FinishCall(ctx context.Context, callID int64, end CallEnd) error
	FindCallByChannel(ctx context.Context, channelID string) (Call, error)
	FindTicketByNumber(ctx context.Context, n Number, v Viewer) (Ticket, error)
	FindTicketByID(ctx context.Context, id int64, v Viewer) (Ticket, error)
	UpdateTicket(ctx context.Context, id int64, upd TicketUpdate, actor Actor) (Ticket, error)
	AddAttachment(ctx context.Context, ticketID int64, a Attachment, actor Actor) (Attachment, error)
}
