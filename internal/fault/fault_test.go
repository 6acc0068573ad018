package fault

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestCodesAndStatuses: every code has its status, whatever wraps the
// error; anything that is not a domain error is a 500 without its text.
func TestCodesAndStatuses(t *testing.T) {
	t.Parallel()
	badDigit := &Error{Code: EINVALID, Message: "ticket number: wrong check digit"}
	for _, tc := range []struct {
		err     error
		code    string
		status  int
		message string
		is      []error
		isNot   []error
	}{
		{fmt.Errorf("find: %w", Errorf(ENOTFOUND, "ticket %d not found", 3)), ENOTFOUND, 404, "ticket 3 not found", []error{ErrNotFound}, []error{ErrInvalid}},
		{fmt.Errorf("x: %w", badDigit), EINVALID, 400, badDigit.Message, []error{badDigit, ErrInvalid}, []error{&Error{Code: EINVALID, Message: "other"}}},
		{ErrUnauthorized, EUNAUTHORIZED, 401, "", []error{ErrUnauthorized}, []error{ErrForbidden}},
		{Errorf(EFORBIDDEN, "no"), EFORBIDDEN, 403, "no", []error{ErrForbidden}, nil},
		{Errorf(ECONFLICT, "stale"), ECONFLICT, 409, "stale", []error{ErrConflict}, nil},
		{Errorf(ETOOLARGE, "big"), ETOOLARGE, 413, "big", nil, nil},
		{Errorf(ERATELIMITED, "slow"), ERATELIMITED, 429, "slow", nil, nil},
		{Errorf(EMETHOD, "m"), EMETHOD, 405, "m", nil, nil},
		{Errorf(EMEDIATYPE, "t"), EMEDIATYPE, 415, "t", nil, nil},
		{Errorf(ENOTACCEPTED, "a"), ENOTACCEPTED, 406, "a", nil, nil},
		{&Error{Code: EINTERNAL, Message: "SELECT secret"}, EINTERNAL, 500, "internal error", []error{ErrInternal}, nil},
		{errors.New("connection reset"), EINTERNAL, 500, "internal error", nil, []error{ErrInternal}},
		{&Error{Code: "made_up", Message: "x"}, "made_up", 500, "x", nil, nil},
	} {
		if got := Code(tc.err); got != tc.code {
			t.Errorf("Code(%v) = %q, want %q", tc.err, got, tc.code)
		}
		if got := HTTPStatus(tc.err); got != tc.status {
			t.Errorf("HTTPStatus(%v) = %d, want %d", tc.err, got, tc.status)
		}
		if got := Message(tc.err); got != tc.message {
			t.Errorf("Message(%v) = %q, want %q", tc.err, got, tc.message)
		}
		for _, target := range tc.is {
			if !errors.Is(tc.err, target) {
				t.Errorf("errors.Is(%v, %v) = false", tc.err, target)
			}
		}
		for _, target := range tc.isNot {
			if errors.Is(tc.err, target) {
				t.Errorf("errors.Is(%v, %v) = true", tc.err, target)
			}
		}
	}
	if Code(nil) != "" || Message(nil) != "" {
		t.Errorf("nil: code %q message %q", Code(nil), Message(nil))
	}
	if got := HTTPStatus(nil); got != http.StatusInternalServerError {
		t.Errorf("HTTPStatus(nil) = %d", got)
	}
}

// safeErr knows a better text than the *Error it wraps.
type safeErr struct{}

func (safeErr) Error() string       { return "from closed to new" }
func (safeErr) SafeMessage() string { return "from closed to new" }
func (safeErr) Unwrap() error       { return &Error{Code: EINVALID, Message: "invalid transition"} }

func TestSafeMessage(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("update: %w", safeErr{})
	if Message(err) != "from closed to new" || Code(err) != EINVALID {
		t.Fatalf("message %q code %q", Message(err), Code(err))
	}
}

// TestFromDB: the store's edge turns the database's answers into codes and
// never lets SQL into the message.
func TestFromDB(t *testing.T) {
	t.Parallel()
	if FromDB("op", nil, "x") != nil {
		t.Fatal("nil error became an error")
	}
	for _, tc := range []struct {
		err     error
		code    string
		message string
	}{
		{pgx.ErrNoRows, ENOTFOUND, "ticket not found"},
		{&pgconn.PgError{Code: "23503", Message: "insert violates foreign key"}, ENOTFOUND, "ticket not found"},
		{&pgconn.PgError{Code: "23505", ConstraintName: "tickets_number_key"}, ECONFLICT, "already exists (tickets_number_key)"},
		{&pgconn.PgError{Code: "23514", Message: `new row violates check constraint "c"`}, EINVALID, `invalid value: new row violates check constraint "c"`},
		{&pgconn.PgError{Code: "42P01", Message: `relation "secret" does not exist`}, EINTERNAL, "internal error"},
		{Errorf(ECONFLICT, "stale version"), ECONFLICT, "stale version"},
	} {
		err := FromDB("find ticket", tc.err, "ticket not found")
		if Code(err) != tc.code || Message(err) != tc.message {
			t.Errorf("%v: code %q message %q, want %q %q", tc.err, Code(err), Message(err), tc.code, tc.message)
		}
		if !errors.Is(err, tc.err) {
			if _, domain := tc.err.(*Error); domain {
				t.Errorf("%v: the domain error is lost", tc.err)
			}
		}
	}
}
