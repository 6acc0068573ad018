package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/helpdesk-ivr/ivr/internal/configstore"
	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/internal/testphone"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/panel"
)

// Where the configuration in force comes from (-config-source).
const (
	// sourceFile: the -config file, reloaded on SIGHUP; the panel's
	// drafts can be tried but not published (GitOps: the file is in git).
	sourceFile = "file"
	// sourceDatabase: the newest version published in PostgreSQL
	// (configstore), picked up by every ivrd at once; the file only
	// brings the first version in and is kept a copy of the one in force.
	sourceDatabase = "database"
)

// parse validates src as the configuration file would be: problems at
// FILE:LINE:COL of the -config path (its relative paths mean the same).
func (h *configHolder) parse(src []byte) (*menu.Config, error) {
	cfg, err := menu.Parse(h.path, src)
	if err == nil && cfg.HasPINs() && !h.hasSecret {
		err = errors.New("the new configuration has PINs but ivrd started without a PIN secret; restart with one")
	}
	if err != nil {
		return nil, fault.Errorf(fault.EINVALID, "%s", err.Error())
	}
	return cfg, nil
}

// bootstrap, in database mode, brings the file in as the first version if
// nothing was published yet, and returns the version in force, which
// replaces the file's configuration when they differ.
func (h *configHolder) bootstrap(ctx context.Context) (*menu.Config, error) {
	src, err := os.ReadFile(h.path)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	v, created, err := h.store.Bootstrap(ctx, configstore.Publication{Source: src, By: "ivrd",
		Note: "brought in from " + h.path})
	if err != nil {
		return nil, err
	}
	if created {
		h.log.Info("config_version_bootstrapped", "file", h.path, "version", v.ID)
	} else if !bytes.Equal(v.Source, src) {
		h.log.Warn("config_file_ignored", "file", h.path, "version", v.ID,
			"reason", "the database holds the configuration in force; the file is rewritten with it")
	}
	if err := h.applyVersion(v); err != nil {
		return nil, fmt.Errorf("configuration version %d: %w", v.ID, err)
	}
	return h.get(), nil
}

// applyVersion puts a published version in force on this instance
// (validated, then the queues, then the calls that start from now on),
// unless it is in force already, and writes it over the file so that
// the file on disk says what runs.
func (h *configHolder) applyVersion(v configstore.Version) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.version.Load() == v.ID {
		return nil
	}
	cfg, err := h.parse(v.Source)
	if err == nil && h.apply != nil {
		err = h.apply(cfg)
	}
	if err != nil {
		h.log.Error("config_version_rejected", "version", v.ID, "error", err.Error())
		return err
	}
	h.cur.Store(cfg)
	h.version.Store(v.ID)
	h.log.Info("config_version_applied", "version", v.ID, "by", v.PublishedBy)
	h.writeCopy(v.Source)
	return nil
}

// writeCopy rewrites the file with the source in force; a file ivrd may
// not write (mounted read-only) is left as it is.
func (h *configHolder) writeCopy(src []byte) {
	if old, err := os.ReadFile(h.path); err == nil && bytes.Equal(old, src) {
		return
	}
	if err := writeFileAtomic(h.path, src); err != nil {
		h.log.Warn("config_file_not_written", "file", h.path, "error", err.Error())
	}
}

// publishVersion validates p's source (an earlier version's for a
// rollback without one), puts it in force here and then records it, which
// tells the other instances: a configuration this instance or its queues
// refuse is never recorded. A record that fails puts the old
// configuration back.
func (h *configHolder) publishVersion(ctx context.Context, p configstore.Publication) (configstore.Version, error) {
	if p.RollbackOf != 0 && p.Source == nil {
		old, err := h.store.Find(ctx, p.RollbackOf)
		if err != nil {
			return configstore.Version{}, err
		}
		if old.State != configstore.Published {
			return configstore.Version{}, fault.Errorf(fault.EINVALID, "version %d is a draft: only published versions are rolled back to", old.ID)
		}
		p.Source = old.Source
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	cfg, err := h.parse(p.Source)
	if err != nil {
		return configstore.Version{}, err
	}
	old := h.get()
	if h.apply != nil {
		if err := h.apply(cfg); err != nil {
			h.log.Error("config_publish_rejected", "error", err.Error())
			return configstore.Version{}, fault.Errorf(fault.EINVALID, "%s", err.Error())
		}
	}
	v, err := h.store.Publish(ctx, p)
	if err != nil {
		if h.apply != nil {
			if rerr := h.apply(old); rerr != nil {
				h.log.Error("config_restore_failed", "error", rerr.Error())
			}
		}
		return configstore.Version{}, err
	}
	h.cur.Store(cfg)
	h.version.Store(v.ID)
	h.log.Info("config_published", "version", v.ID, "by", p.By, "rollback_of", p.RollbackOf)
	h.writeCopy(p.Source)
	return v, nil
}

// draft returns the test phone's drafts: a version's configuration, for
// administrators only (as the versions pages), validated as a
// publication would be.
func (h *configHolder) draft(store *configstore.Store) func(r *http.Request, id int64) (*menu.Config, error) {
	return func(r *http.Request, id int64) (*menu.Config, error) {
		if !panel.CanTryDrafts(r) {
			return nil, testphone.ErrDraftForbidden
		}
		v, err := store.Find(r.Context(), id)
		if err != nil {
			return nil, err
		}
		return h.parse(v.Source)
	}
}

// source is the text of the configuration in force here, a new draft's
// start: the version in force, or the file.
func (h *configHolder) source(ctx context.Context) ([]byte, error) {
	if h.store != nil {
		v, err := h.store.InForce(ctx)
		return v.Source, err
	}
	src, err := os.ReadFile(h.path)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	return src, nil
}
