package menu

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Operator is a person who answers the help desk's calls: their panel
// login, their phone and the groups they serve.
type Operator struct {
	Login    string `yaml:"login"`
	Name     string `yaml:"name"`
	Endpoint string `yaml:"endpoint"` // e.g. PJSIP/op201
	// Groups maps each group the operator serves to the penalty there: 0
	// is a first choice, higher penalties are tried only when nobody with
	// a lower one is free.
	Groups map[string]int `yaml:"groups"`

	Pos Pos `yaml:"-"`
}

// Queue is how a group's callers wait for an operator.
type Queue struct {
	// Strategy chooses among free operators: longest_idle (default),
	// round_robin, ring_all or fewest_calls.
	Strategy string `yaml:"strategy"`
	// RingTimeout is how long an operator's phone rings before the next
	// one is tried (and the operator is paused as "no answer").
	RingTimeout time.Duration `yaml:"ring_timeout"`
	// WrapUp is the time an operator gets after each call.
	WrapUp time.Duration `yaml:"wrap_up"`
	// MaxWait and MaxWaiting (callers) end in Overflow; 0 is no limit.
	MaxWait    time.Duration `yaml:"max_wait"`
	MaxWaiting int           `yaml:"max_waiting"`
	// Overflow is what happens at MaxWait and MaxWaiting, NoOperators when
	// nobody of the group is logged in: "message" (record a request, the
	// default), "hangup" (a message, then goodbye), "group:ID" (wait in
	// another group's queue instead) or, for NoOperators only, "wait".
	Overflow    string `yaml:"overflow"`
	NoOperators string `yaml:"no_operators"`
	// AnnounceEvery is how often a waiting caller hears their position and
	// the estimated wait (default 45s; "0s" announces only on arrival).
	AnnounceEvery *time.Duration `yaml:"announce_every"`
	// BreakOutKey lets a waiting caller stop waiting and leave a recorded
	// request instead (default "*"; "none" turns it off).
	BreakOutKey string `yaml:"break_out_key"`

	Pos Pos `yaml:"-"`
}

// QueuePriority weighs a waiting caller: the menu node's priority counts
// most (critical 40, high 30, medium 20, low 10), then these bonuses.
type QueuePriority struct {
	Referent          int `yaml:"referent"`           // a technical referent (by PIN); default 5
	KnownOrganization int `yaml:"known_organization"` // a caller from a known Administration; default 1
}

// Queue defaults.
const (
	DefaultRingTimeout   = 20 * time.Second
	DefaultAnnounceEvery = 45 * time.Second
	DefaultBreakOutKey   = "*"
)

// Overflow destinations, parsed from Queue.Overflow and NoOperators.
type Overflow struct {
	Action string // "message", "hangup", "group" or "wait"
	Group  string // for "group"
}

// ParseOverflow reads "message", "hangup", "wait" or "group:ID".
func ParseOverflow(s string) (Overflow, error) {
	switch s {
	case "", "message":
		return Overflow{Action: "message"}, nil
	case "hangup", "wait":
		return Overflow{Action: s}, nil
	}
	if g, ok := strings.CutPrefix(s, "group:"); ok && g != "" {
		return Overflow{Action: "group", Group: g}, nil
	}
	return Overflow{}, fmt.Errorf("%q: use message, hangup, wait or group:ID", s)
}

// OperatorsOf returns the operators of a group, by login.
func (c *Config) OperatorsOf(group string) []*Operator {
	var ops []*Operator
	for _, o := range c.Operators {
		if _, ok := o.Groups[group]; ok {
			ops = append(ops, o)
		}
	}
	slices.SortFunc(ops, func(a, b *Operator) int { return strings.Compare(a.Login, b.Login) })
	return ops
}

// Operator returns an operator by login.
func (c *Config) Operator(login string) *Operator {
	for _, o := range c.Operators {
		if o.Login == login {
			return o
		}
	}
	return nil
}

// CallerPriority is a waiting caller's priority in a queue (higher first):
// the node's priority, plus the configured bonuses for a technical
// referent and for a caller from a known Administration, plus the
// Administration's own priority.
func (c *Config) CallerPriority(nodePriority string, role Role, org string) int {
	p := 20
	switch nodePriority {
	case "critical":
		p = 40
	case "high":
		p = 30
	case "low":
		p = 10
	}
	if role == RoleReferent {
		p += c.IVR.QueuePriority.Referent
	}
	if o := c.orgs[org]; o != nil {
		p += c.IVR.QueuePriority.KnownOrganization + o.Priority
	}
	return p
}

var strategies = []string{"longest_idle", "round_robin", "ring_all", "fewest_calls"}

