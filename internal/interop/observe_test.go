package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/helpdesk-ivr/ivr/internal/realasterisk"
)

// Observer follows, from a Stasis application of the test's own
// subscribed to everything, what Asterisk does with every channel: the
// caller behind each, the media played to it, the bridges it joined and
// why it ended. It sees the calls of ivrd from outside, as Asterisk
// reports them.
type Observer struct {
	ev     *realasterisk.Events
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced at each event
	channels map[string]*channelState
	byCaller map[string][]string // caller number → channel ids, in order
	bridges  map[string][]string // bridge id → its channels at the last event
	types    []string            // every event type seen, for failures
}

// Channel is what the Observer knows of one channel.
type Channel struct {
	ID, Name, Caller, State string
	Media                   []Playback
	Bridged                 bool // joined a bridge at some point
	// Events are the channel's events, with the hangup causes
	// (e.g. "ChannelHangupRequest cause=16", "StasisEnd").
	Events []string
	// Dialplan are the context,exten,application the channel went
	// through (ChannelDialplan), e.g. "helpdesk-fallback,handover,Playback".
	Dialplan []string
	// Cause and CauseText are Asterisk's hangup cause (ChannelDestroyed).
	Cause     int
	CauseText string
	Destroyed bool
}

// channelState is a Channel as it is being followed.
type channelState struct {
	Channel
	media Playbacks
}

// Observe connects an Observer to a's ARI.
func Observe(ctx context.Context, a *realasterisk.Asterisk) (*Observer, error) {
	ev, err := a.NewClient(nil).Observe(ctx, "interop-observer")
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(context.Background())
	o := &Observer{ev: ev, cancel: cancel, done: make(chan struct{}), changed: make(chan struct{}),
		channels: map[string]*channelState{}, byCaller: map[string][]string{}, bridges: map[string][]string{}}
	go o.run(rctx)
	return o, nil
}

// Close disconnects the Observer.
func (o *Observer) Close() {
	o.cancel()
	_ = o.ev.Close()
	<-o.done
}

type ariChannel struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	State  string `json:"state"`
	Caller struct {
		Number string `json:"number"`
	} `json:"caller"`
	Dialplan struct {
		Context string `json:"context"`
		Exten   string `json:"exten"`
		App     string `json:"app_name"`
	} `json:"dialplan"`
}

type ariEvent struct {
	Type     string     `json:"type"`
	Channel  ariChannel `json:"channel"`
	Cause    int        `json:"cause"`
	CauseTxt string     `json:"cause_txt"`
	Soft     bool       `json:"soft"`
	Playback struct {
		ID        string `json:"id"`
		MediaURI  string `json:"media_uri"`
		TargetURI string `json:"target_uri"`
		State     string `json:"state"`
	} `json:"playback"`
	Bridge struct {
		ID       string   `json:"id"`
		Channels []string `json:"channels"`
	} `json:"bridge"`
}

func (o *Observer) run(ctx context.Context) {
	defer close(o.done)
	for {
		raw, err := o.ev.Next(ctx)
		if err != nil {
			return
		}
		var e ariEvent
		if json.Unmarshal(raw.Raw, &e) != nil {
			continue
		}
		o.mu.Lock()
		o.types = append(o.types, e.Type)
		o.apply(e)
		close(o.changed)
		o.changed = make(chan struct{})
		o.mu.Unlock()
	}
}

func (o *Observer) channel(c ariChannel) *channelState {
	ch := o.channels[c.ID]
	if ch == nil {
		ch = &channelState{Channel: Channel{ID: c.ID}}
		o.channels[c.ID] = ch
		if c.Caller.Number != "" && !strings.HasPrefix(c.Name, "PJSIP/op") {
			o.byCaller[c.Caller.Number] = append(o.byCaller[c.Caller.Number], c.ID)
		}
	}
	if c.Name != "" {
		ch.Name, ch.State = c.Name, c.State
	}
	if ch.Caller == "" {
		ch.Caller = c.Caller.Number
	}
	return ch
}

func (o *Observer) apply(e ariEvent) {
	if e.Channel.ID != "" {
		ch := o.channel(e.Channel)
		ev := e.Type
		if e.Type == "ChannelHangupRequest" || e.Type == "ChannelDestroyed" {
			ev += fmt.Sprintf(" cause=%d %s", e.Cause, e.CauseTxt)
			if e.Soft {
				ev += " soft" // cause is then ast_softhangup's flag: 4 is AST_SOFTHANGUP_SHUTDOWN
			}
		}
		ch.Events = append(ch.Events, ev)
		switch e.Type {
		case "ChannelDestroyed":
			ch.Destroyed, ch.Cause, ch.CauseText = true, e.Cause, e.CauseTxt
		case "ChannelEnteredBridge":
			ch.Bridged = true
		case "ChannelDialplan":
			dp := e.Channel.Dialplan
			ch.Dialplan = append(ch.Dialplan, dp.Context+","+dp.Exten+","+dp.App)
		}
	}
	if e.Bridge.ID != "" {
		o.bridges[e.Bridge.ID] = e.Bridge.Channels
		if e.Type == "BridgeDestroyed" {
			delete(o.bridges, e.Bridge.ID)
		}
	}
	id, ok := strings.CutPrefix(e.Playback.TargetURI, "channel:")
	if !ok {
		return
	}
	ch := o.channels[id]
	if ch == nil {
		ch = &channelState{Channel: Channel{ID: id}}
		o.channels[id] = ch
	}
	switch e.Type {
	case "PlaybackStarted":
		ch.media.Started(e.Playback.ID, e.Playback.MediaURI)
	case "PlaybackContinuing":
		ch.media.Ended(e.Playback.ID, "done")
	case "PlaybackFinished":
		ch.media.Ended(e.Playback.ID, e.Playback.State)
	}
}

