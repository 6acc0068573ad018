package connector

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// stubZammad is a Zammad on loopback that checks each request as the
// REST API documents it (docs.zammad.org, api/intro, api/ticket/index,
// api/ticket/articles, api/ticket/tags): method and path, the token
// header, application/json bodies with only the documented fields, names
// of groups, states and priorities it knows; and answers with the
// documented shapes (expand=true: the names beside the ids; errors as
// {"error": …, "error_human": …}). A request it cannot match is answered
// 400 and recorded as a defect, which fails the test.
type stubZammad struct {
	t     *testing.T
	srv   *httptest.Server
	token string
	now   func() time.Time

	mu       sync.Mutex
	tickets  map[int64]*stubTicket
	nextID   int64
	requests []stubRequest
	defects  []string
	// fail, when set, answers a request instead of the stub: a status
	// (0 holds the request until the client gives up) and a body.
	fail func(r stubRequest) (int, string, bool)
}

type stubTicket struct {
	ID                   int64
	Number, Title        string
	Group, State, Prio   string
	CustomerEmail        string
	PendingTime          *time.Time
	Tags                 []string
	Articles             []stubArticle
	CreatedAt, UpdatedAt time.Time
}

type stubArticle struct {
	Subject, Body, ContentType, Type string
	Internal                         bool
}

type stubRequest struct {
	Method, Path string
	Query        map[string][]string
	Body         map[string]any
}

var (
	stubGroups     = map[string]int64{"Users": 1, "Primo livello": 2, "Secondo livello": 3}
	stubStates     = map[string]int64{"new": 1, "open": 2, "closed": 4, "merged": 5, "pending reminder": 3, "pending close": 7}
	stubPriorities = map[string]int64{"1 low": 1, "2 normal": 2, "3 high": 3}
	stubTypes      = []string{"email", "sms", "chat", "fax", "phone", "note", "web"}
)

func newStubZammad(t *testing.T, token string, now func() time.Time) *stubZammad {
	z := &stubZammad{t: t, token: token, now: now, tickets: map[int64]*stubTicket{}, nextID: 40}
	z.srv = httptest.NewServer(http.HandlerFunc(z.serve))
	t.Cleanup(func() {
		z.srv.Close()
		z.mu.Lock()
		defer z.mu.Unlock()
		for _, d := range z.defects {
			t.Errorf("request not as documented: %s", d)
		}
	})
	return z
}

func (z *stubZammad) defect(w http.ResponseWriter, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	z.mu.Lock()
	z.defects = append(z.defects, msg)
	z.mu.Unlock()
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// zerror is Zammad's error answer (handles_errors.rb).
func zerror(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg, "error_human": msg})
}

// decode reads a JSON body into a struct that has only the documented
// fields: an unknown field is a defect.
func (z *stubZammad) decode(w http.ResponseWriter, r *http.Request, raw []byte, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		z.defect(w, "%s %s: Content-Type %q, want application/json", r.Method, r.URL.Path, ct)
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		z.defect(w, "%s %s: body %s: %v", r.Method, r.URL.Path, raw, err)
		return false
	}
	return true
}

var ticketPath = regexp.MustCompile(`^/api/v1/tickets/(\d+)$`)

func (z *stubZammad) serve(w http.ResponseWriter, r *http.Request) {
	var raw []byte
	if r.Body != nil {
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(r.Body)
		raw = buf.Bytes()
	}
	req := stubRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query()}
	_ = json.Unmarshal(raw, &req.Body)
	z.mu.Lock()
	z.requests = append(z.requests, req)
	fail := z.fail
	z.mu.Unlock()
	if r.Header.Get("Authorization") != "Token token="+z.token {
		w.Header().Set("X-Failure", "Authentication failed")
		zerror(w, http.StatusUnauthorized, "Authentication failed")
		return
	}
	if fail != nil {
		if code, body, ok := fail(req); ok {
			if code == 0 {
				<-r.Context().Done()
				return
			}
			if code == processThenHold {
				z.serveRequest(httptest.NewRecorder(), r, raw)
				<-r.Context().Done()
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			_, _ = w.Write([]byte(body))
			return
		}
	}
	z.serveRequest(w, r, raw)
}

// processThenHold, answered by fail, makes the stub do the request and
// then hold the answer until the client gives up (the answer is lost).
const processThenHold = -1

