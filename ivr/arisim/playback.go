package arisim

import (
	"path"
	"strconv"
	"strings"
	"time"
)

type playQueue struct{ q []*playback }

// current is the playback being played (or paused), if any.
func (p *playQueue) current() *playback {
	if len(p.q) > 0 && p.q[0].started {
		return p.q[0]
	}
	return nil
}

type playback struct {
	id     string
	media  []string
	idx    int
	lang   string
	target string // "channel:<id>" or "bridge:<id>"
	ch     *channel
	br     *bridge

	state        string // queued, playing, paused, done, failed
	started      bool
	canceled     bool
	controllable bool
	timer        *timerEntry
	itemEnd      time.Time
	itemDur      time.Duration
	remaining    time.Duration
}

func (pb *playback) queue() *playQueue {
	if pb.ch != nil {
		return &pb.ch.pbq
	}
	return &pb.br.pbq
}

type mediaKind int

const (
	mediaOK          mediaKind = iota
	mediaMissing               // the file does not exist: PlaybackFinished "failed"
	mediaUnsupported           // Asterisk logs an error and forgets the playback: no PlaybackFinished
	mediaEndless               // tone: plays until stopped
)

// EstimateDuration is the default length of a media URI when neither
// Options.Sounds nor Options.SoundDuration says otherwise:
//
//   - sound:NAME — 60 ms per character of the file name (hello-world: 660 ms,
//     the real one lasts 646 ms), at least 300 ms; "beep" 300 ms;
//     "silence/N" N seconds
//   - digits:D — 400 ms per character (digits:12 lasted 815 ms in the lab)
//   - number:N — 600 ms per digit
//   - characters:S — 500 ms per character
//   - recording:NAME — 1 s (the server uses the stored recording's length)
//   - tone:... — 0: a tone plays until it is stopped
func EstimateDuration(mediaURI string) time.Duration {
	scheme, rest, _ := strings.Cut(mediaURI, ":")
	switch scheme {
	case "sound":
		base := path.Base(rest)
		if strings.HasPrefix(rest, "silence/") {
			if n, err := strconv.Atoi(base); err == nil {
				return time.Duration(n) * time.Second
			}
		}
		if base == "beep" {
			return 300 * time.Millisecond
		}
		d := time.Duration(len(base)) * 60 * time.Millisecond
		if d < 300*time.Millisecond {
			d = 300 * time.Millisecond
		}
		return d
	case "digits":
		return time.Duration(len(rest)) * 400 * time.Millisecond
	case "number":
		return time.Duration(len(strings.TrimLeft(rest, "-+"))) * 600 * time.Millisecond
	case "characters":
		return time.Duration(len(rest)) * 500 * time.Millisecond
	case "recording":
		return time.Second
	}
	return 0
}

// media decides how one media URI plays. Must hold s.mu.
func (s *Server) media(uri, lang string) (time.Duration, mediaKind) {
	scheme, rest, ok := strings.Cut(uri, ":")
	if !ok {
		return 0, mediaUnsupported
	}
	switch scheme {
	case "tone":
		return 0, mediaEndless
	case "sound", "recording", "digits", "characters":
	case "number":
		if _, err := strconv.Atoi(rest); err != nil {
			return 0, mediaUnsupported // Asterisk logs "number is invalid" and forgets it
		}
	default:
		return 0, mediaUnsupported
	}
	if s.opts.SoundDuration != nil {
		d, ok := s.opts.SoundDuration(uri, lang)
		if !ok {
			return 0, mediaMissing
		}
		return d, mediaOK
	}
	switch scheme {
	case "sound":
		if d, ok := s.opts.Sounds[rest]; ok {
			return d, mediaOK
		}
		// No sound file is named with a comma: such a name is a list
		// sent as one JSON string, which Asterisk takes whole.
		if s.opts.StrictSounds || strings.Contains(rest, ",") {
			return 0, mediaMissing
		}
	case "recording":
		r, ok := s.stored.get(rest)
		if !ok {
			return 0, mediaMissing
		}
		return r.dur, mediaOK
	}
	return EstimateDuration(uri), mediaOK
}

func controllableMedia(uri string) bool {
	return strings.HasPrefix(uri, "sound:") || strings.HasPrefix(uri, "recording:") || strings.HasPrefix(uri, "tone:")
}

// queuePlayback adds pb to its target's queue and starts it if nothing
// plays there (emitting PlaybackStarted now). Must hold s.mu.
func (s *Server) queuePlayback(pb *playback, now time.Time) {
	q := pb.queue()
	q.q = append(q.q, pb)
	s.playbacks[pb.id] = append(s.playbacks[pb.id], pb)
	if len(q.q) == 1 {
		s.startPlayback(pb, now)
	}
}

