package ivr

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// The supervisor's actions on a live call. Listen, whisper and barge ring
// the supervisor's phone (menu.Supervisor.Endpoint) and join it to a
// snoop channel on the operator's leg: spy both ways, and whisper none
// (listen), out (whisper: the operator hears the supervisor, the caller
// does not) or both (barge: a three-way call, the caller hearing the
// supervisor through the operator's leg). Switching modes replaces the
// snoop channel under the supervisor's phone, which never leaves its
// bridge, so the supervisor's call is never dropped. None of it touches
// the call's own session: the controller runs it beside the call.
const (
	ActListen  ActionKind = "listen"
	ActWhisper ActionKind = "whisper"
	ActBarge   ActionKind = "barge"
	// ActSuperviseStop hangs up the supervisor's phone.
	ActSuperviseStop ActionKind = "supervise_stop"
	// ActEndCall ends a call wherever it is (a stuck call).
	ActEndCall ActionKind = "end_call"
)

// Call events of supervision in the call record.
const (
	EventSupervisor      tickets.EventKind = "supervisor"          // Detail: "<login>: <mode>" (joined or switched)
	EventSupervisorLeft  tickets.EventKind = "supervisor_left"     // Detail: "<login>: <why>"
	EventEndedBySupervis tickets.EventKind = "ended_by_supervisor" // Detail: the login
)

// EvSupervise is a supervisor's step on a call: Result ringing (their
// phone rings), on (listening in Reason's mode) or off; By is the login.
const EvSupervise = "supervise"

var (
	// ErrNoPhone: the supervisor has no phone in the configuration.
	ErrNoPhone = &fault.Error{Code: fault.EINVALID, Message: "no phone configured for this supervisor (supervisors: in the configuration)"}
	// ErrSupervised: another supervisor is on the call already, or the
	// supervisor is on another call (their phone is busy with it).
	ErrSupervised = &fault.Error{Code: fault.ECONFLICT, Message: "another supervisor is on this call, or this supervisor on another"}
)

// supervisionPrefix starts the ids of supervisors' phones and their snoop
// channels: channels of no call, never adopted as one (Reconcile).
const supervisionPrefix = "sv-"

// supervisionArg reports the Stasis argument of a supervisor's phone or
// snoop channel.
func supervisionArg(a string) bool { return a == "supervisor" || a == "snoop" }

func (k ActionKind) supervisory() bool {
	switch k {
	case ActListen, ActWhisper, ActBarge, ActSuperviseStop, ActEndCall:
		return true
	}
	return false
}

// whisperOf is the snoop's whisper direction for a mode.
func whisperOf(mode ActionKind) string {
	switch mode {
	case ActWhisper:
		return "out"
	case ActBarge:
		return "both"
	}
	return "none"
}

// talkLeg is what a conversation in progress lets others see of it:
// published by talk(), read by the supervision beside it.
type talkLeg struct {
	leg, group, operator, ticket string
	callRecord                   int64
}

// supervising is the controller's part for supervision: the supervisions
// in progress by call id, and their metrics.
type supervising struct {
	mu    sync.Mutex
	calls map[string]*supervision
	// interventions counts the supervisors' actions by kind.
	interventions *prometheus.CounterVec
}

func newSupervising(reg prometheus.Registerer) (*supervising, error) {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ivr_supervisor_interventions_total",
		Help: "Supervisors' actions on live calls, by kind (listen, whisper, barge, end_call).",
	}, []string{"kind"})
	if err := reg.Register(v); err != nil {
		return nil, fmt.Errorf("register supervision metrics: %w", err)
	}
	for _, k := range []ActionKind{ActListen, ActWhisper, ActBarge, ActEndCall} {
		v.WithLabelValues(string(k))
	}
	return &supervising{calls: map[string]*supervision{}, interventions: v}, nil
}

// supervision is one supervisor on one call. Its events come through s,
// a session of its own whose channel is the supervisor's phone.
type supervision struct {
	c      *Controller
	s      *session
	call   *session // the call supervised
	callID string
	by     string
	mode   ActionKind
	snoop  string // the snoop channel in use ("" before the answer)
	bridge *ari.Key
	seq    int
}

