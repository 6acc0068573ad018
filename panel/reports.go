package panel

import (
	"encoding/csv"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// reportQuery is the reports page's form.
type reportQuery struct {
	From, To, Bucket, Group string
}

// Longest periods a report may cover, so that one request cannot ask for
// years of hours.
const (
	maxReportDays       = 366
	maxHourlyReportDays = 31
)

type reportData struct {
	Q       reportQuery
	Rows    []reportRow
	Total   reportRow
	Groups  []groupOpt
	Chart   template.HTML
	CSVURL  string
	SL      int
	Periods int
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
	bad := reportData{Q: rqy, Groups: s.groupOpts(rq), SL: int(s.opts.ServiceLevel / time.Second)}
	if rqy.Bucket != "day" && rqy.Bucket != "hour" {
		return bad, errorKey(fault.EINVALID, "reports.bad_bucket")
	}
	if rqy.To == "" {
		rqy.To = today.Format(time.DateOnly)
	}
	if rqy.From == "" {
		days := 6
		if rqy.Bucket == "hour" {
			days = 0
		}
		rqy.From = today.AddDate(0, 0, -days).Format(time.DateOnly)
	}
	from, err1 := time.ParseInLocation(time.DateOnly, rqy.From, loc)
	to, err2 := time.ParseInLocation(time.DateOnly, rqy.To, loc)
	if err1 != nil || err2 != nil || to.Before(from) {
		return bad, errorKey(fault.EINVALID, "reports.bad_dates")
	}
	to = to.AddDate(0, 0, 1)
	limit := maxReportDays
	if rqy.Bucket == "hour" {
		limit = maxHourlyReportDays
	}
	if to.Sub(from) > time.Duration(limit)*24*time.Hour+time.Hour {
		return bad, errorKey(fault.EINVALID, "reports.too_long", limit)
	}
	d := reportData{Q: rqy, Groups: s.groupOpts(rq), SL: int(s.opts.ServiceLevel / time.Second)}
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
	rows, err := s.opts.Tickets.Report(r.Context(), tickets.ReportFilter{From: from, To: to, Groups: groups,
		Bucket: tickets.Bucket(rqy.Bucket), ServiceLevelSeconds: d.SL})
	if err != nil {
		return reportData{}, err
	}
	layout := "2006-01-02"
	if rqy.Bucket == "hour" {
		layout = "2006-01-02 15:00"
	}
	var asa, aht time.Duration
	for _, x := range rows {
		d.Rows = append(d.Rows, reportRow{ReportRow: x, Name: s.groupName(x.Group), Period: x.Start.Format(layout)})
		t := &d.Total
		t.Offered += x.Offered
		t.Answered += x.Answered
		t.Abandoned += x.Abandoned
		t.AnsweredWithinSL += x.AnsweredWithinSL
		asa += x.ASA * time.Duration(x.Answered)
		aht += x.AHT * time.Duration(x.Answered)
	}
	if d.Total.Offered > 0 {
		d.Total.ServiceLevel = float64(d.Total.AnsweredWithinSL) / float64(d.Total.Offered)
	}
	if d.Total.Answered > 0 {
		d.Total.ASA = asa / time.Duration(d.Total.Answered)
		d.Total.AHT = aht / time.Duration(d.Total.Answered)
	}
	d.Chart, d.Periods = reportChart(rq.lang, d.Rows)
	v := q
	v.Set("from", rqy.From)
	v.Set("to", rqy.To)
	v.Set("bucket", rqy.Bucket)
	d.CSVURL = "/reports.csv?" + v.Encode()
	return d, nil
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
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="report-%s-%s-%s.csv"`, d.Q.Bucket, d.Q.From, d.Q.To))
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"period_start", "group", "offered", "answered", "abandoned", "answered_within_sl",
		"service_level_pct", "asa_seconds", "aht_seconds"})
	for _, x := range d.Rows {
		_ = cw.Write([]string{x.Start.Format(time.RFC3339), csvSafe(x.Group), strconv.Itoa(x.Offered), strconv.Itoa(x.Answered),
			strconv.Itoa(x.Abandoned), strconv.Itoa(x.AnsweredWithinSL), fmt.Sprintf("%.1f", x.ServiceLevel*100),
			fmt.Sprintf("%.1f", x.ASA.Seconds()), fmt.Sprintf("%.1f", x.AHT.Seconds())})
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
