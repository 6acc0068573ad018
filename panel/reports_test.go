package panel

import (
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// withServiceLevel is the example help desk with lotto2's service_level
// set to 60 s (lotto3 keeps the default, 30 s).
func withServiceLevel(t *testing.T) func(*Options) {
	t.Helper()
	b, err := os.ReadFile("../configs/helpdesk.yaml")
	noErr(t, err)
	src := strings.Replace(string(b), "    emails: [lotto2@assistenza.example]\n", "    emails: [lotto2@assistenza.example]\n    service_level: 60s\n", 1)
	if src == string(b) {
		t.Fatal("lotto2 not found in the example configuration")
	}
	cfg, err := menu.Parse("helpdesk.yaml", []byte(src))
	noErr(t, err)
	return func(o *Options) { o.Config = func() *menu.Config { return cfg } }
}

// TestReportsWeeksThresholdsCategories: the reports page and CSV by week
// and month (whole periods), each group's service level against its own
// threshold shown beside it, and the tickets per category.
func TestReportsWeeksThresholdsCategories(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withServiceLevel(t))
	call := func(group string, wait time.Duration) tickets.Call {
		c, _ := e.openTicket(group, "+390612345678", "Chiamata") // an uncategorised ticket
		q := e.clk.Now()
		a := q.Add(wait)
		noErr(t, e.store.UpdateCall(ctx, c.ID, tickets.CallUpdate{QueuedAt: &q, Group: &group, OperatorAnsweredAt: &a, Operator: ptr("op2")}))
		noErr(t, e.store.FinishCall(ctx, c.ID, tickets.CallEnd{EndedAt: a.Add(time.Minute), Outcome: tickets.OutcomeAnswered, HangupBy: tickets.HangupCaller}))
		return c
	}
	c2 := call("lotto2", 50*time.Second) // within lotto2's 60 s
	call("lotto3", 50*time.Second)       // not within the default 30 s
	// lotto2's operator put the caller on hold for 20 s, then passed on a
	// colleague's call to another group (the transfer counts for lotto2).
	noErr(t, e.store.AppendCallEvents(ctx, c2.ID,
		tickets.CallEvent{Kind: "off_hold", Group: "lotto2", Operator: "op2", Duration: 20 * time.Second},
		tickets.CallEvent{Kind: "transfer_operator", Group: "lotto2", Operator: "op2", Detail: "to op3"}))
	for _, nt := range []tickets.NewTicket{
		{Subject: "a", Group: "lotto2", Category: "stampa"}, {Subject: "b", Group: "lotto2", Category: "stampa"},
		{Subject: "c", Group: "lotto3", Category: "stampa"}, {Subject: "d", Group: "lotto2", Category: "applicativi/pct"},
	} {
		_, err := e.store.CreateTicket(ctx, nt, tickets.Actor{Kind: tickets.ActorOperator, ID: "op2"})
		noErr(t, err)
	}

	sup := e.login("sup")
	// By week: Wednesday to Wednesday widens to the ISO week, Monday to Sunday.
	r := sup.get("/reports?bucket=week&from=2025-11-26&to=2025-11-26")
	wantStatus(t, "weekly", r, http.StatusOK)
	r.has(t, `<option value="week" selected>`, `name="from" type="date" value="2025-11-24"`, `name="to" type="date" value="2025-11-30"`)
	for group, want := range map[string]string{"lotto2": "60 s</td><td>1</td><td>1</td><td>0</td>\\s*<td>100%", "lotto3": "30 s</td><td>1</td><td>1</td><td>0</td>\\s*<td>0%"} {
		re := regexp.MustCompile(`(?s)data-group="` + group + `">\s*<td>2025-W48</td><td>[^<]*</td><td data-testid="report-threshold">` + want)
		if !re.MatchString(r.body) {
			t.Fatalf("%s's weekly row wrong:\n%s", group, r.body)
		}
	}
	if !regexp.MustCompile(`(?s)data-testid="report-total">.*?<td>2</td><td>2</td><td>0</td>\s*<td>50%</td>`).MatchString(r.body) {
		t.Fatalf("total wrong:\n%s", r.body)
	}
	// The ticket's page says who had the call, its hold and transfer.
	sup.get(fmt.Sprintf("/tickets/%d", c2.TicketID)).has(t, `data-testid="call-handling"`, `data-kind="off_hold"`,
		"· lotto2 · op2 · 0:20", `data-kind="transfer_operator"`, "trasferita a un collega", "(to op3)")
	// Transfers and holds, for the group whose call it was.
	if !regexp.MustCompile(`(?s)data-group="lotto2">.*?data-testid="report-transfers">1 <span class="muted">\(gruppo 0, collega 1, numero 0, con consultazione 0, spostati 0\)</span></td>\s*<td data-testid="report-holds">1 · 0:20</td>`).MatchString(r.body) ||
		!regexp.MustCompile(`(?s)data-group="lotto3">.*?data-testid="report-transfers">0</td>\s*<td data-testid="report-holds">0</td>`).MatchString(r.body) {
		t.Fatalf("transfers and holds wrong:\n%s", r.body)
	}
	// The category table, in Italian, uncategorised last.
	cats := regexp.MustCompile(`(?s)data-category="applicativi/pct" data-group="lotto2">\s*<th scope="row">Applicativi › Processo civile telematico</th><td>Lotto 2[^<]*</td><td>1</td><td>1</td>.*` +
		`data-category="stampa" data-group="lotto2">\s*<th scope="row">Stampa</th><td>[^<]*</td><td>2</td><td>2</td>.*` +
		`data-category="stampa" data-group="lotto3">.*` +
		`data-category="" data-group="lotto2">\s*<th scope="row"><em>Senza categoria</em></th><td>[^<]*</td><td>1</td>.*` +
		`data-testid="category-total"><th scope="row" colspan="2">Totale</th><td>6</td><td>6</td>`)
	if !cats.MatchString(r.body) {
		t.Fatalf("category table wrong:\n%s", r.body)
	}

	// The wallboard counts today's calls against the same thresholds.
	sup.get("/wallboard").has(t, `data-testid="wb-sl">100%<small data-testid="wb-sl-threshold"> ≤ 60 s</small>`,
		`data-testid="wb-sl">0%<small data-testid="wb-sl-threshold"> ≤ 30 s</small>`)

	// By month: the whole month.
	m := sup.get("/reports?bucket=month&from=2025-11-24&to=2025-11-24")
	wantStatus(t, "monthly", m, http.StatusOK)
	m.has(t, `<option value="month" selected>`, `value="2025-11-01"`, `value="2025-11-30"`, "<td>2025-11</td>")
	wantStatus(t, "two years of months", sup.get("/reports?bucket=month&from=2024-01-01&to=2025-12-31"), http.StatusOK)
	wantStatus(t, "three years of months", sup.get("/reports?bucket=month&from=2023-01-01&to=2025-12-31"), http.StatusBadRequest)
	wantStatus(t, "two years of weeks", sup.get("/reports?bucket=week&from=2024-01-01&to=2025-12-31"), http.StatusBadRequest)

	// The CSVs: the week's rows with each group's threshold, and the
	// categories with their labels.
	csv := sup.get("/reports.csv?bucket=week&from=2025-11-26&to=2025-11-26")
	wantStatus(t, "csv", csv, http.StatusOK)
	equalLines(t, "weekly csv", csv.body, "period_start,group,offered,answered,abandoned,answered_within_sl,service_level_pct,asa_seconds,aht_seconds,service_level_seconds,"+
		"transfers_group,transfers_operator,transfers_number,transfers_attended,moves,holds,hold_seconds",
		"2025-11-24T00:00:00+01:00,lotto2,1,1,0,1,100.0,50.0,60.0,60,0,1,0,0,0,1,20.0",
		"2025-11-24T00:00:00+01:00,lotto3,1,1,0,0,0.0,50.0,60.0,30,0,0,0,0,0,0,0.0")
	csv = sup.get("/reports.csv?bucket=week&from=2025-11-26&to=2025-11-26&table=category")
	wantStatus(t, "category csv", csv, http.StatusOK)
	if cd := csv.header.Get("Content-Disposition"); !strings.Contains(cd, "categories-2025-11-24-2025-11-30.csv") {
		t.Fatalf("disposition %q", cd)
	}
	equalLines(t, "category csv", csv.body, "category,category_label,group,tickets,open",
		"applicativi/pct,Applicativi › Processo civile telematico,lotto2,1,1",
		"stampa,Stampa,lotto2,2,2",
		"stampa,Stampa,lotto3,1,1",
		",,lotto2,1,1",
		",,lotto3,1,1")
	// An operator sees their groups only; an English user reads English labels.
	equalLines(t, "operator's category csv", e.login("op2").get("/reports.csv?table=category").body, "category,category_label,group,tickets,open",
		"applicativi/pct,Applicativi › Processo civile telematico,lotto2,1,1",
		"stampa,Stampa,lotto2,2,2",
		",,lotto2,1,1")
	noErr(t, e.srv.Users().SetLang(ctx, "adm", "en"))
	en := e.login("adm").get("/reports")
	en.has(t, "<th scope=\"row\">Printing</th>", "Applications › Electronic civil trial", "<em>No category</em>", `<option value="week">By week</option>`)
	// No ticket in the period: the table says so.
	sup.get("/reports?from=2025-11-01&to=2025-11-02").has(t, `data-testid="categories-none"`)
}

func equalLines(t *testing.T, what, body string, want ...string) {
	t.Helper()
	got := strings.Split(strings.TrimSpace(strings.ReplaceAll(body, "\r\n", "\n")), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s:\n%s\nwant:\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
