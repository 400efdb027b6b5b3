// Package pop3test is an in-process POP3 server (RFC 1939) on loopback,
// for tests and for the demo mode of thumbmail.
//
//	s, err := pop3test.Start(&pop3test.Options{
//		Users:    map[string]string{"demo": "demo"},
//		Messages: map[string][][]byte{"demo": msgs}, // oldest first
//		Lock:     true,
//	})
//	defer s.Close()
//	// connect to s.Addr(), or give s.URL() to the gateway
//
// It implements the whole of RFC 1939 except APOP: USER/PASS (§7), STAT,
// LIST, RETR, DELE, NOOP, RSET and QUIT (§5, §6), and the optional TOP and
// UIDL (§7); CAPA and extended response codes (RFC 2449 §5, §8), the AUTH
// response code (RFC 3206 §6) and AUTH PLAIN with or without an initial
// response (RFC 5034, RFC 4616). With Options.TLS it also offers STLS
// (RFC 2595 §4), or speaks TLS from the first byte with
// Options.ImplicitTLS (POP3S, RFC 8314 §3); without, logins travel in
// plain text, so listen on loopback only.
//
// As RFC 1939 prescribes, a session sees a snapshot of its maildrop taken
// when it logs in (§5: message numbers are fixed for the session), DELE
// only marks messages, and the marked messages are removed only when the
// session ends with QUIT (§6, the UPDATE state). A connection that ends
// any other way removes nothing. Messages are sent with CRLF line endings
// and dot-stuffed (§3); the sizes LIST and STAT report count CRLF line
// endings, as §5 asks.
//
// For tests the server counts the commands it receives ([Server.Count]),
// the octets it sends ([Server.Sent]) and its open connections
// ([Server.Conns]); it can simulate another client holding the maildrop
// lock ([Server.Hold]), new mail arriving ([Server.Add]), a slow server
// (Options.Delay), a server without UIDL or TOP (Options.NoUIDL,
// Options.NoTop) and dropped
// connections ([Server.CloseConnections]).
package pop3test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Server. A nil *Options is the same as a zero one.
type Options struct {
	// Addr is the TCP listen address; default "127.0.0.1:0" (a free
	// loopback port).
	Addr string
	// Users maps user names to passwords. Names are matched exactly.
	Users map[string]string
	// Messages holds each user's maildrop, oldest first: message 1 is the
	// first element. The raw messages are copied; bare LF line endings
	// are turned into CRLF.
	Messages map[string][][]byte
	// Lock refuses a second concurrent session for a user with
	// "-ERR [IN-USE] Mailbox is locked by another POP3 session", as
	// Dovecot does with pop3_lock_session = yes (RFC 2449 §8.1.2).
	// Without it, sessions of one user may overlap (each sees its own
	// snapshot, and QUIT removes what the session marked).
	Lock bool
	// NoUIDL makes the server behave like one without the optional UIDL
	// command: it is not in CAPA, and UIDL is answered "-ERR".
	NoUIDL bool
	// NoTop makes the server behave like one without the optional TOP
	// command: it is not in CAPA, and TOP is answered "-ERR".
	NoTop bool
	// TLS, when set, makes the server offer STLS (RFC 2595 §4) with this
	// configuration, which must hold a certificate.
	TLS *tls.Config
	// ImplicitTLS makes every connection TLS from the first byte (POP3S)
	// instead of offering STLS. It needs TLS.
	ImplicitTLS bool
	// Delay is waited before every reply, to simulate a slow server.
	Delay time.Duration
	// UIDL gives the unique-id of a message when it is added: seq is a
	// counter over all messages the server was given (from 0), msg the
	// message with CRLF line endings. The result must be 1 to 70
	// characters in the range 0x21-0x7E (RFC 1939 §7). Nil means the
	// default: 24 hex digits of SHA-256 over seq and the message.
	UIDL func(seq int, msg []byte) string
}

// message is one message of a maildrop.
type message struct {
	uid  string
	data []byte // CRLF line endings, ends with CRLF (unless empty)
}

// maildrop is one user's mail.
type maildrop struct {
	msgs   []*message
	locked bool // a session in the TRANSACTION state holds it (Lock)
	held   int  // Hold calls not yet released
}

