package pop3mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/pop3"
)

// pop3Conn is one logged-in POP3 session and what it learnt of the
// maildrop. Message positions (0 = oldest) index nums and ids.
type pop3Conn struct {
	c      *pop3.Client
	nums   []int          // message number at each position
	ids    []string       // message id at each position; "" = not hashed yet (no UIDL)
	byID   map[string]int // id → position
	sizes  map[int]int64  // message number → size, from LIST when first needed
	hashed bool           // ids are header hashes (no UIDL)
	broken bool           // unusable: close without QUIT
}

// do runs fn on the session's connection, connecting (and logging in)
// first when there is none. All upstream use of one user on this
// instance is serialised. fn's commands run under CommandTimeout each
// and under ctx. When a reused connection turns out to be dead and retry
// is set, fn runs once more on a fresh connection. Afterwards the
// connection stays open for the grace period.
func (e *pop3Entry) do(ctx context.Context, creds mailproxy.Credentials, retry bool, fn func(*pop3Conn) error) error {
	return e.b.opts.Observe.Around(func() error { return e.exec(ctx, creds, retry, fn) })
}

// exec is do without the observer.
func (e *pop3Entry) exec(ctx context.Context, creds mailproxy.Credentials, retry bool, fn func(*pop3Conn) error) error {
	u := e.user
	select {
	case u.sem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("%w: waiting for the mailbox: %v", mailproxy.ErrUnavailable, ctx.Err())
	}
	defer func() {
		e.mu.Lock()
		e.last = time.Now()
		closed := e.closed
		e.mu.Unlock()
		if closed {
			e.dropConn(true)
		} else if e.conn != nil {
			e.armTimer()
		}
		<-u.sem
	}()
	e.stopTimer()

	// Another session of the same user holds the maildrop: let it go, or
	// our login would find it locked.
	if h := u.holder; h != nil && h != e {
		h.dropConn(true)
	}

	for attempt := 0; ; attempt++ {
		conn, fresh, err := e.connect(ctx, creds)
		if err != nil {
			return err
		}
		err = e.run(ctx, conn, fn)
		if conn.broken {
			e.dropConn(false)
		}
		if err == nil {
			return nil
		}
		if !conn.broken || fresh || !retry || attempt > 0 || errors.Is(err, errPOP3NoRetry) || ctx.Err() != nil {
			return classifyPOP3(err)
		}
		e.b.opts.Logger.Debug("pop3 connection lost, reconnecting", "err", err)
	}
}

// run executes fn, closing the connection when ctx ends first.
func (e *pop3Entry) run(ctx context.Context, conn *pop3Conn, fn func(*pop3Conn) error) error {
	stop := context.AfterFunc(ctx, func() { conn.c.Close() })
	err := fn(conn)
	if !stop() {
		conn.broken = true // closed by ctx
		if err == nil {
			err = ctx.Err()
		}
		return fmt.Errorf("%w: %w: %v", mailproxy.ErrUnavailable, ctx.Err(), err)
	}
	if err != nil && pop3ConnError(err) {
		conn.broken = true
	}
	return err
}

// pop3ConnError tells whether err leaves the connection unusable: anything
// but a "-ERR" reply or an error of our own that involved no I/O.
func pop3ConnError(err error) bool {
	if err == nil {
		return false
	}
	if _, ok := errors.AsType[*pop3.Error](err); ok {
		return false
	}
	return !errors.Is(err, mailproxy.ErrNotFound) && !errors.Is(err, mailproxy.ErrUnsupported)
}

// connect returns the live connection or makes a new one; fresh reports
// whether it was just made. user.sem is held.
func (e *pop3Entry) connect(ctx context.Context, creds mailproxy.Credentials) (conn *pop3Conn, fresh bool, err error) {
	if e.conn != nil {
		if !e.conn.broken {
			return e.conn, false, nil
		}
		e.dropConn(false)
	}
	for try := 0; ; try++ {
		conn, err = e.open(ctx, creds)
		if err == nil {
			break
		}
		// We may have just left the maildrop ourselves (the grace
		// period of this or another session ended, or Delete's QUIT):
		// some servers release the lock a moment after QUIT.
		if !errors.Is(err, mailproxy.ErrBusy) || try >= 3 || time.Since(e.user.lastQuit) > 3*time.Second {
			return nil, false, err
		}
		select {
		case <-time.After(300 * time.Millisecond):
		case <-ctx.Done():
			return nil, false, err
		}
	}
	e.conn = conn
	e.user.holder = e
	e.b.conns.Add(1)
	return conn, true, nil
}

