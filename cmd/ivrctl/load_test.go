package main

import (
	"encoding/json"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestLoadOnPostgres: `ivrctl load -store postgres` runs the calls with
// their tickets and records in PostgreSQL and the operator queues there,
// as ivrd does, and says every call has its finished record and ticket.
func TestLoadOnPostgres(t *testing.T) {
	url := pgtest.DatabaseURL(t)
	t.Setenv("DATABASE_URL", url)
	code, out, errOut := runCmd(t, "", "load", "-config", example, "-store", "postgres", "-calls", "20", "-rate", "20", "-hold", "1s")
	if code != 0 {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	var rep loadReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Store != "postgres" || rep.Calls != 20 || rep.Completed != 20 || rep.SessionsLeft != 0 {
		t.Errorf("report:\n%s", out)
	}
	for name, n := range map[string]*int{"call_records": rep.CallRecords, "call_records_finished": rep.CallRecordsFinished,
		"call_records_with_ticket": rep.CallRecordsTicketed} {
		if n == nil || *n != 20 {
			t.Errorf("%s: %v, want 20\n%s", name, n, out)
		}
	}
	// The queues were PostgreSQL's: the callers waited there.
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var queued int
	if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM calls WHERE queued_at IS NOT NULL").Scan(&queued); err != nil {
		t.Fatal(err)
	}
	if queued != 20 {
		t.Errorf("%d calls were queued, want 20", queued)
	}
}

func TestLoadRefusesPostgresWithoutURL(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	if code, _, errOut := runCmd(t, "", "load", "-config", example, "-store", "postgres", "-calls", "1"); code != 1 || errOut == "" {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}
