package api

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/helpdesk-ivr/ivr/internal/configstore"
	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/panel"
	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// TestOpenAPIDocument: the document is valid OpenAPI 3.1 and is what
// /openapi.json serves, without a token.
func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	doc := loadDoc()
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	r := e.do(http.MethodGet, "/openapi.json", "", nil)
	wantStatus(t, "document", r, http.StatusOK)
	if !bytes.Equal(r.body, OpenAPI()) {
		t.Fatal("the served document is not the embedded one")
	}
}

// TestRoutesDocumented: every method and route of the router is in the
// document, and every operation of the document is on the router.
func TestRoutesDocumented(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	doc := loadDoc()
	var onRouter, inDoc []string
	noErr(t, chi.Walk(e.api.Routes(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		onRouter = append(onRouter, method+" "+route)
		return nil
	}))
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			inDoc = append(inDoc, method+" "+path)
		}
	}
	slices.Sort(onRouter)
	slices.Sort(inDoc)
	if !slices.Equal(onRouter, inDoc) {
		t.Fatalf("the router and the document differ:\nrouter:   %v\ndocument: %v", onRouter, inDoc)
	}
	if len(onRouter) < 15 {
		t.Fatalf("only %d routes walked: %v", len(onRouter), onRouter)
	}
}

// TestProblemOf: domain errors of every package become problems with the
// status of fault.HTTPStatus and their own safe message; SQL never shows.
func TestProblemOf(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err    error
		status int
		code   string
		detail string
	}{
		{fmt.Errorf("find ticket: %w", &fault.Error{Code: fault.ENOTFOUND, Message: "ticket 3 not found"}), 404, "not_found", "ticket 3 not found"},
		{fmt.Errorf("x: %w", &tickets.TransitionError{From: tickets.StatusNew, To: tickets.StatusNew}), 400, "invalid", "invalid status transition from new to new"},
		{fmt.Errorf("x: %w", &fault.Error{Code: fault.ECONFLICT, Message: "busy"}), 409, "conflict", "busy"},
		{fmt.Errorf("x: %w", fault.ErrUnauthorized), 401, "unauthorized", ""},
		{fmt.Errorf("select: ERROR: relation \"secret\" (SQLSTATE 42P01)"), 500, "internal", ""},
		{&fault.Error{Code: fault.EINTERNAL, Message: "SQL text"}, 500, "internal", ""},
		{fault.Errorf(fault.ERATELIMITED, "slow down"), 429, "rate_limited", "slow down"},
	} {
		p := problemOf(c.err)
		if p.Status != c.status || p.Code != c.code || p.Detail != c.detail {
			t.Errorf("%v: %+v, want %d %s %q", c.err, p, c.status, c.code, c.detail)
		}
	}
}

// TestTokenRefused: no token, a malformed or unknown one, an expired one, a
// revoked one and one of a disabled user are 401 problems.
func TestTokenRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	good := e.token("sup", panel.ScopeRead)
	wantStatus(t, "good token", e.do(http.MethodGet, "/tickets", good, nil), http.StatusOK)
	for _, tok := range []string{"", "ivrt_short", strings.Replace(good, "ivrt_", "ivrt_x", 1)[:len(good)], good[:len(good)-2] + "AA"} {
		r := e.do(http.MethodGet, "/tickets", tok, nil)
		r.problem(t, http.StatusUnauthorized, "unauthorized")
		if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("no WWW-Authenticate: %v", r.header)
		}
	}
	r := e.do(http.MethodGet, "/tickets", "", nil, "Authorization", "Basic "+good)
	r.problem(t, http.StatusUnauthorized, "unauthorized")

	// Revoked.
	revoked, tok, err := e.tokens.Create(ctx, panel.NewToken{Name: "r", Login: "sup", Scope: panel.ScopeRead,
		ExpiresAt: e.clk.Now().Add(time.Hour), CreatedBy: "adm"})
	noErr(t, err)
	wantStatus(t, "before revocation", e.do(http.MethodGet, "/tickets", revoked, nil), http.StatusOK)
	_, err = e.tokens.Revoke(ctx, tok.ID, "adm")
	noErr(t, err)
	e.do(http.MethodGet, "/tickets", revoked, nil).problem(t, http.StatusUnauthorized, "unauthorized")

	// A disabled user's token.
	op := e.token("op3", panel.ScopeRead)
	noErr(t, e.users.SetDisabled(ctx, "op3", true))
	e.do(http.MethodGet, "/tickets", op, nil).problem(t, http.StatusUnauthorized, "unauthorized")

	// Expired: the token lives a day.
	e.clk.Advance(24*time.Hour + time.Second)
	e.do(http.MethodGet, "/tickets", good, nil).problem(t, http.StatusUnauthorized, "unauthorized")
}

