package panel

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzPost posts random forms to every POST endpoint of the panel, with a
// live session and its form token (and, for /login, the login form's
// token): whatever the form, the answer is never a 500 (a panic is one:
// the recoverer answers 500). `go test` runs the seeds; `go test
// -fuzz=FuzzPost ./panel` looks for more.
func FuzzPost(f *testing.F) {
	e := newEnv(f, func(o *Options) { o.Control = &fakeControl{} })
	// Live calls to act on (an administrator may act on any).
	e.live.set(LiveCall{CallID: "c-talk", Phase: PhaseTalking, Group: "lotto2", Operator: "op2"},
		LiveCall{CallID: "c-queue", Phase: PhaseQueue, Group: "lotto2"})
	e.srv.Notify()
	_, tk := e.openTicket("lotto2", "+390612345678", "Stampante guasta")
	noErr(f, e.srv.Users().Add(ctx, "zzfuzz", "Fuzz", RoleOperator, password, "it"))
	adm, op := e.login("adm"), e.login("op2")
	ticket := fmt.Sprint(tk.ID)
	// The endpoints, {p} being a path value from the input; who posts.
	type endpoint struct {
		path string
		as   *client
	}
	endpoints := []endpoint{
		{"/login", nil}, {"/logout", nil}, {"/lang", adm}, {"/console/state", op}, {"/console/phone", op}, {"/console/recording", op},
		{"/login", nil}, {"/logout", nil}, {"/lang", adm}, {"/console/state", op}, {"/console/phone", op},
		{"/calls/{p}/control", adm},
		{"/tickets/{p}", adm}, {"/tickets/{p}/articles", adm}, {"/tickets/{p}", op}, {"/tickets/{p}/articles", op},
		{"/config/reload", adm}, {"/admin/users", adm}, {"/admin/users/{p}", adm}, {"/admin/outbox/{p}/retry", adm},
		{"/admin/tokens", adm}, {"/admin/tokens/{p}/revoke", adm},
		{"/contacts/new", adm}, {"/contacts/{p}", adm}, {"/contacts/{p}/disable", adm}, {"/contacts/import", adm},
		{"/tickets/{p}/contact", op}, {"/tickets/{p}/contact/new", op},
		{"/config/versions", adm}, {"/config/versions/{p}", adm}, {"/config/versions/{p}/rollback", adm}, {"/config/versions/{p}/replay", adm},
		{"/live/calls/{p}", adm},
	}
	seeds := []struct {
		body, param string
	}{
		{"", ""},
		{"lang=en&back=/tickets", ticket},
		{"lang=%ff&back=/%09/evil.example", ticket},
		{"state=paused&reason=other&other=" + strings.Repeat("x", 100), ""},
		{"state=available", ""},
		{"action=answer", ""},
		{"call=1795320990.1&action=pause", ""},
		{"call=%00&action=resume", ""},
		{"action=listen", "call-1"},
		{"action=end_call", "../call-1"},
		{"action=transfer&to=group:lotto3", "c-talk"},
		{"action=consult&to=number&number=%00%ff", "c-talk"},
		{"action=move&group=" + strings.Repeat("g", 300), "c-queue"},
		{"version=1&subject=Nuovo&status=in_progress&priority=high&group=lotto2&assignee=op2", ticket},
		{"version=1&was_group=&group=&was_subject=a&subject=" + strings.Repeat("é", 300), ticket},
		{"version=99999999999999999999&status=zzz", ticket},
		{"version=-1&assignee=..%2F..&group=lotto3", "999999"},
		{"kind=public&body=Risposta", ticket},
		{"kind=internal&body=%00%01", "abc"},
		{"login=nuovo&name=N&role=admin&password=1234567890&password2=1234567890&lang=en", "zzfuzz"},
		{"action=password&password=" + strings.Repeat("p", 100), "zzfuzz"},
		{"action=disable", "zzfuzz"},
		{"action=enable", "zzfuzz"},
		{"login=op2&password=wrong&next=//evil", ""},
		{"%zz=%zz&&&=;", "%2e%2e"},
		{"a=1&a=2&status=new&status=closed", ticket},
		{strings.Repeat("k=v&", 2000), ticket},
	}
	for i := range endpoints {
		for _, s := range seeds {
			f.Add(uint8(i), s.param, s.body)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, param, body string) {
		ep := endpoints[int(which)%len(endpoints)]
		path := strings.ReplaceAll(ep.path, "{p}", url.PathEscape(param))
		if strings.HasPrefix(ep.path, "/admin/users/") {
			// Never another user's password or state: that would end the
			// sessions the fuzzing goes on with.
			path = "/admin/users/zz" + url.PathEscape(param)
		}
		c := ep.as
		switch ep.path {
		case "/login":
			c = e.anonFrom(fmt.Sprintf("192.0.2.%d", which))
		case "/logout":
			c = e.anon()
		}
		token := c.csrf
		if c.csrf == "" {
			page, err := c.http.Get(e.ts.URL + "/login")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(page.Body)
			page.Body.Close()
			if m := tokenPattern.FindSubmatch(b); m != nil {
				token = string(m[1])
			}
		}
		req, err := http.NewRequest(http.MethodPost, e.ts.URL+path, strings.NewReader("csrf="+url.QueryEscape(token)+"&"+body))
		if err != nil {
			return // not a request a browser could send
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		if c.from != "" {
			req.Header.Set("X-Forwarded-For", c.from)
		}
		res, err := c.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode >= 500 {
			t.Fatalf("POST %s %q: status %d\n%s", path, body, res.StatusCode, b)
		}
		// The session and token are right and every endpoint is open to
		// its poster: a 403 would mean the form never reached its handler.
		if res.StatusCode == http.StatusForbidden {
			t.Fatalf("POST %s %q: refused (%d), the fuzzing does not reach the handler\n%s", path, body, res.StatusCode, b)
		}
	})
}
