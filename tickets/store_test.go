package tickets_test

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/tickets"
)

func TestOpenCall(t *testing.T) {
	t.Parallel()
	// 23:30 UTC on 10 March is already 11 March in Rome: the number takes
	// the service zone's day.
	s, clk, _ := newStore(t, time.Date(2025, 3, 10, 23, 30, 0, 0, time.UTC))
	started := clk.Now().Add(-2 * time.Second)
	c, tk, err := s.OpenCall(ctx, tickets.NewCall{
		ChannelID: "1795320990.1", AsteriskNode: "ast1", Caller: "+393331234567", Called: "+39800749049",
		StartedAt: started, Subject: "Chiamata al numero verde",
	})
	noErr(t, err)

	if !tk.Number.Date().Equal(time.Date(2025, 3, 11, 0, 0, 0, 0, time.UTC)) || tk.Number.Counter() != 1 {
		t.Fatalf("number %s: want the first of 2025-03-11", tk.Number)
	}
	if _, err := tickets.ParseNumber(tk.Number.String()); err != nil {
		t.Fatalf("number %s does not parse: %v", tk.Number, err)
	}
	equal(t, "ticket defaults", []any{tk.Status, tk.Priority, tk.Source, tk.CallerRole, tk.Version, tk.Caller, tk.Subject, tk.MenuPath},
		[]any{tickets.StatusNew, tickets.PriorityMedium, tickets.SourcePhone, tickets.CallerUnknown, 1, "+393331234567", "Chiamata al numero verde", []tickets.MenuStep{}})
	if !tk.CreatedAt.Equal(clk.Now()) || !tk.UpdatedAt.Equal(clk.Now()) || !tk.ClosedAt.IsZero() || !tk.DueAt.IsZero() {
		t.Fatalf("ticket times: %+v", tk)
	}
	if c.TicketID != tk.ID || c.ChannelID != "1795320990.1" || c.AsteriskNode != "ast1" || c.Called != "+39800749049" ||
		c.Caller != "+393331234567" || !c.StartedAt.Equal(started) || !c.EndedAt.IsZero() || !c.QueuedAt.IsZero() {
		t.Fatalf("call: %+v", c)
	}

	equal(t, "FindCallByChannel", must[tickets.Call](t)(s.FindCallByChannel(ctx, "1795320990.1")), c)
	equal(t, "FindTicketByID", must[tickets.Ticket](t)(s.FindTicketByID(ctx, tk.ID, system)), tk)
	typed := must[tickets.Number](t)(tickets.ParseNumber(tk.Number.Grouped()))
	equal(t, "FindTicketByNumber", must[tickets.Ticket](t)(s.FindTicketByNumber(ctx, typed, everyone)), tk)

	hist := must[[]tickets.Change](t)(s.History(ctx, tk.ID, everyone))
	if len(hist) != 0 {
		t.Fatalf("history of a new ticket: %+v", hist)
	}

	clk.Advance(time.Minute)
	_, tk2 := open(t, s, tickets.NewCall{Source: tickets.SourceAfterHours, Priority: tickets.PriorityCritical,
		Organization: "comune-prato", CallerRole: tickets.CallerReferent, Group: "lotto2", Category: "PEC"})
	if tk2.Number.Counter() != 2 || tk2.Source != tickets.SourceAfterHours || tk2.Priority != tickets.PriorityCritical ||
		tk2.Organization != "comune-prato" || tk2.CallerRole != tickets.CallerReferent || tk2.Group != "lotto2" || tk2.Category != "PEC" {
		t.Fatalf("second ticket: %+v", tk2)
	}

	for _, nc := range []tickets.NewCall{
		{},
		{ChannelID: "x.1", Priority: "urgent"},
		{ChannelID: "x.2", Source: "fax"},
		{ChannelID: "x.3", CallerRole: "boss"},
	} {
		_, _, err := s.OpenCall(ctx, nc)
		wantErr(t, err, fault.ErrInvalid)
	}

	// A channel id is unique per Asterisk node only.
	_, _, err = s.OpenCall(ctx, tickets.NewCall{ChannelID: "1795320990.1", AsteriskNode: "ast1"})
	wantErr(t, err, fault.ErrConflict)
	clk.Advance(time.Minute)
	other, _ := open(t, s, tickets.NewCall{ChannelID: "1795320990.1", AsteriskNode: "ast2", StartedAt: clk.Now()})
	equal(t, "FindCallByChannel (newest)", must[tickets.Call](t)(s.FindCallByChannel(ctx, "1795320990.1")).ID, other.ID)
	_, err = s.FindCallByChannel(ctx, "nope")
	wantErr(t, err, fault.ErrNotFound)
}

