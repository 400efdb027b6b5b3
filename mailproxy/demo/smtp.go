package demo

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Submission is one message accepted by the SMTP server.
type Submission struct {
	From string
	To   []string
	Data []byte // as received, dot-unstuffed, CRLF line ends
	User string // the name it authenticated as
}

// SMTPOptions configure an in-process SMTP submission server. A nil
// *SMTPOptions is equivalent to a zero value.
type SMTPOptions struct {
	// Addr is the loopback listen address; default "127.0.0.1:0".
	Addr string
	// Username and Password are the one accepted login; default
	// "demo"/"demo".
	Username, Password string
	// Deliver, when set, gets every accepted message; an error refuses it
	// at the end of DATA.
	Deliver func(Submission) error
	// Fail, when set, is asked before every step ("greeting", "EHLO",
	// "STARTTLS", "AUTH", "MAIL", "RCPT <address>", "DATA"); an error it
	// returns (an *smtp.SMTPError for a reply code) fails that step. A
	// "greeting" error closes the connection without a greeting.
	Fail func(step string) error
	// TLSConfig enables STARTTLS, or with ImplicitTLS TLS from the first
	// byte (smtps).
	TLSConfig   *tls.Config
	ImplicitTLS bool
	// NoAuth advertises no AUTH at all; AuthMechs restricts the
	// mechanisms offered (default PLAIN and LOGIN).
	NoAuth    bool
	AuthMechs []string
}

// SMTPServer is a running in-process SMTP submission server (go-smtp),
// used by `thumbmail -demo` to deliver replies into the demo mailboxes and
// by tests to record what was submitted and to fail on purpose.
type SMTPServer struct {
	o   SMTPOptions
	srv *smtp.Server
	ln  net.Listener

	mu   sync.Mutex
	subs []Submission
}

// StartSMTP listens on o.Addr and serves SMTP in the background until
// Close.
func StartSMTP(opts *SMTPOptions) (*SMTPServer, error) {
	s := &SMTPServer{}
	if opts != nil {
		s.o = *opts
	}
	if s.o.Addr == "" {
		s.o.Addr = "127.0.0.1:0"
	}
	if s.o.Username == "" {
		s.o.Username, s.o.Password = "demo", "demo"
	}
	if len(s.o.AuthMechs) == 0 {
		s.o.AuthMechs = []string{sasl.Plain, sasl.Login}
	}
	ln, err := net.Listen("tcp", s.o.Addr)
	if err != nil {
		return nil, fmt.Errorf("demo smtp: %w", err)
	}
	if s.o.Fail != nil {
		ln = &failListener{Listener: ln, fail: s.o.Fail}
	}
	if s.o.ImplicitTLS && s.o.TLSConfig != nil {
		ln = tls.NewListener(ln, s.o.TLSConfig)
	}
	s.ln = ln
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		if err := s.fail("EHLO"); err != nil {
			// go-smtp asks for a session at EHLO time.
			return nil, err
		}
		return &smtpSession{s: s}, nil
	}))
	s.srv.Domain = "demo.localhost"
	s.srv.AllowInsecureAuth = true
	if !s.o.ImplicitTLS {
		s.srv.TLSConfig = s.o.TLSConfig
	}
	s.srv.ReadTimeout = time.Minute
	s.srv.WriteTimeout = time.Minute
	s.srv.MaxMessageBytes = 64 << 20
	go s.srv.Serve(ln)
	return s, nil
}

// URL is the server's upstream URL: smtp+insecure://, smtp:// when it
// offers STARTTLS, smtps:// with implicit TLS.
func (s *SMTPServer) URL() string {
	if s.o.TLSConfig != nil && s.o.ImplicitTLS {
		return "smtps://" + s.ln.Addr().String()
	}
	if s.o.TLSConfig != nil {
		return "smtp://" + s.ln.Addr().String()
	}
	return "smtp+insecure://" + s.ln.Addr().String()
}

// Addr is the listen address.
func (s *SMTPServer) Addr() string { return s.ln.Addr().String() }

