package ivr

import (
	"context"
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// Queues is the operator queue service (package queues) as the controller
// uses it. Without it (Options.Queues nil) a routed call rings all the
// group's phones at once instead.
type Queues interface {
	WaitOffer(ctx context.Context, callID string) (queues.Offer, error)
	Enqueue(ctx context.Context, e queues.Entry) (queues.Enqueued, error)
	Position(ctx context.Context, callID string) (queues.Position, error)
	Answer(ctx context.Context, callID, login string) ([]queues.Event, error)
	NoAnswer(ctx context.Context, callID string, logins ...string) ([]queues.Event, error)
	Leave(ctx context.Context, callID, reason string) ([]queues.Event, error)
	CallEnded(ctx context.Context, login string) error
	// For calls taken over after a restart and for reconciliation.
	Operators(ctx context.Context, group string) ([]queues.Operator, error)
	ReleaseCall(ctx context.Context, login, callID string) (bool, error)
	// For transfers to an operator by name (transfer.go).
	Reserve(ctx context.Context, login, callID, group string) (queues.Operator, error)
	TakeCall(ctx context.Context, login, callID string) error
}

// maxOverflowHops bounds a caller sent from group to group by overflows
// that point at each other.
const maxOverflowHops = 3

func queuePriority(cfg *menu.Config, nodePriority string, role menu.Role, org string) int {
	return cfg.CallerPriority(nodePriority, role, org)
}

// offerWait is one WaitOffer running for a session: it returns on its own
// goroutine, so the session keeps hearing keys and hangups meanwhile.
type offerWait struct {
	cancel  context.CancelFunc
	done    chan struct{}
	offer   queues.Offer
	err     error
	stopped bool // by stop: its news no longer cuts a prompt short
}

func (s *session) startWait() *offerWait {
	ctx, cancel := context.WithCancel(context.Background())
	w := &offerWait{cancel: cancel, done: make(chan struct{})}
	go func() {
		w.offer, w.err = s.c.opts.Queues.WaitOffer(ctx, s.channelID)
		close(w.done)
		s.inbox.push(item{offer: true})
	}()
	s.offerWait = w
	return w
}

func (w *offerWait) ready() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

// stop ends the wait and waits for its goroutine.
func (w *offerWait) stop() {
	w.stopped = true
	w.cancel()
	<-w.done
}

// errRequeue: the operator who answered vanished before the bridge; the
// caller joins the queue again.
var errRequeue = errors.New("operator gone before bridging")

// queue serves a routed call through the group's queue until an operator
// answers, the caller leaves a message or hangs up, or the queue sends the
// caller elsewhere. With resume the caller is already queued (a call taken
// over after a restart keeps its place).
func (s *session) queue(group string, priority int, resume bool) error {
	// The caller leaves the holding bridge before anything that follows
	// the queue: Asterisk refuses to record a bridged channel ("Cannot
	// record channel while in bridge"). A served call is hung up next:
	// deleting the bridge is enough, and saves a request and a wait.
	served := false
	leaveHold := func() {
		if s.hold == nil {
			return
		}
		if served {
			s.deleteBridge(s.hold)
		} else {
			s.leaveBridge(s.hold)
		}
		s.hold, s.holdMusic = nil, false
	}
	defer leaveHold()
	// afterTalk ends a served call; a survey that follows needs the
	// caller out of the bridge, confirmed (leaveHold while not served).
	afterTalk := func() error {
		if !s.surveyDue() {
			served = true
			return nil
		}
		leaveHold()
		return s.survey()
	}
	reuse := resume // a bridge left by the controller that had the call
	// requeued takes the caller to the group an operator transferred
	// them to; stop when that group is closed (the caller was told).
	requeued := func() (stop bool, err error) {
		group = s.requeue
		s.requeue = ""
		sched := s.cfg.GroupSchedule(group)
		if st := sched.StatusAt(s.now()); !st.Open {
			leaveHold()
			return true, s.closed(sched, st, group, "group_closed")
		}
		return false, nil
	}
	for hop := 0; ; hop++ {
		var pos queues.Position
		var over *queues.Overflow
		if !resume {
			ctx, cancel := s.storeCtx()
			if s.queuedSince.IsZero() {
				s.queuedSince = s.now()
			}
			res, err := s.c.opts.Queues.Enqueue(ctx, queues.Entry{CallID: s.channelID, Group: group, Priority: priority,
				Caller: s.caller, TicketID: s.ticket.ID, Since: s.queuedSince})
			cancel()
			if err != nil {
				// The queues live in PostgreSQL: while it is down the
				// group's phones ring all at once, as without queues.
				s.storeFailed("enqueue", err)
				leaveHold()
				answered, err := s.ringGroup(group)
				if err != nil || answered {
					return err
				}
				return s.noOperator(group)
			}
			s.recordQueue(res.Events)
			pos, over = res.Position, res.Overflow
			if offer := res.Offer; offer != nil {
				// An operator was free: their phone rings now, with no
				// music and no place in the queue to tell.
				s.phase = phaseQueue
				s.emit(Event{Kind: EvQueued, Group: group, Position: pos.Position})
				answered, err := s.ringOffer(*offer)
				switch {
				case errors.Is(err, errRequeue):
					continue // the operator left as they answered: queue again
				case err != nil:
					return err
				case answered && s.requeue != "":
					if stop, err := requeued(); stop {
						return err
					}
					continue
				case answered:
					return afterTalk()
				}
				pos = queues.Position{} // at the head again: no announcement now
			}
		}
		resume = false
		if over == nil {
			if s.hold == nil {
				bkey, gone := s.holdBridge(holdBridgeID(s.channelID), reuse)
				if bkey == nil {
					if gone {
						return s.leaveQueue(s.goneNow())
					}
					s.leaveAfter(queues.LeaveOverflow)
					return s.noOperator(group) // no bridge: do not lose the request
				}
				s.hold, s.holdMusic = bkey, true
			} else if !s.holdMusic {
				// In the bridge made for an operator who then left.
				if err := s.c.client.Bridge().MOH(s.hold, "default"); err != nil {
					s.log.Warn("moh_failed", "error", err.Error())
				} else {
					s.holdMusic = true
				}
			}
			var err error
			over, err = s.waitInQueue(group, pos)
			switch {
			case errors.Is(err, errCallback):
				served = true // nothing follows: the bridge just goes
				return nil
			case errors.Is(err, errRequeue):
				continue
			case err != nil:
				return err
			case over == nil && s.requeue != "":
				if stop, err := requeued(); stop {
					return err
				}
				continue
			case over == nil:
				if s.phase == phaseTalking {
					return afterTalk()
				}
				// The caller pressed the break-out key.
				leaveHold()
				return s.message(group, false, nil)
			}
		}
		s.emit(Event{Kind: EvOverflow, Group: over.Group, Reason: over.Reason, Result: string(over.Action)})
		switch over.Action {
		case queues.OverflowGroup:
			if over.Reason == reasonMoved {
				hop-- // someone's choice, not a loop of overflows
			}
			if hop >= maxOverflowHops || s.cfg.Group(over.Group) == nil {
				leaveHold()
				return s.noOperator(group)
			}
			group = over.Group
			s.group = group
			s.updateTicket(tickets.TicketUpdate{Group: &group})
			s.updateCall(tickets.CallUpdate{Group: &group})
			sched := s.cfg.GroupSchedule(group)
			if st := sched.StatusAt(s.now()); !st.Open {
				leaveHold()
				return s.closed(sched, st, group, "group_closed")
			}
		case queues.OverflowHangup:
			leaveHold()
			s.outcome = tickets.OutcomeOverflowed
			intro := "no_operator"
			if over.Reason == queues.OverflowMaxWaiting {
				intro = "queue_full"
			}
			return s.sayAndHangup([]menu.Prompt{s.system(intro), s.system("goodbye")})
		default:
			leaveHold()
			return s.noOperator(group)
		}
	}
}

// waitInQueue holds the caller with music, announces their place, rings
// the operators the queue offers and bridges the one who answers. It
// returns with the call served (phase talking), an overflow to act on, or
// neither when the caller pressed the break-out key.
func (s *session) waitInQueue(group string, pos queues.Position) (*queues.Overflow, error) {
	s.phase = phaseQueue
	q := s.cfg.Group(group).Queue
	every := time.Duration(0)
	if q.AnnounceEvery != nil {
		every = *q.AnnounceEvery
	}
	s.emit(Event{Kind: EvQueued, Group: group, Position: pos.Position})
	w := s.startWait()
	s.actLater = true
	defer func() {
		if w != nil {
			w.stop()
		}
		s.actLater = false
		for _, a := range s.later {
			a.reply(ErrNotNow)
		}
		s.later = nil
	}()
	// A callback is offered after the group's wait (announced then, and
	// in every announcement after), or at once.
	cb := s.callbackOf(group)
	var cbAt time.Time
	cbKey := func() string {
		if cb == nil || s.now().Before(cbAt) {
			return ""
		}
		return cb.Key
	}
	if cb != nil {
		cbAt = s.now().Add(cb.After)
	}
	cbTold := cb != nil && cb.After == 0 && pos.Position > 0
	if pos.Position > 0 {
		if err := s.announce(group, pos, q.BreakOutKey, cbKey(), w.ready); err != nil {
			return nil, s.leaveQueue(err)
		}
	}
	next := s.now().Add(every)
	for {
		if len(s.later) > 0 {
			a := s.later[0]
			s.later = s.later[1:]
			if over, ok := s.queuedAct(a, w); ok {
				w = nil
				return over, nil
			}
			continue
		}
		if w.ready() {
			if w.err != nil {
				s.storeFailed("wait_offer", w.err)
				w = nil
				s.leaveAfter(queues.LeaveOverflow)
				return &queues.Overflow{Action: queues.OverflowMessage, Reason: "queue error"}, nil
			}
			offer := w.offer
			w = nil
			if offer.Overflow != nil {
				s.recordQueue(offer.Events)
				return offer.Overflow, nil
			}
			answered, err := s.ringOffer(offer)
			if err != nil || answered {
				return nil, err
			}
			w = s.startWait()
			continue
		}
		if key := q.BreakOutKey; key != "none" && s.takeKey(key[0]) {
			w.stop()
			w = nil
			s.emit(Event{Kind: EvKeys, Node: "queue", Keys: key})
			s.leaveAfter(queues.LeaveOverflow)
			return nil, nil
		}
		if key := cbKey(); key != "" && s.takeKey(key[0]) {
			s.emit(Event{Kind: EvKeys, Node: "queue", Keys: key})
			number, ok, err := s.askCallbackNumber(cb)
			if err != nil {
				w.stop()
				w = nil
				return nil, s.leaveQueue(err)
			}
			if !ok || w.ready() {
				continue // waiting again; an operator free meanwhile is taken first
			}
			if w.stop(); w.err == nil {
				continue // the offer came as the wait stopped: take it
			}
			if ok, err := s.requestCallback(group, number, cb); ok {
				w = nil
				if err != nil && !errors.Is(err, errHangup) {
					return nil, err
				}
				return nil, errCallback
			}
			w = s.startWait()
			continue
		}
		s.digits = s.digits[:0] // other keys mean nothing while waiting
		d := time.Hour
		if every > 0 {
			d = max(next.Sub(s.now()), 0)
		}
		if cb != nil && !cbTold {
			d = min(d, max(cbAt.Sub(s.now()), 0))
		}
		s.acting = true
		wk, err := s.next(d)
		s.acting = false
		if err != nil {
			w.stop()
			w = nil
			return nil, s.leaveQueue(err)
		}
		if a := wk.act; a != nil {
			if over, ok := s.queuedAct(a, w); ok {
				w = nil
				return over, nil
			}
			continue
		}
		if wk.timeout && cb != nil && !cbTold && !s.now().Before(cbAt) {
			// The wait after which a callback is offered is over: say so.
			cbTold = true
			if err := s.play([]menu.Prompt{s.system("callback_offer")}, true, "digits:"+cb.Key); err != nil {
				w.stop()
				w = nil
				return nil, s.leaveQueue(err)
			}
			continue
		}
		if wk.timeout && every > 0 && !s.now().Before(next) {
			ctx, cancel := s.storeCtx()
			p, err := s.c.opts.Queues.Position(ctx, s.channelID)
			cancel()
			if err == nil {
				if err := s.announce(group, p, q.BreakOutKey, cbKey(), w.ready); err != nil {
					w.stop()
					w = nil
					return nil, s.leaveQueue(err)
				}
			}
			next = s.now().Add(every)
		}
	}
}

// takeKey consumes key if the caller pressed it.
func (s *session) takeKey(key byte) bool {
	for i, d := range s.digits {
		if d == key {
			s.digits = append(s.digits[:i], s.digits[i+1:]...)
			return true
		}
	}
	return false
}

// announce tells a waiting caller their place, the estimated wait and how
// to stop waiting; a key stops it.
//
// An offer stops the prompt playing (play), and offered (the wait for it
// is over) stops the rest: the operator's phone rings at once.
func (s *session) announce(group string, p queues.Position, breakOut, callbackKey string, offered func() bool) error {
	s.emit(Event{Kind: EvPosition, Group: group, Position: p.Position, Seconds: p.EstimatedWait.Seconds()})
	if err := s.play([]menu.Prompt{s.system("queue_position")}, true, "number:"+strconv.Itoa(p.Position)); err != nil || offered() {
		return err
	}
	if p.EstimatedWait > 0 {
		mins := int(math.Ceil(p.EstimatedWait.Minutes()))
		if err := s.play([]menu.Prompt{s.system("queue_wait")}, true, "number:"+strconv.Itoa(mins), "sound:"+menu.SystemSoundName("minutes")); err != nil || offered() {
			return err
		}
	}
	if breakOut != "none" {
		if err := s.play([]menu.Prompt{s.system("queue_breakout")}, true, "digits:"+breakOut); err != nil || offered() {
			return err
		}
	}
	if callbackKey != "" {
		return s.play([]menu.Prompt{s.system("callback_offer")}, true, "digits:"+callbackKey)
	}
	return nil
}

// leaveQueue takes a caller who is gone (or going) out of the queue. A
// call released to another controller stays queued: its new owner goes on
// with it.
func (s *session) leaveQueue(err error) error {
	switch {
	case errors.Is(err, errReleased):
	case errors.Is(err, errShutdown):
		s.leaveAfter(queues.LeaveOverflow)
	default:
		s.leaveAfter(queues.LeaveAbandoned)
		s.outcome = tickets.OutcomeAbandoned
	}
	return err
}

func (s *session) leaveAfter(reason string) {
	ctx, cancel := s.storeCtx()
	defer cancel()
	evs, err := s.c.opts.Queues.Leave(ctx, s.channelID, reason)
	switch {
	case err == nil:
		s.recordQueue(evs)
	case errors.Is(err, fault.ErrNotFound):
		if reason == queues.LeaveAbandoned {
			s.record(tickets.CallEvent{Kind: tickets.EventAbandoned, Group: s.group})
		}
	default:
		s.storeFailed("leave_queue", err)
	}
}

// ringOffer rings the operators of an offer and bridges the first who
// answers. A caller not in the holding bridge hears ringback meanwhile. Operators who do not answer in time, are busy or unreachable
// are reported to the queue (which pauses them); when none is left the
// caller is back at the head of the queue. A caller who hangs up while
// the phones ring withdraws the offer at once.
func (s *session) ringOffer(offer queues.Offer) (bool, error) {
	s.recordQueue(offer.Events)
	if s.hold == nil {
		// Asterisk plays the tone in-band on the answered channel and
		// stops it by itself at the first sound written to it (the
		// operator's voice, music, a prompt).
		if err := s.c.client.Channel().Ring(s.key); err != nil && !isNotFound(err) {
			s.log.Warn("ringback_failed", "error", err.Error())
		}
	}
	legs := map[string]queues.Operator{}
	for _, op := range offer.Operators {
		id, err := s.ringOperator(op.Endpoint, op.Login, offer.Group, offer.RingTimeout)
		if err != nil {
			s.noAnswer(offer, op, "unreachable")
			continue
		}
		legs[id] = op
	}
	hangupLegs := func(except string) {
		for id := range legs {
			if id != except {
				s.hangupChannel(id)
			}
		}
	}
	deadline := s.now().Add(offer.RingTimeout)
	answered := ""
	for answered == "" {
		if len(legs) == 0 {
			return false, nil
		}
		left := deadline.Sub(s.now())
		if left <= 0 {
			hangupLegs("")
			ctx, cancel := s.storeCtx()
			evs, err := s.c.opts.Queues.NoAnswer(ctx, s.channelID)
			cancel()
			if err != nil {
				s.log.Warn("queue_no_answer_failed", "error", err.Error())
			}
			s.recordQueue(evs)
			for _, op := range legs {
				s.emit(Event{Kind: EvNoAnswer, Group: offer.Group, Text: op.Endpoint, Operator: op.Login})
			}
			return false, nil
		}
		w, err := s.next(left)
		if err != nil {
			if !errors.Is(err, errReleased) {
				hangupLegs("") // withdraw every offer at once
			}
			return false, s.leaveQueue(err)
		}
		id := eventChannel(w.ev)
		op, ok := legs[id]
		switch {
		case !ok:
		case isStasisStart(w.ev):
			answered = id
		case isChannelEnd(w.ev):
			delete(legs, id)
			s.noAnswer(offer, op, "rejected")
		}
	}
	op := legs[answered]
	hangupLegs(answered)
	ctx, cancel := s.storeCtx()
	evs, err := s.c.opts.Queues.Answer(ctx, s.channelID, op.Login)
	cancel()
	if err != nil {
		// The call talks anyway: the queue's bookkeeping is second to the
		// caller reaching a person.
		s.log.Error("queue_answer_failed", "operator", op.Login, "error", err.Error())
		s.record(tickets.CallEvent{Kind: tickets.EventAnswered, Group: offer.Group, Operator: op.Login})
	}
	s.recordQueue(evs)
	delete(s.freedOps, op.Login) // (one the call comes back to after a transfer)
	defer s.callEndedFor(op.Login)
	if !s.connect(answered, offer.Group, op.Login) {
		return false, errRequeue
	}
	return true, s.converse(answered, op.Endpoint)
}

func (s *session) noAnswer(offer queues.Offer, op queues.Operator, why string) {
	s.emit(Event{Kind: EvNoAnswer, Group: offer.Group, Text: op.Endpoint, Operator: op.Login, Reason: why})
	ctx, cancel := s.storeCtx()
	evs, err := s.c.opts.Queues.NoAnswer(ctx, cmpStr(s.cbCall, s.channelID), op.Login)
	cancel()
	if err != nil {
		s.log.Warn("queue_no_answer_failed", "operator", op.Login, "error", err.Error())
		return
	}
	for i := range evs {
		evs[i].Detail = why
	}
	s.recordQueue(evs)
}

func (s *session) callEnded(login string) {
	ctx, cancel := s.storeCtx()
	defer cancel()
	if err := s.c.opts.Queues.CallEnded(ctx, login); err != nil {
		s.log.Warn("queue_call_ended_failed", "operator", login, "error", err.Error())
	}
}

// recordQueue adds the queue's steps to the call record, at their times.
func (s *session) recordQueue(evs []queues.Event) {
	for _, e := range evs {
		s.events = append(s.events, tickets.CallEvent{At: e.At, Kind: tickets.EventKind(e.Kind), Group: e.Group,
			Operator: e.Operator, Detail: e.Detail})
	}
}

// queuedAct answers a request on a waiting caller: only a move (or
// transfer) to another group's queue; ok when the caller leaves this one
// (the wait w stopped).
func (s *session) queuedAct(a *actRequest, w *offerWait) (*queues.Overflow, bool) {
	if a.Kind != ActMove && a.Kind != ActTransfer || a.Group == "" {
		a.reply(ErrNotNow)
		return nil, false
	}
	if err := s.checkMove(a.Action); err != nil {
		a.reply(err)
		return nil, false
	}
	w.stop()
	over, err := s.moveQueued(a.Action)
	a.reply(err)
	return over, true
}
