package pop3

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"time"
)

// Defaults for the zero fields of [Options].
const (
	// DefaultTimeout bounds each command, see [Options.Timeout].
	DefaultTimeout = 60 * time.Second
	// DefaultMaxLineLength bounds a reply line, see [Options.MaxLineLength].
	DefaultMaxLineLength = 64 << 10
	// DefaultMaxResponseSize bounds a multi-line reply, see
	// [Options.MaxResponseSize].
	DefaultMaxResponseSize = 16 << 20
)

// maxCommandLength is the longest command line, CRLF included (RFC 2449
// §4). The client only uses it to decide whether AUTH may carry an initial
// response (RFC 5034 §4).
const maxCommandLength = 255

// Options configure a Client. A nil *Options is the same as a zero
// Options, and a zero field takes its default.
type Options struct {
	// TLSConfig is used by DialTLS and by StartTLS(nil). When its
	// ServerName is empty, Dial and DialTLS fill it in from the host part
	// of the address; with NewClient, set it yourself. Nil means a zero
	// tls.Config: certificates are verified against the system roots.
	TLSConfig *tls.Config
	// Timeout bounds every command: sending it and reading the whole
	// reply, list-type replies included. While a message is streamed, it
	// bounds each wait for more data, and it bounds the whole of draining
	// the rest of a message on Close. It also bounds the TLS handshake
	// and, unless Dialer is set, dialling. Zero means DefaultTimeout; a
	// negative value means no deadline at all, which lets a silent server
	// hang the caller.
	Timeout time.Duration
	// MaxLineLength bounds a reply line, CRLF excluded; a longer line is
	// an error that closes the connection. Lines of a streamed message
	// are not bounded. Zero means DefaultMaxLineLength.
	MaxLineLength int
	// MaxResponseSize bounds the total size of a LIST, UIDL or CAPA reply;
	// a larger one is an error that closes the connection. Zero means
	// DefaultMaxResponseSize.
	MaxResponseSize int
	// MaxMessageSize bounds a message streamed by Retr or Top, after
	// dot-unstuffing; a longer one is an error that closes the
	// connection. Zero means no bound: a server that streams without end
	// is then stopped only by the reader's caller.
	MaxMessageSize int64
	// Dialer dials the TCP connection for Dial and DialTLS. Nil means a
	// net.Dialer with Timeout as its timeout.
	Dialer *net.Dialer
	// AllowInsecureAuth lets Login, AuthPlain and APOP run over a
	// connection that is not TLS. Leave it false except for tests and
	// loopback servers: without TLS a password can be read (USER/PASS,
	// AUTH PLAIN) or guessed offline from what was sent (APOP).
	AllowInsecureAuth bool
	// DisableInitialResponse makes AuthPlain send its credentials in a
	// continuation line instead of with the AUTH command, for servers
	// that implement only RFC 1734, which had no initial response.
	DisableInitialResponse bool
}

// Client is one POP3 session; see the package documentation.
type Client struct {
	raw  net.Conn // the connection as dialled; closing it ends everything
	conn net.Conn // raw, or a *tls.Conn over raw after STLS
	br   *bufio.Reader

	timeout       time.Duration
	maxLine       int
	maxResponse   int
	maxMessage    int64
	tlsConfig     *tls.Config
	serverName    string
	allowInsecure bool
	noInitialResp bool
	isTLS         bool
	timestamp     string // APOP timestamp from the greeting, "" if none
	xclient       bool   // the greeting carried Dovecot's [XCLIENT] code
	caps          *Caps  // cached CAPA reply, nil when unknown
	body          *bodyReader
	err           error // sticky: set once the connection is unusable
	closed        atomic.Bool
}

// Dial connects to a POP3 server over plain TCP (port 110) and reads its
// greeting. Call StartTLS before authenticating, unless
// Options.AllowInsecureAuth is set.
func Dial(addr string, opts *Options) (*Client, error) {
	return DialContext(context.Background(), addr, opts)
}

// DialContext is Dial with a context for the dial itself; the context is
// not used once the Client is returned.
func DialContext(ctx context.Context, addr string, opts *Options) (*Client, error) {
	conn, host, err := dial(ctx, addr, opts)
	if err != nil {
		return nil, err
	}
	return newClient(conn, conn, false, host, opts)
}

