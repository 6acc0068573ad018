package queues

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
)

// retryable reports errors after which the whole transaction may simply be
// run again: deadlocks and serialization failures.
func retryable(err error) bool {
	pgErr, ok := errors.AsType[*pgconn.PgError](err)
	return ok && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}
