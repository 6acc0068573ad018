package ivr

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/CyCoreSystems/ari/v5"

	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// wake is what a session woke up for.
type wake struct {
	ev      ari.Event
	timeout bool
	resync  bool
	offer   bool // the queue has an answer (session.wait)
	// act is a request from the panel, given only to a step that takes
	// requests (s.acting); it must be answered with act.reply.
	act *actRequest
}

// next waits up to d (clock time) for the next event of this call. Key
// presses are kept in s.digits whatever the session is doing, so keys
// pressed during or between prompts are never lost. The caller's hangup
// returns errHangup.
func (s *session) next(d time.Duration) (wake, error) {
	if s.released {
		return wake{}, errReleased
	}
	if s.shutdown {
		return wake{}, errShutdown
	}
	if s.hungUp {
		return wake{}, errHangup
	}
	timer := s.clock.NewTimer(d)
	defer timer.Stop()
	for {
		if it, ok := s.inbox.pop(); ok {
			if it.release {
				s.released = true
				return wake{}, errReleased
			}
			if it.shutdown {
				s.shutdown = true
				return wake{}, errShutdown
			}
			if it.offer {
				return wake{offer: true}, nil
			}
			if it.act != nil {
				switch {
				case s.acting:
					return wake{act: it.act}, nil
				case s.actLater:
					// A step that takes requests is busy (a queue's
					// announcement): it answers between two prompts.
					s.later = append(s.later, it.act)
				default:
					it.act.reply(ErrNotNow)
				}
				continue
			}
			if it.resync {
				if !s.channelAlive() {
					if it.restart {
						// Asterisk cut the call, not the caller.
						s.hangupBy, s.cut = tickets.HangupSystem, "cut by an Asterisk restart"
					}
					return wake{}, s.goneNow()
				}
				return wake{resync: true}, nil
			}
			switch ev := it.ev.(type) {
			case *ari.ChannelDtmfReceived:
				if ev.Channel.ID == s.channelID && ev.Digit != "" {
					s.digits = append(s.digits, ev.Digit[0])
					s.keyAt = it.at
				}
			case *ari.StasisEnd:
				if ev.Channel.ID == s.channelID {
					s.sawEnd = true
					return wake{}, s.goneNow()
				}
			case *ari.ChannelHangupRequest:
				if ev.Channel.ID == s.channelID {
					s.sawEnd = true
					if ev.Soft && !s.hungUp {
						// Requested inside Asterisk (a shutdown, the CLI, AMI),
						// not by the caller's phone.
						s.hangupBy = tickets.HangupSystem
						s.cut = fmt.Sprintf("hung up inside Asterisk (cause %d)", ev.Cause)
					}
					return wake{}, s.goneNow()
				}
			case *ari.ChannelDestroyed:
				if ev.Channel.ID == s.channelID {
					s.sawEnd, s.lastCause = true, ev.Cause
					return wake{}, s.goneNow()
				}
			}
			return wake{ev: it.ev}, nil
		}
		select {
		case <-s.inbox.signal:
		case <-timer.C:
			return wake{timeout: true}, nil
		}
	}
}

// awaitAfterHangup reads the events still arriving for a call that has
// hung up (Asterisk finishes a recording after the hangup) until one
// matches or d passes.
func (s *session) awaitAfterHangup(d time.Duration, match func(ari.Event) bool) (ari.Event, bool) {
	timer := s.clock.NewTimer(d)
	defer timer.Stop()
	for {
		for {
			it, ok := s.inbox.pop()
			if !ok {
				break
			}
			if it.ev != nil && match(it.ev) {
				return it.ev, true
			}
		}
		select {
		case <-s.inbox.signal:
		case <-timer.C:
			return nil, false
		}
	}
}

func (s *session) goneNow() error {
	if !s.hungUp {
		s.hungUp = true
		s.endedAt = cmp.Or(s.endedAt, s.now())
		s.hangupBy = cmpStr(s.hangupBy, tickets.HangupCaller)
	}
	return errHangup
}

// channelAlive asks Asterisk whether the caller is still there.
func (s *session) channelAlive() bool {
	_, err := s.c.client.Channel().Data(s.key)
	return err == nil || !isNotFound(err)
}

// play plays prompts (and extra media such as "digits:123") and returns
// when they end. With bargeIn a key stops them at once, and keys already
// typed ahead skip them.
//
// Each piece is a playback of its own, started when the previous one
// ends: ari/v5 sends the media as one JSON string, which Asterisk takes
// as a single file name (only a JSON array or the query string give it a
// list), and a client speaking ARI over a bus (ari-proxy) sends the same
// string on.
func (s *session) play(prompts []menu.Prompt, bargeIn bool, extra ...string) error {
	if bargeIn && len(s.digits) > 0 {
		return nil
	}
	media := make([]string, 0, len(prompts)+len(extra))
	names := make([]string, 0, len(prompts))
	texts := make([]string, 0, len(prompts))
	for _, p := range prompts {
		media = append(media, "sound:"+p.Sound)
		names = append(names, p.Name)
		texts = append(texts, p.Text)
	}
	media = append(media, extra...)
	if len(media) == 0 {
		return nil
	}
	if !s.keyAt.IsZero() {
		d := time.Since(s.keyAt)
		s.c.metrics.keyToPlay.Observe(d.Seconds())
		if s.c.opts.KeyLatency != nil {
			s.c.opts.KeyLatency(d)
		}
		s.keyAt = time.Time{}
	}
	started := func() {
		s.emit(Event{Kind: EvPrompt, Prompt: append(names, extra...), Text: strings.Join(texts, " ")})
		s.flush() // overlaps the store write with the prompt
	}
	for _, m := range media {
		done, err := s.playPiece(m, bargeIn, started)
		if err != nil || done {
			return err
		}
		started = nil
	}
	return nil
}

