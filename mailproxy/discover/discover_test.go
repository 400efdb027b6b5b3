package discover

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// world is a small Internet on loopback: a fake DNS, an HTTPS site for
// autoconfig files and greeting mail servers (one per protocol and
// security, shared by every name), all with certificates from one test
// CA for the test domains.
type world struct {
	dns   *fakeDNS
	site  *autoconfigSite
	mail  map[string]*fakeMail // "imaps", "imap", "pop3s", "pop3", "smtps", "submission"
	ports Ports
	opts  Options
}

var testNames = []string{"example.test", "*.example.test", "provider.test", "*.provider.test", "hosted.test", "*.hosted.test", "srv.test", "*.srv.test", "probe.test", "*.probe.test", "evil.test", "*.evil.test", "pop.test", "*.pop.test"}

func newWorld(t testing.TB) *world {
	t.Helper()
	cert, client := testPKI(t, testNames...)
	w := &world{dns: newFakeDNS(), site: startAutoconfig(t, cert), mail: map[string]*fakeMail{}}
	for name, k := range map[string]struct {
		proto string
		sec   mailproxy.Security
	}{
		"imaps": {"imap", mailproxy.SecurityTLS}, "imap": {"imap", mailproxy.SecurityStartTLS},
		"pop3s": {"pop3", mailproxy.SecurityTLS}, "pop3": {"pop3", mailproxy.SecurityStartTLS},
		"smtps": {"smtp", mailproxy.SecurityTLS}, "submission": {"smtp", mailproxy.SecurityStartTLS},
	} {
		w.mail[name] = startFakeMail(t, k.proto, k.sec, cert)
	}
	w.ports = Ports{IMAPS: w.mail["imaps"].port(), IMAP: w.mail["imap"].port(), POP3S: w.mail["pop3s"].port(), POP3: w.mail["pop3"].port(),
		SMTPS: w.mail["smtps"].port(), Submission: w.mail["submission"].port(), HTTPS: w.site.port()}
	ports := []string{w.ports.IMAPS, w.ports.IMAP, w.ports.POP3S, w.ports.POP3, w.ports.SMTPS, w.ports.Submission, w.ports.HTTPS}
	w.opts = Options{
		Discover: true, Allow: Allowlist{"example.test", "hosted.test", "srv.test", "probe.test", "pop.test", "nowhere.test"},
		Guard:    NewGuard(&GuardOptions{AllowPrivate: true, Ports: ports, Resolver: w.dns, ConnectTimeout: time.Second}),
		Resolver: w.dns, TLSConfig: client, Ports: w.ports,
		StepTimeout: 2 * time.Second, Timeout: 5 * time.Second, Floor: time.Millisecond,
	}
	return w
}

func (w *world) finder() *Finder { return NewFinder(w.opts) }

// names makes hosts resolve to loopback, where the servers are.
func (w *world) names(hosts ...string) {
	for _, h := range hosts {
		w.dns.host(h, "127.0.0.1")
	}
}

func (w *world) conns() (n int64) {
	for _, m := range w.mail {
		n += m.conns.Load()
	}
	return n
}

func locate(t *testing.T, f *Finder, user string, c mailproxy.Choice) *mailproxy.Servers {
	t.Helper()
	s, err := f.Locate(context.Background(), user, c)
	if err != nil {
		t.Fatalf("Locate(%s, %+v) = %v", user, c, err)
	}
	return s
}

func TestAutoconfig(t *testing.T) {
	w := newWorld(t)
	w.names("imap.example.test", "pop.example.test", "smtp.example.test")
	w.dns.host("autoconfig.example.test", "127.0.0.1")
	w.site.put("autoconfig.example.test/mail/config-v1.1.xml", configXML(
		[4]string{"imap", "imap.example.test", w.ports.IMAPS, "SSL"},
		[4]string{"imap", "imap2.example.test", w.ports.IMAP, "STARTTLS"},
		[4]string{"pop3", "pop.%EMAILDOMAIN%", w.ports.POP3S, "SSL"},
		[4]string{"smtp", "smtp.example.test", w.ports.Submission, "STARTTLS"},
	))
	f := w.finder()
	s := locate(t, f, "alice@Example.TEST", mailproxy.Choice{})
	if got, want := s.Mail.String(), "imaps://imap.example.test:"+w.ports.IMAPS; got != want || s.Source != "autoconfig" {
		t.Errorf("Mail = %s from %s, want %s from autoconfig", got, s.Source, want)
	}
	if got, want := s.SMTP.String(), "smtp://smtp.example.test:"+w.ports.Submission; got != want {
		t.Errorf("SMTP = %s, want %s", got, want)
	}
	if s.Login != "" {
		t.Errorf("Login = %q, want the address as typed", s.Login)
	}
	s = locate(t, f, "bob@example.test", mailproxy.Choice{Protocol: "pop3"})
	if got, want := s.Mail.String(), "pop3s://pop.example.test:"+w.ports.POP3S; got != want {
		t.Errorf("POP3 chosen: Mail = %s, want %s", got, want)
	}
	// Each server named was checked once (greeting and certificate).
	if n := w.mail["imaps"].conns.Load(); n != 1 {
		t.Errorf("%d connections to the IMAP server, want 1 (the check)", n)
	}
}