func (c *Config) validateQueue(v *validator, g *Group) {
	q := &g.Queue
	pos := g.Pos
	if q.Pos.Line > 0 {
		pos = q.Pos
	}
	if q.Strategy == "" {
		q.Strategy = "longest_idle"
	}
	if !slices.Contains(strategies, q.Strategy) {
		v.add(pos, "group %q: queue.strategy %q: use %s", g.ID, q.Strategy, strings.Join(strategies, ", "))
	}
	q.RingTimeout = orDefault(q.RingTimeout, DefaultRingTimeout)
	if q.RingTimeout < 5*time.Second || q.RingTimeout > 2*time.Minute {
		v.add(pos, "group %q: queue.ring_timeout %s is out of range 5s..2m", g.ID, q.RingTimeout)
	}
	if q.WrapUp < 0 || q.WrapUp > 30*time.Minute {
		v.add(pos, "group %q: queue.wrap_up %s is out of range 0..30m", g.ID, q.WrapUp)
	}
	if q.MaxWait < 0 || (q.MaxWait > 0 && q.MaxWait < 30*time.Second) || q.MaxWait > 4*time.Hour {
		v.add(pos, "group %q: queue.max_wait %s: use 0 (no limit) or 30s..4h", g.ID, q.MaxWait)
	}
	if q.MaxWaiting < 0 {
		v.add(pos, "group %q: queue.max_waiting %d is negative", g.ID, q.MaxWaiting)
	}
	if q.AnnounceEvery == nil {
		d := DefaultAnnounceEvery
		q.AnnounceEvery = &d
	}
	if d := *q.AnnounceEvery; d != 0 && (d < 15*time.Second || d > 10*time.Minute) {
		v.add(pos, "group %q: queue.announce_every %s: use 0s (only on arrival) or 15s..10m", g.ID, d)
	}
	switch q.BreakOutKey {
	case "":
		q.BreakOutKey = DefaultBreakOutKey
	case "none":
	default:
		if !validKey(q.BreakOutKey) {
			v.add(pos, "group %q: queue.break_out_key %q must be one key (0-9, * or #) or none", g.ID, q.BreakOutKey)
		}
	}
	for _, f := range []struct {
		name, value string
		wait        bool
	}{{"overflow", q.Overflow, false}, {"no_operators", q.NoOperators, true}} {
		o, err := ParseOverflow(f.value)
		switch {
		case err != nil:
			v.add(pos, "group %q: queue.%s %v", g.ID, f.name, err)
		case o.Action == "wait" && !f.wait:
			v.add(pos, "group %q: queue.overflow cannot be wait: the caller reached a limit", g.ID)
		case o.Action == "group" && o.Group == g.ID:
			v.add(pos, "group %q: queue.%s sends callers back to the same group", g.ID, f.name)
		case o.Action == "group" && c.groups[o.Group] == nil:
			v.add(pos, "group %q: queue.%s: unknown group %q", g.ID, f.name, o.Group)
		}
	}
}

func (c *Config) validateOperators(v *validator) {
	logins := map[string]*Operator{}
	endpoints := map[string]*Operator{}
	for _, o := range c.Operators {
		if o == nil {
			continue
		}
		switch {
		case !idPattern.MatchString(o.Login):
			v.add(o.Pos, "operator login %q: use lower-case letters, digits, - and _", o.Login)
		case logins[o.Login] != nil:
			v.add(o.Pos, "operator login %q is used twice (first at line %d)", o.Login, logins[o.Login].Pos.Line)
		default:
			logins[o.Login] = o
		}
		if strings.TrimSpace(o.Name) == "" {
			v.add(o.Pos, "operator %q needs a name", o.Login)
		}
		switch {
		case !endpointPattern.MatchString(o.Endpoint):
			v.add(o.Pos, "operator %q: endpoint %q must look like PJSIP/op101", o.Login, o.Endpoint)
		case endpoints[o.Endpoint] != nil:
			v.add(o.Pos, "operator %q: endpoint %s is also %q's phone", o.Login, o.Endpoint, endpoints[o.Endpoint].Login)
		default:
			endpoints[o.Endpoint] = o
		}
		if len(o.Groups) == 0 {
			v.add(o.Pos, "operator %q serves no group: list groups: {group: penalty}", o.Login)
		}
		for _, g := range sortedKeys(o.Groups) {
			if c.groups[g] == nil {
				v.add(o.Pos, "operator %q: unknown group %q", o.Login, g)
			}
			if p := o.Groups[g]; p < 0 || p > 100 {
				v.add(o.Pos, "operator %q: penalty %d in group %q is out of range 0..100", o.Login, p, g)
			}
		}
	}
}
