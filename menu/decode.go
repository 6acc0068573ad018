package menu

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Problem is one thing wrong with a configuration file, where it is.
type Problem struct {
	File      string
	Line, Col int
	Msg       string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Msg)
}

// Problems is every problem found in a file; it is the error Parse returns.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

func (ps Problems) sorted() Problems {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Line != ps[j].Line {
			return ps[i].Line < ps[j].Line
		}
		return ps[i].Col < ps[j].Col
	})
	return ps
}

// maxConfigSize bounds what Parse accepts, so a stray huge file is refused
// rather than decoded.
const maxConfigSize = 4 << 20

// Parse decodes and validates a help-desk configuration. file is only used
// in messages. On any problem it returns nil and a Problems error listing
// all of them.
func Parse(file string, data []byte) (*Config, error) {
	if len(data) > maxConfigSize {
		return nil, Problems{{File: file, Line: 1, Col: 1, Msg: fmt.Sprintf("file is larger than %d bytes", maxConfigSize)}}
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Problems{{File: file, Line: 1, Col: 1, Msg: "empty configuration"}}
		}
		return nil, Problems{syntaxProblem(file, err)}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	s := &shapeChecker{file: file}
	s.check(root, reflect.TypeOf(Config{}), "")
	if len(s.problems) > 0 {
		return nil, s.problems.sorted()
	}
	cfg := &Config{File: file}
	if err := root.Decode(cfg); err != nil {
		// The shape check should have caught everything; this is a safety net.
		return nil, Problems{syntaxProblem(file, err)}
	}
	if ps := cfg.validate(); len(ps) > 0 {
		return nil, ps.sorted()
	}
	sum := sha256.Sum256(data)
	cfg.version = hex.EncodeToString(sum[:])
	return cfg, nil
}

// Version is the SHA-256 (hex) of the file the configuration was parsed
// from: the name the call journal and the stored versions give it.
func (c *Config) Version() string { return c.version }

var yamlLine = regexp.MustCompile(`line (\d+)(?:, column (\d+))?: (.*)`)

func syntaxProblem(file string, err error) Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n  ")
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		col := 1
		if m[2] != "" {
			col, _ = strconv.Atoi(m[2])
		}
		return Problem{File: file, Line: line, Col: col, Msg: m[3]}
	}
	return Problem{File: file, Line: 1, Col: 1, Msg: msg}
}

// shapeChecker walks the YAML tree beside the Go types, reporting unknown
// fields and values of the wrong kind with their exact position, so that
// decoding afterwards cannot fail and every such problem is reported at once.
type shapeChecker struct {
	file     string
	problems Problems
}

var durationType = reflect.TypeOf(time.Duration(0))

func (s *shapeChecker) add(n *yaml.Node, format string, args ...any) {
	s.problems = append(s.problems, Problem{File: s.file, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, args...)})
}

func (s *shapeChecker) check(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind == yaml.AliasNode {
		s.add(n, "%s: aliases are not supported", display(path))
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // an empty value leaves the field at its default
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType:
		if n.Kind != yaml.ScalarNode {
			s.add(n, "%s: want a duration such as 5s or 2m", display(path))
			return
		}
		if _, err := time.ParseDuration(n.Value); err != nil {
			s.add(n, "%s: %q is not a duration (write e.g. 5s, 1m30s)", display(path), n.Value)
		}
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			s.add(n, "%s: want a mapping of fields", display(path))
			return
		}
		fields := yamlFields(t)
		seen := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if first, dup := seen[k.Value]; dup {
				s.add(k, "%s: field %q given twice (first at line %d)", display(path), k.Value, first.Line)
				continue
			}
			seen[k.Value] = k
			ft, ok := fields[k.Value]
			if !ok {
				s.add(k, "unknown field %q in %s (known: %s)", k.Value, display(path), strings.Join(sortedKeys(fields), ", "))
				continue
			}
			s.check(v, ft, join(path, k.Value))
		}
	case t.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			s.add(n, "%s: want a mapping", display(path))
			return
		}
		seen := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				s.add(k, "%s: keys must be plain values", display(path))
				continue
			}
			if first, dup := seen[k.Value]; dup {
				s.add(k, "%s: duplicate key %q (first at line %d)", display(path), k.Value, first.Line)
				continue
			}
			seen[k.Value] = k
			s.check(v, t.Elem(), join(path, k.Value))
		}
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			s.add(n, "%s: want a list", display(path))
			return
		}
		for i, item := range n.Content {
			s.check(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case t.Kind() == reflect.String:
		if n.Kind != yaml.ScalarNode {
			s.add(n, "%s: want a single value, not a list or mapping", display(path))
		}
	case t.Kind() == reflect.Int:
		if n.Kind != yaml.ScalarNode {
			s.add(n, "%s: want a whole number", display(path))
		} else if _, err := strconv.Atoi(n.Value); err != nil {
			s.add(n, "%s: %q is not a whole number", display(path), n.Value)
		}
	case t.Kind() == reflect.Bool:
		if n.Kind != yaml.ScalarNode || (n.Value != "true" && n.Value != "false") {
			s.add(n, "%s: want true or false", display(path))
		}
	}
}

