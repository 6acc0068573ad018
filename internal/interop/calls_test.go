package interop

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/realasterisk"
	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// scenario is one call placed on a real Asterisk by a sipp caller and on
// the simulator with the same keys. sipp is timed: each key's delay is
// chosen from the generated prompts' lengths (see the comments) so that
// it lands while the prompt it answers plays, which is where the
// simulated caller presses it.
type scenario struct {
	name   string
	at     time.Time // the controllers' clock at the start (service zone)
	caller string
	phones map[string]realasterisk.PhoneOptions
	dtmf   realasterisk.DTMFMode
	keys   []realasterisk.Key
	hangUp time.Duration // after the last key; 0: the help desk hangs up
	sim    []simPress
	speak  time.Duration // the simulated caller speaks when recorded
	// seed puts the same tickets in both desks' stores before the call.
	seed  func(t *testing.T, store tickets.CallRecorder)
	check func(t *testing.T, c Call, events []ivr.Event, d *realDesk)
}

const caller = "3331234567"

// keyed turns digits into sipp keys: the first after first, then one
// every gap.
func keyed(digits string, first, gap time.Duration) []realasterisk.Key {
	keys := make([]realasterisk.Key, len(digits))
	for i := range len(digits) {
		keys[i] = realasterisk.Key{After: gap, Digit: digits[i]}
	}
	keys[0].After = first
	return keys
}

func sound(name string) string { return "sound:helpdesk/" + name }

func system(name string) string { return "sound:" + menu.SystemSoundName(name) }

