package panel

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/configstore"
)

// TestVersionReplay: an administrator replays the last days' calls under
// a version from its page: the replay gets the version's text and the
// period asked, and the page shows the summary, the kinds of change, the
// chart of load per group and the calls that differ; a period out of
// range is refused. (The replay itself, ivrd's, is tested in
// journal/replay; this is the page around it.)
func TestVersionReplay(t *testing.T) {
	t.Parallel()
	var gotSrc []byte
	var gotSince time.Time
	e := newEnv(t, func(o *Options) {
		o.Replay = func(ctx context.Context, src []byte, since time.Time) (*ReplayResult, error) {
			gotSrc, gotSince = src, since
			at := time.Date(2026, 11, 20, 10, 3, 0, 0, rome)
			return &ReplayResult{Calls: 120, Same: 117, Different: 3, Late: 1,
				Kinds: []ReplayKind{{"moved_group", 2}, {"now_after_hours", 1}},
				Diffs: []ReplayDiff{
					{At: at, Caller: "+393331234567", Kind: "moved_group", OldResult: "routed", OldGroup: "lotto2", OldPath: "1 2",
						NewResult: "routed", NewGroup: "lotto3", NewPath: "1 2"},
				},
				Load: []ReplayLoad{{"lotto2", 10, 5, 3}, {"lotto3", 10, 1, 3}, {"lotto2", 11, 2, 2}}}, nil
		}
	})
	store := configstore.New(e.pool, configstore.Options{Now: e.clk.Now})
	src := []byte("# a draft\n")
	v, err := store.SaveDraft(ctx, configstore.DraftChange{Source: src, By: "adm"})
	noErr(t, err)
	adm := e.login("adm")
	path := "/config/versions/" + itoa(v.ID)
	adm.get(path).has(t, `data-testid="replay-form"`)
	r := adm.post(path+"/replay", url.Values{"days": {"7"}})
	wantStatus(t, "replay", r, http.StatusOK)
	if string(gotSrc) != string(src) || !gotSince.Equal(e.clk.Now().AddDate(0, 0, -7)) {
		t.Fatalf("replayed %q since %v", gotSrc, gotSince)
	}
	r.has(t, `data-testid="replay-summary">120 chiamate dal `, `117 finiscono allo stesso modo, 3 diversamente.`,
		`<li data-kind="moved_group">passa a un altro gruppo: 2</li>`,
		// lotto2 7 → 5, lotto3 1 → 3: the longest bar (7) is 200 wide.
		`data-group="lotto2" data-old="7" data-new="5"`, `data-group="lotto3" data-old="1" data-new="3"`,
		`<rect x="110" y="2" height="8" width="200"`,
		`<tr data-kind="moved_group">`, `routed → lotto2 (1 2)`, `routed → lotto3 (1 2)`,
		`Le prime 1 delle 3 chiamate`)
	for _, days := range []string{"0", "32", "sette"} {
		wantStatus(t, "days "+days, adm.post(path+"/replay", url.Values{"days": {days}}), http.StatusBadRequest)
	}
}
