package panel

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/helpdesk-ivr/ivr/hours"
	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/queues"
)

// nodeView is a menu node for the tree diagram (nested lists).
type nodeView struct {
	Key       string
	N         *menu.Node
	GroupName string
	Children  []nodeView
}

func (s *Server) nodeView(key string, n *menu.Node) nodeView {
	v := nodeView{Key: key, N: n}
	if n.Group != "" {
		v.GroupName = s.groupName(n.Group)
	}
	keys := n.Keys()
	if keys == nil { // a tree not parsed by menu.Parse
		for k := range n.Options {
			keys = append(keys, k)
		}
		slices.Sort(keys)
	}
	for _, k := range keys {
		if c := n.Options[k]; c != nil {
			v.Children = append(v.Children, s.nodeView(k, c))
		}
	}
	return v
}

type dayHours struct {
	Day       time.Weekday
	Intervals []hours.Interval
}

type scheduleView struct {
	Name     string
	Days     []dayHours
	Holidays []hours.Holiday
	Closures []hours.Closure
	Openings []hours.Opening
	Groups   []string
}

type groupView struct {
	G         *menu.Group
	Schedule  string
	Operators []operatorView
}

// operatorView is a group's operator: as configured, with the live state
// when the queues are there.
type operatorView struct {
	Login, Name string
	Penalty     int
	State       queues.State // "" without queues
}

type configData struct {
	Service   menu.Service
	File      string
	Tree      *nodeView
	Schedules []scheduleView
	Groups    []groupView
	Queues    bool
	Reload    bool
	Versions  bool
	From, To  hours.Date
}

func (s *Server) configPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	cfg := s.config()
	now := s.now().In(s.location())
	d := configData{Service: cfg.Service, File: cfg.File, Queues: s.opts.Queues != nil, Reload: s.opts.Reload != nil,
		Versions: s.opts.Versions != nil,
		From:     hours.DateOf(now), To: hours.DateOf(now.AddDate(1, 0, 0))}
	if cfg.Menu != nil {
		v := s.nodeView("", cfg.Menu)
		d.Tree = &v
	}
	names := make([]string, 0, len(cfg.Schedules))
	for n := range cfg.Schedules {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		sc := cfg.Schedule(n)
		if sc == nil {
			continue
		}
		sv := scheduleView{Name: n, Holidays: sc.Holidays(d.From, d.To)}
		for _, wd := range []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday} {
			sv.Days = append(sv.Days, dayHours{wd, sc.Weekly[wd]})
		}
		for _, c := range sc.Closures {
			if c.To.After(now) {
				sv.Closures = append(sv.Closures, c)
			}
		}
		for _, o := range sc.Openings {
			if o.To.After(now) {
				sv.Openings = append(sv.Openings, o)
			}
		}
		for _, g := range cfg.Groups {
			if cmpOr(g.Schedule, cfg.Service.Schedule) == n {
				sv.Groups = append(sv.Groups, g.ID)
			}
		}
		d.Schedules = append(d.Schedules, sv)
	}
	for _, g := range cfg.Groups {
		gv := groupView{G: g, Schedule: cmpOr(g.Schedule, cfg.Service.Schedule)}
		if s.opts.Queues != nil {
			ops, err := s.opts.Queues.Operators(ctx, g.ID)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			for _, op := range ops {
				gv.Operators = append(gv.Operators, operatorView{op.Login, op.Name, op.Groups[g.ID], op.State})
			}
		} else {
			for _, op := range cfg.Operators {
				if p, ok := op.Groups[g.ID]; ok {
					gv.Operators = append(gv.Operators, operatorView{Login: op.Login, Name: op.Name, Penalty: p})
				}
			}
		}
		d.Groups = append(d.Groups, gv)
	}
	s.render(w, r, http.StatusOK, "config.html", s.newPage(r, "config", "nav.config", d))
}

