package imapmail

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// hostileIMAP is a scripted IMAP server that logs anyone in and answers
// one command (LIST, SELECT or UID FETCH) the way a hostile or broken
// server might.
type hostileIMAP struct {
	ln       net.Listener
	starttls *tls.Config // offer STARTTLS with this server config
	// misbehave answers the command verb for tag, writing to w; it returns
	// false to answer normally.
	misbehave func(w *bufio.Writer, tag, verb string) bool
}

func startHostileIMAP(t *testing.T, tlsCfg, starttls *tls.Config, misbehave func(w *bufio.Writer, tag, verb string) bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	s := &hostileIMAP{ln: ln, misbehave: misbehave, starttls: starttls}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return ln.Addr().String()
}

func (s *hostileIMAP) serve(c net.Conn) {
	defer func() { c.Close() }()
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	greeting := "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hostile ready\r\n"
	if s.starttls != nil {
		greeting = "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] hostile ready\r\n"
	}
	if s.misbehave(w, "", "GREETING") {
		w.Flush()
		return
	}
	w.WriteString(greeting)
	w.Flush()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		tag, verb := f[0], strings.ToUpper(f[1])
		if verb == "UID" && len(f) > 2 {
			verb = "UID " + strings.ToUpper(f[2])
		}
		if s.misbehave(w, tag, verb) {
			w.Flush()
			return
		}
		switch verb {
		case "STARTTLS":
			w.WriteString(tag + " OK begin TLS\r\n")
			w.Flush()
			tc := tls.Server(c, s.starttls)
			if tc.Handshake() != nil {
				return
			}
			c = tc
			r, w = bufio.NewReader(c), bufio.NewWriter(c)
			continue
		case "LOGIN":
			w.WriteString(tag + " OK [CAPABILITY IMAP4rev1] logged in\r\n")
		case "CAPABILITY":
			w.WriteString("* CAPABILITY IMAP4rev1\r\n" + tag + " OK done\r\n")
		case "LIST":
			w.WriteString("* LIST () \"/\" INBOX\r\n" + tag + " OK done\r\n")
		case "SELECT":
			w.WriteString("* 1 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n* OK [UIDNEXT 6] n\r\n" + tag + " OK [READ-WRITE] selected\r\n")
		case "LOGOUT":
			w.WriteString("* BYE bye\r\n" + tag + " OK done\r\n")
			w.Flush()
			return
		default:
			w.WriteString(tag + " OK done\r\n")
		}
		w.Flush()
	}
}

// endless writes filler until the peer goes away or limit bytes are out.
func endless(w *bufio.Writer, limit int64) {
	chunk := strings.Repeat("a", 32<<10)
	for n := int64(0); n < limit; n += int64(len(chunk)) {
		if _, err := w.WriteString(chunk); err != nil {
			return
		}
		if w.Flush() != nil {
			return
		}
	}
}

// nestedBodyStructure is a multipart BODYSTRUCTURE nested depth deep.
func nestedBodyStructure(depth int) string {
	return strings.Repeat("(", depth) + `("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 1)` +
		strings.Repeat(` "mixed")`, depth)
}

