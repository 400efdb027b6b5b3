package main

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy/demo"
)

// debianPackage names the Debian package of a program whose name differs.
var debianPackage = map[string]string{"fail2ban-regex": "fail2ban", "fail2ban-client": "fail2ban"}

// findProgram returns the path of a real server program, skipping the
// test when it is missing (failing when THUMBMAIL_REQUIRE_REAL=1).
func findProgram(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"} {
			if _, err2 := os.Stat(filepath.Join(dir, name)); err2 == nil {
				return filepath.Join(dir, name)
			}
		}
		pkg := name
		if p, ok := debianPackage[name]; ok {
			pkg = p
		}
		if os.Getenv("THUMBMAIL_REQUIRE_REAL") == "1" {
			t.Fatalf("%s is not installed and THUMBMAIL_REQUIRE_REAL=1 (Debian: apt-get install %s)", name, pkg)
		}
		t.Skipf("%s is not installed (Debian: apt-get install %s); skipping the real-server test", name, pkg)
	}
	return p
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startProcess runs cmd until the test ends.
func startProcess(t *testing.T, cmd *exec.Cmd, logFile string) {
	t.Helper()
	out, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		out.Close()
	})
}

// waitTCP waits until addr accepts connections.
func waitTCP(t *testing.T, addr, logFile string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	b, _ := os.ReadFile(logFile)
	t.Fatalf("nothing listens on %s after 10s; log:\n%s", addr, b)
}

// startRedis starts a throw-away redis-server on a free loopback port and
// returns its URL.
func startRedis(t *testing.T) string {
	t.Helper()
	bin := findProgram(t, "redis-server")
	dir := t.TempDir()
	port := freePort(t)
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no")
	startProcess(t, cmd, filepath.Join(dir, "redis.log"))
	waitTCP(t, fmt.Sprintf("127.0.0.1:%d", port), filepath.Join(dir, "redis.log"))
	return fmt.Sprintf("redis://127.0.0.1:%d/0", port)
}

// startNginx runs nginx on a free loopback port in front of backends
// (round-robin), with the README's location block
// (contrib/nginx/thumbmail.conf) included as is. It returns nginx's URL.
func startNginx(t *testing.T, backends []string) string {
	t.Helper()
	bin := findProgram(t, "nginx")
	dir := t.TempDir()
	snippet, err := filepath.Abs("../../contrib/nginx/thumbmail.conf")
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	var servers strings.Builder
	for _, b := range backends {
		fmt.Fprintf(&servers, "    server %s;\n", b)
	}
	user := ""
	if os.Getuid() == 0 {
		user = "user root;"
	}
	conf := fmt.Sprintf(`%s
worker_processes 1;
daemon off;
master_process on;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 128; }
http {
  access_log %[2]s/access.log;
  client_body_temp_path %[2]s/body;
  proxy_temp_path %[2]s/proxy;
  fastcgi_temp_path %[2]s/fastcgi;
  uwsgi_temp_path %[2]s/uwsgi;
  scgi_temp_path %[2]s/scgi;
  upstream thumbmail {
%[3]s  }
  server {
    listen 127.0.0.1:%[4]d;
    include %[5]s;
  }
}
`, user, dir, servers.String(), port, snippet)
	confFile := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", confFile, "-p", dir, "-e", filepath.Join(dir, "error.log"))
	startProcess(t, cmd, filepath.Join(dir, "stderr.log"))
	waitTCP(t, fmt.Sprintf("127.0.0.1:%d", port), filepath.Join(dir, "error.log"))
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

// instance is one thumbmail built the way main builds it, on a real
// loopback listener, counting the requests it serves and keeping its log.
type instance struct {
	srv    *httptest.Server
	app    *app
	served atomic.Int64
	mu     sync.Mutex
	log    bytes.Buffer
}

func (in *instance) Write(p []byte) (int, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.log.Write(p)
}

func (in *instance) logText() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.log.String()
}

// testKeys are the cookie keys every instance of a test shares.
const testKeys = "0123456789abcdef0123456789abcdef-shared"

