package tickets

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/menu"
)

// ContactRole is a contact's role for their Administration (seed 001's
// two PIN roles): the technical referent follows all of its tickets.
type ContactRole string

const (
	ContactReferent ContactRole = "referent"
	ContactUser     ContactRole = "user"
)

// ContactRoles lists the roles, referent first.
var ContactRoles = []ContactRole{ContactReferent, ContactUser}

func (r ContactRole) Valid() bool { return slices.Contains(ContactRoles, r) }

// Contact is a person of an Administration: who calls and who is mailed.
// A contact is never deleted, since tickets refer to it: it is disabled.
type Contact struct {
	ID           int64
	Organization string // an id of the configuration's organizations
	Name         string
	Role         ContactRole
	Email        string   // "" when unknown; unique, case-insensitively
	Phones       []string // E.164
	Language     string   // "it", "en" or "" (the Administration's)
	Disabled     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// ContactFilter selects contacts for FindContacts.
type ContactFilter struct {
	Organization string // "" for all
	// Text matches contacts whose name, e-mail or a phone number contains
	// it (case-insensitive); a phone typed in national form matches too.
	Text            string
	IncludeDisabled bool
	Limit           int // default 200, at most 1000
}

// NormalizeContact checks c and puts it in the stored form: trimmed
// fields, phones in E.164 (Italian national numbers get +39), no duplicate
// phones. It does not check the organization against the configuration:
// the caller does (the store does not know it).
func NormalizeContact(c Contact) (Contact, error) {
	c.Organization = strings.TrimSpace(c.Organization)
	c.Name = strings.TrimSpace(c.Name)
	c.Email = strings.TrimSpace(c.Email)
	c.Language = strings.ToLower(strings.TrimSpace(c.Language))
	switch {
	case c.Organization == "":
		return c, fault.Errorf(fault.EINVALID, "a contact needs an Administration")
	case c.Name == "":
		return c, fault.Errorf(fault.EINVALID, "a contact needs a name")
	case !c.Role.Valid():
		return c, fault.Errorf(fault.EINVALID, "unknown role %q (referent or user)", c.Role)
	case c.Email != "" && !ValidEmail(c.Email):
		return c, fault.Errorf(fault.EINVALID, "%q is not an e-mail address", c.Email)
	case c.Language != "" && (len(c.Language) != 2 || strings.Trim(c.Language, "abcdefghijklmnopqrstuvwxyz") != ""):
		return c, fault.Errorf(fault.EINVALID, "language %q: want a two-letter code such as it or en", c.Language)
	}
	phones := make([]string, 0, len(c.Phones))
	for _, p := range c.Phones {
		if strings.TrimSpace(p) == "" {
			continue
		}
		n, err := NormalizePhone(p)
		if err != nil {
			return c, err
		}
		if !slices.Contains(phones, n) {
			phones = append(phones, n)
		}
	}
	c.Phones = phones
	return c, nil
}

// NormalizePhone turns a phone number as people write it into E.164, as
// caller ids arrive (menu.NormalizeNumber: "+39…", "0039…", and Italian
// national numbers starting with 0, 3 or 8).
func NormalizePhone(p string) (string, error) {
	n, err := menu.NormalizeNumber(p)
	if err != nil {
		return "", fault.Errorf(fault.EINVALID, "phone %q is not a number in E.164 or Italian form", strings.TrimSpace(p))
	}
	return n, nil
}

// ValidEmail reports whether s is a bare e-mail address (no display name).
func ValidEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s && strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".")
}

const contactColumns = `c.id, c.organization, c.name, c.role, c.email, c.phones, c.language, c.disabled, c.created_at, c.updated_at`

func (s *Store) scanContact(row pgx.Row) (Contact, error) {
	var c Contact
	err := row.Scan(&c.ID, &c.Organization, &c.Name, &c.Role, &c.Email, &c.Phones, &c.Language, &c.Disabled, &c.CreatedAt, &c.UpdatedAt)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.In(s.loc), c.UpdatedAt.In(s.loc)
	if c.Phones == nil {
		c.Phones = []string{}
	}
	return c, err
}