func (s *Server) configReload(w http.ResponseWriter, r *http.Request) {
	if s.opts.Reload == nil {
		s.fail(w, r, fault.ErrNotFound)
		return
	}
	if err := s.opts.Reload(); err != nil {
		s.log.Warn("panel_config_reload_failed", "login", reqOf(r).user.Login, "error", err.Error())
		p := s.newPage(r, "config", "nav.config", nil)
		p.Error = reqOf(r).lang.T("config.reload_failed") + "\n" + err.Error()
		s.render(w, r, http.StatusBadRequest, "error.html", p)
		return
	}
	s.log.Info("panel_config_reloaded", "login", reqOf(r).user.Login)
	s.audited(r, "configuration.reload", "configuration", s.config().File)
	s.hub.notify()
	http.Redirect(w, r, "/config?msg=reloaded", http.StatusSeeOther)
}

type usersData struct {
	Users []User
	Roles []Role
	Langs []string
	Form  struct{ Login, Name, Role, Lang string }
}

func (s *Server) usersPage(w http.ResponseWriter, r *http.Request) {
	s.renderUsers(w, r, http.StatusOK, usersData{}, "")
}

func (s *Server) renderUsers(w http.ResponseWriter, r *http.Request, status int, d usersData, msg string) {
	list, err := s.users.List(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Users, d.Roles, d.Langs = list, Roles, Languages
	p := s.newPage(r, "users", "nav.users", d)
	p.Error = msg
	s.render(w, r, status, "users.html", p)
}

func (s *Server) userAdd(w http.ResponseWriter, r *http.Request) {
	var d usersData
	d.Form.Login, d.Form.Name = r.PostFormValue("login"), r.PostFormValue("name")
	d.Form.Role, d.Form.Lang = r.PostFormValue("role"), r.PostFormValue("lang")

	password := r.PostFormValue("password")
	var err error
	if password != r.PostFormValue("password2") {
		err = errorKey(fault.EINVALID, "users.mismatch")
	} else {
		err = s.users.Add(r.Context(), d.Form.Login, d.Form.Name, Role(d.Form.Role), password, d.Form.Lang)
	}
	if code := fault.Code(err); code == fault.EINVALID || code == fault.ECONFLICT {
		// Shown again: never longer than a valid value.
		d.Form.Login, d.Form.Name = shorten(d.Form.Login, maxLoginLen), shorten(d.Form.Name, maxName)
		d.Form.Role, d.Form.Lang = shorten(d.Form.Role, maxValue), shorten(d.Form.Lang, maxValue)
		s.renderUsers(w, r, fault.HTTPStatus(err), d, errorMessage(reqOf(r).lang, err))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("panel_user_added", "login", NormalizeLogin(d.Form.Login), "role", d.Form.Role, "by", reqOf(r).user.Login)
	s.audited(r, "user.add", "user:"+NormalizeLogin(d.Form.Login), "role="+d.Form.Role)
	http.Redirect(w, r, "/admin/users?msg=user_added", http.StatusSeeOther)
}

// userChange disables, enables or sets the password of a user.
func (s *Server) userChange(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rq := reqOf(r)
	login := NormalizeLogin(chi.URLParam(r, "login"))
	var err error
	switch action := r.PostFormValue("action"); action {
	case "disable", "enable":
		if login == rq.user.Login {
			err = errorKey(fault.EINVALID, "users.not_self")
			break
		}
		err = s.users.SetDisabled(ctx, login, action == "disable")
	case "password":
		err = s.users.SetPassword(ctx, login, r.PostFormValue("password"))
	default:
		err = errorKey(fault.EINVALID, "users.bad_action", strings.TrimSpace(action))
	}
	if code := fault.Code(err); code == fault.EINVALID {
		s.renderUsers(w, r, fault.HTTPStatus(err), usersData{}, errorMessage(rq.lang, err))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("panel_user_changed", "login", login, "action", r.PostFormValue("action"), "by", rq.user.Login)
	s.audited(r, "user."+r.PostFormValue("action"), "user:"+login, "") // never the password
	http.Redirect(w, r, "/admin/users?msg=user_changed", http.StatusSeeOther)
}
