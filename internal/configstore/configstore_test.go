package configstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m, Migrate) }

var ctx = context.Background()

func newStore(t *testing.T, o Options) *Store {
	t.Helper()
	// A channel per test: notifications cross schemas of one database.
	o.Channel = fmt.Sprintf("ivr_config_test_%d", time.Now().UnixNano())
	return New(pgtest.Pool(t), o)
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if fault.Code(err) != code {
		t.Fatalf("%s: error %v, want code %s", what, err, code)
	}
}

// Drafts are never in force; a publication is, until the next one; a
// published version is never changed; a rollback is a new publication of
// the old text, recorded as such.
func TestDraftsPublishRollback(t *testing.T) {
	t.Parallel()
	s := newStore(t, Options{})
	_, err := s.InForce(ctx)
	wantCode(t, "nothing published", err, fault.ENOTFOUND)

	v1, created, err := s.Bootstrap(ctx, Publication{Source: []byte("one"), Note: "from the file", By: "ivrd"})
	noErr(t, err)
	if !created || v1.State != Published {
		t.Fatalf("bootstrap: %+v created %v", v1, created)
	}
	again, created, err := s.Bootstrap(ctx, Publication{Source: []byte("other file"), By: "ivrd"})
	noErr(t, err)
	if created || again.ID != v1.ID || string(again.Source) != "one" {
		t.Fatalf("a second bootstrap: %+v created %v", again, created)
	}

	d, err := s.SaveDraft(ctx, DraftChange{Source: []byte("two draft"), Note: "wip", By: "adm"})
	noErr(t, err)
	d, err = s.SaveDraft(ctx, DraftChange{ID: d.ID, Source: []byte("two"), Note: "lotto 2 renamed", By: "adm"})
	noErr(t, err)
	if d.State != Draft || d.Size != 3 {
		t.Fatalf("draft: %+v", d)
	}
	cur, err := s.InForce(ctx)
	noErr(t, err)
	if cur.ID != v1.ID {
		t.Fatalf("a draft is in force: %d", cur.ID)
	}
	// Published under the text it was validated with only.
	_, err = s.Publish(ctx, Publication{DraftID: d.ID, Source: []byte("two draft"), By: "adm"})
	wantCode(t, "publish a changed draft", err, fault.ECONFLICT)
	v2, err := s.Publish(ctx, Publication{DraftID: d.ID, Source: []byte("two"), By: "adm2"})
	noErr(t, err)
	if v2.ID != d.ID || v2.State != Published || v2.PublishedBy != "adm2" || v2.Note != "lotto 2 renamed" {
		t.Fatalf("published draft: %+v", v2)
	}
	_, err = s.SaveDraft(ctx, DraftChange{ID: v2.ID, Source: []byte("three"), By: "adm"})
	wantCode(t, "change a published version", err, fault.ECONFLICT)
	wantCode(t, "delete a published version", s.DeleteDraft(ctx, v2.ID), fault.ECONFLICT)
	_, err = s.Publish(ctx, Publication{DraftID: v2.ID, Source: []byte("two"), By: "adm"})
	wantCode(t, "publish twice", err, fault.ECONFLICT)

	// A draft made before v2, published after it, is in force.
	old, err := s.SaveDraft(ctx, DraftChange{Source: []byte("three"), By: "adm"})
	noErr(t, err)
	v3, err := s.Publish(ctx, Publication{DraftID: old.ID, Source: []byte("three"), By: "adm"})
	noErr(t, err)
	cur, err = s.InForce(ctx)
	noErr(t, err)
	if cur.ID != v3.ID || string(cur.Source) != "three" {
		t.Fatalf("in force: %d %q", cur.ID, cur.Source)
	}

	back, err := s.Publish(ctx, Publication{Source: v1.Source, RollbackOf: v1.ID, Note: "back", By: "adm"})
	noErr(t, err)
	cur, err = s.InForce(ctx)
	noErr(t, err)
	if cur.ID != back.ID || cur.ID == v1.ID || cur.RollbackOf != v1.ID || string(cur.Source) != "one" {
		t.Fatalf("after the rollback: %+v", cur)
	}

	sum := sha256.Sum256([]byte("one"))
	byDigest, err := s.FindBySHA256(ctx, hex.EncodeToString(sum[:]))
	noErr(t, err)
	if byDigest.ID != back.ID || string(byDigest.Source) != "one" {
		t.Fatalf("by digest: %d %q, want the rollback %d", byDigest.ID, byDigest.Source, back.ID)
	}
	_, err = s.FindBySHA256(ctx, digest([]byte("never published")))
	wantCode(t, "an unknown digest", err, fault.ENOTFOUND)

	list, err := s.List(ctx, Filter{})
	noErr(t, err)
	var ids []int64
	for _, v := range list {
		ids = append(ids, v.ID)
	}
	if want := []int64{back.ID, v3.ID, v2.ID, v1.ID}; fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Fatalf("history %v, want %v (newest publication first)", ids, want)
	}
	drafts, err := s.List(ctx, Filter{State: Draft})
	noErr(t, err)
	if len(drafts) != 0 {
		t.Fatalf("drafts left: %+v", drafts)
	}
	d4, err := s.SaveDraft(ctx, DraftChange{Source: []byte("four"), By: "adm"})
	noErr(t, err)
	noErr(t, s.DeleteDraft(ctx, d4.ID))
	_, err = s.Find(ctx, d4.ID)
	wantCode(t, "a deleted draft", err, fault.ENOTFOUND)
	_, err = s.SaveDraft(ctx, DraftChange{Source: nil, By: "adm"})
	wantCode(t, "an empty draft", err, fault.EINVALID)
}

