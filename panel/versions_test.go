package panel

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/helpdesk-ivr/ivr/internal/configstore"
	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/menu"
)

// versionEnv is a panel whose Publish validates and records as ivrd does
// (the store is the real one), counting the publications; inForce is
// what this "instance" applied.
type versionEnv struct {
	*env
	store     *configstore.Store
	published atomic.Int32
	inForce   atomic.Int64
	src       []byte
}

func newVersionEnv(t *testing.T, publish bool) *versionEnv {
	t.Helper()
	src, err := os.ReadFile("../configs/helpdesk.yaml")
	noErr(t, err)
	ve := &versionEnv{src: src}
	ve.env = newEnv(t, func(o *Options) {
		ve.store = o.Versions
		o.ConfigVersion = ve.inForce.Load
		o.DraftPhone = "/testphone"
		if publish {
			o.Publish = func(ctx context.Context, p configstore.Publication) (configstore.Version, error) {
				if _, err := menu.Parse("helpdesk.yaml", p.Source); err != nil {
					return configstore.Version{}, fault.Errorf(fault.EINVALID, "%s", err.Error())
				}
				v, err := ve.store.Publish(ctx, p)
				if err == nil {
					ve.published.Add(1)
					ve.inForce.Store(v.ID)
				}
				return v, err
			}
		}
	})
	return ve
}

var draftLocation = regexp.MustCompile(`^/config/versions/(\d+)\?msg=draft_saved$`)

// newDraft posts a new draft and returns its id.
func (ve *versionEnv) newDraft(t *testing.T, c *client, src []byte, note string) string {
	t.Helper()
	r := c.post("/config/versions", url.Values{"source": {string(src)}, "note": {note}})
	wantStatus(t, "new draft", r, http.StatusSeeOther)
	m := draftLocation.FindStringSubmatch(r.header.Get("Location"))
	if m == nil {
		t.Fatalf("new draft: Location %q", r.header.Get("Location"))
	}
	return m[1]
}

// lineOf is the 1-based line of src holding s.
func lineOf(t *testing.T, src []byte, s string) int {
	t.Helper()
	i := bytes.Index(src, []byte(s))
	if i < 0 {
		t.Fatalf("%q not in the source", s)
	}
	return bytes.Count(src[:i], []byte("\n")) + 1
}

