package api

import (
	"context"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/panel"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// principal is who a request acts as: a token and its user. What it may
// see is the panel's rule for the user (an operator: the groups of their
// queues; the others: every group), narrowed to the token's groups.
type principal struct {
	token panel.Token
	user  panel.User
	// all: every group; otherwise only groups (maybe none).
	all    bool
	groups []string
}

type principalKey struct{}

func principalOf(r *http.Request) *principal {
	p, _ := r.Context().Value(principalKey{}).(*principal)
	return p
}

func (p *principal) mayGroup(g string) bool { return p.all || slices.Contains(p.groups, g) }

// supervisor reports whether the user sees and manages every operator (the
// panel's supervisors and administrators).
func (p *principal) supervisor() bool {
	return p.user.Role == panel.RoleSupervisor || p.user.Role == panel.RoleAdmin
}

// viewer is the tickets store's view of the principal.
func (p *principal) viewer() tickets.Viewer {
	if p.all {
		return tickets.Viewer{Kind: tickets.ViewerStaffAll, Login: p.user.Login}
	}
	return tickets.Viewer{Kind: tickets.ViewerStaffGroups, Groups: slices.Clone(p.groups), Login: p.user.Login}
}

// actor is who a ticket's history records: the user, as in the panel.
func (p *principal) actor() tickets.Actor {
	if p.user.Role == panel.RoleOperator {
		return tickets.Actor{Kind: tickets.ActorOperator, ID: p.user.Login}
	}
	return tickets.Actor{Kind: tickets.ActorSupervisor, ID: p.user.Login}
}

// groupFilter is nil for every group, else the visible groups (maybe
// empty: none), for SQL's "$1::text[] IS NULL OR group_id = ANY($1)".
func (p *principal) groupFilter() []string {
	if p.all {
		return nil
	}
	return append([]string{}, p.groups...)
}

// authenticate lets through requests with a valid bearer token, within
// the token's rate limit, and puts the principal in the context.
func (a *API) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		scheme, secret, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || secret == "" {
			a.writeProblem(w, r, fault.Errorf(fault.EUNAUTHORIZED, "an API token is required: Authorization: Bearer <token>"))
			return
		}
		tok, user, err := a.opts.Tokens.Authenticate(ctx, strings.TrimSpace(secret), clientAddress(r))
		if err != nil {
			if problemOf(err).Status == http.StatusUnauthorized {
				a.log.Warn("api_token_refused", "address", clientAddress(r), "path", r.URL.Path)
				err = fault.Errorf(fault.EUNAUTHORIZED, "the token is unknown, expired or revoked")
			}
			a.writeProblem(w, r, err)
			return
		}
		if !a.limiter.allow(w, tok.ID) {
			a.writeProblem(w, r, fault.Errorf(fault.ERATELIMITED, "too many requests for this token; see Retry-After"))
			return
		}
		p := &principal{token: tok, user: user, all: user.Role != panel.RoleOperator}
		if !p.all {
			p.groups = a.operatorGroups(ctx, user.Login)
		}
		if len(tok.Groups) > 0 {
			if p.all {
				p.groups = slices.Clone(tok.Groups)
			} else {
				p.groups = slices.DeleteFunc(p.groups, func(g string) bool { return !slices.Contains(tok.Groups, g) })
			}
			p.all = false
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, principalKey{}, p)))
	})
}

// operatorGroups are an operator's groups: their queue memberships, as in
// the panel; none without queues or for a login the queues do not know.
func (a *API) operatorGroups(ctx context.Context, login string) []string {
	if a.opts.Queues == nil {
		return []string{}
	}
	op, err := a.opts.Queues.Operator(ctx, login)
	if err != nil {
		if problemOf(err).Status != http.StatusNotFound {
			a.log.Error("api_operator_groups", "operator", login, "error", err.Error())
		}
		return []string{}
	}
	groups := make([]string, 0, len(op.Groups))
	for g := range op.Groups {
		groups = append(groups, g)
	}
	slices.Sort(groups)
	return groups
}

// requireScope lets through tokens of scope need or more.
func (a *API) requireScope(need panel.Scope) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !principalOf(r).token.Scope.Allows(need) {
				a.writeProblem(w, r, fault.Errorf(fault.EFORBIDDEN, "this needs a token of scope %s", need))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// clientAddress is the client's address: the one chi's ClientIP middleware
// found behind trusted proxies (cmd/ivrd sets it up), else the peer's.
func clientAddress(r *http.Request) string {
	if ip := middleware.GetClientIP(r.Context()); ip != "" {
		return ip
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
