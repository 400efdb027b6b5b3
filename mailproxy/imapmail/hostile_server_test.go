package imapmail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/imaptest"
)

// startHostileIMAP starts a scripted IMAP server (with o.TLS: over
// implicit TLS, or offering STARTTLS) that logs anyone in and answers
// LIST, SELECT and the rest normally, except the verbs o.Handlers
// script: the way a hostile or broken server might.
func startHostileIMAP(t *testing.T, o imaptest.Options) string {
	t.Helper()
	h := map[string]imaptest.Handler{
		"LIST":   imaptest.Answer("OK done", `* LIST () "/" INBOX`),
		"SELECT": imaptest.Answer("OK [READ-WRITE] selected", "* 1 EXISTS", "* OK [UIDVALIDITY 7] v", "* OK [UIDNEXT 6] n"),
	}
	for verb, f := range o.Handlers {
		h[verb] = f
	}
	o.Handlers = h
	o.Caps = []string{"IMAP4rev1", "AUTH=PLAIN"} // STARTTLS LOGINDISABLED instead before STARTTLS
	o.Default = imaptest.Answer("OK done")
	return imaptest.Start(t, &o).Addr()
}

// hold sends what w holds, keeps the connection open for d (or until
// the server closes), then closes it.
func hold(w *imaptest.Writer, d time.Duration) {
	w.Flush()
	select {
	case <-time.After(d):
	case <-w.Done():
	}
	w.Close()
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
		answer  func(w *imaptest.Writer, tag string)
		call    func(ctx context.Context, s mailproxy.Session) error
		timeout time.Duration
	}{
		"endless line": {
			verb:   "LIST",
			answer: func(w *imaptest.Writer, tag string) { w.Write([]byte("* OK ")); w.Endless(1 << 30) },
			call:   func(ctx context.Context, s mailproxy.Session) error { _, err := s.Folders(ctx); return err },
		},
		"huge literal": {
			verb: "LIST",
			answer: func(w *imaptest.Writer, tag string) {
				w.Line(`* LIST () "/" {2000000000}`)
				w.Endless(1 << 30)
			},
			call: func(ctx context.Context, s mailproxy.Session) error { _, err := s.Folders(ctx); return err },
		},
		"literal in envelope": {
			verb: "UID FETCH",
			answer: func(w *imaptest.Writer, tag string) {
				w.Line("* 1 FETCH (UID 5 ENVELOPE (NIL {900000000}")
				w.Endless(1 << 30)
			},
			call: func(ctx context.Context, s mailproxy.Session) error {
				_, err := s.Message(ctx, "INBOX", "7-5", mailproxy.ViewOptions{})
				return err
			},
		},
		"deep bodystructure": {
			verb: "UID FETCH",
			answer: func(w *imaptest.Writer, tag string) {
				w.Line("* 1 FETCH (UID 5 BODYSTRUCTURE "+nestedBodyStructure(5000)+")", tag+" OK done")
			},
			call: func(ctx context.Context, s mailproxy.Session) error {
				_, err := s.Message(ctx, "INBOX", "7-5", mailproxy.ViewOptions{})
				return err
			},
		},
		"slow drip": {
			verb: "LIST",
			answer: func(w *imaptest.Writer, tag string) {
				for _, b := range []byte("* LIST () \"/\" INBOX-never-ending-name-dripped-slowly") {
					w.Write([]byte{b})
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
			addr := startHostileIMAP(t, imaptest.Options{Handlers: map[string]imaptest.Handler{
				tc.verb: func(w *imaptest.Writer, c imaptest.Command) {
					tc.answer(w, c.Tag)
					w.Close()
				},
			}})
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

// TestIMAPOverTLS runs the limited dial path over implicit TLS and over
// STARTTLS with a private CA, so the limits sit around TLS without
// breaking it, and checks that STARTTLS refuses PREAUTH and plain text
// injected after the server's OK.
func TestIMAPOverTLS(t *testing.T) {
	srvCfg, cliCfg := imaptest.SelfSigned(t)
	for name, tc := range map[string]struct {
		addr string
		sec  mailproxy.Security
	}{
		"implicit TLS": {startHostileIMAP(t, imaptest.Options{TLS: srvCfg, ImplicitTLS: true}), mailproxy.SecurityTLS},
		"STARTTLS":     {startHostileIMAP(t, imaptest.Options{TLS: srvCfg}), mailproxy.SecurityStartTLS},
	} {
		s := hostilePool(t, tc.addr, tc.sec, cliCfg, PoolOptions{})
		folders, err := s.Folders(context.Background())
		if err != nil || len(folders) != 1 || folders[0].Name != "INBOX" {
			t.Errorf("%s: Folders() = %v, %v", name, folders, err)
		}
	}
	for name, bad := range map[string]imaptest.Options{
		"PREAUTH": {Greet: func(w *imaptest.Writer) {
			w.Line("* PREAUTH [CAPABILITY IMAP4rev1] welcome")
			hold(w, time.Second)
		}},
		"injection after OK": {Handlers: map[string]imaptest.Handler{"STARTTLS": func(w *imaptest.Writer, c imaptest.Command) {
			w.Line(c.Tag+" OK begin TLS", "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected")
			hold(w, time.Second)
		}}},
	} {
		bad.TLS = srvCfg
		addr := startHostileIMAP(t, bad)
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
