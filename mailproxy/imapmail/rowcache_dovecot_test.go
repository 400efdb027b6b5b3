package imapmail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/thumbmail/thumbmail/internal/dovecottest"
	"github.com/thumbmail/thumbmail/mailproxy"
)

// commandLog is a TCP relay in front of the server that records what the
// client sends, to check which commands a page needs.
type commandLog struct {
	addr string
	mu   sync.Mutex
	buf  bytes.Buffer
}

func newCommandLog(t *testing.T, upstream string) *commandLog {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	l := &commandLog{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", upstream)
			if err != nil {
				c.Close()
				continue
			}
			go func() { io.Copy(c, u); c.Close() }()
			go func() { io.Copy(io.MultiWriter(l, u), c); u.Close() }() // logged before the server sees it
		}
	}()
	return l
}

func (l *commandLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// take returns the commands sent since the last take, tags dropped.
func (l *commandLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\r\n") {
		if _, cmd, ok := strings.Cut(line, " "); ok {
			out = append(out, cmd)
		}
	}
	l.buf.Reset()
	return out
}

// dovecotRows starts Dovecot with n generated messages in alice's INBOX
// and returns a pool that reaches it through a command log, plus a second
// client (another mail program of alice's) with INBOX selected.
func dovecotRows(t *testing.T, n int) (*Pool, *commandLog, *imapclient.Client, *dovecottest.Server) {
	t.Helper()
	srv := dovecottest.Start(t, &dovecottest.Options{MaxUserIPConnections: 20})
	srv.WriteMessages(t, "alice", "INBOX", dovecottest.GenerateMessages(n, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)), nil)
	log := newCommandLog(t, srv.IMAPAddr)
	up, err := mailproxy.ParseUpstream("imap+insecure://"+log.addr, "imap")
	if err != nil {
		t.Fatal(err)
	}
	p := NewPool(&PoolOptions{IMAP: up})
	t.Cleanup(p.Close)
	other, err := imapclient.DialInsecure(srv.IMAPAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	if err := other.Login("alice", dovecottest.DefaultPassword).Wait(); err != nil {
		t.Fatalf("Login().Wait() = %v", err)
	}
	if _, err := other.Select("INBOX", nil).Wait(); err != nil {
		t.Fatalf("Select().Wait() = %v", err)
	}
	return p, log, other, srv
}

var aliceCreds = mailproxy.Credentials{Username: "alice", Password: dovecottest.DefaultPassword}

