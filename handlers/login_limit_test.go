package handlers

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/demo"
	"github.com/thumbmail/thumbmail/mailproxy/imaptest"
	"github.com/thumbmail/thumbmail/web"
)

// TestLoginGuessingLimited: after the free failures a user name must
// wait, growing with each failure; the refusal looks the same for an
// account that exists and one that does not, and does not ask the mail
// server (so even the right password is refused until the wait is over).
func TestLoginGuessingLimited(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client()
	blocked := map[string]string{}
	for _, user := range []string{"demo", "nobody"} {
		for i := 1; i <= 6; i++ {
			r := e.do(c, "POST", "/login", url.Values{"username": {user}, "password": {"guess"}})
			if r.status != http.StatusUnauthorized {
				t.Fatalf("wrong password #%d for %s = %d, want 401", i, user, r.status)
			}
		}
		before := e.proxy.accepted.Load()
		r := e.do(c, "POST", "/login", url.Values{"username": {user}, "password": {"demo"}})
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "2" {
			t.Fatalf("attempt 7 for %s = %d Retry-After %q, want 429 and 2", user, r.status, r.header.Get("Retry-After"))
		}
		if !strings.Contains(r.body, "Too many failed sign-ins. Please wait 2 seconds") {
			t.Errorf("throttled page lacks the plain message:\n%s", mailBodyOr(r.body))
		}
		if n := e.proxy.accepted.Load(); n != before {
			t.Errorf("a throttled attempt reached the mail server (%d connections)", n-before)
		}
		blocked[user] = strings.ReplaceAll(csrfRE.ReplaceAllString(r.body, ""), `value="`+user+`"`, "")
	}
	if blocked["demo"] != blocked["nobody"] {
		t.Errorf("the throttled page differs between an existing and an unknown user")
	}
	// The wait doubles with the next failure once it has passed.
	e.advance(3 * time.Second)
	e.do(c, "POST", "/login", url.Values{"username": {"demo"}, "password": {"guess"}})
	if r := e.do(c, "POST", "/login", url.Values{"username": {"demo"}, "password": {"demo"}}); r.header.Get("Retry-After") != "4" {
		t.Errorf("after failure 7: %d Retry-After %q, want 429 and 4", r.status, r.header.Get("Retry-After"))
	}
	e.advance(5 * time.Second)
	r := e.do(c, "POST", "/login", url.Values{"username": {"demo"}, "password": {"demo"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("right password after the wait = %d, want 303", r.status)
	}
	// Success forgets the user name's failures.
	c2 := e.client()
	if r := e.do(c2, "POST", "/login", url.Values{"username": {"demo"}, "password": {"guess"}}); r.status != http.StatusUnauthorized {
		t.Errorf("a wrong password after success = %d, want 401 (failures forgotten)", r.status)
	}
}

// TestLoginLimitedPerIP: one address trying many user names is stopped
// too, for every user name.
func TestLoginLimitedPerIP(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client()
	for i := range 21 {
		r := e.do(c, "POST", "/login", url.Values{"username": {"user" + itoa(i)}, "password": {"guess"}})
		if r.status != http.StatusUnauthorized {
			t.Fatalf("failure %d = %d, want 401", i+1, r.status)
		}
	}
	r := e.do(c, "POST", "/login", url.Values{"username": {"demo"}, "password": {"demo"}})
	if r.status != http.StatusTooManyRequests {
		t.Errorf("sign-in from an address with 21 failures = %d, want 429", r.status)
	}
}

func TestWaitText(t *testing.T) {
	for d, want := range map[time.Duration]string{
		500 * time.Millisecond: "a second", 2 * time.Second: "2 seconds", 1500 * time.Millisecond: "2 seconds",
		61 * time.Second: "2 minutes", 15 * time.Minute: "15 minutes",
	} {
		if got := waitText(d); got != want {
			t.Errorf("waitText(%v) = %q, want %q", d, got, want)
		}
	}
}

// mailBodyOr trims a page for error output.
func mailBodyOr(s string) string {
	if len(s) > 2000 {
		return s[:2000]
	}
	return s
}

// holdingServer is an IMAP server that refuses every LOGIN at once except
// those for user names starting with hold, which it answers (NO) only once
// released (open). It counts the LOGINs it received, and those it held.
type holdingServer struct {
	addr    string
	hold    string
	logins  atomic.Int32
	held    atomic.Int32
	release chan struct{}
	once    sync.Once
}

// open lets the held LOGINs be answered.
func (s *holdingServer) open() { s.once.Do(func() { close(s.release) }) }

func newHoldingServer(t *testing.T, hold string) *holdingServer {
	s := &holdingServer{hold: hold, release: make(chan struct{})}
	handlers := map[string]imaptest.Handler{"LOGIN": func(w *imaptest.Writer, c imaptest.Command) {
		f := c.Fields()
		if len(f) < 1 {
			return
		}
		s.logins.Add(1)
		if strings.HasPrefix(f[0], s.hold) {
			s.held.Add(1)
			select {
			case <-s.release:
			case <-w.Done():
				return
			}
		}
		w.Line(c.Tag + " NO [AUTHENTICATIONFAILED] Authentication failed.")
	}}
	for verb, h := range quietIMAP {
		handlers[verb] = h
	}
	s.addr = imaptest.Start(t, &imaptest.Options{Handlers: handlers, Default: imaptest.Silent}).Addr()
	t.Cleanup(s.open)
	return s
}

// quietIMAP silences imaptest's built-in answers besides LOGIN, for
// servers that answer nothing else.
var quietIMAP = map[string]imaptest.Handler{"CAPABILITY": imaptest.Silent, "NOOP": imaptest.Silent, "LOGOUT": imaptest.Silent}

// post posts the sign-in form as the browser at ip (through the trusted
// proxy) and returns the answer.
func post(t *testing.T, e *testEnv, ip, user, pass string) result {
	t.Helper()
	c := e.client()
	form := url.Values{"username": {user}, "password": {pass}, "csrf": {e.csrfToken(c, "/login")}}
	req, _ := http.NewRequest("POST", e.srv.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", ip)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{resp.StatusCode, string(b), resp.Header}
}

func memoryLimiters() (ip, user web.Limiter) {
	return web.NewMemoryLimiter(web.MemoryLimiterOptions{Policy: web.DefaultIPPolicy}),
		web.NewMemoryLimiter(web.MemoryLimiterOptions{Policy: web.DefaultUserPolicy})
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestLoginOneAttemptInFlight: while the mail server is checking one
// password for a name, another attempt for that name (in any case, from
// any address) is answered "wait" without reaching the server; so is a
// fifth attempt from a client with four in flight, or a second once its
// free failures are used up. Other names from other clients go ahead.
func TestLoginOneAttemptInFlight(t *testing.T) {
	srv := newHoldingServer(t, "alice")
	ip, user := memoryLimiters()
	e := limitEnv(t, srv.addr, nil, ip, user)
	held := make(chan result, 4)
	for i, name := range []string{"alice", "alice1", "alice2", "alice3"} {
		go func() { held <- post(t, e, "192.0.2.1", name, "guess") }()
		waitFor(t, "LOGIN "+name, func() bool { return srv.held.Load() == int32(i+1) })
	}

	r := post(t, e, "192.0.2.2", "ALICE", "guess2")
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "1" || !strings.Contains(r.body, "Another sign-in is in progress. Please wait a second") {
		t.Errorf("same name, other client, while in flight = %d Retry-After %q; want 429, 1 and the in-progress message:\n%s", r.status, r.header.Get("Retry-After"), mailBodyOr(r.body))
	}
	if r := post(t, e, "192.0.2.1", "bob", "guess"); r.status != http.StatusTooManyRequests {
		t.Errorf("a fifth attempt from a client with 4 in flight = %d, want 429", r.status)
	}
	if n := srv.logins.Load(); n != 4 {
		t.Errorf("%d LOGINs reached the server; want the 4 in flight", n)
	}
	if r := post(t, e, "192.0.2.3", "bob", "guess"); r.status != http.StatusUnauthorized {
		t.Errorf("another name from another client = %d, want 401 (not held up)", r.status)
	}
	srv.open()
	for range 4 {
		if r := <-held; r.status != http.StatusUnauthorized {
			t.Errorf("an attempt in flight = %d, want 401", r.status)
		}
	}
	// Done: the name may try again; the refused attempts were not counted
	// (4 more failures are still free).
	for i := range 4 {
		if r := post(t, e, "192.0.2.2", "Alice", "guess"); r.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d after the first finished = %d, want 401", i+2, r.status)
		}
	}
	if n := srv.logins.Load(); n != 9 {
		t.Errorf("%d LOGINs in all, want 9", n)
	}

	// Past its free failures a client has one attempt in flight at most.
	srv = newHoldingServer(t, "carol")
	ip, user = memoryLimiters()
	e = limitEnv(t, srv.addr, nil, ip, user)
	for i := range 20 {
		if r := post(t, e, "192.0.2.5", "user"+itoa(i), "guess"); r.status != http.StatusUnauthorized {
			t.Fatalf("free failure %d = %d", i+1, r.status)
		}
	}
	go func() { held <- post(t, e, "192.0.2.5", "carol", "guess") }()
	waitFor(t, "LOGIN carol", func() bool { return srv.held.Load() == 1 })
	if r := post(t, e, "192.0.2.5", "dave", "guess"); r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "in progress") {
		t.Errorf("a second attempt in flight past the free failures = %d, want 429 (in progress)", r.status)
	}
	srv.open()
	<-held
	if r := post(t, e, "192.0.2.5", "dave", "guess"); r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "Too many failed sign-ins") {
		t.Errorf("after 21 failures = %d, want 429", r.status)
	}
	if n := srv.logins.Load(); n != 21 {
		t.Errorf("%d LOGINs in all, want 21", n)
	}
}

// TestLoginClientGaveUpCounts: a browser that leaves while its password
// is with the mail server does not get its attempt back (else guesses
// abandoned before the server's slow "no" would be free): the reserved
// attempt is finished as a failure after the request is cancelled (with
// Redis too, whose calls must not use the cancelled context).
func TestLoginClientGaveUpCounts(t *testing.T) {
	t.Run("memory", func(t *testing.T) { testClientGaveUp(t, memoryLimiters) })
	t.Run("redis", func(t *testing.T) {
		rdb := startLimitRedis(t)
		testClientGaveUp(t, func() (web.Limiter, web.Limiter) {
			return web.NewRedisLimiter(rdb, "thumbmail:limit:ip:", web.DefaultIPPolicy),
				web.NewRedisLimiter(rdb, "thumbmail:limit:user:", web.DefaultUserPolicy)
		})
	})
}

func testClientGaveUp(t *testing.T, limiters func() (ip, user web.Limiter)) {
	srv := newHoldingServer(t, "carol")
	ip, user := limiters()
	e := limitEnv(t, srv.addr, nil, ip, user)
	for i := range 6 {
		c := e.client()
		form := url.Values{"username": {"carol"}, "password": {"guess"}, "csrf": {e.csrfToken(c, "/login")}}
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "POST", e.srv.URL+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", "192.0.2."+itoa(i+1))
		done := make(chan struct{})
		go func() {
			if resp, err := c.Do(req); err == nil {
				resp.Body.Close()
			}
			close(done)
		}()
		waitFor(t, "the LOGIN", func() bool { return srv.held.Load() == int32(i+1) })
		cancel()
		<-done
		// The handler finishes the attempt after the browser left: until
		// then its client is busy.
		waitFor(t, "the attempt to finish", func() bool {
			return !strings.Contains(post(t, e, "192.0.2."+itoa(i+1), "probe"+itoa(i), "x").body, "in progress")
		})
	}
	r := post(t, e, "198.51.100.2", "carol", "right")
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "Too many failed sign-ins") {
		t.Errorf("after 6 abandoned guesses = %d, want 429 (they counted)", r.status)
	}
}

