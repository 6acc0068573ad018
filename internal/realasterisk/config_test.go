package realasterisk

import (
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEditsApplyToShippedConfigs checks every loopback edit finds what it
// edits in configs/asterisk, and changes only that: no Asterisk needed.
func TestEditsApplyToShippedConfigs(t *testing.T) {
	t.Parallel()
	a := &Asterisk{
		Prefix: "/opt/ast", Dir: t.TempDir(), HTTPAddr: "127.0.0.1:18088", SIPAddr: "127.0.0.1:15060",
		User: "ivr", Password: "s3cret", App: "ivr", Number: "800749049",
		phones: map[string]string{"op201": "127.0.0.1:15070"},
	}
	shipped := filepath.Join(repoRoot(t), "configs", "asterisk")
	for name, edit := range a.edits() {
		b, err := os.ReadFile(filepath.Join(shipped, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := edit(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s := string(got)
		var want, gone []string
		switch name {
		case "asterisk.conf":
			want = []string{"astrundir => " + filepath.Join(a.Dir, "run"), "astmoddir => /opt/ast/lib/asterisk/modules", "systemname = helpdesk1"}
			gone = []string{"runuser", "rungroup"}
		case "http.conf":
			want = []string{"bindport = 18088", "bindaddr = 127.0.0.1"}
			gone = []string{"bindport = 8088"}
		case "ari.conf":
			want = []string{"password = s3cret"}
			gone = []string{"change-me-ari-password"}
		case "acl.conf":
			want = []string{"permit = " + PhonesNet, "deny = 0.0.0.0/0.0.0.0"}
			gone = []string{"permit = 192.168.0.0/255.255.0.0"}
		case "pjsip.conf":
			want = []string{"bind = 127.0.0.1:15060", "match = 127.0.0.1", "[op901]"}
			gone = []string{"[carrier-reg]", "bind = 0.0.0.0:5060", "match = sip.carrier.example", "type = registration"}
		default:
			t.Fatalf("no check for the edit of %s", name)
		}
		if name == "pjsip.conf" {
			for header, lines := range map[string][]string{
				"[op201](operator-aor)":      {"contact = sip:op201@127.0.0.1:15070", "qualify_frequency = 0"},
				"[op201](operator-endpoint)": {"mailboxes = "},
				"[op202](operator-aor)":      {},
			} {
				body := sectionBody(s, header)
				for _, l := range lines {
					if !strings.Contains(body, "\n"+l+"\n") {
						t.Errorf("%s: %s has no line %q:%s", name, header, l, body)
					}
				}
				if header == "[op202](operator-aor)" && strings.Contains(body, "contact") {
					t.Errorf("%s: %s got a contact though op202 is no test phone", name, header)
				}
			}
		}
		for _, w := range want {
			if !strings.Contains(s, "\n"+w) {
				t.Errorf("%s: no line %q", name, w)
			}
		}
		for _, g := range gone {
			if strings.Contains(s, "\n"+g) {
				t.Errorf("%s: line %q still there", name, g)
			}
		}
	}
}

func TestSetOptionAddsMissingKey(t *testing.T) {
	t.Parallel()
	in := "[a]\nx = 1\n[b]\ny = 2\n"
	got, err := setOption([]byte(in), "b", "x", "3")
	if err != nil {
		t.Fatal(err)
	}
	if want := "[a]\nx = 1\n[b]\nx = 3\ny = 2\n"; string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if _, err := setOption([]byte(in), "c", "x", "3"); err == nil {
		t.Fatal("no error for a missing section")
	}
	if _, err := dropSection([]byte(in), "c"); err == nil {
		t.Fatal("no error for dropping a missing section")
	}
}

// TestUACScenarioIsXML: sipp refuses a scenario that is not well-formed.
func TestUACScenarioIsXML(t *testing.T) {
	t.Parallel()
	for _, o := range []CallOptions{
		{Caller: "1", CallerName: `Mario "M" Rossi`, Number: "800749049"},
		{Caller: "1", CallerName: "x", Number: "800749049", DTMF: DTMFInfo, HangUpAfter: time.Second,
			Keys: []Key{{After: time.Second, Digit: '1'}, {Digit: '#'}}},
		{Caller: "1", CallerName: "x", Number: "800749049", DTMF: DTMFRFC2833,
			Keys: []Key{{After: time.Second, Digit: '*'}, {Digit: '9'}}},
		{Caller: "1", CallerName: "x", Number: "800749049", DTMF: DTMFInfo,
			Keys: []Key{{After: time.Second, Digit: '1'}, {After: time.Second, Audio: SpeechPcap}}},
	} {
		s := uacScenario(o)
		wellFormed(t, s)
		for _, k := range o.Keys {
			if k.Audio != "" {
				if !strings.Contains(s, `play_pcap_audio="`+k.Audio+`"`) {
					t.Errorf("no pcap for the audio %s", k.Audio)
				}
				if n := strings.Count(s, "play_pcap_audio="); o.DTMF == DTMFInfo && n != 1 {
					t.Errorf("%d pcaps played, want only the audio", n)
				}
				continue
			}
			if o.DTMF == DTMFInfo && !strings.Contains(s, "Signal="+string(k.Digit)) {
				t.Errorf("no INFO for %c", k.Digit)
			}
			if o.DTMF == DTMFRFC2833 && !strings.Contains(s, rfc2833Pcap(k.Digit)) {
				t.Errorf("no pcap for %c", k.Digit)
			}
		}
		if (o.HangUpAfter > 0) != strings.Contains(s, "BYE [next_url] SIP/2.0") {
			t.Errorf("%+v: BYE in the scenario does not match HangUpAfter", o)
		}
	}
}

// sectionBody is the text from header to the next section header.
func sectionBody(s, header string) string {
	i := strings.Index(s, "\n"+header+"\n")
	if i < 0 {
		return ""
	}
	rest := s[i+len(header)+1:]
	if j := strings.Index(rest, "\n["); j >= 0 {
		rest = rest[:j+1]
	}
	return rest
}

func TestPhoneScenarioIsXML(t *testing.T) {
	t.Parallel()
	for _, m := range []PhoneMode{PhoneAnswer, PhoneRing, PhoneReject} {
		s := uasScenario(PhoneOptions{Mode: m, AnswerAfter: time.Second})
		wellFormed(t, s)
		if (m == PhoneAnswer) != strings.Contains(s, "Content-Type: application/sdp") {
			t.Errorf("mode %d: an SDP answer only when the phone answers", m)
		}
	}
}

func wellFormed(t *testing.T, s string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	d.Strict = true
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("%v\n%s", err, s)
		}
	}
}

// TestExtraSoundsAreLinked: Options.Sounds adds its entries beside the
// core sounds of each language, and refuses to shadow one of them.
func TestExtraSoundsAreLinked(t *testing.T) {
	t.Parallel()
	requireCoreSounds(t)
	shipped := filepath.Join(repoRoot(t), "configs", "asterisk")
	extra := t.TempDir()
	if err := os.MkdirAll(filepath.Join(extra, "it", "helpdesk"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(extra, "it", "helpdesk", "menu-root.wav"), []byte("RIFF"), 0o644); err != nil {
		t.Fatal(err)
	}
	a := &Asterisk{Prefix: "/opt/ast", Dir: t.TempDir(), HTTPAddr: "127.0.0.1:18088", SIPAddr: "127.0.0.1:15060",
		User: "ivr", Password: "s3cret", App: "ivr", phones: map[string]string{}}
	if err := a.writeConfig(shipped, "", Options{Sounds: extra}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"helpdesk/menu-root.wav", "digits/1.wav"} {
		if _, err := os.Stat(filepath.Join(a.SoundsDir("it"), f)); err != nil {
			t.Errorf("sounds/it/%s: %v", f, err)
		}
	}
	if err := os.MkdirAll(filepath.Join(extra, "it", "digits"), 0o755); err != nil {
		t.Fatal(err)
	}
	b := &Asterisk{Prefix: "/opt/ast", Dir: t.TempDir(), HTTPAddr: a.HTTPAddr, SIPAddr: a.SIPAddr,
		User: "ivr", Password: "s3cret", App: "ivr", phones: map[string]string{}}
	if err := b.writeConfig(shipped, "", Options{Sounds: extra}); err == nil {
		t.Fatal("an extra digits/ over the core sounds' was accepted")
	}
}

// TestSetAndAppend: Options.Set changes an option of the copy and
// Options.Append adds text at a file's end; either refuses a file that is
// not in configs/asterisk.
func TestSetAndAppend(t *testing.T) {
	t.Parallel()
	requireCoreSounds(t)
	shipped := filepath.Join(repoRoot(t), "configs", "asterisk")
	a := &Asterisk{Prefix: "/opt/ast", Dir: t.TempDir(), HTTPAddr: "127.0.0.1:18088", SIPAddr: "127.0.0.1:15060",
		User: "ivr", Password: "s3cret", App: "ivr", phones: map[string]string{}}
	err := a.writeConfig(shipped, "", Options{Set: []Setting{{File: "rtp.conf", Section: "general", Key: "rtpend", Value: "39999"}},
		Append: map[string]string{"extensions.conf": "[bench]\nexten => s,1,Hangup()\n"}})
	if err != nil {
		t.Fatal(err)
	}
	rtp, err := os.ReadFile(filepath.Join(a.Dir, "etc", "rtp.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if body := sectionBody(string(rtp), "[general]"); !strings.Contains(body, "\nrtpend = 39999\n") || strings.Contains(body, "rtpend = 11999") {
		t.Errorf("rtp.conf's [general] after Set:%s", body)
	}
	ext, err := os.ReadFile(filepath.Join(a.Dir, "etc", "extensions.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(ext), "\n[bench]\nexten => s,1,Hangup()\n") || !strings.Contains(string(ext), "[from-pstn]") {
		t.Errorf("extensions.conf does not end with the appended text:\n%s", ext)
	}
	for _, o := range []Options{{Set: []Setting{{File: "nope.conf", Section: "general", Key: "k", Value: "v"}}},
		{Append: map[string]string{"nope.conf": "x"}}} {
		b := &Asterisk{Prefix: "/opt/ast", Dir: t.TempDir(), HTTPAddr: a.HTTPAddr, SIPAddr: a.SIPAddr,
			User: "ivr", Password: "s3cret", App: "ivr", phones: map[string]string{}}
		if err := b.writeConfig(shipped, "", o); err == nil {
			t.Errorf("%+v: a file not in configs/asterisk was accepted", o)
		}
	}
}

// requireCoreSounds fails (or skips, with IVR_SKIP_ASTERISK=1) without
// Debian's core sound packages.
func requireCoreSounds(t *testing.T) {
	t.Helper()
	for _, d := range coreSounds {
		if _, err := os.Stat(d); err != nil {
			if v := os.Getenv(SkipEnv); v != "" && v != "0" {
				t.Skipf("%s=%s: no core sounds in %s", SkipEnv, v, d)
			}
			t.Fatalf("no core sounds in %s: run scripts/install-asterisk.sh (as root)", d)
		}
	}
}

// TestOverlay: Options.Overlay's files replace the shipped ones before the
// loopback edits (configs/asterisk-kamailio, which has no [carrier-reg],
// still gets its loopback carrier), and a file that replaces nothing is
// refused.
func TestOverlay(t *testing.T) {
	t.Parallel()
	requireCoreSounds(t)
	root := repoRoot(t)
	shipped := filepath.Join(root, "configs", "asterisk")
	a := &Asterisk{Prefix: "/opt/ast", Dir: t.TempDir(), HTTPAddr: "127.0.0.1:18088", SIPAddr: "127.0.0.1:15060",
		User: "ivr", Password: "s3cret", App: "ivr", phones: map[string]string{}}
	if err := a.writeConfig(shipped, filepath.Join(root, "configs", "asterisk-kamailio"), Options{}); err != nil {
		t.Fatal(err)
	}
	pjsip, err := os.ReadFile(filepath.Join(a.Dir, "etc", "pjsip.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(pjsip), "\ncontact = sip:op201@kamailio\n") || strings.Contains(string(pjsip), "\n[carrier-reg]\n") {
		t.Errorf("pjsip.conf is not the variant's:\n%s", pjsip)
	}
	if body := sectionBody(string(pjsip), "[carrier-identify]"); !strings.Contains(body, "\nmatch = 127.0.0.1\n") {
		t.Errorf("the variant's [carrier-identify] lost the loopback edit:%s", body)
	}
	if ext, err := os.ReadFile(filepath.Join(a.Dir, "etc", "extensions.conf")); err != nil || !strings.Contains(string(ext), "[from-pstn]") {
		t.Errorf("extensions.conf, not in the overlay, is not the shipped one: %v", err)
	}
	stray := t.TempDir()
	if err := os.WriteFile(filepath.Join(stray, "nope.conf"), []byte("[x]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := &Asterisk{Prefix: "/opt/ast", Dir: t.TempDir(), HTTPAddr: a.HTTPAddr, SIPAddr: a.SIPAddr,
		User: "ivr", Password: "s3cret", App: "ivr", phones: map[string]string{}}
	if err := b.writeConfig(shipped, stray, Options{}); err == nil {
		t.Error("an overlay file that replaces nothing was accepted")
	}
}