// supervise runs a supervisor's action (Act with a supervisory kind).
func (c *Controller) supervise(ctx context.Context, callID string, a Action) error {
	call := c.callSession(callID)
	if call == nil {
		return ErrNoSuchCall
	}
	if a.Kind == ActEndCall {
		return c.endCall(ctx, call, callID, a.By)
	}
	sp := c.supervising
	sp.mu.Lock()
	sv := sp.calls[callID]
	if sv != nil && sv.by != a.By {
		sp.mu.Unlock()
		return ErrSupervised
	}
	if sv != nil {
		// The supervisor already on the call switches mode or leaves.
		sp.mu.Unlock()
		return sv.ask(ctx, a)
	}
	if a.Kind == ActSuperviseStop {
		sp.mu.Unlock()
		return ErrNotNow
	}
	talk := call.talking.Load()
	if talk == nil {
		sp.mu.Unlock()
		return ErrNotNow
	}
	for _, other := range sp.calls {
		if other.by == a.By {
			sp.mu.Unlock()
			return ErrSupervised
		}
	}
	sup := c.opts.Config().Supervisor(a.By)
	if sup == nil || sup.Endpoint == "" {
		sp.mu.Unlock()
		return ErrNoPhone
	}
	leg := c.nextID(supervisionPrefix[:2])
	s := &session{c: c, cfg: c.opts.Config(), channelID: leg, key: call.key.New(ari.ChannelKey, leg),
		clock: c.clock, inbox: newInbox(), ended: make(chan struct{}),
		log: c.log.With("call_id", callID, "channel_id", leg, "supervisor", a.By)}
	sv = &supervision{c: c, s: s, call: call, callID: callID, by: a.By, mode: a.Kind}
	sp.calls[callID] = sv
	c.register(s, ari.ChannelKey, leg)
	sp.mu.Unlock()

	started := make(chan error, 1)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		sv.run(sup.Endpoint, *talk, started)
	}()
	select {
	case err := <-started:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// orphanSupervisionBridges are the supervisors' bridges no supervision of
// this controller drives: their controller stopped (their phones and
// snoop channels are hung up with the other orphans).
func (c *Controller) orphanSupervisionBridges() []*ari.Key {
	bridges, err := c.client.Bridge().List(nil)
	if err != nil {
		return nil
	}
	var out []*ari.Key
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, k := range bridges {
		if strings.HasPrefix(k.ID, "svb-") && c.routes[ari.BridgeKey+":"+k.ID] == nil {
			out = append(out, k)
		}
	}
	return out
}

// callSession finds the session of a call by its id, as Act does.
func (c *Controller) callSession(callID string) *session {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if s := c.routes[callKind+":"+callID]; s != nil {
		return s
	}
	return c.sessions[callID]
}

// ask hands a mode change or a stop to the running supervision.
func (sv *supervision) ask(ctx context.Context, a Action) error {
	req := &actRequest{Action: a, done: make(chan error, 1)}
	sv.s.inbox.push(item{act: req})
	select {
	case err := <-req.done:
		return err
	case <-sv.s.ended:
		select {
		case err := <-req.done:
			return err
		default:
			return ErrNotNow
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run rings the supervisor, then keeps them on the call until they hang
// up, stop, or the conversation ends (the snoop channel goes with the
// operator's leg). started receives the answer to the first request.
func (sv *supervision) run(endpoint string, talk talkLeg, started chan<- error) {
	c, s := sv.c, sv.s
	s.acting = true
	left := "hung up"
	defer func() {
		// Free first: once its channels are gone, the supervisor may be
		// rung for another call.
		c.supervising.mu.Lock()
		if c.supervising.calls[sv.callID] == sv {
			delete(c.supervising.calls, sv.callID)
		}
		c.supervising.mu.Unlock()
		sv.cleanup(left, talk)
		c.forget(s)
	}()
	// The call's end ends the supervision, whatever its events say.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-sv.call.ended:
			s.inbox.push(item{shutdown: true})
		case <-stop:
		}
	}()
	_, err := c.client.Channel().Originate(s.origin(), ari.OriginateRequest{
		Endpoint: endpoint, App: c.opts.App, AppArgs: "supervisor," + sv.callID, ChannelID: s.channelID,
		CallerID: cmpStr(talk.ticket, "supervisione") + " <" + talk.operator + ">", Timeout: 30,
		Variables: map[string]string{"IVR_TICKET": talk.ticket, "IVR_GROUP": talk.group,
			"IVR_OPERATOR": talk.operator, "IVR_SUPERVISE": string(sv.mode)},
	})
	if err != nil {
		s.log.Warn("supervisor_originate_failed", "error", err.Error())
		left = ""
		started <- ErrNoPhone
		return
	}
	started <- nil
	c.supervising.interventions.WithLabelValues(string(sv.mode)).Inc()
	sv.emit(talk, "ringing")
	if !sv.awaitAnswer() {
		left = "did not answer"
		return
	}
	sv.bridge = s.key.New(ari.BridgeKey, "svb-"+s.channelID)
	c.register(s, ari.BridgeKey, sv.bridge.ID)
	if _, err := c.client.Bridge().Create(sv.bridge, "mixing", sv.bridge.ID); err != nil {
		s.log.Error("bridge_create_failed", "error", err.Error())
		left = "failed"
		return
	}
	if err := c.client.Bridge().AddChannel(sv.bridge, s.channelID); err != nil {
		left = "failed"
		return
	}
	if !sv.snoopOn(talk) {
		left = "the conversation ended"
		return
	}
	sv.record(talk, EventSupervisor, string(sv.mode))
	sv.emit(talk, "on")
	for {
		w, err := s.next(time.Hour)
		if err != nil {
			if err == errShutdown {
				left = "the conversation ended" // the call ended with it
			}
			return
		}
		if w.act != nil {
			if w.act.Kind == ActSuperviseStop {
				left = "stopped"
				w.act.reply(nil)
				return
			}
			if w.act.Kind == sv.mode {
				w.act.reply(nil)
				continue
			}
			sv.mode = w.act.Kind
			c.supervising.interventions.WithLabelValues(string(sv.mode)).Inc()
			if !sv.snoopOn(talk) {
				w.act.reply(ErrNotNow)
				left = "the conversation ended"
				return
			}
			w.act.reply(nil)
			sv.record(talk, EventSupervisor, string(sv.mode))
			sv.emit(talk, "on")
			continue
		}
		if w.resync {
			if _, err := c.client.Channel().Data(sv.call.key.New(ari.ChannelKey, sv.snoop)); isNotFound(err) {
				left = "the conversation ended"
				return
			}
			continue
		}
		if id := eventChannel(w.ev); id != "" && id == sv.snoop && isChannelEnd(w.ev) {
			// The snoop goes with its target: the operator's leg is gone.
			left = "the conversation ended"
			return
		}
	}
}

// awaitAnswer waits for the supervisor's phone to answer (its StasisStart)
// meanwhile taking mode changes; false if it did not or the call ended.
func (sv *supervision) awaitAnswer() bool {
	for {
		w, err := sv.s.next(time.Hour)
		if err != nil {
			return false
		}
		if w.act != nil {
			if w.act.Kind == ActSuperviseStop {
				w.act.reply(nil)
				return false
			}
			sv.mode = w.act.Kind
			w.act.reply(nil)
			continue
		}
		if w.resync && !sv.s.channelAlive() {
			return false
		}
		if isStasisStart(w.ev) && eventChannel(w.ev) == sv.s.channelID {
			return true
		}
	}
}

// snoopOn puts a snoop channel of the current mode under the supervisor's
// phone, then lets the previous one go: the supervisor hears no gap.
func (sv *supervision) snoopOn(talk talkLeg) bool {
	c := sv.c
	sv.seq++
	id := sv.s.channelID + "-sn" + strconv.Itoa(sv.seq)
	c.register(sv.s, ari.ChannelKey, id)
	_, err := c.client.Channel().Snoop(sv.call.key.New(ari.ChannelKey, talk.leg), id, &ari.SnoopOptions{
		App: c.opts.App, AppArgs: "snoop," + sv.callID,
		Spy: ari.DirectionBoth, Whisper: ari.Direction(whisperOf(sv.mode)),
	})
	if err != nil {
		if !isNotFound(err) {
			sv.s.log.Warn("snoop_failed", "error", err.Error())
		}
		return false
	}
	// The snoop channel enters the application on a thread of its own
	// after Asterisk answers: it can join the bridge once it is there.
	if !sv.awaitStasis(id) {
		sv.hangup(id)
		return false
	}
	if err := c.client.Bridge().AddChannel(sv.bridge, id); err != nil {
		sv.s.log.Warn("bridge_snoop_failed", "error", err.Error())
		sv.hangup(id)
		return false
	}
	old := sv.snoop
	sv.snoop = id
	if old != "" {
		sv.hangup(old)
	}
	return true
}

// awaitStasis waits for the StasisStart of channel id; requests from the
// panel meanwhile are answered ErrNotNow. False if the channel ended, the
// supervisor hung up, or it did not come.
func (sv *supervision) awaitStasis(id string) bool {
	sv.s.acting = false
	defer func() { sv.s.acting = true }()
	deadline := sv.s.now().Add(10 * time.Second)
	for {
		left := deadline.Sub(sv.s.now())
		if left <= 0 {
			sv.s.log.Warn("snoop_not_in_stasis", "snoop", id)
			return false
		}
		w, err := sv.s.next(left)
		if err != nil || w.timeout {
			return false
		}
		if eventChannel(w.ev) != id {
			continue
		}
		if isStasisStart(w.ev) {
			return true
		}
		if isChannelEnd(w.ev) {
			return false
		}
	}
}

func (sv *supervision) hangup(id string) {
	if err := sv.c.client.Channel().Hangup(sv.call.key.New(ari.ChannelKey, id), "normal"); err != nil && !isNotFound(err) {
		sv.s.log.Warn("supervisor_hangup_failed", "channel_id", id, "error", err.Error())
	}
}

// cleanup leaves nothing behind: the snoop channel, the supervisor's
// phone and their bridge.
func (sv *supervision) cleanup(why string, talk talkLeg) {
	if sv.c.released.Load() {
		return
	}
	if why != "" {
		// Recorded first: once nothing is left in Asterisk, the record
		// is complete.
		sv.record(talk, EventSupervisorLeft, why)
		sv.emit(talk, "off")
	}
	if sv.snoop != "" {
		sv.hangup(sv.snoop)
	}
	if !sv.s.hungUp {
		sv.hangup(sv.s.channelID)
	}
	if sv.bridge != nil {
		if err := sv.c.client.Bridge().Delete(sv.bridge); err != nil && !isNotFound(err) {
			sv.s.log.Warn("bridge_delete_failed", "error", err.Error())
		}
	}
}

func (sv *supervision) emit(talk talkLeg, result string) {
	e := Event{Kind: EvSupervise, Result: result, By: sv.by, Reason: string(sv.mode), Group: talk.group,
		Operator: talk.operator, Ticket: talk.ticket, Time: sv.s.now(), CallID: sv.callID}
	sv.c.observe(e)
}

// record adds a step to the call's record, beside the call's own session.
func (sv *supervision) record(talk talkLeg, kind tickets.EventKind, what string) {
	if talk.callRecord == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), sv.c.opts.StoreTimeout)
	defer cancel()
	ev := tickets.CallEvent{At: sv.s.now(), Kind: kind, Group: talk.group, Operator: talk.operator, Detail: sv.by + ": " + what}
	if err := sv.c.opts.Store.AppendCallEvents(ctx, talk.callRecord, ev); err != nil {
		sv.s.log.Warn("supervision_record_failed", "error", err.Error())
	}
}

