package hours

import (
	"strings"
	"testing"
	"time"
)

// helpDesk is the real schedule: Mon-Fri 08:00-18:00, Sat 08:00-13:00,
// Italian holidays, Rome's patron saints.
func helpDesk() *Schedule {
	weekday := []Interval{{Clock(8, 0), Clock(18, 0)}}
	return &Schedule{
		Location: rome,
		Weekly: [7][]Interval{
			time.Monday:    weekday,
			time.Tuesday:   weekday,
			time.Wednesday: weekday,
			time.Thursday:  weekday,
			time.Friday:    weekday,
			time.Saturday:  {{Clock(8, 0), Clock(13, 0)}},
		},
		ItalianHolidays: true,
		Patron:          []AnnualDay{{Month: time.June, Day: 29, Name: "Santi Pietro e Paolo"}},
	}
}

type statusCase struct {
	name    string
	at      time.Time
	weekday time.Weekday // in Rome; guards the hand-written calendar
	open    bool
	reason  Reason
	holiday string
	note    string
}

func checkStatus(t *testing.T, s *Schedule, tests []statusCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if wd := tt.at.In(rome).Weekday(); wd != tt.weekday {
				t.Fatalf("test case is wrong: %v is a %v, not a %v", tt.at, wd, tt.weekday)
			}
			got := s.StatusAt(tt.at)
			if got.Open != tt.open || got.Reason != tt.reason || got.Holiday != tt.holiday || got.Note != tt.note {
				t.Errorf("StatusAt(%v) = %+v, want open=%v reason=%q holiday=%q note=%q",
					tt.at, got, tt.open, tt.reason, tt.holiday, tt.note)
			}
			if s.IsOpen(tt.at) != tt.open {
				t.Errorf("IsOpen(%v) = %v", tt.at, !tt.open)
			}
			// The same instant seen from another zone gives the same answer.
			if other := s.StatusAt(tt.at.In(time.FixedZone("X", -7*3600))); !sameStatus(other, got) {
				t.Errorf("StatusAt in another zone = %+v, want %+v", other, got)
			}
		})
	}
}

func sameStatus(a, b Status) bool {
	au, bu := a.Until, b.Until
	a.Until, b.Until = time.Time{}, time.Time{}
	return a == b && au.Equal(bu)
}

