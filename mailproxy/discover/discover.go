// Package discover finds an account's mail servers from its address, and
// guards every connection the gateway makes to a mail server.
//
// The order (see Finder.Locate): the operator's pinned upstreams; the
// operator's domain table; the domain's autoconfig file (Thunderbird's
// format, autoconfig.<domain> then <domain>/.well-known); the domain's MX
// host's domain through the table and autoconfig; RFC 6186 SRV records;
// probing the conventional names (imap., pop3., pop., smtp., mail.),
// implicit TLS first. IMAP is preferred where POP3 is offered too, unless
// the user asks for POP3. Results are cached per domain. Plain-text
// servers are never chosen, and every discovered server must be named
// under the user's domain (or its MX host's domain) or match the
// operator's allowlist: its certificate is then checked against that
// name, never against a name an autoconfig file gives alone.
//
// Router is the mailproxy.Backend that sends each session to the IMAP
// pool or the POP3 backend, by its account's servers.
package discover

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// Ports are the well-known ports discovery uses. Zero fields take the
// standard ones (tests move them to their listeners).
type Ports struct {
	IMAPS, IMAP, POP3S, POP3, SMTPS, Submission, HTTPS string
}

func (p *Ports) defaults() {
	for _, f := range []struct {
		v   *string
		def string
	}{{&p.IMAPS, "993"}, {&p.IMAP, "143"}, {&p.POP3S, "995"}, {&p.POP3, "110"}, {&p.SMTPS, "465"}, {&p.Submission, "587"}, {&p.HTTPS, "443"}} {
		if *f.v == "" {
			*f.v = f.def
		}
	}
}

// port is the well-known port of a protocol and security.
func (p Ports) port(proto string, sec mailproxy.Security) string {
	tls := sec == mailproxy.SecurityTLS
	switch {
	case proto == "imap" && tls:
		return p.IMAPS
	case proto == "imap":
		return p.IMAP
	case proto == "pop3" && tls:
		return p.POP3S
	case proto == "pop3":
		return p.POP3
	case tls:
		return p.SMTPS
	}
	return p.Submission
}

// Options configure a Finder. Guard is required; zero fields take the
// documented defaults.
type Options struct {
	// IMAP, POP3 and SMTP are the operator's pinned upstreams (step 1):
	// with IMAP or POP3 pinned every account uses them (IMAP unless the
	// user asks for POP3 and it is pinned too); a pinned SMTP is every
	// account's submission server.
	IMAP, POP3, SMTP mailproxy.Upstream
	// Discover turns on steps 3 to 6 (autoconfig, MX, SRV, probing) for
	// domains in Allow. The Table (step 2) is used whenever it is set.
	Discover bool
	// UserServers lets users name their own server (the sign-in form's
	// Advanced part): it must match Allow or be under their address's
	// allowed domain, on a mail port, with TLS or STARTTLS.
	UserServers bool
	// Allow lists the domains discovery serves and the server host
	// patterns it may use besides those under the user's domain.
	Allow Allowlist
	// Table is the operator's domain table (step 2); its domains are
	// served whatever Allow says.
	Table Table
	// Guard makes every connection (required); the table's servers are
	// trusted to it.
	Guard *Guard
	// Resolver answers MX and SRV queries (default net.DefaultResolver).
	Resolver Resolver
	// TLSConfig verifies autoconfig sites and probed servers (nil: the
	// system roots).
	TLSConfig *tls.Config
	// Ports are the well-known ports (default the standard ones).
	Ports Ports
	// StepTimeout bounds each step (default 3 s), Timeout the whole
	// discovery of a domain (default 8 s).
	StepTimeout, Timeout time.Duration
	// Floor is the least time every failed Locate (and every failed
	// Login of a discovered account, see Router) takes, so timing tells
	// nothing (default Timeout).
	Floor time.Duration
	// CacheTTL keeps what was found for a domain (default 1 h), FailTTL
	// that nothing was (default 1 min); CacheSize bounds the domains
	// kept (default 10,000).
	CacheTTL, FailTTL time.Duration
	CacheSize         int
	// Logger receives why a discovery failed (never shown on a page).
	Logger *slog.Logger
}

