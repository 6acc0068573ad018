package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseWhen(t *testing.T) {
	t.Parallel()
	rome, _ := time.LoadLocation("Europe/Rome")
	for _, c := range []struct {
		in   string
		end  bool
		want time.Time
		bad  bool
	}{
		{"", false, time.Time{}, false},
		{"2026-11-23", false, time.Date(2026, 11, 23, 0, 0, 0, 0, rome), false},
		{"2026-11-23", true, time.Date(2026, 11, 24, 0, 0, 0, 0, rome), false}, // -until a day: the whole day
		{"2026-11-23T10:00:00+01:00", true, time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), false},
		{"23/11/2026", false, time.Time{}, true},
	} {
		got, err := parseWhen(c.in, rome, c.end)
		if (err != nil) != c.bad || !got.Equal(c.want) {
			t.Errorf("parseWhen(%q, end %v) = %v, %v; want %v", c.in, c.end, got, err, c.want)
		}
	}
}

// Without a database there is no journal to replay: said plainly.
func TestReplayNeedsTheJournal(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	code, _, stderr := runCmd(t, "", "replay", "-config", "../../configs/helpdesk.yaml")
	if code != 1 || !strings.Contains(stderr, "DATABASE_URL is required") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = runCmd(t, "", "replay", "-config", "../../configs/helpdesk.yaml", "-since", "yesterday")
	if code != 1 || !strings.Contains(stderr, "-since") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