// TestScopes: a read token reads and cannot write; write and admin tokens
// write, and every write is in the audit log with the token.
func TestScopes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	read, write, admin := e.token("adm", panel.ScopeRead), e.token("adm", panel.ScopeWrite), e.token("adm", panel.ScopeAdmin)
	_, tk := e.openCall("lotto2", "+390612345678", "Stampante guasta")
	id := fmt.Sprint(tk.ID)
	newTicket := map[string]any{"subject": "Casella PEC piena", "group": "lotto3", "priority": "high", "description": "Da svuotare"}

	wantStatus(t, "read lists", e.do(http.MethodGet, "/tickets", read, nil), http.StatusOK)
	wantStatus(t, "read gets", e.do(http.MethodGet, "/tickets/"+id, read, nil), http.StatusOK)
	e.do(http.MethodPost, "/tickets", read, newTicket).problem(t, http.StatusForbidden, "forbidden")
	e.do(http.MethodPatch, "/tickets/"+id, read, map[string]any{"version": 1, "status": "in_progress"}).problem(t, http.StatusForbidden, "forbidden")
	e.do(http.MethodPost, "/tickets/"+id+"/articles", read, map[string]any{"kind": "public", "body": "x"}).problem(t, http.StatusForbidden, "forbidden")
	e.do(http.MethodPut, "/operators/op2/state", read, map[string]any{"state": "available"}).problem(t, http.StatusForbidden, "forbidden")

	for i, tok := range []string{write, admin} {
		r := e.do(http.MethodPost, "/tickets", tok, newTicket)
		wantStatus(t, "create", r, http.StatusCreated)
		var created ticketJSON
		r.json(t, &created)
		if created.Subject != "Casella PEC piena" || created.Group != "lotto3" || created.Priority != "high" ||
			created.Source != "panel" || created.Status != "new" || !strings.HasPrefix(string(created.Number), "20251124") {
			t.Fatalf("created %+v", created)
		}
		if loc := r.header.Get("Location"); loc != fmt.Sprintf("%s/tickets/%d", Prefix, created.ID) {
			t.Fatalf("Location %q", loc)
		}
		n, err := tickets.ParseNumber(created.Number)
		noErr(t, err)
		if _, err := e.store.FindTicketByNumber(ctx, n, tickets.Viewer{Kind: tickets.ViewerSystem}); err != nil {
			t.Fatalf("the store does not find %s: %v", created.Number, err)
		}
		r = e.do(http.MethodPatch, fmt.Sprintf("/tickets/%d", created.ID), tok, map[string]any{"version": 1,
			"status": "in_progress", "assignee": "op3", "priority": "critical"})
		wantStatus(t, "update", r, http.StatusOK)
		var upd ticketJSON
		r.json(t, &upd)
		if upd.Status != "in_progress" || upd.Assignee != "op3" || upd.Priority != "critical" || upd.Version != 2 {
			t.Fatalf("updated %+v", upd)
		}
		r = e.do(http.MethodPost, fmt.Sprintf("/tickets/%d/articles", created.ID), tok,
			map[string]any{"kind": []string{"public", "internal"}[i], "body": "Svuotata la casella."})
		wantStatus(t, "article", r, http.StatusCreated)
	}
	// The history says who: the token's user.
	var d struct {
		History []changeJSON `json:"history"`
	}
	r := e.do(http.MethodGet, "/tickets?q=Casella", read, nil)
	var page ticketPage
	r.json(t, &page)
	if len(page.Tickets) != 2 {
		t.Fatalf("search found %d tickets", len(page.Tickets))
	}
	var byNumber ticketPage
	e.do(http.MethodGet, "/tickets?number="+string(page.Tickets[0].Number), read, nil).json(t, &byNumber)
	if len(byNumber.Tickets) != 1 || byNumber.Tickets[0].ID != page.Tickets[0].ID {
		t.Fatalf("by number: %+v", byNumber)
	}
	bad := []byte(page.Tickets[0].Number)
	bad[len(bad)-1] = '0' + (bad[len(bad)-1]-'0'+1)%10
	e.do(http.MethodGet, "/tickets?number="+string(bad), read, nil).problem(t, http.StatusBadRequest, "invalid")
	e.do(http.MethodGet, fmt.Sprintf("/tickets/%d", page.Tickets[0].ID), read, nil).json(t, &d)
	if len(d.History) == 0 || d.History[0].Actor != "adm" || d.History[0].ActorKind != "supervisor" {
		t.Fatalf("history %+v", d.History)
	}
	var arts struct {
		Articles []articleJSON `json:"articles"`
	}
	e.do(http.MethodGet, fmt.Sprintf("/tickets/%d/articles", page.Tickets[0].ID), read, nil).json(t, &arts)
	if len(arts.Articles) != 1 || arts.Articles[0].Body != "Svuotata la casella." {
		t.Fatalf("articles %+v", arts.Articles)
	}

	// The audit log: six writes, each with its token.
	rows, err := e.pool.Query(ctx, `SELECT a.action, a.login, a.via, t.scope FROM audit_log a JOIN api_tokens t ON t.id = a.token_id ORDER BY a.id`)
	noErr(t, err)
	var got []string
	for rows.Next() {
		var action, login, via, scope string
		noErr(t, rows.Scan(&action, &login, &via, &scope))
		got = append(got, strings.Join([]string{action, login, via, scope}, " "))
	}
	noErr(t, rows.Err())
	want := []string{"ticket.create adm api write", "ticket.update adm api write", "ticket.article adm api write",
		"ticket.create adm api admin", "ticket.update adm api admin", "ticket.article adm api admin"}
	if !slices.Equal(got, want) {
		t.Fatalf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if e.changed.Load() != 6 {
		t.Fatalf("Changed called %d times, want 6", e.changed.Load())
	}
}