func TestAutoconfigWellKnown(t *testing.T) {
	w := newWorld(t)
	w.names("pop3.example.test")
	w.dns.host("example.test", "127.0.0.1")
	w.site.put("example.test/.well-known/autoconfig/mail/config-v1.1.xml", configXMLUser("%EMAILLOCALPART%", [4]string{"pop3", "pop3.example.test", w.ports.POP3, "STARTTLS"}))
	s := locate(t, w.finder(), "carol@example.test", mailproxy.Choice{})
	if got, want := s.Mail.String(), "pop3://pop3.example.test:"+w.ports.POP3; got != want || s.Source != "autoconfig" {
		t.Errorf("Mail = %s from %s, want %s from autoconfig", got, s.Source, want)
	}
	// The file signs in with the local part.
	if c := (mailproxy.Credentials{Username: "carol@example.test", Servers: s}); c.LoginName() != "carol" {
		t.Errorf("LoginName = %q, want carol (%%EMAILLOCALPART%%)", c.LoginName())
	}
	if _, err := w.finder().Locate(context.Background(), "carol@example.test", mailproxy.Choice{Protocol: "imap"}); !errors.Is(err, mailproxy.ErrNoServer) {
		t.Errorf("IMAP asked of a POP3-only domain: %v, want ErrNoServer", err)
	}
}

// TestAutoconfigClaimsChecked: a file cannot send us to a host outside
// the user's domain and the allowlist, to an address, to plain text or
// to a port that is not a mail port; nothing of it is dialed.
func TestAutoconfigClaimsChecked(t *testing.T) {
	w := newWorld(t)
	w.dns.host("autoconfig.example.test", "127.0.0.1")
	w.dns.host("imap.evil.test", "127.0.0.1")
	w.site.put("autoconfig.example.test/mail/config-v1.1.xml", configXML(
		[4]string{"imap", "imap.evil.test", w.ports.IMAPS, "SSL"},
		[4]string{"imap", "127.0.0.1", w.ports.IMAPS, "SSL"},
		[4]string{"imap", "2130706433", w.ports.IMAPS, "SSL"},
		[4]string{"imap", "plain.example.test", w.ports.IMAP, "plain"},
		[4]string{"imap", "ssh.example.test", "22", "SSL"},
		[4]string{"pop3", "pop.example.test", "0995", "SSL"},
	))
	_, err := w.finder().Locate(context.Background(), "alice@example.test", mailproxy.Choice{})
	if !errors.Is(err, mailproxy.ErrNoServer) {
		t.Fatalf("Locate = %v, want ErrNoServer", err)
	}
	if n := w.conns(); n != 0 {
		t.Errorf("%d connections made to servers the file named", n)
	}
	// The operator's allowlist admits the provider's hosts.
	w.opts.Allow = append(w.opts.Allow, "*.evil.test")
	s := locate(t, w.finder(), "alice@example.test", mailproxy.Choice{})
	if s.Mail.Host != "imap.evil.test" {
		t.Errorf("with *.evil.test allowed: Mail = %s", s.Mail)
	}
}

