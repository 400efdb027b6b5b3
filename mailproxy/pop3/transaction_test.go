package pop3

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func TestStat(t *testing.T) {
	tests := map[string]struct {
		reply     string
		wantCount int
		wantSize  int64
		wantErr   error
	}{
		"+OK 2 320":              {wantCount: 2, wantSize: 320},
		"+OK 0 0":                {},
		"+OK 2 320 and more":     {wantCount: 2, wantSize: 320},
		"+OK 3 9876543210":       {wantCount: 3, wantSize: 9876543210},
		"+OK two 320":            {wantErr: ErrProtocol},
		"+OK 2":                  {wantErr: ErrProtocol},
		"+OK":                    {wantErr: ErrProtocol},
		"+OK -1 5":               {wantErr: ErrProtocol},
		"+OK +1 5":               {wantErr: ErrProtocol},
		"+OK 1 -5":               {wantErr: ErrProtocol},
		"+OK 1 +5":               {wantErr: ErrProtocol},
		"-ERR not logged in":     {wantErr: &Error{}},
		"-ERR [SYS/TEMP] broken": {wantErr: ErrSysTemp},
	}
	for reply, tt := range tests {
		t.Run(reply, func(t *testing.T) {
			c := mustRun(t, testOpts(), func(s *peer) {
				s.writeline(greeting)
				s.readline("STAT")
				s.writeline(reply)
				s.readline("NOOP")
				s.writeline("+OK")
			})
			n, size, err := c.Stat()
			if _, ok := tt.wantErr.(*Error); ok {
				if _, ok := errors.AsType[*Error](err); !ok {
					t.Fatalf("Stat() = %v, want an *Error", err)
				}
			} else if !errIs(err, tt.wantErr) {
				t.Fatalf("Stat() = %v, want %v", err, tt.wantErr)
			}
			if n != tt.wantCount || size != tt.wantSize {
				t.Errorf("Stat() = %d, %d, want %d, %d", n, size, tt.wantCount, tt.wantSize)
			}
			// A malformed or refused single-line reply leaves the
			// connection in step.
			if err := c.Noop(); err != nil {
				t.Errorf("Noop() = %v", err)
			}
		})
	}
}

func TestList(t *testing.T) {
	c := mustRun(t, testOpts(), func(s *peer) {
		s.writeline(greeting)
		s.readline("LIST")
		s.write(crlf(`+OK 4 messages (1234 octets)
1 120
junk
2 200 extra fields
3

-4 5
5 -1
+7 10
6 99999999999999
8 12abc
9	300
.
`))
	})
	got, err := c.List()
	if err != nil {
		t.Fatalf("List() = %v", err)
	}
	want := []MessageInfo{{Number: 1, Size: 120}, {Number: 2, Size: 200}, {Number: 6, Size: 99999999999999}, {Number: 9, Size: 300}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("List() = %v, want %v", got, want)
	}
}

func TestListEmpty(t *testing.T) {
	c := mustRun(t, testOpts(), func(s *peer) {
		s.writeline(greeting)
		s.readline("LIST")
		s.write("+OK 0 messages\r\n.\r\n")
	})
	got, err := c.List()
	if err != nil || len(got) != 0 {
		t.Errorf("List() = %v, %v; want none", got, err)
	}
}

