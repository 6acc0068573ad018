package ivr_test

import (
	"testing"

	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
)

func TestMain(m *testing.M) { pgtest.Main(m, tickets.Migrate, queues.Migrate) }
