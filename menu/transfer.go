package menu

import (
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// What a conversation put on hold does with the operator's phone
// (Group.OnHold).
const (
	// HoldKeep: the operator's phone stays connected (silent) while the
	// caller hears music; resuming is immediate.
	HoldKeep = "keep"
	// HoldFree: the operator's phone is hung up, free for other calls;
	// resuming rings it again.
	HoldFree = "free"
)

// Transfers are the outside numbers operators may pass a caller to
// (blind or attended), and how they are dialled: through the carrier
// trunk, like callbacks. Without it, transfers stay inside the help desk
// (groups and operators).
type Transfers struct {
	// Numbers is the allow-list (any form NormalizeNumber takes; kept in
	// E.164): no other outside number is ever dialled.
	Numbers []string `yaml:"numbers"`
	// Endpoint is the dial string with {number} or {national}, e.g.
	// "PJSIP/{national}@carrier".
	Endpoint string `yaml:"endpoint"`
	// CallerID is shown to the number called (the help desk's number).
	CallerID string `yaml:"caller_id"`
	// RingTimeout is how long the number rings (default 30s).
	RingTimeout time.Duration `yaml:"ring_timeout"`

	Pos Pos `yaml:"-"`
}

// DefaultTransferRingTimeout is Transfers.RingTimeout's default.
const DefaultTransferRingTimeout = 30 * time.Second

func (x *Transfers) UnmarshalYAML(n *yaml.Node) error {
	type plain Transfers
	return decodeAt(n, (*plain)(x), &x.Pos)
}

// HoldFrees reports whether putting a call of group on hold hangs up the
// operator's phone (on_hold: free).
func (c *Config) HoldFrees(group string) bool {
	g := c.groups[group]
	return g != nil && g.OnHold == HoldFree
}

// TransferNumber checks an outside number an operator asks to transfer a
// caller to against the allow-list. It returns the number in E.164 and
// the dial string, ok false when the number is not allowed.
func (c *Config) TransferNumber(raw string) (number, dial string, ok bool) {
	t := c.Transfers
	if t == nil {
		return "", "", false
	}
	n, err := NormalizeNumber(strings.TrimSpace(raw))
	if err != nil || !slices.Contains(t.Numbers, n) {
		return "", "", false
	}
	national := "00" + strings.TrimPrefix(n, "+")
	if rest, it := strings.CutPrefix(n, "+39"); it {
		national = rest
	}
	return n, strings.NewReplacer("{number}", n, "{national}", national).Replace(t.Endpoint), true
}

func (c *Config) validateTransfers(v *validator) {
	for _, g := range c.Groups {
		if g == nil {
			continue
		}
		switch g.OnHold {
		case "":
			g.OnHold = HoldKeep
		case HoldKeep, HoldFree:
		default:
			v.add(g.Pos, "group %q: on_hold %q must be %q or %q", g.ID, g.OnHold, HoldKeep, HoldFree)
		}
	}
	t := c.Transfers
	if t == nil {
		return
	}
	t.RingTimeout = orDefault(t.RingTimeout, DefaultTransferRingTimeout)
	if len(t.Numbers) == 0 {
		v.add(t.Pos, "transfers.numbers lists no number (the only outside numbers operators may transfer to)")
	}
	for i, raw := range t.Numbers {
		n, err := NormalizeNumber(raw)
		if err != nil {
			v.add(t.Pos, "transfers.numbers: %q is not a telephone number", raw)
			continue
		}
		if slices.Contains(t.Numbers[:i], n) {
			v.add(t.Pos, "transfers.numbers: %q is listed twice", raw)
		}
		t.Numbers[i] = n
	}
	if !strings.Contains(t.Endpoint, "{number}") && !strings.Contains(t.Endpoint, "{national}") {
		v.add(t.Pos, "transfers.endpoint %q must contain {number} or {national} (e.g. PJSIP/{national}@carrier)", t.Endpoint)
	}
	if _, err := NormalizeNumber(t.CallerID); err != nil {
		v.add(t.Pos, "transfers.caller_id %q is not a telephone number (the help desk's, shown to the number called)", t.CallerID)
	}
	if t.RingTimeout < 10*time.Second || t.RingTimeout > 2*time.Minute {
		v.add(t.Pos, "transfers.ring_timeout %s is out of range 10s..2m", t.RingTimeout)
	}
}