// TestTableAndMX: the table first; a hosted domain whose MX is the
// provider's goes through the table (or autoconfig) of the provider's
// domain.
func TestTableAndMX(t *testing.T) {
	w := newWorld(t)
	table, err := ParseTable(strings.NewReader(fmt.Sprintf(`
# operator's table
example.test   imaps://imap.example.test:%s  smtps://smtp.example.test:%s
provider.test  pop3s://pop.provider.test:%s smtps://smtp.provider.test:%s
`, w.ports.IMAPS, w.ports.SMTPS, w.ports.POP3S, w.ports.SMTPS)))
	if err != nil {
		t.Fatal(err)
	}
	w.opts.Table = table
	w.names("pop.provider.test", "smtp.provider.test", "imap.hosted.test")
	w.dns.mx["pop.test"] = []*net.MX{{Host: "mx2.provider.test.", Pref: 20}, {Host: "mx1.provider.test.", Pref: 10}}
	w.dns.mx["srv.test"] = []*net.MX{{Host: "mx.hosted.test.", Pref: 10}}
	w.dns.host("autoconfig.hosted.test", "127.0.0.1")
	w.site.put("autoconfig.hosted.test/mail/config-v1.1.xml", configXML([4]string{"imap", "imap.hosted.test", w.ports.IMAPS, "SSL"}))
	f := w.finder()
	s := locate(t, f, "alice@example.test", mailproxy.Choice{})
	if s.Mail.String() != "imaps://imap.example.test:"+w.ports.IMAPS || s.Source != "table" || s.SMTP.Host != "smtp.example.test" {
		t.Errorf("table: %+v", s)
	}
	s = locate(t, f, "dave@pop.test", mailproxy.Choice{})
	if s.Mail.Host != "pop.provider.test" || s.Source != "mx" || s.SMTP.Host != "smtp.provider.test" {
		t.Errorf("MX through the table: %+v", s)
	}
	s = locate(t, f, "erin@srv.test", mailproxy.Choice{})
	if s.Mail.Host != "imap.hosted.test" || s.Source != "mx" {
		t.Errorf("MX through autoconfig: %+v", s)
	}
	// Table domains are served without the allowlist.
	w.opts.Allow = nil
	w.opts.Discover = false
	if s := locate(t, w.finder(), "x@example.test", mailproxy.Choice{}); s.Source != "table" {
		t.Errorf("table without -discover: %+v", s)
	}
	if _, err := ParseTable(strings.NewReader("example.test imap+insecure://imap.example.test\n")); err == nil {
		t.Error("a plain-text table entry was accepted")
	}
}

func TestSRV(t *testing.T) {
	w := newWorld(t)
	w.names("imap.srv.test", "pop.srv.test", "smtp.srv.test")
	w.dns.srv["_imaps._tcp.srv.test"] = []*net.SRV{{Target: "imap.srv.test.", Port: port16(w.ports.IMAPS)}}
	w.dns.srv["_imap._tcp.srv.test"] = []*net.SRV{{Target: "imap.srv.test.", Port: port16(w.ports.IMAP)}}
	w.dns.srv["_pop3s._tcp.srv.test"] = []*net.SRV{{Target: ".", Port: 0}}
	w.dns.srv["_pop3._tcp.srv.test"] = []*net.SRV{{Target: "pop.evil.test.", Port: port16(w.ports.POP3)}, {Target: "pop.srv.test.", Port: port16(w.ports.POP3)}}
	w.dns.srv["_submission._tcp.srv.test"] = []*net.SRV{{Target: "smtp.srv.test.", Port: port16(w.ports.Submission)}}
	f := w.finder()
	s := locate(t, f, "frank@srv.test", mailproxy.Choice{})
	if s.Mail.String() != "imaps://imap.srv.test:"+w.ports.IMAPS || s.Source != "srv" || s.SMTP.String() != "smtp://smtp.srv.test:"+w.ports.Submission {
		t.Errorf("SRV: %+v", s)
	}
	s = locate(t, f, "frank@srv.test", mailproxy.Choice{Protocol: "pop3"})
	if s.Mail.String() != "pop3://pop.srv.test:"+w.ports.POP3 {
		t.Errorf("SRV POP3: %s (the foreign target must be skipped)", s.Mail)
	}
}

func port16(p string) uint16 {
	var n uint16
	fmt.Sscan(p, &n)
	return n
}

