package menu

import (
	"net/url"
	"slices"
	"strings"
)

// Checkpoint is what a navigator needs to go on from where a caller is
// after the controller that drove the call stopped (a crash, a restart):
// the keys of the path, the identity a PIN gave and the language. It holds
// no PIN digit, so it may be kept where the call lives (an Asterisk
// channel variable) and dies with the call.
type Checkpoint struct {
	Keys []string
	Org  string
	Role Role
	Lang string
}

// Checkpoint returns the navigator's checkpoint.
func (n *Navigator) Checkpoint() Checkpoint {
	keys := make([]string, 0, len(n.path))
	for _, p := range n.path {
		keys = append(keys, p.Key) // "" for an automatic step: it ends the menu
	}
	return Checkpoint{Keys: keys, Org: n.org, Role: n.role, Lang: n.lang}
}

// Encode writes the checkpoint as a short ASCII string.
func (c Checkpoint) Encode() string {
	v := url.Values{}
	v.Set("k", strings.Join(c.Keys, "."))
	if c.Org != "" {
		v.Set("o", c.Org)
	}
	if c.Role != "" && c.Role != RoleUnknown {
		v.Set("r", string(c.Role))
	}
	v.Set("l", c.Lang)
	return v.Encode()
}

// ParseCheckpoint reads what Encode wrote; ok is false for anything else.
func ParseCheckpoint(s string) (c Checkpoint, ok bool) {
	v, err := url.ParseQuery(s)
	if err != nil || !v.Has("k") || !v.Has("l") {
		return Checkpoint{}, false
	}
	if k := v.Get("k"); k != "" {
		c.Keys = strings.Split(k, ".")
	}
	c.Org, c.Role, c.Lang = v.Get("o"), Role(cmpString(v.Get("r"), string(RoleUnknown))), v.Get("l")
	return c, true
}

// Resume takes the navigator to the node the checkpoint's keys lead to,
// with its identity, and returns what to do there (a node behind a PIN
// asks for it again), after a prompt saying that something went wrong.
// ok is false when the keys no longer lead anywhere (the menu changed
// since): the caller then starts again from the root menu (Restart).
func (n *Navigator) Resume(c Checkpoint) (Action, bool) {
	if slices.Contains(n.cfg.Service.Languages, c.Lang) {
		n.lang = c.Lang
	}
	if c.Org == "" || n.cfg.Organization(c.Org) != nil {
		n.org = c.Org
	}
	if c.Role == RoleReferent || c.Role == RoleUser {
		n.role = c.Role
	}
	node, parent := n.cfg.Menu, (*Node)(nil)
	var path []PathStep
	for _, key := range c.Keys {
		if node.Action != KindMenu {
			return Action{}, false
		}
		if key == n.cfg.IVR.OperatorKey && node.operatorAllowed(n.cfg) && node.Options[key] == nil {
			return Action{}, false // the call was routed: nothing to resume in the menu
		}
		child := node.Options[key]
		if child == nil {
			return Action{}, false
		}
		path = append(path, PathStep{Key: key, Label: child.Label, Node: child.ID})
		node, parent = child, node
	}
	n.path, n.done, n.retries, n.pending = path, false, 0, nil
	n.cur = parent
	a := n.enter(node, parent)
	a.Prompts = append([]Prompt{n.system("technical_problem")}, a.Prompts...)
	return n.remember(a), true
}

func cmpString(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
