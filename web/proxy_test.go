package web

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

// seen is what Proxy made of a request.
type seen struct {
	ip     string
	https  bool
	prefix string
	host   string
}

func throughProxy(t *testing.T, trusted, remote string, hdr map[string][]string) seen {
	t.Helper()
	ps, err := ParseTrustedProxies(trusted)
	if err != nil {
		t.Fatalf("ParseTrustedProxies(%q) = %v", trusted, err)
	}
	var got seen
	h := Proxy("/mail", ps)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = seen{ClientIP(r), IsHTTPS(r), Prefix(r), r.Host}
		for name := range hdr {
			if len(ps) > 0 && !inPrefixes(mustAddr(remote), ps) && r.Header.Get(name) != "" {
				t.Errorf("header %s from an untrusted peer reached the handler", name)
			}
		}
	}))
	req := httptest.NewRequest("GET", "http://app.internal/mail/f/INBOX", nil)
	req.RemoteAddr = remote
	for k, v := range hdr {
		req.Header[k] = v
	}
	h.ServeHTTP(httptest.NewRecorder(), req)
	return got
}

func mustAddr(remote string) netip.Addr {
	a, _ := parseAddr(remote)
	return a
}

func TestProxyHeaders(t *testing.T) {
	spoof := map[string][]string{
		"X-Forwarded-For":    {"203.0.113.9"},
		"X-Forwarded-Proto":  {"https"},
		"X-Forwarded-Host":   {"evil.example"},
		"X-Forwarded-Prefix": {"/evil"},
		"Forwarded":          {`for=203.0.113.10;proto=https;host=evil.example`},
	}
	direct := seen{ip: "192.0.2.1", https: false, prefix: "/mail", host: "app.internal"}
	tests := map[string]struct {
		trusted, remote string
		hdr             map[string][]string
		want            seen
	}{
		"no proxies trusted: all ignored": {"", "192.0.2.1:5000", spoof, direct},
		"untrusted peer: all ignored":     {"10.0.0.0/8", "192.0.2.1:5000", spoof, direct},
		"v4-mapped untrusted peer":        {"10.0.0.0/8", "[::ffff:192.0.2.1]:5000", spoof, direct},
		"trusted peer: all believed": {"10.0.0.0/8", "10.1.2.3:5000", map[string][]string{
			"X-Forwarded-For":    {"198.51.100.1, 203.0.113.9, 10.0.0.7"},
			"X-Forwarded-Proto":  {"https"},
			"X-Forwarded-Host":   {"mail.example.org"},
			"X-Forwarded-Prefix": {"/outer/"},
		}, seen{"203.0.113.9", true, "/outer/mail", "mail.example.org"}},
		"trusted peer, rightmost values win": {"10.0.0.0/8", "10.1.2.3:5000", map[string][]string{
			"X-Forwarded-For":   {"203.0.113.9", "198.51.100.2"},
			"X-Forwarded-Proto": {"https, http"},
		}, seen{"198.51.100.2", false, "/mail", "app.internal"}},
		"trusted peer, Forwarded only": {"10.0.0.0/8, ::1", "[::1]:5000", map[string][]string{
			"Forwarded": {`for=203.0.113.10;proto=http, for="[2001:db8::1]:4711";proto=https;host="mail.example.org:8443"`, `for=10.0.0.5;proto=http;host=inner`},
		}, seen{"2001:db8::1", true, "/mail", "mail.example.org:8443"}},
		"trusted peer, X-Forwarded-For wins over Forwarded": {"127.0.0.1", "127.0.0.1:1", map[string][]string{
			"X-Forwarded-For": {"198.51.100.3"},
			"Forwarded":       {"for=203.0.113.10"},
		}, seen{"198.51.100.3", false, "/mail", "app.internal"}},
		"trusted peer, bad values ignored": {"127.0.0.1", "127.0.0.1:1", map[string][]string{
			"X-Forwarded-For":    {"not-an-ip"},
			"X-Forwarded-Host":   {"evil.example/path"},
			"X-Forwarded-Prefix": {"/../etc"},
			"X-Forwarded-Proto":  {"gopher"},
		}, seen{"127.0.0.1", false, "/mail", "app.internal"}},
		"trusted peer, malformed Forwarded ignored": {"127.0.0.1", "127.0.0.1:1", map[string][]string{
			"Forwarded": {`for="203.0.113.10;proto=https`},
		}, seen{"127.0.0.1", false, "/mail", "app.internal"}},
	}
	for name, tt := range tests {
		if got := throughProxy(t, tt.trusted, tt.remote, tt.hdr); got != tt.want {
			t.Errorf("%s: got %+v, want %+v", name, got, tt.want)
		}
	}
}

