package tickets_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/internal/testkit"
	"github.com/helpdesk-ivr/ivr/tickets"
)

func TestMain(m *testing.M) { pgtest.Main(m, tickets.Migrate) }

var rome = mustLoad("Europe/Rome")

var mustLoad = testkit.MustLoad

// clock is a settable clock for the store.
type clock = testkit.Clock

var newClock = testkit.NewClock

// newStore returns a store on a fresh database, in the Rome time zone, on a
// clock starting at start.
func newStore(t *testing.T, start time.Time) (*tickets.Store, *clock, *pgxpool.Pool) {
	t.Helper()
	pool := pgtest.Pool(t)
	clk := newClock(start)
	return tickets.New(pool, tickets.Options{Location: rome, Now: clk.Now}), clk, pool
}

var (
	ctx      = context.Background()
	system   = tickets.Viewer{Kind: tickets.ViewerSystem}
	everyone = tickets.Viewer{Kind: tickets.ViewerStaffAll, Login: "sup"}
	operator = tickets.Actor{Kind: tickets.ActorOperator, ID: "mrossi"}
	sysActor = tickets.Actor{Kind: tickets.ActorSystem, ID: "ivr"}
	t0       = time.Date(2025, 11, 24, 9, 0, 0, 0, rome) // a Monday morning
	channels atomic.Int64
)

func ptr[T any](v T) *T { return &v }

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
}

func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// open opens a call and its ticket with the fields of nc, filling a unique
// channel id.
func open(t *testing.T, s *tickets.Store, nc tickets.NewCall) (tickets.Call, tickets.Ticket) {
	t.Helper()
	if nc.ChannelID == "" {
		nc.ChannelID = fmt.Sprintf("1795320990.%d", channels.Add(1))
	}
	c, tk, err := s.OpenCall(ctx, nc)
	if err != nil {
		t.Fatal(err)
	}
	return c, tk
}
