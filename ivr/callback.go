package ivr

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/CyCoreSystems/ari/v5"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// Callbacks (menu.Callback): a queued caller asks to be called back and
// hangs up; the entry keeps its place in the queue. A runner per callback
// waits for its offer as a session would, rings the operator with the
// ticket (the phone and the console show a callback), and once the
// operator answers calls the caller through the configured trunk and
// bridges the two. An attempt that reaches nobody is retried, in the same
// place, after the configured interval; the last one leaves the ticket to
// the group, flagged, with a note.

// CallbackQueues is what callbacks need of the queues beyond Queues
// (*queues.Service has it). Without it no callback is offered.
type CallbackQueues interface {
	RequestCallback(ctx context.Context, callID, number string, notBefore time.Time) ([]queues.Event, error)
	ClaimCallbacks(ctx context.Context) ([]queues.Callback, error)
	CallbackTaken(ctx context.Context, callID, login string) ([]queues.Event, error)
	CallbackDone(ctx context.Context, callID string, res queues.CallbackResult) ([]queues.Event, error)
}

// Call outcome and timeline kinds of callbacks.
const (
	outcomeCallback tickets.Outcome = "callback_requested" // the caller hung up, to be called back in their turn
	// The timeline's kinds are the queue's (queues.EventCallback…).
)

// EvCallback is a step of a callback (Result requested, scheduled,
// offered, calling, answered, no_answer, failed); the runner's events
// carry the id of the call that asked for it (the queue's), so the live
// view and the operator's console find the callback under it.
const EvCallback = "callback"

// errCallback ends the wait in the queue: the caller asked for a callback
// and heard it confirmed.
var errCallback = errors.New("callback requested")

func (c *Controller) callbackQueues() CallbackQueues {
	cq, _ := c.opts.Queues.(CallbackQueues)
	return cq
}

// callbackOf is the group's callback settings when callbacks can be made:
// not for a test call, unless its test phone can be called back.
func (s *session) callbackOf(group string) *menu.Callback {
	if s.c.callbackQueues() == nil || (s.test && !s.c.opts.TestCallbacks) {
		return nil
	}
	return s.cfg.CallbackOf(group)
}

// askCallbackNumber asks which number to call back: the caller id, or
// one keyed in and read back. ok false: back to waiting (nothing usable
// was given).
func (s *session) askCallbackNumber(cb *menu.Callback) (number string, ok bool, err error) {
	own, ownErr := cb.CallbackNumber(s.caller)
	one := menu.Collect{MaxDigits: 1, FirstDigitTimeout: s.cfg.IVR.FirstDigitTimeout}
	switch {
	case ownErr == nil && !cb.OtherNumber:
		return own, true, nil
	case ownErr == nil:
		key, timedOut, err := s.ask([]menu.Prompt{s.system("callback_choose")}, one, true)
		switch {
		case err != nil || timedOut:
			return "", false, err
		case key == "1":
			return own, true, nil
		case key != "2":
			return "", false, s.play([]menu.Prompt{s.system("invalid")}, true)
		}
	case !cb.OtherNumber:
		// The caller id cannot be called and no other number is asked
		// for: say why, and go on waiting.
		return "", false, s.play([]menu.Prompt{s.refusal(ownErr)}, true)
	}
	entry := menu.Collect{MaxDigits: 16, Terminator: "#", FirstDigitTimeout: s.cfg.IVR.FirstDigitTimeout,
		InterDigitTimeout: s.cfg.IVR.InterDigitTimeout}
	for try := 0; try < max(s.cfg.IVR.MaxRetries, 1); try++ {
		keyed, timedOut, err := s.ask([]menu.Prompt{s.system("callback_ask_number")}, entry, true)
		if err != nil {
			return "", false, err
		}
		if timedOut {
			continue
		}
		n, nerr := cb.CallbackNumber(keyed)
		if nerr != nil {
			s.record(tickets.CallEvent{Kind: tickets.EventInvalidInput, Node: "callback", Detail: nerr.Error()})
			if err := s.play([]menu.Prompt{s.refusal(nerr)}, true); err != nil {
				return "", false, err
			}
			continue
		}
		if err := s.play([]menu.Prompt{s.system("callback_read_back")}, true, "digits:"+keyed); err != nil {
			return "", false, err
		}
		key, timedOut, err := s.ask([]menu.Prompt{s.system("callback_confirm")}, one, true)
		switch {
		case err != nil:
			return "", false, err
		case !timedOut && key == "1":
			return n, true, nil
		}
	}
	return "", false, nil
}