func TestParseTrustedProxies(t *testing.T) {
	good := map[string]int{"": 0, "127.0.0.1": 1, "10.0.0.0/8, ::1, fd00::/8": 3}
	for in, n := range good {
		if ps, err := ParseTrustedProxies(in); err != nil || len(ps) != n {
			t.Errorf("ParseTrustedProxies(%q) = %v, %v; want %d prefixes", in, ps, err, n)
		}
	}
	for _, in := range []string{"10.0.0.0/33", "localhost", "10.0.0.0/8,nope"} {
		if _, err := ParseTrustedProxies(in); err == nil {
			t.Errorf("ParseTrustedProxies(%q) accepted", in)
		}
	}
}

func TestCleanBasePath(t *testing.T) {
	tests := map[string]string{"": "", "/": "", "/mail": "/mail", "/mail/": "/mail", "/apps/mail": "/apps/mail"}
	for in, want := range tests {
		if got, err := CleanBasePath(in); err != nil || got != want {
			t.Errorf("CleanBasePath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"mail", "/a//b", "/../x", "/ma il", "/mail?x", "/%2e"} {
		if _, err := CleanBasePath(in); err == nil {
			t.Errorf("CleanBasePath(%q) accepted", in)
		}
	}
}

// TestCookiesFollowProxy: the session and CSRF cookies take their path
// from the request's prefix and are Secure only when the client came over
// HTTPS (directly or via a trusted proxy).
func TestCookiesFollowProxy(t *testing.T) {
	ps, _ := ParseTrustedProxies("10.0.0.1")
	m, err := NewSessionManager(SessionOptions{Secrets: []string{"0123456789abcdef0123456789abcdef"}, Store: NewMemoryStore()})
	if err != nil {
		t.Fatal(err)
	}
	h := Proxy("/mail", ps)(m.CSRF(http.NotFoundHandler())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.Start(w, r, NewSessionID(), []byte("x"), false)
	})))
	tests := map[string]struct {
		remote     string
		hdr        map[string]string
		wantPath   string
		wantSecure bool
	}{
		"direct":                  {"192.0.2.1:1", nil, "/mail", false},
		"untrusted says https":    {"192.0.2.1:1", map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Prefix": "/x"}, "/mail", false},
		"trusted proxy, https":    {"10.0.0.1:1", map[string]string{"X-Forwarded-Proto": "https"}, "/mail", true},
		"trusted proxy, stripped": {"10.0.0.1:1", map[string]string{"X-Forwarded-Prefix": "/webmail"}, "/webmail/mail", false},
	}
	for name, tt := range tests {
		req := httptest.NewRequest("GET", "/mail/", nil)
		req.RemoteAddr = tt.remote
		for k, v := range tt.hdr {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		cs := rec.Result().Cookies()
		if len(cs) != 2 {
			t.Fatalf("%s: cookies %v, want session and CSRF", name, cs)
		}
		for _, c := range cs {
			if c.Path != tt.wantPath || c.Secure != tt.wantSecure {
				t.Errorf("%s: cookie %s Path=%q Secure=%v, want %q %v", name, c.Name, c.Path, c.Secure, tt.wantPath, tt.wantSecure)
			}
		}
	}
}

// TestHSTSFollowsProxy: HSTS is sent when a trusted proxy says the client
// used HTTPS, never when an untrusted peer says so.
func TestHSTSFollowsProxy(t *testing.T) {
	ps, _ := ParseTrustedProxies("10.0.0.1")
	h := Proxy("", ps)(SecurityHeaders(http.NotFoundHandler()))
	for remote, want := range map[string]bool{"10.0.0.1:1": true, "192.0.2.1:1": false} {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = remote
		req.Header.Set("X-Forwarded-Proto", "https")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if got := rec.Header().Get("Strict-Transport-Security") != ""; got != want {
			t.Errorf("peer %s claiming https: HSTS %v, want %v", remote, got, want)
		}
	}
}
