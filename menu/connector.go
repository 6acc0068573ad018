package menu

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Connector is the link to a ticketing system the help desk already has:
// its tickets are created and updated there from the calls, and status
// changes made there come back. One system today: Zammad.
type Connector struct {
	Zammad *Zammad `yaml:"zammad"`

	Pos Pos `yaml:"-"`
}

// Zammad configures the Zammad connector (its REST API, token auth). The
// token is never in this file: token_env names an environment variable
// holding it, token_file a file (the variable wins when set).
type Zammad struct {
	URL       string `yaml:"url"` // https://zammad.example.org
	TokenEnv  string `yaml:"token_env"`
	TokenFile string `yaml:"token_file"`
	// Token is refused: it is here only to say so at the right line.
	Token string `yaml:"token"`
	// Customer is the e-mail of the Zammad customer the tickets are opened
	// for (created by Zammad if missing): callers are known by number only.
	Customer string `yaml:"customer"`
	// DefaultGroup is the Zammad group of tickets whose group has no
	// mapping (a call that ended before a menu choice).
	DefaultGroup string `yaml:"default_group"`
	// Groups maps our group ids to Zammad group names.
	Groups map[string]string `yaml:"groups"`
	// Priorities maps our priorities to Zammad priority names ("2 normal").
	Priorities map[string]string `yaml:"priorities"`
	// Categories maps our categories to Zammad tags; other categories are
	// not sent.
	Categories map[string]string `yaml:"categories"`
	// States maps our statuses to Zammad state names (pushed).
	States map[string]string `yaml:"states"`
	// Statuses maps Zammad state names to our statuses (pulled back);
	// other states are not pulled.
	Statuses map[string]string `yaml:"statuses"`
	// PendingFor is the reminder time sent with a "pending …" state, which
	// Zammad requires; default 24h.
	PendingFor time.Duration `yaml:"pending_for"`
	// PollInterval is how often changes are pushed and states pulled;
	// default 1m.
	PollInterval time.Duration `yaml:"poll_interval"`
	// Timeout bounds one request to Zammad; default 10s.
	Timeout time.Duration `yaml:"timeout"`

	Pos  Pos            `yaml:"-"`
	keys map[string]Pos // "url", "groups.<key>" → where the key is written
}

// KeyPos is where key of the mapping field (groups, priorities, …) is
// written, or the section's position.
func (z *Zammad) KeyPos(field, key string) Pos { return z.pos(field + "." + key) }

// pos is where a field (or "field.key") is written, else the section.
func (z *Zammad) pos(name string) Pos {
	if p, ok := z.keys[name]; ok {
		return p
	}
	return z.Pos
}

func (x *Connector) UnmarshalYAML(n *yaml.Node) error {
	type plain Connector
	return decodeAt(n, (*plain)(x), &x.Pos)
}

// UnmarshalYAML records, beside the fields, where each key of the
// mappings is, so that a problem with one entry is reported at its line.
func (x *Zammad) UnmarshalYAML(n *yaml.Node) error {
	type plain Zammad
	if err := decodeAt(n, (*plain)(x), &x.Pos); err != nil {
		return err
	}
	x.keys = map[string]Pos{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		x.keys[k.Value] = Pos{Line: k.Line, Col: k.Column}
		if v.Kind != yaml.MappingNode {
			continue
		}
		for j := 0; j+1 < len(v.Content); j += 2 {
			kk := v.Content[j]
			x.keys[k.Value+"."+kk.Value] = Pos{Line: kk.Line, Col: kk.Column}
		}
	}
	return nil
}

// TicketStatuses are the tickets' statuses (package tickets, which menu
// does not import; a test there checks they agree).
var TicketStatuses = []string{"new", "in_progress", "waiting", "closed"}

