package hours

import (
	"slices"
	"testing"
	"time"
)

// Zones with DST at 02:00 (Rome), at midnight (Sao Paulo until 2019), by
// 30 minutes (Lord Howe), a skipped day (Apia, 2011) and none (UTC).
var fuzzZones = []*time.Location{
	rome,
	time.UTC,
	mustLoad("America/New_York"),
	mustLoad("Australia/Lord_Howe"),
	saoPaulo,
	apia,
}

// fuzzBase and fuzzSpan: instants are folded into 2008-2032.
var (
	fuzzBase = time.Date(2008, 1, 1, 0, 0, 0, 0, time.UTC)
	fuzzSpan = int64(25 * 365 * 86400)
)

func fuzzOffset(t time.Time) int64 { return t.Unix() - fuzzBase.Unix() }

func FuzzStatus(f *testing.F) {
	const (
		h8  = int32(8 * 3600)
		h13 = int32(13 * 3600)
		h14 = int32(14 * 3600)
		h18 = int32(18 * 3600)
		day = int32(86400)
	)
	// Seeds: the help desk around the DST weekends and Christmas 2025,
	// a 02:30 interval in the spring gap, 24/7, Sao Paulo and Apia.
	for _, at := range []time.Time{
		inRome("2026-03-28 12:59:59"), inRome("2026-03-29 01:59:59"), inRome("2026-10-24 13:00:00"),
		inUTC("2026-10-25 01:30:00"), inRome("2025-12-24 18:00:00"), inRome("2026-04-04 13:00:00"),
	} {
		f.Add(fuzzOffset(at), uint8(0), h8, h18, h8, h13, uint8(0x3e), true, int32(3600), int32(4*3600), int32(-day), int32(0))
	}
	f.Add(fuzzOffset(inRome("2026-03-29 00:00:00")), uint8(0), int32(2*3600+1800), int32(4*3600), int32(0), int32(0), uint8(0x01), false, int32(0), int32(0), int32(0), int32(0))
	f.Add(fuzzOffset(inRome("2026-10-25 00:00:00")), uint8(0), int32(2*3600+1800), int32(3*3600), int32(0), int32(0), uint8(0x01), false, int32(0), int32(0), int32(3600), int32(7200))
	f.Add(fuzzOffset(inRome("2026-05-13 10:00:00")), uint8(0), int32(0), int32(24*3600), int32(0), int32(0), uint8(0x7f), true, int32(4*3600), int32(4*3600), int32(6*3600), int32(3600))
	f.Add(fuzzOffset(inUTC("2019-02-17 01:30:00")), uint8(4), int32(0), int32(3600), h14, h18, uint8(0x7f), false, int32(0), int32(0), int32(0), int32(0))
	f.Add(fuzzOffset(inUTC("2011-12-30 05:00:00")), uint8(5), h8, h18, int32(0), int32(0), uint8(0x7f), false, int32(0), int32(0), int32(0), int32(0))
	f.Add(int64(0), uint8(1), int32(-5), int32(90000), int32(7), int32(3), uint8(0xff), true, int32(-1), int32(-1), int32(1), int32(1))

	f.Fuzz(func(t *testing.T, sec int64, zone uint8, s1, e1, s2, e2 int32, days uint8, holidays bool, cOff, cLen, oOff, oLen int32) {
		loc := fuzzZones[int(zone)%len(fuzzZones)]
		at := time.Unix(fuzzBase.Unix()+floorMod64(sec, fuzzSpan), 0).In(loc)
		s := &Schedule{
			Location:        loc,
			ItalianHolidays: holidays,
			Patron:          []AnnualDay{{Month: time.June, Day: 29, Name: "Santi Pietro e Paolo"}, {Month: time.May, Nth: 1, Weekday: time.Tuesday, Name: "San Secondo"}},
		}
		// Times of day may be out of range or inverted: invariants must
		// hold for schedules that fail Validate too.
		for wd := range 7 {
			if days&(1<<wd) == 0 {
				continue
			}
			s.Weekly[wd] = []Interval{{TimeOfDay(s1 % 90000), TimeOfDay(e1 % 90000)}}
			if days&0x80 != 0 {
				s.Weekly[wd] = append(s.Weekly[wd], Interval{TimeOfDay(s2 % 90000), TimeOfDay(e2 % 90000)})
			}
		}
		// A closure and an opening near at, up to ten days away and
		// three days long.
		if cLen != 0 {
			from := at.Add(time.Duration(cOff%(10*86400)) * time.Second)
			s.Closures = []Closure{{From: from, To: from.Add(time.Duration(cLen%(3*86400)) * time.Second), Note: "c"}}
		}
		if oLen != 0 {
			from := at.Add(time.Duration(oOff%(10*86400)) * time.Second)
			s.Openings = []Opening{{From: from, To: from.Add(time.Duration(oLen%(3*86400)) * time.Second), Note: "o"}}
		}
		checkInvariants(t, s, at)
	})
}

