package handlers

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/thumbmail/thumbmail/internal/dovecottest"
	"github.com/thumbmail/thumbmail/internal/testpki"
	"github.com/thumbmail/thumbmail/mailproxy/discover"
	"github.com/thumbmail/thumbmail/mailproxy/imapmail"
	"github.com/thumbmail/thumbmail/mailproxy/pop3mail"
	"github.com/thumbmail/thumbmail/web"
)

// mapDNS resolves names from a map (suffix matches: "imapcorp.test"
// answers for every name under it); no MX or SRV records.
type mapDNS map[string]string

func (d mapDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	for suffix, a := range d {
		if host == suffix || strings.HasSuffix(host, "."+suffix) {
			return []netip.Addr{netip.MustParseAddr(a)}, nil
		}
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func (d mapDNS) LookupMX(context.Context, string) ([]*net.MX, error) {
	return nil, &net.DNSError{Err: "no such host", IsNotFound: true}
}

func (d mapDNS) LookupSRV(context.Context, string, string, string) (string, []*net.SRV, error) {
	return "", nil, &net.DNSError{Err: "no such host", IsNotFound: true}
}

// testCert makes a CA and a certificate for names, and the client TLS
// configuration that trusts the CA.
func testCert(t testing.TB, names ...string) (tls.Certificate, *tls.Config) {
	t.Helper()
	cert, client, err := testpki.ForNames(names...)
	if err != nil {
		t.Fatal(err)
	}
	return cert, client
}

// tlsFront is implicit TLS in front of a plain-text server (as stunnel
// would be), returning its port.
func tlsFront(t testing.TB, cert tls.Certificate, target string) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				up, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer up.Close()
				go func() { io.Copy(up, c); up.Close() }()
				io.Copy(c, up)
			}()
		}
	}()
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	return p
}

// discoverEnv is one thumbmail instance whose accounts find their own
// servers: the router over an IMAP pool and a POP3 backend.
type discoverEnv struct {
	*testEnv
	pool *imapmail.Pool
	pop3 *pop3mail.Backend
}

