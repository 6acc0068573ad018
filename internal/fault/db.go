package fault

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// FromDB turns a database error into a domain error at a store's edge and
// says what was being done (op): no row and a broken foreign key are
// ENOTFOUND with the message notFound, a unique violation ECONFLICT, a
// value the schema refuses EINVALID; a domain error passes through; any
// other error is wrapped as it is (an internal error).
func FromDB(op string, err error, notFound string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", op, &Error{Code: ENOTFOUND, Message: notFound})
	}
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		switch pgErr.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%s: %w", op, Errorf(ECONFLICT, "already exists (%s)", pgErr.ConstraintName))
		case "23503": // foreign_key_violation: what we point to is missing
			return fmt.Errorf("%s: %w", op, &Error{Code: ENOTFOUND, Message: notFound})
		case "23514", "23502", "22001", "22P02", "22007", "22008": // check, not null, too long, bad text, bad dates
			return fmt.Errorf("%s: %w", op, Errorf(EINVALID, "invalid value: %s", pgErr.Message))
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}
