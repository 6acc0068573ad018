package panel

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/helpdesk-ivr/ivr/mailin"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// access is who may use a route.
type access string

const (
	accPublic      access = "public"       // anyone: the login pages, static files
	accLoginPost   access = "login-post"   // a login form: refused to all without its double-submit token
	accAcceptGet   access = "accept-get"   // an invitation link: without a valid token, not found for all
	accStaff       access = "staff"        // any staff role
	accStaffLogout access = "staff-logout" // staff, and ends the session
	accSupervisor  access = "supervisor"   // supervisors and administrators
	accAdmin       access = "admin"        // administrators
	accPortal      access = "portal"       // any portal user
	accPortalOut   access = "portal-logout"
	accPortalA     access = "portal-a" // A's portal users, on userA's ticket of A: B's get 404
)

// routeAccess has a row for every route of the panel: a route added
// without one fails TestAuthorizationMatrix.
var routeAccess = map[string]access{
	"GET /login": accPublic, "POST /login": accLoginPost, "GET /static/*": accPublic,
	"POST /logout": accStaffLogout, "POST /lang": accStaff, "GET /": accStaff,
	"GET /wallboard": accStaff, "GET /wallboard/events": accStaff, "GET /live": accStaff, "GET /live/events": accStaff,
	// Call control: the operator of the call, or an administrator; moves
	// for supervisors (TestCallControl has the cases: not by role alone).
	"GET /console": accStaff, "GET /console/events": accStaff, "POST /console/state": accStaff, "POST /console/phone": accStaff,
	"POST /console/recording": accStaff, "POST /calls/{id}/control": accStaff,
	"GET /tickets": accStaff, "GET /tickets/new": accStaff, "POST /tickets/new": accStaff, "GET /tickets/{id}": accStaff,
	"POST /tickets/{id}": accStaff, "POST /tickets/{id}/articles": accStaff, "POST /tickets/{id}/links": accStaff,
	"POST /tickets/{id}/links/{other}/delete": accStaff, "POST /tickets/{id}/merge": accStaff,
	"GET /recordings/{ticketID}/{attachmentID}": accStaff, "GET /attachments/{ticketID}/{attachmentID}": accStaff,
	"GET /after-hours": accStaff, "GET /reports": accStaff, "GET /reports.csv": accStaff,
	"POST /operators/{login}/state": accSupervisor, "GET /operators/log": accSupervisor,
	"POST /live/calls/{callID}": accSupervisor, "GET /live/supervision": accSupervisor,
	"GET /config": accAdmin, "POST /config/reload": accAdmin, "GET /admin/users": accAdmin, "POST /admin/users": accAdmin,
	"POST /admin/users/{login}": accAdmin, "GET /admin/outbox": accAdmin, "POST /admin/outbox/{id}/retry": accAdmin,
	"GET /admin/tokens": accAdmin, "POST /admin/tokens": accAdmin, "POST /admin/tokens/{id}/revoke": accAdmin,
	"GET /admin/audit": accAdmin, "GET /admin/webhooks": accAdmin, "POST /admin/webhooks": accAdmin,
	"GET /admin/webhooks/{id}": accAdmin, "POST /admin/webhooks/{id}/pause": accAdmin, "POST /admin/webhooks/{id}/resume": accAdmin,
	"POST /admin/webhooks/{id}/delete": accAdmin, "POST /admin/webhooks/{id}/deliveries/{delivery}/redeliver": accAdmin,
	"GET /config/versions": accAdmin, "POST /config/versions": accAdmin, "GET /config/versions/{id}": accAdmin,
	"POST /config/versions/{id}": accAdmin, "POST /config/versions/{id}/rollback": accAdmin,
	"POST /config/versions/{id}/replay": accAdmin,
	// The contacts directory: operators read it and set a ticket's
	// contact; supervisors and administrators edit it.
	"GET /contacts": accStaff, "POST /tickets/{id}/contact": accStaff, "POST /tickets/{id}/contact/new": accStaff,
	"GET /contacts/new": accSupervisor, "POST /contacts/new": accSupervisor, "GET /contacts/import": accSupervisor,
	"POST /contacts/import": accSupervisor, "GET /contacts/{cid}": accSupervisor, "POST /contacts/{cid}": accSupervisor,
	"POST /contacts/{cid}/disable": accSupervisor,

	"GET /portal/login": accPublic, "POST /portal/login": accLoginPost, "GET /portal/accept": accAcceptGet,
	"POST /portal/accept":     accLoginPost,
	"GET /portal/invitations": accSupervisor, "POST /portal/invitations": accSupervisor,
	"GET /portal/": accPortal, "POST /portal/logout": accPortalOut, "POST /portal/lang": accPortal,
	"GET /portal/tickets/new": accPortal, "POST /portal/tickets/new": accPortal,
	"GET /portal/tickets/{id}": accPortalA, "POST /portal/tickets/{id}/messages": accPortalA,
	"GET /portal/attachments/{ticketID}/{attachmentID}": accPortalA,
}

