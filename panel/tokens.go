package panel

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Scope is what an API token may do, within what its user may.
type Scope string

const (
	// ScopeRead reads tickets, calls, queues and reports.
	ScopeRead Scope = "read"
	// ScopeWrite also changes tickets and operators' states.
	ScopeWrite Scope = "write"
	// ScopeAdmin also does what only administrators do (their user must be
	// one).
	ScopeAdmin Scope = "admin"
)

// Scopes lists the scopes, least powerful first.
var Scopes = []Scope{ScopeRead, ScopeWrite, ScopeAdmin}

// Allows reports whether s includes need (admin includes write includes
// read).
func (s Scope) Allows(need Scope) bool {
	return slices.Index(Scopes, s) >= slices.Index(Scopes, need) && slices.Contains(Scopes, need)
}

// TokenPrefix starts every API token's secret, so that a secret pasted
// where it should not be is recognised (and secret scanners can find it).
const TokenPrefix = "ivrt_"

// MaxTokenLifetime bounds a token's life: every token expires.
const MaxTokenLifetime = 366 * 24 * time.Hour

// Token is an API token as listed: never its secret, which is shown once.
type Token struct {
	ID           int64
	Name         string
	Login        string // the user it acts as
	Scope        Scope
	Groups       []string // empty: every group the user sees
	CreatedBy    string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	RevokedAt    time.Time // zero unless revoked
	RevokedBy    string
	LastUsedAt   time.Time // zero if never used
	LastUsedFrom string
}

// Active reports whether t may be used at now.
func (t Token) Active(now time.Time) bool { return t.RevokedAt.IsZero() && now.Before(t.ExpiresAt) }

// NewToken is a token to create.
type NewToken struct {
	Name      string
	Login     string
	Scope     Scope
	Groups    []string
	ExpiresAt time.Time
	CreatedBy string
}

// Tokens keeps the API tokens in PostgreSQL (see Migrate).
type Tokens struct {
	pool *pgxpool.Pool
	now  func() time.Time
}

// NewTokens returns the tokens stored in pool; now is the clock (nil:
// time.Now).
func NewTokens(pool *pgxpool.Pool, now func() time.Time) *Tokens {
	if now == nil {
		now = time.Now
	}
	return &Tokens{pool: pool, now: now}
}

// newSecret is 256 random bits: too many to guess, so a fast hash of it is
// as safe to keep as a slow one (see hashToken).
func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

