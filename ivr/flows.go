package ivr

import (
	"cmp"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/CyCoreSystems/ari/v5"

	"github.com/helpdesk-ivr/ivr/hours"
	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/tickets"
)

func (s *session) system(name string) menu.Prompt {
	lang := s.cfg.IVR.Language
	if s.nav != nil {
		lang = s.nav.Language()
	}
	return menu.Prompt{Name: "system:" + name, Sound: menu.SystemSoundName(name), Text: s.cfg.SystemText(name, lang)}
}

// closed tells the caller the service (or a group) is closed, when it
// reopens, and offers to leave a recorded request.
func (s *session) closed(sched *hours.Schedule, st hours.Status, group, intro string) error {
	s.phase = phaseClosed
	s.checkpoint(resumeClosed, url.Values{"g": {group}})
	if intro == "" {
		intro = "closed"
		if st.Reason == hours.ReasonHoliday {
			intro = "closed_holiday"
		}
	}
	prompts := []menu.Prompt{s.system(intro)}
	var extra []string
	next, ok := sched.NextOpening(s.now())
	if ok {
		next = next.In(s.cfg.Location())
		prompts = append(prompts, s.system("reopens"))
		extra = append(extra, dateMedia(next)...)
		extra = append(extra, "sound:"+menu.SystemSoundName("at_hour"))
		extra = append(extra, timeMedia(next)...)
	}
	if err := s.play(prompts, true, extra...); err != nil {
		return err
	}
	offer := menu.Collect{MaxDigits: 1, FirstDigitTimeout: s.cfg.IVR.FirstDigitTimeout}
	prompts = []menu.Prompt{s.system("record_offer")}
	for try := 0; try < s.cfg.IVR.MaxRetries; try++ {
		key, timedOut, err := s.ask(prompts, offer, true)
		if err != nil {
			return err
		}
		if timedOut {
			// Silence after the offer is the caller's answer: most hang up
			// or wait; ask once more, then say goodbye.
			if try > 0 {
				break
			}
			prompts = []menu.Prompt{s.system("no_input"), s.system("record_offer")}
			continue
		}
		s.emit(Event{Kind: EvKeys, Node: "closed", Keys: key})
		if key == "1" {
			return s.message(group, true, nil)
		}
		prompts = []menu.Prompt{s.system("invalid"), s.system("record_offer")}
	}
	s.outcome = tickets.OutcomeClosedNoMessage
	s.closeTicket = true
	return s.sayAndHangup([]menu.Prompt{s.system("goodbye")})
}

// route hands the call to a group: its own hours first, then its
// operators' phones ring while the caller hears music; the first to
// answer is bridged with the caller.
func (s *session) route(act menu.Action) error {
	s.group = act.Group
	fromMenu := s.ticketUpdateFromMenu(act.Priority)
	s.emit(Event{Kind: EvRoute, Group: act.Group, Reason: act.Reason, Node: act.Node})
	if act.Reason == menu.ReasonPINLocked || act.Reason == menu.ReasonInvalidInput {
		s.record(tickets.CallEvent{Kind: tickets.EventTransferred, Group: act.Group, Detail: act.Reason})
	}
	sched := s.cfg.GroupSchedule(act.Group)
	if st := sched.StatusAt(s.now()); !st.Open {
		s.updateTicket(fromMenu)
		return s.closed(sched, st, act.Group, "group_closed")
	}
	// The caller is in the group's queue from here, hearing the ticket
	// number: a hangup now is an abandoned call of that group.
	s.phase = phaseQueue
	queued := s.now()
	if s.c.opts.Queues == nil {
		s.record(tickets.CallEvent{Kind: tickets.EventQueued, Group: act.Group}) // the queue records its own
	}
	s.updateCallTicket(tickets.CallUpdate{QueuedAt: &queued, Group: &act.Group}, fromMenu)
	switch act.Reason {
	case menu.ReasonPINLocked:
		s.outcome = tickets.OutcomePINLocked
	case menu.ReasonInvalidInput:
		s.outcome = tickets.OutcomeInvalidInput
	}
	prompts := act.Prompts
	if s.ticket.Number == "" {
		// No number to say: the sentence that announces one goes too.
		prompts = slices.Clone(prompts)
		for i, p := range prompts {
			if p.Name == "system:transfer" {
				prompts[i] = s.system("transfer_no_ticket")
			}
		}
	}
	if err := s.play(prompts, false, s.ticketDigits()...); err != nil {
		return err
	}
	if err := s.recordingNotice(act.Group); err != nil {
		return err
	}
	if s.c.opts.Queues != nil {
		return s.queue(act.Group, queuePriority(s.cfg, act.Priority, s.role, s.org), false)
	}
	answered, err := s.ringGroup(act.Group)
	if err != nil || answered {
		return err
	}
	// Nobody answered: the caller has left the bridge; a recorded request
	// keeps the call from being lost.
	return s.noOperator(act.Group)
}

