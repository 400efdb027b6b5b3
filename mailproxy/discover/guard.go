package discover

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// Resolver is the DNS that discovery and the Guard use; *net.Resolver is
// one (tests give a fake).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)
}

// ErrForbidden means the Guard refused a destination: its address, its
// port or its name. The text says why, for the log only.
var ErrForbidden = errors.New("destination not allowed")

// MailPorts are the ports discovered and user-chosen servers may use:
// IMAP (993 TLS, 143 STARTTLS), POP3 (995, 110) and submission (465,
// 587), plus HTTPS (443) for autoconfig files.
var MailPorts = []string{"993", "143", "995", "110", "465", "587", "443"}

// GuardOptions configure a Guard. A nil *GuardOptions is equivalent to a
// zero value.
type GuardOptions struct {
	// AllowPrivate lets discovered and user-chosen servers be on
	// loopback, private (RFC 1918), CGNAT and unique local addresses:
	// for tests, the demo, and gateways inside a private network.
	// Link-local (cloud metadata), unspecified, multicast and reserved
	// addresses stay refused.
	AllowPrivate bool
	// Ports are the ports discovered and user-chosen servers may use
	// (default MailPorts).
	Ports []string
	// Resolver resolves names before dialing (default net.DefaultResolver).
	Resolver Resolver
	// ConnectTimeout bounds resolving and connecting to a discovered or
	// user-chosen server (default 3 s), so a black hole costs little.
	ConnectTimeout time.Duration
}

// Guard makes every upstream connection (mailproxy.Guard). A destination
// the operator named (Trust: the pinned upstreams and the domain table)
// may be on any unicast address and port, as before discovery existed;
// any other one must use a mail port and resolve, every address of it,
// to public unicast addresses (private ones too with AllowPrivate). The
// addresses are checked after DNS and again by the dialer's Control hook
// at connect time, so neither a numeric spelling nor a DNS answer that
// changes between lookup and connect gets past it. It is safe for
// concurrent use.
type Guard struct {
	o     GuardOptions
	ports map[string]bool

	mu      sync.RWMutex
	trusted map[string]bool // host:port named by the operator
}

var _ mailproxy.Guard = (*Guard)(nil)

// NewGuard returns a Guard.
func NewGuard(o *GuardOptions) *Guard {
	g := &Guard{ports: map[string]bool{}, trusted: map[string]bool{}}
	if o != nil {
		g.o = *o
	}
	if g.o.Ports == nil {
		g.o.Ports = MailPorts
	}
	for _, p := range g.o.Ports {
		g.ports[p] = true
	}
	if g.o.Resolver == nil {
		g.o.Resolver = net.DefaultResolver
	}
	if g.o.ConnectTimeout <= 0 {
		g.o.ConnectTimeout = 3 * time.Second
	}
	return g
}

// Trust marks up as named by the operator (a pinned upstream, a server
// of the domain table): it may be on a private address or port.
func (g *Guard) Trust(up mailproxy.Upstream) {
	g.mu.Lock()
	g.trusted[strings.ToLower(up.Addr())] = true
	g.mu.Unlock()
}

func (g *Guard) isTrusted(up mailproxy.Upstream) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.trusted[strings.ToLower(up.Addr())]
}

// PortOK reports whether a discovered or user-chosen server may use port.
func (g *Guard) PortOK(port string) bool { return g.ports[port] }

// Check says whether a may be dialed: nil, or an ErrForbidden naming
// its class. trusted is for destinations the operator named.
func (g *Guard) Check(a netip.Addr, trusted bool) error {
	c := Classify(a)
	switch {
	case c == Public:
		return nil
	case trusted && c != Unspecified && c != Multicast:
		return nil
	case g.o.AllowPrivate && (c == Private || c == Loopback):
		return nil
	}
	return fmt.Errorf("%w: %s is %s", ErrForbidden, a, c)
}

// CheckHost refuses a host written as a forbidden address in any
// spelling (see ParseHost). A name passes: it is judged once resolved.
func (g *Guard) CheckHost(host string) error {
	if a, ok := ParseHost(host); ok {
		return g.Check(a, false)
	}
	return nil
}

// Dial connects to up (mailproxy.Guard).
func (g *Guard) Dial(ctx context.Context, up mailproxy.Upstream) (net.Conn, error) {
	return g.dial(ctx, up.Host, up.Port, g.isTrusted(up))
}

// DialContext connects to addr (host:port) as an untrusted destination:
// the autoconfig HTTP client's dialer.
func (g *Guard) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	return g.dial(ctx, host, port, false)
}

// dialControl checks the address a socket is about to connect to
// (net.Dialer.Control runs after resolution, just before connect).
func (g *Guard) dialControl(trusted bool) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: unparsable address %q", ErrForbidden, address)
		}
		if !trusted && !g.ports[strconv.Itoa(int(ap.Port()))] {
			return fmt.Errorf("%w: port %d", ErrForbidden, ap.Port())
		}
		return g.Check(ap.Addr(), trusted)
	}
}

func (g *Guard) dial(ctx context.Context, host, port string, trusted bool) (net.Conn, error) {
	if !trusted {
		if !g.ports[port] {
			return nil, fmt.Errorf("%w: port %q is not a mail port", ErrForbidden, port)
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.o.ConnectTimeout)
		defer cancel()
	}
	var addrs []netip.Addr
	if a, ok := ParseHost(host); ok {
		addrs = []netip.Addr{a}
	} else {
		var err error
		if addrs, err = g.o.Resolver.LookupNetIP(ctx, "ip", host); err != nil {
			return nil, fmt.Errorf("resolving %s: %w", host, err)
		}
		if len(addrs) == 0 {
			return nil, fmt.Errorf("resolving %s: no address", host)
		}
	}
	// A name with one forbidden address is refused whole: it is either
	// misconfigured or aimed at us.
	for _, a := range addrs {
		if err := g.Check(a, trusted); err != nil {
			return nil, fmt.Errorf("%s: %w", host, err)
		}
	}
	d := net.Dialer{Control: g.dialControl(trusted)}
	var errs []error
	for _, a := range addrs {
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(a.Unmap().String(), port))
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}
