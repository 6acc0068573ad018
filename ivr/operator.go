package ivr

import (
	"sync/atomic"
	"time"

	"github.com/CyCoreSystems/ari/v5"

	"github.com/helpdesk-ivr/ivr/tickets"
)

// eventNoAnswer marks an operator who did not take an offered call.
const eventNoAnswer tickets.EventKind = "no_answer"

func eventChannel(e ari.Event) string {
	switch ev := e.(type) {
	case *ari.StasisEnd:
		return ev.Channel.ID
	case *ari.StasisStart:
		return ev.Channel.ID
	case *ari.ChannelDestroyed:
		return ev.Channel.ID
	case *ari.ChannelHangupRequest:
		return ev.Channel.ID
	}
	return ""
}

// isChannelEnd reports an event that ends a channel's part in the call.
func isChannelEnd(e ari.Event) bool {
	switch e.(type) {
	case *ari.StasisEnd, *ari.ChannelDestroyed, *ari.ChannelHangupRequest:
		return true
	}
	return false
}

// holdBridge puts the caller alone in a mixing bridge with music on hold.
// The operator who answers joins the same bridge, so the caller never
// moves and hears no gap. With reuse, a bridge of that id left by a
// previous controller (the caller is still in it) is taken over. It
// returns nil if the bridge could not be made; the caller is then not in
// it (gone reports a hangup meanwhile).
func (s *session) holdBridge(bridgeID string, reuse bool) (key *ari.Key, gone bool) {
	return s.joinBridge(bridgeID, reuse, true)
}

// joinBridge is holdBridge, with music on hold only if moh.
func (s *session) joinBridge(bridgeID string, reuse, moh bool) (key *ari.Key, gone bool) {
	bkey := s.key.New(ari.BridgeKey, bridgeID)
	s.c.register(s, ari.BridgeKey, bridgeID)
	if reuse {
		if _, err := s.c.client.Bridge().Data(bkey); err == nil {
			return bkey, false
		}
	}
	if _, err := s.c.client.Bridge().Create(bkey, "mixing", bridgeID); err != nil {
		// 409: the call's own bridge (holdBridgeID) is still there, the
		// one just left being destroyed or one a previous controller
		// left: it serves as well.
		if _, derr := s.c.client.Bridge().Data(bkey); !isConflict(err) || derr != nil {
			s.log.Error("bridge_create_failed", "error", err.Error())
			return nil, false
		}
	}
	if err := s.c.client.Bridge().AddChannel(bkey, s.channelID); err != nil {
		s.deleteBridge(bkey)
		if isNotFound(err) || s.hungUp {
			return nil, true
		}
		s.log.Error("bridge_add_failed", "error", err.Error())
		return nil, false
	}
	if moh {
		if err := s.c.client.Bridge().MOH(bkey, "default"); err != nil {
			s.log.Warn("moh_failed", "error", err.Error())
		}
	}
	return bkey, false
}

// leaveBridge takes the caller out of the bridge, waits until Asterisk
// says the caller has left (deleting the bridge alone returns before the
// channel is out, and a recording started then fails "Cannot record
// channel while in bridge"), then deletes it.
func (s *session) leaveBridge(bkey *ari.Key) {
	if s.released || s.c.released.Load() {
		return
	}
	if !s.hungUp {
		if err := s.c.client.Bridge().RemoveChannel(bkey, s.channelID); err == nil {
			deadline := s.now().Add(2 * time.Second)
			for {
				left := deadline.Sub(s.now())
				if left <= 0 {
					s.log.Warn("bridge_leave_unconfirmed")
					break
				}
				w, err := s.next(left)
				if err != nil || w.timeout {
					break
				}
				if e, ok := w.ev.(*ari.ChannelLeftBridge); ok && e.Channel.ID == s.channelID {
					break
				}
			}
		}
	}
	s.deleteBridge(bkey)
}

func (s *session) deleteBridge(bkey *ari.Key) {
	if s.released || s.c.released.Load() {
		return // the controller that took the call over keeps it
	}
	if err := s.c.client.Bridge().Delete(bkey); err != nil && !isNotFound(err) {
		s.log.Warn("bridge_delete_failed", "error", err.Error())
	}
}

