package panel

import (
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// BenchmarkWallboardFanout200 measures how long a change takes to reach 200
// wallboards (SSE clients over loopback HTTP): from the change in the
// queues and Notify to the last of the 200 clients holding the new
// figures. It includes the 150 ms debounce that lets a burst of call events
// make one refresh. FANOUT_CLIENTS changes the number of clients.
//
//	go test -run='^$' -bench=WallboardFanout200 -benchtime=20x ./panel/
func BenchmarkWallboardFanout200(b *testing.B) {
	clients := 200
	if v, err := strconv.Atoi(os.Getenv("FANOUT_CLIENTS")); err == nil && v > 0 {
		clients = v
	}
	e := newEnv(b)
	sup := e.login("sup")
	http.DefaultTransport.(*http.Transport).MaxIdleConnsPerHost = clients
	avail := regexp.MustCompile(`(?s)wb-row-lotto3".*?wb-available">(\d+)<`)
	var (
		want     atomic.Int64 // the figure the current round waits for
		round    atomic.Int64
		arrivals = make(chan time.Time, clients)
	)
	want.Store(-1)
	var ready sync.WaitGroup
	ready.Add(clients)
	for range clients {
		s := sup.subscribe("/wallboard/events")
		go func() {
			first, last := true, int64(-1)
			for ev := range s.events {
				if ev.name != "wallboard" {
					continue
				}
				if first {
					first = false
					ready.Done()
				}
				m := avail.FindSubmatch(ev.data)
				if m == nil {
					continue
				}
				v, _ := strconv.ParseInt(string(m[1]), 10, 64)
				if r := round.Load(); v == want.Load() && r != last {
					last = r
					arrivals <- time.Now()
				}
			}
		}()
	}
	ready.Wait()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		state, n := queues.Available, int64(1)
		if i%2 == 1 {
			state, n = queues.LoggedOut, 0
		}
		want.Store(n)
		round.Add(1)
		start := time.Now()
		noErr(b, e.queues.SetState(ctx, "op3", state, ""))
		e.srv.Notify()
		var lastAt time.Time
		timeout := time.After(30 * time.Second)
		for range clients {
			select {
			case at := <-arrivals:
				if at.After(lastAt) {
					lastAt = at
				}
			case <-timeout:
				b.Fatalf("round %d: not every client got the update within 30 s", i)
			}
		}
		lat = append(lat, lastAt.Sub(start))
	}
	b.StopTimer()
	reportLatencies(b, lat, "last-client")
}

