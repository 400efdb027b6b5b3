package pop3mail

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/demo"
	"github.com/thumbmail/thumbmail/mailproxy/message"
	"github.com/thumbmail/thumbmail/mailproxy/pop3"
	"github.com/thumbmail/thumbmail/mailproxy/pop3test"
)

var pop3Creds = mailproxy.Credentials{Username: "alice", Password: "alice-pw"}

// pop3Server starts a pop3test server with user alice and msgs.
func pop3Server(t *testing.T, o pop3test.Options, msgs [][]byte) *pop3test.Server {
	t.Helper()
	o.Users = map[string]string{"alice": "alice-pw"}
	o.Messages = map[string][][]byte{"alice": msgs}
	s, err := pop3test.Start(&o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// pop3BackendFor makes a backend for srv's URL.
func pop3BackendFor(t *testing.T, rawURL string, opts Options) *Backend {
	t.Helper()
	up, err := mailproxy.ParseUpstream(rawURL, "pop3")
	if err != nil {
		t.Fatal(err)
	}
	opts.POP3 = up
	b := NewBackend(&opts)
	t.Cleanup(b.Close)
	return b
}

// pop3Msgs makes n small text messages; message i has subject "msg i".
func pop3Msgs(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, "From: Sender %d <s%d@example.org>\r\nTo: alice@example.org\r\nSubject: msg %d\r\nDate: Mon, 2 Jan 2006 15:04:%02d +0000\r\nMessage-ID: <%d@example.org>\r\n\r\nBody of message %d.\r\n", i, i, i, i%60, i, i)
	}
	return out
}

func pop3WaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPOP3Login(t *testing.T) {
	t.Parallel()
	srv := pop3Server(t, pop3test.Options{Lock: true}, pop3Msgs(3))
	b := pop3BackendFor(t, srv.URL(), Options{})
	ctx := context.Background()
	tests := []struct {
		name  string
		creds mailproxy.Credentials
		hold  bool
		want  error
	}{
		{"ok", pop3Creds, false, nil},
		{"wrong password", mailproxy.Credentials{Username: "alice", Password: "nope"}, false, mailproxy.ErrAuth},
		{"unknown user", mailproxy.Credentials{Username: "bob", Password: "alice-pw"}, false, mailproxy.ErrAuth},
		{"locked maildrop", pop3Creds, true, mailproxy.ErrBusy},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.hold {
				release := srv.Hold("alice")
				defer release()
			}
			id := fmt.Sprint("s", i)
			err := b.Login(ctx, id, tt.creds)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Login = %v, want %v", err, tt.want)
			}
			if tt.want == mailproxy.ErrBusy && errors.Is(err, mailproxy.ErrAuth) {
				t.Errorf("a locked maildrop is reported as a wrong password: %v", err)
			}
			if err == nil {
				b.Logout(id)
			} else if sessions, _ := b.Stats(); sessions != 0 {
				t.Errorf("a failed login keeps %d sessions", sessions)
			}
			pop3WaitFor(t, "connections to close", func() bool { return srv.Conns() == 0 })
		})
	}
}