func floorMod64(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

func checkInvariants(t *testing.T, s *Schedule, at time.Time) {
	t.Helper()
	loc := s.Location
	st := s.StatusAt(at)
	if st.Open != s.IsOpen(at) {
		t.Fatalf("StatusAt(%v).Open = %v but IsOpen = %v", at, st.Open, !st.Open)
	}
	if st.Open != (st.Reason == ReasonOpen) || (st.Reason == ReasonHoliday) != (st.Holiday != "") {
		t.Fatalf("inconsistent status %+v", st)
	}
	if other := s.StatusAt(at.UTC()); !sameStatus(other, st) {
		t.Fatalf("StatusAt depends on the input's zone: %+v vs %+v", other, st)
	}
	if want, ok := naiveOpen(s, at); ok && want != st.Open {
		t.Fatalf("StatusAt(%v) open=%v, wall-clock model says %v (%+v)", at, st.Open, want, st)
	}

	x, ok := s.NextOpening(at)
	if ok {
		switch {
		case x.Before(at):
			t.Fatalf("NextOpening(%v) = %v, before t", at, x)
		case !s.IsOpen(x):
			t.Fatalf("NextOpening(%v) = %v, closed then", at, x)
		case x.Location() != loc:
			t.Fatalf("NextOpening location %v, want %v", x.Location(), loc)
		case st.Open && !x.Equal(at):
			t.Fatalf("open at %v but NextOpening = %v", at, x)
		case x.After(at) && s.IsOpen(x.Add(-time.Nanosecond)):
			t.Fatalf("NextOpening(%v) = %v, but open just before", at, x)
		}
		for _, p := range samples(s, at, x, 20) {
			if s.IsOpen(p) {
				t.Fatalf("NextOpening(%v) = %v, but open at %v", at, x, p)
			}
		}
	} else {
		if st.Open {
			t.Fatalf("open at %v but NextOpening found nothing", at)
		}
		for _, p := range samples(s, at, at.AddDate(0, 0, 20), 20) {
			if s.IsOpen(p) {
				t.Fatalf("NextOpening(%v) found nothing, but open at %v", at, p)
			}
		}
	}

	if !st.Open && !st.Until.IsZero() {
		t.Fatalf("closed with Until %v", st.Until)
	}
	if st.Open && !st.Until.IsZero() {
		u := st.Until
		switch {
		case !u.After(at):
			t.Fatalf("Until %v not after %v", u, at)
		case s.IsOpen(u):
			t.Fatalf("Until %v: still open", u)
		case !s.IsOpen(u.Add(-time.Nanosecond)):
			t.Fatalf("Until %v: closed just before", u)
		}
		for _, p := range samples(s, at, u, 20) {
			if !s.IsOpen(p) {
				t.Fatalf("open at %v until %v, but closed at %v", at, u, p)
			}
		}
	}

	today := s.DayOf(at)
	if DateOf(at.In(loc)) != today && DateOf(at.In(loc)).AddDays(1) != today {
		t.Fatalf("DayOf(%v) = %v, far from its wall date", at, today)
	}
	wd := s.NextWorkingDay(at)
	switch {
	case !st.Open && ok:
		if wd != s.DayOf(x) {
			t.Fatalf("closed at %v, NextOpening %v, NextWorkingDay %v", at, x, wd)
		}
	case !st.Open:
		if !wd.IsZero() {
			t.Fatalf("no opening after %v, NextWorkingDay %v", at, wd)
		}
	case !wd.IsZero():
		if !wd.After(today) {
			t.Fatalf("open at %v (%v), NextWorkingDay %v not after", at, today, wd)
		}
		y, ok := s.NextOpening(wd.In(loc, 0))
		if !ok || s.DayOf(y) != wd {
			t.Fatalf("NextWorkingDay(%v) = %v, no opening that day (%v)", at, wd, y)
		}
		// No day in between has an opening.
		for _, p := range samples(s, today.AddDays(1).In(loc, 0), wd.In(loc, 0), 20) {
			if s.IsOpen(p) {
				t.Fatalf("NextWorkingDay(%v) = %v, but open at %v", at, wd, p)
			}
		}
	}
}

// samples returns instants in [from, to) where a wrong answer would most
// likely show: each day's midnight, the interval edges and a second
// either side (built with time.Date, not the package's own conversion),
// every three hours, and the closure and opening edges. It looks at most
// maxDays days after from.
func samples(s *Schedule, from, to time.Time, maxDays int) []time.Time {
	var out []time.Time
	add := func(x time.Time) {
		if !x.Before(from) && x.Before(to) {
			out = append(out, x)
		}
	}
	add(from)
	add(to.Add(-time.Nanosecond))
	for _, c := range s.Closures {
		for _, e := range []time.Time{c.From, c.To} {
			add(e.Add(-time.Second))
			add(e)
			add(e.Add(time.Second))
		}
	}
	for _, o := range s.Openings {
		for _, e := range []time.Time{o.From, o.To} {
			add(e.Add(-time.Second))
			add(e)
			add(e.Add(time.Second))
		}
	}
	loc := s.Location
	y, m, d := from.In(loc).Date()
	for i := -1; i <= maxDays; i++ {
		wd := time.Date(y, m, d+i, 12, 0, 0, 0, time.UTC).Weekday()
		for h := 0; h < 24; h += 3 {
			add(time.Date(y, m, d+i, h, 0, 0, 0, loc))
		}
		for _, iv := range s.Weekly[wd] {
			for _, tod := range []TimeOfDay{iv.Start, iv.End} {
				for _, delta := range []int{-1, 0, 1} {
					add(time.Date(y, m, d+i, 0, 0, int(tod)+delta, 0, loc))
				}
			}
		}
	}
	return out
}

// naiveOpen is an independent model of the precedence rules that compares
// wall-clock readings. It only applies when the offset is constant for
// more than a day around t (ok false otherwise).
func naiveOpen(s *Schedule, t time.Time) (open, ok bool) {
	start, end := t.In(s.Location).ZoneBounds()
	const margin = 26 * time.Hour
	if !start.IsZero() && t.Sub(start) < margin || !end.IsZero() && end.Sub(t) < margin {
		return false, false
	}
	for _, o := range s.Openings {
		if !t.Before(o.From) && t.Before(o.To) {
			return true, true
		}
	}
	for _, c := range s.Closures {
		if !t.Before(c.From) && t.Before(c.To) {
			return false, true
		}
	}
	w := t.In(s.Location)
	today := DateOf(w)
	if s.ItalianHolidays && slices.ContainsFunc(ItalianHolidays(today.Year), func(h Holiday) bool { return h.Date == today }) {
		return false, true
	}
	for _, p := range s.Patron {
		if p.Month == today.Month && p.Day == today.Day {
			return false, true
		}
	}
	tod := TimeOfDay(w.Hour()*3600 + w.Minute()*60 + w.Second())
	for _, iv := range s.Weekly[w.Weekday()] {
		if iv.Start <= tod && tod < iv.End {
			return true, true
		}
	}
	return false, true
}
