package api

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/configstore"
	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/panel"
)

// Configuration versions: the administrators read the help desk's
// published configurations (configstore, shared with the panel's versions
// page, whose drafts are not listed here) and publish a new one (scope
// admin), which ivrd validates, records and puts in force on every
// instance (Options.Publish); calls in progress keep the tree they
// started with.

// maxConfig bounds a published configuration.
const maxConfig = configstore.MaxSource

type configVersionJSON struct {
	ID          int64     `json:"id"`
	SHA256      string    `json:"sha256"`
	Size        int       `json:"size"`
	Note        string    `json:"note"`
	PublishedBy string    `json:"published_by"`
	PublishedAt time.Time `json:"published_at"`
	// Source is the YAML file, in GET /config/versions/{id} only.
	Source *string `json:"source,omitempty"`
}

// requireAdminUser lets through the tokens of administrators (the panel's
// /config is theirs), whatever the scope.
func (a *API) requireAdminUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if principalOf(r).user.Role != panel.RoleAdmin || !principalOf(r).all {
			a.writeProblem(w, r, fault.Errorf(fault.EFORBIDDEN, "the configuration is for administrators' tokens of every group"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (a *API) versionJSON(v configstore.Version) configVersionJSON {
	return configVersionJSON{ID: v.ID, SHA256: v.SHA256, Size: v.Size, Note: v.Note, PublishedBy: v.PublishedBy,
		PublishedAt: v.PublishedAt.In(a.opts.Tickets.Location())}
}

func (a *API) listConfigVersions(w http.ResponseWriter, r *http.Request) {
	// The published versions only: the drafts are the panel's.
	list, err := a.versions.List(r.Context(), configstore.Filter{State: configstore.Published})
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	out := make([]configVersionJSON, 0, len(list))
	for _, v := range list {
		out = append(out, a.versionJSON(v))
	}
	writeJSON(w, http.StatusOK, map[string]any{"versions": out})
}

func (a *API) getConfigVersion(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	cv, err := a.versions.Find(r.Context(), id)
	if err == nil && cv.State != configstore.Published {
		err = fault.Errorf(fault.ENOTFOUND, "no configuration version %d", id)
	}
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	v := a.versionJSON(cv)
	s := string(cv.Source)
	v.Source = &s
	writeJSON(w, http.StatusOK, v)
}

// publishConfig takes a whole configuration file (application/yaml; a
// note in the X-Note header), validates it as `ivrctl validate` does
// (every problem as FILE:LINE:COL in the detail), has ivrd put it in
// force, and keeps it as a version.
func (a *API) publishConfig(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := principalOf(r)
	if a.opts.Publish == nil {
		a.writeProblem(w, r, fault.Errorf(fault.ENOTFOUND, "this ivrd does not publish configurations"))
		return
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/yaml" && mt != "application/x-yaml" && mt != "text/yaml") {
		a.writeProblem(w, r, fault.Errorf(fault.EMEDIATYPE, "the body must be the YAML file (application/yaml)"))
		return
	}
	src, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxConfig))
	if err != nil {
		a.writeProblem(w, r, fault.Errorf(fault.ETOOLARGE, "the configuration is over %d bytes", maxConfig))
		return
	}
	note, err := text("X-Note", r.Header.Get("X-Note"), 200, false, false)
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	if _, err := menu.Parse("published.yaml", src); err != nil {
		a.writeProblem(w, r, fault.Errorf(fault.EINVALID, "%s", strings.TrimSpace(err.Error())))
		return
	}
	cv, err := a.opts.Publish(ctx, configstore.Publication{Source: src, Note: note, By: p.user.Login, TokenID: p.token.ID})
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	v := a.versionJSON(cv)
	a.audit(ctx, p, "config.publish", fmt.Sprintf("config:%d", v.ID), "sha256="+v.SHA256)
	w.Header().Set("Location", fmt.Sprintf("%s/config/versions/%d", Prefix, v.ID))
	writeJSON(w, http.StatusCreated, v)
}
