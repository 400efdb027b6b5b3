package message

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	nethtml "golang.org/x/net/html"
)

// activeContent returns a description of the first active or unsafe thing
// in sanitized HTML, or "" when there is none. It reads the output the way
// a browser's tokenizer does rather than by searching strings, so escaped
// text that merely mentions "onerror=" does not count.
func activeContent(out string) string {
	if strings.Contains(strings.ToLower(out), "<script") {
		return "<script"
	}
	allowed := map[string]bool{}
	for _, el := range []string{
		"a", "abbr", "acronym", "address", "article", "aside", "b", "bdi", "bdo",
		"big", "blockquote", "br", "caption", "center", "cite", "code", "col",
		"colgroup", "dd", "del", "details", "dfn", "div", "dl", "dt", "em",
		"figcaption", "figure", "font", "footer", "h1", "h2", "h3", "h4", "h5",
		"h6", "header", "hgroup", "hr", "i", "img", "ins", "kbd", "li", "main",
		"mark", "nav", "ol", "p", "pre", "q", "s", "samp", "section", "small",
		"span", "strike", "strong", "sub", "summary", "sup", "table", "tbody",
		"td", "tfoot", "th", "thead", "time", "tr", "tt", "u", "ul", "var", "wbr",
	} {
		allowed[el] = true
	}
	z := nethtml.NewTokenizer(strings.NewReader(out))
	for {
		tt := z.Next()
		if tt == nethtml.ErrorToken {
			return ""
		}
		if tt == nethtml.CommentToken {
			return "comment"
		}
		if tt != nethtml.StartTagToken && tt != nethtml.SelfClosingTagToken && tt != nethtml.EndTagToken {
			continue
		}
		tok := z.Token()
		if !allowed[tok.Data] {
			return "element " + tok.Data
		}
		for _, a := range tok.Attr {
			key := strings.ToLower(a.Key)
			val := strings.ToLower(browserURL(a.Val))
			switch {
			case strings.HasPrefix(key, "on"):
				return "attribute " + key
			case key == "background", key == "srcset", key == "action", key == "formaction":
				return "attribute " + key
			case key == "href" || key == "src":
				if s := urlScheme(val); s != "" && s != "http" && s != "https" && s != "mailto" {
					return key + " scheme " + s
				}
			case key == "style":
				for _, bad := range []string{"url", "expression", "@import", "\\", "behavior", "binding", "image-set", "var(", "attr(", "-moz-"} {
					if strings.Contains(val, bad) {
						return "style " + bad
					}
				}
				if badPositionRe.MatchString(val) {
					return "style " + val
				}
				if bad := movingOffset(val); bad != "" {
					return "style " + bad
				}
			}
			if strings.Contains(val, "javascript:") || strings.Contains(val, "vbscript:") {
				return "attribute value " + val
			}
		}
	}
}

// movingOffset returns a margin or text-indent declaration of a style
// attribute that could pull the mail over the page (a sign, a function,
// a keyword other than auto), or "".
func movingOffset(style string) string {
	for _, d := range strings.Split(style, ";") {
		prop, val, ok := strings.Cut(d, ":")
		if !ok {
			continue
		}
		prop = strings.TrimSpace(prop)
		if !strings.HasPrefix(prop, "margin") && prop != "text-indent" {
			continue
		}
		for _, w := range strings.Fields(val) {
			if strings.ContainsAny(w, "-+()*/,") || (w != "auto" && !strings.ContainsAny(w[:1], "0123456789.")) {
				return d
			}
		}
	}
	return ""
}