// DialTLS connects to a POP3 server over implicit TLS (POP3S, port 995,
// RFC 8314 §3), verifies its certificate with Options.TLSConfig and
// reads its greeting.
func DialTLS(addr string, opts *Options) (*Client, error) {
	return DialTLSContext(context.Background(), addr, opts)
}

// DialTLSContext is DialTLS with a context for the dial and the TLS
// handshake; the context is not used once the Client is returned.
func DialTLSContext(ctx context.Context, addr string, opts *Options) (*Client, error) {
	conn, host, err := dial(ctx, addr, opts)
	if err != nil {
		return nil, err
	}
	var cfg *tls.Config
	if opts != nil {
		cfg = opts.TLSConfig
	}
	tc := tls.Client(conn, tlsConfig(cfg, host))
	if t := timeoutOf(opts); t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("pop3: TLS handshake with %s: %w", addr, err)
	}
	return newClient(conn, tc, true, host, opts)
}

// NewClient starts a session over conn, which may be plain or TLS (a
// *tls.Conn counts as TLS), and reads the greeting (RFC 1939 §4). The
// Client owns conn from now on: on error, NewClient closes it. A "-ERR"
// greeting is returned as an [*Error] with an empty Cmd.
func NewClient(conn net.Conn, opts *Options) (*Client, error) {
	_, isTLS := conn.(interface {
		ConnectionState() tls.ConnectionState
	})
	return newClient(conn, conn, isTLS, "", opts)
}

func dial(ctx context.Context, addr string, opts *Options) (net.Conn, string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, "", fmt.Errorf("pop3: address %q: %w", addr, err)
	}
	var d *net.Dialer
	if opts != nil {
		d = opts.Dialer
	}
	if d == nil {
		d = &net.Dialer{}
		if t := timeoutOf(opts); t > 0 {
			d.Timeout = t
		}
	}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("pop3: %w", err)
	}
	return conn, host, nil
}

func timeoutOf(opts *Options) time.Duration {
	if opts == nil || opts.Timeout == 0 {
		return DefaultTimeout
	}
	return opts.Timeout
}

// tlsConfig returns a copy of cfg (or a zero config) with ServerName set
// to host when it was empty.
func tlsConfig(cfg *tls.Config, host string) *tls.Config {
	if cfg == nil {
		cfg = &tls.Config{}
	} else {
		cfg = cfg.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	return cfg
}

func newClient(raw, conn net.Conn, isTLS bool, host string, opts *Options) (*Client, error) {
	if opts == nil {
		opts = &Options{}
	}
	c := &Client{
		raw:           raw,
		conn:          conn,
		br:            bufio.NewReaderSize(conn, 16<<10),
		timeout:       timeoutOf(opts),
		maxLine:       opts.MaxLineLength,
		maxResponse:   opts.MaxResponseSize,
		maxMessage:    max(opts.MaxMessageSize, 0),
		tlsConfig:     opts.TLSConfig,
		serverName:    host,
		allowInsecure: opts.AllowInsecureAuth,
		noInitialResp: opts.DisableInitialResponse,
		isTLS:         isTLS,
	}
	if c.maxLine <= 0 {
		c.maxLine = DefaultMaxLineLength
	}
	if c.maxResponse <= 0 {
		c.maxResponse = DefaultMaxResponseSize
	}
	c.setDeadline()
	text, err := c.readStatus("")
	if err != nil {
		c.Close()
		return nil, err
	}
	c.timestamp = apopTimestamp(text)
	c.xclient = strings.HasPrefix(strings.ToUpper(text), "[XCLIENT]")
	return c, nil
}

// apopTimestamp finds the APOP timestamp in a greeting: the first
// "<...>" that looks like an RFC 5322 msg-id (RFC 1939 §7), that is, it
// holds an "@" and no white space. It returns "" if there is none.
func apopTimestamp(text string) string {
	for {
		i := strings.IndexByte(text, '<')
		if i < 0 {
			return ""
		}
		text = text[i:]
		j := strings.IndexByte(text, '>')
		if j < 0 {
			return ""
		}
		ts := text[:j+1]
		if strings.Contains(ts, "@") && !strings.ContainsAny(ts[1:], " \t<") && len(ts) <= 512 {
			return ts
		}
		text = text[1:]
	}
}

// IsTLS reports whether the connection is encrypted, by implicit TLS or
// after StartTLS.
func (c *Client) IsTLS() bool { return c.isTLS }

// TLSConnectionState returns the state of the TLS connection, if any.
func (c *Client) TLSConnectionState() (tls.ConnectionState, bool) {
	tc, ok := c.conn.(interface {
		ConnectionState() tls.ConnectionState
	})
	if !ok {
		return tls.ConnectionState{}, false
	}
	return tc.ConnectionState(), true
}

// SupportsAPOP reports whether the greeting carried an APOP timestamp
// (RFC 1939 §7).
func (c *Client) SupportsAPOP() bool { return c.timestamp != "" }

// Close closes the connection without QUIT, so the server does not enter
// the UPDATE state and removes none of the messages marked by Dele
// (RFC 1939 §6). It may be called from another goroutine to abort a
// command in progress, and more than once.
func (c *Client) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	return c.raw.Close()
}

