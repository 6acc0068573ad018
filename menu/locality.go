package menu

import (
	"github.com/helpdesk-ivr/ivr/hours"
)

// applyLocality adds the patron-saint day of the schedule's Comune, from
// the table shipped in package hours, to its local holidays.
func (sc *Schedule) applyLocality(v *validator, name string, hs *hours.Schedule) {
	if sc.Locality == "" {
		return
	}
	pos := sc.localityPos
	if pos.Line == 0 {
		pos = sc.Pos
	}
	l, ok := hours.PatronDay(sc.Locality)
	if !ok {
		v.add(pos, "schedule %q: unknown locality %q: the table of patron-saint days (hours/patroni.txt) lacks it; add it there (see the README) or give the day under local_holidays", name, sc.Locality)
		return
	}
	day := l.Day
	day.Name += " (festa patronale di " + l.Name + ")"
	hs.Patron = append(hs.Patron, day)
}
