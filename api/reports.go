package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/panel"
	"github.com/helpdesk-ivr/ivr/tickets"
)

type reportRowJSON struct {
	Start            time.Time `json:"start"`
	Group            string    `json:"group"`
	Offered          int       `json:"offered"`
	Answered         int       `json:"answered"`
	Abandoned        int       `json:"abandoned"`
	AnsweredWithinSL int       `json:"answered_within_sl"`
	ServiceLevel     float64   `json:"service_level"` // 0 to 1
	// ServiceLevelSeconds is the group's threshold (left out of the total).
	ServiceLevelSeconds int     `json:"service_level_seconds,omitempty"`
	ASASeconds          float64 `json:"asa_seconds"`
	AHTSeconds          float64 `json:"aht_seconds"`
}

// categoryRowJSON is a tickets.CategoryRow with its category's label in
// the token user's language ("" and "" for uncategorised tickets).
type categoryRowJSON struct {
	Category string `json:"category"`
	Label    string `json:"label"`
	Group    string `json:"group"`
	Tickets  int    `json:"tickets"`
	Open     int    `json:"open"`
}

type reportJSON struct {
	From                string          `json:"from"`
	To                  string          `json:"to"`
	Bucket              string          `json:"bucket"`
	ServiceLevelSeconds int             `json:"service_level_seconds"`
	Rows                []reportRowJSON `json:"rows"`
	Total               reportRowJSON   `json:"total"`
	CSAT                csatJSON        `json:"csat"`
	// Categories are the tickets opened in the period per category and
	// group, as the panel's table.
	Categories []categoryRowJSON `json:"categories"`
	csat       tickets.CSATReport
	rows       []tickets.ReportRow
}

// csatRowJSON is a tickets.CSATRow; the key that does not apply is left
// out (group, operator or hour).
type csatRowJSON struct {
	Group     string  `json:"group,omitempty"`
	Operator  string  `json:"operator,omitempty"`
	Hour      *int    `json:"hour,omitempty"`
	Asked     int     `json:"asked"`
	Rated     int     `json:"rated"`
	Satisfied int     `json:"satisfied"`
	CSAT      float64 `json:"csat"` // satisfied / rated, 0 to 1
	Average   float64 `json:"average_rating"`
}

// csatJSON is the post-call surveys' satisfaction in the report's period
// and groups: the panel's figures (tickets.Store.CSAT).
type csatJSON struct {
	ByGroup    []csatRowJSON `json:"by_group"`
	ByOperator []csatRowJSON `json:"by_operator"`
	ByHour     []csatRowJSON `json:"by_hour"`
	Total      csatRowJSON   `json:"total"`
}

func csatOf(rep tickets.CSATReport) csatJSON {
	row := func(x tickets.CSATRow) csatRowJSON {
		return csatRowJSON{Group: x.Group, Operator: x.Operator, Asked: x.Asked, Rated: x.Rated,
			Satisfied: x.Satisfied, CSAT: x.CSAT, Average: x.Average}
	}
	out := csatJSON{ByGroup: []csatRowJSON{}, ByOperator: []csatRowJSON{}, ByHour: []csatRowJSON{}, Total: row(rep.Total)}
	for _, x := range rep.ByGroup {
		out.ByGroup = append(out.ByGroup, row(x))
	}
	for _, x := range rep.ByOperator {
		out.ByOperator = append(out.ByOperator, row(x))
	}
	for _, x := range rep.ByHour {
		r := row(x)
		r.Hour = &x.Hour
		out.ByHour = append(out.ByHour, r)
	}
	return out
}

