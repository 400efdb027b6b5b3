package handlers

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/thumbmail/thumbmail/internal/dovecottest"
	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/imapmail"
	"github.com/thumbmail/thumbmail/web"
)

// limitEnv is thumbmail's router in front of the IMAP server at addr,
// with the given limiters, believing X-Forwarded-For from loopback (a
// trusted reverse proxy), so tests can pick each request's client
// address. po, if set, configures the pool. Instances made with the same secret accept each other's
// cookies, like instances behind one load balancer.
func limitEnv(t *testing.T, addr string, po *imapmail.PoolOptions, limitIP, limitUser web.Limiter) *testEnv {
	t.Helper()
	up, err := mailproxy.ParseUpstream("imap+insecure://"+addr, "imap")
	if err != nil {
		t.Fatal(err)
	}
	var o imapmail.PoolOptions
	if po != nil {
		o = *po
	}
	o.IMAP, o.Logger = up, slog.New(slog.DiscardHandler)
	pool := imapmail.NewPool(&o)
	t.Cleanup(pool.Close)
	sm, err := web.NewSessionManager(web.SessionOptions{Secrets: []string{strings.Repeat("L", 40)}, Store: web.NewMemoryStore()})
	if err != nil {
		t.Fatal(err)
	}
	h := New(Config{Sessions: sm, Mail: pool, Logger: slog.New(slog.DiscardHandler),
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		LimitIP:        limitIP, LimitUser: limitUser})
	srv := httptest.NewServer(h.Routes())
	t.Cleanup(srv.Close)
	return &testEnv{t: t, srv: srv, handler: h, pool: pool}
}

// attempt is one sign-in of a burst.
type attempt struct {
	env        *testEnv
	ip         string // client address, sent as X-Forwarded-For
	user, pass string
}

