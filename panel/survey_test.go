package panel

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/helpdesk-ivr/ivr/internal/browsertest"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// survey records an answered call of group with its survey: rating 0 is
// a survey skipped by a hangup.
func (e *env) survey(group, op string, rating int, comment string) (tickets.Call, tickets.Ticket) {
	e.t.Helper()
	c, tk := e.openTicket(group, "+390612345678", "Chiamata")
	at := e.clk.Now()
	sv := tickets.Survey{CallID: c.ID, TicketID: tk.ID, AskedAt: at, Group: group, Operator: op}
	if rating > 0 {
		sv.Rating, sv.RatedAt = rating, at.Add(3*time.Second)
	} else {
		sv.Skipped = tickets.SurveyHangup
	}
	if comment != "" {
		sv.CommentURI, sv.CommentDuration = "ari:recording:"+comment, 9*time.Second
		_, err := e.store.AddAttachment(ctx, tk.ID, tickets.Attachment{Name: comment + ".wav", URI: sv.CommentURI,
			ContentType: "audio/wav", Duration: 9 * time.Second}, ivrActor)
		noErr(e.t, err)
	}
	noErr(e.t, e.store.SaveSurvey(ctx, sv))
	return c, tk
}

// TestTicketShowsSurvey: the ticket page shows the call's rating and
// plays the comment as the ticket's other recordings, to those who may
// see the ticket; a skipped survey says why; a ticket without one shows
// no survey section.
func TestTicketShowsSurvey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, rated := e.survey("lotto2", "op2", 5, "survey-cmt-1")
	_, skipped := e.survey("lotto2", "op2", 0, "")
	_, none := e.openTicket("lotto2", "+390612345678", "Senza sondaggio")
	op := e.login("op2")
	page := op.get(fmt.Sprintf("/tickets/%d", rated.ID))
	wantStatus(t, "ticket", page, http.StatusOK)
	page.has(t, `data-testid="surveys"`, `data-rating="5"`, "voto 5 su 5", "Commento registrato (0:09)", "op2")
	player := regexp.MustCompile(`<audio controls preload="none" src="(/recordings/\d+/\d+)" data-testid="survey-comment-audio">`)
	m := player.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("no player for the comment:\n%s", page.body)
	}
	r := op.get(m[1])
	wantStatus(t, "comment", r, http.StatusOK)
	if r.body != "RIFFsurvey-cmt-1" {
		t.Fatalf("comment body %q", r.body)
	}
	op.get(fmt.Sprintf("/tickets/%d", skipped.ID)).has(t, `data-testid="survey-skipped"`, "non valutata: il chiamante ha riagganciato")
	op.get(fmt.Sprintf("/tickets/%d", none.ID)).hasNot(t, `data-testid="surveys"`)
	wantStatus(t, "another group", e.login("op3").get(fmt.Sprintf("/tickets/%d", rated.ID)), http.StatusNotFound)
	wantStatus(t, "english", op.post("/lang", url.Values{"lang": {"en"}, "back": {"/"}}), http.StatusSeeOther)
	op.get(fmt.Sprintf("/tickets/%d", rated.ID)).has(t, "Service rating", "rated 5 out of 5")
}