func (s *Server) startPlayback(pb *playback, now time.Time) {
	pb.started = true
	s.playing++
	if pb.br != nil {
		pb.br.retech()
	}
	if pb.canceled {
		// DELETE while queued: Asterisk publishes it as done when its
		// turn comes.
		s.endPlayback(pb, now, "done", true)
		return
	}
	s.startItem(pb, now)
}

func (s *Server) startItem(pb *playback, now time.Time) {
	uri := pb.media[pb.idx]
	pb.state = "playing"
	pb.controllable = controllableMedia(uri)
	s.pbEmit(pb, "PlaybackStarted", "", now)
	s.pbNotify(pb, CallerEvent{Kind: EventPlaybackStarted, Time: now, Media: uri, Lang: pb.lang, PlaybackID: pb.id})
	d, kind := s.media(uri, pb.lang)
	switch kind {
	case mediaUnsupported:
		s.missing = append(s.missing, uri)
		s.log.Warn("arisim: unsupported media scheme, the playback is dropped", "media", uri, "playback", pb.id)
		s.pbNotify(pb, CallerEvent{Kind: EventPlaybackFinished, Time: now, Media: uri, Lang: pb.lang, PlaybackID: pb.id, State: "failed"})
		s.endPlayback(pb, now, "failed", false)
	case mediaMissing:
		s.missing = append(s.missing, uri)
		s.log.Info("arisim: playback failed: missing media", "media", uri, "playback", pb.id)
		if pb.idx+1 < len(pb.media) {
			// Inside a list Asterisk skips it and goes on: Continuing,
			// not failed (play-media/p5); only a missing last item fails
			// the playback (p5b).
			s.nextItem(pb, now, "failed")
			return
		}
		s.endPlayback(pb, now, "failed", true)
	case mediaEndless:
		pb.itemDur = 0
	default:
		pb.itemDur = d
		pb.itemEnd = now.Add(d)
		pb.timer = s.atTime(pb.itemEnd, func() { s.itemDone(pb) })
	}
}

// itemDone: the current media item played to its end.
func (s *Server) itemDone(pb *playback) {
	now := s.clk.Now()
	pb.timer = nil
	if pb.idx+1 < len(pb.media) {
		s.nextItem(pb, now, "done")
		return
	}
	s.endPlayback(pb, now, "done", true)
}

// nextItem moves a list on to its next item: PlaybackContinuing for the
// one that ended (the caller heard it end as callerState), then
// PlaybackStarted for the next.
func (s *Server) nextItem(pb *playback, now time.Time, callerState string) {
	s.pbNotify(pb, CallerEvent{Kind: EventPlaybackFinished, Time: now, Media: pb.media[pb.idx], Lang: pb.lang, PlaybackID: pb.id, State: callerState})
	s.pbEmit(pb, "PlaybackContinuing", "continuing", now)
	pb.idx++
	s.startItem(pb, now)
}

// endPlayback finishes pb with state (done or failed), emitting
// PlaybackFinished if emit, then starts the next queued playback.
func (s *Server) endPlayback(pb *playback, now time.Time, state string, emit bool) {
	s.cancel(pb.timer)
	pb.timer = nil
	pb.state = state
	if emit {
		s.pbEmit(pb, "PlaybackFinished", state, now)
		st := state
		if pb.canceled {
			st = "stopped"
		}
		s.pbNotify(pb, CallerEvent{Kind: EventPlaybackFinished, Time: now, Media: pb.media[pb.idx], Lang: pb.lang, PlaybackID: pb.id, State: st})
	}
	q := pb.queue()
	s.removePlayback(pb)
	if len(q.q) > 0 && !q.q[0].started {
		s.startPlayback(q.q[0], now)
	}
}

// stopPlayback is DELETE /playbacks/{id}: a playing playback ends "done"
// at once; a queued one is canceled and reported when its turn comes.
func (s *Server) stopPlayback(pb *playback, now time.Time) {
	if !pb.started {
		pb.canceled = true
		pb.state = "done"
		return
	}
	pb.canceled = true
	s.endPlayback(pb, now, "done", true)
}

// removePlayback forgets pb (not its queue successors).
func (s *Server) removePlayback(pb *playback) {
	s.cancel(pb.timer)
	pb.timer = nil
	q := pb.queue()
	for i, o := range q.q {
		if o == pb {
			q.q = append(q.q[:i:i], q.q[i+1:]...)
			break
		}
	}
	l := s.playbacks[pb.id]
	for i, o := range l {
		if o == pb {
			l = append(l[:i:i], l[i+1:]...)
			break
		}
	}
	if len(l) == 0 {
		delete(s.playbacks, pb.id)
	} else {
		s.playbacks[pb.id] = l
	}
	if pb.started {
		s.playing--
		pb.started = false
	}
	if pb.br != nil {
		pb.br.retech()
	}
}

