// Package zammad is a small client of Zammad's REST API (/api/v1), with
// token authentication ("Authorization: Token token=…"), for what the
// connector needs: create and update tickets, add articles and tags, and
// search the tickets updated lately. Every request has a deadline, every
// answer a size limit; a failure is an *Error with Zammad's own message.
package zammad

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Options configure a Client.
type Options struct {
	// Timeout bounds one request; default 10s.
	Timeout time.Duration
	// MaxBody bounds an answer read; default 4 MiB.
	MaxBody int64
	// HTTP makes the requests; default a client of its own.
	HTTP *http.Client
}

// Client talks to one Zammad.
type Client struct {
	base  *url.URL
	token string
	opts  Options
}

// New returns a client of the Zammad at baseURL (e.g.
// https://zammad.example.org) acting with token, an access token of an
// agent (permission ticket.agent).
func New(baseURL, token string, opts Options) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("zammad: %q is not an absolute http or https URL", baseURL)
	}
	if token == "" {
		return nil, errors.New("zammad: empty token")
	}
	opts.Timeout = cmp.Or(opts.Timeout, 10*time.Second)
	opts.MaxBody = cmp.Or(opts.MaxBody, 4<<20)
	if opts.HTTP == nil {
		opts.HTTP = &http.Client{}
	}
	return &Client{base: u, token: token, opts: opts}, nil
}

// TicketURL is the agent interface's page of a ticket.
func (c *Client) TicketURL(id int64) string {
	return c.base.String() + "/#ticket/zoom/" + strconv.FormatInt(id, 10)
}

