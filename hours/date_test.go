package hours

import (
	"encoding/binary"
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the host's zoneinfo
)

var (
	rome     = mustLoad("Europe/Rome")
	saoPaulo = mustLoad("America/Sao_Paulo")
	apia     = mustLoad("Pacific/Apia")
)

// backAcrossMidnight is a made-up zone whose clock falls back across
// midnight, which no current zone does: UTC+2 until 2026-02-28 22:30 UTC
// (00:30 on 1 March), then UTC+1 (23:30 on 28 February).
var backAcrossMidnight = func() *time.Location {
	be := func(n int64) []byte { return binary.BigEndian.AppendUint32(nil, uint32(n)) }
	// TZif version 1 (RFC 8536): header, 1 transition, 2 types.
	var b []byte
	b = append(b, "TZif"...)
	b = append(b, make([]byte, 16)...)
	for _, n := range []int64{0, 0, 0, 1, 2, 8} { // isut, isstd, leap, time, type, char counts
		b = append(b, be(n)...)
	}
	b = append(b, be(time.Date(2026, 2, 28, 22, 30, 0, 0, time.UTC).Unix())...)
	b = append(b, 1)
	b = append(b, be(2*3600)...)
	b = append(b, 0, 0) // not DST, name "AAA"
	b = append(b, be(3600)...)
	b = append(b, 0, 4) // not DST, name "BBB"
	b = append(b, "AAA\x00BBB\x00"...)
	loc, err := time.LoadLocationFromTZData("Test/BackAcrossMidnight", b)
	if err != nil {
		panic(err)
	}
	return loc
}()

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

const stamp = "2006-01-02 15:04:05"

// inRome parses a Rome wall-clock time; not for skipped or repeated times.
func inRome(s string) time.Time {
	t, err := time.ParseInLocation(stamp, s, rome)
	if err != nil {
		panic(err)
	}
	return t
}

func inUTC(s string) time.Time {
	t, err := time.ParseInLocation(stamp, s, time.UTC)
	if err != nil {
		panic(err)
	}
	return t
}