// ready returns why no command may be sent now, or nil.
func (c *Client) ready() error {
	if c.closed.Load() {
		if c.err != nil {
			return c.err
		}
		return ErrClosed
	}
	if c.err != nil {
		return c.err
	}
	if c.body != nil {
		return ErrReaderOpen
	}
	return nil
}

// fail records that the connection is out of step, closes it and returns
// err. Later calls return an error wrapping err.
func (c *Client) fail(err error) error {
	if c.err == nil {
		c.err = fmt.Errorf("pop3: connection unusable after an earlier error: %w", err)
	}
	c.Close()
	return err
}

// setDeadline arms the deadline for one command.
func (c *Client) setDeadline() {
	if c.timeout > 0 {
		c.raw.SetDeadline(time.Now().Add(c.timeout))
	}
}

// send writes one command line. Arguments are checked first, so a bad
// argument sends nothing.
func (c *Client) send(cmd string, args ...string) error {
	var b strings.Builder
	b.WriteString(cmd)
	for _, a := range args {
		if strings.ContainsAny(a, "\r\n\x00") {
			return fmt.Errorf("%w: %s argument contains CR, LF or NUL", ErrInvalidArgument, cmd)
		}
		b.WriteByte(' ')
		b.WriteString(a)
	}
	b.WriteString("\r\n")
	c.setDeadline()
	if _, err := io.WriteString(c.conn, b.String()); err != nil {
		return c.fail(fmt.Errorf("pop3: %s: %w", cmd, err))
	}
	return nil
}

// cmd sends a command and reads its single-line reply, returning the text
// after "+OK".
func (c *Client) cmd(cmd string, args ...string) (string, error) {
	if err := c.ready(); err != nil {
		return "", err
	}
	if err := c.send(cmd, args...); err != nil {
		return "", err
	}
	return c.readStatus(cmd)
}

// readStatus reads a status line (RFC 1939 §3). A "-ERR" is returned as
// an *Error; anything else that is not "+OK" breaks the connection.
func (c *Client) readStatus(cmd string) (string, error) {
	line, err := readLine(c.br, c.maxLine)
	if err != nil {
		return "", c.fail(fmt.Errorf("pop3: %s: %w", cmdName(cmd), err))
	}
	ok, text, err := parseStatus(line)
	if err != nil {
		return "", c.fail(fmt.Errorf("pop3: %s: %w", cmdName(cmd), err))
	}
	if !ok {
		return "", parseError(cmd, text)
	}
	return text, nil
}

// readLines reads the rest of a multi-line reply.
func (c *Client) readLines(cmd string) ([]string, error) {
	lines, err := readMultiline(c.br, c.maxLine, c.maxResponse)
	if err != nil {
		return nil, c.fail(fmt.Errorf("pop3: %s: %w", cmd, err))
	}
	return lines, nil
}

func cmdName(cmd string) string {
	if cmd == "" {
		return "greeting"
	}
	return cmd
}
