package pop3

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

func TestGreeting(t *testing.T) {
	tests := map[string]struct {
		send     string // written raw; the script then hangs up
		opts     *Options
		wantErr  error
		wantAPOP bool
	}{
		"ok":                {send: "+OK POP3 ready\r\n"},
		"bare ok":           {send: "+OK\r\n"},
		"lower case":        {send: "+ok hello\r\n"},
		"bare LF":           {send: "+OK hello\n"},
		"apop":              {send: greeting + "\r\n", wantAPOP: true},
		"dovecot apop":      {send: "+OK Dovecot ready. <2714.1.572ba3a8.pc5+UGSDbMEbzhRkggo11g==@mail.example>\r\n", wantAPOP: true},
		"angle not msg-id":  {send: "+OK POP3 server ready <mailserver.mydomain.com>\r\n"},
		"imap greeting":     {send: "* OK IMAP4rev1 ready\r\n", wantErr: ErrProtocol},
		"okay":              {send: "+OKAY\r\n", wantErr: ErrProtocol},
		"empty line":        {send: "\r\n", wantErr: ErrProtocol},
		"binary":            {send: "\x00\xff\xfe\r\n", wantErr: ErrProtocol},
		"err":               {send: "-ERR go away\r\n", wantErr: &Error{}},
		"err sys/temp":      {send: "-ERR [SYS/TEMP] too many connections\r\n", wantErr: ErrSysTemp},
		"err sys/perm":      {send: "-ERR [SYS/PERM] maildrop service disabled\r\n", wantErr: ErrSysPerm},
		"eof":               {send: "", wantErr: io.EOF},
		"eof mid line":      {send: "+OK rea", wantErr: io.ErrUnexpectedEOF},
		"line too long":     {send: "+OK " + strings.Repeat("x", 200) + "\r\n", opts: &Options{MaxLineLength: 100}, wantErr: ErrLineTooLong},
		"line just fits":    {send: "+OK " + strings.Repeat("x", 96) + "\r\n", opts: &Options{MaxLineLength: 100}},
		"no line end, long": {send: strings.Repeat("+", 70000), wantErr: ErrLineTooLong},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := run(t, tt.opts, func(s *peer) { s.tryWrite(tt.send) })
			if tt.wantErr != nil {
				if _, ok := tt.wantErr.(*Error); ok {
					if _, ok := errors.AsType[*Error](err); !ok {
						t.Fatalf("NewClient() = %v, want an *Error", err)
					}
					return
				}
			}
			if !errIs(err, tt.wantErr) {
				t.Fatalf("NewClient() = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got := c.SupportsAPOP(); got != tt.wantAPOP {
				t.Errorf("SupportsAPOP() = %v, want %v", got, tt.wantAPOP)
			}
		})
	}
}

