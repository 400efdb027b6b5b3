package message

import (
	"strconv"
	"strings"

	nethtml "golang.org/x/net/html"
)

// HTML to plain text, for quoting in replies and forwards (OriginalText),
// list previews (PreviewText) and HTML the sanitizer will not keep.
//
// Only the text a reader of the mail would see is kept. Mail hides text
// on purpose: a preheader ("display:none; max-height:0; overflow:hidden;
// mso-hide:all") meant for the inbox line of other programs, or words a
// sender wants carried into a reply or a forward unseen. Such text does not
// show on the message page, so it must not turn up in the quoted original
// that the user sends on, nor in the list's one-line preview. Hidden means
// what a browser would hide: the hidden attribute, display:none,
// visibility:hidden or collapse (unless a descendant makes itself visible
// again), opacity below 0.1, a font smaller than 2 px (font-size or the
// font shorthand, inherited, so "font-size:0" around columns whose text
// sets its own size hides nothing), a transparent text colour, a height
// or width under 2 px with overflow hidden or clip, and, as Outlook does,
// mso-hide:all. "!important" is read like a browser reads it. Values that
// are computed (calc() and the like) are not evaluated: the sanitizer
// drops them from these properties, so what is shown and what is quoted
// agree.

// htmlToText extracts the visible text of HTML, without the content of
// scripts, styles, hidden elements and other non-text elements and, with
// skipQuotes, without blockquotes (unless nothing else is left). Block
// elements and line breaks become line breaks. It copes with HTML cut
// anywhere.
func HtmlToText(s string, skipQuotes bool) string {
	out, ok := treeText(s, skipQuotes)
	if !ok {
		out = tokenText(s, skipQuotes)
	}
	if skipQuotes && strings.TrimSpace(out) == "" {
		return HtmlToText(s, false)
	}
	return out
}

// textSkip are the elements whose content is never text a reader sees:
// those the sanitizer drops with their content (scripts, styles, forms'
// controls, media, a closed dialog, ...), and the document's head.
func textSkip(name string) bool {
	return dropElements[name] || name == "head"
}

// textBreak tells what an element adds around its text: a line break for
// blocks, a space for cells and images.
func textBreak(name string) byte {
	switch name {
	case "br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6",
		"table", "ul", "ol", "dl", "dt", "dd", "hr", "pre", "section",
		"article", "header", "footer", "address", "center", "blockquote":
		return '\n'
	case "td", "th", "img":
		return ' '
	}
	return 0
}

// textState is what an element passes on to its content.
type textState struct {
	fontPx      float64 // the computed font size
	invisible   bool    // visibility: hidden or collapse
	transparent bool    // color: transparent
}

// shows tells whether text with this state can be seen.
func (st textState) shows() bool {
	return !st.invisible && !st.transparent && st.fontPx >= minVisibleFontPx
}

// minVisibleFontPx is the smallest font size taken as readable.
const minVisibleFontPx = 2

var rootTextState = textState{fontPx: 16}

// treeText builds the document as a browser would and walks it; ok is
// false when the parser gives up (absurd nesting).
func treeText(s string, skipQuotes bool) (out string, ok bool) {
	doc, err := nethtml.Parse(strings.NewReader(s))
	if err != nil {
		return "", false
	}
	var b strings.Builder
	var walk func(n *nethtml.Node, st textState)
	walk = func(n *nethtml.Node, st textState) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			switch c.Type {
			case nethtml.TextNode:
				if st.shows() {
					b.WriteString(c.Data)
				}
			case nethtml.ElementNode:
				if c.Namespace != "" || textSkip(c.Data) {
					continue
				}
				cst, hidden := elementTextState(c.Attr, st)
				if hidden {
					continue
				}
				br := textBreak(c.Data)
				if br != 0 {
					b.WriteByte(br)
				}
				if c.Data == "blockquote" && skipQuotes {
					continue
				}
				walk(c, cst)
				if br != 0 && !voidElements[c.Data] {
					b.WriteByte(br)
				}
			}
		}
	}
	walk(doc, rootTextState)
	return b.String(), true
}

