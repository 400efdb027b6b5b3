package handlers

import (
	"bytes"
	"context"
	"html"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/demo"
	"github.com/thumbmail/thumbmail/mailproxy/pop3mail"
	"github.com/thumbmail/thumbmail/mailproxy/pop3test"
	"github.com/thumbmail/thumbmail/mailproxy/send"
	"github.com/thumbmail/thumbmail/web"
)

// sendEnv is the test environment with an in-process SMTP server that
// records submissions and fails the step in failStep, if any.
type sendEnv struct {
	*testEnv
	smtp     *demo.SMTPServer
	failStep atomic.Pointer[string]
}

func newSendEnv(t *testing.T, maxUpload int64) *sendEnv {
	t.Helper()
	return newSendEnvOpts(t, maxUpload, nil)
}

func newSendEnvOpts(t *testing.T, maxUpload int64, o *envOptions) *sendEnv {
	t.Helper()
	e := &sendEnv{testEnv: newEnv(t, o)}
	srv, err := demo.StartSMTP(&demo.SMTPOptions{Fail: func(step string) error {
		if f := e.failStep.Load(); f != nil && *f != "" && strings.HasPrefix(step, *f) {
			return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 0, 0}, Message: "secret upstream detail"}
		}
		if f := e.failStep.Load(); f != nil && (*f == "timeout" && step == "MAIL" || *f == "unconfirmed" && step == "DATA") {
			time.Sleep(3 * time.Second)
		}
		return nil
	}})
	if err != nil {
		t.Fatalf("StartSMTP() = %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	e.smtp = srv
	up, err := mailproxy.ParseUpstream(srv.URL(), "smtp")
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.handler.cfg
	cfg.Submit = send.NewSubmitter(&send.SubmitOptions{SMTP: up, Timeout: time.Second, Logger: slog.New(slog.DiscardHandler)})
	cfg.MailDomain = "example.org"
	cfg.MaxUpload = maxUpload
	cfg.CannedReplies = []string{"Thanks, got it", "Call me"}
	cfg.Signature = "Sent from my phone"
	e.handler = New(cfg)
	e.srv.Close()
	e.srv = httptest.NewServer(e.handler.Routes())
	t.Cleanup(e.srv.Close)
	return e
}

func (e *sendEnv) fail(step string) { e.failStep.Store(&step) }

type file struct{ name, content string }

// postMultipart posts a compose form with files, as a browser does.
func (e *sendEnv) postMultipart(c *http.Client, path string, form url.Values, files []file) result {
	e.t.Helper()
	if !form.Has("csrf") {
		form.Set("csrf", e.csrfToken(c, path))
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range form {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	for _, f := range files {
		w, _ := mw.CreateFormFile("files", f.name)
		io.WriteString(w, f.content)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", e.srv.URL+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, body: string(b), header: resp.Header}
}

var tokenRE = regexp.MustCompile(`name="token" value="([^"]+)"`)

func formToken(t *testing.T, body string) string {
	t.Helper()
	m := tokenRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("page has no compose token: %s", body)
	}
	return html.UnescapeString(m[1])
}

// summaries lists a folder through a fresh mailproxy session.
func (e *sendEnv) summaries(folder string) []mailproxy.Summary {
	e.t.Helper()
	s := e.pool.Session("check", mailproxy.Credentials{Username: "demo", Password: "demo"})
	p, err := s.List(context.Background(), folder, mailproxy.ListQuery{Page: 1, PageSize: 100})
	if err != nil {
		e.t.Fatalf("List(%s) = %v", folder, err)
	}
	return p.Messages
}

func parseSent(t *testing.T, raw []byte) (*mail.Reader, string) {
	t.Helper()
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("CreateReader() = %v", err)
	}
	p, err := mr.NextPart()
	if err != nil {
		t.Fatalf("NextPart() = %v", err)
	}
	b, _ := io.ReadAll(p.Body)
	return mr, string(b)
}

const origMail = `From: "Ann Example" <ann@example.net>
Reply-To: Ann's list <list@example.net>
To: demo@example.org, "Bob" <bob@example.net>
Cc: DEMO@example.org, carol@example.net, bob@example.net
Subject: Re: Fwd: RE: Lunch =?UTF-8?Q?=0D=0ABcc:_evil@example.com?=
Message-ID: <orig-1@example.net>
References: <root@example.net> <mid@example.net>
Date: Mon, 02 Jan 2026 10:00:00 +0000
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Shall we meet at noon?
`

func TestQuickReply(t *testing.T) {
	e := newSendEnv(t, 1<<20)
	c := e.login()
	msgURL := e.putMessage(c, "INBOX", origMail)
	page := e.get(c, msgURL)
	for _, want := range []string{`action="` + msgURL + `/quickreply"`, "Thanks, got it", `href="` + msgURL + `/reply?all=1"`, `href="/compose"`} {
		if !strings.Contains(page.body, html.EscapeString(want)) && !strings.Contains(page.body, want) {
			t.Errorf("message page lacks %q", want)
		}
	}
	tok := formToken(t, page.body)
	form := url.Values{"token": {tok}, "text": {"See you there\n.\nbye"}}
	r := e.do(c, "POST", msgURL+"/quickreply", form)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != msgURL+"?n=sent" {
		t.Fatalf("POST quickreply = %d %q; %s", r.status, r.header.Get("Location"), r.body)
	}
	// A second tap of the same form sends nothing more.
	form.Del("csrf")
	if r := e.do(c, "POST", msgURL+"/quickreply", form); r.status != http.StatusSeeOther {
		t.Errorf("second POST = %d", r.status)
	}
	subs := e.smtp.Submissions()
	if len(subs) != 1 {
		t.Fatalf("SMTP got %d messages, want 1", len(subs))
	}
	if got := strings.Join(subs[0].To, ","); got != "list@example.net" {
		t.Errorf("envelope To = %q, want the Reply-To address", got)
	}
	mr, body := parseSent(t, subs[0].Data)
	subj, _ := mr.Header.Subject()
	if subj != "Re: Lunch Bcc: evil@example.com" {
		t.Errorf("Subject = %q", subj)
	}
	if mr.Header.Get("Bcc") != "" {
		t.Errorf("a Bcc header was injected")
	}
	if irt, _ := mr.Header.MsgIDList("In-Reply-To"); len(irt) != 1 || irt[0] != "orig-1@example.net" {
		t.Errorf("In-Reply-To = %v", irt)
	}
	if refs, _ := mr.Header.MsgIDList("References"); strings.Join(refs, " ") != "root@example.net mid@example.net orig-1@example.net" {
		t.Errorf("References = %v", refs)
	}
	if !strings.Contains(body, "See you there\r\n.\r\nbye\r\n") || !strings.Contains(body, "-- \r\nSent from my phone") || !strings.Contains(body, "> Shall we meet at noon?") {
		t.Errorf("body = %q", body)
	}
	// A copy in Sent, the original answered.
	sent := e.summaries("Sent")
	if len(sent) == 0 || sent[0].Subject != subj {
		t.Errorf("newest in Sent = %+v, want the reply", sent[:min(1, len(sent))])
	}
	for _, s := range e.summaries("INBOX") {
		if strings.Contains(s.Subject, "Lunch") && !s.Answered {
			t.Errorf("original not marked answered")
		}
	}
}

func TestCannedReplyAndReplyAll(t *testing.T) {
	e := newSendEnv(t, 1<<20)
	c := e.login()
	msgURL := e.putMessage(c, "INBOX", origMail)
	tok := formToken(t, e.get(c, msgURL).body)
	r := e.do(c, "POST", msgURL+"/quickreply", url.Values{"token": {tok}, "canned": {"Call me"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("POST canned = %d; %s", r.status, r.body)
	}
	if subs := e.smtp.Submissions(); len(subs) != 1 || !strings.HasPrefix(string(subs[0].Data[bytes.Index(subs[0].Data, []byte("\r\n\r\n"))+4:]), "Call me\r\n") {
		t.Errorf("canned reply not sent as the text: %d", len(subs))
	}

	page := e.get(c, msgURL+"/reply?all=1")
	if page.status != http.StatusOK {
		t.Fatalf("GET reply-all = %d", page.status)
	}
	to := regexp.MustCompile(`id="to" name="to" value="([^"]*)"`).FindStringSubmatch(page.body)
	cc := regexp.MustCompile(`id="cc" name="cc" value="([^"]*)"`).FindStringSubmatch(page.body)
	if to == nil || cc == nil {
		t.Fatalf("reply-all form lacks To/Cc: %s", page.body)
	}
	if got := html.UnescapeString(to[1]); got != `Ann's list <list@example.net>` {
		t.Errorf("To = %q", got)
	}
	if got := html.UnescapeString(cc[1]); got != `Bob <bob@example.net>, carol@example.net` {
		t.Errorf("Cc = %q (want no demo address, no duplicate)", got)
	}
	if !strings.Contains(page.body, `value="Re: Lunch Bcc: evil@example.com"`) {
		t.Errorf("subject not cleaned or prefixes piled up")
	}
}

func TestComposeFailureKeepsEverything(t *testing.T) {
	for _, step := range []string{"greeting", "EHLO", "AUTH", "MAIL", "RCPT", "DATA", "timeout", "unconfirmed"} {
		t.Run(step, func(t *testing.T) {
			e := newSendEnv(t, 1<<20)
			c := e.login()
			tok := formToken(t, e.get(c, "/compose").body)
			e.fail(step)
			form := url.Values{"token": {tok}, "action": {"send"}, "to": {"ann@example.net"}, "subject": {"Über plans"}, "body": {"my long careful text"}}
			r := e.postMultipart(c, "/compose", form, []file{{"notes.txt", "attached words"}})
			if r.status != http.StatusBadGateway {
				t.Fatalf("POST /compose with %s failing = %d, want 502", step, r.status)
			}
			wants := []string{"my long careful text", "Über plans", "notes.txt", "ann@example.net", "Nothing was sent"}
			if step == "unconfirmed" {
				wants = wants[:4]
			}
			for _, want := range wants {
				if !strings.Contains(html.UnescapeString(r.body), want) {
					t.Errorf("page after failure lacks %q", want)
				}
			}
			if strings.Contains(r.body, "secret upstream detail") {
				t.Errorf("upstream text on the page")
			}
			if step == "unconfirmed" {
				// The server took it after all: the page says it may have
				// been sent instead of inviting a blind retry.
				if !strings.Contains(r.body, "may have been sent") {
					t.Errorf("unconfirmed send does not say it may have been sent: %s", r.body)
				}
				return
			}
			// Fixed: the same form sends, with the kept attachment.
			e.fail("")
			form.Del("csrf")
			if r := e.postMultipart(c, "/compose", form, nil); r.status != http.StatusSeeOther {
				t.Fatalf("retry = %d; %s", r.status, r.body)
			}
			subs := e.smtp.Submissions()
			if len(subs) != 1 || !bytes.Contains(subs[0].Data, []byte("notes.txt")) {
				t.Fatalf("retry sent %d messages, want 1 with notes.txt", len(subs))
			}
		})
	}
}

func TestComposeRefusesBadInput(t *testing.T) {
	tests := map[string]url.Values{
		"CRLF in subject":  {"to": {"ann@example.net"}, "subject": {"hi\r\nBcc: evil@example.com"}},
		"bad address":      {"to": {"ann at example"}},
		"CR in address":    {"to": {"ann@example.net\rBcc: x@example.com"}},
		"no recipient":     {"subject": {"x"}},
		"bad In-Reply-To":  {"to": {"ann@example.net"}, "in_reply_to": {"a>\r\nBcc: x"}},
		"control in name":  {"to": {"ann@example.net"}, "from_name": {"Demo\x00User"}},
		"control in name2": {"to": {"\"A\x07\" <ann@example.net>"}},
	}
	for name, form := range tests {
		t.Run(name, func(t *testing.T) {
			e := newSendEnv(t, 1<<20)
			c := e.login()
			form.Set("token", formToken(t, e.get(c, "/compose").body))
			form.Set("action", "send")
			form.Set("body", "kept text")
			r := e.do(c, "POST", "/compose", form)
			if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "kept text") {
				t.Errorf("POST = %d, want 422 with the text kept; %s", r.status, r.body)
			}
			if n := len(e.smtp.Submissions()); n != 0 {
				t.Errorf("sent %d messages", n)
			}
		})
	}
}

func TestUploadLimit(t *testing.T) {
	e := newSendEnv(t, 4<<10)
	c := e.login()
	tok := formToken(t, e.get(c, "/compose").body)
	form := url.Values{"token": {tok}, "action": {"attach"}, "to": {"ann@example.net"}, "body": {"text"}}
	// Over the form's limit but under the request limit: the form comes back.
	r := e.postMultipart(c, "/compose", form, []file{{"a.bin", strings.Repeat("x", 3<<10)}, {"b.bin", strings.Repeat("y", 3<<10)}})
	if r.status != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, "too big") || !strings.Contains(r.body, "a.bin") {
		t.Errorf("two files over the limit = %d; %s", r.status, r.body)
	}
	// Over the request limit: refused before parsing, with a clear page.
	form.Del("csrf")
	r = e.postMultipart(c, "/compose", form, []file{{"huge.bin", strings.Repeat("z", 2<<20)}})
	if r.status != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, "too big") {
		t.Errorf("huge upload = %d; %s", r.status, r.body)
	}
	// Remove before sending.
	form.Del("csrf")
	form.Set("remove", "0")
	r = e.postMultipart(c, "/compose", form, nil)
	if strings.Contains(r.body, "a.bin") {
		t.Errorf("a.bin still attached after Remove")
	}
}

func TestForwardWithAttachments(t *testing.T) {
	e := newSendEnv(t, 1<<20)
	c := e.login()
	msgURL := e.putMessage(c, "INBOX", "From: ann@example.net\r\nTo: demo@example.org\r\nSubject: Fwd: photos\r\nMessage-ID: <p@example.net>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; filename=\"data.csv\"\r\n\r\na,b\r\n1,2\r\n--b--\r\n")
	page := e.get(c, msgURL+"/forward")
	if !strings.Contains(page.body, "data.csv") || !strings.Contains(page.body, `value="Fwd: photos"`) || !strings.Contains(page.body, "see attached") {
		t.Fatalf("forward page: %s", page.body)
	}
	r := e.postMultipart(c, "/compose", url.Values{"token": {formToken(t, page.body)}, "action": {"send"}, "to": {"bob@example.net"}, "subject": {"Fwd: photos"}, "body": {"fyi"}}, nil)
	if r.status != http.StatusSeeOther {
		t.Fatalf("send forward = %d; %s", r.status, r.body)
	}
	subs := e.smtp.Submissions()
	if len(subs) != 1 || !bytes.Contains(subs[0].Data, []byte(`filename=data.csv`)) && !bytes.Contains(subs[0].Data, []byte(`filename="data.csv"`)) {
		t.Fatalf("forward lacks the attachment: %s", subs[0].Data)
	}

	// As an attachment: the whole original, as message/rfc822, not base64.
	page = e.get(c, msgURL+"/forward?as=attachment")
	if !strings.Contains(page.body, "Fwd: photos.eml") || strings.Contains(page.body, "see attached") {
		t.Fatalf("forward-as-attachment page: %s", page.body)
	}
	r = e.postMultipart(c, "/compose", url.Values{"token": {formToken(t, page.body)}, "action": {"send"}, "to": {"bob@example.net"}, "subject": {"Fwd: photos"}, "body": {"fyi"}}, nil)
	if r.status != http.StatusSeeOther {
		t.Fatalf("send forward as attachment = %d; %s", r.status, r.body)
	}
	subs = e.smtp.Submissions()
	if len(subs) != 2 {
		t.Fatalf("%d submissions", len(subs))
	}
	mr, _ := mail.CreateReader(bytes.NewReader(subs[1].Data))
	var found bool
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		if ah, ok := p.Header.(*mail.AttachmentHeader); ok {
			ct, _, _ := ah.ContentType()
			body, _ := io.ReadAll(p.Body)
			found = ct == "message/rfc822" && ah.Get("Content-Transfer-Encoding") == "7bit" && bytes.Contains(body, []byte("Message-ID: <p@example.net>")) && bytes.Contains(body, []byte("filename=\"data.csv\""))
		}
	}
	if !found {
		t.Errorf("no message/rfc822 attachment with the original:\n%s", subs[1].Data)
	}
}

