package message

import (
	"regexp"
	"strings"
)

// CSS properties kept in style attributes. Vendor prefixes are not
// accepted.
var allowedCSS = map[string]bool{
	"color": true, "background-color": true, "background": true,
	"font": true, "font-family": true, "font-size": true, "font-style": true,
	"font-weight": true, "font-variant": true, "line-height": true,
	"letter-spacing": true, "word-spacing": true, "text-align": true,
	"text-decoration": true, "text-decoration-line": true, "text-transform": true,
	"text-indent": true, "text-overflow": true, "white-space": true,
	"word-break": true, "word-wrap": true, "overflow-wrap": true,
	"vertical-align": true, "direction": true,
	"width": true, "height": true, "min-width": true, "max-width": true,
	"min-height": true, "max-height": true,
	"margin": true, "margin-top": true, "margin-right": true, "margin-bottom": true, "margin-left": true,
	"padding": true, "padding-top": true, "padding-right": true, "padding-bottom": true, "padding-left": true,
	"border": true, "border-top": true, "border-right": true, "border-bottom": true, "border-left": true,
	"border-color": true, "border-style": true, "border-width": true,
	"border-top-color": true, "border-right-color": true, "border-bottom-color": true, "border-left-color": true,
	"border-top-style": true, "border-right-style": true, "border-bottom-style": true, "border-left-style": true,
	"border-top-width": true, "border-right-width": true, "border-bottom-width": true, "border-left-width": true,
	"border-radius": true, "border-collapse": true, "border-spacing": true,
	"display": true, "float": true, "clear": true, "list-style": true,
	"list-style-type": true, "list-style-position": true, "table-layout": true,
	"caption-side": true, "empty-cells": true, "overflow": true,
	"overflow-x": true, "overflow-y": true, "visibility": true,
	"opacity": true, "position": true, "box-sizing": true,
	// Browsers ignore it; kept so that text hidden from Outlook is left
	// out of replies and previews (htmlToText) like any hidden text.
	"mso-hide": true,
}

// safeCSSValue reports whether a declaration value is safe for prop: no
// URLs, scripts, escapes, comments or functions other than colours and
// calc(), only static or relative positioning, and margins and indents
// that cannot pull the mail over the page around it (see offsetValue).
func safeCSSValue(prop, v string) bool {
	if len(v) == 0 || len(v) > 300 {
		return false
	}
	lv := strings.ToLower(v)
	for _, r := range lv {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	for _, w := range cssBadWords {
		if strings.Contains(lv, w) {
			return false
		}
	}
	for _, m := range cssFuncRe.FindAllStringSubmatch(lv, -1) {
		switch m[1] {
		case "rgb", "rgba", "hsl", "hsla", "calc":
		default:
			return false
		}
	}
	if strings.Count(lv, "'")%2 != 0 || strings.Count(lv, `"`)%2 != 0 ||
		strings.Count(lv, "(") != strings.Count(lv, ")") {
		return false
	}
	switch {
	case prop == "position":
		return lv == "static" || lv == "relative"
	case plainCSSProps[prop] && strings.Contains(lv, "("):
		// Values that hide text are read by htmlToText; one it cannot
		// compute must not hide text on the page and not in a reply.
		return false
	case prop == "mso-hide":
		return lv == "all"
	case prop == "margin":
		return offsetValue(lv, 4)
	case strings.HasPrefix(prop, "margin-"), prop == "text-indent":
		return offsetValue(lv, 1)
	}
	return true
}

// plainCSSProps are the properties whose values may hide text (see
// htmlToText): no functions there.
var plainCSSProps = map[string]bool{
	"font": true, "font-size": true, "opacity": true,
	"height": true, "max-height": true, "width": true, "max-width": true,
}

// offsetValue reports whether v, a lower-cased margin or text-indent
// value, is at most n plain non-negative lengths (or "auto", a margin's
// only keyword worth keeping). A negative margin or indent moves the mail
// up or to the left, over the page's own header and buttons, and a sign
// is not the only way to write one: calc(0px - +260px), calc(0px -
// (1px)), min(), max(), clamp(), var(), env(), infinity and keywords such
// as inherit all compute one. So nothing is read but digits and a unit:
// whatever else a value holds, the declaration is dropped.
func offsetValue(v string, n int) bool {
	f := strings.Fields(v)
	if len(f) == 0 || len(f) > n {
		return false
	}
	for _, t := range f {
		if t != "auto" && !cssPlainLengthRe.MatchString(t) {
			return false
		}
	}
	return true
}

// cleanStyle keeps the allowed, safe declarations of a style attribute,
// written "prop: value; prop: value".
func cleanStyle(style string) string {
	var out []string
	for _, d := range splitCSS(style) {
		i := strings.IndexByte(d, ':')
		if i <= 0 {
			continue
		}
		prop := strings.ToLower(strings.TrimSpace(d[:i]))
		val := stripImportant(strings.TrimSpace(d[i+1:]))
		if !allowedCSS[prop] || !safeCSSValue(prop, val) {
			continue
		}
		out = append(out, prop+": "+val)
	}
	return strings.Join(out, "; ")
}

// stripImportant drops a value's "!important": the declaration is kept
// (a preheader's "display: none !important" stays hidden) but cannot
// override the page's own rules for mail.
func stripImportant(v string) string {
	if i := strings.LastIndexByte(v, '!'); i >= 0 && strings.EqualFold(strings.TrimSpace(v[i+1:]), "important") {
		return strings.TrimSpace(v[:i])
	}
	return v
}

// splitCSS splits declarations on semicolons outside quotes and
// parentheses.
func splitCSS(s string) []string {
	var out []string
	depth, quote, start := 0, byte(0), 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case c == ';' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

var (
	cssFuncRe = regexp.MustCompile(`([a-z_\-][a-z0-9_\-]*)\s*\(`)
	// cssPlainLengthRe is a length, percentage or number written plainly:
	// digits and a unit, no sign, no exponent, no function.
	cssPlainLengthRe = regexp.MustCompile(`^([0-9]{1,6}(\.[0-9]{1,4})?|\.[0-9]{1,4})(px|em|rem|ex|ch|%|pt|pc|cm|mm|in|q|vw|vh|vmin|vmax)?$`)
	cssBadWords      = []string{
		"url", "expression", "javascript", "vbscript", "script", "behavior",
		"binding", "image", "import", "/*", "*/", "\\", "@", "<", ">",
		"{", "}", ";", "&", "`", "!",
	}
)
