package imapmail

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// PoolOptions configure a Pool. A nil *PoolOptions is equivalent to a zero
// value; zero fields take the documented defaults.
type PoolOptions struct {
	// IMAP is the pinned IMAP server, for sessions whose Credentials
	// carry no Servers of their own.
	IMAP      mailproxy.Upstream
	TLSConfig *tls.Config // for TLS and STARTTLS; nil = system roots
	// Guard makes every connection (see mailproxy.Guard); nil dials
	// directly.
	Guard mailproxy.Guard
	// CommandTimeout bounds every upstream command (default 30s). When it
	// passes, the connection is closed: go-imap has no other way to cancel.
	CommandTimeout time.Duration
	// DialTimeout bounds connecting, TLS and the server's greeting
	// (default 15s).
	DialTimeout time.Duration
	// LoginTimeout bounds the answer to LOGIN once the server has greeted
	// (default 40s): servers delay failed logins on purpose (Dovecot
	// 2 s, then up to 15 s more per client address), and a slow "wrong
	// password" must not look like an unreachable server.
	LoginTimeout time.Duration
	// ForwardClient tells the server the browser's address (see
	// WithClient) with IMAP ID x-originating-ip/-port before logging in.
	// Only servers that trust this gateway believe it (Dovecot:
	// login_trusted_networks).
	ForwardClient bool
	// NicetyTimeout is what one request may spend on what a page can
	// live without: previews, sender fallbacks, the conversation list,
	// previous/next links (default 1s). Past it the page is shown
	// without them.
	NicetyTimeout time.Duration
	// IdleTimeout closes connections unused for this long (default 4m).
	IdleTimeout time.Duration
	// MaxPerUser caps live connections per user name across all of that
	// user's sessions on this instance (default 4; Dovecot allows 10 per
	// user and IP, and other mail programs need some too).
	MaxPerUser int
	// MaxPartBytes bounds how much of a body part is fetched for showing
	// (default 2 MiB); larger texts are cut with a notice.
	MaxPartBytes int64
	// MaxMessageBytes bounds a whole-message fetch used when the server's
	// BODYSTRUCTURE cannot be used (default 20 MiB).
	MaxMessageBytes int64
	// MaxResponseBytes bounds what one upstream command may make us read
	// (lines, literals, BODYSTRUCTURE; default 64 MiB, at least twice
	// MaxMessageBytes): past it the connection is dropped. Attachment
	// downloads stream and are not limited by it.
	MaxResponseBytes int64
	Logger           *slog.Logger
	// Observe, when set, is called after every upstream operation (see
	// Observer).
	Observe mailproxy.Observer
	// RowCacheBytes bounds the row cache shared by all users (default
	// 32 MiB; see rowcache.go).
	RowCacheBytes int64
}

func (o *PoolOptions) withDefaults() PoolOptions {
	var v PoolOptions
	if o != nil {
		v = *o
	}
	if v.CommandTimeout <= 0 {
		v.CommandTimeout = 30 * time.Second
	}
	if v.DialTimeout <= 0 {
		v.DialTimeout = 15 * time.Second
	}
	if v.LoginTimeout <= 0 {
		v.LoginTimeout = 40 * time.Second
	}
	if v.NicetyTimeout <= 0 {
		v.NicetyTimeout = time.Second
	}
	if v.IdleTimeout <= 0 {
		v.IdleTimeout = 4 * time.Minute
	}
	if v.MaxPerUser <= 0 {
		v.MaxPerUser = 4
	}
	if v.MaxPartBytes <= 0 {
		v.MaxPartBytes = 2 << 20
	}
	if v.MaxMessageBytes <= 0 {
		v.MaxMessageBytes = 20 << 20
	}
	if v.MaxResponseBytes <= 0 {
		v.MaxResponseBytes = 64 << 20
	}
	v.MaxResponseBytes = max(v.MaxResponseBytes, 2*v.MaxMessageBytes+1<<20)
	if v.Logger == nil {
		v.Logger = slog.New(slog.DiscardHandler)
	}
	return v
}

// Pool holds the live upstream connections of this instance, one per
// session id at most, and enforces the per-user connection cap. It is safe
// for concurrent use.
type Pool struct {
	opts PoolOptions

	mu      sync.Mutex
	entries map[string]*imapEntry // by session id
	users   map[string]int        // live connections per UserKey
	freed   chan struct{}         // signalled when a connection closes

	stop chan struct{}
	done chan struct{}

	rows *rowCache // immutable row and message data, per user (rowcache.go)
}

var _ mailproxy.Backend = (*Pool)(nil)

