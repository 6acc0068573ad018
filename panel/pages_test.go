package panel

import (
	"fmt"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// untranslated finds catalogue keys or fmt mistakes left in a page.
var untranslated = regexp.MustCompile(`>[^<]*\b((status|priority|phase|caller|opstate|role|source|wb|ticket|tickets|console|live|config|users|reports|field|reason|err|msg|nav|login|article|history|filter|afterhours|recording|attachment|day|lang|app|queues|tokens|audit|portal)\.[a-z_0-9]+)\b|%!`)

// TestPagesTranslated renders every page with data in both languages and
// looks for untranslated keys and formatting mistakes.
func TestPagesTranslated(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"<td>status.in_progress</td>", "<p>Stato: phase.queue</p>", "<td>%!d(string=x)</td>"} {
		if !untranslated.MatchString(bad) {
			t.Fatalf("the check misses %q", bad)
		}
	}
	e := newEnv(t)
	call, tk := e.openTicket("lotto2", "+390612345678", "Stampante")
	_, err := e.store.AddArticle(ctx, tk.ID, tickets.Article{Body: "nota", Internal: true}, ivrActor)
	noErr(t, err)
	_, err = e.store.AddAttachment(ctx, tk.ID, tickets.Attachment{Name: "m.wav", URI: "ari:recording:m"}, ivrActor)
	noErr(t, err)
	due := t0.Add(time.Hour)
	_, err = e.store.UpdateTicket(ctx, tk.ID, tickets.TicketUpdate{Version: 1, Status: ptr(tickets.StatusInProgress), DueAt: &due,
		Source: ptr(tickets.SourceAfterHours)}, ivrActor)
	noErr(t, err)
	q := e.clk.Now()
	noErr(t, e.store.UpdateCall(ctx, call.ID, tickets.CallUpdate{QueuedAt: &q, Group: ptr("lotto2")}))
	noErr(t, e.queues.SetState(ctx, "op2", queues.Paused, queues.ReasonTraining))
	e.live.set(LiveCall{CallID: "x", Caller: "+39061", Role: "user", Phase: PhaseRinging, Group: "lotto2", Started: t0, Since: t0})
	_, tok, err := e.srv.Tokens().Create(ctx, NewToken{Name: "crm", Login: "op2", Scope: ScopeWrite, Groups: []string{"lotto2"},
		ExpiresAt: t0.Add(time.Hour), CreatedBy: "adm"})
	noErr(t, err)
	_, err = e.srv.Tokens().Revoke(ctx, tok.ID, "adm")
	noErr(t, err)
	noErr(t, e.srv.Audit().Record(ctx, nil, AuditEntry{Login: "adm", Via: ViaAPI, TokenID: tok.ID, Action: "x", Target: "y"}))
	for _, l := range Languages {
		for _, login := range []string{"adm", "op2"} {
			c := e.login(login)
			c.post("/lang", url.Values{"lang": {l}})
			for _, path := range []string{"/wallboard", "/live", "/console", "/tickets", fmt.Sprintf("/tickets/%d", tk.ID),
				"/after-hours", "/reports", "/config", "/admin/users", "/tickets/0", "/console?msg=busy", "/admin/tokens",
				"/admin/tokens?msg=token_revoked", "/admin/audit"} {
				r := c.get(path)
				if m := untranslated.FindString(r.body); m != "" {
					t.Errorf("%s %s as %s: %q", l, path, login, m)
				}
			}
		}
	}
}
