package discover

import (
	"strings"

	"golang.org/x/net/idna"
)

// normalDomain is s as a lower-case ASCII domain name (IDNA, no trailing
// dot), and whether it is one: at least two labels of letters, digits
// and hyphens, and not an address in any spelling.
func normalDomain(s string) (string, bool) {
	s = strings.TrimSuffix(strings.TrimSpace(s), ".")
	if s == "" || len(s) > 253 {
		return "", false
	}
	a, err := idna.Lookup.ToASCII(s)
	if err != nil {
		return "", false
	}
	a = strings.ToLower(a)
	if _, numeric := ParseHost(a); numeric {
		return "", false
	}
	labels := strings.Split(a, ".")
	if len(labels) < 2 {
		return "", false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' && i == 0) {
				return "", false
			}
		}
	}
	return a, true
}

// under reports whether host is domain or one of its subdomains.
func under(host, domain string) bool {
	return host == domain || strings.HasSuffix(host, "."+domain)
}

// Allowlist is the operator's list of domains and host patterns
// discovery may serve and use: "example.org" (that domain),
// "*.example.org" (its subdomains, not itself), "*" (any).
type Allowlist []string

// ParseAllowlist reads a comma- or space-separated list of patterns.
func ParseAllowlist(s string) (Allowlist, bool) {
	var out Allowlist
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		switch {
		case p == "*":
			out = append(out, p)
		case strings.HasPrefix(p, "*."):
			d, ok := normalDomain(p[2:])
			if !ok {
				return nil, false
			}
			out = append(out, "*."+d)
		default:
			d, ok := normalDomain(p)
			if !ok {
				return nil, false
			}
			out = append(out, d)
		}
	}
	return out, true
}

// Match reports whether the (normalised) name matches a pattern.
func (l Allowlist) Match(name string) bool {
	for _, p := range l {
		switch {
		case p == "*", p == name:
			return true
		case strings.HasPrefix(p, "*.") && strings.HasSuffix(name, p[1:]):
			return true
		}
	}
	return false
}
