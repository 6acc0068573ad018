package main

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/journal"
	"github.com/helpdesk-ivr/ivr/journal/replay"
	"github.com/helpdesk-ivr/ivr/panel"
)

// maxPanelReplay bounds the calls a replay from the panel runs (about a
// minute at the replay's measured pace on 2 cores); longer periods are
// for `ivrctl replay`.
const maxPanelReplay = 20000

// panelReplay is the versions pages' replay: the journaled calls since a
// time run again under a configuration's text.
func panelReplay(pool *pgxpool.Pool, loc *time.Location) func(ctx context.Context, src []byte, since time.Time) (*panel.ReplayResult, error) {
	store := journal.NewStore(pool, loc)
	return func(ctx context.Context, src []byte, since time.Time) (*panel.ReplayResult, error) {
		calls, err := store.FindCalls(ctx, journal.Filter{Since: since, Limit: maxPanelReplay + 1})
		if err != nil {
			return nil, err
		}
		if len(calls) > maxPanelReplay {
			return nil, fault.Errorf(fault.EINVALID, "more than %d calls in the period: choose fewer days, or use ivrctl replay", maxPanelReplay)
		}
		rep, err := replay.Run(ctx, replay.Options{Calls: calls, New: src, NewFile: "version.yaml"})
		if err != nil {
			return nil, err
		}
		return replayResult(rep, loc), nil
	}
}

// replayResult is rep as the panel shows it.
func replayResult(rep *replay.Report, loc *time.Location) *panel.ReplayResult {
	out := &panel.ReplayResult{Calls: rep.Calls, Same: rep.Same, Different: rep.Different, Failed: rep.Failed,
		Late: rep.Late, Elapsed: rep.Elapsed}
	for _, k := range []string{replay.ChangeGroup, replay.ChangeDeadEnd, replay.ChangeAfterHours, replay.ChangeAsksPIN,
		replay.ChangeOpen, replay.ChangeOther} {
		if n := rep.Kinds[k]; n > 0 {
			out.Kinds = append(out.Kinds, panel.ReplayKind{Kind: k, N: n})
		}
	}
	for _, d := range rep.Diffs {
		if len(out.Diffs) == panel.MaxReplayDiffs {
			break
		}
		out.Diffs = append(out.Diffs, panel.ReplayDiff{At: d.ArrivedAt.In(loc), Caller: d.Caller, Kind: d.Kind,
			OldResult: d.Old.Result, OldGroup: d.Old.Group, OldPath: strings.Join(d.Old.Path, " "),
			NewResult: d.New.Result, NewGroup: d.New.Group, NewPath: strings.Join(d.New.Path, " ")})
	}
	for _, l := range rep.Load {
		out.Load = append(out.Load, panel.ReplayLoad{Group: l.Group, Hour: l.Hour, Old: l.Old, New: l.New})
	}
	return out
}
