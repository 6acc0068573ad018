// Package menu holds a help desk's configuration, as one YAML document:
// the service, its schedules, operator groups, Administrations with their
// PINs, the IVR defaults and the numeric menu tree. It decodes and
// validates that document (every problem at once, with file:line:col) and
// runs the menu as a pure state machine, the Navigator, which the call
// controller feeds with the caller's keys. No I/O and no clock here: the
// caller of Parse reads the file, and time comes in as values.
package menu

import (
	"cmp"
	"time"

	"github.com/helpdesk-ivr/ivr/hours"
)

// Pos is a position in the configuration file.
type Pos struct {
	Line, Col int
}

// Config is a whole help desk.
type Config struct {
	File string `yaml:"-"`

	Service   Service              `yaml:"service"`
	Schedules map[string]*Schedule `yaml:"schedules"`
	Groups    []*Group             `yaml:"groups"`
	Operators []*Operator          `yaml:"operators"`
	// Supervisors may listen to their groups' calls (supervisors.go).
	Supervisors   []*Supervisor   `yaml:"supervisors"`
	Organizations []*Organization `yaml:"organizations"`
	IVR           IVR             `yaml:"ivr"`
	Menu          *Node           `yaml:"menu"`
	// Categories is the list a ticket's category is chosen from (none:
	// free text).
	Categories []*Category `yaml:"categories"`
	// MailRules file the tickets opened by e-mail (mailrules.go).
	MailRules []*MailRule `yaml:"mail_rules"`
	// Connector links an existing ticketing system (connector.go).
	Connector *Connector `yaml:"connector"`
	// Transfers are the outside numbers a caller may be transferred to
	// (transfer.go); nil: none.
	Transfers *Transfers `yaml:"transfers"`

	// Filled by Parse after validation.
	location   *time.Location
	schedules  map[string]*hours.Schedule
	groups     map[string]*Group
	categories map[string]*Category // by reference: "id" or "id/sub"
	orgs       map[string]*Organization
	nodes      map[string]*Node
	pins       map[string]pinOwner
	version    string // SHA-256 of the source (Version)
}

// Service describes the entry point: the number callers dial.
type Service struct {
	Name      string   `yaml:"name"`
	Number    string   `yaml:"number"`
	Timezone  string   `yaml:"timezone"`
	Languages []string `yaml:"languages"`
	// Schedule names the schedule of the entry point itself.
	Schedule string `yaml:"schedule"`
	// PINSecretFile is a file (kept apart from this config) holding the key
	// of the PIN hashes; the environment variable IVR_PIN_SECRET wins over it.
	PINSecretFile string `yaml:"pin_secret_file"`

	Pos Pos `yaml:"-"`
}

// Schedule is the YAML form of an hours.Schedule.
type Schedule struct {
	// Weekly maps a day ("mon", "tuesday") or a range ("mon-fri") to
	// intervals such as "08:00-18:00".
	Weekly map[string][]string `yaml:"weekly"`
	// Holidays selects a built-in national calendar: "italy" or "none".
	Holidays string `yaml:"holidays"`
	// LocalHolidays are yearly local closures, such as a patron saint's day.
	LocalHolidays []LocalHoliday `yaml:"local_holidays"`
	// Locality is the Comune whose patron-saint day closes the schedule,
	// from the table in package hours (hours/patroni.txt), e.g. "Milano".
	Locality string      `yaml:"locality"`
	Closures []Exception `yaml:"closures"`
	Openings []Exception `yaml:"openings"`

	Pos         Pos `yaml:"-"`
	localityPos Pos
}

// LocalHoliday is a yearly closed day, written "MM-DD".
type LocalHoliday struct {
	Date string `yaml:"date"`
	Name string `yaml:"name"`
	Pos  Pos    `yaml:"-"`
}

// Exception is a one-off closure or extra opening: a day (or days up to
// Until), optionally only between From and To.
type Exception struct {
	Date  string `yaml:"date"`
	Until string `yaml:"until"`
	From  string `yaml:"from"`
	To    string `yaml:"to"`
	Note  string `yaml:"note"`
	Pos   Pos    `yaml:"-"`
}

