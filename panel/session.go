package panel

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// session is a logged-in user's server-side session.
type session struct {
	hash      []byte
	User      User
	CSRF      string // the token every form of this session carries
	CreatedAt time.Time
	LastSeen  time.Time
	ExpiresAt time.Time // absolute end, whatever the activity
}

// sessions keeps sessions in PostgreSQL, known by the SHA-256 of the
// cookie's token.
type sessions struct {
	pool     *pgxpool.Pool
	now      func() time.Time
	idle     time.Duration
	lifetime time.Duration
}

// touchEvery bounds the writes of a busy session: its last_seen moves at
// most this often, which makes the idle timeout this much less precise.
const touchEvery = time.Minute

func newToken() string { return rand.Text() }

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// create starts a session for login and returns its token. Expired
// sessions are purged on the way.
func (s *sessions) create(ctx context.Context, login string) (string, session, error) {
	now := s.now()
	token := newToken()
	sess := session{hash: hashToken(token), CSRF: newToken(), CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(s.lifetime)}
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM panel_sessions WHERE expires_at <= $1 OR last_seen <= $2`, now, now.Add(-s.idle))
	b.Queue(`INSERT INTO panel_sessions (token_hash, login, csrf, created_at, last_seen, expires_at)
		VALUES ($1, $2, $3, $4, $4, $5)`, sess.hash, login, sess.CSRF, now, sess.ExpiresAt)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return "", session{}, fmt.Errorf("create session: %w", err)
	}
	return token, sess, nil
}

// load returns the live session of token, and marks it used. A missing,
// expired or idle session, or one whose user is disabled, is
// fault.ErrUnauthorized.
func (s *sessions) load(ctx context.Context, token string) (session, error) {
	if token == "" {
		return session{}, fault.ErrUnauthorized
	}
	now := s.now()
	sess := session{hash: hashToken(token)}
	u := &sess.User
	err := s.pool.QueryRow(ctx, `SELECT s.csrf, s.created_at, s.last_seen, s.expires_at,
			u.login, u.name, u.role, u.lang, u.disabled, u.created_at, u.updated_at
		FROM panel_sessions s JOIN panel_users u ON u.login = s.login WHERE s.token_hash = $1`, sess.hash).
		Scan(&sess.CSRF, &sess.CreatedAt, &sess.LastSeen, &sess.ExpiresAt,
			&u.Login, &u.Name, &u.Role, &u.Lang, &u.Disabled, &u.CreatedAt, &u.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return session{}, fault.ErrUnauthorized
	}
	if err != nil {
		return session{}, fmt.Errorf("load session: %w", err)
	}
	if u.Disabled || !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeen) >= s.idle {
		_ = s.destroyHash(ctx, sess.hash)
		return session{}, fault.ErrUnauthorized
	}
	if now.Sub(sess.LastSeen) >= touchEvery {
		if _, err := s.pool.Exec(ctx, `UPDATE panel_sessions SET last_seen = $2 WHERE token_hash = $1`, sess.hash, now); err != nil {
			return session{}, fmt.Errorf("touch session: %w", err)
		}
		sess.LastSeen = now
	}
	return sess, nil
}

func (s *sessions) destroy(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	return s.destroyHash(ctx, hashToken(token))
}

func (s *sessions) destroyHash(ctx context.Context, hash []byte) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM panel_sessions WHERE token_hash = $1`, hash); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}
