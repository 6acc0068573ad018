package configs_test

// These tests read the deployment files of this directory (Asterisk's
// configuration, the help desk's YAML, docker-compose.yml, the Grafana
// dashboard) and check the pieces ivrd relies on, so that a change on one
// side that the other does not follow fails here rather than on the phone.
//
// Each check is a function that returns the problems it finds; the Test*
// functions run it on the real files and expect none, and TestChecksCatch
// runs it on broken copies and expects the problem, so that no check can
// silently pass everything.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const (
	asteriskDir        = "asterisk"
	helpdeskYAML       = "helpdesk.yaml"
	composeFile        = "../docker-compose.yml"
	installScript      = "../scripts/install-asterisk.sh"
	secretsScript      = "../scripts/compose-secrets.sh"
	asteriskDockerfile = "../docker/asterisk/Dockerfile"
	dashboard          = "grafana/dashboards/helpdesk.json"

	// The controller's side of the contract (cmd/ivrd, ivr/ariconn).
	ariApp          = "ivr" // ARI_APP default, the Stasis application
	ariUser         = "ivr" // ARI_USERNAME in docker-compose.yml
	ariDefaultPort  = 8088  // ARI_URL default http://127.0.0.1:8088/ari
	ariMaxConns     = 64    // ariconn.Options.MaxConns default
	tollFree        = "800749049"
	fallbackQueue   = "helpdesk-fallback"
	operatorContext = "operators"
	mohClass        = "default" // ivr: Bridge().MOH(bridge, "default")
	minRTPPorts     = 4000      // 2 ports per channel: 900 concurrent channels (issue 15) with headroom
)

// ---------------------------------------------------------------------------
// A tiny reader for Asterisk's configuration files.
// ---------------------------------------------------------------------------

type entry struct {
	Key, Value string
	Line       int
}

type section struct {
	Name     string
	Template bool     // [name](!)
	Inherits []string // [name](tmpl1,tmpl2)
	Entries  []entry
	Line     int
}

type conf struct {
	File     string
	Sections []*section
}

var sectionHeader = regexp.MustCompile(`^\[([^\]]+)\](?:\(([^)]*)\))?$`)

// parseConf reads the ini-like format of Asterisk: [section] or
// [section](!) / [section](template,...) / [section](+) headers, then
// "key = value" or "key => value" lines; ";" starts a comment ("\;" is a
// literal semicolon); lines starting with "#" are directives (#include ...),
// which this service does not use.
func parseConf(file, text string) (*conf, error) {
	c := &conf{File: file}
	var cur *section
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := stripComment(sc.Text())
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, "#"):
			return nil, fmt.Errorf("%s:%d: directive %q: the test reader does not follow includes", file, n, line)
		case strings.HasPrefix(line, "["):
			m := sectionHeader.FindStringSubmatch(line)
			if m == nil {
				return nil, fmt.Errorf("%s:%d: bad section header %q", file, n, line)
			}
			name, opts := strings.TrimSpace(m[1]), m[2]
			if opts == "+" {
				// Append to the last section of that name.
				if cur = c.last(name); cur == nil {
					return nil, fmt.Errorf("%s:%d: [%s](+) with no earlier [%s]", file, n, name, name)
				}
				continue
			}
			cur = &section{Name: name, Line: n}
			for _, o := range strings.Split(opts, ",") {
				switch o = strings.TrimSpace(o); o {
				case "":
				case "!":
					cur.Template = true
				default:
					cur.Inherits = append(cur.Inherits, o)
				}
			}
			c.Sections = append(c.Sections, cur)
		default:
			if cur == nil {
				return nil, fmt.Errorf("%s:%d: %q outside any section", file, n, line)
			}
			key, value, ok := strings.Cut(line, "=")
			if !ok {
				return nil, fmt.Errorf("%s:%d: %q is not key = value", file, n, line)
			}
			value = strings.TrimPrefix(value, ">")
			cur.Entries = append(cur.Entries, entry{Key: strings.ToLower(strings.TrimSpace(key)), Value: strings.TrimSpace(value), Line: n})
		}
	}
	return c, sc.Err()
}

func stripComment(line string) string {
	for i := 0; i < len(line); i++ {
		if line[i] == ';' && (i == 0 || line[i-1] != '\\') {
			return line[:i]
		}
	}
	return line
}

func (c *conf) last(name string) *section {
	for i := len(c.Sections) - 1; i >= 0; i-- {
		if c.Sections[i].Name == name {
			return c.Sections[i]
		}
	}
	return nil
}

// named returns the non-template sections called name.
func (c *conf) named(name string) []*section {
	var out []*section
	for _, s := range c.Sections {
		if s.Name == name && !s.Template {
			out = append(out, s)
		}
	}
	return out
}

// template finds a section a header refers to by name; templates first.
func (c *conf) template(name string) *section {
	for _, s := range c.Sections {
		if s.Name == name && s.Template {
			return s
		}
	}
	return c.last(name)
}

// resolved returns the section's entries with those of its templates first,
// as Asterisk applies them.
func (c *conf) resolved(s *section) []entry {
	var out []entry
	var walk func(s *section, depth int)
	walk = func(s *section, depth int) {
		if depth > 10 {
			return
		}
		for _, t := range s.Inherits {
			if ts := c.template(t); ts != nil && ts != s {
				walk(ts, depth+1)
			}
		}
		out = append(out, s.Entries...)
	}
	walk(s, 0)
	return out
}

// get returns the last value of key in the resolved section.
func (c *conf) get(s *section, key string) (string, bool) {
	v, ok := "", false
	for _, e := range c.resolved(s) {
		if e.Key == key {
			v, ok = e.Value, true
		}
	}
	return v, ok
}

// values returns every value of key in the resolved section.
func (c *conf) values(s *section, key string) []string {
	var out []string
	for _, e := range c.resolved(s) {
		if e.Key == key {
			out = append(out, e.Value)
		}
	}
	return out
}

// ofType returns the non-template section name whose resolved type is typ
// (PJSIP: an endpoint, an auth and an aor may share a name).
func (c *conf) ofType(name, typ string) *section {
	for _, s := range c.named(name) {
		if t, _ := c.get(s, "type"); t == typ {
			return s
		}
	}
	return nil
}

// sectionValue is the last value of key in the first section called name.
func (c *conf) sectionValue(name, key string) (string, bool) {
	ss := c.named(name)
	if len(ss) == 0 {
		return "", false
	}
	return c.get(ss[0], key)
}

// ---------------------------------------------------------------------------
// The dialplan: contexts, extensions, priorities, and a small interpreter.
// ---------------------------------------------------------------------------

type step struct {
	Label string
	App   string // "Stasis"
	Args  string // "ivr"
	Line  int
}

type dialplan map[string]map[string][]step // context → extension → priorities in order

var priorityRe = regexp.MustCompile(`^(\d+|n)(?:\(([A-Za-z0-9_-]+)\))?$`)