func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if !f.IsExported() || tag == "-" || tag == "" {
			continue
		}
		out[tag] = f.Type
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func display(path string) string {
	if path == "" {
		return "the document"
	}
	return path
}

// Positions are captured while decoding: each type with a Pos decodes
// through a plain alias and then records where its mapping starts.

func (x *Service) UnmarshalYAML(n *yaml.Node) error {
	type plain Service
	return decodeAt(n, (*plain)(x), &x.Pos)
}

func (x *Schedule) UnmarshalYAML(n *yaml.Node) error {
	type plain Schedule
	err := decodeAt(n, (*plain)(x), &x.Pos)
	x.localityPos = fieldPositions(n, "")["locality"]
	return err
}

func (x *LocalHoliday) UnmarshalYAML(n *yaml.Node) error {
	type plain LocalHoliday
	return decodeAt(n, (*plain)(x), &x.Pos)
}

func (x *Exception) UnmarshalYAML(n *yaml.Node) error {
	type plain Exception
	return decodeAt(n, (*plain)(x), &x.Pos)
}

func (x *Group) UnmarshalYAML(n *yaml.Node) error {
	type plain Group
	return decodeAt(n, (*plain)(x), &x.Pos)
}

func (x *Operator) UnmarshalYAML(n *yaml.Node) error {
	type plain Operator
	return decodeAt(n, (*plain)(x), &x.Pos)
}

func (x *Supervisor) UnmarshalYAML(n *yaml.Node) error {
	type plain Supervisor
	return decodeAt(n, (*plain)(x), &x.Pos)
}

func (x *Callback) UnmarshalYAML(n *yaml.Node) error {
	type plain Callback
	return decodeAt(n, (*plain)(x), &x.Pos)
}

func (x *Recording) UnmarshalYAML(n *yaml.Node) error {
	type plain Recording
	return decodeAt(n, (*plain)(x), &x.Pos)
}

func (x *Survey) UnmarshalYAML(n *yaml.Node) error {
	type plain Survey
	return decodeAt(n, (*plain)(x), &x.Pos)
}

func (x *Queue) UnmarshalYAML(n *yaml.Node) error {
	type plain Queue
	return decodeAt(n, (*plain)(x), &x.Pos)
}

func (x *Organization) UnmarshalYAML(n *yaml.Node) error {
	type plain Organization
	return decodeAt(n, (*plain)(x), &x.Pos)
}

func (x *IVR) UnmarshalYAML(n *yaml.Node) error {
	type plain IVR
	return decodeAt(n, (*plain)(x), &x.Pos)
}

func (x *Fallback) UnmarshalYAML(n *yaml.Node) error {
	type plain Fallback
	return decodeAt(n, (*plain)(x), &x.Pos)
}

func (x *PINRule) UnmarshalYAML(n *yaml.Node) error {
	type plain PINRule
	return decodeAt(n, (*plain)(x), &x.Pos)
}

func (x *Node) UnmarshalYAML(n *yaml.Node) error {
	type plain Node
	err := decodeAt(n, (*plain)(x), &x.Pos)
	x.promptPos = fieldPositions(n, "prompt")
	return err
}

func decodeAt[T any](n *yaml.Node, out *T, pos *Pos) error {
	err := n.Decode(out)
	*pos = Pos{Line: n.Line, Col: n.Column}
	return err
}
