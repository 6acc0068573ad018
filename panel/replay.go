package panel

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/configstore"
	"github.com/helpdesk-ivr/ivr/internal/fault"
)

// Replay on a version's page (issue 19, section 3): the journaled calls of
// the last days run again under the version's text (Options.Replay: the
// journal's replay, in ivrd), and the page shows how many end the same,
// those that differ and the load per group before and after.

// ReplayResult is what Options.Replay found, as the page shows it.
type ReplayResult struct {
	Since                                time.Time
	Calls, Same, Different, Failed, Late int
	Kinds                                []ReplayKind
	Diffs                                []ReplayDiff // the first MaxReplayDiffs
	Load                                 []ReplayLoad // per group and hour of the day
	Elapsed                              time.Duration
}

// ReplayKind counts the calls of one kind of change.
type ReplayKind struct {
	Kind string
	N    int
}

// ReplayDiff is one call that ends differently.
type ReplayDiff struct {
	At                           time.Time
	Caller, Kind                 string
	OldResult, OldGroup, OldPath string
	NewResult, NewGroup, NewPath string
}

// ReplayLoad is the calls handed to a group in an hour, before and after.
type ReplayLoad struct {
	Group    string
	Hour     int
	Old, New int
}

// MaxReplayDiffs bounds the calls listed on the page.
const MaxReplayDiffs = 200

// maxReplayDays bounds the period a replay from the page covers.
const maxReplayDays = 31

// groupShift is a group's calls before and after, for the chart.
type groupShift struct {
	Group    string
	Old, New int
	// OldW, NewW are the bars' widths in the chart, in percent.
	OldW, NewW int
}

// shifts totals r's load per group, for the chart.
func (r *ReplayResult) shifts() []groupShift {
	by := map[string]*groupShift{}
	var order []string
	for _, l := range r.Load {
		g := by[l.Group]
		if g == nil {
			g = &groupShift{Group: l.Group}
			by[l.Group] = g
			order = append(order, l.Group)
		}
		g.Old += l.Old
		g.New += l.New
	}
	slices.Sort(order)
	top := 1
	for _, g := range by {
		top = max(top, g.Old, g.New)
	}
	out := make([]groupShift, 0, len(order))
	for _, id := range order {
		g := *by[id]
		g.OldW, g.NewW = g.Old*100/top, g.New*100/top
		out = append(out, g)
	}
	return out
}

// replayData is the replay part of a version's page.
type replayData struct {
	Days   int
	Result *ReplayResult
	Shifts []groupShift
}

func (s *Server) versionReplay(w http.ResponseWriter, r *http.Request) {
	if s.opts.Versions == nil || s.opts.Replay == nil {
		s.fail(w, r, fault.ErrNotFound)
		return
	}
	id, err := versionID(r)
	var v configstore.Version
	if err == nil {
		v, err = s.opts.Versions.Find(r.Context(), id)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	days, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("days")))
	if err != nil || days < 1 || days > maxReplayDays {
		s.fail(w, r, errorKey(fault.EINVALID, "replay.bad_days", maxReplayDays))
		return
	}
	since := s.now().AddDate(0, 0, -days)
	// The replay runs while the request waits; an administrator's click,
	// bounded in time so that a long period cannot hold the server.
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Minute)
	defer cancel()
	res, err := s.opts.Replay(ctx, v.Source, since)
	if err != nil {
		s.fail(w, r, fmt.Errorf("replay version %d: %w", v.ID, err))
		return
	}
	res.Since = since
	s.renderVersionWith(w, r, v, &replayData{Days: days, Result: res, Shifts: res.shifts()})
}
