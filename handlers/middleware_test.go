package handlers

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestSlowBodyCut: a body that trickles in slower than smallBodyTime
// allows is answered (408) when the time is up, not when the server's
// much longer ReadTimeout is.
func TestSlowBodyCut(t *testing.T) {
	old := smallBodyTime
	smallBodyTime = time.Second
	t.Cleanup(func() { smallBodyTime = old })
	e := newSendEnv(t, 25<<20)
	c := e.client()
	token := e.csrfToken(c, "/login")
	var cookie string
	for _, ck := range c.Jar.Cookies(mustURL(e.srv.URL)) {
		if ck.Name == "thumbmail_csrf" {
			cookie = ck.Value
		}
	}
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nCookie: thumbmail_csrf=%s\r\nContent-Length: 1000\r\n\r\ncsrf=%s&username=", cookie, token)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 100 {
			if _, err := conn.Write([]byte("a")); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	conn.SetReadDeadline(time.Now().Add(8 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	took := time.Since(start)
	if resp.StatusCode != http.StatusRequestTimeout || took > 4*time.Second {
		t.Errorf("slow body: %d after %v, want 408 after about 1 s", resp.StatusCode, took)
	}
	conn.Close()
	<-done
}

// TestBodyDeadlineRestored: once a small body is read, the short
// deadline no longer applies: a handler that runs longer keeps its
// context (a read deadline passing would cancel it).
func TestBodyDeadlineRestored(t *testing.T) {
	old := smallBodyTime
	smallBodyTime = 300 * time.Millisecond
	t.Cleanup(func() { smallBodyTime = old })
	e := newEnv(t, nil)
	var ctxErr error
	srv := httptest.NewServer(e.handler.limitBody(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostFormValue("a") != "b" {
			t.Errorf("form = %v %v", r.PostForm, err)
		}
		time.Sleep(time.Second)
		ctxErr = r.Context().Err()
	})))
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/f/INBOX/act", "application/x-www-form-urlencoded", strings.NewReader("a=b"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ctxErr != nil {
		t.Errorf("the handler's context ended while it ran: %v", ctxErr)
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status %d", resp.StatusCode)
	}
}

// TestSmallBodyLimit: without a session (and for every form but a
// signed-in compose or quick reply) a body over smallBody is refused,
// announced or not, and one within it is read.
func TestSmallBodyLimit(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login()
	for _, path := range []string{"/login", "/f/INBOX/act"} {
		r := e.do(c, "POST", path, map[string][]string{"x": {strings.Repeat("y", smallBody)}})
		if r.status != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, "larger than this page accepts") {
			t.Errorf("POST %s over the small limit = %d", path, r.status)
		}
	}
	// Chunked (length unknown): cut at the limit.
	tok := e.csrfToken(c, "/f/INBOX/act")
	req, _ := http.NewRequest("POST", e.srv.URL+"/f/INBOX/act", io.MultiReader(strings.NewReader("csrf="+tok+"&x="), strings.NewReader(strings.Repeat("y", smallBody))))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.ContentLength = -1
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked POST over the small limit = %d", resp.StatusCode)
	}
}

