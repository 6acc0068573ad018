package notify

import (
	"bytes"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"slices"
	"strings"
	"time"
)

// message is an e-mail to build.
type message struct {
	From      string
	To        []string
	Subject   string
	Date      time.Time
	MessageID string
	// References are the thread's earlier messages, oldest first; the last
	// is the one this message answers (In-Reply-To). The message's own id
	// is left out.
	References []string
	Body       string // UTF-8 text
	// AutoSubmitted is the Auto-Submitted header (RFC 3834), "" for a
	// message a person wrote (a public message of the ticket).
	AutoSubmitted string
}

// buildMessage returns m as an RFC 5322 message: UTF-8 headers encoded as
// RFC 2047, a quoted-printable text body, CRLF line ends.
// Without From the header is left out: the Sender, which always has one,
// adds its own (withFrom), so that notices queued before any mail server
// was configured go out once one is.
func buildMessage(m message) ([]byte, error) {
	var from *mail.Address
	if m.From != "" {
		var err error
		if from, err = mail.ParseAddress(m.From); err != nil {
			return nil, fmt.Errorf("from: %w", err)
		}
	}
	to := make([]string, len(m.To))
	for i, a := range m.To {
		addr, err := mail.ParseAddress(a)
		if err != nil {
			return nil, fmt.Errorf("to %q: %w", a, err)
		}
		to[i] = addr.String()
	}
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	if from != nil {
		h("From", from.String())
	}
	h("To", strings.Join(to, ", "))
	h("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	h("Date", m.Date.Format(time.RFC1123Z))
	h("Message-ID", m.MessageID)
	var refs []string
	for _, r := range m.References {
		if r != "" && r != m.MessageID && !slices.Contains(refs, r) {
			refs = append(refs, r)
		}
	}
	if len(refs) > 0 {
		h("In-Reply-To", refs[len(refs)-1])
		h("References", strings.Join(refs, " "))
	}
	if m.AutoSubmitted != "" {
		h("Auto-Submitted", m.AutoSubmitted)
	}
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	w := quotedprintable.NewWriter(&b)
	body := strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n")
	if _, err := w.Write([]byte(body)); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// parseAddress returns the bare address of an address with or without a
// display name.
func parseAddress(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", err
	}
	return a.Address, nil
}

// withFrom returns msg with a From header of from if its header has none.
func withFrom(msg []byte, from string) []byte {
	head, _, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
	for _, line := range bytes.Split(head, []byte("\r\n")) {
		if len(line) > 5 && strings.EqualFold(string(line[:5]), "from:") {
			return msg
		}
	}
	return append([]byte("From: "+from+"\r\n"), msg...)
}
