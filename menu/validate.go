package menu

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/helpdesk-ivr/ivr/hours"
)

// Limits on what a configuration may say. They keep a typo (a timeout of
// 500s, a tree nine levels deep) from reaching callers.
const (
	MaxDepth             = 6
	minDigitTimeout      = 1 * time.Second
	maxDigitTimeout      = 60 * time.Second
	minInterDigitTimeout = 500 * time.Millisecond
	maxInterDigitTimeout = 30 * time.Second
	maxRetries           = 10
)

// Defaults applied where the file is silent.
const (
	DefaultFirstDigitTimeout = 5 * time.Second
	DefaultInterDigitTimeout = 3 * time.Second
	DefaultMaxRetries        = 3
	DefaultPINMinDigits      = 4
	DefaultPINMaxDigits      = 8
	DefaultPINMaxAttempts    = 3
	DefaultPINLockout        = 15 * time.Minute
	DefaultMessageMax        = 2 * time.Minute
	DefaultMessageSilence    = 5 * time.Second
)

var (
	idPattern       = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	langPattern     = regexp.MustCompile(`^[a-z]{2}$`)
	endpointPattern = regexp.MustCompile(`^[A-Za-z0-9]+/[^\s,]+$`)
	soundPattern    = regexp.MustCompile(`^[A-Za-z0-9_./-]+$`)
	emailPattern    = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	priorities      = []string{"critical", "high", "medium", "low"}
)

type validator struct {
	file     string
	problems Problems
}

func (v *validator) add(p Pos, format string, args ...any) {
	if p.Line == 0 {
		p = Pos{Line: 1, Col: 1}
	}
	v.problems = append(v.problems, Problem{File: v.file, Line: p.Line, Col: p.Col, Msg: fmt.Sprintf(format, args...)})
}

// validate fills defaults, checks every cross-reference and builds the
// lookup tables. It reports every problem it finds.
func (c *Config) validate() Problems {
	v := &validator{file: c.File}
	c.validateService(v)
	c.validateSchedules(v)
	c.validateCategories(v)
	c.validateGroups(v)
	c.validateOperators(v)
	c.validateSupervisors(v)
	c.validateOrganizations(v)
	c.validateIVR(v)
	c.validateLanguages(v)
	c.validatePINGuard(v)
	c.validateMenu(v)
	c.validateKeyHints(v)
	c.validateReach(v)
	c.validateConnector(v)
	c.validateTransfers(v)
	c.checkCategoryRefs(v)
	c.validateMailRules(v)
	return v.problems
}

func (c *Config) validateService(v *validator) {
	s := &c.Service
	if strings.TrimSpace(s.Name) == "" {
		v.add(s.Pos, "service.name is required")
	}
	if s.Number == "" {
		v.add(s.Pos, "service.number is required (the number callers dial, e.g. 800749049)")
	} else if !isDigits(s.Number) {
		v.add(s.Pos, "service.number %q must be digits only", s.Number)
	}
	if s.Timezone == "" {
		s.Timezone = "Europe/Rome"
	}
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil {
		v.add(s.Pos, "service.timezone %q is not a known time zone", s.Timezone)
		loc = time.UTC
	}
	c.location = loc
	if len(s.Languages) == 0 {
		v.add(s.Pos, "service.languages needs at least one language (e.g. [it, en])")
	}
	seen := map[string]bool{}
	for _, l := range s.Languages {
		if !langPattern.MatchString(l) {
			v.add(s.Pos, "service.languages: %q is not a two-letter language code", l)
		}
		if seen[l] {
			v.add(s.Pos, "service.languages: %q is listed twice", l)
		}
		seen[l] = true
	}
	if s.Schedule == "" {
		v.add(s.Pos, "service.schedule is required (the hours of the entry point)")
	}
}

