package menu

import (
	"fmt"
	"slices"
	"strings"

	"github.com/helpdesk-ivr/ivr/hours"
)

// Reachability: what validation can tell of a call's path without a clock.
// A group that callers are sent to must have someone who could answer
// and hours that open while callers can reach it; queue overflows must
// not send callers round in a circle (the controller's hop limit would
// only end it after minutes of hold music).

// routeRef is one place that sends calls to a group.
type routeRef struct {
	group string
	where string // "menu option 2 > 1", "ivr.operator_group", ...
	pos   Pos
	// overflow: from another group's queue, whose hours matter rather
	// than the service's (checkOverflowHours).
	overflow bool
}

func (c *Config) validateReach(v *validator) {
	c.checkOverflowCycles(v)
	c.checkSchedulesOpen(v)
	routes := c.routesToGroups()
	served := map[string]bool{}
	for _, o := range c.Operators {
		if o != nil {
			for g := range o.Groups {
				served[g] = true
			}
		}
	}
	checked := map[string]bool{}
	for _, r := range routes {
		g := c.groups[r.group]
		if g == nil {
			continue // reported as an unknown group already
		}
		if first := !checked[r.group]; first && !c.answerable(r.group, served) {
			v.add(g.Pos, "group %q is routed to (%s) but no operator serves it, nor any group its queue.no_operators passes callers to: nobody could ever take the call", g.ID, r.where)
		}
		checked[r.group] = true
		if !r.overflow {
			c.checkRouteHours(v, r)
		}
	}
	c.checkOverflowHours(v)
}

// routesToGroups lists every place that sends a caller to a group's
// queue, in file order.
func (c *Config) routesToGroups() []routeRef {
	var out []routeRef
	for _, id := range c.NodeIDs() {
		n := c.nodes[id]
		if n != nil && n.Action == KindRoute && n.Group != "" {
			out = append(out, routeRef{group: n.Group, where: n.describe(), pos: n.Pos})
		}
	}
	ivr := &c.IVR
	if ivr.OperatorKey != "" && ivr.OperatorGroup != "" {
		out = append(out, routeRef{group: ivr.OperatorGroup, where: "ivr.operator_group", pos: ivr.Pos})
	}
	if f := ivr.OnFailure; f != nil && f.Action == KindRoute {
		out = append(out, routeRef{group: f.Group, where: "ivr.on_failure", pos: f.Pos})
	}
	if c.anyOrgRoute() {
		for _, o := range c.Organizations {
			if o != nil && o.Group != "" {
				out = append(out, routeRef{group: o.Group, where: fmt.Sprintf("organization %q by org_route", o.ID), pos: o.Pos})
			}
		}
	}
	for _, g := range c.Groups {
		if g == nil || c.groups[g.ID] != g {
			continue
		}
		if o, err := ParseOverflow(g.Queue.Overflow); err == nil && o.Action == "group" {
			pos := g.Pos
			if g.Queue.Pos.Line > 0 {
				pos = g.Queue.Pos
			}
			out = append(out, routeRef{group: o.Group, where: fmt.Sprintf("queue.overflow of group %q", g.ID), pos: pos, overflow: true})
		}
	}
	slices.SortStableFunc(out, func(a, b routeRef) int { return a.pos.Line - b.pos.Line })
	return out
}

func (c *Config) anyOrgRoute() bool {
	for _, n := range c.nodes {
		if n != nil && n.OrgRoute {
			return true
		}
	}
	return false
}

// answerable reports whether an operator could take a call queued for
// group: one serves it (served), or nobody does and queue.no_operators
// passes the caller on to a group where one could.
func (c *Config) answerable(group string, served map[string]bool) bool {
	seen := map[string]bool{}
	for g := group; c.groups[g] != nil && !seen[g]; {
		if served[g] {
			return true
		}
		seen[g] = true
		o, err := ParseOverflow(c.groups[g].Queue.NoOperators)
		if err != nil || o.Action != "group" {
			return false
		}
		g = o.Group
	}
	return false
}

// overflowTargets are the groups a group's queue passes callers to.
func (c *Config) overflowTargets(g *Group) []string {
	var out []string
	for _, s := range []string{g.Queue.Overflow, g.Queue.NoOperators} {
		if o, err := ParseOverflow(s); err == nil && o.Action == "group" && c.groups[o.Group] != nil && !slices.Contains(out, o.Group) {
			out = append(out, o.Group)
		}
	}
	return out
}

