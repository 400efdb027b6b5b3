package discover

import (
	"net/netip"
	"strconv"
	"strings"
)

// The address filter. A gateway that dials what users type (or what a
// domain's DNS and autoconfig files say) would otherwise be a port
// scanner and a way into the operator's own network, so every
// destination address is classified, after DNS and again at connect
// time, and only public unicast addresses pass unless the operator
// allows private ones.

// Class is what kind of destination an address is.
type Class int

// The classes of destination addresses.
const (
	Public      Class = iota // global unicast: always allowed
	Private                  // RFC 1918, CGNAT (RFC 6598), unique local (RFC 4193)
	Loopback                 // 127.0.0.0/8, ::1
	LinkLocal                // 169.254.0.0/16 (cloud metadata lives here), fe80::/10
	Unspecified              // 0.0.0.0/8 ("this network"), ::
	Multicast                // 224.0.0.0/4, ff00::/8, 255.255.255.255
	Reserved                 // documentation, benchmarking, IETF, 240/4, old IPv6 forms
)

var classNames = [...]string{"public", "private", "loopback", "link-local", "unspecified", "multicast", "reserved"}

// String names the class ("loopback"), for logs.
func (c Class) String() string { return classNames[c] }

type rangeClass struct {
	p netip.Prefix
	c Class
}

// special lists every non-public range (IANA special-purpose registries,
// RFC 6890 and updates). IPv4-mapped, NAT64 and 6to4 IPv6 addresses are
// judged by the IPv4 address they carry.
var special = func() []rangeClass {
	var out []rangeClass
	add := func(c Class, prefixes ...string) {
		for _, s := range prefixes {
			out = append(out, rangeClass{netip.MustParsePrefix(s), c})
		}
	}
	add(Unspecified, "0.0.0.0/8", "::/128")
	add(Loopback, "127.0.0.0/8", "::1/128")
	add(Private, "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
	add(LinkLocal, "169.254.0.0/16", "fe80::/10")
	add(Multicast, "224.0.0.0/4", "255.255.255.255/32", "ff00::/8")
	add(Reserved,
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // TEST-NET-1 (documentation)
		"198.51.100.0/24", // TEST-NET-2
		"203.0.113.0/24",  // TEST-NET-3
		"198.18.0.0/15",   // benchmarking
		"192.88.99.0/24",  // 6to4 relay anycast (deprecated)
		"240.0.0.0/4",     // reserved
		"::/96",           // IPv4-compatible (deprecated)
		"64:ff9b:1::/48",  // local-use NAT64
		"100::/64",        // discard-only
		"2001::/23",       // IETF protocol assignments (Teredo, ORCHID, ...)
		"2001:db8::/32",   // documentation
		"3fff::/20",       // documentation (RFC 9637)
		"fec0::/10",       // site-local (deprecated)
		"5f00::/16",       // SRv6 SIDs
	)
	return out
}()

var (
	nat64 = netip.MustParsePrefix("64:ff9b::/96")
	sixTo = netip.MustParsePrefix("2002::/16")
)

// Classify says what kind of destination a is. IPv6 addresses that carry
// an IPv4 address (IPv4-mapped ::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d,
// 6to4 2002:aabb:ccdd::) are judged by it; a zone (fe80::1%eth0) is
// ignored.
func Classify(a netip.Addr) Class {
	a = a.WithZone("")
	if !a.IsValid() {
		return Unspecified
	}
	if a.Is4In6() {
		a = a.Unmap()
	}
	if a.Is6() {
		b := a.As16()
		switch {
		case nat64.Contains(a):
			return Classify(netip.AddrFrom4([4]byte(b[12:16])))
		case sixTo.Contains(a):
			if c := Classify(netip.AddrFrom4([4]byte(b[2:6]))); c != Public {
				return c
			}
		}
	}
	for _, r := range special {
		if r.p.Contains(a) {
			return r.c
		}
	}
	return Public
}

// ParseHost reads host as an IP address in any spelling a resolver or
// a C library would accept: dotted quads, IPv6 with or without brackets
// and zone, and the inet_aton forms (127.1, 0x7f.1, 0177.0.0.1,
// 2130706433, 0x7f000001, a trailing dot). ok is false when host is a
// name.
func ParseHost(host string) (a netip.Addr, ok bool) {
	h := strings.TrimSpace(host)
	h = strings.TrimPrefix(h, "[")
	h = strings.TrimSuffix(h, "]")
	if a, err := netip.ParseAddr(h); err == nil {
		if !plainZone(a.Zone()) {
			// Not an address anyone writes: a zone is an interface name
			// (fe80::1%eth0). It is then only a name, which no resolver
			// knows, and the dial guard still judges what a dial reaches.
			return netip.Addr{}, false
		}
		return a, true
	}
	return parseInetAton(strings.TrimSuffix(h, "."))
}

// plainZone reports whether an IPv6 zone is empty or an interface name
// (letters, digits, '.', '_', '-'; at most 15 bytes, as Linux allows).
func plainZone(z string) bool {
	if len(z) > 15 {
		return false
	}
	for i := 0; i < len(z); i++ {
		c := z[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// parseInetAton is inet_aton(3): one to four parts, each decimal, octal
// (leading 0) or hexadecimal (0x); the last part fills the remaining
// bytes.
func parseInetAton(s string) (netip.Addr, bool) {
	if s == "" {
		return netip.Addr{}, false
	}
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	vals := make([]uint64, len(parts))
	for i, p := range parts {
		base, digits := 10, p
		switch {
		case len(p) > 1 && (p[0:2] == "0x" || p[0:2] == "0X"):
			base, digits = 16, p[2:]
			if digits == "" {
				digits = "0" // "0x" alone is 0 to glibc
			}
		case len(p) > 1 && p[0] == '0':
			base, digits = 8, p[1:]
		}
		v, err := strconv.ParseUint(digits, base, 32)
		if err != nil || digits == "" {
			return netip.Addr{}, false
		}
		vals[i] = v
	}
	var n uint64
	for i, v := range vals[:len(vals)-1] {
		if v > 255 {
			return netip.Addr{}, false
		}
		n |= v << (8 * (3 - i))
	}
	last := vals[len(vals)-1]
	if last >= 1<<(8*(5-len(vals))) {
		return netip.Addr{}, false
	}
	n |= last
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}
