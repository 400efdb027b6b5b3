// Package imaptest is a scripted IMAP peer on loopback, for tests that
// need a server to answer in one precise way, well or badly: a stalled
// login, an endless literal, a refused STORE. (For a working IMAP server
// with mailboxes and messages, use mailproxy/demo.)
//
//	s := imaptest.Start(t, &imaptest.Options{
//		Caps: []string{"IMAP4rev1", "UIDPLUS"},
//		Handlers: map[string]imaptest.Handler{
//			"LIST":      imaptest.Answer("OK done", `* LIST () "/" INBOX`),
//			"UID FETCH": func(w *imaptest.Writer, c imaptest.Command) {
//				w.Line("* 1 FETCH (UID 5 BODY[] {900000000}")
//				w.Endless(1 << 30)
//			},
//		},
//	})
//	// give s.URL() to the pool; afterwards look at s.Commands()
//
// The server sends a greeting and answers CAPABILITY, NOOP, LOGOUT,
// LOGIN (as Options.Login says) and, with Options.TLS, STARTTLS
// (RFC 3501 §6.1, §6.2). Every other command goes to the Handler
// registered for its verb, or to Options.Default; a handler may also
// replace a built-in answer. Handlers write raw protocol through a
// [Writer], so they can answer properly, or send endless data, hang, or
// drop the connection. Nothing is parsed beyond the command line: the
// peer keeps no mailboxes and checks no syntax.
//
// Every command line is recorded, literals included, with the mailbox
// selected on its connection ([Server.Commands], [Server.Count]), so a
// test can check the exact sequence a client sent.
//
// The server listens on 127.0.0.1 on a free port and serves each
// connection in its own goroutine; it is closed with the test
// (testing.TB.Cleanup). Without TLS, logins travel in plain text.
package imaptest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Login says how the built-in LOGIN answers.
type Login int

const (
	// LoginAccept accepts any user name and password:
	// "tag OK [CAPABILITY ...] Logged in".
	LoginAccept Login = iota
	// LoginRefuse refuses every login:
	// "tag NO [AUTHENTICATIONFAILED] Authentication failed." (RFC 5530).
	LoginRefuse
	// LoginStall never answers LOGIN, nor any later command on that
	// connection; they are still recorded. The connection stays open
	// until the client or the server closes it.
	LoginStall
)

// Handler answers one command by writing to w: untagged lines, literals
// and the tagged completion, each with its CRLF, or whatever else a test
// needs. What it writes is flushed when it returns. A handler that
// blocks must return once w.Done() is closed, or the server cannot close.
type Handler func(w *Writer, c Command)

// Options configure a Server. A nil *Options is the same as a zero one.
type Options struct {
	// Caps are the capabilities announced in the greeting, the LOGIN
	// answer and CAPABILITY; default IMAP4rev1. Like Dovecot, the
	// server leaves AUTH= out after login; and before STARTTLS (with
	// TLS set, ImplicitTLS not) it announces STARTTLS and LOGINDISABLED
	// instead of AUTH= and refuses LOGIN with [PRIVACYREQUIRED].
	Caps []string
	// Greeting is the first line, without CRLF; default
	// "* OK [CAPABILITY <caps>] imaptest ready".
	Greeting string
	// Greet, when set, is called instead of sending Greeting: it may send
	// nothing (a server that never greets), a PREAUTH, endless data, or
	// hang or close. Unless it closed the connection, commands are read
	// afterwards as usual.
	Greet func(w *Writer)
	// Login says how LOGIN is answered, unless Handlers has "LOGIN".
	Login Login
	// Handlers answer commands by verb: the upper-case command name,
	// with the command after UID ("UID FETCH"). They are asked first,
	// also for the built-in verbs (CAPABILITY, NOOP, LOGOUT, LOGIN,
	// STARTTLS).
	Handlers map[string]Handler
	// Default answers every other command; nil answers
	// "tag BAD Unknown command".
	Default Handler
	// TLS, when set, makes the server offer STARTTLS (RFC 3501 §6.2.1)
	// with this configuration, which must hold a certificate (see
	// SelfSigned).
	TLS *tls.Config
	// ImplicitTLS makes every connection TLS from the first byte (imaps,
	// RFC 8314 §3) instead of offering STARTTLS. It needs TLS.
	ImplicitTLS bool
}