// TestGroups: an operator's token sees the tickets, calls, queues and
// reports of the operator's groups only, and cannot write elsewhere; a
// token restricted to groups narrows its user's view; an operator's token
// restricted to a group the operator is not in sees nothing.
func TestGroups(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c2, mine := e.openCall("lotto2", "+390612345678", "Mia")
	c3, theirs := e.openCall("lotto3", "+390698765432", "Altrui")
	op2 := e.token("op2", panel.ScopeWrite)
	sup3 := e.token("sup", panel.ScopeWrite, "lotto3")
	op2in3 := e.token("op2", panel.ScopeWrite, "lotto3")

	list := func(tok string) []string {
		var p ticketPage
		e.do(http.MethodGet, "/tickets", tok, nil).json(t, &p)
		var out []string
		for _, x := range p.Tickets {
			out = append(out, x.Subject)
		}
		return out
	}
	if got := list(op2); !slices.Equal(got, []string{"Mia"}) {
		t.Fatalf("op2 lists %v", got)
	}
	if got := list(sup3); !slices.Equal(got, []string{"Altrui"}) {
		t.Fatalf("sup restricted to lotto3 lists %v", got)
	}
	if got := list(op2in3); len(got) != 0 {
		t.Fatalf("op2 restricted to lotto3 lists %v", got)
	}
	var byNumber ticketPage
	e.do(http.MethodGet, "/tickets?number="+string(theirs.Number), op2, nil).json(t, &byNumber)
	if len(byNumber.Tickets) != 0 {
		t.Fatalf("op2 finds another group's ticket by its number: %+v", byNumber)
	}
	for _, c := range []struct {
		tok  string
		path string
	}{{op2, fmt.Sprintf("/tickets/%d", theirs.ID)}, {sup3, fmt.Sprintf("/tickets/%d", mine.ID)},
		{op2, fmt.Sprintf("/tickets/%d/articles", theirs.ID)}, {op2, fmt.Sprintf("/calls/%d", c3.ID)},
		{sup3, fmt.Sprintf("/calls/%d", c2.ID)}, {op2in3, fmt.Sprintf("/calls/%d", c2.ID)},
		{op2, "/reports?group=lotto3"}, {op2, "/reports.csv?group=lotto3"}, {op2, "/tickets/999999"}} {
		e.do(http.MethodGet, c.path, c.tok, nil).problem(t, http.StatusNotFound, "not_found")
	}
	wantStatus(t, "own call", e.do(http.MethodGet, fmt.Sprintf("/calls/%d", c2.ID), op2, nil), http.StatusOK)
	e.do(http.MethodPatch, fmt.Sprintf("/tickets/%d", theirs.ID), op2, map[string]any{"version": 1, "status": "closed"}).
		problem(t, http.StatusNotFound, "not_found")
	e.do(http.MethodPost, fmt.Sprintf("/tickets/%d/articles", theirs.ID), op2, map[string]any{"kind": "public", "body": "x"}).
		problem(t, http.StatusNotFound, "not_found")
	e.do(http.MethodPost, "/tickets", op2, map[string]any{"subject": "x", "group": "lotto3"}).problem(t, http.StatusForbidden, "forbidden")
	e.do(http.MethodGet, "/tickets?group=lotto3", op2, nil).problem(t, http.StatusBadRequest, "invalid")
	e.do(http.MethodGet, "/calls?group=lotto3", op2, nil).problem(t, http.StatusBadRequest, "invalid")

	var calls callPage
	e.do(http.MethodGet, "/calls", op2, nil).json(t, &calls)
	if len(calls.Calls) != 1 || calls.Calls[0].ID != c2.ID {
		t.Fatalf("op2's calls: %+v", calls.Calls)
	}
	var qs struct {
		Queues []queueJSON `json:"queues"`
	}
	e.do(http.MethodGet, "/queues", op2, nil).json(t, &qs)
	if len(qs.Queues) != 1 || qs.Queues[0].Group != "lotto2" || qs.Queues[0].Name != "Lotto 2 – Area Nord" {
		t.Fatalf("op2's queues: %+v", qs.Queues)
	}
	e.do(http.MethodGet, "/queues", sup3, nil).json(t, &qs)
	if len(qs.Queues) != 1 || qs.Queues[0].Group != "lotto3" {
		t.Fatalf("sup's lotto3 queues: %+v", qs.Queues)
	}
	// Operators are for supervisors: an operator's token is refused, a
	// supervisor's restricted to lotto3 sees op3 only and cannot force op2.
	e.do(http.MethodGet, "/operators", op2, nil).problem(t, http.StatusForbidden, "forbidden")
	e.do(http.MethodPut, "/operators/op2/state", op2, map[string]any{"state": "available"}).problem(t, http.StatusForbidden, "forbidden")
	var ops struct {
		Operators []operatorJSON `json:"operators"`
	}
	e.do(http.MethodGet, "/operators", sup3, nil).json(t, &ops)
	if len(ops.Operators) != 1 || ops.Operators[0].Login != "op3" {
		t.Fatalf("sup's lotto3 operators: %+v", ops.Operators)
	}
	e.do(http.MethodPut, "/operators/op2/state", sup3, map[string]any{"state": "available"}).problem(t, http.StatusNotFound, "not_found")
}

