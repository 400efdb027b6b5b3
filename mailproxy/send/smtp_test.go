package send

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/mailproxy/demo"
	"github.com/thumbmail/thumbmail/mailproxy/message"
)

func newSubmitter(t *testing.T, o *demo.SMTPOptions) (*demo.SMTPServer, *Submitter) {
	t.Helper()
	srv, err := demo.StartSMTP(o)
	if err != nil {
		t.Fatalf("StartSMTP() = %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	up, err := mailproxy.ParseUpstream(srv.URL(), "smtp")
	if err != nil {
		t.Fatal(err)
	}
	return srv, NewSubmitter(&SubmitOptions{SMTP: up, Timeout: 2 * time.Second, Logger: slog.New(slog.DiscardHandler)})
}

var demoCreds = mailproxy.Credentials{Username: "demo", Password: "demo"}

func TestSendDotLineAndEncoding(t *testing.T) {
	srv, sub := newSubmitter(t, nil)
	o := &Outgoing{
		From:    mailproxy.Address{Name: "Jörg Müller", Email: "demo@example.org"},
		To:      []mailproxy.Address{{Name: "Ann", Email: "ann@example.org"}},
		Bcc:     []mailproxy.Address{{Email: "secret@example.org"}},
		Subject: "Grüße – über alles",
		Text:    "first\n.\n..\nlast line é\n",
	}
	raw, err := o.Build()
	if err != nil {
		t.Fatalf("Build() = %v", err)
	}
	if err := sub.Send(context.Background(), demoCreds, o.From.Email, o.Recipients(), raw); err != nil {
		t.Fatalf("Send() = %v", err)
	}
	subs := srv.Submissions()
	if len(subs) != 1 {
		t.Fatalf("server got %d messages, want 1", len(subs))
	}
	got := subs[0]
	if strings.Join(got.To, ",") != "ann@example.org,secret@example.org" || got.From != "demo@example.org" {
		t.Errorf("envelope = %q → %q", got.From, got.To)
	}
	if strings.Contains(string(got.Data), "secret@") {
		t.Errorf("Bcc written into the message:\n%s", got.Data)
	}
	if strings.Contains(strings.ReplaceAll(string(got.Data), "\r\n", ""), "\n") {
		t.Errorf("message has bare LF line ends")
	}
	mr, err := mail.CreateReader(strings.NewReader(string(got.Data)))
	if err != nil {
		t.Fatalf("CreateReader() = %v", err)
	}
	subj, _ := mr.Header.Subject()
	if subj != o.Subject {
		t.Errorf("Subject = %q, want %q", subj, o.Subject)
	}
	if raw := mr.Header.Get("Subject"); !strings.HasPrefix(raw, "=?") {
		t.Errorf("raw Subject %q is not RFC 2047 encoded", raw)
	}
	from, _ := mr.Header.AddressList("From")
	if len(from) != 1 || from[0].Name != "Jörg Müller" {
		t.Errorf("From = %v", from)
	}
	if id, _ := mr.Header.MessageID(); !strings.HasSuffix(id, "@example.org") {
		t.Errorf("Message-ID = %q", id)
	}
	p, err := mr.NextPart()
	if err != nil {
		t.Fatalf("NextPart() = %v", err)
	}
	body, _ := io.ReadAll(p.Body)
	if string(body) != "first\r\n.\r\n..\r\nlast line é\r\n" {
		t.Errorf("body = %q, want the lone dot lines intact", body)
	}
}

func TestSendFailures(t *testing.T) {
	refuse := func(code int) error {
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0}, Message: "secret upstream detail"}
	}
	tests := map[string]struct {
		step  string
		err   error
		creds mailproxy.Credentials
		want  error
	}{
		"greeting dropped":     {step: "greeting", err: errors.New("drop"), want: mailproxy.ErrUnavailable},
		"greeting 554":         {step: "greeting", err: refuse(554), want: mailproxy.ErrUnavailable},
		"EHLO refused":         {step: "EHLO", err: refuse(421), want: mailproxy.ErrUnavailable},
		"wrong password":       {creds: mailproxy.Credentials{Username: "demo", Password: "nope"}, want: mailproxy.ErrAuth},
		"AUTH temporary":       {step: "AUTH", err: refuse(454), want: mailproxy.ErrUnavailable},
		"MAIL refused":         {step: "MAIL", err: refuse(553), want: ErrRejected},
		"MAIL temporary":       {step: "MAIL", err: refuse(451), want: mailproxy.ErrUnavailable},
		"RCPT refused":         {step: "RCPT bob@example.org", err: refuse(550), want: ErrRecipient},
		"RCPT temporary":       {step: "RCPT bob@example.org", err: refuse(450), want: mailproxy.ErrUnavailable},
		"DATA refused":         {step: "DATA", err: refuse(554), want: ErrRejected},
		"DATA temporary":       {step: "DATA", err: refuse(452), want: mailproxy.ErrUnavailable},
		"DATA reply times out": {step: "DATA", err: errHang, want: ErrUnconfirmed},
		"MAIL times out":       {step: "MAIL", err: errHang, want: mailproxy.ErrUnavailable},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv, sub := newSubmitter(t, &demo.SMTPOptions{Fail: func(step string) error {
				if step != tc.step {
					return nil
				}
				if tc.err == errHang {
					time.Sleep(5 * time.Second)
					return nil
				}
				return tc.err
			}})
			creds := tc.creds
			if creds.Username == "" {
				creds = demoCreds
			}
			err := sub.Send(context.Background(), creds, "demo@example.org", []string{"ann@example.org", "bob@example.org"}, []byte("Subject: x\r\n\r\nhi\r\n"))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Send() = %v, want %v", err, tc.want)
			}
			var re *RecipientError
			if errors.As(err, &re) && re.Address != "bob@example.org" {
				t.Errorf("RecipientError.Address = %q", re.Address)
			}
			if n := len(srv.Submissions()); n != 0 {
				t.Errorf("server accepted %d messages", n)
			}
		})
	}
}

