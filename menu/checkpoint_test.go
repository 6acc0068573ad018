package menu

import (
	"slices"
	"strings"
	"testing"
)

// A navigator rebuilt from a checkpoint is where the caller was: same
// node, path and identity, after an apology; a PIN branch asks again
// unless the PIN was given; a checkpoint the menu no longer matches
// resumes nowhere.
func TestCheckpointResume(t *testing.T) {
	t.Parallel()
	cfg := loadExample(t)
	anyone := Caller{Number: "+393331234567"}
	resume := func(nav *Navigator) (*Navigator, Action, bool) {
		t.Helper()
		cp, ok := ParseCheckpoint(nav.Checkpoint().Encode())
		if !ok {
			t.Fatalf("checkpoint %q does not parse", nav.Checkpoint().Encode())
		}
		fresh := NewNavigator(cfg, anyone, "")
		a, ok := fresh.Resume(cp)
		return fresh, a, ok
	}

	nav, _ := walk(t, cfg, anyone, "2")
	fresh, a, ok := resume(nav)
	if !ok || a.Step != StepMenu || a.Node != "2" || promptNames(a) != "system:technical_problem,node:2" {
		t.Fatalf("resumed in menu 2: %v %+v", ok, a)
	}
	if got := fresh.Feed(Input{Kind: InputDigits, Digits: "1"}); got.Step != StepRoute || got.Group != "pct-libero-foro" {
		t.Fatalf("after resuming: %+v", got)
	}
	if !slices.Equal(fresh.Keys(), []string{"2", "1"}) {
		t.Errorf("path %v", fresh.Keys())
	}
	// Back from a submenu: the checkpoint is the root.
	nav, _ = walk(t, cfg, anyone, "3", "*")
	if _, a, ok := resume(nav); !ok || a.Node != "root" || a.Step != StepMenu {
		t.Fatalf("resumed after back: %v %+v", ok, a)
	}
	// At the PIN of branch 4: asked again.
	nav, _ = walk(t, cfg, anyone, "4")
	if _, a, ok := resume(nav); !ok || a.Step != StepPIN || promptNames(a) != "system:technical_problem,system:pin_ask" {
		t.Fatalf("resumed at the PIN: %v %+v", ok, a)
	}
	// A referent identified by PIN keeps the identity, not the digits.
	nav, _ = walk(t, cfg, anyone, "2", "*")
	nav.org, nav.role = "tribunale-roma-demo", RoleReferent
	enc := nav.Checkpoint().Encode()
	for _, pin := range []string{"5035", "1035"} {
		if strings.Contains(enc, pin) {
			t.Fatalf("checkpoint %q holds a PIN", enc)
		}
	}
	nav.path = append(nav.path, PathStep{Key: "4", Node: "4"})
	fresh, a, ok = resume(nav)
	if org, role := fresh.Identity(); !ok || a.Step != StepRoute || a.Group != "modifiche" || org != "tribunale-roma-demo" || role != RoleReferent {
		t.Fatalf("referent resumed: %v %+v %s %s", ok, a, org, role)
	}
	// Keys the menu no longer has.
	for _, bad := range []string{"k=7&l=it", "k=1.9&l=it", "k=0.1&l=it", "garbage", "l=it"} {
		cp, parsed := ParseCheckpoint(bad)
		if !parsed {
			continue
		}
		if a, ok := NewNavigator(cfg, anyone, "").Resume(cp); ok {
			t.Errorf("%q resumed at %+v", bad, a)
		}
	}
	// An unknown role or Administration is not taken on trust.
	cp, _ := ParseCheckpoint("k=&l=it&r=admin&o=nowhere")
	fresh = NewNavigator(cfg, anyone, "")
	fresh.Resume(cp)
	if org, role := fresh.Identity(); org != "" || role != RoleUnknown {
		t.Errorf("identity from a forged checkpoint: %q %q", org, role)
	}
}
