package vulndb

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func osv(id, modified string, aliases []string, modules ...string) []byte {
	var affected []map[string]any
	for _, m := range modules {
		affected = append(affected, map[string]any{"package": map[string]string{"name": m, "ecosystem": "Go"}})
	}
	b, err := json.Marshal(map[string]any{"id": id, "modified": modified, "aliases": aliases, "affected": affected})
	if err != nil {
		panic(err)
	}
	return b
}

func TestBuildWritesTheV1Layout(t *testing.T) {
	t.Parallel()
	src := fstest.MapFS{
		"GO-2026-0002.json": {Data: osv("GO-2026-0002", "2026-03-01T00:00:00Z", []string{"CVE-2026-2"}, "stdlib")},
		// Two ranges of one module (as in the real data) give one index row.
		"GO-2026-0001.json": {Data: osv("GO-2026-0001", "2026-01-01T00:00:00Z", nil, "golang.org/x/net", "stdlib", "golang.org/x/net")},
		"README.md":         {Data: []byte("not an entry")},
	}
	dir := filepath.Join(t.TempDir(), "db")
	st, err := Build(src, dir, Options{Modified: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Stats{Entries: 2, Modules: 2}); st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	check := func(name, want string) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != want {
			t.Errorf("%s:\n got %s\nwant %s", name, b, want)
		}
	}
	// The entries' own time wins when it is later than Options.Modified.
	check("index/db.json", `{"modified":"2026-03-01T00:00:00Z"}`)
	check("index/modules.json", `[{"path":"golang.org/x/net","vulns":[{"id":"GO-2026-0001","modified":"2026-01-01T00:00:00Z"}]},`+
		`{"path":"stdlib","vulns":[{"id":"GO-2026-0001","modified":"2026-01-01T00:00:00Z"},{"id":"GO-2026-0002","modified":"2026-03-01T00:00:00Z"}]}]`)
	check("index/vulns.json", `[{"id":"GO-2026-0001","modified":"2026-01-01T00:00:00Z"},{"id":"GO-2026-0002","modified":"2026-03-01T00:00:00Z","aliases":["CVE-2026-2"]}]`)
	check("ID/GO-2026-0002.json", string(src["GO-2026-0002.json"].Data))
	entries, err := os.ReadDir(filepath.Join(dir, "ID"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Errorf("ID/ holds %d files, want 2", len(entries))
	}
	siblings, err := os.ReadDir(filepath.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(siblings) != 1 {
		t.Errorf("the temporary directory is left beside the database: %v", siblings)
	}
}

func TestBuildUsesOptionsModifiedWhenTheEntriesHaveNoTime(t *testing.T) {
	t.Parallel()
	src := fstest.MapFS{"GO-2020-0001.json": {Data: osv("GO-2020-0001", "0001-01-01T00:00:00Z", nil, "stdlib")}}
	dir := filepath.Join(t.TempDir(), "db")
	if _, err := Build(src, dir, Options{Modified: time.Date(2026, 11, 5, 23, 49, 57, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "index/db.json"))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"modified":"2026-11-05T23:49:57Z"}`; string(b) != want {
		t.Errorf("db.json %s, want %s", b, want)
	}
}

// A bad source leaves no database behind: the script builds again next time
// instead of trusting half a database.
func TestBuildRejectsABadSourceAndLeavesNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		src     fstest.MapFS
		wantErr string
	}{
		{"empty", fstest.MapFS{"README.md": {Data: []byte("x")}}, "no OSV entries"},
		{"not JSON", fstest.MapFS{"GO-1.json": {Data: []byte("{")}}, "GO-1.json"},
		{"file named after another id", fstest.MapFS{"GO-1.json": {Data: osv("GO-2", "2026-01-01T00:00:00Z", nil, "stdlib")}}, `holds the entry "GO-2"`},
		{"no id", fstest.MapFS{"GO-1.json": {Data: osv("", "2026-01-01T00:00:00Z", nil, "stdlib")}}, `holds the entry ""`},
		{"no module", fstest.MapFS{"GO-1.json": {Data: osv("GO-1", "2026-01-01T00:00:00Z", nil)}}, "no affected module"},
		{"module without a name", fstest.MapFS{"GO-1.json": {Data: osv("GO-1", "2026-01-01T00:00:00Z", nil, "")}}, "without a name"},
		{"bad time", fstest.MapFS{"GO-1.json": {Data: []byte(`{"id":"GO-1","modified":"yesterday","affected":[{"package":{"name":"stdlib"}}]}`)}}, "GO-1.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			parent := t.TempDir()
			_, err := Build(tc.src, filepath.Join(parent, "db"), Options{})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
			left, err := os.ReadDir(parent)
			if err != nil {
				t.Fatal(err)
			}
			if len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}

// Even an empty one, which the final rename would silently replace.
func TestBuildRefusesAnExistingDirectory(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	dir := filepath.Join(parent, "db")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src := fstest.MapFS{"GO-1.json": {Data: osv("GO-1", "2026-01-01T00:00:00Z", nil, "stdlib")}}
	if _, err := Build(src, dir, Options{}); err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Fatalf("error %v, want exists already", err)
	}
	for _, d := range []string{parent, dir} {
		left, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]int{parent: 1, dir: 0}[d]; len(left) != want {
			t.Errorf("%s holds %v, want %d entries", d, left, want)
		}
	}
}

func TestVersionTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		version string
		want    time.Time
		ok      bool
	}{
		{"v0.0.0-20261105234957-e22db6528018", time.Date(2026, 11, 5, 23, 49, 57, 0, time.UTC), true},
		{"v1.2.4-0.20261105234957-e22db6528018", time.Date(2026, 11, 5, 23, 49, 57, 0, time.UTC), true},
		{"v1.9.0", time.Time{}, false},
		{"v0.0.0-20261305234957-e22db6528018", time.Time{}, false}, // month 13
	}
	for _, tc := range tests {
		got, ok := VersionTime(tc.version)
		if ok != tc.ok || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("VersionTime(%q) = %v, %v; want %v, %v", tc.version, got, ok, tc.want, tc.ok)
		}
	}
}
