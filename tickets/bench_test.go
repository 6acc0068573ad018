package tickets_test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// BenchmarkOpenCall measures the call controller's hot path, a call record
// and its ticket, from many goroutines at once, with pools of several sizes.
//
//	go test -run='^$' -bench=OpenCall -benchtime=20000x ./tickets/
func BenchmarkOpenCall(b *testing.B) {
	for _, conns := range []int32{4, 8, 16} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			pool := pgtest.PoolConfig(b, func(c *pgxpool.Config) { c.MaxConns, c.MinConns = conns, conns })
			s := tickets.New(pool, tickets.Options{Location: rome})
			var seq atomic.Int64
			b.SetParallelism(int(conns)) // goroutines = conns × GOMAXPROCS: the pool is always busy
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := seq.Add(1)
					_, _, err := s.OpenCall(ctx, tickets.NewCall{
						ChannelID: "1795320990." + strconv.FormatInt(i, 10), AsteriskNode: "ast1",
						Caller: fmt.Sprintf("+39333%07d", i%100000), Called: "+39800749049", Subject: "Chiamata",
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
		})
	}
}

// BenchmarkCallLifecycle is what one whole call costs the store: open, a
// timeline of seven events in one batch, two updates and the finish.
func BenchmarkCallLifecycle(b *testing.B) {
	pool := pgtest.PoolConfig(b, func(c *pgxpool.Config) { c.MaxConns = 8 })
	s := tickets.New(pool, tickets.Options{Location: rome})
	var seq atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := seq.Add(1)
			c, _, err := s.OpenCall(ctx, tickets.NewCall{ChannelID: "1795320990." + strconv.FormatInt(i, 10), Caller: "+393331234567"})
			if err == nil {
				now := time.Now()
				err = s.AppendCallEvents(ctx, c.ID,
					tickets.CallEvent{At: now, Kind: tickets.EventEntered},
					tickets.CallEvent{At: now, Kind: tickets.EventHoursCheck, Detail: "open"},
					tickets.CallEvent{At: now, Kind: tickets.EventMenuSelection, Node: "main", Key: "2", Label: "PEC"},
					tickets.CallEvent{At: now, Kind: tickets.EventQueued, Group: "lotto2"},
					tickets.CallEvent{At: now, Kind: tickets.EventOffered, Operator: "op1"},
					tickets.CallEvent{At: now, Kind: tickets.EventAnswered, Operator: "op1"},
					tickets.CallEvent{At: now, Kind: tickets.EventHangup, Detail: "caller"})
			}
			if err == nil {
				err = s.UpdateCall(ctx, c.ID, tickets.CallUpdate{QueuedAt: ptr(time.Now()), Group: ptr("lotto2")})
			}
			if err == nil {
				err = s.UpdateCall(ctx, c.ID, tickets.CallUpdate{OperatorAnsweredAt: ptr(time.Now()), Operator: ptr("op1")})
			}
			if err == nil {
				err = s.FinishCall(ctx, c.ID, tickets.CallEnd{Outcome: tickets.OutcomeAnswered, HangupBy: tickets.HangupCaller})
			}
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
}

// large is the seeded data set of BenchmarkLarge, built once per process
// and only when that benchmark runs.
var large struct {
	once  sync.Once
	err   error
	pool  *pgxpool.Pool
	store *tickets.Store
	n     int
	took  time.Duration
}

