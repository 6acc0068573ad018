package hours

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// Holiday is a named day on which the service is closed.
type Holiday struct {
	Date Date
	Name string
}

// AnnualDay is a holiday every year, e.g. a city's patron saint: Rome 29
// June "Santi Pietro e Paolo", Milan 7 December "Sant'Ambrogio". A 29
// February day only applies in leap years.
//
// A few patron feasts move: Asti keeps San Secondo on the first Tuesday
// of May, Carbonia San Ponziano on the Thursday after the second Sunday
// of May, South Tyrol Whit Monday (Easter + 50 days). Such a day has Day
// 0 and either Nth (1-5: the Nth Weekday of Month) or Easter set, then
// Offset days added; see On and ParseAnnualDay.
type AnnualDay struct {
	Month time.Month
	Day   int
	Name  string

	Nth     int
	Weekday time.Weekday
	Easter  bool
	Offset  int
}

// movable reports whether a is computed rather than a fixed MM-DD.
func (a AnnualDay) movable() bool { return a.Nth != 0 || a.Easter }

// On returns the day's date in year, false when it has none that year
// (29 February in a common year, a fifth weekday a month lacks, or an
// invalid AnnualDay).
func (a AnnualDay) On(year int) (Date, bool) {
	switch {
	case a.Easter:
		if a.Offset < -60 || a.Offset > 100 {
			return Date{}, false
		}
		return Easter(year).AddDays(a.Offset), true
	case a.Nth != 0:
		if a.Month < time.January || a.Month > time.December || a.Nth < 1 || a.Nth > 5 ||
			a.Weekday < time.Sunday || a.Weekday > time.Saturday || a.Offset < -31 || a.Offset > 31 {
			return Date{}, false
		}
		first := Date{year, a.Month, 1}
		day := 1 + (int(a.Weekday)-int(first.Weekday())+7)%7 + 7*(a.Nth-1)
		if day > daysIn(year, a.Month) {
			return Date{}, false
		}
		// A feast stays in its year: a shift past 31 December has no day.
		if d := (Date{year, a.Month, day}).AddDays(a.Offset); d.Year == year {
			return d, true
		}
		return Date{}, false
	}
	if a.Month < time.January || a.Month > time.December || a.Day < 1 || a.Day > daysIn(year, a.Month) {
		return Date{}, false
	}
	return Date{year, a.Month, a.Day}, true
}

// String writes a in the form ParseAnnualDay reads.
func (a AnnualDay) String() string {
	var s string
	switch {
	case a.Easter:
		s = "easter"
	case a.Nth != 0:
		s = fmt.Sprintf("%02d-%d%s", int(a.Month), a.Nth, weekdayAbbr[a.Weekday%7])
	default:
		return fmt.Sprintf("%02d-%02d", int(a.Month), a.Day)
	}
	if a.Offset != 0 {
		s += fmt.Sprintf("%+d", a.Offset)
	}
	return s
}

var weekdayAbbr = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// ParseAnnualDay reads a yearly day: "MM-DD" ("06-29"), the Nth weekday
// of a month "MM-N<day>" ("05-1tue": first Tuesday of May), or Easter
// "easter+N"; the last two may add or take days ("05-2sun+4"). Only the
// form String writes is accepted (no "+0", no "+04").
func ParseAnnualDay(spec, name string) (AnnualDay, error) {
	m := annualDaySpec.FindStringSubmatch(spec)
	if m == nil {
		return AnnualDay{}, fmt.Errorf("%q is not a yearly day (MM-DD, MM-1tue, 05-2sun+4 or easter+50)", spec)
	}
	a := AnnualDay{Name: name}
	if m[6] != "" {
		a.Offset, _ = strconv.Atoi(m[6])
	}
	switch {
	case m[1] == "easter":
		a.Easter = true
		if a.Offset < -60 || a.Offset > 100 {
			return AnnualDay{}, fmt.Errorf("%q: Easter may be moved by -60 to +100 days", spec)
		}
		return a, nil
	case m[3] != "":
		month, _ := strconv.Atoi(m[2])
		day, _ := strconv.Atoi(m[3])
		a.Month, a.Day = time.Month(month), day
		if m[6] != "" || a.Month < time.January || a.Month > time.December || day < 1 || day > daysIn(2024, a.Month) {
			return AnnualDay{}, fmt.Errorf("%q is not a day of the year (MM-DD, no days added)", spec)
		}
		return a, nil
	}
	month, _ := strconv.Atoi(m[2])
	a.Month = time.Month(month)
	a.Nth = int(m[4][0] - '0')
	a.Weekday = time.Weekday(slices.Index(weekdayAbbr[:], m[5]))
	if a.Month < time.January || a.Month > time.December || a.Offset < -31 || a.Offset > 31 {
		return AnnualDay{}, fmt.Errorf("%q: a month 01-12, moved by -31 to +31 days", spec)
	}
	return a, nil
}

var annualDaySpec = regexp.MustCompile(`^(?:(easter)|([0-9]{2})-(?:([0-9]{2})|([1-5])(sun|mon|tue|wed|thu|fri|sat)))([+-][1-9][0-9]{0,2})?$`)

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
