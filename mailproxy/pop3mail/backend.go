package pop3mail

import (
	"context"
	"crypto/tls"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// The POP3 backend. POP3 (RFC 1939) differs from IMAP in ways that shape
// everything here:
//
//   - A server may lock the maildrop for the whole session (RFC 1939 §8:
//     "the POP3 server acquires an exclusive-access lock on the
//     maildrop"), so another mail program of the user cannot collect while
//     we are connected. A connection is therefore opened on demand and
//     closed after Options.Grace (2 s) without a request, and a lock
//     refusal is ErrBusy, never ErrAuth.
//   - Message numbers are valid for one session only (RFC 1939 §5); the
//     UIDL unique-id (§7) is what identifies a message across requests.
//     Every connection lists the UIDLs once and maps ids to numbers
//     through that list.
//   - There are no folders and no flags: the only folder is INBOX, and
//     "read" is remembered in this process for the session only. POP3 has
//     no way to store it on the server, so it is lost at logout, when the
//     session is forgotten after Options.ForgetAfter, and it is not
//     shared between instances behind a load balancer.
//   - There is no server-side structure: list rows come from TOP (the
//     header and a few body lines), the message view and part downloads
//     from RETR, streamed.
//   - Deleting is DELE and then QUIT, which commits (RFC 1939 §6); a
//     connection that ends without QUIT removes nothing, and our QUIT after
//     the grace period sends no DELE first, so it removes nothing either.

// Options configure a Backend. A nil *Options is equivalent to
// a zero value; zero fields take the documented defaults.
type Options struct {
	// POP3 is the pinned POP3 server, for sessions whose Credentials
	// carry no Servers of their own.
	POP3      mailproxy.Upstream
	TLSConfig *tls.Config // for pop3s and STLS; nil = system roots
	// Guard makes every connection (see mailproxy.Guard); nil dials
	// directly.
	Guard mailproxy.Guard
	// CommandTimeout bounds every upstream command, and every wait for
	// more data while a message streams (default 30s).
	CommandTimeout time.Duration
	// DialTimeout bounds connecting, TLS and the greeting (default 15s).
	DialTimeout time.Duration
	// LoginTimeout bounds the login once the server has greeted
	// (default 40s): servers delay failed logins on purpose (Dovecot 2 s,
	// then up to 15 s more per client address) and make a second session
	// wait for the maildrop lock (Dovecot up to 10 s).
	LoginTimeout time.Duration
	// ForwardClient tells the server the browser's address (see
	// WithClient) with XCLIENT before logging in, where the server offers
	// it (Dovecot: an [XCLIENT] greeting, to login_trusted_networks only;
	// others: CAPA).
	ForwardClient bool
	// Grace is how long a connection may stay open between requests
	// (default 2s): POP3 maildrops are often locked per session, so we
	// never hold one long.
	Grace time.Duration
	// MaxMessageBytes bounds how much of a message is read to show it
	// (default 20 MiB); a longer one is shown cut, with a notice. Part
	// downloads are not bounded: they stream.
	MaxMessageBytes int64
	// ForgetAfter drops what a session keeps in memory (the header cache
	// and the set of messages read) when the session has made no request
	// for this long (default 30m, the default session idle timeout).
	ForgetAfter time.Duration
	// Logger receives connection events and upstream error text (which
	// must never reach a page); nil discards them.
	Logger *slog.Logger
	// Observe, when set, is called after every upstream operation (see
	// Observer).
	Observe mailproxy.Observer
}

func (o *Options) withDefaults() Options {
	var v Options
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
	if v.Grace <= 0 {
		v.Grace = 2 * time.Second
	}
	if v.MaxMessageBytes <= 0 {
		v.MaxMessageBytes = 20 << 20
	}
	if v.ForgetAfter <= 0 {
		v.ForgetAfter = 30 * time.Minute
	}
	if v.Logger == nil {
		v.Logger = slog.New(slog.DiscardHandler)
	}
	return v
}

// Limits of what a POP3 session keeps and reads.
const (
	pop3CacheEntries = 20000     // list rows cached per session
	pop3ReadSetMax   = 100000    // messages remembered as read per session
	pop3HintsMax     = 20000     // no-UIDL servers: remembered positions
	pop3PreviewLines = 20        // body lines fetched with TOP for the preview
	pop3TopBytes     = 256 << 10 // bytes of a TOP reply kept
	pop3DrainBytes   = 1 << 20   // rest of a RETR read rather than dropping the connection
	pop3MaxScan      = 1000      // no-UIDL servers: messages hashed to find one id
	pop3PreviewRunes = 90
	pop3SizeSlack    = 1 << 20 // part downloads: octets allowed beyond twice the LIST size
	pop3ViewsKept    = 4       // parsed messages kept per session (pop3Views)
	pop3ViewMaxBody  = 1 << 20 // larger shown bodies are not kept
)

// Backend makes POP3 Sessions. It keeps, per session id, at most one
// upstream connection (closed after the grace period), the header cache
// and the set of messages read; per user name it serialises all upstream
// use, so two sessions of one user on this instance never fight over the
// maildrop lock. It is safe for concurrent use.
type Backend struct {
	opts Options

	mu      sync.Mutex
	entries map[string]*pop3Entry // by session id
	users   map[string]*pop3User  // by lower-cased user name

	conns atomic.Int64 // open upstream connections

	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

var (
	_ mailproxy.Backend = (*Backend)(nil)
	_ mailproxy.Session = (*pop3Session)(nil)
	_ mailproxy.Deleter = (*pop3Session)(nil)
)

// NewBackend starts a POP3 backend and its reaper.
func NewBackend(opts *Options) *Backend {
	b := &Backend{
		opts:    opts.withDefaults(),
		entries: make(map[string]*pop3Entry),
		users:   make(map[string]*pop3User),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go b.reap()
	return b
}

// pop3User serialises the upstream use of one maildrop on this instance.
type pop3User struct {
	sem chan struct{} // held while one of the user's entries talks upstream
	// Guarded by sem:
	holder   *pop3Entry // the entry whose connection is open, if any
	lastQuit time.Time  // when a connection of ours last left the maildrop
	// Guarded by Backend.mu:
	refs int
}

// pop3Entry is the state of one session id.
type pop3Entry struct {
	b    *Backend
	id   string
	key  string // lower-cased user name
	user *pop3User

	// Guarded by user.sem:
	conn   *pop3Conn
	noUIDL bool            // the server refused UIDL: ids are header hashes
	noTop  bool            // the server refused TOP: RETR instead
	cache  pop3Cache       // list rows by id
	views  pop3Views       // the last messages shown, parsed
	read   map[string]bool // ids opened in this session
	hints  map[string]int  // no-UIDL: id → last known position

	mu      sync.Mutex      // guards the fields below
	collect map[string]bool // ids shown with ViewOptions.Collect, to delete at the next List
	last    time.Time
	timer   *time.Timer
	closed  bool
}

// Session returns the mail session for a session id, bound to creds for
// (re)connecting. It does no I/O.
func (b *Backend) Session(id string, creds mailproxy.Credentials) mailproxy.Session {
	key := creds.AccountKey() // one maildrop: one name on one server
	b.mu.Lock()
	e := b.entries[id]
	if e != nil && e.key != key {
		// Another user under the same session id: start afresh.
		delete(b.entries, id)
		b.unrefLocked(e)
		go e.shutdown()
		e = nil
	}
	if e == nil {
		u := b.users[key]
		if u == nil {
			u = &pop3User{sem: make(chan struct{}, 1)}
			b.users[key] = u
		}
		u.refs++
		e = &pop3Entry{b: b, id: id, key: key, user: u, last: time.Now(),
			read: map[string]bool{}, hints: map[string]int{}, collect: map[string]bool{}}
		b.entries[id] = e
	}
	b.mu.Unlock()
	return &pop3Session{e: e, creds: creds}
}

// Login checks creds by connecting and logging in (and listing the
// UIDLs). The connection is kept for the grace period, so the first page
// after login needs no second handshake. ErrAuth means the credentials
// were refused, ErrBusy that another mail program holds the maildrop.
func (b *Backend) Login(ctx context.Context, id string, creds mailproxy.Credentials) error {
	b.Logout(id) // never reuse a connection made with other credentials
	s := b.Session(id, creds).(*pop3Session)
	err := s.e.do(ctx, creds, false, func(*pop3Conn) error { return nil })
	if err != nil {
		b.Logout(id)
	}
	return err
}

// Logout closes the session's connection, if any (QUIT without DELE:
// nothing is removed), and forgets the session.
func (b *Backend) Logout(id string) {
	b.mu.Lock()
	e := b.entries[id]
	if e != nil {
		delete(b.entries, id)
		b.unrefLocked(e)
	}
	b.mu.Unlock()
	if e != nil {
		e.shutdown()
	}
}

// Close closes every connection and stops the reaper.
func (b *Backend) Close() {
	b.stopOnce.Do(func() { close(b.stop) })
	<-b.done
	b.mu.Lock()
	entries := b.entries
	b.entries = make(map[string]*pop3Entry)
	for _, e := range entries {
		b.unrefLocked(e)
	}
	b.mu.Unlock()
	var wg sync.WaitGroup
	for _, e := range entries {
		wg.Add(1)
		go func() { defer wg.Done(); e.shutdown() }()
	}
	wg.Wait()
}

// Stats reports the number of sessions and of open upstream connections,
// for tests and metrics.
func (b *Backend) Stats() (sessions, conns int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.entries), int(b.conns.Load())
}

func (b *Backend) unrefLocked(e *pop3Entry) {
	u := e.user
	u.refs--
	if u.refs <= 0 && b.users[e.key] == u {
		delete(b.users, e.key)
	}
}

// reap forgets sessions unused for ForgetAfter.
func (b *Backend) reap() {
	defer close(b.done)
	tick := time.NewTicker(min(b.opts.ForgetAfter/4, time.Minute))
	defer tick.Stop()
	for {
		select {
		case <-b.stop:
			return
		case now := <-tick.C:
			b.mu.Lock()
			var old []*pop3Entry
			for id, e := range b.entries {
				if now.Sub(e.lastUsed()) > b.opts.ForgetAfter {
					delete(b.entries, id)
					b.unrefLocked(e)
					old = append(old, e)
				}
			}
			b.mu.Unlock()
			for _, e := range old {
				e.shutdown()
			}
		}
	}
}

func (e *pop3Entry) lastUsed() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.last
}

// shutdown closes the entry's connection (waiting briefly for a request
// in progress) and stops its timer.
func (e *pop3Entry) shutdown() {
	e.mu.Lock()
	e.closed = true
	if e.timer != nil {
		e.timer.Stop()
	}
	e.mu.Unlock()
	select {
	case e.user.sem <- struct{}{}:
		e.dropConn(true)
		<-e.user.sem
	case <-time.After(e.b.opts.CommandTimeout):
		// The request in progress drops the connection when it ends,
		// since the entry is closed.
	}
}
