package web

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// csrfServer is a CSRF-protected handler that answers 200 with the
// request's token, or 403 from the deny handler.
func csrfServer(t *testing.T, secrets ...string) (*SessionManager, http.Handler) {
	t.Helper()
	now := time.Now()
	m := newManager(t, secrets, NewMemoryStore(), &now)
	deny := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) })
	h := m.CSRF(deny)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(CSRFToken(r)))
	}))
	return m, h
}

// getToken does a GET as a fresh browser and returns its cookie and token.
func getToken(t *testing.T, h http.Handler) (*http.Cookie, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	cs := rec.Result().Cookies()
	if len(cs) != 1 || cs[0].Name != "thumbmail_csrf" || !cs[0].HttpOnly || cs[0].SameSite != http.SameSiteLaxMode {
		t.Fatalf("GET set cookies %v, want one HttpOnly SameSite=Lax thumbmail_csrf", cs)
	}
	if rec.Body.Len() < 20 {
		t.Fatalf("token %q too short", rec.Body.String())
	}
	return cs[0], rec.Body.String()
}

func postForm(h http.Handler, c *http.Cookie, form url.Values) int {
	req := httptest.NewRequest("POST", "/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c != nil {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

func TestCSRF(t *testing.T) {
	secret := strings.Repeat("s", 32)
	_, h := csrfServer(t, secret)
	cookie, token := getToken(t, h)
	otherCookie, otherToken := getToken(t, h)
	if cookie.Value == otherCookie.Value || token == otherToken {
		t.Fatal("two browsers got the same cookie or token")
	}

	tests := map[string]struct {
		cookie *http.Cookie
		form   url.Values
		want   int
	}{
		"cookie and its token":        {cookie, url.Values{"csrf": {token}}, http.StatusOK},
		"no token":                    {cookie, url.Values{"a": {"b"}}, http.StatusForbidden},
		"empty token":                 {cookie, url.Values{"csrf": {""}}, http.StatusForbidden},
		"no cookie":                   {nil, url.Values{"csrf": {token}}, http.StatusForbidden},
		"another browser's token":     {cookie, url.Values{"csrf": {otherToken}}, http.StatusForbidden},
		"planted cookie, no matching": {&http.Cookie{Name: "thumbmail_csrf", Value: strings.Repeat("A", 43)}, url.Values{"csrf": {token}}, http.StatusForbidden},
		"token altered":               {cookie, url.Values{"csrf": {token[:len(token)-1] + "x"}}, http.StatusForbidden},
	}
	for name, tt := range tests {
		if got := postForm(h, tt.cookie, tt.form); got != tt.want {
			t.Errorf("%s: POST = %d, want %d", name, got, tt.want)
		}
	}

	// The same cookie keeps its token across GETs (forms in other tabs
	// stay valid) and no new cookie is set.
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(cookie)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Body.String() != token || len(rec.Result().Cookies()) != 0 {
		t.Errorf("second GET: token %q cookies %v, want the same token and no cookie", rec.Body.String(), rec.Result().Cookies())
	}
}

// TestCSRFKeyRotation: a token made under an older secret is accepted
// after a new secret is put first; one from an unknown secret is not.
func TestCSRFKeyRotation(t *testing.T) {
	oldSecret, newSecret := strings.Repeat("o", 32), strings.Repeat("n", 32)
	_, before := csrfServer(t, oldSecret)
	cookie, token := getToken(t, before)
	_, after := csrfServer(t, newSecret, oldSecret)
	if got := postForm(after, cookie, url.Values{"csrf": {token}}); got != http.StatusOK {
		t.Errorf("token under the previous secret = %d, want 200", got)
	}
	_, unrelated := csrfServer(t, strings.Repeat("u", 32))
	if got := postForm(unrelated, cookie, url.Values{"csrf": {token}}); got != http.StatusForbidden {
		t.Errorf("token under an unknown secret = %d, want 403", got)
	}
}

func TestCSRFMultipart(t *testing.T) {
	_, h := csrfServer(t, strings.Repeat("s", 32))
	cookie, token := getToken(t, h)
	for _, withToken := range []bool{true, false} {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		if withToken {
			mw.WriteField("csrf", token)
		}
		fw, _ := mw.CreateFormFile("file", "a.txt")
		fw.Write(bytes.Repeat([]byte("x"), 3<<20)) // spills past the memory limit
		mw.Close()
		req := httptest.NewRequest("POST", "/", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		want := http.StatusForbidden
		if withToken {
			want = http.StatusOK
		}
		if rec.Code != want {
			t.Errorf("multipart POST with token=%v = %d, want %d", withToken, rec.Code, want)
		}
		if req.MultipartForm != nil {
			req.MultipartForm.RemoveAll()
		}
	}
}

// TestCSRFBoundToSession: an attacker who plants their own anti-forgery
// cookie in the victim's browser, together with a token valid for it in
// the attacker's session (or before sign-in), still cannot post in the
// victim's session.
func TestCSRFBoundToSession(t *testing.T) {
	secret := strings.Repeat("s", 32)
	m, h := csrfServer(t, secret)
	nonce, anonToken := getToken(t, h)
	tokenFor := func(session *http.Cookie) string {
		req := httptest.NewRequest("GET", "/", nil)
		req.AddCookie(nonce)
		if session != nil {
			req.AddCookie(session)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Body.String()
	}
	sessionCookie := func() *http.Cookie {
		r, _ := roundTrip(t, m, "x")
		c, err := r.Cookie("thumbmail")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	attacker, victim := sessionCookie(), sessionCookie()
	attackerToken := tokenFor(attacker)
	post := func(session *http.Cookie, token string) int {
		req := httptest.NewRequest("POST", "/", strings.NewReader(url.Values{CSRFField: {token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(nonce)
		req.AddCookie(session)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	for name, token := range map[string]string{"attacker's session": attackerToken, "before sign-in": anonToken} {
		if code := post(victim, token); code != http.StatusForbidden {
			t.Errorf("token from the %s in the victim's session = %d, want 403", name, code)
		}
	}
	if code := post(victim, tokenFor(victim)); code != http.StatusOK {
		t.Errorf("the victim's own token = %d, want 200", code)
	}
	if code := post(attacker, attackerToken); code != http.StatusOK {
		t.Errorf("the attacker's token in their own session = %d, want 200", code)
	}
}

// readSpy is a request body that records whether anyone read it.
type readSpy struct {
	r    io.Reader
	read atomic.Bool
}

func (s *readSpy) Read(p []byte) (int, error) {
	s.read.Store(true)
	return s.r.Read(p)
}

func (s *readSpy) Close() error { return nil }

// TestCSRFMadeUpNonce: a nonce cookie we did not issue (any 43
// characters, even well-formed base64, or one signed under a secret we do
// not hold) buys nothing: its POST is refused before a byte of the body
// is read or a before middleware runs, and a GET gets a fresh cookie.
func TestCSRFMadeUpNonce(t *testing.T) {
	m, err := NewSessionManager(SessionOptions{Secrets: []string{strings.Repeat("s", 32)}, Store: NewMemoryStore()})
	if err != nil {
		t.Fatal(err)
	}
	var beforeRan, nextRan atomic.Bool
	before := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			beforeRan.Store(true)
			next.ServeHTTP(w, r)
		})
	}
	deny := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) })
	h := m.CSRF(deny, before)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nextRan.Store(true)
		w.Write([]byte(CSRFToken(r)))
	}))
	// A real cookie and token, to show they are not what is refused.
	_, realToken := getToken(t, h)
	other, _ := NewSessionManager(SessionOptions{Secrets: []string{strings.Repeat("o", 32)}, Store: NewMemoryStore()})
	foreign := other.newNonce()
	random := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0x5a}, 32))
	for name, value := range map[string]string{"letters": strings.Repeat("A", 43), "random base64": random, "another site's": foreign} {
		beforeRan.Store(false)
		nextRan.Store(false)
		spy := &readSpy{r: strings.NewReader(url.Values{CSRFField: {realToken}, "x": {strings.Repeat("y", 1<<20)}}.Encode())}
		req := httptest.NewRequest("POST", "/", spy)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: "thumbmail_csrf", Value: value})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden || spy.read.Load() || beforeRan.Load() || nextRan.Load() {
			t.Errorf("%s nonce: POST = %d, body read %v, before ran %v, handler ran %v; want 403 and nothing run or read",
				name, rec.Code, spy.read.Load(), beforeRan.Load(), nextRan.Load())
		}
		// A GET replaces it with one of ours.
		req = httptest.NewRequest("GET", "/", nil)
		req.AddCookie(&http.Cookie{Name: "thumbmail_csrf", Value: value})
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		cs := rec.Result().Cookies()
		if len(cs) != 1 || cs[0].Value == value || m.csrfNonce(withCookie(cs[0])) == "" {
			t.Errorf("%s nonce: GET set %v, want a fresh signed cookie", name, cs)
		}
	}
	// One of ours with a byte changed is refused too.
	c, tok := getToken(t, h)
	b := []byte(c.Value)
	b[5] ^= 1
	if code := postForm(h, &http.Cookie{Name: c.Name, Value: string(b)}, url.Values{CSRFField: {tok}}); code != http.StatusForbidden {
		t.Errorf("altered nonce = %d, want 403", code)
	}
}

func withCookie(c *http.Cookie) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(c)
	return r
}

// TestCSRFBeforeOrder: the before middlewares run after the nonce check
// and before the token is read from the body, so they can bound it; a
// good form then passes.
func TestCSRFBeforeOrder(t *testing.T) {
	m, err := NewSessionManager(SessionOptions{Secrets: []string{strings.Repeat("s", 32)}, Store: NewMemoryStore()})
	if err != nil {
		t.Fatal(err)
	}
	deny := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) })
	limit := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == "POST" && (r.PostForm != nil || r.MultipartForm != nil) {
				t.Error("the form was read before the before middleware")
			}
			r.Body = http.MaxBytesReader(w, r.Body, 1000)
			next.ServeHTTP(w, r)
		})
	}
	h := m.CSRF(deny, limit)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(CSRFToken(r))) }))
	c, tok := getToken(t, h)
	if code := postForm(h, c, url.Values{CSRFField: {tok}}); code != http.StatusOK {
		t.Errorf("small form = %d, want 200", code)
	}
	if code := postForm(h, c, url.Values{CSRFField: {tok}, "x": {strings.Repeat("y", 2000)}}); code != http.StatusForbidden {
		t.Errorf("form over the before middleware's limit = %d, want 403", code)
	}
}
