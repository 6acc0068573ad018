package realasterisk

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// PhonesNet is what the loopback edit puts in acl.conf's [operator-phones]
// (the operators' network of a deployment): 127.0.0.0-127.0.0.7. Linux
// routes all of 127.0.0.0/8 to loopback, so a test sends from OutsideAddr to
// be a phone on a network the ACL does not permit.
const PhonesNet = "127.0.0.0/255.255.255.248"

// OutsideAddr is a loopback source address outside PhonesNet (and not the
// carrier's 127.0.0.1).
const OutsideAddr = "127.0.0.9"

// RequestOptions describe one REGISTER or INVITE from a sipp UAC, answering
// a digest challenge when given credentials. Its outcome is the final
// response (SIPCall.FinalStatus): the scenario accepts any usual final
// status, so that the test, not sipp, judges it.
type RequestOptions struct {
	Method string // "REGISTER" or "INVITE"
	// From is the user of the From header (and of To and the contact, for a
	// REGISTER): what PJSIP identifies an endpoint by.
	From string
	// Number is the number an INVITE calls.
	Number string
	// Username and Password answer a 401/407; empty: no answer, the
	// challenge is the final response.
	Username, Password string
	// SourceIP is the address sipp sends from (default 127.0.0.1).
	SourceIP string
	// Port is the port sipp sends from (default a free one): a phone that
	// registers there answers its calls there (PhoneAt).
	Port int
	// Target is the host:port the request goes to (default the instance's
	// PJSIP transport): e.g. a Kamailio in front of it.
	Target string
	// ContactHost, if set, is the host of the Contact header instead of
	// SourceIP: a phone asking to be called somewhere else.
	ContactHost string
	// HangUpAfter is how long an answered INVITE stays up before the BYE
	// (default 1 s).
	HangUpAfter time.Duration
	Timeout     time.Duration // default 30 s
}

// finalCodes are the final responses the scenario accepts (besides 200).
var finalCodes = []int{401, 403, 404, 405, 407, 408, 415, 420, 480, 484, 486, 488, 500, 501, 503, 603}

