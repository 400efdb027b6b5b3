package handlers

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/thumbmail/thumbmail/mailproxy/message"
)

// staticFolderMail is a message with an attachment, for a folder named
// "static".
const staticFolderMail = "From: Ann <ann@example.org>\r\n" +
	"To: demo@example.org\r\n" +
	"Subject: private in static\r\n" +
	"Date: Mon, 02 Jan 2026 10:00:00 +0000\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=b\r\n" +
	"\r\n" +
	"--b\r\n" +
	"Content-Type: text/plain\r\n" +
	"\r\n" +
	"private words\r\n" +
	"--b\r\n" +
	"Content-Type: application/pdf\r\n" +
	"Content-Disposition: attachment; filename=\"a.pdf\"\r\n" +
	"\r\n" +
	"%PDF-1.4\r\n" +
	"--b--\r\n"

// TestNoStoreUnderStaticFolder: every page of a folder called "static"
// (its URLs hold "/static/") is as private as any other and is never
// cached, with or without a base path; only the
// content-hashed assets get their long cache header, and an unknown name
// under the asset prefix is not cached either.
func TestNoStoreUnderStaticFolder(t *testing.T) {
	for _, base := range []string{"", "/mail"} {
		e := newEnv(t, &envOptions{basePath: base})
		c := e.client()
		r := e.do(c, "POST", base+"/login", url.Values{"username": {"demo"}, "password": {"demo"}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("%q: login = %d", base, r.status)
		}
		var pages []string
		for _, folder := range []string{"static", "x/static/y", "Archive/static"} {
			u := base + e.putMessage(c, folder, staticFolderMail)
			f := u[:strings.LastIndexByte(u, '/')]
			pages = append(pages, f, u, u+"/part/2", f+"/search?q=private", f+"/move", f+"/expunge")
		}
		pages = append(pages, base+"/static/", base+"/static/nothing.css", base+"/static/../f/static", base+"/f/INBOX?x=/static/")
		for _, p := range pages {
			r := e.get(c, p)
			if r.status >= 500 {
				t.Errorf("%q: GET %s = %d", base, p, r.status)
			}
			if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") || strings.Contains(cc, "public") || strings.Contains(cc, "max-age") {
				t.Errorf("%q: GET %s = %d with Cache-Control %q, want no-store", base, p, r.status, cc)
			}
		}
		if !strings.Contains(e.get(c, pages[1]).body, "private words") {
			t.Errorf("%q: the message page under the static folder did not show the message", base)
		}
		l := e.get(c, base+"/f/INBOX")
		css := regexp.MustCompile(`href="(` + base + `/static/style\.[0-9a-f]+\.css)"`).FindStringSubmatch(l.body)
		if css == nil {
			t.Fatalf("%q: no stylesheet link", base)
		}
		s := e.get(c, css[1])
		if s.status != http.StatusOK || s.header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Errorf("%q: stylesheet %d with Cache-Control %q, want the long cache header", base, s.status, s.header.Get("Cache-Control"))
		}
		if h := e.do(c, "HEAD", css[1], nil); h.header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Errorf("%q: HEAD stylesheet Cache-Control %q", base, h.header.Get("Cache-Control"))
		}
	}
}

// TestDownloadNameBidi: a download's file name carries no bidirectional
// controls in either of its forms, whatever the name the mail gave.
func TestDownloadNameBidi(t *testing.T) {
	for _, name := range []string{"invoice\u202Efdp.exe", "\u2067scan\u2069.scr", "a\u200Eb\u200F\u061C.js", "x\u202A\u202B\u202C\u202D.bat", "\u202E"} {
		cd := contentDisposition("attachment", name)
		dec, err := url.PathUnescape(cd)
		if err != nil {
			t.Fatalf("contentDisposition(%q) = %q: %v", name, cd, err)
		}
		if strings.IndexFunc(dec, message.IsBidiControl) >= 0 || strings.Contains(cd, "%E2%80%A") || strings.Contains(cd, "%E2%81%A") {
			t.Errorf("contentDisposition(%q) = %q keeps a bidirectional control", name, cd)
		}
	}
	if cd := contentDisposition("attachment", "invoice\u202Efdp.exe"); cd != `attachment; filename=invoicefdp.exe` {
		t.Errorf("contentDisposition = %q", cd)
	}
	if cd := contentDisposition("attachment", "\u202E\u202C"); cd != `attachment; filename=attachment` {
		t.Errorf("contentDisposition of a name of controls only = %q", cd)
	}
	if cd := contentDisposition("attachment", "שלום\u200F.pdf"); cd != `attachment; filename=____.pdf; filename*=UTF-8''%D7%A9%D7%9C%D7%95%D7%9D.pdf` {
		t.Errorf("contentDisposition of a Hebrew name = %q", cd)
	}
}