func secretHash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Create makes a token for nt.Login and returns its secret, which is never
// stored nor shown again. The user must exist and be enabled; the admin
// scope needs an administrator; the expiry must be in the future, within
// MaxTokenLifetime.
func (t *Tokens) Create(ctx context.Context, nt NewToken) (string, Token, error) {
	const op = "create token"
	now := t.now()
	name, err := text("tokens.name", nt.Name, maxName, true, false)
	if err != nil {
		return "", Token{}, fmt.Errorf("%s: %w", op, err)
	}
	if !slices.Contains(Scopes, nt.Scope) {
		return "", Token{}, fmt.Errorf("%s: %w", op, errorKey(fault.EINVALID, "tokens.bad_scope", string(nt.Scope)))
	}
	if !nt.ExpiresAt.After(now) || nt.ExpiresAt.Sub(now) > MaxTokenLifetime {
		return "", Token{}, fmt.Errorf("%s: %w", op, errorKey(fault.EINVALID, "tokens.bad_expiry", int(MaxTokenLifetime.Hours()/24)))
	}
	groups := []string{}
	for _, g := range nt.Groups {
		if g = strings.TrimSpace(g); g == "" || slices.Contains(groups, g) {
			continue
		}
		if _, err := text("tokens.groups", g, maxValue, true, false); err != nil {
			return "", Token{}, fmt.Errorf("%s: %w", op, err)
		}
		groups = append(groups, g)
	}
	slices.Sort(groups)
	login := NormalizeLogin(nt.Login)
	u, err := (&Users{pool: t.pool}).Find(ctx, login) // no bcrypt dummy needed
	if errors.Is(err, fault.ErrNotFound) {
		return "", Token{}, fmt.Errorf("%s: %w", op, errorKey(fault.EINVALID, "tokens.bad_user", login))
	}
	if err != nil {
		return "", Token{}, fmt.Errorf("%s: %w", op, err)
	}
	if u.Disabled {
		return "", Token{}, fmt.Errorf("%s: %w", op, errorKey(fault.EINVALID, "tokens.bad_user", login))
	}
	if nt.Scope == ScopeAdmin && u.Role != RoleAdmin {
		return "", Token{}, fmt.Errorf("%s: %w", op, errorKey(fault.EINVALID, "tokens.admin_needs_admin", login))
	}
	secret := newSecret()
	tok := Token{Name: name, Login: login, Scope: nt.Scope, Groups: groups, CreatedBy: nt.CreatedBy,
		CreatedAt: now, ExpiresAt: nt.ExpiresAt}
	err = t.pool.QueryRow(ctx, `INSERT INTO api_tokens (secret_hash, name, login, scope, groups, created_by, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		secretHash(secret), tok.Name, tok.Login, tok.Scope, tok.Groups, tok.CreatedBy, now, tok.ExpiresAt).Scan(&tok.ID)
	if err != nil {
		return "", Token{}, fmt.Errorf("%s: %w", op, err)
	}
	return secret, tok, nil
}

const tokenColumns = `t.id, t.name, t.login, t.scope, t.groups, t.created_by, t.created_at, t.expires_at, t.revoked_at,
	COALESCE(t.revoked_by, ''), t.last_used_at, COALESCE(t.last_used_from, '')`

func scanToken(row pgx.Row, extra ...any) (Token, error) {
	var tk Token
	var revoked, used *time.Time
	err := row.Scan(append([]any{&tk.ID, &tk.Name, &tk.Login, &tk.Scope, &tk.Groups, &tk.CreatedBy, &tk.CreatedAt,
		&tk.ExpiresAt, &revoked, &tk.RevokedBy, &used, &tk.LastUsedFrom}, extra...)...)
	if revoked != nil {
		tk.RevokedAt = *revoked
	}
	if used != nil {
		tk.LastUsedAt = *used
	}
	return tk, err
}

// List returns every token, newest first.
func (t *Tokens) List(ctx context.Context) ([]Token, error) {
	rows, err := t.pool.Query(ctx, `SELECT `+tokenColumns+` FROM api_tokens t ORDER BY t.created_at DESC, t.id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var list []Token
	for rows.Next() {
		tk, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		list = append(list, tk)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return list, nil
}

// Revoke ends a token at once; revoking one already revoked is fault.ENOTFOUND.
func (t *Tokens) Revoke(ctx context.Context, id int64, by string) (Token, error) {
	tk, err := scanToken(t.pool.QueryRow(ctx, `UPDATE api_tokens t SET revoked_at = $2, revoked_by = $3
		WHERE t.id = $1 AND t.revoked_at IS NULL RETURNING `+tokenColumns, id, t.now(), by))
	if errors.Is(err, pgx.ErrNoRows) {
		return Token{}, fmt.Errorf("revoke token: %w", errorKey(fault.ENOTFOUND, "tokens.not_found"))
	}
	if err != nil {
		return Token{}, fmt.Errorf("revoke token: %w", err)
	}
	return tk, nil
}

// Authenticate returns the token of secret and its user, and records the
// use (at most once a minute per token, so that a busy client does not
// write on every request). An unknown, expired or revoked token, or one
// whose user is disabled, is fault.ErrUnauthorized; so is anything not shaped
// like a token, without a query.
func (t *Tokens) Authenticate(ctx context.Context, secret, from string) (Token, User, error) {
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) != len(TokenPrefix)+43 {
		return Token{}, User{}, fault.ErrUnauthorized
	}
	now := t.now()
	var u User
	tk, err := scanToken(t.pool.QueryRow(ctx, `SELECT `+tokenColumns+`, u.login, u.name, u.role, u.lang, u.disabled,
			u.created_at, u.updated_at
		FROM api_tokens t JOIN panel_users u ON u.login = t.login WHERE t.secret_hash = $1`, secretHash(secret)),
		&u.Login, &u.Name, &u.Role, &u.Lang, &u.Disabled, &u.CreatedAt, &u.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Token{}, User{}, fault.ErrUnauthorized
	}
	if err != nil {
		return Token{}, User{}, fmt.Errorf("authenticate token: %w", err)
	}
	if !tk.Active(now) || u.Disabled {
		return Token{}, User{}, fault.ErrUnauthorized
	}
	if tk.LastUsedAt.IsZero() || now.Sub(tk.LastUsedAt) >= touchEvery || tk.LastUsedFrom != from {
		if _, err := t.pool.Exec(ctx, `UPDATE api_tokens SET last_used_at = $2, last_used_from = $3 WHERE id = $1`,
			tk.ID, now, from); err != nil {
			return Token{}, User{}, fmt.Errorf("record token use: %w", err)
		}
		tk.LastUsedAt, tk.LastUsedFrom = now, from
	}
	return tk, u, nil
}