var errHang = errors.New("hang")

func TestSendUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	up, _ := mailproxy.ParseUpstream("smtp+insecure://"+addr, "smtp")
	sub := NewSubmitter(&SubmitOptions{SMTP: up, Timeout: time.Second})
	if err := sub.Send(context.Background(), demoCreds, "a@example.org", []string{"b@example.org"}, []byte("\r\n")); !errors.Is(err, mailproxy.ErrUnavailable) {
		t.Fatalf("Send() = %v, want ErrUnavailable", err)
	}
}

func TestSendStartTLSRequired(t *testing.T) {
	srv, err := demo.StartSMTP(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	up, _ := mailproxy.ParseUpstream("smtp://"+srv.Addr(), "smtp")
	sub := NewSubmitter(&SubmitOptions{SMTP: up, Timeout: time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err := sub.Send(context.Background(), demoCreds, "demo@example.org", []string{"b@example.org"}, []byte("\r\n")); !errors.Is(err, mailproxy.ErrUnavailable) {
		t.Fatalf("Send() without STARTTLS offered = %v, want ErrUnavailable", err)
	}
	if n := len(srv.Submissions()); n != 0 {
		t.Errorf("sent in plain text: %d messages", n)
	}
}

func TestSendAuthLoginFallback(t *testing.T) {
	for name, mechs := range map[string][]string{"LOGIN only": {"LOGIN"}, "PLAIN only": {"PLAIN"}} {
		t.Run(name, func(t *testing.T) {
			srv, sub := newSubmitter(t, &demo.SMTPOptions{AuthMechs: mechs})
			if err := sub.Send(context.Background(), demoCreds, "demo@example.org", []string{"b@example.org"}, []byte("Subject: x\r\n\r\nhi\r\n")); err != nil {
				t.Fatalf("Send() = %v", err)
			}
			if s := srv.Submissions(); len(s) != 1 || s[0].User != "demo" {
				t.Errorf("Submissions() = %+v", s)
			}
		})
	}
}

func TestSendContextCancel(t *testing.T) {
	_, sub := newSubmitter(t, &demo.SMTPOptions{Fail: func(step string) error {
		if step == "MAIL" {
			time.Sleep(3 * time.Second)
		}
		return nil
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := sub.Send(ctx, demoCreds, "demo@example.org", []string{"b@example.org"}, []byte("\r\n"))
	if !errors.Is(err, mailproxy.ErrUnavailable) {
		t.Fatalf("Send() = %v, want ErrUnavailable", err)
	}
}

// testCert is a self-signed certificate for 127.0.0.1 and a pool that
// trusts it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtp.test"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func TestSendTLS(t *testing.T) {
	cert, pool := testCert(t)
	srvTLS := &tls.Config{Certificates: []tls.Certificate{cert}}
	tests := map[string]struct {
		implicit bool
		roots    *x509.CertPool
		want     error
	}{
		"STARTTLS":               {roots: pool},
		"implicit TLS":           {implicit: true, roots: pool},
		"STARTTLS untrusted":     {roots: x509.NewCertPool(), want: mailproxy.ErrUnavailable},
		"implicit TLS untrusted": {implicit: true, roots: x509.NewCertPool(), want: mailproxy.ErrUnavailable},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv, err := demo.StartSMTP(&demo.SMTPOptions{TLSConfig: srvTLS, ImplicitTLS: tc.implicit})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			up, err := mailproxy.ParseUpstream(srv.URL(), "smtp")
			if err != nil {
				t.Fatal(err)
			}
			sub := NewSubmitter(&SubmitOptions{SMTP: up, Timeout: 2 * time.Second, TLSConfig: &tls.Config{RootCAs: tc.roots}, Logger: slog.New(slog.DiscardHandler)})
			err = sub.Send(context.Background(), demoCreds, "demo@example.org", []string{"b@example.org"}, []byte("Subject: x\r\n\r\nhi\r\n"))
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Send() = %v, want %v", err, tc.want)
			}
			if n := len(srv.Submissions()); (n == 1) != (tc.want == nil) {
				t.Errorf("server accepted %d messages", n)
			}
		})
	}
}

// scriptedPeer plays an SMTP server line by line: "S: " lines are sent,
// "C: " lines must arrive (as a prefix), "C: ." reads the DATA body up to
// its lone dot. It reports the first mismatch on errc.
func scriptedPeer(t *testing.T, script []string) (addr string, errc chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	errc = make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			errc <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		r := bufio.NewReader(c)
		for _, line := range script {
			dir, text, _ := strings.Cut(line, ": ")
			if dir == "S" {
				io.WriteString(c, text+"\r\n")
				continue
			}
			for {
				got, err := r.ReadString('\n')
				if err != nil {
					errc <- fmt.Errorf("want %q, read: %v", text, err)
					return
				}
				got = strings.TrimRight(got, "\r\n")
				if text == "." && got != "." {
					continue // the DATA body
				}
				if !strings.HasPrefix(got, text) {
					errc <- fmt.Errorf("got %q, want %q", got, text)
					return
				}
				break
			}
		}
		errc <- nil
	}()
	return ln.Addr().String(), errc
}

func TestSendScripted(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := map[string]struct {
		scheme string
		script []string
		want   error
	}{
		"STARTTLS refused": {"smtp", []string{
			"S: 220 test ESMTP", "C: EHLO", "S: 250-test", "S: 250 STARTTLS", "C: STARTTLS", "S: 454 4.7.0 TLS not available",
		}, mailproxy.ErrUnavailable},
		"STARTTLS not offered": {"smtp", []string{
			"S: 220 test ESMTP", "C: EHLO", "S: 250-test", "S: 250 AUTH PLAIN",
		}, mailproxy.ErrUnavailable},
		"greeting 421": {"smtp+insecure", []string{"S: 421 4.3.2 shutting down"}, mailproxy.ErrUnavailable},
		"PLAIN unknown, LOGIN used": {"smtp+insecure", []string{
			"S: 220 test ESMTP", "C: EHLO", "S: 250-test", "S: 250 AUTH PLAIN LOGIN",
			"C: AUTH PLAIN", "S: 504 5.5.4 unrecognized authentication type", "C: *", "S: 501 5.5.2 no AUTH in progress",
			"C: AUTH LOGIN", "S: 334 " + b64("Username:"), "C: " + b64("demo"), "S: 334 " + b64("Password:"), "C: " + b64("demo"), "S: 235 2.7.0 ok",
			"C: MAIL FROM:<demo@example.org>", "S: 250 ok", "C: RCPT TO:<b@example.org>", "S: 250 ok",
			"C: DATA", "S: 354 go on", "C: .", "S: 250 queued", "C: QUIT", "S: 221 bye",
		}, nil},
		"no AUTH offered: sent without": {"smtp+insecure", []string{
			"S: 220 test ESMTP", "C: EHLO", "S: 250 test",
			"C: MAIL FROM:<demo@example.org>", "S: 250 ok", "C: RCPT TO:<b@example.org>", "S: 250 ok",
			"C: DATA", "S: 354 go on", "C: .", "S: 250 queued", "C: QUIT", "S: 221 bye",
		}, nil},
		"535 is ErrAuth": {"smtp+insecure", []string{
			"S: 220 test ESMTP", "C: EHLO", "S: 250-test", "S: 250 AUTH PLAIN", "C: AUTH PLAIN", "S: 535 5.7.8 bad credentials",
		}, mailproxy.ErrAuth},
		"second recipient refused": {"smtp+insecure", []string{
			"S: 220 test ESMTP", "C: EHLO", "S: 250 test",
			"C: MAIL FROM:<demo@example.org>", "S: 250 ok", "C: RCPT TO:<b@example.org>", "S: 250 ok",
			"C: RCPT TO:<c@example.org>", "S: 550 5.1.1 no such user",
		}, ErrRecipient},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			addr, errc := scriptedPeer(t, tc.script)
			up, _ := mailproxy.ParseUpstream(tc.scheme+"://"+addr, "smtp")
			sub := NewSubmitter(&SubmitOptions{SMTP: up, Timeout: 2 * time.Second, Logger: slog.New(slog.DiscardHandler)})
			rcpts := []string{"b@example.org"}
			if tc.want == ErrRecipient {
				rcpts = append(rcpts, "c@example.org")
			}
			err := sub.Send(context.Background(), demoCreds, "demo@example.org", rcpts, []byte("Subject: x\r\n\r\n.\r\nhi\r\n"))
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Send() = %v, want %v", err, tc.want)
			}
			if tc.want == nil {
				if perr := <-errc; perr != nil {
					t.Errorf("peer: %v", perr)
				}
			}
		})
	}
}