// BenchmarkLarge measures the panel's lists and searches, and the monthly
// report, on a million tickets (TICKETS_BENCH_N to change) spread over
// 2025, one call each. Each sub-benchmark reports its p50 and p95 latency.
// Seeding takes about three minutes on the development VM; it happens only
// when this benchmark runs, never in go test's normal run.
//
//	go test -run='^$' -bench=Large -benchtime=300x -timeout=30m ./tickets/
func BenchmarkLarge(b *testing.B) {
	large.once.Do(func() {
		large.n = 1_000_000
		if v, err := strconv.Atoi(os.Getenv("TICKETS_BENCH_N")); err == nil && v > 0 {
			large.n = v
		}
		// TICKETS_BENCH_URL keeps the data set between runs: a database
		// there is migrated and seeded if it has no tickets, used as it is
		// otherwise. By default, a database of this process (not of this
		// benchmark run, whose cleanups run between the sub-benchmarks).
		u, kept := os.LookupEnv("TICKETS_BENCH_URL")
		if !kept {
			u = pgtest.DatabaseURL(&noCleanupTB{B: b})
		}
		cfg, err := pgxpool.ParseConfig(u)
		if err != nil {
			large.err = err
			return
		}
		cfg.MaxConns = 8
		if large.pool, large.err = pgxpool.NewWithConfig(ctx, cfg); large.err != nil {
			return
		}
		large.store = tickets.New(large.pool, tickets.Options{Location: rome})
		if kept {
			if large.err = tickets.Migrate(ctx, large.pool); large.err != nil {
				return
			}
			var have int
			if large.err = large.pool.QueryRow(ctx, "SELECT count(*) FROM tickets").Scan(&have); large.err != nil || have > 0 {
				large.n = have
				return
			}
		}
		start := time.Now()
		large.err = seedLarge(large.pool, large.n)
		large.took = time.Since(start)
	})
	if large.err != nil {
		b.Fatal(large.err)
	}
	b.Logf("%d tickets and calls, seeded in %v", large.n, large.took.Round(time.Second))
	s := large.store

	op := tickets.Viewer{Kind: tickets.ViewerStaffGroups, Groups: []string{"lotto2", "lotto5"}, Login: "op1"}
	op1 := tickets.Viewer{Kind: tickets.ViewerStaffGroups, Groups: []string{"lotto2"}, Login: "op2"}
	open := []tickets.Status{tickets.StatusNew, tickets.StatusInProgress, tickets.StatusWaiting}
	var someTicket tickets.Ticket
	if err := large.pool.QueryRow(ctx, `SELECT number, caller, organization FROM tickets WHERE id = $1`, large.n/2).
		Scan(&someTicket.Number, &someTicket.Caller, &someTicket.Organization); err != nil {
		b.Fatal(err)
	}
	// A cursor twenty pages deep into lotto2.
	var deep tickets.Cursor
	for range 20 {
		page, err := s.FindTickets(ctx, tickets.TicketFilter{After: deep, CountLimit: -1}, op1)
		if err != nil {
			b.Fatal(err)
		}
		deep = page.Next
	}
	week := time.Date(2025, 6, 9, 0, 0, 0, 0, rome)

	lists := []struct {
		name string
		f    tickets.TicketFilter
		v    tickets.Viewer
	}{
		{"list/all", tickets.TicketFilter{}, everyone},
		{"list/operator_open", tickets.TicketFilter{Statuses: open}, op},
		{"list/operator_all", tickets.TicketFilter{}, op},
		{"list/operator_page20", tickets.TicketFilter{After: deep}, op1},
		{"list/critical_open", tickets.TicketFilter{Statuses: open, Priorities: []tickets.Priority{tickets.PriorityCritical}}, everyone},
		{"list/one_week", tickets.TicketFilter{CreatedFrom: week, CreatedTo: week.AddDate(0, 0, 7)}, everyone},
		{"list/caller_own", tickets.TicketFilter{}, tickets.Viewer{Kind: tickets.ViewerCallerOwn, Caller: someTicket.Caller}},
		{"list/caller_org", tickets.TicketFilter{}, tickets.Viewer{Kind: tickets.ViewerCallerOrg, Organization: someTicket.Organization}},
		{"list/assignee", tickets.TicketFilter{Assignee: "op7", Statuses: open}, everyone},
		// Word frequencies in the seeded set: "posta" 90 % of the tickets,
		// "password" 50 %, "scanner" 10 %, each "E<number>" code about 5
		// tickets (so "E12345", a prefix, about 55, "E1234" about 550 and
		// "E123" about 5,500).
		{"search/common_word", tickets.TicketFilter{Text: "posta"}, everyone},
		{"search/word_10pct", tickets.TicketFilter{Text: "scanner"}, everyone},
		{"search/two_words", tickets.TicketFilter{Text: "firma scanner"}, everyone},
		{"search/prefix", tickets.TicketFilter{Text: "stamp"}, everyone},
		{"search/rare_code", tickets.TicketFilter{Text: "E12345"}, everyone},
		{"search/rare_prefix", tickets.TicketFilter{Text: "E1234"}, everyone},
		// The costliest shape: too rare to fill a page from the newest
		// tickets, common enough to give thousands of matches (0.5 %).
		{"search/prefix_5500", tickets.TicketFilter{Text: "E123"}, everyone},
		{"search/operator", tickets.TicketFilter{Text: "password"}, op},
		{"search/operator_open", tickets.TicketFilter{Text: "scanner", Statuses: open}, op},
		{"search/operator_rare_code", tickets.TicketFilter{Text: "E12345"}, op},
		{"search/caller_org", tickets.TicketFilter{Text: "posta"}, tickets.Viewer{Kind: tickets.ViewerCallerOrg, Organization: someTicket.Organization}},
		{"search/caller_own", tickets.TicketFilter{Text: "posta"}, tickets.Viewer{Kind: tickets.ViewerCallerOwn, Caller: someTicket.Caller}},
	}
	for _, l := range lists {
		b.Run(l.name, func(b *testing.B) {
			latencies(b, func() error {
				page, err := s.FindTickets(ctx, l.f, l.v)
				if err == nil && len(page.Tickets) == 0 {
					err = fmt.Errorf("%s found nothing", l.name)
				}
				return err
			})
		})
	}
	b.Run("find/by_number", func(b *testing.B) {
		latencies(b, func() error {
			_, err := s.FindTicketByNumber(ctx, someTicket.Number, op)
			if err != nil && fault.Code(err) == fault.ENOTFOUND {
				_, err = s.FindTicketByNumber(ctx, someTicket.Number, everyone)
			}
			return err
		})
	})
	month := tickets.ReportFilter{From: time.Date(2025, 6, 1, 0, 0, 0, 0, rome), To: time.Date(2025, 7, 1, 0, 0, 0, 0, rome)}
	for _, r := range []struct {
		name   string
		bucket tickets.Bucket
		groups []string
	}{
		{"report/month_by_hour", tickets.BucketHour, nil},
		{"report/month_by_day", tickets.BucketDay, nil},
		{"report/month_by_hour_one_group", tickets.BucketHour, []string{"lotto2"}},
	} {
		b.Run(r.name, func(b *testing.B) {
			f := month
			f.Bucket, f.Groups = r.bucket, r.groups
			latencies(b, func() error {
				rows, err := s.Report(ctx, f)
				if err == nil && len(rows) == 0 {
					err = fmt.Errorf("empty report")
				}
				return err
			})
		})
	}
}

