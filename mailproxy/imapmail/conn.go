package imapmail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// imapEntry is the per-session slot in the pool: at most one live
// connection, used by one request at a time.
type imapEntry struct {
	pool *Pool
	id   string
	user string        // the account (AccountKey), for the connection cap
	rows string        // the account's part of the row cache (cacheUserKey)
	sem  chan struct{} // held while a request uses the connection

	mu   sync.Mutex // guards conn and last
	conn *imapConn
	last time.Time
}

// imapConn is one logged-in IMAP connection and what we know of its state.
type imapConn struct {
	c           *imapclient.Client
	caps        imap.CapSet
	selected    string // mailbox selected on the server, "" for none
	uidValidity uint32
	lastCmd     time.Time
	delim       string // hierarchy delimiter, learnt at the first SELECT
	// specials caches special-use folder names ("trash" → "Trash"),
	// filled by the first specialFolder call on this connection.
	specials map[string]string
	// recount is set after our own expunges in the selected folder: the
	// next sel counts its messages afresh (see recountSelected).
	recount bool
	// exists is the selected mailbox's message count, from SELECT and then
	// from EXISTS and EXPUNGE responses. (go-imap's Mailbox() is updated
	// only after Select().Wait() returns, so it cannot be trusted here.)
	exists atomic.Uint32

	budget   *budgetConn // nil for connections made elsewhere (tests)
	timer    *time.Timer
	timeout  time.Duration
	deadline time.Time // when timer fires, unless a nicety moved it
	timedOut chan struct{}
	once     sync.Once
	// niceBudget is what one request may spend on niceties (see
	// nicety), niceSpent what it spent so far.
	niceBudget, niceSpent time.Duration
}

// extend pushes the connection's deadline forward and refills its read
// budget (streaming downloads call it as bytes flow to the browser, so a
// slow but moving transfer is not cut and a large one is not refused).
func (c *imapConn) extend() {
	c.deadline = time.Now().Add(c.timeout)
	c.timer.Reset(c.timeout)
	if c.budget != nil {
		c.budget.refill()
	}
}

func (e *imapEntry) lastUsed() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.last
}

func (e *imapEntry) hasConn() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.conn != nil
}

// closeIfIdle closes the connection when no request is using it and it has
// been unused for at least idle. It reports whether it closed one.
func (e *imapEntry) closeIfIdle(idle time.Duration) bool {
	select {
	case e.sem <- struct{}{}:
	default:
		return false // in use
	}
	defer func() { <-e.sem }()
	e.mu.Lock()
	conn := e.conn
	if conn == nil || time.Since(e.last) < idle {
		e.mu.Unlock()
		return false
	}
	e.conn = nil
	e.mu.Unlock()
	e.pool.closeConn(e.user, conn, true)
	return true
}

// shutdown waits for the current request (briefly) and logs out.
func (e *imapEntry) shutdown(logout bool) {
	select {
	case e.sem <- struct{}{}:
		defer func() { <-e.sem }()
	case <-time.After(e.pool.opts.CommandTimeout):
	}
	e.mu.Lock()
	conn := e.conn
	e.conn = nil
	e.mu.Unlock()
	if conn != nil {
		e.pool.closeConn(e.user, conn, logout)
	}
}

// closeConn closes an upstream connection, politely when logout is set,
// and frees its slot.
func (p *Pool) closeConn(user string, conn *imapConn, logout bool) {
	if logout {
		done := make(chan struct{})
		go func() {
			conn.c.Logout().Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
		}
	}
	conn.c.Close()
	p.releaseSlot(user)
}

// do runs fn on the session's connection, connecting (and logging in)
// first when there is none. Requests of one session are serialised. fn
// runs under a deadline: when it passes the connection is closed. When a
// reused connection turns out to be dead and retry is set, fn runs once
// more on a fresh connection.
func (e *imapEntry) do(ctx context.Context, creds mailproxy.Credentials, retry bool, fn func(*imapConn) error) error {
	return e.pool.opts.Observe.Around(func() error { return e.exec(ctx, creds, retry, fn) })
}