// TestCallsMatchSimulator runs the call controller on a real Asterisk
// (configs/asterisk, the shipped configs/helpdesk.yaml and its prompts
// made by `ivrctl prompts`) with real SIP callers and phones, checks
// from Asterisk's own playback events that every piece of every prompt
// played (none failed, no missing file in Asterisk's log), and that the
// simulator gives the same call: outcome, group, menu path, prompts and
// media.
func TestCallsMatchSimulator(t *testing.T) {
	t.Parallel()
	cfg := shipped(t)
	rome := cfg.Location()
	monday := time.Date(2026, 11, 16, 10, 0, 0, 0, rome)   // open
	saturday := time.Date(2026, 11, 21, 20, 0, 0, 0, rome) // closed until Monday 23 at 8
	statusTicket := tickets.NewNumber(monday, 1)
	badCheck := string(statusTicket[:len(statusTicket)-1]) + string('0'+(statusTicket[len(statusTicket)-1]-'0'+1)%10)

	scenarios := []scenario{{
		// menu-root (38 s) and menu-1 (23 s) are cut by the keys; the
		// transfer (5.5 s) and the ticket's 13 digits (~9 s) play to the
		// end, then the group's phones ring: op301 answers after 1 s. The
		// caller talks ~7 s and hangs up.
		name: "lotto3 answered", at: monday, caller: caller, dtmf: realasterisk.DTMFRFC2833,
		phones: map[string]realasterisk.PhoneOptions{
			"op301": {Mode: realasterisk.PhoneAnswer, AnswerAfter: time.Second, Timeout: 80 * time.Second},
			"op302": {Mode: realasterisk.PhoneRing, Timeout: 80 * time.Second},
			"op101": {Mode: realasterisk.PhoneRing, Timeout: 80 * time.Second},
		},
		keys:   []realasterisk.Key{{After: 2 * time.Second, Digit: '1'}, {After: 2 * time.Second, Digit: '3'}},
		hangUp: 20 * time.Second,
		sim:    []simPress{{sound("menu-root"), "1"}, {sound("menu-1"), "3"}},
		check: func(t *testing.T, c Call, events []ivr.Event, d *realDesk) {
			want := Call{Outcome: string(tickets.OutcomeAnswered), Group: "lotto3", Path: []string{"1", "3"}}
			if c.Outcome != want.Outcome || c.Group != want.Group || !slices.Equal(c.Path, want.Path) {
				t.Errorf("outcome %q, group %q, path %q; want %q, %q, %q", c.Outcome, c.Group, c.Path, want.Outcome, want.Group, want.Path)
			}
			hasSequence(t, c, system("transfer"), "digits:"+c.Ticket)
			if !slices.ContainsFunc(events, func(e ivr.Event) bool { return e.Kind == ivr.EvAnswered && e.Operator == "op301" }) {
				t.Errorf("op301 did not answer: %v", kinds(events))
			}
			tk := findTicket(t, d.Store, c.Ticket)
			if tk.Group != "lotto3" {
				t.Errorf("ticket %s: group %q", tk.Number, tk.Group)
			}
			rec, recEvents, ok := d.Store.Call(events[0].CallID)
			if !ok || rec.Outcome != tickets.OutcomeAnswered || rec.Group != "lotto3" || rec.HangupBy != tickets.HangupCaller {
				t.Errorf("call record: %+v", rec)
			}
			if !slices.ContainsFunc(recEvents, func(e tickets.CallEvent) bool {
				return e.Kind == tickets.EventAnswered && e.Operator == "op301"
			}) {
				t.Errorf("the call record has no answer by op301: %+v", recEvents)
			}
		},
	}, {
		// closed (3.5 s) + reopens (2 s) + Monday 23 November at 8
		// (3.5 s, Asterisk's own sounds) play out; record_offer (6.3 s)
		// plays from ~9 s and the key at 12 s cuts it; record_intro (9 s)
		// plays out, then the beep: the caller speaks 7 s (sipp's speech
		// capture) from 24 s, then sends nothing.
		name: "after hours message", at: saturday, caller: caller, dtmf: realasterisk.DTMFInfo,
		keys: []realasterisk.Key{{After: 12 * time.Second, Digit: '1'},
			{After: 12 * time.Second, Audio: realasterisk.SpeechPcap}},
		sim:   []simPress{{system("record_offer"), "1"}},
		speak: 7 * time.Second,
		check: func(t *testing.T, c Call, events []ivr.Event, d *realDesk) {
			if c.Outcome != string(tickets.OutcomeAfterHoursMessage) {
				t.Errorf("outcome %q, want %q", c.Outcome, tickets.OutcomeAfterHoursMessage)
			}
			hasSequence(t, c, system("closed"), system("reopens"), "sound:digits/day-1", "number:23",
				"sound:digits/mon-10", system("at_hour"), "number:8", system("record_offer"))
			hasSequence(t, c, system("record_saved"), "digits:"+c.Ticket, system("next_working_day"),
				"sound:digits/day-1", "number:23", "sound:digits/mon-10", system("goodbye"))
			tk := findTicket(t, d.Store, c.Ticket)
			if tk.Source != tickets.SourceAfterHours || tk.Group != "accoglienza" {
				t.Errorf("ticket %s: source %q, group %q", tk.Number, tk.Source, tk.Group)
			}
			i := slices.IndexFunc(events, func(e ivr.Event) bool { return e.Kind == ivr.EvMessage })
			if i < 0 {
				t.Fatalf("no message: %v", kinds(events))
			}
			_, files, _ := d.Store.Ticket(tk.ID)
			if len(files) != 1 {
				t.Fatalf("ticket %s: %d attachments", tk.Number, len(files))
			}
			name, _ := strings.CutPrefix(files[0].URI, "ari:recording:")
			secs := wavSeconds(t, filepath.Join(d.A.Dir, "spool", "recording", name+".wav"))
			t.Logf("message: %.1f s reported, attachment %s of %s, file of %.1f s", events[i].Seconds, files[0].Name, files[0].Duration, secs)
			// The caller spoke 7 s; Asterisk keeps the trailing silence
			// up to max_silence (6 s) unless it trims it.
			if secs < 6 || secs > 14 {
				t.Errorf("the recording lasts %.1f s, want the 7 s spoken and at most the silence after", secs)
			}
		},
	}, {
		// 9 cuts menu-root; the wrong number cuts status_ask (4 s);
		// status_bad (2.3 s) starts as # arrives and the right number
		// cuts it; status_is + status_new + goodbye play out and the
		// help desk hangs up.
		name: "status with a bad check digit", at: monday, caller: caller, dtmf: realasterisk.DTMFInfo,
		keys: slices.Concat(
			keyed("9", 2*time.Second, 0),
			keyed(badCheck+"#", 1500*time.Millisecond, 150*time.Millisecond),
			keyed(string(statusTicket)+"#", 1100*time.Millisecond, 150*time.Millisecond)),
		sim: []simPress{{sound("menu-root"), "9"}, {system("status_ask"), badCheck + "#"},
			{system("status_bad"), string(statusTicket) + "#"}},
		seed: func(t *testing.T, store tickets.CallRecorder) {
			number, err := menu.NormalizeNumber(caller)
			if err != nil {
				t.Fatal(err)
			}
			_, tk, err := store.OpenCall(context.Background(), tickets.NewCall{ChannelID: "earlier-call",
				Caller: number, StartedAt: monday.Add(-time.Hour), Source: tickets.SourcePhone,
				Priority: tickets.PriorityMedium, Subject: "Chiamata da " + number, CallerRole: tickets.CallerUnknown})
			if err != nil || tk.Number != statusTicket {
				t.Fatalf("seed ticket %q: %v, want %q", tk.Number, err, statusTicket)
			}
		},
		check: func(t *testing.T, c Call, events []ivr.Event, _ *realDesk) {
			if c.Outcome != string(tickets.OutcomeStatusTold) || !slices.Equal(c.Path, []string{"9"}) {
				t.Errorf("outcome %q, path %q", c.Outcome, c.Path)
			}
			hasSequence(t, c, system("status_ask"), system("status_bad"), system("status_is"),
				system("status_new"), system("goodbye"))
			if !slices.ContainsFunc(events, func(e ivr.Event) bool {
				return e.Kind == ivr.EvStatus && e.Ticket == string(statusTicket) && e.Result == "new"
			}) {
				t.Errorf("no status new of %s: %v", statusTicket, kinds(events))
			}
		},
	}}

	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			phones := make([]string, 0, len(sc.phones))
			for p := range sc.phones {
				phones = append(phones, p)
			}
			d := startReal(t, cfg, sc.at, phones)
			if sc.seed != nil {
				sc.seed(t, d.Store)
			}
			var sips []*realasterisk.SIPCall
			for p, o := range sc.phones {
				sips = append(sips, d.A.Phone(t, p, o))
			}
			call := d.A.Call(t, realasterisk.CallOptions{Caller: sc.caller, DTMF: sc.dtmf, Keys: sc.keys,
				HangUpAfter: sc.hangUp, Timeout: 80 * time.Second})
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			if len(sc.phones) > 0 {
				d.bridgeUp(ctx, t)
			}
			got, events := d.nextCall(ctx, t)
			for _, s := range append(sips, call) {
				if err := s.Wait(ctx); err != nil {
					t.Errorf("sipp: %v", err)
				}
			}
			t.Logf("real Asterisk: outcome %s, group %q, path %q, media:\n%s", got.Outcome, got.Group, got.Path, mediaLines(got))
			if bad := got.Failed(); len(bad) > 0 {
				t.Errorf("playbacks that did not play on the real Asterisk: %q", bad)
			}
			if bad := d.asteriskLogProblems(t); len(bad) > 0 {
				t.Errorf("Asterisk's log:\n%s", strings.Join(bad, "\n"))
			}
			for _, l := range strings.Split(d.log.String(), "\n") {
				if strings.Contains(l, "prompt_failed") || strings.Contains(l, "play_failed") {
					t.Errorf("controller: %s", l)
				}
			}
			sc.check(t, got, events, d)

			sim, simEvents := runSim(t, cfg, sc.at, sc.caller, sc.sim, sc.speak, sc.seed)
			for _, e := range slices.Concat(events, simEvents) {
				if e.Kind == ivr.EvMessage {
					t.Logf("message of %.1f s, call %s", e.Seconds, e.CallID)
				}
			}
			if d := Diff(got, sim); len(d) > 0 {
				t.Errorf("the simulator differs from the real Asterisk:\n%s\nsimulator's media:\n%s",
					strings.Join(d, "\n"), mediaLines(sim))
			}
		})
	}
}

