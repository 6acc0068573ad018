package interop

import (
	"context"
	"encoding/binary"
	"math"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/realasterisk"
	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// rtpPhone is the audio side of a test phone: every 20 ms it sends a
// packet (a 1 kHz tone, or silence as a phone between words does), to
// where Asterisk's packets come from, and it sorts what it hears into
// loud packets and quiet ones.
type rtpPhone struct {
	conn *net.UDPConn
	tone bool

	mu     sync.Mutex
	remote *net.UDPAddr
	pt     byte // the payload type Asterisk sends (8 PCMA, 0 PCMU)
	loud   int
	heard  int
}

func newRTPPhone(t *testing.T, tone bool) *rtpPhone {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p := &rtpPhone{conn: conn, tone: tone, pt: 8}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	t.Cleanup(func() {
		cancel()
		conn.Close()
		<-done
		<-done
	})
	go func() { defer func() { done <- struct{}{} }(); p.listen() }()
	go func() { defer func() { done <- struct{}{} }(); p.speak(ctx) }()
	return p
}

func (p *rtpPhone) port() int { return p.conn.LocalAddr().(*net.UDPAddr).Port }

func (p *rtpPhone) listen() {
	buf := make([]byte, 2048)
	for {
		n, from, err := p.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if n < 12 {
			continue
		}
		pt := buf[1] & 0x7f
		if pt != 0 && pt != 8 {
			continue // telephone-event, comfort noise
		}
		level := meanLevel(pt, buf[12:n])
		p.mu.Lock()
		p.remote, p.pt = from, pt
		p.heard++
		if level > loudLevel {
			p.loud++
		}
		p.mu.Unlock()
	}
}

// loudLevel is the mean amplitude above which a packet is the tone, not
// silence or the noise of transcoding.
const loudLevel = 1000

func (p *rtpPhone) speak(ctx context.Context) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var seq uint16
	var ts uint32
	ssrc := uint32(time.Now().UnixNano())
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		p.mu.Lock()
		to, pt := p.remote, p.pt
		p.mu.Unlock()
		if to == nil {
			continue // Asterisk has not spoken yet: rtp_symmetric learns us then
		}
		pkt := make([]byte, 12+160)
		pkt[0], pkt[1] = 0x80, pt
		binary.BigEndian.PutUint16(pkt[2:], seq)
		binary.BigEndian.PutUint32(pkt[4:], ts)
		binary.BigEndian.PutUint32(pkt[8:], ssrc)
		for i := range 160 {
			var v int16
			if p.tone {
				v = int16(8000 * math.Sin(2*math.Pi*1000*float64(int(ts)+i)/8000))
			}
			pkt[12+i] = encodeG711(pt, v)
		}
		seq++
		ts += 160
		_, _ = p.conn.WriteToUDP(pkt, to)
	}
}

// take returns how many packets were heard, and how many were loud, since
// the last take.
func (p *rtpPhone) take() (loud, heard int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	loud, heard = p.loud, p.heard
	p.loud, p.heard = 0, 0
	return loud, heard
}

func meanLevel(pt byte, payload []byte) int {
	if len(payload) == 0 {
		return 0
	}
	sum := 0
	for _, b := range payload {
		v := decodeG711(pt, b)
		if v < 0 {
			v = -v
		}
		sum += v
	}
	return sum / len(payload)
}

// G.711 (the ITU's reference algorithm): A-law for payload type 8, µ-law for 0.
func decodeG711(pt, b byte) int {
	if pt == 0 {
		u := ^b
		t := (int(u&0x0f) << 3) + 0x84
		t <<= (u & 0x70) >> 4
		if u&0x80 != 0 {
			return 0x84 - t
		}
		return t - 0x84
	}
	a := b ^ 0x55
	t := int(a&0x0f) << 4
	switch seg := (a & 0x70) >> 4; seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if a&0x80 != 0 {
		return t
	}
	return -t
}