func (z *stubZammad) serveRequest(w http.ResponseWriter, r *http.Request, raw []byte) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/tickets":
		z.create(w, r, raw)
	case r.Method == http.MethodPut && ticketPath.MatchString(r.URL.Path):
		id, _ := strconv.ParseInt(ticketPath.FindStringSubmatch(r.URL.Path)[1], 10, 64)
		z.update(w, r, raw, id)
	case r.Method == http.MethodGet && ticketPath.MatchString(r.URL.Path):
		id, _ := strconv.ParseInt(ticketPath.FindStringSubmatch(r.URL.Path)[1], 10, 64)
		z.mu.Lock()
		defer z.mu.Unlock()
		if tk := z.tickets[id]; tk != nil {
			writeJSON(w, http.StatusOK, z.expanded(tk, r))
			return
		}
		zerror(w, http.StatusNotFound, fmt.Sprintf("Couldn't find Ticket with 'id'=%d", id))
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/ticket_articles":
		z.article(w, r, raw)
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/tags/add",
		r.Method == http.MethodDelete && r.URL.Path == "/api/v1/tags/remove":
		z.tag(w, r, raw)
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/tickets/search":
		z.search(w, r)
	default:
		z.defect(w, "no such endpoint: %s %s", r.Method, r.URL.Path)
	}
}

type stubArticleIn struct {
	TicketID    int64  `json:"ticket_id"`
	Subject     string `json:"subject"`
	Body        string `json:"body"`
	ContentType string `json:"content_type"`
	Type        string `json:"type"`
	Internal    *bool  `json:"internal"`
}

func (z *stubZammad) checkArticle(w http.ResponseWriter, a stubArticleIn, where string) bool {
	switch {
	case a.Body == "":
		zerror(w, http.StatusUnprocessableEntity, "Need at least an 'article body' field.")
	case !slices.Contains(stubTypes, a.Type):
		zerror(w, http.StatusUnprocessableEntity, fmt.Sprintf("No lookup value found for 'type': %q", a.Type))
	case a.ContentType != "text/plain" && a.ContentType != "text/html":
		z.defect(w, "%s: content_type %q", where, a.ContentType)
	case a.Internal == nil:
		z.defect(w, "%s: internal not given", where)
	default:
		return true
	}
	return false
}

func (z *stubZammad) lookups(w http.ResponseWriter, group, state, prio string, pending *time.Time) bool {
	for _, l := range []struct {
		name, v string
		known   map[string]int64
	}{{"group", group, stubGroups}, {"state", state, stubStates}, {"priority", prio, stubPriorities}} {
		if _, ok := l.known[l.v]; l.v != "" && !ok {
			zerror(w, http.StatusUnprocessableEntity, fmt.Sprintf("No lookup value found for '%s': %q", l.name, l.v))
			return false
		}
	}
	if strings.HasPrefix(state, "pending") && pending == nil {
		zerror(w, http.StatusUnprocessableEntity, "Missing required value for field 'pending_time'!")
		return false
	}
	return true
}

