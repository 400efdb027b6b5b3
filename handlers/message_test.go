package handlers

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/thumbmail/thumbmail/mailproxy/imapmail"
	"github.com/thumbmail/thumbmail/templates"
)

// putMessage appends raw to folder (created if needed) and returns the
// URL of its message page.
func (e *testEnv) putMessage(c *http.Client, folder, raw string) string {
	e.t.Helper()
	if _, err := e.demo.User().Status(folder, &imap.StatusOptions{NumMessages: true}); err != nil {
		if err := e.demo.CreateMailbox(folder); err != nil {
			e.t.Fatalf("CreateMailbox(%q) = %v", folder, err)
		}
	}
	raw = strings.ReplaceAll(strings.ReplaceAll(raw, "\r\n", "\n"), "\n", "\r\n")
	data, err := e.demo.User().Append(folder, literal{bytes.NewReader([]byte(raw)), int64(len(raw))}, &imap.AppendOptions{Time: time.Now()})
	if err != nil {
		e.t.Fatalf("append: %v", err)
	}
	st, _ := e.demo.User().Status(folder, &imap.StatusOptions{UIDValidity: true})
	return "/f/" + templates.EncodeFolder(folder) + "/" + itoa(int(st.UIDValidity)) + "-" + itoa(int(data.UID))
}

const htmlMail = `From: "Shop" <news@shop.example>
To: demo@example.org
Subject: Big sale
Date: Mon, 02 Jan 2026 10:00:00 +0000
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<html><head><script>alert(1)</script><style>body{background:url(https://track.example/x)}</style></head>
<body><h1 onclick="alert(2)">Sale!</h1><p style="color:red">Everything must go.</p>
<img src="https://track.example/pixel.gif" alt="logo" onerror="alert(3)">
<a href="javascript:alert(4)">click</a> <a href="https://shop.example/">shop</a>
<form action="https://evil.example/"><input name="pw"></form><iframe src="https://evil.example/"></iframe>
</body></html>
`

func TestMessageHTMLSanitized(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	u := e.putMessage(c, "Tests", htmlMail)
	r := e.get(c, u)
	if r.status != http.StatusOK {
		t.Fatalf("GET %s = %d", u, r.status)
	}
	body := mailBody(r.body)
	for _, bad := range []string{"<script", "alert(", "onerror", "onclick", "javascript:", "<form", "<iframe", "track.example", "<input"} {
		if strings.Contains(strings.ToLower(body), bad) {
			t.Errorf("HTML mail view contains %q", bad)
		}
	}
	for _, want := range []string{"Sale!", "Everything must go.", `href="https://shop.example/"`, "[image: logo]"} {
		if !strings.Contains(body, want) {
			t.Errorf("HTML mail view lacks %q", want)
		}
	}
	for _, want := range []string{"Show images", "Remote images are blocked"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("HTML mail view lacks %q", want)
		}
	}
	csp := r.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'none'") || !strings.Contains(csp, "img-src 'self';") {
		t.Errorf("CSP = %q", csp)
	}
	// Asking for images lets the remote image (not the script) through.
	ri := e.get(c, u+"?images=1")
	if !strings.Contains(ri.body, "https://track.example/pixel.gif") {
		t.Errorf("remote image not shown after asking for images")
	}
	if strings.Contains(ri.body, "<script") || strings.Contains(ri.body, "onerror") {
		t.Errorf("active content with images on")
	}
	if csp := ri.header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' https:") {
		t.Errorf("CSP with images = %q", csp)
	}
}

const nonASCIIMail = `From: =?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?= <juergen@example.de>
To: =?ISO-8859-1?Q?Andr=E9?= <andre@example.fr>
Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgTcO8bmNoZW4g8J+Nug==?= =?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=
Date: Tue, 03 Feb 2026 08:30:00 +0100
MIME-Version: 1.0
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Sch=F6ne Gr=FC=DFe aus M=FCnchen, =E0 bient=F4t.
Visit https://example.de/?a=1&b=2 now.
`