// Group is an operator group, the target of a route.
type Group struct {
	ID       string   `yaml:"id"`
	Name     string   `yaml:"name"`
	Schedule string   `yaml:"schedule"`
	Emails   []string `yaml:"emails"`
	// Queue is how callers wait for the group's operators (listed under
	// operators:, each with the groups they serve).
	Queue Queue `yaml:"queue"`
	// DefaultCategory is the category of a call routed here whose menu
	// choice named none.
	DefaultCategory string `yaml:"default_category"`
	// Survey asks the caller to rate the call after the operator hangs
	// up (survey.go).
	Survey Survey `yaml:"survey"`
	// Callback lets a queued caller be called back in their turn
	// (callback.go).
	Callback Callback `yaml:"callback"`
	// ServiceLevel is the reports' "answered within" threshold for the
	// group's calls (a contract's "80% within 20 s"); 0: the panel's
	// default (GroupServiceLevels).
	ServiceLevel time.Duration `yaml:"service_level"`
	// Recording records the conversations with the group's operators,
	// with the caller's consent (recording.go).
	Recording Recording `yaml:"recording"`
	// OnHold is what a conversation put on hold does with the operator's
	// phone: HoldKeep (default) or HoldFree (transfer.go).
	OnHold string `yaml:"on_hold"`

	Pos Pos `yaml:"-"`
}

// The range of a group's service_level.
const (
	MinServiceLevel = time.Second
	MaxServiceLevel = 10 * time.Minute
)

// GroupServiceLevels is every group's service-level threshold: its
// service_level, or def where it sets none. The reports of the panel and
// the API pass it to the store, which counts each group's calls against
// its own threshold.
func (c *Config) GroupServiceLevels(def time.Duration) map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, g := range c.Groups {
		if g != nil {
			out[g.ID] = cmp.Or(g.ServiceLevel, def)
		}
	}
	return out
}

// Organization is an Administration the help desk knows.
type Organization struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// CallerIDs are E.164 numbers; a trailing "*" makes a prefix.
	CallerIDs []string `yaml:"caller_ids"`
	// Group is the Administration's own lot, where "org_route" nodes send
	// its callers.
	Group  string   `yaml:"group"`
	Emails []string `yaml:"emails"`
	// NotifyReferents sends the opening and closing mails of the
	// Administration's tickets to its referent contacts (the contacts
	// directory, role referent) as well as to Emails.
	NotifyReferents bool `yaml:"notify_referents"`
	// Priority is added to the queue priority of the Administration's
	// callers (see IVR.QueuePriority).
	Priority int `yaml:"priority"`
	// PINs maps a role to the keyed hash of its PIN ("hmac-sha256:<hex>").
	PINs map[Role]string `yaml:"pins"`
	// Code is the Administration's code, keyed before the PIN on numbers
	// of no Administration when ivr.pin.require_org_code_from_unknown_numbers
	// is on (pinguard.go).
	Code string `yaml:"code"`
	// Language is what its callers are served in without being asked
	// (one of service.languages).
	Language string `yaml:"language"`

	Pos Pos `yaml:"-"`
}

// Role is what a PIN says about its holder.
type Role string

// The roles of seed 001: two PINs per Administration.
const (
	RoleReferent Role = "referent"
	RoleUser     Role = "user"
	RoleUnknown  Role = "unknown"
)

// IVR holds the behaviour shared by every node; nodes may override the
// timing and retry fields.
type IVR struct {
	Language          string        `yaml:"language"`
	FirstDigitTimeout time.Duration `yaml:"first_digit_timeout"`
	InterDigitTimeout time.Duration `yaml:"inter_digit_timeout"`
	MaxRetries        int           `yaml:"max_retries"`
	// MaxCalls caps the calls ivrd serves at once; calls beyond it go
	// back to the dialplan's fallback as while ivrd drains (0: no cap).
	// Past its capacity (the load benchmark) ivrd gets slower for
	// everyone and then fails calls; the fallback still serves them.
	MaxCalls      int       `yaml:"max_calls"`
	OnFailure     *Fallback `yaml:"on_failure"`
	BackKey       string    `yaml:"back_key"`
	RepeatKey     string    `yaml:"repeat_key"`
	OperatorKey   string    `yaml:"operator_key"`
	OperatorGroup string    `yaml:"operator_group"`
	// AfterHoursGroup takes the requests of callers whom no
	// Administration or menu choice sends to a group (a message left
	// while the whole service is closed, a hangup in the menu), so that
	// every ticket has a group some operator sees. Default: OperatorGroup,
	// then on_failure's group, then the first group.
	AfterHoursGroup string        `yaml:"after_hours_group"`
	PIN             PINPolicy     `yaml:"pin"`
	Message         MessagePolicy `yaml:"message"`
	QueuePriority   QueuePriority `yaml:"queue_priority"`
	// LanguageMenu, when set, asks callers whose language is not known
	// from their number which one they speak (language.go).
	LanguageMenu *LanguageMenu `yaml:"language_menu"`
	// CallerLanguages maps a number prefix (+44) to the language its
	// callers are served in without being asked.
	CallerLanguages map[string]string `yaml:"caller_languages"`
	// Prompts are the system prompts (invalid choice, goodbye, ...), by
	// name then language.
	Prompts map[string]Text `yaml:"prompts"`

	Pos Pos `yaml:"-"`
}

