package handlers

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/demo"
	"github.com/thumbmail/thumbmail/mailproxy/imapmail"
	"github.com/thumbmail/thumbmail/templates"
	"github.com/thumbmail/thumbmail/web"
)

// testEnv is thumbmail's real router in front of the demo IMAP server,
// reached through a byte-counting TCP proxy.
type testEnv struct {
	t       testing.TB
	demo    *demo.Server
	proxy   *countingProxy
	pool    *imapmail.Pool
	store   *web.MemoryStore
	srv     *httptest.Server
	now     atomic.Pointer[time.Time]
	handler *Handler
}

type envOptions struct {
	basePath string
	pool     *imapmail.PoolOptions
	imapAddr string // override: an address where nothing listens, say
	caps     imap.CapSet
}

func newEnv(t *testing.T, o *envOptions) *testEnv {
	t.Helper()
	if o == nil {
		o = &envOptions{}
	}
	e := &testEnv{t: t}
	now := time.Now()
	e.now.Store(&now)
	d, err := demo.Start(&demo.Options{Caps: o.caps})
	if err != nil {
		t.Fatalf("demo.Start() = %v", err)
	}
	t.Cleanup(func() { d.Close() })
	e.demo = d
	e.proxy = newCountingProxy(t, d.Addr())
	addr := e.proxy.addr()
	if o.imapAddr != "" {
		addr = o.imapAddr
	}
	up, err := mailproxy.ParseUpstream("imap+insecure://"+addr, "imap")
	if err != nil {
		t.Fatal(err)
	}
	po := imapmail.PoolOptions{}
	if o.pool != nil {
		po = *o.pool
	}
	po.IMAP = up
	po.Logger = slog.New(slog.DiscardHandler)
	e.pool = imapmail.NewPool(&po)
	t.Cleanup(e.pool.Close)
	e.store = web.NewMemoryStore()
	sm, err := web.NewSessionManager(web.SessionOptions{
		Secrets: []string{strings.Repeat("k", 40)},
		Store:   e.store,
		Idle:    30 * time.Minute,
		Max:     24 * time.Hour,
		Path:    o.basePath + "/",
		Now:     func() time.Time { return *e.now.Load() },
	})
	if err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return *e.now.Load() }
	e.handler = New(Config{Sessions: sm, Mail: e.pool, Logger: slog.New(slog.DiscardHandler), BasePath: o.basePath, PageSize: 50,
		LimitIP:   web.NewMemoryLimiter(web.MemoryLimiterOptions{Policy: web.DefaultIPPolicy, Now: clock}),
		LimitUser: web.NewMemoryLimiter(web.MemoryLimiterOptions{Policy: web.DefaultUserPolicy, Now: clock}),
	})
	e.srv = httptest.NewServer(e.handler.Routes())
	t.Cleanup(e.srv.Close)
	return e
}

func (e *testEnv) advance(d time.Duration) {
	n := e.now.Load().Add(d)
	e.now.Store(&n)
}

// client is a browser: a cookie jar, redirects not followed.
func (e *testEnv) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type result struct {
	status int
	body   string
	header http.Header
}

func (e *testEnv) do(c *http.Client, method, path string, form url.Values) result {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		if method == "POST" && !form.Has("csrf") {
			form.Set("csrf", e.csrfToken(c, path))
		}
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, body: string(b), header: resp.Header}
}

func (e *testEnv) get(c *http.Client, path string) result { return e.do(c, "GET", path, nil) }

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

// csrfToken fetches a page with a form, as a browser would have before
// posting, and returns its anti-forgery token (set for the browser's
// cookie): the login page, or the folder list when signed in. Under a
// base path, the page is fetched under it too.
func (e *testEnv) csrfToken(c *http.Client, path string) string {
	e.t.Helper()
	login := "/login"
	if strings.HasPrefix(path, "/mail/") {
		login = "/mail/login"
	}
	r := e.get(c, login)
	if r.status == http.StatusSeeOther { // signed in: the folder list has a form
		r = e.get(c, strings.TrimSuffix(login, "/login")+"/folders")
	}
	m := csrfRE.FindStringSubmatch(r.body)
	if m == nil {
		e.t.Fatalf("GET %s has no csrf field: %d %s", login, r.status, r.body)
	}
	return html.UnescapeString(m[1])
}