func TestSanitizeHTMLXSS(t *testing.T) {
	vectors := map[string]string{
		"script":                 `<script>alert(1)</script>`,
		"script upper src":       `<SCRIPT SRC=http://xss.example/xss.js></SCRIPT>`,
		"script split":           `<scr<script>ipt>alert(1)</scr</script>ipt>`,
		"script slash attr":      `<script/xss src="http://x/x.js"></script>`,
		"script double lt":       `<<script>alert(1);//<</script>`,
		"script in attr":         `<p title="<script>alert(1)</script>">x</p>`,
		"img onerror":            `<img src=x onerror=alert(1)>`,
		"img ONERROR":            `<img src="x" ONERROR="alert(1)">`,
		"body onload":            `<body onload=alert(1)>text`,
		"div onmouseover":        `<div onmouseover="alert(1)">hover</div>`,
		"details ontoggle":       `<details open ontoggle=alert(1)><summary>s</summary></details>`,
		"link onclick":           `<a href="https://ok.example/" onclick="alert(1)">ok</a>`,
		"javascript href":        `<a href="javascript:alert(1)">x</a>`,
		"javascript mixed case":  `<a href="JaVaScRiPt:alert(1)">x</a>`,
		"javascript dec ents":    `<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>`,
		"javascript hex ents":    `<a href="&#x6A;&#x61;&#x76;&#x61;script&#x3A;alert(1)">x</a>`,
		"javascript tab ent":     `<a href="jav&#x09;ascript:alert(1)">x</a>`,
		"javascript newline":     "<a href=\"java\nscript:alert(1)\">x</a>",
		"javascript leading ctl": `<a href=" &#14; javascript:alert(1)">x</a>`,
		"javascript colon ent":   `<a href="javascript&colon;alert(1)">x</a>`,
		"javascript spaces":      `<a href="   javascript:alert(1)">x</a>`,
		"javascript nul":         "<a href=\"java\x00script:alert(1)\">x</a>",
		"vbscript":               `<a href="vbscript:msgbox(1)">x</a>`,
		"data html link":         `<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>`,
		"data html raw":          `<a href="data:text/html,<script>alert(1)</script>">x</a>`,
		"data svg img":           `<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">`,
		"data png img":           `<img src="DATA:image/png;base64,iVBORw0KGgo=">`,
		"svg onload":             `<svg onload=alert(1)>`,
		"svg script":             `<svg><script>alert(1)</script></svg>`,
		"svg animate":            `<svg><a><animate attributeName=href values=javascript:alert(1) /><text>x</text></a></svg>`,
		"math href":              `<math href="javascript:alert(1)">CLICK</math>`,
		"math mglyph style":      `<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>`,
		"form math mxss":         `<form><math><mtext></form><form><mglyph><style></math><img src onerror=alert(1)>`,
		"svg p style mxss":       `<svg></p><style><a id="</style><img src=1 onerror=alert(1)>">`,
		"noscript mxss":          `<noscript><p title="</noscript><img src=x onerror=alert(1)>">`,
		"template":               `<template><script>alert(1)</script><img src=x onerror=alert(1)></template>`,
		"style element img":      `<style><img src=x onerror=alert(1)></style>`,
		"style import":           `<style>@import 'http://evil.example/x.css';</style><p>t</p>`,
		"textarea":               `<textarea><img src=x onerror=alert(1)></textarea>`,
		"xmp":                    `<xmp><img src=x onerror=alert(1)></xmp>`,
		"plaintext":              `<plaintext><img src=x onerror=alert(1)>`,
		"select style":           `<select><style></select><img src=x onerror=alert(1)></style></select>`,
		"comment":                `<!--<img src=x onerror=alert(1)>-->`,
		"conditional comment":    `<!--[if gte IE 4]><script>alert(1)</script><![endif]-->`,
		"style url js":           `<div style="background:url(javascript:alert(1))">x</div>`,
		"style expression":       `<div style="width: expression(alert(1))">x</div>`,
		"style remote bg":        `<div style="color: red; background-image: url('http://evil.example/x.png')">x</div>`,
		"style import attr":      `<div style="@import 'http://evil.example/x.css'">x</div>`,
		"style behavior":         `<div style="behavior: url(x.htc)">x</div>`,
		"style moz binding":      `<div style="-moz-binding: url(http://x.example/xss.xml#xss)">x</div>`,
		"style hex escape":       `<div style="background: \75 rl(http://evil.example/)">x</div>`,
		"style char escape":      `<div style="background: u\rl(http://evil.example/)">x</div>`,
		"style comment":          `<div style="background: u/**/rl(http://evil.example/)">x</div>`,
		"style position fixed":   `<div style="position: fixed; top: 0; left: 0">overlay</div>`,
		"style position abs":     `<div style="POSITION:ABSOLUTE">overlay</div>`,
		"style sticky":           `<div style="position: sticky">s</div>`,
		"base":                   `<base href="http://evil.example/"><a href="x">x</a>`,
		"meta refresh":           `<meta http-equiv="refresh" content="0;url=javascript:alert(1)">`,
		"link stylesheet":        `<link rel="stylesheet" href="http://evil.example/x.css">`,
		"form action":            `<form action="javascript:alert(1)"><input type=submit value=go></form>`,
		"button formaction":      `<button formaction="javascript:alert(1)">x</button>`,
		"isindex":                `<isindex action="javascript:alert(1)" type=image>`,
		"iframe js":              `<iframe src="javascript:alert(1)"></iframe>`,
		"iframe srcdoc":          `<iframe srcdoc="<script>alert(1)</script>"></iframe>`,
		"object":                 `<object data="javascript:alert(1)"></object>`,
		"embed":                  `<embed src="http://evil.example/x.swf">`,
		"video source":           `<video><source onerror="alert(1)"></video>`,
		"table background":       `<table background="javascript:alert(1)"><tr><td>x</td></tr></table>`,
		"img srcset":             `<img srcset="http://evil.example/x.png 1x" src="x">`,
		"img src javascript":     `<img src="javascript:alert(1)">`,
		"area":                   `<map name=m><area href="javascript:alert(1)" shape=rect coords="0,0,1,1"></map>`,
		"input image":            `<input type="image" src="javascript:alert(1)">`,
		"attr breakout":          `<img alt="x" title="&quot; onerror=&quot;alert(1)" src="x">`,
		"unclosed attr":          `<a href="https://ok.example/ onmouseover=alert(1) x="">t</a>`,
		"backtick attr":          "<img src=`x` onerror=alert(1)>",
		"id class clobber":       `<div id="csrf" class="notice" name="x">x</div><span class="evil">y</span>`,
	}
	if len(vectors) < 40 {
		t.Fatalf("only %d vectors", len(vectors))
	}
	for name, in := range vectors {
		for _, remote := range []bool{false, true} {
			out, _ := SanitizeHTML(in, SanitizeOptions{RemoteImages: remote})
			if bad := activeContent(out); bad != "" {
				t.Errorf("%s: SanitizeHTML(%q) = %q: has %s", name, in, out, bad)
			}
			if again, _ := SanitizeHTML(out, SanitizeOptions{RemoteImages: remote}); again != out {
				t.Errorf("%s: not a fixed point: SanitizeHTML(%q) = %q, again %q", name, in, out, again)
			}
		}
	}
}

