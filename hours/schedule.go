// Package hours decides when the help desk is open: weekly opening hours
// in a given location, Italian public holidays, local patron-saint days,
// one-off closures and one-off extra openings. The call controller asks
// it whether to route a call to an operator or play the "closed" message,
// the ticket store asks when an after-hours request will be taken in
// charge, and `ivrctl hours` prints the calendar.
//
// The package is pure: it does no I/O and never reads the clock; every
// instant comes in as a parameter. All reasoning about days and times of
// day happens on the wall clock of Schedule.Location, so it stays right
// across daylight-saving changes (see Interval and Date.In for how
// skipped and repeated wall times are handled).
package hours

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Closure is a one-off closure over [From, To): a whole day (From and To
// at the start of the day and of the next, see Date.In) or a time range,
// e.g. 14:00-18:00 for an evacuation drill.
type Closure struct {
	From, To time.Time
	Note     string
}

// Opening is a one-off extra opening over [From, To), e.g. an exceptional
// Sunday. It overrides closures, holidays and the weekly hours.
type Opening struct {
	From, To time.Time
	Note     string
}

// Schedule describes when the service is open.
//
// Precedence at an instant t, first match wins:
//  1. an Opening covering t: open (Reason "open", Note from the opening);
//  2. a Closure covering t: closed (Reason "closure", Note);
//  3. a holiday on t's date, national (if ItalianHolidays) or Patron:
//     closed (Reason "holiday", Holiday names it; national names win);
//  4. the Weekly intervals of t's weekday: open (Reason "open") or closed
//     (Reason "outside_hours").
//
// The zero Schedule is valid to query and is never open. Methods never
// panic, even on a schedule that fails Validate: a nil Location is taken
// as UTC, times of day are clamped to 00:00-24:00 and inverted intervals
// or ranges are empty.
type Schedule struct {
	// Location gives the wall clock, e.g. Europe/Rome.
	Location *time.Location
	// Weekly is indexed by time.Weekday; a day may have several
	// intervals (08:00-13:00 and 14:00-18:00).
	Weekly [7][]Interval
	// ItalianHolidays closes the service on the national holidays, see
	// the ItalianHolidays function.
	ItalianHolidays bool
	// Patron lists local holidays that recur every year.
	Patron   []AnnualDay
	Closures []Closure
	Openings []Opening
}

// Reason says why the service is open or closed.
type Reason string

const (
	ReasonOpen         Reason = "open"
	ReasonOutsideHours Reason = "outside_hours"
	ReasonHoliday      Reason = "holiday"
	ReasonClosure      Reason = "closure"
)

// Status is the state of the service at an instant.
type Status struct {
	Open   bool
	Reason Reason
	// Holiday is the holiday's name when Reason is ReasonHoliday.
	Holiday string
	// Note is the Note of the Closure or Opening that decided the state.
	Note string
	// Until, when Open, is the next instant at which the service is
	// closed, taking every rule into account (a closure starting at 14:00
	// ends a 08:00-18:00 interval at 14:00; back-to-back intervals count
	// as one). It is zero when closed, or when the service stays open
	// beyond the search horizon (about two years).
	Until time.Time
}

// horizonDays bounds the day-by-day searches (NextOpening, Until).
const horizonDays = 800

// maxHolidayYears bounds Holidays so that an absurd range cannot exhaust
// memory.
const maxHolidayYears = 1000

// Validate reports every problem in s, joined with errors.Join; nil if
// none. A schedule that fails Validate can still be queried, see Schedule.
func (s *Schedule) Validate() error {
	if s == nil {
		return errors.New("schedule is nil")
	}
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	if s.Location == nil {
		add("location is not set (want e.g. Europe/Rome)")
	}
	for wd, ivs := range s.Weekly {
		day := time.Weekday(wd)
		var good []Interval
		for _, iv := range ivs {
			ok := true
			if iv.Start < 0 || iv.Start > EndOfDay {
				add("%s: interval %s: start %s is outside 00:00-24:00", day, iv, iv.Start)
				ok = false
			}
			if iv.End < 0 || iv.End > EndOfDay {
				add("%s: interval %s: end %s is outside 00:00-24:00", day, iv, iv.End)
				ok = false
			}
			if iv.End <= iv.Start {
				add("%s: interval %s: end must be after start", day, iv)
				ok = false
			}
			if ok {
				good = append(good, iv)
			}
		}
		// Sorted by start, an interval overlaps an earlier one exactly
		// when it starts before the latest end seen so far. Touching
		// intervals (08:00-13:00, 13:00-18:00) are fine.
		slices.SortFunc(good, func(a, b Interval) int { return cmpInt(int(a.Start), int(b.Start)) })
		for i := 1; i < len(good); i++ {
			if good[i].Start < good[i-1].End {
				add("%s: intervals %s and %s overlap", day, good[i-1], good[i])
			}
			if good[i].End < good[i-1].End {
				good[i] = good[i-1] // keep the latest end for the next comparison
			}
		}
	}
	for _, p := range s.Patron {
		what := fmt.Sprintf("patron day %q (%d %s)", p.Name, p.Day, p.Month)
		switch {
		case p.movable():
			what = fmt.Sprintf("patron day %q (%s)", p.Name, p)
			if _, ok := p.On(2024); !ok || p.Day != 0 || (p.Easter && p.Nth != 0) {
				add("%s: not a valid movable day", what)
			}
		case p.Month < time.January || p.Month > time.December:
			add("%s: month %d is not 1-12", what, int(p.Month))
		case p.Day < 1 || p.Day > daysIn(2024, p.Month): // 2024: allow 29 Feb
			add("%s: %s has no day %d", what, p.Month, p.Day)
		}
		if strings.TrimSpace(p.Name) == "" {
			add("%s: name is empty", what)
		}
	}
	for i, c := range s.Closures {
		validateRange(add, fmt.Sprintf("closure %d (%q)", i+1, c.Note), c.From, c.To)
	}
	for i, o := range s.Openings {
		validateRange(add, fmt.Sprintf("opening %d (%q)", i+1, o.Note), o.From, o.To)
	}
	return errors.Join(errs...)
}

func validateRange(add func(string, ...any), what string, from, to time.Time) {
	const layout = "2006-01-02 15:04:05 MST"
	switch {
	case from.IsZero():
		add("%s: from is not set", what)
	case to.IsZero():
		add("%s: to is not set", what)
	case !to.After(from):
		add("%s: to %s must be after from %s", what, to.Format(layout), from.Format(layout))
	}
}

func (s *Schedule) loc() *time.Location {
	if s.Location == nil {
		return time.UTC
	}
	return s.Location
}

// DayOf returns the calendar day of t in s.Location. It is DateOf(t in
// s.Location) except in zones whose clock falls back across midnight,
// where the repeated hour belongs to the new day (the day that began at
// its first midnight, see Date.In).
func (s *Schedule) DayOf(t time.Time) Date {
	if s == nil {
		s = &Schedule{}
	}
	loc := s.loc()
	d := DateOf(t.In(loc))
	for range 3 {
		next := d.AddDays(1)
		if t.Before(next.In(loc, 0)) {
			break
		}
		d = next
	}
	return d
}

// holidayOn returns the name of the holiday on d, national first.
func (s *Schedule) holidayOn(d Date) (string, bool) {
	if s.ItalianHolidays {
		if name, ok := italianHoliday(d); ok {
			return name, true
		}
	}
	for _, p := range s.Patron {
		if !p.movable() {
			if p.Month == d.Month && p.Day == d.Day {
				return p.Name, true
			}
			continue
		}
		if on, ok := p.On(d.Year); ok && on == d {
			return p.Name, true
		}
	}
	return "", false
}

func covers(from, to, t time.Time) bool {
	return !t.Before(from) && t.Before(to)
}

// clamp returns iv limited to 00:00-24:00, so that a bad interval never
// reaches into another day.
func clamp(iv Interval) (TimeOfDay, TimeOfDay) {
	return min(max(iv.Start, 0), EndOfDay), min(max(iv.End, 0), EndOfDay)
}

// status is StatusAt without Until.
func (s *Schedule) status(t time.Time) Status {
	for _, o := range s.Openings {
		if covers(o.From, o.To, t) {
			return Status{Open: true, Reason: ReasonOpen, Note: o.Note}
		}
	}
	for _, c := range s.Closures {
		if covers(c.From, c.To, t) {
			return Status{Reason: ReasonClosure, Note: c.Note}
		}
	}
	d := s.DayOf(t)
	if name, ok := s.holidayOn(d); ok {
		return Status{Reason: ReasonHoliday, Holiday: name}
	}
	loc := s.loc()
	for _, iv := range s.Weekly[d.Weekday()] {
		a, b := clamp(iv)
		if a < b && covers(d.In(loc, a), d.In(loc, b), t) {
			return Status{Open: true, Reason: ReasonOpen}
		}
	}
	return Status{Reason: ReasonOutsideHours}
}

// StatusAt returns the state of the service at t.
func (s *Schedule) StatusAt(t time.Time) Status {
	if s == nil {
		s = &Schedule{}
	}
	st := s.status(t)
	if st.Open {
		if u, ok := s.next(t, false); ok {
			st.Until = u
		}
	}
	return st
}

// IsOpen reports whether the service is open at t.
func (s *Schedule) IsOpen(t time.Time) bool {
	if s == nil {
		return false
	}
	return s.status(t).Open
}

// NextOpening returns the first instant at or after t at which the
// service is open, in s.Location: t itself if open at t. It reports false
// if there is none within about two years (e.g. an empty schedule).
func (s *Schedule) NextOpening(t time.Time) (time.Time, bool) {
	if s == nil {
		return time.Time{}, false
	}
	return s.next(t, true)
}

// NextWorkingDay returns the day on which a request left at t is taken in
// charge: if the service is closed at t, the day of NextOpening(t) (so
// Monday 07:30 gives that Monday, Saturday 20:00 the next Monday); if it
// is open at t, the first day after t's day with any opening (Monday
// 10:00 gives Tuesday). Days are in s.Location. It returns the zero Date
// if there is no opening within about two years.
func (s *Schedule) NextWorkingDay(t time.Time) Date {
	if s == nil {
		return Date{}
	}
	from := t
	if s.IsOpen(t) {
		from = s.DayOf(t).AddDays(1).In(s.loc(), 0)
	}
	x, ok := s.next(from, true)
	if !ok {
		return Date{}
	}
	return s.DayOf(x)
}

// next returns the first instant at or after t at which the service is
// open (want true) or closed (want false). The state only changes at the
// edges of openings, closures, weekly intervals and days, so it walks day
// by day and looks at those edges only, for at most horizonDays days.
func (s *Schedule) next(t time.Time, want bool) (time.Time, bool) {
	loc := s.loc()
	t = t.In(loc)
	if s.status(t).Open == want {
		return t, true
	}
	if want && !s.canOpenAfter(t) {
		return time.Time{}, false
	}
	var events []time.Time
	addEvent := func(x time.Time) {
		if x.After(t) {
			events = append(events, x)
		}
	}
	for _, o := range s.Openings {
		addEvent(o.From)
		addEvent(o.To)
	}
	for _, c := range s.Closures {
		addEvent(c.From)
		addEvent(c.To)
	}
	slices.SortFunc(events, time.Time.Compare)

	day := s.DayOf(t)
	start := day.In(loc, 0)
	var edges []time.Time
	for range horizonDays {
		nextDay := day.AddDays(1)
		end := nextDay.In(loc, 0)
		edges = append(edges[:0], start)
		for _, iv := range s.Weekly[day.Weekday()] {
			if a, b := clamp(iv); a < b {
				edges = append(edges, day.In(loc, a), day.In(loc, b))
			}
		}
		for len(events) > 0 && events[0].Before(end) {
			edges = append(edges, events[0])
			events = events[1:]
		}
		slices.SortFunc(edges, time.Time.Compare)
		edges = slices.CompactFunc(edges, time.Time.Equal)
		for _, e := range edges {
			if e.After(t) && s.status(e).Open == want {
				return e.In(loc), true
			}
		}
		day, start = nextDay, end
	}
	return time.Time{}, false
}

// canOpenAfter is a quick test that saves the full walk when the service
// can never open again (e.g. the zero Schedule).
func (s *Schedule) canOpenAfter(t time.Time) bool {
	for _, o := range s.Openings {
		if o.To.After(t) && o.To.After(o.From) {
			return true
		}
	}
	for _, ivs := range s.Weekly {
		for _, iv := range ivs {
			if a, b := clamp(iv); a < b {
				return true
			}
		}
	}
	return false
}

// Holidays returns every holiday of s (national if ItalianHolidays, and
// Patron) in [from, to], sorted by date; on a date with several holidays
// national ones come first, then Patron in order, and exact duplicates
// are dropped. At most 1000 years are listed.
func (s *Schedule) Holidays(from, to Date) []Holiday {
	if s == nil || to.Before(from) {
		return nil
	}
	years := to.Year - from.Year
	if years < 0 || years > maxHolidayYears { // < 0: overflow
		years = maxHolidayYears
	}
	var out []Holiday
	keep := func(h Holiday) {
		if !h.Date.Before(from) && !h.Date.After(to) {
			out = append(out, h)
		}
	}
	for i := 0; i <= years; i++ {
		y := from.Year + i
		if s.ItalianHolidays {
			for _, h := range ItalianHolidays(y) {
				keep(h)
			}
		}
		for _, p := range s.Patron {
			if d, ok := p.On(y); ok {
				keep(Holiday{d, p.Name})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Holiday) int { return a.Date.Compare(b.Date) })
	// Equal entries are not necessarily adjacent (same date, names
	// interleaved), so compare with the whole run of the same date.
	dedup := out[:0]
	runStart := 0
	for _, h := range out {
		if len(dedup) > 0 && dedup[len(dedup)-1].Date != h.Date {
			runStart = len(dedup)
		}
		if !slices.Contains(dedup[runStart:], h) {
			dedup = append(dedup, h)
		}
	}
	return dedup
}
