package panel

import (
	"encoding/csv"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// reportQuery is the reports page's form.
type reportQuery struct {
	From, To, Bucket, Group string
}

type reportData struct {
	Q       reportQuery
	Rows    []reportRow
	Total   reportRow
	Groups  []groupOpt
	Chart   template.HTML
	CSVURL  string
	SL      int
	Periods int
	// CSAT is the post-call survey's satisfaction in the same period and
	// groups (tickets.Store.CSAT: the API serves the same figures).
	CSAT tickets.CSATReport
	// Recordings are the conversation recordings per group (callrecording.go).
	Recordings []recordingRow
	CSATTables []csatTable
	CSATCSVURL string
	// Categories are the tickets opened in the period per category and
	// group (tickets.Store.CategoryReport), labelled in the user's
	// language.
	Categories     []categoryRow
	CategoryTotal  tickets.CategoryRow
	CategoryCSVURL string
	Buckets        []tickets.Bucket
	// Interventions are the supervisors' actions on live calls in the
	// period, by group and kind (from the audit log).
	Interventions []InterventionCount
}

// categoryRow is a tickets.CategoryRow with its category's and group's
// names ("" for an uncategorised ticket's Label: the template says so).
type categoryRow struct {
	tickets.CategoryRow
	Label, Name string
}

// csatTable is one cut of the CSAT report: by group, operator or hour.
type csatTable struct {
	By, Caption, Head string // Caption and Head are message keys
	Rows              []csatRow
}

type csatRow struct {
	Key, Name string
	Row       tickets.CSATRow
}

// reportRow is a tickets.ReportRow with its group's name.
type reportRow struct {
	tickets.ReportRow
	Name   string
	Period string
}

// report reads the report the request asks for, in the user's groups.
func (s *Server) report(r *http.Request) (reportData, error) {
	rq := reqOf(r)
	loc := s.location()
	q := r.URL.Query()
	today := s.now().In(loc)
	today = time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, loc)
	rqy := reportQuery{From: shorten(q.Get("from"), maxValue), To: shorten(q.Get("to"), maxValue),
		Bucket: shorten(cmpOr(q.Get("bucket"), "day"), maxValue), Group: shorten(q.Get("group"), maxValue)}
	// What the form shows again with an error.
	bucket := tickets.Bucket(rqy.Bucket)
	bad := reportData{Q: rqy, Groups: s.groupOpts(rq), SL: int(s.opts.ServiceLevel / time.Second), Buckets: tickets.Buckets}
	if bucket.MaxDays() == 0 {
		return bad, errorKey(fault.EINVALID, "reports.bad_bucket")
	}
	if rqy.To == "" {
		rqy.To = today.Format(time.DateOnly)
	}
	if rqy.From == "" {
		rqy.From = DefaultReportFrom(bucket, today).Format(time.DateOnly)
	}
	from, err1 := time.ParseInLocation(time.DateOnly, rqy.From, loc)
	to, err2 := time.ParseInLocation(time.DateOnly, rqy.To, loc)
	if err1 != nil || err2 != nil || to.Before(from) {
		return bad, errorKey(fault.EINVALID, "reports.bad_dates")
	}
	// Whole weeks or months, so that no row counts part of its period; the
	// form shows the dates covered.
	from, to = bucket.AlignPeriod(from, to.AddDate(0, 0, 1))
	rqy.From, rqy.To = from.Format(time.DateOnly), to.AddDate(0, 0, -1).Format(time.DateOnly)
	if limit := bucket.MaxDays(); to.Sub(from) > time.Duration(limit)*24*time.Hour+time.Hour {
		bad.Q = rqy
		return bad, errorKey(fault.EINVALID, "reports.too_long", limit)
	}
	d := reportData{Q: rqy, Groups: s.groupOpts(rq), SL: int(s.opts.ServiceLevel / time.Second), Buckets: tickets.Buckets}
	var groups []string
	switch {
	case rqy.Group != "":
		if !rq.mayGroup(rqy.Group) {
			return reportData{}, fault.ErrNotFound
		}
		groups = []string{rqy.Group}
	case !rq.allGroups():
		groups = rq.groups
		if len(groups) == 0 {
			return d, nil // an operator of no group sees no figures, never everyone's
		}
	}
	rows, err := s.opts.Tickets.Report(r.Context(), s.reportFilter(from, to, groups, bucket))
	if err != nil {
		return reportData{}, err
	}
	for _, x := range rows {
		d.Rows = append(d.Rows, reportRow{ReportRow: x, Name: s.groupName(x.Group), Period: PeriodLabel(bucket, x.Start)})
	}
	d.Total.ReportRow = tickets.ReportTotal(rows)
	d.Chart, d.Periods = reportChart(rq.lang, d.Rows)
	cats, err := s.opts.Tickets.CategoryReport(r.Context(), tickets.CategoryFilter{From: from, To: to, Groups: groups})
	if err != nil {
		return reportData{}, err
	}
	cfg := s.config()
	for _, x := range cats {
		c := categoryRow{CategoryRow: x, Name: s.groupName(x.Group)}
		if x.Category != "" {
			c.Label = cfg.CategoryLabel(x.Category, string(rq.lang))
		}
		d.Categories = append(d.Categories, c)
		d.CategoryTotal.Tickets += x.Tickets
		d.CategoryTotal.Open += x.Open
	}
	if d.CSAT, err = s.opts.Tickets.CSAT(r.Context(), tickets.CSATFilter{From: from, To: to, Groups: groups}); err != nil {
		return reportData{}, err
	}
	d.CSATTables = s.csatTables(d.CSAT)
	if d.Recordings, err = s.recordingRows(r.Context(), from, to, groups); err != nil {
		return reportData{}, err
	}
	if d.Interventions, err = s.audit.Interventions(r.Context(), from, to, groups); err != nil {
		return reportData{}, err
	}
	v := q
	v.Set("from", rqy.From)
	v.Set("to", rqy.To)
	v.Set("bucket", rqy.Bucket)
	v.Del("table")
	d.CSVURL = "/reports.csv?" + v.Encode()
	v.Set("table", "csat")
	d.CSATCSVURL = "/reports.csv?" + v.Encode()
	v.Set("table", "category")
	d.CategoryCSVURL = "/reports.csv?" + v.Encode()
	return d, nil
}

