package discover

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// TestCheckHostSpellings: every spelling of a loopback, private,
// link-local, CGNAT, unspecified, multicast or documentation address is
// refused; public addresses and names pass.
func TestCheckHostSpellings(t *testing.T) {
	g := NewGuard(nil)
	refused := map[string]Class{
		"127.0.0.1":                Loopback,
		"127.1":                    Loopback,
		"0x7f.1":                   Loopback,
		"0x7F.0.0.1":               Loopback,
		"0177.0.0.1":               Loopback,
		"0177.1":                   Loopback,
		"2130706433":               Loopback,
		"0x7f000001":               Loopback,
		"017700000001":             Loopback,
		"127.0.0.1.":               Loopback,
		"127.255.255.254":          Loopback,
		"::1":                      Loopback,
		"[::1]":                    Loopback,
		"0:0:0:0:0:0:0:1":          Loopback,
		"::ffff:127.0.0.1":         Loopback,
		"[::ffff:127.0.0.1]":       Loopback,
		"::ffff:7f00:1":            Loopback,
		"64:ff9b::127.0.0.1":       Loopback,
		"2002:7f00:1::1":           Loopback,
		"10.0.0.1":                 Private,
		"10.1":                     Private,
		"012.0.0.1":                Private,
		"167772161":                Private,
		"172.16.0.1":               Private,
		"172.31.255.255":           Private,
		"192.168.1.1":              Private,
		"0xc0.0xa8.1.1":            Private,
		"::ffff:192.168.1.1":       Private,
		"::ffff:10.0.0.1":          Private,
		"fc00::1":                  Private,
		"fd12:3456::1":             Private,
		"100.64.0.1":               Private,
		"100.127.255.254":          Private,
		"169.254.169.254":          LinkLocal,
		"0xa9.0xfe.0xa9.0xfe":      LinkLocal,
		"2852039166":               LinkLocal,
		"::ffff:169.254.169.254":   LinkLocal,
		"fe80::1":                  LinkLocal,
		"fe80::1%eth0":             LinkLocal,
		"[fe80::1%25eth0]":         LinkLocal,
		"0.0.0.0":                  Unspecified,
		"0":                        Unspecified,
		"0.1.2.3":                  Unspecified,
		"::":                       Unspecified,
		"::ffff:0.0.0.0":           Unspecified,
		"224.0.0.1":                Multicast,
		"239.255.255.250":          Multicast,
		"255.255.255.255":          Multicast,
		"ff02::1":                  Multicast,
		"192.0.2.1":                Reserved,
		"198.51.100.7":             Reserved,
		"203.0.113.9":              Reserved,
		"198.18.0.1":               Reserved,
		"240.0.0.1":                Reserved,
		"192.0.0.8":                Reserved,
		"2001:db8::1":              Reserved,
		"3fff::1":                  Reserved,
		"2001:0:4136:e378::1":      Reserved, // Teredo
		"::127.0.0.1":              Reserved, // IPv4-compatible
		"fec0::1":                  Reserved,
		"100::1":                   Reserved,
		"64:ff9b:1::1":             Reserved,
		"::ffff:192.0.2.1":         Reserved,
		"[2001:db8::1]":            Reserved,
		"2001:db8:0:0:0:0:0:1":     Reserved,
		"0x7f.0x0.0x0.0x1":         Loopback,
		"0000000000000177.0.0.01":  Loopback,
		" 127.0.0.1 ":              Loopback,
		"127.000.000.001":          Loopback,
		"2002:c0a8:101::1":         Private, // 6to4 of 192.168.1.1
		"64:ff9b::10.0.0.1":        Private, // NAT64 of 10.0.0.1
		"64:ff9b::169.254.169.254": LinkLocal,
	}
	for host, want := range refused {
		a, ok := ParseHost(host)
		if !ok {
			t.Errorf("ParseHost(%q) is not an address", host)
			continue
		}
		if got := Classify(a); got != want {
			t.Errorf("Classify(%q = %s) = %s, want %s", host, a, got, want)
		}
		if err := g.CheckHost(host); !errors.Is(err, ErrForbidden) {
			t.Errorf("CheckHost(%q) = %v, want ErrForbidden", host, err)
		}
	}
	for _, host := range []string{"8.8.8.8", "134744072", "0x8.0x8.0x8.0x8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "imap.example.org", "1.example.org", "100.63.255.255", "100.128.0.0", "172.32.0.1", "11.0.0.1"} {
		if err := g.CheckHost(host); err != nil {
			t.Errorf("CheckHost(%q) = %v, want nil", host, err)
		}
	}
	// Names are not addresses, however numeric they look in part.
	for _, host := range []string{"imap.example.org", "127.0.0.1.nip.io", "0x7f.example", "1.2.3.4.5", "256.1.1.1", "0x100.1.1.1", "4294967296"} {
		if a, ok := ParseHost(host); ok {
			t.Errorf("ParseHost(%q) = %s, want a name", host, a)
		}
	}
}

