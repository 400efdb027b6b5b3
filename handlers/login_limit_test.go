package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
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