func (s *session) refusal(err error) menu.Prompt {
	switch {
	case errors.Is(err, menu.ErrCallbackPremium):
		return s.system("callback_premium")
	case errors.Is(err, menu.ErrCallbackInternational):
		return s.system("callback_international")
	}
	return s.system("callback_invalid")
}

// callbackNotBefore is when a callback asked for now may be made: at
// once (zero), or at the group's next opening when it closes within the
// closing margin or before the estimated wait is over.
func (s *session) callbackNotBefore(group string, cb *menu.Callback) time.Time {
	sched := s.cfg.GroupSchedule(group)
	now := s.now()
	st := sched.StatusAt(now)
	if st.Open && st.Until.IsZero() {
		return time.Time{} // open beyond any horizon
	}
	if st.Open {
		wait := time.Duration(0)
		ctx, cancel := s.storeCtx()
		if p, err := s.c.opts.Queues.Position(ctx, s.channelID); err == nil {
			wait = p.EstimatedWait
		}
		cancel()
		if now.Add(max(cb.ClosingMargin, wait)).Before(st.Until) {
			return time.Time{}
		}
		now = st.Until
	}
	next, ok := sched.NextOpening(now)
	if !ok {
		return time.Time{}
	}
	return next
}

// requestCallback registers the callback and tells the caller. ok false:
// the queue refused it (an operator is being offered the call: the caller
// waits for them).
func (s *session) requestCallback(group, number string, cb *menu.Callback) (bool, error) {
	notBefore := s.callbackNotBefore(group, cb)
	ctx, cancel := s.storeCtx()
	evs, err := s.c.callbackQueues().RequestCallback(ctx, s.channelID, number, notBefore)
	cancel()
	if err != nil {
		if !errors.Is(err, fault.ErrConflict) {
			s.storeFailed("request_callback", err)
		}
		return false, nil
	}
	s.recordQueue(evs)
	if len(s.events) > 0 {
		s.events[len(s.events)-1].Detail += " to " + number
	}
	s.outcome = outcomeCallback
	s.phase = phaseEnding
	res := "requested"
	if !notBefore.IsZero() {
		res = "scheduled"
	}
	s.emit(Event{Kind: EvCallback, Group: group, Result: res, Caller: number, Ticket: string(s.ticket.Number)})
	if s.test {
		s.c.mu.Lock()
		s.c.testCallbacks[s.channelID] = true
		s.c.mu.Unlock()
	}
	// The runner starts once the caller has heard the confirmation: the
	// operator's phone must not ring while the caller is still here.
	defer s.c.startCallback(queues.Callback{CallID: s.channelID, Group: group, Number: number, TicketID: s.ticket.ID,
		RequestedAt: s.now()})
	if notBefore.IsZero() {
		return true, s.play([]menu.Prompt{s.system("callback_confirmed"), s.system("goodbye")}, false)
	}
	next := notBefore.In(s.cfg.Location())
	extra := append(dateMedia(next), "sound:"+menu.SystemSoundName("at_hour"))
	extra = append(extra, timeMedia(next)...)
	extra = append(extra, "sound:"+menu.SystemSoundName("goodbye"))
	return true, s.play([]menu.Prompt{s.system("callback_scheduled")}, false, extra...)
}

// callbackRuns is how often the controller looks for callbacks nobody
// runs (its own after a restart, those of an instance gone).
const callbackRuns = time.Minute