// contactDBError maps the store's errors: a used e-mail is a conflict
// saying so.
func contactDBError(op string, err error, notFound string) error {
	err = fault.FromDB(op, err, notFound)
	if fault.Code(err) == fault.ECONFLICT {
		return fmt.Errorf("%s: %w", op, fault.Errorf(fault.ECONFLICT, "another contact has this e-mail address"))
	}
	return err
}

// CreateContact adds a contact (see NormalizeContact); an e-mail address
// another contact has is fault.ErrConflict.
func (s *Store) CreateContact(ctx context.Context, c Contact) (Contact, error) {
	const op = "create contact"
	c, err := NormalizeContact(c)
	if err != nil {
		return Contact{}, fmt.Errorf("%s: %w", op, err)
	}
	now := s.stampNow()
	out, err := s.scanContact(s.pool.QueryRow(ctx, `INSERT INTO contacts AS c (organization, name, role, email, phones, language,
			disabled, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING `+contactColumns,
		c.Organization, c.Name, c.Role, c.Email, c.Phones, c.Language, c.Disabled, now))
	if err != nil {
		return Contact{}, contactDBError(op, err, "")
	}
	return out, nil
}

// UpdateContact replaces the fields of contact c.ID with c's (Disabled
// included).
func (s *Store) UpdateContact(ctx context.Context, c Contact) (Contact, error) {
	const op = "update contact"
	c, err := NormalizeContact(c)
	if err != nil {
		return Contact{}, fmt.Errorf("%s: %w", op, err)
	}
	out, err := s.scanContact(s.pool.QueryRow(ctx, `UPDATE contacts c SET organization = $2, name = $3, role = $4,
			email = $5, phones = $6, language = $7, disabled = $8, updated_at = $9
		WHERE c.id = $1 RETURNING `+contactColumns,
		c.ID, c.Organization, c.Name, c.Role, c.Email, c.Phones, c.Language, c.Disabled, s.stampNow()))
	if err != nil {
		return Contact{}, contactDBError(op, err, fmt.Sprintf("contact %d not found", c.ID))
	}
	return out, nil
}

// DisableContact disables (or enables again) a contact: calls from its
// numbers no longer fill tickets, and nobody can pick it for a ticket.
// Tickets that have it keep it.
func (s *Store) DisableContact(ctx context.Context, id int64, disabled bool) (Contact, error) {
	out, err := s.scanContact(s.pool.QueryRow(ctx, `UPDATE contacts c SET disabled = $2, updated_at = $3
		WHERE c.id = $1 RETURNING `+contactColumns, id, disabled, s.stampNow()))
	if err != nil {
		return Contact{}, contactDBError("disable contact", err, fmt.Sprintf("contact %d not found", id))
	}
	return out, nil
}

// FindContactByID returns a contact, disabled or not.
func (s *Store) FindContactByID(ctx context.Context, id int64) (Contact, error) {
	c, err := s.scanContact(s.pool.QueryRow(ctx, `SELECT `+contactColumns+` FROM contacts c WHERE c.id = $1`, id))
	if err != nil {
		return Contact{}, fault.FromDB("find contact", err, fmt.Sprintf("contact %d not found", id))
	}
	return c, nil
}

// FindContactByEmail returns the contact with the address, matched
// case-insensitively, disabled or not.
func (s *Store) FindContactByEmail(ctx context.Context, email string) (Contact, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return Contact{}, fault.Errorf(fault.ENOTFOUND, "no contact without an e-mail address")
	}
	c, err := s.scanContact(s.pool.QueryRow(ctx, `SELECT `+contactColumns+` FROM contacts c
		WHERE lower(c.email) = lower($1) AND c.email <> ''`, email))
	if err != nil {
		return Contact{}, fault.FromDB("find contact by e-mail", err, "no contact with this e-mail address")
	}
	return c, nil
}