func (c *Config) validateSchedules(v *validator) {
	c.schedules = map[string]*hours.Schedule{}
	if len(c.Schedules) == 0 {
		v.add(c.Service.Pos, "no schedules: define at least one under schedules:")
	}
	for _, name := range sortedKeys(c.Schedules) {
		sc := c.Schedules[name]
		if sc == nil {
			v.add(c.Service.Pos, "schedule %q is empty", name)
			continue
		}
		if !idPattern.MatchString(name) {
			v.add(sc.Pos, "schedule name %q: use lower-case letters, digits, - and _", name)
		}
		hs, ok := sc.compile(v, name, c.location)
		if ok {
			c.schedules[name] = hs
		}
	}
	if c.Service.Schedule != "" && c.Schedules[c.Service.Schedule] == nil {
		v.add(c.Service.Pos, "service.schedule: unknown schedule %q", c.Service.Schedule)
	}
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "sunday": time.Sunday, "mon": time.Monday, "monday": time.Monday,
	"tue": time.Tuesday, "tuesday": time.Tuesday, "wed": time.Wednesday, "wednesday": time.Wednesday,
	"thu": time.Thursday, "thursday": time.Thursday, "fri": time.Friday, "friday": time.Friday,
	"sat": time.Saturday, "saturday": time.Saturday,
}

// weekdayRange reads "mon", "monday" or "mon-fri" (Monday first).
func weekdayRange(s string) ([]time.Weekday, bool) {
	from, to, isRange := strings.Cut(strings.ToLower(strings.TrimSpace(s)), "-")
	a, ok := weekdays[from]
	if !ok {
		return nil, false
	}
	if !isRange {
		return []time.Weekday{a}, true
	}
	b, ok := weekdays[to]
	if !ok {
		return nil, false
	}
	mondayFirst := func(d time.Weekday) int { return (int(d) + 6) % 7 }
	if mondayFirst(b) < mondayFirst(a) {
		return nil, false
	}
	var days []time.Weekday
	for i := mondayFirst(a); i <= mondayFirst(b); i++ {
		days = append(days, time.Weekday((i+1)%7))
	}
	return days, true
}

func (sc *Schedule) compile(v *validator, name string, loc *time.Location) (*hours.Schedule, bool) {
	before := len(v.problems)
	hs := &hours.Schedule{Location: loc}
	if len(sc.Weekly) == 0 {
		v.add(sc.Pos, "schedule %q: weekly hours are required", name)
	}
	dayFrom := map[time.Weekday]string{}
	for _, key := range sortedKeys(sc.Weekly) {
		days, ok := weekdayRange(key)
		if !ok {
			v.add(sc.Pos, "schedule %q: %q is not a day or a day range (mon, tuesday, mon-fri)", name, key)
			continue
		}
		var ivs []hours.Interval
		for _, text := range sc.Weekly[key] {
			iv, err := parseInterval(text)
			if err != nil {
				v.add(sc.Pos, "schedule %q, %s: %v", name, key, err)
				continue
			}
			ivs = append(ivs, iv)
		}
		for _, d := range days {
			if other, dup := dayFrom[d]; dup {
				v.add(sc.Pos, "schedule %q: %s is given twice (in %q and %q)", name, d, other, key)
				continue
			}
			dayFrom[d] = key
			hs.Weekly[d] = append(hs.Weekly[d], ivs...)
		}
	}
	switch sc.Holidays {
	case "", "italy":
		hs.ItalianHolidays = true
	case "none":
	default:
		v.add(sc.Pos, "schedule %q: holidays must be \"italy\" or \"none\", not %q", name, sc.Holidays)
	}
	for _, lh := range sc.LocalHolidays {
		// MM-DD, or a feast that moves as the patron table's do (05-1tue).
		day, err := hours.ParseAnnualDay(lh.Date, lh.Name)
		if err != nil {
			v.add(lh.Pos, "schedule %q: local holiday date %q must be MM-DD (or a movable day such as 05-1tue, see docs/configuration.md)", name, lh.Date)
			continue
		}
		if strings.TrimSpace(lh.Name) == "" {
			v.add(lh.Pos, "schedule %q: local holiday %s needs a name (callers hear why the service is closed)", name, lh.Date)
		}
		hs.Patron = append(hs.Patron, day)
	}
	sc.applyLocality(v, name, hs)
	for _, e := range sc.Closures {
		from, to, ok := e.span(v, name, "closure", loc)
		if ok {
			hs.Closures = append(hs.Closures, hours.Closure{From: from, To: to, Note: e.Note})
		}
	}
	for _, e := range sc.Openings {
		from, to, ok := e.span(v, name, "opening", loc)
		if ok {
			hs.Openings = append(hs.Openings, hours.Opening{From: from, To: to, Note: e.Note})
		}
	}
	if len(v.problems) == before {
		if err := hs.Validate(); err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				v.add(sc.Pos, "schedule %q: %s", name, line)
			}
		}
	}
	return hs, len(v.problems) == before
}

