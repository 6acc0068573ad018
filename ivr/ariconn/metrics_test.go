package ariconn

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

// seen records the requests that reach the transport.
type seen struct {
	next http.RoundTripper
	reqs []*http.Request
}

func (s *seen) RoundTrip(r *http.Request) (*http.Response, error) {
	s.reqs = append(s.reqs, r)
	return s.next.RoundTrip(r)
}

func testClient(t *testing.T, timeout time.Duration) (*http.Client, *seen, *metrics) {
	t.Helper()
	m, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	hc := newHTTPClient(Options{DialTimeout: time.Second, MaxConns: 4, RequestTimeout: timeout}, m)
	in := hc.Transport.(*instrumented)
	s := &seen{next: in.next}
	in.next = s
	return hc, s, m
}

// TestRequestBoundUntilBodyClosed: a request reaches the transport with
// its deadline in its context (net/http's legacy Request.Cancel, a
// goroutine per request, is not used), the deadline lasts while the body
// is read, and ends when it is closed.
func TestRequestBoundUntilBodyClosed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, `{"id":"pb-1"}`)
	}))
	defer srv.Close()
	hc, s, _ := testClient(t, time.Minute)
	before := time.Now()
	resp, err := hc.Get(srv.URL + "/ari/playbacks/pb-1")
	if err != nil {
		t.Fatal(err)
	}
	r := s.reqs[0]
	//lint:ignore SA1019 checks that net/http's deprecated cancel path is not in use
	if r.Cancel != nil {
		t.Error("the request has a Request.Cancel channel: net/http's legacy timeout path is in use")
	}
	dl, ok := r.Context().Deadline()
	if !ok || dl.Before(before.Add(time.Minute)) || dl.After(time.Now().Add(time.Minute)) {
		t.Errorf("deadline %v (set %v), want RequestTimeout from the request", dl, ok)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil || string(body) != `{"id":"pb-1"}` {
		t.Fatalf("body %q, %v", body, err)
	}
	if err := r.Context().Err(); err != nil {
		t.Fatalf("context ended before the body was closed: %v", err)
	}
	resp.Body.Close()
	if r.Context().Err() == nil {
		t.Error("context still live after the body was closed")
	}
}

// TestRequestKeepsSoonerDeadline: a caller's sooner deadline stays.
func TestRequestKeepsSoonerDeadline(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	hc, s, _ := testClient(t, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	want, _ := ctx.Deadline()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/ari/asterisk/ping", nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, _ := s.reqs[0].Context().Deadline(); !got.Equal(want) {
		t.Errorf("deadline %v, want the caller's %v", got, want)
	}
}

// TestRequestTimeout: a request Asterisk never answers fails as a
// timeout, counted as one.
func TestRequestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	hc, _, m := testClient(t, 50*time.Millisecond)
	_, err := hc.Get(srv.URL + "/ari/channels/c1")
	var te interface{ Timeout() bool }
	if err == nil || !errors.As(err, &te) || !te.Timeout() {
		t.Fatalf("error %v, want a timeout", err)
	}
	if n := testutil.ToFloat64(m.errors.WithLabelValues("/channels/{id}", "timeout")); n != 1 {
		t.Errorf("timeouts counted: %v, want 1", n)
	}
}

// TestRequestTimeoutWhileReadingBody: the bound covers the body.
func TestRequestTimeoutWhileReadingBody(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, `{"id":`)
		w.(http.Flusher).Flush()
		<-release
	}))
	defer srv.Close()
	defer close(release)
	hc, _, _ := testClient(t, 100*time.Millisecond)
	resp, err := hc.Get(srv.URL + "/ari/channels/c1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil || !strings.HasPrefix(string(body), `{"id":`) {
		t.Fatalf("body %q, error %v: want the start of the body and an error", body, err)
	}
}

// routeSplit is Route as it was first written, the reference.
func routeSplit(path string) string {
	segs := strings.Split(strings.Trim(strings.TrimPrefix(path, "/ari"), "/"), "/")
	for i := 1; i < len(segs); i++ {
		prev := segs[i-1]
		if collections[prev] && !collections[segs[i]] {
			segs[i] = "{id}"
		} else if prev == "play" || (prev == "{id}" && i >= 2 && segs[i-2] == "endpoints") {
			segs[i] = "{id}"
		}
	}
	return "/" + strings.Join(segs, "/")
}

func TestRoute(t *testing.T) {
	for path, want := range map[string]string{
		"/ari/channels/1795320990.1/play/pb-1":   "/channels/{id}/play/{id}",
		"/ari/channels/c1":                       "/channels/{id}",
		"/ari/channels":                          "/channels",
		"/ari/bridges/b1/addChannel":             "/bridges/{id}/addChannel",
		"/ari/playbacks/pb-1":                    "/playbacks/{id}",
		"/ari/recordings/live/r1/stop":           "/recordings/live/{id}/stop",
		"/ari/recordings/stored/r1/file":         "/recordings/stored/{id}/file",
		"/ari/endpoints/PJSIP/alice":             "/endpoints/{id}/{id}",
		"/ari/endpoints/PJSIP/alice/sendMessage": "/endpoints/{id}/{id}/sendMessage",
		"/ari/applications/ivr/eventFilter":      "/applications/{id}/eventFilter",
		"/ari/asterisk/ping":                     "/asterisk/ping",
		"/ari/channels/c1/variable":              "/channels/{id}/variable",
		"/ari/channels/channels/channels":        "/channels/channels/channels",
		"/ari/":                                  "/",
		"":                                       "/",
		"/ari//channels//c1/":                    "/channels/{id}/c1",
		"/other/deviceStates/x":                  "/other/deviceStates/{id}",
	} {
		if got := Route(path); got != want {
			t.Errorf("Route(%q) = %q, want %q", path, got, want)
		}
		if ref := routeSplit(path); Route(path) != ref {
			t.Errorf("Route(%q) = %q, the reference %q", path, Route(path), ref)
		}
	}
}

// TestRequestsCounted: each request is observed under its method and
// route, the cached child and the vector's being the same.
func TestRequestsCounted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	hc, _, m := testClient(t, time.Minute)
	for _, p := range []string{"/ari/channels/c1", "/ari/channels/c2", "/ari/playbacks/pb-1"} {
		resp, err := hc.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if n := testutil.CollectAndCount(m.requests); n != 2 {
		t.Errorf("%d series, want 2", n)
	}
	var d dto.Metric
	if err := m.requests.WithLabelValues("GET", "/channels/{id}").(prometheus.Histogram).Write(&d); err != nil {
		t.Fatal(err)
	}
	if n := d.GetHistogram().GetSampleCount(); n != 2 {
		t.Errorf("GET /channels/{id} observed %d times, want 2", n)
	}
}

// BenchmarkRequest: a request through newHTTPClient, and through the same
// transport bounded by http.Client.Timeout as it was (net/http's legacy
// cancellation: a goroutine and a timer per request).
func BenchmarkRequest(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, `{"id":"pb-1"}`)
	}))
	defer srv.Close()
	m, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	hc := newHTTPClient(Options{DialTimeout: time.Second, MaxConns: 4, RequestTimeout: time.Minute}, m)
	in := hc.Transport.(*instrumented)
	legacy := &http.Client{Transport: &instrumented{next: in.next, m: m}, Timeout: time.Minute}
	for _, c := range []struct {
		name string
		hc   *http.Client
	}{{"context", hc}, {"Client.Timeout", legacy}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				resp, err := c.hc.Get(srv.URL + "/ari/channels/c1/play/pb-1")
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}
