package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/panel"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// TestReportCSAT: the API's report carries the panel's CSAT figures (per
// group, operator and hour, and the total), and reports.csv?table=csat
// the panel's CSV; a token sees its groups' surveys only.
func TestReportCSAT(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, s := range []struct {
		group, op string
		rating    int
	}{{"lotto2", "op2", 5}, {"lotto2", "op2", 3}, {"lotto3", "op3", 4}, {"lotto2", "op2", 0}} {
		c, tk := e.openCall(s.group, "+390612345678", "x")
		sv := tickets.Survey{CallID: c.ID, TicketID: tk.ID, AskedAt: e.clk.Now(), Group: s.group, Operator: s.op}
		if s.rating > 0 {
			sv.Rating, sv.RatedAt = s.rating, e.clk.Now().Add(time.Second)
		} else {
			sv.Skipped = tickets.SurveyTimeout
		}
		noErr(t, e.store.SaveSurvey(ctx, sv))
	}
	var rep reportJSON
	e.do(http.MethodGet, "/reports", e.token("sup", panel.ScopeRead), nil).json(t, &rep)
	c := rep.CSAT
	if c.Total.Asked != 4 || c.Total.Rated != 3 || c.Total.Satisfied != 2 || c.Total.Average != 4 || len(c.ByGroup) != 2 ||
		c.ByGroup[0].Group != "lotto2" || c.ByGroup[0].CSAT != 0.5 || len(c.ByOperator) != 2 || len(c.ByHour) != 1 ||
		c.ByHour[0].Hour == nil || *c.ByHour[0].Hour != 10 {
		t.Fatalf("supervisor's CSAT %+v", c)
	}
	op2 := e.token("op2", panel.ScopeRead)
	e.do(http.MethodGet, "/reports", op2, nil).json(t, &rep)
	if rep.CSAT.Total.Asked != 3 || len(rep.CSAT.ByGroup) != 1 || rep.CSAT.ByGroup[0].Group != "lotto2" {
		t.Fatalf("op2's CSAT %+v", rep.CSAT)
	}
	r := e.do(http.MethodGet, "/reports.csv?table=csat", op2, nil)
	wantStatus(t, "csat csv", r, http.StatusOK)
	lines := strings.Split(strings.TrimSpace(string(r.body)), "\n")
	if len(lines) != 5 || lines[0] != "by,key,asked,rated,satisfied,csat_pct,average_rating" ||
		lines[1] != "group,lotto2,3,2,1,50.0,4.00" || lines[4] != "total,,3,2,1,50.0,4.00" {
		t.Fatalf("csat csv:\n%s", r.body)
	}
}
