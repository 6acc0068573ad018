package realasterisk

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// DTMFMode is how a sipp caller sends its keys.
type DTMFMode int

const (
	// DTMFInfo sends each key as a SIP INFO (application/dtmf-relay).
	DTMFInfo DTMFMode = iota
	// DTMFRFC2833 sends each key as RFC 2833 RTP events (sipp's bundled pcaps).
	DTMFRFC2833
)

// Key is one key a caller presses, After the answer or the previous key.
// With Audio instead of a Digit, the caller starts playing that capture of
// RTP audio (e.g. SpeechPcap) and goes on at once: the next key's After
// counts from the start of the audio.
type Key struct {
	After time.Duration
	Digit byte   // 0-9, * or #
	Audio string // a pcap file of RTP audio, instead of a Digit
}

// SpeechPcap is sipp's bundled capture of 7 s of speech in G.711 A-law
// (Debian sip-tester): a caller that speaks, e.g. to leave a message.
// Asterisk hears nothing from a sipp caller otherwise.
const SpeechPcap = "/usr/share/sip-tester/g711a.pcap"

// CallOptions describe a sipp caller. sipp is timed, not driven: keys are
// sent at fixed delays, so a test gives each key enough time after the
// prompt it answers (or presses it during the prompt, to barge in).
type CallOptions struct {
	Caller     string // the caller's number (default 3331234567)
	CallerName string // default "Mario Rossi"
	Number     string // the number called (default the Stasis number)
	DTMF       DTMFMode
	Keys       []Key
	// HangUpAfter is when the caller hangs up after the last key (or after
	// the answer). Zero: the caller waits for Asterisk to hang up.
	HangUpAfter time.Duration
	// Timeout bounds the whole call (default 60 s); past it sipp fails.
	Timeout time.Duration
	// MediaPort, if set, is the loopback RTP port the caller's SDP gives
	// instead of sipp's: a socket of the test sends and hears the caller's
	// audio (keys then go as SIP INFO or not at all).
	MediaPort int
	// Target is the host:port the INVITE goes to (default the instance's
	// PJSIP transport): e.g. a Kamailio in front of it.
	Target string
	// SourceIP is the loopback address the caller sends from (default the
	// transport's, 127.0.0.1: the carrier).
	SourceIP string
}

// SIPCall is a running sipp: a caller (Call) or a phone (Phone).
type SIPCall struct {
	Dir  string // sipp's scenario and logs
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Call places a call from a sipp UAC on loopback to the instance's PJSIP
// transport.
func (a *Asterisk) Call(t testing.TB, opts CallOptions) *SIPCall {
	t.Helper()
	opts.Caller = cmpOr(opts.Caller, "3331234567")
	opts.CallerName = cmpOr(opts.CallerName, "Mario Rossi")
	opts.Number = cmpOr(opts.Number, a.Number)
	if opts.Timeout == 0 {
		opts.Timeout = 60 * time.Second
	}
	for _, k := range opts.Keys {
		if k.Audio != "" {
			if k.Digit != 0 {
				t.Fatalf("realasterisk: a key has both a digit %q and audio %s", k.Digit, k.Audio)
			}
			if _, err := os.Stat(k.Audio); err != nil {
				t.Fatalf("realasterisk: caller audio: %v", err)
			}
			continue
		}
		if !strings.ContainsRune("0123456789*#", rune(k.Digit)) {
			t.Fatalf("realasterisk: key %q is not a DTMF digit", k.Digit)
		}
	}
	host, _, _ := net.SplitHostPort(a.SIPAddr)
	host = cmpOr(opts.SourceIP, host)
	_, sipPort, _ := net.SplitHostPort(freeUDPOn(t, host))
	// -aa: 200 to an INFO, NOTIFY, OPTIONS or UPDATE within the call.
	return a.runSipp(t, uacScenario(opts), opts.Timeout, "-aa",
		"-s", opts.Number, "-i", host, "-p", sipPort, cmpOr(opts.Target, a.SIPAddr))
}

// runSipp runs sipp with scenario and args, one call (-m 1), RTP on a
// fresh pair of loopback ports, logs in its own directory; killed when t
// ends if still running.
func (a *Asterisk) runSipp(t testing.TB, scenario string, timeout time.Duration, args ...string) *SIPCall {
	t.Helper()
	return a.startSipp(t, scenario, timeout, append([]string{"-m", "1"}, args...)...)
}

// startSipp is runSipp with no call limit: for a scenario that ends sipp
// itself (int_cmd stop_gracefully).
func (a *Asterisk) startSipp(t testing.TB, scenario string, timeout time.Duration, args ...string) *SIPCall {
	t.Helper()
	dir, err := os.MkdirTemp(a.Dir, "sipp-")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "scenario.xml")
	if err := os.WriteFile(file, []byte(scenario), 0o644); err != nil {
		t.Fatal(err)
	}
	mediaPort, err := freeMediaPorts()
	if err != nil {
		t.Fatal(err)
	}
	args = append([]string{
		"-sf", file, "-mi", "127.0.0.1", "-mp", strconv.Itoa(mediaPort),
		"-nostdin",
		"-timeout", strconv.Itoa(int(timeout.Seconds() + 0.5)), "-timeout_error",
		"-trace_err", "-error_file", filepath.Join(dir, "errors.log"),
		"-trace_msg", "-message_file", filepath.Join(dir, "messages.log"),
	}, args...)
	out, err := os.Create(filepath.Join(dir, "screen.log"))
	if err != nil {
		t.Fatal(err)
	}
	c := &SIPCall{Dir: dir, cmd: exec.Command("sipp", args...), done: make(chan struct{})}
	c.cmd.Dir = dir
	c.cmd.Stdout, c.cmd.Stderr = out, out
	if err := c.cmd.Start(); err != nil {
		out.Close()
		t.Fatalf("realasterisk: start sipp: %v", err)
	}
	go func() {
		err := c.cmd.Wait()
		out.Close()
		if err != nil {
			err = fmt.Errorf("sipp: %w (logs in %s)", err, dir)
		}
		c.err = err
		close(c.done)
	}()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			_ = c.cmd.Process.Kill()
			<-c.done
		}
		if t.Failed() {
			for _, f := range []string{"errors.log", "messages.log"} {
				if b, err := os.ReadFile(filepath.Join(dir, f)); err == nil && len(b) > 0 {
					if len(b) > 6000 {
						b = b[len(b)-6000:]
					}
					t.Logf("realasterisk: sipp %s:\n%s", f, b)
				}
			}
		}
	})
	return c
}

