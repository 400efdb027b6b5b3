package handlers

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/demo"
	"github.com/thumbmail/thumbmail/mailproxy/pop3test"
	"github.com/thumbmail/thumbmail/web"
)

// TestPOP3Gateway runs the same pages over POP3: the list with the
// controls POP3 has (delete) and without those it lacks, a message, a
// delete that really leaves the maildrop, and "busy" while another client
// holds the lock.
func TestPOP3Gateway(t *testing.T) {
	msgs := demo.Messages(time.Now())["INBOX"]
	srv, err := pop3test.Start(&pop3test.Options{Users: map[string]string{"demo": "demo"}, Messages: map[string][][]byte{"demo": msgs}, Lock: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	up, _ := mailproxy.ParseUpstream(srv.URL(), "pop3")
	backend := mailproxy.NewPOP3Backend(&mailproxy.POP3Options{POP3: up, Logger: slog.New(slog.DiscardHandler), DialTimeout: 2 * time.Second})
	defer backend.Close()
	sm, _ := web.NewSessionManager(web.SessionOptions{Secrets: []string{strings.Repeat("p", 40)}, Store: web.NewMemoryStore()})
	h := New(Config{Sessions: sm, Mail: backend, Logger: slog.New(slog.DiscardHandler)})
	hs := httptest.NewServer(h.Routes())
	defer hs.Close()
	e := &testEnv{t: t, srv: hs}

	c := e.login()
	list := e.get(c, "/f/INBOX")
	if list.status != http.StatusOK {
		t.Fatalf("POP3 list = %d", list.status)
	}
	links := messageLinks(list.body)
	if len(links) != 50 {
		t.Fatalf("POP3 page 1 has %d rows, want 50", len(links))
	}
	if !strings.Contains(list.body, "Delete selected") || !strings.Contains(list.body, "POP3 account") {
		t.Errorf("POP3 list lacks delete or the read-mark hint")
	}
	if strings.Contains(list.body, `role="search"`) {
		t.Errorf("POP3 list offers a search box")
	}
	if r := e.get(c, "/f/INBOX/search?q=hello"); r.status != http.StatusNotImplemented {
		t.Errorf("POP3 search = %d, want 501", r.status)
	}
	m := e.get(c, links[0])
	if m.status != http.StatusOK || !strings.Contains(m.body, `class="body`) {
		t.Errorf("POP3 message = %d", m.status)
	}
	id := strings.TrimPrefix(links[1], "/f/INBOX/")
	r := e.do(c, "POST", "/f/INBOX/delete", url.Values{"id": {id}})
	if r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "n=deleted") {
		t.Fatalf("POP3 delete = %d %q", r.status, r.header.Get("Location"))
	}
	if n := len(srv.Messages("demo")); n != len(msgs)-1 {
		t.Errorf("maildrop has %d messages after deleting one of %d", n, len(msgs))
	}
	if r := e.get(c, links[1]); r.status != http.StatusNotFound {
		t.Errorf("deleted message still shown: %d", r.status)
	}

	// Another mail program holds the maildrop: a clear "busy", not "wrong password".
	time.Sleep(2500 * time.Millisecond) // our connection's grace period ends
	release := srv.Hold("demo")
	defer release()
	b := e.get(c, "/f/INBOX?page=2")
	if b.status != http.StatusServiceUnavailable || !strings.Contains(b.body, "busy") {
		t.Errorf("list while the maildrop is held = %d, want 503 busy", b.status)
	}
}
