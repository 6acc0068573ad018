package queues_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/internal/testkit"
	"github.com/helpdesk-ivr/ivr/queues"
)

func TestMain(m *testing.M) { pgtest.Main(m, queues.Migrate) }

var (
	ctx  = context.Background()
	rome = mustLoad("Europe/Rome")
	t0   = time.Date(2025, 11, 24, 9, 0, 0, 0, rome) // a Monday morning
)

var mustLoad = testkit.MustLoad

// clock is a settable clock.
type clock = testkit.Clock

// newService returns a service on a fresh database with groups and
// operators configured (operators logged out), on a clock at t0.
func newService(t *testing.T, groups []queues.GroupConfig, ops []queues.Operator) (*queues.Service, *clock, *pgxpool.Pool) {
	t.Helper()
	pool := pgtest.Pool(t)
	clk := testkit.NewClock(t0)
	s := queues.New(pool, queues.Options{Now: clk.Now, Location: rome, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	noErr(t, s.SyncGroups(ctx, groups))
	for _, op := range ops {
		noErr(t, s.UpsertOperator(ctx, op))
	}
	return s, clk, pool
}

func op(login string, groups map[string]int) queues.Operator {
	return queues.Operator{Login: login, Name: "Operatore " + login, Endpoint: "PJSIP/" + login, Groups: groups}
}

func noErr(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
}

func equal[T any](t testing.TB, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// waitOffer waits for the call's offer, failing the test after a while
// rather than hanging.
func waitOffer(t testing.TB, s *queues.Service, callID string) queues.Offer {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	o, err := s.WaitOffer(c, callID)
	if err != nil {
		t.Fatalf("wait offer %s: %v", callID, err)
	}
	return o
}

// logins of an offer.
func logins(o queues.Offer) []string {
	var l []string
	for _, op := range o.Operators {
		l = append(l, op.Login)
	}
	return l
}

// enqueue puts a call in a queue and checks it was accepted.
func enqueue(t testing.TB, s *queues.Service, callID, group string, priority int) queues.Enqueued {
	t.Helper()
	res, err := s.Enqueue(ctx, queues.Entry{CallID: callID, Group: group, Priority: priority, Caller: "+390612345678"})
	noErr(t, err)
	if res.Overflow != nil {
		t.Fatalf("enqueue %s: overflow %+v", callID, *res.Overflow)
	}
	return res
}

func state(t testing.TB, s *queues.Service, login string) (queues.State, string) {
	t.Helper()
	o := must[queues.Operator](t)(s.Operator(ctx, login))
	return o.State, o.Reason
}

func callID(i int) string { return fmt.Sprintf("1795320990.%d", i) }
