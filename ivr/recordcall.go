package ivr

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// Conversation recording, with the caller's consent (menu.Recording): the
// caller hears the notice before the queue, and with refusable may press
// a key to refuse; a conversation announced and not refused is recorded
// from the operator's joining (a bridge recording: both voices, mixed)
// to its end, and attached to the ticket. The operator may pause it from
// the console (Controller.Act).

// The actions on a recording, from the operator's console.
const (
	ActionRecordingPause  ActionKind = "recording_pause"
	ActionRecordingResume ActionKind = "recording_resume"
)

// ErrNotRecording: the call's conversation is not being recorded.
var ErrNotRecording = &fault.Error{Code: fault.ECONFLICT, Message: "the conversation is not being recorded"}

// EvCallRecording is a step of a conversation's recording: Result
// announced, refused, started, paused, resumed, kept (Seconds) or failed.
const EvCallRecording = "call_recording"

// callRecording is the state of a call's conversation recording.
type callRecording struct {
	announced bool // the caller heard the notice and did not refuse
	refused   bool
	name      string // the live recording, "" when none
	group     string
	started   time.Time
	paused    bool
	pausedAt  time.Time
	pausedFor time.Duration
}

type recordingMetrics struct {
	recorded *prometheus.CounterVec
	refused  *prometheus.CounterVec
	paused   *prometheus.CounterVec
}

func newRecordingMetrics() *recordingMetrics {
	return &recordingMetrics{
		recorded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ivr_conversations_recorded_total", Help: "Conversations recorded and kept with their ticket, by group.",
		}, []string{"group"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ivr_recording_refusals_total", Help: "Callers who refused the recording of their conversation with the group's key, by group.",
		}, []string{"group"}),
		paused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ivr_recording_pauses_total", Help: "Conversation recordings paused by the operator, by group.",
		}, []string{"group"}),
	}
}

func (m *recordingMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.recorded, m.refused, m.paused}
}

// recordingNotice tells a caller routed to group that the conversation
// may be recorded, and with refusable takes the key that refuses, during
// the notice or up to RefuseWait after it.
func (s *session) recordingNotice(group string) error {
	r := s.cfg.RecordingOf(group)
	if r == nil {
		return nil
	}
	s.digits = s.digits[:0] // keys typed before are no answer to it
	prompts := []menu.Prompt{s.system("recording_notice")}
	var extra []string
	if r.Mode == menu.RecordingRefusable {
		prompts = append(prompts, s.system("recording_refuse"))
		extra = []string{"digits:" + r.RefuseKey}
	}
	// No barge-in: a key that does not refuse must not cut the notice.
	if err := s.play(prompts, false, extra...); err != nil {
		return err
	}
	refused := false
	if r.Mode == menu.RecordingRefusable {
		key := r.RefuseKey[0]
		deadline := s.now().Add(r.RefuseWait)
		for refused = s.takeKey(key); !refused; refused = s.takeKey(key) {
			left := deadline.Sub(s.now())
			if left <= 0 {
				break
			}
			w, err := s.next(left)
			if err != nil {
				return err
			}
			if w.timeout {
				break
			}
		}
		s.digits = s.digits[:0]
	}
	if !refused {
		s.rec.announced = true
		s.emit(Event{Kind: EvCallRecording, Group: group, Result: "announced"})
		return nil
	}
	s.rec.refused = true
	s.c.metrics.rec.refused.WithLabelValues(group).Inc()
	s.record(tickets.CallEvent{Kind: tickets.EventRecordingRefused, Group: group})
	s.emit(Event{Kind: EvCallRecording, Group: group, Result: "refused", Keys: r.RefuseKey})
	s.addChange("", "rifiutata dal chiamante", tickets.Actor{Kind: tickets.ActorCaller, ID: cmpStr(s.caller, "chiamante")})
	return s.play([]menu.Prompt{s.system("recording_refused")}, false)
}