// TestGuardAllowPrivate: -allow-private-upstreams lets loopback and
// private addresses through, never link-local, multicast, unspecified
// or documentation ones; trusted (operator-named) destinations may be
// anything but unspecified or multicast.
func TestGuardAllowPrivate(t *testing.T) {
	g := NewGuard(&GuardOptions{AllowPrivate: true})
	for _, s := range []string{"127.0.0.1", "::1", "10.0.0.1", "100.64.0.1", "fd00::1"} {
		if err := g.Check(netip.MustParseAddr(s), false); err != nil {
			t.Errorf("AllowPrivate: Check(%s) = %v", s, err)
		}
	}
	for _, s := range []string{"169.254.169.254", "fe80::1", "224.0.0.1", "0.0.0.0", "192.0.2.1", "2001:db8::1"} {
		if err := g.Check(netip.MustParseAddr(s), false); err == nil {
			t.Errorf("AllowPrivate: Check(%s) = nil, want refused", s)
		}
	}
	strict := NewGuard(nil)
	for _, s := range []string{"127.0.0.1", "10.0.0.1", "169.254.169.254", "192.0.2.1"} {
		if err := strict.Check(netip.MustParseAddr(s), true); err != nil {
			t.Errorf("trusted: Check(%s) = %v", s, err)
		}
	}
	for _, s := range []string{"0.0.0.0", "::", "224.0.0.1", "ff02::1"} {
		if err := strict.Check(netip.MustParseAddr(s), true); err == nil {
			t.Errorf("trusted: Check(%s) = nil, want refused", s)
		}
	}
}

// TestGuardDial: refused after DNS (a name resolving to a private
// address, even one of several), for non-mail ports, and for numeric
// spellings; allowed for the operator's own (Trust) destination on any
// port; a listener behind a refused address never sees a connection.
func TestGuardDial(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- struct{}{}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	dns := newFakeDNS()
	dns.host("rebind.example.org", "93.184.216.34", "127.0.0.1")
	dns.host("local.example.org", "127.0.0.1")
	dns.host("mapped.example.org", "::ffff:127.0.0.1")
	g := NewGuard(&GuardOptions{Resolver: dns, Ports: append([]string{port}, MailPorts...)})
	ctx := context.Background()
	for _, host := range []string{"rebind.example.org", "local.example.org", "mapped.example.org", "127.0.0.1", "2130706433", "0x7f.1", "[::1]", "::ffff:127.0.0.1"} {
		up := mailproxy.Upstream{Protocol: "imap", Host: host, Port: port}
		if c, err := g.Dial(ctx, up); !errors.Is(err, ErrForbidden) {
			if c != nil {
				c.Close()
			}
			t.Errorf("Dial(%s) = %v, want ErrForbidden", host, err)
		}
	}
	if _, err := g.Dial(ctx, mailproxy.Upstream{Protocol: "imap", Host: "93.184.216.34", Port: "22"}); !errors.Is(err, ErrForbidden) {
		t.Errorf("Dial(port 22) = %v, want ErrForbidden", err)
	}
	if _, err := g.DialContext(ctx, "tcp", "127.0.0.1:"+port); !errors.Is(err, ErrForbidden) {
		t.Errorf("DialContext(127.0.0.1) = %v, want ErrForbidden", err)
	}
	select {
	case <-accepted:
		t.Fatal("a refused destination was connected to")
	case <-time.After(50 * time.Millisecond):
	}

	// The operator's own server: private address, any port.
	pinned := mailproxy.Upstream{Protocol: "imap", Security: mailproxy.SecurityNone, Host: "local.example.org", Port: port}
	strictPorts := NewGuard(&GuardOptions{Resolver: dns})
	strictPorts.Trust(pinned)
	c, err := strictPorts.Dial(ctx, pinned)
	if err != nil {
		t.Fatalf("Dial(trusted %s) = %v", pinned, err)
	}
	c.Close()
	<-accepted
}

// TestGuardControlAtConnect: the check runs again when the socket
// connects (net.Dialer.Control), whatever the resolver said.
func TestGuardControlAtConnect(t *testing.T) {
	g := NewGuard(&GuardOptions{Ports: []string{"993"}})
	err := g.dialControl(false)("tcp4", "127.0.0.1:993", nil)
	if !errors.Is(err, ErrForbidden) {
		t.Errorf("Control(127.0.0.1:993) = %v, want ErrForbidden", err)
	}
	if err := g.dialControl(false)("tcp4", "93.184.216.34:993", nil); err != nil {
		t.Errorf("Control(93.184.216.34:993) = %v", err)
	}
	if err := g.dialControl(false)("tcp4", "93.184.216.34:25", nil); !errors.Is(err, ErrForbidden) {
		t.Errorf("Control(port 25) = %v, want ErrForbidden", err)
	}
	if err := g.dialControl(false)("tcp6", "[::ffff:10.0.0.1]:993", nil); !errors.Is(err, ErrForbidden) {
		t.Errorf("Control(::ffff:10.0.0.1) = %v, want ErrForbidden", err)
	}
}
