package realasterisk

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var record = flag.Bool("record", false,
	"record the play traces from a real Asterisk into ivr/arisim/testdata/ari-traces/play-media")

// playCase is one recorded scenario: a call is answered, run plays, and the
// client hangs the call up.
type playCase struct {
	file  string
	title string
	run   func(s *session) error
}

var playCases = []playCase{
	{"p1-play-body-string", "JSON body, media a string with a comma", func(s *session) error {
		return s.playAndWatch("pb-p1", nil, `{"media":"sound:hello-world,sound:vm-press"}`)
	}},
	{"p2-play-body-array", "JSON body, media an array", func(s *session) error {
		return s.playAndWatch("pb-p2", nil, `{"media":["sound:hello-world","digits:12"]}`)
	}},
	{"p3-play-query-list", "query string, comma list", func(s *session) error {
		return s.playAndWatch("pb-p3", url.Values{"media": {"sound:hello-world,digits:12"}}, "")
	}},
	{"p4-play-body-missing", "JSON body, one missing file", func(s *session) error {
		return s.playAndWatch("pb-p4", nil, `{"media":"sound:no-such-file"}`)
	}},
	{"p5-play-array-missing-middle", "JSON array whose middle item is a missing file", func(s *session) error {
		return s.playAndWatch("pb-p5", nil, `{"media":["sound:hello-world","sound:no-such-file","digits:12"]}`)
	}},
	{"p5b-play-array-missing-last", "JSON array whose last item is a missing file", func(s *session) error {
		return s.playAndWatch("pb-p5b", nil, `{"media":["sound:hello-world","sound:no-such-file"]}`)
	}},
	{"p6-play-array-stop-middle", "JSON array, DELETE /playbacks/{id} while its middle item plays", func(s *session) error {
		return s.playAndStop("pb-p6", `{"media":["sound:hello-world","sound:demo-congrats","digits:12"]}`, "sound:demo-congrats")
	}},
	{"p7-play-array-stop-first", "JSON array, DELETE /playbacks/{id} while its first item plays", func(s *session) error {
		return s.playAndStop("pb-p7", `{"media":["sound:demo-congrats","sound:hello-world"]}`, "sound:demo-congrats")
	}},
}

// TestRecordPlayTraces records how Asterisk plays media given as a JSON
// string, a JSON array and a query-string list, with missing files and a
// stop in the middle. It runs only with -record: the traces are data for
// the simulator, not a check.
func TestRecordPlayTraces(t *testing.T) {
	if !*record {
		t.Skip("records the play traces only with -record")
	}
	a := Start(t, Options{})
	out := filepath.Join(repoRoot(t), "ivr", "arisim", "testdata", "ari-traces", "play-media")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	logStart := logSize(a)
	for _, pc := range playCases {
		var buf bytes.Buffer
		tr := NewTrace(&buf)
		if err := runPlayCase(t, a, tr, pc); err != nil {
			t.Fatalf("%s: %v", pc.file, err)
		}
		if err := tr.Err(); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, pc.file+".jsonl"), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d lines", pc.file, bytes.Count(buf.Bytes(), []byte("\n")))
	}
	// Asterisk's own view (missing files), for the README.
	b, err := os.ReadFile(a.LogFile())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "asterisk-log.txt"), b[logStart:], 0o644); err != nil {
		t.Fatal(err)
	}
}

func logSize(a *Asterisk) int64 {
	fi, err := os.Stat(a.LogFile())
	if err != nil {
		return 0
	}
	return fi.Size()
}

type session struct {
	ctx context.Context
	c   *Client
	evs *Events
	ch  string
	tr  *Trace
}