// TestSendGreetingTimeout: a server that accepts and never greets is
// given up on (the peer keeps the connection open until the test ends,
// so without a deadline Send would hang).
func TestSendGreetingTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	held := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			held <- c
		}
	}()
	defer func() {
		select {
		case c := <-held:
			c.Close()
		default:
		}
	}()
	for _, scheme := range []string{"smtp+insecure", "smtp", "smtps"} {
		up, _ := mailproxy.ParseUpstream(scheme+"://"+ln.Addr().String(), "smtp")
		sub := NewSubmitter(&SubmitOptions{SMTP: up, Timeout: 300 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
		if err := sub.Send(context.Background(), demoCreds, "a@example.org", []string{"b@example.org"}, []byte("\r\n")); !errors.Is(err, mailproxy.ErrUnavailable) {
			t.Errorf("%s: Send() to a silent server = %v, want ErrUnavailable", scheme, err)
		}
	}
}

// recordingPeer is an SMTP server that says yes to everything and keeps
// every command line it is sent, as sent (DATA bodies aside): what a
// real server would read as parameters or extra recipients shows here.
// ext are the EHLO keywords it offers.
func recordingPeer(t *testing.T, ext ...string) (url string, lines func() []string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	var got []string
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				r := bufio.NewReader(c)
				io.WriteString(c, "220 rec ESMTP\r\n")
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					line = strings.TrimRight(line, "\r\n")
					mu.Lock()
					got = append(got, line)
					mu.Unlock()
					switch verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0]); verb {
					case "EHLO":
						io.WriteString(c, "250-rec\r\n")
						for _, e := range ext {
							io.WriteString(c, "250-"+e+"\r\n")
						}
						io.WriteString(c, "250 HELP\r\n")
					case "DATA":
						io.WriteString(c, "354 go on\r\n")
						for {
							l, err := r.ReadString('\n')
							if err != nil {
								return
							}
							if l == ".\r\n" {
								break
							}
						}
						io.WriteString(c, "250 queued\r\n")
					case "QUIT":
						io.WriteString(c, "221 bye\r\n")
						return
					default:
						io.WriteString(c, "250 ok\r\n")
					}
				}
			}()
		}
	}()
	return "smtp+insecure://" + ln.Addr().String(), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
}