// ringOperator originates a call to an operator's phone carrying the
// caller id and the ticket (channel variables for the phone's display and
// for the dialplan). It returns the new channel's id.
func (s *session) ringOperator(endpoint, login, group string, timeout time.Duration) (string, error) {
	id := s.c.nextID("op")
	s.c.register(s, ari.ChannelKey, id)
	h, err := s.c.client.Channel().Originate(s.origin(), ari.OriginateRequest{
		Endpoint: endpoint, App: s.c.opts.App, AppArgs: "operator," + s.channelID, ChannelID: id,
		CallerID: cmpStr(s.caller, "anonymous"), Timeout: max(int(timeout/time.Second), 1),
		Variables: s.operatorVariables(group, login),
	})
	if err != nil {
		s.log.Warn("originate_failed", "endpoint", endpoint, "error", err.Error())
		return "", err
	}
	s.pinNode(h.Key())
	s.emit(Event{Kind: EvRinging, Group: group, Text: endpoint, Operator: login})
	return id, nil
}

// operatorVariables are the channel variables of an operator's leg: the
// ticket and the caller for the phone's display, and IVR_CALLBACK=1 when
// the call is a callback the operator takes (the caller is called next).
func (s *session) operatorVariables(group, login string) map[string]string {
	v := map[string]string{"IVR_TICKET": string(s.ticket.Number), "IVR_CALLER": s.caller,
		"IVR_GROUP": group, "IVR_OPERATOR": login, "IVR_ORGANIZATION": s.org}
	if s.cbCall != "" {
		v["IVR_CALLBACK"] = "1"
	}
	return v
}

func (s *session) hangupChannel(id string) {
	if err := s.c.client.Channel().Hangup(s.key.New(ari.ChannelKey, id), "normal"); err != nil && !isNotFound(err) {
		s.log.Warn("operator_hangup_failed", "error", err.Error())
	}
}

// connect bridges the operator who answered with the caller, records it
// and hands the ticket to the operator. It reports false when the
// operator's channel was gone before it could join.
func (s *session) connect(legID, group, login string) bool {
	moh := s.hold != nil && s.holdMusic
	if s.hold == nil {
		// Rung at once: the bridge is made now, without music.
		bkey, gone := s.joinBridge(holdBridgeID(s.channelID), false, false)
		if bkey == nil {
			if !gone {
				s.record(tickets.CallEvent{Kind: eventNoAnswer, Group: group, Operator: login, Detail: "no bridge"})
			}
			s.hangupChannel(legID)
			return false
		}
		s.hold = bkey
	}
	bkey := s.hold
	if err := s.c.client.Bridge().AddChannel(bkey, legID); err != nil {
		// The operator hung up as they answered (Asterisk says 400 or 422
		// for a channel that is gone): nobody is there to talk to.
		s.log.Warn("bridge_operator_failed", "operator", login, "error", err.Error())
		s.record(tickets.CallEvent{Kind: eventNoAnswer, Group: group, Operator: login, Detail: "gone before bridging"})
		s.hangupChannel(legID)
		return false
	}
	if moh {
		if err := s.c.client.Bridge().StopMOH(bkey); err != nil && !isNotFound(err) {
			s.log.Warn("stop_moh_failed", "error", err.Error())
		}
		s.holdMusic = false
	}
	now := s.now()
	s.phase = phaseTalking
	s.talkGroup, s.talkOperator = group, login
	s.outcome = tickets.OutcomeAnswered
	s.publishTalk(legID) // (talk publishes it again, and withdraws it)
	s.emit(Event{Kind: EvAnswered, Group: group, Operator: login, Ticket: string(s.ticket.Number)})
	inProgress := tickets.StatusInProgress
	cu := tickets.CallUpdate{OperatorAnsweredAt: &now, Operator: &login}
	if s.opAnswered {
		cu.OperatorAnsweredAt = nil // answered after a transfer
	}
	s.opAnswered = true
	s.updateCallTicket(cu, tickets.TicketUpdate{Assignee: &login, Status: &inProgress})
	s.startCallRecording(bkey, group, login)
	return true
}