// ticketDigits speaks the ticket number, if the call has one (the store
// may have been down when the call arrived).
func (s *session) ticketDigits() []string {
	if s.ticket.Number == "" {
		return nil
	}
	return []string{"digits:" + string(s.ticket.Number)}
}

// noOperator is what a caller gets when nobody answers: a recorded request
// for the group, so the call is not lost.
func (s *session) noOperator(groupID string) error {
	if err := s.play([]menu.Prompt{s.system("no_operator")}, false); err != nil {
		return err
	}
	return s.message(groupID, false, nil)
}

// message records a request after the beep and attaches it to the ticket.
func (s *session) message(groupID string, afterHours bool, intro []menu.Prompt) error {
	if groupID == "" {
		// Left while the whole service is closed: the group the caller's
		// Administration or the configuration names takes it.
		groupID = s.cfg.DefaultGroup(s.org)
	}
	prev := s.phase
	s.phase = phaseMessage
	if len(intro) == 0 {
		intro = []menu.Prompt{s.system("record_intro")}
	}
	if err := s.play(intro, false); err != nil {
		return err
	}
	// Unique across restarts too: a resumed call of the same ticket must
	// not overwrite the first recording (Exists: overwrite).
	started := s.now()
	name := "helpdesk-" + cmpStr(string(s.ticket.Number), s.channelID) + "-" +
		strconv.FormatInt(started.UnixMilli(), 36) + strconv.FormatUint(s.c.seq.Add(1), 10)
	s.c.register(s, ari.LiveRecordingKey, name)
	msg := s.cfg.IVR.Message
	ah := "0"
	if afterHours {
		ah = "1"
	}
	s.checkpoint(resumeMessage, url.Values{"g": {groupID}, "rec": {name}, "ah": {ah},
		"t": {strconv.FormatInt(started.UnixMilli(), 10)}})
	s.emit(Event{Kind: EvRecording, Group: groupID})
	_, err := s.c.client.Channel().Record(s.key, name, &ari.RecordingOptions{
		Format: "wav", MaxDuration: msg.MaxDuration, MaxSilence: msg.MaxSilence,
		Beep: true, Terminate: "#", Exists: "overwrite",
	})
	if err != nil {
		if isNotFound(err) {
			return s.goneNow()
		}
		s.log.Error("record_failed", "error", err.Error())
		s.outcome = tickets.OutcomeFailed
		return s.sayAndHangup([]menu.Prompt{s.system("goodbye")})
	}
	return s.finishRecording(groupID, afterHours, name, started, prev)
}

// finishRecording waits for the request being recorded to end, attaches
// it to the ticket and says goodbye. prev is the phase a caller who
// said nothing goes back to.
func (s *session) finishRecording(groupID string, afterHours bool, name string, started time.Time, prev phase) error {
	rec, err := s.awaitRecording(name, started, s.cfg.IVR.Message.MaxDuration)
	if err != nil {
		return err // released: the new controller keeps the recording
	}
	if rec.failed != "" {
		s.log.Error("recording_failed", "cause", rec.failed)
		s.outcome = tickets.OutcomeFailed
		return s.sayAndHangup([]menu.Prompt{s.system("goodbye")})
	}
	return s.recorded(groupID, afterHours, name, rec.duration, rec.talking, rec.hangup, prev)
}

