package arisim

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

type handler func(s *Server, rq *request)

type route struct {
	method string
	segs   []string // path segments after /ari/; "" is a parameter
	name   string   // e.g. "POST /channels/{channelId}/play"
	h      handler
	idx    int
	lits   int // literal segments, to prefer /channels/create over /channels/{id}
}

func mkRoutes(defs []struct {
	m, p string
	h    handler
}) []route {
	rs := make([]route, len(defs))
	for i, d := range defs {
		segs := strings.Split(strings.TrimPrefix(d.p, "/"), "/")
		lits := 0
		for j, sg := range segs {
			if strings.HasPrefix(sg, "{") {
				segs[j] = ""
			} else {
				lits++
			}
		}
		rs[i] = route{method: d.m, segs: segs, name: d.m + " " + d.p, h: d.h, idx: i, lits: lits}
	}
	return rs
}

// match finds the route for method and path segments. When the path
// exists but not for this method, it returns the allowed methods.
func match(method string, segs []string) (*route, []string, []string) {
	var best []*route
	bestLits := -1
	for i := range routeTable {
		r := &routeTable[i]
		if len(r.segs) != len(segs) {
			continue
		}
		ok := true
		for j, sg := range r.segs {
			if sg != "" && sg != segs[j] {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		switch {
		case r.lits > bestLits:
			best, bestLits = []*route{r}, r.lits
		case r.lits == bestLits:
			best = append(best, r)
		}
	}
	if best == nil {
		return nil, nil, nil
	}
	for _, r := range best {
		if r.method == method {
			var vars []string
			for j, sg := range r.segs {
				if sg == "" {
					vars = append(vars, segs[j])
				}
			}
			return r, vars, nil
		}
	}
	allowed := make([]string, 0, len(best))
	for _, m := range []string{"GET", "POST", "PUT", "DELETE"} {
		for _, r := range best {
			if r.method == m {
				allowed = append(allowed, m)
				break
			}
		}
	}
	return nil, nil, allowed
}

// params holds the request's parameters: the query string, a form body or
// a JSON object body (which wins), as Asterisk accepts all three.
type params struct {
	q    url.Values
	body map[string]json.RawMessage
}

func (p *params) get(name string) (string, bool) {
	if raw, ok := p.body[name]; ok {
		raw = bytes.TrimSpace(raw)
		switch {
		case len(raw) == 0 || string(raw) == "null":
		case raw[0] == '"':
			var s string
			if json.Unmarshal(raw, &s) == nil {
				return s, true
			}
		default:
			return string(raw), true
		}
	}
	if v, ok := p.q[name]; ok && len(v) > 0 {
		return v[len(v)-1], true // repeated keys: the last one wins
	}
	return "", false
}

func (p *params) str(name string) string {
	v, _ := p.get(name)
	return v
}

// int parses like atoi: garbage is 0.
func (p *params) int(name string, def int) int {
	v, ok := p.get(name)
	if !ok || v == "" {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return int(f)
		}
		return 0
	}
	return n
}

// bool is Asterisk's ast_true.
func (p *params) bool(name string) bool {
	switch strings.ToLower(strings.TrimSpace(p.str(name))) {
	case "yes", "true", "y", "t", "1", "on":
		return true
	}
	return false
}

// multi reads an allowMultiple parameter as Asterisk's generated
// parsers do (res_ari_*.c, *_parse_body): in the query string (or a form
// body) a comma-separated list; in a JSON body an array gives one value
// per element, and a string is one value whatever it holds, commas
// included — {"media":"sound:a,sound:b"} is a single file name that does
// not exist. A JSON body's value replaces the query string's.
func (p *params) multi(name string) []string {
	if raw, ok := p.body[name]; ok {
		raw = bytes.TrimSpace(raw)
		switch {
		case len(raw) == 0 || string(raw) == "null":
		case raw[0] == '[':
			var items []json.RawMessage
			if json.Unmarshal(raw, &items) != nil {
				return nil
			}
			var l []string
			for _, it := range items {
				var s string
				if json.Unmarshal(it, &s) == nil && s != "" {
					l = append(l, s)
				}
			}
			return l
		default:
			if v, _ := p.get(name); v != "" {
				return []string{v}
			}
			return nil
		}
	}
	if _, ok := p.q[name]; ok {
		return p.list(name)
	}
	return nil
}

// list splits a comma-separated parameter.
func (p *params) list(name string) []string {
	v, ok := p.get(name)
	if !ok {
		return nil
	}
	var l []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			l = append(l, s)
		}
	}
	return l
}

type request struct {
	r        *http.Request
	vars     []string
	p        params
	status   int
	body     []byte
	ctype    string
	location string
	after    func()        // run under s.mu once the response is written
	lazy     func() []byte // body computed without the lock
}

func (rq *request) ok(body []byte) { rq.status, rq.body = 200, body }

func (rq *request) created(loc string, body []byte) {
	rq.status, rq.body, rq.location = 201, body, loc
}

func (rq *request) noContent() { rq.status = 204 }

func (rq *request) fail(status int, msg string) {
	rq.status, rq.body = status, msgJSON(msg)
}

func (rq *request) allocFailed() {
	rq.status, rq.body = 500, []byte(`{"error":"Allocation failed"}`)
}