// staticMethods: the static files' handler answers every method; GET
// is the one a browser uses, the others need a row all the same.
var staticMethods = []string{"CONNECT", "DELETE", "POST", "PATCH", "HEAD", "OPTIONS", "QUERY", "PUT", "TRACE"}

// outcome is what a role must get from a route.
type outcome string

const (
	okAny       outcome = "allowed"        // neither refused (401, 403) nor sent to a login page
	okVisible   outcome = "allowed, found" // ... and not 404
	notFound    outcome = "404"            // as for a ticket that does not exist
	refused     outcome = "403"            // forbidden
	staffLogin  outcome = "staff login"    // GET: 303 to /login; other requests: 401
	portalLogin outcome = "portal login"   // GET: 303 to /portal/login; other requests: 401
	loggedOut   outcome = "303 to a login" // logout
)

type matrixRole struct {
	name   string
	staff  bool   // a staff role
	portal string // "A" or "B" for a portal user of that Administration
	sup    bool   // supervisor or admin
	admin  bool
}

var matrixRoles = []matrixRole{
	{name: "anonymous"}, {name: "operator", staff: true}, {name: "supervisor", staff: true, sup: true},
	{name: "admin", staff: true, sup: true, admin: true},
	{name: "referent A", portal: "A"}, {name: "user A", portal: "A"}, {name: "referent B", portal: "B"}, {name: "user B", portal: "B"},
	{name: "disabled A"},
}

func (a access) want(r matrixRole) outcome {
	switch a {
	case accPublic:
		return okVisible
	case accLoginPost:
		return refused
	case accAcceptGet:
		return notFound
	case accStaff, accSupervisor, accAdmin, accStaffLogout:
		switch {
		case !r.staff:
			return staffLogin
		case a == accSupervisor && !r.sup, a == accAdmin && !r.admin:
			return refused
		case a == accStaffLogout:
			return loggedOut
		}
		return okAny
	case accPortal, accPortalOut, accPortalA:
		switch {
		case r.portal == "":
			return portalLogin
		case a == accPortalOut:
			return loggedOut
		case a == accPortalA && r.portal != "A":
			return notFound
		}
		return okVisible
	}
	panic("unknown access " + a)
}

