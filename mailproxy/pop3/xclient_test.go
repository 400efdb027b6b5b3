package pop3

import (
	"errors"
	"net/netip"
	"testing"
)

// XCLIENT sends the address (IPv4-mapped addresses unmapped) and port,
// and the capabilities are asked afresh before logging in.
func TestXClient(t *testing.T) {
	c := mustRun(t, testOpts(), func(s *peer) {
		s.writeline(greeting)
		s.readline("CAPA")
		s.write(crlf("+OK\nUSER\nXCLIENT\n.\n"))
		s.readline("XCLIENT ADDR=203.0.113.7 PORT=40123")
		s.writeline("+OK")
		s.readline("CAPA")
		s.write(crlf("+OK\nUSER\nSASL PLAIN\n.\n"))
		s.readline("AUTH PLAIN AGFsaWNlAHNlY3JldA==")
		s.writeline("+OK logged in")
	})
	caps, err := c.Capabilities()
	if err != nil || !caps.Has("XCLIENT") {
		t.Fatalf("Capabilities() = %v, %v", caps, err)
	}
	if err := c.XClient(netip.MustParseAddrPort("[::ffff:203.0.113.7]:40123")); err != nil {
		t.Fatalf("XClient() = %v", err)
	}
	if err := c.Login("alice", "secret"); err != nil {
		t.Fatalf("Login() = %v", err)
	}
}

// A refused XCLIENT is an *Error and the session goes on.
func TestXClientRefused(t *testing.T) {
	c := mustRun(t, testOpts(), func(s *peer) {
		s.writeline(greeting)
		s.readline("XCLIENT ADDR=2001:db8::1")
		s.writeline("-ERR You are not from trusted IP")
		s.readline("NOOP")
		s.writeline("+OK")
	})
	err := c.XClient(netip.AddrPortFrom(netip.MustParseAddr("2001:db8::1"), 0))
	if _, ok := errors.AsType[*Error](err); !ok {
		t.Fatalf("XClient() = %v, want an *Error", err)
	}
	if err := c.Noop(); err != nil {
		t.Fatalf("Noop() after a refused XCLIENT = %v", err)
	}
}

// Dovecot offers XCLIENT with a code in its greeting, not in CAPA.
func TestOffersXClientGreeting(t *testing.T) {
	c := mustRun(t, testOpts(), func(s *peer) {
		s.writeline("+OK [XCLIENT] Dovecot (Debian) ready.")
	})
	if !c.OffersXClient() {
		t.Errorf("OffersXClient() = false after a [XCLIENT] greeting")
	}
	plain := mustRun(t, testOpts(), func(s *peer) { s.writeline(greeting) })
	if plain.OffersXClient() {
		t.Errorf("OffersXClient() = true after %q", greeting)
	}
}