func newDiscoverEnv(t *testing.T, store web.Store, fo discover.Options, client *tls.Config) *discoverEnv {
	t.Helper()
	fo.Logger = slog.New(slog.DiscardHandler)
	pool := imapmail.NewPool(&imapmail.PoolOptions{TLSConfig: client, Guard: fo.Guard, Logger: fo.Logger})
	pop := pop3mail.NewBackend(&pop3mail.Options{TLSConfig: client, Guard: fo.Guard, Logger: fo.Logger})
	router := discover.NewRouter(pool, pop, discover.NewFinder(fo))
	t.Cleanup(router.Close)
	sm, err := web.NewSessionManager(web.SessionOptions{Secrets: []string{strings.Repeat("d", 40)}, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	h := New(Config{Sessions: sm, Mail: router, Logger: slog.New(slog.DiscardHandler), ChooseProtocol: true, UserServers: fo.UserServers})
	srv := httptest.NewServer(h.Routes())
	t.Cleanup(srv.Close)
	return &discoverEnv{testEnv: &testEnv{t: t, srv: srv, handler: h}, pool: pool, pop3: pop}
}

// TestDovecotSignInByAddress: on ONE instance, a user of an IMAP domain
// and a user of a POP3-only domain type only address and password and
// land in their inboxes, on Dovecot found through each domain's
// autoconfig file (HTTPS, a fake DNS, implicit TLS in front of Dovecot);
// the IMAP domain's user may choose POP3 instead; the ISP's file asks
// for the address's local part as the login; a wrong password says
// which server was asked; and a second instance sharing the session
// store serves the same sessions from the sealed servers.
func TestDovecotSignInByAddress(t *testing.T) {
	// The ISP's autoconfig file says to sign in with the local part:
	// bob@popisp.test is "bob" on its server.
	const alice, bob = "alice@imapcorp.test", "bob@popisp.test"
	dc := dovecottest.Start(t, &dovecottest.Options{POP3: true, Users: []dovecottest.User{{Name: alice, Password: "alice-pw"}, {Name: "bob", Password: "bob-pw"}}})
	dc.WriteMessages(t, alice, "INBOX", [][]byte{[]byte("From: carol@example.org\r\nTo: " + alice + "\r\nSubject: Hello Alice over IMAP\r\nDate: Tue, 1 Dec 2026 09:00:00 +0000\r\nMessage-ID: <a1@example.org>\r\n\r\nHi.\r\n")}, nil)
	dc.WriteMessages(t, "bob", "INBOX", [][]byte{[]byte("From: carol@example.org\r\nTo: " + bob + "\r\nSubject: Hello Bob over POP3\r\nDate: Tue, 1 Dec 2026 09:00:00 +0000\r\nMessage-ID: <b1@example.org>\r\n\r\nHi.\r\n")}, nil)

	cert, client := testCert(t, "imapcorp.test", "*.imapcorp.test", "popisp.test", "*.popisp.test")
	imaps, pop3s := tlsFront(t, cert, dc.IMAPAddr), tlsFront(t, cert, dc.POP3Addr)
	site := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		server := func(typ, host, port string) string {
			user := "%EMAILADDRESS%"
			if strings.HasSuffix(host, ".popisp.test") {
				user = "%EMAILLOCALPART%"
			}
			return `<incomingServer type="` + typ + `"><hostname>` + host + `</hostname><port>` + port + `</port><socketType>SSL</socketType><username>` + user + `</username></incomingServer>`
		}
		var body string
		switch {
		case strings.HasPrefix(r.Host, "autoconfig.imapcorp.test:") && r.URL.Path == "/mail/config-v1.1.xml":
			body = server("imap", "imap.imapcorp.test", imaps) + server("pop3", "pop.imapcorp.test", pop3s)
		case strings.HasPrefix(r.Host, "popisp.test:") && r.URL.Path == "/.well-known/autoconfig/mail/config-v1.1.xml":
			body = server("pop3", "pop3.popisp.test", pop3s)
		default:
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, `<?xml version="1.0"?><clientConfig version="1.1"><emailProvider id="x">%s</emailProvider></clientConfig>`, body)
	}))
	site.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	site.StartTLS()
	t.Cleanup(site.Close)
	_, https, _ := net.SplitHostPort(site.Listener.Addr().String())

	dns := mapDNS{"imapcorp.test": "127.0.0.1", "popisp.test": "127.0.0.1"}
	newOpts := func() discover.Options {
		// Dovecot is on loopback: the tests' -allow-private-upstreams.
		guard := discover.NewGuard(&discover.GuardOptions{AllowPrivate: true, Resolver: dns, Ports: []string{imaps, pop3s, https}})
		return discover.Options{Discover: true, Allow: discover.Allowlist{"imapcorp.test", "popisp.test"}, Guard: guard, Resolver: dns,
			TLSConfig: client, Ports: discover.Ports{IMAPS: imaps, POP3S: pop3s, HTTPS: https}, StepTimeout: 5 * time.Second, Timeout: 10 * time.Second}
	}
	store := web.NewMemoryStore()
	e := newDiscoverEnv(t, store, newOpts(), client)
	// The protocol choice is offered; a server of one's own is not (the
	// operator did not allow it).
	if page := e.get(e.client(), "/login").body; !strings.Contains(page, `name="proto" value="pop3"`) || strings.Contains(page, `name="host"`) {
		t.Errorf("sign-in page: want the protocol choice and no server field:\n%s", page)
	}

	signIn := func(user, pass string, extra url.Values) (*http.Client, result) {
		c := e.client()
		form := url.Values{"username": {user}, "password": {pass}}
		for k, v := range extra {
			form[k] = v
		}
		return c, e.do(c, "POST", "/login", form)
	}
	type account struct {
		user, pass, subject, server string
		extra                       url.Values
	}
	browsers := map[string]*http.Client{}
	for name, a := range map[string]account{
		"imap":           {alice, "alice-pw", "Hello Alice over IMAP", "imap.imapcorp.test (IMAP, found through your provider&#39;s settings file)", nil},
		"pop3-only":      {bob, "bob-pw", "Hello Bob over POP3", "pop3.popisp.test (POP3, found through your provider&#39;s settings file)", nil},
		"imap-user-pop3": {alice, "alice-pw", "Hello Alice over IMAP", "pop.imapcorp.test (POP3, found through your provider&#39;s settings file)", url.Values{"proto": {"pop3"}}},
	} {
		start := time.Now()
		c, r := signIn(a.user, a.pass, a.extra)
		t.Logf("%s: sign-in (discovery and login) took %v", name, time.Since(start))
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/f/INBOX?n=via" {
			t.Fatalf("%s: sign-in = %d %q; body %s", name, r.status, r.header.Get("Location"), r.body)
		}
		// The first page says which server was used.
		inbox := e.get(c, "/f/INBOX?n=via")
		if inbox.status != http.StatusOK || !strings.Contains(inbox.body, a.subject) || !strings.Contains(inbox.body, "Signed in to "+a.server+".") {
			t.Fatalf("%s: inbox = %d, want %q and the server %q in it:\n%s", name, inbox.status, a.subject, a.server, inbox.body)
		}
		browsers[name] = c
	}
	if s, _ := e.pool.Stats(); s != 1 {
		t.Errorf("IMAP pool has %d sessions, want 1 (alice over IMAP)", s)
	}
	if s, _ := e.pop3.Stats(); s != 2 {
		t.Errorf("POP3 backend has %d sessions, want 2 (bob, and alice by choice)", s)
	}

	// A wrong password: the form says which server was asked.
	_, r := signIn(alice, "wrong", nil)
	if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "Mail server: imap.imapcorp.test (IMAP, found through your provider&#39;s settings file)") {
		t.Errorf("wrong password: %d, body lacks the server used:\n%s", r.status, r.body)
	}

	// Another instance sharing the store rebuilds both sessions from
	// the sealed servers (its own pools, no discovery needed).
	e2 := newDiscoverEnv(t, store, newOpts(), client)
	for name, subject := range map[string]string{"imap": "Hello Alice over IMAP", "pop3-only": "Hello Bob over POP3"} {
		inbox := e2.get(browsers[name], "/f/INBOX")
		if inbox.status != http.StatusOK || !strings.Contains(inbox.body, subject) {
			t.Errorf("second instance, %s: inbox = %d, want %q", name, inbox.status, subject)
		}
	}
	if s, _ := e2.pool.Stats(); s != 1 {
		t.Errorf("second instance's IMAP pool has %d sessions, want 1", s)
	}
}

