package hours

import (
	"slices"
	"time"
)

// Holiday is a named day on which the service is closed.
type Holiday struct {
	Date Date
	Name string
}

// AnnualDay is a holiday on the same day every year, e.g. a city's patron
// saint: Rome 29 June "Santi Pietro e Paolo", Milan 7 December
// "Sant'Ambrogio". A 29 February day only applies in leap years.
type AnnualDay struct {
	Month time.Month
	Day   int
	Name  string
}

// nationalDays are the fixed-date Italian public holidays (L. 260/1949 and
// later amendments), in calendar order.
var nationalDays = []struct {
	month     time.Month
	day       int
	name      string
	firstYear int // 0: every year
}{
	{time.January, 1, "Capodanno", 0},
	{time.January, 6, "Epifania", 0},
	{time.April, 25, "Festa della Liberazione", 0},
	{time.May, 1, "Festa del Lavoro", 0},
	{time.June, 2, "Festa della Repubblica", 0},
	{time.August, 15, "Ferragosto", 0},
	// Restored as a national holiday by L. 151/2025 from 2026.
	{time.October, 4, "San Francesco d'Assisi", 2026},
	{time.November, 1, "Ognissanti", 0},
	{time.December, 8, "Immacolata Concezione", 0},
	{time.December, 25, "Natale", 0},
	{time.December, 26, "Santo Stefano", 0},
}

const (
	easterName       = "Pasqua"
	easterMondayName = "Lunedì dell'Angelo"
)

// ItalianHolidays returns the Italian national public holidays of year,
// sorted by date: the fixed-date ones plus Easter Sunday and Easter
// Monday. The current calendar is applied to every year, except San
// Francesco d'Assisi (4 October), which counts from 2026. When two fall
// on the same day (25 April can be Easter), both are listed, the
// fixed-date one first.
func ItalianHolidays(year int) []Holiday {
	out := make([]Holiday, 0, len(nationalDays)+2)
	for _, h := range nationalDays {
		if year >= h.firstYear {
			out = append(out, Holiday{Date{year, h.month, h.day}, h.name})
		}
	}
	e := Easter(year)
	out = append(out, Holiday{e, easterName}, Holiday{e.AddDays(1), easterMondayName})
	slices.SortStableFunc(out, func(a, b Holiday) int { return a.Date.Compare(b.Date) })
	return out
}

// italianHoliday is ItalianHolidays for a single date, without allocating:
// StatusAt calls it for every instant it looks at.
func italianHoliday(d Date) (string, bool) {
	for _, h := range nationalDays {
		if d.Month == h.month && d.Day == h.day && d.Year >= h.firstYear {
			return h.name, true
		}
	}
	if d.Month == time.March || d.Month == time.April {
		e := Easter(d.Year)
		if d == e {
			return easterName, true
		}
		if d == e.AddDays(1) {
			return easterMondayName, true
		}
	}
	return "", false
}

// Easter returns the date of (Western, Gregorian) Easter Sunday in year,
// by the anonymous Gregorian algorithm (Meeus/Jones/Butcher). Floored
// division keeps it defined for any year of the proleptic calendar.
func Easter(year int) Date {
	a := floorMod(year, 19)
	b, c := floorDiv(year, 100), floorMod(year, 100)
	d, e := floorDiv(b, 4), floorMod(b, 4)
	f := floorDiv(b+8, 25)
	g := floorDiv(b-f+1, 3)
	h := floorMod(19*a+b-d-g+15, 30)
	i, k := c/4, c%4
	l := floorMod(32+2*e+2*i-h-k, 7)
	m := (a + 11*h + 22*l) / 451
	n := h + l - 7*m + 114
	return Date{year, time.Month(n / 31), n%31 + 1}
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func floorMod(a, b int) int {
	m := a % b
	if m != 0 && (m < 0) != (b < 0) {
		m += b
	}
	return m
}

// daysIn returns the number of days in month m of year y.
func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 12, 0, 0, 0, time.UTC).Day()
}