// A draft is validated with its problems beside their lines, saved,
// never in force until published; publishing an invalid text is refused;
// a publication and a rollback are recorded (history, audit log) and
// put in force through Options.Publish.
func TestVersionsDraftValidatePublishRollback(t *testing.T) {
	t.Parallel()
	ve := newVersionEnv(t, true)
	adm := ve.login("adm")
	v1, err := ve.store.Publish(ctx, configstore.Publication{Source: ve.src, By: "ivrd", Note: "brought in"})
	noErr(t, err)
	ve.inForce.Store(v1.ID)

	// A new empty draft starts from the version in force.
	id := ve.newDraft(t, adm, nil, "lotto 2")
	page := adm.get("/config/versions/" + id)
	wantStatus(t, "draft page", page, http.StatusOK)
	page.has(t, `data-testid="draft-source"`, "Lotto 2 – Area Nord", `href="/testphone?draft=`+id+`"`)

	bad := bytes.Replace(ve.src, []byte(`"Lotto 2 – Area Nord"`), []byte(`"Lotto 2 – Nord"`), 1)
	bad = bytes.Replace(bad, []byte("  schedule: "), []byte("  schedul: "), 1)
	badLine := lineOf(t, bad, "  schedul: ")
	r := adm.post("/config/versions/"+id, url.Values{"action": {"validate"}, "source": {string(bad)}, "note": {"lotto 2"}})
	wantStatus(t, "validate a bad draft", r, http.StatusUnprocessableEntity)
	r.has(t, `data-testid="validation-problems"`,
		fmt.Sprintf(`id="L%d" class="problem" data-testid="problem-line" data-line="%d"`, badLine, badLine),
		fmt.Sprintf("helpdesk.yaml:%d:", badLine))
	if n := strings.Count(r.body, `data-testid="problem-line"`); n != 1 {
		t.Fatalf("%d lines marked, want the one with the problem", n)
	}
	// The problem's message sits in the marked line's item.
	item := regexp.MustCompile(fmt.Sprintf(`(?s)<li value="%d" id="L%d"[^>]*>.*?</li>`, badLine, badLine)).FindString(r.body)
	if !strings.Contains(item, `data-testid="problem-msg"`) || !strings.Contains(item, "schedul") {
		t.Fatalf("line %d of the listing: %s", badLine, item)
	}
	// Publishing it is refused and changes nothing.
	r = adm.post("/config/versions/"+id, url.Values{"action": {"publish"}, "source": {string(bad)}})
	wantStatus(t, "publish a bad draft", r, http.StatusUnprocessableEntity)
	r.has(t, `data-testid="problem-line"`)
	if ve.published.Load() != 0 {
		t.Fatal("an invalid draft was published")
	}

	good := bytes.Replace(ve.src, []byte(`"Lotto 2 – Area Nord"`), []byte(`"Lotto 2 – Nord"`), 1)
	r = adm.post("/config/versions/"+id, url.Values{"action": {"validate"}, "source": {string(good)}})
	wantStatus(t, "validate", r, http.StatusOK)
	r.has(t, `data-testid="validation-ok"`)
	r.hasNot(t, `data-testid="problem-line"`)
	wantStatus(t, "save", adm.post("/config/versions/"+id, url.Values{"action": {"save"}, "source": {string(good)}, "note": {"lotto 2 renamed"}}), http.StatusSeeOther)
	// Saved, and not in force.
	cur, err := ve.store.InForce(ctx)
	noErr(t, err)
	if cur.ID != v1.ID || ve.published.Load() != 0 {
		t.Fatalf("a saved draft is in force: %d", cur.ID)
	}
	list := adm.get("/config/versions")
	list.has(t, `data-testid="draft-row" data-id="`+id+`"`, "lotto 2 renamed", fmt.Sprintf(`data-testid="version-in-force" data-version="%d"`, v1.ID))

	// As a browser sends a textarea: lines ended by CRLF, kept as the
	// file's LF.
	crlf := strings.ReplaceAll(string(good), "\n", "\r\n")
	r = adm.post("/config/versions/"+id, url.Values{"action": {"publish"}, "source": {crlf}, "note": {"lotto 2 renamed"}})
	wantStatus(t, "publish", r, http.StatusSeeOther)
	cur, err = ve.store.InForce(ctx)
	noErr(t, err)
	if fmt.Sprint(cur.ID) != id || !bytes.Equal(cur.Source, good) || cur.PublishedBy != "adm" || ve.published.Load() != 1 {
		t.Fatalf("after publishing: in force %d by %q", cur.ID, cur.PublishedBy)
	}
	// Published versions are kept as they were.
	r = adm.post("/config/versions/"+id, url.Values{"action": {"save"}, "source": {"x: 1"}})
	wantStatus(t, "change a published version", r, http.StatusConflict)

	list = adm.get("/config/versions")
	list.has(t, `data-testid="history-row" data-id="`+id+`" data-in-force="true"`)
	list.hasNot(t, `data-testid="draft-row"`)
	// Roll back to the first version: a new version with its text.
	wantStatus(t, "rollback", adm.post(fmt.Sprintf("/config/versions/%d/rollback", v1.ID), nil), http.StatusSeeOther)
	cur, err = ve.store.InForce(ctx)
	noErr(t, err)
	if cur.RollbackOf != v1.ID || cur.ID == v1.ID || !bytes.Equal(cur.Source, ve.src) || ve.inForce.Load() != cur.ID {
		t.Fatalf("after the rollback: %+v", cur)
	}
	wantStatus(t, "roll back to a draft", adm.post(fmt.Sprintf("/config/versions/%s/rollback", ve.newDraft(t, adm, good, "")), nil), http.StatusConflict)

	var actions []string
	rows, err := ve.pool.Query(ctx, `SELECT action || ' ' || target FROM audit_log WHERE action LIKE 'config.%' ORDER BY id`)
	noErr(t, err)
	for rows.Next() {
		var a string
		noErr(t, rows.Scan(&a))
		actions = append(actions, a)
	}
	noErr(t, rows.Err())
	want := fmt.Sprintf("[config.draft config:%s config.draft config:%s config.publish config:%s config.rollback config:%d", id, id, id, cur.ID)
	if got := fmt.Sprint(actions); !strings.HasPrefix(got, want) {
		t.Fatalf("audit log %s, want %s ...", got, want)
	}
}