// TestSignInPinnedHasNoAdvanced: an instance with one pinned server
// offers no server settings.
func TestSignInPinnedHasNoAdvanced(t *testing.T) {
	e := newEnv(t, nil)
	if page := e.get(e.client(), "/login").body; strings.Contains(page, "Advanced") || strings.Contains(page, `name="host"`) || strings.Contains(page, `name="proto"`) {
		t.Errorf("pinned instance's sign-in page offers server settings:\n%s", page)
	}
}

// TestSignInForbiddenServers: every way of pointing the gateway at a
// forbidden or unusable destination (loopback in any spelling, private,
// link-local, a non-mail port, a domain outside the allowlist, a name
// that resolves to a private address) gets the same page, with the same
// status and sentence, at the same time (the floor), and no connection
// is made.
func TestSignInForbiddenServers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	connected := make(chan struct{}, 100)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			connected <- struct{}{}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	dns := mapDNS{"loop.corp.test": "127.0.0.1", "lan.corp.test": "10.0.0.1", "meta.corp.test": "169.254.169.254", "corp.test": "127.0.0.1"}
	const floor = 400 * time.Millisecond
	guard := discover.NewGuard(&discover.GuardOptions{Resolver: dns, Ports: append([]string{port}, discover.MailPorts...)})
	e := newDiscoverEnv(t, web.NewMemoryStore(), discover.Options{Discover: true, UserServers: true, Allow: discover.Allowlist{"corp.test"},
		Guard: guard, Resolver: dns, Ports: discover.Ports{IMAPS: port, HTTPS: port}, StepTimeout: 150 * time.Millisecond, Timeout: 300 * time.Millisecond, Floor: floor}, nil)
	cases := map[string]url.Values{
		"loopback discovered":   {"username": {"a@corp.test"}},
		"outside the allowlist": {"username": {"b@evil.test"}},
		"not an address":        {"username": {"c"}},
		"user 127.0.0.1":        {"username": {"d@corp.test"}, "host": {"127.0.0.1"}, "port": {port}},
		"user 2130706433":       {"username": {"e@corp.test"}, "host": {"2130706433"}, "port": {port}},
		"user 0x7f.1":           {"username": {"f@corp.test"}, "host": {"0x7f.1"}, "port": {port}},
		"user [::1]":            {"username": {"g@corp.test"}, "host": {"[::1]"}, "port": {port}},
		"user ::ffff:127.0.0.1": {"username": {"h@corp.test"}, "host": {"::ffff:127.0.0.1"}, "port": {port}},
		"name to loopback":      {"username": {"i@corp.test"}, "host": {"loop.corp.test"}, "port": {port}},
		"name to private":       {"username": {"j@corp.test"}, "host": {"lan.corp.test"}, "port": {"993"}},
		"name to metadata":      {"username": {"k@corp.test"}, "host": {"meta.corp.test"}, "port": {"993"}},
		"ssh port":              {"username": {"l@corp.test"}, "host": {"imap.corp.test"}, "port": {"22"}},
	}
	const sentence = "No mail server that this service may use was found for this address."
	var lo, hi time.Duration
	for name, form := range cases {
		form.Set("password", "pw")
		c := e.client()
		token := e.csrfToken(c, "/login")
		form.Set("csrf", token)
		start := time.Now()
		r := e.do(c, "POST", "/login", form)
		took := time.Since(start)
		if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, sentence) {
			t.Errorf("%s: %d, want 503 with %q; body %s", name, r.status, sentence, r.body)
		}
		if strings.Contains(r.body, "Mail server:") {
			t.Errorf("%s: the page names a server", name)
		}
		if lo == 0 || took < lo {
			lo = took
		}
		hi = max(hi, took)
	}
	t.Logf("%d refusals took %v to %v (spread %v, floor %v)", len(cases), lo, hi, hi-lo, floor)
	if lo < floor || hi-lo > 250*time.Millisecond {
		t.Errorf("refusals took %v to %v, want all just past the %v floor", lo, hi, floor)
	}
	select {
	case <-connected:
		t.Error("a forbidden destination was connected to")
	default:
	}
}