func TestStatusAtHelpDesk(t *testing.T) {
	t.Parallel()
	const (
		open    = ReasonOpen
		outside = ReasonOutsideHours
		holiday = ReasonHoliday
	)
	checkStatus(t, helpDesk(), []statusCase{
		// An ordinary week.
		{"Mon 07:59:59", inRome("2026-03-02 07:59:59"), time.Monday, false, outside, "", ""},
		{"Mon 08:00:00", inRome("2026-03-02 08:00:00"), time.Monday, true, open, "", ""},
		{"Mon 17:59:59", inRome("2026-03-02 17:59:59"), time.Monday, true, open, "", ""},
		{"Mon 18:00:00", inRome("2026-03-02 18:00:00"), time.Monday, false, outside, "", ""},
		{"Mon midnight", inRome("2026-03-02 00:00:00"), time.Monday, false, outside, "", ""},
		{"Fri 12:00", inRome("2026-03-06 12:00:00"), time.Friday, true, open, "", ""},
		{"Sat 08:00", inRome("2026-03-07 08:00:00"), time.Saturday, true, open, "", ""},
		{"Sat 12:59:59", inRome("2026-03-07 12:59:59"), time.Saturday, true, open, "", ""},
		{"Sat 13:00", inRome("2026-03-07 13:00:00"), time.Saturday, false, outside, "", ""},
		{"Sun 10:00", inRome("2026-03-08 10:00:00"), time.Sunday, false, outside, "", ""},
		{"half-second before opening", inRome("2026-03-02 07:59:59").Add(500 * time.Millisecond), time.Monday, false, outside, "", ""},

		// New Year's Eve is a working day; New Year's Day is not.
		{"31 Dec 2025 Wed", inRome("2025-12-31 10:00:00"), time.Wednesday, true, open, "", ""},
		{"31 Dec 2026 Thu 17:59:59", inRome("2026-12-31 17:59:59"), time.Thursday, true, open, "", ""},
		{"31 Dec 2027 Fri", inRome("2027-12-31 10:00:00"), time.Friday, true, open, "", ""},
		{"31 Dec 2028 Sun", inRome("2028-12-31 10:00:00"), time.Sunday, false, outside, "", ""},
		{"31 Dec 2029 Mon 08:00", inRome("2029-12-31 08:00:00"), time.Monday, true, open, "", ""},
		{"1 Jan 2026 Thu", inRome("2026-01-01 10:00:00"), time.Thursday, false, holiday, "Capodanno", ""},
		{"1 Jan 2027 Fri", inRome("2027-01-01 10:00:00"), time.Friday, false, holiday, "Capodanno", ""},
		{"1 Jan 2028 Sat", inRome("2028-01-01 10:00:00"), time.Saturday, false, holiday, "Capodanno", ""},
		{"1 Jan 2030 Tue", inRome("2030-01-01 10:00:00"), time.Tuesday, false, holiday, "Capodanno", ""},
		{"6 Jan 2026 Tue", inRome("2026-01-06 10:00:00"), time.Tuesday, false, holiday, "Epifania", ""},

		// Easter Monday; Holy Saturday and the Tuesday after are normal.
		{"Holy Saturday 2026", inRome("2026-04-04 10:00:00"), time.Saturday, true, open, "", ""},
		{"Easter Monday 2026", inRome("2026-04-06 10:00:00"), time.Monday, false, holiday, "Lunedì dell'Angelo", ""},
		{"Tuesday after Easter 2026", inRome("2026-04-07 08:00:00"), time.Tuesday, true, open, "", ""},
		{"Easter Monday 2027", inRome("2027-03-29 10:00:00"), time.Monday, false, holiday, "Lunedì dell'Angelo", ""},
		{"Easter Monday 2028", inRome("2028-04-17 10:00:00"), time.Monday, false, holiday, "Lunedì dell'Angelo", ""},
		{"Easter Monday 2029", inRome("2029-04-02 10:00:00"), time.Monday, false, holiday, "Lunedì dell'Angelo", ""},
		{"Easter Monday 2030", inRome("2030-04-22 10:00:00"), time.Monday, false, holiday, "Lunedì dell'Angelo", ""},

		// 25 April and the other national days.
		{"25 Apr 2025 Fri", inRome("2025-04-25 10:00:00"), time.Friday, false, holiday, "Festa della Liberazione", ""},
		{"25 Apr 2026 Sat", inRome("2026-04-25 10:00:00"), time.Saturday, false, holiday, "Festa della Liberazione", ""},
		{"25 Apr 2028 Tue", inRome("2028-04-25 10:00:00"), time.Tuesday, false, holiday, "Festa della Liberazione", ""},
		{"24 Apr 2028 Mon", inRome("2028-04-24 10:00:00"), time.Monday, true, open, "", ""},
		{"25 Apr 2029 Wed", inRome("2029-04-25 10:00:00"), time.Wednesday, false, holiday, "Festa della Liberazione", ""},
		{"1 May 2026 Fri", inRome("2026-05-01 10:00:00"), time.Friday, false, holiday, "Festa del Lavoro", ""},
		{"2 Jun 2026 Tue", inRome("2026-06-02 10:00:00"), time.Tuesday, false, holiday, "Festa della Repubblica", ""},
		{"15 Aug 2026 Sat", inRome("2026-08-15 10:00:00"), time.Saturday, false, holiday, "Ferragosto", ""},
		{"4 Oct 2025 Sat, not yet a holiday", inRome("2025-10-04 10:00:00"), time.Saturday, true, open, "", ""},
		{"4 Oct 2027 Mon", inRome("2027-10-04 10:00:00"), time.Monday, false, holiday, "San Francesco d'Assisi", ""},
		{"1 Nov 2027 Mon", inRome("2027-11-01 10:00:00"), time.Monday, false, holiday, "Ognissanti", ""},
		{"8 Dec 2026 Tue", inRome("2026-12-08 10:00:00"), time.Tuesday, false, holiday, "Immacolata Concezione", ""},
		{"25 Dec 2025 Thu", inRome("2025-12-25 10:00:00"), time.Thursday, false, holiday, "Natale", ""},
		{"26 Dec 2025 Fri", inRome("2025-12-26 10:00:00"), time.Friday, false, holiday, "Santo Stefano", ""},
		{"27 Dec 2025 Sat", inRome("2025-12-27 10:00:00"), time.Saturday, true, open, "", ""},
		{"holiday covers the whole day", inRome("2025-12-26 00:00:00"), time.Friday, false, holiday, "Santo Stefano", ""},
		{"holiday ends at midnight", inRome("2025-12-26 23:59:59"), time.Friday, false, holiday, "Santo Stefano", ""},

		// Patron saint of Rome.
		{"29 Jun 2026 Mon", inRome("2026-06-29 10:00:00"), time.Monday, false, holiday, "Santi Pietro e Paolo", ""},
		{"29 Jun 2027 Tue", inRome("2027-06-29 10:00:00"), time.Tuesday, false, holiday, "Santi Pietro e Paolo", ""},
		{"30 Jun 2026 Tue", inRome("2026-06-30 08:00:00"), time.Tuesday, true, open, "", ""},

		// DST weekends: spring forward on Sun 29 Mar 2026, fall back on
		// Sun 25 Oct 2026. UTC instants check the offset used.
		{"Sat 28 Mar 08:00 CET", inUTC("2026-03-28 07:00:00"), time.Saturday, true, open, "", ""},
		{"Sat 28 Mar 07:59:59 CET", inUTC("2026-03-28 06:59:59"), time.Saturday, false, outside, "", ""},
		{"Sat 28 Mar 12:59:59 CET", inUTC("2026-03-28 11:59:59"), time.Saturday, true, open, "", ""},
		{"Sat 28 Mar 13:00 CET", inUTC("2026-03-28 12:00:00"), time.Saturday, false, outside, "", ""},
		{"Sun 29 Mar 03:00 CEST", inUTC("2026-03-29 01:00:00"), time.Sunday, false, outside, "", ""},
		{"Sun 29 Mar 10:00 CEST", inUTC("2026-03-29 08:00:00"), time.Sunday, false, outside, "", ""},
		{"Mon 30 Mar 07:59:59 CEST", inUTC("2026-03-30 05:59:59"), time.Monday, false, outside, "", ""},
		{"Mon 30 Mar 08:00 CEST", inUTC("2026-03-30 06:00:00"), time.Monday, true, open, "", ""},
		{"Mon 30 Mar 17:59:59 CEST", inUTC("2026-03-30 15:59:59"), time.Monday, true, open, "", ""},
		{"Mon 30 Mar 18:00 CEST", inUTC("2026-03-30 16:00:00"), time.Monday, false, outside, "", ""},
		{"Sat 24 Oct 12:59:59 CEST", inUTC("2026-10-24 10:59:59"), time.Saturday, true, open, "", ""},
		{"Sat 24 Oct 13:00 CEST", inUTC("2026-10-24 11:00:00"), time.Saturday, false, outside, "", ""},
		{"Sun 25 Oct 02:30 CEST", inUTC("2026-10-25 00:30:00"), time.Sunday, false, outside, "", ""},
		{"Sun 25 Oct 02:30 CET", inUTC("2026-10-25 01:30:00"), time.Sunday, false, outside, "", ""},
		{"Mon 26 Oct 07:59:59 CET", inUTC("2026-10-26 06:59:59"), time.Monday, false, outside, "", ""},
		{"Mon 26 Oct 08:00 CET", inUTC("2026-10-26 07:00:00"), time.Monday, true, open, "", ""},
		{"Mon 26 Oct 17:59:59 CET", inUTC("2026-10-26 16:59:59"), time.Monday, true, open, "", ""},
		{"Mon 26 Oct 18:00 CET", inUTC("2026-10-26 17:00:00"), time.Monday, false, outside, "", ""},
	})
}

