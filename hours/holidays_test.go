package hours

import (
	"slices"
	"testing"
	"time"
)

func TestEaster(t *testing.T) {
	t.Parallel()
	// Published Gregorian Easter dates, including the earliest (22 March)
	// and latest (25 April) possible.
	tests := []struct {
		year int
		want string
	}{
		{2024, "2024-03-31"},
		{2025, "2025-04-20"},
		{2026, "2026-04-05"},
		{2027, "2027-03-28"},
		{2028, "2028-04-16"},
		{2029, "2029-04-01"},
		{2030, "2030-04-21"},
		{2000, "2000-04-23"},
		{2011, "2011-04-24"},
		{2019, "2019-04-21"},
		{1818, "1818-03-22"},
		{2285, "2285-03-22"},
		{1943, "1943-04-25"},
		{2038, "2038-04-25"},
	}
	for _, tt := range tests {
		got := Easter(tt.year)
		if got != date(tt.want) {
			t.Errorf("Easter(%d) = %v, want %s", tt.year, got, tt.want)
		}
		monday := date(tt.want).AddDays(1)
		if !slices.Contains(ItalianHolidays(tt.year), Holiday{monday, "Lunedì dell'Angelo"}) {
			t.Errorf("ItalianHolidays(%d) lacks Easter Monday %v", tt.year, monday)
		}
	}
	// Every Easter is a Sunday between 22 March and 25 April.
	for y := 1583; y <= 4099; y++ {
		e := Easter(y)
		if e.Weekday() != time.Sunday || e.Before(Date{y, time.March, 22}) || e.After(Date{y, time.April, 25}) {
			t.Fatalf("Easter(%d) = %v (%v)", y, e, e.Weekday())
		}
	}
	for _, y := range []int{-1 << 40, -5, 0, 1 << 40} { // must not panic
		if e := Easter(y); e.Month != time.March && e.Month != time.April {
			t.Errorf("Easter(%d) = %v", y, e)
		}
	}
}

func TestItalianHolidays(t *testing.T) {
	t.Parallel()
	want2026 := []Holiday{
		{date("2026-01-01"), "Capodanno"},
		{date("2026-01-06"), "Epifania"},
		{date("2026-04-05"), "Pasqua"},
		{date("2026-04-06"), "Lunedì dell'Angelo"},
		{date("2026-04-25"), "Festa della Liberazione"},
		{date("2026-05-01"), "Festa del Lavoro"},
		{date("2026-06-02"), "Festa della Repubblica"},
		{date("2026-08-15"), "Ferragosto"},
		{date("2026-10-04"), "San Francesco d'Assisi"},
		{date("2026-11-01"), "Ognissanti"},
		{date("2026-12-08"), "Immacolata Concezione"},
		{date("2026-12-25"), "Natale"},
		{date("2026-12-26"), "Santo Stefano"},
	}
	if got := ItalianHolidays(2026); !slices.Equal(got, want2026) {
		t.Errorf("ItalianHolidays(2026) =\n%v\nwant\n%v", got, want2026)
	}
	// San Francesco is a national holiday only from 2026 (L. 151/2025).
	got2025 := ItalianHolidays(2025)
	if len(got2025) != 12 || slices.ContainsFunc(got2025, func(h Holiday) bool { return h.Date.Month == time.October }) {
		t.Errorf("ItalianHolidays(2025) = %v", got2025)
	}
	// 2038: Easter Sunday on Liberation Day; both are listed, in order.
	got2038 := ItalianHolidays(2038)
	i := slices.Index(got2038, Holiday{date("2038-04-25"), "Festa della Liberazione"})
	if i < 0 || i+1 >= len(got2038) || got2038[i+1] != (Holiday{date("2038-04-25"), "Pasqua"}) {
		t.Errorf("ItalianHolidays(2038) = %v", got2038)
	}
	for y := 1990; y <= 2100; y++ {
		hs := ItalianHolidays(y)
		if !slices.IsSortedFunc(hs, func(a, b Holiday) int { return a.Date.Compare(b.Date) }) {
			t.Fatalf("ItalianHolidays(%d) not sorted: %v", y, hs)
		}
	}
}

func TestScheduleHolidays(t *testing.T) {
	t.Parallel()
	s := helpDesk()
	// A 12-month panel starting mid-year, both ends inclusive.
	got := s.Holidays(date("2026-06-02"), date("2027-06-02"))
	want := []Holiday{
		{date("2026-06-02"), "Festa della Repubblica"},
		{date("2026-06-29"), "Santi Pietro e Paolo"},
		{date("2026-08-15"), "Ferragosto"},
		{date("2026-10-04"), "San Francesco d'Assisi"},
		{date("2026-11-01"), "Ognissanti"},
		{date("2026-12-08"), "Immacolata Concezione"},
		{date("2026-12-25"), "Natale"},
		{date("2026-12-26"), "Santo Stefano"},
		{date("2027-01-01"), "Capodanno"},
		{date("2027-01-06"), "Epifania"},
		{date("2027-03-28"), "Pasqua"},
		{date("2027-03-29"), "Lunedì dell'Angelo"},
		{date("2027-04-25"), "Festa della Liberazione"},
		{date("2027-05-01"), "Festa del Lavoro"},
		{date("2027-06-02"), "Festa della Repubblica"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Holidays =\n%v\nwant\n%v", got, want)
	}
	if got := s.Holidays(date("2026-06-03"), date("2026-06-01")); got != nil {
		t.Errorf("inverted range: %v", got)
	}

	// Patron only, with a 29 February day, a duplicate, and a patron day
	// on a national holiday.
	s = &Schedule{Location: rome, Patron: []AnnualDay{
		{Month: time.December, Day: 7, Name: "Sant'Ambrogio"},
		{Month: time.February, Day: 29, Name: "Leap"},
		{Month: time.December, Day: 7, Name: "Sant'Ambrogio"},
	}}
	got = s.Holidays(date("2027-01-01"), date("2028-12-31"))
	want = []Holiday{
		{date("2027-12-07"), "Sant'Ambrogio"},
		{date("2028-02-29"), "Leap"},
		{date("2028-12-07"), "Sant'Ambrogio"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("patron Holidays = %v, want %v", got, want)
	}
	s.ItalianHolidays = true
	s.Patron = []AnnualDay{{Month: time.December, Day: 8, Name: "Patrono"}}
	got = s.Holidays(date("2026-12-08"), date("2026-12-08"))
	want = []Holiday{{date("2026-12-08"), "Immacolata Concezione"}, {date("2026-12-08"), "Patrono"}}
	if !slices.Equal(got, want) {
		t.Errorf("same-day Holidays = %v, want %v", got, want)
	}
	// An absurd range is capped, not an out-of-memory crash.
	if got := s.Holidays(Date{1, 1, 1}, Date{1 << 62, 1, 1}); len(got) == 0 || len(got) > 15*(maxHolidayYears+1) {
		t.Errorf("huge range gave %d holidays", len(got))
	}
}
