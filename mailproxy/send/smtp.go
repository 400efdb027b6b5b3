package send

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/message"
)

// Errors of a submission, besides ErrAuth (credentials refused at AUTH)
// and ErrUnavailable (server unreachable, timed out, or failing
// temporarily with a 4xx reply).
var (
	// ErrRecipient means the server refused a recipient; errors.As gives
	// the *RecipientError with the address.
	ErrRecipient = errors.New("mailproxy: recipient refused")
	// ErrRejected means the server refused the message itself (sender
	// not allowed, too big, content refused): a permanent 5xx at MAIL or
	// DATA.
	ErrRejected = errors.New("mailproxy: message refused")
	// ErrUnconfirmed means the whole message was sent but the server's
	// reply to its end never came (timeout, connection lost): it may or
	// may not have been accepted, so sending again may duplicate it.
	ErrUnconfirmed = errors.New("mailproxy: delivery unconfirmed")
)

// RecipientError is a recipient the server refused. Its Address is as
// the server was given it (EnvelopeAddress's form), safe to show; Err
// holds the upstream reply, for logs only.
type RecipientError struct {
	Address string
	Err     error
}

func (e *RecipientError) Error() string {
	return fmt.Sprintf("mailproxy: recipient %s refused: %v", e.Address, e.Err)
}

// Is makes errors.Is(err, ErrRecipient) true.
func (e *RecipientError) Is(target error) bool { return target == ErrRecipient }

// Unwrap returns the upstream error.
func (e *RecipientError) Unwrap() error { return e.Err }

// SubmitOptions configure a Submitter. A nil *SubmitOptions is equivalent
// to a zero value; zero fields take the documented defaults.
type SubmitOptions struct {
	// SMTP is the pinned submission server (smtps://, smtp:// with
	// STARTTLS required, smtp+insecure:// for loopback tests), for
	// accounts whose Credentials carry no SMTP server of their own. Zero
	// (no Host) when there is none: then only such accounts can send.
	SMTP mailproxy.Upstream
	// TLSConfig verifies the server; nil means the system roots.
	TLSConfig *tls.Config
	// Guard makes every connection (see mailproxy.Guard); nil dials
	// directly.
	Guard mailproxy.Guard
	// Timeout bounds every step: dial, greeting, EHLO, STARTTLS, AUTH,
	// MAIL, each RCPT and DATA. Default 30 s.
	Timeout time.Duration
	// LocalName is the name sent in EHLO; default "localhost".
	LocalName string
	// ForwardClient tells the server the browser's address (see
	// WithClient) with XCLIENT where its EHLO offers it (Postfix:
	// smtpd_authorized_xclient_hosts).
	ForwardClient bool
	// Logger receives the upstream's error replies; nil uses slog.Default.
	Logger *slog.Logger
}

// Submitter sends messages through one SMTP submission server (RFC 6409)
// with the credentials of the user sending. It keeps no connection: each
// Send dials anew. It is safe for concurrent use.
type Submitter struct {
	o SubmitOptions
}

// NewSubmitter returns a Submitter for o.SMTP.
func NewSubmitter(o *SubmitOptions) *Submitter {
	s := &Submitter{}
	if o != nil {
		s.o = *o
	}
	if s.o.Timeout <= 0 {
		s.o.Timeout = 30 * time.Second
	}
	if s.o.LocalName == "" {
		s.o.LocalName = "localhost"
	}
	if s.o.Logger == nil {
		s.o.Logger = slog.Default()
	}
	return s
}

// Upstream is the pinned submission server's URL (zero when none).
func (s *Submitter) Upstream() mailproxy.Upstream { return s.o.SMTP }

// For is the submission server of the account creds: its own (found at
// sign-in), else the pinned one. ok is false when there is none.
func (s *Submitter) For(creds mailproxy.Credentials) (up mailproxy.Upstream, ok bool) {
	if creds.Servers != nil && creds.Servers.SMTP.Host != "" {
		return creds.Servers.SMTP, true
	}
	return s.o.SMTP, s.o.SMTP.Host != ""
}