func parseInterval(text string) (hours.Interval, error) {
	a, b, ok := strings.Cut(text, "-")
	if !ok {
		return hours.Interval{}, fmt.Errorf("%q is not an interval like 08:00-18:00", text)
	}
	start, err := hours.ParseTimeOfDay(strings.TrimSpace(a))
	if err != nil {
		return hours.Interval{}, fmt.Errorf("%q: %v", text, err)
	}
	end, err := hours.ParseTimeOfDay(strings.TrimSpace(b))
	if err != nil {
		return hours.Interval{}, fmt.Errorf("%q: %v", text, err)
	}
	if end <= start {
		return hours.Interval{}, fmt.Errorf("%q ends before it starts", text)
	}
	return hours.Interval{Start: start, End: end}, nil
}

// span turns a one-off exception into instants in loc.
func (e Exception) span(v *validator, name, what string, loc *time.Location) (time.Time, time.Time, bool) {
	day, err := hours.ParseDate(e.Date)
	if err != nil {
		v.add(e.Pos, "schedule %q: %s date %q must be YYYY-MM-DD", name, what, e.Date)
		return time.Time{}, time.Time{}, false
	}
	last := day
	if e.Until != "" {
		if last, err = hours.ParseDate(e.Until); err != nil || last.Before(day) {
			v.add(e.Pos, "schedule %q: %s until %q must be a YYYY-MM-DD date not before %s", name, what, e.Until, e.Date)
			return time.Time{}, time.Time{}, false
		}
	}
	from, to := hours.TimeOfDay(0), hours.TimeOfDay(24*3600)
	if (e.From == "") != (e.To == "") {
		v.add(e.Pos, "schedule %q: %s needs both from and to, or neither for whole days", name, what)
		return time.Time{}, time.Time{}, false
	}
	if e.From != "" {
		iv, err := parseInterval(e.From + "-" + e.To)
		if err != nil {
			v.add(e.Pos, "schedule %q: %s %v", name, what, err)
			return time.Time{}, time.Time{}, false
		}
		from, to = iv.Start, iv.End
	}
	if what == "opening" && e.From == "" {
		v.add(e.Pos, "schedule %q: an extra opening needs from and to", name)
		return time.Time{}, time.Time{}, false
	}
	return day.In(loc, from), last.In(loc, to), true
}

func (c *Config) validateGroups(v *validator) {
	c.groups = map[string]*Group{}
	if len(c.Groups) == 0 {
		v.add(c.Service.Pos, "no operator groups: define at least one under groups:")
	}
	for _, g := range c.Groups {
		if g == nil {
			continue
		}
		switch {
		case !idPattern.MatchString(g.ID):
			v.add(g.Pos, "group id %q: use lower-case letters, digits, - and _", g.ID)
		case c.groups[g.ID] != nil:
			v.add(g.Pos, "group id %q is used twice (first at line %d)", g.ID, c.groups[g.ID].Pos.Line)
		default:
			c.groups[g.ID] = g
		}
		if strings.TrimSpace(g.Name) == "" {
			v.add(g.Pos, "group %q needs a name", g.ID)
		}
		if g.Schedule == "" {
			g.Schedule = c.Service.Schedule
		} else if c.Schedules[g.Schedule] == nil {
			v.add(g.Pos, "group %q: unknown schedule %q", g.ID, g.Schedule)
		}
		for _, m := range g.Emails {
			if !emailPattern.MatchString(m) {
				v.add(g.Pos, "group %q: %q is not an e-mail address", g.ID, m)
			}
		}
		if g.ServiceLevel != 0 && (g.ServiceLevel < MinServiceLevel || g.ServiceLevel > MaxServiceLevel) {
			v.add(g.Pos, "group %q: service_level %s is out of range %s..%s", g.ID, g.ServiceLevel, MinServiceLevel, MaxServiceLevel)
		}
	}
	// After the loop: an overflow may name a group listed further down.
	for _, g := range c.Groups {
		if g != nil {
			c.validateQueue(v, g)
			c.validateSurvey(v, g)
			c.validateCallback(v, g)
			c.validateRecording(v, g)
		}
	}
}