// exec is do without the observer.
func (e *imapEntry) exec(ctx context.Context, creds mailproxy.Credentials, retry bool, fn func(*imapConn) error) error {
	select {
	case e.sem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("%w: waiting for the connection: %v", mailproxy.ErrUnavailable, ctx.Err())
	}
	defer func() { <-e.sem }()

	for attempt := 0; ; attempt++ {
		conn, fresh, err := e.connect(ctx, creds)
		if err != nil {
			return err
		}
		err = e.run(ctx, conn, fn)
		if err == nil {
			return nil
		}
		if !connBroken(conn) {
			return classify(err)
		}
		e.mu.Lock()
		if e.conn == conn {
			e.conn = nil
		}
		e.mu.Unlock()
		e.pool.closeConn(e.user, conn, false)
		select {
		case <-conn.timedOut:
			return fmt.Errorf("%w: %w: %v", mailproxy.ErrUnavailable, errTimeout, err)
		default:
		}
		if fresh || !retry || attempt > 0 {
			return classify(err)
		}
		e.pool.opts.Logger.Debug("imap connection lost, reconnecting", "err", err)
	}
}

// run executes fn with the deadline armed.
func (e *imapEntry) run(ctx context.Context, conn *imapConn, fn func(*imapConn) error) error {
	timeout := e.pool.opts.CommandTimeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = max(time.Until(dl), time.Millisecond)
	}
	conn.timeout = timeout
	conn.deadline = time.Now().Add(timeout)
	conn.niceBudget, conn.niceSpent = e.pool.opts.NicetyTimeout, 0
	if conn.budget != nil {
		conn.budget.refill()
	}
	conn.timer = time.AfterFunc(timeout, func() {
		conn.once.Do(func() { close(conn.timedOut) })
		// Close waits for go-imap's reader goroutine; never hold the
		// timer on it.
		go conn.c.Close()
	})
	err := fn(conn)
	conn.timer.Stop()
	now := time.Now()
	conn.lastCmd = now
	e.mu.Lock()
	e.last = now
	e.mu.Unlock()
	return err
}

// connBroken tells whether the connection can no longer be used.
func connBroken(conn *imapConn) bool {
	select {
	case <-conn.c.Closed():
		return true
	case <-conn.timedOut:
		return true
	default:
		return conn.c.State() == imap.ConnStateLogout
	}
}

// connect returns the live connection or makes a new one. fresh reports
// whether it was just made.
func (e *imapEntry) connect(ctx context.Context, creds mailproxy.Credentials) (conn *imapConn, fresh bool, err error) {
	e.mu.Lock()
	conn = e.conn
	e.mu.Unlock()
	if conn != nil {
		if !connBroken(conn) {
			return conn, false, nil
		}
		e.mu.Lock()
		e.conn = nil
		e.mu.Unlock()
		e.pool.closeConn(e.user, conn, false)
	}

	p := e.pool
	actx, cancel := context.WithTimeout(ctx, p.opts.DialTimeout)
	defer cancel()
	if err := p.acquireSlot(actx, e.user, e); err != nil {
		return nil, false, err
	}
	// dial stages its own deadlines (greeting, then login); this bounds
	// the whole.
	dctx, dcancel := context.WithTimeout(ctx, p.opts.DialTimeout+p.opts.LoginTimeout)
	defer dcancel()
	conn, err = p.dial(dctx, creds)
	if err != nil {
		p.releaseSlot(e.user)
		return nil, false, err
	}
	e.mu.Lock()
	e.conn = conn
	e.last = time.Now()
	e.mu.Unlock()
	return conn, true, nil
}

// maxMailboxName bounds a mailbox name from a URL (Dovecot allows 255
// bytes per hierarchy level; deep trees stay far below this).
const maxMailboxName = 1024

// checkMailboxName refuses a mailbox name that no server can hold before
// it reaches the wire: CR, LF and NUL (RFC 3501 §4.3 and §9: not in a
// quoted string, NUL not even in a literal), invalid UTF-8 or absurd
// length. go-imap would send CR/LF inside a literal, never as syntax, but
// such a name can only come from a forged URL.
func checkMailboxName(name string) error {
	if name == "" || len(name) > maxMailboxName || !utf8.ValidString(name) || strings.ContainsAny(name, "\r\n\x00") {
		return fmt.Errorf("%w: bad mailbox name %q", mailproxy.ErrNotFound, name)
	}
	return nil
}

// errTimeout marks a command that ran past its deadline.
var errTimeout = errors.New("command timed out")

func isTimeout(err error) bool { return errors.Is(err, errTimeout) }