// hasSequence checks that the media played include want, one after the
// other, each to its end.
func hasSequence(t *testing.T, c Call, want ...string) {
	t.Helper()
	for i := range c.Media {
		if i+len(want) > len(c.Media) {
			break
		}
		ok := true
		for j, w := range want {
			ok = ok && c.Media[i+j].Media == w && c.Media[i+j].State == "done"
		}
		if ok {
			return
		}
	}
	t.Errorf("no %q played in a row, to the end, among:\n%s", want, mediaLines(c))
}

func mediaLines(c Call) string {
	var b strings.Builder
	for _, m := range c.Media {
		b.WriteString("  " + m.Media + " " + m.State + "\n")
	}
	return b.String()
}

func kinds(events []ivr.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.Kind
	}
	return out
}

func findTicket(t *testing.T, store *ivr.MemoryRecorder, number string) tickets.Ticket {
	t.Helper()
	n, err := tickets.ParseNumber(number)
	if err != nil {
		t.Fatalf("ticket number %q: %v", number, err)
	}
	tk, err := store.FindTicketByNumber(context.Background(), n, tickets.Viewer{Kind: tickets.ViewerSystem})
	if err != nil {
		t.Fatalf("ticket %s: %v", number, err)
	}
	return tk
}

// wavSeconds is the length of a PCM WAV file as Asterisk writes it (8 kHz,
// 16-bit, mono: the "data" chunk's size / 16000).
func wavSeconds(t *testing.T, path string) float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the recording: %v", err)
	}
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		t.Fatalf("%s is not a WAV file", path)
	}
	for i := 12; i+8 <= len(b); {
		id, size := string(b[i:i+4]), int(binary.LittleEndian.Uint32(b[i+4:i+8]))
		if id == "data" {
			return float64(min(size, len(b)-i-8)) / 16000
		}
		i += 8 + size + size%2
	}
	t.Fatalf("%s has no data chunk", path)
	return 0
}
