package handlers

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/demo"
	"github.com/thumbmail/thumbmail/mailproxy/pop3mail"
	"github.com/thumbmail/thumbmail/mailproxy/pop3test"
	"github.com/thumbmail/thumbmail/web"
)

// TestPOP3Gateway runs the same pages over POP3: the list with the
// controls POP3 has (delete) and without those it lacks, a message, a
// delete that really leaves the maildrop, and "busy" while another client
// holds the lock.
func TestPOP3Gateway(t *testing.T) {
	msgs := demo.Messages(time.Now())["INBOX"]
	e, srv := newPOP3Env(t, msgs)

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

// newPOP3Env serves msgs (oldest first) to user demo/demo from an
// in-process POP3 server that locks the maildrop, behind the gateway in
// -pop3 mode.
func newPOP3Env(t testing.TB, msgs [][]byte) (*testEnv, *pop3test.Server) {
	t.Helper()
	srv, err := pop3test.Start(&pop3test.Options{Users: map[string]string{"demo": "demo"}, Messages: map[string][][]byte{"demo": msgs}, Lock: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	up, _ := mailproxy.ParseUpstream(srv.URL(), "pop3")
	backend := pop3mail.NewBackend(&pop3mail.Options{POP3: up, Logger: slog.New(slog.DiscardHandler), DialTimeout: 2 * time.Second})
	t.Cleanup(backend.Close)
	sm, _ := web.NewSessionManager(web.SessionOptions{Secrets: []string{strings.Repeat("p", 40)}, Store: web.NewMemoryStore()})
	h := New(Config{Sessions: sm, Mail: backend, Logger: slog.New(slog.DiscardHandler)})
	hs := httptest.NewServer(h.Routes())
	t.Cleanup(hs.Close)
	return &testEnv{t: t, srv: hs}, srv
}

// pop3Attachment is a message with a text part and a PDF attachment.
const pop3Attachment = "From: Ann <ann@example.org>\r\nTo: demo@example.org\r\nSubject: With attachment\r\n" +
	"Date: Mon, 2 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n\r\n" +
	"--XYZ\r\nContent-Type: text/plain\r\n\r\nSee the file.\r\n" +
	"--XYZ\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\nContent-Disposition: attachment; filename=\"a.pdf\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--XYZ--\r\n"

func pop3Plain(subject string) []byte {
	return []byte("From: Bob <bob@example.org>\r\nSubject: " + subject + "\r\nDate: Mon, 2 Nov 2026 09:00:00 +0000\r\n\r\nHello.\r\n")
}

// TestPOP3CollectAndDelete checks the per-user "collect and delete"
// choice: offered (off) on the POP3 login page only; without it reading
// deletes nothing; with it the message page says the message will be
// deleted, its attachment can still be downloaded, and coming back to
// the Inbox deletes exactly the messages opened (DELE + QUIT).
func TestPOP3CollectAndDelete(t *testing.T) {
	const label = "Delete messages from the server after I read them (like a classic POP3 program)"
	const warning = "This message will be deleted from the server"
	tests := map[string]struct {
		collect     bool
		wantDeleted bool
	}{
		"default leaves mail on the server": {collect: false, wantDeleted: false},
		"collect and delete":                {collect: true, wantDeleted: true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			e, srv := newPOP3Env(t, [][]byte{pop3Plain("first"), []byte(pop3Attachment), pop3Plain("third")})
			c := e.client()
			lp := e.get(c, "/login")
			if !strings.Contains(lp.body, label) || strings.Contains(lp.body, `name="collect" value="1" checked`) {
				t.Fatalf("POP3 login page lacks the collect choice, or it is ticked by default")
			}
			form := url.Values{"username": {"demo"}, "password": {"demo"}}
			if tt.collect {
				form.Set("collect", "1")
			}
			if r := e.do(c, "POST", "/login", form); r.status != http.StatusSeeOther {
				t.Fatalf("POST /login = %d", r.status)
			}
			list := e.get(c, "/f/INBOX")
			links := messageLinks(list.body)
			if len(links) != 3 {
				t.Fatalf("list has %d rows, want 3", len(links))
			}
			if got := strings.Contains(list.body, "deleted from the server when you come back"); got != tt.collect {
				t.Errorf("list says messages are deleted = %v, want %v", got, tt.collect)
			}
			// links[1] is the message with the attachment (newest first).
			m := e.get(c, links[1])
			if m.status != http.StatusOK || !strings.Contains(m.body, "With attachment") {
				t.Fatalf("GET %s = %d", links[1], m.status)
			}
			if got := strings.Contains(m.body, warning); got != tt.collect {
				t.Errorf("message page warns of deletion = %v, want %v", got, tt.collect)
			}
			part := regexp.MustCompile(`href="([^"]+/part/2)"`).FindStringSubmatch(m.body)
			if part == nil {
				t.Fatalf("message page has no attachment link")
			}
			if d := e.get(c, part[1]); d.status != http.StatusOK || d.body != "%PDF-1.4\n" {
				t.Errorf("attachment download after reading = %d %q", d.status, d.body)
			}
			if n := len(srv.Messages("demo")); n != 3 {
				t.Fatalf("maildrop has %d messages before going back to the Inbox, want 3", n)
			}
			after := e.get(c, "/f/INBOX")
			if after.status != http.StatusOK {
				t.Fatalf("back to the Inbox = %d", after.status)
			}
			want := 3
			if tt.wantDeleted {
				want = 2
			}
			left := srv.Messages("demo")
			if len(left) != want {
				t.Fatalf("maildrop has %d messages after reading one, want %d", len(left), want)
			}
			for _, raw := range left {
				if tt.wantDeleted && strings.Contains(string(raw), "With attachment") {
					t.Errorf("the message read is still on the server")
				}
			}
			if got := len(messageLinks(after.body)); got != want {
				t.Errorf("list shows %d rows, want %d", got, want)
			}
			// Nothing else goes on later listings.
			e.get(c, "/f/INBOX")
			if n := len(srv.Messages("demo")); n != want {
				t.Errorf("a second listing left %d messages, want %d", n, want)
			}
		})
	}
}

// TestIMAPLoginHasNoCollectChoice: "collect and delete" is POP3's alone.
func TestIMAPLoginHasNoCollectChoice(t *testing.T) {
	e := newEnv(t, nil)
	if r := e.get(e.client(), "/login"); strings.Contains(r.body, `name="collect"`) {
		t.Errorf("IMAP login page offers the POP3 collect choice")
	}
}

// TestPOP3LoginBusy: signing in while another mail program holds the
// maildrop says "busy", never "wrong password"; once it lets go, the same
// password signs in.
func TestPOP3LoginBusy(t *testing.T) {
	e, srv := newPOP3Env(t, [][]byte{pop3Plain("one")})
	release := srv.Hold("demo")
	c := e.client()
	r := e.do(c, "POST", "/login", url.Values{"username": {"demo"}, "password": {"demo"}})
	if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "Your mailbox is busy (another mail program is collecting)") || strings.Contains(r.body, "Wrong") {
		t.Errorf("POST /login while the maildrop is held = %d, want 503 busy; body %.400s", r.status, r.body)
	}
	release()
	if r := e.do(c, "POST", "/login", url.Values{"username": {"demo"}, "password": {"demo"}}); r.status != http.StatusSeeOther {
		t.Errorf("POST /login after release = %d, want 303", r.status)
	}
}

// BenchmarkPOP3Download20MB downloads a 20 MB attachment (a 27 MB
// message) through the router from the in-process POP3 server, the
// browser reading the body as it comes. B/op shows that the download
// streams: it stays far below the attachment's size (it counts the whole
// process, the test server and HTTP client included).
func BenchmarkPOP3Download20MB(b *testing.B) {
	msg, data := bigAttachmentMessage(20 << 20)
	e, _ := newPOP3Env(b, [][]byte{msg})
	c := e.login()
	m := e.get(c, "/f/INBOX")
	links := messageLinks(m.body)
	if len(links) != 1 {
		b.Fatalf("list has %d rows, want 1", len(links))
	}
	view := e.get(c, links[0])
	part := regexp.MustCompile(`href="([^"]+/part/[0-9.]+)"`).FindStringSubmatch(view.body)
	if part == nil {
		b.Fatalf("no attachment link on the message page")
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		resp, err := c.Get(e.srv.URL + part[1])
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || n != int64(len(data)) || resp.StatusCode != http.StatusOK {
			b.Fatalf("download = %d, %d bytes, %v; want %d bytes", resp.StatusCode, n, err, len(data))
		}
	}
}
