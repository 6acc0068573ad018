package menu

import "time"

// Recording is whether a group's conversations with its operators are
// recorded, and how the caller is told. Off unless Mode says otherwise.
type Recording struct {
	// Mode is off (the default), announce (the caller hears that the call
	// may be recorded before the operator joins) or refusable (the same,
	// and a key refuses: that conversation is not recorded).
	Mode RecordingMode `yaml:"mode"`
	// RefuseKey is the key that refuses, with refusable (default "9").
	RefuseKey string `yaml:"refuse_key"`
	// RefuseWait is how long after the announcement the key is still
	// taken (default 3s).
	RefuseWait time.Duration `yaml:"refuse_wait"`

	Pos Pos `yaml:"-"`
}

// RecordingMode is a group's conversation recording.
type RecordingMode string

// The recording modes.
const (
	RecordingOff       RecordingMode = "off"
	RecordingAnnounce  RecordingMode = "announce"
	RecordingRefusable RecordingMode = "refusable"
)

// Recording defaults.
const (
	DefaultRefuseKey  = "9"
	DefaultRefuseWait = 3 * time.Second
)

// RecordingOf returns the recording settings of a group, nil when its
// conversations are not recorded.
func (c *Config) RecordingOf(group string) *Recording {
	if g := c.groups[group]; g != nil && g.Recording.Mode != "" && g.Recording.Mode != RecordingOff {
		return &g.Recording
	}
	return nil
}

func (c *Config) validateRecording(v *validator, g *Group) {
	r := &g.Recording
	pos := g.Pos
	if r.Pos.Line > 0 {
		pos = r.Pos
	}
	switch r.Mode {
	case "", RecordingOff:
		r.Mode = RecordingOff
		if r.RefuseKey != "" || r.RefuseWait != 0 {
			v.add(pos, "group %q: recording.refuse_key and refuse_wait need mode: refusable", g.ID)
		}
		return
	case RecordingAnnounce:
		if r.RefuseKey != "" || r.RefuseWait != 0 {
			v.add(pos, "group %q: recording.refuse_key and refuse_wait need mode: refusable (the caller cannot refuse with announce)", g.ID)
		}
		return
	case RecordingRefusable:
	default:
		v.add(pos, "group %q: recording.mode %q must be off, announce or refusable", g.ID, r.Mode)
		return
	}
	r.RefuseKey = orDefault(r.RefuseKey, DefaultRefuseKey)
	r.RefuseWait = orDefault(r.RefuseWait, DefaultRefuseWait)
	switch {
	case !validKey(r.RefuseKey):
		v.add(pos, "group %q: recording.refuse_key %q must be one key (0-9, * or #)", g.ID, r.RefuseKey)
	case r.RefuseKey == g.Queue.BreakOutKey:
		v.add(pos, "group %q: recording.refuse_key %q is also the queue's break_out_key", g.ID, r.RefuseKey)
	case g.Callback.Enabled && r.RefuseKey == g.Callback.Key:
		v.add(pos, "group %q: recording.refuse_key %q is also the callback key", g.ID, r.RefuseKey)
	}
	if r.RefuseWait < time.Second || r.RefuseWait > 15*time.Second {
		v.add(pos, "group %q: recording.refuse_wait %s is out of range 1s..15s", g.ID, r.RefuseWait)
	}
}
