package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/helpdesk-ivr/ivr/hours"
	"github.com/helpdesk-ivr/ivr/internal/configfile"
	"github.com/helpdesk-ivr/ivr/menu"
)

func init() {
	register("validate", "check a configuration: every problem as FILE:LINE:COL: message", cmdValidate)
	register("hours", "is the service open at a given time? one JSON object", cmdHours)
	register("menu", "print the menu tree for review", cmdMenu)
	register("pin hash", "read a PIN on stdin, print its keyed hash for the configuration", cmdPINHash)
}

func newFlags(e env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("ivrctl "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// loadConfig prints the problems of a bad configuration and returns nil.
func loadConfig(e env, path string) *menu.Config {
	if path == "" {
		fmt.Fprintln(e.stderr, "ivrctl: -config FILE is required")
		return nil
	}
	cfg, err := configfile.Load(path)
	var problems menu.Problems
	switch {
	case errors.As(err, &problems):
		for _, p := range problems {
			fmt.Fprintln(e.stderr, p.String())
		}
		return nil
	case err != nil:
		fmt.Fprintln(e.stderr, "ivrctl: "+err.Error())
		return nil
	}
	return cfg
}

func cmdValidate(e env, args []string) int {
	fs := newFlags(e, "validate")
	path := fs.String("config", "", "configuration file")
	astDir := fs.String("asterisk", "", "also check the secrets of an Asterisk configuration directory (e.g. /etc/asterisk): no shipped placeholder, none short or guessable")
	kamDir := fs.String("kamailio", "", "also check the phones' passwords of a Kamailio configuration directory (e.g. /etc/kamailio: its dbtext/subscriber)")
	if fs.Parse(args) != nil {
		return 2
	}
	for _, c := range []struct {
		dir     string
		secrets func(string) ([]string, error)
	}{{*astDir, secretProblems}, {*kamDir, kamailioSecretProblems}} {
		if c.dir == "" {
			continue
		}
		problems, err := c.secrets(c.dir)
		if err != nil {
			return fail(e, "%v", err)
		}
		for _, p := range problems {
			fmt.Fprintln(e.stderr, p)
		}
		if len(problems) > 0 {
			return 1
		}
		fmt.Fprintf(e.stdout, "%s: ok: no placeholder, short or guessable secret\n", c.dir)
	}
	if (*astDir != "" || *kamDir != "") && *path == "" {
		return 0
	}
	cfg := loadConfig(e, *path)
	if cfg == nil {
		return 1
	}
	leaves := 0
	for _, id := range cfg.NodeIDs() {
		if cfg.Node(id).Action != menu.KindMenu {
			leaves++
		}
	}
	fmt.Fprintf(e.stdout, "%s: ok: %q, number %s, %d schedules, %d groups, %d organizations, %d menu nodes (%d leaves)\n",
		*path, cfg.Service.Name, cfg.Service.Number, len(cfg.Schedules), len(cfg.Groups), len(cfg.Organizations), len(cfg.NodeIDs()), leaves)
	if odds := cfg.UnknownNumberPINOdds(); odds.PINs > 0 {
		fmt.Fprintf(e.stdout, "%s: PINs: %s\n", *path, odds)
		if odds.Warn() {
			fmt.Fprintf(e.stderr, "%s: warning: a PIN guess has better odds than 1 in %.0f; set ivr.pin.require_org_code_from_unknown_numbers (and give each organization a code), or issue longer PINs and raise ivr.pin.min_digits\n",
				*path, 1/menu.PINOddsWarning)
		}
	}
	return 0
}

type hoursAnswer struct {
	Open           bool   `json:"open"`
	Reason         string `json:"reason"`
	NextOpen       string `json:"next_open,omitempty"`
	NextWorkingDay string `json:"next_working_day"`
}

func cmdHours(e env, args []string) int {
	fs := newFlags(e, "hours")
	path := fs.String("config", "", "configuration file")
	group := fs.String("group", "", "a group's own hours instead of the service's")
	at := fs.String("at", "", "the instant, RFC 3339 (e.g. 2026-12-24T17:30:00+01:00); default now")
	if fs.Parse(args) != nil {
		return 2
	}
	cfg := loadConfig(e, *path)
	if cfg == nil {
		return 1
	}
	t := time.Now()
	if *at != "" {
		var err error
		if t, err = time.Parse(time.RFC3339, *at); err != nil {
			return fail(e, "-at %q is not an RFC 3339 time such as 2026-12-24T17:30:00+01:00", *at)
		}
	}
	sched := cfg.ServiceSchedule()
	if *group != "" {
		if cfg.Group(*group) == nil {
			return fail(e, "unknown group %q", *group)
		}
		sched = cfg.GroupSchedule(*group)
	}
	ans := HoursAnswer(sched, t)
	out, _ := json.Marshal(ans)
	fmt.Fprintln(e.stdout, string(out))
	return 0
}

// HoursAnswer is the JSON answer of `ivrctl hours`.
func HoursAnswer(s *hours.Schedule, t time.Time) hoursAnswer {
	st := s.StatusAt(t)
	ans := hoursAnswer{Open: st.Open, Reason: describeStatus(st), NextWorkingDay: s.NextWorkingDay(t).String()}
	if !st.Open {
		if next, ok := s.NextOpening(t); ok {
			ans.NextOpen = next.In(s.Location).Format(time.RFC3339)
		}
	}
	return ans
}

func describeStatus(st hours.Status) string {
	switch st.Reason {
	case hours.ReasonHoliday:
		return "holiday: " + st.Holiday
	case hours.ReasonClosure:
		if st.Note != "" {
			return "closure: " + st.Note
		}
		return "closure"
	case hours.ReasonOutsideHours:
		return "outside hours"
	}
	if st.Note != "" {
		return "open: " + st.Note
	}
	return "open"
}

func cmdMenu(e env, args []string) int {
	fs := newFlags(e, "menu")
	path := fs.String("config", "", "configuration file")
	lang := fs.String("lang", "", "also print each node's prompt in this language")
	if fs.Parse(args) != nil {
		return 2
	}
	cfg := loadConfig(e, *path)
	if cfg == nil {
		return 1
	}
	printMenu(e.stdout, cfg, *lang)
	return 0
}

func printMenu(w io.Writer, cfg *menu.Config, lang string) {
	fmt.Fprintf(w, "%s — %s\n", cfg.Service.Name, cfg.Service.Number)
	ivr := cfg.IVR
	var keys []string
	if ivr.BackKey != "" {
		keys = append(keys, ivr.BackKey+" back")
	}
	if ivr.RepeatKey != "" {
		keys = append(keys, ivr.RepeatKey+" repeat")
	}
	if ivr.OperatorKey != "" {
		keys = append(keys, fmt.Sprintf("%s operator → %s", ivr.OperatorKey, groupName(cfg, ivr.OperatorGroup)))
	}
	fmt.Fprintf(w, "keys everywhere: %s\n", strings.Join(keys, ", "))
	fmt.Fprintf(w, "after %d failed tries: %s\n", ivr.MaxRetries, describeFallback(cfg))
	printNode(w, cfg, cfg.Menu, 0, lang)
}

func printNode(w io.Writer, cfg *menu.Config, n *menu.Node, depth int, lang string) {
	indent := strings.Repeat("    ", depth)
	key := "-"
	label := "(root)"
	if n.Parent() != nil {
		key, label = n.Key, n.Label
	}
	fmt.Fprintf(w, "%s%s  %s → %s\n", indent, key, label, describeNode(cfg, n))
	if lang != "" && n.Prompt[lang] != "" {
		fmt.Fprintf(w, "%s   «%s»\n", indent, n.Prompt[lang])
	}
	for _, k := range n.Keys() {
		printNode(w, cfg, n.Options[k], depth+1, lang)
	}
}

func describeNode(cfg *menu.Config, n *menu.Node) string {
	var s string
	switch n.Action {
	case menu.KindMenu:
		s = "menu [" + n.ID + "]"
		if n.OrgRoute {
			s += ", known Administrations go straight to their group"
		}
	case menu.KindRoute:
		s = "route to " + groupName(cfg, n.Group)
	case menu.KindMessage:
		s = "leave a message"
		if n.Group != "" {
			s += " for " + groupName(cfg, n.Group)
		}
	case menu.KindStatus:
		s = "ticket status by number"
	case menu.KindHangup:
		s = "message, then hang up"
	}
	if n.Priority != "" {
		s += ", priority " + n.Priority
	}
	if r := n.RequirePIN; r != nil {
		roles := make([]string, len(r.Roles))
		for i, role := range r.Roles {
			roles[i] = string(role)
		}
		s += ", PIN required (" + strings.Join(roles, ", ") + ")"
	}
	return s
}

func describeFallback(cfg *menu.Config) string {
	if f := cfg.IVR.OnFailure; f != nil && f.Action == menu.KindRoute {
		return "route to " + groupName(cfg, f.Group)
	}
	return "message, then hang up"
}

func groupName(cfg *menu.Config, id string) string {
	if g := cfg.Group(id); g != nil {
		return fmt.Sprintf("%s (%s)", g.Name, id)
	}
	return id
}

func cmdPINHash(e env, args []string) int {
	fs := newFlags(e, "pin hash")
	path := fs.String("config", "", "configuration file (for service.pin_secret_file; optional)")
	if fs.Parse(args) != nil {
		return 2
	}
	var cfg *menu.Config
	if *path != "" {
		if cfg = loadConfig(e, *path); cfg == nil {
			return 1
		}
	}
	secret, err := configfile.PINSecret(cfg)
	if err != nil {
		return fail(e, "%v", err)
	}
	line, err := bufio.NewReader(io.LimitReader(e.stdin, 256)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fail(e, "read the PIN from stdin: %v", err)
	}
	h, err := menu.HashPIN(secret, strings.TrimSpace(line))
	if err != nil {
		return fail(e, "%v", err) // never echo the PIN back
	}
	fmt.Fprintln(e.stdout, h)
	return 0
}