func hostilePool(t *testing.T, addr string, sec mailproxy.Security, tlsCfg *tls.Config, o PoolOptions) mailproxy.Session {
	t.Helper()
	o.IMAP = mailproxy.Upstream{Protocol: "imap", Host: "127.0.0.1", Port: addr[strings.LastIndexByte(addr, ':')+1:], Security: sec}
	o.TLSConfig = tlsCfg
	o.Logger = slog.New(slog.DiscardHandler)
	if o.CommandTimeout == 0 {
		o.CommandTimeout = 3 * time.Second
	}
	o.MaxMessageBytes = 1 << 10
	o.MaxResponseBytes = 1 << 20
	p := NewPool(&o)
	t.Cleanup(p.Close)
	creds := mailproxy.Credentials{Username: "u", Password: "p"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Login(ctx, "s1", creds); err != nil {
		t.Fatalf("Login() = %v", err)
	}
	return p.Session("s1", creds)
}

// TestHostileIMAPServer: whatever the server sends, thumbmail reads a
// bounded amount, for a bounded time, and answers with a clean error.
func TestHostileIMAPServer(t *testing.T) {
	tests := map[string]struct {
		verb    string
		answer  func(w *bufio.Writer, tag string)
		call    func(ctx context.Context, s mailproxy.Session) error
		timeout time.Duration
	}{
		"endless line": {
			verb:   "LIST",
			answer: func(w *bufio.Writer, tag string) { w.WriteString("* OK "); endless(w, 1<<30) },
			call:   func(ctx context.Context, s mailproxy.Session) error { _, err := s.Folders(ctx); return err },
		},
		"huge literal": {
			verb: "LIST",
			answer: func(w *bufio.Writer, tag string) {
				w.WriteString("* LIST () \"/\" {2000000000}\r\n")
				endless(w, 1<<30)
			},
			call: func(ctx context.Context, s mailproxy.Session) error { _, err := s.Folders(ctx); return err },
		},
		"literal in envelope": {
			verb: "UID FETCH",
			answer: func(w *bufio.Writer, tag string) {
				w.WriteString("* 1 FETCH (UID 5 ENVELOPE (NIL {900000000}\r\n")
				endless(w, 1<<30)
			},
			call: func(ctx context.Context, s mailproxy.Session) error {
				_, err := s.Message(ctx, "INBOX", "7-5", mailproxy.ViewOptions{})
				return err
			},
		},
		"deep bodystructure": {
			verb: "UID FETCH",
			answer: func(w *bufio.Writer, tag string) {
				w.WriteString("* 1 FETCH (UID 5 BODYSTRUCTURE " + nestedBodyStructure(5000) + ")\r\n" + tag + " OK done\r\n")
			},
			call: func(ctx context.Context, s mailproxy.Session) error {
				_, err := s.Message(ctx, "INBOX", "7-5", mailproxy.ViewOptions{})
				return err
			},
		},
		"slow drip": {
			verb: "LIST",
			answer: func(w *bufio.Writer, tag string) {
				for _, b := range []byte("* LIST () \"/\" INBOX-never-ending-name-dripped-slowly") {
					w.WriteByte(b)
					if w.Flush() != nil {
						return
					}
					time.Sleep(200 * time.Millisecond)
				}
			},
			call:    func(ctx context.Context, s mailproxy.Session) error { _, err := s.Folders(ctx); return err },
			timeout: time.Second,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			addr := startHostileIMAP(t, nil, nil, func(w *bufio.Writer, tag, verb string) bool {
				if verb != tc.verb {
					return false
				}
				tc.answer(w, tag)
				return true
			})
			s := hostilePool(t, addr, mailproxy.SecurityNone, nil, PoolOptions{CommandTimeout: tc.timeout})
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			done := make(chan error, 1)
			go func() {
				defer func() {
					if v := recover(); v != nil {
						done <- fmt.Errorf("panic: %v", v)
					}
				}()
				done <- tc.call(context.Background(), s)
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				t.Fatalf("%s: no answer after 20 s", name)
			}
			if err == nil {
				t.Fatalf("%s: call succeeded, want an error", name)
			}
			if strings.HasPrefix(err.Error(), "panic") {
				t.Fatalf("%s: %v", name, err)
			}
			if !errors.Is(err, mailproxy.ErrUnavailable) && !errors.Is(err, mailproxy.ErrNotFound) && !errors.Is(err, mailproxy.ErrUnsupported) {
				t.Errorf("%s: error %v is none of the typed errors pages can show", name, err)
			}
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if grown := int64(after.TotalAlloc - before.TotalAlloc); grown > 64<<20 {
				t.Errorf("%s: allocated %d MiB reading from the server", name, grown>>20)
			}
			t.Logf("%s: %v after %v", name, err, time.Since(start).Round(time.Millisecond))
		})
	}
}

// testCert returns a server certificate for "example.com" and a pool
// trusting it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS()
	defer ts.Close()
	roots := x509.NewCertPool()
	roots.AddCert(ts.Certificate())
	return ts.TLS.Certificates[0], roots
}

