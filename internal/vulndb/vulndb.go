// Package vulndb builds the offline Go vulnerability database that
// govulncheck reads with -db file://DIR, from the OSV entries that the
// golang.org/x/vulndb module ships in data/osv. The layout is the v1 one of
// go.dev/security/vuln/database: index/db.json, index/modules.json,
// index/vulns.json and ID/<id>.json, each plain JSON (govulncheck reads
// the .json files of a local database, not the .gz ones).
package vulndb

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Options tunes Build.
type Options struct {
	// Modified is the time index/db.json reports when it is later than
	// every entry's own: the module's entries carry a zero time (the real
	// one comes from the database's git history), so the command passes
	// the time of the vulndb version instead.
	Modified time.Time
}

// Stats says what Build wrote.
type Stats struct {
	Entries int // OSV entries, one ID/<id>.json each
	Modules int // modules with at least one entry, stdlib among them
}

// entry is the part of an OSV entry the indexes need; the entry itself is
// copied byte for byte.
type entry struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases,omitempty"`
	Affected []struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
	} `json:"affected"`
}

type dbMeta struct {
	Modified time.Time `json:"modified"`
}

type moduleMeta struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

// moduleVuln leaves out the optional "fixed" hint: without it govulncheck
// reads every entry of a module the code uses and checks the entry's own
// version ranges, a few more file reads but never a vulnerability missed
// through a wrong hint.
type moduleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
}

type vulnMeta struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases,omitempty"`
}

// Build writes the database of the OSV entries in src (files <id>.json at
// its root; other files are ignored) to dir, which must not exist yet. It
// writes into a temporary directory beside dir and renames it at the end,
// so dir is either absent or complete: a cache can test for it.
func Build(src fs.FS, dir string, opts Options) (Stats, error) {
	if _, err := os.Stat(dir); err == nil {
		return Stats{}, fmt.Errorf("vulndb: %s exists already", dir)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return Stats{}, fmt.Errorf("vulndb: %w", err)
	}
	files, err := fs.Glob(src, "*.json")
	if err != nil {
		return Stats{}, err
	}
	if len(files) == 0 {
		return Stats{}, errors.New("vulndb: no OSV entries (*.json) in the source")
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return Stats{}, fmt.Errorf("vulndb: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	if err := os.Mkdir(filepath.Join(tmp, "ID"), 0o755); err != nil {
		return Stats{}, fmt.Errorf("vulndb: %w", err)
	}

	modified := opts.Modified
	modules := map[string]*moduleMeta{}
	var vulns []vulnMeta
	seen := map[string]bool{}
	for _, name := range files {
		raw, err := fs.ReadFile(src, name)
		if err != nil {
			return Stats{}, fmt.Errorf("vulndb: %w", err)
		}
		var e entry
		if err := json.Unmarshal(raw, &e); err != nil {
			return Stats{}, fmt.Errorf("vulndb: %s: %w", name, err)
		}
		if e.ID == "" || name != e.ID+".json" {
			return Stats{}, fmt.Errorf("vulndb: %s holds the entry %q: want <id>.json", name, e.ID)
		}
		if seen[e.ID] {
			return Stats{}, fmt.Errorf("vulndb: %s: entry %s twice", name, e.ID)
		}
		seen[e.ID] = true
		if len(e.Affected) == 0 {
			return Stats{}, fmt.Errorf("vulndb: %s: no affected module", name)
		}
		if e.Modified.After(modified) {
			modified = e.Modified
		}
		vulns = append(vulns, vulnMeta{ID: e.ID, Modified: e.Modified, Aliases: e.Aliases})
		listed := map[string]bool{}
		for _, a := range e.Affected {
			mod := a.Package.Name
			if mod == "" {
				return Stats{}, fmt.Errorf("vulndb: %s: an affected package without a name", name)
			}
			if listed[mod] {
				continue // several ranges of one module: one index row
			}
			listed[mod] = true
			m := modules[mod]
			if m == nil {
				m = &moduleMeta{Path: mod}
				modules[mod] = m
			}
			m.Vulns = append(m.Vulns, moduleVuln{ID: e.ID, Modified: e.Modified})
		}
		if err := os.WriteFile(filepath.Join(tmp, "ID", name), raw, 0o644); err != nil {
			return Stats{}, fmt.Errorf("vulndb: %w", err)
		}
	}

	mods := make([]*moduleMeta, 0, len(modules))
	for _, m := range modules {
		slices.SortFunc(m.Vulns, func(a, b moduleVuln) int { return strings.Compare(a.ID, b.ID) })
		mods = append(mods, m)
	}
	slices.SortFunc(mods, func(a, b *moduleMeta) int { return strings.Compare(a.Path, b.Path) })
	slices.SortFunc(vulns, func(a, b vulnMeta) int { return strings.Compare(a.ID, b.ID) })
	if err := os.Mkdir(filepath.Join(tmp, "index"), 0o755); err != nil {
		return Stats{}, fmt.Errorf("vulndb: %w", err)
	}
	for name, v := range map[string]any{"db": dbMeta{Modified: modified}, "modules": mods, "vulns": vulns} {
		b, err := json.Marshal(v)
		if err != nil {
			return Stats{}, fmt.Errorf("vulndb: %w", err)
		}
		if err := os.WriteFile(filepath.Join(tmp, "index", name+".json"), b, 0o644); err != nil {
			return Stats{}, fmt.Errorf("vulndb: %w", err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return Stats{}, fmt.Errorf("vulndb: %w", err)
	}
	return Stats{Entries: len(vulns), Modules: len(mods)}, nil
}

// OSVDir is where the golang.org/x/vulndb module keeps its OSV entries.
const OSVDir = "data/osv"

var pseudoTime = regexp.MustCompile(`[-.](\d{14})-[0-9a-f]{12}$`)

// VersionTime is the commit time in a pseudo-version such as
// v0.0.0-20261105234957-e22db6528018 (the only versions the vulndb
// module has), or false for another kind of version.
func VersionTime(version string) (time.Time, bool) {
	m := pseudoTime.FindStringSubmatch(version)
	if m == nil {
		return time.Time{}, false
	}
	t, err := time.Parse("20060102150405", m[1])
	return t, err == nil
}