func parseDialplan(c *conf) (dialplan, error) {
	dp := dialplan{}
	for _, s := range c.Sections {
		if s.Name == "general" || s.Name == "globals" {
			continue
		}
		exts := dp[s.Name]
		if exts == nil {
			exts = map[string][]step{}
			dp[s.Name] = exts
		}
		var last string
		for _, e := range s.Entries {
			var ext, rest string
			switch e.Key {
			case "exten":
				var ok bool
				if ext, rest, ok = strings.Cut(e.Value, ","); !ok {
					return nil, fmt.Errorf("%s:%d: exten without priority", c.File, e.Line)
				}
				ext = strings.TrimSpace(ext)
			case "same":
				if last == "" {
					return nil, fmt.Errorf("%s:%d: same => before any exten", c.File, e.Line)
				}
				ext, rest = last, e.Value
			default:
				continue // include =>, switch =>, ignorepat =>
			}
			prio, app, ok := strings.Cut(rest, ",")
			if !ok {
				return nil, fmt.Errorf("%s:%d: no application", c.File, e.Line)
			}
			m := priorityRe.FindStringSubmatch(strings.TrimSpace(prio))
			if m == nil {
				return nil, fmt.Errorf("%s:%d: priority %q", c.File, e.Line, prio)
			}
			if m[1] != "n" && m[1] != strconv.Itoa(len(exts[ext])+1) {
				return nil, fmt.Errorf("%s:%d: priority %s out of order (the test reader wants 1, n, n ...)", c.File, e.Line, m[1])
			}
			name, args, _ := strings.Cut(strings.TrimSpace(app), "(")
			args = strings.TrimSuffix(args, ")")
			exts[ext] = append(exts[ext], step{Label: m[2], App: name, Args: args, Line: e.Line})
			last = ext
		}
	}
	return dp, nil
}

// visit is one application the interpreter ran.
type visit struct {
	Context, Exten string
	App, Args      string
}

var varRe = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)

// run follows the dialplan from context,exten,1 the way Asterisk would for
// a channel with the given variables, until Hangup, the end of an
// extension, or a step limit. It understands Goto, GotoIf with conditions
// of the form $["${VAR}" = "VALUE"] (or !=) and Set(VAR=value); every other
// application just runs and returns (Stasis returns with the STASISSTATUS
// the caller gave).
func (dp dialplan) run(context, exten string, vars map[string]string) ([]visit, error) {
	var out []visit
	prio := 0
	for n := 0; n < 200; n++ {
		steps := dp[context][exten]
		if prio >= len(steps) {
			return out, nil // end of the extension: autofallthrough hangs up
		}
		s := steps[prio]
		args := varRe.ReplaceAllStringFunc(s.Args, func(m string) string { return vars[varRe.FindStringSubmatch(m)[1]] })
		out = append(out, visit{context, exten, s.App, args})
		prio++
		var target string
		switch strings.ToLower(s.App) {
		case "hangup":
			return out, nil
		case "set":
			k, v, _ := strings.Cut(args, "=")
			vars[strings.TrimSpace(k)] = v
		case "goto":
			target = args
		case "gotoif":
			cond, branches, ok := strings.Cut(s.Args, "?")
			if !ok {
				return out, fmt.Errorf("line %d: GotoIf without ?", s.Line)
			}
			yes, no, _ := strings.Cut(branches, ":")
			truth, err := evalCondition(cond, vars)
			if err != nil {
				return out, fmt.Errorf("line %d: %v", s.Line, err)
			}
			if truth {
				target = yes
			} else {
				target = no
			}
		}
		if target == "" {
			continue
		}
		c, e, p, err := dp.resolve(context, exten, target)
		if err != nil {
			return out, fmt.Errorf("line %d: %v", s.Line, err)
		}
		context, exten, prio = c, e, p
	}
	return out, fmt.Errorf("more than 200 steps from %s,%s: a loop?", context, exten)
}

var conditionRe = regexp.MustCompile(`^\$\[\s*"([^"]*)"\s*(=|!=)\s*"([^"]*)"\s*\]$`)

func evalCondition(cond string, vars map[string]string) (bool, error) {
	m := conditionRe.FindStringSubmatch(strings.TrimSpace(cond))
	if m == nil {
		return false, fmt.Errorf(`condition %q: the test understands only $["${VAR}" = "VALUE"] and !=`, cond)
	}
	sub := func(s string) string {
		return varRe.ReplaceAllStringFunc(s, func(v string) string { return vars[varRe.FindStringSubmatch(v)[1]] })
	}
	equal := sub(m[1]) == sub(m[3])
	return equal == (m[2] == "="), nil
}

// resolve turns a Goto target ([[context,]exten,]priority|label) into a
// position.
func (dp dialplan) resolve(context, exten, target string) (string, string, int, error) {
	parts := strings.Split(target, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	var prio string
	switch len(parts) {
	case 1:
		prio = parts[0]
	case 2:
		exten, prio = parts[0], parts[1]
	case 3:
		context, exten, prio = parts[0], parts[1], parts[2]
	default:
		return "", "", 0, fmt.Errorf("goto target %q", target)
	}
	steps, ok := dp[context][exten]
	if !ok {
		return "", "", 0, fmt.Errorf("goto %q: no extension %s in context %s", target, exten, context)
	}
	if n, err := strconv.Atoi(prio); err == nil {
		if n < 1 || n > len(steps) {
			return "", "", 0, fmt.Errorf("goto %q: no priority %d", target, n)
		}
		return context, exten, n - 1, nil
	}
	for i, s := range steps {
		if s.Label == prio {
			return context, exten, i, nil
		}
	}
	return "", "", 0, fmt.Errorf("goto %q: no label %q in %s,%s", target, prio, context, exten)
}

// ---------------------------------------------------------------------------
// Loading the real files.
// ---------------------------------------------------------------------------

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func loadConf(t *testing.T, name string) *conf {
	t.Helper()
	path := filepath.Join(asteriskDir, name)
	c, err := parseConf(path, read(t, path))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The operators' endpoints ivrd rings: operators[].endpoint of the YAML.
var yamlEndpoint = regexp.MustCompile(`PJSIP/(op\d+)`)

func yamlOperators(yaml string) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range yamlEndpoint.FindAllStringSubmatch(yaml, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			out = append(out, m[1])
		}
	}
	sort.Strings(out)
	return out
}

func report(t *testing.T, problems []string) {
	t.Helper()
	for _, p := range problems {
		t.Error(p)
	}
}

// ---------------------------------------------------------------------------
// The checks.
// ---------------------------------------------------------------------------

// checkHTTP: the HTTP server that carries ARI is on, on the port of ivrd's
// ARI_URL, with room for ivrd's connection pool.
func checkHTTP(c *conf, ariPort int) []string {
	var p []string
	if v, _ := c.sectionValue("general", "enabled"); v != "yes" {
		p = append(p, "http.conf: [general] enabled must be yes (ARI runs on Asterisk's HTTP server)")
	}
	port := strconv.Itoa(ariDefaultPort)
	if v, ok := c.sectionValue("general", "bindport"); ok {
		port = v
	}
	if port != strconv.Itoa(ariPort) {
		p = append(p, fmt.Sprintf("http.conf: bindport %s, but ivrd's ARI_URL uses port %d", port, ariPort))
	}
	if v, ok := c.sectionValue("general", "prefix"); ok && v != "" {
		p = append(p, fmt.Sprintf("http.conf: prefix %q would move ARI away from /ari", v))
	}
	limit := 100 // Asterisk's default
	if v, ok := c.sectionValue("general", "sessionlimit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			p = append(p, fmt.Sprintf("http.conf: sessionlimit %q is not a number", v))
		}
		limit = n
	}
	if limit <= ariMaxConns {
		p = append(p, fmt.Sprintf("http.conf: sessionlimit %d must exceed ivrd's pool of %d connections plus its WebSocket (requests past it hang)", limit, ariMaxConns))
	}
	return p
}

