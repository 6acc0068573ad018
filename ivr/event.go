package ivr

import "time"

// Event is one step of a call, as the caller and the help desk see it:
// the transcript of `ivrctl simulate` and the panel's live view. It never
// carries PIN digits.
type Event struct {
	Time   time.Time `json:"time"`
	CallID string    `json:"call_id"`
	Kind   string    `json:"event"`
	Node   string    `json:"node,omitempty"`
	Prompt []string  `json:"prompt,omitempty"` // prompt names
	Text   string    `json:"text,omitempty"`
	Keys   string    `json:"keys,omitempty"`
	Open   *bool     `json:"open,omitempty"`
	Reason string    `json:"reason,omitempty"`
	Result string    `json:"result,omitempty"`
	Group  string    `json:"group,omitempty"`
	// Operator is the login of the operator rung, answering or not.
	Operator string `json:"operator,omitempty"`
	// Position is the caller's place in the queue (1 is next).
	Position int      `json:"position,omitempty"`
	Ticket   string   `json:"ticket,omitempty"`
	Caller   string   `json:"caller,omitempty"`
	Org      string   `json:"organization,omitempty"`
	Role     string   `json:"role,omitempty"`
	By       string   `json:"by,omitempty"`
	Outcome  string   `json:"outcome,omitempty"`
	Path     []string `json:"menu_path,omitempty"`
	Seconds  float64  `json:"seconds,omitempty"`
	// Rating is the caller's survey rating, 1–5 (EvSurvey, Result rated).
	Rating int `json:"rating,omitempty"`
	// Test: a test call (Stasis argument TestArg), e.g. from the test phone.
	Test bool `json:"test,omitempty"`

	// For the call journal (package journal), not in transcripts:
	// Entry is the number dialled and Args the Stasis application's
	// arguments (EvCall); Version the configuration's (menu.Config.Version)
	// the call runs under (EvCall); Terminated says the keys of an EvKeys
	// ended with the entry's terminator (#), which Keys leaves out.
	Entry      string   `json:"-"`
	Args       []string `json:"-"`
	Version    string   `json:"-"`
	Terminated bool     `json:"-"`
}

// The event kinds.
const (
	EvCall      = "call"      // a call arrived
	EvTicket    = "ticket"    // its ticket was opened
	EvHours     = "hours"     // the hours decision
	EvLanguage  = "language"  // the caller's language (Text) and how it was known (Reason)
	EvPrompt    = "prompt"    // prompts started playing
	EvKeys      = "keys"      // keys collected for a menu or ticket number
	EvTimeout   = "timeout"   // nothing keyed in time
	EvPIN       = "pin"       // PIN accepted or refused (never the digits)
	EvRoute     = "route"     // handed to a group
	EvQueued    = "queued"    // waiting in a group's queue (Position)
	EvPosition  = "position"  // the position announced to a waiting caller
	EvOverflow  = "overflow"  // the queue sent the caller elsewhere (Reason, Group)
	EvRinging   = "ringing"   // an operator's phone rings
	EvAnswered  = "answered"  // an operator answered
	EvNoAnswer  = "no_answer" // an operator did not answer
	EvRecording = "recording" // a message is being recorded
	EvMessage   = "message"   // the message was saved
	EvStatus    = "status"    // a ticket's status was told
	EvHangup    = "hangup"    // the call ended
	EvOutcome   = "outcome"   // the final line
	EvResumed   = "resumed"   // the call was picked up after a lost connection
	EvError     = "error"     // something failed on the help desk's side
	// EvSurvey is a step of the post-call survey: Result asked, rated
	// (Rating), comment (recording), commented (Seconds) or skipped
	// (Reason hangup, timeout, invalid).
	EvSurvey = "survey"
)
