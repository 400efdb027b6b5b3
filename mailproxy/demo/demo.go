// Package demo is the built-in demo IMAP server behind `thumbmail -demo`.
//
// It runs go-imap's in-memory server (imapmemserver) on a loopback port,
// with one user whose mailbox is filled with a few hundred deterministic,
// generated sample messages (see [Messages]). No network access is needed
// and nothing is read from disk.
//
// The server differs from a bare imapmemserver in a few ways that matter to
// a mail client:
//
//   - LIST reports SPECIAL-USE attributes (\Sent, \Drafts, \Trash, \Junk,
//     \Archive) on every LIST, plus \HasChildren / \HasNoChildren, and
//     non-existent parents of nested mailboxes as \Noselect;
//   - CREATE honours the USE (...) parameter (CREATE-SPECIAL-USE);
//   - EXAMINE really is read-only: fetching a body does not set \Seen,
//     STORE and MOVE are refused, and EXPUNGE and CLOSE expunge nothing;
//   - INBOX cannot be deleted or renamed, and renaming a mailbox renames its
//     children too.
//
// Mailboxes must be created through IMAP CREATE or [Server.CreateMailbox],
// not by calling Create on [Server.User] directly: the demo server keeps its
// own list of mailboxes (imapmemserver has no exported way to enumerate them
// or to set special-use attributes).
package demo

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// Options configure the demo server. A nil *Options is equivalent to a zero
// value.
type Options struct {
	// Addr is the TCP listen address; default "127.0.0.1:0" (a free
	// loopback port). It must be a loopback address: logins are in plain
	// text.
	Addr string
	// Username is the demo login; default "demo".
	Username string
	// Password is the demo password; default "demo".
	Password string
	// Now is the reference "now" for the sample messages' dates; zero means
	// time.Now().
	Now time.Time
	// Caps are the IMAP capabilities to advertise; nil means
	// [DefaultCaps]. It must contain IMAP4rev1 or IMAP4rev2. Capabilities
	// that go-imap's imapserver does not implement (SORT, THREAD,
	// CONDSTORE, ...) are never advertised, whatever this set says.
	Caps imap.CapSet
	// Logger receives the IMAP server's error messages and login
	// failures; nil discards them.
	Logger *slog.Logger
}

// DefaultCaps returns the capabilities advertised when Options.Caps is nil:
// everything go-imap's imapserver and the demo session really implement.
//
// imapserver adds on its own SASL-IR, LITERAL- and AUTH=PLAIN before login,
// and UNSELECT, ENABLE, IDLE and UTF8=ACCEPT after login.
func DefaultCaps() imap.CapSet {
	return imap.CapSet{
		imap.CapIMAP4rev1:        {},
		imap.CapIMAP4rev2:        {},
		imap.CapNamespace:        {},
		imap.CapUIDPlus:          {},
		imap.CapESearch:          {},
		imap.CapSearchRes:        {},
		imap.CapListExtended:     {},
		imap.CapListStatus:       {},
		imap.CapMove:             {},
		imap.CapStatusSize:       {},
		imap.CapBinary:           {},
		imap.CapChildren:         {},
		imap.CapSpecialUse:       {},
		imap.CapCreateSpecialUse: {},
	}
}

// Server is a running demo IMAP server. Create one with [Start]; it is safe
// for concurrent use.
type Server struct {
	imap     *imapserver.Server
	ln       net.Listener
	user     *imapmemserver.User
	reg      *registry
	username string
	password string
	logger   *slog.Logger

	done      chan struct{} // closed when the accept loop returns
	closeOnce sync.Once
	closeErr  error
}

// Start fills a fresh in-memory mailbox with the sample messages of
// [Messages], listens on opts.Addr and serves IMAP (plain text, login
// allowed without TLS) in the background until [Server.Close].
func Start(opts *Options) (*Server, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Username == "" {
		o.Username = "demo"
	}
	if o.Password == "" {
		o.Password = "demo"
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	caps := DefaultCaps()
	if o.Caps != nil {
		caps = o.Caps.Copy()
	}
	if !caps.Has(imap.CapIMAP4rev1) && !caps.Has(imap.CapIMAP4rev2) {
		return nil, errors.New("demo: Caps must contain IMAP4rev1 or IMAP4rev2")
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	s := &Server{
		user:     imapmemserver.NewUser(o.Username, o.Password),
		reg:      newRegistry(),
		username: o.Username,
		password: o.Password,
		logger:   logger,
		done:     make(chan struct{}),
	}
	s.imap = imapserver.New(&imapserver.Options{
		NewSession: func(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &session{srv: s, conn: c}, nil, nil
		},
		Caps:         caps,
		Logger:       slogPrintf{logger},
		InsecureAuth: true,
	})

	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	if a, ok := ln.Addr().(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
		ln.Close()
		return nil, fmt.Errorf("demo: %s is not a loopback address: the demo server accepts plain-text logins", o.Addr)
	}
	s.ln = ln
	if err := s.seed(o.Now); err != nil {
		ln.Close()
		return nil, err
	}
	go func() {
		defer close(s.done)
		if err := s.imap.Serve(ln); err != nil {
			logger.Error("demo IMAP server stopped", "err", err)
		}
	}()
	logger.Info("demo IMAP server listening", "addr", ln.Addr().String(), "username", o.Username)
	return s, nil
}

// seed creates the demo mailboxes and appends the sample messages.
func (s *Server) seed(now time.Time) error {
	for _, f := range generate(now) {
		if err := s.CreateMailbox(f.name, f.specialUse...); err != nil {
			return err
		}
		for _, m := range f.msgs {
			if err := appendRaw(s.user, f.name, m.raw, m.date, m.flags); err != nil {
				return fmt.Errorf("demo: append to %q: %w", f.name, err)
			}
		}
	}
	return nil
}

// Addr returns the host:port the server is listening on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL returns the upstream URL of the server, "imap+insecure://host:port".
func (s *Server) URL() string { return "imap+insecure://" + s.Addr() }

// Username returns the demo login name.
func (s *Server) Username() string { return s.username }

// Password returns the demo password.
func (s *Server) Password() string { return s.password }

// User returns the in-memory IMAP user behind the demo login, so tests can
// append more mail (User().Append). Create mailboxes with
// [Server.CreateMailbox] instead of User().Create, or LIST will not show
// them.
func (s *Server) User() *imapmemserver.User { return s.user }

// CreateMailbox creates a subscribed mailbox with the given special-use
// attributes (\Sent, \Drafts, ...), as IMAP "CREATE name (USE (...))" would.
func (s *Server) CreateMailbox(name string, specialUse ...imap.MailboxAttr) error {
	return s.reg.create(s.user, name, &imap.CreateOptions{SpecialUse: specialUse}, true)
}

// Close stops the server: it closes the listener and every open
// connection. Calling Close again returns the first call's result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = s.imap.Close()
		// imapserver only closes listeners its Serve loop has registered;
		// close ours too in case Close raced with the loop's start.
		if err := s.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) && s.closeErr == nil {
			s.closeErr = err
		}
		<-s.done
	})
	return s.closeErr
}

// appendRaw appends one raw message to a mailbox of u.
func appendRaw(u *imapmemserver.User, mailbox string, raw []byte, date time.Time, flags []imap.Flag) error {
	_, err := u.Append(mailbox, bytes.NewReader(raw), &imap.AppendOptions{Time: date, Flags: flags})
	return err
}
