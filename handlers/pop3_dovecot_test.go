package handlers

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/thumbmail/thumbmail/internal/dovecottest"
	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/pop3"
	"github.com/thumbmail/thumbmail/mailproxy/pop3mail"
	"github.com/thumbmail/thumbmail/web"
)

// newPOP3DovecotEnv is thumbmail's router in -pop3 mode in front of a
// real Dovecot POP3, through a proxy that counts the bytes Dovecot sends.
func newPOP3DovecotEnv(t *testing.T, dc *dovecottest.Server) (*testEnv, *countingProxy) {
	t.Helper()
	proxy := newCountingProxy(t, dc.POP3Addr)
	up, err := mailproxy.ParseUpstream("pop3+insecure://"+proxy.addr(), "pop3")
	if err != nil {
		t.Fatal(err)
	}
	backend := pop3mail.NewBackend(&pop3mail.Options{POP3: up, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(backend.Close)
	sm, err := web.NewSessionManager(web.SessionOptions{Secrets: []string{strings.Repeat("q", 40)}, Store: web.NewMemoryStore()})
	if err != nil {
		t.Fatal(err)
	}
	h := New(Config{Sessions: sm, Mail: backend, Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(h.Routes())
	t.Cleanup(srv.Close)
	return &testEnv{t: t, srv: srv, handler: h}, proxy
}

// bigAttachmentMessage is a message with a short text part and a
// base64 attachment of size pseudo-random bytes.
func bigAttachmentMessage(size int) (msg, data []byte) {
	data = make([]byte, size)
	x := uint32(88172645)
	for i := range data {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		data[i] = byte(x)
	}
	var b bytes.Buffer
	b.WriteString("From: Carol <carol@example.org>\r\nTo: alice@example.org\r\nSubject: The big report\r\n" +
		"Date: Tue, 1 Dec 2026 09:00:00 +0000\r\nMessage-ID: <big.report@example.org>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"BIG\"\r\n\r\n" +
		"--BIG\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHere is the report you asked for.\r\n" +
		"--BIG\r\nContent-Type: application/octet-stream; name=\"report.bin\"\r\n" +
		"Content-Disposition: attachment; filename=\"report.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--BIG--\r\n")
	return b.Bytes(), data
}

// pop3UIDLs logs in to Dovecot's POP3 as another mail program would and
// returns the maildrop's unique-ids, then QUITs (deleting nothing).
func pop3UIDLs(t *testing.T, addr, user, pass string) []string {
	t.Helper()
	c, err := pop3.Dial(addr, &pop3.Options{AllowInsecureAuth: true, Timeout: 15 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(user, pass); err != nil {
		t.Fatalf("Login(%s) = %v", user, err)
	}
	list, err := c.Uidl()
	if err != nil {
		t.Fatalf("Uidl() = %v", err)
	}
	if err := c.Quit(); err != nil {
		t.Fatalf("Quit() = %v", err)
	}
	ids := make([]string, len(list))
	for i, m := range list {
		ids[i] = m.UID
	}
	return ids
}

// uidlOf turns a POP3 message link of the gateway back into the UIDL.
func uidlOf(t *testing.T, link string) string {
	t.Helper()
	id := link[strings.LastIndexByte(link, '/')+1:]
	if i := strings.IndexByte(id, '?'); i >= 0 {
		id = id[:i]
	}
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil {
		t.Fatalf("message id %q is not base64url: %v", id, err)
	}
	return string(raw)
}

// TestPOP3DovecotGateway is the POP3 user's day against a real Dovecot
// POP3 with pop3_lock_session = yes, through the router: sign in, page
// through a 5,000-message maildrop (first, middle, last page), read a
// message with a 5 MB attachment, download it (bytes compared), delete
// one message and then several (checked with a fresh POP3 connection),
// and — in parallel, because Dovecot makes a locked-out login wait 10 s —
// the clear "busy" page while another client holds the maildrop. It
// skips without Dovecot (see internal/dovecottest).
func TestPOP3DovecotGateway(t *testing.T) {
	const alicePW, bobPW = "alice-pop3-pw", "bob-pop3-pw"
	dc := dovecottest.Start(t, &dovecottest.Options{POP3: true, POP3LockSession: true, Users: []dovecottest.User{
		{Name: "alice", Password: alicePW}, {Name: "bob", Password: bobPW},
	}})
	const n = 5000
	big, data := bigAttachmentMessage(5 << 20)
	dc.WriteMessages(t, "alice", "INBOX", append(dovecottest.GenerateMessages(n-1, time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC)), big), nil)
	dc.WriteMessages(t, "bob", "INBOX", dovecottest.GenerateMessages(3, time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC)), nil)
	e, proxy := newPOP3DovecotEnv(t, dc)
	signIn := func(t *testing.T, user, pass string) *http.Client {
		t.Helper()
		c := e.client()
		r := e.do(c, "POST", "/login", url.Values{"username": {user}, "password": {pass}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("POST /login as %s = %d: %.300s", user, r.status, r.body)
		}
		return c
	}

	t.Run("busy", func(t *testing.T) {
		t.Parallel()
		c := signIn(t, "bob", bobPW)
		if r := e.get(c, "/f/INBOX"); r.status != http.StatusOK {
			t.Fatalf("bob's Inbox = %d", r.status)
		}
		// Another mail program logs in: Dovecot lets it wait until our
		// grace period has ended, then it holds the maildrop.
		other, err := pop3.Dial(dc.POP3Addr, &pop3.Options{AllowInsecureAuth: true, Timeout: 15 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		if err := other.Login("bob", bobPW); err != nil {
			t.Fatalf("the other client's Login = %v", err)
		}
		t0 := time.Now()
		r := e.get(c, "/f/INBOX")
		t.Logf("busy page after %v", time.Since(t0).Round(time.Millisecond))
		if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "Your mailbox is busy (another mail program is collecting)") {
			t.Errorf("Inbox while another client holds the maildrop = %d, want 503 busy; body %.400s", r.status, r.body)
		}
		if strings.Contains(strings.ToLower(r.body), "password") {
			t.Errorf("the busy page mentions the password")
		}
		if err := other.Quit(); err != nil {
			t.Fatal(err)
		}
		if r := e.get(c, "/f/INBOX"); r.status != http.StatusOK || len(messageLinks(r.body)) != 3 {
			t.Errorf("Inbox after the other client quit = %d with %d rows", r.status, len(messageLinks(r.body)))
		}
	})

	t.Run("alice", func(t *testing.T) {
		t.Parallel()
		if r := e.do(e.client(), "POST", "/login", url.Values{"username": {"alice"}, "password": {"wrong"}}); r.status != http.StatusUnauthorized {
			t.Errorf("wrong password = %d, want 401", r.status)
		}
		c := signIn(t, "alice", alicePW)

		// Paging: first, middle and last page of 100.
		var first []string
		for _, page := range []int{1, 50, 100} {
			t0 := time.Now()
			r := e.get(c, "/f/INBOX?page="+itoa(page))
			t.Logf("page %d in %v", page, time.Since(t0).Round(time.Millisecond))
			if r.status != http.StatusOK {
				t.Fatalf("page %d = %d", page, r.status)
			}
			links := messageLinks(r.body)
			if len(links) != 50 {
				t.Fatalf("page %d has %d rows, want 50", page, len(links))
			}
			if want := fmt.Sprintf("%s–%s of 5,000", formatThousands((page-1)*50+1), formatThousands(page*50)); !strings.Contains(r.body, want) {
				t.Errorf("page %d does not say %q", page, want)
			}
			if page == 1 {
				first = links
			}
			if page == 100 && !strings.Contains(r.body, dovecottest.MessageSubject(0)) {
				t.Errorf("the last page lacks the oldest message %q", dovecottest.MessageSubject(0))
			}
			m := e.get(c, links[len(links)-1])
			if m.status != http.StatusOK || !strings.Contains(m.body, `class="body`) {
				t.Errorf("message %s on page %d = %d", links[len(links)-1], page, m.status)
			}
		}

		// The big message is the newest. Reading it shows the text and
		// lists the attachment.
		down0 := proxy.down.Load()
		m := e.get(c, first[0])
		viewBytes := proxy.down.Load() - down0
		if m.status != http.StatusOK || !strings.Contains(m.body, "Here is the report you asked for.") || !strings.Contains(m.body, "report.bin") {
			t.Fatalf("big message = %d: %.500s", m.status, m.body)
		}
		t.Logf("showing the text of a %d-byte message (%d MB attachment) transferred %d bytes", len(big), len(data)>>20, viewBytes)
		part := regexp.MustCompile(`href="([^"]+/part/[0-9.]+)"`).FindStringSubmatch(m.body)
		if part == nil {
			t.Fatalf("big message lists no attachment link")
		}
		down0 = proxy.down.Load()
		d := e.get(c, part[1])
		t.Logf("downloading the attachment transferred %d bytes", proxy.down.Load()-down0)
		if d.status != http.StatusOK || !strings.HasPrefix(d.header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("download = %d %q", d.status, d.header.Get("Content-Disposition"))
		}
		if got, want := sha256.Sum256([]byte(d.body)), sha256.Sum256(data); len(d.body) != len(data) || got != want {
			t.Fatalf("downloaded %d bytes, want %d; identical: %v", len(d.body), len(data), got == want)
		}

		// Back to the message after the download: the parsed view was
		// kept, so the 7 MB message is not retrieved again (what moves is
		// at most a new login and the UIDL list).
		down0 = proxy.down.Load()
		if again := e.get(c, first[0]); again.status != http.StatusOK || !strings.Contains(again.body, "report.bin") {
			t.Errorf("big message again = %d", again.status)
		}
		again := proxy.down.Load() - down0
		t.Logf("showing it again transferred %d bytes", again)
		if again > 1<<20 {
			t.Errorf("showing the big message again transferred %d bytes: it was retrieved again", again)
		}

		// Delete one, then several (from the list's select form).
		uidls := func() []string { return pop3UIDLs(t, dc.POP3Addr, "alice", alicePW) }
		one := first[1]
		if r := e.do(c, "POST", "/f/INBOX/delete", url.Values{"id": {one[strings.LastIndexByte(one, '/')+1:]}}); r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "n=deleted") {
			t.Fatalf("delete one = %d %q", r.status, r.header.Get("Location"))
		}
		several := first[2:5]
		form := url.Values{}
		for _, l := range several {
			form.Add("id", l[strings.LastIndexByte(l, '/')+1:])
		}
		if r := e.do(c, "POST", "/f/INBOX/delete", form); r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "n=deleted") {
			t.Fatalf("delete several = %d %q", r.status, r.header.Get("Location"))
		}
		left := uidls()
		if len(left) != n-4 {
			t.Errorf("a fresh POP3 connection sees %d messages, want %d", len(left), n-4)
		}
		for _, l := range append([]string{one}, several...) {
			if slices.Contains(left, uidlOf(t, l)) {
				t.Errorf("message %s is still in the maildrop", l)
			}
		}
		if !slices.Contains(left, uidlOf(t, first[0])) || !slices.Contains(left, uidlOf(t, first[5])) {
			t.Errorf("a message that was not deleted is gone")
		}
		r := e.get(c, "/f/INBOX")
		if r.status != http.StatusOK || !strings.Contains(r.body, "of 4,996") {
			t.Errorf("Inbox after deleting four = %d, want 4,996 messages", r.status)
		}
		if g := e.get(c, one); g.status != http.StatusNotFound {
			t.Errorf("a deleted message = %d, want 404", g.status)
		}
	})
}

// formatThousands writes n with thousands separators, as pages do.
func formatThousands(n int) string {
	s := itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