func TestMessageNonASCII(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	u := e.putMessage(c, "Tests", nonASCIIMail)
	r := e.get(c, u)
	if r.status != http.StatusOK {
		t.Fatalf("GET = %d", r.status)
	}
	for _, want := range []string{"Grüße aus München 🍺", "日本語", "Jürgen Müller", "André", "Schöne Grüße aus München, à bientôt.", `href="https://example.de/?a=1&amp;b=2"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("message lacks %q", want)
		}
	}
	list := e.get(c, "/f/Tests").body
	if !strings.Contains(list, "Jürgen Müller") || !strings.Contains(list, "Schöne Grüße") {
		t.Errorf("list lacks decoded sender or preview")
	}
}

func pdfBytes(n int) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	for b.Len() < n {
		b.WriteString("0123456789abcdefghijklmnopqrstuvwxyz\n")
	}
	return b.Bytes()[:n]
}

func mailWithAttachment(name string, ctype string, data []byte) string {
	enc := base64.StdEncoding.EncodeToString(data)
	var lines []string
	for len(enc) > 76 {
		lines = append(lines, enc[:76])
		enc = enc[76:]
	}
	lines = append(lines, enc)
	return `From: Alice <alice@example.org>
To: demo@example.org
Subject: The report
Date: Wed, 04 Feb 2026 09:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="XYZ"

--XYZ
Content-Type: text/plain; charset=utf-8

Here is the report.
--XYZ
Content-Type: ` + ctype + `
Content-Disposition: attachment; filename*=UTF-8''` + name + `
Content-Transfer-Encoding: base64

` + strings.Join(lines, "\n") + `
--XYZ--
`
}

func TestAttachmentDownload(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	pdf := pdfBytes(30000)
	u := e.putMessage(c, "Tests", mailWithAttachment("Bericht%20M%C3%A4rz.pdf", "application/pdf", pdf))
	r := e.get(c, u)
	if !strings.Contains(r.body, "Bericht März.pdf") || !strings.Contains(r.body, "application/pdf") {
		t.Fatalf("attachment not listed with name and type:\n%s", r.body)
	}
	link := regexp.MustCompile(`href="([^"]+/part/2)"`).FindStringSubmatch(r.body)
	if link == nil {
		t.Fatal("no download link for part 2")
	}
	d := e.get(c, link[1])
	if d.status != http.StatusOK {
		t.Fatalf("download = %d", d.status)
	}
	if d.body != string(pdf) {
		t.Errorf("downloaded %d bytes, want the %d original bytes", len(d.body), len(pdf))
	}
	cd := d.header.Get("Content-Disposition")
	if !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, "filename*=UTF-8''Bericht%20M%C3%A4rz.pdf") {
		t.Errorf("Content-Disposition = %q", cd)
	}
	if ct := d.header.Get("Content-Type"); ct != "application/pdf" {
		t.Errorf("Content-Type = %q", ct)
	}
	if !strings.Contains(d.header.Get("Content-Security-Policy"), "sandbox") || d.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("download lacks sandbox CSP or nosniff")
	}
	if r := e.get(c, strings.Replace(link[1], "/part/2", "/part/7", 1)); r.status != http.StatusNotFound {
		t.Errorf("missing part = %d, want 404", r.status)
	}
}

func TestActiveAttachmentIsOctetStream(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	for _, ct := range []string{"text/html", "image/svg+xml", "application/javascript", "text/xml"} {
		u := e.putMessage(c, "Tests", mailWithAttachment("x", ct, []byte("<script>alert(1)</script>")))
		d := e.get(c, u+"/part/2?inline=1")
		if got := d.header.Get("Content-Type"); got != "application/octet-stream" {
			t.Errorf("%s attachment served as %q", ct, got)
		}
		if !strings.HasPrefix(d.header.Get("Content-Disposition"), "attachment") {
			t.Errorf("%s attachment served inline", ct)
		}
	}
}

