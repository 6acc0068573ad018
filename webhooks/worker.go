package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/jackc/pgx/v5"
)

// The delivery headers.
const (
	HeaderID        = "Webhook-Id"
	HeaderTimestamp = "Webhook-Timestamp"
	HeaderSignature = "Webhook-Signature"
)

// Sign is the Webhook-Signature of body sent at timestamp (Unix seconds):
// "v1=" and the hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the
// subscription's secret (the whole string, "whsec_" included).
func Sign(secret string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Run delivers what is due every PollInterval, and prunes the log every
// hour, until ctx is cancelled.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.opts.PollInterval)
	defer t.Stop()
	var pruned time.Time
	for {
		if now := time.Now(); now.Sub(pruned) >= time.Hour {
			pruned = now
			if _, err := s.Prune(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("webhooks_prune_failed", "error", err.Error())
			}
		}
		s.Refresh(ctx)
		if _, err := s.DeliverPending(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("webhooks_deliver_pending_failed", "error", err.Error())
		}
		if err := s.countBacklog(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("webhooks_backlog_failed", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// DeliverPending makes the attempts due now, one at a time, and returns
// how many deliveries succeeded. Each delivery is claimed with FOR UPDATE
// SKIP LOCKED (another instance skips it), POSTed, and marked delivered or
// rescheduled in the same transaction: a crash before the commit leaves it
// pending, to be delivered again with the same Webhook-Id (receivers
// drop duplicates by it). A delivery waits while an earlier one of its
// subscription and order key is pending, and while its subscription is
// paused.
func (s *Service) DeliverPending(ctx context.Context) (int, error) {
	n := 0
	for {
		more, ok, err := s.deliverOne(ctx)
		if ok {
			n++
		}
		if err != nil || !more {
			return n, err
		}
	}
}

func (s *Service) deliverOne(ctx context.Context) (more, ok bool, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		now := s.opts.Now()
		var (
			id, subID              int64
			eventID, event, subURL string
			secret                 string
			payload                []byte
			attempts               int
			failingSince           *time.Time
		)
		err := tx.QueryRow(ctx, `SELECT d.id, d.subscription_id, d.event_id, d.event, d.payload, d.attempts, s.url, s.secret, s.failing_since
			FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id
			WHERE d.delivered_at IS NULL AND d.failed_at IS NULL AND d.next_attempt_at <= $1 AND s.active
			  AND (d.order_key = '' OR NOT EXISTS (SELECT 1 FROM webhook_deliveries e
			        WHERE e.subscription_id = d.subscription_id AND e.order_key = d.order_key AND e.id < d.id
			          AND e.delivered_at IS NULL AND e.failed_at IS NULL))
			ORDER BY d.next_attempt_at, d.id LIMIT 1 FOR UPDATE OF d SKIP LOCKED`, now).
			Scan(&id, &subID, &eventID, &event, &payload, &attempts, &subURL, &secret, &failingSince)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("claim: %w", err)
		}
		more = true
		start := time.Now()
		code, retry, postErr := s.post(ctx, subURL, secret, eventID, now, payload)
		took := time.Since(start)
		attempts++
		if postErr == nil {
			ok = true
			s.metrics.attempt("delivered", took)
			if _, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET delivered_at = $2, attempts = $3, last_error = '',
				response_code = $4 WHERE id = $1`, id, now, attempts, code); err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE webhook_subscriptions SET failing_since = NULL WHERE id = $1`, subID)
			s.log.Info("webhook_delivered", "webhook", subID, "delivery", id, "event", event, "attempts", attempts)
			return err
		}
		msg := postErr.Error()
		if !retry || attempts >= s.opts.MaxAttempts {
			s.metrics.attempt("failed", took)
			s.log.Error("webhook_given_up", "webhook", subID, "delivery", id, "event", event, "attempts", attempts,
				"status", code, "error", msg)
			_, err = tx.Exec(ctx, `UPDATE webhook_deliveries SET failed_at = $2, attempts = $3, last_error = $4,
				response_code = $5 WHERE id = $1`, id, now, attempts, msg, code)
		} else {
			s.metrics.attempt("retry", took)
			next := now.Add(s.backoff(attempts))
			s.log.Warn("webhook_delivery_failed", "webhook", subID, "delivery", id, "event", event, "attempts", attempts,
				"status", code, "retry_at", next, "error", msg)
			_, err = tx.Exec(ctx, `UPDATE webhook_deliveries SET next_attempt_at = $2, attempts = $3, last_error = $4,
				response_code = $5 WHERE id = $1`, id, next, attempts, msg, code)
		}
		if err != nil {
			return err
		}
		since := now
		if failingSince != nil {
			since = *failingSince
		}
		if now.Sub(since) >= s.opts.PauseAfter {
			reason := fmt.Sprintf("paused: every delivery failed since %s (last: %s)", since.UTC().Format(time.RFC3339), msg)
			_, err = tx.Exec(ctx, `UPDATE webhook_subscriptions SET active = false, paused_reason = $2 WHERE id = $1`,
				subID, shortError(reason))
			s.metrics.paused.Inc()
			s.log.Warn("webhook_paused", "webhook", subID, "url", subURL, "failing_since", since, "error", msg)
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE webhook_subscriptions SET failing_since = $2 WHERE id = $1`, subID, since)
		return err
	})
	if err != nil {
		return false, false, fmt.Errorf("deliver webhook: %w", err)
	}
	return more, ok, nil
}

// post makes one attempt: code is the answer's status (0 without one),
// retry whether a failure may go better later (a timeout, no connection, a
// 5xx, 408 or 429; not another 4xx).
func (s *Service) post(ctx context.Context, target, secret, eventID string, now time.Time, payload []byte) (code int, retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(payload))
	if err != nil {
		return 0, false, err
	}
	ts := now.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "helpdesk-ivr-webhooks/1")
	req.Header.Set(HeaderID, eventID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(secret, ts, payload))
	res, err := s.opts.Client.Do(req)
	if err != nil {
		return 0, true, fmt.Errorf("post: %w", err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	code = res.StatusCode
	switch {
	case code >= 200 && code < 300:
		return code, false, nil
	case code >= 500, code == http.StatusRequestTimeout, code == http.StatusTooManyRequests:
		return code, true, fmt.Errorf("answered %d", code)
	default:
		return code, false, fmt.Errorf("answered %d", code)
	}
}

func shortError(s string) string {
	if len(s) > 500 {
		return s[:500]
	}
	return s
}

// backoff is the wait after the n-th failed attempt.
func (s *Service) backoff(n int) time.Duration {
	d := float64(s.opts.BackoffBase) * math.Pow(2, float64(n-1))
	if d > float64(s.opts.BackoffMax) {
		return s.opts.BackoffMax
	}
	return time.Duration(d)
}

// DeliveryState is where a delivery is.
type DeliveryState string

const (
	StatePending   DeliveryState = "pending"
	StateDelivered DeliveryState = "delivered"
	StateFailed    DeliveryState = "failed" // given up
)

// Delivery is one event for one subscription, and how its delivery went.
type Delivery struct {
	ID             int64
	SubscriptionID int64
	EventID        string
	Event          string
	State          DeliveryState
	Attempts       int
	LastError      string
	ResponseCode   int
	CreatedAt      time.Time
	NextAttemptAt  time.Time
	DeliveredAt    time.Time
	FailedAt       time.Time
	Payload        []byte
}

// Deliveries returns the last limit deliveries of a subscription, newest
// first.
func (s *Service) Deliveries(ctx context.Context, subID int64, limit int) ([]Delivery, error) {
	if _, err := s.Get(ctx, subID); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT id, subscription_id, event_id, event, attempts, last_error, response_code,
		created_at, next_attempt_at, delivered_at, failed_at, payload
		FROM webhook_deliveries WHERE subscription_id = $1 ORDER BY id DESC LIMIT $2`, subID, limit)
	if err != nil {
		return nil, fmt.Errorf("webhook deliveries: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Delivery, error) {
		var d Delivery
		var delivered, failed *time.Time
		err := r.Scan(&d.ID, &d.SubscriptionID, &d.EventID, &d.Event, &d.Attempts, &d.LastError, &d.ResponseCode,
			&d.CreatedAt, &d.NextAttemptAt, &delivered, &failed, &d.Payload)
		d.State = StatePending
		if delivered != nil {
			d.State, d.DeliveredAt = StateDelivered, *delivered
		}
		if failed != nil {
			d.State, d.FailedAt = StateFailed, *failed
		}
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("webhook deliveries: %w", err)
	}
	return out, nil
}

// Redeliver queues a delivered or given-up delivery of subscription subID
// again, as a new delivery of the same event (same Webhook-Id and body),
// due now and after the pending ones of its ticket; it returns the new one.
func (s *Service) Redeliver(ctx context.Context, subID, deliveryID int64) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO webhook_deliveries (subscription_id, event_id, event, order_key, payload,
			created_at, next_attempt_at)
		SELECT subscription_id, event_id, event, order_key, payload, $3, $3 FROM webhook_deliveries
		WHERE id = $1 AND subscription_id = $2 AND (delivered_at IS NOT NULL OR failed_at IS NOT NULL)
		RETURNING id`, deliveryID, subID, s.opts.Now()).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		var n int
		_ = s.pool.QueryRow(ctx, `SELECT count(*) FROM webhook_deliveries WHERE id = $1 AND subscription_id = $2`,
			deliveryID, subID).Scan(&n)
		if n > 0 {
			return 0, fmt.Errorf("redeliver: %w", &fault.Error{Code: fault.ECONFLICT,
				Message: fmt.Sprintf("delivery %d is still pending", deliveryID)})
		}
		return 0, fmt.Errorf("redeliver: %w", notFound("delivery %d of webhook %d not found", deliveryID, subID))
	}
	if err != nil {
		return 0, fmt.Errorf("redeliver %d: %w", deliveryID, err)
	}
	return id, nil
}

// Prune deletes the deliveries delivered or given up more than Retention
// ago and returns how many.
func (s *Service) Prune(ctx context.Context) (int64, error) {
	before := s.opts.Now().Add(-s.opts.Retention)
	tag, err := s.pool.Exec(ctx, `DELETE FROM webhook_deliveries
		WHERE (delivered_at IS NOT NULL OR failed_at IS NOT NULL) AND coalesce(delivered_at, failed_at) < $1`, before)
	if err != nil {
		return 0, fmt.Errorf("prune webhook deliveries: %w", err)
	}
	return tag.RowsAffected(), nil
}