// recording is how a recording the controller waited for ended.
type recording struct {
	duration, talking time.Duration
	failed            string // the cause of a RecordingFailed
	hangup            error  // the caller hung up during it
}

// awaitRecording waits for recording name, started at started and at most
// max long, to finish: Asterisk's durations when it says them, else the
// time it ran (a caller who hangs up keeps what they said; Asterisk
// reports it just after the hangup). Its error is errReleased only.
func (s *session) awaitRecording(name string, started time.Time, max time.Duration) (recording, error) {
	var rec recording
	for {
		w, err := s.next(max + resyncEvery)
		if errors.Is(err, errReleased) {
			return rec, err
		}
		if err != nil {
			rec.duration = s.now().Sub(started).Truncate(time.Second)
			rec.talking = rec.duration
			if ev, ok := s.awaitAfterHangup(2*time.Second, func(e ari.Event) bool {
				f, ok := e.(*ari.RecordingFinished)
				return ok && f.Recording.Name == name
			}); ok {
				f := ev.(*ari.RecordingFinished)
				rec.duration = time.Duration(f.Recording.Duration)
				rec.talking = cmp.Or(time.Duration(f.Recording.Talking), rec.duration)
			}
			rec.hangup = err
			return rec, nil
		}
		if w.timeout {
			if _, err := s.c.client.LiveRecording().Data(s.key.New(ari.LiveRecordingKey, name)); isNotFound(err) {
				rec.duration = s.now().Sub(started).Truncate(time.Second)
				rec.talking = rec.duration
				return rec, nil
			}
			continue
		}
		switch ev := w.ev.(type) {
		case *ari.RecordingFinished:
			if ev.Recording.Name == name {
				rec.duration, rec.talking = time.Duration(ev.Recording.Duration), time.Duration(ev.Recording.Talking)
				if rec.talking == 0 && ev.Recording.Silence == 0 {
					rec.talking = rec.duration // no silence detection: count all as speech
				}
				return rec, nil
			}
		case *ari.RecordingFailed:
			if ev.Recording.Name == name {
				rec.failed = ev.Recording.Cause
				return rec, nil
			}
		}
	}
}

// recorded keeps a request that has been recorded (or tells the caller
// nothing was heard) and says goodbye.
func (s *session) recorded(groupID string, afterHours bool, name string, duration, talking time.Duration, waitErr error, prev phase) error {
	if talking <= 0 {
		s.phase = prev
		if waitErr != nil {
			return waitErr
		}
		return s.sayAndHangup([]menu.Prompt{s.system("record_empty"), s.system("goodbye")})
	}
	s.saveMessage(groupID, afterHours, name, duration)
	if waitErr != nil {
		return waitErr
	}
	extra := s.ticketDigits()
	if afterHours {
		// Out of hours the request waits for the next working day: say which.
		sched := s.cfg.ServiceSchedule()
		if groupID != "" {
			sched = s.cfg.GroupSchedule(groupID)
		}
		day := sched.NextWorkingDay(s.now())
		extra = append(extra, "sound:"+menu.SystemSoundName("next_working_day"))
		extra = append(extra, dateMedia(day.In(s.cfg.Location(), 12*3600))...)
	}
	extra = append(extra, "sound:"+menu.SystemSoundName("goodbye"))
	saved := s.system("record_saved")
	if s.ticket.Number == "" {
		saved = s.system("record_saved_no_ticket")
	}
	return s.sayAndHangup([]menu.Prompt{saved}, extra...)
}