// envelopeLines are the MAIL and RCPT lines of a session.
func envelopeLines(lines []string) []string {
	var out []string
	for _, l := range lines {
		if u := strings.ToUpper(l); strings.HasPrefix(u, "MAIL") || strings.HasPrefix(u, "RCPT") {
			out = append(out, l)
		}
	}
	return out
}

func recordingSubmitter(t *testing.T, ext ...string) (*Submitter, func() []string) {
	t.Helper()
	u, lines := recordingPeer(t, ext...)
	up, err := mailproxy.ParseUpstream(u, "smtp")
	if err != nil {
		t.Fatal(err)
	}
	return NewSubmitter(&SubmitOptions{SMTP: up, Timeout: 2 * time.Second, Logger: slog.New(slog.DiscardHandler)}), lines
}

const injectionMail = "From: Bob <bob@corp.example>\r\n" +
	`Reply-To: "x@evil.example, \"bob@corp.example> NOTIFY=SUCCESS,FAILURE X\""@evil.example` + "\r\n" +
	"To: demo@example.org\r\nSubject: lunch?\r\nMessage-ID: <m1@corp.example>\r\n\r\nLunch?\r\n"

// TestSendEnvelopeInjection is issue 12, item 3, below the handlers: a
// Reply-To whose quoted local part holds `> NOTIFY=...` and a comma, and
// a typed To holding `> ORCPT=...`, go the way a quick reply and the
// compose form take them (ReplyRecipients, the To field, ParseAddresses,
// Check, Recipients, Send). No MAIL or RCPT line may carry a parameter
// or an extra recipient: the address is refused, named, and nothing is
// dialled.
func TestSendEnvelopeInjection(t *testing.T) {
	msg := message.ParseMessage(strings.NewReader(injectionMail), 1<<20, mailproxy.ViewOptions{}, nil)
	if len(msg.ReplyTo) != 1 {
		t.Fatalf("Reply-To parsed as %d addresses, want one: %+v", len(msg.ReplyTo), msg.ReplyTo)
	}
	to, _ := ReplyRecipients(msg, "demo@example.org", false)
	field := FormatAddresses(to)
	if field != attackReplyTo {
		t.Errorf("the reply's To field = %q, want the one address quoted: %q", field, attackReplyTo)
	}
	tests := map[string]struct {
		typed string
		n     int // addresses in it
	}{
		"quick reply":  {field, 1},
		"compose":      {attackTyped, 1},
		"compose, two": {"ann@example.net; " + attackTyped, 2},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			sub, lines := recordingSubmitter(t)
			parsed, err := ParseAddresses("To", tc.typed)
			if err != nil || len(parsed) != tc.n {
				t.Errorf("ParseAddresses(%q) = %+v, %v; want %d addresses", tc.typed, parsed, err, tc.n)
			}
			o := &Outgoing{From: mailproxy.Address{Email: "demo@example.org"}, To: parsed, Subject: "Re: lunch?", Text: "Yes\n"}
			err = o.Check(false)
			var ie *InputError
			if !errors.As(err, &ie) || ie.Field != "To" || !strings.Contains(ie.Reason, "cannot be used: it contains < or >") || !strings.Contains(ie.Reason, `@evil.example`) {
				t.Errorf("Check() = %v; want the To address named and refused", err)
			}
			raw, _ := o.Build()
			err = sub.Send(context.Background(), demoCreds, o.From.Email, o.Recipients(), raw)
			var ae *message.AddressError
			if !errors.As(err, &ae) || !errors.Is(err, mailproxy.ErrBadInput) || ae.Sender || ae.Reason != "contains < or >" {
				t.Errorf("Send() = %v; want an *AddressError for the recipient", err)
			}
			for _, l := range envelopeLines(lines()) {
				t.Errorf("sent %q; want nothing sent", l)
			}
		})
	}
}