func TestClosuresAndOpenings(t *testing.T) {
	t.Parallel()
	s := helpDesk()
	s.Closures = []Closure{
		{From: date("2026-08-14").In(rome, 0), To: date("2026-08-15").In(rome, 0), Note: "Ponte di Ferragosto"},
		{From: inRome("2026-05-13 14:00:00"), To: inRome("2026-05-13 18:00:00"), Note: "Prova di evacuazione"},
		{From: date("2026-07-01").In(rome, 0), To: date("2026-07-02").In(rome, 0), Note: "Inventario"},
	}
	s.Openings = []Opening{
		{From: inRome("2026-05-17 09:00:00"), To: inRome("2026-05-17 12:00:00"), Note: "Apertura straordinaria"},
		{From: inRome("2026-06-02 08:00:00"), To: inRome("2026-06-02 10:00:00"), Note: "Elezioni"},
		{From: inRome("2026-07-01 10:00:00"), To: inRome("2026-07-01 11:00:00"), Note: "Sportello urgente"},
		{From: inRome("2026-05-20 18:00:00"), To: inRome("2026-05-20 20:00:00"), Note: "Scadenza bando"},
	}
	const (
		open    = ReasonOpen
		outside = ReasonOutsideHours
		closure = ReasonClosure
		holiday = ReasonHoliday
	)
	checkStatus(t, s, []statusCase{
		{"day before the bridge", inRome("2026-08-13 17:59:59"), time.Thursday, true, open, "", ""},
		{"bridge day, 00:00", inRome("2026-08-14 00:00:00"), time.Friday, false, closure, "", "Ponte di Ferragosto"},
		{"bridge day, 10:00", inRome("2026-08-14 10:00:00"), time.Friday, false, closure, "", "Ponte di Ferragosto"},
		{"bridge day ends at midnight", inRome("2026-08-15 00:00:00"), time.Saturday, false, holiday, "Ferragosto", ""},
		{"drill: before", inRome("2026-05-13 13:59:59"), time.Wednesday, true, open, "", ""},
		{"drill: start", inRome("2026-05-13 14:00:00"), time.Wednesday, false, closure, "", "Prova di evacuazione"},
		{"drill: last second", inRome("2026-05-13 17:59:59"), time.Wednesday, false, closure, "", "Prova di evacuazione"},
		{"drill: end is closing time", inRome("2026-05-13 18:00:00"), time.Wednesday, false, outside, "", ""},
		{"extra Sunday: before", inRome("2026-05-17 08:59:59"), time.Sunday, false, outside, "", ""},
		{"extra Sunday: start", inRome("2026-05-17 09:00:00"), time.Sunday, true, open, "", "Apertura straordinaria"},
		{"extra Sunday: last second", inRome("2026-05-17 11:59:59"), time.Sunday, true, open, "", "Apertura straordinaria"},
		{"extra Sunday: end", inRome("2026-05-17 12:00:00"), time.Sunday, false, outside, "", ""},
		{"opening beats holiday", inRome("2026-06-02 09:00:00"), time.Tuesday, true, open, "", "Elezioni"},
		{"holiday after the opening", inRome("2026-06-02 10:00:00"), time.Tuesday, false, holiday, "Festa della Repubblica", ""},
		{"opening beats closure", inRome("2026-07-01 10:30:00"), time.Wednesday, true, open, "", "Sportello urgente"},
		{"closure around the opening", inRome("2026-07-01 11:00:00"), time.Wednesday, false, closure, "", "Inventario"},
		{"opening extends the day", inRome("2026-05-20 19:00:00"), time.Wednesday, true, open, "", "Scadenza bando"},
	})

	// Until is when the service really closes: the drill cuts the day,
	// the evening opening extends it.
	untilTests := []struct {
		at, want time.Time
	}{
		{inRome("2026-05-13 10:00:00"), inRome("2026-05-13 14:00:00")},
		{inRome("2026-05-20 10:00:00"), inRome("2026-05-20 20:00:00")},
		{inRome("2026-05-17 09:00:00"), inRome("2026-05-17 12:00:00")},
		{inRome("2026-06-02 08:00:00"), inRome("2026-06-02 10:00:00")},
		{inRome("2026-05-12 08:00:00"), inRome("2026-05-12 18:00:00")},
	}
	for _, tt := range untilTests {
		if got := s.StatusAt(tt.at).Until; !got.Equal(tt.want) || got.Location() != rome {
			t.Errorf("StatusAt(%v).Until = %v, want %v", tt.at, got, tt.want)
		}
	}
	// Until is zero when closed.
	if got := s.StatusAt(inRome("2026-05-13 15:00:00")).Until; !got.IsZero() {
		t.Errorf("Until while closed = %v", got)
	}
}

