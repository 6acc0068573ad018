package panel

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
)

// Supervisors and administrators see the PIN-guessing alarm on every
// page while it is raised; operators do not.
func TestPINAlarmNotice(t *testing.T) {
	var raised atomic.Bool
	e := newEnv(t, func(o *Options) {
		o.PINAlarm = func(context.Context) (bool, int, error) { return raised.Load(), 42, nil }
	})
	sup, op := e.login("sup"), e.login("op2")
	if r := sup.get("/tickets"); strings.Contains(r.body, `data-testid="pin-alarm"`) {
		t.Fatal("a notice without an alarm")
	}
	raised.Store(true)
	for _, path := range []string{"/tickets", "/wallboard", "/reports"} {
		r := sup.get(path)
		if !strings.Contains(r.body, `data-testid="pin-alarm"`) || !strings.Contains(r.body, "42 PIN errati") {
			t.Errorf("%s: no PIN alarm for a supervisor", path)
		}
	}
	if r := op.get("/tickets"); strings.Contains(r.body, `data-testid="pin-alarm"`) {
		t.Error("an operator sees the PIN alarm")
	}
}