// TestProbe: the conventional names, implicit TLS first, then STARTTLS;
// a certificate that does not name the host fails the probe.
func TestProbe(t *testing.T) {
	w := newWorld(t)
	for _, h := range []string{"imap.probe.test", "mail.probe.test", "pop.probe.test", "smtp.probe.test"} {
		w.dns.host(h, "127.0.0.1")
	}
	s := locate(t, w.finder(), "gina@probe.test", mailproxy.Choice{})
	if s.Mail.String() != "imaps://imap.probe.test:"+w.ports.IMAPS || s.Source != "probe" || s.SMTP.String() != "smtps://smtp.probe.test:"+w.ports.SMTPS {
		t.Errorf("probe: %+v", s)
	}
	s = locate(t, w.finder(), "gina@probe.test", mailproxy.Choice{Protocol: "pop3"})
	if s.Mail.String() != "pop3s://pop.probe.test:"+w.ports.POP3S {
		t.Errorf("probe POP3: %s", s.Mail)
	}

	// No implicit TLS: STARTTLS is found.
	closed := closedPort(t)
	w.opts.Ports.IMAPS, w.opts.Ports.POP3S, w.opts.Ports.SMTPS = closed, closed, closed
	w.opts.Guard = NewGuard(&GuardOptions{AllowPrivate: true, Resolver: w.dns, Ports: []string{closed, w.ports.IMAP, w.ports.POP3, w.ports.Submission}})
	s = locate(t, w.finder(), "gina@probe.test", mailproxy.Choice{})
	if s.Mail.String() != "imap://imap.probe.test:"+w.ports.IMAP || s.SMTP.String() != "smtp://smtp.probe.test:"+w.ports.Submission {
		t.Errorf("STARTTLS probe: %+v", s)
	}

	// pop.test's names are not in... they are; use names outside the
	// certificate: nocert.test resolves, but no certificate names it.
	w.opts.Allow = append(w.opts.Allow, "nocert.test")
	w.dns.host("imap.nocert.test", "127.0.0.1")
	w.dns.host("pop.nocert.test", "127.0.0.1")
	if _, err := w.finder().Locate(context.Background(), "x@nocert.test", mailproxy.Choice{}); !errors.Is(err, mailproxy.ErrNoServer) {
		t.Errorf("servers with another name's certificate: %v, want ErrNoServer", err)
	}
}

func closedPort(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	return p
}

// TestNotAllowed: a domain outside the allowlist costs no DNS query and
// no connection.
func TestNotAllowed(t *testing.T) {
	w := newWorld(t)
	w.dns.host("imap.other.test", "127.0.0.1")
	for _, user := range []string{"x@other.test", "x@127.0.0.1", "x@[127.0.0.1]", "no-address", "x@", "x@localhost"} {
		if _, err := w.finder().Locate(context.Background(), user, mailproxy.Choice{}); !errors.Is(err, mailproxy.ErrNoServer) {
			t.Errorf("Locate(%s) = %v, want ErrNoServer", user, err)
		}
	}
	if q := w.dns.queries.Load(); q != 0 || w.conns() != 0 || w.site.hits.Load() != 0 {
		t.Errorf("%d DNS queries, %d connections, %d autoconfig requests for refused addresses", q, w.conns(), w.site.hits.Load())
	}
	w.opts.Discover = false
	if _, err := w.finder().Locate(context.Background(), "x@example.test", mailproxy.Choice{}); !errors.Is(err, mailproxy.ErrNoServer) {
		t.Errorf("discovery off: %v, want ErrNoServer", err)
	}
}

// TestUserChosen: a server the user names must be a host name under the
// address's allowed domain or matching the allowlist, on a mail port,
// never plain text; only when the operator allows it.
func TestUserChosen(t *testing.T) {
	w := newWorld(t)
	w.opts.UserServers = true
	f := w.finder()
	s := locate(t, f, "alice@example.test", mailproxy.Choice{Protocol: "pop3", Host: "Mail.Example.Test", Port: w.ports.POP3S, Security: mailproxy.SecurityTLS})
	if s.Mail.String() != "pop3s://mail.example.test:"+w.ports.POP3S || s.Source != "user" {
		t.Errorf("user-chosen: %+v", s)
	}
	for name, c := range map[string]mailproxy.Choice{
		"address":         {Host: "127.0.0.1", Port: w.ports.IMAPS},
		"numeric":         {Host: "2130706433", Port: w.ports.IMAPS},
		"bracketed":       {Host: "[::1]", Port: w.ports.IMAPS},
		"other domain":    {Host: "imap.evil.test", Port: w.ports.IMAPS},
		"not a mail port": {Host: "imap.example.test", Port: "22"},
		"plain text":      {Host: "imap.example.test", Port: w.ports.IMAP, Security: mailproxy.SecurityNone},
		"bad protocol":    {Protocol: "http", Host: "imap.example.test", Port: w.ports.IMAPS},
	} {
		if _, err := f.Locate(context.Background(), "alice@example.test", c); !errors.Is(err, mailproxy.ErrNoServer) {
			t.Errorf("%s: Locate = %v, want ErrNoServer", name, err)
		}
	}
	// Without -discover, the allowlist still says which domains' users
	// may name a server of their domain.
	w.opts.Discover = false
	if s := locate(t, w.finder(), "alice@example.test", mailproxy.Choice{Host: "imap.example.test", Port: w.ports.IMAPS}); s.Mail.Host != "imap.example.test" {
		t.Errorf("user server without -discover: %+v", s)
	}
	if _, err := w.finder().Locate(context.Background(), "alice@other.test", mailproxy.Choice{Host: "imap.other.test", Port: w.ports.IMAPS}); !errors.Is(err, mailproxy.ErrNoServer) {
		t.Errorf("user server of a domain outside the allowlist: %v, want ErrNoServer", err)
	}
	w.opts.UserServers = false
	if _, err := w.finder().Locate(context.Background(), "alice@example.test", mailproxy.Choice{Host: "imap.example.test", Port: w.ports.IMAPS}); !errors.Is(err, mailproxy.ErrNoServer) {
		t.Errorf("user servers off: %v, want ErrNoServer", err)
	}
}

