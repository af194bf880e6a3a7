package schema

import (
	"strconv"
	"strings"
	"time"
)

// checkDateTime checks s against RFC 3339's date-time production
// (yyyy-mm-ddThh:mm:ss[.frac](Z|±hh:mm), a leap second only at 23:59 UTC)
// and returns why it is not one, or "".
func checkDateTime(s string) string {
	if len(s) < 20 {
		return "less than 20 characters long"
	}
	if s[10] != 'T' && s[10] != 't' {
		return "11th character must be t or T"
	}
	if _, err := time.Parse(time.DateOnly, s[:10]); err != nil {
		return "invalid date element: " + err.Error()
	}
	if reason := checkTime(s[11:]); reason != "" {
		return "invalid time element: " + reason
	}
	return ""
}

// checkTime checks the time part of a date-time.
func checkTime(s string) string {
	if len(s) < 9 {
		return "less than 9 characters long"
	}
	if s[2] != ':' || s[5] != ':' {
		return "missing colon in correct place"
	}
	var hms [3]int
	for i, f := range strings.SplitN(s[:8], ":", 3) {
		n, err := strconv.Atoi(f)
		if err != nil {
			return "invalid hour/min/sec"
		}
		if n < 0 {
			return "non-positive hour/min/sec"
		}
		hms[i] = n
	}
	h, m, sec := hms[0], hms[1], hms[2]
	if h > 23 || m > 59 || sec > 60 {
		return "hour/min/sec out of range"
	}
	rest := s[8:]
	if frac, ok := strings.CutPrefix(rest, "."); ok {
		digits := 0
		for digits < len(frac) && frac[digits] >= '0' && frac[digits] <= '9' {
			digits++
		}
		if digits == 0 {
			return "no digits in second fraction"
		}
		rest = frac[digits:]
	}
	if rest != "Z" && rest != "z" {
		if len(rest) != 6 {
			return "offset must be 6 characters long"
		}
		// Local time minus the offset is UTC.
		var toUTC int
		switch rest[0] {
		case '+':
			toUTC = -1
		case '-':
			toUTC = 1
		default:
			return "offset must begin with plus/minus"
		}
		if rest[3] != ':' {
			return "missing colon in offset in correct place"
		}
		var off [2]int
		for i, f := range strings.SplitN(rest[1:], ":", 2) {
			n, err := strconv.Atoi(f)
			if err != nil {
				return "invalid hour/min in offset"
			}
			if n < 0 {
				return "non-positive hour/min in offset"
			}
			off[i] = n
		}
		if off[0] > 23 || off[1] > 59 {
			return "hour/min in offset out of range"
		}
		mins := h*60 + m + toUTC*(off[0]*60+off[1])
		if mins < 0 {
			mins += 24 * 60
		}
		h, m = mins/60, mins%60
	}
	if sec == 60 && (h != 23 || m != 59) {
		return "invalid leap second"
	}
	return ""
}
