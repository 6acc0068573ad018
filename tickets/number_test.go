package tickets

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
)

func TestDammReferenceValues(t *testing.T) {
	t.Parallel()
	// Worked examples of the algorithm (Wikipedia, "Damm algorithm").
	for digits, want := range map[string]int{"572": 4, "5724": 0, "": 0, "0": 0, "1": 3} {
		if got := damm(digits); got != want {
			t.Errorf("damm(%q) = %d, want %d", digits, got, want)
		}
	}
}

func TestNewNumber(t *testing.T) {
	t.Parallel()
	day := time.Date(2025, 11, 22, 23, 59, 0, 0, time.UTC)
	for _, tc := range []struct {
		counter int64
		prefix  string
	}{
		{1, "202511220001"},
		{17, "202511220017"},
		{9999, "202511229999"},
		{10000, "2025112210000"},
		{1234567, "202511221234567"},
	} {
		n := NewNumber(day, tc.counter)
		if !strings.HasPrefix(n.String(), tc.prefix) || len(n) != len(tc.prefix)+1 {
			t.Errorf("NewNumber(%d) = %s, want %s and a check digit", tc.counter, n, tc.prefix)
		}
		if damm(n.String()) != 0 {
			t.Errorf("%s: check digit does not verify", n)
		}
		if n.Counter() != tc.counter || !n.Date().Equal(time.Date(2025, 11, 22, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("%s: Counter %d Date %v", n, n.Counter(), n.Date())
		}
		got, err := ParseNumber(n.Grouped())
		if err != nil || got != n {
			t.Errorf("ParseNumber(%q) = %q, %v; want %q", n.Grouped(), got, err, n)
		}
	}
}

// validNumbers are the numbers the exhaustive error tests run over: short
// and long counters, repeated digits, and a date whose digits are mostly
// zeros.
func validNumbers() []Number {
	return []Number{
		NewNumber(time.Date(2025, 11, 22, 0, 0, 0, 0, time.UTC), 17),
		NewNumber(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 1),
		NewNumber(time.Date(2031, 12, 31, 0, 0, 0, 0, time.UTC), 9999),
		NewNumber(time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC), 10000),
		NewNumber(time.Date(2030, 7, 4, 0, 0, 0, 0, time.UTC), 987654321),
		NewNumber(time.Date(2000, 10, 10, 0, 0, 0, 0, time.UTC), 1100),
	}
}

// TestParseNumberRejectsSingleDigitErrors: every digit of every number
// replaced by every other digit is a wrong check digit, never a lookup.
func TestParseNumberRejectsSingleDigitErrors(t *testing.T) {
	t.Parallel()
	for _, n := range validNumbers() {
		if got, err := ParseNumber(n.String()); err != nil || got != n {
			t.Fatalf("ParseNumber(%s) = %q, %v", n, got, err)
		}
		tried := 0
		for i := range len(n) {
			for d := byte('0'); d <= '9'; d++ {
				if n[i] == d {
					continue
				}
				typo := n[:i] + Number(d) + n[i+1:]
				_, err := ParseNumber(typo.String())
				if !errors.Is(err, ErrBadCheckDigit) {
					t.Errorf("ParseNumber(%s) (digit %d of %s changed) = %v, want ErrBadCheckDigit", typo, i, n, err)
				}
				tried++
			}
		}
		if tried != 9*len(n) {
			t.Fatalf("tried %d substitutions of %s", tried, n)
		}
	}
}

// TestParseNumberRejectsAdjacentTranspositions: every swap of two different
// adjacent digits is a wrong check digit.
func TestParseNumberRejectsAdjacentTranspositions(t *testing.T) {
	t.Parallel()
	for _, n := range validNumbers() {
		swaps := 0
		for i := 0; i+1 < len(n); i++ {
			if n[i] == n[i+1] {
				continue // swapping equal digits changes nothing
			}
			b := []byte(n)
			b[i], b[i+1] = b[i+1], b[i]
			_, err := ParseNumber(string(b))
			if !errors.Is(err, ErrBadCheckDigit) {
				t.Errorf("ParseNumber(%s) (digits %d,%d of %s swapped) = %v, want ErrBadCheckDigit", b, i, i+1, n, err)
			}
			swaps++
		}
		if swaps < len(n)/2 {
			t.Fatalf("only %d swaps tried on %s", swaps, n)
		}
	}
}

func TestParseNumberFormats(t *testing.T) {
	t.Parallel()
	n := NewNumber(time.Date(2025, 11, 22, 0, 0, 0, 0, time.UTC), 17)
	s := n.String()
	withCheck := func(body string) string { return body + string(rune('0'+damm(body))) }
	for _, tc := range []struct {
		in   string
		want error // nil: parses to n
	}{
		{s, nil},
		{" " + s + "\t", nil},
		{s[:4] + " " + s[4:8] + " " + s[8:12] + " " + s[12:], nil},
		{n.Grouped(), nil},
		{s[:8] + "–" + s[8:], nil}, // an en dash, as word processors type
		{"", ErrMalformedNumber},
		{"   ", ErrMalformedNumber},
		{s[:12], ErrMalformedNumber},              // too short
		{s + "00000000", ErrMalformedNumber},      // too long
		{s[:5] + "x" + s[6:], ErrMalformedNumber}, // a letter
		{"#" + s, ErrMalformedNumber},
		{withCheck("202513220017"), ErrMalformedNumber},  // month 13
		{withCheck("202502300017"), ErrMalformedNumber},  // 30 February
		{withCheck("199912310017"), ErrMalformedNumber},  // before the system
		{withCheck("2025112200017"), ErrMalformedNumber}, // counter padded beyond 4 digits
		{withCheck("202511220000"), ErrMalformedNumber},  // counter zero
		{withCheck("2025112210000"), nil},                // 5-digit counter: valid, different number
	} {
		got, err := ParseNumber(tc.in)
		switch {
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("ParseNumber(%q) = %q, %v; want %v", tc.in, got, err, tc.want)
		case tc.want != nil && !errors.Is(err, fault.ErrInvalid):
			t.Errorf("ParseNumber(%q): %v is not fault.EINVALID", tc.in, err)
		case tc.want == nil && err != nil:
			t.Errorf("ParseNumber(%q) = %v", tc.in, err)
		case tc.want == nil && strings.ContainsAny(got.String(), " -–"):
			t.Errorf("ParseNumber(%q) = %q, not canonical", tc.in, got)
		case tc.want == nil && tc.in != withCheck("2025112210000") && got != n:
			t.Errorf("ParseNumber(%q) = %q, want %q", tc.in, got, n)
		}
	}
}