// wordDecoder leaves non-UTF-8 encoded words undecoded, so that
// DecodeHeaderText can decode them tolerantly afterwards.
var wordDecoder = &mime.WordDecoder{CharsetReader: func(charset string, r io.Reader) (io.Reader, error) {
	return nil, fmt.Errorf("charset %q left for DecodeHeaderText", charset)
}}

// dial connects, checks the transport security and logs in: connecting,
// TLS and the greeting within DialTimeout, then the login's answer within
// LoginTimeout (a slow refusal is a refusal, not an unreachable server).
func (p *Pool) dial(ctx context.Context, creds mailproxy.Credentials) (*imapConn, error) {
	up := creds.MailUpstream("imap", p.opts.IMAP)
	conn := &imapConn{timedOut: make(chan struct{}), lastCmd: time.Now()}
	opts := &imapclient.Options{
		TLSConfig:   p.opts.TLSConfig,
		WordDecoder: wordDecoder,
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					conn.exists.Store(*d.NumMessages)
				}
			},
			Expunge: func(uint32) {
				for {
					n := conn.exists.Load()
					if n == 0 || conn.exists.CompareAndSwap(n, n-1) {
						return
					}
				}
			},
		},
	}
	if opts.TLSConfig != nil {
		opts.TLSConfig = opts.TLSConfig.Clone()
	} else if up.Security != mailproxy.SecurityNone {
		opts.TLSConfig = &tls.Config{}
	}
	if opts.TLSConfig != nil && opts.TLSConfig.ServerName == "" {
		opts.TLSConfig.ServerName = up.Host
	}
	var client *netip.AddrPort
	if a, ok := mailproxy.ClientFrom(ctx); ok && p.opts.ForwardClient {
		client = &a
	}

	type result struct {
		c    *imapclient.Client
		caps imap.CapSet
		err  error
	}
	ch := make(chan result, 1)
	greeted := make(chan struct{})
	go func() {
		var c *imapclient.Client
		var err error
		c, conn.budget, err = dialIMAP(ctx, p.opts.Guard, up, opts, p.opts.MaxResponseBytes, client)
		if err == nil {
			err = c.WaitGreeting()
		}
		if err == nil {
			close(greeted)
			err = login(c, creds)
		}
		var caps imap.CapSet
		if err == nil {
			// May ask CAPABILITY, still under the login deadline.
			// go-imap answers nil when that fails or times out; every
			// server has at least IMAP4rev1, so nil means no answer.
			if caps = c.Caps(); len(caps) == 0 {
				err = errors.New("no CAPABILITY answer")
			}
		}
		if err != nil && c != nil {
			c.Close()
			c = nil
		}
		ch <- result{c, caps, err}
	}()
	abandon := func() {
		go func() {
			if r := <-ch; r.c != nil {
				r.c.Close()
			}
		}()
	}
	dialTimer := time.NewTimer(p.opts.DialTimeout)
	defer dialTimer.Stop()
	var r result
	select {
	case r = <-ch:
	case <-greeted:
		loginTimer := time.NewTimer(p.opts.LoginTimeout)
		defer loginTimer.Stop()
		select {
		case r = <-ch:
		case <-loginTimer.C:
			abandon()
			return nil, fmt.Errorf("%w: %w: %s after %v", mailproxy.ErrUnavailable, mailproxy.ErrLoginStalled, up.Addr(), p.opts.LoginTimeout)
		case <-ctx.Done():
			abandon()
			return nil, fmt.Errorf("%w: %w: %s: %v", mailproxy.ErrUnavailable, mailproxy.ErrLoginStalled, up.Addr(), ctx.Err())
		}
	case <-dialTimer.C:
		abandon()
		return nil, fmt.Errorf("%w: connecting to %s: no greeting within %v", mailproxy.ErrUnavailable, up.Addr(), p.opts.DialTimeout)
	case <-ctx.Done():
		abandon()
		return nil, fmt.Errorf("%w: connecting to %s: %v", mailproxy.ErrUnavailable, up.Addr(), ctx.Err())
	}
	if r.err != nil {
		var ierr *imap.Error
		if errors.As(r.err, &ierr) {
			if ierr.Code == imap.ResponseCodeUnavailable {
				return nil, fmt.Errorf("%w: %v", mailproxy.ErrUnavailable, r.err)
			}
			return nil, fmt.Errorf("%w: %v", mailproxy.ErrAuth, r.err)
		}
		return nil, fmt.Errorf("%w: connecting to %s: %v", mailproxy.ErrUnavailable, up.Addr(), r.err)
	}
	conn.c, conn.caps = r.c, r.caps
	return conn, nil
}