// checkARI: ARI is enabled and the user ivrd logs in with can control calls.
func checkARI(c *conf, user string) []string {
	var p []string
	if v, ok := c.sectionValue("general", "enabled"); ok && v != "yes" {
		p = append(p, "ari.conf: [general] enabled must be yes")
	}
	if len(c.named("general")) == 0 {
		p = append(p, "ari.conf: no [general] section")
	}
	if v, _ := c.sectionValue("general", "pretty"); v == "yes" {
		p = append(p, "ari.conf: pretty = yes wastes bytes on every event")
	}
	s := c.ofType(user, "user")
	if s == nil {
		return append(p, fmt.Sprintf("ari.conf: no [%s] with type = user (ARI_USERNAME)", user))
	}
	if pw, _ := c.get(s, "password"); pw == "" {
		p = append(p, fmt.Sprintf("ari.conf: [%s] has no password", user))
	}
	if ro, _ := c.get(s, "read_only"); ro == "yes" {
		p = append(p, fmt.Sprintf("ari.conf: [%s] is read_only: ivrd must answer, play and bridge", user))
	}
	return p
}

// checkStasisFallback: the toll-free number enters Stasis(ivr), and when
// Stasis returns - FAILED (ivrd not connected) or SUCCESS (ivrd draining,
// a plain /continue) - the caller reaches the fallback queue and then the
// mailbox, never a bare hang-up.
func checkStasisFallback(dp dialplan) []string {
	var p []string
	steps, ok := dp["from-pstn"][tollFree]
	if !ok {
		return []string{"extensions.conf: no extension " + tollFree + " in context from-pstn"}
	}
	stasis := slices.IndexFunc(steps, func(s step) bool { return s.App == "Stasis" })
	if stasis < 0 {
		return []string{"extensions.conf: " + tollFree + "@from-pstn never calls Stasis()"}
	}
	if app, _, _ := strings.Cut(steps[stasis].Args, ","); app != ariApp {
		p = append(p, fmt.Sprintf("extensions.conf: Stasis(%s), but ivrd's application is %q (ARI_APP)", steps[stasis].Args, ariApp))
	}
	if !slices.ContainsFunc(steps[stasis+1:], func(s step) bool {
		return strings.HasSuffix(s.App, "If") && strings.Contains(s.Args, "${STASISSTATUS}")
	}) {
		p = append(p, "extensions.conf: no GotoIf/ExecIf after Stasis() looks at ${STASISSTATUS}")
	}
	for _, status := range []string{"FAILED", "SUCCESS"} {
		visits, err := dp.run("from-pstn", tollFree, map[string]string{"EXTEN": tollFree, "STASISSTATUS": status})
		if err != nil {
			p = append(p, fmt.Sprintf("extensions.conf: STASISSTATUS=%s: %v", status, err))
			continue
		}
		at := slices.IndexFunc(visits, func(v visit) bool { return v.App == "Stasis" })
		if at < 0 {
			p = append(p, fmt.Sprintf("extensions.conf: with STASISSTATUS=%s the call never reaches Stasis(): %s", status, trace(visits)))
			continue
		}
		after := visits[at+1:]
		queue := slices.IndexFunc(after, func(v visit) bool {
			name, _, _ := strings.Cut(v.Args, ",")
			return v.App == "Queue" && name == fallbackQueue
		})
		mail := slices.IndexFunc(after, func(v visit) bool { return v.App == "VoiceMail" })
		switch {
		case queue < 0:
			p = append(p, fmt.Sprintf("extensions.conf: with STASISSTATUS=%s the caller never reaches Queue(%s): %s", status, fallbackQueue, trace(visits)))
		case mail < 0:
			p = append(p, fmt.Sprintf("extensions.conf: with STASISSTATUS=%s the caller never reaches VoiceMail() after the queue: %s", status, trace(visits)))
		case mail < queue:
			p = append(p, fmt.Sprintf("extensions.conf: with STASISSTATUS=%s VoiceMail() comes before the queue", status))
		}
	}
	return p
}

func trace(vs []visit) string {
	var s []string
	for _, v := range vs {
		s = append(s, fmt.Sprintf("%s,%s:%s(%s)", v.Context, v.Exten, v.App, v.Args))
	}
	return strings.Join(s, " → ")
}

// checkContinue: the context ivrd may continue calls into exists, and its
// default extension does not drop the caller.
func checkContinue(dp dialplan) []string {
	if _, ok := dp["ivr-continue"]["s"]; !ok {
		return []string{"extensions.conf: no context ivr-continue with extension s (POST /continue?context=ivr-continue&extension=s)"}
	}
	visits, err := dp.run("ivr-continue", "s", map[string]string{})
	if err != nil {
		return []string{"extensions.conf: ivr-continue,s: " + err.Error()}
	}
	if !slices.ContainsFunc(visits, func(v visit) bool { return v.App == "Queue" }) {
		return []string{"extensions.conf: ivr-continue,s does not reach the fallback queue: " + trace(visits)}
	}
	return nil
}

// checkFallbackTargets: the queue and the mailbox the dialplan uses exist.
func checkFallbackTargets(dp dialplan, queues, voicemail *conf) []string {
	var p []string
	for ctx, exts := range dp {
		for ext, steps := range exts {
			for _, s := range steps {
				arg, _, _ := strings.Cut(s.Args, ",")
				switch s.App {
				case "Queue":
					if len(queues.named(arg)) == 0 {
						p = append(p, fmt.Sprintf("extensions.conf:%d (%s,%s): Queue(%s) but queues.conf has no [%s]", s.Line, ctx, ext, arg, arg))
					}
				case "VoiceMail", "VoiceMailMain":
					box, vctx, _ := strings.Cut(arg, "@")
					if vctx == "" {
						vctx = "default"
					}
					if _, ok := voicemail.sectionValue(vctx, box); !ok {
						p = append(p, fmt.Sprintf("extensions.conf:%d (%s,%s): %s(%s) but voicemail.conf has no mailbox %s in [%s]", s.Line, ctx, ext, s.App, arg, box, vctx))
					}
				}
			}
		}
	}
	sort.Strings(p)
	return p
}

