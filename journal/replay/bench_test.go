package replay_test

import (
	"context"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/journal"
	"github.com/helpdesk-ivr/ivr/journal/replay"
)

var (
	benchSpeed       = flag.Float64("replay.speed", 20, "BenchmarkReplay: the replay's speed")
	benchConcurrency = flag.Int("replay.concurrency", 0, "BenchmarkReplay: calls at once (0: 25 per desk)")
	benchDesks       = flag.Int("replay.desks", 0, "BenchmarkReplay: desks (0: 8 per processor)")
)

// BenchmarkReplay replays b.N journaled calls under the same
// configuration: the test's calls, journaled from real calls on the
// simulator, each copied as many times as needed (another caller each
// time). -benchtime=N gives the README's figure.
//
//	go run ./internal/pgcluster/cmd/pgcluster -test-tuning -- go test -run='^$' -bench=Replay -benchtime=10000x ./journal/replay/
func BenchmarkReplay(b *testing.B) {
	ctx := context.Background()
	src, cfg := shipped(b)
	store := journal.NewStore(pgtest.Pool(b), cfg.Location())
	base := journalCalls(b, ctx, store, cfg, src)
	cs := make([]journal.Call, b.N)
	for i := range cs {
		c := base[i%len(base)]
		c.ID = int64(i + 1)
		if c.Caller != "" && c.Caller[:4] == "+393" { // not the known Administration's number
			c.Caller = fmt.Sprintf("+39333%07d", i)
		}
		cs[i] = c
	}
	b.ResetTimer()
	began := time.Now()
	r, err := replay.Run(ctx, replay.Options{Calls: cs, New: src, Speed: *benchSpeed, Concurrency: *benchConcurrency, Desks: *benchDesks})
	if err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(began)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "calls/s")
	b.ReportMetric(float64(r.Different), "different")
	b.Logf("%d calls in %v: %.0f calls/s, %d different, %d late", b.N, elapsed.Round(time.Millisecond), float64(b.N)/elapsed.Seconds(), r.Different, r.Late)
	// Under the same configuration every call should end the same; on a
	// machine too busy for the speed some land on the other side of a
	// timeout: more than 2% fails the benchmark.
	if r.Failed != 0 || r.Different > b.N/50 {
		for i, d := range r.Diffs {
			if i < 8 {
				b.Logf("%s %s %s: old %+v new %+v steps %+v", d.Kind, d.Caller, d.ArrivedAt, d.Old, d.New, cs[d.JournalID-1].Steps)
			}
		}
		b.Errorf("%d calls: %d the same, %d different %v, %d failed %q", b.N, r.Same, r.Different, r.Kinds, r.Failed, r.Errors)
	}
}