// FindContactsByPhone returns the enabled contacts having the number
// (normalised first), of organization org unless org is "".
func (s *Store) FindContactsByPhone(ctx context.Context, phone, org string) ([]Contact, error) {
	const op = "find contacts by phone"
	n, err := NormalizePhone(phone)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+contactColumns+` FROM contacts c
		WHERE c.phones @> ARRAY[$1::text] AND NOT c.disabled AND ($2 = '' OR c.organization = $2)
		ORDER BY c.organization, c.name, c.id`, n, org)
	if err != nil {
		return nil, fault.FromDB(op, err, "")
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Contact, error) { return s.scanContact(row) })
	if err != nil {
		return nil, fault.FromDB(op, err, "")
	}
	return list, nil
}

// FindContacts lists contacts by Administration and name.
func (s *Store) FindContacts(ctx context.Context, f ContactFilter) ([]Contact, error) {
	const op = "find contacts"
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = 200
	case limit > 1000:
		limit = 1000
	}
	a := args{}
	where := []string{"true"}
	if f.Organization != "" {
		where = append(where, "c.organization = "+a.add(f.Organization))
	}
	if !f.IncludeDisabled {
		where = append(where, "NOT c.disabled")
	}
	if text := strings.TrimSpace(f.Text); text != "" {
		like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(text)) + "%"
		cond := "(lower(c.name) LIKE " + a.add(like) + " OR lower(c.email) LIKE $" + strconv.Itoa(len(a)) +
			" OR array_to_string(c.phones, ' ') LIKE $" + strconv.Itoa(len(a))
		if n, err := NormalizePhone(text); err == nil {
			cond += " OR c.phones @> ARRAY[" + a.add(n) + "::text]"
		}
		where = append(where, cond+")")
	}
	rows, err := s.pool.Query(ctx, `SELECT `+contactColumns+` FROM contacts c WHERE `+strings.Join(where, " AND ")+
		` ORDER BY c.organization, lower(c.name), c.id LIMIT `+a.add(limit), a...)
	if err != nil {
		return nil, fault.FromDB(op, err, "")
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Contact, error) { return s.scanContact(row) })
	if err != nil {
		return nil, fault.FromDB(op, err, "")
	}
	return list, nil
}

// ContactsByID returns the contacts of ids (unknown ids are left out), for
// showing a list of tickets' contacts in one query.
func (s *Store) ContactsByID(ctx context.Context, ids []int64) (map[int64]Contact, error) {
	out := map[int64]Contact{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+contactColumns+` FROM contacts c WHERE c.id = ANY($1)`, ids)
	if err != nil {
		return nil, fault.FromDB("contacts by id", err, "")
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Contact, error) { return s.scanContact(row) })
	if err != nil {
		return nil, fault.FromDB("contacts by id", err, "")
	}
	for _, c := range list {
		out[c.ID] = c
	}
	return out, nil
}