// TestPinnedFirst: pinned upstreams win over everything, for any login.
func TestPinnedFirst(t *testing.T) {
	w := newWorld(t)
	imapUp, _ := mailproxy.ParseUpstream("imaps://imap.pinned.example", "imap")
	pop3Up, _ := mailproxy.ParseUpstream("pop3s://pop.pinned.example", "pop3")
	w.opts.IMAP, w.opts.POP3 = imapUp, pop3Up
	f := w.finder()
	if s := locate(t, f, "plainname", mailproxy.Choice{}); s.Mail != imapUp || s.Source != "pinned" || s.Discovered() {
		t.Errorf("pinned: %+v", s)
	}
	if s := locate(t, f, "x@example.test", mailproxy.Choice{Protocol: "pop3"}); s.Mail != pop3Up {
		t.Errorf("pinned POP3: %+v", s)
	}
	if w.dns.queries.Load() != 0 {
		t.Error("pinned upstreams asked DNS")
	}
}

// TestBlackHole: a domain whose DNS never answers, or whose every name
// leads to a server that accepts and never greets, ends within the
// discovery deadline, and the failure comes at the floor.
func TestBlackHole(t *testing.T) {
	for _, mode := range []string{"dns", "tarpit"} {
		t.Run(mode, func(t *testing.T) {
			w := newWorld(t)
			pit := tarpit(t)
			w.opts.Ports = Ports{IMAPS: pit, IMAP: pit, POP3S: pit, POP3: pit, SMTPS: pit, Submission: pit, HTTPS: pit}
			w.opts.Guard = NewGuard(&GuardOptions{AllowPrivate: true, Resolver: w.dns, Ports: []string{pit}, ConnectTimeout: 5 * time.Second})
			w.opts.StepTimeout, w.opts.Timeout, w.opts.Floor = 300*time.Millisecond, 900*time.Millisecond, 900*time.Millisecond
			if mode == "dns" {
				w.dns.block = true
			} else {
				for _, h := range []string{"autoconfig.", "", "imap.", "mail.", "pop3.", "pop.", "smtp."} {
					w.dns.host(h+"nowhere.test", "127.0.0.1")
				}
				w.dns.mx["nowhere.test"] = []*net.MX{{Host: "mx.nowhere.test", Pref: 1}}
				w.dns.srv["_imaps._tcp.nowhere.test"] = []*net.SRV{{Target: "imap.nowhere.test", Port: port16(pit)}}
			}
			start := time.Now()
			_, err := w.finder().Locate(context.Background(), "x@nowhere.test", mailproxy.Choice{})
			took := time.Since(start)
			if !errors.Is(err, mailproxy.ErrNoServer) {
				t.Fatalf("Locate = %v, want ErrNoServer", err)
			}
			if took < 900*time.Millisecond || took > 1500*time.Millisecond {
				t.Errorf("black hole took %v, want the 900 ms deadline", took)
			}
			t.Logf("black hole (%s): %v", mode, took)
		})
	}
}

