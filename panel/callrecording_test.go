package panel

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// recordingControl stands for the call controller: it keeps each call's
// recording state as the controller does, and what it was asked.
type recordingControl struct {
	mu    sync.Mutex
	live  *fakeLive
	asked []string
}

func (c *recordingControl) Act(_ context.Context, callID string, a CallAction) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.asked = append(c.asked, callID+":"+a.Kind+":"+a.By)
	calls := c.live.Calls()
	for i := range calls {
		if calls[i].CallID != callID {
			continue
		}
		if calls[i].Recording == "" {
			return &fault.Error{Code: fault.ECONFLICT, Message: "the conversation is not being recorded"}
		}
		calls[i].Recording = map[string]string{"recording_pause": "paused", "recording_resume": "recording"}[a.Kind]
		c.live.set(calls...)
		return nil
	}
	return &fault.Error{Code: fault.ENOTFOUND, Message: "no such call in progress here"}
}

// TestConsoleRecording: the operator on a recorded call pauses and
// resumes its recording from the console (the form carries the session's
// token); another operator, or a supervisor, gets 404 and the controller
// is not asked; an administrator may; a call not recorded says so; each
// action is in the audit log.
func TestConsoleRecording(t *testing.T) {
	t.Parallel()
	ctl := &recordingControl{}
	e := newEnv(t, func(o *Options) { o.Control = ctl })
	ctl.live = e.live
	_, tk := e.openTicket("lotto2", "+390612345678", "Pagamento")
	e.live.set(
		LiveCall{CallID: "c1", Phase: PhaseTalking, Group: "lotto2", Operator: "op2", Ticket: string(tk.Number), Recording: "recording",
			Started: t0, Since: t0},
		LiveCall{CallID: "c2", Phase: PhaseTalking, Group: "lotto2", Operator: "op2", Started: t0, Since: t0},
	)
	e.srv.Notify()
	op := e.login("op2")
	wantStatus(t, "another operator", e.login("op3").post("/console/recording", url.Values{"call": {"c1"}, "action": {"pause"}}), http.StatusNotFound)
	wantStatus(t, "a supervisor", e.login("sup").post("/console/recording", url.Values{"call": {"c1"}, "action": {"pause"}}), http.StatusNotFound)
	wantStatus(t, "no such call", op.post("/console/recording", url.Values{"call": {"c9"}, "action": {"pause"}}), http.StatusNotFound)
	wantStatus(t, "bad action", op.post("/console/recording", url.Values{"call": {"c1"}, "action": {"stop"}}), http.StatusBadRequest)
	wantStatus(t, "no token", op.post("/console/recording", url.Values{"call": {"c1"}, "action": {"pause"}, "csrf": {""}}), http.StatusForbidden)
	if len(ctl.asked) != 0 {
		t.Fatalf("the controller was asked %v", ctl.asked)
	}
	r := op.post("/console/recording", url.Values{"call": {"c1"}, "action": {"pause"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/console?msg=recording_pause" {
		t.Fatalf("pause: %d %s", r.status, r.header.Get("Location"))
	}
	wantStatus(t, "not recorded", op.post("/console/recording", url.Values{"call": {"c2"}, "action": {"pause"}}), http.StatusConflict)
	r = e.login("adm").post("/console/recording", url.Values{"call": {"c1"}, "action": {"resume"}})
	wantStatus(t, "admin resumes", r, http.StatusSeeOther)
	if got := strings.Join(ctl.asked, " "); got != "c1:recording_pause:op2 c2:recording_pause:op2 c1:recording_resume:adm" {
		t.Fatalf("asked %s", got)
	}
	var audit []string
	for _, login := range []string{"op2", "adm"} {
		list, err := e.srv.Audit().List(ctx, login, 10)
		noErr(t, err)
		for _, a := range list {
			audit = append(audit, a.Login+" "+a.Action+" "+a.Target)
		}
	}
	if got := strings.Join(audit, ","); got != "op2 call.recording_pause call:c1,adm call.recording_resume call:c1" {
		t.Fatalf("audit %s", got)
	}
}

// TestConsoleRecordingButton: the console's call box shows a recorded
// call's state and the button that fits it, none for a call not recorded.
func TestConsoleRecordingButton(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	l := lang("it")
	for _, c := range []struct {
		state string
		want  []string
		not   []string
	}{
		{"recording", []string{`data-state="recording"`, `value="pause" data-testid="recording-pause"`, "Sospendi la registrazione"}, []string{`data-testid="recording-resume"`}},
		{"paused", []string{`data-state="paused"`, `value="resume" data-testid="recording-resume"`, "Registrazione sospesa"}, []string{`data-testid="recording-pause"`}},
		{"", nil, []string{"recording-form"}},
	} {
		b, err := e.srv.fragment("console.html", "console_call", callData{L: l, CallID: "c1", CSRF: "tok",
			Live: &LiveCall{CallID: "c1", Phase: PhaseTalking, Recording: c.state}})
		noErr(t, err)
		for _, w := range c.want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%q: lacks %q:\n%s", c.state, w, b)
			}
		}
		for _, w := range c.not {
			if strings.Contains(string(b), w) {
				t.Errorf("%q: has %q", c.state, w)
			}
		}
	}
}

