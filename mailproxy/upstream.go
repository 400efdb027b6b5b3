package mailproxy

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
)

// Security is how a connection to an upstream is protected.
type Security int

const (
	// SecurityTLS is implicit TLS from the first byte (imaps, pop3s, smtps).
	SecurityTLS Security = iota
	// SecurityStartTLS is a plain connection upgraded with STARTTLS/STLS,
	// which is required: a server that does not offer it is refused.
	SecurityStartTLS
	// SecurityNone is plain text (the "+insecure" schemes): tests and
	// loopback only.
	SecurityNone
)

// Upstream is a parsed upstream server URL.
type Upstream struct {
	Protocol string // "imap", "pop3" or "smtp"
	Security Security
	Host     string
	Port     string
}

// Addr is host:port.
func (u Upstream) Addr() string { return net.JoinHostPort(u.Host, u.Port) }

// String gives the canonical URL, with the default port filled in.
func (u Upstream) String() string {
	scheme := u.Protocol
	switch u.Security {
	case SecurityTLS:
		scheme += "s"
	case SecurityNone:
		scheme += "+insecure"
	}
	return scheme + "://" + u.Addr()
}

var schemes = map[string]struct {
	proto string
	sec   Security
	port  string
}{
	"imaps":         {"imap", SecurityTLS, "993"},
	"imap":          {"imap", SecurityStartTLS, "143"},
	"imap+insecure": {"imap", SecurityNone, "143"},
	"pop3s":         {"pop3", SecurityTLS, "995"},
	"pop3":          {"pop3", SecurityStartTLS, "110"},
	"pop3+insecure": {"pop3", SecurityNone, "110"},
	"smtps":         {"smtp", SecurityTLS, "465"},
	"smtp":          {"smtp", SecurityStartTLS, "587"},
	"smtp+insecure": {"smtp", SecurityNone, "587"},
}

// ParseUpstream parses an upstream URL such as "imaps://mail.example.org"
// and fills in the default port for its scheme. want, when not empty, is
// the protocol the URL must be for ("imap", "pop3", "smtp").
func ParseUpstream(raw, want string) (Upstream, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return Upstream{}, fmt.Errorf("upstream %q: %v", raw, err)
	}
	s, ok := schemes[strings.ToLower(u.Scheme)]
	if !ok {
		return Upstream{}, fmt.Errorf("upstream %q: unknown scheme %q (use imaps://, imap:// or imap+insecure://)", raw, u.Scheme)
	}
	if want != "" && s.proto != want {
		return Upstream{}, fmt.Errorf("upstream %q: a %s URL is needed here", raw, want)
	}
	if u.Hostname() == "" {
		return Upstream{}, fmt.Errorf("upstream %q: no host", raw)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return Upstream{}, fmt.Errorf("upstream %q: only scheme://host[:port] is allowed", raw)
	}
	port := u.Port()
	if port == "" {
		port = s.port
	}
	return Upstream{Protocol: s.proto, Security: s.sec, Host: u.Hostname(), Port: port}, nil
}

// TLSConfig builds the TLS configuration for upstream connections: system
// roots plus, when caFile is not empty, the PEM certificates in it.
func TLSConfig(caFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("reading CA file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate", caFile)
	}
	cfg.RootCAs = pool
	return cfg, nil
}
