package hours

import (
	"strings"
	"testing"
	"time"
)

func TestPatronDayKnownCities(t *testing.T) {
	t.Parallel()
	cases := []struct{ locality, day, name string }{
		{"Roma", "06-29", "Santi Pietro e Paolo"},
		{"Milano", "12-07", "Sant'Ambrogio"},
		{"Napoli", "09-19", "San Gennaro"},
		{"Torino", "06-24", "San Giovanni Battista"},
		{"Bologna", "10-04", "San Petronio"},
		{"Firenze", "06-24", "San Giovanni Battista"},
		{"Venezia", "04-25", "San Marco Evangelista"},
		{"Palermo", "07-15", "Santa Rosalia"},
		{"Bari", "12-06", "San Nicola"},
		{"Genova", "06-24", "San Giovanni Battista"},
		{"Perugia", "01-29", "San Costanzo"},
		{"Latina", "07-06", "Santa Maria Goretti"},
		{"Cagliari", "10-30", "San Saturnino"},
		// Names folded: case, accents, apostrophes, other names.
		{"FORLI", "02-04", "Madonna del Fuoco"},
		{"  l'aquila ", "06-10", "San Massimo d'Aveia"},
		{"Reggio nell'Emilia", "11-24", "San Prospero"},
		{"reggio-calabria", "04-23", "San Giorgio"},
		{"Bozen", "easter+50", "Lunedì di Pentecoste"},
		{"Asti", "05-1tue", "San Secondo"},
	}
	for _, c := range cases {
		l, ok := PatronDay(c.locality)
		if !ok {
			t.Errorf("PatronDay(%q): unknown", c.locality)
			continue
		}
		if l.Day.String() != c.day || l.Day.Name != c.name {
			t.Errorf("PatronDay(%q) = %s %q, want %s %q", c.locality, l.Day, l.Day.Name, c.day, c.name)
		}
	}
	for _, unknown := range []string{"", "Atlantide", "Rom", "Milano2"} {
		if l, ok := PatronDay(unknown); ok {
			t.Errorf("PatronDay(%q) = %+v, want unknown", unknown, l)
		}
	}
}

// Every province (the ISO 3166-2:IT codes) has its capital in the table,
// the split ones (BT, FC, PU) each of their capitals.
func TestPatronTableCoversProvincialCapitals(t *testing.T) {
	t.Parallel()
	if _, err := parsePatrons(patronData); err != nil {
		t.Fatal(err)
	}
	provinces := strings.Fields(`AG AL AN AO AP AQ AR AT AV BA BG BI BL BN BO BR BS BT BZ CA CB CE CH CL CN CO
		CR CS CT CZ EN FC FE FG FI FM FR GE GO GR IM IS KR LC LE LI LO LT LU MB MC ME MI MN MO MS MT NA NO NU
		OR PA PC PD PE PG PI PN PO PR PT PU PV PZ RA RC RE RG RI RM RN RO SA SI SO SP SR SS SU SV TA TE TN TO
		TP TR TS TV UD VA VB VC VE VI VR VT VV`)
	have := map[string]int{}
	for _, l := range Localities() {
		have[l.Province]++
		if _, ok := l.Day.On(2027); !ok {
			t.Errorf("%s: %s has no day in 2027", l.Name, l.Day)
		}
		if err := (&Schedule{Location: time.UTC, Patron: []AnnualDay{l.Day}}).Validate(); err != nil {
			t.Errorf("%s: %v", l.Name, err)
		}
	}
	for _, p := range provinces {
		if have[p] == 0 {
			t.Errorf("province %s has no capital in patroni.txt", p)
		}
	}
	for p, want := range map[string]int{"BT": 3, "FC": 2, "PU": 2} {
		if have[p] != want {
			t.Errorf("province %s: %d capitals, want %d", p, have[p], want)
		}
	}
	if n := len(Localities()); n < len(provinces) {
		t.Errorf("%d localities for %d provinces", n, len(provinces))
	}
}

func TestParsePatronsRejectsBadLines(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{
		"Roma;RM;06-29",
		"Roma;RM;06-31;X",
		"Roma;RM;06-29;",
		"Roma;Rm;06-29;X",
		"Roma;RM;06-29;X\nrome|ROMA;RM;06-29;X",
		"|Roma;RM;06-29;X",
	} {
		if _, err := parsePatrons("# header\n" + bad + "\n"); err == nil || !strings.Contains(err.Error(), "patroni.txt:") {
			t.Errorf("%q: error %v, want one with the line", bad, err)
		}
	}
}

