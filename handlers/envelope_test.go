package handlers

import (
	"bufio"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/send"
)

// Issue 12, item 3: envelope injection through a quoted local part.

// The Reply-To of the report: one mailbox whose quoted local part holds a
// comma, a second address, "> NOTIFY=...". Before the fix one tap of a
// canned reply became RCPT TO:<x@evil.example> and RCPT
// TO:<bob@corp.example> NOTIFY=SUCCESS,FAILURE X@evil.example>.
const (
	injReplyTo = `"x@evil.example, \"bob@corp.example> NOTIFY=SUCCESS,FAILURE X\""@evil.example`
	injTyped   = `"bob@corp.example> ORCPT=rfc822;x"@evil.example`
)

func injectionMail(domain string) string {
	return "From: Bob <bob@corp.example>\r\nReply-To: " + injReplyTo + "\r\nTo: demo@" + domain +
		"\r\nSubject: Injected lunch\r\nMessage-ID: <inj-1@corp.example>\r\nDate: Mon, 02 Jan 2026 10:00:00 +0000\r\n\r\nLunch?\r\n"
}

// smtpRecorder is an SMTP server that accepts everything and keeps every
// command line as sent (DATA bodies aside): a parameter or a recipient
// smuggled into an address shows there, whatever a real server would
// have made of it.
type smtpRecorder struct {
	ln    net.Listener
	mu    sync.Mutex
	lines []string
	msgs  int
}

func startRecorder(t *testing.T) *smtpRecorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpRecorder{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpRecorder) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	io.WriteString(c, "220 rec ESMTP\r\n")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		s.mu.Lock()
		s.lines = append(s.lines, line)
		s.mu.Unlock()
		switch strings.ToUpper(strings.SplitN(line, " ", 2)[0]) {
		case "EHLO":
			io.WriteString(c, "250-rec\r\n250 8BITMIME\r\n")
		case "DATA":
			io.WriteString(c, "354 go on\r\n")
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
			}
			s.mu.Lock()
			s.msgs++
			s.mu.Unlock()
			io.WriteString(c, "250 queued\r\n")
		case "QUIT":
			io.WriteString(c, "221 bye\r\n")
			return
		default:
			io.WriteString(c, "250 ok\r\n")
		}
	}
}

// envelope is every MAIL and RCPT line received so far.
func (s *smtpRecorder) envelope() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return envelopeOf(strings.Join(s.lines, "\r\n"))
}

func (s *smtpRecorder) messages() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.msgs
}

// envelopeOf picks the MAIL and RCPT lines out of a client's side of an
// SMTP session.
func envelopeOf(session string) []string {
	var out []string
	for _, l := range strings.Split(session, "\r\n") {
		if u := strings.ToUpper(l); strings.HasPrefix(u, "MAIL ") || strings.HasPrefix(u, "RCPT ") {
			out = append(out, l)
		}
	}
	return out
}

var (
	mailLineRE = regexp.MustCompile(`^MAIL FROM:<([^<>]*)>( BODY=8BITMIME)?( SMTPUTF8)?$`)
	rcptLineRE = regexp.MustCompile(`^RCPT TO:<([^<>]*)>$`)
)

// checkEnvelopeLines fails the test for any MAIL or RCPT line that
// carries a parameter thumbmail did not mean (MAIL may have go-smtp's
// BODY=8BITMIME and SMTPUTF8; RCPT none), or an address with a blank
// outside quotes, or one of the addresses of the attacks.
func checkEnvelopeLines(t *testing.T, lines []string) {
	t.Helper()
	for _, l := range lines {
		m := rcptLineRE.FindStringSubmatch(l)
		if m == nil {
			m = mailLineRE.FindStringSubmatch(l)
		}
		if m == nil {
			t.Errorf("envelope line %q carries a parameter or a broken address", l)
			continue
		}
		if strings.ContainsAny(unquoted(m[1]), " \t") {
			t.Errorf("envelope line %q: a blank outside quotes", l)
		}
		if strings.Contains(l, "evil.example") {
			t.Errorf("envelope line %q: an address of the attack went out", l)
		}
	}
}

