package arisim

import (
	"encoding/binary"
	"math"
	"time"
)

type liveRec struct {
	name, format, target string
	ch                   *channel
	state                string // queued, recording, paused, done, canceled, failed
	maxDur, maxSil       time.Duration
	terminate            string // "", "any", "#", "*"
	beep                 bool
	ifExists             string
	start                time.Time
	pausedAt             time.Time
	paused               time.Duration
	durTimer, silTimer   *timerEntry
	total, talking       int // seconds, -1 until known
	cause                string
	muted                bool
	// A bridge's recording (bridge_recording.go): the bridge, and the
	// uniqueid of the recorder channel in it; ch is nil.
	br       *bridge
	recorder string
}

func (r *liveRec) terminatesOn(d byte) bool {
	switch r.terminate {
	case "any":
		return true
	case "#", "*":
		return r.terminate[0] == d
	}
	return false
}

func (r *liveRec) finished() bool {
	return r.state == "done" || r.state == "canceled" || r.state == "failed"
}

// startRecording runs after the 201: the channel is answered if needed,
// RecordingStarted is emitted, and the end conditions are scheduled
// (maxDurationSeconds, maxSilenceSeconds). Must hold s.mu.
func (s *Server) startRecording(r *liveRec) {
	ch := r.ch
	if r.finished() || ch.gone || ch.rec != r {
		return
	}
	now := s.clk.Now()
	if ch.bridge != nil {
		s.finishRecording(r, now, "failed", "Cannot record channel while in bridge")
		return
	}
	if !ch.answered {
		s.answer(ch, now)
	}
	s.chEmit(ch, func(app string) []byte { return s.evRecording("RecordingStarted", r, app, now) })
	s.notify(ch.call, CallerEvent{Kind: EventRecordingStarted, Time: now, Recording: r.name, Beep: r.beep})
	// The caller speaks from the recording's start, which the simulator
	// counts from the request (as the replayed Asterisk traces want), not
	// from this moment: on a fast simulated clock the moments in between would
	// make durations depend on the machine's load (a golden transcript
	// said 11 s once instead of 10).
	if c := ch.call; c != nil && c.opts.SpeakOnRecord > 0 {
		c.addTalk(r.start, r.start.Add(c.opts.SpeakOnRecord))
	}
	if r.maxDur > 0 {
		r.durTimer = s.atTime(r.start.Add(r.maxDur), func() {
			s.finishRecording(r, r.start.Add(r.maxDur+r.paused), "done", "")
		})
	}
	s.recScheduleSilence(r, now)
}

// silentSince is when the party last stopped talking during r (a future
// instant while it talks), or when r started if it has not talked.
func (s *Server) silentSince(r *liveRec, now time.Time) time.Time {
	last := r.start
	if c := r.ch.call; c != nil {
		for _, iv := range c.talk {
			if !iv.from.After(now) && iv.to.After(last) {
				last = iv.to
			}
		}
	}
	return last
}

// recScheduleSilence (re)arms the maxSilenceSeconds timer. Must hold s.mu.
func (s *Server) recScheduleSilence(r *liveRec, now time.Time) {
	if r.maxSil <= 0 || r.state != "recording" {
		return
	}
	s.cancel(r.silTimer)
	at := s.silentSince(r, now).Add(r.maxSil)
	r.silTimer = s.atTime(at, func() {
		now := s.clk.Now()
		since := s.silentSince(r, now)
		if since.Add(r.maxSil).After(now) {
			s.recScheduleSilence(r, now)
			return
		}
		// Asterisk trims the trailing silence, keeping 200 ms of it.
		end := since.Add(200 * time.Millisecond)
		if end.After(now) {
			end = now
		}
		s.finishRecording(r, end, "done", "")
	})
}

// finishRecording ends r at clock instant end with state done, canceled or
// failed: RecordingFinished (or RecordingFailed) with whole seconds in
// duration, talking_duration and silence_duration (the last two only with
// maxSilenceSeconds, as on Asterisk). A done recording becomes a stored
// one; a canceled one deletes the file. Must hold s.mu.
func (s *Server) finishRecording(r *liveRec, end time.Time, state, cause string) {
	if r.finished() {
		return
	}
	now := s.clk.Now()
	s.cancel(r.durTimer)
	s.cancel(r.silTimer)
	r.durTimer, r.silTimer = nil, nil
	if r.state == "paused" {
		r.paused += end.Sub(r.pausedAt)
	}
	wasQueued := r.state == "queued"
	total := end.Sub(r.start) - r.paused
	if total < 0 || wasQueued {
		total = 0
	}
	var talk []interval
	var talked time.Duration
	if r.br != nil {
		// A conversation: taken as speech throughout.
		talk = []interval{{time.Time{}, time.Time{}.Add(total)}}
		talked = total
	} else if c := r.ch.call; c != nil {
		for _, iv := range c.talk {
			from, to := iv.from, iv.to
			if from.Before(r.start) {
				from = r.start
			}
			if to.After(end) {
				to = end
			}
			if to.After(from) {
				talk = append(talk, interval{time.Time{}.Add(from.Sub(r.start)), time.Time{}.Add(to.Sub(r.start))})
				talked += to.Sub(from)
			}
		}
	}
	r.state = state
	r.cause = cause
	if state != "failed" {
		r.total = int(total / time.Second)
		if r.maxSil > 0 {
			r.talking = int(talked / time.Second)
			if r.talking > r.total {
				r.talking = r.total
			}
		}
	}
	switch state {
	case "done":
		s.stored.put(storedRec{name: r.name, format: r.format, dur: total, talk: talk}, r.ifExists == "append")
	case "canceled":
		s.stored.remove(r.name)
	}
	typ := "RecordingFinished"
	if state == "failed" {
		typ = "RecordingFailed"
	}
	if r.br != nil {
		dropBridgeRecording(r)
		if s.liveRecs[r.name] == r {
			delete(s.liveRecs, r.name)
		}
		s.emitBridgeRecording(r, typ, now)
		return
	}
	ch := r.ch
	s.chEmit(ch, func(app string) []byte { return s.evRecording(typ, r, app, now) })
	s.notify(ch.call, CallerEvent{Kind: EventRecordingFinished, Time: now, Recording: r.name, Duration: total, State: state})
	if s.liveRecs[r.name] == r {
		delete(s.liveRecs, r.name)
	}
	if ch.rec == r {
		ch.rec = nil
	}
}

// wavFile renders a stored recording as an 8 kHz mono 16-bit PCM WAV:
// silence, with a 440 Hz tone where the party talked.
func wavFile(r *storedRec) []byte {
	const rate = 8000
	n := int(r.dur * rate / time.Second)
	if n < 0 {
		n = 0
	}
	b := make([]byte, 44+2*n)
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+2*n))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1) // PCM
	binary.LittleEndian.PutUint16(b[22:], 1) // mono
	binary.LittleEndian.PutUint32(b[24:], rate)
	binary.LittleEndian.PutUint32(b[28:], rate*2)
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(2*n))
	var zero time.Time
	for _, iv := range r.talk {
		from := int(iv.from.Sub(zero) * rate / time.Second)
		to := int(iv.to.Sub(zero) * rate / time.Second)
		if from < 0 {
			from = 0
		}
		if to > n {
			to = n
		}
		for i := from; i < to; i++ {
			v := int16(6000 * math.Sin(2*math.Pi*440*float64(i)/rate))
			binary.LittleEndian.PutUint16(b[44+2*i:], uint16(v))
		}
	}
	return b
}
