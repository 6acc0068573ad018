package ivr

import (
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/CyCoreSystems/ari/v5"

	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// resumeVar is the channel variable where a call keeps where it is in the
// menu, so that the controller that takes it over after a crash or a
// restart goes on from there. Asterisk keeps it with the channel: it
// survives ivrd and dies with the call. It never holds PIN digits.
const resumeVar = "IVR_RESUME"

// Where a call can be when its controller stops; what the bridge says
// (queued, talking) is not kept here.
const (
	resumeMenu    = "menu"    // the menu checkpoint follows
	resumeClosed  = "closed"  // hearing when the service reopens
	resumeMessage = "message" // recording a request
	resumeSurvey  = "survey"  // rating the conversation (g group, op operator)
)

// holdBridgeID names the bridge that holds a caller in a queue and then
// with the operator: from the caller's channel alone, a new controller
// finds it.
func holdBridgeID(channelID string) string { return "qb-" + channelID }

// checkpoint keeps where the call is (see resumeVar). It costs one request
// to Asterisk, made only when the place changes.
func (s *session) checkpoint(where string, extra url.Values) {
	v := url.Values{}
	if where == resumeMenu && s.nav != nil {
		v, _ = url.ParseQuery(s.nav.Checkpoint().Encode())
	}
	v.Set("p", where)
	for k, vs := range extra {
		v[k] = vs
	}
	enc := v.Encode()
	if enc == s.saved {
		return
	}
	if s.saved == "" && where == resumeMenu && s.nav != nil && len(s.nav.Path()) == 0 {
		// A call with no checkpoint resumes at the start of the menu
		// anyway: one request per call saved until the caller moves.
		return
	}
	if err := s.c.client.Channel().SetVariable(s.key, resumeVar, enc); err != nil && !isNotFound(err) {
		s.log.Warn("checkpoint_failed", "error", err.Error())
		return
	}
	s.saved = enc
}

// resume serves a call taken over from a controller that stopped: a
// caller talking with an operator stays with them, one waiting in a queue
// keeps their place, one in the menu goes on at the same node, one
// recording a request keeps the recording.
func (s *session) resume() error {
	bkey := s.key.New(ari.BridgeKey, holdBridgeID(s.channelID))
	if b, err := s.c.client.Bridge().Data(bkey); err == nil {
		in := slices.Contains(b.ChannelIDs, s.channelID)
		var others []string
		for _, id := range b.ChannelIDs {
			if id != s.channelID && !s.isRecorder(id) {
				others = append(others, id)
			}
		}
		switch {
		case in && len(others) > 0:
			return s.adoptConversation(bkey, others[0])
		case in:
			if group, ok := s.stillQueued(); ok {
				s.group = group
				s.emit(Event{Kind: EvRoute, Group: group, Reason: "resumed in queue"})
				return s.queue(group, 0, true)
			}
		}
		// Answered but not yet bridged, or a bridge left behind: the
		// caller queues again for the group (the operator who answered
		// was hung up with the dead controller's legs).
		s.c.register(s, ari.BridgeKey, bkey.ID)
		s.deleteBridge(bkey)
		if group := s.call.Group; in && group != "" && s.cfg.Group(group) != nil {
			return s.queueAgain(group)
		}
	}
	if group, ok := s.stillQueued(); ok {
		// Not in a holding bridge but queued: its operator's phone was
		// ringing (rung at once, the caller hearing ringback).
		s.group = group
		s.emit(Event{Kind: EvRoute, Group: group, Reason: "resumed in queue"})
		return s.queue(group, 0, true)
	}
	v := s.savedCheckpoint()
	switch v.Get("p") {
	case resumeSurvey:
		// The conversation is over: the survey starts again, or the call
		// ends if the group no longer asks.
		s.group, s.talkGroup, s.talkOperator = s.call.Group, v.Get("g"), v.Get("op")
		s.phase, s.outcome, s.hangupBy = phaseTalking, tickets.OutcomeAnswered, tickets.HangupOperator
		s.emit(Event{Kind: EvResumed, Group: s.talkGroup, Reason: "survey"})
		if !s.surveyDue() {
			return nil
		}
		return s.survey()
	case resumeMessage:
		started, _ := strconv.ParseInt(v.Get("t"), 10, 64)
		return s.resumeMessage(v.Get("g"), v.Get("rec"), v.Get("ah") == "1", time.UnixMilli(started))
	case resumeClosed:
		sched := s.cfg.ServiceSchedule()
		group := v.Get("g")
		if group != "" && s.cfg.Group(group) != nil {
			sched = s.cfg.GroupSchedule(group)
		}
		if st := sched.StatusAt(s.now()); !st.Open {
			return s.closed(sched, st, group, "")
		}
	case resumeMenu:
		if group := s.call.Group; !s.call.QueuedAt.IsZero() && group != "" && s.cfg.Group(group) != nil {
			// Routed (no menu checkpoint follows a route), out of the
			// queue and in no bridge: its operator had just answered and
			// was hung up with the dead controller's legs. It queues
			// again, as from a bridge left behind.
			return s.queueAgain(group)
		}
		if cp, ok := menu.ParseCheckpoint(v.Encode()); ok {
			if act, ok := s.nav.Resume(cp); ok {
				s.org, s.role = s.nav.Identity()
				s.emit(Event{Kind: EvResumed, Node: act.Node})
				return s.menu(act)
			}
		}
	}
	return s.menu(s.nav.Restart())
}

// savedCheckpoint reads the call's checkpoint from Asterisk.
func (s *session) savedCheckpoint() url.Values {
	raw, err := s.c.client.Channel().GetVariable(s.key, resumeVar)
	if err != nil || raw == "" {
		return url.Values{}
	}
	v, err := url.ParseQuery(raw)
	if err != nil {
		s.log.Warn("checkpoint_unreadable", "error", err.Error())
		return url.Values{}
	}
	s.saved = raw
	return v
}

// adoptConversation takes over a caller talking with an operator: nothing
// moves in Asterisk; the call is tracked to its end, then the operator is
// free and the record closed as for any answered call.
func (s *session) adoptConversation(bkey *ari.Key, legID string) error {
	s.c.register(s, ari.BridgeKey, bkey.ID)
	s.c.register(s, ari.ChannelKey, legID)
	defer s.deleteBridge(bkey)
	s.group, s.phase, s.outcome = s.call.Group, phaseTalking, tickets.OutcomeAnswered
	login := s.call.Operator
	if login == "" {
		login = s.operatorOf(s.channelID)
	}
	s.record(tickets.CallEvent{Kind: tickets.EventAnswered, Group: s.group, Operator: login, Detail: "conversation taken over"})
	s.emit(Event{Kind: EvAnswered, Group: s.group, Operator: login, Ticket: string(s.ticket.Number), Reason: "resumed talking"})
	// The operator is free once the conversation ends, not after the
	// survey that may follow it.
	talked := func() {
		if login != "" && s.c.opts.Queues != nil {
			s.callEnded(login)
		}
	}
	s.talkGroup, s.talkOperator = s.group, login
	s.adoptRecording()
	if !s.channelUp(legID) {
		// The operator left while nobody watched.
		s.hangupBy, s.endedAt = tickets.HangupOperator, s.now()
	} else if err := s.talk(legID); err != nil {
		talked()
		return err
	}
	talked()
	if !s.surveyDue() {
		return nil
	}
	s.leaveBridge(bkey)
	return s.survey()
}

// channelUp reports whether a channel still exists.
func (s *session) channelUp(id string) bool {
	_, err := s.c.client.Channel().Data(s.key.New(ari.ChannelKey, id))
	return err == nil || !isNotFound(err)
}

// operatorOf finds the operator the queues hold on callID.
func (s *session) operatorOf(callID string) string {
	if s.c.opts.Queues == nil {
		return ""
	}
	ctx, cancel := s.storeCtx()
	defer cancel()
	ops, err := s.c.opts.Queues.Operators(ctx, "")
	if err != nil {
		s.storeFailed("list_operators", err)
		return ""
	}
	for _, op := range ops {
		if op.CallID == callID && op.State == queues.OnCall {
			return op.Login
		}
	}
	return ""
}

// releaseOperators frees the operators the queues still hold on this call
// (one had answered when the controller stopped, before the bridge).
// queueAgain puts a caller whose operator answered under the stopped
// controller back in the group's queue (that operator was hung up with
// the controller's legs).
func (s *session) queueAgain(group string) error {
	s.releaseOperators()
	s.group = group
	s.emit(Event{Kind: EvRoute, Group: group, Reason: "resumed to queue again"})
	if s.c.opts.Queues != nil {
		return s.queue(group, queuePriority(s.cfg, "", s.role, s.org), false)
	}
	answered, err := s.ringGroup(group)
	if err != nil || answered {
		return err
	}
	return s.noOperator(group)
}

func (s *session) releaseOperators() {
	if s.c.opts.Queues == nil {
		return
	}
	ctx, cancel := s.storeCtx()
	defer cancel()
	ops, err := s.c.opts.Queues.Operators(ctx, "")
	if err != nil {
		s.storeFailed("list_operators", err)
		return
	}
	for _, op := range ops {
		if op.CallID == s.channelID {
			if _, err := s.c.opts.Queues.ReleaseCall(ctx, op.Login, s.channelID); err != nil {
				s.storeFailed("release_operator", err)
			}
		}
	}
}

// resumeMessage goes on with a request being recorded when the previous
// controller stopped: Asterisk kept recording; the recording is attached
// when it ends, as if nothing had happened.
func (s *session) resumeMessage(group, name string, afterHours bool, started time.Time) error {
	if name == "" {
		return s.message(group, afterHours, nil)
	}
	prev := phaseMenu
	if afterHours {
		prev = phaseClosed
	}
	s.phase = phaseMessage
	s.emit(Event{Kind: EvResumed, Group: group, Reason: "recording"})
	s.c.register(s, ari.LiveRecordingKey, name)
	if _, err := s.c.client.LiveRecording().Data(s.key.New(ari.LiveRecordingKey, name)); err == nil {
		return s.finishRecording(group, afterHours, name, started, prev)
	}
	// Over already, while nobody watched: what is stored is the message;
	// its length is at most the time since it began.
	if _, err := s.c.client.StoredRecording().Data(s.key.New(ari.StoredRecordingKey, name)); err != nil {
		return s.message(group, afterHours, nil)
	}
	d := min(s.now().Sub(started), s.cfg.IVR.Message.MaxDuration).Truncate(time.Second)
	return s.recorded(group, afterHours, name, d, d, nil, prev)
}
