package mailin

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"path"
	"slices"
	"strings"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // ISO-8859-*, Windows-125x and the others, decoded to UTF-8
	"github.com/emersion/go-message/mail"
)

// Mail is a received message, as the help desk reads it.
type Mail struct {
	From      string // the author's bare address, lower case
	FromName  string
	Subject   string
	MessageID string   // with angle brackets; "" when the message had none
	Replies   []string // In-Reply-To then References, newest first, with angle brackets
	Language  string   // "it", "en" or "" (Content-Language)
	Text      string   // the body as plain text: text/plain, else the HTML reduced to text
	// Attachments are the files within the limits; Refused names the
	// others with the reason, for the ticket's message.
	Attachments []Attachment
	Refused     []string
	// Auto is why the message is automatic (an auto-reply, a bounce, a
	// list), "" for a person's mail.
	Auto string
}

// Attachment is a file of a mail.
type Attachment struct {
	Name        string
	ContentType string
	Data        []byte
}

// ErrMalformed is a message that cannot be read as e-mail: refused for
// good (SMTP 554), a retry would not change it.
var ErrMalformed = errors.New("malformed message")

// limits bound what Parse keeps.
type limits struct {
	attachmentBytes int64
	attachments     int
	types           []string
	textBytes       int
}

// maxParts bounds the parts Parse reads, nested ones included.
const maxParts = 200

