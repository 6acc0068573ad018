package api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/panel"
)

// Configuration versions: the administrators read the help desk's
// configurations published through the API and publish a new one (scope
// admin), which ivrd validates and puts in force as a reload does
// (Options.Publish); calls in progress keep the tree they started with.

// maxConfig bounds a published configuration.
const maxConfig = 4 << 20

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

const configColumns = `id, sha256, length(source), note, published_by, published_at`

func (a *API) scanConfigVersion(row pgx.Row, extra ...any) (configVersionJSON, error) {
	var v configVersionJSON
	err := row.Scan(append([]any{&v.ID, &v.SHA256, &v.Size, &v.Note, &v.PublishedBy, &v.PublishedAt}, extra...)...)
	v.PublishedAt = v.PublishedAt.In(a.opts.Tickets.Location())
	return v, err
}

func (a *API) listConfigVersions(w http.ResponseWriter, r *http.Request) {
	rows, err := a.opts.Pool.Query(r.Context(), `SELECT `+configColumns+` FROM api_config_versions ORDER BY id DESC LIMIT 100`)
	var list []configVersionJSON
	if err == nil {
		list, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (configVersionJSON, error) { return a.scanConfigVersion(row) })
	}
	if err != nil {
		a.writeProblem(w, r, fmt.Errorf("list configuration versions: %w", err))
		return
	}
	if list == nil {
		list = []configVersionJSON{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"versions": list})
}

func (a *API) getConfigVersion(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	var src []byte
	v, err := a.scanConfigVersion(a.opts.Pool.QueryRow(r.Context(), `SELECT `+configColumns+`, source FROM api_config_versions WHERE id = $1`, id), &src)
	if errors.Is(err, pgx.ErrNoRows) {
		err = fault.Errorf(fault.ENOTFOUND, "no configuration version %d", id)
	}
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	s := string(src)
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
	if err := a.opts.Publish(ctx, src); err != nil {
		a.writeProblem(w, r, err)
		return
	}
	sum := sha256.Sum256(src)
	v, err := a.scanConfigVersion(a.opts.Pool.QueryRow(ctx, `INSERT INTO api_config_versions (sha256, source, note, published_by, token_id, published_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+configColumns, hex.EncodeToString(sum[:]), src, note, p.user.Login, p.token.ID, a.now()))
	if err != nil {
		// In force already: say so, but the version is not kept.
		a.log.Error("api_config_version_not_kept", "error", err.Error())
		a.writeProblem(w, r, fmt.Errorf("keep configuration version: %w", err))
		return
	}
	a.audit(ctx, p, "config.publish", fmt.Sprintf("config:%d", v.ID), "sha256="+v.SHA256)
	w.Header().Set("Location", fmt.Sprintf("%s/config/versions/%d", Prefix, v.ID))
	writeJSON(w, http.StatusCreated, v)
}
