package discover

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// FuzzParseHost: any host string either is a name or parses to an
// address that reads back the same, and the guard never lets a
// non-public one through.
func FuzzParseHost(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "127.1", "0x7f.1", "0177.0.0.1", "2130706433", "[::1]", "::ffff:127.0.0.1", "fe80::1%eth0", "1.2.3.4.5", "0x", "08.1", "imap.example.org", "4294967295", "0.0.0.0.", "[::ffff:10.0.0.1]"} {
		f.Add(s)
	}
	g := NewGuard(nil)
	f.Fuzz(func(t *testing.T, s string) {
		a, ok := ParseHost(s)
		if !ok {
			if err := g.CheckHost(s); err != nil {
				t.Fatalf("CheckHost(%q) = %v for a name", s, err)
			}
			return
		}
		if b, ok := ParseHost(a.String()); !ok || b != a {
			t.Fatalf("ParseHost(%q) = %s, which reads back as %s, %v", s, a, b, ok)
		}
		if err := g.CheckHost(s); (err == nil) != (Classify(a) == Public) {
			t.Fatalf("CheckHost(%q = %s, %s) = %v", s, a, Classify(a), err)
		}
		if Classify(a) == Public && (a.Unmap().IsLoopback() || a.Unmap().IsPrivate() || a.Unmap().IsLinkLocalUnicast() || a.Unmap().IsMulticast() || a.Unmap().IsUnspecified()) {
			t.Fatalf("Classify(%s) = public", a)
		}
	})
}

// FuzzAutoconfig: whatever an autoconfig file says, what discovery takes
// from it is a host name under the domain (no allowlist here), on a mail
// port, with TLS or STARTTLS.
func FuzzAutoconfig(f *testing.F) {
	f.Add(configXML([4]string{"imap", "imap.example.org", "993", "SSL"}, [4]string{"smtp", "smtp.%EMAILDOMAIN%", "587", "STARTTLS"}))
	f.Add(configXML([4]string{"pop3", "127.0.0.1", "995", "SSL"}, [4]string{"imap", "imap.evil.org", "993", "SSL"}))
	f.Add(configXML([4]string{"imap", "imap.example.org.evil.org", "22", "plain"}))
	finder := NewFinder(Options{Guard: NewGuard(nil)})
	f.Fuzz(func(t *testing.T, doc string) {
		var cc clientConfig
		if xml.Unmarshal([]byte(doc), &cc) != nil {
			return
		}
		r := finder.fromConfig(&cc, "example.org")
		for _, up := range []mailproxy.Upstream{r.imap, r.pop3, r.smtp} {
			if up.Host == "" {
				continue
			}
			if !under(up.Host, "example.org") || up.Security == mailproxy.SecurityNone || !finder.o.Guard.PortOK(up.Port) || strings.ContainsAny(up.Host, "%:[]/ ") {
				t.Fatalf("took %+v from %q", up, doc)
			}
			if _, numeric := ParseHost(up.Host); numeric {
				t.Fatalf("took the address %s", up.Host)
			}
		}
	})
}
