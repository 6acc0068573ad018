package panel

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/helpdesk-ivr/ivr/mailin"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/notify"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// The two Administrations of configs/helpdesk.yaml the portal tests use.
const (
	orgA = "tribunale-roma-demo"       // group lotto3
	orgB = "corte-appello-milano-demo" // group lotto2
)

// mailFiles opens the stored files as cmd/ivrd does.
type mailFiles struct{ e *env }

func (m mailFiles) OpenFile(ctx context.Context, uri string) (string, []byte, error) {
	return mailin.OpenAttachment(ctx, m.e.pool, uri)
}

// newPortalEnv is newEnv with the mail's files and a real Notifier for
// the invitations, writing package notify's outbox.
func newPortalEnv(t testing.TB, configure ...func(*Options)) *env {
	t.Helper()
	n, err := notify.NewNotifier(notify.Config{From: "Help desk <helpdesk@example.org>", Service: "Help desk test"},
		notify.MenuDirectory(func() *menu.Config { cfg, _ := helpdesk(); return cfg }), rome, nil)
	noErr(t, err)
	files := &lateFiles{}
	e := newEnv(t, append([]func(*Options){func(o *Options) {
		o.Files, o.Invitations = files, n
	}}, configure...)...)
	files.e = e
	return e
}

// lateFiles is mailFiles for an env not made yet when its options are.
type lateFiles struct{ e *env }

func (l *lateFiles) OpenFile(ctx context.Context, uri string) (string, []byte, error) {
	return mailFiles{l.e}.OpenFile(ctx, uri)
}

// addContact inserts a contact with plain SQL (the contacts store is
// another package's) and returns its id.
func (e *env) addContact(org, name, role, email string) int64 {
	e.t.Helper()
	var id int64
	noErr(e.t, e.pool.QueryRow(ctx, `INSERT INTO contacts (organization, name, role, email, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $5) RETURNING id`, org, name, role, email, e.clk.Now()).Scan(&id))
	return id
}

func (e *env) setContactDisabled(id int64, disabled bool) {
	e.t.Helper()
	_, err := e.pool.Exec(ctx, `UPDATE contacts SET disabled = $2 WHERE id = $1`, id, disabled)
	noErr(e.t, err)
}

// portalAccount gives a contact an account with the tests' password.
func (e *env) portalAccount(id int64) {
	e.t.Helper()
	noErr(e.t, pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		return e.srv.portal.setAccount(ctx, tx, id, password, "it")
	}))
}

// portalLogin returns a client logged in to the portal as email.
func (e *env) portalLogin(email string) *client {
	e.t.Helper()
	c := e.anon()
	res := c.postPortalLogin(email, password)
	if res.status != http.StatusSeeOther {
		e.t.Fatalf("portal login %s: status %d\n%s", email, res.status, res.body)
	}
	c.refreshPortalToken()
	return c
}

func (c *client) postPortalLogin(email, pw string) response {
	c.e.t.Helper()
	page := c.get("/portal/login")
	m := tokenPattern.FindStringSubmatch(page.body)
	if m == nil {
		c.e.t.Fatalf("no portal login token:\n%s", page.body)
	}
	return c.post("/portal/login", url.Values{"email": {email}, "password": {pw}, "csrf": {m[1]}})
}

// refreshPortalToken reads the portal session's form token from a page.
func (c *client) refreshPortalToken() {
	c.e.t.Helper()
	res := c.get("/portal")
	m := tokenPattern.FindStringSubmatch(res.body)
	if m == nil {
		c.e.t.Fatalf("no form token in /portal (status %d)\n%s", res.status, res.body)
	}
	c.csrf = m[1]
}

// file is a file to post.
type file struct{ name, ctype, data string }

