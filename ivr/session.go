package ivr

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/CyCoreSystems/ari/v5"

	"github.com/helpdesk-ivr/ivr/hours"
	"github.com/helpdesk-ivr/ivr/internal/clock"
	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// errHangup ends a session's flow: the channel is gone.
var errHangup = errors.New("caller hung up")

// errReleased ends a session whose call another controller took over.
var errReleased = errors.New("call released to another controller")

// errShutdown ends a session because ivrd is stopping.
var errShutdown = errors.New("ivrd is shutting down")

// phase says where a call is, so a hangup gets the right outcome.
type phase string

const (
	phaseStart   phase = "start"
	phaseMenu    phase = "menu"
	phasePIN     phase = "pin"
	phaseClosed  phase = "closed"
	phaseQueue   phase = "queue"
	phaseTalking phase = "talking"
	phaseMessage phase = "message"
	phaseStatus  phase = "status"
	phaseEnding  phase = "ending"
	phaseSurvey  phase = "survey"
)

// resyncEvery is how long a session waits on a playback or a recording
// without news before asking Asterisk directly, in case its events were
// lost with the event socket.
const resyncEvery = 15 * time.Second

type session struct {
	c         *Controller
	cfg       *menu.Config
	channelID string
	key       *ari.Key
	ch        ari.ChannelData
	node      string
	leasedAt  time.Time   // when the call's lease was taken (Options.Leases)
	unleased  bool        // served without a lease (the database was down): leased later
	test      bool        // a test call (TestArg)
	args      []string    // the Stasis arguments
	clock     clock.Clock // the controller's, or the call's own (Options.CallClock)
	log       *slog.Logger
	inbox     inbox
	routeKeys []string

	digits []byte // keys pressed and not yet consumed (type-ahead)
	// terminated: the last entry collected ended with its terminator.
	terminated bool
	keyAt      time.Time // wall time of the last key, for latency metrics
	hungUp     bool
	released   bool
	shutdown   bool
	started    time.Time
	// answeredAt is when the IVR answered, for the call record.
	answeredAt time.Time
	// arrived is the wall time the call reached the controller, until its
	// first prompt (zero for a call taken over).
	arrived  time.Time
	hangupBy tickets.HangupBy

	caller  string // E.164
	org     string
	role    menu.Role
	nav     *menu.Navigator
	call    tickets.Call
	ticket  tickets.Ticket
	events  []tickets.CallEvent
	phase   phase
	outcome tickets.Outcome
	group   string
	// category is the one the caller's menu choice names ("": none; the
	// group's default then applies).
	category string
	// hold is the bridge holding the caller in a queue (holdBridgeID), nil
	// while the caller is not in it: a caller whose operator rings at
	// once hears ringback and meets the operator in a bridge made then.
	hold        *ari.Key
	holdMusic   bool // the hold bridge plays music on hold
	closeTicket bool
	// talkGroup and talkOperator are the group and operator of the
	// conversation, for the survey that may follow it.
	talkGroup, talkOperator string

	// What could not be written while the store was down; finish hands
	// it to the spool.
	pendTicket *tickets.TicketUpdate
	pendCall   *tickets.CallUpdate
	pendAttach []tickets.Attachment
	pendSurvey *tickets.Survey
	storeDown  bool      // logged once per call
	saved      string    // the checkpoint kept in Asterisk (resumeVar)
	lang       string    // the caller's language once chosen (language.go)
	cut        string    // why the call ended when not by a person
	sawEnd     bool      // the end came as an event, not found by asking
	epoch      time.Time // Asterisk's startup time when the call began
	endedAt    time.Time // when the caller or the operator hung up
	// cbCall is, for a callback's session (callback.go), the id of the
	// call that asked for it: the queue's id; lastCause the Q.850 cause
	// of the channel's end.
	cbCall    string
	lastCause int
	// offerWait is the queue's wait last started (queue.go).
	offerWait *offerWait
	// acting is set by the steps that take the panel's requests (wake.act);
	// the others answer them ErrNotNow. ended is closed when the session
	// is over, for requests still on their way (control.go).
	acting bool
	ended  chan struct{}
	// rec is the conversation's recording (recordcall.go).
	rec callRecording
	// talking is the conversation in progress, for supervisors
	// (supervise.go); nil outside one.
	talking atomic.Pointer[talkLeg]
	// actLater keeps the requests that come while acting is off in later,
	// for the step to take when it can (a queued caller's announcements).
	actLater bool
	later    []*actRequest
	// requeue is the group an operator transferred the caller to: the
	// queue loop takes the caller there (transfer.go). queuedSince is when
	// the caller first joined a queue: the time waited counts in the next.
	requeue     string
	queuedSince time.Time
	// freedOps are the operators whose part of the call is over (transfer.go).
	freedOps map[string]bool
	// opAnswered: an operator answered once; who answers after a transfer
	// does not move the call's answer time (its wait, the reports' ASA).
	opAnswered bool
	// handedOver: the call passed from one party to another (a transfer, a
	// consultation): each one's time with it is recorded (EventHandled).
	handedOver bool
}