// TestTicketsPagination: pages follow each other by their cursor, in
// creation order newest first, without repeats, with the filters kept.
func TestTicketsPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.token("sup", panel.ScopeRead)
	var want []int64
	for i := range 7 {
		_, tk := e.openCall("lotto2", "+390612345678", fmt.Sprintf("Richiesta %d", i))
		want = append([]int64{tk.ID}, want...)
		e.clk.Advance(time.Second)
	}
	e.openCall("lotto3", "+390612345678", "Altro gruppo")
	var got []int64
	path := "/tickets?group=lotto2&limit=3"
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("more pages than tickets")
		}
		r := e.do(http.MethodGet, path, tok, nil)
		wantStatus(t, path, r, http.StatusOK)
		var p ticketPage
		r.json(t, &p)
		if p.Total != 7 {
			t.Fatalf("total %d", p.Total)
		}
		for _, x := range p.Tickets {
			got = append(got, x.ID)
		}
		if p.Next == nil {
			if r.header.Get("Link") != "" {
				t.Fatalf("a Link on the last page: %s", r.header.Get("Link"))
			}
			break
		}
		if len(p.Tickets) != 3 || !strings.Contains(r.header.Get("Link"), `rel="next"`) {
			t.Fatalf("page of %d, Link %q", len(p.Tickets), r.header.Get("Link"))
		}
		path = "/tickets?group=lotto2&limit=3&after=" + *p.Next
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages gave %v, want %v", got, want)
	}
	e.do(http.MethodGet, "/tickets?limit=0", tok, nil).problem(t, http.StatusBadRequest, "invalid")
	e.do(http.MethodGet, "/tickets?limit=501", tok, nil).problem(t, http.StatusBadRequest, "invalid")
	e.do(http.MethodGet, "/tickets?status=open", tok, nil).problem(t, http.StatusBadRequest, "invalid")
	e.do(http.MethodGet, "/tickets?from=ieri", tok, nil).problem(t, http.StatusBadRequest, "invalid")

	// Calls page the same way.
	var calls []int64
	path = "/calls?limit=5"
	for pages := 0; pages < 3; pages++ {
		var p callPage
		e.do(http.MethodGet, path, tok, nil).json(t, &p)
		for _, c := range p.Calls {
			calls = append(calls, c.ID)
		}
		if p.Next == nil {
			break
		}
		path = "/calls?limit=5&after=" + *p.Next
	}
	if len(calls) != 8 || slices.Compact(slices.Clone(calls)) == nil || !slices.IsSortedFunc(calls, func(a, b int64) int { return int(b - a) }) {
		t.Fatalf("calls paged as %v", calls)
	}
	e.do(http.MethodGet, "/calls?after=zzz", tok, nil).problem(t, http.StatusBadRequest, "invalid")
}

// TestProblems: what the API refuses, as problem details.
func TestProblems(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.token("sup", panel.ScopeWrite)
	_, tk := e.openCall("lotto2", "+390612345678", "Stampante")
	path := fmt.Sprintf("/tickets/%d", tk.ID)
	for _, c := range []struct {
		method, path string
		body         any
		status       int
		code, detail string
	}{
		{http.MethodPatch, path, `{"version": 1, "status": `, 400, "invalid", "malformed JSON body"},
		{http.MethodPatch, path, `{"version": 1, "colour": "red"}`, 400, "invalid", "unknown field"},
		{http.MethodPatch, path, `{"version": "1"}`, 400, "invalid", `field "version" has the wrong type`},
		{http.MethodPatch, path, `{"version": 1} {}`, 400, "invalid", "more than one value"},
		{http.MethodPatch, path, `{"status": "closed"}`, 400, "invalid", "version: required"},
		{http.MethodPatch, path, map[string]any{"version": 1, "status": "reopened"}, 400, "invalid", `status: unknown "reopened"`},
		{http.MethodPatch, path, map[string]any{"version": 1, "group": "lotto99"}, 400, "invalid", `group: unknown "lotto99"`},
		{http.MethodPatch, path, map[string]any{"version": 1, "assignee": "op3"}, 400, "invalid", "op3 does not work in group"},
		{http.MethodPatch, path, map[string]any{"version": 1, "subject": ""}, 400, "invalid", "subject: required"},
		{http.MethodPatch, path, map[string]any{"version": 7, "status": "waiting"}, 409, "conflict", ""},
		{http.MethodPatch, path, map[string]any{"version": 7}, 409, "conflict", "changed since"},
		{http.MethodPost, "/tickets", map[string]any{"group": "lotto2"}, 400, "invalid", "subject: required"},
		{http.MethodPost, "/tickets", map[string]any{"subject": "x", "group": "lotto2", "priority": "urgent"}, 400, "invalid", "priority"},
		{http.MethodPost, "/tickets", map[string]any{"subject": strings.Repeat("é", 201), "group": "lotto2"}, 400, "invalid", "at most 200"},
		{http.MethodPost, "/tickets", `{"subject": "x", "group": "lotto2", "description": "` + strings.Repeat("x", 70000) + `"}`, 413, "too_large", ""},
		{http.MethodPost, path + "/articles", map[string]any{"kind": "secret", "body": "x"}, 400, "invalid", "kind"},
		{http.MethodPost, path + "/articles", map[string]any{"kind": "public", "body": "a\x00b"}, 400, "invalid", "control"},
		{http.MethodGet, "/nowhere", nil, 404, "not_found", "no such route"},
		{http.MethodDelete, path, nil, 405, "method_not_allowed", ""},
		{http.MethodGet, "/tickets/abc", nil, 404, "not_found", ""},
		{http.MethodGet, "/reports?bucket=year", nil, 400, "invalid", "bucket"},
		{http.MethodGet, "/reports?from=2024-01-01&to=2025-12-31", nil, 400, "invalid", "at most 366 days"},
		{http.MethodGet, "/reports.csv?bucket=hour&from=2025-01-01&to=2025-03-01", nil, 400, "invalid", "at most 31 days"},
	} {
		r := e.do(c.method, c.path, tok, c.body)
		p := r.problem(t, c.status, c.code)
		if !strings.Contains(p.Detail, c.detail) {
			t.Errorf("%s %s: detail %q lacks %q", c.method, c.path, p.Detail, c.detail)
		}
		if strings.Contains(p.Detail, "SQL") || strings.Contains(p.Detail, "update ticket:") {
			t.Errorf("%s %s: detail %q leaks the wrapping", c.method, c.path, p.Detail)
		}
	}
	// The workflow's refusal says which transition.
	r := e.do(http.MethodPatch, path, tok, map[string]any{"version": 1, "status": "closed"})
	wantStatus(t, "close", r, http.StatusOK)
	r = e.do(http.MethodPatch, path, tok, map[string]any{"version": 2, "status": "waiting"})
	if p := r.problem(t, http.StatusBadRequest, "invalid"); p.Detail != "invalid status transition from closed to waiting" {
		t.Fatalf("transition detail %q", p.Detail)
	}
	// Not JSON.
	req := e.do(http.MethodPost, "/tickets", tok, nil, "Content-Type", "text/plain")
	req.problem(t, http.StatusUnsupportedMediaType, "unsupported_media_type")
}