// Ticket is a ticket as Zammad answers it with expand=true: ids and the
// names of its group, state and priority.
type Ticket struct {
	ID        int64     `json:"id"`
	Number    string    `json:"number"`
	Title     string    `json:"title"`
	Group     string    `json:"group"`
	State     string    `json:"state"`
	Priority  string    `json:"priority"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Article is an article of a ticket.
type Article struct {
	TicketID    int64  `json:"ticket_id,omitempty"` // POST /ticket_articles only
	Subject     string `json:"subject,omitempty"`
	Body        string `json:"body"`
	ContentType string `json:"content_type"` // text/plain
	Type        string `json:"type"`         // phone, note, …
	Internal    bool   `json:"internal"`
}

// NewTicket is a ticket to create. Group, State and Priority are names.
type NewTicket struct {
	Title string `json:"title"`
	Group string `json:"group"`
	// CustomerID "guess:<e-mail>" finds the customer by e-mail, creating
	// it if missing.
	CustomerID  string     `json:"customer_id"`
	State       string     `json:"state,omitempty"`
	Priority    string     `json:"priority,omitempty"`
	PendingTime *time.Time `json:"pending_time,omitempty"`
	Article     Article    `json:"article"`
}

// TicketUpdate changes the fields set (names, as NewTicket's).
type TicketUpdate struct {
	Title       string     `json:"title,omitempty"`
	Group       string     `json:"group,omitempty"`
	State       string     `json:"state,omitempty"`
	Priority    string     `json:"priority,omitempty"`
	PendingTime *time.Time `json:"pending_time,omitempty"`
}

// Error is a request Zammad refused or that did not get an answer.
type Error struct {
	Op     string // "create ticket"
	Status int    // 0 without an answer
	// Message is Zammad's {"error": …} (its error_human when given), else
	// the transport's error.
	Message string
	// Retry says whether the same request may succeed later: no answer,
	// a timeout, 5xx, 408, 429, and 401/403 (a token or permission an
	// administrator fixes); not another 4xx (422: a group or state Zammad
	// does not know, 404: the ticket is gone).
	Retry bool
}

func (e *Error) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("zammad %s: %s", e.Op, e.Message)
	}
	return fmt.Sprintf("zammad %s: %d %s: %s", e.Op, e.Status, http.StatusText(e.Status), e.Message)
}

// Retryable reports whether err is worth trying again.
func Retryable(err error) bool {
	var ze *Error
	if errors.As(err, &ze) {
		return ze.Retry
	}
	return true
}

// CreateTicket creates a ticket with its first article
// (POST /api/v1/tickets).
func (c *Client) CreateTicket(ctx context.Context, nt NewTicket) (Ticket, error) {
	var t Ticket
	err := c.do(ctx, "create ticket", http.MethodPost, "/api/v1/tickets", url.Values{"expand": {"true"}}, nt, &t)
	return t, err
}

// UpdateTicket changes a ticket (PUT /api/v1/tickets/{id}).
func (c *Client) UpdateTicket(ctx context.Context, id int64, u TicketUpdate) (Ticket, error) {
	var t Ticket
	err := c.do(ctx, "update ticket", http.MethodPut, "/api/v1/tickets/"+strconv.FormatInt(id, 10),
		url.Values{"expand": {"true"}}, u, &t)
	return t, err
}

// GetTicket reads a ticket (GET /api/v1/tickets/{id}).
func (c *Client) GetTicket(ctx context.Context, id int64) (Ticket, error) {
	var t Ticket
	err := c.do(ctx, "get ticket", http.MethodGet, "/api/v1/tickets/"+strconv.FormatInt(id, 10),
		url.Values{"expand": {"true"}}, nil, &t)
	return t, err
}

// AddArticle adds an article to a ticket (POST /api/v1/ticket_articles)
// and returns its id.
func (c *Client) AddArticle(ctx context.Context, a Article) (int64, error) {
	var out struct {
		ID int64 `json:"id"`
	}
	err := c.do(ctx, "add article", http.MethodPost, "/api/v1/ticket_articles", nil, a, &out)
	return out.ID, err
}

type tagRequest struct {
	Item   string `json:"item"`
	Object string `json:"object"`
	OID    int64  `json:"o_id"`
}

// AddTag tags a ticket (POST /api/v1/tags/add).
func (c *Client) AddTag(ctx context.Context, ticketID int64, tag string) error {
	return c.do(ctx, "add tag", http.MethodPost, "/api/v1/tags/add", nil, tagRequest{tag, "Ticket", ticketID}, nil)
}

// RemoveTag removes a ticket's tag (DELETE /api/v1/tags/remove).
func (c *Client) RemoveTag(ctx context.Context, ticketID int64, tag string) error {
	return c.do(ctx, "remove tag", http.MethodDelete, "/api/v1/tags/remove", nil, tagRequest{tag, "Ticket", ticketID}, nil)
}

// Search returns a page (from 1) of the tickets matching query, in
// Zammad's search syntax, sorted by updated_at ascending
// (GET /api/v1/tickets/search).
func (c *Client) Search(ctx context.Context, query string, page, perPage int) ([]Ticket, error) {
	q := url.Values{"query": {query}, "expand": {"true"}, "sort_by": {"updated_at"}, "order_by": {"asc"},
		"page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(perPage)}}
	var out []Ticket
	err := c.do(ctx, "search tickets", http.MethodGet, "/api/v1/tickets/search", q, nil, &out)
	return out, err
}

// UpdatedSince is the search query of the tickets updated in the last d
// (whole minutes, rounded up): Zammad's relative date syntax, so that
// the two clocks need not agree.
func UpdatedSince(d time.Duration) string {
	m := int64((d + time.Minute - 1) / time.Minute)
	return fmt.Sprintf("updated_at:>now-%dm", max(m, 1))
}

// do sends one request: in JSON as application/json, the token in the
// Authorization header, and decodes a 2xx answer into out.
func (c *Client) do(ctx context.Context, op, method, path string, q url.Values, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	u := *c.base
	u.Path += path
	u.RawQuery = q.Encode()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return &Error{Op: op, Message: err.Error()}
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return &Error{Op: op, Message: err.Error()}
	}
	req.Header.Set("Authorization", "Token token="+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "helpdesk-ivr-connector/1")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.opts.HTTP.Do(req)
	if err != nil {
		return &Error{Op: op, Message: err.Error(), Retry: true}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, c.opts.MaxBody+1))
	if err != nil {
		return &Error{Op: op, Status: res.StatusCode, Message: "reading the answer: " + err.Error(), Retry: true}
	}
	if int64(len(b)) > c.opts.MaxBody {
		return &Error{Op: op, Status: res.StatusCode, Message: fmt.Sprintf("answer larger than %d bytes", c.opts.MaxBody)}
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		code := res.StatusCode
		return &Error{Op: op, Status: code, Message: errorMessage(b),
			Retry: code >= 500 || code == http.StatusRequestTimeout || code == http.StatusTooManyRequests ||
				code == http.StatusUnauthorized || code == http.StatusForbidden}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return &Error{Op: op, Status: res.StatusCode, Message: "unexpected answer: " + err.Error()}
	}
	return nil
}

// errorMessage is Zammad's {"error": …, "error_human": …}, or the start
// of whatever else came.
func errorMessage(b []byte) string {
	var e struct {
		Error      string `json:"error"`
		ErrorHuman string `json:"error_human"`
	}
	if json.Unmarshal(b, &e) == nil && cmp.Or(e.ErrorHuman, e.Error) != "" {
		return cmp.Or(e.ErrorHuman, e.Error)
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s == "" {
		return "no message"
	}
	return s
}