func (s *Server) authorized(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		key := r.URL.Query().Get("api_key")
		if key == "" {
			return false
		}
		user, pass, ok = strings.Cut(key, ":")
		if !ok {
			return false
		}
	}
	return subtle.ConstantTimeCompare([]byte(user), []byte(s.opts.Username)) == 1 &&
		subtle.ConstantTimeCompare([]byte(pass), []byte(s.opts.Password)) == 1
}

// Shared header values (net/http never modifies them).
var (
	hdrServer = []string{"Asterisk/20.20.1"}
	hdrCache  = []string{"no-cache, no-store"}
	hdrJSON   = []string{"application/json"}
)

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = hdrJSON
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	w.Write(body)
}

const maxBody = 1 << 20

// ServeHTTP serves the ARI REST API and the /ari/events WebSocket.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h["Server"] = hdrServer
	h["Cache-Control"] = hdrCache

	p := r.URL.EscapedPath()
	if !strings.HasPrefix(p, "/ari/") {
		s.reqUnmatched.Add(1)
		writeJSON(w, 404, msgJSON("Resource not found"))
		return
	}
	raw := strings.Split(strings.TrimSuffix(p[len("/ari/"):], "/"), "/")
	segs := raw[:0:0]
	for _, sg := range raw {
		u, err := url.PathUnescape(sg)
		if err != nil {
			u = sg
		}
		segs = append(segs, u)
	}
	if !s.authorized(r) {
		s.reqUnmatched.Add(1)
		h.Set("WWW-Authenticate", `Basic realm="Asterisk REST Interface"`)
		writeJSON(w, 401, msgJSON("Authentication required"))
		return
	}
	rt, vars, allowed := match(r.Method, segs)
	if rt == nil {
		s.reqUnmatched.Add(1)
		if allowed != nil {
			if r.Method == http.MethodOptions {
				h.Set("Allow", "OPTIONS,"+strings.Join(allowed, ","))
				w.WriteHeader(200)
				return
			}
			h.Set("Allow", "OPTIONS,"+strings.Join(allowed, ","))
			writeJSON(w, 405, msgJSON("Invalid method"))
			return
		}
		writeJSON(w, 404, msgJSON("Resource not found"))
		return
	}
	s.reqCount[rt.idx].Add(1)

	if rt.name == "GET /events" {
		s.hEvents(w, r)
		return
	}

	s.mu.Lock()
	stuck := s.stuck
	s.mu.Unlock()
	if stuck != nil {
		select {
		case <-stuck:
		case <-r.Context().Done():
			return
		}
	}

	rq := &request{r: r, vars: vars}
	rq.p.q = r.URL.Query()
	if r.Body != nil && r.Method != http.MethodGet && r.ContentLength != 0 {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
		if err != nil {
			return
		}
		body = bytes.TrimSpace(body)
		ct := r.Header.Get("Content-Type")
		switch {
		case len(body) == 0:
		case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
			if form, err := url.ParseQuery(string(body)); err == nil {
				for k, v := range form {
					rq.p.q[k] = v
				}
			}
		case body[0] == '{':
			if err := json.Unmarshal(body, &rq.p.body); err != nil {
				writeJSON(w, 400, msgJSON("Error parsing request body"))
				return
			}
		}
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		writeJSON(w, 503, msgJSON("Service Unavailable"))
		return
	}
	rt.h(s, rq)
	targets := s.unlock()
	for _, t := range targets {
		t.c.waitWritten(t.seq, s.opts.FlushWait)
	}

	if rq.lazy != nil {
		rq.body = rq.lazy()
	}
	switch {
	case rq.status == 204:
		w.WriteHeader(204)
	default:
		if rq.location != "" {
			h.Set("Location", rq.location)
		}
		if rq.ctype != "" {
			h.Set("Content-Type", rq.ctype)
			h.Set("Content-Length", strconv.Itoa(len(rq.body)))
			w.WriteHeader(rq.status)
			w.Write(rq.body)
		} else {
			writeJSON(w, rq.status, rq.body)
		}
	}
	if s.log.Enabled(r.Context(), slog.LevelDebug) {
		s.log.Debug("arisim: REST", "method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery, "status", rq.status)
	}
	if rq.after != nil {
		http.NewResponseController(w).Flush()
		s.mu.Lock()
		if !s.closed {
			rq.after()
		}
		s.unlock()
	}
}

func (s *Server) hEvents(w http.ResponseWriter, r *http.Request) {
	apps := strings.Split(r.URL.Query().Get("app"), ",")
	l := apps[:0]
	for _, a := range apps {
		if a = strings.TrimSpace(a); a != "" {
			l = append(l, a)
		}
	}
	if len(l) == 0 {
		writeJSON(w, 400, msgJSON("Missing parameter app"))
		return
	}
	s.mu.Lock()
	refuse, closed := s.refuseWS, s.closed
	s.mu.Unlock()
	if refuse || closed {
		writeJSON(w, 503, msgJSON("Service Unavailable"))
		return
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		writeJSON(w, 400, msgJSON("Bad Request: expected a WebSocket upgrade"))
		return
	}
	s.serveEvents(w, r, l)
}