// TestRecordingPlaybackAudited: every playback and download of a
// recording is in the audit log with who and when; a player's request
// for a later part of the file is not a new playback; a user who may not
// see the ticket gets 404 and leaves no entry.
func TestRecordingPlaybackAudited(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, tk := e.openTicket("lotto2", "+390612345678", "Conversazione")
	rec, err := e.store.AddAttachment(ctx, tk.ID, tickets.Attachment{Name: "conversation-1.wav",
		URI: "ari:recording:conversation-1", ContentType: "audio/wav", Duration: 42 * time.Second}, ivrActor)
	noErr(t, err)
	path := fmt.Sprintf("/recordings/%d/%d", tk.ID, rec.ID)
	op := e.login("op2")
	op.get(fmt.Sprintf("/tickets/%d", tk.ID)).has(t, `href="`+path+`?download=1" data-testid="recording-download"`)
	wantStatus(t, "another group", e.login("op3").get(path), http.StatusNotFound)
	wantStatus(t, "play", op.get(path), http.StatusOK)
	req, _ := http.NewRequest(http.MethodGet, e.ts.URL+path, nil)
	req.Header.Set("Range", "bytes=10-")
	op.do(req) // the rest of the same playback
	r := op.get(path + "?download=1")
	wantStatus(t, "download", r, http.StatusOK)
	if cd := r.header.Get("Content-Disposition"); cd != `attachment; filename=conversation-1.wav` {
		t.Errorf("download disposition %q", cd)
	}
	var got []string
	for _, login := range []string{"op2", "op3"} {
		list, err := e.srv.Audit().List(ctx, login, 10)
		noErr(t, err)
		for _, a := range list {
			if !a.At.Equal(e.clk.Now()) && a.At.IsZero() {
				t.Errorf("entry without time: %+v", a)
			}
			got = append(got, a.Login+" "+a.Action+" "+a.Target+" "+a.Detail)
		}
	}
	want := fmt.Sprintf("op2 media.download ticket:%d attachment=%d name=conversation-1.wav,op2 media.play ticket:%d attachment=%d name=conversation-1.wav",
		tk.ID, rec.ID, tk.ID, rec.ID)
	if strings.Join(got, ",") != want {
		t.Fatalf("audit\n got %s\nwant %s", strings.Join(got, ","), want)
	}
}

// TestReportsRecordings: the reports count each group's recorded
// conversations, refusals and pauses; an operator sees their groups' only.
func TestReportsRecordings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c2, _ := e.openTicket("lotto2", "+390612345678", "Registrata")
	c3, _ := e.openTicket("lotto3", "+390612345679", "Rifiutata")
	noErr(t, e.store.AppendCallEvents(ctx, c2.ID,
		tickets.CallEvent{At: t0, Kind: tickets.EventRecordingPaused, Group: "lotto2", Operator: "op2"},
		tickets.CallEvent{At: t0, Kind: tickets.EventRecorded, Group: "lotto2"}))
	noErr(t, e.store.AppendCallEvents(ctx, c3.ID, tickets.CallEvent{At: t0, Kind: tickets.EventRecordingRefused, Group: "lotto3"}))
	const q = "/reports?bucket=day&from=2025-11-24&to=2025-11-24"
	e.login("sup").get(q).has(t, `data-testid="recording-row" data-group="lotto2"><th scope="row">`, `<td>1</td><td>0</td><td>1</td>`,
		`data-testid="recording-row" data-group="lotto3"`, `<td>0</td><td>1</td><td>0</td>`)
	e.login("op2").get(q).hasNot(t, `data-group="lotto3"`)
	e.login("sup").get("/reports?bucket=day&from=2025-11-25&to=2025-11-25").has(t, `data-testid="recordings-none"`)
}
