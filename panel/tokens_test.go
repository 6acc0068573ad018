package panel

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
)

var secretPattern = regexp.MustCompile(`data-testid="token-secret">(` + TokenPrefix + `[A-Za-z0-9_-]{43})<`)

// TestTokensPage: an administrator creates a token; its secret is on the
// answer to the form and nowhere after, only its SHA-256 is stored, it
// authenticates as its user until revoked or expired, its use is shown,
// and creation and revocation are in the audit log.
func TestTokensPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	adm := e.login("adm")
	r := adm.post("/admin/tokens", url.Values{"name": {"CRM"}, "login": {"op2"}, "scope": {"write"},
		"groups": {"lotto2"}, "days": {"30"}})
	wantStatus(t, "create", r, http.StatusOK)
	m := secretPattern.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no secret on the answer:\n%s", r.body)
	}
	secret := m[1]
	if r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("the secret's page may be cached: %q", r.header.Get("Cache-Control"))
	}
	page := adm.get("/admin/tokens")
	page.has(t, `data-testid="token-row"`, "CRM", "lotto2")
	page.hasNot(t, secret, `data-testid="token-secret"`)

	var stored []byte
	var n int
	noErr(t, e.pool.QueryRow(ctx, `SELECT secret_hash, (SELECT count(*) FROM api_tokens t WHERE strpos(t::text, $1) > 0)
		FROM api_tokens WHERE name = 'CRM'`, secret[len(TokenPrefix):]).Scan(&stored, &n))
	if string(stored) != string(secretHash(secret)) || n != 0 {
		t.Fatalf("stored %x, want the SHA-256 of the secret only", stored)
	}

	tokens := e.srv.Tokens()
	tok, u, err := tokens.Authenticate(ctx, secret, "192.0.2.7")
	noErr(t, err)
	if u.Login != "op2" || u.Role != RoleOperator || tok.Scope != ScopeWrite || strings.Join(tok.Groups, ",") != "lotto2" {
		t.Fatalf("authenticated %+v as %+v", tok, u)
	}
	adm.get("/admin/tokens").has(t, "192.0.2.7")
	// The last character changed (to another one: a secret may end in "A").
	other := "A"
	if strings.HasSuffix(secret, "A") {
		other = "B"
	}
	for _, bad := range []string{"", "ivrt_", secret[:len(secret)-1] + other, strings.Replace(secret, "ivrt_", "ivrx_", 1)} {
		if _, _, err := tokens.Authenticate(ctx, bad, "x"); !errors.Is(err, fault.ErrUnauthorized) {
			t.Fatalf("%q: %v, want unauthorized", bad, err)
		}
	}

	// Expired: the clock passes its 30 days.
	e.clk.Advance(30*24*time.Hour + time.Second)
	if _, _, err := tokens.Authenticate(ctx, secret, "x"); !errors.Is(err, fault.ErrUnauthorized) {
		t.Fatalf("expired: %v", err)
	}
	adm = e.login("adm")
	adm.get("/admin/tokens").has(t, `data-state="expired"`)

	// Revoked, and a disabled user's token.
	secret2, tok2, err := tokens.Create(ctx, NewToken{Name: "bot", Login: "sup", Scope: ScopeRead, ExpiresAt: e.clk.Now().Add(time.Hour), CreatedBy: "adm"})
	noErr(t, err)
	_, _, err = tokens.Authenticate(ctx, secret2, "x")
	noErr(t, err)
	noErr(t, e.srv.Users().SetDisabled(ctx, "sup", true))
	if _, _, err := tokens.Authenticate(ctx, secret2, "x"); !errors.Is(err, fault.ErrUnauthorized) {
		t.Fatalf("disabled user: %v", err)
	}
	noErr(t, e.srv.Users().SetDisabled(ctx, "sup", false))
	wantStatus(t, "revoke", adm.post("/admin/tokens/"+itoa(tok2.ID)+"/revoke", nil), http.StatusSeeOther)
	if _, _, err := tokens.Authenticate(ctx, secret2, "x"); !errors.Is(err, fault.ErrUnauthorized) {
		t.Fatalf("revoked: %v", err)
	}
	wantStatus(t, "revoke twice", adm.post("/admin/tokens/"+itoa(tok2.ID)+"/revoke", nil), http.StatusNotFound)

	audit := adm.get("/admin/audit")
	audit.has(t, `data-action="token.create"`, `data-action="token.revoke"`, "token:"+itoa(tok2.ID))
}

