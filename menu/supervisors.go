package menu

import (
	"slices"
	"strings"
)

// Supervisor is a panel user who watches some groups' calls and may
// listen to them, whisper to the operator or barge in from a phone of
// their own. An administrator, allowed everywhere, needs only an entry
// for the phone (groups may then be empty).
type Supervisor struct {
	Login    string   `yaml:"login"`
	Name     string   `yaml:"name"`
	Endpoint string   `yaml:"endpoint"` // e.g. PJSIP/sup1
	Groups   []string `yaml:"groups"`   // the groups watched

	Pos Pos `yaml:"-"`
}

// Supervisor returns a supervisor by login (nil: none configured).
func (c *Config) Supervisor(login string) *Supervisor {
	for _, s := range c.Supervisors {
		if s != nil && s.Login == login {
			return s
		}
	}
	return nil
}

// Watches reports whether the supervisor watches group.
func (s *Supervisor) Watches(group string) bool {
	return s != nil && group != "" && slices.Contains(s.Groups, group)
}

func (c *Config) validateSupervisors(v *validator) {
	logins := map[string]*Supervisor{}
	phones := map[string]string{} // endpoint → whose
	for _, o := range c.Operators {
		if o != nil {
			phones[o.Endpoint] = "operator " + o.Login
		}
	}
	for _, s := range c.Supervisors {
		if s == nil {
			continue
		}
		switch {
		case !idPattern.MatchString(s.Login):
			v.add(s.Pos, "supervisor login %q: use lower-case letters, digits, - and _", s.Login)
		case logins[s.Login] != nil:
			v.add(s.Pos, "supervisor login %q is used twice (first at line %d)", s.Login, logins[s.Login].Pos.Line)
		case c.Operator(s.Login) != nil:
			v.add(s.Pos, "supervisor login %q is an operator's: a panel user has one role", s.Login)
		default:
			logins[s.Login] = s
		}
		if strings.TrimSpace(s.Name) == "" {
			v.add(s.Pos, "supervisor %q needs a name", s.Login)
		}
		switch {
		case !endpointPattern.MatchString(s.Endpoint):
			v.add(s.Pos, "supervisor %q: endpoint %q must look like PJSIP/sup1", s.Login, s.Endpoint)
		case phones[s.Endpoint] != "":
			v.add(s.Pos, "supervisor %q: endpoint %s is also %s's phone", s.Login, s.Endpoint, phones[s.Endpoint])
		default:
			phones[s.Endpoint] = "supervisor " + s.Login
		}
		seen := map[string]bool{}
		for _, g := range s.Groups {
			switch {
			case c.groups[g] == nil:
				v.add(s.Pos, "supervisor %q: unknown group %q", s.Login, g)
			case seen[g]:
				v.add(s.Pos, "supervisor %q: group %q listed twice", s.Login, g)
			}
			seen[g] = true
		}
	}
}
