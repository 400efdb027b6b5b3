package pop3mail

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/thumbmail/thumbmail/internal/dovecottest"
	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/pop3"
)

// TestPOP3Dovecot runs the POP3 backend against a real Dovecot with
// pop3_lock_session = yes: a 5,000-message maildrop paged first and
// last, a message opened, a large attachment downloaded, two messages
// deleted, and "busy" (not "wrong password") while another client holds
// the lock. It skips without Dovecot (see dovecottest).
func TestPOP3Dovecot(t *testing.T) {
	t.Parallel()
	srv := dovecottest.Start(t, &dovecottest.Options{POP3: true, POP3LockSession: true, Users: []dovecottest.User{
		{Name: "alice", Password: dovecottest.DefaultPassword},
		{Name: "bob", Password: "bob-secret-pw"},
	}})
	start := time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC)
	const n = 5000
	big, data := pop3BigMessage(4 << 20)
	srv.WriteMessages(t, "alice", "INBOX", append(dovecottest.GenerateMessages(n-1, start), big), nil)
	srv.WriteMessages(t, "bob", "INBOX", dovecottest.GenerateMessages(3, start), nil)
	b := pop3BackendFor(t, srv.POP3URL(), Options{})
	alice := mailproxy.Credentials{Username: "alice", Password: dovecottest.DefaultPassword}
	bob := mailproxy.Credentials{Username: "bob", Password: "bob-secret-pw"}

	t.Run("busy", func(t *testing.T) {
		t.Parallel()
		// Another mail program holds bob's maildrop. Dovecot makes our
		// login wait for the lock (10 s), then refuses it with [IN-USE].
		other, err := pop3.Dial(srv.POP3Addr, &pop3.Options{AllowInsecureAuth: true, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		if err := other.Login(bob.Username, bob.Password); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		err = b.Login(context.Background(), "bob-1", bob)
		if !errors.Is(err, mailproxy.ErrBusy) || errors.Is(err, mailproxy.ErrAuth) {
			t.Fatalf("Login while another client holds the maildrop = %v (after %v), want ErrBusy", err, time.Since(t0))
		}
		t.Logf("busy after %v: %v", time.Since(t0).Round(time.Millisecond), err)
		if err := other.Quit(); err != nil {
			t.Fatal(err)
		}
		if err := b.Login(context.Background(), "bob-1", bob); err != nil {
			t.Fatalf("Login after the other client quit = %v", err)
		}
		if err := b.Login(context.Background(), "bob-2", mailproxy.Credentials{Username: "bob", Password: "wrong"}); !errors.Is(err, mailproxy.ErrAuth) {
			t.Errorf("wrong password = %v, want ErrAuth", err)
		}
	})

	t.Run("alice", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		if err := b.Login(ctx, "alice", alice); err != nil {
			t.Fatal(err)
		}
		s := b.Session("alice", alice)
		t0 := time.Now()
		first, err := s.List(ctx, "INBOX", mailproxy.ListQuery{Page: 1, PageSize: 50})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("first page in %v", time.Since(t0).Round(time.Millisecond))
		if first.Total != n || first.Pages != n/50 || len(first.Messages) != 50 || first.Unread != n {
			t.Fatalf("first page: total %d, %d pages, %d rows, %d unread", first.Total, first.Pages, len(first.Messages), first.Unread)
		}
		if row := first.Messages[0]; row.Subject != "big" || !row.Attachment || row.Size < int64(len(big)) {
			t.Errorf("newest row %+v", row)
		}
		for i, row := range first.Messages[1:] {
			if want := dovecottest.MessageSubject(n - 2 - i); row.Subject != want {
				t.Errorf("row %d: %q, want %q", i+1, row.Subject, want)
			}
		}
		t0 = time.Now()
		last, err := s.List(ctx, "INBOX", mailproxy.ListQuery{Page: first.Pages, PageSize: 50, Anchor: first.Anchor})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("last page in %v", time.Since(t0).Round(time.Millisecond))
		if last.First != n-49 || last.Last != n || len(last.Messages) != 50 {
			t.Fatalf("last page: rows %d–%d (%d)", last.First, last.Last, len(last.Messages))
		}
		for i, row := range last.Messages {
			if want := dovecottest.MessageSubject(49 - i); row.Subject != want || !row.Date.Equal(dovecottest.MessageDate(49-i, start)) {
				t.Errorf("row %d: %q at %v, want %q at %v", i, row.Subject, row.Date, want, dovecottest.MessageDate(49-i, start))
			}
		}

		// Open one message.
		one := last.Messages[10] // message 39
		m, err := s.Message(ctx, "INBOX", one.ID, mailproxy.ViewOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject != dovecottest.MessageSubject(39) || "<"+m.MessageID+">" != dovecottest.MessageID(39) || m.Body.Text == "" && m.Body.HTML == "" {
			t.Errorf("message 39: %q %q", m.Subject, m.MessageID)
		}
		if m.PrevID != last.Messages[11].ID || m.NextID != last.Messages[9].ID {
			t.Errorf("prev/next %q/%q", m.PrevID, m.NextID)
		}

		// The large attachment.
		bm, err := s.Message(ctx, "INBOX", first.Messages[0].ID, mailproxy.ViewOptions{})
		if err != nil || len(bm.Attachments) == 0 {
			t.Fatalf("big message: %v, %+v", err, bm)
		}
		att := bm.Attachments[len(bm.Attachments)-1]
		sink := &pop3PartSink{h: sha256.New()}
		if err := s.Part(ctx, "INBOX", bm.ID, att.Part, pop3PlainSink{sink}); err != nil {
			t.Fatal(err)
		}
		if want := sha256.Sum256(data); sink.n != int64(len(data)) || !bytes.Equal(sink.h.Sum(nil), want[:]) {
			t.Errorf("attachment: %d bytes, want %d, content matches %v", sink.n, len(data), bytes.Equal(sink.h.Sum(nil), want[:]))
		}

		// Delete two messages; they are gone for good.
		p, _ := s.List(ctx, "INBOX", mailproxy.ListQuery{Page: 1, PageSize: 50})
		if p.Unread != n-2 {
			t.Errorf("unread %d after opening two, want %d", p.Unread, n-2)
		}
		gone := []string{p.Messages[1].ID, p.Messages[2].ID}
		if err := s.(mailproxy.Deleter).Delete(ctx, "INBOX", gone); err != nil {
			t.Fatal(err)
		}
		p, err = s.List(ctx, "INBOX", mailproxy.ListQuery{Page: 1, PageSize: 50})
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != n-2 || p.Messages[1].Subject != dovecottest.MessageSubject(n-4) {
			t.Errorf("after deleting two: total %d, second row %q", p.Total, p.Messages[1].Subject)
		}
		for _, id := range gone {
			if _, err := s.Message(ctx, "INBOX", id, mailproxy.ViewOptions{}); !errors.Is(err, mailproxy.ErrNotFound) {
				t.Errorf("deleted message: %v, want ErrNotFound", err)
			}
		}
		// The maildrop is free again once the grace period is over
		// (Dovecot makes this login wait for the lock meanwhile).
		other, err := pop3.Dial(srv.POP3Addr, &pop3.Options{AllowInsecureAuth: true, Timeout: 8 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		if err := other.Login(alice.Username, alice.Password); err != nil {
			t.Errorf("another client after our grace period: %v", err)
		} else if count, _, _ := other.Stat(); count != n-2 {
			t.Errorf("STAT %d, want %d", count, n-2)
		}
		other.Quit()
		if strings.Contains(srv.Log(), "Error") {
			t.Logf("dovecot log mentions errors:\n%s", srv.Log())
		}
	})
}

// pop3PlainSink is a pop3PartSink without a server to look at.
type pop3PlainSink struct{ p *pop3PartSink }

func (s pop3PlainSink) Begin(a mailproxy.Attachment) { s.p.Begin(a) }
func (s pop3PlainSink) Write(b []byte) (int, error) {
	s.p.n += int64(len(b))
	s.p.writes++
	s.p.h.Write(b)
	return len(b), nil
}