// startCallbacks starts, once, the loop that runs the callbacks of the
// queues (their place kept in the database across restarts).
func (c *Controller) startCallbacks(ctx context.Context) {
	if c.callbackQueues() == nil {
		return
	}
	c.callbacksOnce.Do(func() {
		c.callbackCtx = ctx
		go func() {
			for {
				sctx, cancel := context.WithTimeout(ctx, c.opts.StoreTimeout)
				cbs, err := c.callbackQueues().ClaimCallbacks(sctx)
				cancel()
				if err != nil && ctx.Err() == nil {
					c.log.Warn("claim_callbacks_failed", "error", err.Error())
				}
				for _, cb := range cbs {
					c.startCallback(cb)
				}
				t := c.clock.NewTimer(callbackRuns)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
		}()
	})
}

// startCallback runs a callback unless it runs already.
func (c *Controller) startCallback(cb queues.Callback) {
	c.mu.Lock()
	ctx := c.callbackCtx
	if ctx == nil || c.callbacks[cb.CallID] {
		c.mu.Unlock()
		return
	}
	c.callbacks[cb.CallID] = true
	c.mu.Unlock()
	go func() {
		defer func() {
			c.mu.Lock()
			delete(c.callbacks, cb.CallID)
			delete(c.testCallbacks, cb.CallID)
			c.mu.Unlock()
		}()
		c.runCallback(ctx, cb)
	}()
}

// runCallback waits for the callback's turn and makes it, again after
// each attempt that reached nobody, until it is answered or failed.
func (c *Controller) runCallback(ctx context.Context, cb queues.Callback) {
	log := c.log.With("call_id", cb.CallID)
	for ctx.Err() == nil && !c.released.Load() {
		offer, err := c.opts.Queues.WaitOffer(ctx, cb.CallID)
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, fault.ErrNotFound) {
				log.Warn("callback_wait_failed", "error", err.Error())
				t := c.clock.NewTimer(5 * time.Second)
				select {
				case <-ctx.Done():
				case <-t.C:
				}
				continue
			}
			return // made, failed or gone
		}
		if offer.Overflow != nil || offer.Callback == "" {
			return // not a callback any more
		}
		if done := c.attemptCallback(ctx, cb, offer); done {
			return
		}
	}
}

