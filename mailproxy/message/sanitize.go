package message

import (
	"html"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/microcosm-cc/bluemonday"
	nethtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// HTML mail sanitizing. Each round parses the HTML as the browser will (a
// fragment inside a <div>), rewrites the tree (drops active and remote
// content, rewrites cid: images, cleans inline styles and links), renders
// it and passes the result through a bluemonday allowlist. Rounds repeat
// until the output no longer changes, so markup that mutates when parsed
// again (mXSS) is caught: the result is a fixed point of the sanitizer.

// SanitizeOptions changes what SanitizeHTML lets through.
type SanitizeOptions struct {
	// RemoteImages keeps http(s) images; without it they are replaced by
	// a placeholder showing their alt text.
	RemoteImages bool
	// CIDURL maps the Content-ID of a cid: image to the URL that serves
	// the part. An empty result, or a nil CIDURL, drops the image.
	CIDURL func(cid string) string
}

// InlineImageType tells whether a part of media type t may be shown as
// an image inside a page (cid: images) or served inline: raster formats
// only. SVG is a document that can hold scripts and links.
func InlineImageType(t string) bool {
	switch strings.ToLower(t) {
	case "image/png", "image/jpeg", "image/gif", "image/webp":
		return true
	}
	return false
}

// maxSanitizeRounds bounds the parse-sanitize rounds; markup that has not
// settled by then is reduced to its text.
const maxSanitizeRounds = 5

// SanitizeHTML makes HTML mail safe to embed inside a <div> of a page. It
// keeps layout (tables, safe inline styles without url(), expression(),
// escapes, @import or fixed/absolute/sticky positioning), links to http,
// https and mailto URLs (with rel="noopener noreferrer nofollow" and
// target="_blank" for web links), and images: cid: images through
// opts.CIDURL, remote images only with opts.RemoteImages (otherwise a
// placeholder <span class="blocked-img">[image: alt]</span>, and
// remoteBlocked is true). It removes everything active or remote:
// scripts, styles, forms, frames, plugins, base/meta/link, SVG and
// MathML, event handlers, javascript:, vbscript: and data: URLs however
// spelt, and background images. The result is a fixed point:
// SanitizeHTML(safe) == safe, unless CIDURL rewrote images (the rewritten
// URLs are kept only within one call).
func SanitizeHTML(src string, opts SanitizeOptions) (safe string, remoteBlocked bool) {
	s := &sanitizer{opts: opts, ownSrc: map[string]bool{}}
	cur := src
	for range maxSanitizeRounds {
		next := s.round(cur)
		if next == cur {
			return next, s.remoteBlocked
		}
		cur = next
	}
	// Markup that keeps changing is not worth the risk: keep its text.
	return textFallback(cur), s.remoteBlocked
}

// textFallback returns the text of HTML, escaped: markup the sanitizer
// will not keep. The result is itself a fixed point of SanitizeHTML.
func textFallback(src string) string {
	text := strings.Map(func(r rune) rune {
		if r == 0 || r == '\r' {
			return -1
		}
		return r
	}, HtmlToText(src, false))
	return html.EscapeString(strings.TrimSpace(text))
}

// sanitizer is the state of one SanitizeHTML call.
type sanitizer struct {
	opts          SanitizeOptions
	ownSrc        map[string]bool // URLs CIDURL returned, kept in later rounds
	remoteBlocked bool
}

// round is one parse, rewrite, render and allowlist pass.
func (s *sanitizer) round(src string) string {
	ctx := &nethtml.Node{Type: nethtml.ElementNode, Data: "div", DataAtom: atom.Div}
	nodes, err := nethtml.ParseFragmentWithOptions(strings.NewReader(src), ctx, nethtml.ParseOptionEnableScripting(true))
	if err != nil {
		// The parser gives up on absurd nesting (more than 512 open
		// elements): keep the text.
		return textFallback(src)
	}
	root := &nethtml.Node{Type: nethtml.ElementNode, Data: "div", DataAtom: atom.Div}
	for _, n := range nodes {
		if n.Parent != nil {
			n.Parent.RemoveChild(n)
		}
		root.AppendChild(n)
	}
	s.clean(root, 0)
	var b strings.Builder
	for c := root.FirstChild; c != nil; c = c.NextSibling {
		if err := nethtml.Render(&b, c); err != nil {
			return ""
		}
	}
	return emailPolicy().Sanitize(b.String())
}

// Elements removed together with everything inside them.
var dropElements = map[string]bool{
	"script": true, "style": true, "noscript": true, "template": true,
	"iframe": true, "frame": true, "frameset": true, "object": true,
	"embed": true, "applet": true, "param": true, "base": true,
	"basefont": true, "meta": true, "link": true, "title": true,
	"head": true, "svg": true, "math": true, "textarea": true,
	"select": true, "option": true, "optgroup": true, "datalist": true,
	"button": true, "input": true, "keygen": true, "output": true,
	"canvas": true, "audio": true, "video": true, "source": true,
	"track": true, "noembed": true, "noframes": true, "xmp": true,
	"plaintext": true, "portal": true, "map": true, "area": true,
	"bgsound": true, "isindex": true, "slot": true, "dialog": true,
	"nostyle": true, "fencedframe": true,
}

// maxNesting bounds the depth of the tree kept; deeper elements are
// replaced by their text.
const maxNesting = 200

// textOf returns the text inside n that a reader sees, leaving out
// elements that are dropped with their content and hidden ones (as
// htmlToText does): flattening must not bring hidden text to light.
func (s *sanitizer) textOf(n *nethtml.Node) string {
	var b strings.Builder
	var walk func(*nethtml.Node, textState)
	walk = func(n *nethtml.Node, st textState) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			switch {
			case c.Type == nethtml.TextNode:
				if st.shows() {
					b.WriteString(c.Data)
				}
			case c.Type == nethtml.ElementNode && c.Namespace == "" && !dropElements[c.Data]:
				if cst, hidden := elementTextState(c.Attr, st); !hidden {
					walk(c, cst)
				}
			}
		}
	}
	if st, hidden := elementTextState(n.Attr, rootTextState); !hidden {
		walk(n, st)
	}
	return b.String()
}