// checkRows checks that every row shows the message its id names
// (generated message i has UID i+1 and MessageSubject(i)).
func checkRows(t *testing.T, page *mailproxy.MessagePage) {
	t.Helper()
	for _, r := range page.Messages {
		_, uid, err := parseMsgID(r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := dovecottest.MessageSubject(int(uid) - 1); r.Subject != want && !strings.HasPrefix(r.Subject, "New mail") {
			t.Errorf("row %s: subject %q, want %q", r.ID, r.Subject, want)
		}
	}
}

func listPage(t *testing.T, s mailproxy.Session, folder string, page int) *mailproxy.MessagePage {
	t.Helper()
	p, err := s.List(context.Background(), folder, mailproxy.ListQuery{Page: page, PageSize: 50})
	if err != nil {
		t.Fatalf("List(%s, page %d) = %v", folder, page, err)
	}
	checkRows(t, p)
	return p
}

func rowByID(p *mailproxy.MessagePage, id string) (mailproxy.Summary, bool) {
	for _, r := range p.Messages {
		if r.ID == id {
			return r, true
		}
	}
	return mailproxy.Summary{}, false
}

// TestRowCacheDovecotOtherClient lists a folder while another IMAP client
// changes it between page loads: flags, expunges and new mail show on the
// very next page, and a warm page asks only for UIDs and flags.
func TestRowCacheDovecotOtherClient(t *testing.T) {
	const n = 120
	p, log, other, _ := dovecotRows(t, n)
	s := p.Session("sess-1", aliceCreds)
	ctx := context.Background()

	cold := listPage(t, s, "INBOX", 1)
	if len(cold.Messages) != 50 || cold.Total != n || cold.Messages[0].Subject != dovecottest.MessageSubject(n-1) {
		t.Fatalf("cold page: %d rows of %d, first %q", len(cold.Messages), cold.Total, cold.Messages[0].Subject)
	}
	log.take()
	warm := listPage(t, s, "INBOX", 1)
	cmds := log.take()
	for _, c := range cmds {
		if strings.Contains(c, "ENVELOPE") || strings.Contains(c, "BODY") {
			t.Errorf("warm page sent %q; want only NOOP, STATUS and FETCH (UID FLAGS): %q", c, cmds)
		}
	}
	if len(cmds) != 3 {
		t.Errorf("warm page sent %q, want NOOP, STATUS, FETCH", cmds)
	}
	for i := range warm.Messages {
		w, c := warm.Messages[i], cold.Messages[i]
		if w != c {
			t.Errorf("row %d warm %+v, cold %+v", i, w, c)
		}
	}
	if cold.Messages[0].Preview == "" {
		t.Errorf("newest row has no preview")
	}

	// Flags set by the other client show at once.
	newest, second := cold.Messages[0], cold.Messages[1]
	_, newestUID, _ := parseMsgID(newest.ID)
	_, secondUID, _ := parseMsgID(second.ID)
	if err := other.Store(imap.UIDSetNum(newestUID), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged, imap.FlagSeen}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	page := listPage(t, s, "INBOX", 1)
	if r, _ := rowByID(page, newest.ID); !r.Flagged || !r.Seen {
		t.Errorf("after another client flagged %s: %+v", newest.ID, r)
	}
	if err := other.Store(imap.UIDSetNum(newestUID), &imap.StoreFlags{Op: imap.StoreFlagsDel, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if r, _ := rowByID(listPage(t, s, "INBOX", 1), newest.ID); r.Flagged || !r.Seen {
		t.Errorf("after another client unflagged %s: %+v", newest.ID, r)
	}

	// An expunge by the other client: the row is gone, the next one
	// slides in at the bottom.
	if err := other.Store(imap.UIDSetNum(secondUID), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := other.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	page = listPage(t, s, "INBOX", 1)
	if _, ok := rowByID(page, second.ID); ok || page.Total != n-1 || len(page.Messages) != 50 {
		t.Errorf("after another client expunged %s: still listed = %v, total %d, %d rows", second.ID, ok, page.Total, len(page.Messages))
	}
	if got, want := page.Messages[49].Subject, dovecottest.MessageSubject(n-51); got != want {
		t.Errorf("last row after the expunge %q, want %q", got, want)
	}

	// New mail appended by the other client is the first row.
	raw := "From: bob@example.org\r\nTo: alice@example.org\r\nSubject: New mail 1\r\nDate: Mon, 1 Jan 2024 12:00:00 +0000\r\nMessage-ID: <new1@example.org>\r\n\r\nHot off the press.\r\n"
	app := other.Append("INBOX", int64(len(raw)), nil)
	app.Write([]byte(raw))
	app.Close()
	if _, err := app.Wait(); err != nil {
		t.Fatal(err)
	}
	page = listPage(t, s, "INBOX", 1)
	if page.Messages[0].Subject != "New mail 1" || page.Total != n || page.Messages[0].Preview != "Hot off the press." || page.Messages[0].Seen {
		t.Errorf("after new mail: first row %+v, total %d", page.Messages[0], page.Total)
	}

	// Opening a message caches it; flags and expunges still show.
	m, err := s.Message(ctx, "INBOX", newest.ID, mailproxy.ViewOptions{})
	if err != nil {
		t.Fatal(err)
	}
	log.take()
	if err := other.Store(imap.UIDSetNum(newestUID), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	m2, err := s.Message(ctx, "INBOX", newest.ID, mailproxy.ViewOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range log.take() {
		if strings.Contains(c, "BODYSTRUCTURE") || strings.Contains(c, "BODY[") {
			t.Errorf("second opening sent %q: structure and text should come from the cache", c)
		}
	}
	if !m2.Flagged || m2.Subject != m.Subject || m2.Body != m.Body || m2.NextID != m.NextID || len(m2.Attachments) != len(m.Attachments) {
		t.Errorf("cached opening: flagged %v, subject %q/%q, next %q/%q", m2.Flagged, m2.Subject, m.Subject, m2.NextID, m.NextID)
	}
	if err := other.Store(imap.UIDSetNum(newestUID), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := other.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Message(ctx, "INBOX", newest.ID, mailproxy.ViewOptions{}); !errors.Is(err, mailproxy.ErrNotFound) {
		t.Errorf("opening a message another client expunged = %v, want ErrNotFound", err)
	}
}

// TestRowCacheDovecotUIDValidity recreates a folder under the same name:
// the new UIDVALIDITY drops the cached rows, so the same UIDs show the
// new messages.
func TestRowCacheDovecotUIDValidity(t *testing.T) {
	p, _, other, _ := dovecotRows(t, 1)
	s := p.Session("sess-1", aliceCreds)
	fill := func(word string) {
		if err := other.Create("Lists", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			raw := fmt.Sprintf("From: a@example.org\r\nSubject: New mail %s %d\r\n\r\n%s\r\n", word, i, word)
			app := other.Append("Lists", int64(len(raw)), nil)
			app.Write([]byte(raw))
			app.Close()
			if _, err := app.Wait(); err != nil {
				t.Fatal(err)
			}
		}
	}
	fill("old")
	before := listPage(t, s, "Lists", 1)
	if len(before.Messages) != 3 || before.Messages[0].Subject != "New mail old 2" {
		t.Fatalf("first folder: %+v", before.Messages)
	}
	// The session must leave the folder for it to be deleted under it.
	listPage(t, s, "INBOX", 1)
	if err := other.Delete("Lists").Wait(); err != nil {
		t.Fatal(err)
	}
	fill("new")
	after := listPage(t, s, "Lists", 1)
	if after.Validity == before.Validity {
		t.Skipf("Dovecot kept UIDVALIDITY %d for the recreated folder", after.Validity)
	}
	if len(after.Messages) != 3 || after.Messages[0].Subject != "New mail new 2" || after.Messages[0].Preview != "new" {
		t.Errorf("recreated folder shows %+v, want the new messages", after.Messages)
	}
}

// TestRowCacheDovecotSignOut: the cache is shared by a user's sessions and
// dropped when the last one signs out.
func TestRowCacheDovecotSignOut(t *testing.T) {
	p, log, _, _ := dovecotRows(t, 60)
	a, b := p.Session("a", aliceCreds), p.Session("b", aliceCreds)
	listPage(t, a, "INBOX", 1)
	log.take()
	listPage(t, b, "INBOX", 1)
	for _, c := range log.take() {
		if strings.Contains(c, "ENVELOPE") {
			t.Errorf("second session of the same user fetched %q: rows should be shared", c)
		}
	}
	p.Logout("a")
	if entries, _ := p.rows.stats(); entries < 50 {
		t.Errorf("after one of two sessions signed out: %d entries, want the rows kept", entries)
	}
	p.Logout("b")
	if entries, used := p.rows.stats(); entries != 0 || used != 0 {
		t.Errorf("after the last session signed out: %d entries, %d bytes", entries, used)
	}
}

// TestRowCacheDovecotConcurrent runs bursts of parallel list requests on
// one and on several sessions of one user (run it with -race) while
// another client keeps changing flags: no errors, and every row shows the
// message its id names.
func TestRowCacheDovecotConcurrent(t *testing.T) {
	p, _, other, _ := dovecotRows(t, 400)
	ctx := context.Background()
	stop := make(chan struct{})
	changer := make(chan error, 1)
	go func() {
		var err error
		for i := 1; err == nil; i++ {
			select {
			case <-stop:
				changer <- nil
				return
			default:
			}
			op := imap.StoreFlagsAdd
			if i%2 == 0 {
				op = imap.StoreFlagsDel
			}
			err = other.Store(imap.UIDSetNum(imap.UID(400-i%60)), &imap.StoreFlags{Op: op, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close()
		}
		changer <- err
	}()
	for _, sessions := range []int{1, 3} {
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := p.Session(fmt.Sprintf("s%d", g%sessions), aliceCreds)
				for i := range 6 {
					page := (g+i)%8 + 1
					pg, err := s.List(ctx, "INBOX", mailproxy.ListQuery{Page: page, PageSize: 50})
					if err != nil {
						errs <- err
						return
					}
					if len(pg.Messages) != 50 {
						errs <- fmt.Errorf("page %d has %d rows", page, len(pg.Messages))
					}
					for _, r := range pg.Messages {
						_, uid, _ := parseMsgID(r.ID)
						if want := dovecottest.MessageSubject(int(uid) - 1); r.Subject != want {
							errs <- fmt.Errorf("row %s: %q, want %q", r.ID, r.Subject, want)
						}
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("%d sessions: %v", sessions, err)
		}
	}
	close(stop)
	if err := <-changer; err != nil {
		t.Errorf("other client: %v", err)
	}
}

// TestRowCacheDovecotPendingPreview: a row cached while its preview fetch
// ran out of budget gets its preview on a later page, with one partial
// fetch and no full one.
func TestRowCacheDovecotPendingPreview(t *testing.T) {
	p, log, _, _ := dovecotRows(t, 60)
	s := p.Session("sess-1", aliceCreds)
	first := listPage(t, s, "INBOX", 1)
	want := first.Messages[0].Preview
	if want == "" {
		t.Fatal("newest row has no preview")
	}
	// As if the preview fetch had been late: cached without it.
	_, uid, _ := parseMsgID(first.Messages[0].ID)
	rs := s.(*imapSession).rowStore()
	row := *rs.rc.rows(rs.u, "INBOX", first.Validity, []imap.UID{uid})[0]
	row.preview, row.pending = "", true
	rs.rc.putRow(rs.u, "INBOX", first.Validity, uid, &row)

	log.take()
	again := listPage(t, s, "INBOX", 1)
	if got := again.Messages[0].Preview; got != want {
		t.Errorf("preview after the retry = %q, want %q", got, want)
	}
	cmds := log.take()
	for _, c := range cmds {
		if strings.Contains(c, "ENVELOPE") {
			t.Errorf("retrying a preview fetched the row in full: %q", cmds)
		}
	}
	if r := rs.rc.rows(rs.u, "INBOX", first.Validity, []imap.UID{uid})[0]; r.pending || r.preview != want {
		t.Errorf("cached row after the retry: pending %v, preview %q", r.pending, r.preview)
	}
	log.take()
	listPage(t, s, "INBOX", 1)
	if cmds := log.take(); len(cmds) != 3 {
		t.Errorf("third page sent %q, want NOOP, STATUS, FETCH", cmds)
	}
}
