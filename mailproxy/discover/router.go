package discover

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// Router is the Backend of an instance that serves IMAP and POP3
// accounts side by side: it sends each session to the IMAP pool or the
// POP3 backend by the protocol of its account's servers
// (Credentials.Servers, found by Locate at sign-in and kept in the
// session), so any instance can rebuild any session. It keeps no state
// of its own and is safe for concurrent use.
type Router struct {
	imap, pop3 mailproxy.Backend
	finder     *Finder
}

var (
	_ mailproxy.Backend = (*Router)(nil)
	_ mailproxy.Locator = (*Router)(nil)
)

// NewRouter routes between imap and pop3 (either may be nil when the
// instance serves only one protocol) and locates servers with f.
func NewRouter(imap, pop3 mailproxy.Backend, f *Finder) *Router {
	return &Router{imap: imap, pop3: pop3, finder: f}
}

// Locate finds the account's servers (see Finder.Locate).
func (r *Router) Locate(ctx context.Context, user string, c mailproxy.Choice) (*mailproxy.Servers, error) {
	return r.finder.Locate(ctx, user, c)
}

// backend is the backend for creds: by the protocol of its servers; a
// session from before servers were kept goes to the pinned one (IMAP
// first).
func (r *Router) backend(creds mailproxy.Credentials) mailproxy.Backend {
	proto := ""
	if creds.Servers != nil {
		proto = creds.Servers.Mail.Protocol
	} else if r.finder.o.IMAP.Host == "" && r.finder.o.POP3.Host != "" {
		proto = "pop3"
	}
	if proto == "pop3" && r.pop3 != nil || r.imap == nil {
		return r.pop3
	}
	return r.imap
}

// Login signs in on the account's server. A discovered or user-chosen
// server that cannot be reached is ErrNoServer after Floor, like every
// discovery failure; a refused password is ErrAuth as always.
func (r *Router) Login(ctx context.Context, id string, creds mailproxy.Credentials) error {
	start := time.Now()
	b := r.backend(creds)
	if b == nil {
		return fmt.Errorf("%w: no backend for %s", mailproxy.ErrNoServer, creds.Servers.Mail.Protocol)
	}
	err := b.Login(ctx, id, creds)
	if err != nil && creds.Servers.Discovered() && uniform(err) {
		r.finder.Pad(ctx, start)
		return fmt.Errorf("%w: %w", mailproxy.ErrNoServer, err)
	}
	return err
}

// uniform tells the failures that say nothing about the password: the
// server could not be reached, refused by the Guard, or did not greet.
// A server that answered the login (ErrAuth, a stalled login, a busy
// maildrop) is a mail server the user reached.
func uniform(err error) bool {
	return errors.Is(err, mailproxy.ErrUnavailable) && !errors.Is(err, mailproxy.ErrLoginStalled)
}

// Session returns the session for id on its account's backend.
func (r *Router) Session(id string, creds mailproxy.Credentials) mailproxy.Session {
	return r.backend(creds).Session(id, creds)
}

// Logout ends the session on both backends (only one knows it).
func (r *Router) Logout(id string) {
	for _, b := range []mailproxy.Backend{r.imap, r.pop3} {
		if b != nil {
			b.Logout(id)
		}
	}
}

// Caps is what the sign-in page may offer: IMAP's, and POP3's "collect
// and delete" choice when POP3 accounts are served.
func (r *Router) Caps() mailproxy.Caps {
	var c mailproxy.Caps
	if r.imap != nil {
		c = r.imap.Caps()
	}
	if r.pop3 != nil {
		c.Collect = r.pop3.Caps().Collect
	}
	return c
}

// Close closes both backends.
func (r *Router) Close() {
	for _, b := range []mailproxy.Backend{r.imap, r.pop3} {
		if b != nil {
			b.Close()
		}
	}
}

// Stats adds up the backends' sessions and connections (metrics).
func (r *Router) Stats() (sessions, conns int) {
	for _, b := range []mailproxy.Backend{r.imap, r.pop3} {
		if st, ok := b.(interface{ Stats() (int, int) }); ok {
			s, c := st.Stats()
			sessions, conns = sessions+s, conns+c
		}
	}
	return sessions, conns
}