// TestRateLimit: a token gets its quota per window, with the headers, then
// 429 with Retry-After until the window turns; another token is not
// affected.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *Options) { o.RateLimit, o.RateWindow = 3, time.Minute })
	a, b := e.token("sup", panel.ScopeRead), e.token("adm", panel.ScopeRead)
	for i := range 3 {
		r := e.do(http.MethodGet, "/tickets", a, nil)
		wantStatus(t, "within the quota", r, http.StatusOK)
		if p, l := r.header.Get("RateLimit-Policy"), r.header.Get("RateLimit"); p != `"token";q=3;w=60` || l != fmt.Sprintf(`"token";r=%d;t=%d`, 2-i, 60-10*i) {
			t.Fatalf("request %d: RateLimit-Policy %q, RateLimit %q", i, p, l)
		}
		e.clk.Advance(10 * time.Second)
	}
	r := e.do(http.MethodGet, "/tickets", a, nil)
	r.problem(t, http.StatusTooManyRequests, "rate_limited")
	if r.header.Get("Retry-After") != "30" || r.header.Get("RateLimit") != `"token";r=0;t=30` {
		t.Fatalf("Retry-After %q, RateLimit %q", r.header.Get("Retry-After"), r.header.Get("RateLimit"))
	}
	wantStatus(t, "another token", e.do(http.MethodGet, "/tickets", b, nil), http.StatusOK)
	e.clk.Advance(30 * time.Second)
	wantStatus(t, "the next window", e.do(http.MethodGet, "/tickets", a, nil), http.StatusOK)
}

