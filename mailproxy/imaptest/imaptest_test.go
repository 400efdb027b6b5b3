package imaptest

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// client is a raw IMAP client: it sends lines and reads lines.
type client struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, s *Server, cfg *tls.Config) *client {
	t.Helper()
	var c net.Conn
	var err error
	if cfg != nil {
		c, err = tls.Dial("tcp", s.Addr(), cfg)
	} else {
		c, err = net.Dial("tcp", s.Addr())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return &client{t, c, bufio.NewReader(c)}
}

func (c *client) send(line string) {
	c.t.Helper()
	if _, err := io.WriteString(c.c, line+"\r\n"); err != nil {
		c.t.Fatal(err)
	}
}

// expect reads one line and checks it.
func (c *client) expect(want string) {
	c.t.Helper()
	line, err := c.br.ReadString('\n')
	if err != nil {
		c.t.Fatalf("reading %q: %v", want, err)
	}
	if got := strings.TrimSuffix(line, "\r\n"); got != want {
		c.t.Fatalf("got %q, want %q", got, want)
	}
}

// silent checks that nothing arrives for a while.
func (c *client) silent() {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	defer c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if line, err := c.br.ReadString('\n'); !errors.Is(err, os.ErrDeadlineExceeded) {
		c.t.Fatalf("got %q, %v; want silence", line, err)
	}
}

// closed checks that the server closed the connection.
func (c *client) closed() {
	c.t.Helper()
	if line, err := c.br.ReadString('\n'); err != io.EOF {
		c.t.Fatalf("got %q, %v; want the connection closed", line, err)
	}
}

func TestBuiltins(t *testing.T) {
	s := Start(t, &Options{Caps: []string{"IMAP4rev1", "AUTH=PLAIN", "UIDPLUS"}})
	if s.URL() != "imap+insecure://"+s.Addr() {
		t.Errorf("URL() = %q", s.URL())
	}
	c := dial(t, s, nil)
	c.expect("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN UIDPLUS] imaptest ready")
	c.send("a1 CAPABILITY")
	c.expect("* CAPABILITY IMAP4rev1 AUTH=PLAIN UIDPLUS")
	c.expect("a1 OK CAPABILITY completed")
	c.send("a2 NOOP")
	c.expect("a2 OK NOOP completed")
	c.send("a3 FROB x")
	c.expect("a3 BAD Unknown command")
	c.send(`a4 LOGIN "u" "p"`)
	c.expect("a4 OK [CAPABILITY IMAP4rev1 UIDPLUS] Logged in") // no AUTH= after login
	c.send("a5 LOGIN u p")
	c.expect("a5 BAD Already logged in")
	c.send("a6 LOGOUT")
	c.expect("* BYE imaptest logging out")
	c.expect("a6 OK LOGOUT completed")
	c.closed()
	if n := s.Count("login"); n != 2 {
		t.Errorf("Count(login) = %d, want 2", n)
	}
}

func TestLoginRefuse(t *testing.T) {
	s := Start(t, &Options{Login: LoginRefuse})
	c := dial(t, s, nil)
	c.expect("* OK [CAPABILITY IMAP4rev1] imaptest ready")
	c.send("a1 LOGIN alice wrong")
	c.expect("a1 NO [AUTHENTICATIONFAILED] Authentication failed.")
	c.send("a2 NOOP")
	c.expect("a2 OK NOOP completed")
}

// TestLoginStall: a stalled LOGIN is never answered, nor is anything
// after it, but it is all recorded.
func TestLoginStall(t *testing.T) {
	s := Start(t, &Options{Login: LoginStall})
	c := dial(t, s, nil)
	c.expect("* OK [CAPABILITY IMAP4rev1] imaptest ready")
	c.send("a1 LOGIN alice pw")
	c.silent()
	c.send("a2 NOOP")
	c.silent()
	if got := verbs(s); !reflect.DeepEqual(got, []string{"LOGIN", "NOOP"}) {
		t.Errorf("recorded %q", got)
	}
}

func verbs(s *Server) []string {
	var out []string
	for _, c := range s.Commands() {
		out = append(out, c.Verb)
	}
	return out
}

// TestScript: handlers answer their verbs (replacing built-ins too),
// Default the rest; every command is recorded with its literals and the
// selected mailbox.
func TestScript(t *testing.T) {
	s := Start(t, &Options{
		Greeting: "* OK hi",
		Handlers: map[string]Handler{
			"SELECT": func(w *Writer, c Command) {
				w.Line("* 3 EXISTS", c.Tag+" OK [READ-WRITE] "+c.Fields()[0])
			},
			"UID FETCH": func(w *Writer, c Command) {
				w.Write([]byte("* 1 FETCH (UID 5 BODY[] "))
				w.Literal([]byte("hi\r\n"))
				w.Line(")", c.Tag+" OK done")
			},
			"NOOP": Answer("NO not today", "* 4 EXISTS"),
		},
		Default: func(w *Writer, c Command) { w.Line(c.Tag + " OK " + c.Verb) },
	})
	c := dial(t, s, nil)
	c.expect("* OK hi")
	c.send(`a1 SELECT "Lost \"and\" found"`)
	c.expect("* 3 EXISTS")
	c.expect(`a1 OK [READ-WRITE] Lost "and" found`)
	c.send("a2 uid fetch 5 BODY.PEEK[]")
	c.expect("* 1 FETCH (UID 5 BODY[] {4}")
	c.expect("hi")
	c.expect(")")
	c.expect("a2 OK done")
	c.send("a3 NOOP")
	c.expect("* 4 EXISTS")
	c.expect("a3 NO not today")
	c.send("a4 APPEND INBOX {5}")
	c.expect("+ Ready for literal data")
	c.send("hello {3+}")
	c.send("abc")
	c.expect("a4 OK APPEND")
	c.send("a5 CLOSE")
	c.expect("a5 OK CLOSE")
	c.send("a6 EXPUNGE")
	c.expect("a6 OK EXPUNGE")

	c2 := dial(t, s, nil)
	c2.expect("* OK hi")
	c2.send("b1 EXAMINE Trash")
	c2.expect("b1 OK EXAMINE")
	c2.send("b2 UID STORE 1:2 +FLAGS.SILENT (\\Deleted)")
	c2.expect("b2 OK UID STORE")

	sel := `Lost "and" found`
	want := []Command{
		{1, "a1", "SELECT", `"Lost \"and\" found"`, `a1 SELECT "Lost \"and\" found"`, ""},
		{1, "a2", "UID FETCH", "5 BODY.PEEK[]", "a2 uid fetch 5 BODY.PEEK[]", sel},
		{1, "a3", "NOOP", "", "a3 NOOP", sel},
		{1, "a4", "APPEND", "INBOX {5}\r\nhello {3+}\r\nabc", "a4 APPEND INBOX {5}\r\nhello {3+}\r\nabc", sel},
		{1, "a5", "CLOSE", "", "a5 CLOSE", sel},
		{1, "a6", "EXPUNGE", "", "a6 EXPUNGE", ""},
		{2, "b1", "EXAMINE", "Trash", "b1 EXAMINE Trash", ""},
		{2, "b2", "UID STORE", `1:2 +FLAGS.SILENT (\Deleted)`, `b2 UID STORE 1:2 +FLAGS.SILENT (\Deleted)`, "Trash"},
	}
	if got := s.Commands(); !reflect.DeepEqual(got, want) {
		t.Errorf("Commands() =\n%+v\nwant\n%+v", got, want)
	}
	if f := want[3].Fields(); !reflect.DeepEqual(f, []string{"INBOX", "hello", "abc"}) {
		t.Errorf("Fields() = %q", f)
	}
}

// TestMisbehave: a greeting that never comes, endless data, a hang and a
// dropped connection; a handler blocked in Hang or on Done does not keep
// Close from returning.
func TestMisbehave(t *testing.T) {
	quiet := Start(t, &Options{Greet: func(*Writer) {}})
	c := dial(t, quiet, nil)
	c.silent()

	s := Start(t, &Options{
		Greet: func(w *Writer) { w.Line("* PREAUTH welcome") },
		Handlers: map[string]Handler{
			"LIST":   func(w *Writer, c Command) { w.Write([]byte("* OK ")); w.Endless(1 << 20) },
			"SEARCH": func(w *Writer, c Command) { w.Hang() },
			"FETCH":  func(w *Writer, c Command) { <-w.Done() },
			"STATUS": func(w *Writer, c Command) { w.Line("* STATUS INBOX (MESSAGES 1)"); w.Close() },
		},
	})
	c = dial(t, s, nil)
	c.expect("* PREAUTH welcome")
	c.send("a1 LIST \"\" *")
	b, err := io.ReadAll(io.LimitReader(c.br, 5+1<<20))
	if err != nil || len(b) != 5+1<<20 || string(b[:8]) != "* OK xxx" || strings.Trim(string(b[5:]), "x") != "" {
		t.Fatalf("endless line: %d octets %.10q, %v", len(b), b, err)
	}
	c.send("a2 STATUS INBOX (MESSAGES)")
	c.expect("* STATUS INBOX (MESSAGES 1)")
	c.closed()

	hung := dial(t, s, nil)
	hung.expect("* PREAUTH welcome")
	hung.send("a1 SEARCH ALL")
	hung.send("a2 NOOP") // read and dropped
	hung.silent()
	blocked := dial(t, s, nil)
	blocked.expect("* PREAUTH welcome")
	blocked.send("a1 FETCH 1 FLAGS")
	blocked.silent()
	if got := verbs(s); !reflect.DeepEqual(got, []string{"LIST", "STATUS", "SEARCH", "FETCH"}) {
		t.Errorf("recorded %q", got)
	}
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close() blocked by a hanging handler")
	}
	hung.closed()
	blocked.closed()
}