// postFiles sends a same-origin multipart form with files in "files".
func (c *client) postFiles(path string, form url.Values, files ...file) response {
	c.e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if _, ok := form["csrf"]; !ok {
		noErr(c.e.t, mw.WriteField("csrf", c.csrf))
	}
	for k, vs := range form {
		for _, v := range vs {
			noErr(c.e.t, mw.WriteField(k, v))
		}
	}
	for _, f := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="files"; filename="%s"`, f.name))
		h.Set("Content-Type", f.ctype)
		w, err := mw.CreatePart(h)
		noErr(c.e.t, err)
		_, err = w.Write([]byte(f.data))
		noErr(c.e.t, err)
	}
	noErr(c.e.t, mw.Close())
	req, err := http.NewRequest(http.MethodPost, c.e.ts.URL+path, &buf)
	noErr(c.e.t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", c.e.ts.URL)
	return c.do(req)
}

// portalWorld is two Administrations with their people and tickets.
type portalWorld struct {
	refA, userA, userA2, refB, userB int64
	// phoneA is A's ticket of a call (no contact): A's referent sees it,
	// A's users do not. ownA is userA's, ownA2 userA2's, ownB userB's.
	phoneA, ownA, ownA2, ownB tickets.Ticket
	internal                  string // an internal note on every ticket
}

func (e *env) portalWorld() portalWorld {
	e.t.Helper()
	w := portalWorld{internal: "INTERNAL-NOTE-staff-only"}
	w.refA = e.addContact(orgA, "Rita Referente", PortalReferent, "rita@tribunale.example")
	w.userA = e.addContact(orgA, "Ugo Utente", PortalUser, "ugo@tribunale.example")
	w.userA2 = e.addContact(orgA, "Ada Altra", PortalUser, "ada@tribunale.example")
	w.refB = e.addContact(orgB, "Bice Referente", PortalReferent, "bice@milano.example")
	w.userB = e.addContact(orgB, "Bruno Utente", PortalUser, "bruno@milano.example")
	for _, id := range []int64{w.refA, w.userA, w.userA2, w.refB, w.userB} {
		e.portalAccount(id)
	}
	_, w.phoneA = e.openTicket("lotto3", "+390612345678", "Stampante SUBJ-PHONE-A")
	own := func(org string, contact int64, subject string) tickets.Ticket {
		cfg, _ := helpdesk()
		t, err := e.store.CreateContactTicket(ctx, tickets.NewTicket{Subject: subject, Organization: org,
			Group: cfg.DefaultGroup(org), Description: "DESC-" + subject}, contact, tickets.Actor{Kind: tickets.ActorCaller, ID: "test"})
		noErr(e.t, err)
		return t
	}
	w.ownA = own(orgA, w.userA, "PEC SUBJ-OWN-A")
	w.ownA2 = own(orgA, w.userA2, "Firma SUBJ-OWN-A2")
	w.ownB = own(orgB, w.userB, "Rete SUBJ-OWN-B")
	staff := tickets.Actor{Kind: tickets.ActorOperator, ID: "op3"}
	for _, t := range []tickets.Ticket{w.phoneA, w.ownA, w.ownA2, w.ownB} {
		_, err := e.store.AddArticle(ctx, t.ID, tickets.Article{Internal: true, Body: w.internal}, staff)
		noErr(e.t, err)
		_, err = e.store.AddArticle(ctx, t.ID, tickets.Article{Body: "PUBLIC-REPLY-" + t.Subject}, staff)
		noErr(e.t, err)
	}
	return w
}

// secretsOf are the texts of t no one outside its view may read.
func secretsOf(t tickets.Ticket) []string {
	return []string{t.Subject, string(t.Number), "PUBLIC-REPLY-" + t.Subject}
}

func contains(body string, parts []string) string {
	for _, p := range parts {
		if p != "" && strings.Contains(body, p) {
			return p
		}
	}
	return ""
}

// regexpFind returns the first group of pattern in s.
func regexpFind(t *testing.T, s, pattern string) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no %s in:\n%s", pattern, s)
	}
	return m[1]
}