func startInstance(t *testing.T, args ...string) *instance {
	t.Helper()
	c, err := parseConfig(append([]string{"-session-keys", testKeys}, args...), io.Discard)
	if err != nil {
		t.Fatalf("parseConfig(%q) = %v", args, err)
	}
	in := &instance{}
	log, err := newLogger(c, in)
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(c, log)
	if err != nil {
		t.Fatalf("newApp(%q) = %v", args, err)
	}
	in.app = a
	in.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in.served.Add(1)
		a.handler.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { in.srv.Close(); a.Close() })
	return in
}

func (in *instance) hostPort() string { return strings.TrimPrefix(in.srv.URL, "http://") }

// testPassword is the demo user's password in these tests: distinct
// enough to find in a log.
const testPassword = "correct-Horse-7151"

func startDemo(t *testing.T) *demo.Server {
	t.Helper()
	d, err := demo.Start(&demo.Options{Password: testPassword})
	if err != nil {
		t.Fatalf("demo.Start() = %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// browser is a cookie-keeping client that does not follow redirects.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	body   string
	header http.Header
}

func (b *browser) do(method, path string, form url.Values, hdr map[string]string) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, string(out), resp.Header}
}

func (b *browser) get(path string) page { return b.do("GET", path, nil, nil) }

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

// post submits a form with the token of the page it came from.
func (b *browser) post(from, path string, form url.Values, hdr map[string]string) page {
	b.t.Helper()
	p := b.get(from)
	m := csrfRE.FindStringSubmatch(p.body)
	if m == nil {
		b.t.Fatalf("GET %s = %d has no csrf field", from, p.status)
	}
	form.Set("csrf", html.UnescapeString(m[1]))
	return b.do("POST", path, form, hdr)
}

// linkRE finds a page's links; in-page ones ("#main", the skip link)
// stay on the page whatever its base path.
var linkRE = regexp.MustCompile(`(?:href|action|src)="([^"#][^"]*|)"`)

// checkLinks fails for any link of a page that is not under /mail/.
func checkLinks(t *testing.T, where, body string) {
	t.Helper()
	links := linkRE.FindAllStringSubmatch(body, -1)
	if len(links) == 0 {
		t.Errorf("%s: no links at all", where)
	}
	for _, m := range links {
		if !strings.HasPrefix(m[1], "/mail/") {
			t.Errorf("%s: link %q is not under /mail/", where, m[1])
		}
	}
}

// TestNginxTwoInstancesRedis: nginx on loopback in front of two thumbmail
// instances under /mail/, round-robin, sharing a real Redis. Signing in,
// reading the inbox through both instances, a third instance started
// later (a restart) knowing the session, then signing out, after which
// the old cookie works nowhere.
func TestNginxTwoInstancesRedis(t *testing.T) {
	redisURL := startRedis(t)
	findProgram(t, "nginx")
	d := startDemo(t)
	args := []string{"-imap", d.URL(), "-base-path", "/mail", "-trusted-proxies", "127.0.0.1/32,::1", "-session-store", redisURL}
	a, b := startInstance(t, args...), startInstance(t, args...)
	nginx := startNginx(t, []string{a.hostPort(), b.hostPort()})
	testThroughProxy(t, proxy{"nginx", nginx, "198.51.100.7"}, []*instance{a, b}, func() *instance { return startInstance(t, args...) })
}

// TestNginxOneInstanceMemory: the same with the in-memory store and one
// instance.
func TestNginxOneInstanceMemory(t *testing.T) {
	findProgram(t, "nginx")
	d := startDemo(t)
	a := startInstance(t, "-imap", d.URL(), "-base-path", "/mail", "-trusted-proxies", "127.0.0.1")
	nginx := startNginx(t, []string{a.hostPort()})
	testThroughProxy(t, proxy{"nginx", nginx, "198.51.100.7"}, []*instance{a}, nil)
}

// proxy says which front a test goes through and what it should see.
type proxy struct {
	name string // in messages: "nginx", "Caddy"
	url  string // the front's base URL
	// clientIP is the address thumbmail must log for the browser, which
	// sends X-Forwarded-For: 198.51.100.7 (nginx appends to it; Caddy,
	// trusting no one before it, replaces it).
	clientIP string
}