// newSession makes the session of channel ch. asterisk is the entity id
// of the Asterisk the channel is on (its events' asterisk_id): the call's
// key carries it, and so does every resource made for the call from that
// key, because ari-proxy sends a creation without a node to any Asterisk.
func newSession(c *Controller, ch ari.ChannelData, node, asterisk string) *session {
	return &session{
		c: c, cfg: c.opts.Config(), channelID: ch.ID, ch: ch, node: node,
		key:   ari.NewKey(ari.ChannelKey, ch.ID, ari.WithNode(asterisk), ari.WithApp(c.opts.App)),
		log:   c.log.With("channel_id", ch.ID),
		inbox: newInbox(), ended: make(chan struct{}), phase: phaseStart, role: menu.RoleUnknown, epoch: c.asteriskEpoch(),
		clock: c.clock,
	}
}

func (s *session) now() time.Time { return s.clock.Now() }

// origin is the reference key of channels originated for the call: it names
// only the call's Asterisk (no channel, so the new one gets no originator).
func (s *session) origin() *ari.Key { return ari.NodeKey(s.key.App, s.key.Node) }

// pinNode puts a call that had no Asterisk yet (a callback: the operator
// is rung first) on the one its first channel went to, so that its bridge
// and the caller's leg follow it there.
func (s *session) pinNode(k *ari.Key) {
	if s.key.Node == "" && k != nil && k.Node != "" {
		key := *s.key
		key.Node = k.Node
		s.key = &key
	}
}

func (s *session) emit(e Event) {
	e.Time = s.now()
	// A callback's steps are those of the call that asked for it: the
	// operator's console finds it by the queue's id.
	e.CallID = cmpStr(s.cbCall, s.channelID)
	e.Test = s.test
	s.c.observe(e)
}

func (s *session) record(ev tickets.CallEvent) {
	ev.At = s.now()
	s.events = append(s.events, ev)
}