// reportFilter is the call report's filter, each group's calls counted
// against its own service-level threshold (the config's service_level,
// by default Options.ServiceLevel). The API builds its reports with it.
func (s *Server) reportFilter(from, to time.Time, groups []string, b tickets.Bucket) tickets.ReportFilter {
	return ReportFilter(s.config(), s.opts.ServiceLevel, from, to, groups, b)
}

// ReportFilter is the call report's filter for the configuration cfg:
// each group's calls counted against its service_level, def for the
// groups that set none. The panel and the API both use it, so that their
// figures agree.
func ReportFilter(cfg *menu.Config, def time.Duration, from, to time.Time, groups []string, b tickets.Bucket) tickets.ReportFilter {
	return tickets.ReportFilter{From: from, To: to, Groups: groups, Bucket: b,
		ServiceLevelSeconds: int(def / time.Second), GroupServiceLevels: cfg.GroupServiceLevels(def)}
}

// DefaultReportFrom is the first day of a report that names none, ending
// today: today by hour, a week by day, 12 weeks by week, 12 months by
// month (the API's default too).
func DefaultReportFrom(b tickets.Bucket, today time.Time) time.Time {
	switch b {
	case tickets.BucketHour:
		return today
	case tickets.BucketWeek:
		return today.AddDate(0, 0, -7*11)
	case tickets.BucketMonth:
		return time.Date(today.Year(), today.Month()-11, 1, 0, 0, 0, 0, today.Location())
	}
	return today.AddDate(0, 0, -6)
}

// PeriodLabel names a report's period by its start: "2025-10-26 02:00"
// (an hour; the offset tells the two 02:00 of the autumn change apart),
// "2025-10-26", "2025-W43" (an ISO week) or "2025-10".
func PeriodLabel(b tickets.Bucket, start time.Time) string {
	switch b {
	case tickets.BucketHour:
		return start.Format("2006-01-02 15:00 -07")
	case tickets.BucketWeek:
		y, w := start.ISOWeek()
		return fmt.Sprintf("%d-W%02d", y, w)
	case tickets.BucketMonth:
		return start.Format("2006-01")
	}
	return start.Format(time.DateOnly)
}

func (s *Server) reports(w http.ResponseWriter, r *http.Request) {
	d, err := s.report(r)
	if fault.Code(err) == fault.EINVALID {
		p := s.newPage(r, "reports", "nav.reports", d)
		p.Error = errorMessage(reqOf(r).lang, err)
		s.render(w, r, http.StatusBadRequest, "reports.html", p)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "reports.html", s.newPage(r, "reports", "nav.reports", d))
}

