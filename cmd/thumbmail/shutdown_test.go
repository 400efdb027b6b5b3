package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// slowProxy forwards TCP to an IMAP server. When armed, it holds the next
// reply from the server for a while (a slow upstream), and it tells when
// the client sent something while armed, and whether it sent LOGOUT.
type slowProxy struct {
	ln      net.Listener
	target  string
	armed   atomic.Bool // hold the reply to the client's next write
	hit     atomic.Bool // the client wrote: hold the next server reply
	hold    time.Duration
	sent    chan struct{} // the client wrote while armed
	logouts atomic.Int64
}

func newSlowProxy(t *testing.T, target string, hold time.Duration) *slowProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &slowProxy{ln: ln, target: target, hold: hold, sent: make(chan struct{}, 1)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go p.pipe(s, c, false)
			go p.pipe(c, s, true)
		}
	}()
	return p
}

func (p *slowProxy) pipe(dst, src net.Conn, fromClient bool) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if fromClient {
				if strings.Contains(strings.ToUpper(string(buf[:n])), " LOGOUT") {
					p.logouts.Add(1)
				}
				if p.armed.CompareAndSwap(true, false) {
					p.hit.Store(true)
					select {
					case p.sent <- struct{}{}:
					default:
					}
				}
			} else if p.hit.CompareAndSwap(true, false) {
				time.Sleep(p.hold)
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func getStatus(t *testing.T, u string) int {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func getBody(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestGracefulShutdown runs the built binary against a slow mail server:
// SIGTERM arrives while a request waits on the server; /readyz turns 503
// at once, the request still completes, the upstream connection is logged
// out and the process exits 0. It also reads /metrics on the metrics
// listener.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "thumbmail")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	d := startDemo(t)
	slow := newSlowProxy(t, d.Addr(), 2*time.Second)
	port, mport := freePort(t), freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	mbase := fmt.Sprintf("http://127.0.0.1:%d", mport)
	var logs syncBuffer
	cmd := exec.Command(bin, "-listen", fmt.Sprintf("127.0.0.1:%d", port), "-metrics-listen", fmt.Sprintf("127.0.0.1:%d", mport),
		"-imap", "imap+insecure://"+slow.ln.Addr().String(), "-shutdown-delay", "1s", "-drain-timeout", "10s")
	cmd.Env = append(os.Environ(), "THUMBMAIL_SESSION_KEYS="+testKeys)
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited, done := make(chan error, 1), make(chan struct{})
	go func() { exited <- cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	waitTCP(t, fmt.Sprintf("127.0.0.1:%d", port), os.DevNull)
	if s := getStatus(t, base+"/readyz"); s != http.StatusOK {
		t.Fatalf("/readyz before shutdown = %d, want 200", s)
	}

	br := newBrowser(t, base)
	if p := br.post("/login", "/login", url.Values{"username": {"demo"}, "password": {testPassword}}, nil); p.status != http.StatusSeeOther {
		t.Fatalf("POST /login = %d", p.status)
	}
	slow.armed.Store(true)
	inflight := make(chan page, 1)
	go func() {
		// Not br.get: no t.Fatal outside the test goroutine.
		resp, err := br.c.Get(base + "/f/INBOX")
		if err != nil {
			inflight <- page{body: err.Error()}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		inflight <- page{status: resp.StatusCode, body: string(b)}
	}()
	select {
	case <-slow.sent:
	case <-time.After(5 * time.Second):
		t.Fatalf("the inbox request never reached the mail server; log:\n%s", logs.String())
	}
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// During the shutdown delay the listener is still open, and says 503.
	var ready, mready int
	for time.Since(start) < 900*time.Millisecond {
		if ready = getStatus(t, base+"/readyz"); ready == http.StatusServiceUnavailable {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ready != http.StatusServiceUnavailable {
		t.Errorf("/readyz after SIGTERM = %d, want 503", ready)
	}
	if mready = getStatus(t, mbase+"/readyz"); mready != http.StatusServiceUnavailable {
		t.Errorf("metrics listener /readyz after SIGTERM = %d, want 503", mready)
	}
	select {
	case p := <-inflight:
		if p.status != http.StatusOK || !strings.Contains(p.body, "Inbox") {
			t.Errorf("the in-flight request = %d %.200s, want the inbox", p.status, p.body)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the in-flight request never completed")
	}
	if time.Since(start) < time.Second {
		t.Errorf("the in-flight request finished before the held reply was released")
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v, want status 0; log:\n%s", err, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("still running 15s after SIGTERM; log:\n%s", logs.String())
	}
	if slow.logouts.Load() == 0 {
		t.Errorf("the upstream connection was not logged out at shutdown")
	}
	if getStatus(t, base+"/healthz") != 0 {
		t.Errorf("still answering after exit")
	}
	if !strings.Contains(logs.String(), "msg=stopped") {
		t.Errorf("no 'stopped' line in the log:\n%s", logs.String())
	}
}

// TestMetrics reads /metrics from the metrics handler of an app after a
// sign-in and a page: requests by route pattern, upstream operations,
// sessions and connections.
func TestMetrics(t *testing.T) {
	d := startDemo(t)
	in := startInstance(t, "-imap", d.URL(), "-base-path", "/mail")
	br := newBrowser(t, in.srv.URL)
	if p := br.post("/mail/login", "/mail/login", url.Values{"username": {"demo"}, "password": {testPassword}}, nil); p.status != http.StatusSeeOther {
		t.Fatalf("POST /mail/login = %d", p.status)
	}
	for range 2 {
		if p := br.get("/mail/f/INBOX"); p.status != http.StatusOK {
			t.Fatalf("GET /mail/f/INBOX = %d", p.status)
		}
	}
	ops := newTestServer(t, in.app.opsHandler())
	body := getBody(t, ops+"/metrics")
	for _, want := range []string{
		`thumbmail_http_requests_total{method="GET",route="/mail/f/{folder}",status="200"} 2`,
		`thumbmail_http_requests_total{method="POST",route="/mail/login",status="303"} 1`,
		`thumbmail_http_request_duration_seconds_count{method="GET",route="/mail/f/{folder}"} 2`,
		`thumbmail_upstream_duration_seconds_count{op="login"} 1`,
		`thumbmail_upstream_duration_seconds_count{op="list"} 2`,
		`thumbmail_sessions 1`,
		`thumbmail_upstream_connections 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, "INBOX") {
		t.Errorf("/metrics has a raw path in a label")
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", grepLines(body, "thumbmail_"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
