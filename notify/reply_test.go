package notify_test

import (
	"mime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/notify"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// TestPublicMessageMailed: a public message written by staff is mailed to
// the ticket's Administration with the ticket's tag and threaded under its
// opening notice; an internal note and the caller's own message never
// are. Once the caller has written by mail, answers go to them, in their
// language, answering their mail.
func TestPublicMessageMailed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	s := e.sender(t, nil)
	tk := e.open(t, tickets.NewCall{Organization: "giustizia", Subject: "Casella PEC bloccata"})
	sendAll(t, s, 1) // the opening notice
	if !e.notifier.WantsMessage(tickets.Article{Body: "x"}) || e.notifier.WantsMessage(tickets.Article{Internal: true, Body: "x"}) {
		t.Error("WantsMessage: want public messages only")
	}

	e.clk.Advance(time.Minute)
	if _, err := e.store.AddArticle(ctx, tk.ID, tickets.Article{Internal: true, Body: "password di servizio: segreta"}, operator); err != nil {
		t.Fatal(err)
	}
	caller := tickets.Actor{Kind: tickets.ActorCaller, ID: "+390612345678"}
	if _, err := e.store.AddArticle(ctx, tk.ID, tickets.Article{Body: "Messaggio del chiamante"}, caller); err != nil {
		t.Fatal(err)
	}
	sendAll(t, s, 0)
	a, err := e.store.AddArticle(ctx, tk.ID, tickets.Article{Body: "Abbiamo sbloccato la casella."}, operator)
	if err != nil {
		t.Fatal(err)
	}
	sendAll(t, s, 1)
	msgs := e.server.messages()
	m := msgs[len(msgs)-1]
	root := "<ticket." + string(tk.Number) + "@helpdesk.test>"
	id := "<ticket." + string(tk.Number) + ".a" + itoa(a.ID) + "@helpdesk.test>"
	switch {
	case strings.Join(m.To, ",") != "referente@giustizia.it,ced@giustizia.it":
		t.Errorf("to %v", m.To)
	case m.Msg.Header.Get("Message-Id") != id:
		t.Errorf("Message-ID %q, want %q", m.Msg.Header.Get("Message-Id"), id)
	case m.Msg.Header.Get("In-Reply-To") != root || m.Msg.Header.Get("References") != root:
		t.Errorf("In-Reply-To %q References %q, want %s", m.Msg.Header.Get("In-Reply-To"), m.Msg.Header.Get("References"), root)
	case !strings.HasPrefix(decodeSubject(m.Msg.Header.Get("Subject")), "[Ticket#"+string(tk.Number)+"] Re: Casella PEC bloccata"):
		t.Errorf("subject %q", decodeSubject(m.Msg.Header.Get("Subject")))
	case m.Msg.Header.Get("Auto-Submitted") != "" || msgs[0].Msg.Header.Get("Auto-Submitted") != "auto-generated":
		// A person's answer is no automatic mail; the notices are.
		t.Errorf("Auto-Submitted %q, the notice's %q", m.Msg.Header.Get("Auto-Submitted"), msgs[0].Msg.Header.Get("Auto-Submitted"))
	case !strings.Contains(m.Body, "Abbiamo sbloccato la casella.") || strings.Contains(m.Body, "segreta") ||
		!strings.Contains(m.Body, "Richiesta "+string(tk.Number)):
		t.Errorf("body:\n%s", m.Body)
	}

	// The caller writes by mail in English (package mailin records it).
	if ok, err := notify.RecordInbound(ctx, e.pool, tk.ID, "<x1@example.org>", "john@example.org", "en", true, e.clk.Now()); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if ok, _ := notify.RecordInbound(ctx, e.pool, tk.ID, "<x1@example.org>", "john@example.org", "en", true, e.clk.Now()); ok {
		t.Error("the same Message-ID recorded twice")
	}
	a2, err := e.store.AddArticle(ctx, tk.ID, tickets.Article{Body: "Please try again now."}, operator)
	if err != nil {
		t.Fatal(err)
	}
	sendAll(t, s, 1)
	msgs = e.server.messages()
	m = msgs[len(msgs)-1]
	if strings.Join(m.To, ",") != "john@example.org" || m.Msg.Header.Get("In-Reply-To") != "<x1@example.org>" ||
		m.Msg.Header.Get("References") != root+" "+id+" <x1@example.org>" || !strings.Contains(m.Body, "Request "+string(tk.Number)) {
		t.Errorf("answer to the mail: to %v, In-Reply-To %q, References %q:\n%s", m.To, m.Msg.Header.Get("In-Reply-To"),
			m.Msg.Header.Get("References"), m.Body)
	}
	got, ok, err := notify.TicketOfMessages(ctx, e.pool, []string{"<unknown@x>", "<ticket." + string(tk.Number) + ".a" + itoa(a2.ID) + "@helpdesk.test>"})
	if err != nil || !ok || got != tk.ID {
		t.Errorf("TicketOfMessages = %d, %v, %v; want %d", got, ok, err, tk.ID)
	}
	if n, own := e.notifier.OwnMessageID(id); !own || n != tk.Number {
		t.Errorf("OwnMessageID(%s) = %q, %v", id, n, own)
	}
	for _, other := range []string{"<ticket." + string(tk.Number) + "@elsewhere.test>", "<x1@example.org>", "<ticket.2025112200175@helpdesk.test>"} {
		if _, own := e.notifier.OwnMessageID(other); own {
			t.Errorf("OwnMessageID(%s): ours", other)
		}
	}
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

func decodeSubject(s string) string {
	d, err := new(mime.WordDecoder).DecodeHeader(s)
	if err != nil {
		return s
	}
	return d
}
