package zammad

import (
	"strings"
	"testing"
	"time"
)

func TestUpdatedSince(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		0:                         "updated_at:>now-1m",
		30 * time.Second:          "updated_at:>now-1m",
		time.Minute:               "updated_at:>now-1m",
		time.Minute + time.Second: "updated_at:>now-2m",
		26 * time.Hour:            "updated_at:>now-1560m",
	} {
		if got := UpdatedSince(d); got != want {
			t.Errorf("UpdatedSince(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]string{
		`{"error":"Not authorized","error_human":"Nicht autorisiert"}`: "Nicht autorisiert",
		`{"error":"Couldn't find Ticket with 'id'=9"}`:                 "Couldn't find Ticket with 'id'=9",
		`<html>Bad Gateway</html>`:                                     "<html>Bad Gateway</html>",
		``:                                                             "no message",
	} {
		if got := errorMessage([]byte(body)); got != want {
			t.Errorf("errorMessage(%q) = %q, want %q", body, got, want)
		}
	}
	if got := errorMessage([]byte(strings.Repeat("x", 500))); len(got) > 210 {
		t.Errorf("long body kept whole: %d", len(got))
	}
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "zammad.example.org", "ftp://zammad.example.org"} {
		if _, err := New(u, "tok", Options{}); err == nil {
			t.Errorf("New(%q) accepted", u)
		}
	}
	if _, err := New("https://zammad.example.org", "", Options{}); err == nil {
		t.Error("empty token accepted")
	}
	c, err := New("https://zammad.example.org/", "tok", Options{})
	if err != nil || c.TicketURL(7) != "https://zammad.example.org/#ticket/zoom/7" {
		t.Fatalf("%v %v", c, err)
	}
}
