package handlers

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/thumbmail/thumbmail/web"
)

// memInUse is the memory the process holds for the Go heap and stacks.
func memInUse() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}

// hostileForm is what one attacking connection sends: the head of a
// 10 MB form (urlencoded or multipart, with a file) to path, announced
// with its length or sent chunked, then the rest of it in slices.
type hostileForm struct {
	path      string
	multipart bool
	chunked   bool
}

// trickle sends f over a fresh connection with the anti-forgery cookie
// and token of a visitor who is not signed in, slice by slice, and
// returns the status of the answer and how long it took to come.
func trickle(t *testing.T, addr string, f hostileForm, cookie *http.Cookie, token string) (int, time.Duration, error) {
	const total = 10 << 20
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close()
	var head, tail []byte
	ctype := "application/x-www-form-urlencoded"
	if f.multipart {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("csrf", token)
		mw.WriteField("to", "ann@example.net")
		mw.WriteField("body", "hello")
		mw.CreateFormFile("files", "big.bin")
		head = bytes.Clone(buf.Bytes())
		buf.Reset()
		mw.Close()
		tail = bytes.Clone(buf.Bytes())
		ctype = mw.FormDataContentType()
	} else {
		head = []byte(url.Values{"csrf": {token}, "username": {"demo"}, "token": {"x"}}.Encode() + "&text=")
	}
	start := time.Now()
	hdr := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nCookie: %s=%s\r\n", f.path, addr, ctype, cookie.Name, cookie.Value)
	if f.chunked {
		hdr += "Transfer-Encoding: chunked\r\n\r\n"
	} else {
		hdr += fmt.Sprintf("Content-Length: %d\r\n\r\n", total)
	}
	answer := make(chan int, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			answer <- 0
			return
		}
		io.Copy(io.Discard, resp.Body)
		answer <- resp.StatusCode
	}()
	write := func(b []byte) error {
		conn.SetWriteDeadline(time.Now().Add(20 * time.Second))
		if f.chunked {
			if _, err := fmt.Fprintf(conn, "%x\r\n%s\r\n", len(b), b); err != nil {
				return err
			}
			return nil
		}
		_, err := conn.Write(b)
		return err
	}
	if _, err := io.WriteString(conn, hdr); err != nil {
		return 0, 0, err
	}
	write(head)
	slice := bytes.Repeat([]byte("a"), 16<<10)
	sent := len(head) + len(tail)
	for sent < total {
		select {
		case code := <-answer:
			return code, time.Since(start), nil
		default:
		}
		n := min(len(slice), total-sent)
		if write(slice[:n]) != nil {
			break
		}
		sent += n
		time.Sleep(2 * time.Millisecond)
	}
	if sent >= total {
		write(tail)
		if f.chunked {
			io.WriteString(conn, "0\r\n\r\n")
		}
	}
	select {
	case code := <-answer:
		return code, time.Since(start), nil
	case <-time.After(30 * time.Second):
		return 0, time.Since(start), fmt.Errorf("no answer")
	}
}

