package imapmail

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// Limits on what a hostile or broken IMAP server can make us read.
// go-imap (v2 beta.8) bounds list nesting at 1000 but not BODYSTRUCTURE
// nesting (parsed recursively: a few megabytes of "(" exhaust the
// goroutine stack and crash the process), nor line length, nor literal
// size, and it keeps lines and literal strings in memory. Every connection
// is therefore layered as
//
//	TCP → budgetConn → [TLS] → nestingConn → go-imap
//
// budgetConn caps the bytes one command may read (the time is capped by
// the command deadline, see imapEntry.run); nestingConn follows the
// response syntax in plain text and refuses deep nesting.

// errReadBudget means the server sent more than one command may read.
var errReadBudget = errors.New("upstream sent more than the response limit")

// errTooDeep means a response nests lists deeper than maxResponseNesting.
var errTooDeep = errors.New("upstream response nested too deeply")

// maxResponseNesting bounds parenthesis nesting in a response line: real
// BODYSTRUCTUREs nest a few levels per MIME level (thumbmail shows at
// most 20 MIME levels), ENVELOPE three.
const maxResponseNesting = 100

// budgetConn closes the connection once a command has read more than its
// budget. run refills it for every command; streaming downloads refill it
// as bytes flow to the browser (extend), since they hold nothing.
type budgetConn struct {
	net.Conn
	max  int64
	left atomic.Int64
}

func (b *budgetConn) refill() { b.left.Store(b.max) }