// Server is a running POP3 server; see the package documentation. Its
// methods are safe for concurrent use.
type Server struct {
	opts Options
	ln   net.Listener

	mu     sync.Mutex
	users  map[string]string
	drops  map[string]*maildrop
	conns  map[net.Conn]struct{}
	counts map[string]int
	seq    int
	closed bool

	sent atomic.Int64
	wg   sync.WaitGroup
}

// Start starts a server listening on Options.Addr.
func Start(opts *Options) (*Server, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.ImplicitTLS && o.TLS == nil {
		return nil, errors.New("pop3test: ImplicitTLS needs a TLS configuration")
	}
	s := &Server{
		opts:   o,
		users:  make(map[string]string, len(o.Users)),
		drops:  make(map[string]*maildrop),
		conns:  make(map[net.Conn]struct{}),
		counts: make(map[string]int),
	}
	for u, p := range o.Users {
		s.users[u] = p
	}
	for u, msgs := range o.Messages {
		if err := s.Add(u, msgs...); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("pop3test: %w", err)
	}
	s.ln = ln
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the server's upstream URL for thumbmail: "pop3+insecure://ADDR",
// or "pop3://ADDR" (STLS) when Options.TLS is set, or "pop3s://ADDR" with
// Options.ImplicitTLS.
func (s *Server) URL() string {
	switch {
	case s.opts.ImplicitTLS:
		return "pop3s://" + s.Addr()
	case s.opts.TLS != nil:
		return "pop3://" + s.Addr()
	}
	return "pop3+insecure://" + s.Addr()
}

// Add appends messages to user's maildrop, as new mail arriving. Sessions
// already logged in do not see them (RFC 1939 §5 numbers messages when
// the maildrop is opened). It fails only when a custom Options.UIDL
// returns an invalid unique-id.
func (s *Server) Add(user string, msgs ...[]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.drop(user)
	for _, raw := range msgs {
		data := crlf(raw)
		uid := s.uidl(s.seq, data)
		if !validUID(uid) {
			return fmt.Errorf("pop3test: invalid unique-id %q for message %d", uid, s.seq)
		}
		s.seq++
		d.msgs = append(d.msgs, &message{uid: uid, data: data})
	}
	return nil
}

func (s *Server) uidl(seq int, data []byte) string {
	if s.opts.UIDL != nil {
		return s.opts.UIDL(seq, data)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%d\x00", seq)
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// validUID checks the unique-id syntax of RFC 1939 §7.
func validUID(s string) bool {
	if s == "" || len(s) > 70 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// drop returns user's maildrop, creating an empty one. s.mu is held.
func (s *Server) drop(user string) *maildrop {
	d := s.drops[user]
	if d == nil {
		d = &maildrop{}
		s.drops[user] = d
	}
	return d
}

// Messages returns a copy of user's current maildrop, oldest first, with
// CRLF line endings: what is left after the sessions that ended with QUIT
// removed their deleted messages.
func (s *Server) Messages(user string) [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.drops[user]
	if d == nil {
		return nil
	}
	out := make([][]byte, len(d.msgs))
	for i, m := range d.msgs {
		out[i] = append([]byte(nil), m.data...)
	}
	return out
}

// UIDLs returns the unique-ids of user's current maildrop, oldest first.
func (s *Server) UIDLs(user string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.drops[user]
	if d == nil {
		return nil
	}
	out := make([]string, len(d.msgs))
	for i, m := range d.msgs {
		out[i] = m.uid
	}
	return out
}

// Hold locks user's maildrop as another POP3 client would, until release
// is called: meanwhile logins of user are refused with [IN-USE], whether
// or not Options.Lock is set. release may be called more than once.
func (s *Server) Hold(user string) (release func()) {
	s.mu.Lock()
	s.drop(user).held++
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.drop(user).held--
			s.mu.Unlock()
		})
	}
}

// Count returns how many commands with keyword cmd (case-insensitive,
// e.g. "TOP") the server has received so far, in all sessions.
func (s *Server) Count(cmd string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[strings.ToUpper(cmd)]
}

// Sent returns the number of octets the server has written to clients so
// far, greetings and replies included.
func (s *Server) Sent() int64 { return s.sent.Load() }

// Conns returns the number of open client connections.
func (s *Server) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// CloseConnections drops every open client connection without the UPDATE
// state (nothing marked is removed), as a server restart or a network
// failure would.
//
// It returns once those sessions have ended and released their locks (or
// after 5 s), so a test's next login does not race the old session.
func (s *Server) CloseConnections() {
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	for deadline := time.Now().Add(5 * time.Second); s.Conns() > 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
}

// Close stops the server, drops every connection and waits for the
// sessions to end.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	err := s.ln.Close()
	s.CloseConnections()
	s.wg.Wait()
	return err
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
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serve(c)
	}
}

