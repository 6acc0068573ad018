// Package tickets holds the help desk's tickets and call records: the domain
// types, their workflow and errors, and the PostgreSQL store with its
// migrations.
//
// Every call leaves a call record and a ticket (Store.OpenCall); operators
// and supervisors work the tickets from the panel; the call records feed the
// reports. Reads take a Viewer, so that an operator only ever sees the
// tickets of the groups they belong to and the caller-side views never see
// internal notes. Writes take an Actor, recorded in the ticket's history.
package tickets

import (
	"context"
	"slices"
	"time"
)

// Status is where a ticket is in its workflow.
type Status string

const (
	StatusNew        Status = "new"         // Nuovo: nobody has taken it yet
	StatusInProgress Status = "in_progress" // In lavorazione
	StatusWaiting    Status = "waiting"     // In attesa: waiting on the caller
	StatusClosed     Status = "closed"      // Chiuso
)

// Statuses lists every status in workflow order.
var Statuses = []Status{StatusNew, StatusInProgress, StatusWaiting, StatusClosed}

// transitions is the workflow. Reopening a closed ticket goes either to
// in_progress (an operator takes it back at once, e.g. while on the phone
// with the caller) or to new (it goes back to the group's queue).
var transitions = map[Status][]Status{
	StatusNew:        {StatusInProgress, StatusWaiting, StatusClosed},
	StatusInProgress: {StatusWaiting, StatusClosed},
	StatusWaiting:    {StatusInProgress, StatusClosed},
	StatusClosed:     {StatusInProgress, StatusNew},
}