// TestNumbersUniqueAcrossInstances: two stores on two pools (two ivrd
// instances) open tickets from many goroutines at once, starting on a day
// that has no counter yet; every number is distinct and the counters are
// exactly 1..n. The next day starts again at 1.
func TestNumbersUniqueAcrossInstances(t *testing.T) {
	t.Parallel()
	url := pgtest.DatabaseURL(t)
	day1 := time.Date(2025, 11, 24, 10, 0, 0, 0, rome)
	var stores []*tickets.Store
	for range 2 {
		cfg, err := pgxpool.ParseConfig(url)
		noErr(t, err)
		cfg.MaxConns = 6
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		noErr(t, err)
		t.Cleanup(pool.Close)
		stores = append(stores, tickets.New(pool, tickets.Options{Location: rome, Now: func() time.Time { return day1 }}))
	}

	const perGoroutine, goroutines = 30, 8 // per store
	var (
		mu      sync.Mutex
		numbers = map[tickets.Number]int{}
		wg      sync.WaitGroup
		errs    = make(chan error, 2*goroutines)
	)
	start := make(chan struct{})
	for si, s := range stores {
		for g := range goroutines {
			wg.Go(func() {
				<-start
				for i := range perGoroutine {
					_, tk, err := s.OpenCall(ctx, tickets.NewCall{ChannelID: fmt.Sprintf("c%d-%d-%d", si, g, i)})
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					numbers[tk.Number]++
					mu.Unlock()
				}
			})
		}
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	const n = 2 * goroutines * perGoroutine
	if len(numbers) != n {
		t.Fatalf("%d distinct numbers for %d tickets", len(numbers), n)
	}
	var counters []int64
	for num, times := range numbers {
		if times != 1 {
			t.Fatalf("number %s given %d times", num, times)
		}
		if _, err := tickets.ParseNumber(num.String()); err != nil {
			t.Fatalf("number %s: %v", num, err)
		}
		if !num.Date().Equal(time.Date(2025, 11, 24, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("number %s: wrong day", num)
		}
		counters = append(counters, num.Counter())
	}
	slices.Sort(counters)
	for i, c := range counters {
		if c != int64(i+1) {
			t.Fatalf("counters are not 1..%d: position %d holds %d", n, i, c)
		}
	}

	// The next day, in the service zone, restarts the counter.
	pool, err := pgxpool.New(ctx, url)
	noErr(t, err)
	t.Cleanup(pool.Close)
	day2 := tickets.New(pool, tickets.Options{Location: rome, Now: func() time.Time { return time.Date(2025, 11, 24, 23, 0, 0, 0, time.UTC) }})
	for want := int64(1); want <= 3; want++ {
		_, tk, err := day2.OpenCall(ctx, tickets.NewCall{ChannelID: fmt.Sprintf("d2-%d", want)})
		noErr(t, err)
		if tk.Number.Counter() != want || !tk.Number.Date().Equal(time.Date(2025, 11, 25, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("day 2 ticket %d numbered %s", want, tk.Number)
		}
	}
}

// TestNumberSQLMatchesGo: the migration's ticket_number and ticket_damm
// compute what NewNumber and ParseNumber expect.
func TestNumberSQLMatchesGo(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	rows, err := pool.Query(ctx, `SELECT d::date, n, ticket_number(d::date, n)
		FROM generate_series('2024-01-01'::date, '2026-12-31'::date, '37 days') d,
		     unnest(ARRAY[1, 7, 42, 999, 1000, 9999, 10000, 123456, 9876543210]::bigint[]) n`)
	noErr(t, err)
	checked := 0
	for rows.Next() {
		var day time.Time
		var n int64
		var sqlNumber string
		noErr(t, rows.Scan(&day, &n, &sqlNumber))
		if want := tickets.NewNumber(day, n); sqlNumber != want.String() {
			t.Fatalf("ticket_number(%s, %d) = %s, NewNumber = %s", day.Format(time.DateOnly), n, sqlNumber, want)
		}
		if _, err := tickets.ParseNumber(sqlNumber); err != nil {
			t.Fatalf("ticket_number(%s, %d) = %s does not parse: %v", day.Format(time.DateOnly), n, sqlNumber, err)
		}
		checked++
	}
	noErr(t, rows.Err())
	if checked < 200 {
		t.Fatalf("only %d numbers compared", checked)
	}
}

// TestStatusTransitionsThroughStore drives a ticket into every status and
// tries every target status from there.
func TestStatusTransitionsThroughStore(t *testing.T) {
	t.Parallel()
	s, clk, _ := newStore(t, t0)
	for _, from := range tickets.Statuses {
		for _, to := range tickets.Statuses {
			_, tk := open(t, s, tickets.NewCall{})
			if from != tickets.StatusNew {
				tk = must[tickets.Ticket](t)(s.UpdateTicket(ctx, tk.ID, tickets.TicketUpdate{Version: tk.Version, Status: ptr(from)}, operator))
			}
			at := clk.Advance(time.Second)
			got, err := s.UpdateTicket(ctx, tk.ID, tickets.TicketUpdate{Version: tk.Version, Status: ptr(to)}, operator)
			stored := must[tickets.Ticket](t)(s.FindTicketByID(ctx, tk.ID, system))
			switch {
			case from == to:
				noErr(t, err)
				equal(t, fmt.Sprintf("%s → %s is no change", from, to), stored, tk)
			case tickets.CanTransition(from, to):
				noErr(t, err)
				equal(t, "returned ticket", got, stored)
				if stored.Status != to || stored.Version != tk.Version+1 {
					t.Fatalf("%s → %s: stored %s version %d", from, to, stored.Status, stored.Version)
				}
				if to == tickets.StatusClosed && !stored.ClosedAt.Equal(at) || to != tickets.StatusClosed && !stored.ClosedAt.IsZero() {
					t.Fatalf("%s → %s: closed at %v", from, to, stored.ClosedAt)
				}
			default:
				var te *tickets.TransitionError
				if !errors.As(err, &te) || te.From != from || te.To != to || !errors.Is(err, tickets.ErrInvalidTransition) ||
					fault.Code(err) != fault.EINVALID {
					t.Fatalf("%s → %s: error %v, want a TransitionError", from, to, err)
				}
				equal(t, fmt.Sprintf("%s → %s refused, ticket unchanged", from, to), stored, tk)
			}
		}
	}
	_, tk := open(t, s, tickets.NewCall{})
	_, err := s.UpdateTicket(ctx, tk.ID, tickets.TicketUpdate{Version: tk.Version, Status: ptr(tickets.Status("bogus"))}, operator)
	wantErr(t, err, fault.ErrInvalid)
	_, err = s.UpdateTicket(ctx, 999999, tickets.TicketUpdate{Version: 1, Subject: ptr("x")}, operator)
	wantErr(t, err, fault.ErrNotFound)
	_, err = s.UpdateTicket(ctx, tk.ID, tickets.TicketUpdate{Version: 1, Subject: ptr("x")}, tickets.Actor{Kind: "hacker"})
	wantErr(t, err, fault.ErrInvalid)
}

func TestOptimisticConflict(t *testing.T) {
	t.Parallel()
	s, clk, _ := newStore(t, t0)
	_, tk := open(t, s, tickets.NewCall{Subject: "Posta non arriva"})
	alice := tickets.Actor{Kind: tickets.ActorOperator, ID: "alice"}
	bob := tickets.Actor{Kind: tickets.ActorOperator, ID: "bob"}

	clk.Advance(time.Minute)
	first, err := s.UpdateTicket(ctx, tk.ID, tickets.TicketUpdate{Version: tk.Version, Subject: ptr("PEC non arriva"), Priority: ptr(tickets.PriorityHigh)}, alice)
	noErr(t, err)
	clk.Advance(time.Minute)
	_, err = s.UpdateTicket(ctx, tk.ID, tickets.TicketUpdate{Version: tk.Version, Subject: ptr("Bob's subject"), Assignee: ptr("bob")}, bob)
	wantErr(t, err, fault.ErrConflict)
	if fault.Code(err) != fault.ECONFLICT {
		t.Fatalf("code %q", fault.Code(err))
	}

	stored := must[tickets.Ticket](t)(s.FindTicketByID(ctx, tk.ID, everyone))
	equal(t, "stored after the conflict", stored, first)
	if stored.Subject != "PEC non arriva" || stored.Assignee != "" || stored.Priority != tickets.PriorityHigh || stored.Version != 2 {
		t.Fatalf("stored: %+v", stored)
	}
	var changes []string
	for _, c := range must[[]tickets.Change](t)(s.History(ctx, tk.ID, everyone)) {
		if c.Actor != alice {
			t.Fatalf("history holds a change by %+v: %+v", c.Actor, c)
		}
		changes = append(changes, c.Field+":"+c.Old+"→"+c.New)
	}
	sort.Strings(changes)
	equal(t, "history", changes, []string{"priority:medium→high", "subject:Posta non arriva→PEC non arriva"})

	// Bob reloads and retries.
	retried, err := s.UpdateTicket(ctx, tk.ID, tickets.TicketUpdate{Version: stored.Version, Assignee: ptr("bob")}, bob)
	noErr(t, err)
	if retried.Assignee != "bob" || retried.Subject != "PEC non arriva" || retried.Version != 3 {
		t.Fatalf("retry: %+v", retried)
	}

	// Many editors at once with the same version: exactly one wins.
	var wg sync.WaitGroup
	results := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			_, err := s.UpdateTicket(ctx, tk.ID, tickets.TicketUpdate{Version: 3, Category: ptr(fmt.Sprintf("cat%d", i))},
				tickets.Actor{Kind: tickets.ActorOperator, ID: fmt.Sprintf("op%d", i)})
			results <- err
		})
	}
	wg.Wait()
	close(results)
	wins := 0
	for err := range results {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, fault.ErrConflict):
			t.Fatalf("concurrent editor: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d concurrent editors won", wins)
	}
	if v := must[tickets.Ticket](t)(s.FindTicketByID(ctx, tk.ID, everyone)).Version; v != 4 {
		t.Fatalf("version %d after one more update", v)
	}
}

