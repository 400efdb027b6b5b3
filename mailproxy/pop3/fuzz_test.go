package pop3

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// Seeds shared by the fuzz targets; more live in testdata/fuzz.
var fuzzSeeds = []string{
	"+OK\r\n",
	greeting + "\r\n",
	"-ERR [IN-USE] Mailbox is locked by another POP3 session.\r\n",
	"-ERR [SYS/TEMP]\r\n-ERR [AUTH] x\r\n-ERR [LOGIN-DELAY] y\r\n-ERR [SYS/PERM]\r\n",
	"+OK\r\n1 120\r\n2 200\r\n.\r\n",
	"+OK\r\n..foo\r\n.bar\r\n\r\n.\r\n",
	"+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n.\r\n",
	"+OK\r\nTOP\r\nSASL PLAIN\r\nLOGIN-DELAY 900 USER\r\nEXPIRE NEVER\r\n.\r\n",
	"+OK\r\nabc\r\n.",
	".\r\n",
	"+OK\n.\n",
	"+ \r\n+OK\r\n",
	"-ERR [\r\n-ERR []\r\n-ERR [a/]\r\n",
}

// FuzzReadResponse feeds arbitrary octets to the status-line reader and
// the response-code parser: no panic, lines bounded, at most one sentinel
// per error.
func FuzzReadResponse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const max = 64
		br := bufio.NewReaderSize(bytes.NewReader(data), 16)
		for range 100 {
			line, err := readLine(br, max)
			if err != nil {
				return
			}
			if len(line) > max {
				t.Fatalf("readLine() returned %d octets, over %d", len(line), max)
			}
			ok, text, err := parseStatus(line)
			if err != nil {
				if !errors.Is(err, ErrProtocol) {
					t.Fatalf("parseStatus() = %v, want ErrProtocol", err)
				}
				continue
			}
			if ts := apopTimestamp(text); ts != "" {
				if ts[0] != '<' || ts[len(ts)-1] != '>' || !strings.Contains(ts, "@") {
					t.Fatalf("apopTimestamp(%q) = %q", text, ts)
				}
			}
			if ok {
				continue
			}
			for _, cmd := range []string{"", "PASS", "RETR"} {
				e := parseError(cmd, text)
				_ = e.Error()
				if e.Code != "" && !validCode(e.Code) {
					t.Fatalf("parseError(%q).Code = %q, not a valid code", text, e.Code)
				}
				matched := 0
				for _, s := range sentinels {
					if errors.Is(e, s) {
						matched++
					}
				}
				if matched > 1 {
					t.Fatalf("parseError(%q) = %#v matches %d sentinels", text, e, matched)
				}
				if cmd == "PASS" && e.Code == "" && matched != 1 {
					t.Fatalf("codeless -ERR to PASS %q matches no sentinel", text)
				}
			}
		}
	})
}

// FuzzMultiline feeds arbitrary octets to the multi-line readers: no
// panic, results bounded, and the streaming dot-reader gives the same
// result whatever the read sizes.
func FuzzMultiline(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const maxLine, maxTotal = 64, 1024
		lines, errLines := readMultiline(bufio.NewReaderSize(bytes.NewReader(data), 16), maxLine, maxTotal)
		if errLines == nil {
			total := 0
			for _, l := range lines {
				if len(l) > maxLine {
					t.Fatalf("readMultiline() line of %d octets, over %d", len(l), maxLine)
				}
				total += len(l) + 2
			}
			if total > maxTotal {
				t.Fatalf("readMultiline() returned %d octets, over %d", total, maxTotal)
			}
		}

		whole, errWhole := readAllWith(&dotReader{br: bufio.NewReader(bytes.NewReader(data))}, 4096)
		bytewise, errBytewise := readAllWith(&dotReader{br: bufio.NewReaderSize(iotest.OneByteReader(bytes.NewReader(data)), 16)}, 1)
		if !bytes.Equal(whole, bytewise) || (errWhole == nil) != (errBytewise == nil) {
			t.Fatalf("dotReader differs by read size: %q, %v vs %q, %v", whole, errWhole, bytewise, errBytewise)
		}
		if len(whole) > len(data) {
			t.Fatalf("dotReader returned %d octets from %d", len(whole), len(data))
		}
		if errWhole != nil && !errors.Is(errWhole, io.ErrUnexpectedEOF) {
			t.Fatalf("dotReader() = %v, want nil or io.ErrUnexpectedEOF", errWhole)
		}
		// With strict CRLF line endings, both readers agree.
		if errLines == nil && errWhole == nil && strictCRLF(data) {
			var want strings.Builder
			for _, l := range lines {
				want.WriteString(l + "\r\n")
			}
			if string(whole) != want.String() {
				t.Fatalf("dotReader() = %q, readMultiline() = %q", whole, lines)
			}
		}
	})
}

// strictCRLF reports whether every CR in b is followed by LF and every LF
// preceded by CR.
func strictCRLF(b []byte) bool {
	for i, c := range b {
		switch {
		case c == '\r' && (i+1 == len(b) || b[i+1] != '\n'):
			return false
		case c == '\n' && (i == 0 || b[i-1] != '\r'):
			return false
		}
	}
	return true
}

// FuzzClient runs a whole session against a server that says data: no
// panic, no hang, and a message reader never yields more than was sent.
func FuzzClient(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(greeting + "\r\n+OK\r\nSASL PLAIN\r\n.\r\n+OK\r\n+OK 1 5\r\n+OK\r\n1 5\r\n.\r\n+OK 1 5\r\n+OK\r\n1 a\r\n.\r\n+OK 1 a\r\n+OK\r\nhi\r\n.\r\n+OK\r\nhi\r\n.\r\n+OK\r\n+OK\r\n+OK\r\n+OK\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := &Options{
			AllowInsecureAuth: true,
			MaxLineLength:     256,
			MaxResponseSize:   4096,
			MaxMessageSize:    int64(len(data) / 2),
			Timeout:           -1,
			TLSConfig:         &tls.Config{ServerName: "pop.example"},
		}
		c, err := NewClient(&scriptConn{r: bytes.NewReader(data)}, opts)
		if err != nil {
			return
		}
		defer c.Close()
		body := func(rc io.ReadCloser, err error) {
			if err != nil {
				return
			}
			n, _ := io.Copy(io.Discard, rc)
			if n > int64(len(data)) {
				t.Fatalf("message reader returned %d octets from %d", n, len(data))
			}
			rc.Close()
		}
		c.Capabilities()
		c.Login("alice", "secret")
		c.Stat()
		c.List()
		c.ListOne(1)
		c.Uidl()
		c.UidlOne(1)
		body(c.Retr(1))
		body(c.Top(1, 0))
		c.Dele(1)
		c.Rset()
		c.Noop()
		c.AuthPlain("alice", strings.Repeat("p", 300))
		c.APOP("mrose", "tanstaaf")
		c.StartTLS(nil)
		c.Quit()
	})
}

// scriptConn is a net.Conn that reads from r and discards writes.
type scriptConn struct{ r io.Reader }

func (c *scriptConn) Read(b []byte) (int, error)       { return c.r.Read(b) }
func (c *scriptConn) Write(b []byte) (int, error)      { return len(b), nil }
func (c *scriptConn) Close() error                     { return nil }
func (c *scriptConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *scriptConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *scriptConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(time.Time) error { return nil }
