package pop3

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

func TestLoginUserPass(t *testing.T) {
	c := mustRun(t, testOpts(), func(s *peer) {
		s.writeline(greeting)
		s.readline("CAPA")
		s.write(crlf("+OK\nUSER\nUIDL\n.\n"))
		s.readline("USER alice")
		s.writeline("+OK alice is a real hoopy frood")
		s.readline("PASS pass word")
		s.writeline("+OK maildrop has 2 messages (320 octets)")
		s.readline("STAT")
		s.writeline("+OK 2 320")
	})
	if err := c.Login("alice", "pass word"); err != nil {
		t.Fatalf("Login() = %v", err)
	}
	if n, size, err := c.Stat(); err != nil || n != 2 || size != 320 {
		t.Errorf("Stat() = %d, %d, %v; want 2, 320, nil", n, size, err)
	}
}

func TestLoginWithoutCAPA(t *testing.T) {
	c := mustRun(t, testOpts(), func(s *peer) {
		s.writeline(greeting)
		s.readline("CAPA")
		s.writeline("-ERR what?")
		s.readline("USER alice")
		s.writeline("+OK")
		s.readline("PASS secret")
		s.writeline("+OK")
	})
	if err := c.Login("alice", "secret"); err != nil {
		t.Fatalf("Login() = %v", err)
	}
}

func TestLoginUnknownUser(t *testing.T) {
	c := mustRun(t, testOpts(), func(s *peer) {
		s.writeline(greeting)
		s.readline("CAPA")
		s.write(crlf("+OK\nUSER\n.\n"))
		s.readline("USER frated")
		s.writeline("-ERR sorry, no mailbox for frated here")
		s.readEOF() // PASS must not follow a refused USER
	})
	err := c.Login("frated", "secret")
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("Login() = %v, want %v", err, ErrAuth)
	}
	if e, _ := errors.AsType[*Error](err); e == nil || e.Cmd != "USER" {
		t.Errorf("Login() = %#v, want Cmd USER", e)
	}
	c.Close()
}

func TestLoginPrefersPlain(t *testing.T) {
	ir := base64.StdEncoding.EncodeToString([]byte("\x00alice\x00secret"))
	c := mustRun(t, testOpts(), func(s *peer) {
		s.writeline(greeting)
		s.readline("CAPA")
		s.write(crlf("+OK\nUSER\nSASL LOGIN plain\n.\n"))
		s.readline("AUTH PLAIN " + ir)
		s.writeline("+OK Logged in.")
	})
	if err := c.Login("alice", "secret"); err != nil {
		t.Fatalf("Login() = %v", err)
	}
}

// Capabilities already fetched are used, not asked again.
func TestLoginUsesCachedCaps(t *testing.T) {
	c := mustRun(t, testOpts(), func(s *peer) {
		s.writeline(greeting)
		s.readline("CAPA")
		s.write(crlf("+OK\nUSER\n.\n"))
		s.readline("USER alice")
		s.writeline("+OK")
		s.readline("PASS secret")
		s.writeline("+OK")
		s.readline("CAPA") // after login, capabilities must be asked again
		s.write(crlf("+OK\nTOP\nUIDL\n.\n"))
	})
	if _, err := c.Capabilities(); err != nil {
		t.Fatalf("Capabilities() = %v", err)
	}
	if err := c.Login("alice", "secret"); err != nil {
		t.Fatalf("Login() = %v", err)
	}
	caps, err := c.Capabilities()
	if err != nil || !caps.Top || caps.User {
		t.Errorf("Capabilities() = %+v, %v; want TOP and no USER", caps, err)
	}
}