func (c *Config) validateOrganizations(v *validator) {
	c.orgs = map[string]*Organization{}
	c.pins = map[string]pinOwner{}
	numbers := map[string]string{}
	for _, o := range c.Organizations {
		if o == nil {
			continue
		}
		switch {
		case !idPattern.MatchString(o.ID):
			v.add(o.Pos, "organization id %q: use lower-case letters, digits, - and _", o.ID)
		case c.orgs[o.ID] != nil:
			v.add(o.Pos, "organization id %q is used twice", o.ID)
		default:
			c.orgs[o.ID] = o
		}
		if strings.TrimSpace(o.Name) == "" {
			v.add(o.Pos, "organization %q needs a name", o.ID)
		}
		if o.Group != "" && c.groups[o.Group] == nil {
			v.add(o.Pos, "organization %q: unknown group %q", o.ID, o.Group)
		}
		if o.Priority < 0 || o.Priority > 9 {
			v.add(o.Pos, "organization %q: priority %d is out of range 0..9", o.ID, o.Priority)
		}
		for i, pattern := range o.CallerIDs {
			norm, err := normalizePattern(pattern)
			if err != nil {
				v.add(o.Pos, "organization %q: caller_ids[%d]: %v", o.ID, i, err)
				continue
			}
			if other, dup := numbers[norm]; dup {
				v.add(o.Pos, "organization %q: caller id %q is also claimed by %q", o.ID, pattern, other)
				continue
			}
			numbers[norm] = o.ID
			o.CallerIDs[i] = norm
		}
		for _, m := range o.Emails {
			if !emailPattern.MatchString(m) {
				v.add(o.Pos, "organization %q: %q is not an e-mail address", o.ID, m)
			}
		}
		for _, role := range sortedKeys(roleMap(o.PINs)) {
			hash := o.PINs[Role(role)]
			if Role(role) != RoleReferent && Role(role) != RoleUser {
				v.add(o.Pos, "organization %q: unknown PIN role %q (referent or user)", o.ID, role)
				continue
			}
			if !validPINHash(hash) {
				v.add(o.Pos, "organization %q: the %s PIN must be a hash made by `ivrctl pin hash` (hmac-sha256:<64 hex digits>), never the PIN itself", o.ID, role)
				continue
			}
			if prev, dup := c.pins[hash]; dup {
				v.add(o.Pos, "organization %q: its %s PIN is the same as the %s PIN of %q; a PIN must identify one Administration and role", o.ID, role, prev.role, prev.org)
				continue
			}
			c.pins[hash] = pinOwner{org: o.ID, role: Role(role)}
		}
	}
}

func roleMap(m map[Role]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[string(k)] = v
	}
	return out
}