// startCallRecording records the conversation in bkey, which the
// operator has just joined, if the caller was told and did not refuse
// and group records.
func (s *session) startCallRecording(bkey *ari.Key, group, login string) {
	if !s.rec.announced || s.rec.refused || s.rec.name != "" || s.cfg.RecordingOf(group) == nil {
		return
	}
	started := s.now()
	name := string(tickets.RecordingConversation) + "-" + cmpStr(string(s.ticket.Number), s.channelID) + "-" +
		strconv.FormatInt(started.UnixMilli(), 36) + strconv.FormatUint(s.c.seq.Add(1), 10)
	s.c.register(s, ari.LiveRecordingKey, name)
	if _, err := s.c.client.Bridge().Record(bkey, name, &ari.RecordingOptions{Format: "wav", Exists: "fail"}); err != nil {
		// The call goes on unrecorded: the conversation matters more.
		s.log.Error("conversation_record_failed", "error", err.Error())
		s.emit(Event{Kind: EvCallRecording, Group: group, Operator: login, Result: "failed", Reason: err.Error()})
		return
	}
	s.rec = callRecording{announced: true, name: name, group: group, started: started}
	// A controller that takes the call over finds it there (adoptRecording).
	if err := s.c.client.Channel().SetVariable(s.key, recordingVar, name); err != nil && !isNotFound(err) {
		s.log.Warn("recording_checkpoint_failed", "error", err.Error())
	}
	s.record(tickets.CallEvent{Kind: tickets.EventRecordingStarted, Group: group, Operator: login, Detail: name})
	s.flush() // the call's record says it is being recorded, now
	s.emit(Event{Kind: EvCallRecording, Group: group, Operator: login, Result: "started"})
}

// recordingVar is the caller's channel variable naming the conversation's
// live recording.
const recordingVar = "IVR_RECORDING"

// adoptRecording goes on with the recording of a conversation taken over
// from a controller that stopped: Asterisk kept recording; this session
// attaches it when the conversation ends, and the console may pause it.
func (s *session) adoptRecording() {
	name, err := s.c.client.Channel().GetVariable(s.key, recordingVar)
	if err != nil || name == "" {
		return
	}
	data, err := s.c.client.LiveRecording().Data(s.key.New(ari.LiveRecordingKey, name))
	if err != nil {
		return // it ended meanwhile
	}
	s.c.register(s, ari.LiveRecordingKey, name)
	now := s.now()
	s.rec = callRecording{announced: true, name: name, group: s.group, started: now,
		paused: data.State == "paused", pausedAt: now}
	s.emit(Event{Kind: EvCallRecording, Group: s.group, Result: "started", Reason: "resumed"})
}

// recordingAction answers the console's pause and resume of the
// recording; it reports false for the other kinds of request.
func (s *session) recordingAction(req *actRequest) bool {
	switch req.Kind {
	case ActionRecordingPause, ActionRecordingResume:
		req.reply(s.pauseRecording(req.Kind == ActionRecordingPause, req.By))
		return true
	}
	return false
}

// pauseRecording pauses (or resumes) the conversation's recording for
// the operator by, and says so in the call record and the ticket's
// history. Asking twice is no error.
func (s *session) pauseRecording(pause bool, by string) error {
	if s.rec.name == "" {
		return ErrNotRecording
	}
	if s.rec.paused == pause {
		return nil
	}
	key := s.key.New(ari.LiveRecordingKey, s.rec.name)
	var err error
	if pause {
		err = s.c.client.LiveRecording().Pause(key)
	} else {
		err = s.c.client.LiveRecording().Resume(key)
	}
	if err != nil {
		if isNotFound(err) || isConflict(err) {
			return ErrNotRecording
		}
		return fmt.Errorf("pause recording: %w", err)
	}
	now := s.now()
	s.rec.paused = pause
	kind, result, note := tickets.EventRecordingResumed, "resumed", "ripresa"
	if pause {
		kind, result, note = tickets.EventRecordingPaused, "paused", "sospesa"
		s.rec.pausedAt = now
		s.c.metrics.rec.paused.WithLabelValues(s.rec.group).Inc()
	} else {
		s.rec.pausedFor += now.Sub(s.rec.pausedAt)
	}
	s.record(tickets.CallEvent{Kind: kind, Group: s.rec.group, Operator: by})
	s.flush()
	s.emit(Event{Kind: EvCallRecording, Group: s.rec.group, Operator: by, Result: result})
	s.addChange("", note, tickets.Actor{Kind: tickets.ActorOperator, ID: by})
	return nil
}