// open dials, logs in and lists the UIDLs (RFC 1939 §7), once per
// connection, since message numbers may differ from one session to the
// next (§5).
func (e *pop3Entry) open(ctx context.Context, creds mailproxy.Credentials) (*pop3Conn, error) {
	c, err := e.b.dial(ctx, creds)
	if err != nil {
		return nil, err
	}
	conn := &pop3Conn{c: c, byID: map[string]int{}}
	err = e.run(ctx, conn, func(conn *pop3Conn) error {
		if !e.noUIDL {
			list, err := c.Uidl()
			if err == nil {
				conn.nums = make([]int, 0, len(list))
				conn.ids = make([]string, 0, len(list))
				for _, m := range list {
					id := pop3ID(m.UID)
					if _, dup := conn.byID[id]; dup {
						continue // a broken server: the first one wins
					}
					conn.byID[id] = len(conn.nums)
					conn.nums = append(conn.nums, m.Number)
					conn.ids = append(conn.ids, id)
				}
				return nil
			}
			if _, ok := errors.AsType[*pop3.Error](err); !ok {
				return err
			}
			e.noUIDL = true
			e.b.opts.Logger.Info("pop3 server has no UIDL; message ids are hashes of the headers", "server", creds.MailUpstream("pop3", e.b.opts.POP3).String(), "err", err)
		}
		n, _, err := c.Stat()
		if err != nil {
			return err
		}
		conn.hashed = true
		conn.nums = make([]int, n)
		conn.ids = make([]string, n)
		for i := range conn.nums {
			conn.nums[i] = i + 1
		}
		return nil
	})
	if err != nil {
		c.Close()
		return nil, classifyPOP3(err)
	}
	return conn, nil
}

// dial connects with the transport security the URL asks for (implicit
// TLS for pop3s, STLS for pop3 — required — and plain text only for
// pop3+insecure) and logs in, all within DialTimeout.
func (b *Backend) dial(ctx context.Context, creds mailproxy.Credentials) (*pop3.Client, error) {
	up := creds.MailUpstream("pop3", b.opts.POP3)
	dctx, cancel := context.WithTimeout(ctx, b.opts.DialTimeout)
	defer cancel()
	// Certificates are checked against the server's host name (the one
	// pinned, or discovered from the user's domain).
	tcfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if b.opts.TLSConfig != nil {
		tcfg = b.opts.TLSConfig.Clone()
	}
	if tcfg.ServerName == "" {
		tcfg.ServerName = up.Host
	}
	popts := &pop3.Options{
		TLSConfig:         tcfg,
		Timeout:           b.opts.CommandTimeout,
		AllowInsecureAuth: up.Security == mailproxy.SecurityNone,
	}
	// The greeting is read inside Dial, under the client's own timeout:
	// wait for it here under DialTimeout instead.
	type result struct {
		c   *pop3.Client
		err error
	}
	ch := make(chan result, 1)
	go func() {
		var r result
		conn, err := mailproxy.DialUpstream(dctx, b.opts.Guard, up)
		if err != nil {
			r.err = err
			ch <- r
			return
		}
		if up.Security == mailproxy.SecurityTLS {
			tc := tls.Client(conn, tcfg)
			if err := tc.HandshakeContext(dctx); err != nil {
				conn.Close()
				r.err = fmt.Errorf("TLS handshake: %w", err)
				ch <- r
				return
			}
			conn = tc
		}
		r.c, r.err = pop3.NewClient(conn, popts)
		ch <- r
	}()
	var r result
	select {
	case r = <-ch:
	case <-dctx.Done():
		go func() {
			if r := <-ch; r.c != nil {
				r.c.Close()
			}
		}()
		return nil, fmt.Errorf("%w: connecting to %s: %v", mailproxy.ErrUnavailable, up.Addr(), dctx.Err())
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: connecting to %s: %v", mailproxy.ErrUnavailable, up.Addr(), r.err)
	}
	c := r.c
	stop := context.AfterFunc(dctx, func() { c.Close() })
	if up.Security == mailproxy.SecurityStartTLS {
		// RFC 2595 §4. A server that refuses STLS is refused in turn:
		// the password must not travel in plain text.
		if err := c.StartTLS(nil); err != nil {
			stop()
			c.Close()
			return nil, fmt.Errorf("%w: STLS with %s: %v", mailproxy.ErrUnavailable, up.Addr(), err)
		}
	}
	if !stop() {
		c.Close()
		return nil, fmt.Errorf("%w: connecting to %s: %v", mailproxy.ErrUnavailable, up.Addr(), dctx.Err())
	}
	// Greeted (and under TLS): now the login, under its own deadline.
	lctx, lcancel := context.WithTimeout(ctx, b.opts.LoginTimeout)
	defer lcancel()
	stop = context.AfterFunc(lctx, func() { c.Close() })
	defer stop()
	if a, ok := mailproxy.ClientFrom(ctx); ok && b.opts.ForwardClient {
		// Dovecot offers XCLIENT only to clients it trusts; a refusal
		// changes nothing (the server logs the gateway's address).
		if !c.OffersXClient() {
			c.Capabilities() // others may list it in CAPA
		}
		if c.OffersXClient() {
			if err := c.XClient(a); err != nil {
				b.opts.Logger.Debug("pop3 XCLIENT refused", "err", err)
			}
		}
	}
	stalled := func(err error) error {
		return fmt.Errorf("%w: %w: %s: %v (%v)", mailproxy.ErrUnavailable, mailproxy.ErrLoginStalled, up.Addr(), lctx.Err(), err)
	}
	// Login uses AUTH PLAIN when CAPA lists it (RFC 5034), else USER and
	// PASS (RFC 1939 §7).
	if err := c.Login(creds.LoginName(), creds.Password); err != nil {
		c.Close()
		if lctx.Err() != nil || isNetTimeout(err) {
			return nil, stalled(err)
		}
		return nil, classifyPOP3(err)
	}
	if lctx.Err() != nil {
		c.Close()
		return nil, stalled(nil)
	}
	return c, nil
}

