package mailin

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// FileRules are the limits and media types of the files kept with a
// ticket: a mail's attachments, and the files attached in the panel's
// portal, which follow the same rules.
type FileRules struct {
	MaxBytes int64    // one file
	MaxFiles int      // of one message
	Types    []string // media types kept
}

// FileRules are c's rules for files, defaults filled.
func (c Config) FileRules() FileRules {
	c = c.withDefaults()
	return FileRules{MaxBytes: c.MaxAttachmentBytes, MaxFiles: c.MaxAttachments, Types: c.AttachmentTypes}
}

// Refused says why a file named name, of media type ct, is not kept; ""
// when it is. Its name's extension must not say another type that is not
// kept (an .exe sent as application/pdf).
func (r FileRules) Refused(name, ct string) string {
	return refusedType(name, mediaType(ct), r.Types)
}

// CleanName makes a file's name safe to show and store: its last path
// element, printable, at most 200 bytes, a name from its type when
// nothing is left.
func CleanName(name, ct string) string { return cleanName(name, mediaType(ct)) }

// Querier is a transaction or a pool.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// StoreFile keeps a file with ticket ticketID, where the mails' files are,
// and returns its URI (AttachmentScheme), which OpenAttachment reads; the
// ticket's attachment naming it is the caller's to add.
func StoreFile(ctx context.Context, db Querier, ticketID int64, name, ct string, data []byte, at time.Time) (string, error) {
	sum := sha256.Sum256(data)
	var id int64
	err := db.QueryRow(ctx, `INSERT INTO mail_attachments (ticket_id, name, content_type, sha256, content, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, ticketID, name, ct, sum[:], data, at).Scan(&id)
	if err != nil {
		return "", fmt.Errorf("store attachment: %w", err)
	}
	return AttachmentScheme + strconv.FormatInt(id, 10), nil
}
