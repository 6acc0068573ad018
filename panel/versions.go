package panel

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/helpdesk-ivr/ivr/internal/configstore"
	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/menu"
)

// The administrators' configuration versions (/config/versions): the one
// in force, drafts and the published history. A draft is edited in a
// textarea, validated (the problems beside their lines), saved, tried on
// the test phone (/testphone?draft=ID) and published; any earlier version
// is rolled back to in one action. Publishing is Options.Publish's (ivrd:
// recorded in PostgreSQL, picked up by every instance); without it the
// file on disk is the source of truth and the page only tries drafts.
//
// Replay (issue 19, section 3) is on every version's page (replay.go): the
// calls of the last days run again under its text.

// The audit log's actions on versions: the API's names (config.publish),
// so that one filter finds both; not catalog keys.
const (
	auditDraft       = "config" + ".draft"
	auditDraftDelete = "config" + ".draft_delete"
	auditPublish     = "config" + ".publish"
	auditRollback    = "config" + ".rollback"
)

// maxNote bounds a version's note.
const maxNote = 200

type versionsData struct {
	InForce   int64 // the version in force on this instance (0: the file's)
	Publish   bool  // versions can be published here
	Drafts    []configstore.Version
	Published []configstore.Version
}

// problemLine is a line of the listing, with the validator's problems on it.
type problemLine struct {
	N        int
	Text     string
	Problems []string
}

type versionData struct {
	V        configstore.Version
	Source   string
	Note     string
	Publish  bool
	InForce  int64
	Checked  bool // validated: Problems is the whole answer
	Problems []menu.Problem
	Lines    []problemLine
	// Phone is the test phone's address for this draft ("": no phone).
	Phone string
	// CanReplay: the journal's replay is at hand (Options.Replay);
	// Replay is its answer, once asked.
	CanReplay bool
	Replay    *replayData
}

// CanTryDrafts tells whether the request's user may try draft versions
// (the test phone's ?draft=): administrators, as on the versions pages.
func CanTryDrafts(r *http.Request) bool {
	rq := reqOf(r)
	return rq != nil && rq.user.Role == RoleAdmin
}

func (s *Server) versionsPage(w http.ResponseWriter, r *http.Request) {
	if s.opts.Versions == nil {
		s.fail(w, r, fault.ErrNotFound)
		return
	}
	list, err := s.opts.Versions.List(r.Context(), configstore.Filter{})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := versionsData{InForce: s.configVersion(), Publish: s.opts.Publish != nil}
	for _, v := range list {
		if v.State == configstore.Draft {
			d.Drafts = append(d.Drafts, v)
		} else {
			d.Published = append(d.Published, v)
		}
	}
	s.render(w, r, http.StatusOK, "versions.html", s.newPage(r, "config", "nav.versions", d))
}

func (s *Server) configVersion() int64 {
	if s.opts.ConfigVersion == nil {
		return 0
	}
	return s.opts.ConfigVersion()
}

// versionCreate makes a draft: of the text sent, or of a version's text
// (from=ID), or of the configuration in force.
func (s *Server) versionCreate(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if s.opts.Versions == nil {
		s.fail(w, r, fault.ErrNotFound)
		return
	}
	src := formSource(r)
	note, err := versionNote(r)
	if err == nil && len(strings.TrimSpace(string(src))) == 0 {
		src, err = s.draftBase(r)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.opts.Versions.SaveDraft(ctx, configstore.DraftChange{Source: src, Note: note, By: reqOf(r).user.Login})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.audited(r, auditDraft, fmt.Sprintf("config:%d", v.ID), "sha256="+v.SHA256)
	http.Redirect(w, r, fmt.Sprintf("/config/versions/%d?msg=draft_saved", v.ID), http.StatusSeeOther)
}

// draftBase is the text a new empty draft starts from.
func (s *Server) draftBase(r *http.Request) ([]byte, error) {
	ctx := r.Context()
	if from := r.PostFormValue("from"); from != "" {
		id, err := strconv.ParseInt(from, 10, 64)
		if err != nil {
			return nil, errorKey(fault.EINVALID, "err.400")
		}
		v, err := s.opts.Versions.Find(ctx, id)
		return v.Source, err
	}
	if s.opts.ConfigSource != nil {
		return s.opts.ConfigSource(ctx)
	}
	v, err := s.opts.Versions.InForce(ctx)
	if fault.Code(err) == fault.ENOTFOUND {
		return nil, errorKey(fault.EINVALID, "versions.no_base")
	}
	return v.Source, err
}

// formSource is the configuration text of a form: a browser sends a
// textarea's lines ended by CRLF, the file has LF.
func formSource(r *http.Request) []byte {
	return []byte(strings.ReplaceAll(r.PostFormValue("source"), "\r\n", "\n"))
}

func versionNote(r *http.Request) (string, error) {
	note := strings.TrimSpace(r.PostFormValue("note"))
	if len([]rune(note)) > maxNote || strings.ContainsFunc(note, func(c rune) bool { return c < 0x20 }) {
		return "", errorKey(fault.EINVALID, "versions.bad_note", maxNote)
	}
	return note, nil
}

func versionID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fault.ErrNotFound
	}
	return id, nil
}