// attemptCallback makes one attempt of a callback offered to operators;
// done when no other follows.
func (c *Controller) attemptCallback(ctx context.Context, cb queues.Callback, offer queues.Offer) (done bool) {
	cfg := c.opts.Config()
	set := cfg.CallbackOf(offer.Group)
	if set == nil {
		// The group no longer offers callbacks: the one asked is still
		// made, with the settings of any group that does, else it fails.
		for _, g := range cfg.Groups {
			if g != nil && g.Callback.Enabled {
				set = &g.Callback
				break
			}
		}
	}
	legID := c.nextID("cb")
	s := newSession(c, ari.ChannelData{ID: legID, Caller: &ari.CallerID{Number: offer.Callback}}, c.opts.Node, "")
	s.cfg, s.caller, s.group, s.phase, s.cbCall = cfg, offer.Callback, offer.Group, phaseQueue, cb.CallID
	c.mu.Lock()
	s.test = c.testCallbacks[cb.CallID]
	c.mu.Unlock()
	s.log = s.log.With("call_id", cb.CallID)
	c.register(s, ari.ChannelKey, legID)
	c.register(s, callKind, cb.CallID)
	defer c.forget(s)
	sctx, cancel := s.storeCtx()
	if call, err := c.opts.Store.FindCallByChannel(sctx, cb.CallID); err == nil {
		s.call = call
	} else {
		s.log.Warn("callback_call_not_found", "error", err.Error())
	}
	if id := cmp.Or(cb.TicketID, s.call.TicketID); id != 0 {
		if t, err := c.opts.Store.FindTicketByID(sctx, id, tickets.Viewer{Kind: tickets.ViewerSystem}); err == nil {
			s.ticket = t
		} else {
			s.log.Warn("callback_ticket_not_found", "ticket_id", id, "error", err.Error())
		}
	}
	cancel()
	s.org = s.ticket.Organization
	s.nav = menu.NewNavigator(cfg, menu.Caller{Number: s.caller, Organization: s.org}, cmpStr(s.ticket.Language, cfg.IVR.Language))
	defer s.flush()
	s.emit(Event{Kind: EvCall, Caller: s.caller, Org: s.org})
	s.emit(Event{Kind: EvTicket, Ticket: string(s.ticket.Number)})
	s.emit(Event{Kind: EvCallback, Group: offer.Group, Result: "offered", Ticket: string(s.ticket.Number)})
	defer s.emit(Event{Kind: EvHangup, By: string(tickets.HangupSystem)})
	if set == nil {
		s.recordQueue(offer.Events)
		lctx, lcancel := s.storeCtx()
		evs, err := c.opts.Queues.Leave(lctx, cb.CallID, queues.LeaveOverflow)
		lcancel()
		if err != nil {
			s.log.Warn("leave_queue_failed", "error", err.Error())
		}
		s.recordQueue(evs)
		s.callbackFailed(offer, "callbacks no longer configured")
		return true
	}
	defer c.leaseCallback(cb.CallID, s.node)()
	opLeg, op, ok := s.ringCallbackOperators(offer)
	if !ok {
		return false // the callback waits for the next operator, in its place
	}
	qctx, qcancel := s.storeCtx()
	evs, err := c.callbackQueues().CallbackTaken(qctx, cb.CallID, op.Login)
	qcancel()
	if err != nil {
		log := s.log.With("operator", op.Login)
		log.Warn("callback_take_failed", "error", err.Error())
		s.hangupChannel(opLeg)
		s.callEndedIfOnCall(op.Login)
		return false
	}
	s.recordQueue(evs)
	defer s.callEnded(op.Login)
	bkey, gone := s.callbackBridge(legID, opLeg)
	if bkey == nil {
		s.hangupChannel(opLeg)
		detail := "no bridge"
		if gone {
			detail = "operator hung up"
		}
		return s.callbackResult(cb, offer, op.Login, false, detail, set)
	}
	defer s.deleteBridge(bkey)
	// The operator hears ringing while the caller's phone rings.
	if err := c.client.Channel().Ring(ari.NewKey(ari.ChannelKey, opLeg)); err != nil && !isNotFound(err) {
		s.log.Warn("ringback_failed", "error", err.Error())
	}
	s.emit(Event{Kind: EvCallback, Group: offer.Group, Operator: op.Login, Result: "calling", Caller: s.caller})
	answered, why := s.dialCallback(set, cfg, opLeg)
	if !answered {
		s.hangupChannel(opLeg)
		return s.callbackResult(cb, offer, op.Login, false, why, set)
	}
	s.callbackResult(cb, offer, op.Login, true, "", set)
	// The caller hears who calls, then meets the operator.
	if err := s.play([]menu.Prompt{s.system("callback_greeting")}, false); err != nil {
		s.hangupChannel(opLeg)
		return true
	}
	if err := c.client.Bridge().AddChannel(bkey, legID); err != nil {
		s.log.Warn("bridge_caller_failed", "error", err.Error())
		s.hangupChannel(opLeg)
		s.hangupChannel(legID)
		return true
	}
	s.phase = phaseTalking
	s.talkGroup, s.talkOperator = offer.Group, op.Login
	s.emit(Event{Kind: EvAnswered, Group: offer.Group, Operator: op.Login, Ticket: string(s.ticket.Number)})
	inProgress := tickets.StatusInProgress
	s.record(tickets.CallEvent{Kind: tickets.EventAnswered, Group: offer.Group, Operator: op.Login, Detail: "callback"})
	s.updateTicket(tickets.TicketUpdate{Assignee: &op.Login, Status: &inProgress})
	s.flush() // the timeline says so while they talk
	if err := s.talk(opLeg); err == nil {
		s.hangupChannel(legID) // the operator ended the conversation
	}
	s.record(tickets.CallEvent{Kind: tickets.EventHangup, Detail: "callback ended by " + string(cmpStr(s.hangupBy, tickets.HangupOperator))})
	return true
}

// callEndedIfOnCall frees an operator left on call by a callback that
// could not be taken (CallEnded refuses one not on call).
func (s *session) callEndedIfOnCall(login string) {
	ctx, cancel := s.storeCtx()
	defer cancel()
	_ = s.c.opts.Queues.CallEnded(ctx, login)
}