// run is the whole life of one call.
func (s *session) run(ctx context.Context, resumed bool) {
	defer s.finish()
	defer func() {
		if r := recover(); r != nil {
			// A bug must not leave the caller in silence: end the call
			// cleanly and keep the record.
			s.log.Error("call_panic", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			s.outcome = tickets.OutcomeFailed
		}
	}()
	var err error
	s.caller, err = menu.NormalizeNumber(s.ch.Caller.Number)
	if err != nil && !errors.Is(err, menu.ErrNoCallerNumber) {
		s.log.Info("caller_number_unusable", "error", err.Error())
	}
	if o := s.cfg.OrganizationByCaller(s.caller); o != nil {
		s.org = o.ID
	}
	s.emit(Event{Kind: EvCall, Caller: s.caller, Org: s.org, Entry: s.ch.Dialplan.Exten, Args: s.args, Version: s.cfg.Version()})
	if s.epoch.IsZero() {
		// A call in the first instant after connecting, before Reconcile
		// learnt when Asterisk started.
		s.epoch = s.c.learnEpoch(s.origin())
	}
	if s.ch.State != "Up" {
		// (The dialplan answers the help desk's number before Stasis.)
		if err := s.c.client.Channel().Answer(s.key); err != nil {
			if isNotFound(err) {
				s.hungUp, s.hangupBy = true, tickets.HangupCaller
			} else {
				s.log.Error("answer_failed", "error", err.Error())
				s.outcome = tickets.OutcomeFailed
			}
		}
	}
	s.open(resumed)
	if s.hungUp || s.outcome == tickets.OutcomeFailed {
		return
	}
	err = s.serve(resumed)
	if err != nil && !errors.Is(err, errHangup) && !errors.Is(err, errReleased) && !errors.Is(err, errShutdown) {
		s.log.Error("call_failed", "error", err.Error())
		s.outcome = tickets.OutcomeFailed
	}
}

// open creates (or, for a resumed call, finds) the call record and ticket.
func (s *session) open(resumed bool) {
	sctx, cancel := s.storeCtx()
	defer cancel()
	if resumed {
		if call, err := s.c.opts.Store.FindCallByChannel(sctx, s.channelID); err == nil {
			s.call = call
			if t, err := s.findTicket(sctx); err == nil {
				s.ticket = t
			}
			s.record(tickets.CallEvent{Kind: tickets.EventEntered, Detail: "resumed after a lost connection"})
			s.emit(Event{Kind: EvResumed, Ticket: string(s.ticket.Number)})
			return
		}
	}
	s.started = s.now()
	now := s.started
	s.record(tickets.CallEvent{Kind: tickets.EventEntered, Detail: s.ch.Dialplan.Exten})
	if !s.hungUp && s.outcome != tickets.OutcomeFailed {
		s.answeredAt = now
	}
	if !s.openRecord(sctx) {
		// The caller is still served; finish tries again, so that a store
		// back by then still gets the record.
		if !s.answeredAt.IsZero() {
			answered := s.answeredAt
			s.pendCall = mergeCallUpdate(s.pendCall, tickets.CallUpdate{AnsweredAt: &answered})
		}
		return
	}
	s.emit(Event{Kind: EvTicket, Ticket: string(s.ticket.Number)})
}

func (s *session) newCall() tickets.NewCall {
	return tickets.NewCall{
		ChannelID: s.channelID, AsteriskNode: s.node, Caller: s.caller, Called: s.ch.Dialplan.Exten,
		StartedAt: s.started, Source: tickets.SourcePhone, Priority: tickets.PriorityMedium,
		Subject: "Chiamata da " + cmpStr(s.caller, "numero riservato"), Organization: s.org,
		CallerRole: tickets.CallerUnknown, Language: cmpStr(s.lang, s.startLanguage()),
	}
}

// writePending writes what waited for the call record (opened late).
func (s *session) writePending() {
	if upd := s.pendTicket; upd != nil {
		s.pendTicket = nil
		s.updateTicket(*upd)
	}
	if upd := s.pendCall; upd != nil {
		s.pendCall = nil
		s.updateCall(*upd)
	}
	attach := s.pendAttach
	s.pendAttach = nil
	for _, a := range attach {
		s.attach(a)
	}
	if sv := s.pendSurvey; sv != nil {
		s.pendSurvey = nil
		s.saveSurvey(*sv)
	}
}

// openRecord creates the call record and its ticket.
func (s *session) openRecord(ctx context.Context) bool {
	nc := s.newCall()
	// The answer and the first events go in with the record: one write.
	nc.AnsweredAt, nc.Events = s.answeredAt, s.events
	call, t, err := s.c.opts.Store.OpenCall(ctx, nc)
	if err != nil {
		s.storeFailed("open_call", err)
		return false
	}
	s.events = s.events[:0]
	s.call, s.ticket = call, t
	s.log = s.log.With("ticket", string(t.Number))
	return true
}

func (s *session) findTicket(ctx context.Context) (tickets.Ticket, error) {
	id := cmp.Or(s.ticket.ID, s.call.TicketID)
	if id == 0 {
		return tickets.Ticket{}, errors.New("no ticket")
	}
	return s.c.opts.Store.FindTicketByID(ctx, id, tickets.Viewer{Kind: tickets.ViewerSystem})
}

func (s *session) storeCtx() (context.Context, context.CancelFunc) {
	// Writes must land even after the caller hung up.
	return context.WithTimeout(context.Background(), s.c.opts.StoreTimeout)
}

// serve runs the hours check and the menu.
func (s *session) serve(resumed bool) error {
	sched := s.cfg.ServiceSchedule()
	now := s.now()
	st := sched.StatusAt(now)
	open := st.Open
	s.record(tickets.CallEvent{Kind: tickets.EventHoursCheck, Detail: describeHours(st)})
	s.emit(Event{Kind: EvHours, Open: &open, Reason: describeHours(st)})
	lang, err := s.chooseLanguage(resumed)
	if err != nil {
		return err
	}
	s.nav = menu.NewNavigator(s.cfg, menu.Caller{Number: s.caller, Organization: s.org}, lang)
	if resumed {
		return s.resume()
	}
	if !st.Open {
		return s.closed(sched, st, "", "")
	}
	return s.menu(s.nav.Start())
}

// stillQueued reports the group whose queue holds the call, for a call
// taken over from a controller that stopped.
func (s *session) stillQueued() (string, bool) {
	if s.c.opts.Queues == nil {
		return "", false
	}
	ctx, cancel := s.storeCtx()
	defer cancel()
	p, err := s.c.opts.Queues.Position(ctx, s.channelID)
	if err != nil || s.cfg.Group(p.Group) == nil {
		return "", false
	}
	return p.Group, true
}

func (s *session) menu(act menu.Action) error {
	for {
		switch act.Step {
		case menu.StepMenu:
			s.phase = phaseMenu
			s.checkpoint(resumeMenu, nil)
			before := len(s.nav.Path())
			keys, timedOut, err := s.ask(act.Prompts, act.Collect, true)
			if err != nil {
				return err
			}
			if timedOut {
				s.emit(Event{Kind: EvTimeout, Node: act.Node})
				act = s.nav.Feed(menu.Input{Kind: menu.InputTimeout})
			} else {
				s.emit(Event{Kind: EvKeys, Node: act.Node, Keys: keys, Terminated: s.terminated})
				act = s.nav.Feed(menu.Input{Kind: menu.InputDigits, Digits: keys})
			}
			if path := s.nav.Path(); len(path) > before {
				step := path[len(path)-1]
				s.c.metrics.selections.WithLabelValues(step.Node).Inc()
				s.record(tickets.CallEvent{Kind: tickets.EventMenuSelection, Node: step.Node, Key: step.Key, Label: step.Label})
			} else if !timedOut && act.Step == menu.StepMenu && len(act.Prompts) > 1 {
				s.record(tickets.CallEvent{Kind: tickets.EventInvalidInput, Node: act.Node})
			}
		case menu.StepPIN:
			s.phase = phasePIN
			s.checkpoint(resumeMenu, nil)
			var err error
			if act, err = s.pin(act); err != nil {
				return err
			}
		case menu.StepRoute:
			s.category = act.Category
			return s.route(act)
		case menu.StepMessage:
			s.category = act.Category
			return s.message(act.Group, false, act.Prompts)
		case menu.StepStatus:
			return s.status(act)
		default: // menu.StepHangup
			s.outcome = outcomeFor(act.Reason)
			s.updateTicketFromMenu("")
			s.closeTicket = true
			return s.sayAndHangup(act.Prompts)
		}
	}
}

func outcomeFor(reason string) tickets.Outcome {
	switch reason {
	case menu.ReasonInvalidInput:
		return tickets.OutcomeInvalidInput
	case menu.ReasonPINLocked:
		return tickets.OutcomePINLocked
	}
	return tickets.OutcomeHungUpInMenu
}

// updateTicketFromMenu writes what the menu learnt into the ticket.
func (s *session) updateTicketFromMenu(priority string) {
	s.updateTicket(s.ticketUpdateFromMenu(priority))
}

// ticketCategory is the category the ticket gets from the call routed to
// group: the menu choice's, or else the group's default; "" when it has
// one already (an operator may have set it on a resumed call's ticket).
func (s *session) ticketCategory(group string) string {
	if s.ticket.Category != "" {
		return ""
	}
	return cmp.Or(s.category, s.cfg.GroupCategory(group))
}

// ticketUpdateFromMenu is what the menu so far says of the ticket: path,
// Administration, role, group, priority and subject.
func (s *session) ticketUpdateFromMenu(priority string) tickets.TicketUpdate {
	path := []tickets.MenuStep{}
	labels := []string{}
	if s.nav != nil {
		for _, p := range s.nav.Path() {
			path = append(path, tickets.MenuStep{Key: p.Key, Label: p.Label})
			labels = append(labels, p.Label)
		}
		s.org, s.role = s.nav.Identity()
	}
	role := tickets.CallerRole(s.role)
	upd := tickets.TicketUpdate{MenuPath: &path, Organization: &s.org, CallerRole: &role}
	if s.group != "" {
		upd.Group = &s.group
	} else if g := s.cfg.DefaultGroup(s.org); g != "" && s.ticket.Group == "" {
		// No choice sent the call to a group: the ticket still needs one
		// that some operator sees.
		upd.Group = &g
	}
	if priority != "" {
		p := tickets.Priority(priority)
		upd.Priority = &p
	}
	if cat := s.ticketCategory(s.group); cat != "" {
		upd.Category = &cat
	}
	if len(labels) > 0 {
		subject := labels[len(labels)-1] + " – chiamata da " + cmpStr(s.caller, "numero riservato")
		upd.Subject = &subject
	}
	return upd
}

// callTicketUpdater writes a call's and its ticket's updates of one step
// together (tickets.Store): two round trips instead of five or more.
type callTicketUpdater interface {
	UpdateCallTicket(ctx context.Context, callID int64, cu tickets.CallUpdate, ticketID int64, tu tickets.TicketUpdate, actor tickets.Actor) (tickets.Ticket, error)
}

// updateCallTicket writes one step's updates of the call, with the events
// recorded so far, and of the ticket: together when the store can, else
// as updateCall, updateTicket and flush.
func (s *session) updateCallTicket(cu tickets.CallUpdate, tu tickets.TicketUpdate) {
	st, ok := s.c.opts.Store.(callTicketUpdater)
	if !ok || s.call.ID == 0 || s.ticket.ID == 0 {
		s.updateCall(cu)
		s.updateTicket(tu)
		s.flush()
		return
	}
	ctx, cancel := s.storeCtx()
	defer cancel()
	cu.Events, tu.Version = s.events, s.ticket.Version
	t, err := st.UpdateCallTicket(ctx, s.call.ID, cu, s.ticket.ID, tu, tickets.Actor{Kind: tickets.ActorSystem, ID: "ivr"})
	switch {
	case err == nil:
		s.ticket = t
		s.events = s.events[:0]
	case errors.Is(err, fault.ErrConflict):
		// The call's part is written; the ticket moved on meanwhile (an
		// operator's change): its part goes again on the fresh ticket.
		s.events = s.events[:0]
		tu.Version = 0
		if fresh, ferr := s.findTicket(ctx); ferr == nil {
			s.ticket = fresh
		}
		s.updateTicket(tu)
	default:
		// Nothing written: each part on its own, pending if the store
		// is down.
		cu.Events = nil
		s.updateCall(cu)
		s.updateTicket(tu)
		s.flush()
	}
}

// updateTicket applies upd, retrying once if someone (an operator in the
// panel) changed the ticket meanwhile.
func (s *session) updateTicket(upd tickets.TicketUpdate) {
	s.updateTicketIf(upd, nil)
}

// updateTicketIf applies upd only while still(ticket) holds; after a
// conflict the fresh ticket is checked again, so an operator's change is
// never overwritten by a decision taken on the old one. It reports
// whether the store could not take it (then, unconditional, it waits in
// pendTicket).
func (s *session) updateTicketIf(upd tickets.TicketUpdate, still func(tickets.Ticket) bool) (failed bool) {
	if s.ticket.ID == 0 {
		if still == nil {
			s.pendTicket = mergeTicketUpdate(s.pendTicket, upd)
		}
		return true
	}
	ctx, cancel := s.storeCtx()
	defer cancel()
	actor := tickets.Actor{Kind: tickets.ActorSystem, ID: "ivr"}
	for attempt := 0; attempt < 2; attempt++ {
		if still != nil && !still(s.ticket) {
			return false
		}
		upd.Version = s.ticket.Version
		t, err := s.c.opts.Store.UpdateTicket(ctx, s.ticket.ID, upd, actor)
		if err == nil {
			s.ticket = t
			return false
		}
		if !errors.Is(err, fault.ErrConflict) {
			s.storeFailed("update_ticket", err)
			if still == nil {
				s.pendTicket = mergeTicketUpdate(s.pendTicket, upd)
			}
			return true
		}
		if fresh, ferr := s.findTicket(ctx); ferr == nil {
			s.ticket = fresh
		}
	}
	return false
}

func (s *session) flush() {
	if len(s.events) == 0 || s.call.ID == 0 {
		return
	}
	ctx, cancel := s.storeCtx()
	defer cancel()
	if err := s.c.opts.Store.AppendCallEvents(ctx, s.call.ID, s.events...); err != nil {
		s.storeFailed("append_call_events", err)
		return
	}
	s.events = s.events[:0]
}

// updateCall writes upd into the call record, or keeps it for the spool.
func (s *session) updateCall(upd tickets.CallUpdate) {
	if s.call.ID != 0 {
		ctx, cancel := s.storeCtx()
		err := s.c.opts.Store.UpdateCall(ctx, s.call.ID, upd)
		cancel()
		if err == nil {
			return
		}
		s.storeFailed("update_call", err)
	}
	s.pendCall = mergeCallUpdate(s.pendCall, upd)
}

// storeFailed counts a failed request to the ticket, queue or lockout
// store; the first of a call is logged (a store that is down fails every
// request of every call).
func (s *session) storeFailed(op string, err error) {
	s.c.metrics.storeErrors.Inc()
	if !s.storeDown {
		s.storeDown = true
		s.log.Error("store_failed", "op", op, "error", err.Error())
	}
}

// finish always runs: it hangs up if the caller has not, and completes
// the call record and the ticket.
func (s *session) finish() {
	if s.released || s.c.released.Load() {
		// (The second: a request found the channel gone before the session
		// read its release.)
		// The new owner continues the record; only what we saw is kept.
		s.record(tickets.CallEvent{Kind: tickets.EventTransferred, Detail: "taken over by another controller"})
		s.flush()
		s.log.Info("call_released")
		return
	}
	switch {
	case s.shutdown && !s.hungUp:
		// The dialplan's fallback serves the caller while ivrd is away.
		s.outcome = tickets.OutcomeTransferred
		s.record(tickets.CallEvent{Kind: tickets.EventTransferred, Detail: "back to the dialplan: ivrd stopping"})
		if err := s.c.client.Channel().Continue(s.key, "", "", 0); err != nil && !isNotFound(err) {
			s.log.Warn("continue_failed", "error", err.Error())
		}
	case !s.hungUp:
		s.hangupBy = cmpStr(s.hangupBy, tickets.HangupSystem)
		if err := s.c.client.Channel().Hangup(s.key, "normal"); err != nil && !isNotFound(err) {
			s.log.Warn("hangup_failed", "error", err.Error())
		}
	}
	if s.outcome == "" {
		switch s.phase {
		case phaseQueue:
			s.outcome = tickets.OutcomeAbandoned
			s.record(tickets.CallEvent{Kind: tickets.EventAbandoned, Group: s.group})
		case phaseClosed:
			s.outcome = tickets.OutcomeClosedNoMessage
			s.closeTicket = true
		case phaseMessage:
			s.outcome = tickets.OutcomeClosedNoMessage
		default:
			s.outcome = tickets.OutcomeHungUpInMenu
			s.closeTicket = s.phase != phaseStart || s.ticket.ID != 0
		}
		if s.group == "" {
			s.updateTicketFromMenu("")
		}
	}
	if s.hungUp && !s.sawEnd && s.hangupBy == tickets.HangupCaller && !s.endEventFollows() {
		// No event said who ended it: events were lost, perhaps with
		// Asterisk itself.
		s.cut = "end not seen (events lost)"
		if now := s.c.currentEpoch(s.origin()); !s.epoch.IsZero() && !now.IsZero() && !now.Equal(s.epoch) {
			s.hangupBy, s.cut = tickets.HangupSystem, "cut by an Asterisk restart"
		}
	}
	detail := "by " + string(s.hangupBy)
	if s.cut != "" {
		detail += ": " + s.cut
	}
	if s.phase == phasePIN && s.hangupBy == tickets.HangupCaller {
		detail += " during PIN entry"
	}
	s.record(tickets.CallEvent{Kind: tickets.EventHangup, Detail: detail})
	if s.call.ID == 0 && !s.started.IsZero() {
		// The store was down when the call came: try once more now.
		ctx, cancel := s.storeCtx()
		s.openRecord(ctx)
		cancel()
	}
	if s.call.ID != 0 {
		s.writePending() // what failed earlier, the store may take now
	}
	end := tickets.CallEnd{EndedAt: cmp.Or(s.endedAt, s.now()), Outcome: s.outcome, HangupBy: s.hangupBy}
	closeDesc := ""
	if s.closeTicket {
		closeDesc = "Chiusura automatica: " + describeOutcome(s.outcome)
	}
	if s.closeTicket && s.ticket.ID != 0 {
		closed := tickets.StatusClosed
		if !s.updateTicketIf(tickets.TicketUpdate{Status: &closed, Description: &closeDesc},
			func(t tickets.Ticket) bool { return t.Status == tickets.StatusNew && t.Description == "" }) {
			closeDesc = "" // done, or the ticket moved on
		}
	}
	finished := false
	if s.call.ID != 0 {
		ctx, cancel := s.storeCtx()
		end.Events = s.events // one write with the end
		err := s.c.opts.Store.FinishCall(ctx, s.call.ID, end)
		cancel()
		end.Events = nil
		if err != nil {
			s.storeFailed("finish_call", err)
		} else {
			finished = true
			s.events = s.events[:0]
		}
	}
	pending := s.pendTicket != nil || s.pendCall != nil || len(s.pendAttach) > 0 || len(s.events) > 0 || closeDesc != "" ||
		s.pendSurvey != nil
	if (!finished || pending) && (s.call.ID != 0 || !s.started.IsZero()) {
		// Whatever the store did not take waits in the spool.
		p := PendingCall{Channel: s.channelID, CallID: s.call.ID, TicketID: s.ticket.ID, Ticket: s.pendTicket,
			Call: s.pendCall, Events: s.events, Attachments: s.pendAttach, Close: closeDesc, Survey: s.pendSurvey}
		if !finished {
			p.End = &end
		}
		if s.call.ID == 0 {
			nc := s.newCall()
			p.New = &nc
		}
		s.c.spool.Put(p)
	}
	s.c.metrics.calls.WithLabelValues(string(s.outcome)).Inc()
	s.emit(Event{Kind: EvHangup, By: string(s.hangupBy)})
	var path []string
	if s.nav != nil {
		path = s.nav.Keys()
	}
	s.emit(Event{Kind: EvOutcome, Outcome: string(s.outcome), Group: s.group, Path: path, Ticket: string(s.ticket.Number)})
	s.log.Info("call_ended", "outcome", string(s.outcome), "hangup_by", string(s.hangupBy), "group", s.group)
}

// endEventFollows waits a moment for the event of the caller's hangup
// when a request found the channel gone first.
func (s *session) endEventFollows() bool {
	ev, ok := s.awaitAfterHangup(time.Second, func(e ari.Event) bool {
		return isChannelEnd(e) && eventChannel(e) == s.channelID
	})
	if h, soft := ev.(*ari.ChannelHangupRequest); ok && soft && h.Soft {
		s.hangupBy, s.cut = tickets.HangupSystem, fmt.Sprintf("hung up inside Asterisk (cause %d)", h.Cause)
	}
	return ok
}

func describeOutcome(o tickets.Outcome) string {
	switch o {
	case tickets.OutcomeHungUpInMenu:
		return "il chiamante ha riagganciato nel menu."
	case tickets.OutcomeStatusTold:
		return "comunicato lo stato di un ticket."
	case tickets.OutcomeClosedNoMessage:
		return "servizio chiuso, nessun messaggio lasciato."
	case tickets.OutcomeInvalidInput:
		return "scelte non valide ripetute."
	case tickets.OutcomePINLocked:
		return "troppi PIN errati."
	}
	return string(o) + "."
}

func describeHours(st hours.Status) string {
	switch st.Reason {
	case hours.ReasonHoliday:
		return "holiday: " + st.Holiday
	case hours.ReasonClosure:
		return strings.TrimSuffix("closure: "+st.Note, ": ")
	case hours.ReasonOutsideHours:
		return "outside hours"
	}
	return "open"
}

func cmpStr[T ~string](a, b T) T {
	if a != "" {
		return a
	}
	return b
}

// isNotFound reports a 404 from ARI. ari/v5 wraps some errors (the Data
// calls) in types that have Cause but no Unwrap, so both chains are walked.
func isNotFound(err error) bool { return hasStatus(err, 404) }

// isConflict reports a 409 from ARI (e.g. a bridge id that exists).
func isConflict(err error) bool { return hasStatus(err, 409) }

// hasStatus reports an ARI error with that HTTP status. Through
// ari-proxy an error arrives as its text only: ari/v5's "Non-2XX
// response: 404 Not Found" is read back from it.
func hasStatus(err error, status int) bool {
	if err != nil && strings.Contains(err.Error(), "Non-2XX response: "+strconv.Itoa(status)+" ") {
		return true
	}
	for err != nil {
		if coded, ok := err.(interface{ Code() int }); ok && coded.Code() == status {
			return true
		}
		switch e := err.(type) {
		case interface{ Unwrap() error }:
			err = e.Unwrap()
		case interface{ Cause() error }:
			if c := e.Cause(); c != err {
				err = c
			} else {
				return false
			}
		default:
			return false
		}
	}
	return false
}

// dateMedia speaks a date with Asterisk's standard sounds: weekday, day,
// month ("lunedì 23 novembre").
func dateMedia(t time.Time) []string {
	day := "number:" + strconv.Itoa(t.Day())
	if t.Day() == 1 {
		day = "sound:digits/h-1" // "primo", as Italian says the 1st
	}
	return []string{
		"sound:digits/day-" + strconv.Itoa(int(t.Weekday())),
		day,
		"sound:digits/mon-" + strconv.Itoa(int(t.Month())-1),
	}
}

// timeMedia speaks a time of day: "8", or "8 30".
func timeMedia(t time.Time) []string {
	m := []string{"number:" + strconv.Itoa(t.Hour())}
	if t.Minute() != 0 {
		m = append(m, "sound:"+menu.SystemSoundName("and"), "number:"+strconv.Itoa(t.Minute())) // "8 e 30"
	}
	return m
}
