package mailin

import (
	"strings"
	"testing"
)

var testLimits = limits{attachmentBytes: 1 << 20, attachments: 10, types: DefaultAttachmentTypes, textBytes: 100_000}

func crlf(s string) string { return strings.ReplaceAll(strings.TrimPrefix(s, "\n"), "\n", "\r\n") }

// TestParse reads real MIME shapes: encodings, charsets, the text part
// chosen over the HTML one, HTML reduced to text, automatic mail told.
func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		msg      string
		text     []string // substrings of the text
		notText  []string
		subject  string
		auto     bool
		lang     string
		files    []string
		refused  []string
		replies  []string
		fromName string
	}{
		{name: "plain utf-8", msg: `
From: "Mario Rossi" <Mario.Rossi@Example.org>
To: help@helpdesk.test
Subject: Stampante
Message-ID: <a1@example.org>
Content-Type: text/plain; charset=utf-8

La stampante è guasta.
`, text: []string{"La stampante è guasta."}, subject: "Stampante", fromName: "Mario Rossi"},
		{name: "quoted-printable latin-1, encoded subject", msg: `
From: mario@example.org
Subject: =?ISO-8859-1?Q?Citt=E0_e_perch=E9?=
Content-Language: en-GB
Content-Type: text/plain; charset=ISO-8859-1
Content-Transfer-Encoding: quoted-printable

Perch=E9 la citt=E0 non risponde? Una riga molto lunga che va a capo con =
un soft break.
`, text: []string{"Perché la città non risponde?", "va a capo con un soft break."}, subject: "Città e perché", lang: "en"},
		{name: "alternative prefers text", msg: `
From: mario@example.org
Subject: alt
In-Reply-To: <ticket.2025112200174@helpdesk.test>
References: <first@x> <ticket.2025112200174@helpdesk.test>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

VGVzdG8gaW4gY2hpYXJvOiDDqCB0dXR0byBvaw==
--b1
Content-Type: text/html; charset=utf-8

<p>HTML <b>version</b></p>
--b1--
`, text: []string{"Testo in chiaro: è tutto ok"}, notText: []string{"HTML"},
			replies: []string{"<ticket.2025112200174@helpdesk.test>", "<first@x>"}},
		{name: "html only, reduced to safe text", msg: `
From: mario@example.org
Subject: html
Content-Type: text/html; charset=windows-1252

<html><head><title>t</title><style>p{color:red}</style></head><body>
<p>Buongiorno,&nbsp;il <b>server</b> &egrave; gi&ugrave;.</p><script>alert('x')</script>
<div>Vedi <a href="https://status.example.org/x">la pagina</a></div><ul><li>uno</li><li>due</li></ul>
<img src="x" onerror="alert(1)"></body></html>
`, text: []string{"il server è giù.", "la pagina <https://status.example.org/x>", "- uno\n- due"},
			notText: []string{"alert", "<p>", "color:red", "onerror", "<b>"}},
		{name: "attachments within limits, others refused", msg: `
From: mario@example.org
Subject: files
Content-Type: multipart/mixed; boundary="m"

--m
Content-Type: text/plain

see attached
--m
Content-Type: application/pdf; name="report.pdf"
Content-Disposition: attachment; filename="../../etc/report.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQKJcfsj6IK
--m
Content-Type: application/pdf
Content-Disposition: attachment; filename="invoice.pdf.exe"
Content-Transfer-Encoding: base64

TVqQAAMAAAAEAAAA
--m
Content-Type: application/x-msdownload
Content-Disposition: attachment; filename="tool.bin"

xx
--m--
`, text: []string{"see attached"}, files: []string{"report.pdf"}, refused: []string{"invoice.pdf.exe: extension .exe", "tool.bin: type application/x-msdownload"}},
		{name: "auto-reply", msg: `
From: mario@example.org
Subject: Out of office
Auto-Submitted: auto-replied

away
`, auto: true},
		{name: "bulk", msg: `
From: news@example.org
Subject: news
Precedence: bulk

news
`, auto: true},
		{name: "delivery report", msg: `
From: MAILER-DAEMON@example.org
Subject: Undelivered Mail
Content-Type: multipart/report; report-type=delivery-status; boundary="r"

--r
Content-Type: text/plain

could not deliver
--r
Content-Type: message/delivery-status

Final-Recipient: rfc822; x@example.org
--r--
`, auto: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := parse(strings.NewReader(crlf(tc.msg)), testLimits)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tc.text {
				if !strings.Contains(m.Text, s) {
					t.Errorf("text lacks %q:\n%s", s, m.Text)
				}
			}
			for _, s := range tc.notText {
				if strings.Contains(m.Text, s) {
					t.Errorf("text has %q:\n%s", s, m.Text)
				}
			}
			if tc.subject != "" && m.Subject != tc.subject {
				t.Errorf("subject %q, want %q", m.Subject, tc.subject)
			}
			if (m.Auto != "") != tc.auto {
				t.Errorf("auto %q, want %v", m.Auto, tc.auto)
			}
			if m.Language != tc.lang {
				t.Errorf("language %q, want %q", m.Language, tc.lang)
			}
			if tc.fromName != "" && (m.FromName != tc.fromName || m.From != "mario.rossi@example.org") {
				t.Errorf("from %q <%s>", m.FromName, m.From)
			}
			var files []string
			for _, a := range m.Attachments {
				files = append(files, a.Name)
			}
			if strings.Join(files, ",") != strings.Join(tc.files, ",") {
				t.Errorf("attachments %v, want %v", files, tc.files)
			}
			if len(m.Refused) != len(tc.refused) {
				t.Errorf("refused %q, want %q", m.Refused, tc.refused)
			}
			for i, r := range tc.refused {
				if i < len(m.Refused) && !strings.HasPrefix(m.Refused[i], r) {
					t.Errorf("refused[%d] %q, want %q…", i, m.Refused[i], r)
				}
			}
			if tc.replies != nil && strings.Join(m.Replies, " ") != strings.Join(tc.replies, " ") {
				t.Errorf("replies %q, want %q", m.Replies, tc.replies)
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	t.Parallel()
	for _, msg := range []string{"no header at all", "Subject: x\r\n\r\nno From\r\n"} {
		if _, err := parse(strings.NewReader(msg), testLimits); err == nil {
			t.Errorf("%q parsed", msg)
		}
	}
}

// FuzzParse: no message makes the parser panic or keep more than its
// limits, and no markup survives in an HTML body's text.
func FuzzParse(f *testing.F) {
	f.Add(crlf("From: a@b.c\nContent-Type: text/html\n\n<p>x<script>y</script></p>\n"))
	f.Add(crlf("From: a@b.c\nContent-Type: multipart/mixed; boundary=q\n\n--q\nContent-Type: text/plain\n\nx\n--q--\n"))
	lim := limits{attachmentBytes: 64, attachments: 2, types: DefaultAttachmentTypes, textBytes: 256}
	f.Fuzz(func(t *testing.T, msg string) {
		m, err := parse(strings.NewReader(msg), lim)
		if err != nil {
			return
		}
		if len(m.Attachments) > 2 || len(m.Text) > 256+len("\n[…]") {
			t.Fatalf("limits passed: %d attachments, %d bytes of text", len(m.Attachments), len(m.Text))
		}
		for _, a := range m.Attachments {
			if len(a.Data) > 64 || strings.ContainsAny(a.Name, "/\\") {
				t.Fatalf("attachment %q of %d bytes", a.Name, len(a.Data))
			}
		}
	})
}

func TestHTMLText(t *testing.T) {
	t.Parallel()
	got := htmlText(`<p>a &lt;b&gt; &amp; c</p><p><script>evil()</script>d</p>`)
	if got != "a <b> & c\nd" {
		t.Errorf("htmlText = %q", got)
	}
}

func TestParseListen(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"lmtp::2424": "lmtp 127.0.0.1:2424", "smtp:0.0.0.0:25": "smtp 0.0.0.0:25",
		"lmtp:[::1]:24": "lmtp [::1]:24", "http::80": "", "lmtp": ""} {
		p, addr, err := ParseListen(in)
		got := string(p) + " " + addr
		if err != nil {
			got = ""
		}
		if got != want {
			t.Errorf("ParseListen(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