const bidiAttachmentMail = "From: =?utf-8?q?Bank=E2=80=AE_gnipleh?= <x@example.com>\r\n" +
	"To: demo@example.org\r\n" +
	"Subject: =?utf-8?q?Payment_=E2=80=AEfdp.exe?=\r\n" +
	"Date: Mon, 02 Jan 2026 10:00:00 +0000\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=b\r\n" +
	"\r\n" +
	"--b\r\n" +
	"Content-Type: text/plain\r\n" +
	"\r\n" +
	"See attached.\r\n" +
	"--b\r\n" +
	"Content-Type: application/octet-stream\r\n" +
	"Content-Disposition: attachment; filename*=UTF-8''invoice%E2%80%AEfdp.exe\r\n" +
	"\r\n" +
	"MZ\r\n" +
	"--b--\r\n"

// TestBidiPagesAndDownload: over IMAP, the list, the message page and
// the download show subject, sender and file name without the controls.
func TestBidiPagesAndDownload(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	u := e.putMessage(c, "Bidi", bidiAttachmentMail)
	for _, p := range []string{"/f/Bidi", u} {
		r := e.get(c, p)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s = %d", p, r.status)
		}
		if strings.IndexFunc(r.body, message.IsBidiControl) >= 0 || strings.Contains(r.body, "&#8238;") || strings.Contains(r.body, "&#x202") {
			t.Errorf("GET %s shows a bidirectional control", p)
		}
		if !strings.Contains(r.body, "Payment fdp.exe") {
			t.Errorf("GET %s lacks the cleaned subject", p)
		}
	}
	r := e.get(c, u+"/part/2")
	if r.status != http.StatusOK || r.header.Get("Content-Disposition") != "attachment; filename=invoicefdp.exe" {
		t.Errorf("download = %d, Content-Disposition %q", r.status, r.header.Get("Content-Disposition"))
	}
}

const hiddenTextMail = "From: Shop <shop@example.com>\r\n" +
	"To: demo@example.org\r\n" +
	"Subject: Offer\r\n" +
	"Date: Mon, 02 Jan 2026 10:00:00 +0000\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: text/html; charset=utf-8\r\n" +
	"\r\n" +
	`<html><body><div style="display:none;font-size:1px;max-height:0;overflow:hidden;mso-hide:all">PREHEADER wire money</div>` +
	`<span style="visibility:hidden">HIDDENVIS</span><div hidden>HIDDENATTR</div><div style="opacity:0">HIDDENOPACITY</div>` +
	`<p>Our offer ends today.</p></body></html>` + "\r\n"

// TestHiddenTextNotInReplies: text the message page hides is not quoted
// in a reply or a forward, nor shown as the list's preview.
func TestHiddenTextNotInReplies(t *testing.T) {
	e := newSendEnv(t, 1<<20)
	c := e.login()
	u := e.putMessage(c, "Offers", hiddenTextMail)
	for _, p := range []string{"/f/Offers", u, u + "/reply", u + "/forward"} {
		r := e.get(c, p)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s = %d", p, r.status)
		}
		if p == u {
			continue // the page carries the hidden text, hidden
		}
		for _, w := range []string{"PREHEADER", "HIDDEN"} {
			if strings.Contains(r.body, w) {
				t.Errorf("GET %s shows hidden text %s", p, w)
			}
		}
		if !strings.Contains(r.body, "Our offer ends today.") {
			t.Errorf("GET %s lacks the visible text", p)
		}
	}
}