func TestSplitDay(t *testing.T) {
	t.Parallel()
	s := &Schedule{Location: rome}
	// Lunch break, and back-to-back intervals that count as one.
	s.Weekly[time.Monday] = []Interval{{Clock(14, 0), Clock(18, 0)}, {Clock(8, 0), Clock(13, 0)}}
	s.Weekly[time.Tuesday] = []Interval{{Clock(8, 0), Clock(13, 0)}, {Clock(13, 0), Clock(18, 0)}}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	checkStatus(t, s, []statusCase{
		{"morning", inRome("2026-03-02 12:59:59"), time.Monday, true, ReasonOpen, "", ""},
		{"lunch", inRome("2026-03-02 13:00:00"), time.Monday, false, ReasonOutsideHours, "", ""},
		{"lunch end", inRome("2026-03-02 13:59:59"), time.Monday, false, ReasonOutsideHours, "", ""},
		{"afternoon", inRome("2026-03-02 14:00:00"), time.Monday, true, ReasonOpen, "", ""},
	})
	if got, want := s.StatusAt(inRome("2026-03-02 09:00:00")).Until, inRome("2026-03-02 13:00:00"); !got.Equal(want) {
		t.Errorf("Until before lunch = %v, want %v", got, want)
	}
	if got, want := s.StatusAt(inRome("2026-03-03 09:00:00")).Until, inRome("2026-03-03 18:00:00"); !got.Equal(want) {
		t.Errorf("Until over touching intervals = %v, want %v", got, want)
	}
	if got, want := mustNext(t, s, inRome("2026-03-02 13:00:00")), inRome("2026-03-02 14:00:00"); !got.Equal(want) {
		t.Errorf("NextOpening at lunch = %v, want %v", got, want)
	}
}

// TestDSTDays checks intervals on the days the clock changes.
func TestDSTDays(t *testing.T) {
	t.Parallel()
	allSunday := &Schedule{Location: rome}
	allSunday.Weekly[time.Sunday] = []Interval{{0, EndOfDay}}
	lengths := []struct {
		day  string
		want time.Duration
	}{
		{"2026-03-22", 24 * time.Hour},
		{"2026-03-29", 23 * time.Hour},
		{"2026-10-25", 25 * time.Hour},
		{"2027-03-28", 23 * time.Hour},
		{"2027-10-31", 25 * time.Hour},
	}
	for _, tt := range lengths {
		start := inRome(tt.day + " 00:00:00")
		st := allSunday.StatusAt(start)
		if !st.Open {
			t.Fatalf("%s 00:00 closed", tt.day)
		}
		if got := st.Until.Sub(start); got != tt.want {
			t.Errorf("00:00-24:00 on %s lasts %v, want %v", tt.day, got, tt.want)
		}
		if st.Until.In(rome).Format(stamp) != date(tt.day).AddDays(1).String()+" 00:00:00" {
			t.Errorf("Until = %v, want next midnight", st.Until)
		}
	}

	// Spring forward: 02:30 does not exist; the interval opens at the
	// first instant after the gap, 03:00 CEST.
	gap := &Schedule{Location: rome}
	gap.Weekly[time.Sunday] = []Interval{{Clock(2, 30), Clock(4, 0)}}
	x := mustNext(t, gap, inRome("2026-03-29 00:00:00"))
	if want := inUTC("2026-03-29 01:00:00"); !x.Equal(want) {
		t.Errorf("NextOpening over the gap = %v, want %v (03:00 CEST)", x, want)
	}
	if gap.IsOpen(inUTC("2026-03-29 00:59:59")) {
		t.Error("open at 01:59:59 CET, before the gap")
	}
	if got, want := gap.StatusAt(x).Until, inUTC("2026-03-29 02:00:00"); !got.Equal(want) {
		t.Errorf("Until = %v, want %v (04:00 CEST)", got, want)
	}

	// Fall back: 02:00-02:59 happens twice. The interval opens the first
	// time the clock shows 02:30 and closes the first time it shows
	// 03:00, an hour and a half later.
	repeat := &Schedule{Location: rome}
	repeat.Weekly[time.Sunday] = []Interval{{Clock(2, 30), Clock(3, 0)}}
	x = mustNext(t, repeat, inRome("2026-10-25 00:00:00"))
	if want := inUTC("2026-10-25 00:30:00"); !x.Equal(want) {
		t.Errorf("NextOpening in the repeated hour = %v, want %v (02:30 CEST)", x, want)
	}
	if got, want := repeat.StatusAt(x).Until, inUTC("2026-10-25 02:00:00"); !got.Equal(want) {
		t.Errorf("Until = %v, want %v (03:00 CET)", got, want)
	}
	if !repeat.IsOpen(inUTC("2026-10-25 01:15:00")) || repeat.IsOpen(inUTC("2026-10-25 00:15:00")) {
		t.Error("repeated hour: want open at 02:15 CET, closed at 02:15 CEST")
	}
}

