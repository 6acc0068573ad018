package realasterisk

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// PhoneMode is how a test operator phone takes a call.
type PhoneMode int

const (
	// PhoneAnswer rings, answers after AnswerAfter, echoes the audio and
	// waits for the BYE (answering re-INVITEs meanwhile).
	PhoneAnswer PhoneMode = iota
	// PhoneRing rings and never answers; it ends when Asterisk cancels.
	PhoneRing
	// PhoneReject answers 486 Busy Here.
	PhoneReject
)

// PhoneOptions describe a test phone.
type PhoneOptions struct {
	Mode        PhoneMode
	AnswerAfter time.Duration // PhoneAnswer: ringing time before the 200
	Timeout     time.Duration // bounds the whole call (default 60 s)
	// MediaPort, if set, is the loopback RTP port the phone's SDP gives
	// instead of sipp's (which then echoes nothing): a socket of the test
	// that sends and hears the phone's audio itself.
	MediaPort int
	// Greeting, if set, is a capture of RTP audio (e.g. from GreetingPcap)
	// the phone plays once answered, instead of echoing: what a person or
	// an answering machine says on picking up.
	Greeting string
}

// Phone starts a sipp UAS as the operator phone endpoint (one of
// Options.Phones), for one call from Asterisk.
func (a *Asterisk) Phone(t testing.TB, endpoint string, opts PhoneOptions) *SIPCall {
	t.Helper()
	addr, ok := a.phones[endpoint]
	if !ok {
		t.Fatalf("realasterisk: %s is not in Options.Phones", endpoint)
	}
	return a.PhoneAt(t, addr, opts)
}

// PhoneAt starts a sipp UAS on addr (a loopback host:port) for one call:
// a phone that registered from there somewhere else (at a Kamailio in
// front of the instance, RequestOptions.Port).
func (a *Asterisk) PhoneAt(t testing.TB, addr string, opts PhoneOptions) *SIPCall {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = 60 * time.Second
	}
	host, port, _ := net.SplitHostPort(addr)
	args := []string{"-i", host, "-p", port}
	if opts.Mode == PhoneAnswer && opts.MediaPort == 0 && opts.Greeting == "" {
		args = append(args, "-rtp_echo")
	}
	// No -m 1: a request out of any call (Asterisk's unsolicited MWI
	// NOTIFY, an OPTIONS) would count as that one call, and sipp would
	// then drop the INVITE; the scenario stops sipp after its call.
	return a.startSipp(t, uasScenario(opts), opts.Timeout, args...)
}

// uasHeaders answer the last request received, with the phone's to-tag
// and the request's Record-Route (a proxy in front, Kamailio, stays on the
// path; sipp drops the line when there is none).
const uasHeaders = `      [last_Via:]
      [last_Record-Route:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
`

// sdpBody is the SDP offer or answer of the test UAs (PCMA, PCMU and
// telephone-event 101), with its headers, as a sipp message's tail; user
// names the o= line; media, if not 0, is the RTP port instead of sipp's.
func sdpBody(user string, media int) string {
	port := "[media_port]"
	if media != 0 {
		port = fmt.Sprint(media)
	}
	return `      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=` + user + ` 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio ` + port + ` RTP/AVP 8 0 101
      a=rtpmap:8 PCMA/8000
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-16
      a=ptime:20
      a=sendrecv
`
}

func uasResponse(status string, sdp bool, media int) string {
	body := "      Content-Length: 0\n"
	if sdp {
		body = sdpBody("phone", media)
	}
	return "  <send>\n    <![CDATA[\n\n      SIP/2.0 " + status + "\n" + uasHeaders + body + "\n    ]]>\n  </send>\n"
}

func uasScenario(o PhoneOptions) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="realasterisk-phone">
  <Global variables="calls"/>
  <recv request="NOTIFY" optional="true" next="outside"/>
  <recv request="OPTIONS" optional="true" next="outside"/>
  <recv request="INVITE" crlf="true" next="call"/>
  <label id="outside"/>
`)
	// A request outside the call (a phone answers them as any phone
	// does, e.g. voicemail's MWI NOTIFY through Kamailio): 200, and the
	// phone goes on waiting for its call.
	b.WriteString(uasResponse("200 OK", false, 0))
	b.WriteString(`  <nop next="done"/>
  <label id="call"/>
  <nop>
    <action>
      <test assign_to="taken" variable="calls" compare="greater_than_equal" value="1"/>
      <add assign_to="calls" value="1"/>
    </action>
  </nop>
  <nop test="taken" next="busy"/>
`)
	switch o.Mode {
	case PhoneReject:
		b.WriteString(uasResponse("486 Busy Here", false, o.MediaPort))
		b.WriteString("  <recv request=\"ACK\"/>\n")
	case PhoneRing:
		b.WriteString(uasResponse("180 Ringing", false, o.MediaPort))
		b.WriteString("  <recv request=\"CANCEL\"/>\n")
		b.WriteString(uasResponse("200 OK", false, o.MediaPort))
		// The INVITE's final answer, with the INVITE's CSeq.
		b.WriteString(strings.Replace(uasResponse("487 Request Terminated", false, o.MediaPort),
			"[last_CSeq:]", "CSeq: [last_cseq_number] INVITE", 1))
		b.WriteString("  <recv request=\"ACK\"/>\n")
	default:
		b.WriteString(uasResponse("180 Ringing", false, o.MediaPort))
		if o.AnswerAfter > 0 {
			fmt.Fprintf(&b, "  <pause milliseconds=\"%d\"/>\n", o.AnswerAfter.Milliseconds())
		}
		b.WriteString(strings.Replace(uasResponse("200 OK", true, o.MediaPort), "<send>", `<send retrans="500">`, 1))
		b.WriteString("  <recv request=\"ACK\" rtd=\"true\" crlf=\"true\"/>\n")
		if o.Greeting != "" {
			fmt.Fprintf(&b, "  <nop><action><exec play_pcap_audio=\"%s\"/></action></nop>\n", o.Greeting)
		}
		b.WriteString(`  <label id="up"/>
  <recv request="INVITE" optional="true" next="reinvite"/>
  <recv request="BYE" next="bye"/>
  <label id="reinvite"/>
`)
		b.WriteString(uasResponse("200 OK", true, o.MediaPort))
		b.WriteString(`  <recv request="ACK" next="up"/>
  <label id="bye"/>
`)
		b.WriteString(uasResponse("200 OK", false, o.MediaPort))
	}
	// The call is over: sipp ends once nothing else is in flight.
	b.WriteString(`  <nop><action><exec int_cmd="stop_gracefully"/></action></nop>
  <nop next="done"/>
  <label id="busy"/>
`)
	// Another call while the phone has had its one: busy, as a phone
	// without call waiting (e.g. a ring-all that reaches it again).
	b.WriteString(uasResponse("486 Busy Here", false, 0))
	b.WriteString(`  <recv request="ACK"/>
  <label id="done"/>
  <timewait milliseconds="200"/>
</scenario>
`)
	return b.String()
}