// Wait waits for sipp to end: nil when the call went as its scenario says.
func (c *SIPCall) Wait(ctx context.Context) error {
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return fmt.Errorf("sipp still running: %w", ctx.Err())
	}
}

// Done is closed when sipp has ended.
func (c *SIPCall) Done() <-chan struct{} { return c.done }

func cmpOr(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

// rfc2833Pcap: sipp's bundled RTP event captures (Debian sip-tester).
func rfc2833Pcap(d byte) string {
	name := string(d)
	switch d {
	case '*':
		name = "star"
	case '#':
		name = "pound"
	}
	return "/usr/share/sip-tester/dtmf_2833_" + name + ".pcap"
}

// uacScenario writes a sipp UAC: INVITE (PCMA, PCMU, telephone-event 101),
// ACK, the keys, then BYE after HangUpAfter or a wait for Asterisk's BYE.
// Requests within the call follow the answer's Contact and Record-Route
// ([next_url], [routes]; sipp drops the empty line when there is none), as
// a carrier's do: through a proxy in front (Kamailio) that record-routes.
func uacScenario(o CallOptions) string {
	var b strings.Builder
	from := fmt.Sprintf(`"%s" <sip:%s@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]`, xmlEscape(o.CallerName), o.Caller)
	contact := fmt.Sprintf("<sip:%s@[local_ip]:[local_port]>", o.Caller)
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="realasterisk-uac">
  <send retrans="500">
    <![CDATA[

      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: %[1]s
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: %[2]s
      Max-Forwards: 70
      User-Agent: realasterisk-sipp
%[3]s
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true" rrs="true"/>
  <send>
    <![CDATA[

      ACK [next_url] SIP/2.0
      [routes]
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: %[1]s
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: %[2]s
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
`, from, contact, sdpBody("caller", o.MediaPort))
	cseq := 2
	for _, k := range o.Keys {
		if k.After > 0 {
			fmt.Fprintf(&b, "  <pause milliseconds=\"%d\"/>\n", k.After.Milliseconds())
		}
		if k.Audio != "" {
			fmt.Fprintf(&b, "  <nop><action><exec play_pcap_audio=\"%s\"/></action></nop>\n", k.Audio)
			continue
		}
		if o.DTMF == DTMFRFC2833 {
			fmt.Fprintf(&b, "  <nop><action><exec play_pcap_audio=\"%s\"/></action></nop>\n", rfc2833Pcap(k.Digit))
			continue
		}
		fmt.Fprintf(&b, `  <send>
    <![CDATA[

      INFO [next_url] SIP/2.0
      [routes]
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: %s
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: %d INFO
      Contact: %s
      Max-Forwards: 70
      Content-Type: application/dtmf-relay
      Content-Length: [len]

      Signal=%c
      Duration=250
    ]]>
  </send>
  <recv response="200"/>
`, from, cseq, contact, k.Digit)
		cseq++
	}
	if o.HangUpAfter > 0 {
		fmt.Fprintf(&b, `  <pause milliseconds="%d"/>
  <send retrans="500">
    <![CDATA[

      BYE [next_url] SIP/2.0
      [routes]
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: %s
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: %d BYE
      Contact: %s
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true"/>
`, o.HangUpAfter.Milliseconds(), from, cseq, contact)
	} else {
		b.WriteString(`  <recv request="BYE"/>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
`)
	}
	b.WriteString("  <timewait milliseconds=\"200\"/>\n</scenario>\n")
	return b.String()
}

// xmlEscape keeps a name inside the From header and its CDATA section.
func xmlEscape(s string) string {
	return strings.NewReplacer(`"`, "", "]]>", "", "\n", " ", "\r", " ").Replace(s)
}