func mustNext(t *testing.T, s *Schedule, at time.Time) time.Time {
	t.Helper()
	x, ok := s.NextOpening(at)
	if !ok {
		t.Fatalf("NextOpening(%v): none", at)
	}
	return x
}

func TestNextOpening(t *testing.T) {
	t.Parallel()
	s := helpDesk()
	tests := []struct {
		name     string
		at, want time.Time
	}{
		{"open now", inRome("2026-03-02 10:00:00"), inRome("2026-03-02 10:00:00")},
		{"early morning", inRome("2026-03-02 07:59:59"), inRome("2026-03-02 08:00:00")},
		{"Friday evening", inRome("2026-03-06 18:00:00"), inRome("2026-03-07 08:00:00")},
		{"Saturday afternoon", inRome("2026-03-07 13:00:00"), inRome("2026-03-09 08:00:00")},
		{"Sunday", inRome("2026-03-08 23:59:59"), inRome("2026-03-09 08:00:00")},
		{"Christmas bridge", inRome("2025-12-24 18:00:00"), inRome("2025-12-27 08:00:00")},
		{"Christmas Day", inRome("2025-12-25 10:00:00"), inRome("2025-12-27 08:00:00")},
		{"Easter weekend", inRome("2026-04-04 13:00:00"), inRome("2026-04-07 08:00:00")},
		{"New Year 2027", inRome("2026-12-31 18:00:00"), inRome("2027-01-02 08:00:00")},
		{"25 Apr on Saturday", inRome("2026-04-24 18:00:00"), inRome("2026-04-27 08:00:00")},
		{"spring DST weekend", inRome("2026-03-28 13:00:00"), inRome("2026-03-30 08:00:00")},
		{"autumn DST weekend", inRome("2026-10-24 13:00:00"), inRome("2026-10-26 08:00:00")},
		{"UTC input, Saturday evening", inUTC("2026-03-28 19:00:00"), inUTC("2026-03-30 06:00:00")},
		{"UTC input, still Friday in UTC", inUTC("2026-03-06 23:30:00"), inUTC("2026-03-07 07:00:00")},
		{"UTC input, Monday 06:30 UTC is open in Rome", inUTC("2026-03-30 06:30:00"), inUTC("2026-03-30 06:30:00")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := s.NextOpening(tt.at)
			if !ok || !got.Equal(tt.want) {
				t.Fatalf("NextOpening(%v) = %v, %v; want %v", tt.at, got, ok, tt.want)
			}
			if got.Location() != rome {
				t.Errorf("location = %v, want Europe/Rome", got.Location())
			}
		})
	}
	// Real elapsed time over the DST weekends: the clock change is not
	// smoothed over by adding 24h per day.
	if d := mustNext(t, s, inRome("2026-03-28 13:00:00")).Sub(inRome("2026-03-28 13:00:00")); d != 42*time.Hour {
		t.Errorf("spring weekend closed for %v, want 42h", d)
	}
	if d := mustNext(t, s, inRome("2026-10-24 13:00:00")).Sub(inRome("2026-10-24 13:00:00")); d != 44*time.Hour {
		t.Errorf("autumn weekend closed for %v, want 44h", d)
	}
}