// TestBigAttachmentNotFetched opens a message with a 6 MB attachment and
// checks, at the TCP level, that the attachment was not downloaded; then
// downloads it whole.
func TestBigAttachmentNotFetched(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	big := pdfBytes(6 << 20)
	u := e.putMessage(c, "Tests", mailWithAttachment("big.pdf", "application/pdf", big))
	e.get(c, "/f/Tests") // select the folder first
	before := e.proxy.down.Load()
	r := e.get(c, u)
	if r.status != http.StatusOK || !strings.Contains(r.body, "big.pdf") {
		t.Fatalf("message with big attachment = %d", r.status)
	}
	if got := e.proxy.down.Load() - before; got > 256<<10 {
		t.Errorf("opening the message downloaded %d bytes from IMAP; the attachment must not be fetched", got)
	}
	d := e.get(c, u+"/part/2")
	if len(d.body) != len(big) || d.body != string(big) {
		t.Errorf("download gave %d bytes, want %d", len(d.body), len(big))
	}
}

func TestReconnectAfterServerDrop(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	if r := e.get(c, "/f/INBOX"); r.status != http.StatusOK {
		t.Fatal(r.status)
	}
	e.proxy.killAll()
	time.Sleep(50 * time.Millisecond)
	if r := e.get(c, "/f/INBOX"); r.status != http.StatusOK {
		t.Errorf("after the server dropped the connection: GET /f/INBOX = %d, want 200 (transparent reconnect)", r.status)
	}
	if n := e.proxy.accepted.Load(); n != 2 {
		t.Errorf("%d upstream connections made, want 2 (login, reconnect)", n)
	}
}

func TestConnectionReused(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	for range 5 {
		e.get(c, "/f/INBOX")
		e.get(c, "/folders")
	}
	if n := e.proxy.accepted.Load(); n != 1 {
		t.Errorf("%d upstream connections for one session, want 1", n)
	}
}

func TestPerUserConnectionCap(t *testing.T) {
	e := newEnv(t, &envOptions{pool: &imapmail.PoolOptions{MaxPerUser: 2}})
	var browsers []*http.Client
	for range 4 {
		browsers = append(browsers, e.login())
	}
	for round := range 2 {
		for i, c := range browsers {
			if r := e.get(c, "/f/INBOX"); r.status != http.StatusOK {
				t.Errorf("round %d browser %d: GET /f/INBOX = %d", round, i, r.status)
			}
			if _, conns := e.pool.Stats(); conns > 2 {
				t.Errorf("%d live connections, cap is 2", conns)
			}
		}
	}
}

func TestNotFound(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	for _, path := range []string{
		"/f/" + templates.EncodeFolder("No such folder"),
		"/f/INBOX/1-999999",
		"/f/INBOX/garbage",
		"/f/~!!!",
		"/nope",
	} {
		r := e.get(c, path)
		if r.status != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, r.status)
		}
		if strings.Contains(r.body, "NONEXISTENT") || strings.Contains(r.body, "imap") {
			t.Errorf("GET %s shows upstream error text", path)
		}
	}
}

// TestMalformedCorpus renders every hand-written malformed message in
// testdata through the real message view: none may answer 5xx.
func TestMalformedCorpus(t *testing.T) {
	files, _ := filepath.Glob("../testdata/malformed/*.eml")
	if len(files) < 20 {
		t.Fatalf("only %d malformed messages in testdata/malformed", len(files))
	}
	e := newEnv(t, nil)
	c := e.login()
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		u := e.putMessage(c, "Malformed", string(raw))
		r := e.get(c, u)
		if r.status != http.StatusOK {
			t.Errorf("%s: message view = %d, want 200", filepath.Base(f), r.status)
		}
		if strings.Contains(strings.ToLower(r.body), "<script") {
			t.Errorf("%s: script in the page", filepath.Base(f))
		}
	}
	if r := e.get(c, "/f/Malformed"); r.status != http.StatusOK {
		t.Errorf("list of malformed messages = %d", r.status)
	}
}

