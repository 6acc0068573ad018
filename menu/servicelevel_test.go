package menu

import (
	"strings"
	"testing"
	"time"
)

func TestGroupServiceLevels(t *testing.T) {
	t.Parallel()
	src := strings.Replace(base+okMenu, "    name: Gruppo uno\n", "    name: Gruppo uno\n    service_level: 20s\n", 1)
	cfg, err := Parse("x.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.GroupServiceLevels(30 * time.Second)
	if len(got) != 2 || got["g1"] != 20*time.Second || got["g2"] != 30*time.Second {
		t.Fatalf("service levels %v", got)
	}
}

func TestGroupServiceLevelProblems(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ value, want string }{
		{"500ms", `x.yaml:14:5: group "g1": service_level 500ms is out of range 1s..10m0s`},
		{"11m", `x.yaml:14:5: group "g1": service_level 11m0s is out of range 1s..10m0s`},
		{"-5s", `x.yaml:14:5: group "g1": service_level -5s is out of range 1s..10m0s`},
	} {
		t.Run(tc.value, func(t *testing.T) {
			t.Parallel()
			src := strings.Replace(base+okMenu, "    name: Gruppo uno\n", "    name: Gruppo uno\n    service_level: "+tc.value+"\n", 1)
			_, err := Parse("x.yaml", []byte(src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want %q, got %v", tc.want, err)
			}
		})
	}
	// The bounds themselves are accepted.
	for _, ok := range []string{"1s", "10m"} {
		src := strings.Replace(base+okMenu, "    name: Gruppo uno\n", "    name: Gruppo uno\n    service_level: "+ok+"\n", 1)
		if _, err := Parse("x.yaml", []byte(src)); err != nil {
			t.Fatalf("%s: %v", ok, err)
		}
	}
}
