package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// The demo binary, built and run as a user runs it (-demo, a throwaway
// database, the clock on a working Monday): an operator's panel login,
// a call placed through the test-phone API and routed to that
// operator's group, its ticket in PostgreSQL and the wallboard updating
// live; SIGTERM stops it cleanly.
func TestDemoBinary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "ivrd")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dbURL := pgtest.DatabaseURL(t)
	addr := freeAddr(t)
	cmd := exec.Command(bin, "-demo", "-config", "../../configs/helpdesk.yaml", "-listen", addr,
		"-data", t.TempDir(), "-demo-clock", monday10, "-drain-timeout", "5s")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "IVR_PIN_SECRET=")
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := func() error {
		select {
		case err := <-exited:
			return fmt.Errorf("exited: %v", err)
		default:
			return nil
		}
	}
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("ivrd stderr:\n%s", stderr.String())
		}
	}()
	base := "http://" + addr
	waitReady(t, base, stopped)
	// The banner goes to stderr as the server starts serving; the copy
	// into the buffer may still be on its way.
	printed := func() bool { return strings.Contains(stderr.String(), "password of every demo user") }
	for deadline := time.Now().Add(10 * time.Second); !printed() && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if !printed() {
		t.Errorf("the demo did not print its users:\n%s", stderr.String())
	}

	// Lotto 2 has op201 and op202: op202 takes a break, so the call is
	// op201's.
	logIn(t, base, "op202").pause()
	op := logIn(t, base, "op201")
	sup := logIn(t, base, "supervisore")
	wall := sup.stream("/wallboard/events")
	console := op.stream("/console/events")

	status, body := sup.postJSON("/testphone/calls", `{"caller":"3331234567"}`)
	if status != http.StatusCreated {
		t.Fatalf("place a call: %d %s", status, body)
	}
	var placed struct{ ID string }
	if err := json.Unmarshal([]byte(body), &placed); err != nil || placed.ID == "" {
		t.Fatalf("place a call: %s", body)
	}
	call := sup.stream("/testphone/calls/" + placed.ID + "/events")
	ticket := call.waitEvent(t, "ticket").Ticket
	call.waitEvent(t, "prompt")
	for _, k := range []string{"1", "2"} { // territorial offices, Lotto 2
		if status, body := sup.postJSON("/testphone/calls/"+placed.ID+"/keys", `{"keys":"`+k+`"}`); status != http.StatusNoContent {
			t.Fatalf("key %s: %d %s", k, status, body)
		}
		call.waitEvent(t, "keys")
	}
	if e := call.waitEvent(t, "route"); e.Group != "lotto2" {
		t.Fatalf("routed to %q, want lotto2", e.Group)
	}
	// op201 has the console open (its stream): the phone waits for them.
	if e := call.waitEvent(t, "ringing"); e.Operator != "op201" {
		t.Fatalf("rang %q, want op201", e.Operator)
	}
	console.wait(t, "the answer button", func(d string) bool { return strings.Contains(d, `data-testid="phone-answer"`) })
	if status, body := op.postForm("/console/phone", url.Values{"action": {"answer"}}); status != http.StatusOK || strings.Contains(body, `data-testid="flash"`) {
		t.Fatalf("answer from the console: %d\n%s", status, body)
	}
	if e := call.waitEvent(t, "answered"); e.Operator != "op201" {
		t.Fatalf("answered by %q, want op201", e.Operator)
	}

	// The wallboard shows op201 on the call; the console pops the ticket.
	wall.wait(t, "lotto2 busy on the wallboard", func(d string) bool {
		row := fragment(d, `data-testid="wb-row-lotto2"`)
		return strings.Contains(row, `data-testid="wb-busy">1<`)
	})
	console.wait(t, "the ticket in op201's console", func(d string) bool {
		return strings.Contains(d, `data-testid="call-ticket-link">`+ticket+`<`)
	})

	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	n, err := tickets.ParseNumber(ticket)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := tickets.New(pool, tickets.Options{}).FindTicketByNumber(context.Background(), n, tickets.Viewer{Kind: tickets.ViewerSystem})
	if err != nil {
		t.Fatal(err)
	}
	if tk.Caller != "+393331234567" || tk.Group != "lotto2" || tk.Assignee != "op201" || tk.Status != tickets.StatusInProgress {
		t.Errorf("ticket %s: caller %s group %s assignee %s status %s", ticket, tk.Caller, tk.Group, tk.Assignee, tk.Status)
	}

	// SIGTERM: the call in progress may finish (up to -drain-timeout),
	// then ivrd leaves with status 0.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("ivrd after SIGTERM: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("ivrd did not stop after SIGTERM")
	}
	for _, want := range []string{`"msg":"ivrd_draining"`, `"msg":"ivrd_stopped"`} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("the log lacks %s", want)
		}
	}
}

// lockedBuffer is a bytes.Buffer the process writes while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// fragment returns the HTML of the element whose opening tag holds attr,
// up to its closing </tr> (a wallboard row), or "".
func fragment(html, attr string) string {
	i := strings.Index(html, attr)
	if i < 0 {
		return ""
	}
	rest := html[i:]
	if j := strings.Index(rest, "</tr>"); j >= 0 {
		return rest[:j]
	}
	return rest
}