func TestDraftSaveResumeSend(t *testing.T) {
	e := newSendEnv(t, 1<<20)
	c := e.login()
	tok := formToken(t, e.get(c, "/compose").body)
	drafts := e.demoCount("Drafts")
	draftForm := url.Values{"token": {tok}, "action": {"draft"}, "to": {"ann@example.net"}, "bcc": {"boss@example.net"}, "subject": {"half done"}, "body": {"first thoughts"}}
	r := e.postMultipart(c, "/compose", draftForm, []file{{"plan.txt", "the plan"}})
	loc := r.header.Get("Location")
	if r.status != http.StatusSeeOther || !strings.HasSuffix(loc, "/edit?n=draftsaved") {
		t.Fatalf("save draft = %d %q; %s", r.status, loc, r.body)
	}
	// A second tap saves nothing more and goes to the same draft.
	draftForm.Del("csrf")
	if r := e.postMultipart(c, "/compose", draftForm, nil); r.header.Get("Location") != loc {
		t.Errorf("second Save draft = %d %q, want %q", r.status, r.header.Get("Location"), loc)
	}
	if n := e.demoCount("Drafts"); n != drafts+1 {
		t.Fatalf("Drafts has %d messages, want %d", n, drafts+1)
	}
	page := e.get(c, loc)
	for _, want := range []string{"Draft saved.", "first thoughts", "plan.txt", `value="half done"`, `name="draft_id" value="`, `name="bcc" value="boss@example.net"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("resumed draft lacks %q: %s", want, page.body)
		}
	}
	form := url.Values{"action": {"send"}}
	for _, k := range []string{"token", "to", "subject", "draft_folder", "draft_id", "back"} {
		m := regexp.MustCompile(`name="` + k + `" value="([^"]*)"`).FindStringSubmatch(page.body)
		if m != nil {
			form.Set(k, html.UnescapeString(m[1]))
		}
	}
	form.Set("body", "final text")
	if r := e.postMultipart(c, "/compose", form, nil); r.status != http.StatusSeeOther {
		t.Fatalf("send draft = %d; %s", r.status, r.body)
	}
	if n := e.demoCount("Drafts"); n != drafts {
		t.Errorf("Drafts has %d messages after sending, want %d (draft deleted)", n, drafts)
	}
	if subs := e.smtp.Submissions(); len(subs) != 1 || !bytes.Contains(subs[0].Data, []byte("plan.txt")) {
		t.Errorf("sent draft lacks its attachment")
	}
}