// crlf returns a copy of raw with every line ending CRLF, the last line
// included.
func crlf(raw []byte) []byte {
	out := make([]byte, 0, len(raw)+len(raw)/32+2)
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, '\n')
		var line []byte
		if i < 0 {
			line, raw = raw, nil
		} else {
			line, raw = raw[:i], raw[i+1:]
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		out = append(out, line...)
		out = append(out, '\r', '\n')
	}
	return out
}

// countingWriter counts the octets written to the connection.
type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// Session limits.
const (
	// maxCommandLine bounds a command line. RFC 2449 §4 allows 255
	// octets; a little more is accepted.
	maxCommandLine = 1024
	// idleTimeout is the autologout timer; RFC 1939 §3 asks for at least
	// ten minutes.
	idleTimeout = 10 * time.Minute
)

// session is the state of one connection.
type session struct {
	s    *Server
	conn net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer

	isTLS   bool
	user    string // from USER, in the AUTHORIZATION state
	authed  bool   // in the TRANSACTION state
	owner   string // the authenticated user
	drop    *maildrop
	msgs    []*message // snapshot at login: number n is msgs[n-1]
	deleted []bool
}

func (s *Server) serve(conn net.Conn) {
	defer s.wg.Done()
	ss := &session{s: s, conn: conn}
	ss.setConn(conn)
	if s.opts.ImplicitTLS {
		tc := tls.Server(conn, s.opts.TLS)
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tc.Handshake(); err != nil {
			s.mu.Lock()
			delete(s.conns, conn)
			s.mu.Unlock()
			conn.Close()
			return
		}
		conn.SetDeadline(time.Time{})
		ss.setConn(tc)
		ss.isTLS = true
	}
	defer func() {
		conn.Close()
		s.mu.Lock()
		delete(s.conns, conn)
		if ss.authed && ss.drop != nil {
			ss.drop.locked = false // ended without QUIT: nothing removed
		}
		s.mu.Unlock()
	}()
	// RFC 1939 §4: the greeting.
	ss.reply("+OK pop3test ready")
	for {
		conn.SetReadDeadline(time.Now().Add(idleTimeout))
		line, err := ss.readLine()
		if err != nil {
			if errors.Is(err, errLineTooLong) {
				ss.reply("-ERR Line too long")
			}
			return
		}
		cmd, args := splitCommand(line)
		s.mu.Lock()
		s.counts[cmd]++
		s.mu.Unlock()
		if s.opts.Delay > 0 {
			time.Sleep(s.opts.Delay)
		}
		if quit := ss.dispatch(cmd, args); quit {
			return
		}
		if err := ss.bw.Flush(); err != nil {
			return
		}
	}
}

var errLineTooLong = errors.New("line too long")

// setConn makes c (the connection, or TLS over it) the one read and
// written.
func (ss *session) setConn(c net.Conn) {
	ss.br = bufio.NewReaderSize(c, 4096)
	ss.bw = bufio.NewWriterSize(countingWriter{c, &ss.s.sent}, 32<<10)
}

// stls answers STLS (RFC 2595 §4) and runs the TLS handshake. It reports
// whether the session is over.
func (ss *session) stls() bool {
	if ss.s.opts.TLS == nil || ss.isTLS {
		ss.reply("-ERR STLS not available")
		return false
	}
	if ss.br.Buffered() > 0 {
		// Commands sent before the handshake may have been injected by
		// an attacker: do not read them as if they came over TLS.
		ss.reply("-ERR Data after STLS")
		return true
	}
	ss.reply("+OK Begin TLS negotiation")
	tc := tls.Server(ss.conn, ss.s.opts.TLS)
	ss.conn.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tc.Handshake(); err != nil {
		return true
	}
	ss.conn.SetDeadline(time.Time{})
	ss.setConn(tc)
	ss.isTLS = true
	ss.user = ""
	return false
}