func runPlayCase(t *testing.T, a *Asterisk, tr *Trace, pc playCase) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := strings.SplitN(pc.file, "-", 2)[0]
	tr.Note(fmt.Sprintf("scenario %s start: %s", name, pc.title))
	c := a.NewClient(tr)
	evs, err := c.Connect(ctx)
	if err != nil {
		return err
	}
	tr.Note("sipp caller: INVITE " + a.Number + ", waits for the BYE")
	call := a.Call(t, CallOptions{Timeout: 90 * time.Second})
	ev, err := evs.WaitFor(ctx, "StasisStart")
	if err != nil {
		return err
	}
	var start channelEvent
	if err := ev.Decode(&start); err != nil {
		return err
	}
	s := &session{ctx: ctx, c: c, evs: evs, ch: start.Channel.ID, tr: tr}
	if _, err := s.do("POST", "/channels/"+s.ch+"/answer", nil, "", 204); err != nil {
		return err
	}
	if err := pc.run(s); err != nil {
		return err
	}
	if _, err := s.do("DELETE", "/channels/"+s.ch, url.Values{"reason": {"normal"}}, "", 204); err != nil {
		return err
	}
	if _, err := evs.WaitFor(ctx, "StasisEnd"); err != nil {
		return err
	}
	if err := evs.Close(); err != nil {
		return err
	}
	if err := call.Wait(ctx); err != nil {
		return err
	}
	tr.Note(fmt.Sprintf("scenario %s end", name))
	return nil
}

func (s *session) do(method, path string, q url.Values, body string, want int) (*Response, error) {
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	r, err := s.c.Do(s.ctx, method, path, q, b)
	if err != nil {
		return nil, err
	}
	if want != 0 && r.Status != want {
		return r, fmt.Errorf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	return r, nil
}

// playAndWatch plays, follows the playback until it finishes (or until
// nothing happened for a while), then asks Asterisk about it.
func (s *session) playAndWatch(id string, q url.Values, body string) error {
	if _, err := s.do("POST", "/channels/"+s.ch+"/play/"+id, q, body, 0); err != nil {
		return err
	}
	if err := s.untilFinished(id, 45*time.Second); err != nil {
		return err
	}
	s.quiet(2 * time.Second)
	_, err := s.do("GET", "/playbacks/"+id, nil, "", 0)
	return err
}

// playAndStop plays, stops the playback with DELETE once item starts, and
// records what follows.
func (s *session) playAndStop(id, body, item string) error {
	if _, err := s.do("POST", "/channels/"+s.ch+"/play/"+id, nil, body, 201); err != nil {
		return err
	}
	for {
		ev, err := s.evs.WaitFor(s.ctx, "PlaybackStarted", "PlaybackFinished")
		if err != nil {
			return err
		}
		var pe playbackEvent
		if err := ev.Decode(&pe); err != nil {
			return err
		}
		if pe.Type == "PlaybackFinished" {
			return fmt.Errorf("%s finished before %s started", id, item)
		}
		if pe.Playback.MediaURI == item {
			break
		}
	}
	// Into the item's audio, not at its first frame.
	s.quiet(time.Second)
	if _, err := s.do("GET", "/playbacks/"+id, nil, "", 200); err != nil {
		return err
	}
	s.tr.Note("client stops the playback while " + item + " plays")
	if _, err := s.do("DELETE", "/playbacks/"+id, nil, "", 0); err != nil {
		return err
	}
	if err := s.untilFinished(id, 45*time.Second); err != nil {
		return err
	}
	// Long enough for the rest of the list to start, if it does.
	s.quiet(4 * time.Second)
	_, err := s.do("GET", "/playbacks/"+id, nil, "", 0)
	return err
}

// untilFinished waits for PlaybackFinished of id; a playback that never
// finishes is noted, not an error (that is a fact to record).
func (s *session) untilFinished(id string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(s.ctx, limit)
	defer cancel()
	for {
		ev, err := s.evs.Next(ctx)
		if errors.Is(err, context.DeadlineExceeded) && s.ctx.Err() == nil {
			s.tr.Note(fmt.Sprintf("no PlaybackFinished for %s within %s", id, limit))
			return nil
		}
		if err != nil {
			return err
		}
		var pe playbackEvent
		if err := ev.Decode(&pe); err != nil {
			return err
		}
		if pe.Type == "PlaybackFinished" && pe.Playback.ID == id {
			return nil
		}
	}
}

// quiet lets events arrive for d (they are traced by the reader).
func (s *session) quiet(d time.Duration) {
	ctx, cancel := context.WithTimeout(s.ctx, d)
	defer cancel()
	for {
		if _, err := s.evs.Next(ctx); err != nil {
			return
		}
	}
}