// Command is one command received.
type Command struct {
	// Conn numbers the connection it came on, from 1 in accept order.
	Conn int
	// Tag is the command's tag.
	Tag string
	// Verb is the upper-cased command name; after UID, both words
	// ("UID STORE").
	Verb string
	// Args is the rest of the command after the verb, as received.
	Args string
	// Line is the whole command as received, without the final CRLF;
	// a literal's announcement, CRLF and data are kept inline.
	Line string
	// Selected is the mailbox selected on the connection when the
	// command arrived: the (unquoted) first argument of the last SELECT
	// or EXAMINE, whatever it was answered; CLOSE and UNSELECT clear it.
	Selected string
}

// Fields splits Args into its arguments: atoms as they are, quoted
// strings unquoted, literals as their data. Parenthesised lists are not
// parsed: they split at spaces like atoms.
func (c Command) Fields() []string {
	var out []string
	s := c.Args
	for {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			return out
		}
		switch {
		case s[0] == '"':
			var b strings.Builder
			i := 1
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
			}
			out = append(out, b.String())
			s = s[min(i+1, len(s)):]
		case s[0] == '{':
			end := strings.Index(s, "}\r\n")
			n, err := strconv.Atoi(strings.TrimSuffix(s[1:max(end, 1)], "+"))
			if end < 0 || err != nil || n < 0 || end+3+n > len(s) {
				out = append(out, s) // not a literal after all
				return out
			}
			out = append(out, s[end+3:end+3+n])
			s = s[end+3+n:]
		default:
			i := strings.IndexByte(s, ' ')
			if i < 0 {
				i = len(s)
			}
			out = append(out, s[:i])
			s = s[i:]
		}
	}
}

// Answer returns a handler that writes the untagged lines (each as given,
// "* ..." say) and then the tagged completion "tag status", e.g.
// Answer("OK done", `* LIST () "/" INBOX`).
func Answer(status string, untagged ...string) Handler {
	return func(w *Writer, c Command) {
		w.Line(untagged...)
		w.Line(c.Tag + " " + status)
	}
}

// Silent is a handler that answers nothing: the client waits.
func Silent(*Writer, Command) {}

// Server is a running scripted IMAP server. Its methods are safe for
// concurrent use.
type Server struct {
	opts Options
	ln   net.Listener
	done chan struct{} // closed by Close

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	nconns int
	cmds   []Command
	closed bool

	wg sync.WaitGroup
}

// Start starts a server on 127.0.0.1 and a free port, and closes it when
// the test ends. It fails the test if it cannot listen.
func Start(t testing.TB, opts *Options) *Server {
	t.Helper()
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.ImplicitTLS && o.TLS == nil {
		t.Fatal("imaptest: ImplicitTLS needs a TLS configuration")
	}
	if len(o.Caps) == 0 {
		o.Caps = []string{"IMAP4rev1"}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("imaptest: %v", err)
	}
	s := &Server{opts: o, ln: ln, done: make(chan struct{}), conns: make(map[net.Conn]struct{})}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.Close)
	return s
}

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the server's upstream URL for thumbmail: "imap+insecure://ADDR",
// or "imap://ADDR" (STARTTLS) when Options.TLS is set, or "imaps://ADDR"
// with Options.ImplicitTLS.
func (s *Server) URL() string {
	switch {
	case s.opts.ImplicitTLS:
		return "imaps://" + s.Addr()
	case s.opts.TLS != nil:
		return "imap://" + s.Addr()
	}
	return "imap+insecure://" + s.Addr()
}

// Commands returns every command received so far, on all connections,
// in the order they arrived.
func (s *Server) Commands() []Command {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Command(nil), s.cmds...)
}

// Count returns how many commands with verb (case-insensitive, "LOGIN",
// "UID FETCH") the server has received so far.
func (s *Server) Count(verb string) int {
	verb = strings.ToUpper(verb)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.cmds {
		if c.Verb == verb {
			n++
		}
	}
	return n
}

// Close stops the server, closes every connection, and waits for the
// sessions to end. It is called when the test ends; calling it earlier
// is fine.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.done)
	s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.nconns++
		id := s.nconns
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serve(c, id)
	}
}

// maxCommand bounds one command, literals included.
const maxCommand = 64 << 20

// session is the state of one connection.
type session struct {
	s        *Server
	id       int
	raw      net.Conn // the TCP connection
	conn     net.Conn // raw, or TLS over it
	br       *bufio.Reader
	w        *Writer
	isTLS    bool
	authed   bool
	muted    bool // LoginStall: nothing more is answered
	closed   bool // a handler closed the connection
	selected string
}