// readLine reads one command line without its line ending (CRLF, or a
// bare LF from a sloppy client).
func (ss *session) readLine() (string, error) {
	var b []byte
	for {
		frag, err := ss.br.ReadSlice('\n')
		b = append(b, frag...)
		if len(b) > maxCommandLine {
			return "", errLineTooLong
		}
		if err == nil {
			break
		}
		if err != bufio.ErrBufferFull {
			return "", err
		}
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// splitCommand splits a command line into its upper-cased keyword and its
// arguments (RFC 1939 §3: separated by single spaces).
func splitCommand(line string) (string, []string) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return "", nil
	}
	return strings.ToUpper(f[0]), f[1:]
}

// reply writes one status line and flushes it.
func (ss *session) reply(format string, args ...any) {
	fmt.Fprintf(ss.bw, format, args...)
	ss.bw.WriteString("\r\n")
	ss.bw.Flush()
}

// dispatch runs one command. It reports whether the session is over.
func (ss *session) dispatch(cmd string, args []string) (quit bool) {
	switch cmd {
	case "CAPA":
		ss.capa()
		return false
	case "QUIT":
		ss.quit()
		return true
	}
	if !ss.authed {
		switch cmd {
		case "USER":
			ss.cmdUser(args)
		case "PASS":
			ss.cmdPass(args)
		case "AUTH":
			return ss.auth(args)
		case "STLS":
			return ss.stls()
		case "APOP":
			ss.reply("-ERR APOP is not supported")
		default:
			ss.reply("-ERR Unknown command or not allowed before login: %s", safe(cmd))
		}
		return false
	}
	switch cmd {
	case "STAT":
		ss.stat()
	case "LIST":
		ss.list(args)
	case "UIDL":
		if ss.s.opts.NoUIDL {
			ss.reply("-ERR Unknown command: UIDL")
		} else {
			ss.uidl(args)
		}
	case "TOP":
		if ss.s.opts.NoTop {
			ss.reply("-ERR Unknown command: TOP")
		} else {
			ss.top(args)
		}
	case "RETR":
		ss.retr(args)
	case "DELE":
		ss.dele(args)
	case "RSET":
		for i := range ss.deleted {
			ss.deleted[i] = false
		}
		ss.reply("+OK %d messages", len(ss.msgs))
	case "NOOP":
		ss.reply("+OK")
	default:
		ss.reply("-ERR Unknown command: %s", safe(cmd))
	}
	return false
}

