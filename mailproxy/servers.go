package mailproxy

import (
	"context"
	"errors"
	"net"
)

// An account's servers. The protocol (IMAP or POP3) and the servers are a
// property of the account, not of the instance: they are chosen at
// sign-in (the operator's pinned upstreams, or discovery from the user's
// address, or what the user typed where the operator allows it), kept
// sealed in the session with the password, and every instance that serves
// one of the session's requests dials them again.

// ErrNoServer means no mail server that thumbmail may use was found or
// reached for the address: discovery failed, the address or server is
// outside the operator's allowlist, the guard refused the destination,
// or it did not answer. Every such failure is this one error, said with
// one sentence and padded to one minimum time, so that neither wording
// nor timing tells a forbidden or closed destination from an open one.
var ErrNoServer = errors.New("mailproxy: no usable mail server for this address")

// Servers are where an account's mail lives.
type Servers struct {
	// Mail is the account's IMAP or POP3 server (Mail.Protocol says
	// which).
	Mail Upstream
	// SMTP is the submission server; a zero Host means none (sending is
	// not offered).
	SMTP Upstream
	// Source says how they were found, for the sign-in page and the log:
	// "pinned", "table", "autoconfig", "mx", "srv", "probe" or "user".
	Source string
	// Login is the name to sign in with on these servers when it is not
	// what the user typed (an autoconfig file that asks for
	// %EMAILLOCALPART%: "alice" for alice@example.org); "" means as typed.
	Login string
}

// Discovered reports whether the servers came from anything but the
// operator's own pinned upstreams, so dial failures must be told
// uniformly (ErrNoServer).
func (s *Servers) Discovered() bool { return s != nil && s.Source != "pinned" }

// Choice is what the user asked for at sign-in beyond address and
// password (the form's Advanced part): a protocol, and where the operator
// allows it, a server of their own.
type Choice struct {
	// Protocol is "imap", "pop3" or "" (IMAP where both exist).
	Protocol string
	// Host, Port and Security name a server of the user's choosing; Host
	// "" means none. Security is never SecurityNone.
	Host     string
	Port     string
	Security Security
}

// Locator is implemented by a Backend that finds an account's servers
// (the discovery router). The sign-in handler asks it before Login and
// keeps the answer in the session; Login and Session then use
// Credentials.Servers.
type Locator interface {
	// Locate finds the servers for user (an address, or a plain login
	// name where servers are pinned) and the user's choice. Every
	// failure is ErrNoServer (padded to one minimum time).
	Locate(ctx context.Context, user string, c Choice) (*Servers, error)
}

// Guard is where every upstream connection is made: IMAP, POP3 and SMTP,
// pinned or discovered. Implementations resolve up.Host, refuse
// destinations the operator did not allow (loopback, private, link-local
// and other special addresses; ports that are not mail ports) after DNS
// and at connect time, and return a plain TCP connection; TLS is the
// caller's. A nil Guard in the backends' options means a plain
// net.Dialer (tests, library use).
type Guard interface {
	Dial(ctx context.Context, up Upstream) (net.Conn, error)
}

// DialUpstream connects to up through g, or with a plain net.Dialer when
// g is nil.
func DialUpstream(ctx context.Context, g Guard, up Upstream) (net.Conn, error) {
	if g != nil {
		return g.Dial(ctx, up)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", up.Addr())
}

// MailUpstream is the account's IMAP or POP3 server when creds carry one
// for protocol proto, else def (the backend's pinned one).
func (c Credentials) MailUpstream(proto string, def Upstream) Upstream {
	if c.Servers != nil && c.Servers.Mail.Protocol == proto && c.Servers.Mail.Host != "" {
		return c.Servers.Mail
	}
	return def
}

// LoginName is the name sent to the servers: Servers.Login where the
// account's servers ask for another form of it, else Username.
func (c Credentials) LoginName() string {
	if c.Servers != nil && c.Servers.Login != "" {
		return c.Servers.Login
	}
	return c.Username
}

// AccountKey is what per-account limits (connection caps, maildrop
// serialisation) key on: UserKey of the name, and the account's server
// when it has its own, so the same name on two servers is two accounts.
func (c Credentials) AccountKey() string {
	k := UserKey(c.Username)
	if c.Servers != nil && c.Servers.Mail.Host != "" {
		k += "\x00" + c.Servers.Mail.String()
	}
	return k
}