func TestAuthPlain(t *testing.T) {
	long := strings.Repeat("p", 300)
	tests := map[string]struct {
		user, pass string
		opts       func(o *Options)
		script     func(s *peer)
		want       error
	}{
		"initial response": {
			user: "alice", pass: "secret",
			script: func(s *peer) {
				s.readline("AUTH PLAIN AGFsaWNlAHNlY3JldA==")
				s.writeline("+OK")
			},
		},
		"continuation": {
			user: "alice", pass: "secret",
			opts: func(o *Options) { o.DisableInitialResponse = true },
			script: func(s *peer) {
				s.readline("AUTH PLAIN")
				s.writeline("+ ")
				s.readline("AGFsaWNlAHNlY3JldA==")
				s.writeline("+OK")
			},
		},
		"continuation bare plus": {
			user: "alice", pass: "secret",
			opts: func(o *Options) { o.DisableInitialResponse = true },
			script: func(s *peer) {
				s.readline("AUTH PLAIN")
				s.writeline("+")
				s.readline("AGFsaWNlAHNlY3JldA==")
				s.writeline("+OK")
			},
		},
		// RFC 5034 §4: an initial response that would make the command
		// longer than 255 octets goes in a continuation.
		"long credentials": {
			user: "alice", pass: long,
			script: func(s *peer) {
				s.readline("AUTH PLAIN")
				s.writeline("+ ")
				s.readline(base64.StdEncoding.EncodeToString([]byte("\x00alice\x00" + long)))
				s.writeline("+OK")
			},
		},
		"refused": {
			user: "alice", pass: "wrong",
			script: func(s *peer) {
				s.readline("AUTH PLAIN AGFsaWNlAHdyb25n")
				s.writeline("-ERR [AUTH] Authentication failed.")
			},
			want: ErrAuth,
		},
		"refused without code": {
			user: "alice", pass: "wrong",
			script: func(s *peer) {
				s.readline("AUTH PLAIN AGFsaWNlAHdyb25n")
				s.writeline("-ERR Authentication failed.")
			},
			want: ErrAuth,
		},
		"refused at continuation": {
			user: "alice", pass: "wrong",
			opts: func(o *Options) { o.DisableInitialResponse = true },
			script: func(s *peer) {
				s.readline("AUTH PLAIN")
				s.writeline("-ERR [SYS/TEMP] auth service down")
			},
			want: ErrSysTemp,
		},
		"in use": {
			user: "alice", pass: "secret",
			script: func(s *peer) {
				s.readline("AUTH PLAIN AGFsaWNlAHNlY3JldA==")
				s.writeline("-ERR [IN-USE] Mailbox is locked by another POP3 session.")
			},
			want: ErrInUse,
		},
		// A second challenge is cancelled with "*" (RFC 5034 §4).
		"second challenge": {
			user: "alice", pass: "secret",
			script: func(s *peer) {
				s.readline("AUTH PLAIN AGFsaWNlAHNlY3JldA==")
				s.writeline("+ bW9yZT8=")
				s.readline("*")
				s.writeline("-ERR cancelled")
			},
			want: ErrProtocol,
		},
		"ok before credentials": {
			user: "alice", pass: "secret",
			opts: func(o *Options) { o.DisableInitialResponse = true },
			script: func(s *peer) {
				s.readline("AUTH PLAIN")
				s.writeline("+OK welcome")
			},
			want: ErrProtocol,
		},
		"garbage": {
			user: "alice", pass: "secret",
			script: func(s *peer) {
				s.readline("AUTH PLAIN AGFsaWNlAHNlY3JldA==")
				s.writeline("OK")
			},
			want: ErrProtocol,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			opts := testOpts()
			if tt.opts != nil {
				tt.opts(opts)
			}
			c := mustRun(t, opts, func(s *peer) {
				s.writeline(greeting)
				tt.script(s)
			})
			err := c.AuthPlain(tt.user, tt.pass)
			if !errIs(err, tt.want) {
				t.Fatalf("AuthPlain() = %v, want %v", err, tt.want)
			}
			if tt.want == ErrAuth || tt.want == ErrInUse || tt.want == ErrSysTemp {
				if _, ok := errors.AsType[*Error](err); !ok {
					t.Errorf("AuthPlain() = %T, want *Error", err)
				}
			}
		})
	}
}

// RFC 1939 §7's example: timestamp <1896.697170952@dbc.mtview.ca.us>,
// secret "tanstaaf".
func TestAPOPDigest(t *testing.T) {
	got := apopDigest("<1896.697170952@dbc.mtview.ca.us>", "tanstaaf")
	if want := "c4c9334bac560ecc979e58001b3e22fb"; got != want {
		t.Errorf("apopDigest() = %q, want %q", got, want)
	}
}

func TestAPOP(t *testing.T) {
	c := mustRun(t, testOpts(), func(s *peer) {
		s.writeline(greeting)
		s.readline("APOP mrose c4c9334bac560ecc979e58001b3e22fb")
		s.writeline("+OK maildrop has 1 message (369 octets)")
	})
	if !c.SupportsAPOP() {
		t.Fatalf("SupportsAPOP() = false, want true")
	}
	if err := c.APOP("mrose", "tanstaaf"); err != nil {
		t.Fatalf("APOP() = %v", err)
	}
}

func TestAPOPRefused(t *testing.T) {
	c := mustRun(t, testOpts(), func(s *peer) {
		s.writeline(greeting)
		s.readline("APOP mrose e578a46980172682bdd742405bfe7df7")
		s.writeline("-ERR permission denied")
	})
	if err := c.APOP("mrose", "wrong"); !errors.Is(err, ErrAuth) {
		t.Fatalf("APOP() = %v, want %v", err, ErrAuth)
	}
}

func TestAPOPWithoutTimestamp(t *testing.T) {
	c := mustRun(t, testOpts(), func(s *peer) {
		s.writeline("+OK POP3 server ready")
		s.readEOF()
	})
	if err := c.APOP("mrose", "tanstaaf"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("APOP() = %v, want %v", err, ErrUnsupported)
	}
	c.Close()
}