// talk waits while caller and operator talk: whoever hangs up first ends
// the call for both.
func (s *session) talk(legID string) error {
	defer s.stopCallRecording()
	s.acting = true
	defer func() { s.acting = false }()
	defer s.publishTalk(legID)()
	for {
		w, err := s.next(time.Hour)
		if err != nil {
			if err != errReleased {
				s.hangupChannel(legID)
			}
			return err
		}
		if w.resync {
			// Events may have been lost: is the operator still there?
			if _, err := s.c.client.Channel().Data(s.key.New(ari.ChannelKey, legID)); isNotFound(err) {
				s.hangupBy = tickets.HangupOperator
				return nil
			}
			continue
		}
		if w.act != nil {
			if !s.recordingAction(w.act) {
				w.act.reply(ErrUnknownAction)
			}
			continue
		}
		if eventChannel(w.ev) == legID && isChannelEnd(w.ev) {
			s.hangupBy = tickets.HangupOperator
			s.endedAt = s.now()
			return nil
		}
	}
}

// ringGroup is routing without the operator queues (no database, as in
// `ivrctl simulate`): every phone of the group's operators rings at once
// and the first to answer is bridged with the caller. It reports false
// when nobody answered.
func (s *session) ringGroup(groupID string) (bool, error) {
	bkey, gone := s.holdBridge(holdBridgeID(s.channelID), false)
	if bkey == nil {
		if gone {
			return false, s.goneNow()
		}
		return false, nil
	}
	s.hold, s.holdMusic = bkey, true
	defer func() {
		s.deleteBridge(bkey)
		s.hold, s.holdMusic = nil, false
	}()
	type leg struct{ endpoint, login string }
	legs := map[string]leg{} // operator channel id → operator
	for _, op := range ringAllBatch(s.cfg.OperatorsOf(groupID), s.c.opts.RingAllLimit, &s.c.ringNext) {
		id, err := s.ringOperator(op.Endpoint, op.Login, groupID, s.c.opts.RingTimeout)
		if err != nil {
			s.record(tickets.CallEvent{Kind: eventNoAnswer, Group: groupID, Operator: op.Login, Detail: "unreachable"})
			continue
		}
		legs[id] = leg{op.Endpoint, op.Login}
		s.record(tickets.CallEvent{Kind: tickets.EventOffered, Group: groupID, Operator: op.Login, Detail: op.Endpoint})
	}
	hangupLegs := func(except string) {
		for id := range legs {
			if id != except {
				s.hangupChannel(id)
			}
		}
	}
	deadline := s.now().Add(s.c.opts.RingTimeout + 5*time.Second)
	answered := ""
	for answered == "" {
		if len(legs) == 0 {
			return false, nil
		}
		left := deadline.Sub(s.now())
		if left <= 0 {
			hangupLegs("")
			for _, l := range legs {
				s.record(tickets.CallEvent{Kind: eventNoAnswer, Group: groupID, Operator: l.login, Detail: "ring timeout"})
			}
			return false, nil
		}
		w, err := s.next(left)
		if err != nil {
			hangupLegs("") // withdraw every offer at once
			return false, err
		}
		id := eventChannel(w.ev)
		l, ok := legs[id]
		switch {
		case !ok:
		case isStasisStart(w.ev):
			answered = id
		case isChannelEnd(w.ev):
			delete(legs, id)
			s.emit(Event{Kind: EvNoAnswer, Group: groupID, Text: l.endpoint, Operator: l.login})
			s.record(tickets.CallEvent{Kind: eventNoAnswer, Group: groupID, Operator: l.login})
		}
	}
	op := legs[answered]
	hangupLegs(answered)
	s.record(tickets.CallEvent{Kind: tickets.EventAnswered, Group: groupID, Operator: op.login})
	if !s.connect(answered, groupID, op.login) {
		return false, nil
	}
	if err := s.converse(answered, op.endpoint); err != nil || !s.surveyDue() {
		return true, err
	}
	// The caller stays: out of the bridge (a bridged channel cannot be
	// recorded), back to the controller for the survey.
	s.leaveBridge(bkey)
	return true, s.survey()
}

// ringAllBatch picks at most limit of ops, starting where the previous
// call's batch ended, so that successive callers spread over the group.
func ringAllBatch[T any](ops []T, limit int, next *atomic.Uint64) []T {
	if len(ops) <= limit {
		return ops
	}
	start := (next.Add(uint64(limit)) - uint64(limit)) % uint64(len(ops))
	batch := make([]T, 0, limit)
	for i := range uint64(limit) {
		batch = append(batch, ops[(start+i)%uint64(len(ops))])
	}
	return batch
}

func isStasisStart(e ari.Event) bool {
	_, ok := e.(*ari.StasisStart)
	return ok
}