// testThroughProxy signs in through a reverse proxy under /mail/, reads
// the inbox (through every instance) and a message, lets restart (if any)
// start an instance that must know the session, checks that a
// cross-origin post and one without a token are refused, signs out, and
// checks the old cookie works nowhere and no log holds a secret.
func testThroughProxy(t *testing.T, px proxy, insts []*instance, restart func() *instance) {
	nginx := px.url
	br := newBrowser(t, nginx)
	if p := br.get("/mail"); p.status != http.StatusMovedPermanently || !strings.HasSuffix(p.header.Get("Location"), "/mail/") {
		t.Errorf("GET /mail = %d %q, want 301 to /mail/", p.status, p.header.Get("Location"))
	}
	login := br.get("/mail/login")
	if login.status != http.StatusOK {
		t.Fatalf("GET /mail/login through %s = %d", px.name, login.status)
	}
	checkLinks(t, "login page", login.body)
	// The browser says where it is (Origin), as a real one does on POST.
	origin := map[string]string{"Origin": nginx, "X-Forwarded-For": "198.51.100.7"}
	p := br.post("/mail/login", "/mail/login", url.Values{"username": {"demo"}, "password": {testPassword}}, origin)
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/mail/f/INBOX" {
		t.Fatalf("POST /mail/login = %d %q, want 303 to /mail/f/INBOX: %s", p.status, p.header.Get("Location"), p.body)
	}
	sc := strings.Join(p.header.Values("Set-Cookie"), "\n")
	if !strings.Contains(sc, "Path=/mail;") && !strings.HasSuffix(sc, "Path=/mail") {
		t.Errorf("session cookie not scoped to /mail: %q", sc)
	}
	if strings.Contains(sc, "Secure") {
		t.Errorf("cookie Secure over plain http: %q", sc)
	}
	u, _ := url.Parse(nginx + "/mail/")
	cookies := br.c.Jar.Cookies(u)

	for i := range 3 * len(insts) {
		p := br.get("/mail/f/INBOX")
		if p.status != http.StatusOK || !strings.Contains(p.body, "Inbox") {
			t.Fatalf("GET /mail/f/INBOX #%d through %s = %d", i, px.name, p.status)
		}
		checkLinks(t, "inbox", p.body)
	}
	// Open a message through the proxy: its subject and body stay out of logs.
	inbox := br.get("/mail/f/INBOX")
	m := regexp.MustCompile(`href="(/mail/f/INBOX/[^"/]+)"`).FindStringSubmatch(inbox.body)
	if m == nil {
		t.Fatalf("no message link in the inbox")
	}
	msg := br.get(html.UnescapeString(m[1]))
	if msg.status != http.StatusOK {
		t.Fatalf("GET %s through %s = %d", m[1], px.name, msg.status)
	}
	checkLinks(t, "message", msg.body)
	subject := regexp.MustCompile(`<h1[^>]*>([^<]{6,})</h1>`).FindStringSubmatch(msg.body)
	for i, in := range insts {
		if in.served.Load() == 0 {
			t.Errorf("instance %d served no request: %s did not spread them", i, px.name)
		}
	}
	// The client IP behind the proxy, as the proxy forwarded it.
	var logs string
	for _, in := range insts {
		logs += in.logText()
	}
	if !strings.Contains(logs, `msg=login user=demo ip=`+px.clientIP+" ") {
		t.Errorf("login through %s not logged with client IP %s; logs:\n%s", px.name, px.clientIP, logs)
	}
	if px.clientIP != "198.51.100.7" && strings.Contains(logs, "198.51.100.7") {
		t.Errorf("%s passed on the browser's own X-Forwarded-For; logs:\n%s", px.name, logs)
	}

	if restart != nil {
		// A new instance (a restart) knows the session: it lives in Redis.
		c := restart()
		direct := newBrowser(t, c.srv.URL)
		du, _ := url.Parse(c.srv.URL + "/mail/")
		direct.c.Jar.SetCookies(du, cookies)
		if p := direct.get("/mail/f/INBOX"); p.status != http.StatusOK {
			t.Errorf("a freshly started instance does not know the session: GET = %d", p.status)
		}
		insts = append(insts, c)
	}

	// The checks that let those posts through are live behind the proxy:
	// a post with the right token from another origin, or from this one
	// without a token, is refused and signs nobody out.
	evil := map[string]string{"Origin": "http://evil.example", "X-Forwarded-For": "198.51.100.7"}
	if p := br.post("/mail/folders", "/mail/logout", url.Values{}, evil); p.status != http.StatusForbidden {
		t.Errorf("cross-origin POST /mail/logout through %s = %d, want 403", px.name, p.status)
	}
	if p := br.do("POST", "/mail/logout", url.Values{}, origin); p.status == http.StatusSeeOther {
		t.Errorf("POST /mail/logout without a token through %s = 303, want it refused", px.name)
	}
	if p := br.get("/mail/f/INBOX"); p.status != http.StatusOK {
		t.Fatalf("GET /mail/f/INBOX after refused posts = %d, want 200 (still signed in)", p.status)
	}
	p = br.post("/mail/folders", "/mail/logout", url.Values{}, origin)
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/mail/login?n=signedout" {
		t.Fatalf("POST /mail/logout = %d %q", p.status, p.header.Get("Location"))
	}
	// The old cookie, replayed anywhere: the proxy and every instance directly.
	targets := []string{nginx, nginx, nginx}
	for _, in := range insts {
		targets = append(targets, in.srv.URL)
	}
	for _, base := range targets {
		old := newBrowser(t, base)
		ou, _ := url.Parse(base + "/mail/")
		old.c.Jar.SetCookies(ou, cookies)
		if p := old.get("/mail/f/INBOX"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/mail/login") {
			t.Errorf("old cookie after logout at %s: GET /mail/f/INBOX = %d %q, want a redirect to sign in", base, p.status, p.header.Get("Location"))
		}
	}
	// Never a password, a cookie or message content in any log.
	for _, in := range insts {
		checkLogClean(t, in.logText(), cookies)
		if subject == nil {
			t.Errorf("no subject heading on the message page")
		} else if strings.Contains(in.logText(), html.UnescapeString(subject[1])) {
			t.Errorf("a log holds the message subject %q", subject[1])
		}
	}
}