func TestStaticAndHeaders(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	r := e.get(c, "/f/INBOX")
	css := regexp.MustCompile(`href="(/static/style\.[0-9a-f]+\.css)"`).FindStringSubmatch(r.body)
	if css == nil {
		t.Fatal("no hashed stylesheet link")
	}
	s := e.get(c, css[1])
	if s.status != 200 || !strings.Contains(s.header.Get("Cache-Control"), "immutable") || !strings.HasPrefix(s.header.Get("Content-Type"), "text/css") {
		t.Errorf("stylesheet: %d %q %q", s.status, s.header.Get("Cache-Control"), s.header.Get("Content-Type"))
	}
	if len(s.body) > 8<<10 {
		t.Errorf("stylesheet is %d bytes, want at most 8 KB", len(s.body))
	}
	for k, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
		"Cache-Control":          "no-store",
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'none'") {
		t.Errorf("CSP = %q", csp)
	}
	// gzip for HTML when the browser asks.
	req, _ := http.NewRequest("GET", e.srv.URL+"/f/INBOX", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(addCookies(req, c))
	if err == nil {
		if resp.Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("HTML not gzipped")
		}
		resp.Body.Close()
	}
}

func addCookies(req *http.Request, c *http.Client) *http.Request {
	for _, ck := range c.Jar.Cookies(req.URL) {
		req.AddCookie(ck)
	}
	return req
}

func TestCrossOriginPostRefused(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	req, _ := http.NewRequest("POST", e.srv.URL+"/logout", strings.NewReader(""))
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST /logout = %d, want 403", resp.StatusCode)
	}
	if r := e.get(c, "/f/INBOX"); r.status != http.StatusOK {
		t.Errorf("the cross-site logout took effect")
	}
}

func TestBasePath(t *testing.T) {
	e := newEnv(t, &envOptions{basePath: "/mail"})
	c := e.client()
	r := e.do(c, "POST", "/mail/login", map[string][]string{"username": {"demo"}, "password": {"demo"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/mail/f/INBOX" {
		t.Fatalf("POST /mail/login = %d %q", r.status, r.header.Get("Location"))
	}
	if sc := r.header.Get("Set-Cookie"); !strings.Contains(sc, "Path=/mail/") {
		t.Errorf("cookie path: %q", sc)
	}
	l := e.get(c, "/mail/f/INBOX")
	if l.status != http.StatusOK {
		t.Fatalf("GET /mail/f/INBOX = %d", l.status)
	}
	for _, m := range regexp.MustCompile(`(?:href|action)="([^"]*)"`).FindAllStringSubmatch(l.body, -1) {
		if !strings.HasPrefix(m[1], "/mail/") && !strings.HasPrefix(m[1], "#") {
			t.Errorf("link %q is not under the base path", m[1])
		}
	}
	css := regexp.MustCompile(`href="(/mail/static/[^"]+)"`).FindStringSubmatch(l.body)
	if css == nil || e.get(c, css[1]).status != 200 {
		t.Errorf("stylesheet not served under the base path")
	}
}

// mailBody cuts the rendered mail body out of a message page.
func mailBody(page string) string {
	i := strings.Index(page, `<div class="body`)
	if i < 0 {
		return ""
	}
	j := strings.Index(page[i:], `<nav class="pager">`)
	if j < 0 {
		return page[i:]
	}
	return page[i : i+j]
}

// TestPostWithoutTokenRefused: a browser that sends neither Sec-Fetch-Site
// nor Origin (like this test client) cannot sign a user out, or change
// anything, without the form's anti-forgery token.
func TestPostWithoutTokenRefused(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	r := e.do(c, "POST", "/logout", url.Values{"csrf": {""}})
	if r.status != http.StatusForbidden || !strings.Contains(r.body, "Form expired") {
		t.Fatalf("POST /logout without token = %d, want 403 with a clear page", r.status)
	}
	if r := e.get(c, "/f/INBOX"); r.status != http.StatusOK {
		t.Errorf("the refused logout ended the session: GET /f/INBOX = %d", r.status)
	}
	if r := e.do(c, "POST", "/logout", url.Values{}); r.status != http.StatusSeeOther {
		t.Errorf("POST /logout with the page's token = %d, want 303", r.status)
	}
}