// Finder finds accounts' servers (mailproxy.Locator). It is safe for
// concurrent use: lookups of one domain at the same time share one
// discovery.
type Finder struct {
	o    Options
	http *http.Client

	mu    sync.Mutex
	cache map[string]*lookup
}

// lookup is one domain's discovery: done is closed when it ends.
type lookup struct {
	done      chan struct{}
	f         found
	mailSrc   string
	smtpSrc   string
	err       error
	expires   time.Time
	timeTaken time.Duration
}

// NewFinder returns a Finder; o.Guard must be set.
func NewFinder(o Options) *Finder {
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	o.Ports.defaults()
	if o.StepTimeout <= 0 {
		o.StepTimeout = 3 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 8 * time.Second
	}
	if o.Floor <= 0 {
		o.Floor = o.Timeout
	}
	if o.CacheTTL <= 0 {
		o.CacheTTL = time.Hour
	}
	if o.FailTTL <= 0 {
		o.FailTTL = time.Minute
	}
	if o.CacheSize <= 0 {
		o.CacheSize = 10000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	for _, up := range []mailproxy.Upstream{o.IMAP, o.POP3, o.SMTP} {
		if up.Host != "" {
			o.Guard.Trust(up)
		}
	}
	o.Table.trust(o.Guard)
	f := &Finder{o: o, cache: map[string]*lookup{}}
	f.http = f.newHTTPClient()
	return f
}

var _ mailproxy.Locator = (*Finder)(nil)

// Locate finds the servers for user and the user's choice
// (mailproxy.Locator). Every failure is ErrNoServer, returned no sooner
// than Floor after the call began.
func (f *Finder) Locate(ctx context.Context, user string, c mailproxy.Choice) (*mailproxy.Servers, error) {
	start := time.Now()
	s, err := f.locate(ctx, user, c)
	if err != nil {
		f.Pad(ctx, start)
		return nil, fmt.Errorf("%w: %v", mailproxy.ErrNoServer, err)
	}
	return s, nil
}

// Pad waits until Floor has passed since start (or ctx ends).
func (f *Finder) Pad(ctx context.Context, start time.Time) {
	t := time.NewTimer(time.Until(start.Add(f.o.Floor)))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (f *Finder) locate(ctx context.Context, user string, c mailproxy.Choice) (*mailproxy.Servers, error) {
	if c.Protocol != "" && c.Protocol != "imap" && c.Protocol != "pop3" {
		return nil, fmt.Errorf("unknown protocol %q", c.Protocol)
	}
	if c.Host != "" {
		return f.userChosen(user, c)
	}
	if f.o.IMAP.Host != "" || f.o.POP3.Host != "" {
		mail := f.o.IMAP
		if (c.Protocol == "pop3" || mail.Host == "") && f.o.POP3.Host != "" {
			mail = f.o.POP3
		}
		if c.Protocol != "" && mail.Protocol != c.Protocol {
			return nil, fmt.Errorf("no pinned %s server", c.Protocol)
		}
		return &mailproxy.Servers{Mail: mail, SMTP: f.o.SMTP, Source: "pinned"}, nil
	}
	domain, ok := addressDomain(user)
	if !ok {
		return nil, errors.New("the login is not an address")
	}
	if !f.domainOK(domain) {
		return nil, fmt.Errorf("domain %s is not in the allowlist", domain)
	}
	l, err := f.find(ctx, domain)
	if err != nil {
		return nil, err
	}
	mail := l.f.imap
	if (c.Protocol == "pop3" || mail.Host == "") && l.f.pop3.Host != "" {
		mail = l.f.pop3
	}
	if mail.Host == "" || c.Protocol != "" && mail.Protocol != c.Protocol {
		return nil, fmt.Errorf("%s: no %s server found", domain, c.Protocol)
	}
	s := &mailproxy.Servers{Mail: mail, SMTP: l.f.smtp, Source: l.mailSrc}
	if mail.Protocol == "imap" && l.f.imapLocal || mail.Protocol == "pop3" && l.f.pop3Local {
		s.Login = user[:strings.LastIndexByte(user, '@')]
	}
	if f.o.SMTP.Host != "" {
		s.SMTP = f.o.SMTP
	}
	return s, nil
}

// userChosen checks a server the user named (Choice.Host).
func (f *Finder) userChosen(user string, c mailproxy.Choice) (*mailproxy.Servers, error) {
	if !f.o.UserServers {
		return nil, errors.New("user-chosen servers are off")
	}
	if c.Security == mailproxy.SecurityNone {
		return nil, errors.New("plain text refused")
	}
	host, ok := normalDomain(c.Host)
	if !ok {
		return nil, fmt.Errorf("server %q is not a host name", c.Host)
	}
	proto := c.Protocol
	if proto == "" {
		proto = "imap"
	}
	port := c.Port
	if port == "" {
		port = f.o.Ports.port(proto, c.Security)
	}
	if !f.o.Guard.PortOK(port) {
		return nil, fmt.Errorf("port %q is not a mail port", port)
	}
	domain, isAddr := addressDomain(user)
	_, listed := f.o.Table[domain]
	isAddr = isAddr && (listed || f.o.Allow.Match(domain)) // an allowed domain, with or without -discover
	if !f.o.Allow.Match(host) && !(isAddr && under(host, domain)) {
		return nil, fmt.Errorf("server %s is not in the allowlist", host)
	}
	s := &mailproxy.Servers{Mail: mailproxy.Upstream{Protocol: proto, Security: c.Security, Host: host, Port: port}, SMTP: f.o.SMTP, Source: "user"}
	if s.SMTP.Host == "" && isAddr {
		// Sending through the domain's own submission server where it
		// is known already (no discovery now: a user-chosen server is
		// answered at once, so its timing stays that of the floor);
		// without one the account cannot send.
		s.SMTP = f.cached(domain).smtp
	}
	return s, nil
}

// cached is what an earlier discovery found for domain, if it is done
// and fresh; the table's entry otherwise.
func (f *Finder) cached(domain string) found {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l := f.cache[domain]; l != nil {
		select {
		case <-l.done:
			if time.Now().Before(l.expires) {
				return l.f
			}
		default:
		}
	}
	return f.o.Table[domain]
}

// domainOK reports whether discovery serves addresses of domain.
func (f *Finder) domainOK(domain string) bool {
	_, listed := f.o.Table[domain]
	return listed || (f.o.Discover && f.o.Allow.Match(domain))
}

// addressDomain is the normalised domain of an address.
func addressDomain(user string) (string, bool) {
	i := strings.LastIndexByte(user, '@')
	if i <= 0 {
		return "", false
	}
	return normalDomain(user[i+1:])
}

// find returns the domain's discovery, from the cache or run now; callers
// asking for one domain at once share one run.
func (f *Finder) find(ctx context.Context, domain string) (*lookup, error) {
	f.mu.Lock()
	l := f.cache[domain]
	if l != nil {
		select {
		case <-l.done:
			if time.Now().After(l.expires) {
				l = nil
			}
		default: // running
		}
	}
	if l == nil {
		f.evictLocked()
		l = &lookup{done: make(chan struct{})}
		f.cache[domain] = l
		go f.run(ctx, domain, l)
	}
	f.mu.Unlock()
	select {
	case <-l.done:
		return l, l.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// run discovers domain into l. It does not end with the request that
// started it (others may be waiting): Timeout bounds it.
func (f *Finder) run(ctx context.Context, domain string, l *lookup) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.o.Timeout)
	defer cancel()
	start := time.Now()
	l.f, l.mailSrc, l.smtpSrc = f.discover(ctx, domain)
	l.timeTaken = time.Since(start)
	ttl := f.o.CacheTTL
	if !l.f.hasMail() {
		l.err = fmt.Errorf("%s: no mail server found in %v", domain, l.timeTaken.Round(time.Millisecond))
		ttl = f.o.FailTTL
	}
	f.o.Logger.Debug("discovery", "domain", domain, "mail", l.f.imap.String()+" "+l.f.pop3.String(), "source", l.mailSrc, "took", l.timeTaken)
	f.mu.Lock()
	l.expires = time.Now().Add(ttl)
	f.mu.Unlock()
	close(l.done)
}

// evictLocked makes room for one more domain: expired entries go first,
// then any finished one.
func (f *Finder) evictLocked() {
	if len(f.cache) < f.o.CacheSize {
		return
	}
	now := time.Now()
	for d, l := range f.cache {
		select {
		case <-l.done:
			if now.After(l.expires) {
				delete(f.cache, d)
			}
		default:
		}
	}
	for d, l := range f.cache {
		if len(f.cache) < f.o.CacheSize {
			return
		}
		select {
		case <-l.done:
			delete(f.cache, d)
		default:
		}
	}
}

// step is one way of finding servers; need says which kinds are still
// missing.
type step struct {
	name string
	run  func(ctx context.Context, domain string, needMail, needSMTP bool) found
}

// discover runs the steps in order, each under StepTimeout: the mail
// server (IMAP and POP3) comes from the first step that finds one that
// answers, the submission server from the first that finds one.
func (f *Finder) discover(ctx context.Context, domain string) (out found, mailSrc, smtpSrc string) {
	steps := []step{{"table", f.fromTable}}
	if f.o.Discover {
		steps = append(steps,
			step{"autoconfig", func(ctx context.Context, d string, _, _ bool) found { return f.autoconfig(ctx, d) }},
			step{"mx", f.fromMX}, step{"srv", f.fromSRV}, step{"probe", f.probe})
	}
	for _, st := range steps {
		needMail, needSMTP := !out.hasMail(), out.smtp.Host == "" && f.o.SMTP.Host == ""
		if (!needMail && !needSMTP) || ctx.Err() != nil {
			break
		}
		sctx, cancel := context.WithTimeout(ctx, f.o.StepTimeout)
		r := st.run(sctx, domain, needMail, needSMTP)
		cancel()
		if st.name != "table" && st.name != "probe" {
			// What DNS and files name is used only once it greets, with
			// a certificate for its name: a dead or black-hole server
			// fails here, within the deadline, and the next step is
			// tried.
			sctx, cancel := context.WithTimeout(ctx, f.o.StepTimeout)
			r = f.verify(sctx, r)
			cancel()
		}
		if needMail && r.hasMail() {
			out.imap, out.pop3, mailSrc = r.imap, r.pop3, st.name
			out.imapLocal, out.pop3Local = r.imapLocal && r.imap.Host != "", r.pop3Local && r.pop3.Host != ""
		}
		if needSMTP && r.smtp.Host != "" {
			out.smtp, smtpSrc = r.smtp, st.name
		}
	}
	return out, mailSrc, smtpSrc
}

func (f *Finder) fromTable(_ context.Context, domain string, _, _ bool) found {
	return f.o.Table[domain]
}

// accept checks a server named by DNS or an autoconfig file: a host
// name (never an address) under one of scopes or matching the
// allowlist, TLS or STARTTLS, a mail port. Its certificate will be
// checked against that name.
func (f *Finder) accept(up mailproxy.Upstream, scopes ...string) (mailproxy.Upstream, bool) {
	host, ok := normalDomain(up.Host)
	if !ok || up.Security == mailproxy.SecurityNone || !f.o.Guard.PortOK(up.Port) {
		return mailproxy.Upstream{}, false
	}
	ok = f.o.Allow.Match(host)
	for _, s := range scopes {
		ok = ok || under(host, s)
	}
	if !ok {
		return mailproxy.Upstream{}, false
	}
	up.Host = host
	return up, true
}