// login signs in as the demo user and returns the browser.
func (e *testEnv) login() *http.Client {
	e.t.Helper()
	c := e.client()
	r := e.do(c, "POST", "/login", url.Values{"username": {"demo"}, "password": {"demo"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/f/INBOX" {
		e.t.Fatalf("POST /login = %d %q, want 303 to /f/INBOX; body %s", r.status, r.header.Get("Location"), r.body)
	}
	return c
}

// countingProxy forwards TCP to the IMAP server and counts the bytes the
// server sends, so tests can tell what was downloaded.
type countingProxy struct {
	ln       net.Listener
	target   string
	down     atomic.Int64
	mu       sync.Mutex
	conns    []net.Conn
	accepted atomic.Int64
	sent     bytes.Buffer // everything thumbmail sent upstream (under mu)
}

// Write records bytes sent upstream.
func (p *countingProxy) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sent.Write(b)
}

// upstream returns what thumbmail has sent to the IMAP server so far.
func (p *countingProxy) upstream() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sent.String()
}

func newCountingProxy(t *testing.T, target string) *countingProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.killAll() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.accepted.Add(1)
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(io.MultiWriter(s, p), c); s.Close() }()
			go func() { io.Copy(countWriter{c, &p.down}, s); c.Close() }()
		}
	}()
	return p
}

func (p *countingProxy) addr() string { return p.ln.Addr().String() }

// killAll cuts every connection, as a server restart or NAT timeout would.
func (p *countingProxy) killAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

type countWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n.Add(int64(n))
	return n, err
}

var messageLinkRE = regexp.MustCompile(`href="(/f/[^"/]+/[A-Za-z0-9_=-]+)(\?p=\d+)?"`)

