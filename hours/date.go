package hours

import (
	"fmt"
	"time"
)

// Date is a civil (calendar) date with no time zone, e.g. a holiday.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the calendar date of t in t's own location. To get the
// day of an instant in a schedule's location use Schedule.DayOf.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate parses "YYYY-MM-DD" and rejects days that do not exist
// (2026-02-29).
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("invalid date %q (want YYYY-MM-DD): %w", s, err)
	}
	return DateOf(t), nil
}

// String formats d as "YYYY-MM-DD".
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// MarshalText implements encoding.TextMarshaler.
func (d Date) MarshalText() ([]byte, error) {
	return []byte(d.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler using ParseDate.
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// IsZero reports whether d is the zero Date, which is what
// NextWorkingDay returns when it finds no working day.
func (d Date) IsZero() bool { return d == Date{} }

// noon is d at 12:00 UTC: far from any day boundary, so day arithmetic on
// it is plain calendar arithmetic. Out-of-range fields are normalised the
// way time.Date does (Jan 32 is Feb 1).
func (d Date) noon() time.Time {
	return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC)
}

// AddDays returns the date n days after d (before, if n < 0).
func (d Date) AddDays(n int) Date {
	return DateOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC))
}

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday { return d.noon().Weekday() }

// Compare returns -1, 0 or +1 as d is before, equal to or after e. It
// compares the fields as they are: normalise with AddDays(0) first if they
// may be out of range.
func (d Date) Compare(e Date) int {
	switch {
	case d.Year != e.Year:
		return cmpInt(d.Year, e.Year)
	case d.Month != e.Month:
		return cmpInt(int(d.Month), int(e.Month))
	default:
		return cmpInt(d.Day, e.Day)
	}
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }

// After reports whether d is after e.
func (d Date) After(e Date) bool { return d.Compare(e) > 0 }

// In returns the first instant at which the wall clock in loc (nil means
// UTC) shows date d at time tod, or a later time: a time skipped by a
// spring-forward change gives the first instant after the gap, a time
// repeated by a fall-back change gives its first occurrence. tod = 24:00
// is the start of the next day; other out-of-range values carry over into
// the neighbouring days, as with time.Date.
//
// time.Date does not do this: for a skipped time it moves forward by the
// length of the gap (02:30 becomes 03:30 in Europe/Rome), and for a
// repeated time it does not promise which occurrence it picks.
func (d Date) In(loc *time.Location, tod TimeOfDay) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	// The wall clock as if it were UTC: an instant x shows wall time w
	// exactly when x + offset(x) == w.
	w := time.Date(d.Year, d.Month, d.Day, 0, 0, int(tod), 0, time.UTC).Unix()
	// No real offset exceeds ±14h, so the answer lies within this window
	// of w. Walk the zone periods in effect over it, in time order: in a
	// period with offset off the wall clock reaches w at w-off, and the
	// first period where that happens before the period ends holds the
	// answer.
	const window = 30 * 3600
	x := time.Unix(w-window, 0).In(loc)
	for range 64 {
		_, off := x.Zone()
		start, end := x.ZoneBounds()
		c := w - int64(off)
		if !start.IsZero() && c < start.Unix() {
			c = start.Unix() // the clock jumped over w: first instant after the gap
		}
		if end.IsZero() || c < end.Unix() {
			return time.Unix(c, 0).In(loc)
		}
		if !end.After(x) {
			break // cannot happen with a sane zone table; don't loop
		}
		x = end.In(loc)
	}
	return time.Date(d.Year, d.Month, d.Day, 0, 0, int(tod), 0, loc)
}