func TestHistoryCompleteness(t *testing.T) {
	t.Parallel()
	s, clk, _ := newStore(t, t0)
	_, tk := open(t, s, tickets.NewCall{Subject: "Stampante", Group: "lotto1", Caller: "+390574000001"})
	sup := tickets.Actor{Kind: tickets.ActorSupervisor, ID: "capo"}
	due := time.Date(2025, 11, 25, 8, 0, 0, 0, rome)
	menu := []tickets.MenuStep{{Key: "1", Label: "Posta certificata"}, {Key: "3", Label: "Altro"}}

	at := clk.Advance(5 * time.Minute)
	upd := tickets.TicketUpdate{
		Version:      tk.Version,
		Status:       ptr(tickets.StatusInProgress),
		Priority:     ptr(tickets.PriorityCritical),
		Source:       ptr(tickets.SourceAfterHours),
		Group:        ptr("lotto2"),
		Assignee:     ptr("mrossi"),
		Category:     ptr("Stampa"),
		Subject:      ptr("Stampante bloccata"),
		Description:  ptr("Non stampa da ieri"),
		Organization: ptr("comune-prato"),
		CallerRole:   ptr(tickets.CallerReferent),
		MenuPath:     &menu,
		DueAt:        &due,
	}
	got, err := s.UpdateTicket(ctx, tk.ID, upd, sup)
	noErr(t, err)
	want := tk
	want.Status, want.Priority, want.Source, want.Group, want.Assignee = tickets.StatusInProgress, tickets.PriorityCritical, tickets.SourceAfterHours, "lotto2", "mrossi"
	want.Category, want.Subject, want.Description, want.Organization = "Stampa", "Stampante bloccata", "Non stampa da ieri", "comune-prato"
	want.CallerRole, want.MenuPath, want.DueAt, want.UpdatedAt, want.Version = tickets.CallerReferent, menu, due, at, 2
	if !got.DueAt.Equal(due) || !got.UpdatedAt.Equal(at) {
		t.Fatalf("times: %+v", got)
	}
	got.DueAt, got.UpdatedAt = due, at
	equal(t, "updated ticket", got, want)

	dueText := due.Format(time.RFC3339Nano)
	wantChanges := map[string][2]string{
		"status":       {"new", "in_progress"},
		"priority":     {"medium", "critical"},
		"source":       {"phone", "after_hours"},
		"group":        {"lotto1", "lotto2"},
		"assignee":     {"", "mrossi"},
		"category":     {"", "Stampa"},
		"subject":      {"Stampante", "Stampante bloccata"},
		"description":  {"", "Non stampa da ieri"},
		"organization": {"", "comune-prato"},
		"caller_role":  {"unknown", "referent"},
		"menu_path":    {"[]", `[{"key":"1","label":"Posta certificata"},{"key":"3","label":"Altro"}]`},
		"due_at":       {"", dueText},
	}
	checkHistory := func(since int, actor tickets.Actor, at time.Time, want map[string][2]string) int {
		t.Helper()
		hist := must[[]tickets.Change](t)(s.History(ctx, tk.ID, everyone))
		got := map[string][2]string{}
		for _, c := range hist[since:] {
			if c.Actor != actor || !c.At.Equal(at) || c.TicketID != tk.ID {
				t.Fatalf("change %+v: want actor %+v at %v", c, actor, at)
			}
			if _, dup := got[c.Field]; dup {
				t.Fatalf("field %s recorded twice", c.Field)
			}
			got[c.Field] = [2]string{c.Old, c.New}
		}
		equal(t, "history", got, want)
		return len(hist)
	}
	n := checkHistory(0, sup, at, wantChanges)

	// Closing records the closing time; an update with nothing new records
	// nothing and keeps the version.
	at = clk.Advance(time.Hour)
	closed := must[tickets.Ticket](t)(s.UpdateTicket(ctx, tk.ID, tickets.TicketUpdate{Version: 2, Status: ptr(tickets.StatusClosed), Subject: ptr("Stampante bloccata")}, operator))
	n = checkHistory(n, operator, at, map[string][2]string{
		"status":    {"in_progress", "closed"},
		"closed_at": {"", at.In(rome).Format(time.RFC3339Nano)},
	})
	same := must[tickets.Ticket](t)(s.UpdateTicket(ctx, tk.ID, tickets.TicketUpdate{Version: 3, Group: ptr("lotto2"), Status: ptr(tickets.StatusClosed)}, operator))
	equal(t, "no-op update", same, closed)

	// Reopening clears it; a zero due time clears the due time.
	at2 := clk.Advance(time.Hour)
	reopened := must[tickets.Ticket](t)(s.UpdateTicket(ctx, tk.ID, tickets.TicketUpdate{Version: 3, Status: ptr(tickets.StatusNew), DueAt: &time.Time{}}, sup))
	if !reopened.ClosedAt.IsZero() || !reopened.DueAt.IsZero() || reopened.Status != tickets.StatusNew {
		t.Fatalf("reopened: %+v", reopened)
	}
	n = checkHistory(n, sup, at2, map[string][2]string{
		"status":    {"closed", "new"},
		"closed_at": {at.In(rome).Format(time.RFC3339Nano), ""},
		"due_at":    {dueText, ""},
	})

	// Articles and attachments are in the history too, by id.
	at3 := clk.Advance(time.Minute)
	note := must[tickets.Article](t)(s.AddArticle(ctx, tk.ID, tickets.Article{Internal: true, Body: "comunicazione interna"}, operator))
	pub := must[tickets.Article](t)(s.AddArticle(ctx, tk.ID, tickets.Article{Body: "Abbiamo riavviato lo spooler"}, operator))
	att := must[tickets.Attachment](t)(s.AddAttachment(ctx, tk.ID, tickets.Attachment{Name: "log.txt", URI: "file:///tmp/log.txt"}, operator))
	hist := must[[]tickets.Change](t)(s.History(ctx, tk.ID, everyone))[n:]
	var got3 []string
	for _, c := range hist {
		if c.Actor != operator || !c.At.Equal(at3) {
			t.Fatalf("change %+v", c)
		}
		got3 = append(got3, c.Field+"="+c.New)
	}
	equal(t, "item history", got3, []string{
		fmt.Sprint("internal_note=", note.ID), fmt.Sprint("article=", pub.ID), fmt.Sprint("attachment=", att.ID),
	})
}