// messageLinks returns the message URLs of a list page, in order.
func messageLinks(body string) []string {
	var out []string
	for _, m := range messageLinkRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestLoginPage(t *testing.T) {
	e := newEnv(t, nil)
	r := e.get(e.client(), "/login")
	if r.status != http.StatusOK {
		t.Fatalf("GET /login = %d", r.status)
	}
	for _, want := range []string{`name="username"`, `name="password"`, `method="post"`, `name="viewport"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("login page lacks %s", want)
		}
	}
	if strings.Contains(r.body, "<script") {
		t.Errorf("login page has a script")
	}
}

func TestLoginWrongPassword(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client()
	r := e.do(c, "POST", "/login", url.Values{"username": {"demo"}, "password": {"wrong"}})
	if r.status != http.StatusUnauthorized {
		t.Fatalf("POST /login wrong password = %d, want 401", r.status)
	}
	if !strings.Contains(r.body, "Wrong user name or password") || !strings.Contains(r.body, `value="demo"`) {
		t.Errorf("401 page lacks the message or the typed user name:\n%s", r.body)
	}
	if _, ok := sessionCookie(c, e.srv.URL); ok {
		t.Errorf("a failed login set a session cookie")
	}
	if _, conns := e.pool.Stats(); conns != 0 {
		t.Errorf("a failed login left %d upstream connections", conns)
	}
}

func TestLoginServerUnreachable(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	e := newEnv(t, &envOptions{imapAddr: dead})
	r := e.do(e.client(), "POST", "/login", url.Values{"username": {"demo"}, "password": {"demo"}})
	if r.status != http.StatusServiceUnavailable {
		t.Fatalf("POST /login with the server down = %d, want 503", r.status)
	}
	if !strings.Contains(r.body, "cannot be reached") {
		t.Errorf("503 page lacks a clear message:\n%s", r.body)
	}
}

func TestLoginCookieAndNewID(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client()
	r := e.do(c, "POST", "/login", url.Values{"username": {"demo"}, "password": {"demo"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("POST /login = %d", r.status)
	}
	sc := r.header.Get("Set-Cookie")
	for _, want := range []string{"HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %s", sc, want)
		}
	}
	if strings.Contains(sc, "Max-Age") || strings.Contains(sc, "Expires") {
		t.Errorf("without 'keep me signed in' the cookie must be a browser-session cookie: %q", sc)
	}
	if strings.Contains(sc, "demo") {
		t.Errorf("cookie carries the user name in clear: %q", sc)
	}
	// Signing in again gives a different session; the old one is gone.
	old, _ := sessionCookie(c, e.srv.URL)
	r = e.do(c, "POST", "/login", url.Values{"username": {"demo"}, "password": {"demo"}, "keep": {"1"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("second POST /login = %d", r.status)
	}
	if !strings.Contains(r.header.Get("Set-Cookie"), "Max-Age=") {
		t.Errorf("'keep me signed in' should give a persistent cookie: %q", r.header.Get("Set-Cookie"))
	}
	if now, _ := sessionCookie(c, e.srv.URL); now == old {
		t.Errorf("session cookie unchanged after a new login")
	}
	if n := e.store.Len(); n != 1 {
		t.Errorf("store holds %d sessions after re-login, want 1", n)
	}
	stale := e.client()
	stale.Jar.SetCookies(mustURL(e.srv.URL), []*http.Cookie{{Name: "thumbmail", Value: old, Path: "/"}})
	if r := e.get(stale, "/f/INBOX"); r.status != http.StatusSeeOther {
		t.Errorf("the pre-login cookie still works: %d", r.status)
	}
}

// sessionCookie is the browser's session cookie, if it has one.
func sessionCookie(c *http.Client, base string) (string, bool) {
	for _, k := range c.Jar.Cookies(mustURL(base)) {
		if k.Name == "thumbmail" {
			return k.Value, true
		}
	}
	return "", false
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestLogout(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	if r := e.get(c, "/f/INBOX"); r.status != http.StatusOK {
		t.Fatalf("GET /f/INBOX = %d", r.status)
	}
	cookies := c.Jar.Cookies(mustURL(e.srv.URL))
	if r := e.get(c, "/logout"); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET /logout = %d, want 405 (logout is a POST)", r.status)
	}
	r := e.do(c, "POST", "/logout", url.Values{})
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login") {
		t.Fatalf("POST /logout = %d %q", r.status, r.header.Get("Location"))
	}
	if n := e.store.Len(); n != 0 {
		t.Errorf("store holds %d sessions after logout", n)
	}
	if _, conns := e.pool.Stats(); conns != 0 {
		t.Errorf("%d upstream connections left after logout", conns)
	}
	// A copy of the old cookie is dead too.
	copyC := e.client()
	copyC.Jar.SetCookies(mustURL(e.srv.URL), cookies)
	if r := e.get(copyC, "/f/INBOX"); r.status != http.StatusSeeOther {
		t.Errorf("old cookie after logout: GET /f/INBOX = %d, want 303 to login", r.status)
	}
}

func TestExpiryReturnsToPage(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	e.advance(31 * time.Minute) // past the idle timeout
	r := e.get(c, "/folders")
	loc := r.header.Get("Location")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/login?next=%2Ffolders") {
		t.Fatalf("GET /folders after idle expiry = %d %q, want 303 to /login?next=/folders", r.status, loc)
	}
	lp := e.get(c, loc)
	if !strings.Contains(lp.body, `name="next" value="/folders"`) || !strings.Contains(lp.body, "session ended") {
		t.Errorf("login page after expiry lacks next or the notice:\n%s", lp.body)
	}
	r = e.do(c, "POST", "/login", url.Values{"username": {"demo"}, "password": {"demo"}, "next": {"/folders"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/folders" {
		t.Errorf("login with next=/folders = %d %q", r.status, r.header.Get("Location"))
	}
	// Absolute lifetime, even when active.
	for range 60 {
		e.advance(25 * time.Minute)
		if r := e.get(c, "/healthz"); r.status != 200 {
			t.Fatal("healthz")
		}
		r := e.get(c, "/folders")
		if r.status == http.StatusSeeOther {
			break
		}
	}
	if r := e.get(c, "/folders"); r.status != http.StatusSeeOther {
		t.Errorf("session outlived its absolute lifetime: %d", r.status)
	}
}

func TestLoginNextOnlyLocal(t *testing.T) {
	e := newEnv(t, nil)
	for _, next := range []string{"//evil.example/", "/\\evil.example", "https://evil.example/", "javascript:alert(1)", "/login"} {
		c := e.client()
		r := e.do(c, "POST", "/login", url.Values{"username": {"demo"}, "password": {"demo"}, "next": {next}})
		if loc := r.header.Get("Location"); loc != "/f/INBOX" {
			t.Errorf("login with next=%q redirects to %q, want /f/INBOX", next, loc)
		}
	}
}

func TestFolderList(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	r := e.get(c, "/folders")
	if r.status != http.StatusOK {
		t.Fatalf("GET /folders = %d", r.status)
	}
	order := []string{">Inbox<", ">Drafts<", ">Sent<", ">Archive<", ">Junk<", ">Trash<"}
	last := -1
	for _, name := range order {
		i := strings.Index(r.body, name)
		if i < 0 {
			t.Errorf("folder list lacks %s", name)
			continue
		}
		if i < last {
			t.Errorf("%s is out of order (want Inbox, then special-use folders)", name)
		}
		last = i
	}
	// Nested folders are indented and reachable.
	nested := templates.EncodeFolder("Projects/Thumbmail")
	if !strings.Contains(r.body, `class="d1"`) || !strings.Contains(r.body, "/f/"+nested) {
		t.Errorf("nested folder Projects/Thumbmail missing or not indented")
	}
	if !strings.Contains(r.body, `aria-label="unread"`) {
		t.Errorf("no unread counts shown")
	}
}

func TestMessageListPaging(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	r := e.get(c, "/f/INBOX")
	if r.status != http.StatusOK {
		t.Fatalf("GET /f/INBOX = %d", r.status)
	}
	links := messageLinks(r.body)
	if len(links) != 50 {
		t.Fatalf("page 1 has %d messages, want 50", len(links))
	}
	if len(r.body) > 20<<10 {
		t.Errorf("page 1 is %d bytes of HTML, want at most 20 KB", len(r.body))
	}
	if !strings.Contains(r.body, "1–50 of ") || !strings.Contains(r.body, `<small>`) || !strings.Contains(r.body, `class="u"`) {
		t.Errorf("list lacks range, previews or unread marks")
	}
	if !regexp.MustCompile(`<title>\(\d+\) Inbox`).MatchString(r.body) {
		t.Errorf("title lacks the unread count")
	}
	// Newest first: UIDs descend.
	uid := func(link string) int {
		var v, u int
		parts := strings.Split(link, "/")
		if _, err := fmt.Sscanf(parts[len(parts)-1], "%d-%d", &v, &u); err != nil {
			t.Fatalf("bad link %q", link)
		}
		return u
	}
	for i := 1; i < len(links); i++ {
		if uid(links[i]) >= uid(links[i-1]) {
			t.Fatalf("list not newest first at row %d: %s after %s", i, links[i], links[i-1])
		}
	}
	// Page 2 continues where page 1 stopped; the last page is short; a page
	// past the end shows the last page.
	next := regexp.MustCompile(`rel="next" href="([^"]+)"`).FindStringSubmatch(r.body)
	if next == nil {
		t.Fatal("no Older link")
	}
	r2 := e.get(c, strings.ReplaceAll(next[1], "&amp;", "&"))
	l2 := messageLinks(r2.body)
	if len(l2) != 50 || uid(l2[0]) >= uid(links[49]) {
		t.Errorf("page 2 does not continue page 1")
	}
	total := e.demoCount("INBOX")
	lastPage := (total + 49) / 50
	rl := e.get(c, "/f/INBOX?page="+itoa(lastPage))
	if got := len(messageLinks(rl.body)); got != total-(lastPage-1)*50 {
		t.Errorf("last page has %d messages, want %d", got, total-(lastPage-1)*50)
	}
	rp := e.get(c, "/f/INBOX?page=9999")
	if rp.status != http.StatusOK || len(messageLinks(rp.body)) != len(messageLinks(rl.body)) {
		t.Errorf("a page past the end should show the last page")
	}
}