// endCall hangs up a call wherever it is: a supervisor ends a stuck call.
// The call's session sees its channel go and closes the record as for any
// hangup by the system; the record says who ended it.
func (c *Controller) endCall(ctx context.Context, call *session, callID, by string) error {
	rec := int64(0)
	if talk := call.talking.Load(); talk != nil {
		rec = talk.callRecord
	} else if r, err := c.opts.Store.FindCallByChannel(ctx, callID); err == nil {
		rec = r.ID
	}
	if rec != 0 {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.StoreTimeout)
		err := c.opts.Store.AppendCallEvents(sctx, rec, tickets.CallEvent{At: c.clock.Now(), Kind: EventEndedBySupervis, Detail: by})
		cancel()
		if err != nil {
			c.log.Warn("supervision_record_failed", "call_id", callID, "error", err.Error())
		}
	}
	if err := c.client.Channel().Hangup(call.key, "normal"); err != nil && !isNotFound(err) {
		return fmt.Errorf("end call %s: %w", callID, err)
	}
	c.supervising.interventions.WithLabelValues(string(ActEndCall)).Inc()
	c.log.Info("call_ended_by_supervisor", "call_id", callID, "by", by)
	// A session stuck on a lost event checks its channel now.
	call.inbox.push(item{resync: true})
	return nil
}

// publishTalk lets supervisors find the conversation of leg; the returned
// func withdraws it.
func (s *session) publishTalk(leg string) func() {
	t := &talkLeg{leg: leg, group: s.talkGroup, operator: s.talkOperator, ticket: string(s.ticket.Number), callRecord: s.call.ID}
	s.talking.Store(t)
	return func() { s.talking.CompareAndSwap(t, nil) }
}