// ringCallbackOperators rings the operators offered a callback, with the
// ticket, and returns the leg of the one who answered; ok false when
// nobody did (they are reported, the callback waits for the next offer).
func (s *session) ringCallbackOperators(offer queues.Offer) (string, queues.Operator, bool) {
	s.recordQueue(offer.Events)
	legs := map[string]queues.Operator{}
	for _, op := range offer.Operators {
		id, err := s.ringOperator(op.Endpoint, op.Login, offer.Group, offer.RingTimeout)
		if err != nil {
			s.noAnswer(offer, op, "unreachable")
			continue
		}
		legs[id] = op
	}
	deadline := s.now().Add(offer.RingTimeout)
	for len(legs) > 0 {
		left := deadline.Sub(s.now())
		if left <= 0 {
			for id := range legs {
				s.hangupChannel(id)
			}
			ctx, cancel := s.storeCtx()
			evs, err := s.c.opts.Queues.NoAnswer(ctx, offer.CallID)
			cancel()
			if err != nil {
				s.log.Warn("queue_no_answer_failed", "error", err.Error())
			}
			s.recordQueue(evs)
			return "", queues.Operator{}, false
		}
		w, err := s.next(left)
		if err != nil {
			for id := range legs {
				s.hangupChannel(id)
			}
			return "", queues.Operator{}, false
		}
		id := eventChannel(w.ev)
		op, ok := legs[id]
		switch {
		case !ok:
		case isStasisStart(w.ev):
			for other := range legs {
				if other != id {
					s.hangupChannel(other)
				}
			}
			return id, op, true
		case isChannelEnd(w.ev):
			delete(legs, id)
			s.noAnswer(offer, op, "rejected")
		}
	}
	return "", queues.Operator{}, false
}

// callbackBridge makes the bridge of a callback with the operator in it.
func (s *session) callbackBridge(legID, opLeg string) (*ari.Key, bool) {
	id := "cbb-" + legID
	bkey := s.key.New(ari.BridgeKey, id)
	s.c.register(s, ari.BridgeKey, id)
	if _, err := s.c.client.Bridge().Create(bkey, "mixing", id); err != nil {
		s.log.Error("bridge_create_failed", "error", err.Error())
		return nil, false
	}
	if err := s.c.client.Bridge().AddChannel(bkey, opLeg); err != nil {
		s.deleteBridge(bkey)
		return nil, isNotFound(err)
	}
	return bkey, false
}

// dialCallback calls the caller back and waits for the answer; why says
// what happened otherwise (no answer, busy, unreachable, the operator
// hung up).
func (s *session) dialCallback(set *menu.Callback, cfg *menu.Config, opLeg string) (bool, string) {
	callerID, err := menu.NormalizeNumber(set.CallerID)
	if err != nil {
		callerID = set.CallerID
	}
	req := ari.OriginateRequest{
		Endpoint: set.Dial(s.caller), App: s.c.opts.App, AppArgs: "callback," + s.channelID, ChannelID: s.channelID,
		CallerID: callerID, Timeout: max(int(set.RingTimeout/time.Second), 1),
		Variables: map[string]string{"IVR_TICKET": string(s.ticket.Number), "IVR_CALLBACK": "1"},
	}
	if set.DetectVoicemail {
		// The answered call goes through AMD() in the dialplan first, which
		// hands it to the application with its verdict.
		req.Context, req.Extension, req.Priority = set.AMDContext, "s", 1
		req.Variables["IVR_APP"], req.Variables["IVR_ARGS"] = req.App, req.AppArgs
		req.App, req.AppArgs = "", ""
	}
	_, err = s.c.client.Channel().Originate(s.origin(), req)
	if err != nil {
		s.log.Warn("originate_failed", "endpoint", set.Dial(s.caller), "error", err.Error())
		return false, "unreachable: " + err.Error()
	}
	deadline := s.now().Add(set.RingTimeout + 5*time.Second)
	if set.DetectVoicemail {
		deadline = deadline.Add(amdMaxTime)
	}
	for {
		left := deadline.Sub(s.now())
		if left <= 0 {
			s.hangupChannel(s.channelID)
			return false, "no answer"
		}
		// The caller's leg is the session's channel: its end comes back
		// as errHangup.
		w, err := s.next(left)
		if errors.Is(err, errHangup) {
			s.hungUp = false // not a hangup of a call in progress: an attempt that failed
			return false, s.dialFailure()
		}
		if err != nil {
			s.hangupChannel(s.channelID)
			return false, err.Error()
		}
		switch id := eventChannel(w.ev); {
		case id == s.channelID && isStasisStart(w.ev):
			if machine, cause := amdVerdict(w.ev); machine {
				s.log.Info("callback_voicemail", "amd_cause", cause)
				s.hangupChannel(s.channelID)
				return false, "voicemail (" + cause + ")"
			}
			return true, ""
		case id == opLeg && isChannelEnd(w.ev):
			s.hangupChannel(s.channelID)
			return false, "operator hung up"
		}
	}
}

