package menu

import (
	"slices"
	"strings"
	"time"
)

// Step is the kind of thing the controller must do next.
type Step string

// The steps a Navigator can ask for.
const (
	// StepMenu plays prompts and collects one key.
	StepMenu Step = "menu"
	// StepPIN plays prompts and collects a PIN ending with the terminator.
	StepPIN Step = "pin"
	// StepRoute hands the call to an operator group.
	StepRoute Step = "route"
	// StepMessage records a request for a group.
	StepMessage Step = "message"
	// StepStatus asks for a ticket number and tells its status.
	StepStatus Step = "status"
	// StepHangup plays prompts and ends the call.
	StepHangup Step = "hangup"
)

// Reasons attached to actions that end the menu other than by choice.
const (
	ReasonInvalidInput = "invalid_input"
	ReasonPINLocked    = "pin_locked"
	ReasonOperator     = "operator"
	ReasonOrgRoute     = "org_route"
	ReasonMenuHangup   = "menu_hangup"
)

// Prompt is one thing to play.
type Prompt struct {
	// Name is "system:<name>" or "node:<id>", stable for transcripts.
	Name  string
	Sound string // Asterisk sound name, without "sound:"
	Text  string
}

// Collect says how to gather the caller's keys after the prompts.
type Collect struct {
	MaxDigits         int
	FirstDigitTimeout time.Duration
	InterDigitTimeout time.Duration
	// Terminator ends the entry early (PINs and ticket numbers end with #).
	Terminator string
}

// Action is the navigator's answer: what the controller does next.
type Action struct {
	Step     Step
	Node     string // the node the action belongs to
	Prompts  []Prompt
	Collect  Collect
	Group    string
	Priority string
	Category string // the node's, for the ticket
	// Reason says why a route or hang-up happened when it was not the
	// caller's choice (invalid_input, pin_locked, operator, org_route).
	Reason string
}

// InputKind is what happened since the last action.
type InputKind int

// The inputs.
const (
	// InputDigits carries the keys collected for a StepMenu action.
	InputDigits InputKind = iota
	// InputTimeout means nothing was keyed in time.
	InputTimeout
	// InputPIN carries the verdict on a PIN (the digits never reach here).
	InputPIN
)

// Input is fed to the navigator.
type Input struct {
	Kind   InputKind
	Digits string
	PIN    PINResult
}

// PathStep is one choice the caller made, for the ticket.
type PathStep struct {
	Key   string `json:"key"`
	Label string `json:"label"`
	Node  string `json:"node"`
}

// Caller is what the controller knows of the caller at the start.
type Caller struct {
	Number       string // E.164, may be empty
	Organization string // recognised by caller id, may be empty
}

// Navigator walks one caller through the menu. It is a pure state
// machine: it never blocks, never panics on any input sequence, and keeps
// nothing of the PIN digits.
type Navigator struct {
	cfg    *Config
	lang   string
	caller Caller

	cur         *Node // the menu being offered
	pending     *Node // the node waiting behind a PIN
	retries     int
	pinFailures int
	org         string
	role        Role
	path        []PathStep
	last        Action
	done        bool
}

// NewNavigator starts a navigator for one call in a language (empty means
// the configured default).
func NewNavigator(cfg *Config, caller Caller, lang string) *Navigator {
	if lang == "" || !slices.Contains(cfg.Service.Languages, lang) {
		lang = cfg.IVR.Language
	}
	return &Navigator{cfg: cfg, lang: lang, caller: caller, org: caller.Organization, role: RoleUnknown}
}

// Start returns the first action: the root menu.
func (n *Navigator) Start() Action {
	return n.remember(n.enter(n.cfg.Menu, nil))
}

// Feed advances the navigator with what happened and returns what to do.
// Once the navigator has reached a final step it keeps returning it.
func (n *Navigator) Feed(in Input) Action {
	if n.done {
		return n.last
	}
	switch n.last.Step {
	case StepPIN:
		return n.remember(n.feedPIN(in))
	case StepMenu:
		return n.remember(n.feedMenu(in))
	}
	// Nothing is expected: repeat the last action rather than guess.
	return n.last
}

// Path returns the choices made so far.
func (n *Navigator) Path() []PathStep { return slices.Clone(n.path) }

// Keys returns the keys of the path, e.g. ["1", "3"].
func (n *Navigator) Keys() []string {
	keys := make([]string, 0, len(n.path))
	for _, s := range n.path {
		if s.Key != "" {
			keys = append(keys, s.Key)
		}
	}
	return keys
}

