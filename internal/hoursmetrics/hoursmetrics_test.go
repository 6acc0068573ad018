package hoursmetrics_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/helpdesk-ivr/ivr/internal/hoursmetrics"
	"github.com/helpdesk-ivr/ivr/menu"
)

// The shipped help desk: "standard" hours Monday to Friday 08-18 and
// Saturday 08-13, the Cassazione groups (lotto6, pct-*) Monday to Friday
// only, Italian holidays closed.
func TestServiceOpenFollowsEachGroupsHours(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../../configs/helpdesk.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := menu.Parse("helpdesk.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	groups := []string{"accoglienza", "lotto2", "lotto3", "lotto4", "lotto5", "lotto6", "modifiche", "pct-libero-foro", "pct-magistrati", "sicoge"}
	cassazione := map[string]bool{"lotto6": true, "pct-libero-foro": true, "pct-magistrati": true}
	tests := []struct {
		name string
		at   string // Europe/Rome
		open func(group string) bool
	}{
		{"Monday morning", "2026-11-16T10:00", func(string) bool { return true }},
		{"Monday evening", "2026-11-16T19:00", func(string) bool { return false }},
		{"Saturday morning: Cassazione closed", "2026-11-21T10:00", func(g string) bool { return !cassazione[g] }},
		{"Sunday", "2026-11-22T10:00", func(string) bool { return false }},
		{"8 December, a holiday on a Tuesday", "2026-12-08T10:00", func(string) bool { return false }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			at, err := time.ParseInLocation("2006-01-02T15:04", tc.at, cfg.Location())
			if err != nil {
				t.Fatal(err)
			}
			c := hoursmetrics.New(func() *menu.Config { return cfg }, func() time.Time { return at })
			var want strings.Builder
			want.WriteString("# HELP ivr_service_open 1 while the group's hours (its schedule, else the service's; holidays and closures included) say it is open, else 0.\n# TYPE ivr_service_open gauge\n")
			for _, g := range groups {
				v := 0
				if tc.open(g) {
					v = 1
				}
				fmt.Fprintf(&want, "ivr_service_open{group=%q} %d\n", g, v)
			}
			if err := testutil.CollectAndCompare(c, strings.NewReader(want.String())); err != nil {
				t.Error(err)
			}
		})
	}
}

// Before a configuration is in force, nothing is reported rather than a
// guess.
func TestServiceOpenWithoutConfiguration(t *testing.T) {
	t.Parallel()
	c := hoursmetrics.New(func() *menu.Config { return nil }, time.Now)
	if n := testutil.CollectAndCount(c); n != 0 {
		t.Errorf("%d metrics without a configuration, want 0", n)
	}
}
