package message

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// words joins the words of s with single spaces.
func words(s string) string { return strings.Join(strings.Fields(s), " ") }

// TestHTMLToTextHidden: text a browser does not show is left out, and
// text it shows is kept, however the hiding is spelt.
func TestHTMLToTextHidden(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"display none":          {`<div style="display:none">SECRET</div><p>Hello</p>`, "Hello"},
		"display none upper":    {`<div style="DISPLAY: NONE">SECRET</div><p>Hello</p>`, "Hello"},
		"display important":     {`<div style="display:none !important">SECRET</div><p>Hello</p>`, "Hello"},
		"visibility hidden":     {`<span style="visibility:hidden">SECRET</span> Hello`, "Hello"},
		"visibility collapse":   {`<table><tr style="visibility:collapse"><td>SECRET</td></tr></table>Hello`, "Hello"},
		"visible again":         {`<div style="visibility:hidden">SECRET <b style="visibility:visible">Hello</b></div>`, "Hello"},
		"hidden attribute":      {`<div hidden>SECRET</div>Hello`, "Hello"},
		"hidden until-found":    {`<div hidden="until-found">SECRET</div>Hello`, "Hello"},
		"font-size 0":           {`<span style="font-size:0">SECRET</span>Hello`, "Hello"},
		"font-size 0px":         {`<span style="font-size: 0px">SECRET</span>Hello`, "Hello"},
		"font-size 1px":         {`<span style="font-size:1px;color:#fff">SECRET</span>Hello`, "Hello"},
		"font-size 0 relative":  {`<div style="font-size:0"><span style="font-size:3em">SECRET</span><span style="font-size:150%">SECRET</span></div>Hello`, "Hello"},
		"font-size 0 columns":   {`<td style="font-size:0"><div style="display:inline-block"><p style="font-size:14px">Hello</p></div></td>`, "Hello"},
		"font-size 0 rem":       {`<div style="font-size:0"><p style="font-size:1rem">Hello</p></div>`, "Hello"},
		"font shorthand 0/0":    {`<span style="font: 0/0 a">SECRET</span>Hello`, "Hello"},
		"font shorthand bold 0": {`<span style="font:bold 0px/0 Arial, sans-serif">SECRET</span>Hello`, "Hello"},
		"font shorthand ok":     {`<span style="font: 14px/20px Arial">Hello</span>`, "Hello"},
		"font shorthand no fam": {`<span style="font: 0">Hello</span>`, "Hello"},
		"max-height overflow":   {`<div style="max-height:0;overflow:hidden">SECRET</div>Hello`, "Hello"},
		"height 0 overflow-y":   {`<div style="height:0px; overflow-y: clip">SECRET</div>Hello`, "Hello"},
		"width 0 overflow":      {`<div style="max-width:0px;overflow:hidden">SECRET</div>Hello`, "Hello"},
		"max-height no clip":    {`<div style="max-height:0">Hello</div>`, "Hello"},
		"height unitless":       {`<div style="height:1;overflow:hidden">Hello</div>`, "Hello"},
		"mso-hide":              {`<div style="mso-hide:all">SECRET</div>Hello`, "Hello"},
		"opacity 0":             {`<div style="opacity:0">SECRET</div>Hello`, "Hello"},
		"opacity .0":            {`<div style="opacity: .0">SECRET <b style="opacity:1">SECRET</b></div>Hello`, "Hello"},
		"opacity 0%":            {`<div style="opacity:0%">SECRET</div>Hello`, "Hello"},
		"opacity half":          {`<div style="opacity:0.5">Hello</div>`, "Hello"},
		"color transparent":     {`<span style="color:transparent">SECRET</span>Hello`, "Hello"},
		"color rgba 0":          {`<span style="color: rgba(0, 0, 0, 0)">SECRET</span><span style="color:rgb(0 0 0 / 0%)">SECRET</span>Hello`, "Hello"},
		"color reset":           {`<div style="color:transparent">SECRET <span style="color:#333">Hello</span></div>`, "Hello"},
		"preheader":             {`<html><head><style>.x{}</style></head><body><div style="display:none;font-size:1px;color:#ffffff;line-height:1px;max-height:0px;max-width:0px;opacity:0;overflow:hidden;mso-hide:all;">SECRET preheader&nbsp;&zwnj;</div><p>Hello</p></body></html>`, "Hello"},
		"misnested":             {`<b><div style="display:none">SECRET</b>SECRET</div>Hello`, "Hello"},
		"implied end":           {`<p style="display:none">SECRET<p>Hello`, "Hello"},
		"table foster":          {`<table style="display:none"><tr><td>SECRET</td></tr>Hello</table>`, "Hello"},
		"script and style":      {`<script>SECRET</script><style>SECRET</style><textarea>SECRET</textarea><button>SECRET</button>Hello`, "Hello"},
		"svg":                   {`<svg><text>SECRET</text></svg>Hello`, "Hello"},
		"head":                  {`<head><title>SECRET</title></head>Hello`, "Hello"},
	}
	for name, tt := range tests {
		if got := words(HtmlToText(tt.in, false)); got != tt.want {
			t.Errorf("%s: htmlToText(%q) = %q, want %q", name, tt.in, got, tt.want)
		}
	}
}