// amdMaxTime bounds AMD() (total_analysis_time in the shipped amd.conf,
// 5 s, with room): the answered call reaches the application after it.
const amdMaxTime = 8 * time.Second

// amdVerdict reads AMD()'s verdict from the arguments the dialplan gave
// Stasis() after the application's own (callback, call): machine only for
// MACHINE; NOTSURE (e.g. a silent line) and HUMAN meet the operator, as
// hanging up on a person is worse than an operator hearing a voicemail.
func amdVerdict(ev ari.Event) (machine bool, cause string) {
	start, ok := ev.(*ari.StasisStart)
	if !ok || len(start.Args) < 3 {
		return false, ""
	}
	cause = start.Args[2]
	if len(start.Args) > 3 && start.Args[3] != "" {
		cause += " " + start.Args[3]
	}
	return start.Args[2] == "MACHINE", cause
}

// dialFailure names why the call to the caller ended before an answer,
// by the hangup cause (Q.850).
func (s *session) dialFailure() string {
	switch s.lastCause {
	case 17:
		return "busy"
	case 18, 19, 21:
		return "no answer"
	case 0, 16:
		return "no answer"
	}
	return "unreachable (cause " + strconv.Itoa(s.lastCause) + ")"
}

// callbackResult reports an attempt to the queue and the ticket; done
// when no attempt follows.
func (s *session) callbackResult(cb queues.Callback, offer queues.Offer, login string, answered bool, why string, set *menu.Callback) bool {
	res := queues.CallbackResult{Answered: answered, Operator: login, Detail: why}
	last := set == nil || offer.CallbackTries >= set.RetryCount()
	if !answered && !last {
		res.RetryAt = s.now().Add(set.RetryInterval)
		sched := s.cfg.GroupSchedule(offer.Group)
		if !sched.IsOpen(res.RetryAt) {
			if next, ok := sched.NextOpening(res.RetryAt); ok {
				res.RetryAt = next
			}
		}
	}
	ctx, cancel := s.storeCtx()
	evs, err := s.c.callbackQueues().CallbackDone(ctx, cb.CallID, res)
	cancel()
	if err != nil {
		s.log.Warn("callback_done_failed", "error", err.Error())
		if login == "" {
			return true
		}
	}
	s.recordQueue(evs)
	result := "answered"
	switch {
	case answered:
	case res.RetryAt.IsZero():
		result = "failed"
	default:
		result = "no_answer"
	}
	s.emit(Event{Kind: EvCallback, Group: offer.Group, Operator: login, Result: result, Reason: why})
	if result != "failed" {
		return answered
	}
	s.callbackFailed(offer, why)
	return true
}

// callbackFailed gives the group the request as a task: the ticket stays
// open, to the group, raised to high priority, with a note saying why.
func (s *session) callbackFailed(offer queues.Offer, why string) {
	s.record(tickets.CallEvent{Kind: queues.EventCallbackFailed, Group: offer.Group, Detail: why})
	tries := offer.CallbackTries + 1
	note := fmt.Sprintf("Richiamata non riuscita al numero %s dopo %d tentativi (ultimo esito: %s): ricontattare il richiedente.",
		s.caller, tries, why)
	group, none, high, open := offer.Group, "", tickets.PriorityHigh, tickets.StatusNew
	s.updateTicket(tickets.TicketUpdate{Group: &group, Assignee: &none, Priority: &high, Status: &open})
	if st, ok := s.c.opts.Store.(articleAdder); ok && s.ticket.ID != 0 {
		actx, acancel := s.storeCtx()
		if _, err := st.AddArticle(actx, s.ticket.ID, tickets.Article{Internal: true, Body: note},
			tickets.Actor{Kind: tickets.ActorSystem, ID: "ivr"}); err != nil {
			s.storeFailed("add_article", err)
		}
		acancel()
	}
}

// articleAdder adds notes to tickets (tickets.Store).
type articleAdder interface {
	AddArticle(ctx context.Context, ticketID int64, art tickets.Article, actor tickets.Actor) (tickets.Article, error)
}