func reportLatencies(b *testing.B, d []time.Duration, what string) {
	slices.Sort(d)
	ms := func(q float64) float64 { return float64(d[int(q*float64(len(d)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(ms(0.50), what+"-p50-ms")
	b.ReportMetric(ms(0.95), what+"-p95-ms")
	b.ReportMetric(ms(1), what+"-max-ms")
}

// BenchmarkTicketListPage measures the ticket list page end to end (HTTP,
// session, the store's query, the template) on PANEL_BENCH_N tickets
// (default 1,000,000; seeding them takes a few minutes), for a supervisor
// and an operator of two of the eight groups, first pages and filters.
// PANEL_BENCH_URL keeps the data set between runs (seeded if empty).
//
//	go test -run='^$' -bench=TicketListPage -benchtime=200x -timeout=30m ./panel/
func BenchmarkTicketListPage(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("PANEL_BENCH_N")); err == nil && v > 0 {
		n = v
	}
	var pool *pgxpool.Pool
	if u := os.Getenv("PANEL_BENCH_URL"); u != "" {
		var err error
		pool, err = pgxpool.New(ctx, u)
		noErr(b, err)
		b.Cleanup(pool.Close)
		for _, m := range []pgtest.MigrateFunc{tickets.Migrate, queues.Migrate, Migrate} {
			noErr(b, m(ctx, pool))
		}
	} else {
		pool = pgtest.Pool(b)
	}
	var have int
	noErr(b, pool.QueryRow(ctx, `SELECT count(*) FROM tickets`).Scan(&have))
	if have == 0 {
		start := time.Now()
		noErr(b, seedTickets(pool, n))
		b.Logf("seeded %d tickets in %v", n, time.Since(start).Round(time.Second))
	} else {
		n = have
	}
	e := newEnvOn(b, pool)
	sup, op := e.login("sup"), e.login("op2")
	for _, tc := range []struct {
		name string
		c    *client
		path string
	}{
		{"supervisor/first_page", sup, "/tickets"},
		{"supervisor/open_critical", sup, "/tickets?status=new&status=in_progress&status=waiting&priority=critical"},
		{"supervisor/search_word", sup, "/tickets?q=stampante"},
		{"supervisor/search_rare", sup, "/tickets?q=E12345"},
		{"operator/first_page", op, "/tickets"},
		{"operator/open", op, "/tickets?status=new&status=in_progress&status=waiting"},
		{"operator/search", op, "/tickets?q=password"},
	} {
		b.Run(fmt.Sprintf("tickets=%d/%s", n, tc.name), func(b *testing.B) {
			d := make([]time.Duration, 0, b.N)
			for b.Loop() {
				start := time.Now()
				r := tc.c.get(tc.path)
				d = append(d, time.Since(start))
				if r.status != http.StatusOK {
					b.Fatalf("status %d", r.status)
				}
			}
			reportLatencies(b, d, "page")
		})
	}
}

// newEnvOn is newEnv on the benchmark's database, with op2 in lotto2 and
// lotto5 (the seeded groups are lotto1 to lotto8).
func newEnvOn(b *testing.B, pool *pgxpool.Pool) *env {
	e := newEnvWith(b, pool, func(o *Options) { o.Now = time.Now })
	noErr(b, e.queues.SyncGroups(ctx, []queues.GroupConfig{{ID: "lotto2"}, {ID: "lotto3"}, {ID: "lotto5"}}))
	noErr(b, e.queues.UpsertOperator(ctx, queues.Operator{Login: "op2", Name: "Op", Endpoint: "PJSIP/op201",
		Groups: map[string]int{"lotto2": 0, "lotto5": 0}}))
	_, err := pool.Exec(ctx, `DELETE FROM panel_login_throttle`)
	noErr(b, err)
	return e
}

// seedTickets fills the database with n tickets over 2025 in eight groups
// (as the tickets package's BenchmarkLarge does), with generate_series,
// then builds the indexes and analyzes.
func seedTickets(pool *pgxpool.Pool, n int) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	steps := []string{
		`SET maintenance_work_mem = '512MB'`,
		`SELECT setseed(0.42)`,
		`CREATE TEMP TABLE saved_indexes AS
			SELECT indexrelid::regclass::text AS name, pg_get_indexdef(indexrelid) AS def
			FROM pg_index WHERE indrelid = 'tickets'::regclass AND NOT indisprimary AND NOT indisunique`,
		`DO $$ DECLARE r record; BEGIN
			FOR r IN SELECT name FROM saved_indexes LOOP EXECUTE 'DROP INDEX ' || r.name; END LOOP; END $$`,
		fmt.Sprintf(`
		WITH words AS (
			SELECT ARRAY['posta','accesso','password','errore','pec','firma','certificato','rete','stampante','mail',
				'servizio','utente','casella','invio','ricezione','messaggio','allegato','protocollo','documento','sistema',
				'lento','bloccato','non','funziona','scaduto','rinnovo','smart','card','token','lettore',
				'scanner','toner','carta','monitor','tastiera','mouse','pc','portatile','vpn','wifi'] AS w
		), t AS (
			SELECT i,
				'2025-01-01 00:00:00+01'::timestamptz + (i - 1) * interval '365 days' / %[1]d AS ts,
				'+39333' || lpad((i %% 50000)::text, 7, '0') AS caller,
				'ente' || (i %% 2000) AS org,
				'lotto' || (1 + (i::bigint * 7919) %% 8) AS grp,
				(ARRAY['PEC','Firma','Rete','Stampa','Account','Altro'])[1 + i %% 6] AS cat,
				(SELECT string_agg(w[1 + g * 0 + floor(power(random(), 3) * array_length(w, 1))::int], ' ')
					FROM generate_series(1, 3 + i %% 3) g) AS subj,
				(SELECT string_agg(w[1 + g * 0 + floor(power(random(), 2) * array_length(w, 1))::int], ' ')
					FROM generate_series(1, 8 + i %% 5) g) || ' codice E' || (1 + floor(random() * 200000)::int) AS descr,
				CASE WHEN i > %[1]d - 3000 THEN (ARRAY['new','in_progress','waiting'])[1 + i %% 3] ELSE 'closed' END AS status
			FROM generate_series(1, %[1]d) i, words
		)
		INSERT INTO tickets (number, source, caller, organization, caller_role, group_id, category, subject, description,
			priority, status, assignee, created_at, updated_at, closed_at, search, search_public)
		SELECT ticket_number((ts AT TIME ZONE 'Europe/Rome')::date, i),
			CASE WHEN i %% 7 = 0 THEN 'after_hours' ELSE 'phone' END,
			caller, org, (ARRAY['referent','user','unknown'])[1 + i %% 3], grp, cat, subj, descr,
			(ARRAY['critical','high','high','medium','medium','medium','medium','low','low','low'])[1 + i %% 10],
			status, CASE WHEN status = 'new' THEN '' ELSE 'op' || (i %% 40) END,
			ts, ts, CASE WHEN status = 'closed' THEN ts + interval '1 day' END,
			ticket_search_vector(subj, cat, descr), ticket_search_vector(subj, cat, descr)
		FROM t ORDER BY i`, n),
		`DO $$ DECLARE r record; BEGIN
			FOR r IN SELECT def FROM saved_indexes LOOP EXECUTE r.def; END LOOP; END $$`,
		`DROP TABLE saved_indexes`,
		`VACUUM (ANALYZE) tickets`,
		`CHECKPOINT`,
	}
	for _, sql := range steps {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("seed: %w\n%s", err, sql)
		}
	}
	return nil
}