func TestNextOpeningBounded(t *testing.T) {
	t.Parallel()
	at := inRome("2026-01-01 00:00:00")
	// Never open: no opening at all, or only ones in the past or too far.
	never := []*Schedule{
		{},
		{Location: rome, ItalianHolidays: true},
		{Location: rome, Openings: []Opening{{From: at.AddDate(0, 0, -2), To: at.AddDate(0, 0, -1)}}},
		{Location: rome, Openings: []Opening{{From: at.AddDate(0, 0, 900), To: at.AddDate(0, 0, 901)}}},
		{Location: rome, Weekly: [7][]Interval{{{Clock(9, 0), Clock(8, 0)}}}}, // inverted: empty
	}
	for i, s := range never {
		if x, ok := s.NextOpening(at); ok {
			t.Errorf("schedule %d: NextOpening = %v, want none", i, x)
		}
		if d := s.NextWorkingDay(at); !d.IsZero() {
			t.Errorf("schedule %d: NextWorkingDay = %v, want zero", i, d)
		}
	}
	// Within the horizon, a lone opening is found.
	from := date("2027-09-01").In(rome, Clock(9, 0))
	s := &Schedule{Location: rome, Openings: []Opening{{From: from, To: from.Add(time.Hour), Note: "once"}}}
	if x, ok := s.NextOpening(at); !ok || !x.Equal(from) {
		t.Errorf("NextOpening = %v, %v; want %v", x, ok, from)
	}
	// Open all the time: Until is unknown.
	always := &Schedule{Location: rome}
	for d := range always.Weekly {
		always.Weekly[d] = []Interval{{0, EndOfDay}}
	}
	if st := always.StatusAt(at); !st.Open || !st.Until.IsZero() {
		t.Errorf("24/7 StatusAt = %+v, want open with zero Until", st)
	}
	// With holidays, it closes at the next one.
	always.ItalianHolidays = true
	if st := always.StatusAt(inRome("2026-08-16 12:00:00")); !st.Until.Equal(inRome("2026-10-04 00:00:00")) {
		t.Errorf("24/7 with holidays: Until = %v, want 4 Oct 2026 00:00", st.Until)
	}
}

func TestNextWorkingDay(t *testing.T) {
	t.Parallel()
	s := helpDesk()
	s.Openings = []Opening{{From: inRome("2026-05-17 09:00:00"), To: inRome("2026-05-17 12:00:00")}}
	tests := []struct {
		name string
		at   time.Time
		want string
	}{
		{"Saturday 20:00 -> Monday", inRome("2026-03-07 20:00:00"), "2026-03-09"},
		{"Sunday -> Monday", inRome("2026-03-08 11:00:00"), "2026-03-09"},
		{"Monday 07:30 -> same Monday", inRome("2026-03-09 07:30:00"), "2026-03-09"},
		{"Monday 10:00 (open) -> Tuesday", inRome("2026-03-09 10:00:00"), "2026-03-10"},
		{"Friday 18:30 -> Saturday", inRome("2026-03-06 18:30:00"), "2026-03-07"},
		{"Friday 10:00 (open) -> Saturday", inRome("2026-03-06 10:00:00"), "2026-03-07"},
		{"Saturday 10:00 (open) -> Monday", inRome("2026-03-07 10:00:00"), "2026-03-09"},
		{"Christmas Eve (open) -> after the bridge", inRome("2025-12-24 10:00:00"), "2025-12-27"},
		{"Christmas Day -> Saturday", inRome("2025-12-25 10:00:00"), "2025-12-27"},
		{"Holy Saturday (open) -> Easter Tuesday", inRome("2026-04-04 10:00:00"), "2026-04-07"},
		{"Easter Sunday -> Easter Tuesday", inRome("2026-04-05 10:00:00"), "2026-04-07"},
		{"Saturday before an extra Sunday opening", inRome("2026-05-16 10:00:00"), "2026-05-17"},
		{"spring DST Saturday evening", inRome("2026-03-28 20:00:00"), "2026-03-30"},
		// 07:30 UTC is 08:30 in Rome: open, so the next day with hours.
		{"UTC input, open in Rome", inUTC("2026-03-07 07:30:00"), "2026-03-09"},
		// 23:30 UTC Sunday is Monday 00:30 in Rome, before opening.
		{"UTC input, already Monday in Rome", inUTC("2026-03-08 23:30:00"), "2026-03-09"},
		{"UTC input, Monday 17:30 UTC is after hours", inUTC("2026-03-09 17:30:00"), "2026-03-10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := s.NextWorkingDay(tt.at); got != date(tt.want) {
				t.Errorf("NextWorkingDay(%v) = %v, want %s", tt.at, got, tt.want)
			}
		})
	}
}