// TestHostileBodiesBounded: 20 connections of a visitor who is not
// signed in (with a real anti-forgery cookie and token, as anyone can
// get from the sign-in page) each trickle a 10 MB form into the sign-in
// form, an action form, the compose form and a quick reply. Each is
// answered within seconds, having been read no further than the small
// limit; the process stays within 50 MB of its idle memory and no
// temporary file is made.
func TestHostileBodiesBounded(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where multipart spills files
	e := newSendEnv(t, 25<<20)
	c := e.client()
	token := e.csrfToken(c, "/login")
	u, _ := url.Parse(e.srv.URL)
	var cookie *http.Cookie
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "thumbmail_csrf" {
			cookie = ck
		}
	}
	if cookie == nil {
		t.Fatal("no anti-forgery cookie")
	}
	forms := []hostileForm{
		{"/login", false, false}, {"/login", false, true},
		{"/compose", true, false}, {"/compose", true, true},
		{"/f/INBOX/act", false, false}, {"/f/INBOX/1-1/quickreply", false, true},
		{"/compose", false, false}, {"/f/INBOX/delete", true, true},
	}

	runtime.GC()
	idle := memInUse()
	var peak atomic.Uint64
	var maxTemp atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if m := memInUse(); m > peak.Load() {
				peak.Store(m)
			}
			if ents, _ := os.ReadDir(tmp); int64(len(ents)) > maxTemp.Load() {
				maxTemp.Store(int64(len(ents)))
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	var wg sync.WaitGroup
	for i := range 20 {
		f := forms[i%len(forms)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, took, err := trickle(t, e.srv.Listener.Addr().String(), f, cookie, token)
			if err != nil {
				t.Errorf("%+v: %v", f, err)
				return
			}
			switch code {
			case http.StatusRequestEntityTooLarge, http.StatusForbidden:
			case http.StatusUnauthorized: // compose, quick reply: "your session ended", the text shown back
				if f.path == "/login" || strings.HasSuffix(f.path, "/act") {
					t.Errorf("%+v: answer %d", f, code)
				}
			default:
				t.Errorf("%+v: answer %d, want 413, 403 or (compose) 401", f, code)
			}
			if took > 5*time.Second {
				t.Errorf("%+v: answered after %v", f, took)
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-sampled
	grown := int64(peak.Load()) - int64(idle)
	t.Logf("idle %.1f MB, peak %.1f MB (+%.1f MB), temporary files %d", float64(idle)/(1<<20), float64(peak.Load())/(1<<20), float64(grown)/(1<<20), maxTemp.Load())
	if grown > 50<<20 {
		t.Errorf("memory grew by %.1f MB under 20 hostile bodies, want at most 50 MB", float64(grown)/(1<<20))
	}
	if n := maxTemp.Load(); n > 0 {
		t.Errorf("%d temporary files were made for hostile bodies", n)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) > 0 {
		t.Errorf("temporary files left: %d", len(ents))
	}
}

// spyBody is a request body that records whether it was read.
type spyBody struct {
	r    io.Reader
	read atomic.Bool
}

func (s *spyBody) Read(p []byte) (int, error) { s.read.Store(true); return s.r.Read(p) }
func (s *spyBody) Close() error               { return nil }

// TestMadeUpNonceBodyUnread: an anti-forgery cookie we did not issue (43
// characters like ours) gets its POST refused with 403 before a byte of
// its body is read, whatever the route.
func TestMadeUpNonceBodyUnread(t *testing.T) {
	e := newSendEnv(t, 25<<20)
	c := e.login()
	u, _ := url.Parse(e.srv.URL)
	h := e.handler.Routes()
	for _, path := range []string{"/login", "/compose", "/f/INBOX/act"} {
		for _, signedIn := range []bool{false, true} {
			spy := &spyBody{r: strings.NewReader("csrf=x&username=demo&password=" + strings.Repeat("p", 1<<20))}
			req := httptest.NewRequest("POST", path, spy)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(&http.Cookie{Name: "thumbmail_csrf", Value: strings.Repeat("Q", 43)})
			if signedIn {
				for _, ck := range c.Jar.Cookies(u) {
					if ck.Name == "thumbmail" {
						req.AddCookie(ck)
					}
				}
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusForbidden || spy.read.Load() {
				t.Errorf("POST %s (signed in %v) with a made-up nonce = %d, body read %v; want 403 unread", path, signedIn, rec.Code, spy.read.Load())
			}
		}
	}
}

// TestSignedInLargeCompose: a signed-in compose may still send a 20 MB
// attachment (the upload limit here is 25 MB), and it is sent.
func TestSignedInLargeCompose(t *testing.T) {
	e := newSendEnv(t, 25<<20)
	c := e.login()
	tok := formToken(t, e.get(c, "/compose").body)
	big := strings.Repeat("0123456789abcdef", (20<<20)/16)
	r := e.postMultipart(c, "/compose", url.Values{"token": {tok}, "action": {"send"}, "to": {"ann@example.net"}, "subject": {"big one"}, "body": {"see attached"}},
		[]file{{"big.bin", big}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("compose with 20 MB attached = %d; %.500s", r.status, r.body)
	}
	subs := e.smtp.Submissions()
	if len(subs) != 1 || len(subs[0].Data) < 20<<20 {
		t.Fatalf("SMTP got %d messages, want one over 20 MB", len(subs))
	}
}

// sessionAs starts a session for user (any name: no mail server is
// asked) and returns a browser that holds it.
func (e *testEnv) sessionAs(user string) *http.Client {
	e.t.Helper()
	payload, _ := json.Marshal(sessionPayload{Username: user, Password: "x"})
	rec := httptest.NewRecorder()
	if err := e.handler.cfg.Sessions.Start(rec, httptest.NewRequest("GET", "/", nil), web.NewSessionID(), payload, false); err != nil {
		e.t.Fatal(err)
	}
	c := e.client()
	u, _ := url.Parse(e.srv.URL)
	c.Jar.SetCookies(u, rec.Result().Cookies())
	return c
}

// attachTo opens a compose form for c and attaches a file of size bytes.
func (e *sendEnv) attachTo(c *http.Client, name string, size int) (string, result) {
	e.t.Helper()
	page := e.get(c, "/compose").body
	mt, m := tokenRE.FindStringSubmatch(page), csrfRE.FindStringSubmatch(page)
	if mt == nil || m == nil {
		e.t.Fatalf("compose page has no token or csrf field")
	}
	tok := mt[1]
	form := url.Values{"csrf": {m[1]}, "token": {tok}, "action": {"attach"}, "to": {"ann@example.net"}, "body": {"text"}}
	return tok, e.postMultipart(c, "/compose", form, []file{{name, strings.Repeat("x", size)}})
}

// TestAttachmentShares: one user filling their share of the attachment
// store (from any number of sessions) gets a clear message, and another
// user still has room.
func TestAttachmentShares(t *testing.T) {
	const limit = 200 << 10 // the store holds 4 × this, each user 1¼ ×
	e := newSendEnv(t, limit)
	ann, ann2 := e.login(), e.login() // the same user, twice
	tok1, r := e.attachTo(ann, "one.bin", limit)
	if r.status != http.StatusOK || !strings.Contains(r.body, "one.bin") {
		t.Fatalf("first attachment = %d; %.300s", r.status, r.body)
	}
	// Ann's further forms, in this session or another, do not fit.
	for i, c := range []*http.Client{ann, ann2, ann, ann2} {
		_, r := e.attachTo(c, fmt.Sprintf("more%d.bin", i), limit)
		if r.status != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, "no more room for attachments") || !strings.Contains(r.body, "250 KB") {
			t.Errorf("ann's attachment %d = %d; %.300s", i, r.status, r.body)
		}
	}
	// Bob and Carol still have room.
	for _, user := range []string{"bob", "carol"} {
		_, r := e.attachTo(e.sessionAs(user), user+".bin", limit)
		if r.status != http.StatusOK || !strings.Contains(r.body, user+".bin") {
			t.Errorf("%s's attachment = %d; %.300s", user, r.status, r.body)
		}
	}
	// Removing frees Ann's share.
	page := e.get(ann, "/compose").body
	form := url.Values{"csrf": {csrfRE.FindStringSubmatch(page)[1]}, "token": {tok1}, "remove": {"0"}, "body": {"text"}}
	if r := e.postMultipart(ann, "/compose", form, nil); r.status != http.StatusOK || strings.Contains(r.body, "one.bin") {
		t.Fatalf("remove = %d", r.status)
	}
	if _, r := e.attachTo(ann2, "again.bin", limit); r.status != http.StatusOK || !strings.Contains(r.body, "again.bin") {
		t.Errorf("ann's attachment after removing = %d; %.300s", r.status, r.body)
	}
}

// TestSignedOutComposeKeepsText: a compose or quick reply posted after
// the session ended shows its text back, from the small part of the
// body read without a session: whole when it fits (the files after it
// are dropped, and the page says so), its beginning when it is longer
// (and the page says so), and a page saying it could not be recovered
// when it came too late in the form.
func TestSignedOutComposeKeepsText(t *testing.T) {
	e := newSendEnv(t, 25<<20)
	c := e.login()
	tok := formToken(t, e.get(c, "/compose").body)
	csrf := e.csrfToken(c, "/compose")
	msgURL := e.putMessage(c, "INBOX", origMail)
	e.advance(31 * time.Minute) // past the idle timeout

	form := func(kv ...string) url.Values {
		v := url.Values{"csrf": {csrf}, "token": {tok}}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	long := strings.Repeat("long words ", 10000) // 110 KB
	tests := []struct {
		name   string
		path   string
		form   url.Values
		files  []file
		want   []string
		status int
	}{
		{"text, then 3 MB of files", "/compose", form("to", "ann@example.net", "subject", "kept subject", "body", "my precious words"),
			[]file{{"big.bin", strings.Repeat("z", 3<<20)}}, []string{"my precious words", "kept subject", "attached files were not kept"}, http.StatusUnauthorized},
		{"long text", "/compose", form("to", "ann@example.net", "body", "START "+long),
			nil, []string{"START long words", "Only the beginning of your message could be recovered"}, http.StatusUnauthorized},
		{"long quick reply", msgURL + "/quickreply", form("text", "QUICK "+long),
			nil, []string{"QUICK long words", "Only the beginning of your message could be recovered"}, http.StatusUnauthorized},
		{"text after a long field", "/compose", form("to", "ann@example.net", "signature", long, "body", "lost words"),
			nil, []string{"your message could not be recovered"}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		var r result
		if tt.files != nil || tt.path == "/compose" {
			r = e.postOrdered(c, tt.path, tt.form, tt.files)
		} else {
			r = e.do(c, "POST", tt.path, tt.form)
		}
		if r.status != tt.status {
			t.Errorf("%s: status %d, want %d; %.500s", tt.name, r.status, tt.status, r.body)
		}
		for _, w := range tt.want {
			if !strings.Contains(r.body, w) {
				t.Errorf("%s: page lacks %q; %.800s", tt.name, w, r.body)
			}
		}
	}
	if n := len(e.smtp.Submissions()); n != 0 {
		t.Errorf("sent %d messages without a session", n)
	}
}

// postOrdered posts a multipart form with its fields in the order a
// browser sends them (csrf and token first, the message text before
// anything after it), then the files.
func (e *sendEnv) postOrdered(c *http.Client, path string, form url.Values, files []file) result {
	e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	order := []string{"csrf", "token", "to", "cc", "bcc", "from_name", "signature", "subject", "body", "text"}
	for _, k := range order {
		for _, v := range form[k] {
			mw.WriteField(k, v)
		}
	}
	for _, f := range files {
		w, _ := mw.CreateFormFile("files", f.name)
		io.WriteString(w, f.content)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", e.srv.URL+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, body: string(b), header: resp.Header}
}

// headerTransport adds headers to every request, as a reverse proxy in
// front of thumbmail would.
type headerTransport map[string]string

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h {
		r.Header.Set(k, v)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestBodyLimitsUnderBasePath: under a base path, behind a trusted proxy
// that strips a prefix of its own, a signed-in compose still takes a
// large attachment, and the sign-in form still refuses a large body.
func TestBodyLimitsUnderBasePath(t *testing.T) {
	e := newSendEnvOpts(t, 1<<20, &envOptions{basePath: "/mail"})
	cfg := e.handler.cfg
	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	e.handler = New(cfg)
	e.srv.Close()
	e.srv = httptest.NewServer(e.handler.Routes())
	t.Cleanup(e.srv.Close)
	c := e.client()
	c.Transport = headerTransport{"X-Forwarded-Prefix": "/webmail", "X-Forwarded-For": "192.0.2.7"}
	if r := e.do(c, "POST", "/mail/login", url.Values{"username": {"demo"}, "password": {"demo"}}); r.status != http.StatusSeeOther || r.header.Get("Location") != "/webmail/mail/f/INBOX" {
		t.Fatalf("login = %d %q", r.status, r.header.Get("Location"))
	}
	page := e.get(c, "/mail/compose").body
	form := url.Values{"csrf": {csrfRE.FindStringSubmatch(page)[1]}, "token": {tokenRE.FindStringSubmatch(page)[1]}, "action": {"attach"}, "body": {"x"}}
	r := e.postMultipart(c, "/mail/compose", form, []file{{"half.bin", strings.Repeat("h", 512<<10)}})
	if r.status != http.StatusOK || !strings.Contains(r.body, "half.bin") {
		t.Errorf("attaching 512 KB under the base path = %d; %.300s", r.status, r.body)
	}
	anon := e.client()
	anon.Transport = c.Transport
	if r := e.do(anon, "POST", "/mail/login", url.Values{"username": {"demo"}, "password": {strings.Repeat("p", 100<<10)}}); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("100 KB sign-in form under the base path = %d", r.status)
	}
}