// Fallback is what happens after the last failed retry.
type Fallback struct {
	Action Kind   `yaml:"action"` // route or hangup
	Group  string `yaml:"group"`
	Pos    Pos    `yaml:"-"`
}

// PINPolicy bounds PIN entry.
type PINPolicy struct {
	MinDigits   int           `yaml:"min_digits"`
	MaxDigits   int           `yaml:"max_digits"`
	MaxAttempts int           `yaml:"max_attempts"`
	Lockout     time.Duration `yaml:"lockout"`
	Timeout     time.Duration `yaml:"timeout"`
	// Lockouts per Administration and the alarm: see pinguard.go.
	MaxAttemptsPerOrganization int           `yaml:"max_attempts_per_organization"`
	AlarmFailures              int           `yaml:"alarm_failures"`
	AlarmWindow                time.Duration `yaml:"alarm_window"`
	// RequireOrgCodeFromUnknownNumbers makes callers on numbers of no
	// Administration key their Administration's code before the PIN.
	RequireOrgCodeFromUnknownNumbers bool `yaml:"require_org_code_from_unknown_numbers"`
}

// MessagePolicy bounds a recorded after-hours request.
type MessagePolicy struct {
	MaxDuration time.Duration `yaml:"max_duration"`
	MaxSilence  time.Duration `yaml:"max_silence"`
}

// Text is a prompt in several languages.
type Text map[string]string

// Kind is what a node does when the caller reaches it.
type Kind string

// The node kinds.
const (
	KindMenu    Kind = "menu"
	KindRoute   Kind = "route"
	KindMessage Kind = "message"
	KindStatus  Kind = "status"
	KindHangup  Kind = "hangup"
)

// Node is one entry of the menu tree.
type Node struct {
	ID     string `yaml:"id"`
	Label  string `yaml:"label"`
	Action Kind   `yaml:"action"`
	Prompt Text   `yaml:"prompt"`
	// Sound overrides the generated prompt file, per language (an Asterisk
	// sound name such as "custom/benvenuto").
	Sound    Text             `yaml:"sound"`
	Options  map[string]*Node `yaml:"options"`
	Group    string           `yaml:"group"`
	Priority string           `yaml:"priority"`
	// Category is the ticket's category when the caller chooses this
	// route or message node (one of categories:).
	Category string `yaml:"category"`
	// OrgRoute sends a caller whose number belongs to a known
	// Administration straight to that Administration's group (seed 003).
	OrgRoute   bool     `yaml:"org_route"`
	RequirePIN *PINRule `yaml:"require_pin"`
	// AllowOperator lets the operator key work at this node (default true
	// when an operator key and group are configured).
	AllowOperator *bool `yaml:"allow_operator"`
	// KeyHints false skips the check that the prompt text announces the
	// node's keys, for a recorded prompt whose words are not in the file
	// (keyhints.go).
	KeyHints *bool `yaml:"key_hints"`

	FirstDigitTimeout time.Duration `yaml:"first_digit_timeout"`
	InterDigitTimeout time.Duration `yaml:"inter_digit_timeout"`
	MaxRetries        int           `yaml:"max_retries"`

	Pos    Pos    `yaml:"-"`
	Key    string `yaml:"-"`
	parent *Node
	keys   []string // sorted option keys
	// promptPos is where each language's prompt text is, for key hints.
	promptPos map[string]Pos
}

// PINRule makes a node ask for a PIN first.
type PINRule struct {
	Roles []Role `yaml:"roles"`
	Pos   Pos    `yaml:"-"`
}

// DefaultGroup is the group of a ticket that no menu choice sent to one:
// the caller's Administration's own (org, "" if none), else
// ivr.after_hours_group, ivr.operator_group, on_failure's group or the
// first group.
func (c *Config) DefaultGroup(org string) string {
	if o := c.orgs[org]; o != nil && c.groups[o.Group] != nil {
		return o.Group
	}
	var fallback string
	if f := c.IVR.OnFailure; f != nil {
		fallback = f.Group
	}
	for _, g := range []string{c.IVR.AfterHoursGroup, c.IVR.OperatorGroup, fallback} {
		if c.groups[g] != nil {
			return g
		}
	}
	if len(c.Groups) > 0 {
		return c.Groups[0].ID
	}
	return ""
}