func date(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestParseDate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Date
		wantErr bool
	}{
		{in: "2026-03-29", want: Date{2026, time.March, 29}},
		{in: "2024-02-29", want: Date{2024, time.February, 29}},
		{in: "2026-02-29", wantErr: true},
		{in: "2026-04-31", wantErr: true},
		{in: "2026-13-01", wantErr: true},
		{in: "2026-3-29", wantErr: true},
		{in: "29/03/2026", wantErr: true},
		{in: "2026-03-29T00:00:00Z", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseDate(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseDate(%q) = %v, want error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseDate(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			if got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func TestDateArithmetic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d       string
		n       int
		want    string
		weekday time.Weekday // of want
	}{
		{"2026-03-28", 1, "2026-03-29", time.Sunday}, // across the DST change
		{"2026-03-28", 2, "2026-03-30", time.Monday},
		{"2026-10-24", 2, "2026-10-26", time.Monday},
		{"2025-12-31", 1, "2026-01-01", time.Thursday},
		{"2024-02-28", 1, "2024-02-29", time.Thursday},
		{"2026-03-01", -1, "2026-02-28", time.Saturday},
		{"2026-01-01", 365, "2027-01-01", time.Friday},
		{"2026-06-29", 0, "2026-06-29", time.Monday},
	}
	for _, tt := range tests {
		got := date(tt.d).AddDays(tt.n)
		if got != date(tt.want) || got.Weekday() != tt.weekday {
			t.Errorf("%s.AddDays(%d) = %v (%v), want %s (%v)", tt.d, tt.n, got, got.Weekday(), tt.want, tt.weekday)
		}
	}

	a, b := date("2026-03-29"), date("2026-10-25")
	if !a.Before(b) || a.After(b) || a.Compare(b) != -1 || b.Compare(a) != 1 || a.Compare(a) != 0 {
		t.Error("Before/After/Compare disagree with the calendar")
	}
	if !date("2025-12-31").Before(date("2026-01-01")) || !date("2026-01-31").Before(date("2026-02-01")) {
		t.Error("Before ignores year or month")
	}
	if (Date{}).IsZero() != true || a.IsZero() {
		t.Error("IsZero")
	}
	// DateOf uses t's own location: 23:30 UTC is already tomorrow in Rome.
	utc := inUTC("2026-03-28 23:30:00")
	if got := DateOf(utc); got != date("2026-03-28") {
		t.Errorf("DateOf(UTC) = %v", got)
	}
	if got := DateOf(utc.In(rome)); got != date("2026-03-29") {
		t.Errorf("DateOf(Rome) = %v", got)
	}
	var d Date
	if err := d.UnmarshalText([]byte("2026-06-29")); err != nil || d != date("2026-06-29") {
		t.Errorf("UnmarshalText = %v, %v", d, err)
	}
	if err := d.UnmarshalText([]byte("2026-06-31")); err == nil {
		t.Error("UnmarshalText accepted 31 June")
	}
	if b, _ := d.MarshalText(); string(b) != "2026-06-29" {
		t.Errorf("MarshalText = %q", b)
	}
}

// TestDateIn checks wall-clock to instant conversion where the wall clock
// skips or repeats; expectations are the UTC instants from the rules of
// each zone.
func TestDateIn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		d    string
		loc  *time.Location
		tod  TimeOfDay
		want string // UTC
	}{
		{"normal day", "2026-03-02", rome, Clock(8, 0), "2026-03-02 07:00:00"},
		{"summer", "2026-07-01", rome, Clock(8, 0), "2026-07-01 06:00:00"},
		{"before the spring gap", "2026-03-29", rome, Clock(1, 59) + 59, "2026-03-29 00:59:59"},
		{"spring gap start", "2026-03-29", rome, Clock(2, 0), "2026-03-29 01:00:00"},
		{"inside the spring gap: first instant after it", "2026-03-29", rome, Clock(2, 30), "2026-03-29 01:00:00"},
		{"spring gap end", "2026-03-29", rome, Clock(3, 0), "2026-03-29 01:00:00"},
		{"after the spring gap", "2026-03-29", rome, Clock(3, 30), "2026-03-29 01:30:00"},
		{"repeated hour: first occurrence", "2026-10-25", rome, Clock(2, 0), "2026-10-25 00:00:00"},
		{"repeated 02:30: first occurrence (CEST)", "2026-10-25", rome, Clock(2, 30), "2026-10-25 00:30:00"},
		{"03:00 after fall-back is CET", "2026-10-25", rome, Clock(3, 0), "2026-10-25 02:00:00"},
		{"24:00 is next midnight", "2026-10-25", rome, EndOfDay, "2026-10-25 23:00:00"},
		{"midnight skipped (Sao Paulo 2018)", "2018-11-04", saoPaulo, 0, "2018-11-04 03:00:00"},
		// Sao Paulo fell back from 00:00 to 23:00 on 17 Feb 2019: 23:xx on
		// the 16th happened twice and midnight only once, after them.
		{"repeated hour before midnight (Sao Paulo 2019)", "2019-02-16", saoPaulo, Clock(23, 30), "2019-02-17 01:30:00"},
		{"midnight after a repeated hour (Sao Paulo 2019)", "2019-02-17", saoPaulo, 0, "2019-02-17 03:00:00"},
		// backAcrossMidnight goes from 00:30 back to 23:30 on 1 Mar 2026.
		{"midnight before falling back across it", "2026-03-01", backAcrossMidnight, 0, "2026-02-28 22:00:00"},
		{"00:45 after falling back across midnight", "2026-03-01", backAcrossMidnight, Clock(0, 45), "2026-02-28 23:45:00"},
		{"nil location is UTC", "2026-03-29", nil, Clock(2, 30), "2026-03-29 02:30:00"},
		{"UTC", "2026-03-29", time.UTC, Clock(2, 30), "2026-03-29 02:30:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := date(tt.d).In(tt.loc, tt.tod)
			if want := inUTC(tt.want); !got.Equal(want) {
				t.Errorf("%s.In(%v, %v) = %v, want %v", tt.d, tt.loc, tt.tod, got.UTC(), want)
			}
			if tt.loc != nil && got.Location() != tt.loc {
				t.Errorf("location = %v, want %v", got.Location(), tt.loc)
			}
		})
	}
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2026-03-29", "2024-02-29", "2026-02-29", "0000-01-01", "9999-12-31"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		if err != nil {
			return
		}
		if d.AddDays(0) != d {
			t.Fatalf("ParseDate(%q) = %v, not a real day", s, d)
		}
		if d.String() != s {
			t.Fatalf("ParseDate(%q).String() = %q", s, d.String())
		}
		if next := d.AddDays(1); !next.After(d) || next.AddDays(-1) != d {
			t.Fatalf("AddDays around %v broken: %v", d, next)
		}
	})
}
