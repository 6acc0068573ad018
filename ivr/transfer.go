package ivr

import (
	"cmp"
	"errors"
	"fmt"
	"time"

	"github.com/CyCoreSystems/ari/v5"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// The actions an operator takes on their conversation from the console
// (Action.Kind), and the supervisor's move of a queued caller.
const (
	ActHold     ActionKind = "hold"     // music on hold to the caller
	ActResume   ActionKind = "resume"   // back to the conversation
	ActTransfer ActionKind = "transfer" // blind: to Group, Operator or Number
	ActConsult  ActionKind = "consult"  // attended: call Operator or Number, the caller on hold
	ActComplete ActionKind = "complete" // the consulted party takes the caller
	ActCancel   ActionKind = "cancel"   // the consultation ends, back to the caller
	ActThreeWay ActionKind = "threeway" // the consulted party joins the conversation
	// ActMove sends a caller waiting in a queue to Group's queue (a
	// supervisor's action; ActTransfer to a group does the same).
	ActMove ActionKind = "move"
)

// The call events of operators' actions, in the ticket's history. Each
// conversation's part of one operator (or outside number) ends with
// EventHandled, its Duration the time they had the call: the group handing
// over keeps its handling time.
const (
	EventOnHold           tickets.EventKind = "on_hold"
	EventOffHold          tickets.EventKind = "off_hold" // Duration: how long
	EventHandled          tickets.EventKind = "handled"  // Duration: how long
	EventTransferGroup    tickets.EventKind = "transfer_group"
	EventTransferOperator tickets.EventKind = "transfer_operator"
	EventTransferNumber   tickets.EventKind = "transfer_number"
	EventTransferAttended tickets.EventKind = "transfer_attended"
	EventTransferMove     tickets.EventKind = "transfer_move"
	EventTransferFailed   tickets.EventKind = "transfer_failed"
	EventConsult          tickets.EventKind = "consult"
	EventConsultEnded     tickets.EventKind = "consult_ended"
	EventThreeWay         tickets.EventKind = "three_way"
)

// EvControl is a live call's event of an operator's action: Result is
// the action (hold, resume, transfer, consult, complete, cancel,
// threeway, move, failed), Group/Operator/Text its target.
const EvControl = "control"

// Why an action is refused, for the console.
var (
	errNoTarget      = &fault.Error{Code: fault.EINVALID, Message: "say where to: a group, an operator or a number"}
	errUnknownGroup  = &fault.Error{Code: fault.EINVALID, Message: "no such group"}
	errUnknownOp     = &fault.Error{Code: fault.EINVALID, Message: "no such operator"}
	errNumberRefused = &fault.Error{Code: fault.EFORBIDDEN, Message: "that number is not among those calls may be transferred to"}
	errSelf          = &fault.Error{Code: fault.EINVALID, Message: "the call is already yours"}
	errNoQueues      = &fault.Error{Code: fault.ECONFLICT, Message: "transfers need the operator queues"}
)

// party is one side of a conversation other than the caller: an operator
// or an outside number.
type party struct {
	leg      string // the channel; "" while none (freed on hold)
	login    string // an operator's; "" for a number
	number   string // an outside number (E.164)
	endpoint string // to ring them (again)
	group    string // whose call it is for them
	since    time.Time
	taken    bool // on call in the queues (TakeCall or Answer)
}

func (p party) name() string { return cmp.Or(p.login, p.number) }

// conversation is a call being talked: the caller in their bridge with the
// operator who has the call, and what the operator is doing with it.
type conversation struct {
	bridge *ari.Key // the caller's (s.hold)
	op     party    // who has the call
	held   bool
	heldAt time.Time
	freed  bool // on hold with the operator's phone hung up (on_hold: free)
	// ringing is a phone ringing to take the call: the operator again
	// (resume after free), or a blind transfer's target.
	ringing   *party
	ringKind  ActionKind // ActResume or ActTransfer
	ringUntil time.Time
	consult   *consultation
	third     *party // a three-way call's other party
	consults  int    // consultations so far, each with a bridge of its own
}

// consultation is an attended transfer under way: the operator and the
// party consulted in a bridge of their own, the caller on hold.
type consultation struct {
	bridge   *ari.Key
	to       party
	answered bool
	until    time.Time // ring deadline while not answered
}

// converse is the conversation between the caller and the operator who
// answered on legID: it ends when either hangs up or the operator passes
// the caller to a group's queue (s.requeue). Meanwhile the panel's
// actions (hold, transfers) act on it.
func (s *session) converse(legID, endpoint string) error {
	cv := &conversation{bridge: s.hold, op: party{leg: legID, login: s.talkOperator, group: s.talkGroup,
		endpoint: endpoint, since: s.now(), taken: true}}
	// The recording (recordcall.go) ends with the conversation: a caller
	// sent to a queue is recorded anew with the next operator.
	defer s.stopCallRecording()
	// Supervisors find the operator's leg (supervise.go); handOver
	// publishes the next one's.
	s.publishTalk(legID)
	defer s.talking.Store(nil)
	s.acting = true
	defer func() { s.acting = false }()
	for {
		d := time.Hour
		if dl := cv.deadline(); !dl.IsZero() {
			d = max(dl.Sub(s.now()), 0)
		}
		w, err := s.next(d)
		// Keys mean nothing here, on hold or not: none may act later
		// (a break-out key in the next queue).
		s.digits = s.digits[:0]
		if err != nil {
			if !errors.Is(err, errReleased) {
				s.endConversation(cv, "caller hung up")
			}
			return err
		}
		var done bool
		switch {
		case w.act != nil && s.recordingAction(w.act):
			// (pause or resume of the recording, answered)
		case w.act != nil:
			var aerr error
			done, aerr = s.act(cv, w.act.Action)
			w.act.reply(aerr)
		case w.timeout:
			done = s.ringOut(cv)
		case w.resync:
			if !s.channelUp(cv.op.leg) && cv.op.leg != "" {
				done = s.partyGone(cv, cv.op.leg)
			}
		case isStasisStart(w.ev):
			s.partyAnswered(cv, eventChannel(w.ev))
		case isChannelEnd(w.ev):
			done = s.partyGone(cv, eventChannel(w.ev))
		}
		if done {
			return nil
		}
	}
}

func (cv *conversation) deadline() time.Time {
	switch {
	case cv.ringing != nil:
		return cv.ringUntil
	case cv.consult != nil && !cv.consult.answered:
		return cv.consult.until
	}
	return time.Time{}
}

// act does what the panel asks; done when the conversation is over for
// this session's loop (the caller goes to a queue).
func (s *session) act(cv *conversation, a Action) (done bool, err error) {
	busy := cv.ringing != nil || cv.consult != nil
	switch a.Kind {
	case ActHold:
		if cv.held || busy || cv.third != nil {
			return false, ErrNotNow
		}
		s.holdOn(cv, a.By, s.c.opts.Queues != nil && s.cfg.HoldFrees(cv.op.group))
		return false, nil
	case ActResume:
		if !cv.held || busy {
			return false, ErrNotNow
		}
		if cv.freed {
			// The operator's phone rings again; the caller hears music
			// until they answer.
			id, err := s.ringOperator(cv.op.endpoint, cv.op.login, cv.op.group, s.ringTimeout())
			if err != nil {
				return false, fmt.Errorf("ring %s again: %w", cv.op.login, err)
			}
			p := cv.op
			p.leg = id
			cv.ringing, cv.ringKind, cv.ringUntil = &p, ActResume, s.now().Add(s.ringTimeout())
			s.emit(Event{Kind: EvControl, Result: "resuming", Operator: cv.op.login})
			return false, nil
		}
		if err := s.c.client.Bridge().AddChannel(cv.bridge, cv.op.leg); err != nil {
			return false, fmt.Errorf("resume: %w", err)
		}
		s.holdOff(cv, a.By, "resumed")
		return false, nil
	case ActTransfer, ActMove:
		if busy || cv.third != nil {
			return false, ErrNotNow
		}
		return s.blindTransfer(cv, a)
	case ActConsult:
		if busy || cv.third != nil || cv.freed {
			return false, ErrNotNow
		}
		return false, s.startConsult(cv, a)
	case ActComplete:
		switch {
		case cv.third != nil:
			// The operator leaves a three-way call to the other two.
			s.handedOver = true
			s.record(tickets.CallEvent{Kind: EventTransferAttended, Group: cv.op.group, Operator: cv.op.login,
				Detail: "left the three-way call to " + cv.third.name()})
			s.c.metrics.transfers.WithLabelValues("attended", cv.op.group).Inc()
			s.handOver(cv, *cv.third, "left the three-way call")
			cv.third = nil
			return false, nil
		case cv.consult == nil || !cv.consult.answered:
			return false, ErrNotNow
		}
		s.completeConsult(cv, a.By)
		return false, nil
	case ActCancel:
		if cv.consult == nil {
			return false, ErrNotNow
		}
		s.endConsult(cv, "cancelled by "+cmp.Or(a.By, cv.op.login))
		return false, nil
	case ActThreeWay:
		if cv.consult == nil || !cv.consult.answered {
			return false, ErrNotNow
		}
		c := cv.consult
		if err := s.c.client.Bridge().AddChannel(cv.bridge, cv.op.leg); err != nil {
			return false, fmt.Errorf("three-way: %w", err)
		}
		if err := s.c.client.Bridge().AddChannel(cv.bridge, c.to.leg); err != nil {
			s.log.Warn("three_way_add_failed", "error", err.Error())
		}
		s.deleteBridge(c.bridge)
		cv.consult = nil
		s.handedOver = true
		s.holdOff(cv, a.By, "three-way call")
		third := c.to
		cv.third = &third
		s.record(tickets.CallEvent{Kind: EventThreeWay, Group: cv.op.group, Operator: cv.op.login, Detail: "with " + third.name()})
		s.emit(Event{Kind: EvControl, Result: "threeway", Operator: third.login, Text: third.number})
		return false, nil
	}
	return false, ErrUnknownAction
}

func (s *session) ringTimeout() time.Duration {
	if t := s.cfg.Transfers; t != nil && t.RingTimeout > 0 {
		return t.RingTimeout
	}
	return cmp.Or(s.c.opts.RingTimeout, menu.DefaultTransferRingTimeout)
}

// holdOn puts the caller on hold: the operator out of the caller's
// bridge (kept connected, or hung up when free), music to the caller.
func (s *session) holdOn(cv *conversation, by string, free bool) {
	if free {
		leg := cv.op.leg
		cv.op.leg, cv.freed = "", true
		s.hangupChannel(leg)
	} else if err := s.c.client.Bridge().RemoveChannel(cv.bridge, cv.op.leg); err != nil && !isNotFound(err) {
		s.log.Warn("hold_remove_failed", "error", err.Error())
	}
	s.music(cv.bridge, true)
	cv.held, cv.heldAt = true, s.now()
	detail := "by " + cmpStr(by, cv.op.login)
	if free {
		detail += ", phone freed"
	}
	s.record(tickets.CallEvent{Kind: EventOnHold, Group: cv.op.group, Operator: cv.op.login, Detail: detail})
	s.c.metrics.holds.WithLabelValues(cv.op.group).Inc()
	s.emit(Event{Kind: EvControl, Result: "hold", Group: cv.op.group, Operator: cv.op.login})
}

// holdOff ends a hold (the caller is no longer alone with music, or is
// gone): how long it lasted goes to the record and the metrics.
func (s *session) holdOff(cv *conversation, by, why string) {
	if !cv.held {
		return
	}
	if !s.hungUp {
		s.music(cv.bridge, false)
	}
	d := s.now().Sub(cv.heldAt)
	cv.held, cv.freed = false, false
	s.record(tickets.CallEvent{Kind: EventOffHold, Group: cv.op.group, Operator: cv.op.login, Duration: d,
		Detail: why + " by " + cmpStr(by, cv.op.login)})
	s.c.metrics.holdSeconds.WithLabelValues(cv.op.group).Add(d.Seconds())
	s.emit(Event{Kind: EvControl, Result: "resume", Group: cv.op.group, Operator: cv.op.login, Seconds: d.Seconds(), Reason: why})
}

// music starts or stops music on hold in the caller's bridge.
func (s *session) music(bkey *ari.Key, on bool) {
	if on == s.holdMusic {
		return
	}
	var err error
	if on {
		err = s.c.client.Bridge().MOH(bkey, "default")
	} else {
		err = s.c.client.Bridge().StopMOH(bkey)
	}
	if err != nil && !isNotFound(err) && !isConflict(err) {
		s.log.Warn("moh_failed", "on", on, "error", err.Error())
		return
	}
	s.holdMusic = on
}

// release ends p's part of the call: their phone hung up, their time with
// the call recorded, the operator free in the queues; once (p keeps who
// they were, not their part).
func (s *session) release(p *party, why string, hangup bool) {
	if hangup && p.leg != "" {
		s.hangupChannel(p.leg)
	}
	s.handled(*p, why)
	if p.taken && p.login != "" {
		s.callEndedFor(p.login)
	}
	p.leg, p.since, p.taken = "", time.Time{}, false
}

// handled records how long p had the call, once the call has more than
// one party to account for (handOver): a call one operator answered and
// ended is the call record's own talk time.
func (s *session) handled(p party, why string) {
	if p.since.IsZero() || !s.handedOver {
		return
	}
	detail := why
	if p.number != "" {
		detail = p.number + ": " + why
	}
	s.record(tickets.CallEvent{Kind: EventHandled, Group: p.group, Operator: p.login, Duration: s.now().Sub(p.since), Detail: detail})
}

// callEndedFor frees an operator in the queues once, whichever way their
// part of the call ended.
func (s *session) callEndedFor(login string) {
	if s.c.opts.Queues == nil || s.freedOps[login] {
		return
	}
	if s.freedOps == nil {
		s.freedOps = map[string]bool{}
	}
	s.freedOps[login] = true
	s.callEnded(login)
}

// handOver makes p the one who has the call: the record, the ticket and
// the survey follow them.
func (s *session) handOver(cv *conversation, p party, why string) {
	s.release(&cv.op, why, true)
	p.since = s.now()
	cv.op = p
	if p.login != "" {
		s.talkOperator, s.talkGroup = p.login, cmpStr(p.group, s.talkGroup)
		login := p.login
		s.updateCallTicket(tickets.CallUpdate{Operator: &login}, tickets.TicketUpdate{Assignee: &login})
	}
	if p.leg != "" {
		s.publishTalk(p.leg)
	}
	s.emit(Event{Kind: EvAnswered, Group: p.group, Operator: p.login, Text: p.number, Ticket: string(s.ticket.Number), Reason: why})
}

// blindTransfer passes the caller on without waiting: to a group's queue
// (done: the queue loop takes over), or rings an operator or a number
// while the caller hears music.
func (s *session) blindTransfer(cv *conversation, a Action) (bool, error) {
	if s.c.opts.Queues == nil {
		return false, errNoQueues
	}
	by := cmpStr(a.By, cv.op.login)
	s.handedOver = true
	switch {
	case a.Group != "":
		if s.cfg.Group(a.Group) == nil {
			return false, errUnknownGroup
		}
		kind := EventTransferGroup
		if a.Kind == ActMove {
			kind = EventTransferMove
		}
		s.holdOff(cv, by, "transferred")
		s.music(cv.bridge, true)
		s.release(&cv.op, "transferred to group "+a.Group, true)
		s.record(tickets.CallEvent{Kind: kind, Group: cv.op.group, Operator: by, Detail: "to group " + a.Group})
		s.c.metrics.transfers.WithLabelValues("group", cv.op.group).Inc()
		s.emit(Event{Kind: EvControl, Result: "transfer", Group: a.Group, Operator: by})
		s.toGroup(a.Group)
		return true, nil
	case a.Operator != "":
		p, err := s.reserve(a.Operator, cv)
		if err != nil {
			return false, err
		}
		// Rung first: a phone that cannot be called leaves the call as
		// it was.
		if p.leg, err = s.ringOperator(p.endpoint, p.login, p.group, s.ringTimeout()); err != nil {
			s.unreserve(p)
			return false, fmt.Errorf("ring %s: %w", p.login, err)
		}
		s.holdOff(cv, by, "transferred")
		s.music(cv.bridge, true)
		s.release(&cv.op, "transferred to "+p.login, true)
		s.record(tickets.CallEvent{Kind: EventTransferOperator, Group: cv.op.group, Operator: by, Detail: "to " + p.login})
		s.c.metrics.transfers.WithLabelValues("operator", cv.op.group).Inc()
		cv.op.leg = ""
		cv.ringing, cv.ringKind, cv.ringUntil = &p, ActTransfer, s.now().Add(s.ringTimeout())
		s.emit(Event{Kind: EvControl, Result: "transfer", Operator: p.login})
		return false, nil
	case a.Number != "":
		p, err := s.outside(a.Number, cv)
		if err != nil {
			return false, err
		}
		if err := s.dialOutside(&p); err != nil {
			return false, err
		}
		s.holdOff(cv, by, "transferred")
		s.music(cv.bridge, true)
		s.release(&cv.op, "transferred to "+p.number, true)
		s.record(tickets.CallEvent{Kind: EventTransferNumber, Group: cv.op.group, Operator: by, Detail: "to " + p.number})
		s.c.metrics.transfers.WithLabelValues("number", cv.op.group).Inc()
		cv.op.leg = ""
		cv.ringing, cv.ringKind, cv.ringUntil = &p, ActTransfer, s.now().Add(s.ringTimeout())
		s.emit(Event{Kind: EvControl, Result: "transfer", Text: p.number})
		return false, nil
	}
	return false, errNoTarget
}

// toGroup sends the caller to group's queue: the same ticket, reassigned
// to the group; the queue loop (queue.go) takes it from there.
func (s *session) toGroup(group string) {
	s.requeue = group
	s.phase = phaseQueue
	s.group = group
	none := ""
	s.updateCallTicket(tickets.CallUpdate{Group: &group}, tickets.TicketUpdate{Group: &group, Assignee: &none})
}

// reserve checks and sets aside the operator login for the call.
func (s *session) reserve(login string, cv *conversation) (party, error) {
	op := s.cfg.Operator(login)
	switch {
	case op == nil:
		return party{}, errUnknownOp
	case login == cv.op.login:
		return party{}, errSelf
	}
	ctx, cancel := s.storeCtx()
	defer cancel()
	qo, err := s.c.opts.Queues.Reserve(ctx, login, s.channelID, s.group)
	if err != nil {
		return party{}, err
	}
	return party{login: login, endpoint: qo.Endpoint, group: s.group}, nil
}

func (s *session) unreserve(p party) {
	ctx, cancel := s.storeCtx()
	defer cancel()
	if _, err := s.c.opts.Queues.ReleaseCall(ctx, p.login, s.channelID); err != nil {
		s.log.Warn("queue_release_failed", "operator", p.login, "error", err.Error())
	}
}

// take puts an operator who answered on the call in the queues.
func (s *session) take(p *party) {
	if p.login == "" || p.taken {
		return
	}
	ctx, cancel := s.storeCtx()
	defer cancel()
	if err := s.c.opts.Queues.TakeCall(ctx, p.login, s.channelID); err != nil {
		s.log.Warn("queue_take_failed", "operator", p.login, "error", err.Error())
		return
	}
	p.taken = true
	delete(s.freedOps, p.login) // (an operator the call comes back to)
}

// outside checks an outside number against the allow-list.
func (s *session) outside(raw string, cv *conversation) (party, error) {
	n, dial, ok := s.cfg.TransferNumber(raw)
	if !ok {
		return party{}, errNumberRefused
	}
	return party{number: n, endpoint: dial, group: cv.op.group}, nil
}

// dialOutside calls an outside number through the carrier, as callbacks
// do, showing the help desk's number.
func (s *session) dialOutside(p *party) error {
	id := s.c.nextID("xfer")
	s.c.register(s, ari.ChannelKey, id)
	t := s.cfg.Transfers
	callerID, err := menu.NormalizeNumber(t.CallerID)
	if err != nil {
		callerID = t.CallerID
	}
	_, err = s.c.client.Channel().Originate(s.origin(), ari.OriginateRequest{
		Endpoint: p.endpoint, App: s.c.opts.App, AppArgs: "transfer," + s.channelID, ChannelID: id,
		CallerID: callerID, Timeout: max(int(s.ringTimeout()/time.Second), 1),
		Variables: map[string]string{"IVR_TICKET": string(s.ticket.Number)},
	})
	if err != nil {
		s.log.Warn("originate_failed", "endpoint", p.endpoint, "error", err.Error())
		return fmt.Errorf("call %s: %w", p.number, err)
	}
	p.leg = id
	return nil
}

// startConsult puts the caller on hold and calls the colleague (or an
// outside number) for the operator to talk to first.
func (s *session) startConsult(cv *conversation, a Action) error {
	if s.c.opts.Queues == nil {
		return errNoQueues
	}
	var p party
	var err error
	switch {
	case a.Operator != "":
		p, err = s.reserve(a.Operator, cv)
	case a.Number != "":
		p, err = s.outside(a.Number, cv)
	default:
		err = errNoTarget
	}
	if err != nil {
		return err
	}
	// A bridge of its own for each consultation: on Asterisk the id of one
	// just deleted may still answer 409 to a create, then 404 to a join.
	cv.consults++
	id := fmt.Sprintf("cons-%s-%d", s.channelID, cv.consults)
	bkey := s.key.New(ari.BridgeKey, id)
	s.c.register(s, ari.BridgeKey, id)
	if _, err := s.c.client.Bridge().Create(bkey, "mixing", id); err != nil && !isConflict(err) {
		if p.login != "" {
			s.unreserve(p)
		}
		return fmt.Errorf("consultation bridge: %w", err)
	}
	if !cv.held {
		s.holdOn(cv, a.By, false)
	}
	// Moved from wherever it is (the caller's bridge or none).
	if err := s.c.client.Bridge().AddChannel(bkey, cv.op.leg); err != nil {
		s.log.Warn("consult_operator_failed", "error", err.Error())
	}
	// Said first: the colleague's phone ringing is not the call's (Live).
	s.emit(Event{Kind: EvControl, Result: "consult", Operator: p.login, Text: p.number})
	if p.login != "" {
		p.leg, err = s.ringOperator(p.endpoint, p.login, p.group, s.ringTimeout())
	} else {
		err = s.dialOutside(&p)
	}
	if err != nil {
		if p.login != "" {
			s.unreserve(p)
		}
		s.deleteBridge(bkey)
		if err := s.c.client.Bridge().AddChannel(cv.bridge, cv.op.leg); err == nil {
			s.holdOff(cv, a.By, "consultation failed")
		}
		s.emit(Event{Kind: EvControl, Result: "cancel", Operator: p.login, Text: p.number, Reason: "unreachable"})
		return err
	}
	cv.consult = &consultation{bridge: bkey, to: p, until: s.now().Add(s.ringTimeout())}
	s.record(tickets.CallEvent{Kind: EventConsult, Group: cv.op.group, Operator: cv.op.login, Detail: "calling " + p.name()})
	return nil
}

// completeConsult gives the caller to the party consulted.
func (s *session) completeConsult(cv *conversation, by string) {
	s.handedOver = true
	c := cv.consult
	cv.consult = nil
	if err := s.c.client.Bridge().AddChannel(cv.bridge, c.to.leg); err != nil {
		s.log.Warn("complete_add_failed", "error", err.Error())
	}
	s.deleteBridge(c.bridge)
	s.holdOff(cv, by, "transfer completed")
	s.record(tickets.CallEvent{Kind: EventTransferAttended, Group: cv.op.group, Operator: cmpStr(by, cv.op.login), Detail: "to " + c.to.name()})
	s.c.metrics.transfers.WithLabelValues("attended", cv.op.group).Inc()
	s.handOver(cv, c.to, "attended transfer")
	s.emit(Event{Kind: EvControl, Result: "complete", Operator: c.to.login, Text: c.to.number})
}

// endConsult ends a consultation without a transfer: the party consulted
// hung up (or is hung up), the operator back with the caller.
func (s *session) endConsult(cv *conversation, why string) {
	c := cv.consult
	cv.consult = nil
	if c.to.leg != "" {
		s.hangupChannel(c.to.leg)
	}
	switch {
	case c.to.login != "" && c.answered:
		s.callEndedFor(c.to.login)
	case c.to.login != "":
		s.unreserve(c.to)
	}
	if c.answered {
		s.handedOver = true
		s.handled(c.to, "consultation")
	}
	if cv.op.leg != "" {
		if err := s.c.client.Bridge().AddChannel(cv.bridge, cv.op.leg); err != nil {
			s.log.Warn("consult_back_failed", "error", err.Error())
		}
	}
	s.deleteBridge(c.bridge)
	s.holdOff(cv, "", "consultation over")
	s.record(tickets.CallEvent{Kind: EventConsultEnded, Group: cv.op.group, Operator: cv.op.login, Detail: c.to.name() + ": " + why})
	s.emit(Event{Kind: EvControl, Result: "cancel", Operator: c.to.login, Text: c.to.number, Reason: why})
}

// partyAnswered: a phone rung for the call answered.
func (s *session) partyAnswered(cv *conversation, id string) {
	switch {
	case cv.ringing != nil && cv.ringing.leg == id:
		p := *cv.ringing
		cv.ringing = nil
		if err := s.c.client.Bridge().AddChannel(cv.bridge, id); err != nil {
			// Gone as they answered: the end event follows.
			s.log.Warn("bridge_party_failed", "error", err.Error())
			cv.ringing = &p
			return
		}
		s.music(cv.bridge, false)
		if cv.ringKind == ActResume {
			cv.op.leg = id
			s.holdOff(cv, "", "resumed")
			return
		}
		s.take(&p)
		p.since = s.now()
		cv.op = p
		if p.login != "" {
			s.talkOperator = p.login
			login := p.login
			s.updateCallTicket(tickets.CallUpdate{Operator: &login}, tickets.TicketUpdate{Assignee: &login})
		}
		s.emit(Event{Kind: EvAnswered, Group: p.group, Operator: p.login, Text: p.number, Ticket: string(s.ticket.Number), Reason: "transfer"})
	case cv.consult != nil && cv.consult.to.leg == id && !cv.consult.answered:
		c := cv.consult
		if err := s.c.client.Bridge().AddChannel(c.bridge, id); err != nil {
			s.log.Warn("bridge_consult_failed", "error", err.Error())
			return
		}
		c.answered = true
		s.take(&c.to)
		c.to.since = s.now()
		s.emit(Event{Kind: EvControl, Result: "consulting", Operator: c.to.login, Text: c.to.number})
	}
}

// partyGone: a channel of the conversation other than the caller's
// ended; done when the call is over or goes to a queue.
func (s *session) partyGone(cv *conversation, id string) bool {
	switch {
	case id == "":
		return false
	case cv.ringing != nil && cv.ringing.leg == id:
		return s.ringFailed(cv, "rejected")
	case cv.consult != nil && cv.consult.to.leg == id:
		why := "no answer"
		if cv.consult.answered {
			why = "hung up"
		}
		cv.consult.to.leg = ""
		s.endConsult(cv, why)
		return false
	case cv.third != nil && cv.third.leg == id:
		third := *cv.third
		cv.third = nil
		third.leg = ""
		s.release(&third, "left the three-way call", false)
		s.emit(Event{Kind: EvControl, Result: "threeway_ended", Operator: third.login, Text: third.number})
		return false
	case id != cv.op.leg:
		return false
	}
	// The one who has the call hung up.
	cv.op.leg = ""
	switch {
	case cv.consult != nil && cv.consult.answered:
		// As on a desk phone: hanging up while consulting completes the
		// transfer.
		s.completeConsult(cv, cv.op.login)
		return false
	case cv.third != nil:
		third := *cv.third
		cv.third = nil
		s.handOver(cv, third, "the operator left the three-way call")
		return false
	}
	s.hangupBy = tickets.HangupOperator
	s.endedAt = s.now()
	s.endConversation(cv, "operator hung up")
	return true
}

// ringOut: a phone rung for the call did not answer in time.
func (s *session) ringOut(cv *conversation) bool {
	if s.now().Before(cv.deadline()) {
		return false
	}
	switch {
	case cv.ringing != nil:
		s.hangupChannel(cv.ringing.leg)
		return s.ringFailed(cv, "no answer")
	case cv.consult != nil && !cv.consult.answered:
		s.endConsult(cv, "no answer")
	}
	return false
}

// ringFailed: the phone rung to take the caller did not: the caller goes
// back to the queue of the group whose call it was.
func (s *session) ringFailed(cv *conversation, why string) bool {
	s.handedOver = true
	p := *cv.ringing
	cv.ringing = nil
	if p.login != "" {
		s.unreserve(p)
	}
	back := cmpStr(cv.op.group, s.group)
	s.record(tickets.CallEvent{Kind: EventTransferFailed, Group: back, Operator: p.login,
		Detail: fmt.Sprintf("%s: %s; back to the queue of %s", p.name(), why, back)})
	s.emit(Event{Kind: EvControl, Result: "failed", Operator: p.login, Text: p.number, Reason: why, Group: back})
	if cv.ringKind == ActResume {
		// The operator did not take the caller back: their part ends.
		s.holdOff(cv, "", "operator did not answer")
		s.music(cv.bridge, true)
		s.release(&cv.op, "did not answer after hold", false)
	}
	s.toGroup(back)
	return true
}

// endConversation ends every other party's part when the call is over.
func (s *session) endConversation(cv *conversation, why string) {
	s.holdOff(cv, "", why)
	if c := cv.consult; c != nil {
		cv.consult = nil
		if c.to.leg != "" {
			s.hangupChannel(c.to.leg)
		}
		switch {
		case c.to.login != "" && c.answered:
			s.handedOver = true
			s.handled(c.to, "consultation: "+why)
			s.callEndedFor(c.to.login)
		case c.to.login != "":
			s.unreserve(c.to)
		}
		s.deleteBridge(c.bridge)
	}
	if p := cv.ringing; p != nil {
		cv.ringing = nil
		s.hangupChannel(p.leg)
		if p.login != "" && cv.ringKind != ActResume {
			s.unreserve(*p)
		}
	}
	if p := cv.third; p != nil {
		cv.third = nil
		s.release(p, why, true)
	}
	s.release(&cv.op, why, true)
}

// moveQueued sends a caller waiting in a queue to another group's queue
// (a supervisor's move, or a transfer of a queued call): the time waited
// counts there.
func (s *session) moveQueued(a Action) (*queues.Overflow, error) {
	s.record(tickets.CallEvent{Kind: EventTransferMove, Group: s.group, Operator: a.By, Detail: "to group " + a.Group})
	s.c.metrics.transfers.WithLabelValues("move", s.group).Inc()
	s.emit(Event{Kind: EvControl, Result: "move", Group: a.Group, Operator: a.By})
	s.leaveAfter(queues.LeaveOverflow)
	return &queues.Overflow{Action: queues.OverflowGroup, Group: a.Group, Reason: reasonMoved}, nil
}

// checkMove says whether a queued caller can go to a.Group's queue.
func (s *session) checkMove(a Action) error {
	switch {
	case a.Group == "":
		return errNoTarget
	case s.cfg.Group(a.Group) == nil:
		return errUnknownGroup
	case a.Group == s.group:
		return &fault.Error{Code: fault.EINVALID, Message: "the caller is already in that queue"}
	}
	return nil
}

// reasonMoved is the Overflow.Reason of a caller moved by someone.
const reasonMoved = "moved"
