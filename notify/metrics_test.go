package notify_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/helpdesk-ivr/ivr/notify"
)

// The failures are exported at 0 before the first one: an alert on
// increase() cannot see a series that starts at 1, and the first e-mail
// given up went unnoticed.
func TestFailuresExportedFromTheStart(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	cfg := notify.Config{From: "Help desk <helpdesk@helpdesk.test>"}
	if _, err := notify.NewSender(nil, cfg, notify.NewSMTP(cfg.SMTP, nil), notify.SenderOptions{Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	want := `# HELP ivr_notify_email_failures_total Failed e-mail delivery attempts, by outcome (retry or given_up).
# TYPE ivr_notify_email_failures_total counter
ivr_notify_email_failures_total{outcome="given_up"} 0
ivr_notify_email_failures_total{outcome="retry"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "ivr_notify_email_failures_total"); err != nil {
		t.Error(err)
	}
}