// TestPagingStableWhileMailArrives checks that page 2 keeps showing the
// same messages when new mail comes in between clicks.
func TestPagingStableWhileMailArrives(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	r := e.get(c, "/f/INBOX")
	next := regexp.MustCompile(`rel="next" href="([^"]+)"`).FindStringSubmatch(r.body)
	page2URL := strings.ReplaceAll(next[1], "&amp;", "&")
	before := messageLinks(e.get(c, page2URL).body)
	for i := range 7 {
		e.appendMessage("INBOX", "Subject: new mail "+itoa(i)+"\r\nFrom: x@example.org\r\n\r\nhello\r\n")
	}
	after := messageLinks(e.get(c, page2URL).body)
	if strings.Join(before, ",") != strings.Join(after, ",") {
		t.Errorf("page 2 shifted when new mail arrived:\nbefore %v\nafter  %v", before[:3], after[:3])
	}
	if body := e.get(c, page2URL).body; !strings.Contains(body, "7 new since") {
		t.Errorf("page 2 does not say that new mail arrived")
	}
	// Page 1 shows the new mail.
	if body := e.get(c, "/f/INBOX").body; !strings.Contains(body, "new mail 6") {
		t.Errorf("page 1 lacks the newest message")
	}
}

func (e *testEnv) appendMessage(folder, raw string) {
	e.t.Helper()
	if _, err := e.demo.User().Append(folder, literal{bytes.NewReader([]byte(raw)), int64(len(raw))}, &imap.AppendOptions{Time: time.Now()}); err != nil {
		e.t.Fatalf("append: %v", err)
	}
}

// literal is an imap.LiteralReader over bytes.
type literal struct {
	*bytes.Reader
	n int64
}

func (l literal) Size() int64 { return l.n }

func (e *testEnv) demoCount(folder string) int {
	st, err := e.demo.User().Status(folder, &imap.StatusOptions{NumMessages: true})
	if err != nil {
		e.t.Fatal(err)
	}
	return int(*st.NumMessages)
}

