package api

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/panel"
)

// The token routes are the panel's /admin/tokens for automation: scope
// admin, and a user who is an administrator now (not only when the token
// was made).

type tokenJSON struct {
	ID           int64      `json:"id"`
	Name         string     `json:"name"`
	User         string     `json:"user"`
	Scope        string     `json:"scope"`
	Groups       []string   `json:"groups"`
	CreatedBy    string     `json:"created_by"`
	CreatedAt    time.Time  `json:"created_at"`
	ExpiresAt    time.Time  `json:"expires_at"`
	RevokedAt    *time.Time `json:"revoked_at"`
	LastUsedAt   *time.Time `json:"last_used_at"`
	LastUsedFrom string     `json:"last_used_from"`
	// Secret is set only in the answer to the creation.
	Secret string `json:"secret,omitempty"`
}

func tokenOf(t panel.Token) tokenJSON {
	groups := t.Groups
	if groups == nil {
		groups = []string{}
	}
	return tokenJSON{ID: t.ID, Name: t.Name, User: t.Login, Scope: string(t.Scope), Groups: groups, CreatedBy: t.CreatedBy,
		CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, RevokedAt: optTime(t.RevokedAt), LastUsedAt: optTime(t.LastUsedAt),
		LastUsedFrom: t.LastUsedFrom}
}

// requireAdmin lets through admin tokens of administrators.
func (a *API) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principalOf(r)
		if !p.token.Scope.Allows(panel.ScopeAdmin) || p.user.Role != panel.RoleAdmin {
			a.writeProblem(w, r, fault.Errorf(fault.EFORBIDDEN, "this needs a token of scope admin of an administrator"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// allTokens lets through principals of every group: a token restricted to
// groups neither lists nor revokes the tokens of others.
func (a *API) allTokens(w http.ResponseWriter, r *http.Request) bool {
	if !principalOf(r).all {
		a.writeProblem(w, r, fault.Errorf(fault.EFORBIDDEN, "a token restricted to groups does not manage the others"))
		return false
	}
	return true
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request) {
	if !a.allTokens(w, r) {
		return
	}
	list, err := a.opts.Tokens.List(r.Context())
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	out := make([]tokenJSON, 0, len(list))
	for _, t := range list {
		out = append(out, tokenOf(t))
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
}

type newTokenJSON struct {
	Name   string   `json:"name"`
	User   string   `json:"user"`
	Scope  string   `json:"scope"`
	Groups []string `json:"groups"`
	Days   int      `json:"days"`
}

func (a *API) createToken(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := principalOf(r)
	var in newTokenJSON
	if err := decode(w, r, &in); err != nil {
		a.writeProblem(w, r, err)
		return
	}
	if in.Days < 1 {
		a.writeProblem(w, r, fault.Errorf(fault.EINVALID, "days: 1 to %d", int(panel.MaxTokenLifetime.Hours()/24)))
		return
	}
	for _, g := range in.Groups {
		if a.config().Group(g) == nil {
			a.writeProblem(w, r, fault.Errorf(fault.EINVALID, "groups: unknown %q", shorten(g)))
			return
		}
	}
	// A token restricted to groups makes tokens within them only: it
	// cannot mint a wider one than itself.
	if !p.all && (len(in.Groups) == 0 || slices.ContainsFunc(in.Groups, func(g string) bool { return !p.mayGroup(g) })) {
		a.writeProblem(w, r, fault.Errorf(fault.EFORBIDDEN, "groups: a token restricted to groups creates tokens within them"))
		return
	}
	secret, tok, err := a.opts.Tokens.Create(ctx, panel.NewToken{Name: in.Name, Login: in.User, Scope: panel.Scope(in.Scope),
		Groups: in.Groups, ExpiresAt: a.now().Add(time.Duration(in.Days) * 24 * time.Hour),
		CreatedBy: p.user.Login + " (token " + strconv.FormatInt(p.token.ID, 10) + ")"})
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	a.audit(ctx, p, "token.create", "token:"+strconv.FormatInt(tok.ID, 10), "user="+tok.Login+" scope="+string(tok.Scope))
	out := tokenOf(tok)
	out.Secret = secret
	writeJSON(w, http.StatusCreated, out)
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := principalOf(r)
	if !a.allTokens(w, r) {
		return
	}
	id, err := pathID(r, "id")
	var tok panel.Token
	if err == nil {
		tok, err = a.opts.Tokens.Revoke(ctx, id, p.user.Login)
	}
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	a.audit(ctx, p, "token.revoke", "token:"+strconv.FormatInt(id, 10), "user="+tok.Login)
	writeJSON(w, http.StatusOK, tokenOf(tok))
}