// TestPOP3LockedByOtherClient: a real second client holding the lock
// (Lock: true) makes our login ErrBusy, and our connection, once the
// grace period is over, lets the other client in.
func TestPOP3LockedByOtherClient(t *testing.T) {
	t.Parallel()
	srv := pop3Server(t, pop3test.Options{Lock: true}, pop3Msgs(3))
	b := pop3BackendFor(t, srv.URL(), Options{Grace: 100 * time.Millisecond})
	ctx := context.Background()

	other, err := pop3.Dial(srv.Addr(), &pop3.Options{AllowInsecureAuth: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Login("alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	if err := b.Login(ctx, "s", pop3Creds); !errors.Is(err, mailproxy.ErrBusy) || errors.Is(err, mailproxy.ErrAuth) {
		t.Fatalf("Login while another client holds the lock = %v, want ErrBusy", err)
	}
	other.Quit()
	if err := b.Login(ctx, "s", pop3Creds); err != nil {
		t.Fatalf("Login after the other client quit = %v", err)
	}
	// We hold the maildrop only for the grace period.
	pop3WaitFor(t, "grace period", func() bool { return srv.Conns() == 0 })
	other, err = pop3.Dial(srv.Addr(), &pop3.Options{AllowInsecureAuth: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.Login("alice", "alice-pw"); err != nil {
		t.Errorf("another client cannot log in after our grace period: %v", err)
	}
}

func TestPOP3Caps(t *testing.T) {
	t.Parallel()
	b := NewBackend(nil)
	defer b.Close()
	if c := b.Session("x", pop3Creds).Caps(); c.Folders || c.Flags || c.Move {
		t.Errorf("Caps() = %+v, want none", c)
	}
}

// TestPOP3ListPaging pages through the demo INBOX (250 messages) newest
// first and checks every row against the message itself.
func TestPOP3ListPaging(t *testing.T) {
	t.Parallel()
	msgs := demo.Messages(time.Now())["INBOX"]
	srv := pop3Server(t, pop3test.Options{}, msgs)
	b := pop3BackendFor(t, srv.URL(), Options{})
	s := b.Session("s", pop3Creds)
	ctx := context.Background()
	uidls := srv.UIDLs("alice")
	n := len(msgs)

	tests := []struct {
		page, size             int
		wantPage, first, last  int
		wantRows, pages, total int
	}{
		{1, 50, 1, 1, 50, 50, 5, n},
		{2, 50, 2, 51, 100, 50, 5, n},
		{5, 50, 5, 201, 250, 50, 5, n},
		{6, 50, 5, 201, 250, 50, 5, n}, // past the end: the last page
		{3, 100, 3, 201, 250, 50, 3, n},
		{1, 0, 1, 1, 50, 50, 5, n}, // default page size
	}
	var anchor uint32
	for _, tt := range tests {
		t.Run(fmt.Sprintf("page %d of %d", tt.page, tt.size), func(t *testing.T) {
			p, err := s.List(ctx, "INBOX", mailproxy.ListQuery{Page: tt.page, PageSize: tt.size})
			if err != nil {
				t.Fatal(err)
			}
			if p.Page != tt.wantPage || p.First != tt.first || p.Last != tt.last || len(p.Messages) != tt.wantRows || p.Pages != tt.pages || p.Total != tt.total {
				t.Fatalf("page %d/%d: rows %d–%d (%d), %d pages, total %d; want page %d rows %d–%d (%d), %d pages, total %d",
					p.Page, p.PageSize, p.First, p.Last, len(p.Messages), p.Pages, p.Total,
					tt.wantPage, tt.first, tt.last, tt.wantRows, tt.pages, tt.total)
			}
			if p.Folder != "INBOX" || p.FolderDisplay != "Inbox" || p.Unread != n || p.Newer != 0 {
				t.Errorf("page %+v", p)
			}
			anchor = p.Anchor
			for i, row := range p.Messages {
				idx := n - p.First - i // 0-based position in the maildrop, newest first
				if want := pop3ID(uidls[idx]); row.ID != want {
					t.Fatalf("row %d: id %q, want %q (message %d)", i, row.ID, want, idx+1)
				}
				full := message.ParseMessage(bytes.NewReader(msgs[idx]), 0, mailproxy.ViewOptions{}, nil)
				var from mailproxy.Address
				if len(full.From) > 0 {
					from = full.From[0]
				}
				if row.Subject != full.Subject || row.From != from || !row.Date.Equal(full.Date) {
					t.Errorf("row %d (message %d): %q from %v at %v; want %q from %v at %v", i, idx+1, row.Subject, row.From, row.Date, full.Subject, from, full.Date)
				}
				if row.Size < int64(len(msgs[idx])) || row.Size > int64(len(msgs[idx]))+int64(bytes.Count(msgs[idx], []byte("\n")))+2 {
					t.Errorf("row %d: size %d, message has %d bytes", i, row.Size, len(msgs[idx]))
				}
				if row.Seen {
					t.Errorf("row %d seen before anything was opened", i)
				}
				if url.PathEscape(row.ID) != row.ID {
					t.Errorf("id %q is not URL-safe", row.ID)
				}
			}
		})
	}
	if anchor != uint32(n) {
		t.Errorf("Anchor = %d, want the message count %d", anchor, n)
	}
	// Previews: most demo messages have text near the top.
	p, _ := s.List(ctx, "INBOX", mailproxy.ListQuery{Page: 1, PageSize: 50})
	withPreview, withAttachment := 0, 0
	for _, row := range p.Messages {
		if row.Preview != "" {
			withPreview++
		}
		if row.Attachment {
			withAttachment++
		}
	}
	if withPreview < 40 {
		t.Errorf("only %d of 50 rows have a preview", withPreview)
	}
	t.Logf("page 1: %d previews, %d with attachments; first row %q: %q", withPreview, withAttachment, p.Messages[0].Subject, p.Messages[0].Preview)
}

// TestPOP3HeaderCache counts TOP commands: paging back sends none.
func TestPOP3HeaderCache(t *testing.T) {
	t.Parallel()
	srv := pop3Server(t, pop3test.Options{}, pop3Msgs(120))
	b := pop3BackendFor(t, srv.URL(), Options{Grace: 50 * time.Millisecond})
	s := b.Session("s", pop3Creds)
	ctx := context.Background()
	steps := []struct {
		page    int
		wantTop int // cumulative
	}{
		{1, 50}, {2, 100}, {1, 100}, {3, 120}, {2, 120}, {1, 120},
	}
	for i, st := range steps {
		p, err := s.List(ctx, "INBOX", mailproxy.ListQuery{Page: st.page, PageSize: 50})
		if err != nil {
			t.Fatal(err)
		}
		if got := srv.Count("TOP"); got != st.wantTop {
			t.Errorf("step %d (page %d): %d TOP commands in all, want %d", i, st.page, got, st.wantTop)
		}
		if p.Messages[0].Subject == "" || p.Messages[0].Preview == "" {
			t.Errorf("step %d: first row %+v", i, p.Messages[0])
		}
		if i == 2 {
			// Let the connection go: the cache outlives it.
			pop3WaitFor(t, "grace close", func() bool { return srv.Conns() == 0 })
		}
	}
	if got := srv.Count("UIDL"); got < 2 {
		t.Errorf("UIDL sent %d times; want once per connection (at least 2)", got)
	}
}

func TestPOP3Message(t *testing.T) {
	t.Parallel()
	msgs := pop3Msgs(5)
	msgs = append(msgs, []byte("From: =?utf-8?q?J=C3=BCrgen?= <j@example.org>\r\nTo: alice@example.org, bob@example.org\r\nCc: carol@example.org\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nDate: Tue, 3 Jan 2006 10:00:00 +0100\r\nMessage-ID: <greet@example.org>\r\nIn-Reply-To: <4@example.org>\r\nReferences: <3@example.org> <4@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nViele Gr=C3=BC=C3=9Fe\r\n.and a line with a dot\r\n--b1\r\nContent-Type: application/pdf; name=report.pdf\r\nContent-Disposition: attachment; filename=report.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcOkw7zDtsOf\r\n--b1--\r\n"))
	msgs = append(msgs, pop3Msgs(2)...)
	srv := pop3Server(t, pop3test.Options{}, msgs)
	b := pop3BackendFor(t, srv.URL(), Options{})
	s := b.Session("s", pop3Creds)
	ctx := context.Background()
	uidls := srv.UIDLs("alice")
	id := pop3ID(uidls[5])

	m, err := s.Message(ctx, "INBOX", id, mailproxy.ViewOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != id || m.Folder != "INBOX" || m.FolderDisplay != "Inbox" || !m.Seen {
		t.Errorf("message %+v", m)
	}
	if m.Subject != "Grüße" || len(m.From) != 1 || m.From[0].Name != "Jürgen" || len(m.To) != 2 || len(m.Cc) != 1 {
		t.Errorf("headers: %q from %v to %v cc %v", m.Subject, m.From, m.To, m.Cc)
	}
	if m.MessageID != "greet@example.org" || m.InReplyTo != "4@example.org" || len(m.References) != 2 {
		t.Errorf("ids: %q %q %v", m.MessageID, m.InReplyTo, m.References)
	}
	if !strings.Contains(m.Body.Text, "Viele Grüße") || !strings.Contains(m.Body.Text, ".and a line with a dot") {
		t.Errorf("body %q", m.Body.Text)
	}
	if len(m.Attachments) != 1 || m.Attachments[0].Name != "report.pdf" || m.Attachments[0].Part != "2" {
		t.Errorf("attachments %+v", m.Attachments)
	}
	if m.PrevID != pop3ID(uidls[4]) || m.NextID != pop3ID(uidls[6]) {
		t.Errorf("prev/next = %q/%q, want %q/%q", m.PrevID, m.NextID, pop3ID(uidls[4]), pop3ID(uidls[6]))
	}
	// The ends of the maildrop.
	if m, err := s.Message(ctx, "INBOX", pop3ID(uidls[0]), mailproxy.ViewOptions{}); err != nil || m.PrevID != "" || m.NextID != pop3ID(uidls[1]) {
		t.Errorf("oldest: prev/next %q/%q, %v", m.PrevID, m.NextID, err)
	}
	if m, err := s.Message(ctx, "INBOX", pop3ID(uidls[7]), mailproxy.ViewOptions{}); err != nil || m.NextID != "" || m.PrevID != pop3ID(uidls[6]) {
		t.Errorf("newest: prev/next %q/%q, %v", m.PrevID, m.NextID, err)
	}

	// Read state is the session's: it shows in the list and the counts.
	p, err := s.List(ctx, "INBOX", mailproxy.ListQuery{Page: 1, PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if p.Unread != 5 {
		t.Errorf("Unread = %d, want 5 (8 − 3 opened)", p.Unread)
	}
	for _, row := range p.Messages {
		want := row.ID == id || row.ID == pop3ID(uidls[0]) || row.ID == pop3ID(uidls[7])
		if row.Seen != want {
			t.Errorf("row %q Seen = %v, want %v", row.Subject, row.Seen, want)
		}
		if row.ID == id && (!row.Attachment || row.Preview != "Viele Grüße .and a line with a dot") {
			t.Errorf("row %+v", row)
		}
	}
	fs, err := s.Folders(ctx)
	if err != nil || len(fs) != 1 || fs[0].Name != "INBOX" || fs[0].Special != "inbox" || fs[0].Total != 8 || fs[0].Unread != 5 {
		t.Errorf("Folders() = %+v, %v", fs, err)
	}
	// Another session of the same user has its own read set.
	if p, _ := b.Session("other", pop3Creds).List(ctx, "INBOX", mailproxy.ListQuery{Page: 1, PageSize: 10}); p == nil || p.Unread != 8 {
		t.Errorf("other session: %+v", p)
	}

	// Ids that do not exist.
	for _, bad := range []string{pop3ID("nope"), "", "~abc", "%%%"} {
		if _, err := s.Message(ctx, "INBOX", bad, mailproxy.ViewOptions{}); !errors.Is(err, mailproxy.ErrNotFound) {
			t.Errorf("Message(%q) = %v, want ErrNotFound", bad, err)
		}
	}
}

func TestPOP3MessageCIDImage(t *testing.T) {
	t.Parallel()
	msg := []byte("From: a@example.org\r\nSubject: pic\r\nMIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=r\r\n\r\n--r\r\nContent-Type: text/html\r\n\r\n<p>Look: <img src=\"cid:Logo@x\"> and <img src=\"cid:missing@x\"></p>\r\n--r\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--r--\r\n")
	srv := pop3Server(t, pop3test.Options{}, [][]byte{msg})
	b := pop3BackendFor(t, srv.URL(), Options{})
	s := b.Session("s", pop3Creds)
	id := pop3ID(srv.UIDLs("alice")[0])
	m, err := s.Message(context.Background(), "INBOX", id, mailproxy.ViewOptions{PartURL: func(part string) string {
		return "/part/" + id + "/" + part + "?a=1&b=2"
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := `src="/part/` + id + `/2?a=1&amp;b=2"`
	if !strings.Contains(m.Body.HTML, want) || strings.Contains(m.Body.HTML, "pop3-cid") {
		t.Errorf("HTML %q, want it to contain %s", m.Body.HTML, want)
	}
	if m2, _ := s.Message(context.Background(), "INBOX", id, mailproxy.ViewOptions{}); strings.Contains(m2.Body.HTML, "<img") {
		t.Errorf("without PartURL, cid images stay: %q", m2.Body.HTML)
	}
}

func TestPOP3MessageTooLarge(t *testing.T) {
	t.Parallel()
	big := fmt.Appendf(nil, "From: a@example.org\r\nSubject: long\r\n\r\n%s", strings.Repeat("All work and no play.\r\n", 200000)) // 4.6 MB
	srv := pop3Server(t, pop3test.Options{}, [][]byte{big, pop3Msgs(1)[0]})
	b := pop3BackendFor(t, srv.URL(), Options{MaxMessageBytes: 64 << 10})
	s := b.Session("s", pop3Creds)
	ctx := context.Background()
	uidls := srv.UIDLs("alice")
	m, err := s.Message(ctx, "INBOX", pop3ID(uidls[0]), mailproxy.ViewOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Problems) == 0 || !strings.Contains(strings.Join(m.Problems, " "), "too large") {
		t.Errorf("problems %q", m.Problems)
	}
	if len(m.Body.Text) > 64<<10 {
		t.Errorf("body of %d bytes from a 64 KiB limit", len(m.Body.Text))
	}
	// The rest was not read: the connection was dropped, and the next
	// request reconnects.
	if sent := srv.Sent(); sent > int64(len(big))/2 {
		t.Logf("server sent %d of %d bytes (socket buffers)", sent, len(big))
	}
	if m, err := s.Message(ctx, "INBOX", pop3ID(uidls[1]), mailproxy.ViewOptions{}); err != nil || m.Subject != "msg 0" {
		t.Errorf("next message: %v", err)
	}
}

// pop3PartSink is a PartWriter that hashes what it gets and notes how much
// the server had sent when the first bytes arrived.
type pop3PartSink struct {
	srv      *pop3test.Server
	att      mailproxy.Attachment
	begun    int
	h        hash.Hash
	n        int64
	sentAt   int64 // server's Sent() at the first Write
	writes   int
	writeErr error
}

func (p *pop3PartSink) Begin(a mailproxy.Attachment) { p.att = a; p.begun++ }
func (p *pop3PartSink) Write(b []byte) (int, error) {
	if p.writes == 0 {
		p.sentAt = p.srv.Sent()
	}
	p.writes++
	p.n += int64(len(b))
	p.h.Write(b)
	if p.writeErr != nil {
		return 0, p.writeErr
	}
	return len(b), nil
}

// pop3BigMessage makes a message with a text part and a base64
// attachment of size pseudo-random bytes.
func pop3BigMessage(size int) (msg []byte, data []byte) {
	data = make([]byte, size)
	x := uint32(2463534242)
	for i := range data {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		data[i] = byte(x)
	}
	var b bytes.Buffer
	b.WriteString("From: a@example.org\r\nSubject: big\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nSee the attachment.\r\n--XX\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=big.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		b.WriteString(enc[:76])
		b.WriteString("\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc)
	b.WriteString("\r\n--XX--\r\n")
	return b.Bytes(), data
}

// TestPOP3PartBigAttachment downloads a 16 MiB attachment (a 22 MB
// message): the bytes match, the download began before the server had
// sent the message, and far less memory than the message was allocated.
func TestPOP3PartBigAttachment(t *testing.T) {
	// Not parallel: it measures the memory allocated while it runs.
	msg, data := pop3BigMessage(16 << 20)
	srv := pop3Server(t, pop3test.Options{}, [][]byte{msg})
	b := pop3BackendFor(t, srv.URL(), Options{MaxMessageBytes: 1 << 20})
	s := b.Session("s", pop3Creds)
	ctx := context.Background()
	id := pop3ID(srv.UIDLs("alice")[0])

	m, err := s.Message(ctx, "INBOX", id, mailproxy.ViewOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Attachments) == 0 || m.Attachments[len(m.Attachments)-1].Name != "big.bin" {
		t.Fatalf("attachments %+v, problems %q", m.Attachments, m.Problems)
	}
	part := m.Attachments[len(m.Attachments)-1].Part

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	sent0 := srv.Sent()
	sink := &pop3PartSink{srv: srv, h: sha256.New()}
	if err := s.Part(ctx, "INBOX", id, part, sink); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	sent := srv.Sent() - sent0

	if sink.begun != 1 || sink.att.Name != "big.bin" || sink.att.Type != "application/octet-stream" {
		t.Errorf("Begin called %d times with %+v", sink.begun, sink.att)
	}
	want := sha256.Sum256(data)
	if sink.n != int64(len(data)) || !bytes.Equal(sink.h.Sum(nil), want[:]) {
		t.Fatalf("got %d bytes, want %d; content differs: %v", sink.n, len(data), !bytes.Equal(sink.h.Sum(nil), want[:]))
	}
	if sent < int64(len(msg)) {
		t.Errorf("server sent %d bytes for a %d byte message", sent, len(msg))
	}
	// Streamed: the first bytes reached the writer long before the server
	// had sent the whole message.
	if first := sink.sentAt - sent0; first > sent/2 {
		t.Errorf("first write after the server sent %d of %d bytes: not streamed", first, sent)
	}
	if alloc > 8<<20 {
		t.Errorf("downloading a %d MB message allocated %d MB", len(msg)>>20, alloc>>20)
	}
	t.Logf("message %d bytes; first write after %d bytes sent; %d writes; %d KB allocated", len(msg), sink.sentAt-sent0, sink.writes, alloc>>10)

	// Parts that do not exist.
	for _, bad := range []string{"3", "0", "x", "1.1"} {
		if err := s.Part(ctx, "INBOX", id, bad, &pop3PartSink{srv: srv, h: sha256.New()}); !errors.Is(err, mailproxy.ErrNotFound) {
			t.Errorf("Part(%q) = %v, want ErrNotFound", bad, err)
		}
	}
	// A writer that fails (the browser went away) fails the download,
	// once, and the session goes on.
	sink = &pop3PartSink{srv: srv, h: sha256.New(), writeErr: errors.New("client gone")}
	if err := s.Part(ctx, "INBOX", id, part, sink); err == nil || sink.begun != 1 {
		t.Errorf("Part with a failing writer = %v, Begin called %d times", err, sink.begun)
	}
	if err := s.Part(ctx, "INBOX", id, "1", &pop3PartSink{srv: srv, h: sha256.New()}); err != nil {
		t.Errorf("Part after a failed download = %v", err)
	}
}

// TestPOP3Delete deletes two messages, checks they and only they are
// gone, and that it deletes the right message after the numbers shifted
// under another client.
func TestPOP3Delete(t *testing.T) {
	t.Parallel()
	srv := pop3Server(t, pop3test.Options{Lock: true}, pop3Msgs(10))
	b := pop3BackendFor(t, srv.URL(), Options{Grace: 100 * time.Millisecond})
	s := b.Session("s", pop3Creds)
	d := s.(mailproxy.Deleter)
	ctx := context.Background()
	uidls := srv.UIDLs("alice")

	if _, err := s.List(ctx, "INBOX", mailproxy.ListQuery{Page: 1, PageSize: 50}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Message(ctx, "INBOX", pop3ID(uidls[3]), mailproxy.ViewOptions{}); err != nil {
		t.Fatal(err)
	}
	quits := srv.Count("QUIT")
	if err := d.Delete(ctx, "INBOX", []string{pop3ID(uidls[3]), pop3ID(uidls[7]), pop3ID(uidls[3])}); err != nil {
		t.Fatal(err)
	}
	if srv.Count("QUIT") != quits+1 || srv.Count("DELE") != 2 {
		t.Errorf("QUIT %d→%d, DELE %d", quits, srv.Count("QUIT"), srv.Count("DELE"))
	}
	if got := srv.UIDLs("alice"); len(got) != 8 || pop3Contains(got, uidls[3]) || pop3Contains(got, uidls[7]) {
		t.Fatalf("maildrop after deleting 2 of 10: %v", got)
	}
	pop3WaitFor(t, "the connection to close after QUIT", func() bool { return srv.Conns() == 0 })
	p, err := s.List(ctx, "INBOX", mailproxy.ListQuery{Page: 1, PageSize: 50})
	if err != nil || p.Total != 8 || p.Unread != 8 {
		t.Fatalf("list after delete: %+v, %v", p, err)
	}
	for _, row := range p.Messages {
		if row.Subject == "msg 3" || row.Subject == "msg 7" {
			t.Errorf("deleted message still listed: %q", row.Subject)
		}
	}

	// Another client removes the two oldest messages: every number we
	// learnt is now off by two. Deleting "msg 5" must delete msg 5.
	pop3WaitFor(t, "grace close", func() bool { return srv.Conns() == 0 })
	other, err := pop3.Dial(srv.Addr(), &pop3.Options{AllowInsecureAuth: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Login("alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	other.Dele(1)
	other.Dele(2)
	if err := other.Quit(); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(ctx, "INBOX", []string{pop3ID(uidls[5])}); err != nil {
		t.Fatal(err)
	}
	left := srv.Messages("alice")
	var subjects []string
	for _, m := range left {
		subjects = append(subjects, message.ParseMessage(bytes.NewReader(m), 0, mailproxy.ViewOptions{}, nil).Subject)
	}
	if got := strings.Join(subjects, ","); got != "msg 2,msg 4,msg 6,msg 8,msg 9" {
		t.Errorf("left after deleting msg 5: %s", got)
	}

	// Ids that are gone: ErrNotFound when none exists, success when some
	// do (the others are skipped).
	if err := d.Delete(ctx, "INBOX", []string{pop3ID(uidls[0]), pop3ID(uidls[5])}); !errors.Is(err, mailproxy.ErrNotFound) {
		t.Errorf("Delete of gone messages = %v, want ErrNotFound", err)
	}
	if err := d.Delete(ctx, "INBOX", []string{pop3ID(uidls[0]), pop3ID(uidls[9])}); err != nil {
		t.Errorf("Delete of one gone and one present = %v", err)
	}
	if got := len(srv.Messages("alice")); got != 4 {
		t.Errorf("%d messages left, want 4", got)
	}
	if err := d.Delete(ctx, "INBOX", nil); err != nil {
		t.Errorf("Delete(nil) = %v", err)
	}
}

func pop3Contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// TestPOP3GraceClose: the connection stays for the grace period, is
// reused within it, and then closed with QUIT, which removes nothing.
func TestPOP3GraceClose(t *testing.T) {
	t.Parallel()
	srv := pop3Server(t, pop3test.Options{Lock: true}, pop3Msgs(5))
	b := pop3BackendFor(t, srv.URL(), Options{Grace: 300 * time.Millisecond})
	s := b.Session("s", pop3Creds)
	ctx := context.Background()
	if _, err := s.List(ctx, "INBOX", mailproxy.ListQuery{Page: 1, PageSize: 10}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Message(ctx, "INBOX", pop3ID(srv.UIDLs("alice")[0]), mailproxy.ViewOptions{}); err != nil {
		t.Fatal(err)
	}
	if srv.Conns() != 1 || srv.Count("PASS")+srv.Count("AUTH") != 1 {
		t.Errorf("two requests within the grace period: %d connections, %d logins", srv.Conns(), srv.Count("PASS")+srv.Count("AUTH"))
	}
	if _, conns := b.Stats(); conns != 1 {
		t.Errorf("Stats() conns = %d, want 1", conns)
	}
	t0 := time.Now()
	pop3WaitFor(t, "the grace period to end", func() bool { return srv.Conns() == 0 })
	if d := time.Since(t0); d < 200*time.Millisecond {
		t.Errorf("connection closed after %v, grace is 300ms", d)
	}
	if srv.Count("QUIT") != 1 || srv.Count("DELE") != 0 || len(srv.Messages("alice")) != 5 {
		t.Errorf("QUIT %d, DELE %d, %d messages", srv.Count("QUIT"), srv.Count("DELE"), len(srv.Messages("alice")))
	}
	if _, conns := b.Stats(); conns != 0 {
		t.Errorf("Stats() conns = %d after the grace period", conns)
	}
	// Logout quits at once.
	if _, err := s.Folders(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if srv.Conns() != 0 && srv.Count("QUIT") != 2 {
		pop3WaitFor(t, "logout", func() bool { return srv.Conns() == 0 })
	}
	if sessions, _ := b.Stats(); sessions != 0 {
		t.Errorf("%d sessions after Close", sessions)
	}
}

// TestPOP3Reconnect: a connection the server dropped is replaced
// transparently.
func TestPOP3Reconnect(t *testing.T) {
	t.Parallel()
	srv := pop3Server(t, pop3test.Options{}, pop3Msgs(5))
	b := pop3BackendFor(t, srv.URL(), Options{Grace: 10 * time.Second})
	s := b.Session("s", pop3Creds)
	ctx := context.Background()
	if _, err := s.Folders(ctx); err != nil {
		t.Fatal(err)
	}
	srv.CloseConnections()
	pop3WaitFor(t, "drop", func() bool { return srv.Conns() == 0 })
	m, err := s.Message(ctx, "INBOX", pop3ID(srv.UIDLs("alice")[2]), mailproxy.ViewOptions{})
	if err != nil || m.Subject != "msg 2" {
		t.Fatalf("Message after the server dropped the connection = %v", err)
	}
	if got := srv.Count("PASS") + srv.Count("AUTH"); got != 2 {
		t.Errorf("%d logins, want 2", got)
	}
}

// TestPOP3SameUserTwoSessions: two sessions of one user (two devices)
// do not lock each other out: the second takes over the maildrop.
func TestPOP3SameUserTwoSessions(t *testing.T) {
	t.Parallel()
	srv := pop3Server(t, pop3test.Options{Lock: true}, pop3Msgs(5))
	b := pop3BackendFor(t, srv.URL(), Options{Grace: 10 * time.Second})
	ctx := context.Background()
	s1, s2 := b.Session("s1", pop3Creds), b.Session("s2", pop3Creds)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := s1
			if i%2 == 1 {
				s = s2
			}
			_, err := s.List(ctx, "INBOX", mailproxy.ListQuery{Page: 1, PageSize: 5})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("List = %v", err)
		}
	}
	// The server counts a connection until it has seen it close.
	pop3WaitFor(t, "at most one connection", func() bool { return srv.Conns() <= 1 })
	if _, conns := b.Stats(); conns != 1 {
		t.Errorf("%d connections for one maildrop", conns)
	}
}

func TestPOP3NoUIDL(t *testing.T) {
	t.Parallel()
	msgs := pop3Msgs(8)
	msgs = append(msgs, []byte("Status: RO\r\nFrom: x@example.org\r\nSubject: mbox\r\n\r\nbody\r\n"))
	srv := pop3Server(t, pop3test.Options{NoUIDL: true}, msgs)
	b := pop3BackendFor(t, srv.URL(), Options{Grace: 50 * time.Millisecond})
	s := b.Session("s", pop3Creds)
	ctx := context.Background()
	p, err := s.List(ctx, "INBOX", mailproxy.ListQuery{Page: 1, PageSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	if p.Total != 9 || len(p.Messages) != 5 || p.Messages[0].Subject != "mbox" || p.Messages[1].Subject != "msg 7" {
		t.Fatalf("page %+v", p)
	}
	ids := map[string]string{}
	for _, row := range p.Messages {
		if !strings.HasPrefix(row.ID, "~") || url.PathEscape(row.ID) != row.ID {
			t.Errorf("id %q", row.ID)
		}
		ids[row.Subject] = row.ID
	}
	if len(ids) != 5 {
		t.Errorf("ids not unique: %v", ids)
	}
	m, err := s.Message(ctx, "INBOX", ids["msg 6"], mailproxy.ViewOptions{})
	if err != nil || m.Subject != "msg 6" || m.NextID != ids["msg 7"] {
		t.Fatalf("Message = %+v, %v", m, err)
	}
	// Another client removes the oldest messages; the ids still find
	// their messages on the next connection.
	pop3WaitFor(t, "grace close", func() bool { return srv.Conns() == 0 })
	other, err := pop3.Dial(srv.Addr(), &pop3.Options{AllowInsecureAuth: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Login("alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	other.Dele(1)
	other.Dele(2)
	other.Quit()
	if m, err := s.Message(ctx, "INBOX", ids["msg 5"], mailproxy.ViewOptions{}); err != nil || m.Subject != "msg 5" {
		t.Fatalf("Message after the numbers shifted = %v", err)
	}
	if err := s.(mailproxy.Deleter).Delete(ctx, "INBOX", []string{ids["msg 7"]}); err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for _, m := range srv.Messages("alice") {
		subjects = append(subjects, message.ParseMessage(bytes.NewReader(m), 0, mailproxy.ViewOptions{}, nil).Subject)
	}
	if got := strings.Join(subjects, ","); got != "msg 2,msg 3,msg 4,msg 5,msg 6,mbox" {
		t.Errorf("left: %s", got)
	}
	if _, err := s.Message(ctx, "INBOX", ids["msg 7"], mailproxy.ViewOptions{}); !errors.Is(err, mailproxy.ErrNotFound) {
		t.Errorf("deleted message = %v, want ErrNotFound", err)
	}
}

func TestPOP3HashIDIgnoresVolatileHeaders(t *testing.T) {
	t.Parallel()
	a := pop3HashID([]byte("From: x\r\nSubject: hi\r\n there\r\nStatus: RO\r\nX-UID: 5\r\n\r\nbody"))
	b := pop3HashID([]byte("Status: O\r\nFrom: x\r\nSubject: hi\r\n there\r\n\r\nother body"))
	c := pop3HashID([]byte("From: x\r\nSubject: hi\r\n\r\n"))
	if a != b || a == c {
		t.Errorf("hash ids %q %q %q", a, b, c)
	}
}

func TestPOP3NoTop(t *testing.T) {
	t.Parallel()
	srv := pop3Server(t, pop3test.Options{NoTop: true}, pop3Msgs(6))
	b := pop3BackendFor(t, srv.URL(), Options{})
	s := b.Session("s", pop3Creds)
	p, err := s.List(context.Background(), "INBOX", mailproxy.ListQuery{Page: 1, PageSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range p.Messages {
		if want := fmt.Sprint("msg ", 5-i); row.Subject != want || row.Preview != fmt.Sprintf("Body of message %d.", 5-i) {
			t.Errorf("row %d: %q %q", i, row.Subject, row.Preview)
		}
	}
	if srv.Count("TOP") != 1 {
		t.Errorf("TOP tried %d times, want once", srv.Count("TOP"))
	}
}

func TestPOP3UnknownFolder(t *testing.T) {
	t.Parallel()
	srv := pop3Server(t, pop3test.Options{}, pop3Msgs(2))
	b := pop3BackendFor(t, srv.URL(), Options{})
	s := b.Session("s", pop3Creds)
	ctx := context.Background()
	id := pop3ID(srv.UIDLs("alice")[0])
	calls := []struct {
		name string
		call func(string) error
	}{
		{"List", func(f string) error { _, err := s.List(ctx, f, mailproxy.ListQuery{}); return err }},
		{"Message", func(f string) error { _, err := s.Message(ctx, f, id, mailproxy.ViewOptions{}); return err }},
		{"Part", func(f string) error { return s.Part(ctx, f, id, "1", &pop3PartSink{srv: srv, h: sha256.New()}) }},
		{"Delete", func(f string) error { return s.(mailproxy.Deleter).Delete(ctx, f, []string{id}) }},
	}
	for _, c := range calls {
		for _, f := range []string{"Sent", "INBOX/Sub", ""} {
			if err := c.call(f); !errors.Is(err, mailproxy.ErrNotFound) {
				t.Errorf("%s(%q) = %v, want ErrNotFound", c.name, f, err)
			}
		}
		if err := c.call("inbox"); err != nil {
			t.Errorf("%s(inbox) = %v", c.name, err)
		}
	}
	if srv.Count("DELE") != 1 || srv.Count("USER")+srv.Count("AUTH") == 0 {
		t.Errorf("DELE %d", srv.Count("DELE"))
	}
}

// TestPOP3WeirdUIDL: UIDLs may hold any printable character; ids are
// URL-safe and still find their message.
func TestPOP3WeirdUIDL(t *testing.T) {
	t.Parallel()
	srv := pop3Server(t, pop3test.Options{UIDL: func(seq int, _ []byte) string { return fmt.Sprintf("a/b?c#%%d+%d~.", seq) }}, pop3Msgs(3))
	b := pop3BackendFor(t, srv.URL(), Options{})
	s := b.Session("s", pop3Creds)
	p, err := s.List(context.Background(), "INBOX", mailproxy.ListQuery{Page: 1, PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range p.Messages {
		if url.PathEscape(row.ID) != row.ID || strings.ContainsAny(row.ID, "/?#%+~.") {
			t.Errorf("id %q is not URL-safe", row.ID)
		}
		if m, err := s.Message(context.Background(), "INBOX", row.ID, mailproxy.ViewOptions{}); err != nil || m.Subject != row.Subject {
			t.Errorf("Message(%q) = %v", row.ID, err)
		}
	}
}

// TestPOP3Anchor: mail that arrives while the user pages is left out and
// counted in Newer.
func TestPOP3Anchor(t *testing.T) {
	t.Parallel()
	srv := pop3Server(t, pop3test.Options{}, pop3Msgs(30))
	b := pop3BackendFor(t, srv.URL(), Options{Grace: 20 * time.Millisecond})
	s := b.Session("s", pop3Creds)
	ctx := context.Background()
	p, err := s.List(ctx, "INBOX", mailproxy.ListQuery{Page: 1, PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Add("alice", pop3Msgs(3)...); err != nil {
		t.Fatal(err)
	}
	pop3WaitFor(t, "grace close", func() bool { return srv.Conns() == 0 })
	p2, err := s.List(ctx, "INBOX", mailproxy.ListQuery{Page: 2, PageSize: 10, Anchor: p.Anchor})
	if err != nil {
		t.Fatal(err)
	}
	if p2.Newer != 3 || p2.Total != 30 || p2.Messages[0].Subject != "msg 19" || p2.Anchor != 30 {
		t.Errorf("page 2 with anchor: newer %d total %d first %q anchor %d", p2.Newer, p2.Total, p2.Messages[0].Subject, p2.Anchor)
	}
	p1, _ := s.List(ctx, "INBOX", mailproxy.ListQuery{Page: 1, PageSize: 10})
	if p1.Newer != 0 || p1.Total != 33 || p1.Unread != 33 {
		t.Errorf("page 1 without anchor: newer %d total %d unread %d", p1.Newer, p1.Total, p1.Unread)
	}
}

func TestPOP3Timeouts(t *testing.T) {
	t.Parallel()
	srv := pop3Server(t, pop3test.Options{Delay: 300 * time.Millisecond}, pop3Msgs(2))
	t.Run("command timeout", func(t *testing.T) {
		b := pop3BackendFor(t, srv.URL(), Options{CommandTimeout: 100 * time.Millisecond})
		t0 := time.Now()
		err := b.Login(context.Background(), "s", pop3Creds)
		if !errors.Is(err, mailproxy.ErrUnavailable) || time.Since(t0) > 2*time.Second {
			t.Errorf("Login against a slow server = %v after %v, want ErrUnavailable", err, time.Since(t0))
		}
	})
	t.Run("login timeout", func(t *testing.T) {
		// Greeted in time, but the login's answers are slow: the login
		// deadline ends it, as a stalled login.
		b := pop3BackendFor(t, srv.URL(), Options{DialTimeout: 5 * time.Second, LoginTimeout: 150 * time.Millisecond})
		t0 := time.Now()
		err := b.Login(context.Background(), "s", pop3Creds)
		if !errors.Is(err, mailproxy.ErrUnavailable) || !errors.Is(err, mailproxy.ErrLoginStalled) || time.Since(t0) > 2*time.Second {
			t.Errorf("Login = %v after %v, want ErrUnavailable and ErrLoginStalled", err, time.Since(t0))
		}
	})
	t.Run("context", func(t *testing.T) {
		b := pop3BackendFor(t, srv.URL(), Options{})
		if err := b.Login(context.Background(), "s", pop3Creds); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		t0 := time.Now()
		_, err := b.Session("s", pop3Creds).List(ctx, "INBOX", mailproxy.ListQuery{})
		if !errors.Is(err, mailproxy.ErrUnavailable) || time.Since(t0) > 2*time.Second {
			t.Errorf("List past its context = %v after %v, want ErrUnavailable", err, time.Since(t0))
		}
	})
}

// TestPOP3Security: pop3:// requires STLS and pop3s:// TLS; against a
// plain-text server neither sends the password.
func TestPOP3Security(t *testing.T) {
	t.Parallel()
	srv := pop3Server(t, pop3test.Options{}, pop3Msgs(1))
	for _, scheme := range []string{"pop3", "pop3s"} {
		b := pop3BackendFor(t, scheme+"://"+srv.Addr(), Options{DialTimeout: 2 * time.Second})
		if err := b.Login(context.Background(), "s", pop3Creds); !errors.Is(err, mailproxy.ErrUnavailable) {
			t.Errorf("%s against a plain server: %v, want ErrUnavailable", scheme, err)
		}
	}
	if n := srv.Count("PASS") + srv.Count("AUTH") + srv.Count("USER"); n != 0 {
		t.Errorf("credentials sent %d times over plain text", n)
	}

	srvCfg, cliCfg, err := pop3test.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	for _, implicit := range []bool{false, true} {
		tlsSrv := pop3Server(t, pop3test.Options{TLS: srvCfg, ImplicitTLS: implicit}, pop3Msgs(2))
		b := pop3BackendFor(t, tlsSrv.URL(), Options{TLSConfig: cliCfg})
		if p, err := b.Session("s", pop3Creds).List(context.Background(), "INBOX", mailproxy.ListQuery{}); err != nil || p.Total != 2 {
			t.Errorf("%s: List = %v", tlsSrv.URL(), err)
		}
		if !implicit && tlsSrv.Count("STLS") != 1 {
			t.Errorf("%s: STLS sent %d times", tlsSrv.URL(), tlsSrv.Count("STLS"))
		}
		// A certificate we do not trust is refused before any login.
		b = pop3BackendFor(t, tlsSrv.URL(), Options{})
		if err := b.Login(context.Background(), "s", pop3Creds); !errors.Is(err, mailproxy.ErrUnavailable) {
			t.Errorf("%s with an untrusted certificate: %v, want ErrUnavailable", tlsSrv.URL(), err)
		}
		if n := tlsSrv.Count("PASS") + tlsSrv.Count("AUTH"); n != 1 {
			t.Errorf("%s: %d logins, want 1", tlsSrv.URL(), n)
		}
	}
}

func TestPOP3Classify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want error
	}{
		{&pop3.Error{Cmd: "PASS", Code: "IN-USE", Text: "locked"}, mailproxy.ErrBusy},
		{&pop3.Error{Cmd: "PASS", Text: "unable to lock maildrop"}, mailproxy.ErrBusy},
		{&pop3.Error{Cmd: "AUTH", Code: "LOGIN-DELAY", Text: "wait"}, mailproxy.ErrBusy},
		{&pop3.Error{Cmd: "PASS", Code: "AUTH", Text: "no"}, mailproxy.ErrAuth},
		{&pop3.Error{Cmd: "PASS", Text: "invalid password"}, mailproxy.ErrAuth},
		{&pop3.Error{Cmd: "PASS", Code: "SYS/TEMP", Text: "db down"}, mailproxy.ErrUnavailable},
		{&pop3.Error{Cmd: "PASS", Code: "SYS/PERM", Text: "broken"}, mailproxy.ErrUnavailable},
		{&pop3.Error{Cmd: "RETR", Text: "no such message"}, mailproxy.ErrUnavailable},
		{fmt.Errorf("pop3: RETR: %w", io.ErrUnexpectedEOF), mailproxy.ErrUnavailable},
		{context.DeadlineExceeded, mailproxy.ErrUnavailable},
		{fmt.Errorf("%w: x", mailproxy.ErrNotFound), mailproxy.ErrNotFound},
	}
	for _, tt := range tests {
		got := classifyPOP3(tt.err)
		if !errors.Is(got, tt.want) {
			t.Errorf("classifyPOP3(%v) = %v, want %v", tt.err, got, tt.want)
		}
		if tt.want == mailproxy.ErrBusy && errors.Is(got, mailproxy.ErrAuth) {
			t.Errorf("classifyPOP3(%v) is also ErrAuth", tt.err)
		}
	}
	if classifyPOP3(nil) != nil {
		t.Error("classifyPOP3(nil) != nil")
	}
}

func TestPOP3Forget(t *testing.T) {
	t.Parallel()
	srv := pop3Server(t, pop3test.Options{}, pop3Msgs(2))
	b := pop3BackendFor(t, srv.URL(), Options{ForgetAfter: 40 * time.Millisecond, Grace: 10 * time.Millisecond})
	if err := b.Login(context.Background(), "s", pop3Creds); err != nil {
		t.Fatal(err)
	}
	pop3WaitFor(t, "the session to be forgotten", func() bool {
		sessions, _ := b.Stats()
		return sessions == 0
	})
	pop3WaitFor(t, "the connection to close", func() bool { return srv.Conns() == 0 })
}

func TestPOP3CacheEviction(t *testing.T) {
	t.Parallel()
	var c pop3Cache
	for i := range pop3CacheEntries + 10 {
		c.put(fmt.Sprint(i), mailproxy.Summary{Subject: fmt.Sprint(i)})
	}
	if _, ok := c.get("9"); ok {
		t.Error("the oldest entries were not evicted")
	}
	if s, ok := c.get("10"); !ok || s.Subject != "10" {
		t.Error("entry 10 evicted too early")
	}
	if len(c.m) != pop3CacheEntries {
		t.Errorf("%d entries, want %d", len(c.m), pop3CacheEntries)
	}
	c.remove("10")
	c.put("new", mailproxy.Summary{})
	if _, ok := c.get("11"); !ok || len(c.m) != pop3CacheEntries {
		t.Errorf("a removed entry made room: %d entries", len(c.m))
	}
}

// TestPOP3MessageViewKept: a message shown again (after an attachment
// download, a reload) is not retrieved again; an HTML message shown with
// remote images allowed is; a deleted message's kept view is forgotten;
// only the last pop3ViewsKept messages are kept.
func TestPOP3MessageViewKept(t *testing.T) {
	html := []byte("From: a@example.org\r\nSubject: html\r\nContent-Type: text/html\r\n\r\n<p>Hi <img src=\"https://example.org/x.png\"></p>\r\n")
	msgs := append(pop3Msgs(6), html)
	srv := pop3Server(t, pop3test.Options{}, msgs)
	b := pop3BackendFor(t, srv.URL(), Options{})
	s := b.Session("s", pop3Creds)
	ctx := context.Background()
	uidls := srv.UIDLs("alice")
	show := func(i int, remote bool) *mailproxy.Message {
		t.Helper()
		m, err := s.Message(ctx, "INBOX", pop3ID(uidls[i]), mailproxy.ViewOptions{RemoteImages: remote})
		if err != nil {
			t.Fatalf("Message(%d) = %v", i, err)
		}
		return m
	}
	retrs := func() int { return srv.Count("RETR") }

	first := show(1, false)
	r0 := retrs()
	again := show(1, false)
	if got := retrs() - r0; got != 0 {
		t.Errorf("showing a message again sent %d RETR, want 0", got)
	}
	if again.Subject != "msg 1" || again.Body.Text != first.Body.Text || again.PrevID != pop3ID(uidls[0]) || again.NextID != pop3ID(uidls[2]) || !again.Seen {
		t.Errorf("kept view differs: %q %q prev %q next %q", again.Subject, again.Body.Text, again.PrevID, again.NextID)
	}
	again.Subject = "changed by a caller"
	if show(1, false).Subject != "msg 1" {
		t.Errorf("a caller's change leaked into the kept view")
	}
	// A text message looks the same with remote images allowed.
	r0 = retrs()
	show(1, true)
	if got := retrs() - r0; got != 0 {
		t.Errorf("text message with images allowed sent %d RETR, want 0", got)
	}
	// HTML depends on the choice.
	blocked := show(6, false)
	r0 = retrs()
	allowed := show(6, true)
	if got := retrs() - r0; got != 1 || !blocked.Body.RemoteBlocked || allowed.Body.RemoteBlocked {
		t.Errorf("HTML with images allowed: %d RETR (want 1), blocked %v then %v", got, blocked.Body.RemoteBlocked, allowed.Body.RemoteBlocked)
	}
	// Only the last few are kept.
	for i := range pop3ViewsKept {
		show(i+2, false)
	}
	r0 = retrs()
	show(1, false)
	if got := retrs() - r0; got != 1 {
		t.Errorf("message shown %d messages ago: %d RETR, want 1", pop3ViewsKept, got)
	}
	// Deleted: gone, not served from what was kept.
	if err := s.(mailproxy.Deleter).Delete(ctx, "INBOX", []string{pop3ID(uidls[1])}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Message(ctx, "INBOX", pop3ID(uidls[1]), mailproxy.ViewOptions{}); !errors.Is(err, mailproxy.ErrNotFound) {
		t.Errorf("deleted message = %v, want ErrNotFound", err)
	}
}

// TestPOP3PartEndlessServer: a server that announces a 2 KB message and
// then streams an attachment without end gets a clean error once it has
// sent far more than it announced, not a download that never ends.
func TestPOP3PartEndlessServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var sent atomic.Int64
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				br := bufio.NewReader(conn)
				w := func(s string) error {
					n, err := io.WriteString(conn, s)
					sent.Add(int64(n))
					return err
				}
				w("+OK ready\r\n")
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					switch cmd, _, _ := strings.Cut(strings.TrimSpace(line), " "); strings.ToUpper(cmd) {
					case "CAPA":
						w("+OK\r\nUSER\r\nUIDL\r\nTOP\r\n.\r\n")
					case "UIDL":
						w("+OK\r\n1 endless\r\n.\r\n")
					case "LIST":
						w("+OK 1 2048\r\n")
					case "RETR":
						w("+OK\r\nSubject: endless\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nhi\r\n--B\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=x.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n")
						line := strings.Repeat("QUJD", 19) + "\r\n"
						for w(line) == nil {
						}
						return
					case "QUIT":
						w("+OK bye\r\n")
						return
					default:
						w("+OK\r\n")
					}
				}
			}()
		}
	}()
	b := pop3BackendFor(t, "pop3+insecure://"+ln.Addr().String(), Options{})
	s := b.Session("s", pop3Creds)
	sink := &pop3PartSink{h: sha256.New()}
	err = s.Part(context.Background(), "INBOX", pop3ID("endless"), "2", pop3PlainSink{sink})
	if !errors.Is(err, mailproxy.ErrUnavailable) {
		t.Fatalf("Part from an endless server = %v, want ErrUnavailable", err)
	}
	// What the server managed to send also fills the kernel's socket
	// buffers (several MB on loopback), so only a loose bound holds there.
	if limit := int64(2*2048 + pop3SizeSlack); sent.Load() > limit+32<<20 || sink.n > limit {
		t.Errorf("server sent %d bytes and %d reached the browser before the download was stopped", sent.Load(), sink.n)
	}
	t.Logf("stopped after %d bytes sent, %d written", sent.Load(), sink.n)
}

// TestPOP3Collect: a message shown with ViewOptions.Collect is deleted
// at the next List, not before; when that fails (the maildrop is busy)
// it stays pending and goes at the following List; messages shown
// without Collect stay.
func TestPOP3Collect(t *testing.T) {
	srv := pop3Server(t, pop3test.Options{Lock: true}, pop3Msgs(5))
	b := pop3BackendFor(t, srv.URL(), Options{DialTimeout: 2 * time.Second})
	s := b.Session("s", pop3Creds)
	ctx := context.Background()
	uidls := srv.UIDLs("alice")
	for i, collect := range map[int]bool{1: true, 3: true, 4: false} {
		if _, err := s.Message(ctx, "INBOX", pop3ID(uidls[i]), mailproxy.ViewOptions{Collect: collect}); err != nil {
			t.Fatalf("Message(%d) = %v", i, err)
		}
	}
	if n := len(srv.Messages("alice")); n != 5 {
		t.Fatalf("%d messages left before listing, want 5", n)
	}
	srv.CloseConnections()
	release := srv.Hold("alice")
	if _, err := s.List(ctx, "INBOX", mailproxy.ListQuery{}); !errors.Is(err, mailproxy.ErrBusy) {
		t.Errorf("List while the maildrop is held = %v, want ErrBusy", err)
	}
	release()
	if n := len(srv.Messages("alice")); n != 5 {
		t.Fatalf("%d messages left after a failed collect, want 5", n)
	}
	p, err := s.List(ctx, "INBOX", mailproxy.ListQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Total != 3 {
		t.Errorf("list total %d after collecting two, want 3", p.Total)
	}
	left := srv.UIDLs("alice")
	if !slices.Equal(left, []string{uidls[0], uidls[2], uidls[4]}) {
		t.Errorf("maildrop holds %q, want %q", left, []string{uidls[0], uidls[2], uidls[4]})
	}
	dele := srv.Count("DELE")
	if _, err := s.List(ctx, "INBOX", mailproxy.ListQuery{}); err != nil {
		t.Fatal(err)
	}
	if srv.Count("DELE") != dele {
		t.Errorf("a second List sent DELE again")
	}
}
