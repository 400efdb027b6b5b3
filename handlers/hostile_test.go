package handlers

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// hostileVector is one message of testdata/hostile, stored in the demo
// server, with the URL of its page.
type hostileVector struct {
	name string
	url  string
}

// putHostileCorpus appends every message of testdata/hostile to the
// folder Hostile and returns their pages.
func (e *testEnv) putHostileCorpus(c *http.Client) []hostileVector {
	e.t.Helper()
	files, _ := filepath.Glob("../testdata/hostile/*.eml")
	if len(files) < 60 {
		e.t.Fatalf("only %d vectors in testdata/hostile, want at least 60", len(files))
	}
	var out []hostileVector
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, hostileVector{name: filepath.Base(f), url: e.putMessage(c, "Hostile", string(raw))})
	}
	return out
}

// Elements that must not appear anywhere on a page showing mail.
var forbiddenElements = map[string]bool{
	"script": true, "iframe": true, "frame": true, "frameset": true, "object": true,
	"embed": true, "applet": true, "param": true, "base": true, "svg": true, "math": true,
	"style": true, "audio": true, "video": true, "source": true, "track": true,
	"template": true, "noscript": true, "portal": true, "fencedframe": true,
	"bgsound": true, "marquee": true, "isindex": true, "keygen": true, "xmp": true,
	"plaintext": true, "noembed": true, "dialog": true, "picture": true, "image": true,
	"animate": true, "set": true, "use": true, "foreignobject": true, "textarea": true, "select": true,
}

// Elements allowed only as thumbmail's own controls, outside the mail body.
var controlElements = map[string]bool{"form": true, "input": true, "button": true, "link": true, "meta": true}

// URL-bearing attributes a browser follows or loads.
var urlAttrs = map[string]bool{
	"href": true, "src": true, "action": true, "formaction": true, "background": true,
	"poster": true, "srcset": true, "cite": true, "longdesc": true, "data": true,
	"dynsrc": true, "lowsrc": true, "ping": true, "codebase": true, "xlink:href": true,
	"manifest": true, "icon": true, "usemap": true, "profile": true, "archive": true,
}

var badStyle = regexp.MustCompile(`(?i)url\s*\(|expression|@import|image-set|\\|behavior|binding|-moz-|var\s*\(|attr\s*\(|position\s*:\s*(fixed|absolute|sticky)|margin[a-z-]*\s*:[^;]*-\s*[0-9]|transform|inset|z-index|top\s*:|left\s*:|cross-fade|mask|filter|clip-path|content\s*:|cursor`)

// activeOnPage parses a page as a browser does and returns what in it
// could run, load or act: nil for a safe page. It allows thumbmail's own
// forms, stylesheet and local links outside the mail body, and inside the
// body only http(s)/mailto links and our own part URLs as images
// (remote=true also allows http(s) images).
// ownLinkRels are the <link>s the page head holds (issue 14: the
// stylesheet, the icons and the web manifest, all ours).
var ownLinkRels = map[string]bool{"stylesheet": true, "icon": true, "apple-touch-icon": true, "manifest": true}

func activeOnPage(page string, remote bool) []string {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return []string{"unparseable: " + err.Error()}
	}
	var bad []string
	var walk func(n *html.Node, inBody bool)
	walk = func(n *html.Node, inBody bool) {
		switch n.Type {
		case html.ElementNode:
			name := strings.ToLower(n.Data)
			if n.Namespace != "" {
				bad = append(bad, "foreign element "+n.Namespace+":"+name)
			}
			if forbiddenElements[name] {
				bad = append(bad, "element <"+name+">")
			}
			if controlElements[name] && inBody {
				bad = append(bad, "element <"+name+"> in the mail body")
			}
			for _, a := range n.Attr {
				key := strings.ToLower(a.Key)
				if a.Namespace != "" {
					key = a.Namespace + ":" + key
					bad = append(bad, "namespaced attribute "+key)
				}
				val := a.Val
				switch {
				case strings.HasPrefix(key, "on"):
					bad = append(bad, "event handler "+key+"="+val)
				case key == "style" && badStyle.MatchString(val):
					bad = append(bad, "style "+val)
				case key == "srcdoc", key == "formaction", key == "autofocus", key == "contenteditable", key == "popover", key == "popovertarget", key == "ping":
					bad = append(bad, "attribute "+key)
				case urlAttrs[key]:
					if why := badURL(name, key, val, inBody, remote); why != "" {
						bad = append(bad, why)
					}
				}
				if key == "http-equiv" {
					bad = append(bad, "meta http-equiv "+val)
				}
				if name == "link" && key == "rel" && (inBody || !ownLinkRels[val]) {
					bad = append(bad, "link rel="+val)
				}
			}
			if name == "form" && !inBody {
				// Our forms change state by POST; the one GET form is
				// the search box, which only reads.
				m, _ := attr(n, "method")
				action, _ := attr(n, "action")
				if !strings.EqualFold(m, "post") && !(strings.EqualFold(m, "get") && hasClass(n, "search") && strings.HasSuffix(action, "/search")) {
					bad = append(bad, "form without method=post")
				}
			}
			if name == "div" && hasClass(n, "body") {
				inBody = true
			}
		case html.CommentNode:
			if inBody {
				bad = append(bad, "comment in the mail body")
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inBody)
		}
	}
	walk(doc, false)
	return bad
}

