package api

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/panel"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// TestReportsWeeksThresholdsCategories: weeks and months (whole periods),
// each group's service level against its configured threshold, and the
// tickets per category with labels in the token user's language, as JSON
// (checked against the document) and CSV; the panel's figures.
func TestReportsWeeksThresholdsCategories(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../configs/helpdesk.yaml")
	noErr(t, err)
	src := strings.Replace(string(b), "    emails: [lotto2@assistenza.example]\n", "    emails: [lotto2@assistenza.example]\n    service_level: 60s\n", 1)
	cfg, err := menu.Parse("helpdesk.yaml", []byte(src))
	noErr(t, err)
	e := newEnv(t, func(o *Options) { o.Config = func() *menu.Config { return cfg } })
	for _, g := range []string{"lotto2", "lotto3"} {
		c, _ := e.openCall(g, "+390612345678", "x") // an uncategorised ticket each
		q := e.clk.Now()
		a := q.Add(50 * time.Second) // within lotto2's 60 s, not the default 30 s
		noErr(t, e.store.UpdateCall(ctx, c.ID, tickets.CallUpdate{QueuedAt: &q, Group: &g, OperatorAnsweredAt: &a}))
		noErr(t, e.store.FinishCall(ctx, c.ID, tickets.CallEnd{EndedAt: a.Add(time.Minute), Outcome: tickets.OutcomeAnswered, HangupBy: tickets.HangupCaller}))
	}
	for _, nt := range []tickets.NewTicket{{Subject: "a", Group: "lotto2", Category: "stampa"}, {Subject: "b", Group: "lotto3", Category: "applicativi/pct"}} {
		_, err := e.store.CreateTicket(ctx, nt, tickets.Actor{Kind: tickets.ActorOperator, ID: "sup"})
		noErr(t, err)
	}
	noErr(t, e.users.SetLang(ctx, "sup", "en"))
	sup := e.token("sup", panel.ScopeRead)

	var rep reportJSON
	e.do(http.MethodGet, "/reports?bucket=week&from=2025-11-26&to=2025-11-26", sup, nil).json(t, &rep)
	if rep.Bucket != "week" || rep.From != "2025-11-24" || rep.To != "2025-11-30" || len(rep.Rows) != 2 {
		t.Fatalf("weekly report %+v", rep)
	}
	for i, want := range []struct {
		group          string
		within, thresh int
	}{{"lotto2", 1, 60}, {"lotto3", 0, 30}} {
		r := rep.Rows[i]
		if r.Group != want.group || r.AnsweredWithinSL != want.within || r.ServiceLevelSeconds != want.thresh || !r.Start.Equal(time.Date(2025, 11, 24, 0, 0, 0, 0, rome)) {
			t.Fatalf("row %d: %+v", i, r)
		}
	}
	if rep.Total.Offered != 2 || rep.Total.AnsweredWithinSL != 1 || rep.Total.ServiceLevel != 0.5 || rep.Total.ServiceLevelSeconds != 0 {
		t.Fatalf("total %+v", rep.Total)
	}
	equalCats := func(what string, got []categoryRowJSON, want ...categoryRowJSON) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %+v", what, got)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: %+v, want %+v", what, got, want)
			}
		}
	}
	equalCats("categories", rep.Categories,
		categoryRowJSON{Category: "applicativi/pct", Label: "Applications › Electronic civil trial", Group: "lotto3", Tickets: 1, Open: 1},
		categoryRowJSON{Category: "stampa", Label: "Printing", Group: "lotto2", Tickets: 1, Open: 1},
		categoryRowJSON{Group: "lotto2", Tickets: 1, Open: 1},
		categoryRowJSON{Group: "lotto3", Tickets: 1, Open: 1})

	e.do(http.MethodGet, "/reports?bucket=month&from=2025-11-24&to=2025-11-24", sup, nil).json(t, &rep)
	if rep.From != "2025-11-01" || rep.To != "2025-11-30" || len(rep.Rows) != 2 || rep.Rows[0].Start.Day() != 1 {
		t.Fatalf("monthly report %+v", rep)
	}
	wantStatus(t, "bad bucket", e.do(http.MethodGet, "/reports?bucket=year", sup, nil), http.StatusBadRequest)
	wantStatus(t, "three years", e.do(http.MethodGet, "/reports?bucket=month&from=2023-01-01&to=2025-12-31", sup, nil), http.StatusBadRequest)

	r := e.do(http.MethodGet, "/reports.csv?bucket=week&from=2025-11-24&to=2025-11-24", sup, nil)
	wantStatus(t, "csv", r, http.StatusOK)
	if got := strings.TrimSpace(string(r.body)); got != "period_start,group,offered,answered,abandoned,answered_within_sl,service_level_pct,asa_seconds,aht_seconds,service_level_seconds,"+
		"transfers_group,transfers_operator,transfers_number,transfers_attended,moves,holds,hold_seconds\n"+
		"2025-11-24T00:00:00+01:00,lotto2,1,1,0,1,100.0,50.0,60.0,60,0,0,0,0,0,0,0.0\n"+
		"2025-11-24T00:00:00+01:00,lotto3,1,1,0,0,0.0,50.0,60.0,30,0,0,0,0,0,0,0.0" {
		t.Fatalf("csv:\n%s", got)
	}
	op2 := e.token("op2", panel.ScopeRead) // Italian, lotto2 only
	r = e.do(http.MethodGet, "/reports.csv?table=category", op2, nil)
	wantStatus(t, "category csv", r, http.StatusOK)
	if got := strings.TrimSpace(string(r.body)); got != "category,category_label,group,tickets,open\nstampa,Stampa,lotto2,1,1\n,,lotto2,1,1" {
		t.Fatalf("category csv:\n%s", got)
	}
}