// ReferentEmails returns the e-mail addresses of the enabled referent
// contacts of an Administration, through db (the transaction of a notice).
func ReferentEmails(ctx context.Context, db interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}, org string) ([]string, error) {
	rows, err := db.Query(ctx, `SELECT c.email FROM contacts c WHERE c.organization = $1 AND c.role = 'referent'
		AND NOT c.disabled AND c.email <> '' ORDER BY c.id`, org)
	if err != nil {
		return nil, fmt.Errorf("referents' e-mails: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// ContactCSVColumns are the columns of a contacts CSV file, named in its
// header row in any order. phones holds numbers separated by ";".
var ContactCSVColumns = []string{"organization", "name", "role", "email", "phones", "language"}

// ImportError is what is wrong with one line of a contacts CSV file (line
// 1 is the header).
type ImportError struct {
	Line    int
	Message string
}

func (e ImportError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Message) }

// ImportResult is the outcome of ImportContacts. With any Errors nothing
// was written.
type ImportResult struct {
	Contacts []Contact // the file's contacts, normalised, in file order
	Errors   []ImportError
	Created  int // contacts added (counted on a dry run as they would be)
	Updated  int // contacts matched by e-mail and updated
	DryRun   bool
}

// MaxImportLines bounds a contacts file.
const MaxImportLines = 10000

// ParseContactsCSV reads a contacts CSV file and checks every line:
// knownOrg says whether an organization id is in the configuration. It
// reports every error it finds, by line, not only the first; the
// database is not read (see ImportContacts for the addresses in use).
func ParseContactsCSV(r io.Reader, knownOrg func(string) bool) ([]Contact, []ImportError) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var errs []ImportError
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, []ImportError{{1, "empty file: want a header row " + strings.Join(ContactCSVColumns, ",")}}
		}
		return nil, []ImportError{{1, csvMessage(err)}}
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		switch {
		case !slices.Contains(ContactCSVColumns, h):
			errs = append(errs, ImportError{1, fmt.Sprintf("unknown column %q (want %s)", h, strings.Join(ContactCSVColumns, ","))})
		case col[h] != 0:
			errs = append(errs, ImportError{1, fmt.Sprintf("column %q twice", h)})
		default:
			col[h] = i + 1 // 0 means absent
		}
	}
	for _, name := range []string{"organization", "name", "role", "email"} {
		if col[name] == 0 {
			errs = append(errs, ImportError{1, fmt.Sprintf("missing column %q", name)})
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	field := func(rec []string, name string) string {
		if i := col[name]; i > 0 && i <= len(rec) {
			return strings.TrimSpace(rec[i-1])
		}
		return ""
	}
	var out []Contact
	emails := map[string]int{} // lower-case address: its line
	lastLine := 1
	for {
		if len(out)+len(errs) >= MaxImportLines {
			errs = append(errs, ImportError{lastLine + 1, fmt.Sprintf("more than %d lines: split the file", MaxImportLines)})
			break
		}
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				errs = append(errs, ImportError{1, csvMessage(err)})
				break
			}
			errs = append(errs, ImportError{pe.Line, csvMessage(err)})
			lastLine = pe.Line
			continue
		}
		line, _ := cr.FieldPos(0)
		lastLine = line
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		c := Contact{Organization: field(rec, "organization"), Name: field(rec, "name"),
			Role: ContactRole(strings.ToLower(field(rec, "role"))), Email: field(rec, "email"),
			Language: field(rec, "language")}
		for p := range strings.SplitSeq(field(rec, "phones"), ";") {
			c.Phones = append(c.Phones, p)
		}
		var msgs []string
		if c.Organization != "" && !knownOrg(c.Organization) {
			msgs = append(msgs, fmt.Sprintf("unknown organization %q", c.Organization))
		}
		if c.Email == "" {
			msgs = append(msgs, "e-mail missing: the import matches contacts by e-mail")
		}
		// NormalizeContact stops at the first error: check each field
		// alone, so that the line lists all of its own.
		for _, probe := range []Contact{
			{Organization: "x", Name: c.Name, Role: ContactUser},
			{Organization: "x", Name: "x", Role: c.Role},
			{Organization: "x", Name: "x", Role: ContactUser, Email: c.Email},
			{Organization: "x", Name: "x", Role: ContactUser, Language: c.Language},
		} {
			if _, err := NormalizeContact(probe); err != nil {
				msgs = append(msgs, fault.Message(err))
			}
		}
		for _, p := range c.Phones {
			if strings.TrimSpace(p) == "" {
				continue
			}
			if _, err := NormalizePhone(p); err != nil {
				msgs = append(msgs, fault.Message(err))
			}
		}
		if c.Organization == "" {
			msgs = append(msgs, "organization missing")
		}
		if key := strings.ToLower(c.Email); key != "" {
			if first, dup := emails[key]; dup {
				msgs = append(msgs, fmt.Sprintf("e-mail %s also on line %d", c.Email, first))
			} else {
				emails[key] = line
			}
		}
		if len(msgs) > 0 {
			errs = append(errs, ImportError{line, strings.Join(msgs, "; ")})
			continue
		}
		n, _ := NormalizeContact(c)
		n.ID = int64(line) // the line, until stored: ImportContacts reports by it
		out = append(out, n)
	}
	if len(out) == 0 && len(errs) == 0 {
		errs = append(errs, ImportError{1, "no contacts in the file"})
	}
	return out, errs
}