// checkLogClean fails when a log holds the demo password or a cookie value.
func checkLogClean(t *testing.T, logs string, cookies []*http.Cookie) {
	t.Helper()
	if strings.Contains(logs, testPassword) {
		t.Errorf("a log holds the password:\n%s", logs)
	}
	for _, c := range cookies {
		if len(c.Value) > 8 && strings.Contains(logs, c.Value) {
			t.Errorf("a log holds the %s cookie value", c.Name)
		}
	}
}

// TestSpoofedHeadersIgnored: forwarded headers from a peer that is not a
// trusted proxy change nothing: not the logged client IP, not the
// cookie's Secure flag or path, not the links' prefix.
func TestSpoofedHeadersIgnored(t *testing.T) {
	d := startDemo(t)
	in := startInstance(t, "-imap", d.URL(), "-base-path", "/mail", "-trusted-proxies", "10.0.0.0/8")
	br := newBrowser(t, in.srv.URL)
	spoof := map[string]string{
		"X-Forwarded-For":    "203.0.113.66",
		"X-Forwarded-Proto":  "https",
		"X-Forwarded-Host":   "evil.example",
		"X-Forwarded-Prefix": "/evil",
		"Forwarded":          "for=203.0.113.67;proto=https;host=evil.example",
	}
	p := br.post("/mail/login", "/mail/login", url.Values{"username": {"demo"}, "password": {testPassword}}, spoof)
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/mail/f/INBOX" {
		t.Fatalf("POST /mail/login = %d %q, want 303 to /mail/f/INBOX", p.status, p.header.Get("Location"))
	}
	for _, c := range p.header.Values("Set-Cookie") {
		if strings.Contains(c, "Secure") || !strings.Contains(c, "Path=/mail") {
			t.Errorf("cookie %q: want Path=/mail and no Secure", c)
		}
	}
	if p.header.Get("Strict-Transport-Security") != "" {
		t.Errorf("HSTS sent to a plain-http client that claimed https")
	}
	req, _ := http.NewRequest("GET", in.srv.URL+"/mail/f/INBOX", nil)
	for k, v := range spoof {
		req.Header.Set(k, v)
	}
	resp, err := br.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /mail/f/INBOX = %d", resp.StatusCode)
	}
	checkLinks(t, "inbox with spoofed headers", string(body))
	logs := in.logText()
	if strings.Contains(logs, "203.0.113") || !strings.Contains(logs, "msg=login user=demo ip=127.0.0.1") {
		t.Errorf("logs believe a spoofed client IP or miss the real one:\n%s", logs)
	}
}