// checkOperators: every PJSIP/opNNN the YAML's groups ring is a complete
// PJSIP endpoint (endpoint + aor + auth) in the context operators, and a
// member of the fallback queue.
func checkOperators(ops []string, pjsip, queues *conf, dp dialplan) []string {
	var p []string
	if len(ops) == 0 {
		return []string{"helpdesk.yaml: no PJSIP/opNNN endpoint found (the regexp of this test is out of date?)"}
	}
	if _, ok := dp[operatorContext]; !ok {
		p = append(p, "extensions.conf: no context "+operatorContext+" for the operators' phones")
	}
	var members []string
	if q := queues.named(fallbackQueue); len(q) > 0 {
		for _, m := range queues.values(q[0], "member") {
			iface, _, _ := strings.Cut(m, ",")
			members = append(members, strings.TrimSpace(iface))
		}
	}
	for _, op := range ops {
		ep := pjsip.ofType(op, "endpoint")
		if ep == nil {
			p = append(p, fmt.Sprintf("pjsip.conf: no endpoint [%s] for PJSIP/%s of helpdesk.yaml", op, op))
			continue
		}
		if ctx, _ := pjsip.get(ep, "context"); ctx != operatorContext {
			p = append(p, fmt.Sprintf("pjsip.conf: endpoint %s has context %q, want %q", op, ctx, operatorContext))
		}
		aors, _ := pjsip.get(ep, "aors")
		if aors == "" {
			p = append(p, fmt.Sprintf("pjsip.conf: endpoint %s has no aors (the phone could not register)", op))
		}
		for _, a := range strings.Split(aors, ",") {
			if a = strings.TrimSpace(a); a != "" && pjsip.ofType(a, "aor") == nil {
				p = append(p, fmt.Sprintf("pjsip.conf: endpoint %s: aor %q is not defined", op, a))
			}
		}
		auth, _ := pjsip.get(ep, "auth")
		if as := pjsip.ofType(auth, "auth"); auth == "" || as == nil {
			p = append(p, fmt.Sprintf("pjsip.conf: endpoint %s has no auth section: anyone could register as it", op))
		} else if pw, _ := pjsip.get(as, "password"); pw == "" {
			p = append(p, fmt.Sprintf("pjsip.conf: auth %s has no password", auth))
		}
		if !slices.Contains(members, "PJSIP/"+op) {
			p = append(p, fmt.Sprintf("queues.conf: PJSIP/%s is not a member of [%s]: while ivrd is down nobody rings it", op, fallbackQueue))
		}
	}
	for _, m := range members {
		name, ok := strings.CutPrefix(m, "PJSIP/")
		if !ok || pjsip.ofType(name, "endpoint") == nil {
			p = append(p, fmt.Sprintf("queues.conf: member %s is not a PJSIP endpoint of pjsip.conf", m))
		}
	}
	return p
}

// checkTrunk: some endpoint brings calls into from-pstn, only the modules
// the service needs load (autoload = no), every one of required (the
// REQUIRED_MODULES of scripts/install-asterisk.sh) among them, and chan_sip
// is not there to compete for port 5060.
func checkTrunk(pjsip, modules *conf, required []string) []string {
	var p []string
	found := false
	for _, s := range pjsip.Sections {
		if s.Template {
			continue
		}
		if t, _ := pjsip.get(s, "type"); t == "endpoint" {
			if ctx, _ := pjsip.get(s, "context"); ctx == "from-pstn" {
				found = true
			}
		}
	}
	if !found {
		p = append(p, "pjsip.conf: no endpoint with context = from-pstn (the carrier's trunk)")
	}
	if v, _ := modules.sectionValue("modules", "autoload"); v != "no" {
		p = append(p, "modules.conf: autoload must be no (an explicit list: autoload starts ~300 modules, some 25 of them logging errors for files this service does not have)")
	}
	ms := modules.named("modules")
	if len(ms) == 0 {
		return append(p, "modules.conf: no [modules] section")
	}
	noload := modules.values(ms[0], "noload")
	loaded := append(modules.values(ms[0], "load"), modules.values(ms[0], "require")...)
	if slices.Contains(loaded, "chan_sip.so") {
		p = append(p, "modules.conf: chan_sip.so is loaded: it would take UDP 5060 from PJSIP")
	}
	if len(required) == 0 {
		p = append(p, "scripts/install-asterisk.sh: no REQUIRED_MODULES found (the regexp of this test is out of date?)")
	}
	for _, m := range required {
		if !slices.Contains(loaded, m+".so") {
			p = append(p, "modules.conf: "+m+".so does not load, but the service needs it (REQUIRED_MODULES of scripts/install-asterisk.sh)")
		}
	}
	for _, m := range append(required, "res_pjsip", "chan_pjsip", "res_http_websocket", "res_ari", "res_stasis",
		"app_stasis", "res_ari_channels", "res_ari_bridges", "res_ari_events", "res_stasis_playback",
		"res_stasis_recording", "app_queue", "app_voicemail", "res_musiconhold") {
		if slices.Contains(noload, m+".so") {
			p = append(p, "modules.conf: noload = "+m+".so, which the service needs")
		}
	}
	return p
}

var requiredModulesRE = regexp.MustCompile(`(?s)\nREQUIRED_MODULES=\(([^)]*)\)`)

// requiredModules reads REQUIRED_MODULES=(...) of the install script: the
// modules its build must have, which modules.conf must load.
func requiredModules(script string) []string {
	m := requiredModulesRE.FindStringSubmatch(script)
	if m == nil {
		return nil
	}
	return strings.Fields(m[1])
}

// checkSIPSecurity: the toll-fraud rules the real-Asterisk test
// (internal/sipsecurity) proves, checked on the files so that a copy
// edited for a deployment fails here first. Operator endpoints take
// requests and contacts only from a named ACL that denies everything but
// permitted networks; the trunk is identified by address only; and no
// Dial() in the dialplan goes anywhere but an operator's phone.
func checkSIPSecurity(pjsip, acl *conf, dp dialplan) []string {
	var p []string
	for _, s := range pjsip.Sections {
		if s.Template {
			continue
		}
		if t, _ := pjsip.get(s, "type"); t != "endpoint" {
			continue
		}
		if s.Name == "anonymous" {
			p = append(p, "pjsip.conf: an endpoint [anonymous] takes every unidentified call")
		}
		switch ctx, _ := pjsip.get(s, "context"); ctx {
		case "from-pstn":
			if by, _ := pjsip.get(s, "identify_by"); by != "ip" {
				p = append(p, fmt.Sprintf("pjsip.conf: endpoint %s (the trunk) has identify_by %q, want ip: with username anyone sending From: %s is the trunk", s.Name, by, s.Name))
			}
		case operatorContext:
			for _, key := range []string{"acl", "contact_acl"} {
				name, _ := pjsip.get(s, key)
				if name == "" {
					p = append(p, fmt.Sprintf("pjsip.conf: endpoint %s has no %s: it registers from anywhere", s.Name, key))
					continue
				}
				p = append(p, checkACL(acl, name)...)
			}
		}
	}
	for ctx, exts := range dp {
		for ext, steps := range exts {
			for _, st := range steps {
				if st.App == "Dial" && !strings.HasPrefix(st.Args, "PJSIP/op") {
					p = append(p, fmt.Sprintf("extensions.conf:%d (%s,%s): Dial(%s): only operators' phones may be dialled", st.Line, ctx, ext, st.Args))
				}
			}
		}
	}
	sort.Strings(p)
	return slices.Compact(p)
}

// checkACL: acl.conf has the section, denying everything first and then
// permitting networks smaller than everything.
func checkACL(acl *conf, name string) []string {
	ss := acl.named(name)
	if len(ss) == 0 {
		return []string{fmt.Sprintf("acl.conf: no [%s]", name)}
	}
	var p []string
	entries := ss[0].Entries
	if len(entries) == 0 || entries[0].Key != "deny" || (entries[0].Value != "0.0.0.0/0.0.0.0" && entries[0].Value != "0.0.0.0/0") {
		p = append(p, fmt.Sprintf("acl.conf: [%s] must start with deny = 0.0.0.0/0.0.0.0", name))
	}
	permits := 0
	for _, e := range entries {
		if e.Key == "permit" {
			permits++
			if strings.HasPrefix(e.Value, "0.0.0.0/") {
				p = append(p, fmt.Sprintf("acl.conf:%d: [%s] permits %s: everybody", e.Line, name, e.Value))
			}
		}
	}
	if permits == 0 {
		p = append(p, fmt.Sprintf("acl.conf: [%s] permits no network", name))
	}
	return p
}

