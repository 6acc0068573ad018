package realasterisk

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestRecordShutdownTrace records what a Stasis application sees when
// Asterisk stops under its calls ("core stop now", as in a restart): one
// call playing a prompt, one alone in a mixing bridge with music on hold.
// It runs only with -record (go test -run TestRecordShutdownTrace -record):
// the trace is data for the simulator (ivr/arisim), not a check.
func TestRecordShutdownTrace(t *testing.T) {
	if !*record {
		t.Skip("records the shutdown trace only with -record")
	}
	a := Start(t, Options{})
	out := filepath.Join(repoRoot(t), "ivr", "arisim", "testdata", "ari-traces", "shutdown")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var buf bytes.Buffer
	tr := NewTrace(&buf)
	tr.Note("scenario s1 start: core stop now with a call playing a prompt and a call in a bridge with music on hold")
	c := a.NewClient(tr)
	evs, err := c.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var chans []string
	for _, caller := range []string{"3331000001", "3331000002"} {
		tr.Note("sipp caller " + caller + ": INVITE " + a.Number + ", waits for the BYE")
		a.Call(t, CallOptions{Caller: caller, Timeout: 90 * time.Second})
		ev, err := evs.WaitFor(ctx, "StasisStart")
		if err != nil {
			t.Fatal(err)
		}
		var start channelEvent
		if err := ev.Decode(&start); err != nil {
			t.Fatal(err)
		}
		chans = append(chans, start.Channel.ID)
		s := &session{ctx: ctx, c: c, evs: evs, ch: start.Channel.ID, tr: tr}
		if _, err := s.do("POST", "/channels/"+s.ch+"/answer", nil, "", 204); err != nil {
			t.Fatal(err)
		}
	}
	s := &session{ctx: ctx, c: c, evs: evs, tr: tr}
	if _, err := s.do("POST", "/channels/"+chans[0]+"/play/pb-s1", url.Values{"media": {"sound:demo-congrats"}}, "", 201); err != nil {
		t.Fatal(err)
	}
	if _, err := evs.WaitFor(ctx, "PlaybackStarted"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.do("POST", "/bridges/br-s1", url.Values{"type": {"mixing"}}, "", 200); err != nil {
		t.Fatal(err)
	}
	if _, err := s.do("POST", "/bridges/br-s1/addChannel", url.Values{"channel": {chans[1]}}, "", 204); err != nil {
		t.Fatal(err)
	}
	if _, err := evs.WaitFor(ctx, "ChannelEnteredBridge"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.do("POST", "/bridges/br-s1/moh", url.Values{"mohClass": {"default"}}, "", 204); err != nil {
		t.Fatal(err)
	}
	tr.Note("asterisk -rx 'core stop now'")
	a.stop()
	for {
		if _, err := evs.Next(ctx); err != nil {
			break // the trace has the end of the socket
		}
	}
	tr.Note("scenario s1 end")
	if err := tr.Err(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "s1-core-stop-now.jsonl"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
