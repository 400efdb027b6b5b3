package pop3test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy/pop3"
)

var sample = [][]byte{
	[]byte("From: a@example.org\r\nSubject: one\r\n\r\nfirst body\r\n"),
	[]byte("From: b@example.org\nSubject: two\n\nline 1\n.starts with a dot\n..two dots\nline 4\n"), // bare LF
	[]byte("From: c@example.org\r\nSubject: three\r\n\r\nl1\r\nl2\r\nl3\r\nl4\r\n"),
}

func start(t *testing.T, o Options) *Server {
	t.Helper()
	if o.Users == nil {
		o.Users = map[string]string{"alice": "pw", "bob": "secret with spaces"}
	}
	if o.Messages == nil {
		o.Messages = map[string][][]byte{"alice": sample}
	}
	s, err := Start(&o)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func dial(t *testing.T, s *Server) *pop3.Client {
	t.Helper()
	c, err := pop3.Dial(s.Addr(), &pop3.Options{AllowInsecureAuth: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func login(t *testing.T, s *Server, user, pass string) *pop3.Client {
	t.Helper()
	c := dial(t, s)
	if err := c.Login(user, pass); err != nil {
		t.Fatalf("Login(%s): %v", user, err)
	}
	return c
}

// readAll returns a function that reads a Retr or Top reply whole:
// readAll(t)(c.Retr(1)).
func readAll(t *testing.T) func(io.ReadCloser, error) string {
	return func(rc io.ReadCloser, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		rc.Close()
		return string(b)
	}
}

func TestTransaction(t *testing.T) {
	s := start(t, Options{})
	c := dial(t, s)
	caps, err := c.Capabilities()
	if err != nil {
		t.Fatal(err)
	}
	if !caps.Top || !caps.UIDL || !caps.User || !caps.RespCodes || !caps.HasSASL("PLAIN") {
		t.Errorf("CAPA = %+v", caps)
	}
	if err := c.Login("alice", "pw"); err != nil {
		t.Fatal(err)
	}
	n, size, err := c.Stat()
	want := 0
	for _, m := range sample {
		want += len(crlf(m))
	}
	if err != nil || n != 3 || size != int64(want) {
		t.Errorf("STAT = %d %d %v, want 3 %d", n, size, err, want)
	}
	list, err := c.List()
	if err != nil || len(list) != 3 || list[1].Size != int64(len(crlf(sample[1]))) {
		t.Errorf("LIST = %+v %v", list, err)
	}
	uids, err := c.Uidl()
	if err != nil || len(uids) != 3 {
		t.Fatalf("UIDL = %+v %v", uids, err)
	}
	if got := s.UIDLs("alice"); got[0] != uids[0].UID || got[2] != uids[2].UID || uids[0].UID == uids[1].UID {
		t.Errorf("UIDLs() = %v, UIDL = %+v", got, uids)
	}
	one, err := c.UidlOne(2)
	if err != nil || one.UID != uids[1].UID {
		t.Errorf("UIDL 2 = %+v %v", one, err)
	}

	// RETR: CRLF line endings, dot-unstuffed by the client back to the
	// original text.
	got := readAll(t)(c.Retr(2))
	if want := string(crlf(sample[1])); got != want {
		t.Errorf("RETR 2 = %q, want %q", got, want)
	}
	// TOP: header, blank line, n lines.
	if got := readAll(t)(c.Top(3, 0)); got != "From: c@example.org\r\nSubject: three\r\n\r\n" {
		t.Errorf("TOP 3 0 = %q", got)
	}
	if got := readAll(t)(c.Top(3, 2)); got != "From: c@example.org\r\nSubject: three\r\n\r\nl1\r\nl2\r\n" {
		t.Errorf("TOP 3 2 = %q", got)
	}
	if got := readAll(t)(c.Top(3, 99)); got != string(crlf(sample[2])) {
		t.Errorf("TOP 3 99 = %q", got)
	}
	if _, err := c.Retr(4); err == nil {
		t.Error("RETR 4 of 3 succeeded")
	}
	if err := c.Noop(); err != nil {
		t.Error(err)
	}
	if err := c.Quit(); err != nil {
		t.Error(err)
	}
	if got := s.Count("RETR"); got != 2 {
		t.Errorf("Count(RETR) = %d, want 2", got)
	}
	if got := s.Count("top"); got != 3 {
		t.Errorf("Count(top) = %d, want 3", got)
	}
}

// TestDotStuffingOnTheWire checks the bytes sent: lines starting with "."
// get another one (RFC 1939 §3).
func TestDotStuffingOnTheWire(t *testing.T) {
	s := start(t, Options{})
	p := raw(t, s)
	p.cmd("USER alice")
	p.cmd("PASS pw")
	if r := p.cmd("RETR 2"); !strings.HasPrefix(r, "+OK") {
		t.Fatal(r)
	}
	var lines []string
	for {
		l := p.line()
		if l == "." {
			break
		}
		lines = append(lines, l)
	}
	want := []string{"From: b@example.org", "Subject: two", "", "line 1", "..starts with a dot", "...two dots", "line 4"}
	if strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("RETR 2 on the wire = %q, want %q", lines, want)
	}
}

func TestAuth(t *testing.T) {
	s := start(t, Options{})
	tests := []struct {
		name      string
		user, pw  string
		noInitial bool
		plain     bool
		wantErr   error
	}{
		{"user/pass", "bob", "secret with spaces", false, false, nil},
		{"auth plain initial response", "bob", "secret with spaces", false, true, nil},
		{"auth plain continuation", "bob", "secret with spaces", true, true, nil},
		{"wrong password", "bob", "nope", false, false, pop3.ErrAuth},
		{"wrong password plain", "bob", "nope", false, true, pop3.ErrAuth},
		{"unknown user", "mallory", "pw", false, false, pop3.ErrAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := pop3.Dial(s.Addr(), &pop3.Options{AllowInsecureAuth: true, Timeout: 5 * time.Second, DisableInitialResponse: tt.noInitial})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if tt.plain {
				err = c.AuthPlain(tt.user, tt.pw)
			} else {
				if _, err := c.Capabilities(); err != nil {
					t.Fatal(err)
				}
				err = c.Login(tt.user, tt.pw)
			}
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("login = %v, want %v", err, tt.wantErr)
			}
			if err == nil {
				if _, _, err := c.Stat(); err != nil {
					t.Errorf("STAT after login: %v", err)
				}
			}
		})
	}
}

func TestLock(t *testing.T) {
	s := start(t, Options{Lock: true})
	c1 := login(t, s, "alice", "pw")
	c2 := dial(t, s)
	err := c2.Login("alice", "pw")
	if !errors.Is(err, pop3.ErrInUse) || errors.Is(err, pop3.ErrAuth) {
		t.Fatalf("second login = %v, want ErrInUse", err)
	}
	// Another user is not affected.
	login(t, s, "bob", "secret with spaces")
	if err := c1.Quit(); err != nil {
		t.Fatal(err)
	}
	if err := c2.Login("alice", "pw"); err != nil {
		t.Errorf("login after the first session quit: %v", err)
	}
	// A session that ends without QUIT releases the lock too.
	c2.Close()
	waitConns(t, s, 1) // bob's
	login(t, s, "alice", "pw")
}

func TestNoLockAllowsOverlap(t *testing.T) {
	s := start(t, Options{})
	login(t, s, "alice", "pw")
	login(t, s, "alice", "pw")
}

func TestHold(t *testing.T) {
	s := start(t, Options{}) // Hold locks even without Options.Lock
	release := s.Hold("alice")
	c := dial(t, s)
	if err := c.Login("alice", "pw"); !errors.Is(err, pop3.ErrInUse) {
		t.Fatalf("login while held = %v, want ErrInUse", err)
	}
	release()
	release() // harmless
	if err := c.Login("alice", "pw"); err != nil {
		t.Fatalf("login after release = %v", err)
	}
}

func TestDeleteCommitsOnlyOnQuit(t *testing.T) {
	s := start(t, Options{Lock: true})
	tests := []struct {
		name string
		end  func(c *pop3.Client) error
		want int
	}{
		{"close without QUIT", func(c *pop3.Client) error { return c.Close() }, 3},
		{"RSET then QUIT", func(c *pop3.Client) error {
			if err := c.Rset(); err != nil {
				return err
			}
			return c.Quit()
		}, 3},
		{"QUIT", func(c *pop3.Client) error { return c.Quit() }, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := login(t, s, "alice", "pw")
			if err := c.Dele(1); err != nil {
				t.Fatal(err)
			}
			// A deleted message cannot be used any more (RFC 1939 §5).
			if _, err := c.Retr(1); err == nil {
				t.Error("RETR of a deleted message succeeded")
			}
			if err := c.Dele(1); err == nil {
				t.Error("second DELE succeeded")
			}
			if n, _, _ := c.Stat(); n != 2 {
				t.Errorf("STAT after DELE = %d, want 2", n)
			}
			if err := tt.end(c); err != nil {
				t.Fatal(err)
			}
			waitConns(t, s, 0)
			if got := len(s.Messages("alice")); got != tt.want {
				t.Errorf("maildrop has %d messages, want %d", got, tt.want)
			}
		})
	}
	// The numbers shifted: message 1 is now the former message 2.
	c := login(t, s, "alice", "pw")
	if got := readAll(t)(c.Top(1, 0)); !strings.Contains(got, "Subject: two") {
		t.Errorf("TOP 1 after deleting the first = %q", got)
	}
}