func (s *Server) versionPage(w http.ResponseWriter, r *http.Request) {
	if s.opts.Versions == nil {
		s.fail(w, r, fault.ErrNotFound)
		return
	}
	id, err := versionID(r)
	var v configstore.Version
	if err == nil {
		v, err = s.opts.Versions.Find(r.Context(), id)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderVersion(w, r, http.StatusOK, v, v.Source, v.Note, false, "")
}

// renderVersion shows a version with src in the editor; checked shows
// the validator's answer on src beside its lines.
func (s *Server) renderVersion(w http.ResponseWriter, r *http.Request, status int, v configstore.Version, src []byte, note string, checked bool, msg string) {
	s.renderVersionData(w, r, status, v, src, note, checked, msg, nil)
}

// renderVersionWith shows a version with a replay's answer.
func (s *Server) renderVersionWith(w http.ResponseWriter, r *http.Request, v configstore.Version, rp *replayData) {
	s.renderVersionData(w, r, http.StatusOK, v, v.Source, v.Note, false, "", rp)
}

func (s *Server) renderVersionData(w http.ResponseWriter, r *http.Request, status int, v configstore.Version, src []byte, note string, checked bool, msg string, rp *replayData) {
	d := versionData{V: v, Source: string(src), Note: note, Publish: s.opts.Publish != nil, InForce: s.configVersion(), Checked: checked,
		CanReplay: s.opts.Replay != nil, Replay: rp}
	if checked {
		d.Problems = s.validate(src)
	}
	d.Lines = listing(src, d.Problems)
	if s.opts.DraftPhone != "" && v.State == configstore.Draft {
		d.Phone = fmt.Sprintf("%s?draft=%d", s.opts.DraftPhone, v.ID)
	}
	p := s.newPage(r, "config", "nav.versions", d)
	p.Title = reqOf(r).lang.Tf("versions.title", v.ID)
	p.Error = msg
	s.render(w, r, status, "version.html", p)
}

// validate returns the problems `ivrctl validate` would find in src, at
// the lines of the configuration file's name.
func (s *Server) validate(src []byte) []menu.Problem {
	name := s.config().File
	if name == "" {
		name = "helpdesk.yaml"
	}
	_, err := menu.Parse(name, src)
	if err == nil {
		return nil
	}
	var ps menu.Problems
	if errors.As(err, &ps) {
		return ps
	}
	return []menu.Problem{{File: name, Line: 1, Col: 1, Msg: err.Error()}}
}

// listing numbers src's lines and puts each problem on its line (one
// past the end on the last).
func listing(src []byte, problems []menu.Problem) []problemLine {
	text := strings.TrimSuffix(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n")
	lines := strings.Split(text, "\n")
	out := make([]problemLine, len(lines))
	for i, l := range lines {
		out[i] = problemLine{N: i + 1, Text: l}
	}
	for _, p := range problems {
		i := min(max(p.Line, 1), len(out)) - 1
		out[i].Problems = append(out[i].Problems, fmt.Sprintf("%d:%d: %s", p.Line, p.Col, p.Msg))
	}
	return out
}

// versionAction validates, saves, publishes or deletes a draft.
func (s *Server) versionAction(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if s.opts.Versions == nil {
		s.fail(w, r, fault.ErrNotFound)
		return
	}
	rq := reqOf(r)
	id, err := versionID(r)
	var v configstore.Version
	if err == nil {
		v, err = s.opts.Versions.Find(ctx, id)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if v.State != configstore.Draft {
		s.fail(w, r, errorKey(fault.ECONFLICT, "versions.not_draft", v.ID))
		return
	}
	src := formSource(r)
	note, err := versionNote(r)
	if err != nil {
		s.renderVersion(w, r, fault.HTTPStatus(err), v, src, "", false, errorMessage(rq.lang, err))
		return
	}
	target := fmt.Sprintf("config:%d", v.ID)
	switch action := r.PostFormValue("action"); action {
	case "validate":
		status := http.StatusOK
		if len(s.validate(src)) > 0 {
			status = http.StatusUnprocessableEntity
		}
		s.renderVersion(w, r, status, v, src, note, true, "")
	case "save", "publish":
		if action == "publish" && s.opts.Publish == nil {
			s.fail(w, r, errorKey(fault.ECONFLICT, "versions.file_source"))
			return
		}
		if action == "publish" && len(s.validate(src)) > 0 {
			s.renderVersion(w, r, http.StatusUnprocessableEntity, v, src, note, true, rq.lang.T("versions.not_valid"))
			return
		}
		saved, err := s.opts.Versions.SaveDraft(ctx, configstore.DraftChange{ID: v.ID, Source: src, Note: note, By: rq.user.Login})
		if err != nil {
			s.versionFailed(w, r, v, src, note, err)
			return
		}
		if action == "save" {
			s.audited(r, auditDraft, target, "sha256="+saved.SHA256)
			http.Redirect(w, r, fmt.Sprintf("/config/versions/%d?msg=draft_saved", v.ID), http.StatusSeeOther)
			return
		}
		pub, err := s.opts.Publish(ctx, configstore.Publication{DraftID: v.ID, Source: src, Note: note, By: rq.user.Login})
		if err != nil {
			s.versionFailed(w, r, saved, src, note, err)
			return
		}
		s.log.Info("panel_config_published", "login", rq.user.Login, "version", pub.ID)
		s.audited(r, auditPublish, target, "sha256="+pub.SHA256)
		http.Redirect(w, r, "/config/versions?msg=published", http.StatusSeeOther)
	case "delete":
		if err := s.opts.Versions.DeleteDraft(ctx, v.ID); err != nil {
			s.fail(w, r, err)
			return
		}
		s.audited(r, auditDraftDelete, target, "")
		http.Redirect(w, r, "/config/versions?msg=draft_deleted", http.StatusSeeOther)
	default:
		s.fail(w, r, errorKey(fault.EINVALID, "err.400"))
	}
}

// versionFailed shows the draft again with why it was not saved or
// published (a refusal by ivrd, such as the queues', is EINVALID).
func (s *Server) versionFailed(w http.ResponseWriter, r *http.Request, v configstore.Version, src []byte, note string, err error) {
	switch fault.Code(err) {
	case fault.EINVALID, fault.ECONFLICT, fault.ETOOLARGE:
		msg := errorMessage(reqOf(r).lang, err)
		if e, ok := errors.AsType[*fault.Error](err); ok && e.Key == "" {
			msg = e.Message
		}
		s.renderVersion(w, r, fault.HTTPStatus(err), v, src, note, true, msg)
	default:
		s.fail(w, r, err)
	}
}

// versionRollback publishes an earlier version's text again, as a new
// version that says which one it restores.
func (s *Server) versionRollback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if s.opts.Versions == nil || s.opts.Publish == nil {
		s.fail(w, r, errorKey(fault.ECONFLICT, "versions.file_source"))
		return
	}
	rq := reqOf(r)
	id, err := versionID(r)
	var v configstore.Version
	if err == nil {
		v, err = s.opts.Versions.Find(ctx, id)
	}
	if err == nil && v.State != configstore.Published {
		err = errorKey(fault.ECONFLICT, "versions.not_published", v.ID)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	note := rq.lang.Tf("versions.rollback_note", v.ID)
	pub, err := s.opts.Publish(ctx, configstore.Publication{Source: v.Source, RollbackOf: v.ID, Note: note, By: rq.user.Login})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("panel_config_rolled_back", "login", rq.user.Login, "version", pub.ID, "rollback_of", v.ID)
	s.audited(r, auditRollback, fmt.Sprintf("config:%d", pub.ID), fmt.Sprintf("rollback_of=%d sha256=%s", v.ID, pub.SHA256))
	http.Redirect(w, r, "/config/versions?msg=rolled_back", http.StatusSeeOther)
}