func (s *Server) serve(c net.Conn, id int) {
	defer s.wg.Done()
	ss := &session{s: s, id: id, raw: c}
	ss.w = &Writer{ss: ss}
	defer func() {
		c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	ss.setConn(c)
	if s.opts.ImplicitTLS {
		if !ss.handshake() {
			return
		}
	}
	if s.opts.Greet != nil {
		s.opts.Greet(ss.w)
	} else if s.opts.Greeting != "" {
		ss.w.Line(s.opts.Greeting)
	} else {
		ss.w.Line("* OK [CAPABILITY " + ss.caps() + "] imaptest ready")
	}
	for {
		if ss.closed || ss.w.Flush() != nil {
			return
		}
		line, err := ss.readCommand()
		if err != nil {
			return
		}
		cmd := parse(line)
		cmd.Conn, cmd.Selected = ss.id, ss.selected
		s.mu.Lock()
		s.cmds = append(s.cmds, cmd)
		s.mu.Unlock()
		switch cmd.Verb {
		case "SELECT", "EXAMINE":
			ss.selected = ""
			if f := cmd.Fields(); len(f) > 0 {
				ss.selected = f[0]
			}
		case "CLOSE", "UNSELECT":
			ss.selected = ""
		}
		if !ss.muted {
			ss.dispatch(cmd)
		}
	}
}

// setConn makes c (the connection, or TLS over it) the one read and
// written.
func (ss *session) setConn(c net.Conn) {
	ss.conn = c
	ss.br = bufio.NewReader(c)
	ss.w.bw = bufio.NewWriter(c)
}

// handshake runs the server side of a TLS handshake within 10 s.
func (ss *session) handshake() bool {
	tc := tls.Server(ss.raw, ss.s.opts.TLS)
	ss.raw.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tc.Handshake(); err != nil {
		return false
	}
	ss.raw.SetDeadline(time.Time{})
	ss.setConn(tc)
	ss.isTLS = true
	return true
}

// plainOnly reports whether the session is still in plain text on a
// server that offers STARTTLS.
func (ss *session) plainOnly() bool {
	return ss.s.opts.TLS != nil && !ss.isTLS
}

// caps is the capability list for the session's state.
func (ss *session) caps() string {
	var out []string
	for _, c := range ss.s.opts.Caps {
		if (ss.authed || ss.plainOnly()) && strings.HasPrefix(strings.ToUpper(c), "AUTH=") {
			continue
		}
		out = append(out, c)
	}
	if ss.plainOnly() && !ss.authed {
		out = append(out, "STARTTLS", "LOGINDISABLED")
	}
	return strings.Join(out, " ")
}

// readCommand reads one command line and the literals it announces
// (RFC 3501 §4.3, RFC 7888 for the non-synchronizing {n+}), and returns
// it without the final CRLF.
func (ss *session) readCommand() (string, error) {
	var b []byte
	for {
		line, err := ss.br.ReadSlice('\n')
		b = append(b, line...)
		if err == bufio.ErrBufferFull {
			if len(b) > maxCommand {
				return "", errors.New("command too long")
			}
			continue
		}
		if err != nil {
			return "", err
		}
		n, wait, ok := literal(b)
		if !ok {
			return strings.TrimRight(string(b), "\r\n"), nil
		}
		if len(b)+n > maxCommand {
			return "", errors.New("literal too long")
		}
		if wait {
			ss.w.Line("+ Ready for literal data")
			if err := ss.w.Flush(); err != nil {
				return "", err
			}
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(ss.br, data); err != nil {
			return "", err
		}
		b = append(b, data...)
	}
}

// literal parses the literal announcement "{n}" or "{n+}" that ends a
// line (CRLF included), and says whether the client waits for "+".
func literal(line []byte) (n int, wait, ok bool) {
	line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
	if !bytes.HasSuffix(line, []byte("}")) {
		return 0, false, false
	}
	i := bytes.LastIndexByte(line, '{')
	if i < 0 {
		return 0, false, false
	}
	num := line[i+1 : len(line)-1]
	wait = !bytes.HasSuffix(num, []byte("+"))
	n, err := strconv.Atoi(string(bytes.TrimSuffix(num, []byte("+"))))
	if err != nil || n < 0 {
		return 0, false, false
	}
	return n, wait, true
}

// parse splits a command into tag, verb and arguments.
func parse(line string) Command {
	c := Command{Line: line}
	c.Tag, line, _ = strings.Cut(line, " ")
	verb, rest, _ := strings.Cut(line, " ")
	c.Verb, c.Args = strings.ToUpper(verb), rest
	if c.Verb == "UID" {
		verb, rest, _ = strings.Cut(rest, " ")
		c.Verb, c.Args = "UID "+strings.ToUpper(verb), rest
	}
	return c
}

// dispatch answers one command.
func (ss *session) dispatch(c Command) {
	w := ss.w
	if h := ss.s.opts.Handlers[c.Verb]; h != nil {
		h(w, c)
		return
	}
	switch c.Verb {
	case "CAPABILITY":
		w.Line("* CAPABILITY "+ss.caps(), c.Tag+" OK CAPABILITY completed")
	case "NOOP":
		w.Line(c.Tag + " OK NOOP completed")
	case "LOGOUT":
		w.Line("* BYE imaptest logging out", c.Tag+" OK LOGOUT completed")
		w.Close()
	case "LOGIN":
		switch {
		case ss.authed:
			w.Line(c.Tag + " BAD Already logged in")
		case ss.plainOnly():
			w.Line(c.Tag + " NO [PRIVACYREQUIRED] Plaintext authentication disallowed")
		case ss.s.opts.Login == LoginRefuse:
			w.Line(c.Tag + " NO [AUTHENTICATIONFAILED] Authentication failed.")
		case ss.s.opts.Login == LoginStall:
			ss.muted = true
		default:
			ss.authed = true
			w.Line(c.Tag + " OK [CAPABILITY " + ss.caps() + "] Logged in")
		}
	case "STARTTLS":
		if !ss.plainOnly() {
			w.Line(c.Tag + " BAD STARTTLS not available")
			return
		}
		if ss.br.Buffered() > 0 {
			// Plain text sent after STARTTLS may have been injected: do
			// not read it as if it came over TLS.
			w.Line(c.Tag + " BAD Data after STARTTLS")
			w.Close()
			return
		}
		w.Line(c.Tag + " OK Begin TLS negotiation now")
		if w.Flush() != nil || !ss.handshake() {
			w.Close()
		}
	default:
		if ss.s.opts.Default != nil {
			ss.s.opts.Default(w, c)
			return
		}
		w.Line(c.Tag + " BAD Unknown command")
	}
}

// Writer writes a handler's answer to its connection, buffered; the
// buffer is flushed when the handler returns, or by Flush.
type Writer struct {
	ss *session
	bw *bufio.Writer
}

// Write writes p as it is.
func (w *Writer) Write(p []byte) (int, error) { return w.bw.Write(p) }

// Line writes each line followed by CRLF.
func (w *Writer) Line(lines ...string) {
	for _, l := range lines {
		w.bw.WriteString(l)
		w.bw.WriteString("\r\n")
	}
}

// Literal writes data as a literal, "{n}" CRLF and the data (RFC 3501
// §4.3); the line goes on after it.
func (w *Writer) Literal(data []byte) {
	w.bw.WriteString("{" + strconv.Itoa(len(data)) + "}\r\n")
	w.bw.Write(data)
}

// Flush sends what was written so far. It fails once the connection is
// gone.
func (w *Writer) Flush() error { return w.bw.Flush() }

// Endless sends limit octets of "x", flushed every 32 KiB, or fewer if
// the connection fails first: an endless line or literal, as far as a
// client can tell.
func (w *Writer) Endless(limit int64) {
	chunk := bytes.Repeat([]byte("x"), 32<<10)
	for limit > 0 {
		n := min(limit, int64(len(chunk)))
		if _, err := w.Write(chunk[:n]); err != nil || w.Flush() != nil {
			return
		}
		limit -= n
	}
}

// Hang flushes, then blocks until the client or the server closes the
// connection, reading and discarding (not recording) what the client
// sends meanwhile.
func (w *Writer) Hang() {
	w.Flush()
	io.Copy(io.Discard, w.ss.br)
}

// Close flushes and closes the connection; the session ends when the
// handler returns.
func (w *Writer) Close() {
	w.Flush()
	w.ss.closed = true
	w.ss.conn.Close()
}

// Done is closed when the server is closing: a handler that waits for
// something else must give up then.
func (w *Writer) Done() <-chan struct{} { return w.ss.s.done }