// Without TLS and without AllowInsecureAuth, no authentication method
// sends anything at all, even when the server does not offer STLS.
func TestInsecureAuthRefused(t *testing.T) {
	tests := map[string]func(c *Client) error{
		"Login":     func(c *Client) error { return c.Login("alice", "secret") },
		"AuthPlain": func(c *Client) error { return c.AuthPlain("alice", "secret") },
		"APOP":      func(c *Client) error { return c.APOP("alice", "secret") },
	}
	for name, call := range tests {
		t.Run(name, func(t *testing.T) {
			c := mustRun(t, &Options{Timeout: 5 * time.Second}, func(s *peer) {
				s.writeline(greeting)
				s.readEOF()
			})
			if err := call(c); !errors.Is(err, ErrInsecureAuth) {
				t.Errorf("%s() = %v, want %v", name, err, ErrInsecureAuth)
			}
			c.Close()
		})
	}
}

// The server offers STLS but refuses it: the password must still not be
// sent in clear, and the session stays usable.
func TestStartTLSRefused(t *testing.T) {
	c := mustRun(t, &Options{Timeout: 5 * time.Second, TLSConfig: clientTLS()}, func(s *peer) {
		s.writeline(greeting)
		s.readline("CAPA")
		s.write(crlf("+OK\nSTLS\nUSER\n.\n"))
		s.readline("STLS")
		s.writeline("-ERR TLS support isn't enabled.")
		s.readline("QUIT") // and nothing in between: no USER, no PASS
		s.writeline("+OK bye")
	})
	caps, err := c.Capabilities()
	if err != nil || !caps.STLS {
		t.Fatalf("Capabilities() = %+v, %v; want STLS", caps, err)
	}
	err = c.StartTLS(nil)
	if e, ok := errors.AsType[*Error](err); !ok || e.Cmd != "STLS" {
		t.Fatalf("StartTLS() = %v, want an *Error for STLS", err)
	}
	if c.IsTLS() {
		t.Errorf("IsTLS() = true after a refused STLS")
	}
	if err := c.Login("alice", "secret"); !errors.Is(err, ErrInsecureAuth) {
		t.Errorf("Login() = %v, want %v", err, ErrInsecureAuth)
	}
	if err := c.Quit(); err != nil {
		t.Errorf("Quit() = %v", err)
	}
}

func TestStartTLS(t *testing.T) {
	c := mustRun(t, &Options{Timeout: 5 * time.Second, TLSConfig: clientTLS()}, func(s *peer) {
		s.writeline(greeting)
		s.readline("CAPA")
		s.write(crlf("+OK\nSTLS\nSASL\n.\n"))
		s.readline("STLS")
		s.writeline("+OK Begin TLS negotiation now.")
		s.starttls(serverTLS())
		// Capabilities are asked again after STLS (RFC 2595 §4).
		s.readline("CAPA")
		s.write(crlf("+OK\nUSER\nSASL PLAIN\n.\n"))
		s.readline("AUTH PLAIN AGFsaWNlAHNlY3JldA==")
		s.writeline("+OK Logged in.")
		s.readline("STAT")
		s.writeline("+OK 0 0")
		s.readline("QUIT")
		s.writeline("+OK Logging out.")
	})
	if _, err := c.Capabilities(); err != nil {
		t.Fatalf("Capabilities() = %v", err)
	}
	if err := c.StartTLS(nil); err != nil {
		t.Fatalf("StartTLS() = %v", err)
	}
	if !c.IsTLS() {
		t.Errorf("IsTLS() = false after StartTLS")
	}
	if st, ok := c.TLSConnectionState(); !ok || !st.HandshakeComplete {
		t.Errorf("TLSConnectionState() = %v, %v; want a completed handshake", st.HandshakeComplete, ok)
	}
	if err := c.Login("alice", "secret"); err != nil {
		t.Fatalf("Login() = %v", err)
	}
	if n, size, err := c.Stat(); n != 0 || size != 0 || err != nil {
		t.Errorf("Stat() = %d, %d, %v; want 0, 0, nil", n, size, err)
	}
	if err := c.Quit(); err != nil {
		t.Errorf("Quit() = %v", err)
	}
}

// Octets sent after "+OK" but before the handshake could have been
// injected by an attacker; the client must not take them as a reply.
func TestStartTLSInjection(t *testing.T) {
	c := mustRun(t, &Options{Timeout: 5 * time.Second, TLSConfig: clientTLS()}, func(s *peer) {
		s.writeline(greeting)
		s.readline("STLS")
		s.tryWrite("+OK begin\r\n+OK injected\r\n")
	})
	if err := c.StartTLS(nil); !errors.Is(err, ErrProtocol) {
		t.Fatalf("StartTLS() = %v, want %v", err, ErrProtocol)
	}
	if err := c.Login("alice", "secret"); !errors.Is(err, ErrProtocol) {
		t.Errorf("Login() after a failed STLS = %v, want it to repeat %v", err, ErrProtocol)
	}
}

