package panel

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// The portal's accounts, invitations and sessions (migration
// 004_portal.sql). An account belongs to a row of the tickets' contacts
// table: its e-mail is the login, its role (referent or user) and
// Administration are read from it on every request, and a disabled
// contact is let in nowhere.

// Portal roles, as contacts.role.
const (
	PortalReferent = "referent" // sees and follows all of the Administration's tickets
	PortalUser     = "user"     // sees the tickets whose contact they are
)

// portalUser is the person of a portal session.
type portalUser struct {
	ContactID    int64
	Organization string
	Name, Email  string
	Role         string // PortalReferent or PortalUser
	Lang         string
	Disabled     bool
	OrgName      string // the Administration's name in the configuration
}

// viewer is the tickets store's view of u: a referent the Administration's
// tickets, a user their own (tickets whose contact they are, which those
// they open in the portal are). Both never see internal notes or staff
// fields (caller-side views).
func (u portalUser) viewer() tickets.Viewer {
	if u.Role == PortalReferent {
		return tickets.Viewer{Kind: tickets.ViewerCallerOrg, Organization: u.Organization}
	}
	return tickets.Viewer{Kind: tickets.ViewerContact, Contact: u.ContactID}
}

// actor is who the ticket history records: a caller, known by contact.
func (u portalUser) actor() tickets.Actor {
	return tickets.Actor{Kind: tickets.ActorCaller, ID: fmt.Sprintf("portal:%d", u.ContactID)}
}

// portalSession is a portal user's server-side session.
type portalSession struct {
	hash      []byte
	User      portalUser
	CSRF      string
	LastSeen  time.Time
	ExpiresAt time.Time
}

// portalStore keeps the portal's accounts, invitations and sessions.
type portalStore struct {
	pool     *pgxpool.Pool
	now      func() time.Time
	idle     time.Duration
	lifetime time.Duration
	dummy    []byte // as Users.dummy
}

const contactColumns = `c.id, c.organization, c.name, c.email, c.role, c.disabled`

func scanContact(row pgx.Row, extra ...any) (portalUser, error) {
	var u portalUser
	err := row.Scan(append([]any{&u.ContactID, &u.Organization, &u.Name, &u.Email, &u.Role, &u.Disabled}, extra...)...)
	return u, err
}

// contact finds a contact by id (byID) or e-mail address.
func (p *portalStore) contact(ctx context.Context, id int64, email string) (portalUser, error) {
	u, err := scanContact(p.pool.QueryRow(ctx, `SELECT `+contactColumns+` FROM contacts c
		WHERE ($1 > 0 AND c.id = $1) OR ($1 = 0 AND $2 <> '' AND lower(c.email) = lower($2))`, id, email))
	if errors.Is(err, pgx.ErrNoRows) {
		return u, errorKey(fault.ENOTFOUND, "portal.no_contact")
	}
	if err != nil {
		return u, fmt.Errorf("find contact: %w", err)
	}
	return u, nil
}

