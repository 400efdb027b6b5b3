package handlers

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/thumbmail/thumbmail/internal/dovecottest"
	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/demo"
	"github.com/thumbmail/thumbmail/mailproxy/imapmail"
	"github.com/thumbmail/thumbmail/mailproxy/send"
	"github.com/thumbmail/thumbmail/web"
)

// TestDovecotEnvelopeInjection runs issue 12, item 3 against Dovecot:
// the message is read over IMAP (Dovecot's ENVELOPE gives the quoted
// local part unquoted, as net/mail does) and replies go through
// Dovecot's submission service, behind a proxy that keeps every line
// thumbmail sends. The report's Reply-To and the typed ORCPT address are
// refused by name with no MAIL or RCPT sent; a Reply-To with a quoted
// local part that is a real mailbox goes out quoted, as one RCPT, and
// Dovecot relays it to that one address.
func TestDovecotEnvelopeInjection(t *testing.T) {
	relay, err := demo.StartSMTP(&demo.SMTPOptions{NoAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	dc := dovecottest.Start(t, &dovecottest.Options{Users: []dovecottest.User{{Name: "alice", Password: "alice-pw"}}, Submission: true, SubmissionRelay: relay.Addr()})
	if err := dc.Deliver("alice", []byte(injectionMail("localhost"))); err != nil {
		t.Fatalf("delivering: %v", err)
	}
	quoted := "From: Bob <bob@localhost>\r\nReply-To: John <\"john smith\"@localhost>\r\nTo: alice@localhost\r\nSubject: Quoted lunch\r\nMessage-ID: <q-1@localhost>\r\nDate: Mon, 02 Jan 2026 11:00:00 +0000\r\n\r\nLunch?\r\n"
	if err := dc.Deliver("alice", []byte(quoted)); err != nil {
		t.Fatalf("delivering: %v", err)
	}

	proxy := newCountingProxy(t, dc.SubmissionAddr)
	imapUp, _ := mailproxy.ParseUpstream(dc.IMAPURL(), "imap")
	smtpUp, _ := mailproxy.ParseUpstream("smtp+insecure://"+proxy.addr(), "smtp")
	pool := imapmail.NewPool(&imapmail.PoolOptions{IMAP: imapUp, Logger: slog.New(slog.DiscardHandler)})
	defer pool.Close()
	sm, err := web.NewSessionManager(web.SessionOptions{Secrets: []string{strings.Repeat("s", 40)}, Store: web.NewMemoryStore()})
	if err != nil {
		t.Fatal(err)
	}
	h := New(Config{Sessions: sm, Mail: pool, Logger: slog.New(slog.DiscardHandler), MailDomain: "localhost", CannedReplies: []string{"Call me"},
		Submit: send.NewSubmitter(&send.SubmitOptions{SMTP: smtpUp, Timeout: 10 * time.Second, Logger: slog.New(slog.DiscardHandler)})})
	srv := httptest.NewServer(h.Routes())
	defer srv.Close()
	e := &sendEnv{testEnv: &testEnv{t: t, srv: srv, handler: h, pool: pool}}
	c := e.client()
	if r := e.do(c, "POST", "/login", url.Values{"username": {"alice"}, "password": {"alice-pw"}}); r.status != http.StatusSeeOther {
		t.Fatalf("POST /login = %d", r.status)
	}
	pages := map[string]string{} // subject → message URL
	for _, link := range messageLinks(e.get(c, "/f/INBOX").body) {
		body := e.get(c, link).body
		for _, s := range []string{"Injected lunch", "Quoted lunch"} {
			if strings.Contains(body, s) {
				pages[s] = link
			}
		}
	}
	if len(pages) != 2 {
		t.Fatalf("INBOX messages found: %v", pages)
	}

	// The report's Reply-To: shown, refused, nothing sent.
	page := e.get(c, pages["Injected lunch"])
	if pt := text(page.body); !strings.Contains(pt, "Reply-To "+injReplyTo) || !strings.Contains(pt, "To: "+injReplyTo+" (cannot be used") {
		t.Errorf("message page does not show the Reply-To and where the reply cannot go: %s", pt)
	}
	r := e.do(c, "POST", pages["Injected lunch"]+"/quickreply", url.Values{"token": {formToken(t, page.body)}, "canned": {"Call me"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(text(r.body), injReplyTo+" cannot be used: it contains < or >") {
		t.Errorf("canned reply = %d: %s", r.status, text(r.body))
	}
	// Typed on the compose page.
	tok := formToken(t, e.get(c, "/compose").body)
	r = e.postMultipart(c, "/compose", url.Values{"token": {tok}, "action": {"send"}, "to": {injTyped}, "subject": {"x"}, "body": {"y"}}, nil)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(text(r.body), injTyped+" cannot be used") {
		t.Errorf("compose = %d: %s", r.status, text(r.body))
	}
	if got := envelopeOf(proxy.upstream()); len(got) != 0 {
		t.Errorf("thumbmail sent %q to Dovecot, want nothing", got)
	}

	// A real quoted local part: one RCPT, quoted, relayed as one address.
	page = e.get(c, pages["Quoted lunch"])
	if pt := text(page.body); !strings.Contains(pt, `To: John <"john smith"@localhost>`) {
		t.Errorf("quick reply box lacks the quoted address: %s", pt)
	}
	r = e.do(c, "POST", pages["Quoted lunch"]+"/quickreply", url.Values{"token": {formToken(t, page.body)}, "canned": {"Call me"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("canned reply = %d: %s\n%s", r.status, text(r.body), dc.Log())
	}
	lines := envelopeOf(proxy.upstream())
	checkEnvelopeLines(t, lines)
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "MAIL FROM:<alice@localhost>") || lines[1] != `RCPT TO:<"john smith"@localhost>` {
		t.Errorf("thumbmail sent %q", lines)
	}
	var subs []demo.Submission
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if subs = relay.Submissions(); len(subs) > 0 {
			break
		}
	}
	// go-smtp's server hands its backend the local part unquoted.
	if len(subs) != 1 || strings.Join(subs[0].To, "|") != "john smith@localhost" {
		t.Errorf("Dovecot relayed %+v; want one message to john smith@localhost", subs)
	}
}