// safe keeps a client's word printable and short for echoing it.
func safe(s string) string {
	if len(s) > 20 {
		s = s[:20]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x21 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}

// capa answers CAPA (RFC 2449 §5), in both states.
func (ss *session) capa() {
	ss.bw.WriteString("+OK Capability list follows\r\n")
	var caps []string
	if !ss.s.opts.NoTop {
		caps = append(caps, "TOP")
	}
	if !ss.s.opts.NoUIDL {
		caps = append(caps, "UIDL")
	}
	caps = append(caps, "USER", "RESP-CODES", "AUTH-RESP-CODE", "SASL PLAIN", "IMPLEMENTATION pop3test")
	if ss.s.opts.TLS != nil && !ss.isTLS && !ss.authed {
		caps = append(caps, "STLS")
	}
	for _, c := range caps {
		ss.bw.WriteString(c + "\r\n")
	}
	ss.reply(".")
}

// cmdUser answers USER (RFC 1939 §7). Every name is accepted, so that
// names cannot be probed; PASS fails for unknown ones.
func (ss *session) cmdUser(args []string) {
	if len(args) != 1 {
		ss.reply("-ERR Usage: USER name")
		return
	}
	ss.user = args[0]
	ss.reply("+OK")
}

// cmdPass answers PASS (RFC 1939 §7). The password is the rest of the
// line, spaces included.
func (ss *session) cmdPass(args []string) {
	if ss.user == "" {
		ss.reply("-ERR USER first")
		return
	}
	user := ss.user
	ss.user = ""
	ss.login(user, strings.Join(args, " "))
}

// auth answers AUTH (RFC 5034 §4) with the PLAIN mechanism (RFC 4616),
// with or without an initial response. It reports whether the session is
// over (the connection failed).
func (ss *session) auth(args []string) bool {
	if len(args) == 0 {
		// RFC 1734 §2 (kept by many servers): list the mechanisms.
		ss.reply("+OK\r\nPLAIN\r\n.")
		return false
	}
	if !strings.EqualFold(args[0], "PLAIN") {
		ss.reply("-ERR Unsupported authentication mechanism")
		return false
	}
	if len(args) > 2 {
		ss.reply("-ERR Usage: AUTH PLAIN [initial-response]")
		return false
	}
	var resp string
	if len(args) == 2 {
		resp = args[1]
	} else {
		ss.reply("+ ")
		line, err := ss.readLine()
		if err != nil {
			return true
		}
		resp = line
	}
	if resp == "*" {
		ss.reply("-ERR Authentication cancelled")
		return false
	}
	if resp == "=" {
		resp = "" // an empty initial response (RFC 5034 §4)
	}
	raw, err := base64.StdEncoding.DecodeString(resp)
	if err != nil {
		ss.reply("-ERR Invalid base64 data")
		return false
	}
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 3 || (parts[0] != "" && parts[0] != parts[1]) {
		ss.reply("-ERR [AUTH] Authentication failed")
		return false
	}
	ss.login(parts[1], parts[2])
	return false
}

// login checks credentials and locks and opens the maildrop (RFC 1939
// §7: the TRANSACTION state).
func (ss *session) login(user, pass string) {
	s := ss.s
	s.mu.Lock()
	want, ok := s.users[user]
	if !ok || want != pass {
		s.mu.Unlock()
		// RFC 3206 §5: [AUTH] says the credentials are wrong.
		ss.reply("-ERR [AUTH] Authentication failed")
		return
	}
	d := s.drop(user)
	if d.held > 0 || (s.opts.Lock && d.locked) {
		s.mu.Unlock()
		// RFC 2449 §8.1.2.
		ss.reply("-ERR [IN-USE] Mailbox is locked by another POP3 session")
		return
	}
	if s.opts.Lock {
		d.locked = true
	}
	ss.authed, ss.owner, ss.drop = true, user, d
	ss.msgs = append([]*message(nil), d.msgs...)
	ss.deleted = make([]bool, len(ss.msgs))
	s.mu.Unlock()
	ss.reply("+OK Logged in.")
}

// quit answers QUIT (RFC 1939 §6): after login, the UPDATE state removes
// the messages marked deleted and releases the lock.
func (ss *session) quit() {
	if !ss.authed {
		ss.reply("+OK Bye")
		return
	}
	s := ss.s
	s.mu.Lock()
	gone := map[*message]bool{}
	for i, m := range ss.msgs {
		if ss.deleted[i] {
			gone[m] = true
		}
	}
	if len(gone) > 0 {
		kept := ss.drop.msgs[:0:0]
		for _, m := range ss.drop.msgs {
			if !gone[m] {
				kept = append(kept, m)
			}
		}
		ss.drop.msgs = kept
	}
	if s.opts.Lock {
		ss.drop.locked = false
	}
	ss.authed = false // the lock is released: the deferred cleanup must not touch it
	s.mu.Unlock()
	ss.reply("+OK Logging out, %d messages deleted", len(gone))
}

// msg parses a message-number argument and returns the message, or
// replies "-ERR" and returns nil (RFC 1939 §5: a deleted message may not
// be referred to).
func (ss *session) msg(arg string) (int, *message) {
	n, err := strconv.Atoi(arg)
	if err != nil || n < 1 || arg[0] == '+' {
		ss.reply("-ERR Invalid message number")
		return 0, nil
	}
	if n > len(ss.msgs) {
		ss.reply("-ERR There's no message %d", n)
		return 0, nil
	}
	if ss.deleted[n-1] {
		ss.reply("-ERR Message %d is deleted", n)
		return 0, nil
	}
	return n, ss.msgs[n-1]
}

// stat answers STAT (RFC 1939 §5).
func (ss *session) stat() {
	count, size := 0, 0
	for i, m := range ss.msgs {
		if !ss.deleted[i] {
			count++
			size += len(m.data)
		}
	}
	ss.reply("+OK %d %d", count, size)
}

// list answers LIST (RFC 1939 §5).
func (ss *session) list(args []string) {
	if len(args) > 0 {
		if n, m := ss.msg(args[0]); m != nil {
			ss.reply("+OK %d %d", n, len(m.data))
		}
		return
	}
	ss.bw.WriteString("+OK scan listing follows\r\n")
	for i, m := range ss.msgs {
		if !ss.deleted[i] {
			fmt.Fprintf(ss.bw, "%d %d\r\n", i+1, len(m.data))
		}
	}
	ss.reply(".")
}

// uidl answers UIDL (RFC 1939 §7).
func (ss *session) uidl(args []string) {
	if len(args) > 0 {
		if n, m := ss.msg(args[0]); m != nil {
			ss.reply("+OK %d %s", n, m.uid)
		}
		return
	}
	ss.bw.WriteString("+OK unique-id listing follows\r\n")
	for i, m := range ss.msgs {
		if !ss.deleted[i] {
			fmt.Fprintf(ss.bw, "%d %s\r\n", i+1, m.uid)
		}
	}
	ss.reply(".")
}

// retr answers RETR (RFC 1939 §5): the message, dot-stuffed, streamed.
func (ss *session) retr(args []string) {
	if len(args) != 1 {
		ss.reply("-ERR Usage: RETR msg")
		return
	}
	_, m := ss.msg(args[0])
	if m == nil {
		return
	}
	fmt.Fprintf(ss.bw, "+OK %d octets\r\n", len(m.data))
	ss.writeStuffed(m.data)
	ss.reply(".")
}

// top answers TOP (RFC 1939 §7): the header, the blank line and the
// first n lines of the body.
func (ss *session) top(args []string) {
	if len(args) != 2 {
		ss.reply("-ERR Usage: TOP msg n")
		return
	}
	lines, err := strconv.Atoi(args[1])
	if err != nil || lines < 0 || args[1][0] == '+' {
		ss.reply("-ERR Invalid line count")
		return
	}
	_, m := ss.msg(args[0])
	if m == nil {
		return
	}
	data := m.data
	end := len(data)
	if i := bytes.Index(data, []byte("\r\n\r\n")); i >= 0 {
		end = i + 4
		for k := 0; k < lines && end < len(data); k++ {
			j := bytes.IndexByte(data[end:], '\n')
			if j < 0 {
				end = len(data)
				break
			}
			end += j + 1
		}
	} else if bytes.HasPrefix(data, []byte("\r\n")) {
		end = 2 // no header at all: the blank line, then the body
		for k := 0; k < lines && end < len(data); k++ {
			j := bytes.IndexByte(data[end:], '\n')
			if j < 0 {
				end = len(data)
				break
			}
			end += j + 1
		}
	}
	ss.bw.WriteString("+OK\r\n")
	ss.writeStuffed(data[:end])
	ss.reply(".")
}

// writeStuffed writes data (CRLF lines) byte-stuffed: a line starting
// with "." gets another one in front (RFC 1939 §3). It writes straight
// into the connection's buffer, so a large message is streamed.
func (ss *session) writeStuffed(data []byte) {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		line := data
		if i >= 0 {
			line = data[:i+1]
		}
		data = data[len(line):]
		if line[0] == '.' {
			ss.bw.WriteByte('.')
		}
		ss.bw.Write(line)
		if !bytes.HasSuffix(line, []byte("\n")) {
			ss.bw.WriteString("\r\n")
		}
	}
}

// dele answers DELE (RFC 1939 §5): the message is only marked.
func (ss *session) dele(args []string) {
	if len(args) != 1 {
		ss.reply("-ERR Usage: DELE msg")
		return
	}
	n, m := ss.msg(args[0])
	if m == nil {
		return
	}
	ss.deleted[n-1] = true
	ss.reply("+OK Marked to be deleted.")
}