// saveMessage attaches the recording and makes the ticket a request due
// at the group's next opening.
func (s *session) saveMessage(groupID string, afterHours bool, name string, duration time.Duration) {
	switch {
	case afterHours:
		s.outcome = tickets.OutcomeAfterHoursMessage
	case s.outcome == "" || s.outcome == tickets.OutcomeAnswered:
		s.outcome = tickets.OutcomeMessageLeft
	}
	s.record(tickets.CallEvent{Kind: tickets.EventMessageLeft, Group: groupID, Detail: duration.String()})
	s.attach(tickets.Attachment{
		Name: name + ".wav", URI: recordingURI + name, ContentType: "audio/wav",
		Duration: duration, Size: 44 + int64(duration.Seconds()*16000), // 8 kHz, 16 bit, WAV header: an estimate
	})
	sched := s.cfg.ServiceSchedule()
	if groupID != "" {
		sched = s.cfg.GroupSchedule(groupID)
		s.group = groupID
	}
	upd := tickets.TicketUpdate{}
	if due, ok := sched.NextOpening(s.now()); ok {
		if sched.IsOpen(s.now()) {
			due = s.now()
		}
		upd.DueAt = &due
	}
	if afterHours {
		src := tickets.SourceAfterHours
		upd.Source = &src
		subject := "Richiesta registrata fuori orario da " + cmpStr(s.caller, "numero riservato")
		upd.Subject = &subject
	}
	if groupID != "" {
		upd.Group = &groupID
	}
	if cat := s.ticketCategory(groupID); cat != "" {
		upd.Category = &cat
	}
	s.updateTicket(upd)
	// Last: whoever hears of the message (live view, test phone) finds
	// the recording on the ticket already.
	s.emit(Event{Kind: EvMessage, Group: groupID, Seconds: duration.Seconds(), Ticket: string(s.ticket.Number)})
}

// status tells the caller the status of a ticket they key in, if it is
// one they may hear about (statusViewer); any other is "not found", as a
// number that does not exist.
func (s *session) status(act menu.Action) error {
	s.phase = phaseStatus
	s.checkpoint(resumeMenu, nil)
	s.updateTicketFromMenu("")
	prompts := act.Prompts
	for try := 0; try < s.cfg.IVR.MaxRetries; try++ {
		digits, timedOut, err := s.ask(prompts, act.Collect, true)
		if err != nil {
			return err
		}
		if timedOut || digits == "" {
			prompts = []menu.Prompt{s.system("no_input"), s.system("status_ask")}
			continue
		}
		s.emit(Event{Kind: EvKeys, Node: act.Node, Keys: digits, Terminated: s.terminated})
		n, err := tickets.ParseNumber(digits)
		if err != nil {
			prompts = []menu.Prompt{s.system("status_bad"), s.system("status_ask")}
			continue
		}
		ctx, cancel := s.storeCtx()
		t, err := s.c.opts.Store.FindTicketByNumber(ctx, n, s.statusViewer())
		cancel()
		if err != nil {
			if !errors.Is(err, fault.ErrNotFound) {
				s.log.Error("status_lookup_failed", "error", err.Error())
			}
			s.outcome = tickets.OutcomeStatusTold
			s.closeTicket = true
			s.record(tickets.CallEvent{Kind: tickets.EventStatusTold, Detail: string(n) + ": unknown"})
			s.emit(Event{Kind: EvStatus, Ticket: string(n), Result: "unknown"})
			return s.sayAndHangup([]menu.Prompt{s.system("status_unknown"), s.system("goodbye")})
		}
		s.outcome = tickets.OutcomeStatusTold
		s.closeTicket = true
		s.record(tickets.CallEvent{Kind: tickets.EventStatusTold, Detail: string(n) + ": " + string(t.Status)})
		s.emit(Event{Kind: EvStatus, Ticket: string(n), Result: string(t.Status)})
		return s.sayAndHangup([]menu.Prompt{s.system("status_is"), s.system("status_" + string(t.Status)), s.system("goodbye")})
	}
	s.outcome = tickets.OutcomeInvalidInput
	s.closeTicket = true
	return s.sayAndHangup([]menu.Prompt{s.system("too_many_errors"), s.system("goodbye")})
}

// attach adds a recording to the ticket, or keeps it for the spool.
func (s *session) attach(a tickets.Attachment) {
	if s.ticket.ID != 0 {
		ctx, cancel := s.storeCtx()
		_, err := s.c.opts.Store.AddAttachment(ctx, s.ticket.ID, a, tickets.Actor{Kind: tickets.ActorSystem, ID: "ivr"})
		cancel()
		if err == nil {
			return
		}
		s.storeFailed("attach_recording", err)
	}
	s.pendAttach = append(s.pendAttach, a)
}