func TestDayOf(t *testing.T) {
	t.Parallel()
	s := &Schedule{Location: rome}
	if got := s.DayOf(inUTC("2026-03-28 23:30:00")); got != date("2026-03-29") {
		t.Errorf("DayOf = %v", got)
	}
	// Sao Paulo fell back from 00:00 to 23:00 on 17 Feb 2019: both 23:30s
	// are on the 16th.
	sp := &Schedule{Location: saoPaulo}
	for _, utc := range []string{"2019-02-17 01:30:00", "2019-02-17 02:30:00"} {
		if got := sp.DayOf(inUTC(utc)); got != date("2019-02-16") {
			t.Errorf("DayOf(%s UTC) = %v, want 2019-02-16", utc, got)
		}
	}
	// A clock falling back from 00:30 to 23:30: the second 23:45 comes
	// after 1 March began, so it belongs to 1 March although it reads 28
	// February.
	back := &Schedule{Location: backAcrossMidnight}
	back.Weekly[time.Saturday] = []Interval{{Clock(20, 0), EndOfDay}} // 28 Feb 2026
	second := inUTC("2026-02-28 22:45:00")
	if got := back.DayOf(second); got != date("2026-03-01") || DateOf(second.In(backAcrossMidnight)) != date("2026-02-28") {
		t.Errorf("DayOf(second 23:45) = %v, want 2026-03-01", got)
	}
	if back.IsOpen(second) || !back.IsOpen(inUTC("2026-02-28 21:45:00")) {
		t.Error("Saturday 20:00-24:00 must end at the first midnight")
	}
	// Apia skipped 30 Dec 2011 entirely.
	ap := &Schedule{Location: apia}
	ap.Weekly[time.Friday] = []Interval{{Clock(9, 0), Clock(17, 0)}} // 30 Dec 2011 was a Friday
	ap.Weekly[time.Saturday] = []Interval{{Clock(9, 0), Clock(17, 0)}}
	x := mustNext(t, ap, date("2011-12-29").In(apia, Clock(20, 0)))
	if ap.DayOf(x) != date("2011-12-31") || x.In(apia).Format(stamp) != "2011-12-31 09:00:00" {
		t.Errorf("NextOpening over the skipped day = %v", x)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		modify func(*Schedule)
		want   []string // substrings, one per expected error; none: valid
	}{
		{"help desk", func(*Schedule) {}, nil},
		{"touching intervals", func(s *Schedule) {
			s.Weekly[time.Monday] = []Interval{{Clock(13, 0), Clock(18, 0)}, {Clock(8, 0), Clock(13, 0)}}
		}, nil},
		{"until midnight", func(s *Schedule) { s.Weekly[time.Sunday] = []Interval{{0, EndOfDay}} }, nil},
		{"29 February patron", func(s *Schedule) { s.Patron = []AnnualDay{{Month: time.February, Day: 29, Name: "Leap"}} }, nil},
		{"nil location", func(s *Schedule) { s.Location = nil }, []string{"location is not set"}},
		{"overlap", func(s *Schedule) {
			s.Weekly[time.Monday] = []Interval{{Clock(12, 0), Clock(18, 0)}, {Clock(8, 0), Clock(13, 0)}}
		}, []string{"Monday: intervals 08:00-13:00 and 12:00-18:00 overlap"}},
		{"contained", func(s *Schedule) {
			s.Weekly[time.Tuesday] = []Interval{{Clock(8, 0), Clock(18, 0)}, {Clock(9, 0), Clock(10, 0)}, {Clock(11, 0), Clock(12, 0)}}
		}, []string{"Tuesday: intervals 08:00-18:00 and 09:00-10:00 overlap", "Tuesday: intervals 08:00-18:00 and 11:00-12:00 overlap"}},
		{"duplicate", func(s *Schedule) {
			s.Weekly[time.Friday] = append(s.Weekly[time.Friday], s.Weekly[time.Friday]...)
		}, []string{"Friday: intervals 08:00-18:00 and 08:00-18:00 overlap"}},
		{"inverted", func(s *Schedule) { s.Weekly[time.Monday] = []Interval{{Clock(18, 0), Clock(8, 0)}} },
			[]string{"Monday: interval 18:00-08:00: end must be after start"}},
		{"empty", func(s *Schedule) { s.Weekly[time.Monday] = []Interval{{Clock(8, 0), Clock(8, 0)}} },
			[]string{"end must be after start"}},
		{"past 24:00", func(s *Schedule) { s.Weekly[time.Saturday] = []Interval{{Clock(20, 0), Clock(25, 0)}} },
			[]string{"Saturday: interval 20:00-25:00: end 25:00 is outside 00:00-24:00"}},
		{"negative", func(s *Schedule) { s.Weekly[time.Sunday] = []Interval{{-1, Clock(1, 0)}} },
			[]string{"start -00:00:01 is outside"}},
		{"start at 24:00", func(s *Schedule) { s.Weekly[time.Sunday] = []Interval{{EndOfDay, Clock(25, 0)}} },
			[]string{"end 25:00 is outside"}},
		{"patron month", func(s *Schedule) { s.Patron = []AnnualDay{{Month: 13, Day: 1, Name: "X"}} }, []string{"month 13 is not 1-12"}},
		{"patron day", func(s *Schedule) { s.Patron = []AnnualDay{{Month: time.June, Day: 31, Name: "X"}} }, []string{"June has no day 31"}},
		{"patron name", func(s *Schedule) { s.Patron = []AnnualDay{{Month: time.June, Day: 29, Name: " "}} }, []string{"name is empty"}},
		{"closure inverted", func(s *Schedule) {
			s.Closures = []Closure{{From: inRome("2026-05-13 18:00:00"), To: inRome("2026-05-13 14:00:00"), Note: "drill"}}
		}, []string{`closure 1 ("drill"): to 2026-05-13 14:00:00 CEST must be after from 2026-05-13 18:00:00 CEST`}},
		{"closure unset", func(s *Schedule) { s.Closures = []Closure{{To: inRome("2026-05-13 14:00:00")}} },
			[]string{"closure 1 (\"\"): from is not set"}},
		{"opening unset", func(s *Schedule) { s.Openings = []Opening{{From: inRome("2026-05-13 14:00:00")}} },
			[]string{"opening 1 (\"\"): to is not set"}},
		{"all problems reported", func(s *Schedule) {
			s.Location = nil
			s.Weekly[time.Monday] = []Interval{{Clock(18, 0), Clock(8, 0)}}
			s.Weekly[time.Wednesday] = []Interval{{Clock(8, 0), Clock(13, 0)}, {Clock(12, 0), Clock(18, 0)}}
			s.Patron = []AnnualDay{{Month: time.February, Day: 30, Name: ""}}
		}, []string{"location", "Monday", "Wednesday", "February has no day 30", "name is empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := helpDesk()
			tt.modify(s)
			err := s.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tt.want)
			}
			var errs []error
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				errs = j.Unwrap()
			}
			if len(errs) != len(tt.want) {
				t.Fatalf("Validate() gave %d errors, want %d:\n%v", len(errs), len(tt.want), err)
			}
			for i, want := range tt.want {
				if !strings.Contains(errs[i].Error(), want) {
					t.Errorf("error %d = %q, want it to contain %q", i, errs[i], want)
				}
			}
		})
	}
}

