package pop3

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// peer is the server side of a scripted session over net.Pipe, in the
// style of mox's smtpclient tests: s.writeline("+OK ready");
// s.readline("USER alice"). A failed step reports the error and ends the
// script's goroutine.
type peer struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

// writeline sends line and CRLF.
func (s *peer) writeline(line string) {
	s.t.Helper()
	s.write(line + "\r\n")
}

// write sends data as is.
func (s *peer) write(data string) {
	s.t.Helper()
	if _, err := io.WriteString(s.conn, data); err != nil {
		s.t.Errorf("peer: write %.40q: %v", data, err)
		runtime.Goexit()
	}
}

// tryWrite sends data and ignores errors, for a client expected to give up
// before reading it all.
func (s *peer) tryWrite(data string) {
	io.WriteString(s.conn, data)
}

// readline reads one command line and checks it is want plus CRLF.
func (s *peer) readline(want string) {
	s.t.Helper()
	line, err := s.br.ReadString('\n')
	if err != nil {
		s.t.Errorf("peer: read: %v, want %q", err, want)
		runtime.Goexit()
	}
	if line != want+"\r\n" {
		s.t.Errorf("peer: got %q, want %q", line, want+"\r\n")
		runtime.Goexit()
	}
}

// readEOF checks that the client sends nothing more before hanging up.
func (s *peer) readEOF() {
	s.t.Helper()
	line, err := s.br.ReadString('\n')
	if line != "" || !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrClosedPipe) {
		s.t.Errorf("peer: got %q, %v; want the client to hang up without sending", line, err)
		runtime.Goexit()
	}
}

// waitEOF reads and discards until the client hangs up, for scripts that
// make the client time out.
func (s *peer) waitEOF() {
	io.Copy(io.Discard, s.br)
}

// starttls runs the server side of a TLS handshake.
func (s *peer) starttls(cfg *tls.Config) {
	s.t.Helper()
	tc := tls.Server(s.conn, cfg)
	if err := tc.Handshake(); err != nil {
		s.t.Errorf("peer: TLS handshake: %v", err)
		runtime.Goexit()
	}
	s.conn = tc
	s.br = bufio.NewReader(tc)
}

// greeting is RFC 1939 §7's example greeting, with an APOP timestamp.
const greeting = "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>"

// testOpts allows plain-text authentication over net.Pipe and keeps a
// hung test short.
func testOpts() *Options {
	return &Options{AllowInsecureAuth: true, Timeout: 5 * time.Second}
}

// run connects a Client to a peer running script and returns NewClient's
// result. The script runs in its own goroutine; when the test ends the
// client side is closed and the script waited for.
func run(t *testing.T, opts *Options, script func(s *peer)) (*Client, error) {
	t.Helper()
	cconn, sconn := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer sconn.Close()
		script(&peer{t: t, conn: sconn, br: bufio.NewReader(sconn)})
	}()
	t.Cleanup(func() {
		cconn.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("peer script did not finish")
		}
	})
	return NewClient(cconn, opts)
}

// mustRun is run for scripts whose greeting must succeed.
func mustRun(t *testing.T, opts *Options, script func(s *peer)) *Client {
	t.Helper()
	c, err := run(t, opts, script)
	if err != nil {
		t.Fatalf("NewClient() = %v", err)
	}
	return c
}

// testCert is a self-signed certificate for "pop.example" and 127.0.0.1,
// made once per test binary.
var testCert = sync.OnceValues(func() (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "pop.example"},
		DNSNames:              []string{"pop.example"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
})

// serverTLS is the peer's TLS configuration.
func serverTLS() *tls.Config {
	cert, _ := testCert()
	return &tls.Config{Certificates: []tls.Certificate{cert}}
}

// clientTLS trusts the test certificate.
func clientTLS() *tls.Config {
	_, pool := testCert()
	return &tls.Config{RootCAs: pool, ServerName: "pop.example"}
}

// errIs reports whether err matches want, where a nil want means no error.
func errIs(err, want error) bool {
	if want == nil {
		return err == nil
	}
	return errors.Is(err, want)
}

// crlf turns "\n" into "\r\n", for writing multi-line replies readably.
func crlf(s string) string {
	return strings.ReplaceAll(s, "\n", "\r\n")
}