// Over loopback TCP rather than net.Pipe: with an unbuffered pipe the
// client's alert and the server's last handshake flight would block each
// other until the deadline.
func TestStartTLSUntrustedCert(t *testing.T) {
	addr := serve(t, false, func(s *peer) {
		s.writeline(greeting)
		s.readline("STLS")
		s.writeline("+OK")
		tls.Server(s.conn, serverTLS()).Handshake() // fails: the client hangs up
	})
	c, err := Dial(addr, &Options{Timeout: 5 * time.Second, TLSConfig: &tls.Config{ServerName: "pop.example"}})
	if err != nil {
		t.Fatalf("Dial() = %v", err)
	}
	defer c.Close()
	err = c.StartTLS(nil)
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); !ok {
		t.Fatalf("StartTLS() = %v, want a certificate verification error", err)
	}
	if err := c.Login("alice", "secret"); err == nil {
		t.Errorf("Login() after a failed handshake = nil, want an error")
	}
}

// serve accepts one connection on a loopback listener and runs script on
// it, optionally over implicit TLS.
func serve(t *testing.T, implicitTLS bool, script func(s *peer)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback listener: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		conn, err := ln.Accept()
		ln.Close()
		if err != nil {
			t.Errorf("Accept() = %v", err)
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		if implicitTLS {
			conn = tls.Server(conn, serverTLS())
		}
		s := &peer{t: t, conn: conn}
		s.br = bufio.NewReader(conn)
		script(s)
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return ln.Addr().String()
}

func TestDialTLS(t *testing.T) {
	_, pool := testCert()
	addr := serve(t, true, func(s *peer) {
		s.writeline(greeting)
		s.readline("AUTH PLAIN AGFsaWNlAHNlY3JldA==")
		s.writeline("+OK")
		s.readline("QUIT")
		s.writeline("+OK")
	})
	// No ServerName: it comes from the address, 127.0.0.1, which the
	// certificate holds as an IP SAN.
	c, err := DialTLS(addr, &Options{TLSConfig: &tls.Config{RootCAs: pool}})
	if err != nil {
		t.Fatalf("DialTLS() = %v", err)
	}
	defer c.Close()
	if !c.IsTLS() {
		t.Errorf("IsTLS() = false after DialTLS")
	}
	if err := c.AuthPlain("alice", "secret"); err != nil {
		t.Fatalf("AuthPlain() = %v", err)
	}
	if err := c.Quit(); err != nil {
		t.Errorf("Quit() = %v", err)
	}
}

func TestDialStartTLS(t *testing.T) {
	_, pool := testCert()
	addr := serve(t, false, func(s *peer) {
		s.writeline("+OK ready")
		s.readline("STLS")
		s.writeline("+OK go ahead")
		s.starttls(serverTLS())
		s.readline("NOOP")
		s.writeline("+OK")
	})
	c, err := Dial(addr, &Options{TLSConfig: &tls.Config{RootCAs: pool}})
	if err != nil {
		t.Fatalf("Dial() = %v", err)
	}
	defer c.Close()
	if err := c.StartTLS(nil); err != nil {
		t.Fatalf("StartTLS() = %v", err)
	}
	if err := c.Noop(); err != nil {
		t.Errorf("Noop() = %v", err)
	}
}

func TestDialTLSUntrusted(t *testing.T) {
	addr := serve(t, true, func(s *peer) {
		s.conn.(*tls.Conn).Handshake()
	})
	if _, err := DialTLS(addr, nil); err == nil {
		t.Fatalf("DialTLS() with an untrusted certificate = nil, want an error")
	}
}

func TestDialRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback listener: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if _, err := Dial(addr, nil); err == nil {
		t.Errorf("Dial() to a closed port = nil, want an error")
	}
	if _, err := Dial("no-port", nil); err == nil {
		t.Errorf("Dial() without a port = nil, want an error")
	}
}

// Without a ServerName the handshake cannot verify anything: StartTLS
// says so before sending STLS, and the session stays usable.
func TestStartTLSNoServerName(t *testing.T) {
	c := mustRun(t, testOpts(), func(s *peer) {
		s.writeline(greeting)
		s.readline("NOOP")
		s.writeline("+OK")
	})
	if err := c.StartTLS(&tls.Config{}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("StartTLS() = %v, want %v", err, ErrInvalidArgument)
	}
	if err := c.Noop(); err != nil {
		t.Errorf("Noop() = %v", err)
	}
}