// TestTLS: implicit TLS, and STARTTLS with LOGIN refused before it.
func TestTLS(t *testing.T) {
	srvCfg, cliCfg := SelfSigned(t)
	caps := []string{"IMAP4rev1", "AUTH=PLAIN"}

	s := Start(t, &Options{TLS: srvCfg, ImplicitTLS: true, Caps: caps})
	if s.URL() != "imaps://"+s.Addr() {
		t.Errorf("URL() = %q", s.URL())
	}
	c := dial(t, s, cliCfg)
	c.expect("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] imaptest ready")
	c.send("a1 STARTTLS")
	c.expect("a1 BAD STARTTLS not available")
	c.send("a2 LOGIN u p")
	c.expect("a2 OK [CAPABILITY IMAP4rev1] Logged in")

	s = Start(t, &Options{TLS: srvCfg, Caps: caps})
	if s.URL() != "imap://"+s.Addr() {
		t.Errorf("URL() = %q", s.URL())
	}
	c = dial(t, s, nil)
	c.expect("* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] imaptest ready")
	c.send("a1 LOGIN u p")
	c.expect("a1 NO [PRIVACYREQUIRED] Plaintext authentication disallowed")
	c.send("a2 STARTTLS")
	c.expect("a2 OK Begin TLS negotiation now")
	cfg := cliCfg.Clone()
	cfg.ServerName = "127.0.0.1"
	tc := tls.Client(c.c, cfg)
	if err := tc.Handshake(); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	c.c, c.br = tc, bufio.NewReader(tc)
	c.send("a3 CAPABILITY")
	c.expect("* CAPABILITY IMAP4rev1 AUTH=PLAIN")
	c.expect("a3 OK CAPABILITY completed")
	c.send("a4 LOGIN u p")
	c.expect("a4 OK [CAPABILITY IMAP4rev1] Logged in")

	// Plain text pipelined after STARTTLS is not taken for TLS.
	c = dial(t, s, nil)
	c.expect("* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] imaptest ready")
	c.send("a1 STARTTLS\r\na2 LOGIN u p")
	c.expect("a1 BAD Data after STARTTLS")
	c.closed()
}