// clean rewrites the children of n in place.
func (s *sanitizer) clean(n *nethtml.Node, depth int) {
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		switch c.Type {
		case nethtml.TextNode:
		case nethtml.ElementNode:
			if c.Namespace != "" || dropElements[c.Data] {
				n.RemoveChild(c)
				break
			}
			if depth >= maxNesting {
				// Too deep to be layout: keep the text only.
				n.InsertBefore(&nethtml.Node{Type: nethtml.TextNode, Data: s.textOf(c)}, c)
				n.RemoveChild(c)
				break
			}
			s.cleanAttrs(c)
			switch c.DataAtom {
			case atom.Img:
				if r := s.image(c); r != c {
					if r != nil {
						n.InsertBefore(r, c)
					}
					n.RemoveChild(c)
					c = nil
				}
			case atom.A:
				cleanLink(c)
			}
			if c != nil {
				s.clean(c, depth+1)
			}
		default: // comments, doctypes
			n.RemoveChild(c)
		}
		c = next
	}
}

// cleanAttrs removes event handlers, background images and unsafe style
// declarations; the allowlist later removes every attribute not listed.
func (s *sanitizer) cleanAttrs(n *nethtml.Node) {
	kept := n.Attr[:0]
	for _, a := range n.Attr {
		key := strings.ToLower(a.Key)
		switch {
		case a.Namespace != "", strings.HasPrefix(key, "on"), key == "background",
			key == "srcset", key == "lowsrc", key == "dynsrc", key == "formaction",
			key == "action", key == "xmlns":
			continue
		case key == "style":
			a.Val = cleanStyle(a.Val)
			if a.Val == "" {
				continue
			}
		case key == "hidden":
			// Kept (as hidden="") so that what other mail programs hide
			// stays hidden here, and out of replies and previews.
			a.Val = ""
		case strings.Contains(strings.ToLower(browserURL(a.Val)), "script:"):
			// Harmless in a title or alt, but nothing that reads like a
			// script URL leaves the sanitizer.
			continue
		}
		a.Key = key
		kept = append(kept, a)
	}
	n.Attr = kept
}

func getAttr(n *nethtml.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func setAttr(n *nethtml.Node, key, val string) {
	for i := range n.Attr {
		if n.Attr[i].Key == key {
			n.Attr[i].Val = val
			return
		}
	}
	n.Attr = append(n.Attr, nethtml.Attribute{Key: key, Val: val})
}

func delAttr(n *nethtml.Node, key string) {
	kept := n.Attr[:0]
	for _, a := range n.Attr {
		if a.Key != key {
			kept = append(kept, a)
		}
	}
	n.Attr = kept
}

// browserURL strips what browsers strip from a URL attribute before
// reading its scheme: leading and trailing controls and spaces, and every
// tab and line break (WHATWG URL §4.4).
func browserURL(raw string) string {
	s := strings.TrimFunc(raw, func(r rune) bool { return r <= 0x20 })
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, s)
}