// TestCalls: a call with its menu path, outcome, timeline and recording,
// which the API serves.
func TestCalls(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.token("op2", panel.ScopeRead)
	c, tk := e.openCall("lotto2", "+390612345678", "Richiesta")
	at := e.clk.Now()
	noErr(t, e.store.AppendCallEvents(ctx, c.ID,
		tickets.CallEvent{At: at, Kind: tickets.EventMenuSelection, Node: "root", Key: "1", Label: "Area Nord"},
		tickets.CallEvent{At: at.Add(time.Second), Kind: tickets.EventMenuSelection, Node: "lotto2", Key: "3", Label: "PEC"},
		tickets.CallEvent{At: at.Add(2 * time.Second), Kind: tickets.EventQueued, Group: "lotto2"}))
	noErr(t, e.store.FinishCall(ctx, c.ID, tickets.CallEnd{EndedAt: at.Add(time.Minute), Outcome: tickets.OutcomeMessageLeft,
		HangupBy: tickets.HangupCaller}))
	att, err := e.store.AddAttachment(ctx, tk.ID, tickets.Attachment{Name: "messaggio.wav", URI: "ari:recording:msg-1",
		ContentType: "audio/wav", Size: 1000, Duration: 5 * time.Second}, tickets.Actor{Kind: tickets.ActorSystem, ID: "ivr"})
	noErr(t, err)
	_, err = e.store.AddAttachment(ctx, tk.ID, tickets.Attachment{Name: "note.txt", URI: "file:///x", ContentType: "text/plain"},
		tickets.Actor{Kind: tickets.ActorSystem, ID: "ivr"})
	noErr(t, err)

	r := e.do(http.MethodGet, fmt.Sprintf("/calls/%d", c.ID), tok, nil)
	wantStatus(t, "call", r, http.StatusOK)
	var d callDetail
	r.json(t, &d)
	if d.Outcome != "message_left" || d.HangupBy != "caller" || d.TicketID == nil || *d.TicketID != tk.ID || d.EndedAt == nil {
		t.Fatalf("call %+v", d.callJSON)
	}
	if len(d.MenuPath) != 2 || d.MenuPath[0].Key != "1" || d.MenuPath[1].Label != "PEC" || len(d.Events) != 3 {
		t.Fatalf("menu path %+v, events %+v", d.MenuPath, d.Events)
	}
	wantURL := fmt.Sprintf("%s/tickets/%d/attachments/%d/content", Prefix, tk.ID, att.ID)
	if len(d.Recordings) != 1 || d.Recordings[0].URL == nil || *d.Recordings[0].URL != wantURL {
		t.Fatalf("recordings %+v", d.Recordings)
	}
	r = e.do(http.MethodGet, strings.TrimPrefix(wantURL, Prefix), tok, nil)
	wantStatus(t, "recording", r, http.StatusOK)
	if string(r.body) != "RIFFmsg-1" || r.header.Get("Content-Type") != "audio/wav" {
		t.Fatalf("recording %q (%s)", r.body, r.header.Get("Content-Type"))
	}
	e.do(http.MethodGet, fmt.Sprintf("/tickets/%d/attachments/%d/content", tk.ID, att.ID+1), tok, nil).problem(t, http.StatusNotFound, "not_found")
	other := e.token("op3", panel.ScopeRead)
	e.do(http.MethodGet, strings.TrimPrefix(wantURL, Prefix), other, nil).problem(t, http.StatusNotFound, "not_found")
	// The one recording served is in the audit log, with its token; the
	// refused requests are not.
	var audited int
	noErr(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'media.download' AND via = 'api'
		AND target = $1 AND detail = $2`, fmt.Sprintf("ticket:%d", tk.ID), fmt.Sprintf("attachment=%d name=messaggio.wav", att.ID)).Scan(&audited))
	if audited != 1 {
		t.Errorf("%d audit entries for the recording served, want 1", audited)
	}

	var list callPage
	e.do(http.MethodGet, "/calls?outcome=message_left&from=2025-11-24&to=2025-11-24", tok, nil).json(t, &list)
	if len(list.Calls) != 1 || list.Calls[0].ID != c.ID {
		t.Fatalf("filtered calls %+v", list.Calls)
	}
	e.do(http.MethodGet, "/calls?from=2025-11-25", tok, nil).json(t, &list)
	if len(list.Calls) != 0 {
		t.Fatalf("calls of the next day: %+v", list.Calls)
	}
}

// TestOperatorState: a supervisor's write token forces states as on the
// live page: an operator on a call only with confirm; the queues log who.
func TestOperatorState(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sup := e.token("sup", panel.ScopeWrite)
	r := e.do(http.MethodPut, "/operators/op2/state", sup, map[string]any{"state": "paused", "reason": "break"})
	wantStatus(t, "pause", r, http.StatusOK)
	var op operatorJSON
	r.json(t, &op)
	if op.State != "paused" || op.Reason != "break" {
		t.Fatalf("operator %+v", op)
	}
	e.do(http.MethodPut, "/operators/op2/state", sup, map[string]any{"state": "paused"}).problem(t, http.StatusBadRequest, "invalid")
	e.do(http.MethodPut, "/operators/op2/state", sup, map[string]any{"state": "on_call"}).problem(t, http.StatusBadRequest, "invalid")
	e.do(http.MethodPut, "/operators/nobody/state", sup, map[string]any{"state": "available"}).problem(t, http.StatusNotFound, "not_found")

	// On a call.
	noErr(t, e.queues.SetState(ctx, "op3", queues.Available, ""))
	_, err := e.queues.Enqueue(ctx, queues.Entry{CallID: "call-1", Group: "lotto3", Caller: "+390612345678"})
	noErr(t, err)
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	_, err = e.queues.WaitOffer(wctx, "call-1")
	noErr(t, err)
	_, err = e.queues.Answer(ctx, "call-1", "op3")
	noErr(t, err)
	e.do(http.MethodPut, "/operators/op3/state", sup, map[string]any{"state": "available"}).problem(t, http.StatusConflict, "conflict")
	r = e.do(http.MethodPut, "/operators/op3/state", sup, map[string]any{"state": "available", "confirm": true})
	wantStatus(t, "confirmed", r, http.StatusOK)
	log, err := e.queues.StateLog(ctx, "op3", 10)
	noErr(t, err)
	if len(log) == 0 || log[0].By != "sup" || log[0].From != queues.OnCall || log[0].To != queues.Available {
		t.Fatalf("state log %+v", log)
	}

	var ops struct {
		Operators []operatorJSON `json:"operators"`
	}
	e.do(http.MethodGet, "/operators?group=lotto2", sup, nil).json(t, &ops)
	if len(ops.Operators) != 1 || ops.Operators[0].Login != "op2" || ops.Operators[0].State != "paused" {
		t.Fatalf("operators %+v", ops.Operators)
	}
	var n int
	noErr(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'operator.state' AND login = 'sup' AND via = 'api'`).Scan(&n))
	if n != 2 {
		t.Fatalf("%d operator.state entries in the audit log, want 2", n)
	}
}

