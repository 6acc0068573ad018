package notify

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// QueueInvitation queues, in tx (the transaction that records the
// invitation), the mail inviting name at address to to the panel's
// portal: link sets their password, until expires. lang is "it" or "en"
// ("" the configured language).
//
// The link's token is in the outbox's copy of the message: it is worth
// something only until it is used or expires (the panel keeps its hash
// only).
func (n *Notifier) QueueInvitation(ctx context.Context, tx pgx.Tx, to, name, lang, link string, at, expires time.Time) error {
	if lang != "it" && lang != "en" {
		lang = n.cfg.Language
	}
	id := fmt.Sprintf("<invitation.%s@%s>", rand.Text(), n.cfg.Domain)
	return n.queue(ctx, tx, KindInvitation, lang, 0, id, nil, []string{to}, at,
		templateData{Name: name, Link: link, Expires: expires, At: at})
}
