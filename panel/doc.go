// Package panel is the help desk's web panel for operators, supervisors and
// administrators: server-rendered pages (chi routes, html/template and
// static files embedded and parsed once at start, a little hand-written
// JavaScript for live updates and nothing to build), with live updates over
// Server-Sent Events.
//
// # Wiring (cmd/ivrd)
//
//	if err := panel.Migrate(ctx, pool); err != nil { ... }
//	p, err := panel.New(panel.Options{Pool: pool, Tickets: store, Queues: q,
//		Live: liveCalls{live}, // ivr.LiveCall converts: panel.LiveCall(c)
//		Recordings: recordings, // errors wrapping fault.ErrNotFound answer 404
//		Config: holder.get, Logger: log, Secure: tls, ServiceLevel: 30 * time.Second,
//		Reload: holder.reload})
//	defer p.Close()
//	router.Mount("/", p.Handler()) // next to /metrics, /healthz, /readyz
//	// and p.Notify() on every call event (debounced inside).
//
// The first administrator comes from `ivrctl user add -role admin`.
//
// # Who sees what
//
// Users have a role: operator, supervisor or admin. An operator's login is
// their queue operator's login, and their groups are their queue
// memberships (Options.Queues; without queues, no group): they see the
// tickets, wallboard lines, live calls, after-hours requests and reports
// of those groups only, and another group's ticket by id is 404, as if it
// did not exist (the tickets store's Viewer). Supervisors see everything;
// administrators also the configuration and the users. Supervisors and
// administrators may force an operator's state whatever it is (an
// operator left on a call whose end was missed gets no calls and cannot
// change it from the console); the queues log who did it
// (operator_state_log, shown at /operators/log), and operators can
// neither see those forms nor post them (403). Every handler reads
// through the user's tickets.Viewer; a write first reads the ticket with
// it. Domain errors of this package, tickets and queues share their codes
// and become HTTP statuses in one place (httpStatus).
//
// # Sessions, passwords, CSRF
//
// Passwords are bcrypt hashes; a wrong login costs the same bcrypt
// comparison as a wrong password. Sessions are a small table of our own
// (panel_sessions) rather than alexedwards/scs: scs reads time.Now itself,
// while the idle timeout and the lifetime here run on the injected clock
// and are tested with it; the table keeps only the SHA-256 of each token;
// one query joins the session with its user (a disabled user is out at
// once); and changing a password or disabling a user deletes the user's
// sessions in the same statement. The cookie is HttpOnly, SameSite=Lax,
// Secure and __Host- prefixed when Options.Secure; each login makes a new
// token (the old one is deleted); logout deletes it; a session ends after
// IdleTimeout without use (30 min) and SessionLifetime after login (12 h).
// An open live page re-checks its session every minute and keeps it alive
// up to the lifetime: a wall display stays logged in for a shift.
//
// Every non-GET request passes http.CrossOriginProtection (Fetch metadata
// or Origin) and must carry the session's form token; the login form,
// which has no session yet, carries a double-submit cookie token. Logins
// are throttled in PostgreSQL (panel_login_throttle, shared by every
// instance) by growing delays, never by a lock on an account: per
// (account, address) the first 3 failures are free, then the next attempt
// waits 1 s, 2 s, 4 s … up to 15 minutes; per address, whatever the
// accounts tried, the same after 10 failures. Failures from one address
// therefore never delay the account's rightful user at another; a
// success clears its (account, address) count. Each attempt is counted
// before the password is checked, under a row lock, so a burst of
// parallel guesses gets no more tries than a sequence. Behind a reverse
// proxy the address comes from chi's ClientIPFromXFF with the proxies'
// CIDRs (ivrd -trusted-proxies), never from a header anyone can send.
// Every answer has a CSP without inline script or style, nosniff,
// Referrer-Policy, frame-ancestors 'none' and X-Frame-Options (HSTS when
// Secure).
//
// # Live pages
//
// The wallboard, the live calls and the operator console update over SSE.
// A hub reads the state once per refresh for every client (queue snapshot,
// operators, today's figures, live calls): on Notify after a 150 ms
// debounce, and every RefreshInterval (2 s) while someone watches, for the
// changes of other instances. Each distinct view (language and groups) is
// rendered once per refresh and only changed fragments are sent. The
// console's call box is sent only when the operator's call changes, so a
// ticket being edited there is never replaced under the operator's hands.
// Today's offered, answered and abandoned calls and the service level come
// from the call records (tickets.Store.Report), like the reports, so the
// wallboard and the reports agree; the queue snapshot gives waiting
// callers, the longest wait and the operators' states.
//
// # Pages
//
//	/login, /logout, /lang           access and language (Italian default, English)
//	/wallboard, /wallboard/events    per group: waiting, longest wait, operators, today's figures, service level
//	/live, /live/events              the calls in progress and where they are
//	/console, /console/events        my state, and the call I am offered or on with its ticket
//	/console/state                   available, pause with a reason, log out of the queues
//	/console/recording               pause or resume the recording of my call (operator on it, admins)
//	/tickets, /tickets/{id}          list (filters, search, pages), detail, edit (optimistic version), articles
//	/recordings/{ticket}/{att}       an after-hours recording, streamed through Options.Recordings
//	/after-hours                     open requests left while closed, by due time, with recordings
//	/reports, /reports.csv           per day or hour and group, SVG chart, CSV
//	/config, /config/reload          (admin) menu tree, schedules and holidays, groups and operators
//	/config/versions[/{id}]          (admin) versions (Options.Versions): drafts edited and validated, published, rolled back
//	/admin/users                     (admin) list, add, disable, enable, set password
//	/admin/outbox                    (admin) the e-mail outbox: state, reason of a failure, retry
//	/admin/tokens                    (admin) the REST API's tokens (Tokens): create (secret shown once), revoke, last use
//	/admin/audit                     (admin) the audit log (Audit): administrative changes, and every change made through the API
//
// A ticket's page shows its e-mail notices and their state (Options.Outbox,
// by default package notify's table read directly).
//
// # Languages
//
// Every message the panel shows lives in two catalogs, panel/i18n/it.json
// and en.json (data, embedded), with the same keys; a test fails on a key
// missing in either, or used by the code or a template but in neither.
// The panel's errors carry their catalog key (errorKey) and are shown in
// the user's language; their English text is for logs and ivrctl.
//
// Key elements carry data-testid attributes for browser tests (login
// fields, wallboard rows and figures, console ticket box, ticket edit
// form, language switch, audio elements).
package panel