func TestSnapshotAndAdd(t *testing.T) {
	s := start(t, Options{})
	c := login(t, s, "alice", "pw")
	if err := s.Add("alice", []byte("Subject: new\r\n\r\nhi\r\n")); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := c.Stat(); n != 3 {
		t.Errorf("open session sees %d messages, want its snapshot of 3", n)
	}
	c2 := login(t, s, "alice", "pw")
	if n, _, _ := c2.Stat(); n != 4 {
		t.Errorf("new session sees %d messages, want 4", n)
	}
	if err := s.Add("alice", []byte("x")); err != nil {
		t.Fatal(err)
	}
	bad, err := Start(&Options{UIDL: func(int, []byte) string { return "has space" }, Messages: map[string][][]byte{"a": {[]byte("x")}}})
	if err == nil {
		bad.Close()
		t.Error("Start with an invalid UIDL succeeded")
	}
}

func TestNoUIDL(t *testing.T) {
	s := start(t, Options{NoUIDL: true})
	c := dial(t, s)
	caps, err := c.Capabilities()
	if err != nil || caps.UIDL {
		t.Errorf("CAPA = %+v, %v; want no UIDL", caps, err)
	}
	if err := c.Login("alice", "pw"); err != nil {
		t.Fatal(err)
	}
	var perr *pop3.Error
	if _, err := c.Uidl(); !errors.As(err, &perr) {
		t.Errorf("UIDL = %v, want -ERR", err)
	}
	if _, _, err := c.Stat(); err != nil {
		t.Errorf("connection unusable after -ERR to UIDL: %v", err)
	}
}