// TestUniformFailures: every kind of failure is ErrNoServer after the
// same floor, whatever it was (not allowed, forbidden address, nothing
// there, black hole).
func TestUniformFailures(t *testing.T) {
	w := newWorld(t)
	pit := tarpit(t)
	w.dns.host("imap.nowhere.test", "127.0.0.1")
	w.dns.host("imap.pop.test", "10.0.0.1")
	w.dns.host("autoconfig.example.test", "169.254.169.254")
	w.opts.UserServers = true
	w.opts.StepTimeout, w.opts.Timeout, w.opts.Floor = 200*time.Millisecond, 400*time.Millisecond, 400*time.Millisecond
	w.opts.Guard = NewGuard(&GuardOptions{Resolver: w.dns, Ports: []string{pit, w.ports.HTTPS, w.ports.IMAPS}})
	w.opts.Ports.IMAPS = pit
	f := w.finder()
	cases := map[string]struct {
		user string
		c    mailproxy.Choice
	}{
		"not allowed":     {"x@other.test", mailproxy.Choice{}},
		"not an address":  {"x", mailproxy.Choice{}},
		"link-local site": {"x@example.test", mailproxy.Choice{}},
		"private server":  {"x@pop.test", mailproxy.Choice{}},
		"loopback pit":    {"x@nowhere.test", mailproxy.Choice{}},
		"user loopback":   {"x@example.test", mailproxy.Choice{Host: "127.0.0.1", Port: pit}},
		"user port":       {"x@example.test", mailproxy.Choice{Host: "imap.example.test", Port: "6379"}},
	}
	var mu sync.Mutex
	var min, max time.Duration
	var wg sync.WaitGroup
	for name, tc := range cases {
		wg.Go(func() {
			start := time.Now()
			_, err := f.Locate(context.Background(), tc.user, tc.c)
			took := time.Since(start)
			if !errors.Is(err, mailproxy.ErrNoServer) {
				t.Errorf("%s: %v, want ErrNoServer", name, err)
			}
			mu.Lock()
			if min == 0 || took < min {
				min = took
			}
			max = maxDur(max, took)
			mu.Unlock()
		})
	}
	wg.Wait()
	if min < 400*time.Millisecond || max-min > 200*time.Millisecond {
		t.Errorf("failures took %v to %v; want all at the 400 ms floor", min, max)
	}
	t.Logf("uniform failures: %v to %v (spread %v)", min, max, max-min)
}

func maxDur(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}

// TestCacheConcurrent: many sign-ins for one domain at once share one
// discovery (two autoconfig requests: both URLs), later ones use the
// cache until it expires; under -race.
func TestCacheConcurrent(t *testing.T) {
	w := newWorld(t)
	w.dns.host("autoconfig.example.test", "127.0.0.1")
	w.dns.host("example.test", "127.0.0.1")
	w.site.put("autoconfig.example.test/mail/config-v1.1.xml", configXML([4]string{"imap", "imap.example.test", w.ports.IMAPS, "SSL"}))
	w.names("imap.probe.test", "imap.example.test")
	w.opts.CacheTTL = time.Hour
	f := w.finder()
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Go(func() {
			user := fmt.Sprintf("u%d@example.test", i)
			c := mailproxy.Choice{}
			if i%3 == 0 {
				user = fmt.Sprintf("u%d@probe.test", i)
			}
			s, err := f.Locate(context.Background(), user, c)
			if err != nil {
				t.Errorf("Locate(%s) = %v", user, err)
				return
			}
			if s.Mail.Protocol != "imap" {
				t.Errorf("Locate(%s) = %s", user, s.Mail)
			}
		})
	}
	wg.Wait()
	if n := w.site.hits.Load(); n > 4 {
		// example.test: 2 URLs; probe.test: 2 URLs (no such site).
		t.Errorf("%d autoconfig requests for 60 concurrent sign-ins of two domains, want at most 4", n)
	}
	hits := w.site.hits.Load()
	locate(t, f, "again@example.test", mailproxy.Choice{})
	if w.site.hits.Load() != hits {
		t.Error("a cached domain was looked up again")
	}
	// Bounded: a tiny cache keeps working.
	w.opts.CacheSize = 1
	small := w.finder()
	for range 3 {
		locate(t, small, "a@example.test", mailproxy.Choice{})
		locate(t, small, "a@probe.test", mailproxy.Choice{})
	}
	if n := len(small.cache); n > 1 {
		t.Errorf("cache of size 1 holds %d domains", n)
	}
}