func TestGreetingError(t *testing.T) {
	_, err := run(t, nil, func(s *peer) {
		s.writeline("-ERR [SYS/TEMP] server overloaded")
	})
	e, ok := errors.AsType[*Error](err)
	if !ok {
		t.Fatalf("NewClient() = %v, want an *Error", err)
	}
	want := Error{Cmd: "", Code: "SYS/TEMP", Text: "server overloaded"}
	if *e != want {
		t.Errorf("NewClient() = %#v, want %#v", *e, want)
	}
	if got, want := e.Error(), "pop3: greeting: -ERR [SYS/TEMP] server overloaded"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestAPOPTimestamp(t *testing.T) {
	tests := map[string]string{
		"POP3 server ready <1896.697170952@dbc.mtview.ca.us>": "<1896.697170952@dbc.mtview.ca.us>",
		"ready":                                "",
		"<no-at-sign> ready":                   "",
		"<host> ready <1.2@host>":              "<1.2@host>",
		"<unterminated@host":                   "",
		"< spaced@host> x":                     "",
		"<<1@a>":                               "<1@a>",
		"Dovecot ready. <a.b.c+d==@mail.exa>":  "<a.b.c+d==@mail.exa>",
		"<" + strings.Repeat("a", 600) + "@b>": "",
	}
	for in, want := range tests {
		if got := apopTimestamp(in); got != want {
			t.Errorf("apopTimestamp(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBadStatusLine(t *testing.T) {
	c := mustRun(t, testOpts(), func(s *peer) {
		s.writeline(greeting)
		s.readline("NOOP")
		s.writeline("* 3 EXISTS")
		s.readEOF()
	})
	if err := c.Noop(); !errors.Is(err, ErrProtocol) {
		t.Fatalf("Noop() = %v, want %v", err, ErrProtocol)
	}
	// The connection is out of step: nothing more may be sent.
	if err := c.Noop(); !errors.Is(err, ErrProtocol) {
		t.Errorf("second Noop() = %v, want it to repeat %v", err, ErrProtocol)
	}
}

func TestLineTooLong(t *testing.T) {
	opts := testOpts()
	opts.MaxLineLength = 100
	c := mustRun(t, opts, func(s *peer) {
		s.writeline(greeting)
		s.readline("STAT")
		s.tryWrite("+OK 1 " + strings.Repeat("9", 10000) + "\r\n")
	})
	if _, _, err := c.Stat(); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("Stat() = %v, want %v", err, ErrLineTooLong)
	}
	if err := c.Noop(); !errors.Is(err, ErrLineTooLong) {
		t.Errorf("Noop() after a broken reply = %v, want it to repeat %v", err, ErrLineTooLong)
	}
}

func TestLineTooLongInList(t *testing.T) {
	opts := testOpts()
	opts.MaxLineLength = 100
	c := mustRun(t, opts, func(s *peer) {
		s.writeline(greeting)
		s.readline("UIDL")
		s.writeline("+OK")
		s.tryWrite("1 " + strings.Repeat("u", 200) + "\r\n.\r\n")
	})
	if _, err := c.Uidl(); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("Uidl() = %v, want %v", err, ErrLineTooLong)
	}
}

func TestResponseTooLarge(t *testing.T) {
	opts := testOpts()
	opts.MaxResponseSize = 1000
	c := mustRun(t, opts, func(s *peer) {
		s.writeline(greeting)
		s.readline("LIST")
		s.writeline("+OK")
		for i := range 1000 {
			s.tryWrite("1 " + strings.Repeat("1", i%10+1) + "\r\n")
		}
		s.tryWrite(".\r\n")
	})
	if _, err := c.List(); !errors.Is(err, ErrResponseTooLarge) {
		t.Fatalf("List() = %v, want %v", err, ErrResponseTooLarge)
	}
}

func TestEarlyEOF(t *testing.T) {
	tests := map[string]struct {
		reply string
		call  func(c *Client) error
		want  error
	}{
		"status line":        {reply: "", call: (*Client).Noop, want: io.EOF},
		"mid status line":    {reply: "+OK 2 3", call: func(c *Client) error { _, _, err := c.Stat(); return err }, want: io.ErrUnexpectedEOF},
		"list no dot":        {reply: "+OK\r\n1 120\r\n2 200\r\n", call: func(c *Client) error { _, err := c.List(); return err }, want: io.ErrUnexpectedEOF},
		"list mid line":      {reply: "+OK\r\n1 120\r\n2 2", call: func(c *Client) error { _, err := c.List(); return err }, want: io.ErrUnexpectedEOF},
		"list half dot":      {reply: "+OK\r\n1 120\r\n.", call: func(c *Client) error { _, err := c.List(); return err }, want: io.ErrUnexpectedEOF},
		"uidl no dot":        {reply: "+OK\r\n1 abc\r\n", call: func(c *Client) error { _, err := c.Uidl(); return err }, want: io.ErrUnexpectedEOF},
		"capa no dot":        {reply: "+OK\r\nTOP\r\n", call: func(c *Client) error { _, err := c.Capabilities(); return err }, want: io.ErrUnexpectedEOF},
		"retr no dot":        {reply: "+OK\r\nSubject: hi\r\n\r\nbody\r\n", call: retrAll(1), want: io.ErrUnexpectedEOF},
		"retr mid line":      {reply: "+OK\r\nSubject: hi\r\n\r\nbo", call: retrAll(1), want: io.ErrUnexpectedEOF},
		"retr half dot":      {reply: "+OK\r\nbody\r\n.", call: retrAll(1), want: io.ErrUnexpectedEOF},
		"retr dot CR":        {reply: "+OK\r\nbody\r\n.\r", call: retrAll(1), want: io.ErrUnexpectedEOF},
		"retr nothing":       {reply: "+OK\r\n", call: retrAll(1), want: io.ErrUnexpectedEOF},
		"retr before status": {reply: "", call: retrAll(1), want: io.EOF},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			c := mustRun(t, testOpts(), func(s *peer) {
				s.writeline(greeting)
				s.br.ReadString('\n') // the command, whichever it is
				s.write(tt.reply)
			})
			if err := tt.call(c); !errors.Is(err, tt.want) {
				t.Fatalf("call = %v, want %v", err, tt.want)
			}
			if err := c.Noop(); err == nil {
				t.Errorf("Noop() after EOF = nil, want an error")
			}
		})
	}
}

