package handlers

import (
	"crypto/tls"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
)

// TestHeadersOnEveryResponse checks the security headers on every kind of
// response: pages, errors, the refused-form page, static files, health
// checks and attachments.
func TestHeadersOnEveryResponse(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	msg := e.putMessage(c, "Tests", mailWithAttachment("a.pdf", "application/pdf", pdfBytes(100)))
	css := regexp.MustCompile(`href="(/static/[^"]+)"`).FindStringSubmatch(e.get(c, "/folders").body)[1]
	anon := e.client()
	pages := map[string]func() result{
		"login":        func() result { return e.get(anon, "/login") },
		"folders":      func() result { return e.get(c, "/folders") },
		"list":         func() result { return e.get(c, "/f/INBOX") },
		"message":      func() result { return e.get(c, msg) },
		"images":       func() result { return e.get(c, msg+"?images=1") },
		"not found":    func() result { return e.get(c, "/nowhere") },
		"no message":   func() result { return e.get(c, "/f/INBOX/1-999999") },
		"forged post":  func() result { return e.do(c, "POST", "/logout", url.Values{"csrf": {"x"}}) },
		"wrong pw":     func() result { return e.do(anon, "POST", "/login", url.Values{"username": {"x"}, "password": {"y"}}) },
		"redirect":     func() result { return e.get(anon, "/folders") },
		"static":       func() result { return e.get(c, css) },
		"healthz":      func() result { return e.get(anon, "/healthz") },
		"attachment":   func() result { return e.get(c, msg+"/part/2") },
		"method":       func() result { return e.get(c, "/logout") },
		"login (head)": func() result { return e.do(anon, "HEAD", "/login", nil) },
	}
	for name, fetch := range pages {
		r := fetch()
		if r.status >= 500 {
			t.Errorf("%s: status %d", name, r.status)
		}
		for k, want := range map[string]string{
			"X-Content-Type-Options": "nosniff",
			"Referrer-Policy":        "no-referrer",
			"X-Frame-Options":        "DENY",
		} {
			if got := r.header.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", name, k, got, want)
			}
		}
		csp := r.header.Get("Content-Security-Policy")
		if name == "attachment" {
			if !strings.HasPrefix(csp, "sandbox") {
				t.Errorf("attachment: CSP %q, want sandbox", csp)
			}
			checkAttachmentHeaders(t, name, r.header, false)
			continue
		}
		for _, want := range []string{"default-src 'none'", "script-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %s", name, csp, want)
			}
		}
		if name != "static" && r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", name, r.header.Get("Cache-Control"))
		}
		if r.header.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s: HSTS over plain HTTP", name)
		}
	}
}