// authenticate checks an e-mail address and password. An unknown address,
// a contact without an account and a disabled one cost one bcrypt
// comparison like any other, and answer the same.
func (p *portalStore) authenticate(ctx context.Context, email, password string) (portalUser, error) {
	var lang, hash string
	u, err := scanContact(p.pool.QueryRow(ctx, `SELECT `+contactColumns+`, a.lang, a.password_hash
		FROM contacts c JOIN portal_accounts a ON a.contact_id = c.id
		WHERE c.email <> '' AND lower(c.email) = lower($1)`, email), &lang, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		_ = bcrypt.CompareHashAndPassword(p.dummy, []byte(password))
		return portalUser{}, errBadCredentials
	}
	if err != nil {
		return portalUser{}, fmt.Errorf("portal authenticate: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil || u.Disabled {
		return portalUser{}, errBadCredentials
	}
	u.Lang = lang
	return u, nil
}

// createSession starts a session for contactID and returns its token.
// Expired sessions are purged on the way.
func (p *portalStore) createSession(ctx context.Context, contactID int64) (string, error) {
	now := p.now()
	token := newToken()
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM portal_sessions WHERE expires_at <= $1 OR last_seen <= $2`, now, now.Add(-p.idle))
	b.Queue(`INSERT INTO portal_sessions (token_hash, contact_id, csrf, created_at, last_seen, expires_at)
		VALUES ($1, $2, $3, $4, $4, $5)`, hashToken(token), contactID, newToken(), now, now.Add(p.lifetime))
	if err := p.pool.SendBatch(ctx, b).Close(); err != nil {
		return "", fmt.Errorf("create portal session: %w", err)
	}
	return token, nil
}

// loadSession returns the live session of token and marks it used. A
// missing, expired or idle session, or one whose contact is disabled or
// gone, is fault.ErrUnauthorized. The contact's role and Administration
// are read now: a change applies at the next request.
func (p *portalStore) loadSession(ctx context.Context, token string) (portalSession, error) {
	if token == "" {
		return portalSession{}, fault.ErrUnauthorized
	}
	now := p.now()
	sess := portalSession{hash: hashToken(token)}
	var lang string
	u, err := scanContact(p.pool.QueryRow(ctx, `SELECT `+contactColumns+`, a.lang, s.csrf, s.last_seen, s.expires_at
		FROM portal_sessions s JOIN portal_accounts a ON a.contact_id = s.contact_id
		JOIN contacts c ON c.id = s.contact_id WHERE s.token_hash = $1`, sess.hash),
		&lang, &sess.CSRF, &sess.LastSeen, &sess.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return portalSession{}, fault.ErrUnauthorized
	}
	if err != nil {
		return portalSession{}, fmt.Errorf("load portal session: %w", err)
	}
	u.Lang = lang
	sess.User = u
	if u.Disabled || !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeen) >= p.idle {
		_ = p.destroyHash(ctx, sess.hash)
		return portalSession{}, fault.ErrUnauthorized
	}
	if now.Sub(sess.LastSeen) >= touchEvery {
		if _, err := p.pool.Exec(ctx, `UPDATE portal_sessions SET last_seen = $2 WHERE token_hash = $1`, sess.hash, now); err != nil {
			return portalSession{}, fmt.Errorf("touch portal session: %w", err)
		}
	}
	return sess, nil
}

func (p *portalStore) destroySession(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	return p.destroyHash(ctx, hashToken(token))
}

func (p *portalStore) destroyHash(ctx context.Context, hash []byte) error {
	if _, err := p.pool.Exec(ctx, `DELETE FROM portal_sessions WHERE token_hash = $1`, hash); err != nil {
		return fmt.Errorf("end portal session: %w", err)
	}
	return nil
}

// setLang sets the language of a portal account.
func (p *portalStore) setLang(ctx context.Context, contactID int64, lang string) error {
	lang, err := checkLang(lang)
	if err != nil {
		return fmt.Errorf("set language: %w", err)
	}
	if _, err := p.pool.Exec(ctx, `UPDATE portal_accounts SET lang = $2, updated_at = $3 WHERE contact_id = $1`,
		contactID, lang, p.now()); err != nil {
		return fmt.Errorf("set language: %w", err)
	}
	return nil
}

// setAccount gives contactID an account with password (or a new
// password), ending the account's sessions, through q.
func (p *portalStore) setAccount(ctx context.Context, q pgx.Tx, contactID int64, password, lang string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	lang, err := checkLang(lang)
	if err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return fmt.Errorf("set portal password: %w", err)
	}
	now := p.now()
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO portal_accounts (contact_id, password_hash, lang, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
		ON CONFLICT (contact_id) DO UPDATE SET password_hash = $2, lang = $3, updated_at = $4`, contactID, string(hash), lang, now)
	b.Queue(`DELETE FROM portal_sessions WHERE contact_id = $1`, contactID)
	if err := q.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("set portal password: %w", err)
	}
	return nil
}

// invitationTTL is how long an invitation link works.
const invitationTTL = 72 * time.Hour