// Identity returns the Administration and role known so far.
func (n *Navigator) Identity() (string, Role) { return n.org, n.role }

// Language is the caller's language.
func (n *Navigator) Language() string { return n.lang }

// Done reports whether the menu has ended.
func (n *Navigator) Done() bool { return n.done }

// Current returns the node the caller is at.
func (n *Navigator) Current() string {
	if n.last.Node != "" {
		return n.last.Node
	}
	return "root"
}

// Restart goes back to the root menu after an interruption, keeping the
// path and the identity; the first prompt explains what happened.
func (n *Navigator) Restart() Action {
	n.done = false
	n.retries = 0
	n.pending = nil
	a := n.enter(n.cfg.Menu, nil)
	a.Prompts = append([]Prompt{n.system("technical_problem")}, a.Prompts...)
	return n.remember(a)
}

func (n *Navigator) remember(a Action) Action {
	n.last = a
	switch a.Step {
	case StepRoute, StepMessage, StepStatus, StepHangup:
		n.done = true
	}
	return a
}

func (n *Navigator) feedMenu(in Input) Action {
	cur := n.cur
	ivr := &n.cfg.IVR
	switch in.Kind {
	case InputTimeout:
		return n.retry(cur, "no_input")
	case InputDigits:
	default:
		return n.retry(cur, "invalid")
	}
	key := in.Digits
	if len(key) != 1 {
		// The menu collects one key; anything else is a mistake upstream
		// or line noise: treat it as an invalid choice.
		return n.retry(cur, "invalid")
	}
	switch {
	case key == ivr.RepeatKey:
		return n.offer(cur)
	case key == ivr.BackKey:
		if p := cur.parent; p != nil {
			n.retries = 0
			if len(n.path) > 0 {
				n.path = n.path[:len(n.path)-1]
			}
			return n.offer(p)
		}
		return n.offer(cur)
	case key == ivr.OperatorKey && cur.operatorAllowed(n.cfg):
		n.path = append(n.path, PathStep{Key: key, Label: "Operatore", Node: cur.ID})
		return Action{Step: StepRoute, Node: cur.ID, Group: ivr.OperatorGroup, Reason: ReasonOperator, Prompts: []Prompt{n.system("transfer")}}
	}
	child := cur.Options[key]
	if child == nil {
		return n.retry(cur, "invalid")
	}
	n.retries = 0
	n.path = append(n.path, PathStep{Key: key, Label: child.Label, Node: child.ID})
	return n.enter(child, cur)
}

// retry replays the menu after a miss, or gives up after the last retry.
func (n *Navigator) retry(node *Node, why string) Action {
	n.retries++
	limit := n.cfg.IVR.MaxRetries
	if node.MaxRetries > 0 {
		limit = node.MaxRetries
	}
	if n.retries >= limit {
		return n.fail(node, ReasonInvalidInput, "too_many_errors")
	}
	a := n.offer(node)
	a.Prompts = append([]Prompt{n.system(why)}, a.Prompts...)
	return a
}

// fail applies the configured fallback.
func (n *Navigator) fail(node *Node, reason, prompt string) Action {
	f := n.cfg.IVR.OnFailure
	if f != nil && f.Action == KindRoute {
		return Action{Step: StepRoute, Node: node.ID, Group: f.Group, Reason: reason, Prompts: []Prompt{n.system(prompt), n.system("transfer")}}
	}
	return Action{Step: StepHangup, Node: node.ID, Reason: reason, Prompts: []Prompt{n.system(prompt), n.system("goodbye")}}
}

// enter takes the caller into node, asking for a PIN first if needed.
func (n *Navigator) enter(node, from *Node) Action {
	if r := node.RequirePIN; r != nil && !slices.Contains(r.Roles, n.role) {
		n.pending = node
		if from != nil {
			n.cur = from
		}
		return n.askPIN(node, n.system("pin_ask"))
	}
	switch node.Action {
	case KindMenu:
		if node.OrgRoute && n.org != "" {
			if o := n.cfg.Organization(n.org); o != nil && o.Group != "" {
				n.path = append(n.path, PathStep{Label: "Instradamento automatico: " + o.Name, Node: node.ID})
				return Action{Step: StepRoute, Node: node.ID, Group: o.Group, Priority: node.Priority, Category: node.Category, Reason: ReasonOrgRoute, Prompts: []Prompt{n.system("transfer")}}
			}
		}
		return n.offer(node)
	case KindRoute:
		return Action{Step: StepRoute, Node: node.ID, Group: node.Group, Priority: node.Priority, Category: node.Category, Prompts: n.nodePrompt(node, "transfer")}
	case KindMessage:
		return Action{Step: StepMessage, Node: node.ID, Group: node.Group, Priority: node.Priority, Category: node.Category, Prompts: n.nodePrompt(node, "record_intro")}
	case KindStatus:
		return Action{Step: StepStatus, Node: node.ID, Prompts: n.nodePrompt(node, "status_ask"),
			Collect: Collect{MaxDigits: 20, FirstDigitTimeout: n.cfg.IVR.PIN.Timeout, InterDigitTimeout: n.interDigit(node), Terminator: "#"}}
	default: // KindHangup, and anything validation let through
		return Action{Step: StepHangup, Node: node.ID, Reason: ReasonMenuHangup, Prompts: n.nodePrompt(node, "goodbye")}
	}
}