// latencies runs op b.N times and reports the median and 95th percentile.
func latencies(b *testing.B, op func() error) {
	b.Helper()
	d := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if err := op(); err != nil {
			b.Fatal(err)
		}
		d = append(d, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(d)
	ms := func(q float64) float64 { return float64(d[int(q*float64(len(d)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(ms(0.50), "p50-ms")
	b.ReportMetric(ms(0.95), "p95-ms")
}

// noCleanupTB lets the once-per-process data set outlive the benchmark run
// that creates it; pgtest.Main's teardown drops it with the cluster.
type noCleanupTB struct{ *testing.B }

func (noCleanupTB) Cleanup(func()) {}

// seedLarge fills the database with n tickets over 2025 and one call per
// ticket, with generate_series in SQL, then builds the indexes and analyzes.
func seedLarge(pool *pgxpool.Pool, n int) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	steps := []string{
		`SET maintenance_work_mem = '1GB'`,
		`SET max_parallel_maintenance_workers = 2`,
		`SELECT setseed(0.42)`,
		// Build the secondary indexes after loading, as a restore would.
		`CREATE TEMP TABLE saved_indexes AS
			SELECT indexrelid::regclass::text AS name, pg_get_indexdef(indexrelid) AS def
			FROM pg_index WHERE indrelid IN ('tickets'::regclass, 'calls'::regclass) AND NOT indisprimary AND NOT indisunique`,
		`DO $$ DECLARE r record; BEGIN
			FOR r IN SELECT name FROM saved_indexes LOOP EXECUTE 'DROP INDEX ' || r.name; END LOOP; END $$`,
		fmt.Sprintf(`
		WITH words AS (
			SELECT ARRAY[
				'posta','accesso','password','errore','pec','firma','certificato','rete','stampante','mail',
				'servizio','utente','casella','invio','ricezione','messaggio','allegato','protocollo','documento','sistema',
				'lento','bloccato','non','funziona','arriva','scaduto','rinnovo','smart','card','token',
				'lettore','driver','installazione','aggiornamento','browser','portale','login','credenziali','reset','sblocco',
				'ufficio','comune','anagrafe','tributi','scuola','biblioteca','polizia','municipale','segreteria','ragioneria',
				'fattura','elettronica','conservazione','spid','cie','pagopa','app','telefono','centralino','fax',
				'backup','virus','antivirus','firewall','vpn','wifi','cavo','switch','server','disco',
				'scanner','toner','carta','inceppata','monitor','tastiera','mouse','pc','portatile','tablet'
			] AS w
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
					FROM generate_series(1, 10 + i %% 7) g)
					|| ' codice E' || (1 + floor(random() * 200000)::int) AS descr, -- a rare word: about 5 tickets each
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
		`INSERT INTO calls (channel_id, asterisk_node, caller, called, started_at, answered_at, queued_at,
			operator_answered_at, ended_at, outcome, hangup_by, group_id, operator, ticket_id)
		SELECT 'seed.' || id, 'ast1', caller, '+39800749049', created_at, created_at + interval '1 second',
			created_at + interval '20 seconds',
			CASE WHEN r < 0.85 THEN created_at + interval '20 seconds' + r * interval '70 seconds' END,
			created_at + interval '20 seconds' + CASE WHEN r < 0.85 THEN interval '3 minutes' + r * interval '10 minutes' ELSE r * interval '2 minutes' END,
			CASE WHEN r < 0.85 THEN 'answered' ELSE 'abandoned' END, 'caller', group_id,
			CASE WHEN r < 0.85 THEN 'op' || (id % 40) ELSE '' END, id
		FROM (SELECT t.*, random() AS r FROM tickets t) x
		ORDER BY id`,
		`DO $$ DECLARE r record; BEGIN
			FOR r IN SELECT def FROM saved_indexes LOOP EXECUTE r.def; END LOOP; END $$`,
		`VACUUM (ANALYZE) tickets`,
		`VACUUM (ANALYZE) calls`,
		`CHECKPOINT`, // so that the measurements do not write out the load
	}
	for _, sql := range steps {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("seed: %w\n%s", err, sql)
		}
	}
	return nil
}

// BenchmarkCallRecord is what the call record and ticket of one call of
// the load bench (internal/asteriskbench: keys 1 then 3, queued in lotto3,
// answered, hung up) cost the store. "separate" writes them as the call
// controller does today (the record opened, the events of each prompt, the
// menu's ticket update, the queue, the operator, the end); "merged" gives
// the events and the answer time to the writes that go at the same moment
// (NewCall.AnsweredAt and .Events, CallUpdate.Events, CallEnd.Events) and
// writes the call's and the ticket's updates of a step together
// (UpdateCallTicket).
// One call at a time; it reports the round trips, transactions, WAL and
// server CPU of a call (see pgtest.Meter).
//
//	go test -run='^$' -bench=CallRecord -benchtime=2000x ./tickets/
func BenchmarkCallRecord(b *testing.B) {
	for _, shape := range []struct {
		name  string
		write func(testing.TB, *tickets.Store, string, time.Time) int64
	}{{"separate", recordCall}, {"merged", recordCallMerged}} {
		b.Run(shape.name, func(b *testing.B) {
			pool, meter := pgtest.MeteredPool(b, nil)
			s := tickets.New(pool, tickets.Options{Location: rome})
			start := meter.Read(b)
			n := 0
			for i := 0; b.Loop(); i++ {
				shape.write(b, s, "1795320990."+strconv.Itoa(i), time.Now())
				n++
			}
			meter.Report(b, start, n)
		})
	}
}

// benchCall is the load bench's call, step by step.
type benchCall struct {
	at                                time.Time
	group, login, subject             string
	path                              []tickets.MenuStep
	role                              tickets.CallerRole
	org                               string
	status                            tickets.Status
	entered, hours, key1, key3, queue []tickets.CallEvent
	talking, hangup                   []tickets.CallEvent
}

func newBenchCall(at time.Time) benchCall {
	ev := func(kind tickets.EventKind, e tickets.CallEvent) []tickets.CallEvent {
		e.At, e.Kind = at, kind
		return []tickets.CallEvent{e}
	}
	c := benchCall{at: at, group: "lotto3", login: "b17", subject: "Lotto 3 – chiamata da +393331234567",
		path: []tickets.MenuStep{{Key: "1", Label: "Giustizia"}, {Key: "3", Label: "Lotto 3"}},
		role: tickets.CallerUnknown, status: tickets.StatusInProgress}
	c.entered = ev(tickets.EventEntered, tickets.CallEvent{Detail: "800749049"})
	c.hours = ev(tickets.EventHoursCheck, tickets.CallEvent{Detail: "open"})
	c.key1 = ev(tickets.EventMenuSelection, tickets.CallEvent{Node: "main", Key: "1", Label: "Giustizia"})
	c.key3 = ev(tickets.EventMenuSelection, tickets.CallEvent{Node: "giustizia", Key: "3", Label: "Lotto 3"})
	c.queue = ev(tickets.EventQueued, tickets.CallEvent{Group: c.group, Detail: "position 1"})
	c.talking = append(ev(tickets.EventOffered, tickets.CallEvent{Group: c.group, Operator: c.login, Detail: "PJSIP/b17"}),
		ev(tickets.EventAnswered, tickets.CallEvent{Group: c.group, Operator: c.login, Detail: "after 0s"})...)
	c.hangup = ev(tickets.EventHangup, tickets.CallEvent{Detail: "by operator"})
	return c
}

func (c *benchCall) newCall(channel string) tickets.NewCall {
	return tickets.NewCall{ChannelID: channel, AsteriskNode: "ast1", Caller: "+393331234567", Called: "+39800749049",
		StartedAt: c.at, Subject: "Chiamata da +393331234567"}
}

func (c *benchCall) menuUpdate(t tickets.Ticket) tickets.TicketUpdate {
	return tickets.TicketUpdate{Version: t.Version, MenuPath: &c.path, Organization: &c.org, CallerRole: &c.role,
		Group: &c.group, Subject: &c.subject}
}

func (c *benchCall) end(events []tickets.CallEvent) tickets.CallEnd {
	return tickets.CallEnd{EndedAt: c.at, Outcome: tickets.OutcomeAnswered, HangupBy: tickets.HangupOperator, Events: events}
}

var ivrActor = tickets.Actor{Kind: tickets.ActorSystem, ID: "ivr"}

// recordCall writes one call as the call controller does today.
func recordCall(tb testing.TB, s *tickets.Store, channel string, at time.Time) int64 {
	fail := func(err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	c := newBenchCall(at)
	call, t, err := s.OpenCall(ctx, c.newCall(channel))
	fail(err)
	fail(s.UpdateCall(ctx, call.ID, tickets.CallUpdate{AnsweredAt: &at}))
	fail(s.AppendCallEvents(ctx, call.ID, append(c.entered, c.hours...)...))
	fail(s.AppendCallEvents(ctx, call.ID, c.key1...))
	t, err = s.UpdateTicket(ctx, t.ID, c.menuUpdate(t), ivrActor)
	fail(err)
	fail(s.UpdateCall(ctx, call.ID, tickets.CallUpdate{QueuedAt: &at, Group: &c.group}))
	fail(s.AppendCallEvents(ctx, call.ID, c.key3...))
	fail(s.AppendCallEvents(ctx, call.ID, c.queue...))
	fail(s.UpdateCall(ctx, call.ID, tickets.CallUpdate{OperatorAnsweredAt: &at, Operator: &c.login}))
	_, err = s.UpdateTicket(ctx, t.ID, tickets.TicketUpdate{Version: t.Version, Assignee: &c.login, Status: &c.status}, ivrActor)
	fail(err)
	fail(s.AppendCallEvents(ctx, call.ID, c.talking...))
	fail(s.AppendCallEvents(ctx, call.ID, c.hangup...))
	fail(s.FinishCall(ctx, call.ID, c.end(nil)))
	return call.ID
}

// recordCallMerged writes the same call with the events and the answer
// time given to the writes that go at the same moment, and the call's and
// the ticket's updates of a step together.
func recordCallMerged(tb testing.TB, s *tickets.Store, channel string, at time.Time) int64 {
	fail := func(err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	c := newBenchCall(at)
	nc := c.newCall(channel)
	nc.AnsweredAt, nc.Events = at, c.entered
	call, t, err := s.OpenCall(ctx, nc)
	fail(err)
	fail(s.AppendCallEvents(ctx, call.ID, append(c.hours, c.key1...)...))
	t, err = s.UpdateCallTicket(ctx, call.ID, tickets.CallUpdate{QueuedAt: &at, Group: &c.group, Events: c.key3},
		t.ID, c.menuUpdate(t), ivrActor)
	fail(err)
	fail(s.AppendCallEvents(ctx, call.ID, c.queue...))
	_, err = s.UpdateCallTicket(ctx, call.ID, tickets.CallUpdate{OperatorAnsweredAt: &at, Operator: &c.login, Events: c.talking},
		t.ID, tickets.TicketUpdate{Version: t.Version, Assignee: &c.login, Status: &c.status}, ivrActor)
	fail(err)
	fail(s.FinishCall(ctx, call.ID, c.end(c.hangup)))
	return call.ID
}
