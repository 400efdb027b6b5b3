package message

import (
	"strings"
	"testing"
	"unicode/utf8"

	nethtml "golang.org/x/net/html"
)

func TestDecodeBody(t *testing.T) {
	tests := map[string]struct {
		data, enc, charset string
		want               string
		problem            string // a substring of the problems, "" for none
	}{
		"7bit":                 {"Hello\r\nWorld\r\n", "7bit", "us-ascii", "Hello\nWorld\n", ""},
		"no encoding":          {"Hi", "", "", "Hi", ""},
		"8bit latin1":          {"caf\xe9", "8bit", "iso-8859-1", "café", ""},
		"8bit cp1252 quotes":   {"\x93q\x94 \x80", "8bit", "windows-1252", "“q” €", ""},
		"binary":               {"a\x00b", "binary", "utf-8", "ab", ""},
		"upper encoding":       {"SGk=", "BASE64", "utf-8", "Hi", ""},
		"base64":               {"SGVsbG8s\r\nIHdvcmxk\r\n", "base64", "utf-8", "Hello, world", ""},
		"base64 no padding":    {"SGk", "base64", "utf-8", "Hi", ""},
		"base64 junk":          {"SGVs!!bG8=", "base64", "utf-8", "Hello", "damaged"},
		"base64 dangling":      {"SGk=Q", "base64", "utf-8", "Hi", "damaged"},
		"base64 concatenated":  {"SGk=SGk=", "base64", "utf-8", "HiHi", ""},
		"base64 url-safe":      {"-_8", "base64", "iso-8859-1", "ûÿ", ""},
		"qp":                   {"caf=C3=A9 =\r\nsoft", "quoted-printable", "utf-8", "café soft", ""},
		"qp lower hex":         {"caf=c3=a9", "quoted-printable", "utf-8", "café", ""},
		"qp trailing blanks":   {"a  \r\nb\t\n", "quoted-printable", "utf-8", "a\nb\n", ""},
		"qp soft break blanks": {"a= \t\r\nb", "quoted-printable", "utf-8", "ab", ""},
		"qp invalid":           {"100=ZZ% =4", "quoted-printable", "utf-8", "100=ZZ% ", "damaged"},
		"qp equals at end":     {"end=", "quoted-printable", "utf-8", "end", ""},
		"unknown encoding":     {"raw text", "x-uuencode", "utf-8", "raw text", `unknown transfer encoding "x-uuencode"`},
		"misspelt encoding":    {"raw", "8-bit", "utf-8", "raw", ""},
		"unknown charset utf8": {"caf\xc3\xa9", "8bit", "x-foo", "café", `unknown character set "x-foo"`},
		"unknown charset 1252": {"caf\xe9", "8bit", "x-foo", "café", `"x-foo"; shown as best we could`},
		"ascii mislabelled":    {"caf\xc3\xa9", "8bit", "us-ascii", "café", ""},
		"no charset latin1":    {"caf\xe9", "8bit", "", "café", ""},
		"invalid utf8":         {"a\xffb", "8bit", "utf-8", "a\uFFFDb", ""},
		"utf8 alias":           {"é", "8bit", "utf8", "é", ""},
		"quoted charset":       {"é", "8bit", `"UTF-8"`, "é", ""},
		"windows-1251":         {"\xcf\xf0\xe8\xe2\xe5\xf2", "8bit", "cp1251", "Привет", ""},
		"koi8-r":               {"\xf0\xd2\xc9\xd7\xc5\xd4", "8bit", "koi8-r", "Привет", ""},
		"gb2312 as gb18030":    {"\xd6\xd0\xce\xc4", "8bit", "gb2312", "中文", ""},
		"shift_jis alias":      {"\x83e\x83X\x83g", "8bit", "sjis", "テスト", ""},
		"euc-kr alias":         {"\xbe\xc8\xb3\xe7", "8bit", "ks_c_5601-1987", "안녕", ""},
		"iso-2022-jp":          {"\x1b$B%F%9%H\x1b(B", "7bit", "ISO-2022-JP", "テスト", ""},
		"iso8859 spelling":     {"\xe9", "8bit", "ISO8859_15", "é", ""},
		"cr only":              {"a\rb\r", "8bit", "utf-8", "a\nb\n", ""},
		"controls":             {"a\x01b\x1bc\td\fe\x7f", "8bit", "utf-8", "ab" + "c\td\fe", ""},
		"utf-16 bom":           {"\xff\xfea\x00b\x00", "8bit", "utf-16", "ab", ""},
		"iso-2022-kr guessed":  {"plain", "7bit", "iso-2022-kr", "plain", "unknown character set"},
		"utf-8 bom":            {"\xef\xbb\xbfhi", "8bit", "utf-8", "hi", ""},
	}
	for name, tt := range tests {
		got, problems := DecodeBody([]byte(tt.data), tt.enc, tt.charset)
		if got != tt.want {
			t.Errorf("%s: DecodeBody(%q, %q, %q) = %q, want %q", name, tt.data, tt.enc, tt.charset, got, tt.want)
		}
		all := strings.Join(problems, "\n")
		switch {
		case tt.problem == "" && len(problems) > 0:
			t.Errorf("%s: DecodeBody(%q, %q, %q) problems = %q, want none", name, tt.data, tt.enc, tt.charset, problems)
		case tt.problem != "" && !strings.Contains(all, tt.problem):
			t.Errorf("%s: DecodeBody(%q, %q, %q) problems = %q, want one containing %q", name, tt.data, tt.enc, tt.charset, problems, tt.problem)
		}
		for _, p := range problems {
			if strings.Contains(p, "error") || strings.Contains(p, "illegal") || strings.Contains(p, "mime:") {
				t.Errorf("%s: problem %q reads like Go error text", name, p)
			}
		}
	}
}