// offer plays a menu and waits for one key.
func (n *Navigator) offer(node *Node) Action {
	n.cur = node
	first := cmpDuration(node.FirstDigitTimeout, n.cfg.IVR.FirstDigitTimeout)
	return Action{Step: StepMenu, Node: node.ID, Prompts: []Prompt{n.node(node)},
		Collect: Collect{MaxDigits: 1, FirstDigitTimeout: first, InterDigitTimeout: n.interDigit(node)}}
}

func (n *Navigator) askPIN(node *Node, prompts ...Prompt) Action {
	p := n.cfg.IVR.PIN
	return Action{Step: StepPIN, Node: node.ID, Prompts: prompts,
		Collect: Collect{MaxDigits: p.MaxDigits, FirstDigitTimeout: p.Timeout, InterDigitTimeout: n.interDigit(node), Terminator: "#"}}
}

func (n *Navigator) feedPIN(in Input) Action {
	node := n.pending
	if node == nil {
		return n.offer(n.cfg.Menu)
	}
	if in.Kind != InputPIN {
		if in.Kind == InputTimeout {
			in = Input{Kind: InputPIN, PIN: PINResult{Status: PINNoInput}}
		} else {
			// Raw digits must be verified by the controller first.
			return n.askPIN(node, n.system("pin_ask"))
		}
	}
	back := n.cur
	if back == nil {
		back = n.cfg.Menu
	}
	switch in.PIN.Status {
	case PINAccepted:
		if !slices.Contains(node.RequirePIN.Roles, in.PIN.Role) {
			n.pending = nil
			a := n.offer(back)
			a.Prompts = append([]Prompt{n.system("pin_role_refused")}, a.Prompts...)
			return a
		}
		n.org, n.role = in.PIN.Organization, in.PIN.Role
		n.pending = nil
		n.pinFailures = 0
		return n.enter(node, back)
	case PINLocked:
		n.pending = nil
		return n.fail(node, ReasonPINLocked, "pin_locked")
	default: // wrong or nothing keyed
		n.pinFailures++
		if n.pinFailures >= n.cfg.IVR.PIN.MaxAttempts {
			n.pending = nil
			return n.fail(node, ReasonPINLocked, "pin_locked")
		}
		why := "pin_wrong"
		if in.PIN.Status == PINNoInput {
			why = "no_input"
		}
		return n.askPIN(node, n.system(why), n.system("pin_ask"))
	}
}

// PINFailures reports the failed PIN attempts of this call.
func (n *Navigator) PINFailures() int { return n.pinFailures }

func (n *Navigator) interDigit(node *Node) time.Duration {
	return cmpDuration(node.InterDigitTimeout, n.cfg.IVR.InterDigitTimeout)
}

func cmpDuration(a, b time.Duration) time.Duration {
	if a > 0 {
		return a
	}
	return b
}

func (n *Navigator) node(node *Node) Prompt {
	return Prompt{Name: "node:" + node.ID, Sound: node.SoundName(n.lang), Text: node.Prompt[n.lang]}
}

// nodePrompt is the node's own prompt if it has one, else a system one.
func (n *Navigator) nodePrompt(node *Node, fallback string) []Prompt {
	if strings.TrimSpace(node.Prompt[n.lang]) != "" || node.Sound[n.lang] != "" {
		return []Prompt{n.node(node)}
	}
	return []Prompt{n.system(fallback)}
}

func (n *Navigator) system(name string) Prompt {
	return Prompt{Name: "system:" + name, Sound: SystemSoundName(name), Text: n.cfg.SystemText(name, n.lang)}
}