// Operators and supervisors neither see nor post versions; a POST
// without the session's token or from another site changes nothing.
func TestVersionsRolesAndCSRF(t *testing.T) {
	t.Parallel()
	ve := newVersionEnv(t, true)
	v1, err := ve.store.Publish(ctx, configstore.Publication{Source: ve.src, By: "ivrd"})
	noErr(t, err)
	d, err := ve.store.SaveDraft(ctx, configstore.DraftChange{Source: ve.src, By: "adm"})
	noErr(t, err)
	draft := fmt.Sprint(d.ID)
	for _, login := range []string{"op2", "sup"} {
		c := ve.login(login)
		for _, path := range []string{"/config/versions", "/config/versions/" + draft} {
			wantStatus(t, login+" GET "+path, c.get(path), http.StatusForbidden)
		}
		for _, p := range []struct {
			path string
			form url.Values
		}{
			{"/config/versions", url.Values{"source": {string(ve.src)}}},
			{"/config/versions/" + draft, url.Values{"action": {"publish"}, "source": {string(ve.src)}}},
			{"/config/versions/" + draft, url.Values{"action": {"delete"}}},
			{fmt.Sprintf("/config/versions/%d/rollback", v1.ID), nil},
		} {
			wantStatus(t, login+" POST "+p.path, c.post(p.path, p.form), http.StatusForbidden)
		}
		c.get("/").hasNot(t, "/config/versions")
	}
	adm := ve.login("adm")
	for _, headers := range [][]string{nil, {"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}} {
		form := url.Values{"action": {"publish"}, "source": {string(ve.src)}}
		if headers == nil {
			form.Set("csrf", "") // no token
		}
		wantStatus(t, fmt.Sprintf("POST with %v", headers), adm.post("/config/versions/"+draft, form, headers...), http.StatusForbidden)
		wantStatus(t, "rollback", adm.post(fmt.Sprintf("/config/versions/%d/rollback", v1.ID), url.Values{"csrf": {""}}, headers...), http.StatusForbidden)
	}
	if ve.published.Load() != 0 {
		t.Fatal("a refused POST published")
	}
	list, err := ve.store.List(ctx, configstore.Filter{})
	noErr(t, err)
	if len(list) != 2 {
		t.Fatalf("%d versions after refused POSTs, want 2", len(list))
	}
}

// Without Options.Publish (the file is the source of truth), drafts are
// validated and kept, but neither published nor rolled back to.
func TestVersionsFileSource(t *testing.T) {
	t.Parallel()
	ve := newVersionEnv(t, false)
	adm := ve.login("adm")
	v1, err := ve.store.Publish(ctx, configstore.Publication{Source: ve.src, By: "ivrd"})
	noErr(t, err)
	adm.get("/config/versions").has(t, `data-testid="versions-file-source"`, `data-testid="version-in-force" data-version="0"`)
	id := ve.newDraft(t, adm, ve.src, "")
	page := adm.get("/config/versions/" + id)
	page.has(t, `data-testid="draft-validate"`)
	page.hasNot(t, `data-testid="draft-publish"`)
	wantStatus(t, "publish", adm.post("/config/versions/"+id, url.Values{"action": {"publish"}, "source": {string(ve.src)}}), http.StatusConflict)
	wantStatus(t, "rollback", adm.post(fmt.Sprintf("/config/versions/%d/rollback", v1.ID), nil), http.StatusConflict)
	cur, err := ve.store.InForce(ctx)
	noErr(t, err)
	if cur.ID != v1.ID {
		t.Fatalf("in force: %d", cur.ID)
	}
}

// Only administrators may try drafts on the test phone (an ExtraPage the
// supervisors and, in the demo, operators open too).
func TestCanTryDrafts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *Options) {
		o.Extra = append(o.Extra, ExtraPage{Roles: Roles, Mount: func(r chi.Router) {
			r.Get("/probe-drafts", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, CanTryDrafts(r)) })
		}})
	})
	for login, want := range map[string]string{"op2": "false", "sup": "false", "adm": "true"} {
		if r := e.login(login).get("/probe-drafts"); r.status != http.StatusOK || r.body != want {
			t.Errorf("%s: %d %q, want %s", login, r.status, r.body, want)
		}
	}
}