// unquoted is s without its quoted strings.
func unquoted(s string) string {
	var b strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case !quoted:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// newRecordEnv is the send environment with the recording server as the
// submission server.
func newRecordEnv(t *testing.T) (*sendEnv, *smtpRecorder) {
	t.Helper()
	e := newSendEnv(t, 1<<20)
	rec := startRecorder(t)
	up, err := mailproxy.ParseUpstream("smtp+insecure://"+rec.ln.Addr().String(), "smtp")
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.handler.cfg
	cfg.Submit = send.NewSubmitter(&send.SubmitOptions{SMTP: up, Timeout: 2 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	e.handler = New(cfg)
	e.srv.Close()
	e.srv = httptest.NewServer(e.handler.Routes())
	t.Cleanup(e.srv.Close)
	return e, rec
}

// text is a page's text with its tags dropped and entities decoded, to
// look for what it says.
func text(body string) string {
	return html.UnescapeString(regexp.MustCompile(`\s+`).ReplaceAllString(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(body, " "), " "))
}

// TestQuickReplyEnvelopeInjection: the message page shows the Reply-To
// and that the quick reply cannot go there; one tap of a canned reply
// sends nothing, and the compose page names the address and keeps the
// reply.
func TestQuickReplyEnvelopeInjection(t *testing.T) {
	e, rec := newRecordEnv(t)
	c := e.login()
	msgURL := e.putMessage(c, "INBOX", injectionMail("example.org"))
	page := e.get(c, msgURL)
	pt := text(page.body)
	if !strings.Contains(pt, "Reply-To "+injReplyTo) {
		t.Errorf("message page does not show the Reply-To %s: %s", injReplyTo, pt)
	}
	if !strings.Contains(pt, "To: "+injReplyTo+" (cannot be used: it contains < or >)") {
		t.Errorf("quick reply box does not say where the reply goes and that it cannot: %s", pt)
	}
	r := e.do(c, "POST", msgURL+"/quickreply", url.Values{"token": {formToken(t, page.body)}, "canned": {"Call me"}})
	if r.status != http.StatusUnprocessableEntity {
		t.Errorf("POST canned reply = %d, want 422", r.status)
	}
	rt := text(r.body)
	if want := "To: " + injReplyTo + " cannot be used: it contains < or >. Nothing was sent."; !strings.Contains(rt, want) {
		t.Errorf("compose page lacks %q: %s", want, rt)
	}
	if !strings.Contains(r.body, "Call me") {
		t.Errorf("compose page lost the reply text")
	}
	checkEnvelopeLines(t, rec.envelope())
	if got := rec.envelope(); len(got) != 0 || rec.messages() != 0 {
		t.Errorf("sent %q (%d messages), want nothing", got, rec.messages())
	}
}

// TestComposeEnvelopeInjection: a To typed with a quoted local part that
// holds "> ORCPT=..." is refused by name; the form keeps everything.
func TestComposeEnvelopeInjection(t *testing.T) {
	e, rec := newRecordEnv(t)
	c := e.login()
	tok := formToken(t, e.get(c, "/compose").body)
	to := "Ann <ann@example.net>, " + injTyped
	r := e.postMultipart(c, "/compose", url.Values{"token": {tok}, "action": {"send"}, "to": {to}, "subject": {"Plans"}, "body": {"Noon?"}}, nil)
	if r.status != http.StatusUnprocessableEntity {
		t.Errorf("POST /compose = %d, want 422", r.status)
	}
	rt := text(r.body)
	if want := `To: "bob@corp.example> ORCPT=rfc822;x"@evil.example cannot be used: it contains < or >. Nothing was sent.`; !strings.Contains(rt, want) {
		t.Errorf("compose page lacks %q: %s", want, rt)
	}
	if !strings.Contains(html.UnescapeString(r.body), `value="`+to+`"`) || !strings.Contains(r.body, `value="Plans"`) || !strings.Contains(r.body, "Noon?") {
		t.Errorf("compose page lost what was typed")
	}
	checkEnvelopeLines(t, rec.envelope())
	if got := rec.envelope(); len(got) != 0 {
		t.Errorf("sent %q, want nothing", got)
	}
}

// TestQuickReplyShowsTo: the box says who the reply goes to, exactly as
// the server will be given the addresses, and the reply goes there; the
// Reply-To is shown when it is not From.
func TestQuickReplyShowsTo(t *testing.T) {
	e, rec := newRecordEnv(t)
	c := e.login()
	tests := []struct {
		name, headers string
		replyTo       string // shown on the page, "" for none
		to            string // the box's To line
		rcpt          string // the RCPT line sent
	}{
		{"from only", "From: Alice <alice@corp.example>\r\n", "", "To: Alice <alice@corp.example>", "RCPT TO:<alice@corp.example>"},
		{"reply-to is from", "From: Alice <alice@corp.example>\r\nReply-To: A. <ALICE@corp.example>\r\n", "", "To: A. <ALICE@corp.example>", "RCPT TO:<ALICE@corp.example>"},
		{"reply-to", "From: Alice <alice@corp.example>\r\nReply-To: Team <team@corp.example>\r\n", "Reply-To Team <team@corp.example>", "To: Team <team@corp.example>", "RCPT TO:<team@corp.example>"},
		{"quoted local part", "From: Alice <alice@corp.example>\r\nReply-To: John <\"john smith\"@corp.example>\r\n",
			`Reply-To John <"john smith"@corp.example>`, `To: John <"john smith"@corp.example>`, `RCPT TO:<"john smith"@corp.example>`},
		{"IDN", "From: Jörg <joerg@bücher.example>\r\n", "", "To: Jörg <joerg@xn--bcher-kva.example>", "RCPT TO:<joerg@xn--bcher-kva.example>"},
	}
	for i, tc := range tests {
		raw := tc.headers + "To: demo@example.org\r\nSubject: Show to " + itoa(i) + "\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHi\r\n"
		msgURL := e.putMessage(c, "INBOX", raw)
		page := e.get(c, msgURL)
		pt := text(page.body)
		if !strings.Contains(pt, tc.to+" ") {
			t.Errorf("%s: the quick reply box lacks %q: %s", tc.name, tc.to, pt)
		}
		if tc.replyTo != "" && !strings.Contains(pt, tc.replyTo) {
			t.Errorf("%s: the page lacks %q", tc.name, tc.replyTo)
		}
		if tc.replyTo == "" && strings.Contains(pt, "Reply-To") {
			t.Errorf("%s: the page shows a Reply-To that is From", tc.name)
		}
		before := len(rec.envelope())
		r := e.do(c, "POST", msgURL+"/quickreply", url.Values{"token": {formToken(t, page.body)}, "canned": {"Thanks, got it"}})
		if r.status != http.StatusSeeOther {
			t.Errorf("%s: canned reply = %d: %s", tc.name, r.status, text(r.body))
			continue
		}
		got := rec.envelope()[before:]
		if len(got) != 2 || got[0] != "MAIL FROM:<demo@example.org> BODY=8BITMIME" || got[1] != tc.rcpt {
			t.Errorf("%s: envelope = %q, want MAIL and %q", tc.name, got, tc.rcpt)
		}
	}
	checkEnvelopeLines(t, rec.envelope())
}

// TestQuickReplyToMismatch: the box works out "To:" from the login; when
// the reply itself would go elsewhere (a login without "@" replying to
// its own message, From being login@MailDomain), nothing is sent on one
// tap: the form asks.
func TestQuickReplyToMismatch(t *testing.T) {
	e, rec := newRecordEnv(t)
	c := e.login()
	msgURL := e.putMessage(c, "INBOX", "From: demo@example.org\r\nTo: Bob <bob@example.net>\r\nSubject: mine\r\n\r\nHi\r\n")
	page := e.get(c, msgURL)
	r := e.do(c, "POST", msgURL+"/quickreply", url.Values{"token": {formToken(t, page.body)}, "canned": {"Call me"}})
	if r.status != http.StatusConflict || !strings.Contains(r.body, "Check who this reply goes to") {
		t.Errorf("canned reply = %d: %s", r.status, text(r.body))
	}
	if got := rec.envelope(); len(got) != 0 {
		t.Errorf("sent %q on one tap to other addresses than the box said", got)
	}
}