func TestMessageViewMarksSeenAndLinks(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	list := e.get(c, "/f/INBOX").body
	// The first unread row.
	row := regexp.MustCompile(`<li class="u">(?:<label.*?</label>\s*)?<a href="(/f/INBOX/[0-9-]+)`).FindStringSubmatch(list)
	if row == nil {
		t.Fatal("no unread message on page 1")
	}
	r := e.get(c, row[1])
	if r.status != http.StatusOK {
		t.Fatalf("GET %s = %d", row[1], r.status)
	}
	for _, want := range []string{`class="subject"`, "<dt>From</dt>", "<dt>Date</dt>", `class="body`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("message page lacks %s", want)
		}
	}
	if !strings.Contains(r.body, `rel="next"`) && !strings.Contains(r.body, `rel="prev"`) {
		t.Errorf("no previous/next links")
	}
	list2 := e.get(c, "/f/INBOX").body
	if strings.Contains(list2, `<li class="u"><a href="`+row[1]) {
		t.Errorf("message still unread after opening it")
	}
}

// openBySubject finds a message by subject text in the first pages of a folder.
func (e *testEnv) openBySubject(c *http.Client, folder, subject string) result {
	e.t.Helper()
	for page := 1; page <= 6; page++ {
		body := e.get(c, "/f/"+templates.EncodeFolder(folder)+"?page="+itoa(page)).body
		for _, m := range regexp.MustCompile(`(?s)<a href="(/f/[^"]+)">.*?</a>`).FindAllStringSubmatch(body, -1) {
			if strings.Contains(m[0], subject) {
				return e.get(c, strings.ReplaceAll(m[1], "&amp;", "&"))
			}
		}
	}
	e.t.Fatalf("no message %q in %s", subject, folder)
	return result{}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestFoldersPlainIMAP4rev1 runs the folder list against a server with
// neither LIST-STATUS nor SPECIAL-USE: counts come from STATUS, special
// folders are recognised by name.
func TestFoldersPlainIMAP4rev1(t *testing.T) {
	e := newEnv(t, &envOptions{caps: imap.CapSet{imap.CapIMAP4rev1: {}}})
	c := e.login()
	r := e.get(c, "/folders")
	if r.status != http.StatusOK {
		t.Fatalf("GET /folders = %d", r.status)
	}
	inbox := regexp.MustCompile(`(?s)>Inbox</span>\s*<span class="count" aria-label="unread">(\d+)</span>\s*<span class="total">(\d+)</span>`).FindStringSubmatch(r.body)
	if inbox == nil || inbox[2] != itoa(e.demoCount("INBOX")) {
		t.Errorf("INBOX counts missing or wrong without LIST-STATUS: %v", inbox)
	}
	if i, j := strings.Index(r.body, ">Sent<"), strings.Index(r.body, ">Projects<"); i < 0 || j < 0 || i > j {
		t.Errorf("Sent not recognised by name and put first")
	}
	if l := e.get(c, "/f/INBOX"); len(messageLinks(l.body)) != 50 {
		t.Errorf("list on a plain IMAP4rev1 server has %d rows", len(messageLinks(l.body)))
	}
}

// TestDeleteNeedsSupportAndPOST: deleting for good is only offered where
// the protocol does it (POP3); IMAP deletes by moving to Trash through the
// action bar (/act), so the POP3 route refuses and nothing changes.
func TestDeleteNeedsSupportAndPOST(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	before := e.demoCount("INBOX")
	list := e.get(c, "/f/INBOX")
	if strings.Contains(list.body, "Delete selected") || strings.Contains(list.body, "/f/INBOX/delete") {
		t.Errorf("IMAP list offers the POP3 delete form")
	}
	if !strings.Contains(list.body, `action="/f/INBOX/act"`) || !strings.Contains(list.body, `value="delete"`) {
		t.Errorf("IMAP list lacks the action bar")
	}
	id := strings.TrimPrefix(messageLinks(list.body)[0], "/f/INBOX/")
	if r := e.get(c, "/f/INBOX/delete"); r.status != http.StatusMethodNotAllowed && r.status != http.StatusNotFound {
		t.Errorf("GET /f/INBOX/delete = %d", r.status)
	}
	if r := e.do(c, "POST", "/f/INBOX/delete", url.Values{"id": {id}}); r.status != http.StatusNotImplemented {
		t.Errorf("POST delete on IMAP = %d, want 501", r.status)
	}
	if after := e.demoCount("INBOX"); after != before {
		t.Errorf("INBOX went from %d to %d messages", before, after)
	}
}
