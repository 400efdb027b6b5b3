package templates

import (
	"strconv"

	"github.com/thumbmail/thumbmail/mailproxy"
)

func fromLabel(s mailproxy.Summary) string {
	if l := s.From.String(); l != "" {
		return l
	}
	return "(no sender)"
}

func subjectLabel(s string) string {
	if s == "" {
		return "(no subject)"
	}
	return s
}

// imagesQuery adds images=1 to a message URL that may already carry ?p=.
func imagesQuery(backPage int) string {
	if backPage > 1 {
		return "&images=1"
	}
	return "?images=1"
}

// itoa is strconv.Itoa for form values (no digit grouping).
func itoa(n int) string { return strconv.Itoa(n) }
