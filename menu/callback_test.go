package menu

import (
	"errors"
	"strings"
	"testing"
)

func TestCallbackNumber(t *testing.T) {
	t.Parallel()
	strict := &Callback{}
	open := &Callback{AllowInternational: true, AllowPremium: true}
	cases := []struct {
		raw         string
		strict, all string // E.164, or the error's text
	}{
		{"0612345678", "+390612345678", "+390612345678"},
		{"3331234567", "+393331234567", "+393331234567"},
		{"+390612345678", "+390612345678", "+390612345678"},
		{"00390612345678", "+390612345678", "+390612345678"},
		{"800123456", "+39800123456", "+39800123456"},
		{"899123456", ErrCallbackPremium.Error(), "+39899123456"},
		{"892424", ErrCallbackPremium.Error(), "+39892424"},
		{"4123", ErrCallbackPremium.Error(), "+394123"},
		{"113", ErrCallbackPremium.Error(), "+39113"},
		{"00442071234567", ErrCallbackInternational.Error(), "+442071234567"},
		{"+33123456789", ErrCallbackInternational.Error(), "+33123456789"},
		{"33312", ErrCallbackInvalid.Error(), ErrCallbackInvalid.Error()},     // a mobile too short
		{"0612", ErrCallbackInvalid.Error(), ErrCallbackInvalid.Error()},      // a landline too short
		{"712345678", ErrCallbackInvalid.Error(), ErrCallbackInvalid.Error()}, // no such range
		{"06*123", ErrCallbackInvalid.Error(), ErrCallbackInvalid.Error()},
		{"", ErrCallbackInvalid.Error(), ErrCallbackInvalid.Error()},
	}
	for _, tc := range cases {
		for _, c := range []struct {
			cb   *Callback
			want string
		}{{strict, tc.strict}, {open, tc.all}} {
			got, err := c.cb.CallbackNumber(tc.raw)
			if err != nil {
				got = err.Error()
				if !errors.Is(err, ErrCallbackInvalid) && !errors.Is(err, ErrCallbackPremium) && !errors.Is(err, ErrCallbackInternational) {
					t.Errorf("%q: unexpected error %v", tc.raw, err)
				}
			}
			if got != c.want {
				t.Errorf("CallbackNumber(%q) with %+v = %q, want %q", tc.raw, *c.cb, got, c.want)
			}
		}
	}
}

func TestCallbackDial(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ pattern, number, want string }{
		{"PJSIP/{national}@carrier", "+390612345678", "PJSIP/0612345678@carrier"},
		{"PJSIP/{national}@carrier", "+442071234567", "PJSIP/00442071234567@carrier"},
		{"PJSIP/{number}@trunk", "+393331234567", "PJSIP/+393331234567@trunk"},
	} {
		if got := (&Callback{Endpoint: tc.pattern}).Dial(tc.number); got != tc.want {
			t.Errorf("Dial(%q, %q) = %q, want %q", tc.pattern, tc.number, got, tc.want)
		}
	}
}

func FuzzCallbackNumber(f *testing.F) {
	for _, s := range []string{"0612345678", "899123", "+441234567", "4", "00"} {
		f.Add(s)
	}
	cb := &Callback{AllowInternational: true, AllowPremium: true}
	f.Fuzz(func(t *testing.T, raw string) {
		n, err := cb.CallbackNumber(raw)
		if err != nil {
			return
		}
		if !strings.HasPrefix(n, "+") || !isDigits(n[1:]) || len(n) > 16 {
			t.Fatalf("%q accepted as %q, not E.164", raw, n)
		}
		if got, err := cb.CallbackNumber(n); err != nil || got != n {
			t.Fatalf("%q accepted as %q, but that gives %q, %v", raw, n, got, err)
		}
	})
}

// TestCallbackRetries: retries defaults to 2, and 0 (no second attempt)
// is kept, not taken for unset.
func TestCallbackRetries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		set  string
		want int
	}{{"", DefaultCallbackRetries}, {", retries: 0", 0}, {", retries: 5", 5}} {
		cfg, err := Parse("x.yaml", []byte(strings.Replace(base, "  - {id: g2, name: Gruppo due}",
			`  - {id: g2, name: Gruppo due, callback: {enabled: true, endpoint: "PJSIP/{national}@carrier", caller_id: "800749049"`+tc.set+`}}`, 1)+okMenu))
		if err != nil {
			t.Fatal(err)
		}
		cb := cfg.CallbackOf("g2")
		if cb == nil || cb.RetryCount() != tc.want || cb.Key != DefaultCallbackKey || cb.RetryInterval != DefaultCallbackRetryInterval {
			t.Errorf("%q: %+v", tc.set, cb)
		}
		if cfg.CallbackOf("g1") != nil {
			t.Error("g1 offers callbacks")
		}
	}
}
