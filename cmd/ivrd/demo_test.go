package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/simdesk"
)

// TestDemoCallCap: at most demoCalls scripted calls run at once; one more
// is told so at once (429), and a place that frees up is taken again.
func TestDemoCallCap(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{})
	release := make(chan struct{})
	call := func(ctx context.Context, caller string, _ []simdesk.Step) (simdesk.Result, error) {
		entered <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return simdesk.Result{Events: []ivr.Event{{Kind: "outcome"}}}, nil
	}
	r := chi.NewRouter()
	demoCallPage(call, time.UTC).Mount(r)
	ts := httptest.NewServer(r)
	t.Cleanup(ts.Close)
	post := func() *http.Response {
		resp, err := http.Post(ts.URL+"/demo/call?keys=1", "", nil)
		if err != nil {
			t.Error(err)
			return nil
		}
		return resp
	}
	done := make(chan int, demoCalls)
	for range demoCalls {
		go func() {
			if resp := post(); resp != nil {
				resp.Body.Close()
				done <- resp.StatusCode
			}
		}()
		<-entered // running, holding its place
	}
	resp := post()
	body := make([]byte, 200)
	n, _ := resp.Body.Read(body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(body[:n]), "Già 4 chiamate dimostrative in corso") {
		t.Fatalf("a fifth call: %d %q", resp.StatusCode, body[:n])
	}
	release <- struct{}{}
	if s := <-done; s != http.StatusOK {
		t.Fatalf("a call that ran: status %d", s)
	}
	go func() {
		if resp := post(); resp != nil {
			resp.Body.Close()
			done <- resp.StatusCode
		}
	}()
	<-entered // the freed place is taken
	close(release)
	for range demoCalls {
		if s := <-done; s != http.StatusOK {
			t.Fatalf("status %d", s)
		}
	}
}