// The Zammad defaults of a fresh installation, used for what the file
// does not map.
var (
	defaultZammadPriorities = map[string]string{"critical": "3 high", "high": "3 high", "medium": "2 normal", "low": "1 low"}
	defaultZammadStates     = map[string]string{"new": "new", "in_progress": "open", "waiting": "pending reminder", "closed": "closed"}
	defaultZammadStatuses   = map[string]string{"new": "new", "open": "in_progress", "pending reminder": "waiting",
		"pending close": "waiting", "closed": "closed", "merged": "closed"}
	envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

func (c *Config) validateConnector(v *validator) {
	if c.Connector == nil {
		return
	}
	z := c.Connector.Zammad
	if z == nil {
		v.add(c.Connector.Pos, "connector: name the system, e.g. zammad:")
		return
	}
	if u, err := url.Parse(z.URL); z.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.add(z.pos("url"), "connector.zammad.url: an absolute http or https URL is required (e.g. https://zammad.example.org)")
	} else if u.User != nil {
		v.add(z.pos("url"), "connector.zammad.url: no credentials in the URL: use token_env or token_file")
	}
	if z.Token != "" {
		v.add(z.pos("token"), "connector.zammad.token: the token does not belong in this file: use token_env (an environment variable) or token_file")
	}
	if z.TokenEnv == "" && z.TokenFile == "" {
		v.add(z.Pos, "connector.zammad: token_env or token_file is required (a token of an agent with ticket.agent)")
	}
	if z.TokenEnv != "" && !envNamePattern.MatchString(z.TokenEnv) {
		v.add(z.pos("token_env"), "connector.zammad.token_env: %q is not an environment variable name", z.TokenEnv)
	}
	if !emailPattern.MatchString(z.Customer) {
		v.add(z.pos("customer"), "connector.zammad.customer: the e-mail of the Zammad customer to open tickets for is required")
	}
	if strings.TrimSpace(z.DefaultGroup) == "" {
		v.add(z.Pos, "connector.zammad.default_group: the Zammad group of tickets of no mapped group is required")
	}
	for _, k := range sortedKeys(z.Groups) {
		if c.groups[k] == nil {
			v.add(z.KeyPos("groups", k), "connector.zammad.groups: unknown group %q", k)
		}
		if strings.TrimSpace(z.Groups[k]) == "" {
			v.add(z.KeyPos("groups", k), "connector.zammad.groups.%s: the Zammad group name is empty", k)
		}
	}
	for _, k := range sortedKeys(z.Priorities) {
		if !slices.Contains(priorities, k) {
			v.add(z.KeyPos("priorities", k), "connector.zammad.priorities: unknown priority %q (known: %s)", k, strings.Join(priorities, ", "))
		}
	}
	for _, k := range sortedKeys(z.Categories) {
		if c.HasCategories() && !c.ValidCategory(k) {
			v.add(z.KeyPos("categories", k), "connector.zammad.categories: unknown category %q", k)
		}
		if t := z.Categories[k]; strings.TrimSpace(t) == "" || strings.Contains(t, ",") {
			v.add(z.KeyPos("categories", k), "connector.zammad.categories.%s: want a Zammad tag, not empty and without commas", k)
		}
	}
	for _, k := range sortedKeys(z.States) {
		if !slices.Contains(TicketStatuses, k) {
			v.add(z.KeyPos("states", k), "connector.zammad.states: unknown status %q (known: %s)", k, strings.Join(TicketStatuses, ", "))
		}
	}
	for _, k := range sortedKeys(z.Statuses) {
		if !slices.Contains(TicketStatuses, z.Statuses[k]) {
			v.add(z.KeyPos("statuses", k), "connector.zammad.statuses.%s: unknown status %q (known: %s)", k, z.Statuses[k],
				strings.Join(TicketStatuses, ", "))
		}
	}
	for _, m := range []struct {
		name string
		m    map[string]string
	}{{"priorities", z.Priorities}, {"states", z.States}, {"statuses", z.Statuses}} {
		for _, k := range sortedKeys(m.m) {
			if strings.TrimSpace(m.m[k]) == "" {
				v.add(z.KeyPos(m.name, k), "connector.zammad.%s.%s: empty value", m.name, k)
			}
		}
	}
	z.Priorities = withDefaults(z.Priorities, defaultZammadPriorities)
	z.States = withDefaults(z.States, defaultZammadStates)
	if z.Statuses == nil {
		z.Statuses = withDefaults(nil, defaultZammadStatuses)
	}
	z.PendingFor = durationIn(v, z.pos("pending_for"), "pending_for", z.PendingFor, 24*time.Hour, time.Hour, 90*24*time.Hour)
	z.PollInterval = durationIn(v, z.pos("poll_interval"), "poll_interval", z.PollInterval, time.Minute, 5*time.Second, time.Hour)
	z.Timeout = durationIn(v, z.pos("timeout"), "timeout", z.Timeout, 10*time.Second, time.Second, 2*time.Minute)
}

// withDefaults is m with def's entries for the keys m lacks.
func withDefaults(m, def map[string]string) map[string]string {
	out := make(map[string]string, len(def))
	for k, v := range def {
		out[k] = v
	}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func durationIn(v *validator, p Pos, name string, d, def, lo, hi time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	if d < lo || d > hi {
		v.add(p, "connector.zammad.%s: %v is out of range (%v to %v)", name, d, lo, hi)
	}
	return d
}
