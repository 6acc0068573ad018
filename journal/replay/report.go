package replay

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/helpdesk-ivr/ivr/journal"
)

// kindOrder is the order kinds are listed in.
var kindOrder = []string{ChangeGroup, ChangeDeadEnd, ChangeAfterHours, ChangeAsksPIN, ChangeOpen, ChangeOther}

var kindText = map[string]string{
	ChangeGroup:      "moved to another group",
	ChangeDeadEnd:    "now a dead end",
	ChangeAfterHours: "now after hours",
	ChangeAsksPIN:    "now asks a PIN",
	ChangeOpen:       "now served (was after hours)",
	ChangeOther:      "another path",
}

// WriteJSON writes the report as JSON lines: one "diff" per call that
// ends differently, one "load" per group and hour whose load changed,
// and the "summary" last.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, d := range r.Diffs {
		if err := enc.Encode(struct {
			Type string `json:"type"`
			Diff
		}{"diff", d}); err != nil {
			return err
		}
	}
	for _, l := range r.Load {
		if l.Old == l.New {
			continue
		}
		if err := enc.Encode(struct {
			Type string `json:"type"`
			Load
			Shift int `json:"shift"`
		}{"load", l, l.New - l.Old}); err != nil {
			return err
		}
	}
	return enc.Encode(struct {
		Type string `json:"type"`
		*Report
		Seconds     float64 `json:"seconds"`
		CallsPerSec float64 `json:"calls_per_second"`
	}{"summary", r, r.Elapsed.Seconds(), r.rate()})
}

func (r *Report) rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Calls) / r.Elapsed.Seconds()
}

// WriteText writes the report for a person: the counts, the calls that
// end differently grouped by kind of change (at most perKind of each;
// 0: all), and the load that moves per group and hour.
func (r *Report) WriteText(w io.Writer, perKind int) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%d calls replayed in %s (%.0f calls/s): %d end the same, %d differently",
		r.Calls, r.Elapsed.Round(time.Millisecond), r.rate(), r.Same, r.Different)
	if r.Failed > 0 {
		fmt.Fprintf(&b, ", %d could not be replayed", r.Failed)
	}
	b.WriteString(".\n")
	if r.Late > 0 {
		fmt.Fprintf(&b, "warning: %d calls reached the controller late (the machine fell behind the replay's clock); "+
			"some may end differently for that alone: try a lower -speed or -concurrency.\n", r.Late)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "  failed: %s\n", e)
	}
	byKind := map[string][]Diff{}
	for _, d := range r.Diffs {
		byKind[d.Kind] = append(byKind[d.Kind], d)
	}
	for _, k := range kindOrder {
		ds := byKind[k]
		if len(ds) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s: %d\n", kindText[k], len(ds))
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  arrived\tcaller\tentry\told\tnew")
		for i, d := range ds {
			if perKind > 0 && i == perKind {
				fmt.Fprintf(tw, "  … and %d more\t\t\t\t\n", len(ds)-perKind)
				break
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", d.ArrivedAt.Format("2006-01-02 15:04:05"), orDash(d.Caller), orDash(d.Entry),
				describe(d.Old), describe(d.New))
		}
		tw.Flush()
	}
	var moved []Load
	for _, l := range r.Load {
		if l.Old != l.New {
			moved = append(moved, l)
		}
	}
	if len(moved) > 0 {
		b.WriteString("\nload per group and hour (calls handed to the group, old → new):\n")
		sort.SliceStable(moved, func(i, j int) bool {
			if moved[i].Group != moved[j].Group {
				return moved[i].Group < moved[j].Group
			}
			return moved[i].Hour < moved[j].Hour
		})
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  group\thour\told\tnew\tshift")
		for _, l := range moved {
			fmt.Fprintf(tw, "  %s\t%02d:00\t%d\t%d\t%+d\n", l.Group, l.Hour, l.Old, l.New, l.New-l.Old)
		}
		tw.Flush()
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// describe is an end in a few words: "routed lotto2 [1 2]".
func describe(e journal.End) string {
	s := e.Result
	if e.Group != "" {
		s += " " + e.Group
	}
	s += " [" + strings.Join(e.Path, " ") + "]"
	if e.AskedPIN {
		s += " PIN"
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