func TestVisibility(t *testing.T) {
	t.Parallel()
	s, clk, _ := newStore(t, t0)
	const anna, bruno, carla = "+390574000001", "+390574000002", "+390500000003"
	_, t2 := open(t, s, tickets.NewCall{Group: "lotto2", Caller: anna, Organization: "comune-prato", Subject: "stampante guasta"})
	clk.Advance(time.Minute)
	_, t3 := open(t, s, tickets.NewCall{Group: "lotto3", Caller: carla, Organization: "comune-pisa", Subject: "stampante guasta anche qui"})
	clk.Advance(time.Minute)
	_, t2b := open(t, s, tickets.NewCall{Group: "lotto2", Caller: bruno, Organization: "comune-prato", Subject: "posta certificata"})
	clk.Advance(time.Minute)
	_, anon := open(t, s, tickets.NewCall{Group: "lotto2", Caller: "", Subject: "numero nascosto"})
	clk.Advance(time.Minute)
	// Anna calls again before anyone knows her organization.
	_, t2own := open(t, s, tickets.NewCall{Group: "lotto1", Caller: anna, Subject: "password scaduta"})

	note := must[tickets.Article](t)(s.AddArticle(ctx, t2.ID, tickets.Article{Internal: true, Body: "comunicazione interna: ente moroso"}, operator))
	pub := must[tickets.Article](t)(s.AddArticle(ctx, t2.ID, tickets.Article{Body: "Abbiamo riavviato il servizio"}, operator))
	must[tickets.Ticket](t)(s.UpdateTicket(ctx, t2.ID, tickets.TicketUpdate{Version: 1, Assignee: ptr("mrossi"), Status: ptr(tickets.StatusInProgress)}, operator))
	must[tickets.Attachment](t)(s.AddAttachment(ctx, t3.ID, tickets.Attachment{Name: "m.wav", URI: "file:///m.wav"}, sysActor))

	ids := func(v tickets.Viewer, f tickets.TicketFilter) []int64 {
		t.Helper()
		page, err := s.FindTickets(ctx, f, v)
		noErr(t, err)
		var out []int64
		for _, tk := range page.Tickets {
			out = append(out, tk.ID)
		}
		if page.Total != len(out) {
			t.Fatalf("total %d for %d tickets", page.Total, len(out))
		}
		return out
	}
	hidden := func(v tickets.Viewer, tk tickets.Ticket) {
		t.Helper()
		_, err := s.FindTicketByID(ctx, tk.ID, v)
		wantErr(t, err, fault.ErrNotFound)
		_, err = s.FindTicketByNumber(ctx, tk.Number, v)
		wantErr(t, err, fault.ErrNotFound)
		_, err = s.Articles(ctx, tk.ID, v)
		wantErr(t, err, fault.ErrNotFound)
		_, err = s.Attachments(ctx, tk.ID, v)
		wantErr(t, err, fault.ErrNotFound)
		_, err = s.History(ctx, tk.ID, v)
		wantErr(t, err, fault.ErrNotFound)
		_, err = s.CallsOfTicket(ctx, tk.ID, v)
		wantErr(t, err, fault.ErrNotFound)
	}
	shown := func(v tickets.Viewer, tk tickets.Ticket) {
		t.Helper()
		if got := must[tickets.Ticket](t)(s.FindTicketByID(ctx, tk.ID, v)); got.ID != tk.ID {
			t.Fatalf("got ticket %d", got.ID)
		}
		must[tickets.Ticket](t)(s.FindTicketByNumber(ctx, tk.Number, v))
		must[[]tickets.Change](t)(s.History(ctx, tk.ID, v))
	}

	// An operator of lotto2 never sees lotto3: by id, by number, in lists,
	// in searches, nor its articles, attachments, history or calls.
	op2 := tickets.Viewer{Kind: tickets.ViewerStaffGroups, Groups: []string{"lotto2"}, Login: "mrossi"}
	hidden(op2, t3)
	hidden(op2, t2own)
	shown(op2, t2)
	equal(t, "lotto2 list", ids(op2, tickets.TicketFilter{}), []int64{anon.ID, t2b.ID, t2.ID})
	equal(t, "lotto2 search", ids(op2, tickets.TicketFilter{Text: "stampante"}), []int64{t2.ID})
	equal(t, "lotto2 asking for lotto3", ids(op2, tickets.TicketFilter{Groups: []string{"lotto3"}}), []int64(nil))
	equal(t, "lotto2+3 search", ids(tickets.Viewer{Kind: tickets.ViewerStaffGroups, Groups: []string{"lotto2", "lotto3"}}, tickets.TicketFilter{Text: "stampante"}), []int64{t3.ID, t2.ID})
	equal(t, "operator without groups", ids(tickets.Viewer{Kind: tickets.ViewerStaffGroups}, tickets.TicketFilter{}), []int64(nil))
	hidden(tickets.Viewer{Kind: tickets.ViewerStaffGroups}, t2)
	equal(t, "supervisor", ids(everyone, tickets.TicketFilter{}), []int64{t2own.ID, anon.ID, t2b.ID, t3.ID, t2.ID})
	equal(t, "staff search sees internal notes", ids(everyone, tickets.TicketFilter{Text: "moroso"}), []int64{t2.ID})

	// Staff get every article; caller-side views never get internal notes,
	// in articles, in history or in search.
	equal(t, "staff articles", len(must[[]tickets.Article](t)(s.Articles(ctx, t2.ID, op2))), 2)
	own := tickets.Viewer{Kind: tickets.ViewerCallerOwn, Caller: anna}
	org := tickets.Viewer{Kind: tickets.ViewerCallerOrg, Organization: "comune-prato", Caller: anna}
	for _, v := range []tickets.Viewer{own, org} {
		arts := must[[]tickets.Article](t)(s.Articles(ctx, t2.ID, v))
		if len(arts) != 1 || arts[0].ID != pub.ID || arts[0].Internal {
			t.Fatalf("%s articles: %+v", v.Kind, arts)
		}
		for _, c := range must[[]tickets.Change](t)(s.History(ctx, t2.ID, v)) {
			if c.Field == "internal_note" || c.Field == "assignee" || c.New == fmt.Sprint(note.ID) {
				t.Fatalf("%s history shows %+v", v.Kind, c)
			}
		}
		equal(t, string(v.Kind)+" search for a note's word", ids(v, tickets.TicketFilter{Text: "moroso"}), []int64(nil))
		equal(t, string(v.Kind)+" search for a public word", ids(v, tickets.TicketFilter{Text: "riavviato"}), []int64{t2.ID})
	}

	// caller_own: the tickets of that number only.
	equal(t, "caller_own", ids(own, tickets.TicketFilter{}), []int64{t2own.ID, t2.ID})
	hidden(own, t2b)
	hidden(own, t3)
	hidden(own, anon)
	shown(own, t2own)
	// caller_org: the organization's tickets and the caller's own.
	equal(t, "caller_org", ids(org, tickets.TicketFilter{}), []int64{t2own.ID, t2b.ID, t2.ID})
	shown(org, t2b)
	hidden(org, t3)
	hidden(org, anon)
	// Empty identities see nothing, not everything (withheld numbers and
	// tickets without organization exist).
	for _, v := range []tickets.Viewer{{Kind: tickets.ViewerCallerOwn}, {Kind: tickets.ViewerCallerOrg}} {
		equal(t, "empty "+string(v.Kind), ids(v, tickets.TicketFilter{}), []int64(nil))
		hidden(v, anon)
	}
	_, err := s.FindTicketByID(ctx, t2.ID, tickets.Viewer{})
	wantErr(t, err, fault.ErrInvalid)
	_, err = s.FindTickets(ctx, tickets.TicketFilter{}, tickets.Viewer{Kind: "god"})
	wantErr(t, err, fault.ErrInvalid)
}

