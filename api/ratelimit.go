package api

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// limiter counts each token's requests in fixed windows and says so in the
// headers of draft-ietf-httpapi-ratelimit-headers (RateLimit-Policy and
// RateLimit), with Retry-After on a refusal. Fixed windows are simple to
// explain to a client ("600 a minute, reset in t seconds") and what the
// headers describe; the count is per ivrd instance.
type limiter struct {
	mu     sync.Mutex
	limit  int
	window time.Duration
	now    func() time.Time
	counts map[int64]*windowCount
	swept  time.Time
}

type windowCount struct {
	start time.Time
	n     int
}

func newLimiter(limit int, window time.Duration, now func() time.Time) *limiter {
	return &limiter{limit: limit, window: window, now: now, counts: map[int64]*windowCount{}}
}

// allow counts a request of token id and sets the headers; false: refused.
func (l *limiter) allow(w http.ResponseWriter, id int64) bool {
	now := l.now()
	l.mu.Lock()
	if now.Sub(l.swept) >= l.window { // forget tokens idle for a window
		for k, c := range l.counts {
			if now.Sub(c.start) >= l.window {
				delete(l.counts, k)
			}
		}
		l.swept = now
	}
	c := l.counts[id]
	if c == nil || now.Sub(c.start) >= l.window || now.Before(c.start) {
		c = &windowCount{start: now}
		l.counts[id] = c
	}
	ok := c.n < l.limit
	if ok {
		c.n++
	}
	remaining := l.limit - c.n
	reset := c.start.Add(l.window).Sub(now)
	l.mu.Unlock()

	secs := max(int((reset+time.Second-1)/time.Second), 1)
	h := w.Header()
	h.Set("RateLimit-Policy", fmt.Sprintf(`"token";q=%d;w=%d`, l.limit, int(l.window/time.Second)))
	h.Set("RateLimit", fmt.Sprintf(`"token";r=%d;t=%d`, remaining, secs))
	if !ok {
		h.Set("Retry-After", strconv.Itoa(secs))
	}
	return ok
}