// TestDraftIDOutsideDrafts: a draft id that is not in the Drafts folder
// is never deleted after sending.
func TestDraftIDOutsideDrafts(t *testing.T) {
	e := newSendEnv(t, 1<<20)
	c := e.login()
	msgURL := e.putMessage(c, "INBOX", origMail)
	before := e.demoCount("INBOX")
	id := msgURL[strings.LastIndex(msgURL, "/")+1:]
	tok := formToken(t, e.get(c, "/compose").body)
	r := e.do(c, "POST", "/compose", url.Values{"token": {tok}, "action": {"send"}, "to": {"ann@example.net"}, "body": {"x"}, "draft_folder": {"INBOX"}, "draft_id": {id}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("send = %d", r.status)
	}
	if n := e.demoCount("INBOX"); n != before {
		t.Errorf("INBOX has %d messages after sending, want %d", n, before)
	}
}

func TestDoubleTapSendsOnce(t *testing.T) {
	e := newSendEnv(t, 1<<20)
	c := e.login()
	tok := formToken(t, e.get(c, "/compose").body)
	csrf := e.csrfToken(c, "/compose")
	var wg sync.WaitGroup
	var codes [3]int
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = e.do(c, "POST", "/compose", url.Values{"csrf": {csrf}, "token": {tok}, "action": {"send"}, "to": {"ann@example.net"}, "body": {"once"}}).status
		}()
	}
	wg.Wait()
	for i, code := range codes {
		if code != http.StatusSeeOther {
			t.Errorf("tap %d = %d", i, code)
		}
	}
	if n := len(e.smtp.Submissions()); n != 1 {
		t.Errorf("three taps sent %d messages, want 1", n)
	}
}

