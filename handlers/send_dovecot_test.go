package handlers

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-message/mail"

	"github.com/thumbmail/thumbmail/internal/dovecottest"
	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/demo"
	"github.com/thumbmail/thumbmail/mailproxy/imapmail"
	"github.com/thumbmail/thumbmail/mailproxy/send"
	"github.com/thumbmail/thumbmail/web"
)

// deliverLocal is the MTA behind Dovecot's submission service: it hands
// each recipient's copy to dovecot-lda (user = the address's local part).
func deliverLocal(dc *dovecottest.Server, sub demo.Submission) error {
	for _, to := range sub.To {
		user, _, _ := strings.Cut(to, "@")
		if err := dc.Deliver(user, sub.Data); err != nil {
			return err
		}
	}
	return nil
}

// fetchAll returns the raw messages and flags of a user's folder, oldest
// first, straight over IMAP.
func fetchAll(t *testing.T, addr, user, pass, folder string) (raws [][]byte, flags [][]imap.Flag) {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatalf("DialInsecure() = %v", err)
	}
	defer c.Close()
	if err := c.Login(user, pass).Wait(); err != nil {
		t.Fatalf("Login().Wait() = %v", err)
	}
	sel, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatalf("Select(%s).Wait() = %v", folder, err)
	}
	if sel.NumMessages == 0 {
		return nil, nil
	}
	var set imap.SeqSet
	set.AddRange(1, sel.NumMessages)
	bufs, err := c.Fetch(set, &imap.FetchOptions{Flags: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil {
		t.Fatalf("Fetch().Collect() = %v", err)
	}
	for _, b := range bufs {
		flags = append(flags, b.Flags)
		for _, body := range b.BodySection {
			raws = append(raws, body.Bytes)
		}
	}
	return raws, flags
}

// TestSendDovecot runs sending end to end on real servers: thumbmail
// submits through Dovecot's submission service, which relays to an MTA
// (here a small in-process one) that delivers with dovecot-lda. A
// quick reply lands in the recipient's INBOX with correct threading
// headers and encodings, a copy in the sender's Sent, the original
// answered; a compose with an attachment, a forward with the original's
// attachment and a forward as message/rfc822 arrive too.
func TestSendDovecot(t *testing.T) {
	var dcp atomic.Pointer[dovecottest.Server]
	relay, err := demo.StartSMTP(&demo.SMTPOptions{NoAuth: true, Deliver: func(sub demo.Submission) error {
		err := deliverLocal(dcp.Load(), sub)
		if err != nil {
			t.Logf("delivery: %v", err)
		}
		return err
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	users := []dovecottest.User{{Name: "alice", Password: "alice-pw"}, {Name: "bob", Password: "bob-pw"}}
	dc := dovecottest.Start(t, &dovecottest.Options{Users: users, Submission: true, SubmissionRelay: relay.Addr()})
	dcp.Store(dc)

	// The original: bob writes to alice, with an attachment.
	orig := "From: =?UTF-8?Q?B=C3=B6b?= <bob@localhost>\r\nTo: alice@localhost\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= and plans\r\nMessage-ID: <orig-42@localhost>\r\nDate: Mon, 02 Jan 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nLunch tomorrow?\r\n--b\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; filename=\"menu.csv\"\r\n\r\ndish,price\r\nsoup,4\r\n--b--\r\n"
	if err := dc.Deliver("alice", []byte(orig)); err != nil {
		t.Fatalf("delivering the original: %v\n%s", err, dc.Log())
	}

	imapUp, _ := mailproxy.ParseUpstream(dc.IMAPURL(), "imap")
	smtpUp, err := mailproxy.ParseUpstream(dc.SubmissionURL(), "smtp")
	if err != nil {
		t.Fatal(err)
	}
	pool := imapmail.NewPool(&imapmail.PoolOptions{IMAP: imapUp, Logger: slog.New(slog.DiscardHandler)})
	defer pool.Close()
	sm, err := web.NewSessionManager(web.SessionOptions{Secrets: []string{strings.Repeat("s", 40)}, Store: web.NewMemoryStore()})
	if err != nil {
		t.Fatal(err)
	}
	h := New(Config{Sessions: sm, Mail: pool, Logger: slog.New(slog.DiscardHandler), MailDomain: "localhost",
		Submit: send.NewSubmitter(&send.SubmitOptions{SMTP: smtpUp, Timeout: 10 * time.Second, Logger: slog.New(slog.DiscardHandler)})})
	srv := httptest.NewServer(h.Routes())
	defer srv.Close()
	e := &sendEnv{testEnv: &testEnv{t: t, srv: srv, handler: h, pool: pool}}
	c := e.client()
	if r := e.do(c, "POST", "/login", url.Values{"username": {"alice"}, "password": {"alice-pw"}}); r.status != http.StatusSeeOther {
		t.Fatalf("POST /login = %d", r.status)
	}
	links := messageLinks(e.get(c, "/f/INBOX").body)
	if len(links) != 1 {
		t.Fatalf("alice's INBOX lists %d messages, want 1", len(links))
	}
	msgURL := links[0]

	// Quick reply.
	tok := formToken(t, e.get(c, msgURL).body)
	r := e.do(c, "POST", msgURL+"/quickreply", url.Values{"token": {tok}, "text": {"Yes, noon.\n.\nSee you"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("quick reply = %d; %s\n%s", r.status, r.body, dc.Log())
	}
	// Compose with an attachment.
	tok = formToken(t, e.get(c, "/compose").body)
	r = e.postMultipart(c, "/compose", url.Values{"token": {tok}, "action": {"send"}, "to": {"Bob <bob@localhost>"}, "subject": {"Photo"}, "body": {"Here it is."}}, []file{{"photo.jpg", "\xff\xd8\xff fake jpeg"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("compose = %d; %s", r.status, r.body)
	}
	// Forward with the original's attachment.
	page := e.get(c, msgURL+"/forward")
	r = e.postMultipart(c, "/compose", url.Values{"token": {formToken(t, page.body)}, "action": {"send"}, "to": {"bob@localhost"}, "subject": {"Fwd: Grüße and plans"}, "body": {"fyi"}}, nil)
	if r.status != http.StatusSeeOther {
		t.Fatalf("forward = %d; %s", r.status, r.body)
	}

	// Forward as attachment.
	page = e.get(c, msgURL+"/forward?as=attachment")
	r = e.postMultipart(c, "/compose", url.Values{"token": {formToken(t, page.body)}, "action": {"send"}, "to": {"bob@localhost"}, "subject": {"Fwd: whole"}, "body": {"see attached"}}, nil)
	if r.status != http.StatusSeeOther {
		t.Fatalf("forward as attachment = %d; %s", r.status, r.body)
	}

	raws, _ := fetchAll(t, dc.IMAPAddr, "bob", "bob-pw", "INBOX")
	if len(raws) != 4 {
		t.Fatalf("bob's INBOX has %d messages, want 4\n%s", len(raws), dc.Log())
	}
	if !bytes.Contains(raws[3], []byte("Content-Type: message/rfc822")) || !bytes.Contains(raws[3], []byte("Message-ID: <orig-42@localhost>")) {
		t.Errorf("forward as attachment lacks the original:\n%s", raws[3])
	}
	mr, err := mail.CreateReader(bytes.NewReader(raws[0]))
	if err != nil {
		t.Fatal(err)
	}
	subj, _ := mr.Header.Subject()
	if subj != "Re: Grüße and plans" {
		t.Errorf("reply Subject = %q", subj)
	}
	if irt, _ := mr.Header.MsgIDList("In-Reply-To"); fmt.Sprint(irt) != "[orig-42@localhost]" {
		t.Errorf("In-Reply-To = %v", irt)
	}
	if refs, _ := mr.Header.MsgIDList("References"); fmt.Sprint(refs) != "[orig-42@localhost]" {
		t.Errorf("References = %v", refs)
	}
	if to, _ := mr.Header.AddressList("To"); len(to) != 1 || to[0].Address != "bob@localhost" || to[0].Name != "Böb" {
		t.Errorf("To = %v", to)
	}
	p, _ := mr.NextPart()
	body, _ := io.ReadAll(p.Body)
	if !strings.HasPrefix(string(body), "Yes, noon.\r\n.\r\nSee you\r\n") {
		t.Errorf("reply body = %q", body)
	}
	for i, want := range map[int]string{1: "photo.jpg", 2: "menu.csv"} {
		if !bytes.Contains(raws[i], []byte(want)) {
			t.Errorf("message %d in bob's INBOX lacks attachment %s", i, want)
		}
	}
	sent, _ := fetchAll(t, dc.IMAPAddr, "alice", "alice-pw", "Sent")
	if len(sent) != 4 || !bytes.Contains(sent[0], []byte("In-Reply-To: <orig-42@localhost>")) || !bytes.Contains(sent[1], []byte("photo.jpg")) {
		t.Errorf("alice's Sent has %d messages, want the 4 sent", len(sent))
	}
	_, flags := fetchAll(t, dc.IMAPAddr, "alice", "alice-pw", "INBOX")
	answered := false
	for _, f := range flags[0] {
		answered = answered || f == imap.FlagAnswered
	}
	if !answered {
		t.Errorf("original flags = %v, want \\Answered", flags[0])
	}
}
