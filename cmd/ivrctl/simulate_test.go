package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/helpdesk-ivr/ivr/internal/pgtest"
)

// Golden transcripts of the Giustizia help desk: every leaf, after hours,
// a holiday, PINs. Times and channel ids vary from run to run and are
// left out; which of two ringing phones answers first is not compared.
func TestSimulateGolden(t *testing.T) {
	t.Setenv("IVR_PIN_SECRET", "demo-pin-secret-not-for-production")
	t.Setenv("DATABASE_URL", "")
	// The calls wait in the operator queues, every operator available,
	// each run in a schema of its own on this server.
	queuesDB := pgtest.DatabaseURL(t)
	const monday = "2026-11-23T10:00:00+01:00"
	cases := []struct {
		name, at, caller, keys, operators string
		outcome                           string
		extra                             []string
	}{
		{"leaf-1-2", monday, "3331234567", "1 2", "answer", "answered", nil},
		{"leaf-1-3", monday, "3331234567", "1 3", "answer", "answered", nil},
		{"leaf-1-4", monday, "3331234567", "1 4", "answer", "answered", nil},
		{"leaf-1-5", monday, "3331234567", "1 5", "answer", "answered", nil},
		{"leaf-1-6", monday, "3331234567", "1 6", "answer", "answered", nil},
		{"leaf-2-1", monday, "3331234567", "2 1", "answer", "answered", nil},
		{"leaf-2-2", monday, "3331234567", "2 2", "answer", "answered", nil},
		{"leaf-3-1", monday, "3331234567", "3 1", "answer", "answered", nil},
		{"operator", monday, "3331234567", "0", "answer", "answered", nil},
		// lotto3's operators by penalty: op301 and op302 (0) before op101
		// (2), who is rung only when neither is free.
		{"lotto3-penalty", monday, "3331234567", "1 3", "answer", "answered", []string{"-available", "op101,op302"}},
		{"lotto3-penalty-fallback", monday, "3331234567", "1 3", "answer", "answered", []string{"-available", "op101"}},
		// The operator ends the call after the hold time.
		{"operator-hangs-up", monday, "3331234567", "1 2", "answer", "answered", []string{"-hold", "90s", "-talk", "10m"}},
		{"known-administration", monday, "0699991234", "1", "answer", "answered", nil},
		{"status", monday, "3331234567", "9 2026112300013#", "answer", "status_told", nil},
		// Nobody answers: the caller waits, then presses * to leave a
		// message instead.
		{"no-answer-message", monday, "3331234567", "3 1 w60 *", "noanswer", "message_left", nil},
		{"invalid-input", monday, "3331234567", "7 8 9", "busy", "invalid_input", nil},
		// Nobody logged in to accoglienza: its no_operators policy, a message.
		{"timeouts", monday, "3331234567", "w20", "busy", "invalid_input", []string{"-available", "none"}},
		{"hangup-in-menu", monday, "3331234567", "2 h", "answer", "hung_up_in_menu", nil},
		{"after-hours-message", "2026-11-21T20:00:00+01:00", "3331234567", "1", "answer", "after_hours_message", nil},
		{"after-hours-no-message", "2026-11-21T20:00:00+01:00", "3331234567", "", "answer", "closed_no_message", nil},
		{"holiday", "2026-12-25T11:00:00+01:00", "3331234567", "", "answer", "closed_no_message", nil},
		{"easter-monday", "2027-03-29T09:00:00+02:00", "3331234567", "h", "answer", "closed_no_message", nil},
		{"pin-good", monday, "3331234567", "4 5035#", "answer", "answered", nil},
		{"pin-wrong-then-good", monday, "3331234567", "4 1111# 5035#", "answer", "answered", nil},
		{"pin-user-refused", monday, "3331234567", "4 1035# h", "answer", "hung_up_in_menu", nil},
		{"pin-lockout", monday, "3331234567", "4 1111# 2222# 3333# h", "answer", "pin_locked", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"simulate", "-config", example, "-at", c.at, "-caller", c.caller,
				"-keys", c.keys, "-operators", c.operators, "-speed", "40", "-queues-db", queuesDB}, c.extra...)
			code, out, errOut := runCmd(t, "", args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			var last map[string]any
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
				t.Fatalf("last line %q: %v", lines[len(lines)-1], err)
			}
			if last["event"] != "outcome" || last["outcome"] != c.outcome {
				t.Errorf("last line %v, want outcome %s", last, c.outcome)
			}
			if strings.Contains(out, "5035") || strings.Contains(out, "1111") || strings.Contains(out, "1035") {
				t.Errorf("a PIN reached the transcript:\n%s", out)
			}
			golden(t, "simulate/"+c.name+".golden", stable(t, lines))
		})
	}
}

// stable drops what changes between runs.
func stable(t *testing.T, lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		delete(m, "time")
		delete(m, "call_id")
		switch m["event"] {
		case "ringing", "answered":
			delete(m, "text")
		case "no_answer":
			// A phone that rings out ends as the ring timeout expires:
			// which of the two the controller sees first varies
			// ("rejected" or none).
			delete(m, "text")
			delete(m, "reason")
		}
		out, _ := json.Marshal(m) // sorted keys
		b.Write(out)
		b.WriteByte('\n')
	}
	return b.String()
}