func (c *Config) validateIVR(v *validator) {
	ivr := &c.IVR
	if ivr.Language == "" && len(c.Service.Languages) > 0 {
		ivr.Language = c.Service.Languages[0]
	}
	if ivr.Language != "" && !slices.Contains(c.Service.Languages, ivr.Language) {
		v.add(ivr.Pos, "ivr.language %q is not one of service.languages", ivr.Language)
	}
	ivr.FirstDigitTimeout = orDefault(ivr.FirstDigitTimeout, DefaultFirstDigitTimeout)
	ivr.InterDigitTimeout = orDefault(ivr.InterDigitTimeout, DefaultInterDigitTimeout)
	checkTimeouts(v, ivr.Pos, "ivr", ivr.FirstDigitTimeout, ivr.InterDigitTimeout)
	if ivr.MaxRetries == 0 {
		ivr.MaxRetries = DefaultMaxRetries
	}
	if ivr.MaxRetries < 1 || ivr.MaxRetries > maxRetries {
		v.add(ivr.Pos, "ivr.max_retries %d is out of range 1..%d", ivr.MaxRetries, maxRetries)
	}
	if ivr.MaxCalls < 0 {
		v.add(ivr.Pos, "ivr.max_calls %d is negative (0: no cap)", ivr.MaxCalls)
	}
	keys := map[string]string{}
	for _, k := range []struct{ name, key string }{{"back_key", ivr.BackKey}, {"repeat_key", ivr.RepeatKey}, {"operator_key", ivr.OperatorKey}} {
		if k.key == "" {
			continue
		}
		if !validKey(k.key) {
			v.add(ivr.Pos, "ivr.%s %q must be one key: 0-9, * or #", k.name, k.key)
			continue
		}
		if other, dup := keys[k.key]; dup {
			v.add(ivr.Pos, "ivr.%s and ivr.%s are both %q", other, k.name, k.key)
		}
		keys[k.key] = k.name
	}
	if ivr.OperatorKey != "" && ivr.OperatorGroup == "" {
		v.add(ivr.Pos, "ivr.operator_key is set but ivr.operator_group is not: where would the caller go?")
	}
	if ivr.OperatorGroup != "" && c.groups[ivr.OperatorGroup] == nil {
		v.add(ivr.Pos, "ivr.operator_group: unknown group %q", ivr.OperatorGroup)
	}
	if ivr.AfterHoursGroup != "" && c.groups[ivr.AfterHoursGroup] == nil {
		v.add(ivr.Pos, "ivr.after_hours_group: unknown group %q", ivr.AfterHoursGroup)
	}
	if ivr.OnFailure == nil {
		ivr.OnFailure = &Fallback{Action: KindHangup, Pos: ivr.Pos}
	}
	switch f := ivr.OnFailure; f.Action {
	case KindRoute:
		if c.groups[f.Group] == nil {
			v.add(f.Pos, "ivr.on_failure: unknown group %q", f.Group)
		}
	case KindHangup:
	default:
		v.add(f.Pos, "ivr.on_failure.action must be route or hangup, not %q", f.Action)
	}
	p := &ivr.PIN
	p.MinDigits = orDefault(p.MinDigits, DefaultPINMinDigits)
	p.MaxDigits = orDefault(p.MaxDigits, DefaultPINMaxDigits)
	p.MaxAttempts = orDefault(p.MaxAttempts, DefaultPINMaxAttempts)
	p.Lockout = orDefault(p.Lockout, DefaultPINLockout)
	p.Timeout = orDefault(p.Timeout, 10*time.Second)
	if p.MinDigits < 4 || p.MaxDigits > 16 || p.MinDigits > p.MaxDigits {
		v.add(ivr.Pos, "ivr.pin: digits must satisfy 4 <= min_digits <= max_digits <= 16")
	}
	if p.MaxAttempts < 1 || p.MaxAttempts > 10 {
		v.add(ivr.Pos, "ivr.pin.max_attempts %d is out of range 1..10", p.MaxAttempts)
	}
	if p.Lockout < 0 || p.Lockout > 24*time.Hour {
		v.add(ivr.Pos, "ivr.pin.lockout %s is out of range 0..24h", p.Lockout)
	}
	if p.Timeout < minDigitTimeout || p.Timeout > maxDigitTimeout {
		v.add(ivr.Pos, "ivr.pin.timeout %s is out of range %s..%s", p.Timeout, minDigitTimeout, maxDigitTimeout)
	}
	qp := &ivr.QueuePriority
	qp.Referent = orDefault(qp.Referent, 5)
	qp.KnownOrganization = orDefault(qp.KnownOrganization, 1)
	if qp.Referent < 0 || qp.Referent > 9 || qp.KnownOrganization < 0 || qp.KnownOrganization > 9 {
		v.add(ivr.Pos, "ivr.queue_priority: bonuses must be in 0..9 (a node's priority steps by 10)")
	}
	m := &ivr.Message
	m.MaxDuration = orDefault(m.MaxDuration, DefaultMessageMax)
	m.MaxSilence = orDefault(m.MaxSilence, DefaultMessageSilence)
	if m.MaxDuration < 10*time.Second || m.MaxDuration > 10*time.Minute {
		v.add(ivr.Pos, "ivr.message.max_duration %s is out of range 10s..10m", m.MaxDuration)
	}
	if m.MaxSilence < time.Second || m.MaxSilence > time.Minute {
		v.add(ivr.Pos, "ivr.message.max_silence %s is out of range 1s..1m", m.MaxSilence)
	}
	for _, name := range sortedKeys(ivr.Prompts) {
		if _, known := SystemPrompts[name]; !known {
			v.add(ivr.Pos, "ivr.prompts: unknown prompt %q (known: %s)", name, strings.Join(sortedKeys(SystemPrompts), ", "))
		}
	}
	for _, name := range sortedKeys(SystemPrompts) {
		for _, lang := range c.Service.Languages {
			if c.SystemText(name, lang) == "" {
				v.add(ivr.Pos, "ivr.prompts.%s has no %q text and there is no built-in one", name, lang)
			}
		}
	}
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func checkTimeouts(v *validator, pos Pos, where string, first, inter time.Duration) {
	if first != 0 && (first < minDigitTimeout || first > maxDigitTimeout) {
		v.add(pos, "%s: first_digit_timeout %s is out of range %s..%s", where, first, minDigitTimeout, maxDigitTimeout)
	}
	if inter != 0 && (inter < minInterDigitTimeout || inter > maxInterDigitTimeout) {
		v.add(pos, "%s: inter_digit_timeout %s is out of range %s..%s", where, inter, minInterDigitTimeout, maxInterDigitTimeout)
	}
}

func validKey(k string) bool {
	return len(k) == 1 && strings.ContainsAny(k, "0123456789*#")
}

func (c *Config) validateMenu(v *validator) {
	c.nodes = map[string]*Node{}
	if c.Menu == nil {
		v.add(Pos{1, 1}, "menu: the menu tree is required")
		return
	}
	c.Menu.Key = ""
	c.validateNode(v, c.Menu, nil, 0)
}

func (c *Config) validateNode(v *validator, n *Node, parent *Node, depth int) {
	n.parent = parent
	where := n.describe()
	if n.ID == "" {
		n.ID = n.pathID()
	} else if !idPattern.MatchString(n.ID) {
		v.add(n.Pos, "%s: id %q: use lower-case letters, digits, - and _", where, n.ID)
	}
	if prev := c.nodes[n.ID]; prev != nil {
		v.add(n.Pos, "%s: id %q is also used at line %d", where, n.ID, prev.Pos.Line)
	}
	c.nodes[n.ID] = n
	if depth > MaxDepth {
		v.add(n.Pos, "%s: the menu is deeper than %d levels; callers get lost", where, MaxDepth)
		return
	}
	if parent != nil && strings.TrimSpace(n.Label) == "" {
		v.add(n.Pos, "%s: label is required (it goes into the ticket's menu path)", where)
	}
	if n.Action == "" {
		switch {
		case len(n.Options) > 0:
			n.Action = KindMenu
		case n.Group != "":
			n.Action = KindRoute
		}
	}
	checkTimeouts(v, n.Pos, where, n.FirstDigitTimeout, n.InterDigitTimeout)
	if n.MaxRetries < 0 || n.MaxRetries > maxRetries {
		v.add(n.Pos, "%s: max_retries %d is out of range 0..%d", where, n.MaxRetries, maxRetries)
	}
	if n.Priority != "" && !slices.Contains(priorities, n.Priority) {
		v.add(n.Pos, "%s: priority %q must be one of %s", where, n.Priority, strings.Join(priorities, ", "))
	}
	for lang, s := range n.Sound {
		if !slices.Contains(c.Service.Languages, lang) {
			v.add(n.Pos, "%s: sound for %q, which is not one of service.languages", where, lang)
		}
		if !soundPattern.MatchString(s) {
			v.add(n.Pos, "%s: sound %q must be a sound name such as custom/benvenuto", where, s)
		}
	}
	for lang := range n.Prompt {
		if !slices.Contains(c.Service.Languages, lang) {
			v.add(n.Pos, "%s: prompt for %q, which is not one of service.languages", where, lang)
		}
	}
	needsPrompt := false
	switch n.Action {
	case KindMenu:
		needsPrompt = true
		if len(n.Options) == 0 {
			v.add(n.Pos, "%s: a menu with no options (empty submenu)", where)
		}
	case KindRoute:
		if n.Group == "" {
			v.add(n.Pos, "%s: route needs a group", where)
		} else if c.groups[n.Group] == nil {
			v.add(n.Pos, "%s: unknown group %q", where, n.Group)
		}
	case KindMessage:
		if n.Group != "" && c.groups[n.Group] == nil {
			v.add(n.Pos, "%s: unknown group %q", where, n.Group)
		}
	case KindStatus:
	case KindHangup:
		needsPrompt = true
	case "":
		v.add(n.Pos, "%s: the node has no way out: give it options, a group to route to, or an action (menu, route, message, status, hangup)", where)
	default:
		v.add(n.Pos, "%s: unknown action %q (menu, route, message, status, hangup)", where, n.Action)
	}
	if n.Action != KindMenu && len(n.Options) > 0 {
		v.add(n.Pos, "%s: options are only for menus, but the action is %s", where, n.Action)
	}
	if n.Action != KindMenu && n.Action != KindRoute && n.Action != KindMessage && n.Group != "" {
		v.add(n.Pos, "%s: group is only for route and message nodes", where)
	}
	if n.OrgRoute && n.Action != KindMenu {
		v.add(n.Pos, "%s: org_route is only for menus", where)
	}
	if n.OrgRoute && !c.anyOrgWithGroup() {
		v.add(n.Pos, "%s: org_route is set but no organization has a group", where)
	}
	if needsPrompt {
		for _, lang := range c.Service.Languages {
			if strings.TrimSpace(n.Prompt[lang]) == "" {
				v.add(n.Pos, "%s: missing %q prompt text", where, lang)
			}
		}
	}
	if r := n.RequirePIN; r != nil {
		if len(r.Roles) == 0 {
			v.add(r.Pos, "%s: require_pin needs roles (referent, user)", where)
		}
		for _, role := range r.Roles {
			if role != RoleReferent && role != RoleUser {
				v.add(r.Pos, "%s: unknown role %q (referent or user)", where, role)
			} else if !c.anyPINFor(role) {
				v.add(r.Pos, "%s: asks for a %s PIN but no organization has one, so the node is unreachable", where, role)
			}
		}
	}
	reserved := map[string]string{c.IVR.BackKey: "back", c.IVR.RepeatKey: "repeat"}
	if n.operatorAllowed(c) {
		reserved[c.IVR.OperatorKey] = "operator"
	}
	delete(reserved, "")
	for _, key := range sortedKeys(n.Options) {
		child := n.Options[key]
		if child == nil {
			v.add(n.Pos, "%s: option %q is empty", where, key)
			continue
		}
		child.Key = key
		if !validKey(key) {
			v.add(child.Pos, "%s: option key %q must be one key: 0-9, * or #", where, key)
		} else if use, clash := reserved[key]; clash {
			v.add(child.Pos, "%s: option %q is unreachable: %q is the %s key", where, key, key, use)
		}
		n.keys = append(n.keys, key)
		c.validateNode(v, child, n, depth+1)
	}
	sort.Strings(n.keys)
}

func (c *Config) anyOrgWithGroup() bool {
	for _, o := range c.Organizations {
		if o != nil && o.Group != "" {
			return true
		}
	}
	return false
}

func (c *Config) anyPINFor(role Role) bool {
	for _, p := range c.pins {
		if p.role == role {
			return true
		}
	}
	return false
}

func (n *Node) operatorAllowed(c *Config) bool {
	if c.IVR.OperatorKey == "" || c.IVR.OperatorGroup == "" {
		return false
	}
	return n.AllowOperator == nil || *n.AllowOperator
}

// pathID names a node by the keys leading to it: "root", "1", "1-3".
func (n *Node) pathID() string {
	if n.parent == nil {
		return "root"
	}
	var keys []string
	for x := n; x.parent != nil; x = x.parent {
		keys = append([]string{keyName(x.Key)}, keys...)
	}
	return strings.Join(keys, "-")
}

func keyName(k string) string {
	switch k {
	case "*":
		return "star"
	case "#":
		return "hash"
	}
	return k
}

func (n *Node) describe() string {
	if n.parent == nil {
		return "menu"
	}
	var keys []string
	for x := n; x.parent != nil; x = x.parent {
		keys = append([]string{x.Key}, keys...)
	}
	return "menu option " + strings.Join(keys, " > ")
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