// voidElements have no content and no end tag.
var voidElements = map[string]bool{
	"area": true, "base": true, "basefont": true, "bgsound": true, "br": true,
	"col": true, "embed": true, "frame": true, "hr": true, "image": true,
	"img": true, "input": true, "keygen": true, "link": true, "meta": true,
	"param": true, "source": true, "track": true, "wbr": true,
}

// specialElements are the elements an unmatched end tag does not close
// (the HTML parser's "special" category, less the void ones).
var specialElements = map[string]bool{
	"address": true, "applet": true, "article": true, "aside": true,
	"blockquote": true, "body": true, "button": true, "caption": true,
	"center": true, "colgroup": true, "dd": true, "details": true, "dir": true,
	"div": true, "dl": true, "dt": true, "fieldset": true, "figcaption": true,
	"figure": true, "footer": true, "form": true, "frameset": true,
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"head": true, "header": true, "hgroup": true, "html": true, "iframe": true,
	"li": true, "listing": true, "main": true, "marquee": true, "menu": true,
	"nav": true, "noembed": true, "noframes": true, "noscript": true,
	"object": true, "ol": true, "p": true, "plaintext": true, "pre": true,
	"script": true, "search": true, "section": true, "select": true,
	"style": true, "summary": true, "table": true, "tbody": true, "td": true,
	"template": true, "textarea": true, "tfoot": true, "th": true,
	"thead": true, "title": true, "tr": true, "ul": true, "xmp": true,
}

// tokenText is the fallback for markup too deep for the parser: a stack
// of open elements kept as the parser would keep it, closely enough that
// a hidden element's text stays hidden. Where it cannot tell, it hides
// more rather than less: an end tag that does not match is ignored, and
// elements the parser would close by themselves stay open.
func tokenText(s string, skipQuotes bool) string {
	type frame struct {
		name    string
		st      textState
		skip    bool // hidden, or content that is never text
		quote   bool
		foreign bool // inside svg or math, where <x/> closes itself
	}
	var b strings.Builder
	stack := []frame{{name: "", st: rootTextState}}
	z := nethtml.NewTokenizer(strings.NewReader(s))
	for {
		tt := z.Next()
		top := stack[len(stack)-1]
		switch tt {
		case nethtml.ErrorToken:
			return b.String()
		case nethtml.TextToken:
			if !top.skip && !(top.quote && skipQuotes) && top.st.shows() {
				b.Write(z.Text())
			}
		case nethtml.StartTagToken, nethtml.SelfClosingTagToken:
			tok := z.Token()
			name := tok.Data
			br := textBreak(name)
			if voidElements[name] {
				if br != 0 && !top.skip && !(top.quote && skipQuotes) {
					b.WriteByte(br)
				}
				continue
			}
			f := frame{name: name, st: top.st, skip: top.skip, quote: top.quote, foreign: top.foreign}
			if name == "svg" || name == "math" {
				f.foreign = true
			}
			if textSkip(name) || f.foreign {
				f.skip = true
			}
			if !f.skip {
				var hidden bool
				f.st, hidden = elementTextState(tok.Attr, top.st)
				f.skip = hidden
			}
			if name == "blockquote" {
				f.quote = true
			}
			if br != 0 && !f.skip && !(top.quote && skipQuotes) {
				b.WriteByte(br)
			}
			if tt == nethtml.SelfClosingTagToken && f.foreign {
				continue // <x/> in svg or math closes itself; in HTML it does not
			}
			stack = append(stack, f)
		case nethtml.EndTagToken:
			name, _ := z.TagName()
			for i := len(stack) - 1; i > 0; i-- {
				if stack[i].name == string(name) {
					f := stack[i]
					stack = stack[:i]
					if br := textBreak(f.name); br != 0 && !f.skip && !(stack[i-1].quote && skipQuotes) {
						b.WriteByte(br)
					}
					break
				}
				if specialElements[stack[i].name] {
					break
				}
			}
		}
	}
}

