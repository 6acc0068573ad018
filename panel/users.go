package panel

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"
)

// Role is what a user may see and do.
type Role string

const (
	// RoleOperator works the tickets and queues of their groups (their
	// groups are their queue memberships: the login is the queue
	// operator's login).
	RoleOperator Role = "operator"
	// RoleSupervisor sees every group's tickets, queues and reports.
	RoleSupervisor Role = "supervisor"
	// RoleAdmin is a supervisor who also manages users and the
	// configuration.
	RoleAdmin Role = "admin"
)

// Roles lists every role, least powerful first.
var Roles = []Role{RoleOperator, RoleSupervisor, RoleAdmin}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Languages are the panel's languages, the default first.
var Languages = []string{"it", "en"}

// User is a person who logs in to the panel.
type User struct {
	Login     string
	Name      string
	Role      Role
	Lang      string
	Disabled  bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// MinPasswordLen is the shortest password accepted.
const MinPasswordLen = 10

// bcryptCost is a variable so that tests can hash fast.
var bcryptCost = bcrypt.DefaultCost

var loginPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Users keeps the panel's users in PostgreSQL (see Migrate).
type Users struct {
	pool *pgxpool.Pool
	now  func() time.Time
	// dummy is a hash compared against when the login is unknown, so that
	// a wrong login costs the same time as a wrong password.
	dummy []byte
}

// NewUsers returns the users stored in pool.
func NewUsers(pool *pgxpool.Pool) *Users { return newUsers(pool, time.Now) }

func newUsers(pool *pgxpool.Pool, now func() time.Time) *Users {
	dummy, err := bcrypt.GenerateFromPassword([]byte("not a password of anyone"), bcryptCost)
	if err != nil {
		panic(err) // only for a cost out of range, a bug
	}
	return &Users{pool: pool, now: now, dummy: dummy}
}

// NormalizeLogin is how logins are compared: trimmed and lower case.
func NormalizeLogin(login string) string { return strings.ToLower(strings.TrimSpace(login)) }

func checkPassword(password string) error {
	if utf8.RuneCountInString(password) < MinPasswordLen {
		return errorKey(fault.EINVALID, "users.password_short", MinPasswordLen)
	}
	if len(password) > 72 { // bcrypt's limit, in bytes
		return errorKey(fault.EINVALID, "users.password_long", 72)
	}
	return nil
}

func checkLang(lang string) (string, error) {
	if lang == "" {
		return Languages[0], nil
	}
	if !slices.Contains(Languages, lang) {
		return "", errorKey(fault.EINVALID, "users.bad_lang", lang)
	}
	return lang, nil
}

// Add creates a user. The login must be new (fault.ErrConflict otherwise).
func (u *Users) Add(ctx context.Context, login, name string, role Role, password, lang string) error {
	const op = "add user"
	login = NormalizeLogin(login)
	name = strings.TrimSpace(name)
	var err error
	switch {
	case !loginPattern.MatchString(login):
		err = errorKey(fault.EINVALID, "users.bad_login", login)
	case name == "":
		err = errorKey(fault.EINVALID, "users.no_name")
	case utf8.RuneCountInString(name) > maxName || strings.ContainsFunc(name, unicode.IsControl):
		_, err = text("users.name", name, maxName, true, false)
	case !role.Valid():
		err = errorKey(fault.EINVALID, "users.bad_role", string(role))
	default:
		err = checkPassword(password)
	}
	if err == nil {
		lang, err = checkLang(lang)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	now := u.now()
	_, err = u.pool.Exec(ctx, `INSERT INTO panel_users (login, name, role, password_hash, lang, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6)`, login, name, role, string(hash), lang, now)
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == "23505" {
		return fmt.Errorf("%s: %w", op, errorKey(fault.ECONFLICT, "users.exists", login))
	}
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// SetPassword changes a user's password and ends their sessions.
func (u *Users) SetPassword(ctx context.Context, login, password string) error {
	const op = "set password"
	login = NormalizeLogin(login)
	if err := checkPassword(password); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return u.update(ctx, op, login, true, `password_hash = $3`, string(hash))
}

// SetDisabled disables (ending their sessions) or enables a user.
func (u *Users) SetDisabled(ctx context.Context, login string, disabled bool) error {
	return u.update(ctx, "set disabled", NormalizeLogin(login), disabled, `disabled = $3`, disabled)
}

// SetLang sets the language of a user's panel.
func (u *Users) SetLang(ctx context.Context, login, lang string) error {
	lang, err := checkLang(lang)
	if err != nil {
		return fmt.Errorf("set language: %w", err)
	}
	return u.update(ctx, "set language", NormalizeLogin(login), false, `lang = $3`, lang)
}

// update sets one column of a user, and ends the user's sessions if asked,
// in one statement.
func (u *Users) update(ctx context.Context, op, login string, endSessions bool, set string, value any) error {
	var found bool
	err := u.pool.QueryRow(ctx, `WITH u AS (
			UPDATE panel_users SET `+set+`, updated_at = $2 WHERE login = $1 RETURNING login
		), s AS (
			DELETE FROM panel_sessions WHERE $4 AND login IN (SELECT login FROM u)
		)
		SELECT EXISTS (SELECT FROM u)`, login, u.now(), value, endSessions).Scan(&found)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if !found {
		return fmt.Errorf("%s: %w", op, errorKey(fault.ENOTFOUND, "users.not_found", login))
	}
	return nil
}

const userColumns = `login, name, role, lang, disabled, created_at, updated_at`

func scanUser(row pgx.Row, extra ...any) (User, error) {
	var x User
	err := row.Scan(append([]any{&x.Login, &x.Name, &x.Role, &x.Lang, &x.Disabled, &x.CreatedAt, &x.UpdatedAt}, extra...)...)
	return x, err
}

// Find returns a user.
func (u *Users) Find(ctx context.Context, login string) (User, error) {
	login = NormalizeLogin(login)
	x, err := scanUser(u.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM panel_users WHERE login = $1`, login))
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, fmt.Errorf("find user: %w", errorKey(fault.ENOTFOUND, "users.not_found", login))
	}
	if err != nil {
		return User{}, fmt.Errorf("find user: %w", err)
	}
	return x, nil
}

// List returns every user, by login.
func (u *Users) List(ctx context.Context) ([]User, error) {
	rows, err := u.pool.Query(ctx, `SELECT `+userColumns+` FROM panel_users ORDER BY login`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (User, error) { return scanUser(row) })
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return list, nil
}

// errBadCredentials is the one answer to a wrong login or password, so that
// the page does not tell which.
var errBadCredentials = errorKey(fault.EUNAUTHORIZED, "login.wrong")

// authenticate checks a login and password. A login that does not exist,
// or is disabled, costs one bcrypt comparison like any other.
func (u *Users) authenticate(ctx context.Context, login, password string) (User, error) {
	login = NormalizeLogin(login)
	var hash string
	x, err := scanUser(u.pool.QueryRow(ctx, `SELECT `+userColumns+`, password_hash FROM panel_users WHERE login = $1`, login), &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		_ = bcrypt.CompareHashAndPassword(u.dummy, []byte(password))
		return User{}, errBadCredentials
	}
	if err != nil {
		return User{}, fmt.Errorf("authenticate: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil || x.Disabled {
		return User{}, errBadCredentials
	}
	return x, nil
}
