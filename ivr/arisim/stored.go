package arisim

import "sync"

// Recordings are stored recordings, Asterisk's recording spool
// (/var/spool/asterisk/recording). Servers given the same Recordings
// (Options.Recordings) share them as Asterisks sharing that directory
// would: a recording made on one is listed, played and served by the
// others, and outlives the Server that made it.
type Recordings struct {
	mu sync.Mutex
	m  map[string]*storedRec
}

// NewRecordings returns an empty spool.
func NewRecordings() *Recordings { return &Recordings{m: map[string]*storedRec{}} }

// get returns a copy of the recording called name.
func (r *Recordings) get(name string) (storedRec, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.m[name]
	if rec == nil {
		return storedRec{}, false
	}
	cp := *rec
	cp.talk = append([]interval(nil), rec.talk...)
	return cp, true
}

func (r *Recordings) has(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m[name] != nil
}

// put stores rec, or appends its sound to the recording of that name
// (ifExists=append).
func (r *Recordings) put(rec storedRec, appendTo bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.m[rec.name]
	if old == nil || !appendTo {
		r.m[rec.name] = &rec
		return
	}
	for _, iv := range rec.talk {
		old.talk = append(old.talk, interval{iv.from.Add(old.dur), iv.to.Add(old.dur)})
	}
	old.dur += rec.dur
}

// copyTo copies src to dst; false if src is missing or dst exists.
func (r *Recordings) copyTo(src, dst string) (storedRec, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.m[src]
	if s == nil || r.m[dst] != nil {
		return storedRec{}, false
	}
	cp := *s
	cp.name = dst
	cp.talk = append([]interval(nil), s.talk...)
	r.m[dst] = &cp
	return cp, true
}

func (r *Recordings) remove(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m[name] == nil {
		return false
	}
	delete(r.m, name)
	return true
}

// list returns the recordings sorted by name.
func (r *Recordings) list() []storedRec {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]storedRec, 0, len(r.m))
	for _, name := range sortedKeys(r.m) {
		out = append(out, *r.m[name])
	}
	return out
}