// Two watchers (two ivrd) apply each publication, woken by its
// notification: the poll is an hour, longer than the test may wait.
func TestWatchAppliesEveryPublication(t *testing.T) {
	t.Parallel()
	s := newStore(t, Options{Poll: time.Hour})
	v1, _, err := s.Bootstrap(ctx, Publication{Source: []byte("one"), By: "ivrd"})
	noErr(t, err)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var applied [2]atomic.Int64
	refused := atomic.Bool{}
	for i := range applied {
		applied[i].Store(v1.ID)
		go s.Watch(wctx, v1.ID, func(v Version) error {
			if string(v.Source) == "refused" && i == 1 {
				refused.Store(true)
				return fmt.Errorf("queues refuse it")
			}
			applied[i].Store(v.ID)
			return nil
		})
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 20 s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// The watchers listen before the publication, or read it when they
	// start listening: either way they apply it.
	v2, err := s.Publish(ctx, Publication{Source: []byte("two"), By: "adm"})
	noErr(t, err)
	waitFor("both apply v2", func() bool { return applied[0].Load() == v2.ID && applied[1].Load() == v2.ID })
	v3, err := s.Publish(ctx, Publication{Source: []byte("refused"), By: "adm"})
	noErr(t, err)
	waitFor("the first applies v3, the second refuses it", func() bool { return applied[0].Load() == v3.ID && refused.Load() })
	if applied[1].Load() != v2.ID {
		t.Fatalf("the second watcher applied %d after refusing", applied[1].Load())
	}
	v4, err := s.Publish(ctx, Publication{Source: []byte("four"), RollbackOf: v2.ID, By: "adm"})
	noErr(t, err)
	waitFor("both apply v4", func() bool { return applied[0].Load() == v4.ID && applied[1].Load() == v4.ID })
}

// Without notifications (another channel), the poll finds the version.
func TestWatchPolls(t *testing.T) {
	t.Parallel()
	s := newStore(t, Options{Poll: 50 * time.Millisecond})
	deaf := New(s.pool, Options{Channel: s.o.Channel + "_other", Poll: 50 * time.Millisecond})
	v1, _, err := s.Bootstrap(ctx, Publication{Source: []byte("one"), By: "ivrd"})
	noErr(t, err)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	got := make(chan int64, 4)
	go deaf.Watch(wctx, v1.ID, func(v Version) error { got <- v.ID; return nil })
	v2, err := s.Publish(ctx, Publication{Source: []byte("two"), By: "adm"})
	noErr(t, err)
	select {
	case id := <-got:
		if id != v2.ID {
			t.Fatalf("applied %d, want %d", id, v2.ID)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the poll did not apply the publication")
	}
}