// TestHTTPSHeaders serves the same router over TLS: HSTS on every
// response, Secure on every cookie.
func TestHTTPSHeaders(t *testing.T) {
	e := newEnv(t, nil)
	srv := httptest.NewTLSServer(e.handler.Routes())
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := srv.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.Transport.(*http.Transport).TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	get := func(path string) *http.Response {
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		return resp
	}
	for _, p := range []string{"/login", "/healthz", "/nowhere", "/folders"} {
		resp := get(p)
		if hsts := resp.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(hsts, "max-age=") {
			t.Errorf("GET %s over HTTPS: Strict-Transport-Security %q", p, hsts)
		}
	}
	// Sign in over HTTPS: the session and form cookies are Secure.
	lp := get("/login")
	var token string
	for _, k := range lp.Cookies() {
		if !k.Secure {
			t.Errorf("cookie %s over HTTPS is not Secure", k.Name)
		}
	}
	resp, err := c.Get(srv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body := new(strings.Builder)
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		body.Write(buf[:n])
		if err != nil {
			break
		}
	}
	resp.Body.Close()
	if m := csrfRE.FindStringSubmatch(body.String()); m != nil {
		token = m[1]
	}
	resp, err = c.PostForm(srv.URL+"/login", url.Values{"username": {"demo"}, "password": {"demo"}, "csrf": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /login over HTTPS = %d", resp.StatusCode)
	}
	for _, k := range resp.Cookies() {
		if !k.Secure || !k.HttpOnly {
			t.Errorf("session cookie %s over HTTPS: Secure %v HttpOnly %v", k.Name, k.Secure, k.HttpOnly)
		}
	}
}

// postRoutes lists every POST route of the router, path parameters
// filled in, and tells which of them also serve a page on GET (the sign-in
// form).
func postRoutes(t *testing.T, h http.Handler) (routes []string, hasGet map[string]bool) {
	t.Helper()
	hasGet = map[string]bool{}
	fill := strings.NewReplacer("{folder}", "INBOX", "{id}", "1-1", "{part}", "1").Replace
	err := chi.Walk(h.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		switch method {
		case http.MethodPost:
			routes = append(routes, fill(route))
		case http.MethodGet:
			hasGet[fill(route)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return routes, hasGet
}

// TestGETNeverChangesAnything: a GET (or HEAD) on every route that takes
// a POST is refused and changes nothing, so no link, image or prefetch can
// act for the user.
func TestGETNeverChangesAnything(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	routes, hasGet := postRoutes(t, e.handler.Routes())
	if len(routes) < 3 {
		t.Fatalf("found only %d POST routes: %v", len(routes), routes)
	}
	before := e.demoCount("INBOX")
	id := strings.TrimPrefix(messageLinks(e.get(c, "/f/INBOX").body)[0], "/f/INBOX/")
	for _, route := range routes {
		for _, method := range []string{"GET", "HEAD"} {
			for _, q := range []string{"", "?id=" + id + "&username=demo&password=demo"} {
				r := e.do(c, method, route+q, nil)
				if hasGet[route] {
					// A page (the sign-in form): it may answer, but only
					// the checks below tell whether it changed anything.
					continue
				}
				if r.status != http.StatusMethodNotAllowed && r.status != http.StatusNotFound {
					t.Errorf("%s %s%s = %d, want 405 or 404", method, route, q, r.status)
				}
			}
		}
	}
	if after := e.demoCount("INBOX"); after != before {
		t.Errorf("GETs changed INBOX from %d to %d messages", before, after)
	}
	if n := e.store.Len(); n != 1 {
		t.Errorf("GETs changed the sessions: %d in the store, want 1", n)
	}
	if r := e.get(c, "/folders"); r.status != http.StatusOK {
		t.Errorf("signed out by a GET: /folders = %d", r.status)
	}
}

// TestMailCannotAct: a message whose images point at our own actions
// (<img src="/logout">) renders without them; even if a browser fetched
// them, those URLs only answer POST with a valid token.
func TestMailCannotAct(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	u := e.putMessage(c, "Tests", "From: a@evil.example\nSubject: act\nContent-Type: text/html\n\n"+
		`<img src="/logout"><img src="/f/INBOX/delete?id=1"><img src="../../logout"><img src="//127.0.0.1/logout">`+
		`<a href="/logout">x</a><img src="`+e.srv.URL+`/logout"><p>end</p>`)
	body := mailBody(e.get(c, u).body)
	if strings.Contains(body, "<img") {
		t.Errorf("a mail image pointing at our own URLs survived:\n%s", body)
	}
	if r := e.get(c, "/f/INBOX"); r.status != http.StatusOK {
		t.Errorf("viewing the message signed the user out")
	}
	// With remote images allowed, an absolute image URL to our host is
	// shown; fetching it is a GET, which cannot sign out.
	e.get(c, u+"?images=1")
	if r := e.get(c, "/logout"); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET /logout = %d, want 405", r.status)
	}
	if r := e.get(c, "/folders"); r.status != http.StatusOK {
		t.Errorf("signed out by an image: /folders = %d", r.status)
	}
}

// TestPlantedCookieNotReused: a session cookie set before sign-in (by an
// attacker who planted their own valid session, or garbage) is replaced at
// sign-in, and the planted one does not become the victim's session.
func TestPlantedCookieNotReused(t *testing.T) {
	e := newEnv(t, nil)
	attacker := e.login()
	planted, _ := sessionCookie(attacker, e.srv.URL)
	for name, value := range map[string]string{"attacker's valid session": planted, "garbage": "MTIzNDU2Nzg5MA"} {
		victim := e.client()
		victim.Jar.SetCookies(mustURL(e.srv.URL), []*http.Cookie{{Name: "thumbmail", Value: value, Path: "/"}})
		r := e.do(victim, "POST", "/login", url.Values{"username": {"demo"}, "password": {"demo"}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("%s: POST /login = %d", name, r.status)
		}
		now, _ := sessionCookie(victim, e.srv.URL)
		if now == value || now == "" {
			t.Errorf("%s: the planted cookie was kept at sign-in", name)
		}
	}
	// The attacker's own session ended when the victim's browser signed in
	// over it, so the attacker cannot ride the victim's session.
	if r := e.get(attacker, "/folders"); r.status != http.StatusSeeOther {
		t.Errorf("planted session still valid after the victim signed in: %d", r.status)
	}
}

// TestLoginNextEncoded: next= values that decode to another host are
// refused at sign-in and never shown in the form.
func TestLoginNextEncoded(t *testing.T) {
	e := newEnv(t, nil)
	for _, next := range []string{"/%2F/evil.example", "/%2f%2fevil.example", "/%5Cevil.example", "/%5c%5cevil.example",
		"/\t/evil.example", "/%09/evil.example", "/%252F%252Fevil.example", "/a%0D%0ALocation:%20//evil.example", "///evil.example", "\\\\evil.example"} {
		lp := e.get(e.client(), "/login?next="+url.QueryEscape(next))
		if strings.Contains(lp.body, "evil.example") {
			t.Errorf("login form keeps next=%q", next)
		}
		r := e.do(e.client(), "POST", "/login", url.Values{"username": {"demo"}, "password": {"demo"}, "next": {next}})
		if loc := r.header.Get("Location"); loc != "/f/INBOX" {
			t.Errorf("login with next=%q redirects to %q, want /f/INBOX", next, loc)
		}
	}
}

// TestExpiryServerSide: an idle or too old session is ended on the server
// (its record deleted), so the cookie is dead whatever the browser keeps.
func TestExpiryServerSide(t *testing.T) {
	for name, step := range map[string]struct {
		every time.Duration
		times int
	}{
		"idle":     {31 * time.Minute, 1},
		"absolute": {20 * time.Minute, 75}, // active every 20 min, past 24 h
	} {
		e := newEnv(t, nil)
		c := e.login()
		cookies := c.Jar.Cookies(mustURL(e.srv.URL))
		ended := false
		for range step.times {
			e.advance(step.every)
			if r := e.get(c, "/folders"); r.status == http.StatusSeeOther {
				ended = true
				break
			}
		}
		if !ended {
			t.Errorf("%s: session never ended", name)
			continue
		}
		if n := e.store.Len(); n != 0 {
			t.Errorf("%s: %d records left in the store after expiry", name, n)
		}
		replay := e.client()
		replay.Jar.SetCookies(mustURL(e.srv.URL), cookies)
		if r := e.get(replay, "/folders"); r.status != http.StatusSeeOther {
			t.Errorf("%s: replayed cookie = %d, want 303 to sign-in", name, r.status)
		}
	}
}