// badURL judges one URL attribute; "" when it is harmless.
func badURL(el, key, val string, inBody, remote bool) string {
	u := strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, strings.TrimFunc(val, func(r rune) bool { return r <= 0x20 }))
	lu := strings.ToLower(u)
	scheme := ""
	if m := regexp.MustCompile(`^([a-z][a-z0-9+.\-]*):`).FindStringSubmatch(lu); m != nil {
		scheme = m[1]
	}
	desc := "<" + el + " " + key + "=" + val + ">"
	if strings.ContainsAny(val, "\x00") {
		return "NUL in " + desc
	}
	switch {
	case key == "href" && el == "a":
		// Links need a tap; they may go anywhere on the web, never run.
		if scheme != "" && scheme != "http" && scheme != "https" && scheme != "mailto" {
			return "link scheme " + desc
		}
		if inBody && scheme == "" && strings.HasPrefix(lu, "/") && !strings.HasPrefix(lu, "/f/") {
			return "mail links to our own site " + desc
		}
		return ""
	case key == "href" && el == "link":
		if !strings.HasPrefix(lu, "/static/") && lu != "/manifest.webmanifest" {
			return "stylesheet not ours " + desc
		}
		return ""
	case key == "action" && el == "form":
		if !strings.HasPrefix(lu, "/") || strings.HasPrefix(lu, "//") {
			return "form posts elsewhere " + desc
		}
		return ""
	case key == "src" && el == "img":
		if strings.HasPrefix(lu, "/f/") && !strings.HasPrefix(lu, "//") {
			return "" // a part of this message, served by us
		}
		if remote && (scheme == "http" || scheme == "https") {
			return ""
		}
		return "image loads " + desc
	}
	return "URL attribute " + desc
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if strings.EqualFold(a.Key, key) && a.Namespace == "" {
			return a.Val, true
		}
	}
	return "", false
}

func hasClass(n *html.Node, class string) bool {
	v, _ := attr(n, "class")
	for _, c := range strings.Fields(v) {
		if c == class {
			return true
		}
	}
	return false
}

func TestActiveOnPageCatches(t *testing.T) {
	body := func(s string) string { return `<html><body><div class="body html">` + s + `</div></body></html>` }
	for name, page := range map[string]string{
		"script":      body(`<script>alert(1)</script>`),
		"handler":     body(`<b onclick=x>b</b>`),
		"js link":     body(`<a href=" java&#9;script:x">a</a>`),
		"remote img":  body(`<img src="http://evil.example/x">`),
		"data img":    body(`<img src="data:image/png;base64,AA">`),
		"style url":   body(`<p style="background: URL(x)">p</p>`),
		"fixed":       body(`<p style="position: fixed">p</p>`),
		"form":        body(`<form method=post action="/logout"><button>x</button></form>`),
		"svg":         body(`<svg><a xlink:href="x">x</a></svg>`),
		"meta":        body(`<meta http-equiv=refresh content="0;url=x">`),
		"bg":          body(`<table background="http://evil.example/"></table>`),
		"own link":    body(`<a href="/logout">x</a>`),
		"base":        `<html><head><base href="http://evil.example/"></head></html>`,
		"foreign css": `<html><head><link rel=stylesheet href="http://evil.example/x.css"></head></html>`,
	} {
		if bad := activeOnPage(page, false); len(bad) == 0 {
			t.Errorf("activeOnPage(%s) found nothing in %s", name, page)
		}
	}
	safe := body(`<p style="color: red">x</p><a href="https://example.org/" rel="noopener">l</a><img src="/f/INBOX/1-2/part/3?inline=1" alt="">`)
	if bad := activeOnPage(safe, false); len(bad) != 0 {
		t.Errorf("activeOnPage(safe) = %v", bad)
	}
	if bad := activeOnPage(body(`<img src="https://cdn.example/a.png">`), true); len(bad) != 0 {
		t.Errorf("activeOnPage(remote image, allowed) = %v", bad)
	}
}