// elementTextState reads an element's attributes: the state its content
// inherits, and whether the element and everything in it is hidden.
func elementTextState(attrs []nethtml.Attribute, parent textState) (st textState, hidden bool) {
	st = parent
	for _, a := range attrs {
		if a.Namespace != "" {
			continue
		}
		switch strings.ToLower(a.Key) {
		case "hidden":
			return st, true
		case "style":
			if styleHides(a.Val, &st) {
				return st, true
			}
		}
	}
	return st, false
}

// styleHides applies a style attribute to st and reports whether it hides
// the element with all its content.
func styleHides(style string, st *textState) bool {
	var zeroHeight, zeroWidth, clipX, clipY bool
	fontPx := st.fontPx
	var heights, widths []string
	for _, d := range splitCSS(style) {
		i := strings.IndexByte(d, ':')
		if i <= 0 {
			continue
		}
		prop := strings.ToLower(strings.TrimSpace(d[:i]))
		val := cssDeclValue(d[i+1:])
		switch prop {
		case "display":
			if val == "none" {
				return true
			}
		case "mso-hide":
			if val == "all" {
				return true
			}
		case "opacity":
			if o, ok := cssOpacity(val); ok && o < 0.1 {
				return true
			}
		case "visibility":
			switch val {
			case "hidden", "collapse":
				st.invisible = true
			case "visible":
				st.invisible = false
			}
		case "color":
			if val != "" && val != "inherit" && val != "unset" && val != "revert" {
				st.transparent = cssTransparent(val)
			}
		case "font-size":
			if px, ok := cssFontSize(val, st.fontPx); ok {
				fontPx = px
			}
		case "font":
			if px, ok := cssFontShorthandSize(val, st.fontPx); ok {
				fontPx = px
			}
		case "height", "max-height":
			heights = append(heights, val)
		case "width", "max-width":
			widths = append(widths, val)
		case "overflow":
			f := strings.Fields(val)
			if len(f) == 1 || len(f) == 2 {
				clipX = clips(f[0])
				clipY = clips(f[len(f)-1])
			}
		case "overflow-x":
			clipX = clips(val)
		case "overflow-y":
			clipY = clips(val)
		}
	}
	st.fontPx = fontPx
	for _, h := range heights {
		if px, ok := cssLengthPx(h, fontPx); ok && px < minVisibleFontPx {
			zeroHeight = true
		}
	}
	for _, w := range widths {
		if px, ok := cssLengthPx(w, fontPx); ok && px < minVisibleFontPx {
			zeroWidth = true
		}
	}
	return zeroHeight && clipY || zeroWidth && clipX
}

// cssDeclValue is a declaration's value as compared: trimmed, lower case,
// without "!important".
func cssDeclValue(v string) string {
	return stripImportant(strings.ToLower(strings.TrimSpace(v)))
}

func clips(v string) bool { return v == "hidden" || v == "clip" }