func TestAnnualDayMovable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		spec string
		year int
		want string
	}{
		{"06-29", 2026, "2026-06-29"},
		{"02-29", 2028, "2028-02-29"},
		{"05-1tue", 2026, "2026-05-05"}, // Asti: 1 May 2026 is a Friday
		{"05-1tue", 2029, "2029-05-01"}, // a Tuesday itself
		{"09-1sun", 2026, "2026-09-06"}, // Brindisi
		{"09-3sun", 2026, "2026-09-20"}, // Andria
		{"05-2sun+4", 2026, "2026-05-14"},
		{"easter+50", 2026, "2026-05-25"}, // Whit Monday: Easter 5 April
		{"easter-2", 2026, "2026-04-03"},
		{"03-5sun", 2026, "2026-03-29"},
	}
	for _, c := range cases {
		a, err := ParseAnnualDay(c.spec, "x")
		if err != nil {
			t.Errorf("ParseAnnualDay(%q): %v", c.spec, err)
			continue
		}
		if a.String() != c.spec {
			t.Errorf("ParseAnnualDay(%q).String() = %q", c.spec, a)
		}
		got, ok := a.On(c.year)
		if !ok || got != date(c.want) {
			t.Errorf("%s in %d = %v %v, want %s", c.spec, c.year, got, ok, c.want)
		}
	}
	for _, none := range []struct {
		spec string
		year int
	}{{"02-29", 2027}, {"02-5sun", 2027}, {"12-5wed+10", 2026}} {
		a, err := ParseAnnualDay(none.spec, "x")
		if err != nil {
			t.Fatal(err)
		}
		if d, ok := a.On(none.year); ok {
			t.Errorf("%s in %d = %v, want no day", none.spec, none.year, d)
		}
	}
	for _, bad := range []string{"", "6-29", "06-31", "13-01", "06-29+1", "05-6tue", "05-1xyz", "05-1tue+", "easter+500", "eastern", "+1-01", "05-1tue+99", "0a-01"} {
		if a, err := ParseAnnualDay(bad, "x"); err == nil {
			t.Errorf("ParseAnnualDay(%q) = %+v, want an error", bad, a)
		}
	}
}

// A movable patron day closes the schedule on that year's date only.
func TestScheduleMovablePatron(t *testing.T) {
	t.Parallel()
	asti, _ := PatronDay("Asti")
	s := &Schedule{Location: rome, Patron: []AnnualDay{asti.Day}}
	for wd := range 7 {
		s.Weekly[wd] = []Interval{{Start: 8 * 3600, End: 18 * 3600}}
	}
	at := func(d string) Status { return s.StatusAt(date(d).In(rome, 10*3600)) }
	if st := at("2026-05-05"); st.Open || st.Reason != ReasonHoliday || st.Holiday != "San Secondo" {
		t.Errorf("5 May 2026: %+v, want closed for San Secondo", st)
	}
	if st := at("2027-05-05"); !st.Open {
		t.Errorf("5 May 2027 (a Wednesday, San Secondo is the 4th): %+v, want open", st)
	}
	if st := at("2027-05-04"); st.Open {
		t.Errorf("4 May 2027: %+v, want closed", st)
	}
	got := s.Holidays(date("2026-01-01"), date("2027-12-31"))
	if len(got) != 2 || got[0].Date != date("2026-05-05") || got[1].Date != date("2027-05-04") {
		t.Errorf("Holidays = %v", got)
	}
	bad := &Schedule{Location: rome, Patron: []AnnualDay{{Nth: 6, Month: time.May, Name: "x"}}}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "not a valid movable day") {
		t.Errorf("Validate = %v", err)
	}
}

// Whatever ParseAnnualDay accepts writes back to the same text, has a
// day in most years and never panics.
func FuzzParseAnnualDay(f *testing.F) {
	for _, s := range []string{"06-29", "02-29", "05-1tue", "05-2sun+4", "easter+50", "easter-2", "12-5wed+10", "x", "05-1tue+-3"} {
		f.Add(s, 2026)
	}
	f.Fuzz(func(t *testing.T, spec string, year int) {
		a, err := ParseAnnualDay(spec, "x")
		if err != nil {
			return
		}
		if a.String() != spec {
			t.Fatalf("ParseAnnualDay(%q).String() = %q", spec, a)
		}
		b, err := ParseAnnualDay(a.String(), "x")
		if err != nil || b != a {
			t.Fatalf("round trip of %q: %+v %v, want %+v", spec, b, err, a)
		}
		year = 1900 + year%400
		if year < 1900 {
			year += 400
		}
		if d, ok := a.On(year); ok && d.Year != year {
			t.Fatalf("%q in %d falls in %d", spec, year, d.Year)
		}
		if err := (&Schedule{Location: time.UTC, Patron: []AnnualDay{a}}).Validate(); err != nil && a.movable() {
			if _, ok := a.On(2024); ok {
				t.Fatalf("%q parses but does not validate: %v", spec, err)
			}
		}
	})
}