// TestHostileCorpus renders every vector of testdata/hostile through the
// real message view (demo IMAP server, real router) and checks that
// nothing active or remote survives, with and without remote images, and
// that no page is an error.
func TestHostileCorpus(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	vectors := e.putHostileCorpus(c)
	for _, v := range vectors {
		for _, remote := range []bool{false, true} {
			u := v.url
			if remote {
				u += "?images=1"
			}
			r := e.get(c, u)
			if r.status != http.StatusOK {
				t.Errorf("%s: GET %s = %d, want 200", v.name, u, r.status)
				continue
			}
			if !strings.Contains(r.body, `class="subject"`) {
				t.Errorf("%s: not a message page", v.name)
			}
			for _, bad := range activeOnPage(r.body, remote) {
				t.Errorf("%s (images=%v): %s", v.name, remote, bad)
			}
			csp := r.header.Get("Content-Security-Policy")
			for _, want := range []string{"script-src 'none'", "frame-ancestors 'none'", "default-src 'none'", "base-uri 'none'", "form-action 'self'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("%s: CSP %q lacks %s", v.name, csp, want)
				}
			}
			if !remote && !strings.Contains(csp, "img-src 'self';") {
				t.Errorf("%s: CSP %q lets images load from elsewhere", v.name, csp)
			}
			for _, k := range r.header.Values("Set-Cookie") {
				if strings.Contains(k, "thumbmail=x") {
					t.Errorf("%s: mail set a cookie: %q", v.name, k)
				}
			}
			if r.header.Get("X-Injected") != "" {
				t.Errorf("%s: a header was injected", v.name)
			}
		}
		checkHostileAttachments(t, e, c, v)
	}
	// The list page of the corpus is safe too.
	for page := 1; page <= 2; page++ {
		r := e.get(c, "/f/Hostile?page="+itoa(page))
		if r.status != http.StatusOK {
			t.Errorf("list of hostile mail page %d = %d", page, r.status)
		}
		for _, bad := range activeOnPage(r.body, false) {
			t.Errorf("hostile list page %d: %s", page, bad)
		}
	}
}

var partLinkRE = regexp.MustCompile(`href="(/f/[^"]+/part/[0-9.]+)"`)

// checkHostileAttachments downloads every attachment of a vector, as a
// download and as an inline image, and checks the response headers.
func checkHostileAttachments(t *testing.T, e *testEnv, c *http.Client, v hostileVector) {
	t.Helper()
	page := e.get(c, v.url)
	for _, m := range partLinkRE.FindAllStringSubmatch(page.body, -1) {
		for _, q := range []string{"", "?inline=1"} {
			u := html.UnescapeString(m[1]) + q
			d := e.get(c, u)
			if d.status != http.StatusOK {
				t.Errorf("%s: GET %s = %d", v.name, u, d.status)
				continue
			}
			checkAttachmentHeaders(t, v.name+" "+u, d.header, q != "")
		}
	}
}

// checkAttachmentHeaders asserts the rules for every attachment response.
func checkAttachmentHeaders(t *testing.T, what string, h http.Header, askedInline bool) {
	t.Helper()
	ct := strings.ToLower(h.Get("Content-Type"))
	cd := h.Get("Content-Disposition")
	raster := map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}
	switch {
	case strings.HasPrefix(cd, "inline"):
		if !askedInline || !raster[ct] {
			t.Errorf("%s: inline as %q (only raster images asked for inline may be)", what, ct)
		}
	case !strings.HasPrefix(cd, "attachment"):
		t.Errorf("%s: Content-Disposition %q", what, cd)
	}
	for _, active := range []string{"html", "xml", "svg", "javascript", "ecmascript"} {
		if strings.Contains(ct, active) {
			t.Errorf("%s: served as %q", what, ct)
		}
	}
	if csp := h.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "sandbox") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("%s: CSP %q, want sandbox; default-src 'none'", what, csp)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: no nosniff", what)
	}
	if strings.ContainsAny(cd, "\r\n\x00") || h.Get("X-Injected") != "" || len(h.Values("Set-Cookie")) > 0 {
		t.Errorf("%s: header injection: %q %v", what, cd, h)
	}
	if i := strings.Index(cd, "filename="); i >= 0 {
		name := cd[i:]
		if strings.ContainsAny(name, "<>") {
			t.Errorf("%s: raw markup in the file name %q", what, cd)
		}
	}
}

// TestCIDOnlyRasterImages: a cid: image may only name a raster part of
// the same message; SVG and HTML parts are never shown as images.
func TestCIDOnlyRasterImages(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	raw, err := os.ReadFile("../testdata/hostile/69-cid-abuse.eml")
	if err != nil {
		t.Fatal(err)
	}
	u := e.putMessage(c, "Hostile", string(raw))
	body := mailBody(e.get(c, u).body)
	imgs := regexp.MustCompile(`<img src="([^"]*)"`).FindAllStringSubmatch(body, -1)
	if len(imgs) != 2 {
		t.Fatalf("cid-abuse shows %d images, want 2 (the PNG, twice):\n%s", len(imgs), body)
	}
	for _, m := range imgs {
		if m[1] != html.EscapeString(u)+"/part/4?inline=1" {
			t.Errorf("cid image %q, want the PNG part 4 of this message", m[1])
		}
	}
	// Served: the PNG inline as image/png; the SVG and HTML parts only as
	// downloads of bytes, even when asked for inline.
	for part, want := range map[string][2]string{
		"4": {"inline", "image/png"},
		"2": {"attachment", "application/octet-stream"},
		"3": {"attachment", "application/octet-stream"},
	} {
		r := e.get(c, u+"/part/"+part+"?inline=1")
		if cd, ct := r.header.Get("Content-Disposition"), r.header.Get("Content-Type"); !strings.HasPrefix(cd, want[0]) || ct != want[1] {
			t.Errorf("part %s?inline=1: %q %q, want %s and %s", part, cd, ct, want[0], want[1])
		}
		checkAttachmentHeaders(t, "part "+part, r.header, true)
	}
}
