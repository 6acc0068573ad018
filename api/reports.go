package api

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// The longest periods a report covers, as in the panel.
const (
	maxReportDays       = 366
	maxHourlyReportDays = 31
)

type reportRowJSON struct {
	Start            time.Time `json:"start"`
	Group            string    `json:"group"`
	Offered          int       `json:"offered"`
	Answered         int       `json:"answered"`
	Abandoned        int       `json:"abandoned"`
	AnsweredWithinSL int       `json:"answered_within_sl"`
	ServiceLevel     float64   `json:"service_level"` // 0 to 1
	ASASeconds       float64   `json:"asa_seconds"`
	AHTSeconds       float64   `json:"aht_seconds"`
}

type reportJSON struct {
	From                string          `json:"from"`
	To                  string          `json:"to"`
	Bucket              string          `json:"bucket"`
	ServiceLevelSeconds int             `json:"service_level_seconds"`
	Rows                []reportRowJSON `json:"rows"`
	Total               reportRowJSON   `json:"total"`
}

// readReport is the panel's report: from and to (dates, inclusive; by
// default the last 7 days, or today by hour), bucket day or hour, an
// optional group; in the principal's groups.
func (a *API) readReport(r *http.Request) (reportJSON, error) {
	p := principalOf(r)
	loc := a.opts.Tickets.Location()
	q := r.URL.Query()
	today := a.now().In(loc)
	today = time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, loc)
	out := reportJSON{From: q.Get("from"), To: q.Get("to"), Bucket: cmpOr(q.Get("bucket"), "day"),
		ServiceLevelSeconds: int(a.opts.ServiceLevel / time.Second), Rows: []reportRowJSON{}}
	if out.Bucket != "day" && out.Bucket != "hour" {
		return out, fault.Errorf(fault.EINVALID, "bucket: day or hour")
	}
	if out.To == "" {
		out.To = today.Format(time.DateOnly)
	}
	if out.From == "" {
		days := 6
		if out.Bucket == "hour" {
			days = 0
		}
		out.From = today.AddDate(0, 0, -days).Format(time.DateOnly)
	}
	from, err1 := time.ParseInLocation(time.DateOnly, out.From, loc)
	to, err2 := time.ParseInLocation(time.DateOnly, out.To, loc)
	if err1 != nil || err2 != nil || to.Before(from) {
		return out, fault.Errorf(fault.EINVALID, "from, to: dates YYYY-MM-DD, from not after to")
	}
	to = to.AddDate(0, 0, 1)
	limit := maxReportDays
	if out.Bucket == "hour" {
		limit = maxHourlyReportDays
	}
	if to.Sub(from) > time.Duration(limit)*24*time.Hour+time.Hour {
		return out, fault.Errorf(fault.EINVALID, "a report by %s covers at most %d days", out.Bucket, limit)
	}
	var groups []string
	switch g := q.Get("group"); {
	case g != "":
		if !p.mayGroup(g) {
			return out, fault.Errorf(fault.ENOTFOUND, "no such group") // as the panel
		}
		groups = []string{g}
	case !p.all:
		groups = p.groups
		if len(groups) == 0 {
			return out, nil // no group: no figures, never everyone's
		}
	}
	rows, err := a.opts.Tickets.Report(r.Context(), tickets.ReportFilter{From: from, To: to, Groups: groups,
		Bucket: tickets.Bucket(out.Bucket), ServiceLevelSeconds: out.ServiceLevelSeconds})
	if err != nil {
		return out, err
	}
	var asa, aht time.Duration
	t := &out.Total
	for _, x := range rows {
		out.Rows = append(out.Rows, reportRowJSON{Start: x.Start, Group: x.Group, Offered: x.Offered, Answered: x.Answered,
			Abandoned: x.Abandoned, AnsweredWithinSL: x.AnsweredWithinSL, ServiceLevel: x.ServiceLevel,
			ASASeconds: x.ASA.Seconds(), AHTSeconds: x.AHT.Seconds()})
		t.Offered += x.Offered
		t.Answered += x.Answered
		t.Abandoned += x.Abandoned
		t.AnsweredWithinSL += x.AnsweredWithinSL
		asa += x.ASA * time.Duration(x.Answered)
		aht += x.AHT * time.Duration(x.Answered)
	}
	t.Start, t.Group = from, ""
	if t.Offered > 0 {
		t.ServiceLevel = float64(t.AnsweredWithinSL) / float64(t.Offered)
	}
	if t.Answered > 0 {
		t.ASASeconds = (asa / time.Duration(t.Answered)).Seconds()
		t.AHTSeconds = (aht / time.Duration(t.Answered)).Seconds()
	}
	return out, nil
}

func (a *API) report(w http.ResponseWriter, r *http.Request) {
	rep, err := a.readReport(r)
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// reportCSV is the report as the panel's CSV (the same columns).
func (a *API) reportCSV(w http.ResponseWriter, r *http.Request) {
	rep, err := a.readReport(r)
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="report-%s-%s-%s.csv"`, rep.Bucket, rep.From, rep.To))
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"period_start", "group", "offered", "answered", "abandoned", "answered_within_sl",
		"service_level_pct", "asa_seconds", "aht_seconds"})
	for _, x := range rep.Rows {
		_ = cw.Write([]string{x.Start.Format(time.RFC3339), csvSafe(x.Group), strconv.Itoa(x.Offered), strconv.Itoa(x.Answered),
			strconv.Itoa(x.Abandoned), strconv.Itoa(x.AnsweredWithinSL), fmt.Sprintf("%.1f", x.ServiceLevel*100),
			fmt.Sprintf("%.1f", x.ASASeconds), fmt.Sprintf("%.1f", x.AHTSeconds)})
	}
	cw.Flush()
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
