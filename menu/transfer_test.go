package menu

import (
	"strings"
	"testing"
)

const transfersOK = `transfers:
  numbers: ["06 1234 5678", "+393331234567"]
  endpoint: "PJSIP/{national}@carrier"
  caller_id: "800123456"
`

func TestTransfersConfig(t *testing.T) {
	t.Parallel()
	src := strings.Replace(base, "  - {id: g2, name: Gruppo due}", "  - {id: g2, name: Gruppo due, on_hold: free}", 1)
	cfg, err := Parse("x.yaml", []byte(src+okMenu+transfersOK))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.HoldFrees("g2") || cfg.HoldFrees("g1") || cfg.HoldFrees("nowhere") {
		t.Errorf("on_hold: g1 %v g2 %v", cfg.HoldFrees("g1"), cfg.HoldFrees("g2"))
	}
	if cfg.Transfers.RingTimeout != DefaultTransferRingTimeout {
		t.Errorf("ring timeout %s", cfg.Transfers.RingTimeout)
	}
	for _, tc := range []struct {
		raw, number, dial string
		ok                bool
	}{
		{"0612345678", "+390612345678", "PJSIP/0612345678@carrier", true},
		{"+39 06 1234 5678", "+390612345678", "PJSIP/0612345678@carrier", true},
		{"3331234567", "+393331234567", "PJSIP/3331234567@carrier", true},
		{"0612345679", "", "", false}, // not on the list
		{"899123456", "", "", false},
		{"", "", "", false},
	} {
		n, d, ok := cfg.TransferNumber(tc.raw)
		if n != tc.number || d != tc.dial || ok != tc.ok {
			t.Errorf("TransferNumber(%q) = %q, %q, %v; want %q, %q, %v", tc.raw, n, d, ok, tc.number, tc.dial, tc.ok)
		}
	}
	// Without a transfers section no outside number is allowed.
	plain, err := Parse("x.yaml", []byte(base+okMenu))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := plain.TransferNumber("0612345678"); ok {
		t.Error("an outside number allowed without transfers:")
	}
}

func TestTransfersConfigProblems(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, from, to string
		want           string
	}{
		{"bad on_hold", "  - {id: g2, name: Gruppo due}", "  - {id: g2, name: Gruppo due, on_hold: park}",
			`x.yaml:16:5: group "g2": on_hold "park" must be "keep" or "free"`},
		{"not a number", `"+393331234567"]`, `"ufficio"]`, `x.yaml:35:3: transfers.numbers: "ufficio" is not a telephone number`},
		{"twice", `"+393331234567"]`, `"+390612345678"]`, `x.yaml:35:3: transfers.numbers: "+390612345678" is listed twice`},
		{"no endpoint", `  endpoint: "PJSIP/{national}@carrier"`, `  endpoint: "PJSIP/carrier"`,
			`x.yaml:35:3: transfers.endpoint "PJSIP/carrier" must contain {number} or {national}`},
		{"no caller id", `  caller_id: "800123456"`, `  caller_id: "centralino"`, `x.yaml:35:3: transfers.caller_id "centralino" is not a telephone number`},
		{"ring timeout", `  caller_id: "800123456"`, "  caller_id: \"800123456\"\n  ring_timeout: 5m",
			"x.yaml:35:3: transfers.ring_timeout 5m0s is out of range 10s..2m"},
		{"empty list", `  numbers: ["06 1234 5678", "+393331234567"]`, `  numbers: []`, "x.yaml:35:3: transfers.numbers lists no number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := strings.Replace(base+okMenu+transfersOK, tc.from, tc.to, 1)
			if src == base+okMenu+transfersOK {
				t.Fatalf("%q not found", tc.from)
			}
			_, err := Parse("x.yaml", []byte(src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant %s", err, tc.want)
			}
		})
	}
}