// TestPOP3QuickReply sends from a POP3 session: the reply goes out with
// its threading headers; there is no Sent folder to copy to and no draft
// button.
func TestPOP3QuickReply(t *testing.T) {
	msgs := demo.Messages(time.Now())["INBOX"]
	srv, err := pop3test.Start(&pop3test.Options{Users: map[string]string{"demo": "demo"}, Messages: map[string][][]byte{"demo": msgs[:3]}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	up, _ := mailproxy.ParseUpstream(srv.URL(), "pop3")
	backend := pop3mail.NewBackend(&pop3mail.Options{POP3: up, Logger: slog.New(slog.DiscardHandler), DialTimeout: 2 * time.Second})
	defer backend.Close()
	relay, err := demo.StartSMTP(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	smtpUp, _ := mailproxy.ParseUpstream(relay.URL(), "smtp")
	sm, _ := web.NewSessionManager(web.SessionOptions{Secrets: []string{strings.Repeat("p", 40)}, Store: web.NewMemoryStore()})
	h := New(Config{Sessions: sm, Mail: backend, Logger: slog.New(slog.DiscardHandler), MailDomain: "example.org",
		Submit: send.NewSubmitter(&send.SubmitOptions{SMTP: smtpUp, Logger: slog.New(slog.DiscardHandler)})})
	hs := httptest.NewServer(h.Routes())
	defer hs.Close()
	e := &testEnv{t: t, srv: hs}
	c := e.login()
	link := messageLinks(e.get(c, "/f/INBOX").body)[0]
	page := e.get(c, link)
	if strings.Contains(e.get(c, link+"/reply").body, "Save draft") {
		t.Errorf("POP3 compose offers Save draft")
	}
	r := e.do(c, "POST", link+"/quickreply", url.Values{"token": {formToken(t, page.body)}, "canned": {"Thanks, got it"}})
	if r.status != http.StatusSeeOther || !strings.HasSuffix(r.header.Get("Location"), "?n=sent") {
		t.Fatalf("POP3 quick reply = %d %q; %s", r.status, r.header.Get("Location"), r.body)
	}
	subs := relay.Submissions()
	if len(subs) != 1 || !bytes.Contains(subs[0].Data, []byte("In-Reply-To: <")) || subs[0].From != "demo@example.org" {
		t.Fatalf("POP3 reply submissions = %d", len(subs))
	}
}

// TestBccKeptOnlyInSent: Bcc recipients get the mail, nobody sees them in
// the message, and the sender's copy in Sent keeps them.
func TestBccKeptOnlyInSent(t *testing.T) {
	e := newSendEnv(t, 1<<20)
	c := e.login()
	tok := formToken(t, e.get(c, "/compose").body)
	r := e.postMultipart(c, "/compose", url.Values{"token": {tok}, "action": {"send"}, "to": {"ann@example.net"}, "bcc": {"hidden@example.net"}, "subject": {"bcc test"}, "body": {"x"}, "from_name": {"Dëmo Üser"}, "signature": {"Cheers, D"}}, nil)
	if r.status != http.StatusSeeOther {
		t.Fatalf("send = %d; %s", r.status, r.body)
	}
	subs := e.smtp.Submissions()
	if len(subs) != 1 || strings.Join(subs[0].To, ",") != "ann@example.net,hidden@example.net" || bytes.Contains(subs[0].Data, []byte("hidden@")) {
		t.Fatalf("submission = %+v", subs)
	}
	sent, _ := fetchAll(t, e.demo.Addr(), "demo", "demo", "Sent")
	last := sent[len(sent)-1]
	if !regexp.MustCompile(`(?m)^Bcc: <?hidden@example.net`).Match(last) {
		t.Errorf("Sent copy lacks Bcc:\n%s", last)
	}
	// The sender sees the Bcc line on their own copy.
	if links := messageLinks(e.get(c, "/f/Sent").body); len(links) == 0 {
		t.Errorf("Sent lists nothing")
	} else if page := e.get(c, links[0]).body; !regexp.MustCompile(`<dt>Bcc</dt><dd>[^<]*(<[^>]*>[^<]*)*hidden@example.net`).MatchString(page) {
		t.Errorf("the Sent copy's page does not show its Bcc: %s", page)
	}
	mr, _ := mail.CreateReader(bytes.NewReader(last))
	if from, _ := mr.Header.AddressList("From"); len(from) != 1 || from[0].Name != "Dëmo Üser" {
		t.Errorf("From = %v", from)
	}
	id1, _ := mr.Header.MessageID()
	mr2, _ := mail.CreateReader(bytes.NewReader(subs[0].Data))
	if id2, _ := mr2.Header.MessageID(); id1 == "" || id1 != id2 {
		t.Errorf("Message-ID in Sent %q, sent %q", id1, id2)
	}
	// The display name and signature are remembered for the next message.
	page := e.get(c, "/compose").body
	if !strings.Contains(page, `value="Dëmo Üser"`) {
		t.Errorf("display name not remembered")
	}
	if !strings.Contains(page, "\n-- \nCheers, D\n</textarea>") || strings.Contains(page, "Sent from my phone") {
		t.Errorf("own signature not used for the next message: %s", page)
	}
}

// TestSendAfterSessionEnded: a compose or quick reply posted after the
// session ended shows the typed text back instead of losing it.
func TestSendAfterSessionEnded(t *testing.T) {
	e := newSendEnv(t, 1<<20)
	c := e.login()
	msgURL := e.putMessage(c, "INBOX", origMail)
	tok := formToken(t, e.get(c, "/compose").body)
	csrf := e.csrfToken(c, "/compose")
	e.advance(31 * time.Minute) // past the idle timeout
	r := e.do(c, "POST", "/compose", url.Values{"csrf": {csrf}, "token": {tok}, "action": {"send"}, "to": {"ann@example.net"}, "subject": {"kept subject"}, "body": {"my precious words"}})
	if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "my precious words") || !strings.Contains(r.body, "kept subject") || !strings.Contains(r.body, "Nothing was sent") {
		t.Errorf("compose after the session ended = %d; %s", r.status, r.body)
	}
	r = e.do(c, "POST", msgURL+"/quickreply", url.Values{"csrf": {csrf}, "token": {tok}, "text": {"quick words"}})
	if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "quick words") {
		t.Errorf("quick reply after the session ended = %d; %s", r.status, r.body)
	}
	if n := len(e.smtp.Submissions()); n != 0 {
		t.Errorf("sent %d messages without a session", n)
	}
}

// TestSendUnderBasePath: links, form actions and redirects keep the base
// path.
func TestSendUnderBasePath(t *testing.T) {
	e := newSendEnvOpts(t, 1<<20, &envOptions{basePath: "/mail"})
	c := e.client()
	if r := e.do(c, "POST", "/mail/login", url.Values{"username": {"demo"}, "password": {"demo"}}); r.status != http.StatusSeeOther {
		t.Fatalf("login = %d", r.status)
	}
	msgURL := "/mail" + e.putMessage(c, "INBOX", origMail)
	page := e.get(c, msgURL)
	for _, want := range []string{`action="` + msgURL + `/quickreply"`, `href="` + msgURL + `/reply"`, `href="/mail/compose"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("message page lacks %q", want)
		}
	}
	r := e.do(c, "POST", msgURL+"/quickreply", url.Values{"token": {formToken(t, page.body)}, "text": {"ok"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != msgURL+"?n=sent" {
		t.Errorf("quick reply = %d %q", r.status, r.header.Get("Location"))
	}
	cp := e.get(c, "/mail/compose").body
	if !strings.Contains(cp, `action="/mail/compose"`) {
		t.Errorf("compose form does not post under the base path")
	}
	r = e.do(c, "POST", "/mail/compose", url.Values{"token": {formToken(t, cp)}, "action": {"send"}, "to": {"ann@example.net"}, "body": {"x"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/mail/f/INBOX?n=sent" {
		t.Errorf("compose = %d %q", r.status, r.header.Get("Location"))
	}
}

// TestDoubleTapDuringFailedSend: taps that waited for a send whose
// confirmation never came get the same answer and send nothing more.
func TestDoubleTapDuringFailedSend(t *testing.T) {
	e := newSendEnv(t, 1<<20)
	c := e.login()
	tok := formToken(t, e.get(c, "/compose").body)
	csrf := e.csrfToken(c, "/compose")
	e.fail("unconfirmed")
	var wg sync.WaitGroup
	var bodies [3]string
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bodies[i] = e.do(c, "POST", "/compose", url.Values{"csrf": {csrf}, "token": {tok}, "action": {"send"}, "to": {"ann@example.net"}, "body": {"once"}}).body
		}()
	}
	wg.Wait()
	for i, b := range bodies {
		if !strings.Contains(b, "may have been sent") {
			t.Errorf("tap %d: %s", i, b)
		}
	}
	// The server finishes taking the first one after its delay.
	for i := 0; i < 100 && len(e.smtp.Submissions()) == 0; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if n := len(e.smtp.Submissions()); n != 1 {
		t.Errorf("three taps reached the server %d times, want 1", n)
	}
}

// TestLostAttachmentsNotSent: when the attachments a compose page listed
// are gone from this instance (a restart, or a round-robin load balancer
// sending the Send to another instance), nothing is sent or saved, the
// text is kept and the page says to attach again.
func TestLostAttachmentsNotSent(t *testing.T) {
	e := newSendEnv(t, 1<<20)
	c := e.login()
	tok := formToken(t, e.get(c, "/compose").body)
	form := url.Values{"token": {tok}, "action": {"attach"}, "to": {"ann@example.net"}, "subject": {"Report"}, "body": {"see the file"}}
	r := e.postMultipart(c, "/compose", form, []file{{"report.pdf", "%PDF-1.4 data"}})
	if !strings.Contains(r.body, `name="attached" value="report.pdf"`) {
		t.Fatalf("the attached file is not listed in the form: %d %s", r.status, r.body)
	}
	e.handler.compose = newComposeStore(4<<20, time.Hour, time.Now) // as after a restart
	for _, action := range []string{"send", "draft"} {
		form := url.Values{"token": {tok}, "action": {action}, "to": {"ann@example.net"}, "subject": {"Report"}, "body": {"see the file"}, "attached": {"report.pdf"}}
		r = e.postMultipart(c, "/compose", form, nil)
		if r.status != http.StatusConflict || !strings.Contains(r.body, "attach them again") || !strings.Contains(r.body, "see the file") {
			t.Errorf("%s without the attachment = %d, want 409 with the text kept; %s", action, r.status, r.body)
		}
	}
	if n := len(e.smtp.Submissions()); n != 0 {
		t.Errorf("%d messages sent without their attachment", n)
	}
	// Attaching again and sending works.
	form = url.Values{"token": {tok}, "action": {"send"}, "to": {"ann@example.net"}, "subject": {"Report"}, "body": {"see the file"}, "attached": {"report.pdf"}}
	r = e.postMultipart(c, "/compose", form, []file{{"report.pdf", "%PDF-1.4 data"}})
	if r.status != http.StatusSeeOther || len(e.smtp.Submissions()) != 1 {
		t.Errorf("send after attaching again = %d, %d sent", r.status, len(e.smtp.Submissions()))
	}
}