// checkMedia: the RTP range carries 900 channels with headroom and music on hold has the
// class ivrd asks for.
func checkMedia(rtp, moh *conf) []string {
	var p []string
	start, err1 := strconv.Atoi(first(rtp.sectionValue("general", "rtpstart")))
	end, err2 := strconv.Atoi(first(rtp.sectionValue("general", "rtpend")))
	switch {
	case err1 != nil || err2 != nil:
		p = append(p, "rtp.conf: rtpstart and rtpend must be set")
	case end-start+1 < minRTPPorts:
		p = append(p, fmt.Sprintf("rtp.conf: %d-%d is %d ports; at least %d are needed for 900 concurrent channels with headroom", start, end, end-start+1, minRTPPorts))
	}
	if len(moh.named(mohClass)) == 0 {
		p = append(p, fmt.Sprintf("musiconhold.conf: no class [%s] (ivrd starts it on the waiting caller's bridge)", mohClass))
	}
	return p
}

func first(s string, _ bool) string { return s }

// checkLogging: no verbose or debug output in production
// (shared/ari/PERFORMANCE.md: verbose = 3 costs ~20 % of the capacity).
func checkLogging(asterisk, logger *conf) []string {
	var p []string
	for _, k := range []string{"verbose", "debug"} {
		if v, ok := asterisk.sectionValue("options", k); ok && v != "0" {
			p = append(p, fmt.Sprintf("asterisk.conf: %s = %s; production runs with 0", k, v))
		}
	}
	if ss := logger.named("logfiles"); len(ss) > 0 {
		for _, e := range ss[0].Entries {
			for _, level := range strings.Split(e.Value, ",") {
				if l := strings.TrimSpace(level); strings.HasPrefix(l, "verbose") || l == "debug" {
					p = append(p, fmt.Sprintf("logger.conf:%d: %s logs %q", e.Line, e.Key, l))
				}
			}
		}
	}
	return p
}

var (
	composeAsteriskMount = regexp.MustCompile(`(?m)^\s*-\s*"?\./configs/asterisk/?:/etc/asterisk(:ro)?"?\s*$`)
	composeARIURL        = regexp.MustCompile(`(?m)^\s*ARI_URL:\s*"?https?://[^:/"\s]+:(\d+)/ari/?"?\s*$`)
	composeARIUser       = regexp.MustCompile(`(?m)^\s*ARI_USERNAME:\s*"?([^"\s]+)"?\s*$`)
	composeARIApp        = regexp.MustCompile(`(?m)^\s*ARI_APP:\s*"?([^"\s]+)"?\s*$`)
)

// checkCompose: docker-compose.yml gives Asterisk this configuration and
// gives ivrd the URL, user and application that match it. It returns the
// ARI port of ARI_URL too.
func checkCompose(compose string) ([]string, int) {
	var p []string
	if !composeAsteriskMount.MatchString(compose) {
		p = append(p, "docker-compose.yml: ./configs/asterisk is not mounted at /etc/asterisk")
	}
	port := ariDefaultPort
	if m := composeARIURL.FindStringSubmatch(compose); m == nil {
		p = append(p, "docker-compose.yml: no ARI_URL like http://HOST:PORT/ari for ivrd")
	} else {
		port, _ = strconv.Atoi(m[1])
	}
	if m := composeARIUser.FindStringSubmatch(compose); m == nil || m[1] != ariUser {
		p = append(p, fmt.Sprintf("docker-compose.yml: ARI_USERNAME must be %q (the user of ari.conf)", ariUser))
	}
	if m := composeARIApp.FindStringSubmatch(compose); m != nil && m[1] != ariApp {
		p = append(p, fmt.Sprintf("docker-compose.yml: ARI_APP %q, but the dialplan runs Stasis(%s)", m[1], ariApp))
	}
	return p, port
}

