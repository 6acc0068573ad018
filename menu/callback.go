package menu

import (
	"errors"
	"strings"
	"time"
)

// Callback lets a caller waiting in a group's queue ask to be called back
// instead of waiting on the line: the place in the queue is kept, and when
// it comes an operator is offered the callback, then the help desk calls
// the caller and bridges the operator. Off unless Enabled.
type Callback struct {
	Enabled bool `yaml:"enabled"`
	// Key asks for the callback while queued (default "2"); the queue's
	// announcements say it once After has passed.
	Key string `yaml:"key"`
	// After is how long a caller waits before the callback is offered
	// (default 0: at once).
	After time.Duration `yaml:"after"`
	// OtherNumber lets the caller key in another number than the caller
	// id (read back for confirmation); a caller without a caller id must.
	OtherNumber bool `yaml:"other_number"`
	// AllowInternational and AllowPremium accept numbers outside Italy and
	// premium or special ones (89x, 4xx, 1xx); refused by default.
	AllowInternational bool `yaml:"allow_international"`
	AllowPremium       bool `yaml:"allow_premium"`
	// Endpoint is the dial string of the call to the caller, with {number}
	// (E.164, "+390612345678") or {national} ("0612345678", or "00…" for
	// a foreign number), e.g. "PJSIP/{national}@carrier".
	Endpoint string `yaml:"endpoint"`
	// CallerID is the help desk's number, shown to the caller called back.
	CallerID string `yaml:"caller_id"`
	// RingTimeout is how long the caller's phone rings (default 30s).
	RingTimeout time.Duration `yaml:"ring_timeout"`
	// Retries is how many more attempts follow one that reached nobody
	// (default 2; 0: none), RetryInterval the time between them (default
	// 10m).
	Retries       *int          `yaml:"retries"`
	RetryInterval time.Duration `yaml:"retry_interval"`
	// ClosingMargin: a callback asked for this close to the group's
	// closing, or when the estimated wait ends after it, is made at the
	// next opening (default 15m).
	ClosingMargin time.Duration `yaml:"closing_margin"`
	// DetectVoicemail has Asterisk's AMD() listen to the answered call
	// before the operator meets it: an answering machine or voicemail
	// greeting counts as no answer (retried), not as a callback made.
	// The call goes through the dialplan context AMDContext (default
	// "ivr-callback-amd", in the shipped extensions.conf), which runs
	// AMD() and then Stasis(${IVR_APP},${IVR_ARGS},${AMDSTATUS},${AMDCAUSE}).
	DetectVoicemail bool   `yaml:"detect_voicemail"`
	AMDContext      string `yaml:"amd_context"`

	Pos Pos `yaml:"-"`
}

// Callback defaults.
const (
	DefaultCallbackKey           = "2"
	DefaultCallbackRingTimeout   = 30 * time.Second
	DefaultCallbackRetries       = 2
	DefaultCallbackRetryInterval = 10 * time.Minute
	DefaultCallbackClosingMargin = 15 * time.Minute
	DefaultCallbackAMDContext    = "ivr-callback-amd"
)

// CallbackOf returns the callback settings of a group, nil when it offers
// none.
func (c *Config) CallbackOf(group string) *Callback {
	if g := c.groups[group]; g != nil && g.Callback.Enabled {
		return &g.Callback
	}
	return nil
}

func (x *Callback) set() bool {
	return x.Key != "" || x.After != 0 || x.OtherNumber || x.AllowInternational || x.AllowPremium || x.Endpoint != "" ||
		x.CallerID != "" || x.RingTimeout != 0 || x.Retries != nil || x.RetryInterval != 0 || x.ClosingMargin != 0 ||
		x.DetectVoicemail || x.AMDContext != ""
}

