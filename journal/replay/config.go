package replay

import (
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/helpdesk-ivr/ivr/menu"
)

// desk is a configuration made ready for replay: its PINs replaced by
// PINs the replay knows (the file holds only keyed hashes, which cannot
// be turned back into digits), keyed with a secret of its own.
type deskConfig struct {
	cfg    *menu.Config
	secret []byte
	// pins: "org/role" → the PIN that identity keys in this replay.
	pins  map[string]string
	codes map[string]string // org → its code
	wrong string            // a PIN of nobody
}

// prepare parses src and gives every PIN of it a replay PIN: a PIN that
// was right in the journal is keyed as the right PIN of the same
// Administration and role under this configuration, a wrong one as a PIN
// of nobody.
func prepare(file string, src []byte) (*deskConfig, error) {
	cfg, err := menu.Parse(file, src)
	if err != nil {
		return nil, err
	}
	// Six digits (900,000 PINs) where the configuration takes them, else
	// four, the shortest PIN there is.
	width := 6
	if cfg.IVR.PIN.MaxDigits < width {
		width = 4
	}
	d := &deskConfig{secret: make([]byte, 32), pins: map[string]string{}, codes: map[string]string{},
		wrong: strings.Repeat("0", width)}
	if _, err := rand.Read(d.secret); err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("replay: %s: %w", file, err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	next := 1
	for i := 1; i < width; i++ {
		next *= 10 // 1000…: never all zeros, the PIN of nobody
	}
	changed := false
	if orgs := mapValue(root, "organizations"); orgs != nil && orgs.Kind == yaml.SequenceNode {
		for _, o := range orgs.Content {
			id := mapValue(o, "id")
			pins := mapValue(o, "pins")
			if id == nil || pins == nil || pins.Kind != yaml.MappingNode {
				continue
			}
			if code := mapValue(o, "code"); code != nil {
				d.codes[id.Value] = code.Value
			}
			for i := 0; i+1 < len(pins.Content); i += 2 {
				role, hash := pins.Content[i].Value, pins.Content[i+1]
				pin := strconv.Itoa(next)
				next++
				if len(pin) > width {
					return nil, fmt.Errorf("replay: %s: too many PINs for %d digits", file, width)
				}
				h, err := menu.HashPIN(d.secret, pin)
				if err != nil {
					return nil, err
				}
				hash.Value, hash.Style = h, 0
				d.pins[id.Value+"/"+role] = pin
				changed = true
			}
		}
	}
	if !changed {
		d.cfg = cfg
		return d, nil
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return nil, fmt.Errorf("replay: %s: %w", file, err)
	}
	if d.cfg, err = menu.Parse(file, out); err != nil {
		return nil, fmt.Errorf("replay: %s with the replay's PINs: %w", file, err)
	}
	return d, nil
}

// mapValue is the value of key in a YAML mapping node, nil if absent.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