// TestLoginUnreachableNotCounted: a mail server that cannot be reached
// says nothing about the password, so those attempts are given back.
func TestLoginUnreachableNotCounted(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	ip, user := memoryLimiters()
	e := limitEnv(t, dead, nil, ip, user)
	for i := range 30 {
		if r := post(t, e, "192.0.2.1", "dave", "pw"); r.status != http.StatusServiceUnavailable {
			t.Fatalf("attempt %d with the server down = %d, want 503", i+1, r.status)
		}
	}
}

func TestLoginOutcome(t *testing.T) {
	for _, c := range []struct {
		name     string
		err      error
		ip, user web.Outcome
	}{
		{"success", nil, web.Void, web.Forgive},
		{"wrong password", fmt.Errorf("x: %w", mailproxy.ErrAuth), web.Failed, web.Failed},
		{"stalled", fmt.Errorf("%w: %w: slow", mailproxy.ErrUnavailable, mailproxy.ErrLoginStalled), web.Failed, web.Failed},
		{"busy", fmt.Errorf("x: %w", mailproxy.ErrBusy), web.Void, web.Void},
		{"too many connections", mailproxy.ErrTooManyConnections, web.Void, web.Void},
		{"unreachable", fmt.Errorf("%w: refused", mailproxy.ErrUnavailable), web.Void, web.Void},
		{"browser left before the greeting", fmt.Errorf("%w: connecting: %w", mailproxy.ErrUnavailable, context.Canceled), web.Void, web.Void},
	} {
		if ip, user := loginOutcome(c.err); ip != c.ip || user != c.user {
			t.Errorf("%s: outcome %v/%v, want %v/%v", c.name, ip, user, c.ip, c.user)
		}
	}
}