// retrAll retrieves message n and reads it to the end.
func retrAll(n int) func(c *Client) error {
	return func(c *Client) error {
		rc, err := c.Retr(n)
		if err != nil {
			return err
		}
		_, err = io.ReadAll(rc)
		if cerr := rc.Close(); err == nil {
			err = cerr
		}
		return err
	}
}

func TestDeadline(t *testing.T) {
	opts := testOpts()
	opts.Timeout = 50 * time.Millisecond
	c := mustRun(t, opts, func(s *peer) {
		s.writeline(greeting)
		s.readline("STAT")
		s.waitEOF() // never answer
	})
	start := time.Now()
	_, _, err := c.Stat()
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Stat() = %v, want %v", err, os.ErrDeadlineExceeded)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Stat() took %v with a 50ms timeout", d)
	}
	if err := c.Noop(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Noop() after a timeout = %v, want it to repeat %v", err, os.ErrDeadlineExceeded)
	}
}

func TestDeadlineGreeting(t *testing.T) {
	_, err := run(t, &Options{Timeout: 50 * time.Millisecond}, func(s *peer) {
		s.waitEOF()
	})
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("NewClient() = %v, want %v", err, os.ErrDeadlineExceeded)
	}
}

func TestDeadlineMultiline(t *testing.T) {
	opts := testOpts()
	opts.Timeout = 50 * time.Millisecond
	c := mustRun(t, opts, func(s *peer) {
		s.writeline(greeting)
		s.readline("LIST")
		s.writeline("+OK")
		s.writeline("1 100")
		s.waitEOF()
	})
	if _, err := c.List(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("List() = %v, want %v", err, os.ErrDeadlineExceeded)
	}
}

func TestDeadlineBody(t *testing.T) {
	opts := testOpts()
	opts.Timeout = 50 * time.Millisecond
	c := mustRun(t, opts, func(s *peer) {
		s.writeline(greeting)
		s.readline("RETR 1")
		s.writeline("+OK")
		s.writeline("Subject: slow")
		s.waitEOF()
	})
	rc, err := c.Retr(1)
	if err != nil {
		t.Fatalf("Retr() = %v", err)
	}
	got, err := io.ReadAll(rc)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("ReadAll() = %q, %v; want %v", got, err, os.ErrDeadlineExceeded)
	}
	if string(got) != "Subject: slow\r\n" {
		t.Errorf("ReadAll() = %q before the timeout, want %q", got, "Subject: slow\r\n")
	}
	if err := rc.Close(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Close() = %v, want %v", err, os.ErrDeadlineExceeded)
	}
}