func TestFindTicketsPagingAndFilters(t *testing.T) {
	t.Parallel()
	s, clk, _ := newStore(t, t0)
	subjects := []string{"rete lenta", "stampante guasta", "posta certificata non arriva", "password scaduta", "firma digitale"}
	var all []tickets.Ticket
	for i := range 23 {
		if i%4 != 3 { // every fourth ticket shares its creation time with the previous one
			clk.Advance(time.Duration(i+1) * time.Minute)
		}
		_, tk := open(t, s, tickets.NewCall{
			Caller:       fmt.Sprintf("+39057400000%d", i%3),
			Organization: []string{"comune-prato", "comune-pisa", ""}[i%3],
			Group:        fmt.Sprintf("lotto%d", 1+i%3),
			Priority:     tickets.Priorities[i%4],
			Subject:      subjects[i%5],
		})
		var upd tickets.TicketUpdate
		upd.Version = tk.Version
		switch i % 5 {
		case 1:
			upd.Status, upd.Assignee = ptr(tickets.StatusInProgress), ptr("mrossi")
		case 2:
			upd.Status = ptr(tickets.StatusWaiting)
		case 3:
			upd.Status = ptr(tickets.StatusClosed)
		}
		if upd.Status != nil {
			tk = must[tickets.Ticket](t)(s.UpdateTicket(ctx, tk.ID, upd, operator))
		}
		all = append(all, tk)
	}
	// Newest first, ties broken by id.
	sort.Slice(all, func(i, j int) bool {
		if !all[i].CreatedAt.Equal(all[j].CreatedAt) {
			return all[i].CreatedAt.After(all[j].CreatedAt)
		}
		return all[i].ID > all[j].ID
	})
	expect := func(keep func(tickets.Ticket) bool) []int64 {
		var out []int64
		for _, tk := range all {
			if keep(tk) {
				out = append(out, tk.ID)
			}
		}
		return out
	}

	// Pages of 5 walk every ticket once, in order.
	var walked []int64
	var cursor tickets.Cursor
	for pages := 0; ; pages++ {
		page := must[tickets.TicketPage](t)(s.FindTickets(ctx, tickets.TicketFilter{Limit: 5, After: cursor}, everyone))
		if page.Total != 23 || page.TotalCapped {
			t.Fatalf("page %d: total %d capped %v", pages, page.Total, page.TotalCapped)
		}
		for _, tk := range page.Tickets {
			walked = append(walked, tk.ID)
		}
		if page.Next == "" {
			if len(page.Tickets) != 3 {
				t.Fatalf("last page has %d tickets", len(page.Tickets))
			}
			break
		}
		if len(page.Tickets) != 5 || pages > 5 {
			t.Fatalf("page %d has %d tickets", pages, len(page.Tickets))
		}
		cursor = page.Next
	}
	equal(t, "paged walk", walked, expect(func(tickets.Ticket) bool { return true }))

	from, to := all[15].CreatedAt, all[4].CreatedAt
	for name, tc := range map[string]struct {
		f    tickets.TicketFilter
		keep func(tickets.Ticket) bool
	}{
		"open": {tickets.TicketFilter{Statuses: []tickets.Status{tickets.StatusNew, tickets.StatusInProgress, tickets.StatusWaiting}},
			func(tk tickets.Ticket) bool { return tk.Status != tickets.StatusClosed }},
		"closed":   {tickets.TicketFilter{Statuses: []tickets.Status{tickets.StatusClosed}}, func(tk tickets.Ticket) bool { return tk.Status == tickets.StatusClosed }},
		"critical": {tickets.TicketFilter{Priorities: []tickets.Priority{tickets.PriorityCritical}}, func(tk tickets.Ticket) bool { return tk.Priority == tickets.PriorityCritical }},
		"groups": {tickets.TicketFilter{Groups: []string{"lotto1", "lotto3"}},
			func(tk tickets.Ticket) bool { return tk.Group == "lotto1" || tk.Group == "lotto3" }},
		"organization": {tickets.TicketFilter{Organization: "comune-pisa"}, func(tk tickets.Ticket) bool { return tk.Organization == "comune-pisa" }},
		"caller":       {tickets.TicketFilter{Caller: "+390574000002"}, func(tk tickets.Ticket) bool { return tk.Caller == "+390574000002" }},
		"assignee":     {tickets.TicketFilter{Assignee: "mrossi"}, func(tk tickets.Ticket) bool { return tk.Assignee == "mrossi" }},
		"dates": {tickets.TicketFilter{CreatedFrom: from, CreatedTo: to},
			func(tk tickets.Ticket) bool { return !tk.CreatedAt.Before(from) && tk.CreatedAt.Before(to) }},
		"text":        {tickets.TicketFilter{Text: "Posta"}, func(tk tickets.Ticket) bool { return tk.Subject == subjects[2] }},
		"text prefix": {tickets.TicketFilter{Text: "stamp gua"}, func(tk tickets.Ticket) bool { return tk.Subject == subjects[1] }},
		"text and":    {tickets.TicketFilter{Text: "posta scaduta"}, func(tickets.Ticket) bool { return false }},
		"combined": {tickets.TicketFilter{Statuses: []tickets.Status{tickets.StatusNew}, Groups: []string{"lotto2"}, Text: "rete"},
			func(tk tickets.Ticket) bool {
				return tk.Status == tickets.StatusNew && tk.Group == "lotto2" && tk.Subject == subjects[0]
			}},
	} {
		page, err := s.FindTickets(ctx, tc.f, everyone)
		noErr(t, err)
		var got []int64
		for _, tk := range page.Tickets {
			got = append(got, tk.ID)
		}
		want := expect(tc.keep)
		equal(t, name, got, want)
		if page.Total != len(want) || page.Next != "" {
			t.Fatalf("%s: total %d next %q, want %d", name, page.Total, page.Next, len(want))
		}
		if name != "text and" && len(want) == 0 {
			t.Fatalf("%s: the fixture selects nothing", name)
		}
	}

	capped := must[tickets.TicketPage](t)(s.FindTickets(ctx, tickets.TicketFilter{Limit: 2, CountLimit: 4}, everyone))
	if capped.Total != 4 || !capped.TotalCapped || len(capped.Tickets) != 2 {
		t.Fatalf("capped count: %d %v", capped.Total, capped.TotalCapped)
	}
	exact := must[tickets.TicketPage](t)(s.FindTickets(ctx, tickets.TicketFilter{Limit: 2, CountLimit: 23}, everyone))
	if exact.Total != 23 || exact.TotalCapped {
		t.Fatalf("count at the limit: %d %v", exact.Total, exact.TotalCapped)
	}
	uncounted := must[tickets.TicketPage](t)(s.FindTickets(ctx, tickets.TicketFilter{CountLimit: -1}, everyone))
	if uncounted.Total != 0 || len(uncounted.Tickets) != 23 {
		t.Fatalf("without count: %d, %d tickets", uncounted.Total, len(uncounted.Tickets))
	}
	for _, bad := range []tickets.TicketFilter{
		{After: "not a cursor!"},
		{Statuses: []tickets.Status{"open"}},
		{Priorities: []tickets.Priority{"urgent"}},
	} {
		_, err := s.FindTickets(ctx, bad, everyone)
		wantErr(t, err, fault.ErrInvalid)
	}
	// Punctuation and tsquery syntax in the search box are just separators.
	noErr(t, func() error {
		_, err := s.FindTickets(ctx, tickets.TicketFilter{Text: `posta' & !(|:*"`}, everyone)
		return err
	}())
}

func TestTextSearchFollowsEdits(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t, t0)
	_, tk := open(t, s, tickets.NewCall{Subject: "stampante", Caller: "+390574000009"})
	must[tickets.Article](t)(s.AddArticle(ctx, tk.ID, tickets.Article{Body: "toner esaurito"}, operator))
	must[tickets.Article](t)(s.AddArticle(ctx, tk.ID, tickets.Article{Body: "fornitore sollecitato", Internal: true}, operator))
	must[tickets.Ticket](t)(s.UpdateTicket(ctx, tk.ID, tickets.TicketUpdate{Version: 1, Subject: ptr("scanner"),
		Description: ptr("Università di Pisa: scrive da mario.rossi@comune.prato.it, la e-mail non arriva")}, operator))
	caller := tickets.Viewer{Kind: tickets.ViewerCallerOwn, Caller: tk.Caller}
	for _, tc := range []struct {
		text    string
		v       tickets.Viewer
		matches bool
	}{
		{"stampante", everyone, false},
		{"scanner", everyone, true},
		{"università", everyone, true},
		{"UNIVERSITÀ", everyone, true},
		{"toner", everyone, true},
		{"fornitore", everyone, true},
		{"fornitore", caller, false},
		{"toner", caller, true},
		{"mario.rossi@comune.prato.it", everyone, true},
		{"e-mail", everyone, true},
		{"mail", everyone, true},
		{"posta", everyone, false},
		{"scanner posta", everyone, false},
		{"scan univ", everyone, true},
	} {
		page := must[tickets.TicketPage](t)(s.FindTickets(ctx, tickets.TicketFilter{Text: tc.text}, tc.v))
		if got := len(page.Tickets) == 1; got != tc.matches {
			t.Errorf("search %q as %s: match %v, want %v", tc.text, tc.v.Kind, got, tc.matches)
		}
	}
}