// isNetTimeout tells a read or write deadline that passed.
func isNetTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// errPOP3NoRetry marks failures after which an operation must not run
// again on a new connection (a download that sent bytes, a QUIT that may
// have committed deletions).
var errPOP3NoRetry = errors.New("not retryable")

// classifyPOP3 maps an upstream error to our sentinels, keeping the
// original text for the logs. A locked maildrop is ErrBusy and never
// ErrAuth: the user must not be told the password is wrong (RFC 2449
// §8.1.2 [IN-USE]; RFC 3206 §5 [AUTH] is what says it is).
func classifyPOP3(err error) error {
	if err == nil {
		return nil
	}
	for _, s := range []error{mailproxy.ErrAuth, mailproxy.ErrNotFound, mailproxy.ErrUnsupported, mailproxy.ErrUnavailable, mailproxy.ErrBusy, mailproxy.ErrSessionExpired} {
		if errors.Is(err, s) {
			return err
		}
	}
	switch {
	case errors.Is(err, pop3.ErrInUse), errors.Is(err, pop3.ErrLoginDelay):
		// [IN-USE] (RFC 2449 §8.1.2), or [LOGIN-DELAY] (§8.1.1): the
		// mailbox is there and the password good, try again soon.
		return fmt.Errorf("%w: %v", mailproxy.ErrBusy, err)
	case errors.Is(err, pop3.ErrSysTemp), errors.Is(err, pop3.ErrSysPerm):
		// RFC 3206 §4: a server-side failure.
		return fmt.Errorf("%w: %v", mailproxy.ErrUnavailable, err)
	case errors.Is(err, pop3.ErrAuth):
		return fmt.Errorf("%w: %v", mailproxy.ErrAuth, err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return fmt.Errorf("%w: %w", mailproxy.ErrUnavailable, err)
	}
	return fmt.Errorf("%w: %v", mailproxy.ErrUnavailable, err)
}

// dropConn closes the entry's connection: with QUIT when quit is set and
// it is healthy (no DELE was ever left pending on it, so the UPDATE state
// removes nothing: RFC 1939 §6), else by just closing it, which removes
// nothing either. user.sem is held.
func (e *pop3Entry) dropConn(quit bool) {
	conn := e.conn
	if conn == nil {
		return
	}
	e.conn = nil
	e.b.conns.Add(-1)
	if e.user.holder == e {
		e.user.holder = nil
	}
	if quit && !conn.broken {
		t := time.AfterFunc(min(2*time.Second, e.b.opts.CommandTimeout), func() { conn.c.Close() })
		if err := conn.c.Quit(); err != nil {
			e.b.opts.Logger.Debug("pop3 QUIT failed", "err", err)
		}
		t.Stop()
		e.user.lastQuit = time.Now()
	}
	conn.c.Close()
}

// armTimer (re)starts the grace period after a request.
func (e *pop3Entry) armTimer() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	if e.timer == nil {
		e.timer = time.AfterFunc(e.b.opts.Grace, e.graceClose)
	} else {
		e.timer.Reset(e.b.opts.Grace)
	}
}

func (e *pop3Entry) stopTimer() {
	e.mu.Lock()
	if e.timer != nil {
		e.timer.Stop()
	}
	e.mu.Unlock()
}

// graceClose ends the grace period: the connection is closed with QUIT,
// so that other mail programs can collect.
func (e *pop3Entry) graceClose() {
	select {
	case e.user.sem <- struct{}{}:
	default:
		return // a request is running; it re-arms the timer when done
	}
	defer func() { <-e.user.sem }()
	if e.conn == nil {
		return
	}
	if time.Since(e.lastUsed()) < e.b.opts.Grace*9/10 {
		return // a request ended just now and re-armed the timer
	}
	e.dropConn(true)
}

// finish ends reading a RETR reply: a short rest is read and discarded,
// but when much is left (a message cut at MaxMessageBytes, or a part
// download that ended early) the connection is dropped instead, which is
// quicker than reading megabytes for nothing.
func (c *pop3Conn) finish(rc io.ReadCloser) error {
	n, err := io.Copy(io.Discard, io.LimitReader(rc, pop3DrainBytes))
	if err != nil {
		c.broken = true
		return err
	}
	if n >= pop3DrainBytes {
		c.broken = true
		c.c.Close()
		return nil
	}
	if err := rc.Close(); err != nil {
		c.broken = true
		return err
	}
	return nil
}
