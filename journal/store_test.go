package journal_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/configstore"
	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/jobs"
	"github.com/helpdesk-ivr/ivr/journal"
	"github.com/helpdesk-ivr/ivr/notify"
	"github.com/helpdesk-ivr/ivr/tickets"
)

func TestMain(m *testing.M) {
	pgtest.Main(m, tickets.Migrate, notify.Migrate, jobs.Migrate, journal.Migrate, configstore.Migrate)
}

func call(id string, at time.Time, entry, outcome, result, group string) journal.Call {
	return journal.Call{CallID: id, ArrivedAt: at, Caller: "+393331234567", Entry: entry, Duration: 40 * time.Second,
		HangupBy: "caller", Steps: []journal.Step{{Ms: 500, At: 500 * time.Millisecond, Kind: journal.StepKeys, Node: "root", Keys: "1"}},
		End: journal.End{Outcome: outcome, Result: result, Group: group, Path: []string{"1"}}}
}

// The retention job, run by the jobs' runner at its slot, summarises the
// calls older than the retention period per day, entry, outcome and
// group, and deletes them; newer calls stay whole.
func TestRetentionJob(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	rome, _ := time.LoadLocation("Europe/Rome")
	store := journal.NewStore(pool, rome)
	now := time.Date(2026, 12, 7, 3, 45, 0, 0, rome) // the job's slot
	old1 := time.Date(2026, 9, 1, 0, 30, 0, 0, rome) // 1 September in Rome, 31 August in UTC
	old2 := time.Date(2026, 9, 1, 11, 0, 0, 0, rome)
	recent := now.Add(-89 * 24 * time.Hour)
	err := store.Insert(ctx, []journal.Call{
		call("a", old1, "800749049", "answered", "routed", "lotto2"),
		call("b", old2, "800749049", "answered", "routed", "lotto2"),
		call("c", old2, "800749049", "abandoned", "routed", "lotto2"),
		call("d", old2, "0612345", "closed_no_message", "after_hours", ""),
		call("e", recent, "800749049", "answered", "routed", "lotto3"),
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := jobs.NewRunner(pool, jobs.RunnerOptions{Location: rome, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Add("journal_retention", journal.RetentionSpec, store.RetentionJob(0)); err != nil {
		t.Fatal(err)
	}
	if err := r.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	left, err := store.FindCalls(ctx, journal.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0].CallID != "e" || left[0].Steps[0].Keys != "1" || left[0].Steps[0].At != 500*time.Millisecond {
		t.Fatalf("left after retention: %+v", left)
	}
	daily, err := store.FindDaily(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		day, entry, outcome, result, group string
		calls                              int64
	}
	var got []row
	for _, d := range daily {
		got = append(got, row{d.Day.Format("2006-01-02"), d.Entry, d.Outcome, d.Result, d.Group, d.Calls})
	}
	want := []row{
		{"2026-09-01", "0612345", "closed_no_message", "after_hours", "", 1},
		{"2026-09-01", "800749049", "abandoned", "routed", "lotto2", 1},
		{"2026-09-01", "800749049", "answered", "routed", "lotto2", 2},
	}
	if len(got) != len(want) {
		t.Fatalf("summary %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("summary row %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	// A second run the next night adds to the same day's counts.
	if err := store.Insert(ctx, []journal.Call{call("f", old2, "800749049", "answered", "routed", "lotto2")}); err != nil {
		t.Fatal(err)
	}
	if n, err := store.Retain(ctx, now.Add(-journal.DefaultRetention), 0); err != nil || n != 1 {
		t.Fatalf("second retention: %d, %v", n, err)
	}
	daily, _ = store.FindDaily(ctx)
	if len(daily) != 3 || daily[2].Calls != 3 {
		t.Errorf("after the second run: %+v", daily)
	}
}

// Filters select by arrival and entry, oldest first.
func TestFindCalls(t *testing.T) {
	ctx := context.Background()
	store := journal.NewStore(pgtest.Pool(t), time.UTC)
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	if err := store.Insert(ctx, []journal.Call{
		call("x", t0.Add(2*time.Hour), "800749049", "answered", "routed", "lotto2"),
		call("y", t0, "800749049", "answered", "routed", "lotto2"),
		call("z", t0.Add(time.Hour), "0612345", "answered", "routed", "lotto2"),
	}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		f    journal.Filter
		want string
	}{
		{journal.Filter{}, "yzx"},
		{journal.Filter{Since: t0.Add(time.Hour)}, "zx"},
		{journal.Filter{Until: t0.Add(2 * time.Hour)}, "yz"},
		{journal.Filter{Entry: "800749049"}, "yx"},
		{journal.Filter{Limit: 1}, "y"},
	} {
		got, err := store.FindCalls(ctx, c.f)
		if err != nil {
			t.Fatal(err)
		}
		s := ""
		for _, g := range got {
			s += g.CallID
		}
		if s != c.want {
			t.Errorf("%+v: %q, want %q", c.f, s, c.want)
		}
	}
}

// TestConfigSourceOfAPublishedVersion: -against takes the id of a version
// published through the panel or the API (config_versions), not a draft.
func TestConfigSourceOfAPublishedVersion(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	rome, _ := time.LoadLocation("Europe/Rome")
	versions := configstore.New(pool, configstore.Options{})
	src := []byte("service: {name: prova}\n")
	v, err := versions.Publish(ctx, configstore.Publication{Source: src, Note: "prova", By: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	draft, err := versions.SaveDraft(ctx, configstore.DraftChange{Source: []byte("service: {name: bozza}\n"), By: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	store := journal.NewStore(pool, rome)
	sha, got, err := store.ConfigSource(ctx, strconv.FormatInt(v.ID, 10))
	if err != nil || string(got) != string(src) || sha != v.SHA256 {
		t.Fatalf("version %d: %q %q, %v", v.ID, sha, got, err)
	}
	if _, _, err := store.ConfigSource(ctx, strconv.FormatInt(draft.ID, 10)); err == nil {
		t.Fatal("a draft's id found a configuration")
	}
	if sha, _, err := store.ConfigSource(ctx, v.SHA256[:10]); err != nil || sha != v.SHA256 {
		t.Fatalf("by SHA-256 prefix: %q, %v", sha, err)
	}
}
