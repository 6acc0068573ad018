package panel

import (
	"crypto/sha256"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/smtptest"
	"github.com/helpdesk-ivr/ivr/notify"
)

// TestPortalInvitation: an administrator invites a contact; the mail goes
// out through the outbox and a real SMTP conversation, in the contact's
// language, with a link whose token only a hash of is kept; the invited
// person sets a password there and is in; the link works once, not after
// its expiry, nor for a contact whose address changed. Operators cannot
// invite.
func TestPortalInvitation(t *testing.T) {
	t.Parallel()
	e := newPortalEnv(t)
	nina := e.addContact(orgA, "Nina Nuova", PortalUser, "nina@tribunale.example")
	_, err := e.pool.Exec(ctx, `UPDATE contacts SET language = 'en' WHERE id = $1`, nina)
	noErr(t, err)
	off := e.addContact(orgA, "Otto Spento", PortalUser, "otto@tribunale.example")
	e.setContactDisabled(off, true)

	wantStatus(t, "operator page", e.login("op3").get("/portal/invitations"), http.StatusForbidden)
	wantStatus(t, "operator invites", e.login("op3").post("/portal/invitations", url.Values{"contact": {"nina@tribunale.example"}}),
		http.StatusForbidden)
	adm := e.login("adm")
	adm.get("/portal/invitations").has(t, `data-testid="invite-form"`)
	r := adm.post("/portal/invitations", url.Values{"contact": {"nessuno@example.org"}})
	wantStatus(t, "unknown contact", r, http.StatusNotFound)
	r.has(t, "Nessun contatto")
	wantStatus(t, "disabled contact", adm.post("/portal/invitations", url.Values{"contact": {strconv.FormatInt(off, 10)}}), http.StatusConflict)
	r = adm.post("/portal/invitations", url.Values{"contact": {"Nina@Tribunale.example"}})
	wantStatus(t, "invite", r, http.StatusSeeOther)
	adm.get(r.header.Get("Location")).has(t, `data-state="pending"`, "nina@tribunale.example", `data-testid="flash"`)

	sink := smtptest.Start(t)
	cfg := notify.Config{From: "Help desk <helpdesk@example.org>", SMTP: notify.SMTPConfig{Host: sink.Host(), Port: sink.Port(), TLS: notify.TLSNone}}
	sender, err := notify.NewSender(e.pool, cfg, notify.NewSMTP(cfg.SMTP, nil), notify.SenderOptions{Now: e.clk.Now})
	noErr(t, err)
	if n, err := sender.SendPending(ctx); err != nil || n != 1 {
		t.Fatalf("sent %d, %v", n, err)
	}
	msgs := sink.Messages()
	if len(msgs) != 1 || len(msgs[0].To) != 1 || msgs[0].To[0] != "nina@tribunale.example" ||
		msgs[0].Subject() != "Invitation to the help desk's portal" {
		t.Fatalf("mails %+v", msgs)
	}
	link := regexpFind(t, msgs[0].Body, `(http://\S+/portal/accept\?token=\S+)`)
	if !strings.HasPrefix(link, e.ts.URL+"/portal/accept?token=") {
		t.Fatalf("link %q, not to the panel at %s", link, e.ts.URL)
	}
	lu, err := url.Parse(link)
	noErr(t, err)
	token := lu.Query().Get("token")
	sum := sha256.Sum256([]byte(token))
	var stored int
	noErr(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM portal_invitations WHERE token_hash = $1 AND contact_id = $2`, sum[:], nina).Scan(&stored))
	if stored != 1 {
		t.Fatal("the invitation is not kept by its token's hash")
	}

	b := e.anon()
	page := b.get(lu.RequestURI())
	wantStatus(t, "accept page", page, http.StatusOK)
	page.has(t, "Nina Nuova", "nina@tribunale.example")
	form := url.Values{"token": {token}, "csrf": {regexpFind(t, page.body, `name="csrf" value="([^"]+)"`)}}
	for _, bad := range []struct{ pw, pw2 string }{{"corta", "corta"}, {password, password + "x"}} {
		f := cloneValues(form)
		f.Set("password", bad.pw)
		f.Set("password2", bad.pw2)
		r := b.post("/portal/accept", f)
		wantStatus(t, "bad password "+bad.pw2, r, http.StatusBadRequest)
		form.Set("csrf", regexpFind(t, r.body, `name="csrf" value="([^"]+)"`)) // a new one with each form
	}
	form.Set("password", "una password nuova")
	form.Set("password2", "una password nuova")
	r = b.post("/portal/accept", form)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/portal?msg=portal_welcome" {
		t.Fatalf("accept: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
	}
	b.get("/portal").has(t, "Nina Nuova", `data-role="user"`)
	// Once only.
	wantStatus(t, "the link again", e.anon().get(lu.RequestURI()), http.StatusNotFound)
	again := e.anon()
	again.http.Jar.SetCookies(lu, []*http.Cookie{{Name: portalLoginCookie, Value: "double-submit"}})
	form.Set("csrf", "double-submit")
	wantStatus(t, "accept again", again.post("/portal/accept", form), http.StatusNotFound)
	wantStatus(t, "login", e.anon().postPortalLogin("nina@tribunale.example", "una password nuova"), http.StatusSeeOther)

	// Expired, and voided by a changed address.
	pia := e.addContact(orgB, "Pia", PortalReferent, "pia@milano.example")
	leo := e.addContact(orgB, "Leo", PortalUser, "leo@milano.example")
	for _, id := range []int64{pia, leo} {
		wantStatus(t, "invite", adm.post("/portal/invitations", url.Values{"contact": {strconv.FormatInt(id, 10)}}), http.StatusSeeOther)
	}
	if _, err := sender.SendPending(ctx); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{}
	for _, m := range sink.Messages()[1:] {
		links[m.To[0]] = regexpFind(t, m.Body, `http://\S+(/portal/accept\?token=\S+)`)
	}
	_, err = e.pool.Exec(ctx, `UPDATE contacts SET email = 'leo.nuovo@milano.example' WHERE id = $1`, leo)
	noErr(t, err)
	wantStatus(t, "changed address", e.anon().get(links["leo@milano.example"]), http.StatusNotFound)
	wantStatus(t, "before expiry", e.anon().get(links["pia@milano.example"]), http.StatusOK)
	e.clk.Advance(invitationTTL + time.Second)
	wantStatus(t, "expired", e.anon().get(links["pia@milano.example"]), http.StatusNotFound)
	e.login("adm").get("/portal/invitations").has(t, `data-state="expired"`, `data-state="used"`) // the old session is idle
	entries, err := e.srv.Audit().List(ctx, "adm", 10)
	noErr(t, err)
	if len(entries) == 0 || entries[0].Action != "portal.invite" {
		t.Fatalf("audit log %+v", entries)
	}
}