func encodeG711(pt byte, v int16) byte {
	pcm := int(v)
	if pt == 0 {
		mask := byte(0xff)
		pcm >>= 2
		if pcm < 0 {
			pcm, mask = -pcm, 0x7f
		}
		pcm = min(pcm, 8159) + (0x84 >> 2)
		seg := segment(pcm, []int{0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff})
		if seg >= 8 {
			return 0x7f ^ mask
		}
		return byte(seg<<4|(pcm>>(seg+1))&0x0f) ^ mask
	}
	mask := byte(0xd5)
	pcm >>= 3
	if pcm < 0 {
		pcm, mask = -pcm-1, 0x55
	}
	seg := segment(pcm, []int{0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff})
	if seg >= 8 {
		return 0x7f ^ mask
	}
	a := seg << 4
	if seg < 2 {
		a |= (pcm >> 1) & 0x0f
	} else {
		a |= (pcm >> seg) & 0x0f
	}
	return byte(a) ^ mask
}

func segment(v int, ends []int) int {
	for i, e := range ends {
		if v <= e {
			return i
		}
	}
	return len(ends)
}

// listenFor lets the phones talk for d and returns what the caller's
// and the operator's phones heard.
func listenFor(caller, op *rtpPhone, d time.Duration) (callerLoud, callerHeard, opLoud, opHeard int) {
	caller.take()
	op.take()
	time.Sleep(d) // a window of audio, measured by packets, not a wait for a state
	callerLoud, callerHeard = caller.take()
	opLoud, opHeard = op.take()
	return
}