// TestSendEnvelopeQuoted: addresses that need quoting are quoted, each
// is one RCPT with nothing after its closing bracket, internationalized
// domains go in ASCII, a recipient given twice goes once.
func TestSendEnvelopeQuoted(t *testing.T) {
	sub, lines := recordingSubmitter(t)
	rcpts := []string{"john smith@example.net", `"a,b"@example.net`, "a;b@example.net", "ann@bücher.example", "ann@[192.0.2.1]", "John Smith@example.net"}
	if err := sub.Send(context.Background(), demoCreds, "demo@example.org", rcpts, []byte("Subject: x\r\n\r\nhi\r\n")); err != nil {
		t.Fatalf("Send() = %v", err)
	}
	want := []string{
		"MAIL FROM:<demo@example.org>",
		`RCPT TO:<"john smith"@example.net>`,
		`RCPT TO:<"a,b"@example.net>`,
		`RCPT TO:<"a;b"@example.net>`,
		"RCPT TO:<ann@xn--bcher-kva.example>",
		"RCPT TO:<ann@[192.0.2.1]>",
	}
	if got := envelopeLines(lines()); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("envelope:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestSendEnvelopeSender: MAIL FROM goes through the same gate; a sender
// that is not a complete address is refused as the sender's.
func TestSendEnvelopeSender(t *testing.T) {
	for _, from := range []string{"demo", "demo@example.org> RET=FULL", "demo@example.org\r\nRCPT TO:<x@evil.example>"} {
		sub, lines := recordingSubmitter(t)
		err := sub.Send(context.Background(), demoCreds, from, []string{"ann@example.net"}, []byte("Subject: x\r\n\r\nhi\r\n"))
		var ae *message.AddressError
		if !errors.As(err, &ae) || !ae.Sender {
			t.Errorf("Send(from %q) = %v; want an *AddressError for the sender", from, err)
		}
		if got := envelopeLines(lines()); len(got) != 0 {
			t.Errorf("Send(from %q) sent %q", from, got)
		}
	}
}

// TestSendEnvelopeUTF8: a non-ASCII local part (RFC 6531) goes only to a
// server that offers SMTPUTF8, with the SMTPUTF8 parameter; to any other
// it is refused, naming the address, before MAIL.
func TestSendEnvelopeUTF8(t *testing.T) {
	msg := []byte("Subject: x\r\n\r\nhi\r\n")
	sub, lines := recordingSubmitter(t)
	err := sub.Send(context.Background(), demoCreds, "demo@example.org", []string{"jörg@bücher.example"}, msg)
	var ae *message.AddressError
	if !errors.As(err, &ae) || ae.Address != "jörg@xn--bcher-kva.example" || !strings.Contains(ae.Reason, "SMTPUTF8") {
		t.Errorf("Send() without SMTPUTF8 = %v; want an *AddressError naming the address", err)
	}
	if got := envelopeLines(lines()); len(got) != 0 {
		t.Errorf("sent %q without SMTPUTF8", got)
	}

	sub, lines = recordingSubmitter(t, "SMTPUTF8")
	if err := sub.Send(context.Background(), demoCreds, "demo@example.org", []string{"jörg@bücher.example", "ann@example.net"}, msg); err != nil {
		t.Fatalf("Send() with SMTPUTF8 = %v", err)
	}
	want := "MAIL FROM:<demo@example.org> SMTPUTF8\nRCPT TO:<jörg@xn--bcher-kva.example>\nRCPT TO:<ann@example.net>"
	if got := strings.Join(envelopeLines(lines()), "\n"); got != want {
		t.Errorf("envelope:\n%s\nwant:\n%s", got, want)
	}
}

// TestSendEnvelopeGoSMTP: against go-smtp's own server (the demo), a
// quoted local part arrives as the one address it is, and the injection
// reaches it not at all.
func TestSendEnvelopeGoSMTP(t *testing.T) {
	srv, sub := newSubmitter(t, nil)
	if err := sub.Send(context.Background(), demoCreds, "demo@example.org", []string{"john smith@example.net"}, []byte("Subject: x\r\n\r\nhi\r\n")); err != nil {
		t.Fatalf("Send() = %v", err)
	}
	if err := sub.Send(context.Background(), demoCreds, "demo@example.org", []string{"ann@example.net", attackHeld}, []byte("Subject: x\r\n\r\nhi\r\n")); !errors.Is(err, mailproxy.ErrBadInput) {
		t.Errorf("Send(attack) = %v, want ErrBadInput", err)
	}
	subs := srv.Submissions()
	if len(subs) != 1 || strings.Join(subs[0].To, "|") != "john smith@example.net" {
		t.Errorf("server got %+v; want one message to john smith@example.net", subs)
	}
}