// TestReports: the panel's figures, as JSON and CSV, in the token's groups.
func TestReports(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, g := range []string{"lotto2", "lotto2", "lotto3"} {
		c, _ := e.openCall(g, "+390612345678", "x")
		q := e.clk.Now()
		noErr(t, e.store.UpdateCall(ctx, c.ID, tickets.CallUpdate{QueuedAt: &q, Group: &g}))
		a := q.Add(10 * time.Second)
		noErr(t, e.store.UpdateCall(ctx, c.ID, tickets.CallUpdate{OperatorAnsweredAt: &a}))
		noErr(t, e.store.FinishCall(ctx, c.ID, tickets.CallEnd{EndedAt: a.Add(time.Minute), Outcome: tickets.OutcomeAnswered,
			HangupBy: tickets.HangupCaller}))
	}
	e.clk.Advance(2 * time.Hour)
	var rep reportJSON
	e.do(http.MethodGet, "/reports", e.token("sup", panel.ScopeRead), nil).json(t, &rep)
	if rep.Total.Offered != 3 || rep.Total.Answered != 3 || rep.Total.ASASeconds != 10 || rep.From != "2025-11-18" || rep.To != "2025-11-24" {
		t.Fatalf("supervisor's report %+v", rep)
	}
	op2 := e.token("op2", panel.ScopeRead)
	e.do(http.MethodGet, "/reports?bucket=hour", op2, nil).json(t, &rep)
	if rep.Total.Offered != 2 || len(rep.Rows) != 1 || rep.Rows[0].Group != "lotto2" || rep.Rows[0].ServiceLevel != 1 {
		t.Fatalf("op2's report %+v", rep)
	}
	r := e.do(http.MethodGet, "/reports.csv?from=2025-11-24&to=2025-11-24", op2, nil)
	wantStatus(t, "csv", r, http.StatusOK)
	lines := strings.Split(strings.TrimSpace(string(r.body)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "period_start,group,offered") || !strings.Contains(lines[1], ",lotto2,2,2,0,2,100.0,10.0,60.0") {
		t.Fatalf("csv:\n%s", r.body)
	}
	var none reportJSON
	e.do(http.MethodGet, "/reports", e.token("op2", panel.ScopeRead, "lotto3"), nil).json(t, &none)
	if len(none.Rows) != 0 || none.Total.Offered != 0 {
		t.Fatalf("a token of no group sees %+v", none)
	}
}

// TestTokenRoutes: an administrator's admin token creates, lists and
// revokes tokens; the secret is in the creation's answer only; a write
// token, an admin token of a user no longer administrator, and a token
// restricted to groups asking for more are refused.
func TestTokenRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.token("adm", panel.ScopeAdmin)
	e.do(http.MethodGet, "/tokens", e.token("adm", panel.ScopeWrite), nil).problem(t, http.StatusForbidden, "forbidden")
	r := e.do(http.MethodPost, "/tokens", admin, map[string]any{"name": "Zammad", "user": "op2", "scope": "write",
		"groups": []string{"lotto2"}, "days": 30})
	wantStatus(t, "create", r, http.StatusCreated)
	var created tokenJSON
	r.json(t, &created)
	if created.User != "op2" || created.Scope != "write" || created.Secret == "" || !created.ExpiresAt.Equal(e.clk.Now().Add(30*24*time.Hour)) {
		t.Fatalf("created %+v", created)
	}
	wantStatus(t, "the new token works", e.do(http.MethodGet, "/tickets", created.Secret, nil), http.StatusOK)
	r = e.do(http.MethodGet, "/tokens", admin, nil)
	if strings.Contains(string(r.body), created.Secret) || !strings.Contains(string(r.body), "Zammad") {
		t.Fatalf("list:\n%s", r.body)
	}
	e.do(http.MethodPost, "/tokens", admin, map[string]any{"name": "x", "user": "sup", "scope": "admin", "days": 3}).
		problem(t, http.StatusBadRequest, "invalid")
	e.do(http.MethodPost, "/tokens", admin, map[string]any{"name": "x", "user": "sup", "scope": "read", "days": 0}).
		problem(t, http.StatusBadRequest, "invalid")
	e.do(http.MethodPost, "/tokens", admin, map[string]any{"name": "x", "user": "sup", "scope": "read", "days": 3, "groups": []string{"lotto99"}}).
		problem(t, http.StatusBadRequest, "invalid")
	narrow := e.token("adm", panel.ScopeAdmin, "lotto2")
	e.do(http.MethodPost, "/tokens", narrow, map[string]any{"name": "x", "user": "sup", "scope": "read", "days": 3}).
		problem(t, http.StatusForbidden, "forbidden")
	wantStatus(t, "narrow within", e.do(http.MethodPost, "/tokens", narrow,
		map[string]any{"name": "x", "user": "sup", "scope": "read", "days": 3, "groups": []string{"lotto2"}}), http.StatusCreated)
	e.do(http.MethodGet, "/tokens", narrow, nil).problem(t, http.StatusForbidden, "forbidden")

	r = e.do(http.MethodDelete, fmt.Sprintf("/tokens/%d", created.ID), admin, nil)
	wantStatus(t, "revoke", r, http.StatusOK)
	e.do(http.MethodGet, "/tickets", created.Secret, nil).problem(t, http.StatusUnauthorized, "unauthorized")
	e.do(http.MethodDelete, fmt.Sprintf("/tokens/%d", created.ID), admin, nil).problem(t, http.StatusNotFound, "not_found")

	// The user is no longer an administrator: the admin token is not one.
	_, err := e.pool.Exec(ctx, `UPDATE panel_users SET role = 'supervisor' WHERE login = 'adm'`)
	noErr(t, err)
	e.do(http.MethodGet, "/tokens", admin, nil).problem(t, http.StatusForbidden, "forbidden")
}