func newTestServer(t *testing.T, h http.Handler) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}

// TestForwardedPrefix: behind a trusted proxy (Go's ReverseProxy here)
// that strips /webmail, rewrites Host and says both in X-Forwarded-Prefix
// and X-Forwarded-Host, every link, redirect and cookie path carries
// /webmail and a browser's form post (with its Origin) is accepted. When
// the proxy is not trusted, the headers change nothing: links stay at /
// and the post looks cross-origin (Origin is not the Host we see).
func TestForwardedPrefix(t *testing.T) {
	d := startDemo(t)
	for _, trusted := range []bool{true, false} {
		proxies := "127.0.0.1"
		want := "/webmail/"
		if !trusted {
			proxies, want = "10.0.0.0/8", "/"
		}
		in := startInstance(t, "-imap", d.URL(), "-trusted-proxies", proxies)
		target, _ := url.Parse(in.srv.URL)
		front := newTestServer(t, &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target) // Host becomes the backend's
			pr.Out.URL.Path = strings.TrimPrefix(pr.In.URL.Path, "/webmail")
			pr.SetXForwarded()
			pr.Out.Header.Set("X-Forwarded-Prefix", "/webmail")
		}})
		br := newBrowser(t, front)
		p := br.get("/webmail/login")
		if p.status != http.StatusOK {
			t.Fatalf("GET /webmail/login = %d", p.status)
		}
		for _, l := range linkRE.FindAllStringSubmatch(p.body, -1) {
			if !strings.HasPrefix(l[1], want) || (!trusted && strings.HasPrefix(l[1], "/webmail")) {
				t.Errorf("trusted=%v: link %q, want it under %s", trusted, l[1], want)
			}
		}
		for _, c := range p.header.Values("Set-Cookie") {
			if wantPath := strings.TrimSuffix(want, "/"); !strings.Contains(c, "Path="+wantPath+";") && !(wantPath == "" && strings.Contains(c, "Path=/;")) {
				t.Errorf("trusted=%v: cookie %q, want Path=%s", trusted, c, want)
			}
		}
		p = br.post("/webmail/login", "/webmail/login", url.Values{"username": {"demo"}, "password": {testPassword}}, map[string]string{"Origin": front})
		if !trusted {
			if p.status != http.StatusForbidden {
				t.Errorf("untrusted proxy: POST with the front's Origin = %d, want 403 (cross-origin)", p.status)
			}
			continue
		}
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/webmail/f/INBOX" {
			t.Fatalf("POST /login = %d %q, want 303 to /webmail/f/INBOX", p.status, p.header.Get("Location"))
		}
		if p := br.get("/webmail/f/INBOX"); p.status != http.StatusOK {
			t.Errorf("GET /webmail/f/INBOX through the proxy = %d", p.status)
		}
	}
}

// TestRedisDown: when the session store stops answering, a signed-in
// user gets a "try again" page (503), not the sign-in form; once it is
// back, the session works again.
func TestRedisDown(t *testing.T) {
	redisURL := startRedis(t)
	d := startDemo(t)
	in := startInstance(t, "-imap", d.URL(), "-session-store", redisURL)
	br := newBrowser(t, in.srv.URL)
	if p := br.post("/login", "/login", url.Values{"username": {"demo"}, "password": {testPassword}}, nil); p.status != http.StatusSeeOther {
		t.Fatalf("POST /login = %d", p.status)
	}
	ctx := context.Background()
	// Longer than the client's read timeout with its one retry (2×2 s).
	pause := 5 * time.Second
	paused := time.Now()
	if err := in.app.redis.ClientPause(ctx, pause).Err(); err != nil {
		t.Fatalf("CLIENT PAUSE: %v", err)
	}
	p := br.get("/f/INBOX")
	if p.status != http.StatusServiceUnavailable || !strings.Contains(p.body, "try again") {
		t.Errorf("GET /f/INBOX with Redis paused = %d, want 503 with a retry", p.status)
	}
	time.Sleep(time.Until(paused.Add(pause + 200*time.Millisecond)))
	if p := br.get("/f/INBOX"); p.status != http.StatusOK {
		t.Errorf("GET /f/INBOX after Redis came back = %d, want 200", p.status)
	}
}
