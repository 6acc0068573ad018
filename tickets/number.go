package tickets

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Number is a ticket's human-readable number: the day it was opened
// (YYYYMMDD in the service time zone), that day's counter zero-padded to at
// least four digits, and a Damm check digit, e.g. 2025112200174. It is short
// enough to read to a caller and to key back on a phone keypad; the check
// digit catches every single mistyped digit and every swap of two adjacent
// digits before the number is looked up.
//
// A Number obtained from ParseNumber or NewNumber is canonical: digits only.
type Number string

const (
	numberDateDigits       = 8
	numberMinCounterDigits = 4
	numberMaxCounterDigits = 10
	numberMinLen           = numberDateDigits + numberMinCounterDigits + 1
	numberMaxLen           = numberDateDigits + numberMaxCounterDigits + 1
)

// NewNumber builds the number of the counter-th ticket of day's calendar
// date (day is read as it is; convert it to the service zone first).
func NewNumber(day time.Time, counter int64) Number {
	y, m, d := day.Date()
	s := fmt.Sprintf("%04d%02d%02d%0*d", y, m, d, numberMinCounterDigits, counter)
	return Number(s + strconv.Itoa(damm(s)))
}

// ParseNumber reads a number as typed or keyed by a person: spaces and dashes
// are ignored. A wrong check digit gives ErrBadCheckDigit and anything that
// is not a well-formed number ErrMalformedNumber, so a mistyped number is
// rejected instead of being looked up (and possibly finding someone else's
// ticket).
func ParseNumber(s string) (Number, error) {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case unicode.IsSpace(r) || unicode.Is(unicode.Pd, r): // all dashes
		default:
			return "", ErrMalformedNumber
		}
	}
	digits := b.String()
	if len(digits) < numberMinLen || len(digits) > numberMaxLen {
		return "", ErrMalformedNumber
	}
	// The check digit first: every single-digit error and adjacent swap is
	// then reported as what it is, whatever part of the number it hit.
	if damm(digits) != 0 {
		return "", ErrBadCheckDigit
	}
	n := Number(digits)
	y, _ := strconv.Atoi(digits[0:4])
	m, _ := strconv.Atoi(digits[4:6])
	d, _ := strconv.Atoi(digits[6:8])
	if t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC); y < 2000 || t.Year() != y || int(t.Month()) != m || t.Day() != d {
		return "", ErrMalformedNumber
	}
	counter := digits[numberDateDigits : len(digits)-1]
	// Canonical form only, so one ticket has one spelling: exactly four
	// digits, or more without a leading zero; never zero.
	if (len(counter) > numberMinCounterDigits && counter[0] == '0') || strings.Trim(counter, "0") == "" {
		return "", ErrMalformedNumber
	}
	return n, nil
}

func (n Number) String() string { return string(n) }

// Date returns the day the ticket was numbered, at midnight UTC (it is a
// calendar date, not an instant).
func (n Number) Date() time.Time {
	if len(n) < numberMinLen {
		return time.Time{}
	}
	t, _ := time.Parse("20060102", string(n[:numberDateDigits]))
	return t
}

// Counter returns the ticket's position in its day.
func (n Number) Counter() int64 {
	if len(n) < numberMinLen {
		return 0
	}
	c, _ := strconv.ParseInt(string(n[numberDateDigits:len(n)-1]), 10, 64)
	return c
}

// Grouped spells the number in groups for reading aloud or printing, e.g.
// 20251122-0017-4; ParseNumber accepts it back.
func (n Number) Grouped() string {
	if len(n) < numberMinLen {
		return string(n)
	}
	s := string(n)
	return s[:numberDateDigits] + "-" + s[numberDateDigits:len(s)-1] + "-" + s[len(s)-1:]
}

// dammTable is the quasigroup of order 10 from H. Michael Damm's thesis
// (2004): weakly totally anti-symmetric, hence the error detection above.
// The same table is in the migration's ticket_damm function.
var dammTable = [10][10]uint8{
	{0, 3, 1, 7, 5, 9, 8, 6, 4, 2},
	{7, 0, 9, 2, 1, 5, 4, 8, 6, 3},
	{4, 2, 0, 6, 8, 7, 1, 3, 5, 9},
	{1, 7, 5, 0, 9, 8, 3, 4, 2, 6},
	{6, 1, 2, 3, 0, 4, 5, 9, 7, 8},
	{3, 6, 7, 4, 2, 0, 9, 5, 8, 1},
	{5, 8, 6, 9, 7, 2, 0, 1, 3, 4},
	{8, 9, 4, 5, 3, 6, 2, 0, 1, 7},
	{9, 4, 3, 8, 6, 1, 7, 2, 0, 5},
	{2, 5, 8, 1, 4, 3, 6, 7, 9, 0},
}

// damm returns the interim digit of digits (ASCII 0-9 only): appended to
// digits it makes the whole string's interim digit 0.
func damm(digits string) int {
	i := uint8(0)
	for k := 0; k < len(digits); k++ {
		i = dammTable[i][digits[k]-'0']
	}
	return int(i)
}