// TestConfigVersions: an administrator's admin token publishes a
// configuration, validated first (every problem with its line), kept as a
// version the administrators read; ivrd's refusal keeps nothing; other
// tokens are refused.
func TestConfigVersions(t *testing.T) {
	t.Parallel()
	var published [][]byte
	e := newEnv(t, func(o *Options) {
		o.Publish = func(ctx context.Context, p configstore.Publication) (configstore.Version, error) {
			if bytes.Contains(p.Source, []byte("refused by the queues")) {
				return configstore.Version{}, Invalid("operator queues: refused")
			}
			published = append(published, p.Source)
			return configstore.New(o.Pool, configstore.Options{}).Publish(ctx, p)
		}
	})
	src, err := os.ReadFile("../configs/helpdesk.yaml")
	noErr(t, err)
	changed := bytes.Replace(src, []byte(`"Lotto 2 – Area Nord"`), []byte(`"Lotto 2 – Nord"`), 1)
	admin, read := e.token("adm", panel.ScopeAdmin), e.token("adm", panel.ScopeRead)
	yaml := func(tok string, body []byte, headers ...string) response {
		return e.do(http.MethodPost, "/config/versions", tok, body, append([]string{"Content-Type", "application/yaml"}, headers...)...)
	}
	yaml(read, changed).problem(t, http.StatusForbidden, "forbidden")
	yaml(e.token("sup", panel.ScopeWrite), changed).problem(t, http.StatusForbidden, "forbidden")
	e.do(http.MethodPost, "/config/versions", admin, changed).problem(t, http.StatusUnsupportedMediaType, "unsupported_media_type")
	bad := bytes.Replace(src, []byte("groups:"), []byte("groupz:"), 1)
	if p := yaml(admin, bad).problem(t, http.StatusBadRequest, "invalid"); !strings.Contains(p.Detail, "published.yaml:") {
		t.Fatalf("problems without their place: %q", p.Detail)
	}
	yaml(admin, append(slices.Clone(changed), []byte("\n# refused by the queues\n")...)).problem(t, http.StatusBadRequest, "invalid")
	if len(published) != 0 {
		t.Fatalf("%d refused configurations published", len(published))
	}

	r := yaml(admin, changed, "X-Note", "nome del lotto 2")
	wantStatus(t, "publish", r, http.StatusCreated)
	var v configVersionJSON
	r.json(t, &v)
	if len(published) != 1 || !bytes.Equal(published[0], changed) || v.Note != "nome del lotto 2" || v.PublishedBy != "adm" || v.Size != len(changed) {
		t.Fatalf("published %d, version %+v", len(published), v)
	}
	// The panel's drafts are not versions of the API.
	draft, err := configstore.New(e.pool, configstore.Options{}).SaveDraft(ctx, configstore.DraftChange{Source: src, By: "adm"})
	noErr(t, err)
	e.do(http.MethodGet, fmt.Sprintf("/config/versions/%d", draft.ID), read, nil).problem(t, http.StatusNotFound, "not_found")
	var list struct {
		Versions []configVersionJSON `json:"versions"`
	}
	e.do(http.MethodGet, "/config/versions", read, nil).json(t, &list)
	if len(list.Versions) != 1 || list.Versions[0].ID != v.ID || list.Versions[0].Source != nil {
		t.Fatalf("versions %+v", list.Versions)
	}
	var one configVersionJSON
	e.do(http.MethodGet, r.header.Get("Location")[len(Prefix):], read, nil).json(t, &one)
	if one.Source == nil || *one.Source != string(changed) || one.SHA256 != v.SHA256 {
		t.Fatalf("version %d: %+v", v.ID, one.SHA256)
	}
	e.do(http.MethodGet, "/config/versions", e.token("sup", panel.ScopeRead), nil).problem(t, http.StatusForbidden, "forbidden")
	e.do(http.MethodGet, "/config/versions/999", read, nil).problem(t, http.StatusNotFound, "not_found")
	var n int
	noErr(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'config.publish'`).Scan(&n))
	if n != 1 {
		t.Fatalf("%d config.publish entries", n)
	}

	// Without Options.Publish, nothing is published.
	e2 := newEnv(t)
	yaml2 := e2.do(http.MethodPost, "/config/versions", e2.token("adm", panel.ScopeAdmin), changed, "Content-Type", "application/yaml")
	yaml2.problem(t, http.StatusNotFound, "not_found")
}

// TestTicketCategories: with categories in the configuration, a ticket is
// created and changed with one of them only.
func TestTicketCategories(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.token("adm", panel.ScopeWrite)
	r := e.do(http.MethodPost, "/tickets", tok, map[string]any{"subject": "PCT lento", "group": "lotto2", "category": "applicativi/pct"})
	wantStatus(t, "create with a category", r, http.StatusCreated)
	var created ticketJSON
	r.json(t, &created)
	if created.Category != "applicativi/pct" {
		t.Fatalf("created %+v", created)
	}
	p := e.do(http.MethodPost, "/tickets", tok, map[string]any{"subject": "x", "group": "lotto2", "category": "Stampante"}).
		problem(t, http.StatusBadRequest, "invalid")
	if !strings.Contains(p.Detail, "not one of the configured categories") {
		t.Fatalf("detail %q", p.Detail)
	}
	path := fmt.Sprintf("/tickets/%d", created.ID)
	e.do(http.MethodPatch, path, tok, map[string]any{"version": 1, "category": "pct"}).problem(t, http.StatusBadRequest, "invalid")
	r = e.do(http.MethodPatch, path, tok, map[string]any{"version": 1, "category": "stampa"})
	wantStatus(t, "change to another", r, http.StatusOK)
	r = e.do(http.MethodPatch, path, tok, map[string]any{"version": 2, "category": ""})
	wantStatus(t, "clear", r, http.StatusOK)
}