func TestNoTop(t *testing.T) {
	s := start(t, Options{NoTop: true})
	c := dial(t, s)
	caps, err := c.Capabilities()
	if err != nil || caps.Top {
		t.Errorf("CAPA = %+v, %v; want no TOP", caps, err)
	}
	if err := c.Login("alice", "pw"); err != nil {
		t.Fatal(err)
	}
	var perr *pop3.Error
	if _, err := c.Top(1, 0); !errors.As(err, &perr) {
		t.Errorf("TOP = %v, want -ERR", err)
	}
}

func TestTLS(t *testing.T) {
	srvCfg, cliCfg, err := SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("STLS", func(t *testing.T) {
		s := start(t, Options{TLS: srvCfg})
		if !strings.HasPrefix(s.URL(), "pop3://") {
			t.Errorf("URL() = %q", s.URL())
		}
		c, err := pop3.Dial(s.Addr(), &pop3.Options{TLSConfig: cliCfg, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		caps, err := c.Capabilities()
		if err != nil || !caps.STLS {
			t.Fatalf("CAPA = %+v, %v; want STLS", caps, err)
		}
		if err := c.StartTLS(nil); err != nil {
			t.Fatal(err)
		}
		if caps, _ := c.Capabilities(); caps.STLS {
			t.Error("STLS still offered over TLS")
		}
		if err := c.Login("alice", "pw"); err != nil {
			t.Fatal(err)
		}
		if n, _, err := c.Stat(); err != nil || n != 3 {
			t.Errorf("STAT = %d, %v", n, err)
		}
	})
	t.Run("implicit", func(t *testing.T) {
		s := start(t, Options{TLS: srvCfg, ImplicitTLS: true})
		if !strings.HasPrefix(s.URL(), "pop3s://") {
			t.Errorf("URL() = %q", s.URL())
		}
		c, err := pop3.DialTLS(s.Addr(), &pop3.Options{TLSConfig: cliCfg, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Login("alice", "pw"); err != nil {
			t.Fatal(err)
		}
		// A plain-text client gets nowhere, and the server goes on.
		if plain, err := pop3.Dial(s.Addr(), &pop3.Options{Timeout: 500 * time.Millisecond}); err == nil {
			plain.Close()
			t.Error("plain-text greeting from an implicit-TLS server")
		}
		if err := c.Noop(); err != nil {
			t.Error(err)
		}
	})
	t.Run("no TLS", func(t *testing.T) {
		s := start(t, Options{})
		p := raw(t, s)
		if r := p.cmd("STLS"); !strings.HasPrefix(r, "-ERR") {
			t.Errorf("STLS without TLS → %q", r)
		}
		if _, err := Start(&Options{ImplicitTLS: true}); err == nil {
			t.Error("ImplicitTLS without TLS accepted")
		}
	})
	t.Run("injection", func(t *testing.T) {
		s := start(t, Options{TLS: srvCfg})
		p := raw(t, s)
		fmt.Fprintf(p.c, "STLS\r\nUSER alice\r\n")
		if r := p.line(); !strings.HasPrefix(r, "-ERR") {
			t.Errorf("STLS with data behind it → %q", r)
		}
	})
}

func TestCustomUIDL(t *testing.T) {
	s := start(t, Options{UIDL: func(seq int, _ []byte) string { return fmt.Sprintf("id/%d+?#", seq) }})
	c := login(t, s, "alice", "pw")
	uids, err := c.Uidl()
	if err != nil || len(uids) != 3 || uids[2].UID != "id/2+?#" {
		t.Errorf("UIDL = %+v %v", uids, err)
	}
}

func TestDelay(t *testing.T) {
	s := start(t, Options{Delay: 100 * time.Millisecond})
	c := login(t, s, "alice", "pw") // CAPA, AUTH: two delayed replies
	t0 := time.Now()
	if err := c.Noop(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d < 90*time.Millisecond {
		t.Errorf("NOOP took %v with Delay 100ms", d)
	}
	slow, err := pop3.Dial(s.Addr(), &pop3.Options{AllowInsecureAuth: true, Timeout: 30 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if err := slow.Noop(); err == nil {
		t.Error("a command against a slow server did not time out")
	}
}

func TestCloseConnectionsAndCounts(t *testing.T) {
	s := start(t, Options{Lock: true})
	c := login(t, s, "alice", "pw")
	if err := c.Dele(1); err != nil {
		t.Fatal(err)
	}
	if s.Conns() != 1 {
		t.Errorf("Conns() = %d, want 1", s.Conns())
	}
	sent := s.Sent()
	if sent == 0 {
		t.Error("Sent() = 0 after a greeting and replies")
	}
	s.CloseConnections()
	if err := c.Noop(); err == nil {
		t.Error("NOOP on a dropped connection succeeded")
	}
	waitConns(t, s, 0)
	if got := len(s.Messages("alice")); got != 3 {
		t.Errorf("dropped session removed messages: %d left", got)
	}
	// The lock went with the connection.
	login(t, s, "alice", "pw")
	if s.Count("DELE") != 1 || s.Count("QUIT") != 0 {
		t.Errorf("Count(DELE) = %d, Count(QUIT) = %d", s.Count("DELE"), s.Count("QUIT"))
	}
}

func TestProtocolErrors(t *testing.T) {
	s := start(t, Options{})
	p := raw(t, s)
	for _, tt := range []struct{ cmd, want string }{
		{"STAT", "-ERR"},
		{"PASS pw", "-ERR"},
		{"FOO", "-ERR"},
		{"AUTH", "+OK"},
		{"AUTH CRAM-MD5", "-ERR"},
		{"AUTH PLAIN !!!", "-ERR"},
		{"USER alice", "+OK"},
		{"PASS pw", "+OK"},
		{"USER alice", "-ERR"},
		{"LIST 0", "-ERR"},
		{"LIST x", "-ERR"},
		{"LIST +1", "-ERR"},
		{"LIST 1", "+OK 1 "},
		{"TOP 1", "-ERR"},
		{"TOP 1 -1", "-ERR"},
		{"RETR", "-ERR"},
		{"DELE 9", "-ERR"},
		{"RSET", "+OK"},
		{"noop", "+OK"},
	} {
		r := p.cmd(tt.cmd)
		if !strings.HasPrefix(r, tt.want) {
			t.Errorf("%s → %q, want %s", tt.cmd, r, tt.want)
		}
		if tt.cmd == "AUTH" {
			for p.line() != "." {
			}
		}
	}
	// A line far over the limit ends the session.
	fmt.Fprintf(p.c, "NOOP %s\r\n", strings.Repeat("x", 5000))
	if r := p.line(); !strings.HasPrefix(r, "-ERR") {
		t.Errorf("long line → %q", r)
	}
	if _, err := p.r.ReadString('\n'); err == nil {
		t.Error("connection still open after a long line")
	}
}

func TestAuthPlainCancel(t *testing.T) {
	s := start(t, Options{})
	p := raw(t, s)
	if r := p.cmd("AUTH PLAIN"); !strings.HasPrefix(r, "+") {
		t.Fatalf("AUTH PLAIN → %q", r)
	}
	if r := p.cmd("*"); !strings.HasPrefix(r, "-ERR") {
		t.Errorf("cancel → %q", r)
	}
	if r := p.cmd("QUIT"); !strings.HasPrefix(r, "+OK") {
		t.Errorf("QUIT → %q", r)
	}
}

func TestTopWithoutBody(t *testing.T) {
	s := start(t, Options{Messages: map[string][][]byte{"alice": {
		[]byte("Subject: only a header\r\n"),
		[]byte("\r\nno header\r\nline 2\r\n"),
	}}})
	c := login(t, s, "alice", "pw")
	if got := readAll(t)(c.Top(1, 5)); got != "Subject: only a header\r\n" {
		t.Errorf("TOP 1 5 = %q", got)
	}
	if got := readAll(t)(c.Top(2, 1)); got != "\r\nno header\r\n" {
		t.Errorf("TOP 2 1 = %q", got)
	}
}

func TestCloseIdempotent(t *testing.T) {
	s, err := Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.URL(), "pop3+insecure://127.0.0.1:") {
		t.Errorf("URL() = %q", s.URL())
	}
	c := dial(t, s)
	if err := s.Close(); err != nil {
		t.Error(err)
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
	if err := c.Noop(); err == nil {
		t.Error("NOOP after Close succeeded")
	}
	if s.Messages("nobody") != nil || s.UIDLs("nobody") != nil {
		t.Error("unknown user has messages")
	}
}

func TestCRLF(t *testing.T) {
	for in, want := range map[string]string{
		"":             "",
		"a":            "a\r\n",
		"a\nb\n":       "a\r\nb\r\n",
		"a\r\nb":       "a\r\nb\r\n",
		"a\r\r\nb\n":   "a\r\r\nb\r\n",
		"\n\n":         "\r\n\r\n",
		"x\r\n\r\ny\n": "x\r\n\r\ny\r\n",
	} {
		if got := string(crlf([]byte(in))); got != want {
			t.Errorf("crlf(%q) = %q, want %q", in, got, want)
		}
	}
	if !bytes.Equal(crlf(nil), []byte{}) {
		t.Error("crlf(nil)")
	}
}

// rawConn is a line-level POP3 conversation for tests that look at the
// wire.
type rawConn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func raw(t *testing.T, s *Server) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	p := &rawConn{t: t, c: c, r: bufio.NewReader(c)}
	if g := p.line(); !strings.HasPrefix(g, "+OK") {
		t.Fatalf("greeting %q", g)
	}
	return p
}

func (p *rawConn) line() string {
	p.t.Helper()
	l, err := p.r.ReadString('\n')
	if err != nil {
		p.t.Fatalf("read: %v", err)
	}
	return strings.TrimRight(l, "\r\n")
}

func (p *rawConn) cmd(line string) string {
	p.t.Helper()
	fmt.Fprintf(p.c, "%s\r\n", line)
	return p.line()
}

func waitConns(t *testing.T, s *Server, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.Conns() != n {
		if time.Now().After(deadline) {
			t.Fatalf("Conns() = %d, want %d", s.Conns(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
