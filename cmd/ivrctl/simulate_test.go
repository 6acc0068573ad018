package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// Golden transcripts of the Giustizia help desk: every leaf, after hours,
// a holiday, PINs. Times and channel ids vary from run to run and are
// left out; which of two ringing phones answers first is not compared.
func TestSimulateGolden(t *testing.T) {
	t.Setenv("IVR_PIN_SECRET", "demo-pin-secret-not-for-production")
	t.Setenv("DATABASE_URL", "")
	const monday = "2026-11-23T10:00:00+01:00"
	cases := []struct {
		name, at, caller, keys, operators string
		outcome                           string
	}{
		{"leaf-1-2", monday, "3331234567", "1 2", "answer", "answered"},
		{"leaf-1-3", monday, "3331234567", "1 3", "answer", "answered"},
		{"leaf-1-4", monday, "3331234567", "1 4", "answer", "answered"},
		{"leaf-1-5", monday, "3331234567", "1 5", "answer", "answered"},
		{"leaf-1-6", monday, "3331234567", "1 6", "answer", "answered"},
		{"leaf-2-1", monday, "3331234567", "2 1", "answer", "answered"},
		{"leaf-2-2", monday, "3331234567", "2 2", "answer", "answered"},
		{"leaf-3-1", monday, "3331234567", "3 1", "answer", "answered"},
		{"operator", monday, "3331234567", "0", "answer", "answered"},
		{"known-administration", monday, "0699991234", "1", "answer", "answered"},
		{"status", monday, "3331234567", "9 2026112300013#", "answer", "status_told"},
		{"no-answer-message", monday, "3331234567", "3 1", "noanswer", "message_left"},
		{"invalid-input", monday, "3331234567", "7 8 9", "busy", "invalid_input"},
		{"timeouts", monday, "3331234567", "w20", "busy", "invalid_input"},
		{"hangup-in-menu", monday, "3331234567", "2 h", "answer", "hung_up_in_menu"},
		{"after-hours-message", "2026-11-21T20:00:00+01:00", "3331234567", "1", "answer", "after_hours_message"},
		{"after-hours-no-message", "2026-11-21T20:00:00+01:00", "3331234567", "", "answer", "closed_no_message"},
		{"holiday", "2026-12-25T11:00:00+01:00", "3331234567", "", "answer", "closed_no_message"},
		{"easter-monday", "2027-03-29T09:00:00+02:00", "3331234567", "h", "answer", "closed_no_message"},
		{"pin-good", monday, "3331234567", "4 5035#", "answer", "answered"},
		{"pin-wrong-then-good", monday, "3331234567", "4 1111# 5035#", "answer", "answered"},
		{"pin-user-refused", monday, "3331234567", "4 1035# h", "answer", "hung_up_in_menu"},
		{"pin-lockout", monday, "3331234567", "4 1111# 2222# 3333# h", "answer", "pin_locked"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runCmd(t, "", "simulate", "-config", example, "-at", c.at, "-caller", c.caller,
				"-keys", c.keys, "-operators", c.operators, "-speed", "40")
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
		case "ringing", "answered", "no_answer":
			delete(m, "text")
		}
		out, _ := json.Marshal(m) // sorted keys
		b.Write(out)
		b.WriteByte('\n')
	}
	return b.String()
}