func TestListOne(t *testing.T) {
	tests := map[string]struct {
		want    MessageInfo
		wantErr error
	}{
		"+OK 2 200":              {want: MessageInfo{Number: 2, Size: 200}},
		"+OK 2 200 octets":       {want: MessageInfo{Number: 2, Size: 200}},
		"+OK 3 200":              {wantErr: ErrProtocol},
		"+OK":                    {wantErr: ErrProtocol},
		"+OK 2 big":              {wantErr: ErrProtocol},
		"-ERR no such message":   {wantErr: &Error{}},
		"-ERR message 2 deleted": {wantErr: &Error{}},
	}
	for reply, tt := range tests {
		t.Run(reply, func(t *testing.T) {
			c := mustRun(t, testOpts(), func(s *peer) {
				s.writeline(greeting)
				s.readline("LIST 2")
				s.writeline(reply)
			})
			got, err := c.ListOne(2)
			if _, ok := tt.wantErr.(*Error); ok {
				if e, ok := errors.AsType[*Error](err); !ok || e.Cmd != "LIST" {
					t.Fatalf("ListOne() = %v, want an *Error for LIST", err)
				}
			} else if !errIs(err, tt.wantErr) {
				t.Fatalf("ListOne() = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ListOne() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestUidl(t *testing.T) {
	long := strings.Repeat("u", 513)
	c := mustRun(t, testOpts(), func(s *peer) {
		s.writeline(greeting)
		s.readline("UIDL")
		s.write(crlf(`+OK
1 whqtswO00WBw418f9t5JxYwZ
2 QhdPYR:00WBw1Ph7x7
junk
3 has space
4
x 5
5 ` + "\x01bad" + `
6 ` + long + `
7 ` + "caf\xc3\xa9" + `
..8 dotted
9 000001a35ef1e1d0
.
`))
	})
	got, err := c.Uidl()
	if err != nil {
		t.Fatalf("Uidl() = %v", err)
	}
	want := []MessageInfo{
		{Number: 1, UID: "whqtswO00WBw418f9t5JxYwZ"},
		{Number: 2, UID: "QhdPYR:00WBw1Ph7x7"},
		{Number: 9, UID: "000001a35ef1e1d0"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Uidl() = %v, want %v", got, want)
	}
}

func TestUidlOne(t *testing.T) {
	tests := map[string]struct {
		want    MessageInfo
		wantErr error
	}{
		"+OK 2 QhdPYR:00WBw1Ph7x7": {want: MessageInfo{Number: 2, UID: "QhdPYR:00WBw1Ph7x7"}},
		"+OK 1 QhdPYR:00WBw1Ph7x7": {wantErr: ErrProtocol},
		"+OK 2":                    {wantErr: ErrProtocol},
		"+OK 2 a b":                {wantErr: ErrProtocol},
		"-ERR no such message":     {wantErr: &Error{}},
	}
	for reply, tt := range tests {
		t.Run(reply, func(t *testing.T) {
			c := mustRun(t, testOpts(), func(s *peer) {
				s.writeline(greeting)
				s.readline("UIDL 2")
				s.writeline(reply)
			})
			got, err := c.UidlOne(2)
			if _, ok := tt.wantErr.(*Error); ok {
				if _, ok := errors.AsType[*Error](err); !ok {
					t.Fatalf("UidlOne() = %v, want an *Error", err)
				}
			} else if !errIs(err, tt.wantErr) {
				t.Fatalf("UidlOne() = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("UidlOne() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestUidlUnsupported(t *testing.T) {
	c := mustRun(t, testOpts(), func(s *peer) {
		s.writeline(greeting)
		s.readline("UIDL")
		s.writeline("-ERR unknown command")
		s.readline("NOOP")
		s.writeline("+OK")
	})
	if _, err := c.Uidl(); err == nil {
		t.Fatalf("Uidl() = nil, want an error")
	}
	if err := c.Noop(); err != nil {
		t.Errorf("Noop() after a refused UIDL = %v", err)
	}
}

func TestRetr(t *testing.T) {
	tests := map[string]struct {
		wire string // what follows "+OK\r\n"
		want string
	}{
		"plain":        {"Subject: hi\r\n\r\nHello.\r\n.\r\n", "Subject: hi\r\n\r\nHello.\r\n"},
		"empty":        {".\r\n", ""},
		"blank line":   {"\r\n.\r\n", "\r\n"},
		"dot-stuffed":  {"..foo\r\n...\r\n..\r\nbar.\r\n.\r\n", ".foo\r\n..\r\n.\r\nbar.\r\n"},
		"lone stuffed": {".foo\r\n.\r\n", "foo\r\n"},
		"dot mid line": {"a.b\r\n a\r\n.\r\n", "a.b\r\n a\r\n"},
		"dot CR data":  {".\rx\r\n.\r\n", "\rx\r\n"},
		"bare LF":      {"a\nb\n.\n", "a\nb\n"},
		"binary":       {"\x00\xff\r\n.\r\n", "\x00\xff\r\n"},
		"long line":    {strings.Repeat("x", 200000) + "\r\n.\r\n", strings.Repeat("x", 200000) + "\r\n"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			c := mustRun(t, testOpts(), func(s *peer) {
				s.writeline(greeting)
				s.readline("RETR 1")
				s.write("+OK 42 octets\r\n" + tt.wire)
				s.readline("NOOP")
				s.writeline("+OK")
			})
			rc, err := c.Retr(1)
			if err != nil {
				t.Fatalf("Retr() = %v", err)
			}
			got, err := io.ReadAll(rc)
			if err != nil {
				t.Fatalf("ReadAll() = %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("ReadAll() = %.80q, want %.80q", got, tt.want)
			}
			// Read to EOF frees the client even before Close.
			if err := c.Noop(); err != nil {
				t.Errorf("Noop() after EOF = %v", err)
			}
			if err := rc.Close(); err != nil {
				t.Errorf("Close() = %v", err)
			}
		})
	}
}

func TestRetrRefused(t *testing.T) {
	c := mustRun(t, testOpts(), func(s *peer) {
		s.writeline(greeting)
		s.readline("RETR 9")
		s.writeline("-ERR no such message")
		s.readline("NOOP")
		s.writeline("+OK")
	})
	rc, err := c.Retr(9)
	if e, ok := errors.AsType[*Error](err); !ok || rc != nil || e.Cmd != "RETR" {
		t.Fatalf("Retr() = %v, %v; want nil, an *Error for RETR", rc, err)
	}
	checkKind(t, "Retr()", err, nil)
	if err := c.Noop(); err != nil {
		t.Errorf("Noop() = %v", err)
	}
}

func TestTop(t *testing.T) {
	c := mustRun(t, testOpts(), func(s *peer) {
		s.writeline(greeting)
		s.readline("TOP 1 0")
		s.write(crlf("+OK\nSubject: hi\n\n.\n"))
		s.readline("TOP 2 10")
		s.writeline("-ERR unknown command")
	})
	rc, err := c.Top(1, 0)
	if err != nil {
		t.Fatalf("Top() = %v", err)
	}
	got, err := io.ReadAll(rc)
	if err != nil || string(got) != "Subject: hi\r\n\r\n" {
		t.Errorf("ReadAll() = %q, %v; want the header", got, err)
	}
	rc.Close()
	if _, err := c.Top(2, 10); err == nil {
		t.Errorf("Top() on a server without TOP = nil, want an error")
	}
}

// While a message reader is open, every command is refused without being
// sent; Close drains the rest and frees the client.
func TestReaderOpen(t *testing.T) {
	body := strings.Repeat("0123456789abcdef\r\n", 10000)
	c := mustRun(t, testOpts(), func(s *peer) {
		s.writeline(greeting)
		s.readline("RETR 1")
		s.write("+OK\r\n" + body + ".\r\n")
		s.readline("DELE 1")
		s.writeline("+OK marked")
		s.readline("QUIT")
		s.writeline("+OK bye")
	})
	rc, err := c.Retr(1)
	if err != nil {
		t.Fatalf("Retr() = %v", err)
	}
	buf := make([]byte, 10)
	if _, err := io.ReadFull(rc, buf); err != nil || string(buf) != "0123456789" {
		t.Fatalf("ReadFull() = %q, %v", buf, err)
	}
	calls := map[string]func() error{
		"Stat":         func() error { _, _, err := c.Stat(); return err },
		"List":         func() error { _, err := c.List(); return err },
		"Uidl":         func() error { _, err := c.Uidl(); return err },
		"Retr":         func() error { _, err := c.Retr(2); return err },
		"Top":          func() error { _, err := c.Top(2, 1); return err },
		"Dele":         func() error { return c.Dele(1) },
		"Rset":         c.Rset,
		"Noop":         c.Noop,
		"Capabilities": func() error { _, err := c.Capabilities(); return err },
		"Quit":         c.Quit,
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrReaderOpen) {
			t.Errorf("%s() with a reader open = %v, want %v", name, err, ErrReaderOpen)
		}
	}
	if err := rc.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if err := rc.Close(); err != nil {
		t.Errorf("second Close() = %v", err)
	}
	if _, err := rc.Read(buf); err == nil {
		t.Errorf("Read() after Close = nil, want an error")
	}
	if err := c.Dele(1); err != nil {
		t.Errorf("Dele() after Close = %v", err)
	}
	if err := c.Quit(); err != nil {
		t.Errorf("Quit() = %v", err)
	}
}

// A large message is streamed: it is never in memory whole.
func TestRetrStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("50 MB message")
	}
	const size = 50 << 20
	line := []byte(strings.Repeat("a", 76) + "\r\n")
	chunk := bytes.Repeat(line, 64<<10/len(line))
	want := sha256.New()
	for n := 0; n < size; n += len(chunk) {
		want.Write(chunk)
	}
	c := mustRun(t, testOpts(), func(s *peer) {
		s.writeline(greeting)
		s.readline("RETR 1")
		s.writeline("+OK " + strconv.Itoa(size) + " octets")
		for n := 0; n < size; n += len(chunk) {
			if _, err := s.conn.Write(chunk); err != nil {
				s.t.Errorf("peer: write: %v", err)
				return
			}
		}
		s.writeline(".")
	})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rc, err := c.Retr(1)
	if err != nil {
		t.Fatalf("Retr() = %v", err)
	}
	got := sha256.New()
	n, err := io.Copy(got, rc)
	if err != nil {
		t.Fatalf("Copy() = %d, %v", n, err)
	}
	runtime.ReadMemStats(&after)
	if !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Errorf("message of %d octets differs from what was sent", n)
	}
	// TotalAlloc also counts the peer's goroutine, which allocates little.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size/4 {
		t.Errorf("Retr() of %d MB allocated %d MB: not streamed", size>>20, alloc>>20)
	}
}

func TestDeleRsetNoop(t *testing.T) {
	c := mustRun(t, testOpts(), func(s *peer) {
		s.writeline(greeting)
		s.readline("DELE 1")
		s.writeline("+OK message 1 deleted")
		s.readline("DELE 1")
		s.writeline("-ERR message 1 already deleted")
		s.readline("RSET")
		s.writeline("+OK maildrop has 2 messages (320 octets)")
		s.readline("NOOP")
		s.writeline("+OK")
		s.readline("NOOP")
		s.writeline("-ERR [SYS/TEMP] hmm")
	})
	if err := c.Dele(1); err != nil {
		t.Errorf("Dele() = %v", err)
	}
	if err := c.Dele(1); err == nil {
		t.Errorf("second Dele() = nil, want an error")
	}
	if err := c.Rset(); err != nil {
		t.Errorf("Rset() = %v", err)
	}
	if err := c.Noop(); err != nil {
		t.Errorf("Noop() = %v", err)
	}
	if err := c.Noop(); !errors.Is(err, ErrSysTemp) {
		t.Errorf("Noop() = %v, want %v", err, ErrSysTemp)
	}
}

func TestQuit(t *testing.T) {
	tests := map[string]error{
		"+OK dewey POP3 server signing off (maildrop empty)": nil,
		"-ERR [SYS/TEMP] some deleted messages not removed":  ErrSysTemp,
		"-ERR some deleted messages not removed":             &Error{},
	}
	for reply, want := range tests {
		t.Run(reply, func(t *testing.T) {
			c := mustRun(t, testOpts(), func(s *peer) {
				s.writeline(greeting)
				s.readline("DELE 1")
				s.writeline("+OK")
				s.readline("QUIT")
				s.writeline(reply)
				s.readEOF()
			})
			if err := c.Dele(1); err != nil {
				t.Fatalf("Dele() = %v", err)
			}
			err := c.Quit()
			if _, ok := want.(*Error); ok {
				if e, ok := errors.AsType[*Error](err); !ok || e.Cmd != "QUIT" {
					t.Fatalf("Quit() = %v, want an *Error for QUIT", err)
				}
			} else if !errIs(err, want) {
				t.Fatalf("Quit() = %v, want %v", err, want)
			}
			// Quit closes the connection whatever the reply.
			if err := c.Noop(); !errors.Is(err, ErrClosed) {
				t.Errorf("Noop() after Quit = %v, want %v", err, ErrClosed)
			}
		})
	}
}

func TestQuitServerHangsUp(t *testing.T) {
	c := mustRun(t, testOpts(), func(s *peer) {
		s.writeline(greeting)
		s.readline("QUIT")
	})
	if err := c.Quit(); !errors.Is(err, io.EOF) {
		t.Errorf("Quit() = %v, want %v", err, io.EOF)
	}
}

func TestMaxMessageSize(t *testing.T) {
	tests := map[string]struct {
		wire    string // what follows "+OK\r\n"
		want    string
		wantErr error
	}{
		"under":         {wire: "abc\r\n.\r\n", want: "abc\r\n"},
		"exactly":       {wire: "abcdefgh\r\n.\r\n", want: "abcdefgh\r\n"},
		"stuffed fits":  {wire: "..abcdefg\r\n.\r\n", want: ".abcdefg\r\n"},
		"one over":      {wire: "abcdefghi\r\n.\r\n", want: "abcdefghi\r", wantErr: ErrMessageTooLarge},
		"far over":      {wire: strings.Repeat("x", 100000) + "\r\n.\r\n", want: "xxxxxxxxxx", wantErr: ErrMessageTooLarge},
		"empty message": {wire: ".\r\n", want: ""},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			opts := testOpts()
			opts.MaxMessageSize = 10
			c := mustRun(t, opts, func(s *peer) {
				s.writeline(greeting)
				s.readline("RETR 1")
				s.tryWrite("+OK\r\n" + tt.wire)
			})
			rc, err := c.Retr(1)
			if err != nil {
				t.Fatalf("Retr() = %v", err)
			}
			got, err := io.ReadAll(rc)
			if string(got) != tt.want || !errIs(err, tt.wantErr) {
				t.Fatalf("ReadAll() = %.20q, %v; want %.20q, %v", got, err, tt.want, tt.wantErr)
			}
			if tt.wantErr != nil {
				if err := c.Noop(); !errors.Is(err, ErrMessageTooLarge) {
					t.Errorf("Noop() after an over-large message = %v, want it to repeat %v", err, ErrMessageTooLarge)
				}
			}
		})
	}
}
