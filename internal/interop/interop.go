// Package interop holds what the interop suite needs to say that a call
// on a real Asterisk went as the same call on the project's simulator
// (ivr/simdesk): a summary of a call, built the same way from both (the
// controller's events and the media the media server played), and one
// comparison. The suite itself is this package's tests: the call
// controller against a private Asterisk (internal/realasterisk) with sipp
// callers and operator phones, and the same keys through simdesk.
package interop

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// Playback is one media item played to a caller, as the media server
// reported it: PlaybackStarted and PlaybackContinuing/PlaybackFinished on
// a real Asterisk, the simulated party's playback events on the
// simulator.
type Playback struct {
	Media string // the media URI, e.g. "sound:helpdesk/menu-root", "digits:2026"
	// State is how it ended: "done" (played out, or stopped by a key or
	// by the controller: Asterisk says done for both), "failed", or ""
	// while it plays.
	State string
}

// Playbacks collects the media played on one channel, in the order they
// started. Safe for concurrent use.
type Playbacks struct {
	mu   sync.Mutex
	list []Playback
	ids  []string // the playback id of each item of list
}

// Started records that playback id started to play media (each item of a
// list starts on its own).
func (p *Playbacks) Started(id, media string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.list = append(p.list, Playback{Media: media})
	p.ids = append(p.ids, id)
}

// Ended records how the item playback id was playing ended.
func (p *Playbacks) Ended(id, state string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.ids) - 1; i >= 0; i-- {
		if p.ids[i] == id && p.list[i].State == "" {
			p.list[i].State = state
			return
		}
	}
}

// List is what was played so far.
func (p *Playbacks) List() []Playback {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.list)
}

// Call is what the comparison sees of one call.
type Call struct {
	Outcome string
	Group   string
	Path    []string // the menu keys, in order
	Ticket  string   // the call's ticket number
	// Prompts are the controller's prompt names and extra media, in the
	// order it played them (its "prompt" events).
	Prompts []string
	// Media is what the media server played to the caller.
	Media []Playback
}

// Summarize makes a Call from the controller's events of one call (they
// must end with its outcome) and the media played on its channel.
func Summarize(events []ivr.Event, media []Playback) (Call, error) {
	var c Call
	ended := false
	for _, e := range events {
		switch e.Kind {
		case ivr.EvPrompt:
			c.Prompts = append(c.Prompts, e.Prompt...)
		case ivr.EvOutcome:
			c.Outcome, c.Group, c.Path, c.Ticket = e.Outcome, e.Group, slices.Clone(e.Path), e.Ticket
			ended = true
		}
	}
	if !ended {
		return c, fmt.Errorf("no outcome among %d events", len(events))
	}
	c.Media = slices.Clone(media)
	return c, nil
}

// FromRecord makes a Call from a call's record as the controller wrote it
// in the ticket store (outcome, group, the keys of its menu selections),
// its ticket's number and the media played on its channel: the same call
// seen from outside a controller that runs in a process of its own. The
// controller's prompt names are not in the record: Prompts stays nil and
// the media stand for them (compare with another FromRecord).
func FromRecord(rec tickets.Call, events []tickets.CallEvent, tk tickets.Ticket, media []Playback) Call {
	c := Call{Outcome: string(rec.Outcome), Group: rec.Group, Ticket: string(tk.Number), Media: slices.Clone(media)}
	for _, e := range events {
		if e.Kind == tickets.EventMenuSelection {
			c.Path = append(c.Path, e.Key)
		}
	}
	return c
}

// UntilWait is c with its media up to the first position announcement
// of a queue ("sound:helpdesk/system-queue_position"), included: what
// plays while a caller waits depends on how long the wait lasts (when an
// operator frees up, how fast the queue offers the call), not on the
// keys; two runs of the same call agree only up to there.
func (c Call) UntilWait() Call {
	i := slices.IndexFunc(c.Media, func(p Playback) bool { return p.Media == "sound:helpdesk/system-queue_position" })
	if i >= 0 {
		c.Media = c.Media[:i+1]
	}
	return c
}

// Failed lists the media that did not play: failed, or never ended.
func (c Call) Failed() []string {
	var bad []string
	for _, m := range c.Media {
		if m.State != "done" {
			bad = append(bad, m.Media+" "+cmpOr(m.State, "(never ended)"))
		}
	}
	return bad
}

// Diff lists how call b differs from call a: outcome, group, menu path,
// the prompts the controller played and the media the caller heard (URIs
// and how each ended). Empty means the same call. Each call's own ticket
// number is read as "<ticket>": two help desks number their tickets on
// their own.
func Diff(a, b Call) []string {
	var d []string
	field := func(name, x, y string) {
		if x != y {
			d = append(d, fmt.Sprintf("%s: %q != %q", name, x, y))
		}
	}
	field("outcome", a.Outcome, b.Outcome)
	field("group", a.Group, b.Group)
	field("menu path", strings.Join(a.Path, " "), strings.Join(b.Path, " "))
	list := func(name string, x, y []string) {
		if slices.Equal(x, y) {
			return
		}
		n := 0
		for n < len(x) && n < len(y) && x[n] == y[n] {
			n++
		}
		d = append(d, fmt.Sprintf("%s differ from item %d:\n  %q\n  %q", name, n, x[n:], y[n:]))
	}
	list("prompts", anonymous(a.Prompts, a.Ticket), anonymous(b.Prompts, b.Ticket))
	list("media", media(a), media(b))
	return d
}

func media(c Call) []string {
	out := make([]string, len(c.Media))
	for i, m := range c.Media {
		out[i] = m.Media + " " + cmpOr(m.State, "(never ended)")
	}
	return anonymous(out, c.Ticket)
}

// anonymous writes the ticket number in s as "<ticket>".
func anonymous(s []string, ticket string) []string {
	out := slices.Clone(s)
	if ticket == "" {
		return out
	}
	for i := range out {
		out[i] = strings.ReplaceAll(out[i], ticket, "<ticket>")
	}
	return out
}

func cmpOr(s, def string) string {
	if s != "" {
		return s
	}
	return def
}