// stopCallRecording ends the conversation's recording as the conversation
// ends (either side hung up, or the caller goes on to the survey) and
// attaches it to the ticket: Asterisk keeps what was recorded.
func (s *session) stopCallRecording() {
	rec := s.rec
	if rec.name == "" {
		return
	}
	s.rec.name = ""
	if s.released || s.c.released.Load() {
		return // the controller that took the call over has the bridge
	}
	key := s.key.New(ari.LiveRecordingKey, rec.name)
	if err := s.c.client.LiveRecording().Stop(key); err != nil && !isNotFound(err) {
		// 404: it ended with the bridge (both sides gone).
		s.log.Warn("conversation_record_stop_failed", "error", err.Error())
	}
	end := s.now()
	duration := end.Sub(rec.started) - rec.pausedFor
	if rec.paused {
		duration -= end.Sub(rec.pausedAt)
	}
	duration = duration.Truncate(time.Second)
	ev, ok := s.awaitRecordingEnd(rec.name, 5*time.Second)
	switch e := ev.(type) {
	case *ari.RecordingFinished:
		duration = time.Duration(e.Recording.Duration)
	case *ari.RecordingFailed:
		s.log.Error("conversation_recording_failed", "cause", e.Recording.Cause)
		s.emit(Event{Kind: EvCallRecording, Group: rec.group, Result: "failed", Reason: e.Recording.Cause})
		return
	}
	if !ok {
		s.log.Warn("conversation_record_end_unseen")
	}
	s.attach(tickets.Attachment{Name: rec.name + ".wav", URI: recordingURI + rec.name, ContentType: "audio/wav",
		Duration: duration, Size: 44 + int64(duration.Seconds()*16000)}) // 8 kHz 16 bit: an estimate
	s.record(tickets.CallEvent{Kind: tickets.EventRecorded, Group: rec.group, Detail: duration.String()})
	s.c.metrics.rec.recorded.WithLabelValues(rec.group).Inc()
	s.emit(Event{Kind: EvCallRecording, Group: rec.group, Result: "kept", Seconds: duration.Seconds()})
}

// awaitRecordingEnd waits up to d for the end of recording name, reading
// the call's events as usual while the caller is there (a key, a hangup)
// and what is left of them after.
func (s *session) awaitRecordingEnd(name string, d time.Duration) (ari.Event, bool) {
	match := func(e ari.Event) bool {
		switch ev := e.(type) {
		case *ari.RecordingFinished:
			return ev.Recording.Name == name
		case *ari.RecordingFailed:
			return ev.Recording.Name == name
		}
		return false
	}
	deadline := s.now().Add(d)
	for {
		left := deadline.Sub(s.now())
		if left <= 0 {
			return nil, false
		}
		w, err := s.next(left)
		if errors.Is(err, errHangup) {
			return s.awaitAfterHangup(left, match)
		}
		if err != nil || w.timeout {
			return nil, false
		}
		if match(w.ev) {
			return w.ev, true
		}
	}
}

// changeAdder is a store that writes a ticket's history entries of its own
// (tickets.Store).
type changeAdder interface {
	AddChange(ctx context.Context, ticketID int64, field, old, new string, actor tickets.Actor) error
}

// addChange writes what happened to the recording into the ticket's
// history.
func (s *session) addChange(old, new string, actor tickets.Actor) {
	st, ok := s.c.opts.Store.(changeAdder)
	if !ok || s.ticket.ID == 0 {
		return
	}
	ctx, cancel := s.storeCtx()
	defer cancel()
	if err := st.AddChange(ctx, s.ticket.ID, tickets.FieldRecording, old, new, actor); err != nil {
		s.storeFailed("add_history", err)
	}
}

// isRecorder reports the channel Asterisk puts into a bridge it records
// (its uniqueid is among the bridge's channels): not a party to adopt.
func (s *session) isRecorder(id string) bool {
	ch, err := s.c.client.Channel().Data(s.key.New(ari.ChannelKey, id))
	return err == nil && strings.HasPrefix(ch.Name, "Recorder/")
}