func TestSanitizeHTMLKeeps(t *testing.T) {
	tests := map[string]struct {
		in, want string
	}{
		"text":           {`<p>Hello <b>world</b></p>`, `<p>Hello <b>world</b></p>`},
		"table":          {`<table width="100%" cellpadding="2"><tr><td align="center" bgcolor="#ffffff">x</td></tr></table>`, `<table width="100%" cellpadding="2"><tbody><tr><td align="center" bgcolor="#ffffff">x</td></tr></tbody></table>`},
		"safe styles":    {`<div style="color: #333; font-family: Arial, sans-serif; margin: 0 auto; position: relative; border: 1px solid rgb(0,0,0)">x</div>`, `<div style="color: #333; font-family: Arial, sans-serif; margin: 0 auto; position: relative; border: 1px solid rgb(0,0,0)">x</div>`},
		"unsafe style":   {`<p style="color: red; position: absolute; margin-top: -500px; z-index: 9">x</p>`, `<p style="color: red">x</p>`},
		"link":           {`<a href="https://example.com/a?b=1&amp;c=2" target="_self" rel="opener">x</a>`, `<a href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer nofollow" target="_blank">x</a>`},
		"mailto":         {`<a href="mailto:ann@example.com">Ann</a>`, `<a href="mailto:ann@example.com" rel="noopener noreferrer nofollow">Ann</a>`},
		"relative link":  {`<a href="/logout">x</a>`, `x`},
		"full document":  {`<!DOCTYPE html><html><head><title>T</title><style>p{}</style></head><body><p>Hi</p></body></html>`, `<p>Hi</p>`},
		"escaped text":   {`<p>a &lt;script&gt; b &amp; c</p>`, `<p>a &lt;script&gt; b &amp; c</p>`},
		"unbalanced":     {`<div><p>one<div>two`, `<div><p>one</p><div>two</div></div>`},
		"stray end div":  {`a</div></div>b`, `ab`},
		"form unwrapped": {`<form><label>Name</label> <input name=n></form>`, `Name `},
		"deep nesting":   {strings.Repeat("<div>", 300) + "deep &amp; <b>x</b>", strings.Repeat("<div>", 200) + "deep &amp; x" + strings.Repeat("</div>", 200)},
		"absurd nesting": {strings.Repeat("<div>", 600) + "deep &amp; <b>x</b>", "deep &amp; x"},
	}
	for name, tt := range tests {
		got, blocked := SanitizeHTML(tt.in, SanitizeOptions{})
		if got != tt.want || blocked {
			t.Errorf("%s: SanitizeHTML(%q) = %q, %v, want %q, false", name, tt.in, got, blocked, tt.want)
		}
	}
}