// burst posts every attempt's sign-in form at once, each from its own
// browser (its form token fetched beforehand), and returns the statuses
// in order.
func burst(t *testing.T, attempts []attempt) []int {
	t.Helper()
	reqs := make([]*http.Request, len(attempts))
	clients := make([]*http.Client, len(attempts))
	for i, a := range attempts {
		c := a.env.client()
		form := url.Values{"username": {a.user}, "password": {a.pass}, "csrf": {a.env.csrfToken(c, "/login")}}
		req, err := http.NewRequest("POST", a.env.srv.URL+"/login", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", a.ip)
		reqs[i], clients[i] = req, c
	}
	statuses := make([]int, len(attempts))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range attempts {
		wg.Go(func() {
			<-start
			resp, err := clients[i].Do(reqs[i])
			if err != nil {
				t.Errorf("sign-in %d: %v", i, err)
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	close(start)
	wg.Wait()
	return statuses
}

// tally counts statuses.
func tally(statuses []int) map[int]int {
	m := map[int]int{}
	for _, s := range statuses {
		m[s]++
	}
	return m
}

// variedCase spells name in the i-th of several cases.
func variedCase(name string, i int) string {
	switch i % 4 {
	case 1:
		return strings.ToUpper(name)
	case 2:
		return strings.ToUpper(name[:1]) + name[1:]
	case 3:
		var b strings.Builder
		for j, r := range name {
			if j%2 == 0 {
				b.WriteString(strings.ToUpper(string(r)))
			} else {
				b.WriteRune(r)
			}
		}
		return b.String()
	}
	return name
}

// startLimitRedis starts a private redis-server for one test and returns
// a client (the same way web's tests do).
func startLimitRedis(t *testing.T) *redis.Client {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("THUMBMAIL_REQUIRE_REAL") == "1" {
			t.Fatal("redis-server is not installed and THUMBMAIL_REQUIRE_REAL=1 (Debian: apt-get install redis-server)")
		}
		t.Skip("redis-server is not installed (Debian: apt-get install redis-server); skipping")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if i > 500 {
			t.Fatalf("redis-server does not listen on %s", addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	rdb, err := web.NewRedisClient("redis://" + addr + "/0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// TestDovecotLoginBurst is issue 12's first report: 60 wrong passwords
// for one name sent at once all reached the mail server, because the
// limiter was asked before and told after. Now an attempt is counted
// before the mail server is asked, and only one per name (and per client)
// may be in flight: of 60 guesses at once, from 60 addresses, for one
// name spelled in four cases, at most the 5 free ones reach Dovecot.
// With Redis the guesses are split over two instances sharing it.
func TestDovecotLoginBurst(t *testing.T) {
	for _, kind := range []string{"memory", "redis"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			dc := dovecottest.Start(t, nil)
			proxy := newCountingProxy(t, dc.IMAPAddr)
			var envs []*testEnv
			if kind == "memory" {
				envs = append(envs, limitEnv(t, proxy.addr(), nil,
					web.NewMemoryLimiter(web.MemoryLimiterOptions{Policy: web.DefaultIPPolicy}),
					web.NewMemoryLimiter(web.MemoryLimiterOptions{Policy: web.DefaultUserPolicy})))
			} else {
				rdb := startLimitRedis(t)
				for range 2 {
					envs = append(envs, limitEnv(t, proxy.addr(), nil,
						web.NewRedisLimiter(rdb, "thumbmail:limit:ip:", web.DefaultIPPolicy),
						web.NewRedisLimiter(rdb, "thumbmail:limit:user:", web.DefaultUserPolicy)))
				}
			}

			// One name, 60 addresses: only the per-name limit can stop it.
			var guesses []attempt
			for i := range 60 {
				guesses = append(guesses, attempt{envs[i%len(envs)], fmt.Sprintf("198.51.100.%d", i+1),
					variedCase(dovecottest.DefaultUser, i), fmt.Sprintf("guess-%d", i)})
			}
			got := tally(burst(t, guesses))
			reached := int(proxy.accepted.Load())
			// Every 401 is a password Dovecot checked; its log line may
			// follow the answer by a moment.
			log, _ := dc.WaitLog("Password mismatch", got[http.StatusUnauthorized], 5*time.Second)
			mismatches := strings.Count(log, "Password mismatch")
			t.Logf("60 guesses for one name at once: %v; %d connections and %d password checks reached Dovecot", got, reached, mismatches)
			if reached > 5 || mismatches > 5 {
				t.Errorf("%d connections, %d password checks reached Dovecot; want at most 5 (the free failures)", reached, mismatches)
			}
			if got[http.StatusUnauthorized] != mismatches || got[http.StatusUnauthorized]+got[http.StatusTooManyRequests] != 60 {
				t.Errorf("answers %v: want a 401 per password checked (%d), 429 for the rest", got, mismatches)
			}

			// One address, 60 names: the per-client limit stops it.
			before := proxy.accepted.Load()
			guesses = guesses[:0]
			for i := range 60 {
				guesses = append(guesses, attempt{envs[i%len(envs)], "203.0.113.7", fmt.Sprintf("user%d", i), "guess"})
			}
			got = tally(burst(t, guesses))
			reached = int(proxy.accepted.Load() - before)
			t.Logf("60 guesses from one address at once: %v; %d reached Dovecot", got, reached)
			// At most 4 are in flight at a time (the web limiter's
			// race tests count that exactly); how many follow as earlier
			// ones finish depends on timing, but never more than the
			// address's free failures.
			if reached > web.DefaultIPPolicy.Free {
				t.Errorf("%d guesses from one address reached Dovecot; want at most its %d free failures", reached, web.DefaultIPPolicy.Free)
			}

			// The owner, spelling the name as they like, still gets in.
			if st, _ := loginAs(t, envs[0], "192.0.2.1", "Alice", dovecottest.DefaultPassword); st != http.StatusSeeOther {
				t.Errorf("the right password after the burst = %d, want 303", st)
			}
		})
	}
}
