package hours

import (
	"fmt"
	"strings"
)

// TimeOfDay is a wall-clock time as seconds since local midnight:
// 08:00 is 8*3600. Valid values are 0 to EndOfDay inclusive; EndOfDay
// (24:00) only makes sense as the end of an Interval.
type TimeOfDay int

// EndOfDay is 24:00, the end of an interval that runs until midnight.
const EndOfDay TimeOfDay = 24 * 3600

// Clock returns the time of day hour:minute, e.g. Clock(8, 30) is 08:30.
func Clock(hour, minute int) TimeOfDay {
	return TimeOfDay(hour*3600 + minute*60)
}

// ParseTimeOfDay parses "HH:MM" or "HH:MM:SS" (a one-digit hour is
// accepted), from 00:00 to 24:00.
func ParseTimeOfDay(s string) (TimeOfDay, error) {
	bad := func(why string) (TimeOfDay, error) {
		return 0, fmt.Errorf("invalid time of day %q: %s", s, why)
	}
	parts := strings.Split(s, ":")
	if len(parts) != 2 && len(parts) != 3 {
		return bad("want HH:MM or HH:MM:SS")
	}
	h, ok := parseDigits(parts[0], 1, 2)
	if !ok {
		return bad("hour is not a 1- or 2-digit number")
	}
	m, ok := parseDigits(parts[1], 2, 2)
	if !ok {
		return bad("minutes are not a 2-digit number")
	}
	sec := 0
	if len(parts) == 3 {
		if sec, ok = parseDigits(parts[2], 2, 2); !ok {
			return bad("seconds are not a 2-digit number")
		}
	}
	switch {
	case m > 59:
		return bad("minutes must be 00-59")
	case sec > 59:
		return bad("seconds must be 00-59")
	case h > 24 || h == 24 && (m != 0 || sec != 0):
		return bad("must be between 00:00 and 24:00")
	}
	return TimeOfDay(h*3600 + m*60 + sec), nil
}

// parseDigits parses an unsigned decimal of minLen to maxLen ASCII digits;
// strconv.Atoi would also accept signs.
func parseDigits(s string, minLen, maxLen int) (int, bool) {
	if len(s) < minLen || len(s) > maxLen {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// String formats t as "HH:MM", or "HH:MM:SS" when the seconds are not
// zero. Out-of-range values are still printed readably ("25:00",
// "-01:00") so that validation messages can show them.
func (t TimeOfDay) String() string {
	sign := ""
	v := uint64(t)
	if t < 0 {
		sign = "-"
		v = uint64(-(t + 1)) + 1 // no overflow for the most negative value
	}
	h, m, s := v/3600, v/60%60, v%60
	if s == 0 {
		return fmt.Sprintf("%s%02d:%02d", sign, h, m)
	}
	return fmt.Sprintf("%s%02d:%02d:%02d", sign, h, m, s)
}

// MarshalText implements encoding.TextMarshaler, for config files.
func (t TimeOfDay) MarshalText() ([]byte, error) {
	if t < 0 || t > EndOfDay {
		return nil, fmt.Errorf("time of day %s is outside 00:00-24:00", t)
	}
	return []byte(t.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler using ParseTimeOfDay.
func (t *TimeOfDay) UnmarshalText(b []byte) error {
	v, err := ParseTimeOfDay(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// Interval is a daily opening span [Start, End): open at Start exactly,
// closed at End exactly. End may be EndOfDay.
//
// On days when the clock changes, an interval is the real-time span from
// the first instant the wall clock in the schedule's location shows Start
// (or a later time, when the clock jumps over Start) to the first instant
// it shows End or later, like a clerk watching the wall clock. So
// 00:00-24:00 lasts 23 hours on the spring-forward day and 25 hours on
// the fall-back day; a 02:30 start on the spring-forward day in
// Europe/Rome opens at 03:00, the first instant after the gap; and on the
// fall-back day 02:30-03:00 opens at the first 02:30 (CEST) and closes
// at 03:00 CET, 90 minutes later, covering the repeated 02:30-02:59.
type Interval struct {
	Start, End TimeOfDay
}

// ParseInterval parses "HH:MM-HH:MM" (seconds allowed, see
// ParseTimeOfDay); End must be after Start.
func ParseInterval(s string) (Interval, error) {
	start, end, ok := strings.Cut(s, "-")
	if !ok {
		return Interval{}, fmt.Errorf("invalid interval %q: want HH:MM-HH:MM", s)
	}
	a, err := ParseTimeOfDay(start)
	if err != nil {
		return Interval{}, fmt.Errorf("invalid interval %q: %w", s, err)
	}
	b, err := ParseTimeOfDay(end)
	if err != nil {
		return Interval{}, fmt.Errorf("invalid interval %q: %w", s, err)
	}
	if b <= a {
		return Interval{}, fmt.Errorf("invalid interval %q: end must be after start", s)
	}
	return Interval{a, b}, nil
}

// String formats the interval as "HH:MM-HH:MM".
func (iv Interval) String() string {
	return iv.Start.String() + "-" + iv.End.String()
}

// Contains reports whether the wall-clock time tod is in [Start, End).
func (iv Interval) Contains(tod TimeOfDay) bool {
	return iv.Start <= tod && tod < iv.End
}

// MarshalText implements encoding.TextMarshaler.
func (iv Interval) MarshalText() ([]byte, error) {
	if _, err := iv.Start.MarshalText(); err != nil {
		return nil, err
	}
	if _, err := iv.End.MarshalText(); err != nil {
		return nil, err
	}
	return []byte(iv.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler using ParseInterval.
func (iv *Interval) UnmarshalText(b []byte) error {
	v, err := ParseInterval(string(b))
	if err != nil {
		return err
	}
	*iv = v
	return nil
}