// checkComposeAsterisk: docker-compose.yml builds Asterisk with the
// project's recipe (docker/asterisk/Dockerfile, on Debian bookworm, running
// scripts/install-asterisk.sh) rather than running someone's image; starts
// it only after `ivrctl validate -asterisk` accepted its secrets; and every
// variable it requires from .env is one scripts/compose-secrets.sh makes.
func checkComposeAsterisk(compose, dockerfile, secretsScript string) []string {
	var p []string
	var doc struct {
		Services map[string]struct {
			Image string `yaml:"image"`
			Build any    `yaml:"build"`
			// depends_on: a list or a map of conditions.
			DependsOn any      `yaml:"depends_on"`
			Command   []string `yaml:"command"`
			Volumes   []string `yaml:"volumes"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal([]byte(compose), &doc); err != nil {
		return []string{"docker-compose.yml: " + err.Error()}
	}
	ast, ok := doc.Services["asterisk"]
	if !ok {
		return []string{"docker-compose.yml: no service asterisk"}
	}
	build, _ := ast.Build.(map[string]any)
	if build["dockerfile"] != "docker/asterisk/Dockerfile" || build["context"] != "." {
		p = append(p, "docker-compose.yml: asterisk must be built from docker/asterisk/Dockerfile (context .), not pulled")
	}
	if !strings.HasPrefix(ast.Image, "helpdesk-ivr/") {
		p = append(p, fmt.Sprintf("docker-compose.yml: asterisk's image %q is not the project's own build", ast.Image))
	}
	deps, _ := ast.DependsOn.(map[string]any)
	cond, _ := deps["asterisk-secrets"].(map[string]any)
	if cond["condition"] != "service_completed_successfully" {
		p = append(p, "docker-compose.yml: asterisk must depend on asterisk-secrets with condition service_completed_successfully")
	}
	sec, ok := doc.Services["asterisk-secrets"]
	if !ok || !slices.Equal(sec.Command, []string{"ivrctl", "validate", "-asterisk", "/etc/asterisk"}) ||
		!slices.Contains(sec.Volumes, "./configs/asterisk:/etc/asterisk:ro") {
		p = append(p, "docker-compose.yml: asterisk-secrets must run ivrctl validate -asterisk /etc/asterisk on ./configs/asterisk:/etc/asterisk:ro")
	}
	if strings.Contains(compose, "andrius/") {
		p = append(p, "docker-compose.yml: still names the third-party andrius/asterisk image")
	}
	if strings.Contains(compose, "10000-11999") {
		p = append(p, "docker-compose.yml: RTP 10000-11999 is not rtp.conf's range")
	}
	from := regexp.MustCompile(`(?m)^FROM\s+(\S+)`).FindAllStringSubmatch(dockerfile, -1)
	if len(from) == 0 || from[0][1] != "debian:bookworm" {
		p = append(p, "docker/asterisk/Dockerfile: the build stage must be FROM debian:bookworm (the Debian the recipe is tested on)")
	}
	if !regexp.MustCompile(`(?m)^COPY\s+scripts/install-asterisk\.sh\s`).MatchString(dockerfile) ||
		!strings.Contains(dockerfile, "$(bash scripts/install-asterisk.sh)") {
		p = append(p, "docker/asterisk/Dockerfile: does not build with scripts/install-asterisk.sh")
	}
	for _, m := range regexp.MustCompile(`\$\{([A-Z_]+):\?`).FindAllStringSubmatch(compose, -1) {
		if !regexp.MustCompile(`(?m)\b` + m[1] + `\b`).MatchString(secretsScript) {
			p = append(p, "docker-compose.yml: requires "+m[1]+" in .env, which scripts/compose-secrets.sh does not generate")
		}
	}
	return slices.Compact(p)
}

// ---------------------------------------------------------------------------
// The tests on the real files.
// ---------------------------------------------------------------------------

func TestAsteriskConfigsParse(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(asteriskDir, "*.conf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no .conf files in %s: %v", asteriskDir, err)
	}
	for _, f := range files {
		if _, err := parseConf(f, read(t, f)); err != nil {
			t.Error(err)
		}
	}
}

func TestHTTPAndARI(t *testing.T) {
	problems, port := checkCompose(read(t, composeFile))
	report(t, problems)
	report(t, checkHTTP(loadConf(t, "http.conf"), port))
	report(t, checkARI(loadConf(t, "ari.conf"), ariUser))
}

func TestComposeBuildsAsterisk(t *testing.T) {
	report(t, checkComposeAsterisk(read(t, composeFile), read(t, asteriskDockerfile), read(t, secretsScript)))
}

func TestDialplanStasisAndFallback(t *testing.T) {
	dp, err := parseDialplan(loadConf(t, "extensions.conf"))
	if err != nil {
		t.Fatal(err)
	}
	report(t, checkStasisFallback(dp))
	report(t, checkContinue(dp))
	report(t, checkFallbackTargets(dp, loadConf(t, "queues.conf"), loadConf(t, "voicemail.conf")))
}

func TestCallbackAMDContext(t *testing.T) {
	dp, err := parseDialplan(loadConf(t, "extensions.conf"))
	if err != nil {
		t.Fatal(err)
	}
	report(t, checkCallbackAMD(dp, loadConf(t, "modules.conf"), read(t, helpdeskYAML)))
}

// checkCallbackAMD: when helpdesk.yaml detects voicemail on callbacks,
// the context ivrd originates into runs AMD() and then hands the call to
// ivrd's application with its arguments and the verdict, and app_amd loads.
func checkCallbackAMD(dp dialplan, modules *conf, helpdesk string) []string {
	if !strings.Contains(helpdesk, "detect_voicemail: true") {
		return nil
	}
	ctx := "ivr-callback-amd"
	if m := regexp.MustCompile(`amd_context:\s*"?([\w-]+)`).FindStringSubmatch(helpdesk); m != nil {
		ctx = m[1]
	}
	var p []string
	if !slices.Contains(modules.values(modules.last("modules"), "load"), "app_amd.so") {
		p = append(p, "modules.conf: app_amd.so does not load, but "+helpdeskYAML+" detects voicemail on callbacks")
	}
	steps, ok := dp[ctx]["s"]
	if !ok {
		return append(p, fmt.Sprintf("extensions.conf: no context %s with extension s (callback.detect_voicemail)", ctx))
	}
	amd := slices.IndexFunc(steps, func(s step) bool { return s.App == "AMD" })
	stasis := slices.IndexFunc(steps, func(s step) bool { return s.App == "Stasis" })
	switch {
	case amd < 0:
		p = append(p, fmt.Sprintf("extensions.conf: %s,s never runs AMD()", ctx))
	case stasis < amd:
		p = append(p, fmt.Sprintf("extensions.conf: %s,s does not call Stasis() after AMD()", ctx))
	case steps[stasis].Args != "${IVR_APP},${IVR_ARGS},${AMDSTATUS},${AMDCAUSE}":
		p = append(p, fmt.Sprintf("extensions.conf: %s,s: Stasis(%s), want Stasis(${IVR_APP},${IVR_ARGS},${AMDSTATUS},${AMDCAUSE})", ctx, steps[stasis].Args))
	}
	return p
}

func TestOperatorsOfTheYAMLExistInAsterisk(t *testing.T) {
	dp, err := parseDialplan(loadConf(t, "extensions.conf"))
	if err != nil {
		t.Fatal(err)
	}
	ops := yamlOperators(read(t, helpdeskYAML))
	t.Logf("operators in %s: %s", helpdeskYAML, strings.Join(ops, " "))
	report(t, checkOperators(ops, loadConf(t, "pjsip.conf"), loadConf(t, "queues.conf"), dp))
}

func TestTrunkAndModules(t *testing.T) {
	report(t, checkTrunk(loadConf(t, "pjsip.conf"), loadConf(t, "modules.conf"), requiredModules(read(t, installScript))))
}

func TestSIPSecurity(t *testing.T) {
	dp, err := parseDialplan(loadConf(t, "extensions.conf"))
	if err != nil {
		t.Fatal(err)
	}
	report(t, checkSIPSecurity(loadConf(t, "pjsip.conf"), loadConf(t, "acl.conf"), dp))
}

func TestMediaAndLogging(t *testing.T) {
	report(t, checkMedia(loadConf(t, "rtp.conf"), loadConf(t, "musiconhold.conf")))
	report(t, checkLogging(loadConf(t, "asterisk.conf"), loadConf(t, "logger.conf")))
}

var exactLe = regexp.MustCompile(`le="[^"]*"`)

// TestGrafanaDashboard: the provisioned dashboard is valid JSON, every
// panel queries the provisioned data source, and the metrics the brief
// names are on it.
func TestGrafanaDashboard(t *testing.T) {
	var d struct {
		UID    string `json:"uid"`
		Panels []struct {
			Title      string `json:"title"`
			Type       string `json:"type"`
			Datasource *struct {
				UID string `json:"uid"`
			} `json:"datasource"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal([]byte(read(t, dashboard)), &d); err != nil {
		t.Fatalf("%s: %v", dashboard, err)
	}
	ds := read(t, "grafana/provisioning/datasources/prometheus.yml")
	var exprs []string
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || !strings.Contains(ds, "uid: "+p.Datasource.UID) {
			t.Errorf("panel %q: its data source is not the provisioned one", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	all := strings.Join(exprs, "\n")
	// Prometheus 3 stores a bucket's le as "30.0" where ivrd writes "30":
	// an exact match finds nothing there.
	if m := exactLe.FindString(all); m != "" {
		t.Errorf("%s: %s matches one spelling of the bucket only; use le=~\"30(\\\\.0)?\"", dashboard, m)
	}
	for _, m := range []string{"ivr_active_calls", "ivr_calls_total", "ivr_menu_selections_total", "ivr_pin_failures_total",
		"ivr_pin_lockouts_total", "ivr_ari_request_duration_seconds_bucket", "ivr_ari_connected", "ivr_ari_websocket_reconnects_total",
		"ivr_queue_callers_waiting", "ivr_queue_longest_wait_seconds", "ivr_queue_time_to_answer_seconds_bucket", "ivr_queue_abandoned_total", "ivr_queue_operators"} {
		if !strings.Contains(all, m) {
			t.Errorf("%s: no panel shows %s", dashboard, m)
		}
	}
}

// ---------------------------------------------------------------------------
// The checks must be able to fail: each broken copy must be caught.
// ---------------------------------------------------------------------------

func TestChecksCatch(t *testing.T) {
	mustConf := func(name, text string) *conf {
		c, err := parseConf(name, text)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	load := func(name string) string { return read(t, filepath.Join(asteriskDir, name)) }
	mustDialplan := func(text string) dialplan {
		dp, err := parseDialplan(mustConf("extensions.conf", text))
		if err != nil {
			t.Fatal(err)
		}
		return dp
	}
	expect := func(what string, problems []string, want string) {
		t.Helper()
		for _, p := range problems {
			if strings.Contains(p, want) {
				return
			}
		}
		t.Errorf("%s: want a problem containing %q, got %q", what, want, problems)
	}
	replace := func(text, old, new string) string {
		t.Helper()
		if !strings.Contains(text, old) {
			t.Fatalf("the fixture no longer contains %q: update this test", old)
		}
		return strings.Replace(text, old, new, 1)
	}

	ext := load("extensions.conf")
	queues, voicemail := mustConf("queues.conf", load("queues.conf")), mustConf("voicemail.conf", load("voicemail.conf"))
	pjsip := load("pjsip.conf")
	yaml := read(t, helpdeskYAML)

	// http.conf and ari.conf.
	http := load("http.conf")
	expect("HTTP server off", checkHTTP(mustConf("http.conf", replace(http, "enabled = yes", "enabled = no")), ariDefaultPort), "enabled must be yes")
	expect("other port", checkHTTP(mustConf("http.conf", replace(http, "bindport = 8088", "bindport = 8089")), ariDefaultPort), "bindport 8089")
	expect("sessionlimit = pool", checkHTTP(mustConf("http.conf", replace(http, "sessionlimit = 500", "sessionlimit = 64")), ariDefaultPort), "sessionlimit 64")
	ari := load("ari.conf")
	expect("no ivr user", checkARI(mustConf("ari.conf", replace(ari, "[ivr]", "[someone]")), ariUser), "no [ivr]")
	expect("no password", checkARI(mustConf("ari.conf", replace(ari, "password = change-me-ari-password", "")), ariUser), "no password")
	expect("read-only user", checkARI(mustConf("ari.conf", replace(ari, "read_only = no", "read_only = yes")), ariUser), "read_only")
	expect("ARI disabled", checkARI(mustConf("ari.conf", replace(ari, "enabled = yes", "enabled = no")), ariUser), "enabled must be yes")

	// Callbacks with voicemail detection.
	yml := "callback: {enabled: true, detect_voicemail: true}\n"
	expect("no AMD context", checkCallbackAMD(mustDialplan(replace(ext, "[ivr-callback-amd]", "[ivr-callback]")), mustConf("modules.conf", load("modules.conf")), yml),
		"no context ivr-callback-amd")
	expect("no AMD()", checkCallbackAMD(mustDialplan(replace(ext, "exten => s,1,AMD()", "exten => s,1,NoOp()")), mustConf("modules.conf", load("modules.conf")), yml),
		"never runs AMD()")
	expect("verdict not passed", checkCallbackAMD(mustDialplan(replace(ext, ",${AMDSTATUS},${AMDCAUSE})", ")")), mustConf("modules.conf", load("modules.conf")), yml),
		"want Stasis(${IVR_APP}")
	expect("app_amd not loaded", checkCallbackAMD(mustDialplan(ext), mustConf("modules.conf", replace(load("modules.conf"), "load = app_amd.so\n", "")), yml),
		"app_amd.so does not load")

	// The dialplan.
	expect("no Stasis", checkStasisFallback(mustDialplan(replace(ext, "same => n,Stasis(ivr)", "same => n,NoOp(ivr)"))), "never calls Stasis")
	expect("other app", checkStasisFallback(mustDialplan(replace(ext, "Stasis(ivr)", "Stasis(other)"))), "Stasis(other)")
	expect("FAILED hangs up", checkStasisFallback(mustDialplan(replace(ext, "same => n,Goto(helpdesk-fallback,unavailable,1)", "same => n,Hangup()"))),
		"STASISSTATUS=FAILED the caller never reaches Queue")
	expect("SUCCESS hangs up", checkStasisFallback(mustDialplan(replace(ext, "same => n(handover),Goto(helpdesk-fallback,handover,1)", "same => n(handover),Hangup()"))),
		"STASISSTATUS=SUCCESS the caller never reaches Queue")
	expect("no voicemail", checkStasisFallback(mustDialplan(replace(ext, "same => n,VoiceMail(800@helpdesk)", "same => n,NoOp()"))), "never reaches VoiceMail")
	expect("status ignored", checkStasisFallback(mustDialplan(replace(ext, `same => n,GotoIf($["${STASISSTATUS}" = "SUCCESS"]?handover)`, "same => n,NoOp()"))),
		"looks at ${STASISSTATUS}")
	expect("complex condition", checkStasisFallback(mustDialplan(replace(ext, `$["${STASISSTATUS}" = "SUCCESS"]`, `$[${STASISSTATUS} = SUCCESS]`))), "the test understands only")
	expect("no ivr-continue", checkContinue(mustDialplan(replace(ext, "[ivr-continue]", "[ivr-continued]"))), "no context ivr-continue")
	expect("unknown queue", checkFallbackTargets(mustDialplan(replace(ext, "Queue(helpdesk-fallback,", "Queue(helpdesk-fallbak,")), queues, voicemail), "no [helpdesk-fallbak]")
	expect("unknown mailbox", checkFallbackTargets(mustDialplan(replace(ext, "VoiceMail(800@helpdesk)", "VoiceMail(801@helpdesk)")), queues, voicemail), "no mailbox 801")

	// Operators: a phone added to the YAML only, or half-configured. The
	// operators are taken from the YAML, so editing its groups does not
	// break this test.
	dp := mustDialplan(ext)
	ops := yamlOperators(yaml)
	if len(ops) < 3 {
		t.Fatalf("%s: want at least 3 operators for these cases, have %v", helpdeskYAML, ops)
	}
	added := strings.Replace(yaml, "\noperators:\n", "\noperators:\n  - {login: op998, name: New, endpoint: PJSIP/op998, groups: {lotto2: 0}}\n", 1)
	expect("operator only in the YAML", checkOperators(yamlOperators(added), mustConf("pjsip.conf", pjsip), queues, dp), "no endpoint [op998]")
	expect("operator without auth", checkOperators(ops, mustConf("pjsip.conf", replace(pjsip, "auth = "+ops[0]+"\n", "")), queues, dp), ops[0]+" has no auth")
	expect("operator without aor", checkOperators(ops, mustConf("pjsip.conf", replace(pjsip, "["+ops[1]+"](operator-aor)", "")), queues, dp), `aor "`+ops[1]+`" is not defined`)
	expect("operator wrong context", checkOperators(ops, mustConf("pjsip.conf", replace(pjsip, "["+ops[2]+"](operator-endpoint)", "["+ops[2]+"](carrier-endpoint)")), queues, dp),
		ops[2]+` has context "from-pstn"`)
	dropped := regexp.MustCompile(`(?m)^member => PJSIP/`+ops[0]+`\b.*\n`).ReplaceAllString(load("queues.conf"), "")
	expect("operator not in the queue", checkOperators(ops, mustConf("pjsip.conf", pjsip), mustConf("queues.conf", dropped), dp), "PJSIP/"+ops[0]+" is not a member")
	expect("queue member unknown", checkOperators(ops, mustConf("pjsip.conf", pjsip),
		mustConf("queues.conf", load("queues.conf")+"member => PJSIP/op999\n"), dp), "member PJSIP/op999")
	expect("YAML without operators", checkOperators(nil, mustConf("pjsip.conf", pjsip), queues, dp), "no PJSIP/opNNN")

	// Trunk and modules.
	modules := mustConf("modules.conf", load("modules.conf"))
	required := requiredModules(read(t, installScript))
	expect("no trunk", checkTrunk(mustConf("pjsip.conf", strings.ReplaceAll(pjsip, "context = from-pstn", "context = elsewhere")), modules, required), "context = from-pstn")
	expect("chan_sip loaded", checkTrunk(mustConf("pjsip.conf", pjsip), mustConf("modules.conf", load("modules.conf")+"load = chan_sip.so\n"), required), "chan_sip")
	expect("ARI noloaded", checkTrunk(mustConf("pjsip.conf", pjsip), mustConf("modules.conf", load("modules.conf")+"noload = res_ari.so\n"), required), "noload = res_ari.so")
	expect("autoload", checkTrunk(mustConf("pjsip.conf", pjsip), mustConf("modules.conf", replace(load("modules.conf"), "\nautoload = no\n", "\nautoload = yes\n")), required), "autoload must be no")
	expect("required module not loaded", checkTrunk(mustConf("pjsip.conf", pjsip), mustConf("modules.conf", replace(load("modules.conf"), "load = app_voicemail.so\n", "")), required), "app_voicemail.so does not load")
	expect("script's list not found", checkTrunk(mustConf("pjsip.conf", pjsip), modules, requiredModules("REQUIRED=(x)")), "no REQUIRED_MODULES")

	// SIP security.
	acl := mustConf("acl.conf", load("acl.conf"))
	expect("operators from anywhere", checkSIPSecurity(mustConf("pjsip.conf", replace(pjsip, "\nacl = operator-phones\n", "\n")), acl, dp), "has no acl")
	expect("contacts anywhere", checkSIPSecurity(mustConf("pjsip.conf", replace(pjsip, "\ncontact_acl = operator-phones\n", "\n")), acl, dp), "has no contact_acl")
	expect("ACL permits all", checkSIPSecurity(mustConf("pjsip.conf", pjsip), mustConf("acl.conf", replace(load("acl.conf"), "permit = 192.168.0.0/255.255.0.0", "permit = 0.0.0.0/0.0.0.0")), dp), "everybody")
	expect("ACL without deny", checkSIPSecurity(mustConf("pjsip.conf", pjsip), mustConf("acl.conf", replace(load("acl.conf"), "deny = 0.0.0.0/0.0.0.0", "")), dp), "must start with deny")
	expect("unknown ACL", checkSIPSecurity(mustConf("pjsip.conf", strings.ReplaceAll(pjsip, "acl = operator-phones", "acl = phones")), acl, dp), "no [phones]")
	expect("trunk by username", checkSIPSecurity(mustConf("pjsip.conf", replace(pjsip, "identify_by = ip", "identify_by = username,ip")), acl, dp), `identify_by "username,ip"`)
	expect("dial out", checkSIPSecurity(mustConf("pjsip.conf", pjsip), acl, mustDialplan(replace(ext, "exten => *98,", "exten => _0X.,1,Dial(PJSIP/${EXTEN}@carrier)\nexten => *98,"))), "Dial(PJSIP/${EXTEN}@carrier)")
	expect("anonymous endpoint", checkSIPSecurity(mustConf("pjsip.conf", pjsip+"\n[anonymous](carrier-endpoint)\n"), acl, dp), "[anonymous]")

	// Media and logging.
	moh := mustConf("musiconhold.conf", load("musiconhold.conf"))
	expect("narrow RTP range", checkMedia(mustConf("rtp.conf", replace(load("rtp.conf"), "rtpend = 19999", "rtpend = 11999")), moh), "2000 ports")
	expect("no default MOH", checkMedia(mustConf("rtp.conf", load("rtp.conf")), mustConf("musiconhold.conf", replace(load("musiconhold.conf"), "[default]", "[jazz]"))), "no class [default]")
	logger := mustConf("logger.conf", load("logger.conf"))
	expect("verbose 3", checkLogging(mustConf("asterisk.conf", replace(load("asterisk.conf"), "verbose = 0", "verbose = 3")), logger), "verbose = 3")
	expect("verbose log", checkLogging(mustConf("asterisk.conf", load("asterisk.conf")),
		mustConf("logger.conf", replace(load("logger.conf"), "messages.log => notice,warning,error", "messages.log => notice,warning,error,verbose"))), `logs "verbose"`)

	// docker-compose.yml.
	compose := read(t, composeFile)
	p, _ := checkCompose(strings.ReplaceAll(compose, "./configs/asterisk:/etc/asterisk:ro", "./asterisk:/etc/asterisk:ro"))
	expect("configs not mounted", p, "not mounted at /etc/asterisk")
	_, port := checkCompose(replace(compose, "ARI_URL: http://127.0.0.1:8088/ari", "ARI_URL: http://127.0.0.1:8089/ari"))
	expect("ARI_URL port", checkHTTP(mustConf("http.conf", http), port), "port 8089")
	p, _ = checkCompose(replace(compose, "ARI_USERNAME: ivr", "ARI_USERNAME: admin"))
	expect("ARI user", p, "ARI_USERNAME")

	dockerfile, script := read(t, asteriskDockerfile), read(t, secretsScript)
	expect("third-party image", checkComposeAsterisk(replace(compose, "\n    image: helpdesk-ivr/asterisk:20.20.1", "\n    image: andrius/asterisk:20"), dockerfile, script), "not the project's own build")
	expect("not built", checkComposeAsterisk(replace(compose, "dockerfile: docker/asterisk/Dockerfile", "dockerfile: Dockerfile"), dockerfile, script), "must be built from docker/asterisk/Dockerfile")
	expect("secrets unchecked", checkComposeAsterisk(replace(compose, "asterisk-secrets:\n        condition: service_completed_successfully", "asterisk-secrets:\n        condition: service_started"), dockerfile, script), "asterisk-secrets with condition")
	expect("old RTP range", checkComposeAsterisk(replace(compose, "RTP (UDP 10000-19999)", "RTP (UDP 10000-11999)"), dockerfile, script), "10000-11999")
	expect("other Debian", checkComposeAsterisk(compose, replace(dockerfile, "FROM debian:bookworm AS build", "FROM ubuntu:24.04 AS build"), script), "FROM debian:bookworm")
	expect("no recipe", checkComposeAsterisk(compose, replace(dockerfile, "$(bash scripts/install-asterisk.sh)", "$(make install)"), script), "scripts/install-asterisk.sh")
	expect("secret not generated", checkComposeAsterisk(replace(compose, "${GRAFANA_ADMIN_PASSWORD:?", "${GRAFANA_PASSWORD:?"), dockerfile, script), "GRAFANA_PASSWORD")
	expect("bad YAML", checkComposeAsterisk(compose+"\n  x: [\n", dockerfile, script), "docker-compose.yml: yaml")

	// The reader itself.
	if _, err := parseConf("x.conf", "[a]\n#include other.conf\n"); err == nil {
		t.Error("parseConf follows no #include, so it must refuse one")
	}
	c := mustConf("x.conf", "[t](!)\ntype = endpoint\ncontext = a ; comment\n[x](t)\ncontext = b\n[x](+)\nallow = alaw\n")
	if got, _ := c.get(c.named("x")[0], "context"); got != "b" {
		t.Errorf("own value must win over the template's: got %q", got)
	}
	if got, _ := c.get(c.named("x")[0], "allow"); got != "alaw" {
		t.Errorf("[x](+) must append to [x]: got %q", got)
	}
	if c.ofType("t", "endpoint") != nil {
		t.Error("a template is not an object")
	}
}
