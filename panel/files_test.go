package panel

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// fakeFiles serves two mail attachments.
type fakeFiles struct{}

func (fakeFiles) OpenFile(_ context.Context, uri string) (string, []byte, error) {
	switch uri {
	case "mail:attachment:1":
		return "application/pdf", []byte("%PDF-1.4 verbale"), nil
	case "mail:attachment:2":
		return "text/html", []byte("<script>alert(1)</script>"), nil
	}
	return "", nil, fault.ErrNotFound
}

// TestMailAttachments: a mail's PDF opens in the browser, its HTML file is
// only downloaded (never rendered on the panel's origin); another group's
// operator gets 404; without Files the files are listed, not linked.
func TestMailAttachments(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *Options) { o.Files = fakeFiles{} })
	_, tk := e.openTicket("lotto2", "+390612345678", "Verbale allegato")
	var ids []int64
	for _, a := range []tickets.Attachment{
		{Name: "verbale.pdf", URI: "mail:attachment:1", ContentType: "application/pdf", Size: 16},
		{Name: "pagina \"strana\".html", URI: "mail:attachment:2", ContentType: "text/html", Size: 25},
	} {
		att, err := e.store.AddAttachment(ctx, tk.ID, a, ivrActor)
		noErr(t, err)
		ids = append(ids, att.ID)
	}
	op := e.login("op2")
	url := func(i int) string { return fmt.Sprintf("/attachments/%d/%d", tk.ID, ids[i]) }
	op.get(fmt.Sprintf("/tickets/%d", tk.ID)).has(t, `data-testid="attachment-download"`, `href="`+url(0)+`"`)
	pdf := op.get(url(0))
	wantStatus(t, "pdf", pdf, http.StatusOK)
	if pdf.body != "%PDF-1.4 verbale" || pdf.header.Get("Content-Type") != "application/pdf" ||
		pdf.header.Get("Content-Disposition") != `inline; filename=verbale.pdf` {
		t.Fatalf("pdf: %q %v", pdf.body, pdf.header)
	}
	html := op.get(url(1))
	wantStatus(t, "html", html, http.StatusOK)
	if html.header.Get("Content-Type") != "application/octet-stream" ||
		html.header.Get("Content-Disposition") != `attachment; filename="pagina \"strana\".html"` ||
		html.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("html served as %v", html.header)
	}
	wantStatus(t, "other group", e.login("op3").get(url(0)), http.StatusNotFound)
	wantStatus(t, "unknown attachment", op.get(fmt.Sprintf("/attachments/%d/999999", tk.ID)), http.StatusNotFound)

	plain := newEnvWith(t, e.pool)
	p := plain.login("op2")
	p.get(fmt.Sprintf("/tickets/%d", tk.ID)).hasNot(t, `data-testid="attachment-download"`)
	wantStatus(t, "without files", p.get(url(0)), http.StatusNotFound)
}