// Submissions returns every message accepted so far.
func (s *SMTPServer) Submissions() []Submission {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Submission(nil), s.subs...)
}

// Close stops the server.
func (s *SMTPServer) Close() error { return s.srv.Close() }

func (s *SMTPServer) fail(step string) error {
	if s.o.Fail == nil {
		return nil
	}
	return s.o.Fail(step)
}

// failListener drops connections before the greeting when asked to.
type failListener struct {
	net.Listener
	fail func(string) error
}

func (l *failListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if ferr := l.fail("greeting"); ferr != nil {
			if se, ok := ferr.(*smtp.SMTPError); ok {
				fmt.Fprintf(c, "%d %s\r\n", se.Code, se.Message)
			}
			c.Close()
			continue
		}
		return c, nil
	}
}

type smtpSession struct {
	s    *SMTPServer
	user string
	from string
	to   []string
}

var _ smtp.AuthSession = (*smtpSession)(nil)

func (ss *smtpSession) AuthMechanisms() []string {
	if ss.s.o.NoAuth {
		return nil
	}
	return ss.s.o.AuthMechs
}

func (ss *smtpSession) check(user, pass string) error {
	if err := ss.s.fail("AUTH"); err != nil {
		return err
	}
	if user != ss.s.o.Username || pass != ss.s.o.Password {
		return smtp.ErrAuthFailed
	}
	ss.user = user
	return nil
}

func (ss *smtpSession) Auth(mech string) (sasl.Server, error) {
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && identity != user {
				return smtp.ErrAuthFailed
			}
			return ss.check(user, pass)
		}), nil
	case sasl.Login:
		return &loginServer{check: ss.check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if !ss.s.o.NoAuth && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	if err := ss.s.fail("MAIL"); err != nil {
		return err
	}
	ss.from = from
	return nil
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := ss.s.fail("RCPT " + to); err != nil {
		return err
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := ss.s.fail("DATA"); err != nil {
		return err
	}
	sub := Submission{From: ss.from, To: append([]string(nil), ss.to...), Data: data, User: ss.user}
	if ss.s.o.Deliver != nil {
		if err := ss.s.o.Deliver(sub); err != nil {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "delivery failed"}
		}
	}
	ss.s.mu.Lock()
	ss.s.subs = append(ss.s.subs, sub)
	ss.s.mu.Unlock()
	return nil
}

func (ss *smtpSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *smtpSession) Logout() error { return nil }

// loginServer is the server side of the obsolete but common LOGIN
// mechanism (draft-murchison-sasl-login): "Username:", "Password:".
type loginServer struct {
	check      func(user, pass string) error
	user       string
	state      int
	gotInitial bool
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.state {
	case 0:
		l.state = 1
		if resp != nil {
			l.user = string(resp)
			l.state = 2
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.user = string(resp)
		l.state = 2
		return []byte("Password:"), false, nil
	case 2:
		l.state = 3
		return nil, true, l.check(l.user, string(resp))
	}
	return nil, false, errors.New("unexpected LOGIN response")
}

// StartSMTP starts the demo's SMTP server: it accepts mail from the demo
// user and delivers a copy into the demo INBOX when the demo address
// (demo@example.org, or the bare user name) is among the recipients;
// mail to anyone else is accepted and dropped.
func (s *Server) StartSMTP() (*SMTPServer, error) {
	return StartSMTP(&SMTPOptions{
		Username: s.username,
		Password: s.password,
		Deliver: func(sub Submission) error {
			for _, to := range sub.To {
				if strings.EqualFold(to, me.email) || strings.EqualFold(to, s.username) || strings.EqualFold(to, s.username+"@example.org") {
					raw := append([]byte("Delivered-To: "+me.email+"\r\n"), sub.Data...)
					return appendRaw(s.user, "INBOX", bytes.Clone(raw), time.Now(), nil)
				}
			}
			return nil
		},
	})
}

// Address is the demo user's mail address, demo@example.org.
func (s *Server) Address() string { return me.email }
