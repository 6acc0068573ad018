package panel

import (
	"embed"
	"encoding/json"
	"fmt"
	"time"

	"github.com/helpdesk-ivr/ivr/hours"
)

// lang is a panel language ("it" or "en"); its methods translate and
// format for the templates.
type lang string

// T translates a message key; a missing key shows itself, and a test
// checks that both catalogs have every key, and every key the code and
// the templates use.
func (l lang) T(key string) string {
	if m, ok := catalogue[string(l)][key]; ok {
		return m
	}
	if m, ok := catalogue["it"][key]; ok {
		return m
	}
	return key
}

// Language names a caller's language ("en" is "Inglese" in Italian), or
// gives its code when the catalogue has no name for it.
func (l lang) Language(code string) string {
	if l.Has("language." + code) {
		return l.T("language." + code)
	}
	return code
}

// Tf translates a key whose message has fmt verbs.
func (l lang) Tf(key string, args ...any) string { return fmt.Sprintf(l.T(key), args...) }

// Has reports whether key exists.
func (l lang) Has(key string) bool {
	_, ok := catalogue[string(l)][key]
	return ok
}

// Clock is a time of day, 15:04:05.
func (l lang) Clock(t time.Time) string { return t.Format("15:04:05") }

// DateTime is a date and time in the language's order.
func (l lang) DateTime(t time.Time) string {
	if l == "en" {
		return t.Format("2006-01-02 15:04")
	}
	return t.Format("02/01/2006 15:04")
}

// Date is a date in the language's order.
func (l lang) Date(t time.Time) string {
	if l == "en" {
		return t.Format("2006-01-02")
	}
	return t.Format("02/01/2006")
}

// DateOf formats a calendar date with its weekday.
func (l lang) DateOf(d hours.Date) string {
	wd := l.Weekday(d.Weekday())
	if l == "en" {
		return fmt.Sprintf("%s %04d-%02d-%02d", wd, d.Year, d.Month, d.Day)
	}
	return fmt.Sprintf("%s %02d/%02d/%04d", wd, d.Day, d.Month, d.Year)
}

// Wait says how long to wait, in whole seconds or, from two minutes, in
// minutes (rounded up).
func (l lang) Wait(d time.Duration) string {
	if d < 2*time.Minute {
		return l.Tf("time.seconds", int((d+time.Second-1)/time.Second))
	}
	return l.Tf("time.minutes", int((d+time.Minute-1)/time.Minute))
}

// Weekday names a day of the week.
func (l lang) Weekday(d time.Weekday) string { return l.T(fmt.Sprintf("day.%d", d)) }

// Reason names a pause reason, or shows one typed by the operator.
func (l lang) Reason(r string) string {
	if l.Has("reason." + r) {
		return l.T("reason." + r)
	}
	return r
}

// NoticeKind names a kind of e-mail notice, or shows an unknown one.
func (l lang) NoticeKind(k string) string {
	if l.Has("notice." + k) {
		return l.T("notice." + k)
	}
	return k
}

// Field names a field of the ticket history.
func (l lang) Field(f string) string {
	if l.Has("field." + f) {
		return l.T("field." + f)
	}
	return f
}

// The messages are data: one catalog per language, panel/i18n/<lang>.json,
// a flat object of key → text (fmt verbs where the text takes values).
//
//go:embed i18n/*.json
var catalogFiles embed.FS

var catalogue = loadCatalogs()

// loadCatalogs reads the embedded catalogs; a broken one is a bug that
// every test finds, so it panics.
func loadCatalogs() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, l := range Languages {
		b, err := catalogFiles.ReadFile("i18n/" + l + ".json")
		if err != nil {
			panic(fmt.Sprintf("panel: catalog %s: %v", l, err))
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			panic(fmt.Sprintf("panel: catalog %s: %v", l, err))
		}
		out[l] = m
	}
	return out
}
