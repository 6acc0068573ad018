package ivr_test

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/leases"
	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
)

func TestMain(m *testing.M) {
	pgtest.Main(&everyPrompt{m}, tickets.Migrate, queues.Migrate, leases.Migrate)
}

// everyPrompt runs the tests, then, when all of them ran and passed,
// fails the package if a prompt of the shipped configuration, in any of
// the callers' language, was never played: together with the rig's check that
// no playback lacked its file, every caller hears every prompt.
type everyPrompt struct{ m *testing.M }

func (e *everyPrompt) Run() int {
	code := e.m.Run()
	if code != 0 || flag.Lookup("test.run").Value.String() != "" || testing.Short() {
		return code
	}
	cfg, err := loadConfigFile()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if missing := heard.unheard(cfg); len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: prompts no test played (%d): %v\n", len(missing), missing)
		return 1
	}
	return 0
}