// TestZeroSchedule checks that unset and broken schedules do not panic.
func TestZeroSchedule(t *testing.T) {
	t.Parallel()
	at := inRome("2026-03-02 10:00:00")
	var zero Schedule
	if st := zero.StatusAt(at); st != (Status{Reason: ReasonOutsideHours}) {
		t.Errorf("zero StatusAt = %+v", st)
	}
	if zero.IsOpen(at) || zero.Holidays(date("2026-01-01"), date("2026-12-31")) != nil {
		t.Error("zero schedule is open or has holidays")
	}
	if err := zero.Validate(); err == nil {
		t.Error("zero schedule validates")
	}

	var nilSched *Schedule
	if nilSched.IsOpen(at) || nilSched.StatusAt(at).Open || !nilSched.NextWorkingDay(at).IsZero() ||
		nilSched.Holidays(date("2026-01-01"), date("2026-12-31")) != nil || nilSched.DayOf(at) != DateOf(at.UTC()) {
		t.Error("nil schedule misbehaves")
	}
	if _, ok := nilSched.NextOpening(at); ok {
		t.Error("nil schedule opens")
	}
	if nilSched.Validate() == nil {
		t.Error("nil schedule validates")
	}

	// Extreme instants and dates: no panic, no hang.
	desk := helpDesk()
	desk.Closures = []Closure{{From: time.Unix(-1<<62, 0), To: time.Unix(1<<62, 0)}}
	desk.Openings = []Opening{{From: time.Unix(1<<62, 0), To: time.Time{}}}
	for _, x := range []time.Time{{}, time.Unix(-1<<62, 0), time.Unix(1<<62, 0), time.Unix(1<<62, 0).Add(-time.Nanosecond)} {
		for _, sc := range []*Schedule{helpDesk(), desk} {
			sc.StatusAt(x)
			sc.NextOpening(x)
			sc.NextWorkingDay(x)
			sc.Holidays(DateOf(x), DateOf(x).AddDays(400))
		}
	}
	for _, y := range []int{-1 << 62, 1 << 62} {
		Date{y, time.December, 31}.In(rome, Clock(8, 0))
		Date{y, time.December, 31}.AddDays(1 << 40)
	}

	// Nil location means UTC.
	utcDesk := helpDesk()
	utcDesk.Location = nil
	if !utcDesk.IsOpen(inUTC("2026-03-02 08:00:00")) || utcDesk.IsOpen(inUTC("2026-03-02 07:59:59")) {
		t.Error("nil location is not UTC")
	}

	// Broken intervals are clamped to the day, never spill into the next.
	broken := &Schedule{Location: rome}
	broken.Weekly[time.Monday] = []Interval{{Clock(20, 0), Clock(30, 0)}, {-Clock(5, 0), Clock(1, 0)}, {1 << 62, -1 << 62}}
	checkStatus(t, broken, []statusCase{
		{"clamped end", inRome("2026-03-02 23:59:59"), time.Monday, true, ReasonOpen, "", ""},
		{"clamped start", inRome("2026-03-02 00:00:00"), time.Monday, true, ReasonOpen, "", ""},
		{"no spill", inRome("2026-03-03 01:00:00"), time.Tuesday, false, ReasonOutsideHours, "", ""},
	})
	if got, want := broken.StatusAt(inRome("2026-03-02 22:00:00")).Until, inRome("2026-03-03 00:00:00"); !got.Equal(want) {
		t.Errorf("Until = %v, want %v", got, want)
	}
}
