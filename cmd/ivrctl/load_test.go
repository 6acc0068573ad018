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

// TestLoadThroughNATS: `ivrctl load -transport nats` spreads the calls
// over two simulated nodes behind real ari-proxy servers and two
// controllers sharing them by lease in PostgreSQL; every call ends with
// its record and ticket, and each node and each instance had calls.
func TestLoadThroughNATS(t *testing.T) {
	t.Setenv("DATABASE_URL", pgtest.DatabaseURL(t))
	code, out, errOut := runCmd(t, "", "load", "-config", example, "-store", "postgres", "-transport", "nats",
		"-nodes", "2", "-instances", "2", "-calls", "40", "-rate", "20", "-hold", "1s")
	if code != 0 {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	var rep loadReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Transport != "nats" || rep.Calls != 40 || rep.Completed != 40 || rep.SessionsLeft != 0 || len(rep.Failures) != 0 {
		t.Errorf("report:\n%s", out)
	}
	if rep.CallRecordsTicketed == nil || *rep.CallRecordsTicketed != 40 {
		t.Errorf("call records with their ticket: %v, want 40\n%s", rep.CallRecordsTicketed, out)
	}
	if len(rep.Nodes) != 2 || len(rep.Instances) != 2 {
		t.Fatalf("report:\n%s", out)
	}
	records := 0
	for _, n := range rep.Nodes {
		if n.Placed != 20 || n.Records == nil || *n.Records != 20 {
			t.Errorf("node %s: %d placed, %v records; want 20 each", n.ID, n.Placed, n.Records)
		}
		if n.Records != nil {
			records += *n.Records
		}
	}
	var arrived int64
	for _, in := range rep.Instances {
		if in.Arrived == 0 {
			t.Errorf("instance %s got no call\n%s", in.Name, out)
		}
		arrived += in.Arrived
	}
	if arrived != 40 || records != 40 {
		t.Errorf("%d calls arrived at the instances, %d records on the nodes; want 40", arrived, records)
	}
}

func TestLoadRefusesInstancesWithoutPostgres(t *testing.T) {
	if code, _, errOut := runCmd(t, "", "load", "-config", example, "-transport", "nats", "-instances", "2", "-calls", "1"); code != 1 || errOut == "" {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}