func TestSanitizeHTMLImages(t *testing.T) {
	cid := func(c string) string {
		if c == "known@x" {
			return "/msg/1/part/2"
		}
		return ""
	}
	tests := map[string]struct {
		in      string
		remote  bool
		want    string
		blocked bool
	}{
		"remote blocked":       {`<img src="https://cdn.example/a.png" alt="Logo">`, false, `<span class="blocked-img">[image: Logo]</span>`, true},
		"remote blocked noalt": {`<img src="http://cdn.example/a.png">`, false, `<span class="blocked-img">[image]</span>`, true},
		"tracking pixel":       {`<p>x<img src="https://t.example/p.gif" width="1" height="1"></p>`, false, `<p>x</p>`, true},
		"remote allowed":       {`<img src="https://cdn.example/a.png" alt="Logo">`, true, `<img src="https://cdn.example/a.png" alt="Logo" referrerpolicy="no-referrer"/>`, false},
		"cid known":            {`<img src="cid:known@x" alt="i">`, false, `<img src="/msg/1/part/2" alt="i"/>`, false},
		"cid escaped":          {`<img src="cid:known%40x">`, false, `<img src="/msg/1/part/2"/>`, false},
		"cid unknown":          {`<p><img src="cid:other@x">t</p>`, false, `<p>t</p>`, false},
		"data url":             {`<img src="data:image/png;base64,iVBORw0KGgo=" alt="d">`, true, ``, false},
		"relative":             {`<img src="/logout">`, true, ``, false},
		"background attr":      {`<td background="https://x.example/bg.png">c</td>`, true, `c`, false},
		"style background":     {`<div style="background: url(https://x.example/bg.png)">c</div>`, true, `<div>c</div>`, false},
	}
	for name, tt := range tests {
		got, blocked := SanitizeHTML(tt.in, SanitizeOptions{RemoteImages: tt.remote, CIDURL: cid})
		if got != tt.want || blocked != tt.blocked {
			t.Errorf("%s: SanitizeHTML(%q) = %q, %v, want %q, %v", name, tt.in, got, blocked, tt.want, tt.blocked)
		}
	}
}

var (
	onAttrRe      = regexp.MustCompile(`(?i)<[^>]*\son[a-z]+\s*=`)
	badPositionRe = regexp.MustCompile(`position\s*:\s*(fixed|absolute|sticky)`)
)

func FuzzSanitizeHTML(f *testing.F) {
	for _, s := range []string{
		`<p>Hello <b>world</b></p>`,
		`<img src=x onerror=alert(1)>`,
		`<a href="jav&#x09;ascript:alert(1)">x</a>`,
		`<noscript><p title="</noscript><img src=x onerror=alert(1)>">`,
		`<form><math><mtext></form><form><mglyph><style></math><img src onerror=alert(1)>`,
		`<svg></p><style><a id="</style><img src=1 onerror=alert(1)>">`,
		`<table><tr><td style="color: red; background: url(x)">x</td></tr></table>`,
		`<img src="https://cdn.example/a.png" alt="a">`,
		`<div style="font-family: 'A', &quot;B&quot;">q</div>`,
	} {
		f.Add(s, false)
	}
	// The HTML of the hostile-mail corpus.
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "hostile", "*.eml"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil || !bytes.Contains(bytes.ToLower(data), []byte("text/html")) {
			continue
		}
		if _, body, ok := bytes.Cut(data, []byte("\r\n\r\n")); ok && len(body) < 16<<10 {
			f.Add(string(body), true)
		}
	}
	f.Fuzz(func(t *testing.T, in string, remote bool) {
		opts := SanitizeOptions{RemoteImages: remote}
		out, _ := SanitizeHTML(in, opts)
		// activeContent reads attributes as a browser does: no on*
		// attribute, no javascript: URL, no <script.
		if bad := activeContent(out); bad != "" {
			t.Fatalf("SanitizeHTML(%q) = %q: has %s", in, out, bad)
		}
		if again, _ := SanitizeHTML(out, opts); again != out {
			t.Fatalf("not a fixed point: SanitizeHTML(%q) = %q, again %q", in, out, again)
		}
	})
}

