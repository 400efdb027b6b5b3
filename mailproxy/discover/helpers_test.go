package discover

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/thumbmail/thumbmail/internal/testpki"
	"github.com/thumbmail/thumbmail/mailproxy"
)

// fakeDNS is a Resolver answering from maps. block makes every query
// wait for its context (a black-hole DNS server).
type fakeDNS struct {
	mu    sync.Mutex
	hosts map[string][]netip.Addr
	mx    map[string][]*net.MX
	srv   map[string][]*net.SRV // by "_service._proto.name"
	block bool

	queries atomic.Int64
}

func newFakeDNS() *fakeDNS {
	return &fakeDNS{hosts: map[string][]netip.Addr{}, mx: map[string][]*net.MX{}, srv: map[string][]*net.SRV{}}
}

func (d *fakeDNS) host(name string, addrs ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, a := range addrs {
		d.hosts[name] = append(d.hosts[name], netip.MustParseAddr(a))
	}
}

func (d *fakeDNS) wait(ctx context.Context) error {
	d.queries.Add(1)
	if d.block {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

func (d *fakeDNS) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if err := d.wait(ctx); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if a, ok := d.hosts[strings.ToLower(host)]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func (d *fakeDNS) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	if err := d.wait(ctx); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if m, ok := d.mx[name]; ok {
		return m, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (d *fakeDNS) LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error) {
	if err := d.wait(ctx); err != nil {
		return "", nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	key := "_" + service + "._" + proto + "." + name
	if s, ok := d.srv[key]; ok {
		return key, s, nil
	}
	return "", nil, &net.DNSError{Err: "no such host", Name: key, IsNotFound: true}
}

// testPKI makes a CA and a certificate for names, and the client TLS
// configuration that trusts the CA.
func testPKI(t testing.TB, names ...string) (server tls.Certificate, client *tls.Config) {
	t.Helper()
	cert, client, err := testpki.ForNames(names...)
	if err != nil {
		t.Fatal(err)
	}
	return cert, client
}

// fakeMail is a listener that greets as proto over up's security
// (implicit TLS, or STARTTLS/STLS first) and counts connections.
type fakeMail struct {
	ln    net.Listener
	conns atomic.Int64
}

func (m *fakeMail) port() string {
	_, p, _ := net.SplitHostPort(m.ln.Addr().String())
	return p
}

func startFakeMail(t testing.TB, proto string, sec mailproxy.Security, cert tls.Certificate) *fakeMail {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	m := &fakeMail{ln: ln}
	greet := map[string]string{"imap": "* OK [CAPABILITY IMAP4rev1 STARTTLS] fake\r\n", "pop3": "+OK fake\r\n", "smtp": "220-fake\r\n220 ready\r\n"}[proto]
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			m.conns.Add(1)
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				if sec == mailproxy.SecurityTLS {
					tc := tls.Server(c, cfg)
					tc.Write([]byte(greet))
					bufio.NewReader(tc).ReadString('\n')
					return
				}
				c.Write([]byte(greet))
				r := bufio.NewReader(c)
				line, _ := r.ReadString('\n')
				switch {
				case strings.HasPrefix(line, "P1 STARTTLS"):
					c.Write([]byte("P1 OK go ahead\r\n"))
				case strings.HasPrefix(line, "STLS"):
					c.Write([]byte("+OK go ahead\r\n"))
				case strings.HasPrefix(line, "EHLO"):
					c.Write([]byte("250-fake\r\n250 STARTTLS\r\n"))
					r.ReadString('\n')
					c.Write([]byte("220 go ahead\r\n"))
				default:
					return
				}
				tls.Server(c, cfg).Handshake()
			}()
		}
	}()
	return m
}

// tarpit accepts connections and never says a word.
func tarpit(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	return p
}

// autoconfigSite serves files by host name over HTTPS with cert,
// counting requests.
type autoconfigSite struct {
	srv   *httptest.Server
	mu    sync.Mutex
	files map[string]string // "host/path" → body
	hits  atomic.Int64
}

func startAutoconfig(t testing.TB, cert tls.Certificate) *autoconfigSite {
	t.Helper()
	s := &autoconfigSite{files: map[string]string{}}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		host, _, _ := net.SplitHostPort(r.Host)
		s.mu.Lock()
		body, ok := s.files[host+r.URL.Path]
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		w.Write([]byte(body))
	}))
	s.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.srv.StartTLS()
	t.Cleanup(s.srv.Close)
	return s
}

func (s *autoconfigSite) put(hostPath, body string) {
	s.mu.Lock()
	s.files[hostPath] = body
	s.mu.Unlock()
}

func (s *autoconfigSite) port() string {
	_, p, _ := net.SplitHostPort(s.srv.Listener.Addr().String())
	return p
}

// configXML is an autoconfig file with the given servers
// (type, host, port, socketType), user name the address.
func configXML(servers ...[4]string) string {
	return configXMLUser("%EMAILADDRESS%", servers...)
}

// configXMLUser is configXML with another username entry.
func configXMLUser(user string, servers ...[4]string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?><clientConfig version="1.1"><emailProvider id="x"><domain>x</domain>`)
	for _, s := range servers {
		tag := "incomingServer"
		if s[0] == "smtp" {
			tag = "outgoingServer"
		}
		b.WriteString(`<` + tag + ` type="` + s[0] + `"><hostname>` + s[1] + `</hostname><port>` + s[2] + `</port><socketType>` + s[3] + `</socketType><username>` + user + `</username><authentication>password-cleartext</authentication></` + tag + `>`)
	}
	b.WriteString(`</emailProvider></clientConfig>`)
	return b.String()
}