func FuzzParseNumber(f *testing.F) {
	for _, n := range validNumbers() {
		f.Add(n.String())
		f.Add(n.Grouped())
	}
	f.Add("")
	f.Add("2025-11-22-0017-x")
	f.Add("٢٠٢٥١١٢٢٠٠١٧٤") // Arabic-Indic digits are not keypad digits
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseNumber(s)
		if err != nil {
			if !errors.Is(err, ErrBadCheckDigit) && !errors.Is(err, ErrMalformedNumber) {
				t.Fatalf("ParseNumber(%q): unexpected error %v", s, err)
			}
			return
		}
		// Whatever parses is canonical, verifies, and is what NewNumber
		// makes of its parts.
		if strings.Trim(n.String(), "0123456789") != "" || damm(n.String()) != 0 {
			t.Fatalf("ParseNumber(%q) = %q: not canonical", s, n)
		}
		if again := NewNumber(n.Date(), n.Counter()); again != n {
			t.Fatalf("ParseNumber(%q) = %q but NewNumber(its parts) = %q", s, n, again)
		}
		if back, err := ParseNumber(n.Grouped()); err != nil || back != n {
			t.Fatalf("Grouped round trip of %q: %q, %v", n, back, err)
		}
	})
}

func TestCanTransition(t *testing.T) {
	t.Parallel()
	allowed := map[[2]Status]bool{
		{StatusNew, StatusInProgress}:     true,
		{StatusNew, StatusWaiting}:        true,
		{StatusNew, StatusClosed}:         true,
		{StatusInProgress, StatusWaiting}: true,
		{StatusInProgress, StatusClosed}:  true,
		{StatusWaiting, StatusInProgress}: true,
		{StatusWaiting, StatusClosed}:     true,
		{StatusClosed, StatusInProgress}:  true, // reopen, taken at once
		{StatusClosed, StatusNew}:         true, // reopen, back to the queue
	}
	all := append([]Status{"", "bogus"}, Statuses...)
	for _, from := range all {
		for _, to := range all {
			if got, want := CanTransition(from, to), allowed[[2]Status{from, to}]; got != want {
				t.Errorf("CanTransition(%q, %q) = %v, want %v", from, to, got, want)
			}
		}
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	wrapped := errorsJoinWrap(ErrBadCheckDigit)
	for _, tc := range []struct {
		err       error
		code      string
		is, isNot []error
		message   string
	}{
		{wrapped, fault.EINVALID, []error{ErrBadCheckDigit, fault.ErrInvalid}, []error{ErrMalformedNumber, fault.ErrNotFound, ErrInvalidTransition}, ErrBadCheckDigit.Message},
		{&TransitionError{From: StatusClosed, To: StatusWaiting}, fault.EINVALID, []error{ErrInvalidTransition, fault.ErrInvalid}, []error{fault.ErrConflict}, "invalid status transition from closed to waiting"},
		{&StaleError{Number: "20261207-0001-3", Now: 3, Edited: 2}, fault.ECONFLICT, []error{ErrStale, fault.ErrConflict}, []error{fault.ErrInvalid},
			"ticket 20261207-0001-3 was changed by someone else (now version 3, edited version 2)"},
		{fault.Errorf(fault.ENOTFOUND, "ticket 3 not found"), fault.ENOTFOUND, []error{fault.ErrNotFound}, []error{fault.ErrInvalid, ErrBadCheckDigit}, "ticket 3 not found"},
		{errors.New("connection reset"), fault.EINTERNAL, nil, []error{fault.ErrNotFound, fault.ErrInternal}, "internal error"},
		{nil, "", nil, []error{fault.ErrNotFound}, ""},
	} {
		if got := fault.Code(tc.err); got != tc.code {
			t.Errorf("fault.Code(%v) = %q, want %q", tc.err, got, tc.code)
		}
		if got := fault.Message(tc.err); got != tc.message {
			t.Errorf("fault.Message(%v) = %q, want %q", tc.err, got, tc.message)
		}
		for _, target := range tc.is {
			if !errors.Is(tc.err, target) {
				t.Errorf("errors.Is(%v, %v) = false", tc.err, target)
			}
		}
		for _, target := range tc.isNot {
			if errors.Is(tc.err, target) {
				t.Errorf("errors.Is(%v, %v) = true", tc.err, target)
			}
		}
	}
}

func errorsJoinWrap(err error) error { return errors.Join(errors.New("context"), err) }