// Request runs one REGISTER or INVITE (see RequestOptions) against the
// instance's PJSIP transport.
func (a *Asterisk) Request(t testing.TB, o RequestOptions) *SIPCall {
	t.Helper()
	if o.Method != "REGISTER" && o.Method != "INVITE" {
		t.Fatalf("realasterisk: Request: method %q", o.Method)
	}
	o.SourceIP = cmpOr(o.SourceIP, "127.0.0.1")
	if o.HangUpAfter == 0 {
		o.HangUpAfter = time.Second
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	_, port, _ := net.SplitHostPort(freeUDPOn(t, o.SourceIP))
	if o.Port != 0 {
		port = strconv.Itoa(o.Port)
	}
	service := cmpOr(o.Number, o.From)
	return a.runSipp(t, requestScenario(o), o.Timeout, "-aa",
		"-s", service, "-i", o.SourceIP, "-p", port, cmpOr(o.Target, a.SIPAddr))
}

// FreeUDPOn is a free UDP port on host (a loopback address), as host:port:
// where a test phone registers and answers (RequestOptions.Port, PhoneAt).
func FreeUDPOn(t testing.TB, host string) string {
	t.Helper()
	return freeUDPOn(t, host)
}

// freeUDPOn is a free UDP port on host, as host:port.
func freeUDPOn(t testing.TB, host string) string {
	t.Helper()
	c, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

var (
	statusLine = regexp.MustCompile(`(?m)^SIP/2\.0 (\d{3}) `)
	cseqLine   = regexp.MustCompile(`(?mi)^CSeq:\s*\d+\s+(\w+)`)
)

// Responses are the status codes sipp received for its REGISTER or INVITE,
// in order, once it has ended.
func (c *SIPCall) Responses() ([]int, error) {
	select {
	case <-c.done:
	default:
		return nil, errors.New("sipp is still running")
	}
	b, err := os.ReadFile(filepath.Join(c.Dir, "messages.log"))
	if err != nil {
		return nil, err
	}
	var codes []int
	for _, m := range strings.Split(string(b), "-----------------------------------------------") {
		if !strings.Contains(m, "message received") {
			continue
		}
		s := statusLine.FindStringSubmatch(m)
		q := cseqLine.FindStringSubmatch(m)
		if s == nil || q == nil || (q[1] != "INVITE" && q[1] != "REGISTER") {
			continue
		}
		n, _ := strconv.Atoi(s[1])
		codes = append(codes, n)
	}
	return codes, nil
}

// FinalStatus is the last final (>= 200) response to the REGISTER or
// INVITE, once sipp has ended: after a digest challenge answered, the
// answer to the authenticated request.
func (c *SIPCall) FinalStatus() (int, error) {
	codes, err := c.Responses()
	if err != nil {
		return 0, err
	}
	for i := len(codes) - 1; i >= 0; i-- {
		if codes[i] >= 200 {
			return codes[i], nil
		}
	}
	return 0, fmt.Errorf("no final response (received %v; logs in %s)", codes, c.Dir)
}

// requestScenario writes the sipp UAC of Request.
func requestScenario(o RequestOptions) string {
	var b strings.Builder
	auth := o.Username != ""
	from := fmt.Sprintf(`<sip:%s@[remote_ip]:[remote_port]>;tag=[pid]SIPpTag00[call_number]`, o.From)
	contact := fmt.Sprintf("<sip:%s@%s:[local_port]>", o.From, cmpOr(o.ContactHost, "[local_ip]"))
	to := "<sip:[service]@[remote_ip]:[remote_port]>"
	ruri := "sip:[service]@[remote_ip]:[remote_port]"
	if o.Method == "REGISTER" {
		ruri = "sip:[remote_ip]:[remote_port]"
	}
	b.WriteString(`<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="realasterisk-request">
`)
	request := func(cseq int, withAuth bool) {
		extra := ""
		if withAuth {
			extra = fmt.Sprintf("      [authentication username=%s password=%s]\n", o.Username, o.Password)
		}
		body := "      Content-Length: 0\n"
		if o.Method == "INVITE" {
			body = sdpBody("caller", 0)
		} else {
			extra += "      Expires: 120\n"
		}
		fmt.Fprintf(&b, `  <send retrans="500">
    <![CDATA[

      %s %s SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: %s
      To: %s
      Call-ID: [call_id]
      CSeq: %d %s
      Contact: %s
      Max-Forwards: 70
      User-Agent: realasterisk-sipp
%s%s
    ]]>
  </send>
  <recv response="100" optional="true"/>
`, o.Method, ruri, from, to, cseq, o.Method, contact, extra, body)
		if o.Method == "INVITE" {
			b.WriteString("  <recv response=\"180\" optional=\"true\"/>\n  <recv response=\"183\" optional=\"true\"/>\n")
		}
	}
	// finals: every accepted final response; a challenge to the first
	// request goes to "challenged" when there are credentials.
	finals := func(n int, challenge bool) {
		fmt.Fprintf(&b, "  <recv response=\"200\" optional=\"true\" rrs=\"true\" next=\"ok%d\"/>\n", n)
		for i, code := range finalCodes {
			if challenge && (code == 401 || code == 407) {
				fmt.Fprintf(&b, "  <recv response=\"%d\" optional=\"true\" auth=\"true\" next=\"challenged\"/>\n", code)
				continue
			}
			opt := ` optional="true"`
			if i == len(finalCodes)-1 {
				opt = ""
			}
			fmt.Fprintf(&b, "  <recv response=\"%d\"%s next=\"refused%d\"/>\n", code, opt, n)
		}
	}
	// ack acknowledges a final response: a non-2xx in the INVITE's
	// transaction (its Via and Request-URI), a 2xx in a transaction of its
	// own, to the answer's Contact through its Record-Route (a proxy in
	// front, Kamailio).
	ack := func(cseq int, twoxx bool, next string) {
		via, target := "[last_Via:]", ruri
		if twoxx {
			via = "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]"
			target = "[next_url] SIP/2.0\n      [routes]"
		} else {
			target += " SIP/2.0"
		}
		nextAttr := ""
		if next != "" {
			nextAttr = ` next="` + next + `"`
		}
		fmt.Fprintf(&b, `  <send%s>
    <![CDATA[

      ACK %s
      %s
      From: %s
      To: %s[peer_tag_param]
      Call-ID: [call_id]
      CSeq: %d ACK
      Contact: %s
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
`, nextAttr, target, via, from, to, cseq, contact)
	}
	answered := func(n, cseq int) {
		fmt.Fprintf(&b, "  <label id=\"ok%d\"/>\n", n)
		if o.Method == "REGISTER" {
			b.WriteString("  <nop next=\"end\"/>\n")
			return
		}
		ack(cseq, true, "")
		fmt.Fprintf(&b, `  <pause milliseconds="%d"/>
  <send retrans="500">
    <![CDATA[

      BYE [next_url] SIP/2.0
      [routes]
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: %s
      To: %s[peer_tag_param]
      Call-ID: [call_id]
      CSeq: %d BYE
      Contact: %s
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" next="end"/>
`, o.HangUpAfter.Milliseconds(), from, to, cseq+1, contact)
	}
	refused := func(n, cseq int) {
		fmt.Fprintf(&b, "  <label id=\"refused%d\"/>\n", n)
		if o.Method == "REGISTER" {
			b.WriteString("  <nop next=\"end\"/>\n")
			return
		}
		ack(cseq, false, "end")
	}

	request(1, false)
	finals(1, auth)
	refused(1, 1)
	answered(1, 1)
	if auth {
		b.WriteString("  <label id=\"challenged\"/>\n")
		if o.Method == "INVITE" {
			ack(1, false, "")
		}
		request(2, true)
		finals(2, false)
		refused(2, 2)
		answered(2, 2)
	}
	b.WriteString("  <label id=\"end\"/>\n  <timewait milliseconds=\"200\"/>\n</scenario>\n")
	return b.String()
}

// ConnectAll opens an event WebSocket for app with subscribeAll=true: every
// channel's events, whichever application (if any) it is in. For a test
// that watches what Asterisk does on its own, e.g. that a call never makes
// an outgoing channel.
func (c *Client) ConnectAll(ctx context.Context, app string) (*Events, error) {
	return c.connect(ctx, app, true)
}

// Secret is the value of key in section header of the instance's copy of
// file (e.g. "pjsip.conf", "[op201](operator-auth)", "password"): what the
// shipped configuration gives an account.
func (a *Asterisk) Secret(file, header, key string) (string, error) {
	b, err := os.ReadFile(filepath.Join(a.Dir, "etc", file))
	if err != nil {
		return "", err
	}
	in := false
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "[") {
			in = l == header
			continue
		}
		if in && optionKey(l) == key {
			_, v, _ := strings.Cut(l, "=")
			v, _, _ = strings.Cut(v, ";")
			return strings.TrimSpace(strings.TrimPrefix(v, ">")), nil
		}
	}
	return "", fmt.Errorf("%s: no %s in %s", file, key, header)
}