// stopQueue ends the current playback of q (emitting PlaybackFinished
// with state if emitState is not empty) and drops the queued ones silently.
func (s *Server) stopQueue(q *playQueue, now time.Time, emitState string) {
	for len(q.q) > 0 {
		pb := q.q[len(q.q)-1]
		if pb.started && emitState != "" {
			pb.state = emitState
			s.pbEmit(pb, "PlaybackFinished", emitState, now)
			s.pbNotify(pb, CallerEvent{Kind: EventPlaybackFinished, Time: now, Media: pb.media[pb.idx], Lang: pb.lang, PlaybackID: pb.id, State: emitState})
		}
		s.removePlayback(pb)
	}
}

// stopChannelMedia ends everything the channel hears; a running playback
// is reported "failed" (as on a hangup) when report is set.
func (s *Server) stopChannelMedia(ch *channel, now time.Time, report bool) {
	state := ""
	if report {
		state = "failed"
	}
	s.stopQueue(&ch.pbq, now, state)
	ch.mohOn, ch.silence, ch.ringing, ch.held = false, false, false, false
}

func (s *Server) pbEmit(pb *playback, typ, state string, now time.Time) {
	if pb.ch != nil {
		s.chEmit(pb.ch, func(app string) []byte { return s.evPlayback(typ, pb, state, app, now) })
		return
	}
	apps := s.bridgeApps(pb.br, nil)
	for _, ch := range pb.br.chans {
		if ch.subscribed && ch.app != "" && !containsString(apps, ch.app) {
			apps = append(apps, ch.app)
		}
	}
	for _, app := range apps {
		s.emit(app, s.evPlayback(typ, pb, state, app, now))
	}
}

func (s *Server) pbNotify(pb *playback, ev CallerEvent) {
	if pb.ch != nil {
		s.notify(pb.ch.call, ev)
		return
	}
	ev.Bridge = pb.br.id
	for _, ch := range pb.br.chans {
		s.notify(ch.call, ev)
	}
}

func containsString(l []string, s string) bool {
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}

// findPlayback returns the playback with that id; with duplicates, the
// one playing.
func (s *Server) findPlayback(id string) *playback {
	l := s.playbacks[id]
	for _, pb := range l {
		if pb.started {
			return pb
		}
	}
	if len(l) > 0 {
		return l[0]
	}
	return nil
}

// controlPlayback implements POST /playbacks/{id}/control.
func (s *Server) controlPlayback(pb *playback, op string, now time.Time) (int, string) {
	playing := pb.started && pb.state == "playing"
	paused := pb.started && pb.state == "paused"
	notPlaying := func() (int, string) { return 409, "Can only " + op + " while media is playing" }
	failed := func() (int, string) { return 500, "Could not " + op + " playback" }
	switch op {
	case "pause":
		if paused {
			return 204, ""
		}
		if !playing {
			return notPlaying()
		}
		if !pb.controllable {
			return failed()
		}
		if pb.timer != nil {
			pb.remaining = pb.itemEnd.Sub(now)
			s.cancel(pb.timer)
			pb.timer = nil
		}
		pb.state = "paused"
	case "unpause":
		if playing {
			return 204, ""
		}
		if !paused {
			return notPlaying()
		}
		pb.state = "playing"
		s.pbEmit(pb, "PlaybackStarted", "", now)
		if pb.itemDur > 0 {
			s.reschedule(pb, now.Add(pb.remaining))
		}
	case "restart":
		if !pb.started {
			return 204, ""
		}
		if !playing {
			return notPlaying()
		}
		if !pb.controllable {
			return failed()
		}
		if pb.itemDur > 0 {
			s.reschedule(pb, now.Add(pb.itemDur))
		}
	case "forward", "reverse":
		if !playing {
			return notPlaying()
		}
		if !pb.controllable {
			return failed()
		}
		if pb.itemDur > 0 {
			end := pb.itemEnd
			const skip = 3 * time.Second
			if op == "forward" {
				end = end.Add(-skip)
				if end.Before(now) {
					end = now
				}
			} else {
				start := end.Add(-pb.itemDur)
				back := now.Sub(start)
				if back > skip {
					back = skip
				}
				end = end.Add(back)
			}
			s.reschedule(pb, end)
		}
	}
	return 204, ""
}

func (s *Server) reschedule(pb *playback, end time.Time) {
	s.cancel(pb.timer)
	pb.itemEnd = end
	pb.timer = s.atTime(end, func() { s.itemDone(pb) })
}

// MissingMedia lists the media URIs whose playback failed because
// Asterisk would have no such file (or no such scheme), in order: a test
// asserts it is empty to prove every prompt was heard.
func (s *Server) MissingMedia() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.missing...)
}