// playPiece plays one media URI to its end, calling started (if not nil)
// once Asterisk has it. It reports done when the rest of the prompt must
// be skipped (a key with bargeIn, or an operator became free).
func (s *session) playPiece(media string, bargeIn bool, started func()) (done bool, err error) {
	id := s.c.nextID("pb")
	s.c.register(s, ari.PlaybackKey, id)
	if !s.arrived.IsZero() {
		// The caller's wait for the first sound (the dialplan answered).
		s.c.metrics.firstPrompt.Observe(time.Since(s.arrived).Seconds())
		s.arrived = time.Time{}
	}
	_, err = s.c.client.Channel().Play(s.key, id, media)
	if started != nil {
		started()
	}
	if err != nil {
		if isNotFound(err) {
			return true, s.goneNow()
		}
		// The caller hears nothing of this piece but the call goes on.
		s.log.Error("play_failed", "media", media, "error", err.Error())
		return false, nil
	}
	for {
		w, err := s.next(resyncEvery)
		if err != nil {
			return true, err
		}
		switch {
		case w.timeout || w.resync:
			if _, err := s.c.client.Playback().Data(s.key.New(ari.PlaybackKey, id)); isNotFound(err) {
				return false, nil // it ended while its events were lost
			}
			continue
		case w.offer && (s.offerWait == nil || !s.offerWait.stopped):
			// An operator is free: ring them now, not after the prompt.
			// (A wait stopped meanwhile, e.g. for a callback whose
			// confirmation plays now, says nothing.)
			s.stopPlayback(id)
			return true, nil
		case w.offer:
			continue
		case bargeIn && len(s.digits) > 0:
			began := time.Now()
			s.stopPlayback(id)
			if !s.keyAt.IsZero() {
				// Waiting for Asterisk to stop the prompt is not the
				// controller's latency.
				s.keyAt = s.keyAt.Add(time.Since(began))
			}
			return true, nil
		}
		if f, ok := w.ev.(*ari.PlaybackFinished); ok && f.Playback.ID == id {
			if f.Playback.State == "failed" {
				s.c.metrics.promptFailed.Inc()
				s.log.Error("prompt_failed", "media", f.Playback.MediaURI)
			}
			return false, nil
		}
	}
}

func (s *session) stopPlayback(id string) {
	if err := s.c.client.Playback().Stop(s.key.New(ari.PlaybackKey, id)); err != nil && !isNotFound(err) {
		s.log.Warn("stop_playback_failed", "error", err.Error())
	}
}

// ask plays prompts with barge-in and collects keys as c says. It returns
// the keys (without the terminator), or timedOut when none came in time.
func (s *session) ask(prompts []menu.Prompt, c menu.Collect, bargeIn bool, extra ...string) (string, bool, error) {
	if err := s.play(prompts, bargeIn, extra...); err != nil {
		return "", false, err
	}
	return s.collect(c)
}

// collect gathers keys as c says. An entry with a terminator (PINs,
// ticket numbers) goes on until the terminator or a pause, so that an
// entry longer than MaxDigits comes back whole and is refused, instead of
// spilling its last keys into the next question; without a terminator it
// ends at MaxDigits. A pause is measured from the last key.
func (s *session) collect(c menu.Collect) (string, bool, error) {
	var got []byte
	s.terminated = false
	if c.MaxDigits < 1 {
		c.MaxDigits = 1
	}
	deadline := s.now().Add(c.FirstDigitTimeout)
	for {
		for len(s.digits) > 0 {
			d := s.digits[0]
			s.digits = s.digits[1:]
			if c.Terminator != "" && d == c.Terminator[0] {
				s.terminated = true
				return string(got), false, nil
			}
			if len(got) < maxEntry {
				got = append(got, d)
			}
			if c.Terminator == "" && len(got) >= c.MaxDigits {
				return string(got), false, nil
			}
			deadline = s.now().Add(c.InterDigitTimeout)
		}
		w, err := s.next(max(deadline.Sub(s.now()), 0))
		if err != nil {
			return "", false, err
		}
		if w.timeout {
			if len(got) == 0 {
				return "", true, nil
			}
			return string(got), false, nil
		}
	}
}

// maxEntry bounds what one entry keeps, whatever the caller keys.
const maxEntry = 32

// sayAndHangup plays prompts to the end, then the call ends.
func (s *session) sayAndHangup(prompts []menu.Prompt, extra ...string) error {
	s.phase = cmpStr(s.phase, phaseEnding)
	if err := s.play(prompts, false, extra...); err != nil {
		return err
	}
	s.hangupBy = tickets.HangupSystem
	return nil
}