func (s *Server) reportsCSV(w http.ResponseWriter, r *http.Request) {
	d, err := s.report(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	switch r.URL.Query().Get("table") {
	case "csat":
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="csat-%s-%s.csv"`, d.Q.From, d.Q.To))
		WriteCSATCSV(w, d.CSAT)
		return
	case "category":
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="categories-%s-%s.csv"`, d.Q.From, d.Q.To))
		rows := make([]CategoryCSVRow, len(d.Categories))
		for i, x := range d.Categories {
			rows[i] = CategoryCSVRow{CategoryRow: x.CategoryRow, Label: x.Label}
		}
		WriteCategoryCSV(w, rows)
		return
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="report-%s-%s-%s.csv"`, d.Q.Bucket, d.Q.From, d.Q.To))
	rows := make([]tickets.ReportRow, len(d.Rows))
	for i, x := range d.Rows {
		rows[i] = x.ReportRow
	}
	WriteReportCSV(w, rows)
}

// WriteReportCSV writes a call report as CSV, one row per period and
// group with the group's service-level threshold (the API's reports.csv
// writes the same).
func WriteReportCSV(w io.Writer, rows []tickets.ReportRow) {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"period_start", "group", "offered", "answered", "abandoned", "answered_within_sl",
		"service_level_pct", "asa_seconds", "aht_seconds", "service_level_seconds",
		"transfers_group", "transfers_operator", "transfers_number", "transfers_attended", "moves", "holds", "hold_seconds"})
	for _, x := range rows {
		_ = cw.Write([]string{x.Start.Format(time.RFC3339), csvSafe(x.Group), strconv.Itoa(x.Offered), strconv.Itoa(x.Answered),
			strconv.Itoa(x.Abandoned), strconv.Itoa(x.AnsweredWithinSL), fmt.Sprintf("%.1f", x.ServiceLevel*100),
			fmt.Sprintf("%.1f", x.ASA.Seconds()), fmt.Sprintf("%.1f", x.AHT.Seconds()), strconv.Itoa(x.ServiceLevelSeconds),
			strconv.Itoa(x.Transfers.Group), strconv.Itoa(x.Transfers.Operator), strconv.Itoa(x.Transfers.Number),
			strconv.Itoa(x.Transfers.Attended), strconv.Itoa(x.Transfers.Moved), strconv.Itoa(x.Holds),
			fmt.Sprintf("%.1f", x.HoldTime.Seconds())})
	}
	cw.Flush()
}

// CategoryCSVRow is a row of the category breakdown with its category's
// label ("" uncategorised).
type CategoryCSVRow struct {
	tickets.CategoryRow
	Label string
}

// WriteCategoryCSV writes the tickets per category and group as CSV (the
// API's reports.csv?table=category writes the same).
func WriteCategoryCSV(w io.Writer, rows []CategoryCSVRow) {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"category", "category_label", "group", "tickets", "open"})
	for _, x := range rows {
		_ = cw.Write([]string{csvSafe(x.Category), csvSafe(x.Label), csvSafe(x.Group), strconv.Itoa(x.Tickets), strconv.Itoa(x.Open)})
	}
	cw.Flush()
}

func (s *Server) csatTables(rep tickets.CSATReport) []csatTable {
	by := csatTable{By: "group", Caption: "csat.by_group", Head: "wb.group"}
	for _, x := range rep.ByGroup {
		by.Rows = append(by.Rows, csatRow{Key: x.Group, Name: s.groupName(x.Group), Row: x})
	}
	ops := csatTable{By: "operator", Caption: "csat.by_operator", Head: "csat.operator"}
	for _, x := range rep.ByOperator {
		ops.Rows = append(ops.Rows, csatRow{Key: x.Operator, Name: x.Operator, Row: x})
	}
	hours := csatTable{By: "hour", Caption: "csat.by_hour", Head: "csat.hour"}
	for _, x := range rep.ByHour {
		h := fmt.Sprintf("%02d", x.Hour)
		hours.Rows = append(hours.Rows, csatRow{Key: h, Name: h + ":00–" + h + ":59", Row: x})
	}
	return []csatTable{by, ops, hours}
}

// WriteCSATCSV writes a CSAT report as CSV, one row per group, operator
// and hour of the day, then the total (the API's reports.csv?table=csat
// writes the same).
func WriteCSATCSV(w io.Writer, rep tickets.CSATReport) {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"by", "key", "asked", "rated", "satisfied", "csat_pct", "average_rating"})
	row := func(by, key string, x tickets.CSATRow) {
		_ = cw.Write([]string{by, csvSafe(key), strconv.Itoa(x.Asked), strconv.Itoa(x.Rated), strconv.Itoa(x.Satisfied),
			fmt.Sprintf("%.1f", x.CSAT*100), fmt.Sprintf("%.2f", x.Average)})
	}
	for _, x := range rep.ByGroup {
		row("group", x.Group, x)
	}
	for _, x := range rep.ByOperator {
		row("operator", x.Operator, x)
	}
	for _, x := range rep.ByHour {
		row("hour", fmt.Sprintf("%02d", x.Hour), x)
	}
	row("total", "", rep.Total)
	cw.Flush()
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// reportChart draws the report as an SVG bar chart: per period, the calls
// answered and abandoned (stacked; the rest of the offered calls on top),
// and the service level as a line. Drawn here, so no chart library is
// downloaded, and no script runs.
func reportChart(l lang, rows []reportRow) (template.HTML, int) {
	type bar struct {
		label                        string
		offered, answered, abandoned int
		within                       int
	}
	var bars []bar
	for _, r := range rows {
		if len(bars) == 0 || bars[len(bars)-1].label != r.Period {
			bars = append(bars, bar{label: r.Period})
		}
		b := &bars[len(bars)-1]
		b.offered += r.Offered
		b.answered += r.Answered
		b.abandoned += r.Abandoned
		b.within += r.AnsweredWithinSL
	}
	if len(bars) == 0 {
		return "", 0
	}
	const (
		width, height       = 960, 300
		left, right, bottom = 48, 48, 56
		top                 = 16
	)
	peak := 1
	for _, b := range bars {
		peak = max(peak, b.offered)
	}
	plotW, plotH := float64(width-left-right), float64(height-top-bottom)
	step := plotW / float64(len(bars))
	barW := max(step*0.7, 1)
	y := func(v int) float64 { return top + plotH - plotH*float64(v)/float64(peak) }
	var sb strings.Builder
	esc := template.HTMLEscapeString
	fmt.Fprintf(&sb, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-labelledby="chart-title" data-testid="report-chart" xmlns="http://www.w3.org/2000/svg">`, width, height)
	fmt.Fprintf(&sb, `<title id="chart-title">%s</title>`, esc(l.T("reports.chart")))
	// Axes and scale.
	fmt.Fprintf(&sb, `<line x1="%d" y1="%d" x2="%d" y2="%d" class="axis"/>`, left, top, left, height-bottom)
	fmt.Fprintf(&sb, `<line x1="%d" y1="%d" x2="%d" y2="%d" class="axis"/>`, left, height-bottom, width-right, height-bottom)
	for _, v := range []int{0, peak / 2, peak} {
		fmt.Fprintf(&sb, `<text x="%d" y="%.1f" class="tick" text-anchor="end">%d</text>`, left-6, y(v)+4, v)
	}
	for _, pct := range []int{0, 50, 100} {
		yy := top + plotH - plotH*float64(pct)/100
		fmt.Fprintf(&sb, `<text x="%d" y="%.1f" class="tick">%d%%</text>`, width-right+6, yy+4, pct)
	}
	labelEvery := max(1, len(bars)/12)
	var line []string
	for i, b := range bars {
		x := left + step*float64(i) + (step-barW)/2
		other := max(b.offered-b.answered-b.abandoned, 0)
		yAns, yAb, yOther := y(b.answered), y(b.answered+b.abandoned), y(b.answered+b.abandoned+other)
		base := y(0)
		fmt.Fprintf(&sb, `<g><title>%s: %s %d, %s %d, %s %d</title>`, esc(b.label),
			esc(l.T("wb.offered")), b.offered, esc(l.T("wb.answered")), b.answered, esc(l.T("wb.abandoned")), b.abandoned)
		fmt.Fprintf(&sb, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="bar-answered"/>`, x, yAns, barW, base-yAns)
		fmt.Fprintf(&sb, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="bar-abandoned"/>`, x, yAb, barW, yAns-yAb)
		fmt.Fprintf(&sb, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="bar-other"/></g>`, x, yOther, barW, yAb-yOther)
		if i%labelEvery == 0 {
			label := b.label
			if len(label) > 10 {
				label = label[5:] // "01-02 15:00"
			}
			fmt.Fprintf(&sb, `<text x="%.1f" y="%d" class="tick" text-anchor="middle">%s</text>`, x+barW/2, height-bottom+16, esc(label))
		}
		if b.offered > 0 {
			sl := float64(b.within) / float64(b.offered)
			cx, cy := x+barW/2, top+plotH-plotH*sl
			line = append(line, fmt.Sprintf("%.1f,%.1f", cx, cy))
			fmt.Fprintf(&sb, `<circle cx="%.1f" cy="%.1f" r="4" class="sl-point"><title>%s %.0f%%</title></circle>`,
				cx, cy, esc(l.T("wb.sl")), sl*100)
		}
	}
	if len(line) > 1 {
		fmt.Fprintf(&sb, `<polyline points="%s" class="sl-line"/>`, strings.Join(line, " "))
	}
	// Legend.
	items := []struct{ class, key string }{{"bar-answered", "wb.answered"}, {"bar-abandoned", "wb.abandoned"},
		{"bar-other", "reports.other"}, {"sl-swatch", "wb.sl"}}
	for i, it := range items {
		x := left + i*190
		fmt.Fprintf(&sb, `<rect x="%d" y="%d" width="14" height="14" class="%s"/><text x="%d" y="%d" class="legend">%s</text>`,
			x, height-22, it.class, x+20, height-10, esc(l.T(it.key)))
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String()), len(bars) // #nosec: built from numbers and escaped text
}