// TestIMAPOverTLS runs the limited dial path over implicit TLS and over
// STARTTLS with a private CA, so the limits sit around TLS without
// breaking it, and checks that STARTTLS refuses PREAUTH and plain text
// injected after the server's OK.
func TestIMAPOverTLS(t *testing.T) {
	cert, roots := testCert(t)
	srvCfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	cliCfg := &tls.Config{RootCAs: roots, ServerName: "example.com"}
	normal := func(*bufio.Writer, string, string) bool { return false }
	for name, tc := range map[string]struct {
		addr string
		sec  mailproxy.Security
	}{
		"implicit TLS": {startHostileIMAP(t, srvCfg, nil, normal), mailproxy.SecurityTLS},
		"STARTTLS":     {startHostileIMAP(t, nil, srvCfg, normal), mailproxy.SecurityStartTLS},
	} {
		s := hostilePool(t, tc.addr, tc.sec, cliCfg, PoolOptions{})
		folders, err := s.Folders(context.Background())
		if err != nil || len(folders) != 1 || folders[0].Name != "INBOX" {
			t.Errorf("%s: Folders() = %v, %v", name, folders, err)
		}
	}
	for name, bad := range map[string]func(w *bufio.Writer, tag, verb string) bool{
		"PREAUTH": func(w *bufio.Writer, tag, verb string) bool {
			if verb == "GREETING" {
				w.WriteString("* PREAUTH [CAPABILITY IMAP4rev1] welcome\r\n")
				w.Flush()
				time.Sleep(time.Second)
				return true
			}
			return false
		},
		"injection after OK": func(w *bufio.Writer, tag, verb string) bool {
			if verb == "STARTTLS" {
				w.WriteString(tag + " OK begin TLS\r\n* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n")
				w.Flush()
				time.Sleep(time.Second)
				return true
			}
			return false
		},
	} {
		addr := startHostileIMAP(t, nil, srvCfg, bad)
		o := PoolOptions{IMAP: mailproxy.Upstream{Protocol: "imap", Host: "127.0.0.1", Port: addr[strings.LastIndexByte(addr, ':')+1:], Security: mailproxy.SecurityStartTLS},
			TLSConfig: cliCfg, Logger: slog.New(slog.DiscardHandler)}
		p := NewPool(&o)
		defer p.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := p.Login(ctx, "s", mailproxy.Credentials{Username: "u", Password: "p"})
		cancel()
		if err == nil {
			t.Errorf("%s: Login() succeeded, want an error", name)
		}
	}
}

func TestNestingScan(t *testing.T) {
	deep := strings.Repeat("(", maxResponseNesting+1)
	for in, ok := range map[string]bool{
		"* 1 FETCH (BODYSTRUCTURE " + nestedBodyStructure(40) + ")\r\n":  true,
		"* 1 FETCH (BODYSTRUCTURE " + nestedBodyStructure(200) + ")\r\n": false,
		"* 1 FETCH (ENVELOPE (\"" + deep + "\" NIL))\r\n":                true, // quoted
		"* 1 FETCH (ENVELOPE ({101}\r\n" + deep + " NIL))\r\n":           true, // literal
		"* 1 FETCH (ENVELOPE (\"a\\\"" + deep + "\"))\r\n":               true, // escaped quote
		"* OK " + deep + "\r\n":                                          false,
		strings.Repeat("* OK ((((((((((\r\n", 50):                        true,  // reset per line
		"* OK {12x" + deep + "\r\n":                                      false, // not a literal
		"* LIST () \"/\" {5}\r\n(((((\r\n" + deep[:50] + "\r\n":          true,
	} {
		c := &nestingConn{}
		// Feed byte by byte and all at once: chunking must not matter.
		whole := c.scan([]byte(in))
		c2 := &nestingConn{}
		split := true
		for i := range len(in) {
			split = split && c2.scan([]byte{in[i]})
		}
		if whole != ok || split != ok {
			t.Errorf("scan(%.60q...) = %v (bytewise %v), want %v", in, whole, split, ok)
		}
	}
}
