package menu

import (
	"strings"
	"testing"
)

func TestNotifyReferents(t *testing.T) {
	t.Parallel()
	org := "organizations:\n  - {id: a, name: A, notify_referents: %s}\n  - {id: b, name: B}\n"
	cfg, err := Parse("x.yaml", []byte(base+strings.Replace(org, "%s", "true", 1)+okMenu))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Organization("a").NotifyReferents || cfg.Organization("b").NotifyReferents {
		t.Fatalf("notify_referents: a %v, b %v", cfg.Organization("a").NotifyReferents, cfg.Organization("b").NotifyReferents)
	}
	_, err = Parse("x.yaml", []byte(base+strings.Replace(org, "%s", "often", 1)+okMenu))
	if err == nil || !strings.Contains(err.Error(), "x.yaml:31:") || !strings.Contains(err.Error(), "notify_referents") {
		t.Fatalf("want a problem at x.yaml:31 naming notify_referents, got %v", err)
	}
}
