package realasterisk

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A phone that gets a request outside any call before its call (an
// Asterisk node's unsolicited MWI NOTIFY, relayed by Kamailio the moment
// the phone registered) answers it 200 and still takes the call that
// follows; with sipp's one-call limit the NOTIFY was "the call" and the
// INVITE was dropped (TestTwoNodesBehindKamailio, under load). A second
// call while it is in its call is refused busy.
func TestPhoneAnswersARequestOutsideTheCall(t *testing.T) {
	t.Parallel()
	SkipIfOptedOut(t)
	if _, err := exec.LookPath("sipp"); err != nil {
		t.Fatal("sipp (Debian sip-tester) is not installed: scripts/install-deps.sh installs it")
	}
	a := &Asterisk{Dir: t.TempDir(), SIPAddr: "127.0.0.1:5060", Number: "800749049"}
	addr := FreeUDPOn(t, "127.0.0.1")
	phone := a.PhoneAt(t, addr, PhoneOptions{AnswerAfter: 200 * time.Millisecond, Timeout: 30 * time.Second})

	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	dst, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	local := conn.LocalAddr().String()
	notify := strings.ReplaceAll(fmt.Sprintf("NOTIFY sip:op201@%[1]s SIP/2.0\n"+
		"Via: SIP/2.0/UDP %[2]s;branch=z9hG4bK-mwi-1\n"+
		"From: <sip:op201@127.0.0.1>;tag=mwi\n"+
		"To: <sip:op201@127.0.0.1>\n"+
		"Call-ID: mwi-1@127.0.0.1\n"+
		"CSeq: 1 NOTIFY\n"+
		"Contact: <sip:%[2]s>\n"+
		"Event: message-summary\n"+
		"Subscription-State: terminated\n"+
		"Max-Forwards: 70\n"+
		"Content-Type: application/simple-message-summary\n"+
		"Content-Length: 20\n\n"+
		"Messages-Waiting: no", addr, local), "\n", "\r\n")
	// sipp may still be binding its port: ask until it answers.
	var reply string
	for try := 0; try < 50 && reply == ""; try++ {
		if _, err := conn.WriteToUDP([]byte(notify), dst); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4096)
		_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if n, _, err := conn.ReadFromUDP(buf); err == nil {
			reply = string(buf[:n])
		}
	}
	if !strings.HasPrefix(reply, "SIP/2.0 200") || !strings.Contains(reply, "Call-ID: mwi-1@127.0.0.1") {
		t.Fatalf("the phone's answer to the NOTIFY: %q, want 200 on its Call-ID", reply)
	}

	caller := a.Call(t, CallOptions{Target: addr, HangUpAfter: 4 * time.Second, Timeout: 20 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	// A second call while the phone is in its call: busy (a ring-all
	// reaching a phone that is talking), not answered.
	time.Sleep(time.Second)
	second := a.Call(t, CallOptions{Caller: "3330000002", Target: addr, HangUpAfter: time.Second, Timeout: 10 * time.Second})
	if err := second.Wait(ctx); err == nil {
		t.Error("the second call was answered by a phone in a call")
	}
	if log, _ := os.ReadFile(filepath.Join(second.Dir, "messages.log")); !strings.Contains(string(log), "SIP/2.0 486 Busy Here") {
		t.Errorf("the second call got no 486 Busy Here:\n%s", log)
	}
	if err := caller.Wait(ctx); err != nil {
		t.Errorf("the call to the phone: %v", err)
	}
	if err := phone.Wait(ctx); err != nil {
		t.Errorf("the phone: %v", err)
	}
}