func (c *Config) validateCallback(v *validator, g *Group) {
	cb := &g.Callback
	pos := g.Pos
	if cb.Pos.Line > 0 {
		pos = cb.Pos
	}
	if !cb.Enabled {
		if cb.set() {
			v.add(pos, "group %q: callback has settings but is not enabled (enabled: true)", g.ID)
		}
		return
	}
	cb.Key = orDefault(cb.Key, DefaultCallbackKey)
	cb.RingTimeout = orDefault(cb.RingTimeout, DefaultCallbackRingTimeout)
	cb.RetryInterval = orDefault(cb.RetryInterval, DefaultCallbackRetryInterval)
	cb.ClosingMargin = orDefault(cb.ClosingMargin, DefaultCallbackClosingMargin)
	switch {
	case cb.AMDContext != "" && !cb.DetectVoicemail:
		v.add(pos, "group %q: callback.amd_context is set but detect_voicemail is not", g.ID)
	case cb.AMDContext != "" && !validContextName(cb.AMDContext):
		v.add(pos, "group %q: callback.amd_context %q is not a dialplan context name (letters, digits, - and _)", g.ID, cb.AMDContext)
	case cb.DetectVoicemail:
		cb.AMDContext = orDefault(cb.AMDContext, DefaultCallbackAMDContext)
	}
	if cb.Retries == nil {
		n := DefaultCallbackRetries
		cb.Retries = &n
	}
	switch {
	case !validKey(cb.Key) || cb.Key == "none":
		v.add(pos, "group %q: callback.key %q must be one key (0-9, * or #)", g.ID, cb.Key)
	case cb.Key == g.Queue.BreakOutKey:
		v.add(pos, "group %q: callback.key %q is also the queue's break_out_key", g.ID, cb.Key)
	}
	if cb.After < 0 || cb.After > time.Hour {
		v.add(pos, "group %q: callback.after %s is out of range 0s..1h", g.ID, cb.After)
	}
	if !strings.Contains(cb.Endpoint, "{number}") && !strings.Contains(cb.Endpoint, "{national}") {
		v.add(pos, "group %q: callback.endpoint %q must contain {number} or {national} (e.g. PJSIP/{national}@carrier)", g.ID, cb.Endpoint)
	}
	if _, err := NormalizeNumber(cb.CallerID); err != nil {
		v.add(pos, "group %q: callback.caller_id %q is not a telephone number (the help desk's, shown to the caller)", g.ID, cb.CallerID)
	}
	if cb.RingTimeout < 10*time.Second || cb.RingTimeout > 2*time.Minute {
		v.add(pos, "group %q: callback.ring_timeout %s is out of range 10s..2m", g.ID, cb.RingTimeout)
	}
	if *cb.Retries < 0 || *cb.Retries > 10 {
		v.add(pos, "group %q: callback.retries %d is out of range 0..10", g.ID, *cb.Retries)
	}
	if cb.RetryInterval < time.Minute || cb.RetryInterval > 24*time.Hour {
		v.add(pos, "group %q: callback.retry_interval %s is out of range 1m..24h", g.ID, cb.RetryInterval)
	}
	if cb.ClosingMargin < 0 || cb.ClosingMargin > 4*time.Hour {
		v.add(pos, "group %q: callback.closing_margin %s is out of range 0s..4h", g.ID, cb.ClosingMargin)
	}
}

// validContextName: what extensions.conf accepts between brackets, kept
// to the characters nobody needs to quote.
func validContextName(s string) bool {
	if s == "" || len(s) > 79 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Why a number cannot be called back.
var (
	ErrCallbackInvalid       = errors.New("not a telephone number")
	ErrCallbackInternational = errors.New("international numbers are not called back")
	ErrCallbackPremium       = errors.New("premium and special numbers are not called back")
)

// CallbackNumber checks a number to call back, keyed by the caller or
// their caller id (E.164), against the Italian numbering plan and the
// settings: geographic (0…), mobile (3…), toll-free and shared-cost (80x,
// 84x) numbers are called; premium (89x) and special ones (1xx, 4xx) only
// with AllowPremium, foreign ones only with AllowInternational. It returns
// the number in E.164.
func (x *Callback) CallbackNumber(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	plus := strings.HasPrefix(s, "+")
	d := strings.TrimPrefix(s, "+")
	if d == "" || !isDigits(d) {
		return "", ErrCallbackInvalid
	}
	national := d
	if plus || strings.HasPrefix(d, "00") {
		intl := d
		if !plus {
			intl = d[2:]
		}
		var italian bool
		if national, italian = strings.CutPrefix(intl, "39"); !italian {
			n, err := NormalizeNumber("+" + intl)
			switch {
			case err != nil:
				return "", ErrCallbackInvalid
			case !x.AllowInternational:
				return "", ErrCallbackInternational
			}
			return n, nil
		}
	}
	min, max := 0, 0
	switch {
	case national == "":
		return "", ErrCallbackInvalid
	case national[0] == '0':
		min, max = 6, 11
	case national[0] == '3':
		min, max = 9, 10
	case strings.HasPrefix(national, "80"), strings.HasPrefix(national, "84"):
		min, max = 6, 10
	case strings.HasPrefix(national, "89"), national[0] == '1', national[0] == '4':
		// Premium, short and network-internal services.
		if !x.AllowPremium {
			return "", ErrCallbackPremium
		}
		min, max = 3, 12
	default:
		return "", ErrCallbackInvalid
	}
	if len(national) < min || len(national) > max {
		return "", ErrCallbackInvalid
	}
	return "+39" + national, nil
}

// RetryCount is Retries, 0 when unset (Validate sets the default).
func (x *Callback) RetryCount() int {
	if x.Retries == nil {
		return 0
	}
	return *x.Retries
}

// Dial is the endpoint to call number (E.164) on.
func (x *Callback) Dial(number string) string {
	national := "00" + strings.TrimPrefix(number, "+")
	if n, ok := strings.CutPrefix(number, "+39"); ok {
		national = n
	}
	return strings.NewReplacer("{number}", number, "{national}", national).Replace(x.Endpoint)
}