// TestSuperviseRealAsterisk: on a real Asterisk, the supervisor of lotto3
// listens to a call that op301 answered, then whispers to op301, then
// barges in, then ends the call. Every phone sends RTP as a phone does
// (the caller and op301 silence, the supervisor's a tone) and the test
// measures what each receives: listening, nobody hears the supervisor;
// whispering, op301 does and the caller does not; barging, both do.
// Asterisk's own channels show the snoop channel on op301's leg, replaced
// at each switch under the supervisor's channel, and nothing left at the
// end.
func TestSuperviseRealAsterisk(t *testing.T) {
	t.Parallel()
	cfg := shipped(t)
	if sup := cfg.Supervisor("supervisore"); sup == nil || sup.Endpoint != "PJSIP/sup100" || !sup.Watches("lotto3") {
		t.Fatalf("the shipped configuration's supervisor: %+v", sup)
	}
	monday := time.Date(2026, 11, 16, 10, 0, 0, 0, cfg.Location())
	d := startReal(t, cfg, monday, []string{"op301", "sup100"})
	callerRTP, opRTP, supRTP := newRTPPhone(t, false), newRTPPhone(t, false), newRTPPhone(t, true)
	d.A.Phone(t, "op301", realasterisk.PhoneOptions{AnswerAfter: time.Second, Timeout: 150 * time.Second, MediaPort: opRTP.port()})
	d.A.Phone(t, "sup100", realasterisk.PhoneOptions{AnswerAfter: time.Second, Timeout: 150 * time.Second, MediaPort: supRTP.port()})
	d.A.Call(t, realasterisk.CallOptions{Caller: caller, MediaPort: callerRTP.port(), Timeout: 150 * time.Second,
		Keys: []realasterisk.Key{{After: 2 * time.Second, Digit: '1'}, {After: 2 * time.Second, Digit: '3'}}})
	ctx, cancel := context.WithTimeout(context.Background(), 140*time.Second)
	defer cancel()
	var callID string
	select {
	case callID = <-d.bridged:
	case <-ctx.Done():
		t.Fatalf("no operator answered: %v", ctx.Err())
	}
	act := func(kind ivr.ActionKind) {
		t.Helper()
		if err := d.Ctrl.Act(ctx, callID, ivr.Action{Kind: kind, By: "supervisore"}); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
	}
	// Asterisk's view: which snoop channel spies on op301's leg, and
	// which channels are up.
	snoopOn := regexp.MustCompile(`(?m)^Snoop/(op-[^!]+)-[0-9a-f]{8}!`)
	supLeg := regexp.MustCompile(`(?m)^PJSIP/sup100-[0-9a-f]{8}!`)
	channels := func() string {
		out, err := d.A.CLI(ctx, "core show channels concise")
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	waitSnoop := func(not string) string {
		t.Helper()
		for ctx.Err() == nil {
			out, _ := d.A.CLI(ctx, "core show channels concise")
			if m := snoopOn.FindString(out); m != "" && m != not && supLeg.MatchString(out) {
				return m
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("no snoop channel beside the supervisor's:\n%s", channels())
		return ""
	}

	act(ivr.ActListen)
	listen := waitSnoop("")
	cl, ch, ol, oh := listenFor(callerRTP, opRTP, 3*time.Second)
	t.Logf("listen: caller %d/%d loud, op301 %d/%d loud; snoop %s", cl, ch, ol, oh, listen)
	if ch < 50 || oh < 50 {
		t.Fatalf("the phones hear too little audio: caller %d packets, op301 %d", ch, oh)
	}
	if cl > 5 || ol > 5 {
		t.Errorf("listening, the supervisor is heard: caller %d, op301 %d loud packets", cl, ol)
	}
	if sl, sh := supRTP.take(); sh < 50 {
		t.Errorf("the supervisor hears %d packets (%d loud)", sh, sl)
	}

	act(ivr.ActWhisper)
	whisper := waitSnoop(listen)
	cl, ch, ol, oh = listenFor(callerRTP, opRTP, 3*time.Second)
	t.Logf("whisper: caller %d/%d loud, op301 %d/%d loud; snoop %s", cl, ch, ol, oh, whisper)
	if ol < oh/2 {
		t.Errorf("whispering, op301 hears the supervisor in %d of %d packets", ol, oh)
	}
	if cl > 5 {
		t.Errorf("whispering, the caller hears the supervisor in %d of %d packets", cl, ch)
	}

	act(ivr.ActBarge)
	waitSnoop(whisper)
	cl, ch, ol, oh = listenFor(callerRTP, opRTP, 3*time.Second)
	t.Logf("barge: caller %d/%d loud, op301 %d/%d loud", cl, ch, ol, oh)
	if cl < ch/2 || ol < oh/2 {
		t.Errorf("barging, the caller hears the supervisor in %d of %d packets, op301 in %d of %d", cl, ch, ol, oh)
	}

	act(ivr.ActEndCall)
	select {
	case <-d.outcome:
	case <-ctx.Done():
		t.Fatalf("the call did not end: %v", ctx.Err())
	}
	for ctx.Err() == nil {
		out := channels()
		if !regexp.MustCompile(`(?m)^(Snoop|PJSIP/sup100)`).MatchString(out) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out := channels(); regexp.MustCompile(`(?m)^(Snoop|PJSIP/sup100)`).MatchString(out) {
		t.Errorf("left in Asterisk after the call:\n%s", out)
	}
	rec, evs, ok := d.Store.Call(callID)
	if !ok || rec.EndedAt.IsZero() {
		t.Fatalf("call record %+v", rec)
	}
	var got []string
	for _, e := range evs {
		if e.Kind == ivr.EventSupervisor || e.Kind == ivr.EventSupervisorLeft || e.Kind == ivr.EventEndedBySupervis {
			got = append(got, string(e.Kind)+" "+e.Detail)
		}
	}
	want := []string{"supervisor supervisore: listen", "supervisor supervisore: whisper", "supervisor supervisore: barge",
		"ended_by_supervisor supervisore", "supervisor_left supervisore: the conversation ended"}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("call record: %q, want %q", got, want)
	}
}

// TestIvrdSupervise: the same through the ivrd binary and its panel: the
// supervisor presses Listen, then Whisper, on the live page of the call
// op301 answered (the panel's forms, with the session's token); Asterisk's
// snoop channel and the phones' RTP follow (whisper: op301 hears the
// supervisor, the caller does not); then End call. The audit log, the
// ticket's history and /metrics have each action.
func TestIvrdSupervise(t *testing.T) {
	t.Parallel()
	d := StartDesk(t, DeskOptions{Clock: mondayClock, Phones: []string{"op301", "sup100"}, Available: []string{"op301"}})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	callerRTP, opRTP, supRTP := newRTPPhone(t, false), newRTPPhone(t, false), newRTPPhone(t, true)
	d.Phone(t, "op301", realasterisk.PhoneOptions{AnswerAfter: time.Second, Timeout: 3 * time.Minute, MediaPort: opRTP.port()})
	d.Phone(t, "sup100", realasterisk.PhoneOptions{AnswerAfter: time.Second, Timeout: 3 * time.Minute, MediaPort: supRTP.port()})
	const from = "3331240041"
	d.Caller(t, realasterisk.CallOptions{Caller: from, Keys: keyed("13", keyGap, keyGap), MediaPort: callerRTP.port(), Timeout: 3 * time.Minute})
	call := d.CallOf(ctx, t, from)
	d.Obs.BridgedWith(ctx, t, call.ChannelID, "PJSIP/op301-")
	d.WaitCallEvent(ctx, t, call, tickets.EventAnswered)

	sup := d.LogIn(t, "supervisore")
	waitFor(ctx, t, "the call's buttons on the live page", func() (bool, bool) {
		_, page := sup.Get(t, "/live")
		ok := strings.Contains(string(page), `action="/live/calls/`+call.ChannelID+`"`)
		return ok, ok
	})
	press := func(action string) {
		t.Helper()
		resp, page := sup.Post(t, "/live/calls/"+call.ChannelID, url.Values{"action": {action}})
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Request.URL.String(), "msg=supervise_"+action) {
			t.Fatalf("%s: %s at %s\n%s", action, resp.Status, resp.Request.URL, page)
		}
	}
	snoopOn := regexp.MustCompile(`(?m)^Snoop/(op-[^!]+)-[0-9a-f]{8}!`)
	waitSnoop := func(not string) string {
		t.Helper()
		return waitFor(ctx, t, "a snoop channel on op301's leg", func() (string, bool) {
			out, _ := d.A.CLI(ctx, "core show channels concise")
			m := snoopOn.FindString(out)
			return m, m != "" && m != not && strings.Contains(out, "PJSIP/sup100-")
		})
	}

	press("listen")
	listen := waitSnoop("")
	cl, ch, ol, oh := listenFor(callerRTP, opRTP, 3*time.Second)
	t.Logf("listen: caller %d/%d loud, op301 %d/%d loud", cl, ch, ol, oh)
	if ch < 50 || oh < 50 || cl > 5 || ol > 5 {
		t.Errorf("listening: caller %d of %d packets loud, op301 %d of %d", cl, ch, ol, oh)
	}
	press("whisper")
	waitSnoop(listen)
	cl, ch, ol, oh = listenFor(callerRTP, opRTP, 3*time.Second)
	t.Logf("whisper: caller %d/%d loud, op301 %d/%d loud", cl, ch, ol, oh)
	if ol < oh/2 || cl > 5 {
		t.Errorf("whispering: op301 hears the supervisor in %d of %d packets, the caller in %d of %d", ol, oh, cl, ch)
	}
	press("end_call")
	rec, _ := d.WaitEnded(ctx, t, call)
	if rec.HangupBy != tickets.HangupSystem {
		t.Errorf("ended call: %+v", rec)
	}

	var audited []string
	rows, err := d.DB.Query(ctx, `SELECT action || ' ' || grp || ' ' || login FROM audit_log WHERE target = $1 ORDER BY id`, "call:"+call.ChannelID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		audited = append(audited, s)
	}
	rows.Close()
	if want := []string{"call.listen lotto3 supervisore", "call.whisper lotto3 supervisore", "call.end_call lotto3 supervisore"}; !slices.Equal(audited, want) {
		t.Errorf("audit log %q, want %q", audited, want)
	}
	hist, err := d.Store.History(ctx, rec.TicketID, tickets.Viewer{Kind: tickets.ViewerSystem})
	if err != nil {
		t.Fatal(err)
	}
	var noted []string
	for _, h := range hist {
		if h.Field == "supervision" {
			noted = append(noted, h.Actor.ID+" "+h.New)
		}
	}
	if want := []string{"supervisore listen", "supervisore whisper", "supervisore end_call"}; !slices.Equal(noted, want) {
		t.Errorf("ticket history %q, want %q", noted, want)
	}
	for kind, want := range map[string]float64{"listen": 1, "whisper": 1, "barge": 0, "end_call": 1} {
		if v := d.Metric(t, `ivr_supervisor_interventions_total{kind="`+kind+`"}`); v != want {
			t.Errorf("ivr_supervisor_interventions_total{kind=%q} = %v, want %v", kind, v, want)
		}
	}
}