// TestSanitizeHTMLOverlay: no margin or indent that moves the mail up or
// left, over the page's own header and buttons, however it is computed.
func TestSanitizeHTMLOverlay(t *testing.T) {
	dropped := []string{
		"margin-top: -260px",
		"margin-top: calc(0px - +260px)",
		"margin-top: calc(0px - (260px))",
		"margin-top: calc(0px - (+260px))",
		"margin-top: calc(-1 * 260px)",
		"margin-top: calc(260px * -1)",
		"margin-top: calc(0px - infinity * 1px)",
		"margin-top: calc(-infinity * 1px)",
		"margin-top: min(0px, -260px)",
		"margin-top: max(-260px, -300px)",
		"margin-top: clamp(-300px, -260px, -200px)",
		"margin-top: var(--x)",
		"margin-top: env(safe-area-inset-top)",
		"margin-top: -.5em",
		"margin-top: - 5px",
		"margin-top: +-5px",
		"margin-top: -0",
		"margin-top: 1e3px",
		"margin-top: -1e3px",
		"margin-top: inherit",
		"margin-top: revert",
		"margin-left: -100vw",
		"margin: 0 0 0 -200px",
		"margin: -5px auto",
		"margin: 1px 2px 3px 4px 5px",
		"MARGIN-TOP: -260PX",
		"margin-top: -260px !important",
		"margin-bottom: calc(1px - 2px)",
		"text-indent: -9999px",
		"text-indent: calc(0px - 9999px)",
		"position: fixed",
		"position: absolute !important",
		"position: sticky",
		"top: -100px",
		"inset: 0",
		"transform: translateY(-300px)",
		"translate: 0 -300px",
		"z-index: 9999",
		"box-shadow: 0 -500px 0 500px red",
		"outline: 500px solid red",
		"text-shadow: 0 -300px red",
		"zoom: 10",
		"clip-path: inset(0)",
	}
	for _, d := range dropped {
		in := `<p style="color: red; ` + d + `">x</p>`
		got, _ := SanitizeHTML(in, SanitizeOptions{})
		if got != `<p style="color: red">x</p>` {
			t.Errorf("SanitizeHTML(%q) = %q, want the declaration dropped", in, got)
		}
	}
	kept := map[string]string{
		"margin: 0 auto":                 `margin: 0 auto`,
		"margin: 10px 5% 0.5em .25rem":   `margin: 10px 5% 0.5em .25rem`,
		"margin-top: 20px !important":    `margin-top: 20px`,
		"MARGIN-LEFT: 12PX":              `margin-left: 12PX`,
		"text-indent: 2em":               `text-indent: 2em`,
		"width: calc(100% - 20px)":       ``,
		"display: none !important":       `display: none`,
		"mso-hide: all":                  `mso-hide: all`,
		"mso-hide: none":                 ``,
		"font-size: calc(0px + 0px)":     ``,
		"opacity: calc(0)":               ``,
		"max-height: min(0px, 10px)":     ``,
		"padding: 0 0 0 10px":            `padding: 0 0 0 10px`,
		"letter-spacing: -0.5px":         `letter-spacing: -0.5px`,
		"position: relative":             `position: relative`,
		"vertical-align: -2px":           `vertical-align: -2px`,
		"line-height: 0; font-size: 0px": `line-height: 0; font-size: 0px`,
	}
	for d, want := range kept {
		in := `<p style="` + d + `">x</p>`
		w := `<p>x</p>`
		if want != "" {
			w = `<p style="` + want + `">x</p>`
		}
		got, _ := SanitizeHTML(in, SanitizeOptions{})
		if got != w {
			t.Errorf("SanitizeHTML(%q) = %q, want %q", in, got, w)
		}
	}
}

// TestSanitizeHTMLKeepsHidden: what other mail programs hide stays hidden,
// so that the message page, replies and previews agree.
func TestSanitizeHTMLKeepsHidden(t *testing.T) {
	tests := map[string]string{
		`<div hidden>x</div>`:                                      `<div hidden="">x</div>`,
		`<div HIDDEN="until-found">x</div>`:                        `<div hidden="">x</div>`,
		`<span hidden="hidden" title="t">x</span>`:                 `<span hidden="" title="t">x</span>`,
		`<div style="display:none!important;mso-hide:all">x</div>`: `<div style="display: none; mso-hide: all">x</div>`,
	}
	for in, want := range tests {
		got, _ := SanitizeHTML(in, SanitizeOptions{})
		if got != want {
			t.Errorf("SanitizeHTML(%q) = %q, want %q", in, got, want)
		}
		if again, _ := SanitizeHTML(got, SanitizeOptions{}); again != got {
			t.Errorf("not a fixed point: %q, again %q", got, again)
		}
	}
}