// TestAuthorizationMatrix: every route of the panel, staff and portal,
// with every role (anonymous, operator, supervisor, administrator, the
// referent and a user of Administration A, the same of B, a disabled
// contact of A): each gets what its row says, and no answer to someone
// outside a ticket's view holds anything of it (subject, number, public
// messages, files), nor an internal note to anyone but staff.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	e := newPortalEnv(t)
	w := e.portalWorld()
	const fileSecret = "FILE-SECRET-A"
	uri, err := mailin.StoreFile(ctx, e.pool, w.ownA.ID, "a.txt", "text/plain", []byte(fileSecret), t0)
	noErr(t, err)
	att, err := e.store.AddAttachment(ctx, w.ownA.ID, tickets.Attachment{Name: "a.txt", URI: uri, ContentType: "text/plain", Size: 13},
		tickets.Actor{Kind: tickets.ActorCaller, ID: "test"})
	noErr(t, err)
	dora := e.addContact(orgA, "Dora Disattivata", PortalUser, "dora@tribunale.example")
	e.portalAccount(dora)

	logins := map[string]func() *client{
		"anonymous": e.anon, "operator": func() *client { return e.login("op3") },
		"supervisor": func() *client { return e.login("sup") }, "admin": func() *client { return e.login("adm") },
		"referent A": func() *client { return e.portalLogin("rita@tribunale.example") },
		"user A":     func() *client { return e.portalLogin("ugo@tribunale.example") },
		"referent B": func() *client { return e.portalLogin("bice@milano.example") },
		"user B":     func() *client { return e.portalLogin("bruno@milano.example") },
		"disabled A": func() *client { return e.portalLogin("dora@tribunale.example") },
	}
	clients := map[string]*client{}
	for _, r := range matrixRoles {
		clients[r.name] = logins[r.name]()
	}
	e.setContactDisabled(dora, true)

	// What each role must never read.
	secretA := append(append(secretsOf(w.phoneA), secretsOf(w.ownA)...), secretsOf(w.ownA2)...)
	secretA = append(secretA, fileSecret)
	never := map[string][]string{
		"anonymous":  append(append([]string{w.internal}, secretA...), secretsOf(w.ownB)...),
		"disabled A": append(append([]string{w.internal}, secretA...), secretsOf(w.ownB)...),
		"referent A": append([]string{w.internal}, secretsOf(w.ownB)...),
		"user A":     append(append(append([]string{w.internal}, secretsOf(w.phoneA)...), secretsOf(w.ownA2)...), secretsOf(w.ownB)...),
		"referent B": append([]string{w.internal}, secretA...),
		"user B":     append([]string{w.internal}, secretA...),
	}

	params := strings.NewReplacer("{id}", fmt.Sprint(w.ownA.ID), "{ticketID}", fmt.Sprint(w.ownA.ID),
		"{attachmentID}", fmt.Sprint(att.ID), "{other}", fmt.Sprint(w.ownB.ID), "{login}", "op2", "{delivery}", "1", "{callID}", "call-1",
		"/static/*", "/static/panel.css")
	var routes []string
	noErr(t, chi.Walk(e.srv.mux, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routes = append(routes, method+" "+route)
		return nil
	}))
	if len(routes) < 60 {
		t.Fatalf("only %d routes walked", len(routes))
	}
	// Logouts last: they end the sessions the other rows use.
	slices.SortStableFunc(routes, func(a, b string) int {
		la, lb := strings.HasSuffix(a, "/logout"), strings.HasSuffix(b, "/logout")
		switch {
		case la && !lb:
			return 1
		case lb && !la:
			return -1
		}
		return 0
	})
	for _, rt := range routes {
		method, pattern, _ := strings.Cut(rt, " ")
		acc, ok := routeAccess[rt]
		if !ok && pattern == "/static/*" && slices.Contains(staticMethods, method) {
			continue
		}
		if !ok {
			t.Errorf("route %s has no row in routeAccess: say who may use it", rt)
			continue
		}
		path := params.Replace(pattern)
		for _, role := range matrixRoles {
			want := acc.want(role)
			res := clients[role.name].probe(method, path)
			if msg := checkOutcome(res, method, path, want); msg != "" {
				t.Errorf("%s %s as %s: %s (status %d, Location %q)", method, path, role.name, msg, res.status, res.header.Get("Location"))
			}
			if leak := contains(res.body, never[role.name]); leak != "" {
				t.Errorf("%s %s as %s: the answer holds %q", method, path, role.name, leak)
			}
		}
	}
	for rt := range routeAccess {
		if !slices.Contains(routes, rt) {
			t.Errorf("routeAccess has %s, which the panel does not route", rt)
		}
	}
}

func checkOutcome(res response, method, path string, want outcome) string {
	loc := res.header.Get("Location")
	toStaffLogin := res.status == http.StatusSeeOther && strings.HasPrefix(loc, "/login")
	toPortalLogin := res.status == http.StatusSeeOther && strings.HasPrefix(loc, "/portal/login")
	stream := strings.HasSuffix(path, "/events")
	bad := func(cond bool) string {
		if cond {
			return ""
		}
		return "want " + string(want)
	}
	switch want {
	case okAny:
		return bad(res.status != 401 && res.status != 403 && !toStaffLogin && !toPortalLogin && res.status < 500)
	case okVisible:
		return bad(res.status != 401 && res.status != 403 && res.status != 404 && !toStaffLogin && !toPortalLogin && res.status < 500)
	case notFound:
		return bad(res.status == 404)
	case refused:
		return bad(res.status == 403)
	case staffLogin:
		if method == http.MethodGet && !stream {
			return bad(toStaffLogin)
		}
		return bad(res.status == 401)
	case portalLogin:
		if method == http.MethodGet {
			return bad(toPortalLogin)
		}
		return bad(res.status == 401)
	case loggedOut:
		return bad(toStaffLogin || toPortalLogin)
	}
	return "unknown outcome"
}

// probe sends one request as the matrix does: a POST carries the
// session's form token (so that only the role decides); an event stream
// is closed once its answer's header is in.
func (c *client) probe(method, path string) response {
	c.e.t.Helper()
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(url.Values{"csrf": {c.csrf}}.Encode())
	}
	req, err := http.NewRequestWithContext(rctx, method, c.e.ts.URL+path, body)
	noErr(c.e.t, err)
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("Origin", c.e.ts.URL)
	}
	res, err := c.http.Do(req)
	noErr(c.e.t, err)
	defer res.Body.Close()
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		return response{res.StatusCode, res.Header, ""}
	}
	b, err := io.ReadAll(res.Body)
	noErr(c.e.t, err)
	return response{res.StatusCode, res.Header, string(b)}
}
