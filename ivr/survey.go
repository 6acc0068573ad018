package ivr

import (
	"context"
	"errors"
	"net/url"
	"strconv"

	"github.com/CyCoreSystems/ari/v5"

	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// surveyStore is a store that keeps post-call surveys (tickets.Store,
// MemoryRecorder).
type surveyStore interface {
	SaveSurvey(ctx context.Context, sv tickets.Survey) error
}

// surveyDue reports a conversation the operator ended with the caller
// still on the line, in a group that asks for a rating (Group.Survey). A
// caller who hung up first gets none.
func (s *session) surveyDue() bool {
	return s.phase == phaseTalking && s.hangupBy == tickets.HangupOperator && !s.hungUp &&
		!s.released && !s.shutdown && s.cfg.SurveyOf(s.talkGroup) != nil
}

// survey asks the caller, out of the bridge, to rate the conversation
// 1–5 and, if the group wants, to leave a short recorded comment. A
// hangup, two silences or two wrong keys skip it; whatever happens the
// call record keeps its end (hung up by the operator, at that time).
func (s *session) survey() error {
	sv := s.cfg.SurveyOf(s.talkGroup)
	s.phase = phaseSurvey
	rec := tickets.Survey{CallID: s.call.ID, TicketID: s.ticket.ID, AskedAt: s.now(), Group: s.talkGroup, Operator: s.talkOperator}
	s.checkpoint(resumeSurvey, url.Values{"g": {s.talkGroup}, "op": {s.talkOperator}})
	s.emit(Event{Kind: EvSurvey, Result: "asked", Group: s.talkGroup, Operator: s.talkOperator, Ticket: string(s.ticket.Number)})
	s.digits = s.digits[:0] // keys pressed while talking answer nothing here
	rating, skip, err := s.askRating(sv)
	if skip != "" || err != nil {
		return s.surveySkipped(rec, skip, err)
	}
	rec.Rating, rec.RatedAt = rating, s.now()
	s.c.metrics.surveyRatings.WithLabelValues(s.talkGroup).Observe(float64(rating))
	s.c.metrics.surveysGiven.WithLabelValues(s.talkGroup).Inc()
	s.record(tickets.CallEvent{Kind: tickets.EventSurveyRated, Group: s.talkGroup, Operator: s.talkOperator, Detail: strconv.Itoa(rating)})
	s.saveSurvey(rec)
	s.emit(Event{Kind: EvSurvey, Result: "rated", Rating: rating, Group: s.talkGroup, Operator: s.talkOperator,
		Ticket: string(s.ticket.Number)})
	if sv.Comment {
		if err := s.surveyComment(sv, &rec); err != nil {
			return err
		}
	}
	return s.play([]menu.Prompt{s.system("survey_thanks")}, false)
}

// askRating asks for a key 1–5; a silence or a wrong key asks once more.
func (s *session) askRating(sv *menu.Survey) (int, tickets.SurveySkip, error) {
	collect := menu.Collect{MaxDigits: 1, FirstDigitTimeout: sv.Timeout}
	prompts := []menu.Prompt{s.system("survey_ask")}
	for try := 0; ; try++ {
		key, timedOut, err := s.ask(prompts, collect, true)
		if err != nil {
			return 0, tickets.SurveyHangup, err
		}
		if timedOut {
			s.emit(Event{Kind: EvTimeout, Node: surveyNode})
			if try > 0 {
				return 0, tickets.SurveyTimeout, nil
			}
			prompts = []menu.Prompt{s.system("no_input"), s.system("survey_ask")}
			continue
		}
		s.emit(Event{Kind: EvKeys, Node: surveyNode, Keys: key})
		if len(key) == 1 && key[0] >= '1' && key[0] <= '5' {
			return int(key[0] - '0'), "", nil
		}
		if try > 0 {
			return 0, tickets.SurveyInvalid, nil
		}
		prompts = []menu.Prompt{s.system("invalid"), s.system("survey_ask")}
	}
}

// surveyNode names the survey in events of keys and timeouts.
const surveyNode = "survey"

// surveySkipped records a survey without a rating and says goodbye to a
// caller still there. A call released to another controller or handed
// back to the dialplan is not a skip: nothing is recorded.
func (s *session) surveySkipped(rec tickets.Survey, why tickets.SurveySkip, err error) error {
	if errors.Is(err, errReleased) || errors.Is(err, errShutdown) {
		return err
	}
	rec.Skipped = why
	s.c.metrics.surveysSkipped.WithLabelValues(rec.Group, string(why)).Inc()
	s.record(tickets.CallEvent{Kind: tickets.EventSurveySkipped, Group: rec.Group, Operator: rec.Operator, Detail: string(why)})
	s.saveSurvey(rec)
	s.emit(Event{Kind: EvSurvey, Result: "skipped", Reason: string(why), Group: rec.Group, Operator: rec.Operator,
		Ticket: string(s.ticket.Number)})
	if err != nil {
		return err
	}
	return s.play([]menu.Prompt{s.system("goodbye")}, false)
}

// saveSurvey writes the survey with the call; while the store is down
// (or the call has no record yet) it waits for the spool, as the rest.
func (s *session) saveSurvey(rec tickets.Survey) {
	st, ok := s.c.opts.Store.(surveyStore)
	if !ok {
		return
	}
	rec.CallID, rec.TicketID = s.call.ID, s.ticket.ID
	if rec.CallID == 0 {
		s.pendSurvey = &rec
		return
	}
	ctx, cancel := s.storeCtx()
	defer cancel()
	if err := st.SaveSurvey(ctx, rec); err != nil {
		s.storeFailed("save_survey", err)
		s.pendSurvey = &rec
		return
	}
	s.pendSurvey = nil
}

// surveyComment records the caller's comment after the beep (# ends it)
// and keeps it with the survey and, as a recording, on the ticket. A
// caller who hangs up while speaking keeps what they said.
func (s *session) surveyComment(sv *menu.Survey, rec *tickets.Survey) error {
	if err := s.play([]menu.Prompt{s.system("survey_comment")}, false); err != nil {
		return err
	}
	s.digits = s.digits[:0]
	started := s.now()
	name := "survey-" + cmpStr(string(s.ticket.Number), s.channelID) + "-" +
		strconv.FormatInt(started.UnixMilli(), 36) + strconv.FormatUint(s.c.seq.Add(1), 10)
	s.c.register(s, ari.LiveRecordingKey, name)
	s.emit(Event{Kind: EvSurvey, Result: "comment", Group: rec.Group, Operator: rec.Operator})
	_, err := s.c.client.Channel().Record(s.key, name, &ari.RecordingOptions{
		Format: "wav", MaxDuration: sv.CommentMax, MaxSilence: s.cfg.IVR.Message.MaxSilence,
		Beep: true, Terminate: "#", Exists: "overwrite",
	})
	if err != nil {
		if isNotFound(err) {
			return s.goneNow()
		}
		s.log.Warn("survey_record_failed", "error", err.Error())
		return nil // the rating is kept; no comment
	}
	r, err := s.awaitRecording(name, started, sv.CommentMax)
	if err != nil {
		return err
	}
	if r.failed != "" {
		s.log.Warn("survey_recording_failed", "cause", r.failed)
		return nil
	}
	duration, talking, waitErr := r.duration, r.talking, r.hangup
	if talking > 0 && duration > 0 {
		rec.CommentURI, rec.CommentDuration = recordingURI+name, duration
		s.saveSurvey(*rec)
		s.attach(tickets.Attachment{Name: name + ".wav", URI: recordingURI + name, ContentType: "audio/wav",
			Duration: duration, Size: 44 + int64(duration.Seconds()*16000)})
		s.emit(Event{Kind: EvSurvey, Result: "commented", Group: rec.Group, Operator: rec.Operator, Seconds: duration.Seconds()})
	}
	return waitErr
}

// recordingURI prefixes a recording kept by Asterisk, as the panel plays it.
const recordingURI = "ari:recording:"