// TestTokenCreateRefused: what a token cannot be.
func TestTokenCreateRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	adm := e.login("adm")
	for _, c := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"name": {"x"}, "login": {"sup"}, "scope": {"admin"}, "days": {"30"}}, "amministratore"},
		{url.Values{"name": {"x"}, "login": {"op2"}, "scope": {"root"}, "days": {"30"}}, "Ambito sconosciuto"},
		{url.Values{"name": {"x"}, "login": {"op2"}, "scope": {"read"}, "days": {"400"}}, "1 a 366 giorni"},
		{url.Values{"name": {"x"}, "login": {"op2"}, "scope": {"read"}, "days": {"0"}}, "1 a 366 giorni"},
		{url.Values{"name": {""}, "login": {"op2"}, "scope": {"read"}, "days": {"3"}}, "Nome"},
		{url.Values{"name": {"x"}, "login": {"nobody"}, "scope": {"read"}, "days": {"3"}}, "Nessun utente attivo"},
		{url.Values{"name": {"x"}, "login": {"op2"}, "scope": {"read"}, "days": {"3"}, "groups": {"lotto99"}}, "lotto99"},
	} {
		r := adm.post("/admin/tokens", c.form)
		wantStatus(t, c.want, r, http.StatusBadRequest)
		r.has(t, c.want)
		r.hasNot(t, `data-testid="token-secret"`)
	}
	var n int
	noErr(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM api_tokens`).Scan(&n))
	if n != 0 {
		t.Fatalf("%d tokens created by refused forms", n)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestAuditLog: the panel's administrative changes are in the audit log,
// with who made them and never a password; only administrators read it.
func TestAuditLog(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	adm, sup := e.login("adm"), e.login("sup")
	wantStatus(t, "add", adm.post("/admin/users", url.Values{"login": {"nuovo"}, "name": {"Nuovo"}, "role": {"operator"},
		"password": {password}, "password2": {password}, "lang": {"it"}}), http.StatusSeeOther)
	wantStatus(t, "password", adm.post("/admin/users/nuovo", url.Values{"action": {"password"}, "password": {"another long password"}}), http.StatusSeeOther)
	wantStatus(t, "disable", adm.post("/admin/users/nuovo", url.Values{"action": {"disable"}}), http.StatusSeeOther)
	wantStatus(t, "refused", adm.post("/admin/users/nuovo", url.Values{"action": {"explode"}}), http.StatusBadRequest)
	wantStatus(t, "reload", adm.post("/config/reload", nil), http.StatusSeeOther)
	wantStatus(t, "force", sup.post("/operators/op2/state", url.Values{"state": {"paused"}, "reason": {"break"}}), http.StatusSeeOther)
	rows, err := e.pool.Query(ctx, `SELECT login || ' ' || via || ' ' || action || ' ' || target || ' ' || detail FROM audit_log ORDER BY id`)
	noErr(t, err)
	var got []string
	for rows.Next() {
		var s string
		noErr(t, rows.Scan(&s))
		got = append(got, s)
	}
	noErr(t, rows.Err())
	want := []string{"adm panel user.add user:nuovo role=operator", "adm panel user.password user:nuovo ",
		"adm panel user.disable user:nuovo ", "adm panel configuration.reload configuration " + e.srv.config().File,
		"sup panel operator.state operator:op2 state=paused reason=break"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	page := adm.get("/admin/audit?login=sup")
	page.has(t, `data-action="operator.state"`)
	page.hasNot(t, `data-action="user.add"`, "another long password")
	wantStatus(t, "supervisor", sup.get("/admin/audit"), http.StatusForbidden)
}