// checkOverflowCycles reports each circle of overflow targets once, from
// the group listed first. A group naming itself is reported by
// validateQueue.
func (c *Config) checkOverflowCycles(v *validator) {
	order := map[string]int{}
	for i, g := range c.Groups {
		if g != nil {
			order[g.ID] = i
		}
	}
	reported := map[string]bool{}
	var path []string
	// Each group is walked once (a depth-first search, linear in the
	// groups): a target still on the path closes a cycle.
	const (
		unseen = iota
		onPath
		done
	)
	state := map[string]int{}
	var walk func(id string)
	walk = func(id string) {
		path = append(path, id)
		state[id] = onPath
		for _, next := range c.overflowTargets(c.groups[id]) {
			if next == id || state[next] == done {
				continue
			}
			if state[next] == onPath {
				cycle := slices.Clone(path[slices.Index(path, next):])
				// Start from the group listed first, so each circle has one name.
				first := 0
				for i, g := range cycle {
					if order[g] < order[cycle[first]] {
						first = i
					}
				}
				cycle = append(cycle[first:], cycle[:first]...)
				key := strings.Join(cycle, " ")
				if !reported[key] {
					reported[key] = true
					g := c.groups[cycle[0]]
					pos := g.Pos
					if g.Queue.Pos.Line > 0 {
						pos = g.Queue.Pos
					}
					v.add(pos, "group %q: queue overflow cycle %s → %s: callers would be passed round it until the controller gives up", g.ID, strings.Join(cycle, " → "), cycle[0])
				}
				continue
			}
			walk(next)
		}
		state[id] = done
		path = path[:len(path)-1]
	}
	for _, g := range c.Groups {
		if g != nil && c.groups[g.ID] == g && state[g.ID] == unseen {
			walk(g.ID)
		}
	}
}

// neverOpens reports whether a schedule has no weekly hours and no extra
// openings at all.
func neverOpens(s *hours.Schedule) bool {
	if len(s.Openings) > 0 {
		return false
	}
	for _, ivs := range s.Weekly {
		if len(ivs) > 0 {
			return false
		}
	}
	return true
}

// checkSchedulesOpen reports the service and the groups whose schedule
// never opens.
func (c *Config) checkSchedulesOpen(v *validator) {
	if s := c.ServiceSchedule(); s != nil && neverOpens(s) {
		v.add(c.Service.Pos, "service.schedule %q never opens: no weekly hours and no openings, so every caller hears that the service is closed", c.Service.Schedule)
	}
	for _, g := range c.Groups {
		if g == nil || c.groups[g.ID] != g || g.Schedule == c.Service.Schedule {
			continue // the service's own schedule is reported once, above
		}
		if s := c.GroupSchedule(g.ID); s != nil && neverOpens(s) {
			v.add(g.Pos, "group %q: its schedule %q never opens: no weekly hours and no openings", g.ID, g.Schedule)
		}
	}
}

// weeklyOverlap reports whether two schedules are ever open at the same
// time of the same weekday, or might be: an extra opening in either is
// taken as a possible overlap (it is a dated exception, and validation
// has no clock to tell whether it is still to come).
func weeklyOverlap(a, b *hours.Schedule) bool {
	if len(a.Openings) > 0 || len(b.Openings) > 0 {
		return true
	}
	for wd := range a.Weekly {
		for _, x := range a.Weekly[wd] {
			for _, y := range b.Weekly[wd] {
				if x.Start < y.End && y.Start < x.End {
					return true
				}
			}
		}
	}
	return false
}

// checkRouteHours reports a route whose group is never open while callers
// can reach it: the menu runs only while the service is open.
func (c *Config) checkRouteHours(v *validator, r routeRef) {
	svc, grp := c.ServiceSchedule(), c.GroupSchedule(r.group)
	if svc == nil || grp == nil || neverOpens(svc) || neverOpens(grp) || weeklyOverlap(svc, grp) {
		return
	}
	v.add(r.pos, "%s: routes to group %q, whose hours (schedule %q) never overlap the service's (schedule %q): callers reach it only while it is closed", r.where, r.group, c.groups[r.group].Schedule, c.Service.Schedule)
}

// checkOverflowHours reports an overflow into a group that is never open
// while the overflowing group is.
func (c *Config) checkOverflowHours(v *validator) {
	for _, g := range c.Groups {
		if g == nil || c.groups[g.ID] != g {
			continue
		}
		from := c.GroupSchedule(g.ID)
		for _, target := range c.overflowTargets(g) {
			to := c.GroupSchedule(target)
			if from == nil || to == nil || neverOpens(from) || neverOpens(to) || weeklyOverlap(from, to) {
				continue
			}
			pos := g.Pos
			if g.Queue.Pos.Line > 0 {
				pos = g.Queue.Pos
			}
			v.add(pos, "group %q: its queue overflows to group %q, whose hours (schedule %q) never overlap its own (schedule %q): the overflow always finds it closed", g.ID, target, c.groups[target].Schedule, g.Schedule)
		}
	}
}