// login authenticates with LOGIN, or AUTHENTICATE PLAIN when the server
// disables LOGIN (RFC 3501 §6.2.3).
func login(c *imapclient.Client, creds mailproxy.Credentials) error {
	if c.State() == imap.ConnStateAuthenticated {
		return nil // PREAUTH over TLS
	}
	caps := c.Caps()
	if caps.Has(imap.CapLoginDisabled) {
		if !caps.Has(imap.AuthCap(sasl.Plain)) {
			return fmt.Errorf("server offers neither LOGIN nor AUTHENTICATE PLAIN")
		}
		return c.Authenticate(sasl.NewPlainClient("", creds.LoginName(), creds.Password))
	}
	return c.Login(creds.LoginName(), creds.Password).Wait()
}

// classify maps an upstream error to our sentinels, keeping the original
// text for the logs.
func classify(err error) error {
	if err == nil {
		return nil
	}
	for _, s := range []error{mailproxy.ErrAuth, mailproxy.ErrNotFound, mailproxy.ErrUnsupported, mailproxy.ErrUnavailable, mailproxy.ErrBusy, mailproxy.ErrTooManyConnections, mailproxy.ErrSessionExpired, mailproxy.ErrFolderReset, mailproxy.ErrNotMoved} {
		if errors.Is(err, s) {
			return err
		}
	}
	var ierr *imap.Error
	if errors.As(err, &ierr) {
		switch ierr.Code {
		case imap.ResponseCodeNonExistent, imap.ResponseCodeTryCreate:
			return fmt.Errorf("%w: %v", mailproxy.ErrNotFound, err)
		case imap.ResponseCodeAuthenticationFailed, imap.ResponseCodeAuthorizationFailed, imap.ResponseCodeExpired:
			return fmt.Errorf("%w: %v", mailproxy.ErrAuth, err)
		}
		return fmt.Errorf("imap: %w", err)
	}
	return fmt.Errorf("%w: %v", mailproxy.ErrUnavailable, err)
}

// sel makes mailbox the selected one, reusing the selection kept from an
// earlier request. When the connection sat idle, a NOOP picks up new mail
// and expunges that other clients made meanwhile.
func (c *imapConn) sel(mailbox string) error {
	if err := checkMailboxName(mailbox); err != nil {
		return err
	}
	if c.selected == mailbox {
		if c.recount {
			return c.recountSelected()
		}
		if time.Since(c.lastCmd) > time.Second {
			if err := c.c.Noop().Wait(); err != nil {
				return err
			}
		}
		return nil
	}
	c.selected = ""
	var delimCmd *imapclient.ListCommand
	if c.delim == "" {
		delimCmd = c.c.List("", "", nil) // RFC 3501 §6.3.8: just the delimiter
	}
	data, err := c.c.Select(mailbox, nil).Wait()
	if delimCmd != nil {
		if l, lerr := delimCmd.Collect(); lerr == nil && len(l) > 0 && l[0].Delim != 0 {
			c.delim = string(l[0].Delim)
		} else {
			c.delim = "/"
		}
	}
	if err != nil {
		var ierr *imap.Error
		if errors.As(err, &ierr) && ierr.Type == imap.StatusResponseTypeNo {
			return fmt.Errorf("%w: select %q: %v", mailproxy.ErrNotFound, mailbox, err)
		}
		return err
	}
	c.selected = mailbox
	c.recount = false
	c.uidValidity = data.UIDValidity
	c.exists.Store(data.NumMessages)
	return nil
}

// numMessages is the selected mailbox's message count, kept current from
// EXISTS and EXPUNGE responses.
func (c *imapConn) numMessages() uint32 { return c.exists.Load() }

// display is a folder's name for titles: "Inbox" for INBOX, else its last
// path element.
func (c *imapConn) display(mailbox string) string {
	if strings.EqualFold(mailbox, "INBOX") {
		return "Inbox"
	}
	if c.delim != "" {
		if i := strings.LastIndex(mailbox, c.delim); i >= 0 && i+len(c.delim) < len(mailbox) {
			return mailbox[i+len(c.delim):]
		}
	}
	return mailbox
}