func TestArticlesAndAttachments(t *testing.T) {
	t.Parallel()
	s, clk, _ := newStore(t, t0)
	_, tk := open(t, s, tickets.NewCall{Caller: "+390574000001", Source: tickets.SourceAfterHours})
	caller := tickets.Actor{Kind: tickets.ActorCaller, ID: "+390574000001"}

	at := clk.Advance(time.Minute)
	rec := tickets.Attachment{Name: "messaggio.wav", URI: "file:///var/spool/ivr/rec/1795320990.1.wav", ContentType: "audio/wav",
		Size: 56044, Duration: 3500 * time.Millisecond}
	got := must[tickets.Attachment](t)(s.AddAttachment(ctx, tk.ID, rec, sysActor))
	rec.ID, rec.TicketID, rec.CreatedAt, rec.CreatedBy = got.ID, tk.ID, at.In(rome), "ivr"
	equal(t, "attachment", got, rec)
	equal(t, "attachments", must[[]tickets.Attachment](t)(s.Attachments(ctx, tk.ID, tickets.Viewer{Kind: tickets.ViewerCallerOwn, Caller: "+390574000001"})), []tickets.Attachment{rec})

	clk.Advance(time.Minute)
	a1 := must[tickets.Article](t)(s.AddArticle(ctx, tk.ID, tickets.Article{Body: "Richiamatemi dopo le 15"}, caller))
	a2 := must[tickets.Article](t)(s.AddArticle(ctx, tk.ID, tickets.Article{Body: "Da verificare con il fornitore", Internal: true, Author: "Mario Rossi"}, operator))
	if a1.Author != caller.ID || a2.Author != "Mario Rossi" || !a1.CreatedAt.Equal(clk.Now()) {
		t.Fatalf("articles: %+v %+v", a1, a2)
	}
	equal(t, "articles", must[[]tickets.Article](t)(s.Articles(ctx, tk.ID, everyone)), []tickets.Article{a1, a2})

	_, err := s.AddArticle(ctx, tk.ID, tickets.Article{Body: "interno", Internal: true}, caller)
	wantErr(t, err, fault.ErrForbidden)
	_, err = s.AddArticle(ctx, tk.ID, tickets.Article{Body: "  "}, operator)
	wantErr(t, err, fault.ErrInvalid)
	_, err = s.AddArticle(ctx, 424242, tickets.Article{Body: "x"}, operator)
	wantErr(t, err, fault.ErrNotFound)
	_, err = s.AddAttachment(ctx, 424242, tickets.Attachment{Name: "a", URI: "b"}, operator)
	wantErr(t, err, fault.ErrNotFound)
	_, err = s.AddAttachment(ctx, tk.ID, tickets.Attachment{Name: "no uri"}, operator)
	wantErr(t, err, fault.ErrInvalid)

	// Articles and attachments move updated_at, not the version: a note is
	// no conflict for someone editing the ticket.
	after := must[tickets.Ticket](t)(s.FindTicketByID(ctx, tk.ID, everyone))
	if after.Version != tk.Version || !after.UpdatedAt.Equal(clk.Now()) {
		t.Fatalf("after articles: version %d updated %v", after.Version, after.UpdatedAt)
	}
}