// TestComposeStoreShares: the store's shares, per session and per user
// name in any case, and freeing them.
func TestComposeStoreShares(t *testing.T) {
	now := time.Now()
	s := newComposeStore(4000, time.Hour, func() time.Time { return now })
	const perForm = 1000 // share 1250
	up := func(n int) upload { return upload{name: "f", data: make([]byte, n)} }
	s.setUser("s1", "Ann@Example.org")
	s.setUser("s2", "ann@EXAMPLE.org")
	f1 := s.form("s1", "t1")
	if err := s.attach(f1, up(1000), perForm); err != nil {
		t.Fatal(err)
	}
	if err := s.attach(s.form("s2", "t2"), up(300), perForm); err != errShareFull {
		t.Errorf("the same user in another session and case = %v, want errShareFull", err)
	}
	if err := s.attach(s.form("s2", "t2"), up(250), perForm); err != nil {
		t.Errorf("within the share = %v", err)
	}
	// A session whose user is not known is held to its own share.
	f3 := s.form("s3", "t3")
	if err := s.attach(f3, up(1000), perForm); err != nil {
		t.Fatal(err)
	}
	if err := s.attach(s.form("s3", "t4"), up(251), perForm); err != errShareFull {
		t.Errorf("unknown user's session over its share = %v", err)
	}
	// Others fill the store; then it is full for everybody.
	s.setUser("s4", "bob")
	if err := s.attach(s.form("s4", "t5"), up(1000), perForm); err != nil {
		t.Fatal(err)
	}
	s.setUser("s5", "carol")
	if err := s.attach(s.form("s5", "t6"), up(800), perForm); err != errStoreFull {
		t.Errorf("past the store's bound = %v, want errStoreFull", err)
	}
	// Sending, saving and forgetting free the shares.
	s.done(f1)
	if err := s.attach(s.form("s1", "t7"), up(1000), perForm); err != nil {
		t.Errorf("after sending = %v", err)
	}
	now = now.Add(2 * time.Hour)
	s.form("s9", "sweep")
	if s.used != 0 || len(s.usedBy) != 0 || len(s.users) != 0 {
		t.Errorf("after the ttl: used %d, by %v, users %d; want nothing", s.used, s.usedBy, len(s.users))
	}
}

// TestSlowSignedOutCompose: a compose whose session ended and whose
// files trickle in too slowly still shows its text back when the time
// is up.
func TestSlowSignedOutCompose(t *testing.T) {
	old := smallBodyTime
	smallBodyTime = time.Second
	t.Cleanup(func() { smallBodyTime = old })
	e := newSendEnv(t, 25<<20)
	c := e.client()
	token := e.csrfToken(c, "/login")
	var cookie string
	for _, ck := range c.Jar.Cookies(mustURL(e.srv.URL)) {
		if ck.Name == "thumbmail_csrf" {
			cookie = ck.Value
		}
	}
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const b = "BOUNDARY"
	head := "--" + b + "\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n" + token + "\r\n" +
		"--" + b + "\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\nslow but kept words\r\n" +
		"--" + b + "\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.bin\"\r\n\r\n"
	fmt.Fprintf(conn, "POST /compose HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=%s\r\nCookie: thumbmail_csrf=%s\r\nContent-Length: 100000\r\n\r\n%s", b, cookie, head)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 100 {
			if _, err := conn.Write([]byte("a")); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	conn.SetReadDeadline(time.Now().Add(8 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "slow but kept words") || !strings.Contains(string(body), "attached files were not kept") {
		t.Errorf("slow compose without a session = %d; %s", resp.StatusCode, body)
	}
	conn.Close()
	<-done
}

// TestComposeStoreEndSession: signing out frees the session's share and
// its user's at once (they were held for two hours).
func TestComposeStoreEndSession(t *testing.T) {
	now := time.Now()
	s := newComposeStore(4000, time.Hour, func() time.Time { return now })
	const perForm = 1000
	s.setUser("s1", "ann")
	if err := s.attach(s.form("s1", "t1"), upload{name: "f", data: make([]byte, 1000)}, perForm); err != nil {
		t.Fatal(err)
	}
	s.setUser("s2", "ANN")
	if err := s.attach(s.form("s2", "t2"), upload{name: "f", data: make([]byte, 300)}, perForm); err != errShareFull {
		t.Fatalf("before sign-out = %v, want errShareFull", err)
	}
	s.endSession("s1")
	if err := s.attach(s.form("s2", "t3"), upload{name: "f", data: make([]byte, 1000)}, perForm); err != nil {
		t.Errorf("after the other session signed out = %v", err)
	}
	if got := len(s.files(s.form("s1", "t1"))); got != 0 {
		t.Errorf("signed-out session still has %d files", got)
	}
}
