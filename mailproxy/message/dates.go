package message

import (
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Time zone abbreviations seen in Date fields. RFC 5322 §4.3 defines the
// North American ones; the rest are common in the wild.
var zoneOffsets = map[string]string{
	"UT": "+0000", "UTC": "+0000", "GMT": "+0000", "Z": "+0000", "WET": "+0000",
	"EST": "-0500", "EDT": "-0400", "CST": "-0600", "CDT": "-0500",
	"MST": "-0700", "MDT": "-0600", "PST": "-0800", "PDT": "-0700",
	"AKST": "-0900", "AKDT": "-0800", "HST": "-1000", "AST": "-0400", "ADT": "-0300",
	"NST": "-0330", "NDT": "-0230",
	"BST": "+0100", "IST": "+0530", "CET": "+0100", "CEST": "+0200", "MET": "+0100", "MEST": "+0200",
	"WEST": "+0100", "EET": "+0200", "EEST": "+0300", "MSK": "+0300",
	"JST": "+0900", "KST": "+0900", "HKT": "+0800", "SGT": "+0800", "AWST": "+0800",
	"ACST": "+0930", "AEST": "+1000", "AEDT": "+1100", "NZST": "+1200", "NZDT": "+1300",
}

var (
	dateCommentRe = regexp.MustCompile(`\([^()]*\)`)
	dateWeekdayRe = regexp.MustCompile(`(?i)\b(mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s*`)
	dateZoneRe    = regexp.MustCompile(`\b([A-Za-z]{1,5})\s*$`)
	dateGMTOffRe  = regexp.MustCompile(`(?i)^(?:gmt|utc|ut)?([+-])(\d{1,2}):?(\d{2})?$`)
)

// Layouts tried, in order, after the Date field was cleaned up.
var dateLayouts = []string{
	"2 Jan 2006 15:04:05 -0700",
	"2 Jan 2006 15:04 -0700",
	"2 Jan 06 15:04:05 -0700",
	"2 Jan 06 15:04 -0700",
	"2 January 2006 15:04:05 -0700",
	"2-Jan-2006 15:04:05 -0700",
	"Jan 2 15:04:05 2006 -0700",
	"Jan 2 15:04:05 -0700 2006",
	"Jan 2 2006 15:04:05 -0700",
	"January 2, 2006 15:04:05 -0700",
	"January 2, 2006 3:04 PM -0700",
	"January 2, 2006 3:04 PM",
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05-0700",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05",
	"2 Jan 2006 15:04:05",
	"2 Jan 2006 15:04",
	"Jan 2 15:04:05 2006",
	"2006/01/02 15:04:05",
	"02/01/2006 15:04:05",
	"2 Jan 2006",
	"2006-01-02",
}

// parseDate reads a Date field in RFC 5322 form or in one of many forms
// seen in real mail. It returns the zero time when nothing fits.
func parseDate(s string) time.Time {
	s = cleanHeaderText(bytesToUTF8([]byte(unfold(s))))
	if s == "" {
		return time.Time{}
	}
	if t, err := mail.ParseDate(s); err == nil && !hasZoneAbbrev(s) {
		return t
	}
	s = dateCommentRe.ReplaceAllString(s, " ")
	s = dateWeekdayRe.ReplaceAllString(s, "")
	// Zones: "CEST", "GMT+2", "UTC+05:30", "+02:00", "GMT +0200".
	tokens := strings.Fields(s)
	var out []string
	for i, tok := range tokens {
		t := strings.Trim(tok, ",")
		if off, ok := zoneOffsets[strings.ToUpper(t)]; ok && i > 0 {
			if i+1 < len(tokens) && dateGMTOffRe.MatchString(tokens[i+1]) && strings.ContainsAny(tokens[i+1], "+-") {
				continue // "GMT +0200": the offset follows
			}
			out = append(out, off)
			continue
		}
		if m := dateGMTOffRe.FindStringSubmatch(t); m != nil && i > 0 {
			h, _ := strconv.Atoi(m[2])
			mm := m[3]
			if mm == "" {
				mm = "00"
			}
			out = append(out, m[1]+twoDigits(h)+mm)
			continue
		}
		out = append(out, tok)
	}
	s = strings.Join(out, " ")
	if t, err := mail.ParseDate(s); err == nil {
		return t
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Year() < 1970 || t.Year() > 2200 {
				continue
			}
			return t
		}
	}
	return time.Time{}
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// hasZoneAbbrev reports whether a date ends with a zone abbreviation
// other than UT/GMT/Z, which net/mail reads as +0000.
func hasZoneAbbrev(s string) bool {
	m := dateZoneRe.FindStringSubmatch(dateCommentRe.ReplaceAllString(s, " "))
	if m == nil {
		return false
	}
	switch strings.ToUpper(m[1]) {
	case "UT", "UTC", "GMT", "Z":
		return false
	}
	return true
}