// parse reads a MIME message: headers decoded (RFC 2047, any charset), the
// first text/plain part (else the first text/html, reduced to text), the
// other parts as attachments within lim.
func parse(r io.Reader, lim limits) (*Mail, error) {
	mr, err := mail.CreateReader(r)
	if err != nil && !message.IsUnknownCharset(err) {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	defer mr.Close()
	h := mr.Header
	m := &Mail{}
	from, err := h.AddressList("From")
	if err != nil || len(from) == 0 {
		return nil, fmt.Errorf("%w: no From address", ErrMalformed)
	}
	m.From, m.FromName = strings.ToLower(from[0].Address), from[0].Name
	m.Subject, _ = h.Subject()
	m.Subject = strings.Join(strings.Fields(m.Subject), " ")
	if id, err := h.MessageID(); err == nil && id != "" {
		m.MessageID = "<" + id + ">"
	}
	irt, _ := h.MsgIDList("In-Reply-To")
	refs, _ := h.MsgIDList("References")
	slices.Reverse(refs)
	for _, id := range append(irt, refs...) {
		if id = "<" + id + ">"; !slices.Contains(m.Replies, id) {
			m.Replies = append(m.Replies, id)
		}
	}
	m.Language = language(h.Get("Content-Language"))
	m.Auto = automatic(h.Header)

	var plain, html string
	var havePlain, haveHTML bool
	for n := 0; ; n++ {
		if n == maxParts {
			return nil, fmt.Errorf("%w: more than %d parts", ErrMalformed, maxParts)
		}
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !message.IsUnknownCharset(err) {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		ct = strings.ToLower(ct)
		if ct == "" {
			ct = "text/plain"
		}
		if ih, ok := p.Header.(*mail.InlineHeader); ok && (ct == "text/plain" || ct == "text/html") {
			if m.Language == "" {
				m.Language = language(ih.Get("Content-Language"))
			}
			b, err := io.ReadAll(io.LimitReader(p.Body, int64(lim.textBytes)+1))
			if err != nil && !message.IsUnknownCharset(err) {
				return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
			}
			switch {
			case ct == "text/plain" && !havePlain:
				plain, havePlain = string(b), true
				continue
			case ct == "text/html" && !haveHTML:
				html, haveHTML = string(b), true
				continue
			}
		}
		if ct == "message/delivery-status" || ct == "message/disposition-notification" {
			m.Auto = cmpStr(m.Auto, "report "+ct)
			continue
		}
		name := attachmentName(p.Header, ct)
		if len(m.Attachments) >= lim.attachments {
			m.Refused = append(m.Refused, fmt.Sprintf("%s: more than %d attachments", name, lim.attachments))
			continue
		}
		if reason := refusedType(name, ct, lim.types); reason != "" {
			m.Refused = append(m.Refused, name+": "+reason)
			continue
		}
		b, err := io.ReadAll(io.LimitReader(p.Body, lim.attachmentBytes+1))
		if err != nil && !message.IsUnknownCharset(err) {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		if int64(len(b)) > lim.attachmentBytes {
			m.Refused = append(m.Refused, fmt.Sprintf("%s: larger than %d bytes", name, lim.attachmentBytes))
			continue
		}
		m.Attachments = append(m.Attachments, Attachment{Name: name, ContentType: ct, Data: b})
	}
	switch {
	case havePlain && strings.TrimSpace(plain) != "":
		m.Text = plain
	case haveHTML:
		m.Text = htmlText(html)
	default:
		m.Text = plain
	}
	m.Text = cleanText(m.Text, lim.textBytes)
	return m, nil
}

// attachmentName is a part's file name, made safe to show and store: its
// last path element, printable, at most 200 bytes; a name from its type
// when it has none.
func attachmentName(h interface{ Get(string) string }, ct string) string {
	var name string
	if _, params, err := mime.ParseMediaType(h.Get("Content-Disposition")); err == nil {
		name = params["filename"]
	}
	if name == "" {
		if _, params, err := mime.ParseMediaType(h.Get("Content-Type")); err == nil {
			name = params["name"]
		}
	}
	if dec, err := new(mime.WordDecoder).DecodeHeader(name); err == nil {
		name = dec
	}
	return cleanName(name, ct)
}

// cleanName is attachmentName's work on a name already read: its last
// path element, printable, at most 200 bytes; a name from its type when
// nothing is left.
func cleanName(name, ct string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
	if name == "" || name == "." || name == "/" {
		name = "attachment"
		if exts, _ := mime.ExtensionsByType(ct); len(exts) > 0 {
			name += exts[0]
		}
	}
	if len(name) > 200 {
		name = name[len(name)-200:]
	}
	return name
}

// refusedType says why a part of type ct named name is not kept: its type
// is not one of types, or its name's extension says another type that is
// not (an .exe sent as application/pdf).
func refusedType(name, ct string, types []string) string {
	if ct == "application/octet-stream" {
		if byExt := mediaType(mime.TypeByExtension(path.Ext(name))); byExt != "" {
			ct = byExt
		}
	}
	if !slices.Contains(types, ct) {
		return "type " + ct + " not accepted"
	}
	if ext := strings.ToLower(path.Ext(name)); ext != "" {
		if byExt := mediaType(mime.TypeByExtension(ext)); byExt != "" && !slices.Contains(types, byExt) {
			return "extension " + ext + " not accepted"
		}
		if slices.Contains(dangerousExtensions, ext) {
			return "extension " + ext + " not accepted"
		}
	}
	return ""
}

// dangerousExtensions are refused whatever type they are sent as: the
// system's type table may not know them.
var dangerousExtensions = []string{".exe", ".com", ".bat", ".cmd", ".scr", ".js", ".vbs", ".msi", ".ps1", ".jar", ".lnk", ".hta"}

func mediaType(s string) string {
	t, _, _ := mime.ParseMediaType(s)
	return strings.ToLower(t)
}

// automatic says why a message with header h is automatic, "" if not:
// RFC 3834's Auto-Submitted, Precedence bulk, junk or list, and the
// headers of common auto-responders.
func automatic(h message.Header) string {
	if v := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); v != "" && !strings.HasPrefix(v, "no") {
		return "auto-submitted " + v
	}
	switch v := strings.ToLower(strings.TrimSpace(h.Get("Precedence"))); v {
	case "bulk", "junk", "list", "auto_reply":
		return "precedence " + v
	}
	for _, k := range []string{"X-Autoreply", "X-Autorespond", "List-Id"} {
		if h.Has(k) {
			return strings.ToLower(k)
		}
	}
	if t, params, _ := h.ContentType(); t == "multipart/report" {
		return "report " + params["report-type"]
	}
	return ""
}

func language(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	for _, l := range []string{"it", "en"} {
		if v == l || strings.HasPrefix(v, l+"-") || strings.HasPrefix(v, l+",") {
			return l
		}
	}
	return ""
}

// cleanText normalises line ends, drops control characters and trailing
// blank lines, and cuts the text at max bytes.
func cleanText(s string, max int) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	s = strings.Map(func(r rune) rune {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || r == '\uFFFD' {
			return -1
		}
		return r
	}, s)
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8Start(s[cut]) {
			cut--
		}
		s = s[:cut] + "\n[…]"
	}
	return strings.TrimSpace(s)
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

func cmpStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
