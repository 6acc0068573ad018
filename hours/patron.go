package hours

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"
)

// patroni.txt is the table of patron-saint days of the provincial
// capitals; its header cites the sources and gives the format.
//
//go:embed patroni.txt
var patronData string

// Locality is a Comune with its patron-saint day.
type Locality struct {
	Name     string // as written first in the table, e.g. "Reggio Calabria"
	Province string // the province's two-letter code, e.g. "RC"
	Day      AnnualDay
}

type patronTable struct {
	byKey map[string]Locality
	all   []Locality
}

var patrons = sync.OnceValues(func() (patronTable, error) { return parsePatrons(patronData) })

// PatronDay returns the patron-saint day of a Comune by name ("Milano",
// "reggio nell'emilia", "Forli"), false if the table lacks it.
func PatronDay(locality string) (Locality, bool) {
	t, err := patrons()
	if err != nil {
		return Locality{}, false // the table's test keeps this from shipping
	}
	l, ok := t.byKey[localityKey(locality)]
	return l, ok
}

// Localities lists the Comuni of the table, by name.
func Localities() []Locality {
	t, _ := patrons()
	return slices.Clone(t.all)
}

func parsePatrons(data string) (patronTable, error) {
	t := patronTable{byKey: map[string]Locality{}}
	for i, line := range strings.Split(data, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ";")
		if len(f) != 4 {
			return t, fmt.Errorf("patroni.txt:%d: want NAME;PROVINCE;DAY;FEAST", i+1)
		}
		day, err := ParseAnnualDay(f[2], f[3])
		if err != nil {
			return t, fmt.Errorf("patroni.txt:%d: %w", i+1, err)
		}
		if strings.TrimSpace(f[3]) == "" || len(f[1]) != 2 || strings.ToUpper(f[1]) != f[1] {
			return t, fmt.Errorf("patroni.txt:%d: want a feast name and a two-letter province code", i+1)
		}
		names := strings.Split(f[0], "|")
		l := Locality{Name: names[0], Province: f[1], Day: day}
		for _, n := range names {
			k := localityKey(n)
			if k == "" {
				return t, fmt.Errorf("patroni.txt:%d: empty name", i+1)
			}
			if prev, dup := t.byKey[k]; dup {
				return t, fmt.Errorf("patroni.txt:%d: %q is already %s", i+1, n, prev.Name)
			}
			t.byKey[k] = l
		}
		t.all = append(t.all, l)
	}
	slices.SortFunc(t.all, func(a, b Locality) int { return strings.Compare(localityKey(a.Name), localityKey(b.Name)) })
	return t, nil
}

// localityKey folds a name for matching: lower case, no accents, and
// apostrophes, dashes and runs of spaces as one space ("Forlì" = "forli",
// "L'Aquila" = "l aquila").
func localityKey(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToLower(s) {
		if plain, ok := unaccented[r]; ok {
			r = plain
		}
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		default:
			space = true
		}
	}
	return b.String()
}

// unaccented covers the accents of Italian (and German, for South Tyrol)
// place names; the package keeps to the standard library.
var unaccented = map[rune]rune{
	'à': 'a', 'á': 'a', 'â': 'a', 'ä': 'a', 'è': 'e', 'é': 'e', 'ê': 'e', 'ë': 'e',
	'ì': 'i', 'í': 'i', 'î': 'i', 'ï': 'i', 'ò': 'o', 'ó': 'o', 'ô': 'o', 'ö': 'o',
	'ù': 'u', 'ú': 'u', 'û': 'u', 'ü': 'u',
}
