package pgtest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// TestIsolationChoice measures both ways of isolating a test on this server
// (go test -v shows the figures) and checks that the one pgtest chose is not
// clearly the slower.
func TestIsolationChoice(t *testing.T) {
	if testing.Short() {
		t.Skip("measurement")
	}
	mode, pd, ps := Mode(t)
	t.Logf("chosen %s (setup probe: database %v, schema %v)", mode, pd, ps)
	if os.Getenv("PGTEST_ISOLATION") != "" || tplPool == nil {
		// A forced mode, or the database mode (whose template must stay
		// unconnected, so schemas are not measured again).
		if mode == IsolateDatabase && ps != 0 && ps < pd/2 {
			t.Errorf("database copies chosen although schemas probed twice as fast")
		}
		return
	}
	ctx := context.Background()
	const rounds = 5
	measure := func(newFn func(context.Context, string) (string, func(context.Context) error, error), kind string) time.Duration {
		var total time.Duration
		for i := range rounds {
			start := time.Now()
			_, cleanup, err := newFn(ctx, fmt.Sprintf("pgtest_%d_measure_%s_%d", os.Getpid(), kind, i))
			if err != nil {
				t.Fatal(err)
			}
			if err := cleanup(ctx); err != nil {
				t.Fatal(err)
			}
			total += time.Since(start)
		}
		return total / rounds
	}
	schema := measure(newSchema, "schema")
	t.Logf("per test: migrated schema %v", schema)
	if mode == IsolateSchema && schema > 2*pd {
		t.Errorf("schemas chosen but cost %v per test against %v for a database copy", schema, pd)
	}
}