func (z *stubZammad) create(w http.ResponseWriter, r *http.Request, raw []byte) {
	var in struct {
		Title       string        `json:"title"`
		Group       string        `json:"group"`
		CustomerID  string        `json:"customer_id"`
		State       string        `json:"state"`
		Priority    string        `json:"priority"`
		PendingTime *time.Time    `json:"pending_time"`
		Article     stubArticleIn `json:"article"`
	}
	if !z.decode(w, r, raw, &in) {
		return
	}
	email, ok := strings.CutPrefix(in.CustomerID, "guess:")
	switch {
	case r.URL.Query().Get("expand") != "true":
		z.defect(w, "POST /api/v1/tickets without expand=true: the answer would have no state name")
		return
	case in.Title == "" || in.Group == "":
		zerror(w, http.StatusUnprocessableEntity, "Attribute 'title' and 'group' required!")
		return
	case !ok || !strings.Contains(email, "@"):
		zerror(w, http.StatusUnprocessableEntity, fmt.Sprintf("Invalid email '%s' of customer", email))
		return
	case !z.lookups(w, in.Group, in.State, in.Priority, in.PendingTime) || !z.checkArticle(w, in.Article, "ticket article"):
		return
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	z.nextID++
	now := z.now().UTC()
	tk := &stubTicket{ID: z.nextID, Number: strconv.FormatInt(31000+z.nextID, 10), Title: in.Title, Group: in.Group,
		State: cmpStr(in.State, "new"), Prio: cmpStr(in.Priority, "2 normal"), CustomerEmail: email, PendingTime: in.PendingTime,
		CreatedAt: now, UpdatedAt: now}
	tk.Articles = append(tk.Articles, stubArticle{Subject: in.Article.Subject, Body: in.Article.Body,
		ContentType: in.Article.ContentType, Type: in.Article.Type, Internal: *in.Article.Internal})
	z.tickets[tk.ID] = tk
	writeJSON(w, http.StatusCreated, z.expanded(tk, r))
}

func cmpStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (z *stubZammad) update(w http.ResponseWriter, r *http.Request, raw []byte, id int64) {
	var in struct {
		Title       string     `json:"title"`
		Group       string     `json:"group"`
		State       string     `json:"state"`
		Priority    string     `json:"priority"`
		PendingTime *time.Time `json:"pending_time"`
	}
	if !z.decode(w, r, raw, &in) || !z.lookups(w, in.Group, in.State, in.Priority, in.PendingTime) {
		return
	}
	if r.URL.Query().Get("expand") != "true" {
		z.defect(w, "PUT %s without expand=true", r.URL.Path)
		return
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	tk := z.tickets[id]
	if tk == nil {
		zerror(w, http.StatusNotFound, fmt.Sprintf("Couldn't find Ticket with 'id'=%d", id))
		return
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&tk.Title, in.Title)
	set(&tk.Group, in.Group)
	set(&tk.State, in.State)
	set(&tk.Prio, in.Priority)
	if in.PendingTime != nil {
		tk.PendingTime = in.PendingTime
	}
	tk.UpdatedAt = z.now().UTC()
	writeJSON(w, http.StatusOK, z.expanded(tk, r))
}

func (z *stubZammad) article(w http.ResponseWriter, r *http.Request, raw []byte) {
	var in stubArticleIn
	if !z.decode(w, r, raw, &in) || !z.checkArticle(w, in, "POST /api/v1/ticket_articles") {
		return
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	tk := z.tickets[in.TicketID]
	if tk == nil {
		zerror(w, http.StatusNotFound, fmt.Sprintf("Couldn't find Ticket with 'id'=%d", in.TicketID))
		return
	}
	tk.Articles = append(tk.Articles, stubArticle{Subject: in.Subject, Body: in.Body, ContentType: in.ContentType,
		Type: in.Type, Internal: *in.Internal})
	tk.UpdatedAt = z.now().UTC()
	now := z.now().UTC().Format(time.RFC3339Nano)
	writeJSON(w, http.StatusCreated, map[string]any{"id": 100 + len(tk.Articles), "ticket_id": tk.ID, "from": "Centralino",
		"to": "", "cc": "", "subject": in.Subject, "body": in.Body, "content_type": in.ContentType, "type": in.Type,
		"internal": *in.Internal, "created_at": now, "updated_at": now})
}

func (z *stubZammad) tag(w http.ResponseWriter, r *http.Request, raw []byte) {
	var in struct {
		Item   string `json:"item"`
		Object string `json:"object"`
		OID    int64  `json:"o_id"`
	}
	if !z.decode(w, r, raw, &in) {
		return
	}
	if in.Object != "Ticket" || in.Item == "" {
		z.defect(w, "%s %s: object %q item %q", r.Method, r.URL.Path, in.Object, in.Item)
		return
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	tk := z.tickets[in.OID]
	if tk == nil {
		zerror(w, http.StatusNotFound, fmt.Sprintf("Couldn't find Ticket with 'id'=%d", in.OID))
		return
	}
	if strings.HasSuffix(r.URL.Path, "/add") {
		if !slices.Contains(tk.Tags, in.Item) {
			tk.Tags = append(tk.Tags, in.Item)
		}
	} else {
		tk.Tags = slices.DeleteFunc(tk.Tags, func(s string) bool { return s == in.Item })
	}
	writeJSON(w, http.StatusCreated, true)
}

var (
	updatedSince = regexp.MustCompile(`^updated_at:>now-(\d+)([mhd])$`)
	titleWord    = regexp.MustCompile(`^title:(\w+)$`)
)

// search answers GET /api/v1/tickets/search?query=…&expand=true with the
// list of expanded tickets (tickets_controller#search), sorted and paged
// as asked. Only two queries are understood: the relative updated_at one
// and a word of the title.
func (z *stubZammad) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	m := updatedSince.FindStringSubmatch(q.Get("query"))
	byTitle := titleWord.FindStringSubmatch(q.Get("query"))
	page, perr := strconv.Atoi(q.Get("page"))
	per, serr := strconv.Atoi(q.Get("per_page"))
	if (m == nil && byTitle == nil) || q.Get("expand") != "true" || q.Get("sort_by") != "updated_at" || q.Get("order_by") != "asc" ||
		perr != nil || serr != nil || page < 1 || per < 1 || per > 200 {
		z.defect(w, "search %s", r.URL.RawQuery)
		return
	}
	match := func(tk *stubTicket) bool {
		// A word of the title (Elasticsearch's analyzer splits at
		// brackets and spaces).
		return slices.Contains(strings.FieldsFunc(tk.Title, func(r rune) bool { return r == '[' || r == ']' || r == ' ' }), byTitle[1])
	}
	if m != nil {
		n, _ := strconv.Atoi(m[1])
		unit := map[string]time.Duration{"m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[m[2]]
		since := z.now().Add(-time.Duration(n) * unit)
		match = func(tk *stubTicket) bool { return tk.UpdatedAt.After(since) }
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	var found []*stubTicket
	for _, tk := range z.tickets {
		if match(tk) {
			found = append(found, tk)
		}
	}
	sort.Slice(found, func(i, j int) bool {
		if !found[i].UpdatedAt.Equal(found[j].UpdatedAt) {
			return found[i].UpdatedAt.Before(found[j].UpdatedAt)
		}
		return found[i].ID < found[j].ID
	})
	list := []map[string]any{}
	for i := (page - 1) * per; i < len(found) && i < page*per; i++ {
		list = append(list, z.expanded(found[i], r))
	}
	writeJSON(w, http.StatusOK, list)
}

// expanded is a ticket as Zammad answers it with expand=true
// (attributes_with_association_names: ids and names).
func (z *stubZammad) expanded(tk *stubTicket, r *http.Request) map[string]any {
	var pending any
	if tk.PendingTime != nil {
		pending = tk.PendingTime.UTC().Format(time.RFC3339Nano)
	}
	return map[string]any{
		"id": tk.ID, "group_id": stubGroups[tk.Group], "priority_id": stubPriorities[tk.Prio], "state_id": stubStates[tk.State],
		"organization_id": nil, "number": tk.Number, "title": tk.Title, "owner_id": 1, "customer_id": 10, "note": nil,
		"pending_time": pending, "article_count": len(tk.Articles), "preferences": map[string]any{},
		"created_at": tk.CreatedAt.Format(time.RFC3339Nano), "updated_at": tk.UpdatedAt.Format(time.RFC3339Nano),
		"group": tk.Group, "state": tk.State, "priority": tk.Prio, "owner": "-", "customer": tk.CustomerEmail,
		"create_article_type": "phone", "create_article_sender": "Agent",
	}
}

// agentSets is an agent's change in Zammad's own interface.
func (z *stubZammad) agentSets(id int64, state string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	tk := z.tickets[id]
	tk.State, tk.UpdatedAt = state, z.now().UTC()
}

func (z *stubZammad) ticket(id int64) stubTicket {
	z.mu.Lock()
	defer z.mu.Unlock()
	if tk := z.tickets[id]; tk != nil {
		return *tk
	}
	return stubTicket{}
}

// count is how many tickets Zammad has.
func (z *stubZammad) count() int {
	z.mu.Lock()
	defer z.mu.Unlock()
	return len(z.tickets)
}

func (z *stubZammad) got() []stubRequest {
	z.mu.Lock()
	defer z.mu.Unlock()
	return slices.Clone(z.requests)
}

// writes are the requests that change something (not the searches).
func (z *stubZammad) writes() []stubRequest {
	return slices.DeleteFunc(z.got(), func(r stubRequest) bool { return r.Method == http.MethodGet })
}

func (z *stubZammad) setFail(f func(r stubRequest) (int, string, bool)) {
	z.mu.Lock()
	z.fail = f
	z.mu.Unlock()
}
