package mailin_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/helpdesk-ivr/ivr/mailin"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// TestThroughPostfix: a real Postfix (Debian's package) on loopback takes
// a mail over SMTP for the help desk's domain and relays it, as a
// deployment's transport map says (lmtp:inet:127.0.0.1:PORT), to the
// listener, which opens the ticket. Postfix runs as a private instance
// (its own main.cf, master.cf, queue and ports under a temporary
// directory) and is stopped at the end.
func TestThroughPostfix(t *testing.T) {
	t.Parallel()
	pf, err := exec.LookPath("postfix")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/postfix"); serr != nil {
			t.Skip("POSTFIX NOT INSTALLED: the delivery through a real Postfix is not tested (apt-get install postfix)")
		}
		pf = "/usr/sbin/postfix"
	}
	if os.Geteuid() != 0 {
		t.Skip("POSTFIX NOT TESTED: its master process must be started as root")
	}
	owner, err := user.Lookup("postfix")
	if err != nil {
		t.Skipf("POSTFIX NOT TESTED: no postfix user (%v)", err)
	}
	uid, _ := strconv.Atoi(owner.Uid)

	e := newEnv(t, mailin.LMTP, mailin.Config{Addresses: []string{"help@helpdesk.test"}})
	dir, err := os.MkdirTemp("", "postfix-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// Postfix's daemons run as the postfix user: they must reach the queue.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	etc, queue, data := filepath.Join(dir, "etc"), filepath.Join(dir, "queue"), filepath.Join(dir, "data")
	for _, d := range []string{etc, queue, data} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(data, uid, -1); err != nil {
		t.Fatal(err)
	}
	smtpAddr := freeLoopback(t)
	mainCf := fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %s
data_directory = %s
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.helpdesk.test
mydomain = helpdesk.test
myorigin = helpdesk.test
mydestination = helpdesk.test
mynetworks = 127.0.0.0/8
local_recipient_maps =
alias_maps =
alias_database =
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtp_dns_support_level = disabled
lmtp_dns_support_level = disabled
maillog_file = %s
maillog_file_prefixes = %s
# What a deployment writes in /etc/postfix/transport (README):
transport_maps = inline:{ help@helpdesk.test=lmtp:inet:%s }
`, queue, data, filepath.Join(dir, "maillog"), dir, e.addr)
	// Every service without chroot: the instance lives in dir.
	masterCf := smtpAddr + ` inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
lmtp      unix  - - n - - lmtp
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
`
	if err := os.WriteFile(filepath.Join(etc, "main.cf"), []byte(mainCf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(etc, "master.cf"), []byte(masterCf), 0o644); err != nil {
		t.Fatal(err)
	}
	postfix := func(args ...string) error {
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		out, err := exec.CommandContext(cctx, pf, append([]string{"-c", etc}, args...)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("postfix %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	maillog := func() string {
		b, _ := os.ReadFile(filepath.Join(dir, "maillog"))
		return string(b)
	}
	if err := postfix("start"); err != nil {
		t.Fatalf("%v\nmaillog:\n%s", err, maillog())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("postfix maillog:\n%s", maillog())
		}
		pid := masterPID(queue)
		if err := postfix("stop"); err != nil {
			t.Error(err)
		}
		// The queue is removed after the master and its daemons are gone.
		waitFor(t, 30*time.Second, "postfix's master to exit", func() bool {
			return pid == 0 || syscall.Kill(pid, 0) != nil
		})
	})
	var c *smtp.Client
	waitFor(t, 30*time.Second, "postfix's smtpd to listen on "+smtpAddr, func() bool {
		conn, err := net.Dial("tcp", smtpAddr)
		if err != nil {
			return false
		}
		c = smtp.NewClient(conn)
		return true
	})
	defer c.Close()
	mail := msg(`
From: "Anna Bianchi" <anna.bianchi@ca-milano.example>
To: help@helpdesk.test
Subject: =?UTF-8?B?UEVDIG5vbiByaWNldmUgcGnDuQ==?=
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

La casella PEC della Corte non riceve pi=C3=B9 messaggi.
`)
	if err := c.SendMail("anna.bianchi@ca-milano.example", []string{"help@helpdesk.test"}, strings.NewReader(mail)); err != nil {
		t.Fatal(err)
	}
	var tk tickets.Ticket
	waitFor(t, 60*time.Second, "the ticket of the mail relayed by postfix", func() bool {
		page, err := e.store.FindTickets(ctx, tickets.TicketFilter{}, system)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Tickets) == 0 {
			return false
		}
		tk = page.Tickets[0]
		return true
	})
	if tk.Subject != "PEC non riceve più" || tk.Organization != "corte-appello-milano-demo" || tk.Source != tickets.SourceMail ||
		!strings.Contains(tk.Description, "non riceve più messaggi") {
		t.Errorf("ticket %+v", tk)
	}
	// Postfix logs the delivery after the listener's answer, so after the
	// ticket is there: wait for the line.
	_, port, _ := net.SplitHostPort(e.addr)
	waitFor(t, 60*time.Second, "postfix's log of the delivery over LMTP to "+e.addr, func() bool {
		log := maillog()
		return strings.Contains(log, "relay=127.0.0.1[127.0.0.1]:"+port+",") && strings.Contains(log, "status=sent")
	})
}

// freeLoopback returns a loopback address with a port free now.
func freeLoopback(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func masterPID(queue string) int {
	b, err := os.ReadFile(filepath.Join(queue, "pid", "master.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// waitFor checks cond until it holds, every 50 ms, failing after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}