// NewPool starts a pool and its idle reaper.
func NewPool(opts *PoolOptions) *Pool {
	p := &Pool{
		opts:    opts.withDefaults(),
		entries: make(map[string]*imapEntry),
		users:   make(map[string]int),
		freed:   make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	p.rows = newRowCache(p.opts.RowCacheBytes)
	go p.reap()
	return p
}

// Session returns the mail session for a session id, bound to creds for
// (re)connecting. It does no I/O: the connection is made on first use and
// kept for the next request of the same session.
func (p *Pool) Session(id string, creds mailproxy.Credentials) mailproxy.Session {
	p.mu.Lock()
	e := p.entries[id]
	if e == nil {
		// Connection caps count per account: "ALICE" and "alice" are
		// one (UserKey), on one server (AccountKey).
		e = &imapEntry{pool: p, id: id, user: creds.AccountKey(), sem: make(chan struct{}, 1),
			rows: cacheUserKey(creds.MailUpstream("imap", p.opts.IMAP).String(), creds.Username)}
		p.entries[id] = e
	}
	p.mu.Unlock()
	return &imapSession{e: e, creds: creds}
}

// Login checks creds against the server by connecting and logging in. The
// connection is kept for session id, so the first page after login needs
// no second handshake. ErrAuth means the credentials were refused.
func (p *Pool) Login(ctx context.Context, id string, creds mailproxy.Credentials) error {
	s := p.Session(id, creds).(*imapSession)
	err := s.e.do(ctx, creds, false, func(*imapConn) error { return nil })
	if err != nil {
		p.Logout(id)
	}
	return err
}

// Logout closes the session's upstream connection (sending LOGOUT) and
// forgets it.
func (p *Pool) Logout(id string) {
	p.mu.Lock()
	e := p.entries[id]
	delete(p.entries, id)
	p.mu.Unlock()
	if e != nil {
		e.shutdown(true)
		p.forgetRowsIfLast(e.rows)
	}
}

// Close logs out every connection and stops the reaper.
func (p *Pool) Close() {
	select {
	case <-p.stop:
		return
	default:
	}
	close(p.stop)
	<-p.done
	p.mu.Lock()
	entries := p.entries
	p.entries = make(map[string]*imapEntry)
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, e := range entries {
		wg.Add(1)
		go func() { defer wg.Done(); e.shutdown(true) }()
	}
	wg.Wait()
}

// Stats reports the live connection count, for tests and metrics.
func (p *Pool) Stats() (sessions, conns int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, n := range p.users {
		conns += n
	}
	return len(p.entries), conns
}

// reap closes connections idle for longer than IdleTimeout and forgets
// entries that have had no connection for a long time.
func (p *Pool) reap() {
	defer close(p.done)
	tick := time.NewTicker(p.opts.IdleTimeout / 4)
	defer tick.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-tick.C:
			p.reapOnce(time.Now())
		}
	}
}

func (p *Pool) reapOnce(now time.Time) {
	p.mu.Lock()
	var idle []*imapEntry
	for id, e := range p.entries {
		last := e.lastUsed()
		if now.Sub(last) > p.opts.IdleTimeout {
			idle = append(idle, e)
			if now.Sub(last) > 4*p.opts.IdleTimeout {
				delete(p.entries, id)
				defer p.forgetRowsIfLast(e.rows)
			}
		}
	}
	p.mu.Unlock()
	for _, e := range idle {
		e.closeIfIdle(p.opts.IdleTimeout)
	}
}

// acquireSlot reserves one of user's connection slots. When all are taken
// it closes the least recently used idle connection of the same user
// (another tab or device); failing that it waits for one to be freed until
// ctx ends.
func (p *Pool) acquireSlot(ctx context.Context, user string, self *imapEntry) error {
	for {
		p.mu.Lock()
		if p.users[user] < p.opts.MaxPerUser {
			p.users[user]++
			p.mu.Unlock()
			return nil
		}
		var victim *imapEntry
		for _, e := range p.entries {
			if e == self || e.user != user || !e.hasConn() {
				continue
			}
			if victim == nil || e.lastUsed().Before(victim.lastUsed()) {
				victim = e
			}
		}
		p.mu.Unlock()
		if victim != nil && victim.closeIfIdle(0) {
			continue
		}
		select {
		case <-p.freed:
		case <-ctx.Done():
			return mailproxy.ErrTooManyConnections
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (p *Pool) releaseSlot(user string) {
	p.mu.Lock()
	if p.users[user] > 0 {
		p.users[user]--
	}
	if p.users[user] == 0 {
		delete(p.users, user)
	}
	p.mu.Unlock()
	select {
	case p.freed <- struct{}{}:
	default:
	}
}

// errorIsConn tells whether err means the connection is unusable.
func errorIsConn(err error) bool {
	return err != nil && (errors.Is(err, mailproxy.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded))
}