// TestReportsCSAT: the reports page and reports.csv?table=csat show the
// surveys' satisfaction (share of 4–5 among ratings, average) per group,
// operator and hour, with counts, in the user's groups only; the
// wallboard shows today's per group.
func TestReportsCSAT(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.survey("lotto2", "op2", 5, "")
	e.survey("lotto2", "op2", 4, "")
	e.survey("lotto2", "op2", 0, "")
	e.clk.Advance(time.Hour)
	e.survey("lotto2", "op2", 2, "")
	e.survey("lotto3", "op3", 1, "")

	sup := e.login("sup")
	r := sup.get("/reports")
	wantStatus(t, "reports", r, http.StatusOK)
	r.has(t, `data-testid="csat"`, `data-testid="csat-group"`, `data-testid="csat-operator"`, `data-testid="csat-hour"`)
	total := regexp.MustCompile(`(?s)data-testid="csat-total">.*?<strong>50%</strong>.*?<strong>3\.0</strong>/5\s*\(4 voti su 5 sondaggi\)`)
	if !total.MatchString(r.body) {
		t.Fatalf("CSAT total wrong:\n%s", r.body)
	}
	lotto2 := regexp.MustCompile(`(?s)data-testid="csat-group">.*?data-key="lotto2">\s*<th scope="row">[^<]+</th>\s*<td><meter[^>]*value="0\.667"></meter> 67%</td>\s*<td>3\.7</td><td>3</td><td>4</td>`)
	if !lotto2.MatchString(r.body) {
		t.Fatalf("lotto2 CSAT row wrong:\n%s", r.body)
	}
	r.has(t, `data-key="op3"`, `data-key="10"`, `data-key="11"`)

	csv := sup.get("/reports.csv?table=csat")
	wantStatus(t, "csat csv", csv, http.StatusOK)
	want := strings.Join([]string{
		"by,key,asked,rated,satisfied,csat_pct,average_rating",
		"group,lotto2,4,3,2,66.7,3.67",
		"group,lotto3,1,1,0,0.0,1.00",
		"operator,op2,4,3,2,66.7,3.67",
		"operator,op3,1,1,0,0.0,1.00",
		"hour,10,3,2,2,100.0,4.50",
		"hour,11,2,2,0,0.0,1.50",
		"total,,5,4,2,50.0,3.00",
	}, "\n")
	if got := strings.TrimSpace(csv.body); got != want {
		t.Fatalf("csat csv:\n%s\nwant:\n%s", got, want)
	}
	if d := csv.header.Get("Content-Disposition"); !strings.Contains(d, "csat-") {
		t.Errorf("disposition %q", d)
	}

	// The wallboard shows today's CSAT per group, as the reports.
	wb := sup.get("/wallboard")
	for group, want := range map[string]string{"lotto2": "67% (3)", "lotto3": "0% (1)"} {
		cell := regexp.MustCompile(`(?s)data-testid="wb-row-` + group + `".*?data-testid="wb-csat">([^<]*)<`)
		if m := cell.FindStringSubmatch(wb.body); m == nil || m[1] != want {
			t.Errorf("wallboard CSAT of %s: %v, want %q", group, m, want)
		}
	}

	// An operator sees the surveys of their groups only.
	op := e.login("op2")
	r = op.get("/reports")
	r.has(t, `data-key="lotto2"`)
	r.hasNot(t, `data-key="lotto3"`, `data-key="op3"`)
	if csv := op.get("/reports.csv?table=csat"); strings.Contains(csv.body, "lotto3") || !strings.Contains(csv.body, "total,,4,3,2,66.7,3.67") {
		t.Fatalf("an operator's CSAT CSV:\n%s", csv.body)
	}
	// No survey in the period.
	sup.get("/reports?from=2025-11-01&to=2025-11-02").has(t, `data-testid="csat-none"`)
}

// TestBrowserCSAT: in real Chromium, a supervisor reads the CSAT of the
// reports page (each group's meter at its share of 4–5) and a ticket's
// rating with the comment's player, which loads the recording.
func TestBrowserCSAT(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.survey("lotto2", "op2", 5, "")
	e.survey("lotto2", "op2", 4, "")
	e.clk.Advance(time.Hour)
	e.survey("lotto2", "op2", 2, "")
	e.survey("lotto3", "op3", 5, "")
	_, tk := e.survey("lotto3", "op3", 3, "survey-cmt-9")
	b := browsertest.New(t)
	browserLogin(t, b, e.ts.URL, "sup", "/reports")
	var meter, total string
	browsertest.Run(t, b, "the CSAT of the reports page",
		chromedp.WaitVisible(`[data-testid="csat-total"]`),
		chromedp.ScrollIntoView(`[data-testid="csat"]`),
		chromedp.AttributeValue(`[data-testid="csat-group"] [data-key="lotto2"] meter`, "value", &meter, nil),
		chromedp.Text(`[data-testid="csat-total"]`, &total))
	if meter != "0.667" || !strings.Contains(total, "60%") || !strings.Contains(total, "3.8") {
		t.Fatalf("lotto2's meter %q, total %q", meter, total)
	}
	browsertest.Screenshot(t, b, "reports-csat")
	var rating string
	var duration float64
	browsertest.Run(t, b, "the ticket's survey",
		chromedp.Navigate(fmt.Sprintf("%s/tickets/%d", e.ts.URL, tk.ID)),
		chromedp.WaitVisible(`[data-testid="survey-rating"]`),
		chromedp.Text(`[data-testid="survey-rating"]`, &rating),
		chromedp.ScrollIntoView(`[data-testid="surveys"]`),
		chromedp.Evaluate(`(async () => { const a = document.querySelector('[data-testid="survey-comment-audio"]');
			const r = await fetch(a.src); return (await r.arrayBuffer()).byteLength; })()`, &duration,
			func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if rating != "voto 3 su 5" || duration != float64(len("RIFFsurvey-cmt-9")) {
		t.Fatalf("rating %q, comment bytes %v", rating, duration)
	}
	browsertest.Screenshot(t, b, "ticket-survey")
}
