package templates

import (
	"strconv"
	"strings"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// Clock fixes "now" and the time zone dates are shown in.
type Clock struct {
	Now time.Time
	Loc *time.Location
}

func (c Clock) loc() *time.Location {
	if c.Loc == nil {
		return time.Local
	}
	return c.Loc
}

// ShortDate is the list date: the time today, the weekday within the last
// week, "2 Jan" this year, "2 Jan 2006" before.
func (c Clock) ShortDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	now := c.Now.In(c.loc())
	t = t.In(c.loc())
	y1, m1, d1 := now.Date()
	y2, m2, d2 := t.Date()
	switch {
	case y1 == y2 && m1 == m2 && d1 == d2:
		return t.Format("15:04")
	case t.Before(now) && now.Sub(t) < 6*24*time.Hour:
		return t.Format("Mon")
	case y1 == y2:
		return t.Format("2 Jan")
	}
	return t.Format("2 Jan 2006")
}

// LongDate is the message view date.
func (c Clock) LongDate(t time.Time) string {
	if t.IsZero() {
		return "unknown date"
	}
	return t.In(c.loc()).Format("Mon, 2 Jan 2006 15:04")
}

// ISODate is for <time datetime>.
func ISODate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// formatInt writes 2001 as "2,001".
func formatInt(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + formatInt(-n)
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// FormatSize writes a byte count for people: "532 B", "14 KB", "2.3 MB".
func FormatSize(n int64) string {
	switch {
	case n < 1000:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1000*1000:
		return strconv.FormatInt((n+512)/1024, 10) + " KB"
	case n < 10*1000*1000:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MB"
	}
	return strconv.FormatInt((n+(1<<19))>>20, 10) + " MB"
}

// AddressList joins addresses for a header line, names where known.
func AddressList(as []mailproxy.Address) string {
	parts := make([]string, 0, len(as))
	for _, a := range as {
		if a.Name != "" && a.Email != "" {
			parts = append(parts, a.Name+" <"+a.Email+">")
		} else {
			parts = append(parts, a.String())
		}
	}
	return strings.Join(parts, ", ")
}

// SenderName is the short sender shown in lists and headings.
func SenderName(as []mailproxy.Address) string {
	if len(as) == 0 {
		return "(no sender)"
	}
	return as[0].String()
}

// SpecialLabel names special-use folders the same way everywhere.
func SpecialLabel(f mailproxy.Folder) string {
	if f.Depth == 0 {
		switch f.Special {
		case "inbox":
			return "Inbox"
		case "sent":
			return "Sent"
		case "drafts":
			return "Drafts"
		case "trash":
			return "Trash"
		case "junk":
			return "Junk"
		case "archive":
			return "Archive"
		}
	}
	return f.Display
}

// Range writes "1–50 of 2,001".
func Range(p *mailproxy.MessagePage) string {
	if p.Total == 0 {
		return "No messages"
	}
	more := ""
	if p.More {
		more = "+" // a big folder's search stopped early: at least this many
	}
	return formatInt(p.First) + "–" + formatInt(p.Last) + " of " + formatInt(p.Total) + more
}