// invite records an invitation of c by login and runs send (the mail's
// queueing) in the same transaction with its token: both are written, or
// neither.
func (p *portalStore) invite(ctx context.Context, c portalUser, by string,
	send func(tx pgx.Tx, token string, expires time.Time) error) error {
	token := newToken()
	now := p.now()
	expires := now.Add(invitationTTL)
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO portal_invitations (token_hash, contact_id, email, created_by, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, hashToken(token), c.ContactID, c.Email, by, now, expires); err != nil {
			return err
		}
		return send(tx, token, expires)
	})
	if err != nil {
		return fmt.Errorf("invite contact %d: %w", c.ContactID, err)
	}
	return nil
}

// errBadInvitation is the one answer to an unknown, used or expired
// invitation, or one whose contact was disabled or changed address.
var errBadInvitation = errorKey(fault.ENOTFOUND, "portal.bad_invitation")

const invitationQuery = `SELECT ` + contactColumns + ` FROM portal_invitations i JOIN contacts c ON c.id = i.contact_id
	WHERE i.token_hash = $1 AND i.used_at IS NULL AND i.expires_at > $2 AND NOT c.disabled
		AND c.email <> '' AND lower(c.email) = lower(i.email)`

// invitation returns the contact a valid invitation token is for.
func (p *portalStore) invitation(ctx context.Context, token string) (portalUser, error) {
	if token == "" || len(token) > 64 {
		return portalUser{}, errBadInvitation
	}
	u, err := scanContact(p.pool.QueryRow(ctx, invitationQuery, hashToken(token), p.now()))
	if errors.Is(err, pgx.ErrNoRows) {
		return portalUser{}, errBadInvitation
	}
	if err != nil {
		return portalUser{}, fmt.Errorf("read invitation: %w", err)
	}
	return u, nil
}

// accept uses a valid invitation: the contact's account gets password,
// and every invitation of the contact is used up.
func (p *portalStore) accept(ctx context.Context, token, password, lang string) (portalUser, error) {
	if err := checkPassword(password); err != nil {
		return portalUser{}, err
	}
	if token == "" || len(token) > 64 {
		return portalUser{}, errBadInvitation
	}
	var u portalUser
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		var err error
		// FOR UPDATE: two tabs accepting at once use it once.
		u, err = scanContact(tx.QueryRow(ctx, invitationQuery+` FOR UPDATE OF i`, hashToken(token), p.now()))
		if errors.Is(err, pgx.ErrNoRows) {
			return errBadInvitation
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE portal_invitations SET used_at = $2 WHERE contact_id = $1 AND used_at IS NULL`,
			u.ContactID, p.now()); err != nil {
			return err
		}
		return p.setAccount(ctx, tx, u.ContactID, password, lang)
	})
	if err != nil {
		if fault.Code(err) == fault.EINVALID || errors.Is(err, errBadInvitation) {
			return portalUser{}, err
		}
		return portalUser{}, fmt.Errorf("accept invitation: %w", err)
	}
	u.Lang, _ = checkLang(lang)
	return u, nil
}

// invitationRow is a line of the invitations page.
type invitationRow struct {
	ContactID                    int64
	Name, Email, Organization    string
	Role, By                     string
	CreatedAt, ExpiresAt, UsedAt time.Time
	State                        string // pending, used, expired
}

// recentInvitations lists the latest invitations, newest first.
func (p *portalStore) recentInvitations(ctx context.Context, limit int) ([]invitationRow, error) {
	rows, err := p.pool.Query(ctx, `SELECT c.id, c.name, i.email, c.organization, c.role, i.created_by, i.created_at,
			i.expires_at, i.used_at FROM portal_invitations i JOIN contacts c ON c.id = i.contact_id
		ORDER BY i.created_at DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	now := p.now()
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (invitationRow, error) {
		var x invitationRow
		var used *time.Time
		err := row.Scan(&x.ContactID, &x.Name, &x.Email, &x.Organization, &x.Role, &x.By, &x.CreatedAt, &x.ExpiresAt, &used)
		switch {
		case used != nil:
			x.UsedAt, x.State = *used, "used"
		case !x.ExpiresAt.After(now):
			x.State = "expired"
		default:
			x.State = "pending"
		}
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	return list, nil
}