var schemeRe = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9+.\-]*):`)

// urlScheme returns the lower-cased scheme of a URL, "" for a relative one.
func urlScheme(u string) string {
	m := schemeRe.FindStringSubmatch(u)
	if m == nil {
		return ""
	}
	return strings.ToLower(m[1])
}

// canonicalURL parses u and returns it as the allowlist will write it, so
// rounds agree; ok is false when u cannot be parsed.
func canonicalURL(u string) (string, bool) {
	u = strings.ReplaceAll(u, " ", "%20")
	p, err := url.Parse(u)
	if err != nil {
		return "", false
	}
	out := p.String()
	if strings.ContainsAny(out, " \t\n") {
		return "", false
	}
	return out, true
}

// cleanLink keeps href only for http, https and mailto URLs and sets the
// link's rel and target.
func cleanLink(n *nethtml.Node) {
	delAttr(n, "rel")
	delAttr(n, "target")
	href, ok := getAttr(n, "href")
	if !ok {
		return
	}
	u := browserURL(href)
	scheme := urlScheme(u)
	if scheme != "http" && scheme != "https" && scheme != "mailto" {
		delAttr(n, "href")
		return
	}
	cu, ok := canonicalURL(u)
	if !ok || urlScheme(cu) != scheme {
		delAttr(n, "href")
		return
	}
	setAttr(n, "href", cu)
	setAttr(n, "rel", linkRel)
	if scheme != "mailto" {
		setAttr(n, "target", "_blank")
	}
}

// image decides the fate of an <img>: it returns n (kept, maybe with a new
// src), a placeholder to put in its place, or nil to drop it.
func (s *sanitizer) image(n *nethtml.Node) *nethtml.Node {
	for _, k := range []string{"usemap", "ismap", "longdesc"} {
		delAttr(n, k)
	}
	raw, _ := getAttr(n, "src")
	src := browserURL(raw)
	if s.ownSrc[src] {
		return n
	}
	switch urlScheme(src) {
	case "cid":
		if s.opts.CIDURL == nil {
			return nil
		}
		cid := src[4:]
		if u, err := url.PathUnescape(cid); err == nil {
			cid = u
		}
		cid = strings.Trim(cid, "<> ")
		u := s.opts.CIDURL(cid)
		if u == "" {
			return nil
		}
		cu, ok := canonicalURL(browserURL(u))
		if !ok {
			return nil
		}
		if sc := urlScheme(cu); sc != "" && sc != "http" && sc != "https" {
			return nil
		}
		s.ownSrc[cu] = true
		setAttr(n, "src", cu)
		return n
	case "http", "https":
		cu, ok := canonicalURL(src)
		if !ok {
			return nil
		}
		if s.opts.RemoteImages {
			setAttr(n, "src", cu)
			setAttr(n, "referrerpolicy", "no-referrer")
			return n
		}
		s.remoteBlocked = true
		if tinyImage(n) {
			return nil // a tracking pixel: nothing to show
		}
		alt, _ := getAttr(n, "alt")
		alt = strings.Join(strings.Fields(alt), " ")
		label := "[image]"
		if alt != "" {
			label = "[image: " + truncateRunes(alt, 100) + "]"
		}
		span := &nethtml.Node{Type: nethtml.ElementNode, Data: "span", DataAtom: atom.Span,
			Attr: []nethtml.Attribute{{Key: "class", Val: "blocked-img"}}}
		span.AppendChild(&nethtml.Node{Type: nethtml.TextNode, Data: label})
		return span
	}
	return nil // data:, relative, javascript: and everything else
}

// tinyImage reports an image declared at most 2 pixels wide or high.
func tinyImage(n *nethtml.Node) bool {
	for _, k := range []string{"width", "height"} {
		v, _ := getAttr(n, k)
		v = strings.TrimSuffix(strings.TrimSpace(v), "px")
		if i, err := strconv.Atoi(v); err == nil && i <= 2 {
			return true
		}
	}
	return false
}

var (
	policyOnce sync.Once
	policy     *bluemonday.Policy
)

// emailPolicy is the bluemonday allowlist for mail. A built policy is safe
// for concurrent use.
func emailPolicy() *bluemonday.Policy {
	policyOnce.Do(func() { policy = newEmailPolicy() })
	return policy
}

func newEmailPolicy() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowElements(
		"a", "abbr", "acronym", "address", "article", "aside", "b", "bdi", "bdo",
		"big", "blockquote", "br", "caption", "center", "cite", "code", "col",
		"colgroup", "dd", "del", "details", "dfn", "div", "dl", "dt", "em",
		"figcaption", "figure", "font", "footer", "h1", "h2", "h3", "h4", "h5",
		"h6", "header", "hgroup", "hr", "i", "img", "ins", "kbd", "li", "main",
		"mark", "nav", "ol", "p", "pre", "q", "s", "samp", "section", "small",
		"span", "strike", "strong", "sub", "summary", "sup", "table", "tbody",
		"td", "tfoot", "th", "thead", "time", "tr", "tt", "u", "ul", "var", "wbr",
	)
	num := regexp.MustCompile(`^[0-9]{1,4}$`)
	size := regexp.MustCompile(`^[0-9]{1,4}(\.[0-9]{1,2})?(%|px)?$`)
	color := regexp.MustCompile(`^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{1,30})$`)
	p.AllowAttrs("href").OnElements("a")
	p.AllowAttrs("rel").Matching(regexp.MustCompile(`^` + linkRel + `$`)).OnElements("a")
	p.AllowAttrs("target").Matching(regexp.MustCompile(`^_blank$`)).OnElements("a")
	p.AllowAttrs("src").OnElements("img")
	p.AllowAttrs("alt").OnElements("img")
	p.AllowAttrs("referrerpolicy").Matching(regexp.MustCompile(`^no-referrer$`)).OnElements("img")
	p.AllowAttrs("title").Matching(regexp.MustCompile(`^[^<>]{0,300}$`)).Globally()
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^blocked-img$`)).OnElements("span")
	p.AllowAttrs("width", "height").Matching(size).OnElements("img", "table", "td", "th", "col", "colgroup", "tr", "hr")
	p.AllowAttrs("align").Matching(regexp.MustCompile(`(?i)^(left|right|center|justify|top|middle|bottom)$`)).Globally()
	p.AllowAttrs("valign").Matching(regexp.MustCompile(`(?i)^(top|middle|bottom|baseline)$`)).Globally()
	p.AllowAttrs("bgcolor").Matching(color).OnElements("table", "tr", "td", "th", "tbody", "thead", "tfoot")
	p.AllowAttrs("color").Matching(color).OnElements("font")
	p.AllowAttrs("face").Matching(regexp.MustCompile(`^[\w ,'"\-]{1,100}$`)).OnElements("font")
	p.AllowAttrs("size").Matching(regexp.MustCompile(`^[+\-]?[0-9]$`)).OnElements("font")
	p.AllowAttrs("border", "cellpadding", "cellspacing").Matching(num).OnElements("table", "img")
	p.AllowAttrs("colspan", "rowspan").Matching(num).OnElements("td", "th")
	p.AllowAttrs("nowrap").Matching(regexp.MustCompile(`(?i)^(|nowrap)$`)).OnElements("td", "th")
	p.AllowAttrs("hidden").Matching(regexp.MustCompile(`^$`)).Globally()
	p.AllowAttrs("dir").Matching(regexp.MustCompile(`(?i)^(ltr|rtl|auto)$`)).Globally()
	p.AllowAttrs("lang").Matching(regexp.MustCompile(`^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8}){0,4}$`)).Globally()
	p.AllowAttrs("start").Matching(regexp.MustCompile(`^[0-9]{1,6}$`)).OnElements("ol")
	p.AllowAttrs("type").Matching(regexp.MustCompile(`^(1|a|A|i|I|disc|circle|square)$`)).OnElements("ol", "ul", "li")

	props := make([]string, 0, len(allowedCSS))
	for prop := range allowedCSS {
		props = append(props, prop)
	}
	for _, prop := range props {
		p.AllowStyles(prop).MatchingHandler(func(v string) bool { return safeCSSValue(prop, v) }).Globally()
	}
	// bluemonday strips vendor prefixes, "mso-" among them, before it looks
	// a property up: mso-hide is known to it as "hide". Only cleanStyle's
	// output reaches it, where no other "hide" can be.
	p.AllowStyles("hide").MatchingHandler(func(v string) bool { return safeCSSValue("mso-hide", v) }).Globally()

	p.RequireParseableURLs(true)
	p.AllowURLSchemes("http", "https", "mailto")
	p.AllowRelativeURLs(true) // cid: images rewritten to our own part URLs
	var skip []string
	for el, drop := range dropElements {
		if drop {
			skip = append(skip, el)
		}
	}
	p.SkipElementsContent(skip...)
	return p
}