func TestPreviewText(t *testing.T) {
	tests := map[string]struct {
		data, enc, charset, mediaType string
		n                             int
		want                          string
	}{
		"plain":              {"Hello\r\n  world\r\n\r\nbye", "7bit", "utf-8", "text/plain", 100, "Hello world bye"},
		"cut":                {"one two three four", "7bit", "utf-8", "text/plain", 10, "one two…"},
		"cut long word":      {"onetwothreefour", "7bit", "utf-8", "text/plain", 10, "onetwothr…"},
		"cut at space":       {"one two three", "7bit", "utf-8", "text/plain", 9, "one two…"},
		"exact fit":          {"0123456789", "7bit", "utf-8", "text/plain", 10, "0123456789"},
		"zero n":             {"text", "7bit", "utf-8", "text/plain", 0, ""},
		"one n":              {"text", "7bit", "utf-8", "text/plain", 1, "…"},
		"quoted reply":       {"Sounds good.\r\n\r\nOn Mon, 1 Jan 2024, Ann <ann@example.com> wrote:\r\n> Shall we meet?\r\n> Tomorrow?\r\n", "7bit", "utf-8", "text/plain", 100, "Sounds good."},
		"wrapped attrib":     {"Yes.\r\nOn Mon, 1 Jan 2024 at 10:00, Ann Example <ann@\r\nexample.com> wrote:\r\n> Q?\r\n", "7bit", "utf-8", "text/plain", 100, "Yes."},
		"german attribution": {"Ja.\r\nAm 01.01.2024 schrieb Ann:\r\n> Frage\r\n", "7bit", "utf-8", "text/plain", 100, "Ja."},
		"only quotes":        {"> quoted only\r\n> more", "7bit", "utf-8", "text/plain", 100, "quoted only more"},
		"signature":          {"Body text\r\n-- \r\nAnn Example\r\nPhone 123", "7bit", "utf-8", "text/plain", 100, "Body text"},
		"outlook original":   {"Reply\r\n-----Original Message-----\r\nFrom: x\r\n", "7bit", "utf-8", "text/plain", 100, "Reply"},
		"colon not attrib":   {"Agenda:\r\n1. a\r\n2. b", "7bit", "utf-8", "text/plain", 100, "Agenda: 1. a 2. b"},
		"base64 mid quad":    {"SGVsbG8gd29ybGQsIHRoaXMgaXMgYSB0ZXN0"[:30], "base64", "utf-8", "text/plain", 100, "Hello world, this is a"},
		"qp mid escape":      {"caf=C3=A9 =C3=", "quoted-printable", "utf-8", "text/plain", 100, "café"},
		"qp mid escape 2":    {"caf=C3=A9 =C", "quoted-printable", "utf-8", "text/plain", 100, "café"},
		"utf8 mid char":      {"café \xe2\x82", "8bit", "utf-8", "text/plain", 100, "café"},
		"sjis mid char":      {"\x83e\x83X\x83", "8bit", "shift_jis", "text/plain", 100, "テス"},
		"latin1":             {"caf\xe9", "8bit", "iso-8859-1", "text/plain", 100, "café"},
		"html":               {"<html><head><title>T</title><style>p{color:red}</style></head><body><p>Hi&nbsp;there</p><script>var x;</script><p>second &amp; last</p>", "7bit", "utf-8", "text/html", 100, "Hi there second & last"},
		"html mid tag":       {"<p>Hello</p><div cla", "7bit", "utf-8", "text/html; charset=utf-8", 100, "Hello"},
		"html mid entity":    {"<p>Fish &am", "7bit", "utf-8", "TEXT/HTML", 100, "Fish &am"},
		"html quote":         {"<p>Reply</p><blockquote>old text</blockquote>", "7bit", "utf-8", "text/html", 100, "Reply"},
		"html only quote":    {"<blockquote>old text</blockquote>", "7bit", "utf-8", "text/html", 100, "old text"},
		"html base64":        {"PHA+SGk8L3A+PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "base64", "utf-8", "text/html", 100, "Hi"},
		"controls":           {"a\x00b\x1bc", "8bit", "utf-8", "text/plain", 100, "abc"},
		"runes not bytes":    {"äöüäöü", "8bit", "utf-8", "text/plain", 4, "äöü…"},
	}
	for name, tt := range tests {
		got := PreviewText([]byte(tt.data), tt.enc, tt.charset, tt.mediaType, tt.n)
		if got != tt.want {
			t.Errorf("%s: PreviewText(%q, %q, %q, %q, %d) = %q, want %q", name, tt.data, tt.enc, tt.charset, tt.mediaType, tt.n, got, tt.want)
		}
		if utf8.RuneCountInString(got) > tt.n || strings.Contains(got, "\n") || !utf8.ValidString(got) {
			t.Errorf("%s: PreviewText = %q: longer than %d runes, multi-line or invalid", name, got, tt.n)
		}
	}
}

func TestTextToHTML(t *testing.T) {
	rel := ` rel="noopener noreferrer nofollow"`
	quoted := strings.Repeat("> q\n", 11)
	tests := map[string]string{
		"plain":         "Hello\nworld",
		"escape":        `<b>&"'`,
		"url":           "see https://example.com/a?b=1&c=2.",
		"url parens":    "(https://en.wikipedia.org/wiki/Go_(language))",
		"www":           "www.example.org, then",
		"email":         "mail ann.example@mail.example.co.uk!",
		"no js":         "javascript:alert(1) http://x.example/\"onmouseover=alert(1)",
		"quote":         "Hi\n> quoted\n> more\nbye",
		"nested quote":  "> a\n>> b\n> c",
		"long quote":    "top\n" + quoted + "end",
		"signature":     "text\n-- \nAnn\nhttps://ann.example",
		"crlf":          "a\r\nb",
		"scheme only":   "http:// alone",
		"url in quotes": `"https://example.com/x"`,
	}
	want := map[string]string{
		"plain":         "Hello\nworld",
		"escape":        "&lt;b&gt;&amp;&#34;&#39;",
		"url":           `see <a href="https://example.com/a?b=1&amp;c=2"` + rel + ` target="_blank">https://example.com/a?b=1&amp;c=2</a>.`,
		"url parens":    `(<a href="https://en.wikipedia.org/wiki/Go_(language)"` + rel + ` target="_blank">https://en.wikipedia.org/wiki/Go_(language)</a>)`,
		"www":           `<a href="https://www.example.org"` + rel + ` target="_blank">www.example.org</a>, then`,
		"email":         `mail <a href="mailto:ann.example@mail.example.co.uk"` + rel + `>ann.example@mail.example.co.uk</a>!`,
		"no js":         `javascript:alert(1) <a href="http://x.example/"` + rel + ` target="_blank">http://x.example/</a>&#34;onmouseover=alert(1)`,
		"quote":         "Hi\n<blockquote>quoted\nmore</blockquote>bye",
		"nested quote":  "<blockquote>a\n<blockquote>b</blockquote>c</blockquote>",
		"long quote":    "top\n<details><summary>Quoted text (11 lines)</summary><blockquote>" + strings.Repeat("q\n", 10) + "q</blockquote></details>end",
		"signature":     "text\n" + `<div class="sig">-- ` + "\nAnn\n" + `<a href="https://ann.example"` + rel + ` target="_blank">https://ann.example</a></div>`,
		"crlf":          "a\nb",
		"scheme only":   "http:// alone",
		"url in quotes": `&#34;<a href="https://example.com/x"` + rel + ` target="_blank">https://example.com/x</a>&#34;`,
	}
	for name, in := range tests {
		if got := TextToHTML(in); got != want[name] {
			t.Errorf("%s: TextToHTML(%q) = %q, want %q", name, in, got, want[name])
		}
	}
}

// FuzzTextToHTML: whatever the plain text, its HTML has no active
// content, every link is http, https or mailto, and the output stays
// proportional to the input.
func FuzzTextToHTML(f *testing.F) {
	for _, s := range []string{
		"see https://example.org/a?b=c&d=e.",
		`http://x.example/"onmouseover="alert(1)`,
		"javascript:alert(1)\nwww.example.org/'><script>alert(2)</script>",
		"> quoted http://q.example/\n>> deeper <b>\n-- \nsig mailto:a@example.org",
		"a@b.example <c@d.example> &amp; &#60;",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := TextToHTML(in)
		if bad := activeContent(out); bad != "" {
			t.Fatalf("TextToHTML(%q) = %q: has %s", in, out, bad)
		}
		z := nethtml.NewTokenizer(strings.NewReader(out))
		for tt := z.Next(); tt != nethtml.ErrorToken; tt = z.Next() {
			tok := z.Token()
			if tok.Data != "a" || tt == nethtml.EndTagToken {
				continue
			}
			for _, a := range tok.Attr {
				if a.Key == "href" {
					if s := urlScheme(browserURL(a.Val)); s != "http" && s != "https" && s != "mailto" {
						t.Fatalf("TextToHTML(%q) links to %q", in, a.Val)
					}
				}
			}
		}
		if len(out) > 40*len(in)+1024 {
			t.Fatalf("TextToHTML of %d bytes gave %d bytes", len(in), len(out))
		}
	})
}