func (b *budgetConn) Read(p []byte) (int, error) {
	left := b.left.Load()
	if left <= 0 {
		b.Conn.Close()
		return 0, errReadBudget
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	n, err := b.Conn.Read(p)
	b.left.Add(-int64(n))
	return n, err
}

// nestingConn follows the plain-text response syntax (RFC 3501 §4 and §9:
// quoted strings, literals, parenthesised lists) and closes the
// connection when a line nests deeper than maxResponseNesting. An
// optional prefix is read first (a greeting, after our own STARTTLS).
type nestingConn struct {
	net.Conn
	prefix io.Reader

	// Syntax state, touched only by go-imap's single reading goroutine.
	depth      int
	quoted     bool
	escaped    bool
	literal    int64 // bytes of literal still to skip
	sizing     bool  // inside "{digits"
	size       int64
	literalEOL bool // "{N}" seen; the literal starts after the line break
}

func (c *nestingConn) Read(p []byte) (int, error) {
	var n int
	var err error
	if c.prefix != nil {
		n, err = c.prefix.Read(p)
		if err == io.EOF {
			c.prefix, err = nil, nil
		}
	} else {
		n, err = c.Conn.Read(p)
	}
	if !c.scan(p[:n]) {
		c.Conn.Close()
		return 0, errTooDeep
	}
	return n, err
}

// scan advances the syntax state over p; false when a line nests too
// deeply.
func (c *nestingConn) scan(p []byte) bool {
	for i := 0; i < len(p); i++ {
		b := p[i]
		switch {
		case c.literal > 0:
			skip := min(c.literal, int64(len(p)-i))
			c.literal -= skip
			i += int(skip) - 1
		case c.quoted:
			switch {
			case c.escaped:
				c.escaped = false
			case b == '\\':
				c.escaped = true
			case b == '"':
				c.quoted = false
			}
		case c.sizing:
			switch {
			case b >= '0' && b <= '9':
				c.size = min(c.size*10+int64(b-'0'), 1<<50)
			case b == '+' || b == '-':
			case b == '}':
				c.sizing, c.literalEOL = false, true
			default:
				c.sizing = false
				i-- // not a literal: read b again as ordinary text
			}
		case b == '\n':
			if c.literalEOL {
				c.literal, c.literalEOL = c.size, false
			} else {
				c.depth = 0
			}
		case c.literalEOL:
			if b != '\r' {
				c.literalEOL = false
				i--
			}
		case b == '"':
			c.quoted = true
		case b == '{':
			c.sizing, c.size = true, 0
		case b == '(':
			c.depth++
			if c.depth > maxResponseNesting {
				return false
			}
		case b == ')':
			c.depth = max(c.depth-1, 0)
		}
	}
	return true
}

// dialIMAP connects to up through guard (nil: directly) with the limits
// in place and returns the client (greeting not yet awaited) and the
// connection's budget.
func dialIMAP(ctx context.Context, guard mailproxy.Guard, up mailproxy.Upstream, opts *imapclient.Options, maxRead int64, client *netip.AddrPort) (*imapclient.Client, *budgetConn, error) {
	raw, err := mailproxy.DialUpstream(ctx, guard, up)
	if err != nil {
		return nil, nil, err
	}
	budget := &budgetConn{Conn: raw, max: maxRead}
	budget.refill()
	var plain net.Conn = budget
	greeting := "" // read here already, to replay to go-imap
	switch up.Security {
	case mailproxy.SecurityTLS:
		cfg := opts.TLSConfig.Clone()
		if cfg.NextProtos == nil {
			cfg.NextProtos = []string{"imap"}
		}
		tc := tls.Client(budget, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, nil, err
		}
		plain = tc
	case mailproxy.SecurityStartTLS:
		greeting, err = startTLS(budget)
		if err != nil {
			raw.Close()
			return nil, nil, err
		}
		tc := tls.Client(budget, opts.TLSConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, nil, err
		}
		plain = tc
		// go-imap expects a greeting; the server sends none after
		// STARTTLS (startTLS made one up). Its capabilities are not
		// carried over (RFC 3501 §6.2.1: they must be asked again).
	}
	if client != nil {
		if greeting, err = sendID(plain, greeting, *client); err != nil {
			raw.Close()
			return nil, nil, err
		}
	}
	var prefix io.Reader
	if greeting != "" {
		prefix = strings.NewReader(greeting)
	}
	c := imapclient.New(&nestingConn{Conn: plain, prefix: prefix}, opts)
	return c, budget, nil
}

// startTLS reads the greeting and negotiates STARTTLS (RFC 3501 §6.2.1)
// in plain text, refusing PREAUTH (RFC 3501 §7.1.4: it would skip TLS) and
// anything sent after the server's OK before TLS starts (injected plain
// text must never be read as if it came over TLS). It returns a greeting
// to hand to go-imap.
func startTLS(conn net.Conn) (string, error) {
	r := bufio.NewReaderSize(conn, 4096)
	line, err := readShortLine(r)
	if err != nil {
		return "", fmt.Errorf("reading the greeting: %w", err)
	}
	switch {
	case strings.HasPrefix(line, "* PREAUTH"):
		return "", errors.New("server sent PREAUTH before STARTTLS")
	case !strings.HasPrefix(line, "* OK"):
		return "", fmt.Errorf("server refused the connection: %.100q", line)
	}
	if _, err := io.WriteString(conn, "S1 STARTTLS\r\n"); err != nil {
		return "", err
	}
	for {
		line, err := readShortLine(r)
		if err != nil {
			return "", fmt.Errorf("STARTTLS: %w", err)
		}
		if strings.HasPrefix(line, "* ") {
			continue // untagged data before the answer
		}
		if !strings.HasPrefix(line, "S1 OK") {
			return "", fmt.Errorf("STARTTLS refused: %.100q", line)
		}
		break
	}
	if r.Buffered() > 0 {
		return "", errors.New("server sent data after STARTTLS OK in plain text")
	}
	return "* OK TLS started\r\n", nil
}

// readShortLine reads one line of at most 4 KiB, without its CRLF.
func readShortLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return "", errors.New("line too long")
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

// sendID tells the server who the client is before anything else (RFC
// 2971 ID with Dovecot's x-originating-ip and x-originating-port): it
// reads the greeting itself (or takes the one a STARTTLS exchange kept),
// sends ID, reads the answer, whatever it is (a server that does not
// believe us, or has no ID, just refuses), and returns the greeting for
// go-imap, which expects to read one. PREAUTH connections are left alone.
func sendID(conn net.Conn, greeting string, client netip.AddrPort) (string, error) {
	r := bufio.NewReaderSize(conn, 4096)
	if greeting == "" {
		line, err := readShortLine(r)
		if err != nil {
			return "", fmt.Errorf("reading the greeting: %w", err)
		}
		greeting = line + "\r\n"
	}
	if !strings.HasPrefix(greeting, "* OK") {
		return greeting, nil // PREAUTH or BYE: go-imap deals with it
	}
	cmd := `I1 ID ("x-originating-ip" "` + client.Addr().Unmap().String() + `"`
	if client.Port() != 0 {
		cmd += ` "x-originating-port" "` + strconv.Itoa(int(client.Port())) + `"`
	}
	cmd += ")\r\n"
	if _, err := io.WriteString(conn, cmd); err != nil {
		return "", err
	}
	for {
		line, err := readShortLine(r)
		if err != nil {
			return "", fmt.Errorf("ID: %w", err)
		}
		if strings.HasPrefix(line, "I1 ") {
			break // OK, NO or BAD: the session goes on either way
		}
		if !strings.HasPrefix(line, "* ") {
			return "", fmt.Errorf("ID: unexpected %.100q", line)
		}
	}
	if r.Buffered() > 0 {
		return "", errors.New("server sent data after the ID answer")
	}
	return greeting, nil
}
