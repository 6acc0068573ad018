package queues

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Error codes, as in package tickets.
const (
	ECONFLICT = "conflict"  // the operator or call is not in a state that allows it
	EINTERNAL = "internal"  // a bug or the database failing
	EINVALID  = "invalid"   // bad input
	ENOTFOUND = "not_found" // no such group, operator or queued call
)

// Error is the queues domain error: a code for programs and a message that
// is safe to show to a user.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return "queues: " + e.Code
}

// Is makes errors.Is(err, ErrNotFound) match any *Error of that code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Code == e.Code
}

// Code sentinels, for errors.Is.
var (
	ErrConflict = &Error{Code: ECONFLICT}
	ErrInternal = &Error{Code: EINTERNAL}
	ErrInvalid  = &Error{Code: EINVALID}
	ErrNotFound = &Error{Code: ENOTFOUND}
)

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return EINTERNAL
}

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// dbError turns database errors into domain errors at the package's edge.
func dbError(op string, err error, notFound string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", op, &Error{Code: ENOTFOUND, Message: notFound})
	}
	if _, ok := errors.AsType[*Error](err); ok {
		return fmt.Errorf("%s: %w", op, err)
	}
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		switch pgErr.Code {
		case "23505":
			return fmt.Errorf("%s: %w", op, errorf(ECONFLICT, "already exists (%s)", pgErr.ConstraintName))
		case "23503":
			return fmt.Errorf("%s: %w", op, &Error{Code: ENOTFOUND, Message: notFound})
		case "23514", "23502", "22001", "22P02":
			return fmt.Errorf("%s: %w", op, errorf(EINVALID, "invalid value: %s", pgErr.Message))
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// retryable reports errors after which the whole transaction may simply be
// run again: deadlocks and serialization failures.
func retryable(err error) bool {
	pgErr, ok := errors.AsType[*pgconn.PgError](err)
	return ok && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}