// Wait waits until cond (called under the Observer's lock) holds.
func (o *Observer) Wait(ctx context.Context, t *testing.T, what string, cond func(o *Observer) bool) {
	t.Helper()
	for {
		o.mu.Lock()
		ok, ch := cond(o), o.changed
		o.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("Asterisk: waiting for %s: %v", what, ctx.Err())
		}
	}
}

// WaitChannel waits for the first channel of caller and returns its id.
func (o *Observer) WaitChannel(ctx context.Context, t *testing.T, caller string) string {
	t.Helper()
	var id string
	o.Wait(ctx, t, "a channel from "+caller, func(o *Observer) bool {
		ids := o.byCaller[caller]
		if len(ids) > 0 {
			id = ids[0]
		}
		return id != ""
	})
	return id
}

// Channel returns a copy of what is known of channel id.
func (o *Observer) Channel(id string) (Channel, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	ch := o.channels[id]
	if ch == nil {
		return Channel{}, false
	}
	c := ch.Channel
	c.Media = ch.media.List()
	c.Dialplan = slices.Clone(ch.Dialplan)
	c.Events = slices.Clone(ch.Events)
	return c, true
}

// Media is what Asterisk played on channel id.
func (o *Observer) Media(id string) []Playback {
	o.mu.Lock()
	defer o.mu.Unlock()
	if ch := o.channels[id]; ch != nil {
		return ch.media.List()
	}
	return nil
}

// BridgedWith waits until channel id shares a bridge with a channel whose
// name starts with prefix (e.g. "PJSIP/op301-"), as Asterisk's bridge
// events show, and returns that channel's name.
func (o *Observer) BridgedWith(ctx context.Context, t *testing.T, id, prefix string) string {
	t.Helper()
	var name string
	o.Wait(ctx, t, "channel "+id+" bridged with "+prefix, func(o *Observer) bool {
		for _, chans := range o.bridges {
			if len(chans) < 2 || !containsString(chans, id) {
				continue
			}
			for _, c := range chans {
				if ch := o.channels[c]; c != id && ch != nil && strings.HasPrefix(ch.Name, prefix) {
					name = ch.Name
					return true
				}
			}
		}
		return false
	})
	return name
}

// WaitDestroyed waits until Asterisk has destroyed channel id and returns it.
func (o *Observer) WaitDestroyed(ctx context.Context, t *testing.T, id string) Channel {
	t.Helper()
	o.Wait(ctx, t, "the end of channel "+id, func(o *Observer) bool {
		ch := o.channels[id]
		return ch != nil && ch.Destroyed
	})
	ch, _ := o.Channel(id)
	return ch
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ChannelByName returns the id of the channel named name, or "".
func (o *Observer) ChannelByName(name string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	for id, ch := range o.channels {
		if ch.Name == name {
			return id
		}
	}
	return ""
}

// HadChannel says whether a channel whose name starts with prefix
// existed.
func (o *Observer) HadChannel(prefix string) bool {
	return slices.ContainsFunc(o.Names(), func(n string) bool { return strings.HasPrefix(n, prefix) })
}

// Names are the names of every channel seen.
func (o *Observer) Names() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for _, ch := range o.channels {
		out = append(out, ch.Name)
	}
	return out
}

// WaitDialplan waits until channel id has run application app in context
// (ChannelDialplan) and returns its dialplan steps.
func (o *Observer) WaitDialplan(ctx context.Context, t *testing.T, id, context, app string) []string {
	t.Helper()
	var steps []string
	o.Wait(ctx, t, "channel "+id+" in "+context+" running "+app, func(o *Observer) bool {
		ch := o.channels[id]
		if ch == nil {
			return false
		}
		steps = slices.Clone(ch.Dialplan)
		return slices.ContainsFunc(steps, func(s string) bool {
			return strings.HasPrefix(s, context+",") && strings.HasSuffix(s, ","+app)
		})
	})
	return steps
}

// InBridge waits until channel id is in bridge bridgeID.
func (o *Observer) InBridge(ctx context.Context, t *testing.T, id, bridgeID string) {
	t.Helper()
	o.Wait(ctx, t, "channel "+id+" in bridge "+bridgeID, func(o *Observer) bool {
		return containsString(o.bridges[bridgeID], id)
	})
}