// readReport is the panel's report: from and to (dates, inclusive; by
// default as the panel's, widened to whole weeks or months), bucket hour,
// day, week or month, an optional group; in the principal's groups.
func (a *API) readReport(r *http.Request) (reportJSON, error) {
	p := principalOf(r)
	loc := a.opts.Tickets.Location()
	q := r.URL.Query()
	today := a.now().In(loc)
	today = time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, loc)
	out := reportJSON{From: q.Get("from"), To: q.Get("to"), Bucket: cmpOr(q.Get("bucket"), "day"),
		ServiceLevelSeconds: int(a.opts.ServiceLevel / time.Second), Rows: []reportRowJSON{}, CSAT: csatOf(tickets.CSATReport{}),
		Categories: []categoryRowJSON{}}
	bucket := tickets.Bucket(out.Bucket)
	if bucket.MaxDays() == 0 {
		return out, fault.Errorf(fault.EINVALID, "bucket: hour, day, week or month")
	}
	if out.To == "" {
		out.To = today.Format(time.DateOnly)
	}
	if out.From == "" {
		out.From = panel.DefaultReportFrom(bucket, today).Format(time.DateOnly)
	}
	from, err1 := time.ParseInLocation(time.DateOnly, out.From, loc)
	to, err2 := time.ParseInLocation(time.DateOnly, out.To, loc)
	if err1 != nil || err2 != nil || to.Before(from) {
		return out, fault.Errorf(fault.EINVALID, "from, to: dates YYYY-MM-DD, from not after to")
	}
	from, to = bucket.AlignPeriod(from, to.AddDate(0, 0, 1))
	out.From, out.To = from.Format(time.DateOnly), to.AddDate(0, 0, -1).Format(time.DateOnly)
	if limit := bucket.MaxDays(); to.Sub(from) > time.Duration(limit)*24*time.Hour+time.Hour {
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
	cfg := a.config()
	rows, err := a.opts.Tickets.Report(r.Context(), panel.ReportFilter(cfg, a.opts.ServiceLevel, from, to, groups, bucket))
	if err != nil {
		return out, err
	}
	rowJSON := func(x tickets.ReportRow) reportRowJSON {
		return reportRowJSON{Start: x.Start, Group: x.Group, Offered: x.Offered, Answered: x.Answered,
			Abandoned: x.Abandoned, AnsweredWithinSL: x.AnsweredWithinSL, ServiceLevel: x.ServiceLevel,
			ServiceLevelSeconds: x.ServiceLevelSeconds, ASASeconds: x.ASA.Seconds(), AHTSeconds: x.AHT.Seconds()}
	}
	for _, x := range rows {
		out.Rows = append(out.Rows, rowJSON(x))
	}
	out.rows = rows
	out.Total = rowJSON(tickets.ReportTotal(rows))
	out.Total.Start = from
	cats, err := a.opts.Tickets.CategoryReport(r.Context(), tickets.CategoryFilter{From: from, To: to, Groups: groups})
	if err != nil {
		return out, err
	}
	for _, x := range cats {
		c := categoryRowJSON{Category: x.Category, Group: x.Group, Tickets: x.Tickets, Open: x.Open}
		if x.Category != "" {
			c.Label = cfg.CategoryLabel(x.Category, p.user.Lang)
		}
		out.Categories = append(out.Categories, c)
	}
	if out.csat, err = a.opts.Tickets.CSAT(r.Context(), tickets.CSATFilter{From: from, To: to, Groups: groups}); err != nil {
		return out, err
	}
	out.CSAT = csatOf(out.csat)
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
	switch r.URL.Query().Get("table") {
	case "csat":
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="csat-%s-%s.csv"`, rep.From, rep.To))
		panel.WriteCSATCSV(w, rep.csat)
		return
	case "category":
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="categories-%s-%s.csv"`, rep.From, rep.To))
		rows := make([]panel.CategoryCSVRow, len(rep.Categories))
		for i, x := range rep.Categories {
			rows[i] = panel.CategoryCSVRow{CategoryRow: tickets.CategoryRow{Category: x.Category, Group: x.Group, Tickets: x.Tickets, Open: x.Open}, Label: x.Label}
		}
		panel.WriteCategoryCSV(w, rows)
		return
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="report-%s-%s-%s.csv"`, rep.Bucket, rep.From, rep.To))
	panel.WriteReportCSV(w, rep.rows)
}
