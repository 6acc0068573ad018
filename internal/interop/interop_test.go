package interop

import (
	"slices"
	"strings"
	"testing"

	"github.com/helpdesk-ivr/ivr/ivr"
)

func TestPlaybacksFollowListsAndPieces(t *testing.T) {
	t.Parallel()
	var p Playbacks
	// A list of two items (as Asterisk reports one), then a piece that fails.
	p.Started("pb-1", "sound:hello-world")
	p.Ended("pb-1", "done") // PlaybackContinuing
	p.Started("pb-1", "digits:12")
	p.Ended("pb-1", "done")
	p.Started("pb-2", "sound:helpdesk/system-transfer,digits:12")
	p.Ended("pb-2", "failed")
	p.Started("pb-3", "sound:helpdesk/system-goodbye")
	want := []Playback{
		{"sound:hello-world", "done"}, {"digits:12", "done"},
		{"sound:helpdesk/system-transfer,digits:12", "failed"}, {"sound:helpdesk/system-goodbye", ""},
	}
	if got := p.List(); !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	c := Call{Media: p.List()}
	if got := c.Failed(); len(got) != 2 || !strings.Contains(got[0], "failed") || !strings.Contains(got[1], "never ended") {
		t.Fatalf("Failed() = %q", got)
	}
}

func TestDiff(t *testing.T) {
	t.Parallel()
	events := func(ticket, group string, path ...string) []ivr.Event {
		return []ivr.Event{
			{Kind: ivr.EvTicket, Ticket: ticket},
			{Kind: ivr.EvPrompt, Prompt: []string{"menu:root"}},
			{Kind: ivr.EvPrompt, Prompt: []string{"system:transfer", "digits:" + ticket}},
			{Kind: ivr.EvOutcome, Outcome: "answered", Group: group, Path: path, Ticket: ticket},
		}
	}
	heard := func(ticket string, state string) []Playback {
		return []Playback{{"sound:helpdesk/menu-root", "done"}, {"sound:helpdesk/system-transfer", "done"}, {"digits:" + ticket, state}}
	}
	base, err := Summarize(events("2026111600013", "lotto3", "1", "3"), heard("2026111600013", "done"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		events []ivr.Event
		media  []Playback
		want   []string // substrings of the differences, none for the same call
	}{
		{"same call, another ticket number", events("2026111600024", "lotto3", "1", "3"), heard("2026111600024", "done"), nil},
		{"another group", events("2026111600013", "lotto2", "1", "3"), heard("2026111600013", "done"), []string{`group: "lotto3" != "lotto2"`}},
		{"another path", events("2026111600013", "lotto3", "1", "2"), heard("2026111600013", "done"), []string{`menu path: "1 3" != "1 2"`}},
		{"a failed piece", events("2026111600013", "lotto3", "1", "3"), heard("2026111600013", "failed"), []string{"media differ from item 2", "digits:<ticket> failed"}},
		{"a prompt less", events("2026111600013", "lotto3", "1", "3")[2:], heard("2026111600013", "done"), []string{"prompts differ from item 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			other, err := Summarize(tc.events, tc.media)
			if err != nil {
				t.Fatal(err)
			}
			d := Diff(base, other)
			if len(tc.want) == 0 && len(d) > 0 {
				t.Fatalf("differences in the same call: %q", d)
			}
			all := strings.Join(d, "\n")
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("no %q in the differences:\n%s", w, all)
				}
			}
		})
	}
	if _, err := Summarize(events("1", "g")[:2], nil); err == nil {
		t.Fatal("a call with no outcome was summarized")
	}
}

func TestUntilWait(t *testing.T) {
	t.Parallel()
	c := Call{Media: []Playback{{"sound:helpdesk/system-transfer", "done"}, {"sound:helpdesk/system-queue_position", "done"},
		{"number:1", "done"}, {"sound:helpdesk/system-queue_position", "done"}}}
	if got := c.UntilWait().Media; len(got) != 2 || got[1].Media != "sound:helpdesk/system-queue_position" {
		t.Fatalf("UntilWait kept %q", got)
	}
	if n := len(c.Media); n != 4 {
		t.Fatalf("UntilWait changed its receiver: %d items", n)
	}
	plain := Call{Media: []Playback{{"sound:helpdesk/menu-root", "done"}}}
	if got := plain.UntilWait().Media; len(got) != 1 {
		t.Fatalf("a call that never waited lost media: %q", got)
	}
}