// Send submits msg (a complete RFC 5322 message, CRLF line ends) from the
// envelope sender from to every address in rcpts, authenticating as
// creds. Addresses are given as Address.Email holds them; each goes
// through EnvelopeAddress before anything is dialled, so none can carry
// an SMTP parameter or a second recipient, and a refused one is an
// *AddressError (ErrBadInput) naming it, with nothing sent. It returns
// nil only when the server accepted the message for every recipient.
// Errors wrap ErrBadInput (*AddressError), ErrAuth, ErrRecipient
// (*RecipientError), ErrRejected, ErrUnconfirmed or ErrUnavailable; the
// text of all but *AddressError is for logs only.
func (s *Submitter) Send(ctx context.Context, creds mailproxy.Credentials, from string, rcpts []string, msg []byte) error {
	if len(rcpts) == 0 {
		return fmt.Errorf("%w: no recipients", ErrRecipient)
	}
	env, err := envelopeOf(from, rcpts)
	if err != nil {
		return err
	}
	up, ok := s.For(creds)
	if !ok {
		return fmt.Errorf("%w: no submission server for this account", mailproxy.ErrUnsupported)
	}
	c, err := s.dial(ctx, up)
	if err != nil {
		return err
	}
	defer c.Close()
	// Cancelling ctx closes the connection, so a blocked step returns.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()

	if err := s.auth(c, creds); err != nil {
		return err
	}
	var mo *smtp.MailOptions
	if env.utf8 != "" {
		// RFC 6531: a non-ASCII local part needs the server's SMTPUTF8.
		if ok, _ := c.Extension("SMTPUTF8"); !ok {
			return &message.AddressError{Address: message.ShowAddress(env.utf8), Reason: "has letters before the @ that your mail server does not accept (it offers no SMTPUTF8)", Sender: env.utf8 == env.from}
		}
		mo = &smtp.MailOptions{UTF8: true}
	}
	// RFC 5321 §3.3: MAIL, then one RCPT per recipient, then DATA.
	if err := c.Mail(env.from, mo); err != nil {
		return s.classify("MAIL", err, ErrRejected)
	}
	for _, r := range env.rcpts {
		if err := c.Rcpt(r, nil); err != nil {
			var se *smtp.SMTPError
			if errors.As(err, &se) && se.Code >= 500 {
				s.o.Logger.Warn("smtp: recipient refused", "code", se.Code, "reply", se.Message)
				return &RecipientError{Address: r, Err: err}
			}
			return s.classify("RCPT", err, ErrRejected)
		}
	}
	w, err := c.Data()
	if err != nil {
		return s.classify("DATA", err, ErrRejected)
	}
	// The DataCommand dot-stuffs (RFC 5321 §4.5.2): a line that is a lone
	// "." arrives intact. go-smtp sets no deadline while the body is
	// written, so a server that stops reading is cut off here: the step
	// timeout plus time for the size at a slow 64 KB/s.
	cut := time.AfterFunc(s.o.Timeout+time.Duration(len(msg)/(64<<10))*time.Second, func() { c.Close() })
	_, err = w.Write(msg)
	if !cut.Stop() && err == nil {
		err = errors.New("writing the message timed out")
	}
	if err != nil {
		w.Close()
		return s.classify("DATA", err, ErrRejected)
	}
	if err := w.Close(); err != nil {
		var se *smtp.SMTPError
		if !errors.As(err, &se) {
			// No reply to the final dot (RFC 5321 §4.5.3.2.6): the
			// server may have taken the message all the same.
			return fmt.Errorf("%w: smtp end of DATA: %v", ErrUnconfirmed, err)
		}
		return s.classify("DATA", err, ErrRejected)
	}
	c.Quit() // the message is accepted; a failed QUIT changes nothing
	return nil
}

// envelope is a checked SMTP envelope: every address as EnvelopeAddress
// writes it, each recipient once.
type envelope struct {
	from  string
	rcpts []string
	utf8  string // the first address that needs SMTPUTF8, or ""
}

// envelopeOf checks the sender and every recipient with EnvelopeAddress.
func envelopeOf(from string, rcpts []string) (*envelope, error) {
	env := &envelope{}
	f, err := message.EnvelopeAddress(from)
	if err != nil {
		var ae *message.AddressError
		if errors.As(err, &ae) {
			ae.Sender = true
		}
		return nil, err
	}
	env.from = f
	if !message.IsASCII(f) {
		env.utf8 = f
	}
	seen := map[string]bool{}
	for _, r := range rcpts {
		a, err := message.EnvelopeAddress(r)
		if err != nil {
			return nil, err
		}
		if k := strings.ToLower(a); !seen[k] {
			seen[k] = true
			env.rcpts = append(env.rcpts, a)
		}
		if env.utf8 == "" && !message.IsASCII(a) {
			env.utf8 = a
		}
	}
	return env, nil
}