// TestHTMLToTextTooDeep: markup nested deeper than the HTML parser goes
// is read token by token, and hidden text still stays hidden.
func TestHTMLToTextTooDeep(t *testing.T) {
	deep := strings.Repeat("<span>", 600)
	tests := map[string]struct{ in, want string }{
		"hidden":           {deep + `<div style="display:none">SECRET</div>Hello`, "Hello"},
		"hidden span":      {deep + `<span style="display:none">SECRET <i>x</i></span>Hello`, "Hello"},
		"stray end inside": {deep + `<div style="display:none"><b>SECRET</span>SECRET</b>SECRET</div>Hello`, "Hello"},
		"self-closing div": {deep + `<div hidden><div/>SECRET</div>SECRET</div>Hello`, "Hello"},
		"svg self-closing": {deep + `<svg/>Hello`, "Hello"},
		"font-size 0":      {deep + `<div style="font-size:0">SECRET<p style="font-size:12px">Hello</p></div>`, "Hello"},
		"quote":            {deep + `<blockquote>old</blockquote>`, "old"},
	}
	for name, tt := range tests {
		if _, ok := treeText(tt.in, false); ok {
			t.Fatalf("%s: the parser took it; the test needs deeper nesting", name)
		}
		if got := words(HtmlToText(tt.in, false)); got != tt.want {
			t.Errorf("%s: htmlToText(%q…) = %q, want %q", name, tt.in[len(deep):], got, tt.want)
		}
	}
	if got := words(HtmlToText(deep+`<p>new</p><blockquote>old</blockquote>`, true)); got != "new" {
		t.Errorf("skipping quotes in deep markup: %q, want %q", got, "new")
	}
}

// preheaderMail is an HTML newsletter whose hidden preheader and other
// hidden text must never be shown, quoted or previewed.
func preheaderMail(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "hidden", "preheader.eml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestHiddenTextNotPreviewed: the list preview, made from the raw start of
// the HTML part, leaves hidden text out too.
func TestHiddenTextNotPreviewed(t *testing.T) {
	_, body, _ := strings.Cut(preheaderMail(t), "\r\n\r\n")
	got := PreviewText([]byte(body), "7bit", "utf-8", "text/html", 100)
	if got != "Dear Ann, Our offer ends today." {
		t.Errorf("PreviewText = %q", got)
	}
	// Cut inside the hidden element: nothing hidden shows either.
	cut := body[:strings.Index(body, "unseen")+3]
	if got := PreviewText([]byte(cut), "7bit", "utf-8", "text/html", 100); got != "" {
		t.Errorf("PreviewText of a cut preheader = %q, want nothing", got)
	}
}

// TestSanitizeDeepHiddenText: markup too deep to keep is flattened to
// its text, and hidden text is not brought to light on the way.
func TestSanitizeDeepHiddenText(t *testing.T) {
	for _, depth := range []int{250, 600} {
		in := strings.Repeat("<div>", depth) + `<span style="display:none">SECRET</span><span hidden>SECRET</span><b style="font-size:0">SECRET</b>Hello`
		out, _ := SanitizeHTML(in, SanitizeOptions{})
		if strings.Contains(out, "SECRET") || !strings.Contains(out, "Hello") {
			t.Errorf("depth %d: SanitizeHTML = …%q", depth, out[max(0, len(out)-200):])
		}
	}
}

// hiddenMark is text put where no reader can see it.
const hiddenMark = "\u2603hidden\u2603mark\u2603"

// FuzzHTMLToText: whatever follows a hidden element, its text stays out of
// the plain text made for replies and previews, read from the mail's HTML
// or from the sanitized HTML shown on the page.
func FuzzHTMLToText(f *testing.F) {
	for _, s := range []string{
		`<p>Hello</p>`,
		`</div>visible`,
		`</b></span></div></td></tr></table>x`,
		`<table><td>`,
		`<svg><p>x`,
		`<math><mtext></div>`,
		`<b><div>x</b>y`,
		strings.Repeat("<span>", 600) + "deep",
		`<blockquote>old</blockquote>new`,
		`<div style="visibility:visible">v</div>`,
		`<p style="font-size:14px">v</p>`,
	} {
		f.Add(s)
	}
	prefixes := []string{
		`<div hidden>`,
		`<div style="display:none !important">`,
		`<span style="visibility:hidden">x<i>`,
		`<div style="max-height:0;overflow:hidden">`,
		`<div style="opacity:0">`,
		`<p style="font:0/0 a">`,
		`<div style="mso-hide:all">`,
		`<table><tr><td style="display:none">`,
	}
	f.Fuzz(func(t *testing.T, in string) {
		if strings.Contains(in, "\u2603") || strings.Contains(HtmlToText(in, false), "\u2603") {
			return
		}
		for _, p := range prefixes {
			src := p + hiddenMark + in
			for _, quotes := range []bool{false, true} {
				if out := HtmlToText(src, quotes); strings.Contains(out, hiddenMark) {
					t.Fatalf("htmlToText(%q, %v) = %q", src, quotes, out)
				}
			}
			safe, _ := SanitizeHTML(src, SanitizeOptions{})
			if out := HtmlToText(safe, false); strings.Contains(out, hiddenMark) {
				t.Fatalf("htmlToText(SanitizeHTML(%q)) = %q; sanitized %q", src, out, safe)
			}
		}
		if out := HtmlToText(in, false); len(out) > len(in)+16 {
			t.Fatalf("htmlToText of %d bytes gave %d", len(in), len(out))
		}
	})
}