// CanTransition reports whether the workflow lets a ticket go from one
// status to another. Staying in the same status is not a transition.
func CanTransition(from, to Status) bool {
	return slices.Contains(transitions[from], to)
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Label is the Italian name shown to operators and callers.
func (s Status) Label() string {
	switch s {
	case StatusNew:
		return "Nuovo"
	case StatusInProgress:
		return "In lavorazione"
	case StatusWaiting:
		return "In attesa"
	case StatusClosed:
		return "Chiuso"
	}
	return string(s)
}

// Priority is the severity operators assign (Critico/Bloccante, Alto,
// Medio, Basso).
type Priority string

const (
	PriorityCritical Priority = "critical"
	PriorityHigh     Priority = "high"
	PriorityMedium   Priority = "medium"
	PriorityLow      Priority = "low"
)

// Priorities lists every priority, most severe first.
var Priorities = []Priority{PriorityCritical, PriorityHigh, PriorityMedium, PriorityLow}

func (p Priority) Valid() bool { return slices.Contains(Priorities, p) }

// Label is the Italian name.
func (p Priority) Label() string {
	switch p {
	case PriorityCritical:
		return "Critico/Bloccante"
	case PriorityHigh:
		return "Alto"
	case PriorityMedium:
		return "Medio"
	case PriorityLow:
		return "Basso"
	}
	return string(p)
}

// Source is the channel a ticket came in through.
type Source string

const (
	SourcePhone      Source = "phone"       // a call handled live
	SourceAfterHours Source = "after_hours" // a message left out of hours
	SourcePanel      Source = "panel"       // typed in by an operator
	SourceMail       Source = "mail"        // an e-mail received (package mailin)
	SourcePortal     Source = "portal"      // opened by an Administration's user in the panel's portal
)

var Sources = []Source{SourcePhone, SourceAfterHours, SourcePanel, SourceMail, SourcePortal}

func (s Source) Valid() bool { return slices.Contains(Sources, s) }

// CallerRole is who the caller is for their organization: a referent sees
// the whole organization's tickets, a user only their own.
type CallerRole string

const (
	CallerReferent CallerRole = "referent"
	CallerUser     CallerRole = "user"
	CallerUnknown  CallerRole = "unknown"
)

var CallerRoles = []CallerRole{CallerReferent, CallerUser, CallerUnknown}

func (r CallerRole) Valid() bool { return slices.Contains(CallerRoles, r) }

// MenuStep is one choice the caller made in the IVR menu.
type MenuStep struct {
	Key   string `json:"key"`
	Label string `json:"label"`
}

// Ticket is one request to the help desk.
type Ticket struct {
	ID           int64
	Number       Number
	Source       Source
	Caller       string // E.164, "" when withheld
	Organization string
	CallerRole   CallerRole
	MenuPath     []MenuStep
	Group        string // operator group id
	Category     string
	Subject      string
	Description  string
	Priority     Priority
	Status       Status
	Assignee     string    // operator login, "" when unassigned
	DueAt        time.Time // zero when none
	CreatedAt    time.Time
	UpdatedAt    time.Time
	ClosedAt     time.Time // zero unless closed
	// ContactID is the person the ticket is for (a Contact), 0 when none:
	// the caller's contact when their number is in the directory.
	ContactID int64
	// Version increases with every update of the ticket's fields; pass the
	// one you read to UpdateTicket. Articles and attachments do not change it.
	Version int
	// Language is the one the caller was served in ("" when not known).
	Language string
}

// TicketUpdate changes some fields of a ticket. Nil fields are left alone.
// DueAt pointing at the zero time clears the due time.
type TicketUpdate struct {
	Version      int // the version the editor saw
	Status       *Status
	Priority     *Priority
	Source       *Source
	Group        *string
	Assignee     *string
	Category     *string
	Subject      *string
	Description  *string
	Organization *string
	CallerRole   *CallerRole
	MenuPath     *[]MenuStep
	DueAt        *time.Time
	// ContactID sets the ticket's contact, an enabled contact of the
	// ticket's Administration; pointing at 0 clears it.
	ContactID *int64
}

// Article is a message on a ticket: public (the caller may read it) or an
// internal note ("comunicazione interna") for staff only.
type Article struct {
	ID        int64
	TicketID  int64
	Internal  bool
	Author    string // defaults to the actor's id
	Body      string
	CreatedAt time.Time // defaults to now
}

// Attachment is a file attached to a ticket, such as the recording of an
// after-hours message. The store keeps its metadata; the bytes live at URI.
type Attachment struct {
	ID          int64
	TicketID    int64
	Name        string
	URI         string
	ContentType string
	Size        int64         // bytes
	Duration    time.Duration // recordings; 0 otherwise
	CreatedAt   time.Time     // defaults to now
	CreatedBy   string        // the actor's id
}

// Change is one entry of a ticket's history: a field that changed, from what
// to what, who did it and when. Articles and attachments appear as fields
// "article", "internal_note" and "attachment" with the new item's id. The
// ticket's creation is not an entry: its CreatedAt and Source say it.
type Change struct {
	ID       int64
	TicketID int64
	At       time.Time
	Actor    Actor
	Field    string
	Old, New string
}

// ActorKind is the kind of party that changes a ticket.
type ActorKind string

const (
	ActorSystem     ActorKind = "system"
	ActorOperator   ActorKind = "operator"
	ActorSupervisor ActorKind = "supervisor"
	ActorCaller     ActorKind = "caller"
)

// Actor is who makes a change, for the history.
type Actor struct {
	Kind ActorKind
	ID   string // login, caller number, or the system component
}

func (a Actor) valid() bool {
	switch a.Kind {
	case ActorSystem, ActorOperator, ActorSupervisor, ActorCaller:
		return true
	}
	return false
}

// ViewerKind says which tickets a reader may see.
type ViewerKind string

const (
	ViewerSystem      ViewerKind = "system"       // internal jobs and the call controller: everything
	ViewerStaffAll    ViewerKind = "staff_all"    // supervisors and admins: everything
	ViewerStaffGroups ViewerKind = "staff_groups" // operators: the tickets of their groups
	ViewerCallerOrg   ViewerKind = "caller_org"   // a referent: the organization's tickets and their own
	ViewerCallerOwn   ViewerKind = "caller_own"   // a user: the tickets opened from their number
	// ViewerCallerUser is a generic user identified by their
	// Administration's user PIN: the tickets opened from their number, or
	// under the same PIN identity (the Administration's, role user).
	ViewerCallerUser ViewerKind = "caller_user"
	// ViewerContact is a person of the contacts directory in the panel's
	// portal (a generic user): the tickets whose contact they are.
	ViewerContact ViewerKind = "contact"
)

// Viewer is who reads. Reads of tickets a viewer may not see answer
// fault.ErrNotFound, so that their existence does not leak.
type Viewer struct {
	Kind         ViewerKind
	Groups       []string // ViewerStaffGroups
	Organization string   // ViewerCallerOrg, ViewerCallerUser
	Caller       string   // ViewerCallerOwn, and the callers' own tickets
	Contact      int64    // ViewerContact: a contacts row's id
	Login        string   // staff login, for logs
}

// CallerSide reports whether v is a caller's view: no internal notes, no
// history of staff-only fields.
func (v Viewer) CallerSide() bool {
	return v.Kind == ViewerCallerOrg || v.Kind == ViewerCallerOwn || v.Kind == ViewerCallerUser || v.Kind == ViewerContact
}

// TicketFilter selects tickets for FindTickets. Empty fields do not filter;
// several values in one field are alternatives, fields are all required.
type TicketFilter struct {
	Statuses     []Status
	Priorities   []Priority
	Groups       []string
	Organization string
	Caller       string
	Assignee     string
	CreatedFrom  time.Time // inclusive
	CreatedTo    time.Time // exclusive
	// Text matches tickets having every word typed, as a word or the start
	// of one, in subject, category, description or articles; caller-side
	// viewers match only what they may read. See FindTickets for its count.
	Text string
	// Limit is the page size: default 50, at most 500.
	Limit int
	// After is the Next of the previous page.
	After Cursor
	// CountLimit caps the total count, so that counting a million tickets
	// does not cost more than the page: default 10,000; negative skips the
	// count.
	CountLimit int
}

// Cursor is an opaque position in a list of tickets, newest first.
type Cursor string

// TicketPage is one page of FindTickets.
type TicketPage struct {
	Tickets []Ticket
	Next    Cursor // "" on the last page
	// Total counts the tickets matching the filter, up to the filter's
	// CountLimit; TotalCapped says the real count is higher. A text search
	// whose words are common answers without counting: Total is then at
	// least the page plus one, and TotalCapped is set.
	Total       int
	TotalCapped bool
}

// TicketService is what the panel needs from the store.
type TicketService interface {
	FindTicketByID(ctx context.Context, id int64, v Viewer) (Ticket, error)
	FindTicketByNumber(ctx context.Context, n Number, v Viewer) (Ticket, error)
	FindTickets(ctx context.Context, f TicketFilter, v Viewer) (TicketPage, error)
	UpdateTicket(ctx context.Context, id int64, upd TicketUpdate, actor Actor) (Ticket, error)
	AddArticle(ctx context.Context, ticketID int64, a Article, actor Actor) (Article, error)
	AddAttachment(ctx context.Context, ticketID int64, a Attachment, actor Actor) (Attachment, error)
	Articles(ctx context.Context, ticketID int64, v Viewer) ([]Article, error)
	Attachments(ctx context.Context, ticketID int64, v Viewer) ([]Attachment, error)
	History(ctx context.Context, ticketID int64, v Viewer) ([]Change, error)
	CallsOfTicket(ctx context.Context, ticketID int64, v Viewer) ([]Call, error)
	Report(ctx context.Context, f ReportFilter) ([]ReportRow, error)
}