// cssNumber parses a plain CSS number ("0", "1.5", ".5", "+2", "-1").
func cssNumber(s string) (float64, bool) {
	if s == "" || strings.ContainsAny(s, "eE") {
		return 0, false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c == '.' || c == '+' || c == '-') {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// cssUnitPx is the size in pixels of one unit; em-like units are relative
// to fontPx.
func cssUnitPx(unit string, fontPx float64) (float64, bool) {
	switch unit {
	case "px":
		return 1, true
	case "pt":
		return 96.0 / 72, true
	case "pc":
		return 16, true
	case "in":
		return 96, true
	case "cm":
		return 96 / 2.54, true
	case "mm":
		return 96 / 25.4, true
	case "q":
		return 96 / 101.6, true
	case "em":
		return fontPx, true
	case "rem":
		return 16, true
	case "ex", "ch":
		return fontPx / 2, true
	}
	return 0, false
}

// splitUnit splits "12.5px" into "12.5" and "px".
func splitUnit(v string) (num, unit string) {
	i := len(v)
	for i > 0 && (v[i-1] >= 'a' && v[i-1] <= 'z' || v[i-1] == '%') {
		i--
	}
	return v[:i], v[i:]
}

// cssLengthPx reads a length in pixels; percentages and viewport units
// are known only when zero. ok is false for anything else.
func cssLengthPx(v string, fontPx float64) (float64, bool) {
	num, unit := splitUnit(v)
	n, ok := cssNumber(num)
	if !ok {
		return 0, false
	}
	if n == 0 {
		return 0, true
	}
	if unit == "" {
		return 0, false // a number is no length (our pages are not in quirks mode)
	}
	u, ok := cssUnitPx(unit, fontPx)
	if !ok {
		return 0, false
	}
	return n * u, true
}

var fontSizeKeywords = map[string]float64{
	"xx-small": 9, "x-small": 10, "small": 13, "medium": 16, "large": 18,
	"x-large": 24, "xx-large": 32, "xxx-large": 48,
}

// cssFontSize computes a font-size value against the parent's size.
func cssFontSize(v string, parent float64) (float64, bool) {
	if px, ok := fontSizeKeywords[v]; ok {
		return px, true
	}
	switch v {
	case "larger":
		return parent * 1.2, true
	case "smaller":
		return parent / 1.2, true
	case "initial":
		return 16, true
	}
	num, unit := splitUnit(v)
	if unit == "%" {
		if n, ok := cssNumber(num); ok && n >= 0 {
			return parent * n / 100, true
		}
		return 0, false
	}
	px, ok := cssLengthPx(v, parent)
	if !ok || px < 0 {
		return 0, false
	}
	return px, true
}

// cssFontShorthandSize finds the size in a font shorthand ("bold 0/0 a",
// "12px/1.4 Arial"): the first token that is a size, followed by a family.
func cssFontShorthandSize(v string, parent float64) (float64, bool) {
	f := strings.Fields(v)
	for i, t := range f {
		size, _, _ := strings.Cut(t, "/")
		_, unit := splitUnit(size)
		if size != "0" && unit == "" && fontSizeKeywords[size] == 0 && size != "larger" && size != "smaller" {
			continue // a style, weight, variant or stretch
		}
		px, ok := cssFontSize(size, parent)
		if !ok {
			continue
		}
		rest := f[i+1:]
		if strings.HasSuffix(t, "/") && len(rest) > 0 {
			rest = rest[1:] // "12px/ 1.4 Arial"
		} else if len(rest) > 0 && strings.HasPrefix(rest[0], "/") {
			if rest[0] == "/" {
				rest = rest[1:]
			}
			if len(rest) > 0 {
				rest = rest[1:]
			}
		}
		if len(rest) == 0 {
			return 0, false // no family: the browser drops the declaration
		}
		return px, true
	}
	return 0, false
}

// cssOpacity reads an opacity: a number or a percentage.
func cssOpacity(v string) (float64, bool) {
	if strings.HasSuffix(v, "%") {
		n, ok := cssNumber(strings.TrimSuffix(v, "%"))
		return n / 100, ok
	}
	return cssNumber(v)
}

// cssTransparent tells whether a colour is fully transparent:
// "transparent", or an rgb()/rgba()/hsl()/hsla() whose alpha is zero or
// cannot be read.
func cssTransparent(v string) bool {
	if v == "transparent" {
		return true
	}
	open := strings.IndexByte(v, '(')
	if open < 0 || !strings.HasSuffix(v, ")") {
		return false
	}
	switch strings.TrimSpace(v[:open]) {
	case "rgb", "rgba", "hsl", "hsla":
	default:
		return false
	}
	args := v[open+1 : len(v)-1]
	var alpha string
	if i := strings.LastIndexByte(args, '/'); i >= 0 {
		alpha = args[i+1:]
	} else if parts := strings.Split(args, ","); len(parts) == 4 {
		alpha = parts[3]
	} else {
		return false
	}
	a, ok := cssOpacity(strings.TrimSpace(alpha))
	return !ok || a < 0.1
}