// dial connects and greets: implicit TLS for smtps, STARTTLS (required)
// for smtp (RFC 3207), plain text for smtp+insecure.
func (s *Submitter) dial(ctx context.Context, up mailproxy.Upstream) (*smtp.Client, error) {
	dctx, dcancel := context.WithTimeout(ctx, s.o.Timeout)
	conn, err := mailproxy.DialUpstream(dctx, s.o.Guard, up)
	dcancel()
	if err != nil {
		return nil, fmt.Errorf("%w: dialing %s: %v", mailproxy.ErrUnavailable, up.Addr(), err)
	}
	// The greeting, EHLO and STARTTLS exchange are bounded as a whole
	// too: go-smtp's NewClientStartTLS runs them before we can set its
	// per-command timeout.
	hctx, cancel := context.WithTimeout(ctx, 3*s.o.Timeout)
	defer cancel()
	stop := context.AfterFunc(hctx, func() { conn.Close() })
	defer stop()
	tcfg := s.tlsConfig(up)
	if up.Security == mailproxy.SecurityTLS {
		conn = tls.Client(conn, tcfg)
	}
	if a, ok := mailproxy.ClientFrom(ctx); ok && s.o.ForwardClient {
		greeting, err := smtpXClient(conn, s.o.LocalName, a)
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("%w: XCLIENT exchange with %s: %v", mailproxy.ErrUnavailable, up.Addr(), err)
		}
		conn = &prefixConn{Conn: conn, prefix: strings.NewReader(greeting)}
	}
	var c *smtp.Client
	switch up.Security {
	case mailproxy.SecurityStartTLS:
		c, err = smtp.NewClientStartTLS(conn, tcfg)
		if err != nil {
			conn.Close()
			return nil, s.classify("greeting/EHLO/STARTTLS", err, mailproxy.ErrUnavailable)
		}
	default: // implicit TLS is set up above
		c = smtp.NewClient(conn)
	}
	// go-smtp sets a connection deadline of CommandTimeout around every
	// command and the greeting, and SubmissionTimeout around the end of
	// DATA.
	c.CommandTimeout = s.o.Timeout
	c.SubmissionTimeout = 2 * s.o.Timeout
	if err := c.Hello(s.o.LocalName); err != nil {
		c.Close()
		return nil, s.classify("greeting/EHLO", err, mailproxy.ErrUnavailable)
	}
	if !stop() {
		c.Close()
		return nil, fmt.Errorf("%w: greeting %s timed out", mailproxy.ErrUnavailable, up.Addr())
	}
	return c, nil
}

func (s *Submitter) tlsConfig(up mailproxy.Upstream) *tls.Config {
	cfg := s.o.TLSConfig
	if cfg == nil {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	cfg = cfg.Clone()
	if cfg.ServerName == "" {
		cfg.ServerName = up.Host
	}
	return cfg
}

// auth authenticates (RFC 4954) with PLAIN (RFC 4616), or LOGIN when the
// server does not offer PLAIN or refuses it as an unknown mechanism. A
// server that offers no AUTH at all (a loopback relay trusting its
// network) is used without.
func (s *Submitter) auth(c *smtp.Client, creds mailproxy.Credentials) error {
	if ok, _ := c.Extension("AUTH"); !ok {
		return nil
	}
	var err error
	tried := false
	if c.SupportsAuth("PLAIN") {
		tried = true
		err = c.Auth(sasl.NewPlainClient("", creds.LoginName(), creds.Password))
		if err == nil {
			return nil
		}
		var se *smtp.SMTPError
		if !errors.As(err, &se) || (se.Code != 504 && se.Code != 502) {
			return s.authErr(err)
		}
	}
	if c.SupportsAuth("LOGIN") || !tried {
		err = c.Auth(&loginClient{user: creds.LoginName(), pass: creds.Password})
	}
	if err != nil {
		return s.authErr(err)
	}
	return nil
}

func (s *Submitter) authErr(err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) && (se.Code == 535 || se.Code == 534 || se.Code == 530) {
		return fmt.Errorf("%w: smtp AUTH: %v", mailproxy.ErrAuth, err)
	}
	return s.classify("AUTH", err, mailproxy.ErrUnavailable)
}

// classify maps a failed step to a sentinel: a permanent 5xx reply to
// perm, anything else (4xx, network errors, timeouts) to ErrUnavailable.
func (s *Submitter) classify(step string, err error, perm error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		s.o.Logger.Warn("smtp: refused", "step", step, "code", se.Code, "reply", se.Message)
		if se.Code >= 500 {
			return fmt.Errorf("%w: smtp %s: %v", perm, step, err)
		}
	}
	return fmt.Errorf("%w: smtp %s: %v", mailproxy.ErrUnavailable, step, err)
}

// loginClient is the client side of the obsolete but common LOGIN
// mechanism (draft-murchison-sasl-login-00): no initial response, then
// the user name and the password as the server asks, whatever words its
// prompts use (servers differ: "Username:", "User Name", "password:").
type loginClient struct {
	user, pass string
	step       int
}

func (l *loginClient) Start() (string, []byte, error) { return "LOGIN", nil, nil }

func (l *loginClient) Next([]byte) ([]byte, error) {
	l.step++
	switch l.step {
	case 1:
		return []byte(l.user), nil
	case 2:
		return []byte(l.pass), nil
	}
	return nil, errors.New("sasl LOGIN: unexpected third challenge")
}
