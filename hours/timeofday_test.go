package hours

import (
	"strings"
	"testing"
)

func TestParseTimeOfDay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    TimeOfDay
		wantErr bool
	}{
		{in: "08:00", want: 8 * 3600},
		{in: "8:00", want: 8 * 3600},
		{in: "08:00:00", want: 8 * 3600},
		{in: "00:00", want: 0},
		{in: "13:30", want: 13*3600 + 30*60},
		{in: "17:59:59", want: 17*3600 + 59*60 + 59},
		{in: "24:00", want: 24 * 3600},
		{in: "24:00:00", want: 24 * 3600},
		{in: "24:00:01", wantErr: true},
		{in: "24:01", wantErr: true},
		{in: "25:00", wantErr: true},
		{in: "12:60", wantErr: true},
		{in: "12:00:60", wantErr: true},
		{in: "12:5", wantErr: true},
		{in: "123:00", wantErr: true},
		{in: "+8:00", wantErr: true},
		{in: "-1:00", wantErr: true},
		{in: " 8:00", wantErr: true},
		{in: "08", wantErr: true},
		{in: "08:00:00:00", wantErr: true},
		{in: "", wantErr: true},
		{in: "ab:cd", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseTimeOfDay(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseTimeOfDay(%q) = %v, want error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseTimeOfDay(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestTimeOfDayString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   TimeOfDay
		want string
	}{
		{0, "00:00"},
		{Clock(8, 0), "08:00"},
		{Clock(13, 5), "13:05"},
		{Clock(17, 59) + 59, "17:59:59"},
		{EndOfDay, "24:00"},
		{Clock(25, 0), "25:00"}, // out of range, still readable in errors
		{-Clock(1, 0), "-01:00"},
		{TimeOfDay(-1 << 63), "-2562047788015215:30:08"}, // no overflow
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("TimeOfDay(%d).String() = %q, want %q", int(tt.in), got, tt.want)
		}
	}
}

func TestParseInterval(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Interval
		wantErr string
	}{
		{in: "08:00-13:00", want: Interval{Clock(8, 0), Clock(13, 0)}},
		{in: "14:00-24:00", want: Interval{Clock(14, 0), EndOfDay}},
		{in: "8:00-9:30:15", want: Interval{Clock(8, 0), Clock(9, 30) + 15}},
		{in: "18:00-08:00", wantErr: "end must be after start"},
		{in: "08:00-08:00", wantErr: "end must be after start"},
		{in: "08:00", wantErr: "want HH:MM-HH:MM"},
		{in: "08:00-25:00", wantErr: "between 00:00 and 24:00"},
		{in: "08:00 - 13:00", wantErr: "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseInterval(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseInterval(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseInterval(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestIntervalText(t *testing.T) {
	t.Parallel()
	var iv Interval
	if err := iv.UnmarshalText([]byte("14:00-18:00")); err != nil {
		t.Fatal(err)
	}
	if !iv.Contains(Clock(14, 0)) || !iv.Contains(Clock(18, 0)-1) || iv.Contains(Clock(18, 0)) || iv.Contains(Clock(13, 59)) {
		t.Errorf("Contains does not follow [start, end) for %v", iv)
	}
	b, err := iv.MarshalText()
	if err != nil || string(b) != "14:00-18:00" {
		t.Errorf("MarshalText = %q, %v", b, err)
	}
	if _, err := (Interval{Clock(8, 0), Clock(25, 0)}).MarshalText(); err == nil {
		t.Error("MarshalText accepted 25:00")
	}
	var tod TimeOfDay
	if err := tod.UnmarshalText([]byte("7:05")); err != nil || tod != Clock(7, 5) {
		t.Errorf("UnmarshalText(7:05) = %v, %v", tod, err)
	}
	if err := tod.UnmarshalText([]byte("7.05")); err == nil {
		t.Error("UnmarshalText(7.05) succeeded")
	}
}

func FuzzParseTimeOfDay(f *testing.F) {
	for _, s := range []string{"08:00", "24:00", "23:59:59", "8:00", "24:00:01", "99:99", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseTimeOfDay(s)
		if err != nil {
			return
		}
		if v < 0 || v > EndOfDay {
			t.Fatalf("ParseTimeOfDay(%q) = %d, outside 0-24h", s, v)
		}
		again, err := ParseTimeOfDay(v.String())
		if err != nil || again != v {
			t.Fatalf("round trip %q -> %d -> %q -> %d, %v", s, v, v.String(), again, err)
		}
	})
}

func FuzzParseInterval(f *testing.F) {
	for _, s := range []string{"08:00-13:00", "00:00-24:00", "13:00-08:00", "-", "1:00-2:00:30"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		iv, err := ParseInterval(s)
		if err != nil {
			return
		}
		if iv.Start < 0 || iv.End > EndOfDay || iv.End <= iv.Start {
			t.Fatalf("ParseInterval(%q) = %v: not a valid interval", s, iv)
		}
		sched := Schedule{Location: rome}
		sched.Weekly[1] = []Interval{iv}
		if err := sched.Validate(); err != nil {
			t.Fatalf("parsed interval %v fails Validate: %v", iv, err)
		}
		again, err := ParseInterval(iv.String())
		if err != nil || again != iv {
			t.Fatalf("round trip %q -> %v -> %v, %v", s, iv, again, err)
		}
	})
}
