package realasterisk

import (
	"bytes"
	"encoding/json"
	"io"
	"sync"
	"time"
)

// Trace writes one JSON line per request, response, WebSocket event and
// note, in the order the client saw them, in the format of
// ivr/arisim/testdata/ari-traces (README.md there). A nil *Trace writes
// nothing.
type Trace struct {
	mu  sync.Mutex
	w   io.Writer
	seq int
	err error
	now func() time.Time
}

// NewTrace writes to w.
func NewTrace(w io.Writer) *Trace { return &Trace{w: w, now: time.Now} }

// Err is the first write error, if any.
func (tr *Trace) Err() error {
	if tr == nil {
		return nil
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.err
}

// Note writes a client remark.
func (tr *Trace) Note(note string) {
	tr.write(traceLine{Dir: "meta", Kind: "note", Note: note})
}

// traceLine: the field order is the recorded files' order.
type traceLine struct {
	Seq        int               `json:"seq"`
	TS         string            `json:"ts"`
	Dir        string            `json:"dir"`
	Kind       string            `json:"kind"`
	Event      json.RawMessage   `json:"event,omitempty"`
	Method     string            `json:"method,omitempty"`
	Path       string            `json:"path,omitempty"`
	Query      string            `json:"query,omitempty"`
	RequestSeq int               `json:"request_seq,omitempty"`
	Status     int               `json:"status,omitempty"`
	StatusText string            `json:"status_text,omitempty"`
	Headers    map[string]string `json:"headers,omitempty"`
	BodyLen    *int              `json:"body_len,omitempty"`
	Body       json.RawMessage   `json:"body,omitempty"`
	BodyText   string            `json:"body_text,omitempty"`
	ElapsedMS  float64           `json:"elapsed_ms,omitempty"`
	Note       string            `json:"note,omitempty"`
}

// write numbers and stamps l under the lock, so lines keep arrival order,
// and returns its seq.
func (tr *Trace) write(l traceLine) int {
	if tr == nil {
		return 0
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.seq++
	l.Seq = tr.seq
	l.TS = tr.now().UTC().Format(time.RFC3339Nano)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Bodies and events stay as Asterisk sent them (no \u003c escapes).
	enc.SetEscapeHTML(false)
	if err := enc.Encode(l); err != nil {
		tr.err = err
		return l.Seq
	}
	if _, err := tr.w.Write(buf.Bytes()); err != nil && tr.err == nil {
		tr.err = err
	}
	return l.Seq
}