func TestCallRecord(t *testing.T) {
	t.Parallel()
	s, clk, pool := newStore(t, t0)
	c, tk := open(t, s, tickets.NewCall{Caller: "+390574000001", StartedAt: t0})
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second).In(rome) }
	events := []tickets.CallEvent{
		{At: at(0), Kind: tickets.EventEntered},
		{At: at(1), Kind: tickets.EventHoursCheck, Detail: "open"},
		{At: at(5), Kind: tickets.EventMenuSelection, Node: "main", Key: "2", Label: "Posta certificata"},
		{At: at(9), Kind: tickets.EventPINAccepted},
		{At: at(10), Kind: tickets.EventQueued, Group: "lotto2"},
		{At: at(12), Kind: tickets.EventOffered, Group: "lotto2", Operator: "mrossi"},
		{At: at(15), Kind: tickets.EventAnswered, Group: "lotto2", Operator: "mrossi"},
	}
	noErr(t, s.AppendCallEvents(ctx, c.ID, events...))
	noErr(t, s.AppendCallEvents(ctx, c.ID)) // nothing to add is fine
	clk.Set(at(200))
	noErr(t, s.AppendCallEvents(ctx, c.ID, tickets.CallEvent{Kind: tickets.EventHangup, Detail: "caller"}))
	events = append(events, tickets.CallEvent{At: at(200), Kind: tickets.EventHangup, Detail: "caller"})
	equal(t, "timeline", must[[]tickets.CallEvent](t)(s.CallEvents(ctx, c.ID)), events)

	// PIN digits never get in, and a refused batch stores nothing.
	for _, bad := range []tickets.CallEvent{
		{Kind: tickets.EventPINRefused, Detail: "typed 1234"},
		{Kind: tickets.EventPINAccepted, Key: "5"},
		{Kind: tickets.EventPINRefused, Label: "PIN 0000"},
		{Kind: "Queued!"},
		{},
	} {
		err := s.AppendCallEvents(ctx, c.ID, tickets.CallEvent{Kind: tickets.EventInvalidInput}, bad)
		wantErr(t, err, fault.ErrInvalid)
	}
	equal(t, "timeline after refused events", len(must[[]tickets.CallEvent](t)(s.CallEvents(ctx, c.ID))), len(events))
	var pinColumns int
	noErr(t, pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.columns
		WHERE table_schema = current_schema() AND column_name ILIKE '%pin%'`).Scan(&pinColumns))
	if pinColumns != 0 {
		t.Fatalf("%d columns named like pin", pinColumns)
	}

	noErr(t, s.UpdateCall(ctx, c.ID, tickets.CallUpdate{AnsweredAt: ptr(at(1)), QueuedAt: ptr(at(10)), Group: ptr("lotto2")}))
	noErr(t, s.UpdateCall(ctx, c.ID, tickets.CallUpdate{OperatorAnsweredAt: ptr(at(15)), Operator: ptr("mrossi")}))
	noErr(t, s.FinishCall(ctx, c.ID, tickets.CallEnd{EndedAt: at(200), Outcome: tickets.OutcomeAnswered, HangupBy: tickets.HangupCaller}))
	want := c
	want.AnsweredAt, want.QueuedAt, want.OperatorAnsweredAt, want.EndedAt = at(1), at(10), at(15), at(200)
	want.Group, want.Operator, want.Outcome, want.HangupBy = "lotto2", "mrossi", tickets.OutcomeAnswered, tickets.HangupCaller
	got := must[tickets.Call](t)(s.FindCallByID(ctx, c.ID))
	equal(t, "finished call", got, want)
	if got.Wait() != 5*time.Second || got.Talk() != 185*time.Second {
		t.Fatalf("wait %v talk %v", got.Wait(), got.Talk())
	}

	// A second finish is a no-op: the first end stands.
	noErr(t, s.FinishCall(ctx, c.ID, tickets.CallEnd{EndedAt: at(300), Outcome: tickets.OutcomeFailed, HangupBy: tickets.HangupSystem}))
	equal(t, "finished twice", must[tickets.Call](t)(s.FindCallByID(ctx, c.ID)), want)
	equal(t, "calls of ticket", must[[]tickets.Call](t)(s.CallsOfTicket(ctx, tk.ID, everyone)), []tickets.Call{want})

	wantErr(t, s.FinishCall(ctx, 777777, tickets.CallEnd{Outcome: tickets.OutcomeAbandoned}), fault.ErrNotFound)
	wantErr(t, s.FinishCall(ctx, c.ID, tickets.CallEnd{}), fault.ErrInvalid)
	wantErr(t, s.FinishCall(ctx, c.ID, tickets.CallEnd{Outcome: tickets.OutcomeAbandoned, HangupBy: "god"}), fault.ErrInvalid)
	wantErr(t, s.UpdateCall(ctx, 777777, tickets.CallUpdate{Group: ptr("x")}), fault.ErrNotFound)
	wantErr(t, s.AppendCallEvents(ctx, 777777, tickets.CallEvent{Kind: tickets.EventEntered}), fault.ErrNotFound)
	_, err := s.CallEvents(ctx, 777777)
	wantErr(t, err, fault.ErrNotFound)
	_, err = s.FindCallByID(ctx, 777777)
	wantErr(t, err, fault.ErrNotFound)

	// A call that never queued: no wait, and no talk until it ends.
	ivrOnly, _ := open(t, s, tickets.NewCall{})
	if ivrOnly.Wait() != 0 || ivrOnly.Talk() != 0 {
		t.Fatalf("wait %v talk %v", ivrOnly.Wait(), ivrOnly.Talk())
	}
}

func TestReport(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t, t0)
	day := func(d, h, m, sec int) time.Time { return time.Date(2025, 11, d, h, m, sec, 0, rome) }
	type timing struct {
		group                   string
		queued, answered, ended time.Time
	}
	z := time.Time{}
	for i, c := range []timing{
		// lotto2, 09:00-10:00
		{"lotto2", day(24, 9, 0, 0), day(24, 9, 0, 10), day(24, 9, 5, 10)},    // answered in 10 s, talked 300 s
		{"lotto2", day(24, 9, 10, 0), day(24, 9, 10, 30), day(24, 9, 12, 30)}, // answered in 30 s, talked 120 s
		{"lotto2", day(24, 9, 20, 0), z, day(24, 9, 21, 0)},                   // abandoned
		{"lotto2", day(24, 9, 59, 59), z, z},                                  // still waiting
		// lotto2, 10:00-11:00
		{"lotto2", day(24, 10, 0, 0), day(24, 10, 0, 5), day(24, 10, 1, 5)},
		// lotto3, 09:00-10:00: answered exactly at the service level
		{"lotto3", day(24, 9, 30, 0), day(24, 9, 30, 20), day(24, 9, 40, 20)},
		// lotto2 the next local day, 00:30 in Rome (still the 24th in UTC)
		{"lotto2", day(25, 0, 30, 0), day(25, 0, 30, 1), day(25, 0, 31, 1)},
		// before the range
		{"lotto2", day(24, 8, 59, 59), day(24, 9, 0, 1), day(24, 9, 1, 0)},
		// never queued (the IVR answered the caller itself)
		{"", z, z, day(24, 9, 30, 0)},
	} {
		call, _ := open(t, s, tickets.NewCall{StartedAt: day(24, 8, 0, i)})
		upd := tickets.CallUpdate{AnsweredAt: ptr(day(24, 8, 0, i))}
		if !c.queued.IsZero() {
			upd.QueuedAt, upd.Group = &c.queued, &c.group
		}
		if !c.answered.IsZero() {
			upd.OperatorAnsweredAt, upd.Operator = &c.answered, ptr("op")
		}
		noErr(t, s.UpdateCall(ctx, call.ID, upd))
		if !c.ended.IsZero() {
			noErr(t, s.FinishCall(ctx, call.ID, tickets.CallEnd{EndedAt: c.ended, Outcome: tickets.OutcomeRouted}))
		}
	}

	rows := must[[]tickets.ReportRow](t)(s.Report(ctx, tickets.ReportFilter{From: day(24, 9, 0, 0), To: day(24, 11, 0, 0), ServiceLevelSeconds: 20}))
	equal(t, "hourly report", rows, []tickets.ReportRow{
		{Start: day(24, 9, 0, 0), Group: "lotto2", Offered: 4, Answered: 2, Abandoned: 1, AnsweredWithinSL: 1, ServiceLevel: 0.25, ServiceLevelSeconds: 20, ASA: 20 * time.Second, AHT: 210 * time.Second},
		{Start: day(24, 9, 0, 0), Group: "lotto3", Offered: 1, Answered: 1, Abandoned: 0, AnsweredWithinSL: 1, ServiceLevel: 1, ServiceLevelSeconds: 20, ASA: 20 * time.Second, AHT: 600 * time.Second},
		{Start: day(24, 10, 0, 0), Group: "lotto2", Offered: 1, Answered: 1, Abandoned: 0, AnsweredWithinSL: 1, ServiceLevel: 1, ServiceLevelSeconds: 20, ASA: 5 * time.Second, AHT: 60 * time.Second},
	})
	rows = must[[]tickets.ReportRow](t)(s.Report(ctx, tickets.ReportFilter{From: day(24, 9, 0, 0), To: day(24, 11, 0, 0), ServiceLevelSeconds: 30, Groups: []string{"lotto2"}}))
	if len(rows) != 2 || rows[0].AnsweredWithinSL != 2 || rows[0].ServiceLevel != 0.5 || rows[1].Group != "lotto2" {
		t.Fatalf("lotto2 at 30 s: %+v", rows)
	}

	rows = must[[]tickets.ReportRow](t)(s.Report(ctx, tickets.ReportFilter{From: day(24, 0, 0, 0), To: day(26, 0, 0, 0), Bucket: tickets.BucketDay}))
	equal(t, "daily report", rows, []tickets.ReportRow{
		// Default service level 20 s.
		{Start: day(24, 0, 0, 0), Group: "lotto2", Offered: 6, Answered: 4, Abandoned: 1, AnsweredWithinSL: 3, ServiceLevel: 0.5, ServiceLevelSeconds: 20,
			ASA: (10 + 30 + 5 + 2) * time.Second / 4, AHT: (300 + 120 + 60 + 59) * time.Second / 4},
		{Start: day(24, 0, 0, 0), Group: "lotto3", Offered: 1, Answered: 1, AnsweredWithinSL: 1, ServiceLevel: 1, ServiceLevelSeconds: 20, ASA: 20 * time.Second, AHT: 600 * time.Second},
		{Start: day(25, 0, 0, 0), Group: "lotto2", Offered: 1, Answered: 1, AnsweredWithinSL: 1, ServiceLevel: 1, ServiceLevelSeconds: 20, ASA: time.Second, AHT: 60 * time.Second},
	})
	for _, bad := range []tickets.ReportFilter{
		{From: day(24, 0, 0, 0), To: day(25, 0, 0, 0), Bucket: "year"},
		{From: day(24, 0, 0, 0), To: day(25, 0, 0, 0), GroupServiceLevels: map[string]time.Duration{"lotto2": 0}},
		{From: day(25, 0, 0, 0), To: day(24, 0, 0, 0)},
		{},
		{From: day(24, 0, 0, 0), To: day(25, 0, 0, 0), ServiceLevelSeconds: -1},
	} {
		_, err := s.Report(ctx, bad)
		wantErr(t, err, fault.ErrInvalid)
	}
}

// TestMigrateConcurrently: instances starting together on an empty schema
// all succeed, and the schema is built once.
func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	url := pgtest.DatabaseURL(t)
	admin, err := pgxpool.New(ctx, url)
	noErr(t, err)
	t.Cleanup(admin.Close)
	_, err = admin.Exec(ctx, "CREATE SCHEMA fresh")
	noErr(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		cfg, err := pgxpool.ParseConfig(url)
		noErr(t, err)
		cfg.ConnConfig.RuntimeParams["search_path"] = "fresh"
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		noErr(t, err)
		t.Cleanup(pool.Close)
		wg.Go(func() { errs <- tickets.Migrate(ctx, pool) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		noErr(t, err)
	}
	var version, tables int
	noErr(t, admin.QueryRow(ctx, "SELECT version FROM fresh."+tickets.VersionTable).Scan(&version))
	noErr(t, admin.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'fresh' AND tablename NOT LIKE 'pin\_%'`).Scan(&tables))
	if version != 9 || tables != 10 { // 9 tables and the version table; 9 migrations
		t.Fatalf("fresh schema: version %d, %d tables", version, tables)
	}
	// The PIN lockouts' 4 tables and their version table.
	noErr(t, admin.QueryRow(ctx, "SELECT version FROM fresh."+tickets.LockoutVersionTable).Scan(&version))
	noErr(t, admin.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'fresh' AND tablename LIKE 'pin\_%'`).Scan(&tables))
	if version != 1 || tables != 5 {
		t.Fatalf("fresh schema, PIN lockouts: version %d, %d tables", version, tables)
	}
	var rows int
	noErr(t, admin.QueryRow(ctx, "SELECT count(*) FROM fresh."+tickets.VersionTable).Scan(&rows))
	if rows != 1 {
		t.Fatalf("%d version rows", rows)
	}
}

// TestTextSearchBothPaths: a text search answers from the newest tickets
// when its words are common and from the text index when they are rare;
// paging across both gives every match once, in order, and caller-side
// views never match internal notes on either path.
func TestTextSearchBothPaths(t *testing.T) {
	t.Parallel()
	s, clk, _ := newStore(t, t0)
	tickets.SetTextWindow(s, 4)
	const caller = "+390574000001"
	var all []tickets.Ticket
	for i := range 12 {
		clk.Advance(time.Minute)
		subject := "stampante"
		if i != 3 && i != 6 && i != 9 {
			subject = "rete lenta"
		}
		if i == 0 {
			subject += " modem"
		}
		_, tk := open(t, s, tickets.NewCall{Subject: subject, Caller: caller})
		must[tickets.Article](t)(s.AddArticle(ctx, tk.ID, tickets.Article{Internal: true, Body: "fornitore sollecitato"}, operator))
		all = append(all, tk)
	}
	slices.Reverse(all) // newest first
	var wantRete []int64
	for _, tk := range all {
		if tk.Subject != "stampante" {
			wantRete = append(wantRete, tk.ID)
		}
	}

	var walked []int64
	var capped []bool
	var cursor tickets.Cursor
	for {
		page := must[tickets.TicketPage](t)(s.FindTickets(ctx, tickets.TicketFilter{Text: "rete", Limit: 2, After: cursor}, everyone))
		for _, tk := range page.Tickets {
			walked = append(walked, tk.ID)
		}
		capped = append(capped, page.TotalCapped)
		if page.TotalCapped && page.Total != 3 || !page.TotalCapped && page.Total != len(wantRete) {
			t.Fatalf("page %d: total %d capped %v", len(capped), page.Total, page.TotalCapped)
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	equal(t, "paged text search", walked, wantRete)
	if !capped[0] || capped[len(capped)-1] {
		t.Fatalf("pages answered from the newest tickets: %v; want the first, not the last", capped)
	}

	// A word only in the oldest ticket, far outside the window.
	page := must[tickets.TicketPage](t)(s.FindTickets(ctx, tickets.TicketFilter{Text: "modem", Limit: 2}, everyone))
	if len(page.Tickets) != 1 || page.Tickets[0].ID != all[len(all)-1].ID || page.Total != 1 || page.TotalCapped {
		t.Fatalf("rare word: %+v", page)
	}

	// Internal notes: every ticket has one, so staff find them from the
	// window; the caller finds nothing on either path.
	page = must[tickets.TicketPage](t)(s.FindTickets(ctx, tickets.TicketFilter{Text: "fornitore", Limit: 2}, everyone))
	if len(page.Tickets) != 2 || !page.TotalCapped {
		t.Fatalf("staff search of notes: %d tickets, capped %v", len(page.Tickets), page.TotalCapped)
	}
	for _, v := range []tickets.Viewer{{Kind: tickets.ViewerCallerOwn, Caller: caller}, {Kind: tickets.ViewerCallerOrg, Caller: caller}} {
		page = must[tickets.TicketPage](t)(s.FindTickets(ctx, tickets.TicketFilter{Text: "fornitore", Limit: 1}, v))
		if len(page.Tickets) != 0 || page.Total != 0 {
			t.Fatalf("%s search of internal notes: %+v", v.Kind, page)
		}
		page = must[tickets.TicketPage](t)(s.FindTickets(ctx, tickets.TicketFilter{Text: "rete", Limit: 1}, v))
		if len(page.Tickets) != 1 || page.Tickets[0].ID != wantRete[0] || !page.TotalCapped {
			t.Fatalf("%s search: %+v", v.Kind, page)
		}
	}

	// A caller with fewer tickets than the window: the window holds them
	// all, so later pages and counts are exact.
	const few = "+390574000002"
	var fewIDs []int64
	for _, subject := range []string{"rete", "stampante", "rete"} {
		clk.Advance(time.Minute)
		_, tk := open(t, s, tickets.NewCall{Subject: subject, Caller: few})
		if subject == "rete" {
			fewIDs = append([]int64{tk.ID}, fewIDs...)
		}
	}
	own := tickets.Viewer{Kind: tickets.ViewerCallerOwn, Caller: few}
	first := must[tickets.TicketPage](t)(s.FindTickets(ctx, tickets.TicketFilter{Text: "rete", Limit: 1}, own))
	second := must[tickets.TicketPage](t)(s.FindTickets(ctx, tickets.TicketFilter{Text: "rete", Limit: 1, After: first.Next}, own))
	whole := must[tickets.TicketPage](t)(s.FindTickets(ctx, tickets.TicketFilter{Text: "rete", Limit: 5}, own))
	if len(first.Tickets) != 1 || first.Tickets[0].ID != fewIDs[0] || !first.TotalCapped || first.Total != 2 {
		t.Fatalf("first page: %+v", first)
	}
	if len(second.Tickets) != 1 || second.Tickets[0].ID != fewIDs[1] || second.TotalCapped || second.Total != 2 || second.Next != "" {
		t.Fatalf("second page: %+v", second)
	}
	if len(whole.Tickets) != 2 || whole.TotalCapped || whole.Total != 2 {
		t.Fatalf("one page: %+v", whole)
	}
	none := must[tickets.TicketPage](t)(s.FindTickets(ctx, tickets.TicketFilter{Text: "fornitore", Limit: 5}, own))
	if len(none.Tickets) != 0 || none.Total != 0 {
		t.Fatalf("no match: %+v", none)
	}
}

// OpenCalls lists a node's unfinished calls.
func TestOpenCalls(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t, t0)
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second).In(rome) }
	old, _ := open(t, s, tickets.NewCall{ChannelID: "a.1", AsteriskNode: "ast1", StartedAt: at(0)})
	done, _ := open(t, s, tickets.NewCall{ChannelID: "a.2", AsteriskNode: "ast1", StartedAt: at(1)})
	open(t, s, tickets.NewCall{ChannelID: "b.1", AsteriskNode: "ast2", StartedAt: at(2)})
	late, _ := open(t, s, tickets.NewCall{ChannelID: "a.3", AsteriskNode: "ast1", StartedAt: at(60)})
	noErr(t, s.FinishCall(ctx, done.ID, tickets.CallEnd{EndedAt: at(5), Outcome: tickets.OutcomeAnswered}))
	got := must[[]tickets.Call](t)(s.OpenCalls(ctx, "ast1"))
	if len(got) != 2 || got[0].ID != old.ID || got[1].ID != late.ID {
		t.Fatalf("open calls %+v", got)
	}
}