// A server that trickles data forever cannot make Close hang: draining is
// bounded by one Timeout.
func TestDeadlineDrain(t *testing.T) {
	opts := testOpts()
	opts.Timeout = 100 * time.Millisecond
	stop := make(chan struct{})
	c := mustRun(t, opts, func(s *peer) {
		s.writeline(greeting)
		s.readline("RETR 1")
		s.writeline("+OK")
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if _, err := s.conn.Write([]byte("more\r\n")); err != nil {
				return
			}
		}
	})
	defer close(stop)
	rc, err := c.Retr(1)
	if err != nil {
		t.Fatalf("Retr() = %v", err)
	}
	start := time.Now()
	if err := rc.Close(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Close() = %v, want %v", err, os.ErrDeadlineExceeded)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close() took %v with a 100ms timeout", d)
	}
}

func TestCloseAbortsCommand(t *testing.T) {
	c := mustRun(t, testOpts(), func(s *peer) {
		s.writeline(greeting)
		s.readline("STAT")
		s.waitEOF()
	})
	go func() {
		time.Sleep(20 * time.Millisecond)
		c.Close()
	}()
	if _, _, err := c.Stat(); err == nil {
		t.Fatalf("Stat() on a closed client = nil, want an error")
	}
}

func TestClose(t *testing.T) {
	c := mustRun(t, testOpts(), func(s *peer) {
		s.writeline(greeting)
		s.readEOF() // no QUIT: Close must not enter the UPDATE state
	})
	if err := c.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close() = %v, want nil", err)
	}
	if err := c.Noop(); !errors.Is(err, ErrClosed) {
		t.Errorf("Noop() after Close = %v, want %v", err, ErrClosed)
	}
	if _, err := c.Retr(1); !errors.Is(err, ErrClosed) {
		t.Errorf("Retr() after Close = %v, want %v", err, ErrClosed)
	}
}

func TestInvalidArguments(t *testing.T) {
	tests := map[string]func(c *Client) error{
		"Retr(0)":            func(c *Client) error { _, err := c.Retr(0); return err },
		"Top(1, -1)":         func(c *Client) error { _, err := c.Top(1, -1); return err },
		"Top(-1, 0)":         func(c *Client) error { _, err := c.Top(-1, 0); return err },
		"Dele(-1)":           func(c *Client) error { return c.Dele(-1) },
		"ListOne(0)":         func(c *Client) error { _, err := c.ListOne(0); return err },
		"UidlOne(0)":         func(c *Client) error { _, err := c.UidlOne(0); return err },
		"Login CRLF in pass": func(c *Client) error { return c.Login("alice", "x\r\nDELE 1") },
		"Login LF in user":   func(c *Client) error { return c.Login("alice\nDELE 1", "x") },
		"AuthPlain NUL":      func(c *Client) error { return c.AuthPlain("alice\x00bob", "x") },
		"APOP space in user": func(c *Client) error { return c.APOP("alice smith", "x") },
		"APOP empty user":    func(c *Client) error { return c.APOP("", "x") },
	}
	for name, call := range tests {
		t.Run(name, func(t *testing.T) {
			c := mustRun(t, testOpts(), func(s *peer) {
				s.writeline(greeting)
				s.readEOF()
			})
			if err := call(c); !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("%s = %v, want %v", name, err, ErrInvalidArgument)
			}
			c.Close()
		})
	}
}

func TestStartTLSAlreadyTLS(t *testing.T) {
	c := mustRun(t, testOpts(), func(s *peer) {
		s.writeline(greeting)
		s.readEOF()
	})
	c.isTLS = true // as after DialTLS
	if err := c.StartTLS(nil); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("StartTLS() on TLS = %v, want %v", err, ErrInvalidArgument)
	}
	c.Close()
}