// TestLoginLimitedPerIPv6Net: one subscriber's /64 holds 2^64 addresses;
// guesses from many of them are counted together (60 free failures per
// /64), while another /64 is not affected. An IPv4-mapped address is its
// IPv4 address.
func TestLoginLimitedPerIPv6Net(t *testing.T) {
	d, err := demo.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	ip, user := memoryLimiters()
	e := limitEnv(t, d.Addr(), nil, ip, user)
	for i := range 61 {
		if r := post(t, e, fmt.Sprintf("2001:db8:1:2:%x::1", i+1), "user"+itoa(i), "guess"); r.status != http.StatusUnauthorized {
			t.Fatalf("guess %d from a fresh address of the /64 = %d, want 401", i+1, r.status)
		}
	}
	if r := post(t, e, "2001:db8:1:2:ffff:1:2:3", "demo", "demo"); r.status != http.StatusTooManyRequests {
		t.Errorf("a fresh address in a /64 with 61 failures = %d, want 429", r.status)
	}
	if r := post(t, e, "2001:db8:1:3::1", "demo", "demo"); r.status != http.StatusSeeOther {
		t.Errorf("an address in the next /64 = %d, want 303 (independent)", r.status)
	}
	for i := range 21 {
		post(t, e, "203.0.113.9", "v4user"+itoa(i), "guess")
	}
	if r := post(t, e, "::ffff:203.0.113.9", "demo", "demo"); r.status != http.StatusTooManyRequests {
		t.Errorf("::ffff:203.0.113.9 after 21 failures from 203.0.113.9 = %d, want 429", r.status)
	}
}
