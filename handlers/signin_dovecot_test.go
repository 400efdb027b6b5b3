package handlers

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/thumbmail/thumbmail/internal/dovecottest"
	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/imapmail"
	"github.com/thumbmail/thumbmail/mailproxy/imaptest"
	"github.com/thumbmail/thumbmail/mailproxy/pop3mail"
	"github.com/thumbmail/thumbmail/web"
)

// forwardEnv is thumbmail behind a trusted proxy (loopback), in front of
// a Dovecot that believes what thumbmail says about its clients. Requests
// name their browser with X-Forwarded-For.
func forwardEnv(t *testing.T, dc *dovecottest.Server, pop3 bool, forward bool, dialTimeout time.Duration) *testEnv {
	t.Helper()
	var backend mailproxy.Backend
	if pop3 {
		up, err := mailproxy.ParseUpstream(dc.POP3URL(), "pop3")
		if err != nil {
			t.Fatal(err)
		}
		b := pop3mail.NewBackend(&pop3mail.Options{POP3: up, ForwardClient: forward, DialTimeout: dialTimeout, Logger: slog.New(slog.DiscardHandler)})
		t.Cleanup(b.Close)
		backend = b
	} else {
		up, err := mailproxy.ParseUpstream(dc.IMAPURL(), "imap")
		if err != nil {
			t.Fatal(err)
		}
		p := imapmail.NewPool(&imapmail.PoolOptions{IMAP: up, ForwardClient: forward, DialTimeout: dialTimeout, Logger: slog.New(slog.DiscardHandler)})
		t.Cleanup(p.Close)
		backend = p
	}
	sm, err := web.NewSessionManager(web.SessionOptions{Secrets: []string{strings.Repeat("f", 40)}, Store: web.NewMemoryStore()})
	if err != nil {
		t.Fatal(err)
	}
	h := New(Config{Sessions: sm, Mail: backend, Logger: slog.New(slog.DiscardHandler),
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	srv := httptest.NewServer(h.Routes())
	t.Cleanup(srv.Close)
	return &testEnv{t: t, srv: srv, handler: h}
}

// loginAs posts the sign-in form as the browser at ip (through the
// trusted proxy) and returns the status and how long it took.
func loginAs(t *testing.T, e *testEnv, ip, user, pass string) (int, time.Duration) {
	t.Helper()
	form := url.Values{"username": {user}, "password": {pass}, "csrf": {"x"}}
	c := e.client()
	form.Set("csrf", e.csrfToken(c, "/login"))
	req, err := http.NewRequest("POST", e.srv.URL+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", ip)
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, time.Since(start)
}

// TestDovecotClientAddress is issue 11's third report: the mail server
// saw everybody at thumbmail's address, so one person's wrong passwords
// slowed everyone's sign-in. With ForwardClient, Dovecot logs the
// browser's address (IMAP ID x-originating-ip; POP3 XCLIENT) and
// penalises only the guesser.
func TestDovecotClientAddress(t *testing.T) {
	for _, proto := range []string{"imap", "pop3"} {
		t.Run(proto, func(t *testing.T) {
			t.Parallel()
			dc := dovecottest.Start(t, &dovecottest.Options{POP3: true, AuthPenalty: true, TrustLoopback: true})
			e := forwardEnv(t, dc, proto == "pop3", true, 0)
			const guesser, other = "203.0.113.5", "198.51.100.7"
			if st, _ := loginAs(t, e, other, dovecottest.DefaultUser, dovecottest.DefaultPassword); st != http.StatusSeeOther {
				t.Fatalf("sign-in of %s = %d", other, st)
			}
			if log, ok := dc.WaitLog("rip="+other, 1, 5*time.Second); !ok {
				t.Errorf("Dovecot's log does not show the browser's address %s:\n%s", other, tail(log, 15))
			}
			for i := range 3 {
				if st, d := loginAs(t, e, guesser, dovecottest.DefaultUser, "wrong"); st != http.StatusUnauthorized {
					t.Fatalf("wrong password %d from %s = %d after %v", i+1, guesser, st, d)
				}
			}
			// The guesser is now penalised (4 s and more); the other
			// person is not.
			st, d := loginAs(t, e, other, dovecottest.DefaultUser, dovecottest.DefaultPassword)
			if st != http.StatusSeeOther {
				t.Fatalf("sign-in of %s after another's guesses = %d", other, st)
			}
			if d > 2*time.Second {
				t.Errorf("sign-in of %s took %v after %s's wrong passwords: penalised for someone else", other, d, guesser)
			}
			st, d = loginAs(t, e, guesser, dovecottest.DefaultUser, dovecottest.DefaultPassword)
			if st != http.StatusSeeOther || d < 2*time.Second {
				t.Errorf("the guesser's own sign-in = %d after %v: want it delayed by Dovecot's penalty", st, d)
			}
		})
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}

// TestDovecotWrongPasswordsNever503 is issue 11's second report: Dovecot
// delays failed logins more each time (2 s, then up to 15 s), thumbmail's
// login gave up at 15 s and said "server unreachable" (503) for every
// later try, and those tries never counted in the limiter. Twelve wrong
// passwords in a row against a Dovecot with its real delays are each
// "wrong password" (401) or "wait" (429), never 503.
func TestDovecotWrongPasswordsNever503(t *testing.T) {
	t.Parallel()
	for _, proto := range []string{"imap", "pop3"} {
		t.Run(proto, func(t *testing.T) {
			t.Parallel()
			dc := dovecottest.Start(t, &dovecottest.Options{POP3: true, AuthPenalty: true, RealFailureDelay: true})
			// Connecting and greeting take milliseconds on loopback; a
			// dial deadline of 1 s, shorter than Dovecot's failure
			// delay, is what made slow refusals 503s: the login has
			// its own, longer deadline now.
			e := forwardEnv(t, dc, proto == "pop3", false, time.Second)
			var got []int
			reached := 0
			for range 12 {
				st, d := loginAs(t, e, "192.0.2.10", dovecottest.DefaultUser, "wrong")
				got = append(got, st)
				t.Logf("attempt %d: %d after %v", len(got), st, d.Round(time.Millisecond))
				if st == http.StatusUnauthorized {
					reached++
				}
				if st != http.StatusUnauthorized && st != http.StatusTooManyRequests {
					t.Errorf("wrong password = %d after %v, want 401 or 429", st, d)
				}
			}
			if reached < 3 || reached > 6 {
				t.Errorf("%d of 12 wrong passwords reached Dovecot (statuses %v), want the limiter's 5 or 6", reached, got)
			}
		})
	}
}

// TestLoginStalledCounts: a server that greets but never answers the
// login is 503 "did not answer in time", and every such try counts in
// the sign-in limiter (they never did): after the free tries the next
// is refused without asking the server.
func TestLoginStalledCounts(t *testing.T) {
	srv := imaptest.Start(t, &imaptest.Options{
		Caps:     []string{"IMAP4rev1", "AUTH=PLAIN"},
		Login:    imaptest.LoginStall, // and never answer
		Handlers: quietIMAP,
		Default:  imaptest.Silent,
	})
	e := newEnv(t, &envOptions{imapAddr: srv.Addr(), pool: &imapmail.PoolOptions{LoginTimeout: 200 * time.Millisecond}})
	var got []int
	for range 8 {
		r := e.do(e.client(), "POST", "/login", url.Values{"username": {"bob"}, "password": {"guess"}})
		got = append(got, r.status)
		if r.status == http.StatusServiceUnavailable && !strings.Contains(r.body, "did not answer the sign-in in time") {
			t.Errorf("stalled login page does not say so")
		}
	}
	if got[0] != http.StatusServiceUnavailable || got[len(got)-1] != http.StatusTooManyRequests {
		t.Errorf("statuses %v: want 503s, then 429 once the limiter counted them", got)
	}
	if n := srv.Count("LOGIN"); n > 6 {
		t.Errorf("%d LOGINs reached the server, want at most 6 (5 free + 1)", n)
	}
}