func csvMessage(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return "not valid CSV: " + pe.Err.Error()
	}
	return "not valid CSV: " + err.Error()
}

// ImportContacts reads a contacts CSV file (ParseContactsCSV) and, unless
// dryRun or anything is wrong, writes it in one transaction: a contact
// whose e-mail address is in the directory is updated (its disabled flag
// kept), the others are added. An address in the directory under another
// Administration is an error of its line: a contact never moves between
// Administrations by import. Errors are reported in ImportResult, all of
// them; the error returned is the database's.
func (s *Store) ImportContacts(ctx context.Context, r io.Reader, knownOrg func(string) bool, dryRun bool) (ImportResult, error) {
	const op = "import contacts"
	list, errs := ParseContactsCSV(r, knownOrg)
	res := ImportResult{DryRun: dryRun, Errors: errs}
	n := len(list)
	orgs, names, roles, emails, phones, langs := make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n)
	lines := make([]int64, n)
	for i, c := range list {
		lines[i] = c.ID
		orgs[i], names[i], roles[i], emails[i], langs[i] = c.Organization, c.Name, string(c.Role), c.Email, c.Language
		phones[i] = strings.Join(c.Phones, " ")
	}
	// The addresses already in the directory: which update, which belong
	// to another Administration.
	existing := map[string]string{}
	rows, err := s.pool.Query(ctx, `SELECT lower(email), organization FROM contacts WHERE lower(email) = ANY($1)`, lowerAll(emails))
	if err != nil {
		return res, fault.FromDB(op, err, "")
	}
	for rows.Next() {
		var e, o string
		if err := rows.Scan(&e, &o); err != nil {
			rows.Close()
			return res, fault.FromDB(op, err, "")
		}
		existing[e] = o
	}
	if err := rows.Err(); err != nil {
		return res, fault.FromDB(op, err, "")
	}
	for i, c := range list {
		o, ok := existing[strings.ToLower(c.Email)]
		switch {
		case !ok:
			res.Created++
		case o != c.Organization:
			res.Errors = append(res.Errors, ImportError{int(lines[i]), fmt.Sprintf("e-mail %s belongs to a contact of %q", c.Email, o)})
		default:
			res.Updated++
		}
	}
	slices.SortStableFunc(res.Errors, func(a, b ImportError) int { return a.Line - b.Line })
	for i := range list {
		list[i].ID = 0
	}
	res.Contacts = list
	if dryRun || len(res.Errors) > 0 {
		if len(res.Errors) > 0 {
			res.Created, res.Updated = 0, 0
		}
		return res, nil
	}
	res.Created, res.Updated = 0, 0
	now := s.stampNow()
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			INSERT INTO contacts AS c (organization, name, role, email, phones, language, created_at, updated_at)
			SELECT r.organization, r.name, r.role, r.email, string_to_array(r.phones, ' '), r.language, $8, $8
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[])
				AS r(organization, name, role, email, phones, language, line)
			ORDER BY r.line
			ON CONFLICT ((lower(email))) WHERE email <> '' DO UPDATE SET
				name = EXCLUDED.name, role = EXCLUDED.role, phones = EXCLUDED.phones,
				language = EXCLUDED.language, updated_at = EXCLUDED.updated_at
				WHERE c.organization = EXCLUDED.organization
			RETURNING xmax = 0, lower(c.email)`, orgs, names, roles, emails, phones, langs, lines, now)
		if err != nil {
			return err
		}
		written := map[string]bool{}
		for rows.Next() {
			var inserted bool
			var e string
			if err := rows.Scan(&inserted, &e); err != nil {
				rows.Close()
				return err
			}
			written[e] = true
			if inserted {
				res.Created++
			} else {
				res.Updated++
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		// A contact moved to another Administration since the check: the
		// upsert skipped it; say so and write nothing.
		for i, e := range emails {
			if !written[strings.ToLower(e)] {
				res.Errors = append(res.Errors, ImportError{int(lines[i]), fmt.Sprintf("e-mail %s belongs to a contact of another Administration", e)})
			}
		}
		if len(res.Errors) > 0 {
			return errImportRejected
		}
		return nil
	})
	if errors.Is(err, errImportRejected) {
		res.Created, res.Updated = 0, 0
		return res, nil
	}
	if err != nil {
		return ImportResult{}, fault.FromDB(op, err, "")
	}
	return res, nil
}

var errImportRejected = errors.New("import rejected")

func lowerAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = strings.ToLower(s)
	}
	return out
}

// contactCheck is what an update of a ticket must know of contacts; it is
// read with the ticket, in the same statement.
type contactCheck struct {
	curOrg      string  // the Administration of the ticket's contact
	newOrg      *string // upd.ContactID's Administration; nil when no such contact
	newDisabled bool
	byPhone     *int64 // the one enabled contact of upd.Organization with the caller's number
}

// contactCheckSQL returns the select list (starting with a comma) that
// reads a contactCheck for upd, its parameters added to a. What upd does
// not need is a constant: the call controller's updates, most of them,
// read no contact.
func contactCheckSQL(upd TicketUpdate, a *args) string {
	newOrg, newDisabled := "NULL::text", "false"
	if upd.ContactID != nil {
		pid := a.add(*upd.ContactID)
		newOrg = `(SELECT c.organization FROM contacts c WHERE c.id = ` + pid + `::bigint)`
		newDisabled = `coalesce((SELECT c.disabled FROM contacts c WHERE c.id = ` + pid + `::bigint), false)`
	}
	curOrg, byPhone := "''", "NULL::bigint"
	if upd.Organization != nil && *upd.Organization != "" {
		porg := a.add(*upd.Organization) + "::text"
		changed := `CASE WHEN ` + porg + ` <> t.organization THEN `
		curOrg = `coalesce(` + changed + `(SELECT c.organization FROM contacts c WHERE c.id = t.contact_id) END, '')`
		byPhone = changed + phoneContactSQL("t.caller", porg) + ` END`
	}
	return ", " + curOrg + ", " + newOrg + ", " + newDisabled + ", " + byPhone
}

func (c *contactCheck) dest() []any { return []any{&c.curOrg, &c.newOrg, &c.newDisabled, &c.byPhone} }

// phoneContactSQL is the id of the one enabled contact having the number
// caller, of Administration org unless org is ”; NULL when none or when
// several have it (a switchboard's number says nobody in particular).
func phoneContactSQL(caller, org string) string {
	return `(SELECT min(c.id) FROM contacts c WHERE ` + caller + ` <> '' AND c.phones @> ARRAY[` + caller + `]
		AND NOT c.disabled AND (` + org + ` = '' OR c.organization = ` + org + `) HAVING count(*) = 1)`
}

// applyContact sets next's contact after upd (next already has upd's
// Administration): an explicit choice must be an enabled contact of the
// ticket's Administration; a change of Administration (a PIN said who
// calls) drops a contact of another one, and takes the caller's contact
// in the new one if there is exactly one.
func applyContact(cur Ticket, next *Ticket, upd TicketUpdate, cc contactCheck) error {
	if upd.ContactID != nil {
		id := *upd.ContactID
		if id != 0 && id != cur.ContactID {
			switch {
			case id < 0 || cc.newOrg == nil:
				return fault.Errorf(fault.EINVALID, "contact %d not found", id)
			case cc.newDisabled:
				return fault.Errorf(fault.EINVALID, "contact %d is disabled", id)
			}
		}
		if id != 0 && cc.newOrg != nil && next.Organization != "" && *cc.newOrg != next.Organization {
			return fault.Errorf(fault.EINVALID, "contact %d is not of the ticket's Administration", id)
		}
		next.ContactID = id
		return nil
	}
	if next.Organization == cur.Organization || next.Organization == "" {
		return nil
	}
	if cur.ContactID != 0 && cc.curOrg == next.Organization {
		return nil
	}
	next.ContactID = 0
	if cc.byPhone != nil {
		next.ContactID = *cc.byPhone
	}
	return nil
}

func contactIDText(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}

func nullContact(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}
