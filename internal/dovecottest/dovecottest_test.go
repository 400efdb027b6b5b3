package dovecottest

import (
	"bufio"
	"bytes"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

var genStart = time.Date(2024, 3, 1, 8, 0, 0, 0, time.UTC)

func dial(t testing.TB, s *Server, user, pass string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(s.IMAPAddr, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", s.IMAPAddr, err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(user, pass).Wait(); err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	return c
}

func list(t testing.TB, c *imapclient.Client, opts *imap.ListOptions) map[string]*imap.ListData {
	t.Helper()
	l, err := c.List("", "*", opts).Collect()
	if err != nil {
		t.Fatalf("LIST: %v", err)
	}
	m := make(map[string]*imap.ListData)
	for _, d := range l {
		m[d.Mailbox] = d
	}
	return m
}

func TestStartLoginList(t *testing.T) {
	t.Parallel()
	t0 := time.Now()
	s := Start(t, nil)
	t.Logf("started in %v: %s, dir %s", time.Since(t0), s.IMAPURL(), s.Dir)
	if !strings.HasPrefix(s.IMAPURL(), "imap+insecure://127.0.0.1:") || s.POP3URL() != "" {
		t.Errorf("URLs: %q %q", s.IMAPURL(), s.POP3URL())
	}
	c := dial(t, s, DefaultUser, DefaultPassword)
	boxes := list(t, c, nil)
	if d := boxes["INBOX"]; d == nil || d.Delim != '/' {
		t.Errorf("INBOX: %+v", d)
	}
	subscribed := list(t, c, &imap.ListOptions{SelectSubscribed: true})
	for _, su := range SpecialUse {
		d := boxes[su.Name]
		if d == nil {
			t.Errorf("LIST has no %s: %v", su.Name, boxes)
			continue
		}
		if !slices.Contains(d.Attrs, imap.MailboxAttr(su.Attr)) {
			t.Errorf("%s attrs %v, want %s", su.Name, d.Attrs, su.Attr)
		}
		if subscribed[su.Name] == nil {
			t.Errorf("%s not subscribed", su.Name)
		}
	}
	// Upper-case login names work too (auth_username_format = %Lu).
	dial(t, s, "ALICE", DefaultPassword)
}

func TestWriteMessages(t *testing.T) {
	t.Parallel()
	s := Start(t, nil)
	const n = 1000
	msgs := GenerateMessages(n, genStart)
	flags := make([]string, n)
	for i := range flags {
		switch i % 4 {
		case 1:
			flags[i] = `\Seen`
		case 2:
			flags[i] = `\Seen \Flagged $Forwarded`
		case 3:
			flags[i] = `answered seen`
		}
	}

	t0 := time.Now()
	s.WriteMessages(t, "alice", "INBOX", msgs, nil)
	s.WriteMessages(t, "alice", "Big Folder", msgs, flags)
	t.Logf("wrote 2x%d messages in %v", n, time.Since(t0))

	c := dial(t, s, DefaultUser, DefaultPassword)
	boxes := list(t, c, &imap.ListOptions{ReturnSubscribed: true})
	if d := boxes["Big Folder"]; d == nil || !slices.Contains(d.Attrs, imap.MailboxAttrSubscribed) {
		t.Errorf("Big Folder missing or not subscribed: %+v", d)
	}

	st, err := c.Status("Big Folder", &imap.StatusOptions{NumMessages: true, NumUnseen: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if *st.NumMessages != n || *st.NumUnseen != n/4 {
		t.Errorf("STATUS Big Folder: %d messages, %d unseen; want %d, %d", *st.NumMessages, *st.NumUnseen, n, n/4)
	}

	for _, box := range []string{"INBOX", "Big Folder"} {
		sel, err := c.Select(box, nil).Wait()
		if err != nil {
			t.Fatalf("SELECT %s: %v", box, err)
		}
		if sel.NumMessages != n {
			t.Errorf("SELECT %s: %d messages, want %d", box, sel.NumMessages, n)
		}
		// The last message, in full.
		last, err := c.Fetch(imap.SeqSetNum(n), &imap.FetchOptions{
			UID: true, Envelope: true, InternalDate: true, RFC822Size: true, Flags: true,
			BodySection: []*imap.FetchItemBodySection{{Peek: true}},
		}).Collect()
		if err != nil || len(last) != 1 {
			t.Fatalf("FETCH %s %d: %v %v", box, n, last, err)
		}
		m := last[0]
		if m.UID != n {
			t.Errorf("%s: last UID %d, want %d", box, m.UID, n)
		}
		if got := m.FindBodySection(&imap.FetchItemBodySection{}); !bytes.Equal(got, msgs[n-1]) {
			t.Errorf("%s: body of last message differs:\n%s\nwant:\n%s", box, got, msgs[n-1])
		}
		if m.RFC822Size != int64(len(msgs[n-1])) {
			t.Errorf("%s: RFC822.SIZE %d, want %d", box, m.RFC822Size, len(msgs[n-1]))
		}
		if want := MessageDate(n-1, genStart); !m.InternalDate.Equal(want) {
			t.Errorf("%s: INTERNALDATE %v, want %v", box, m.InternalDate, want)
		}
		if m.Envelope.Subject != MessageSubject(n-1) {
			t.Errorf("%s: subject %q, want %q", box, m.Envelope.Subject, MessageSubject(n-1))
		}
		if box == "Big Folder" && !slices.Contains(m.Flags, imap.FlagAnswered) {
			t.Errorf("%s: flags %v, want \\Answered", box, m.Flags)
		}

		// UIDs follow slice order.
		all, err := c.Fetch(imap.SeqSetNum(1, 2, 3, 500, n), &imap.FetchOptions{UID: true, Envelope: true, Flags: true}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range all {
			i := int(m.SeqNum) - 1
			if m.UID != imap.UID(i+1) || "<"+m.Envelope.MessageID+">" != MessageID(i) {
				t.Errorf("%s: seq %d has UID %d Message-ID %q, want %d %s", box, m.SeqNum, m.UID, m.Envelope.MessageID, i+1, MessageID(i))
			}
			if box == "Big Folder" && i%4 == 2 {
				for _, f := range []imap.Flag{imap.FlagSeen, imap.FlagFlagged, "$Forwarded"} {
					if !slices.Contains(m.Flags, f) {
						t.Errorf("seq %d: flags %v, want %s", m.SeqNum, m.Flags, f)
					}
				}
			}
		}
	}
}

func TestWriteWhileRunning(t *testing.T) {
	t.Parallel()
	s := Start(t, nil)
	c := dial(t, s, DefaultUser, DefaultPassword)
	list(t, c, nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs := GenerateMessages(30, genStart)
	s.WriteMessages(t, "alice", "inbox", msgs[:10], nil)
	s.WriteMessages(t, "alice", "INBOX", msgs[10:20], nil)
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	if got := c.Mailbox().NumMessages; got != 20 {
		t.Errorf("after NOOP: %d messages, want 20", got)
	}
	res, err := c.Fetch(imap.SeqSetNum(20), &imap.FetchOptions{UID: true, Envelope: true}).Collect()
	if err != nil || len(res) != 1 || res[0].UID != 20 || "<"+res[0].Envelope.MessageID+">" != MessageID(19) {
		t.Errorf("FETCH 20: %v %v", res, err)
	}

	// A folder (non-ASCII, two levels) created after the first LIST.
	s.WriteMessages(t, "alice", "Grüße/Ünter ordner", msgs[20:], nil)
	if _, err := os.Stat(filepath.Join(s.Dir, "home/alice/Maildir/.Gr&APwA3w-e.&ANw-nter ordner/maildirfolder")); err != nil {
		t.Error(err)
	}
	boxes := list(t, c, &imap.ListOptions{ReturnSubscribed: true})
	d := boxes["Grüße/Ünter ordner"]
	if d == nil || !slices.Contains(d.Attrs, imap.MailboxAttrSubscribed) {
		t.Fatalf("new folder missing or unsubscribed: %v", boxes)
	}
	st, err := c.Status("Grüße/Ünter ordner", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || *st.NumMessages != 10 {
		t.Errorf("STATUS: %v %v", st, err)
	}
}

func TestWrongPassword(t *testing.T) {
	t.Parallel()
	s := Start(t, nil)
	// Each attempt on a new connection, as a webmail login does: with the
	// auth penalty off, each failure is answered after about 0.5 s (with
	// it, these four would take 4+8+15 s).
	t0 := time.Now()
	for _, up := range [][2]string{{"alice", "wrong"}, {"alice", ""}, {"alice", "Alice-secret-pw"}, {"nobody", "x"}} {
		c, err := imapclient.DialInsecure(s.IMAPAddr, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Login(up[0], up[1]).Wait(); err == nil {
			t.Errorf("login %s/%q succeeded", up[0], up[1])
		}
		c.Close()
	}
	if d := time.Since(t0); d > 8*time.Second {
		t.Errorf("4 failed logins took %v; the auth penalty should be off", d)
	}
	// Retrying on the same connection works too.
	c, err := imapclient.DialInsecure(s.IMAPAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("alice", "wrong").Wait(); err == nil {
		t.Fatal("login with a wrong password succeeded")
	}
	if err := c.Login("alice", DefaultPassword).Wait(); err != nil {
		t.Errorf("login after a failure: %v", err)
	}
	t.Logf("all logins took %v", time.Since(t0))
}

// pop3 is a minimal POP3 conversation helper for the tests.
type pop3 struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialPOP3(t *testing.T, addr string) *pop3 {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	p := &pop3{t: t, c: c, r: bufio.NewReader(c)}
	if g := p.line(); !strings.HasPrefix(g, "+OK") {
		t.Fatalf("POP3 greeting %q", g)
	}
	return p
}

func (p *pop3) line() string {
	p.t.Helper()
	l, err := p.r.ReadString('\n')
	if err != nil {
		p.t.Fatalf("POP3 read: %v", err)
	}
	return strings.TrimRight(l, "\r\n")
}

func (p *pop3) cmd(format string, args ...any) string {
	p.t.Helper()
	fmt.Fprintf(p.c, format+"\r\n", args...)
	return p.line()
}

func TestPOP3(t *testing.T) {
	t.Parallel()
	s := Start(t, &Options{POP3: true, POP3LockSession: true, Users: []User{
		{"alice", DefaultPassword},
		{"bob", "s3cret: with colon & spaces "},
	}})
	if !strings.HasPrefix(s.POP3URL(), "pop3+insecure://127.0.0.1:") {
		t.Errorf("POP3URL %q", s.POP3URL())
	}
	s.WriteMessages(t, "bob", "INBOX", GenerateMessages(5, genStart), nil)

	p := dialPOP3(t, s.POP3Addr)
	if r := p.cmd("USER bob"); !strings.HasPrefix(r, "+OK") {
		t.Fatal(r)
	}
	if r := p.cmd("PASS wrong"); !strings.HasPrefix(r, "-ERR") {
		t.Fatalf("wrong PASS: %s", r)
	}
	p.cmd("USER bob")
	if r := p.cmd("PASS s3cret: with colon & spaces "); !strings.HasPrefix(r, "+OK") {
		t.Fatalf("PASS: %s", r)
	}
	if r := p.cmd("STAT"); !strings.HasPrefix(r, "+OK 5 ") {
		t.Errorf("STAT: %s", r)
	}
	// pop3_lock_session: a second session waits for the lock (Dovecot
	// gives up with "-ERR [IN-USE]" after 10 s) and gets in once the
	// first one quits.
	p2 := dialPOP3(t, s.POP3Addr)
	p2.cmd("USER bob")
	fmt.Fprintf(p2.c, "PASS s3cret: with colon & spaces \r\n")
	_ = p2.c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	if l, err := p2.r.ReadString('\n'); err == nil {
		t.Fatalf("second session answered %q while the first holds the lock", l)
	}
	_ = p2.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if r := p.cmd("QUIT"); !strings.HasPrefix(r, "+OK") {
		t.Errorf("QUIT: %s", r)
	}
	if r := p2.line(); !strings.HasPrefix(r, "+OK") {
		t.Errorf("second session after QUIT of the first: %s", r)
	}
	if r := p2.cmd("STAT"); !strings.HasPrefix(r, "+OK 5 ") {
		t.Errorf("STAT: %s", r)
	}
}

func TestMaxUserIPConnections(t *testing.T) {
	t.Parallel()
	s := Start(t, &Options{MaxUserIPConnections: 2})
	dial(t, s, "alice", DefaultPassword)
	dial(t, s, "alice", DefaultPassword)
	c, err := imapclient.DialInsecure(s.IMAPAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Login("alice", DefaultPassword).Wait()
	if err == nil || !strings.Contains(err.Error(), "connections") {
		t.Errorf("third login: %v, want a too-many-connections error", err)
	}
}

func TestParallelAndStop(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	addrs := map[string]bool{}
	for i := 0; i < 3; i++ {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			s := Start(t, &Options{POP3: true})
			mu.Lock()
			if addrs[s.IMAPAddr] || addrs[s.POP3Addr] {
				t.Errorf("address reused: %s %s", s.IMAPAddr, s.POP3Addr)
			}
			addrs[s.IMAPAddr], addrs[s.POP3Addr] = true, true
			mu.Unlock()
			s.WriteMessages(t, "alice", "Archive", GenerateMessages(10, genStart), nil)
			c := dial(t, s, "alice", DefaultPassword)
			st, err := c.Status("Archive", &imap.StatusOptions{NumMessages: true}).Wait()
			if err != nil || *st.NumMessages != 10 {
				t.Errorf("STATUS Archive: %v %v", st, err)
			}
			s.Stop()
			s.Stop() // idempotent
			if c, err := net.DialTimeout("tcp", s.IMAPAddr, time.Second); err == nil {
				c.Close()
				t.Errorf("IMAP port still open after Stop")
			}
		})
	}
}

func TestRequireRealFailsInsteadOfSkipping(t *testing.T) {
	// unavailable must call Fatal, not Skip, under THUMBMAIL_REQUIRE_REAL=1.
	for _, env := range []string{"", "1"} {
		t.Run("env="+env, func(t *testing.T) {
			t.Setenv(RequireRealEnv, env)
			ft := &fakeTB{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				defer func() { _ = recover() }()
				unavailable(ft, "dovecot not found")
			}()
			<-done
			if env == "1" && (!ft.fatal || ft.skip) || env == "" && (!ft.skip || ft.fatal) {
				t.Errorf("fatal=%v skip=%v with %s=%q (msg %q)", ft.fatal, ft.skip, RequireRealEnv, env, ft.msg)
			}
			if !strings.Contains(ft.msg, "dovecot not found") {
				t.Errorf("message %q", ft.msg)
			}
		})
	}
}

type fakeTB struct {
	testing.TB
	fatal, skip bool
	msg         string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal, f.msg = true, fmt.Sprintf(format, args...)
	panic("fatal")
}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.skip, f.msg = true, fmt.Sprintf(format, args...)
	panic("skip")
}

func TestMaildirPaths(t *testing.T) {
	s := &Server{Dir: "/d"}
	for folder, want := range map[string]string{
		"INBOX":      "/d/home/u/Maildir",
		"inbox":      "/d/home/u/Maildir",
		"Big Folder": "/d/home/u/Maildir/.Big Folder",
		"Work/2024":  "/d/home/u/Maildir/.Work.2024",
		"INBOX/Sub":  "/d/home/u/Maildir/.INBOX.Sub",
		"Grüße":      "/d/home/u/Maildir/.Gr&APwA3w-e",
		"R&D":        "/d/home/u/Maildir/.R&-D",
		"日本語/メール":    "/d/home/u/Maildir/.&ZeVnLIqe-.&MOEw,DDr-",
	} {
		if got := s.Maildir("u", folder); got != want {
			t.Errorf("Maildir(%q) = %q, want %q", folder, got, want)
		}
	}
	for _, bad := range []string{"", "a.b", "/x", "x/", "a//b", "a\nb"} {
		if _, err := folderParts(bad); err == nil {
			t.Errorf("folderParts(%q) accepted", bad)
		}
	}
}

func TestParseFlags(t *testing.T) {
	l, kw, err := parseFlags(`\Seen flagged \ANSWERED $Forwarded work \Seen`)
	if err != nil || string(l) != "SFR" || !slices.Equal(kw, []string{"$Forwarded", "work"}) {
		t.Errorf("got %q %q %v", l, kw, err)
	}
	for _, bad := range []string{`\Recent`, `\Foo`, `a(b`} {
		if _, _, err := parseFlags(bad); err == nil {
			t.Errorf("parseFlags(%q) accepted", bad)
		}
	}
}

func TestGenerateMessages(t *testing.T) {
	const n = 500
	msgs := GenerateMessages(n, genStart)
	again := GenerateMessages(n/2, genStart)
	dec := new(mime.WordDecoder)
	var multipart, nonASCII, replies int
	prev := time.Time{}
	for i, raw := range msgs {
		if i < len(again) && !bytes.Equal(raw, again[i]) {
			t.Fatalf("message %d is not deterministic", i)
		}
		if len(raw) > 4096 {
			t.Errorf("message %d is %d bytes", i, len(raw))
		}
		m, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		d, err := m.Header.Date()
		if err != nil || !d.After(prev) || !d.Equal(MessageDate(i, genStart)) {
			t.Errorf("message %d: date %v (prev %v) %v", i, d, prev, err)
		}
		prev = d
		subj, err := dec.DecodeHeader(m.Header.Get("Subject"))
		if err != nil || subj != MessageSubject(i) {
			t.Errorf("message %d: subject %q, want %q (%v)", i, subj, MessageSubject(i), err)
		}
		if _, err := m.Header.AddressList("From"); err != nil {
			t.Errorf("message %d: From %q: %v", i, m.Header.Get("From"), err)
		}
		if m.Header.Get("Message-Id") != MessageID(i) {
			t.Errorf("message %d: Message-ID %q", i, m.Header.Get("Message-Id"))
		}
		if m.Header.Get("In-Reply-To") != "" {
			replies++
		}
		mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
		if err != nil {
			t.Errorf("message %d: Content-Type: %v", i, err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			multipart++
			if !bytes.Contains(raw, []byte("--"+params["boundary"]+"--")) {
				t.Errorf("message %d: no closing boundary", i)
			}
		}
		if strings.Contains(m.Header.Get("Subject"), "=?") {
			nonASCII++
		}
		if bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\n")) {
			t.Errorf("message %d has bare LF", i)
		}
		for _, c := range raw {
			if c >= 0x80 {
				t.Errorf("message %d has 8-bit bytes", i)
				break
			}
		}
	}
	if multipart < n/5 || nonASCII < n/10 || replies < n/10 {
		t.Errorf("not varied enough: %d multipart, %d non-ASCII subjects, %d replies of %d", multipart, nonASCII, replies, n)
	}
}

func TestHeaderDateAndSizes(t *testing.T) {
	d, ok := headerDate([]byte("Subject: x\nDATE: Mon, 02 Jan 2006\n 15:04:05 -0700\n\nDate: no"))
	if !ok || !d.Equal(time.Date(2006, 1, 2, 22, 4, 5, 0, time.UTC)) {
		t.Errorf("headerDate = %v %v", d, ok)
	}
	if _, ok := headerDate([]byte("Subject: x\r\n\r\nDate: Mon, 02 Jan 2006 15:04:05 -0700\r\n")); ok {
		t.Error("headerDate read the body")
	}
	if n := virtualSize([]byte("a\nb\r\nc\n")); n != 9 {
		t.Errorf("virtualSize = %d", n)
	}
}

func BenchmarkWriteMessages(b *testing.B) {
	s := Start(b, nil)
	msgs := GenerateMessages(10000, genStart)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.WriteMessages(b, "alice", fmt.Sprintf("Bench%d", i), msgs, nil)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(msgs)), "ns/msg")
}

func TestDoveadmKick(t *testing.T) {
	t.Parallel()
	s := Start(t, nil)
	c := dial(t, s, "alice", DefaultPassword)
	if out, err := s.Doveadm("kick", "alice"); err != nil {
		t.Fatalf("kick: %v (%s)", err, out)
	}
	select {
	case <-c.Closed():
	case <-time.After(5 * time.Second):
		if err := c.Noop().Wait(); err == nil {
			t.Error("session still works after doveadm kick")
		}
	}
	if _, err := s.Doveadm("no-such-command"); err == nil {
		t.Error("unknown doveadm command succeeded")
	}
}

func TestAuthPenaltyOption(t *testing.T) {
	t.Parallel()
	s := Start(t, &Options{AuthPenalty: true})
	var took []time.Duration
	for i := 0; i < 2; i++ {
		c, err := imapclient.DialInsecure(s.IMAPAddr, nil)
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		if err := c.Login("alice", "wrong").Wait(); err == nil {
			t.Fatal("login with a wrong password succeeded")
		}
		took = append(took, time.Since(t0))
		c.Close()
	}
	// Dovecot's penalty delays the attempt after a failure by 4 s.
	if took[1] < 3*time.Second {
		t.Errorf("second failed login took %v, want the auth penalty (about 4 s)", took[1])
	}
}
