package pop3

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// States of the dot-unstuffing reader.
const (
	stateLineStart = iota // at the start of a line
	stateDot              // read "." at the start of a line
	stateDotCR            // read ".\r" at the start of a line
	stateInLine           // inside a line
)

// dotReader undoes the byte-stuffing of a multi-line reply (RFC 1939 §3)
// while streaming: a line starting with "." loses that "."; the line "."
// ends the reply and is not returned. Line endings are passed through as
// sent. A lone LF is accepted as a line ending, so ".\n" also ends the
// reply. EOF before the end is io.ErrUnexpectedEOF.
type dotReader struct {
	br    *bufio.Reader
	state int
	done  bool
}

// read fills p with unstuffed octets. It blocks only while it has nothing
// to return, and returns io.EOF (possibly with n > 0) at the terminator.
func (d *dotReader) read(p []byte) (n int, err error) {
	if d.done {
		return 0, io.EOF
	}
	br := d.br
	for n < len(p) {
		if br.Buffered() == 0 {
			if n > 0 {
				return n, nil
			}
			if _, err := br.Peek(1); err != nil {
				if errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				return n, err
			}
		}
		if d.state == stateInLine {
			// Fast path: copy up to the end of the line in one go.
			buf, _ := br.Peek(min(br.Buffered(), len(p)-n))
			if i := bytes.IndexByte(buf, '\n'); i >= 0 {
				buf = buf[:i+1]
				d.state = stateLineStart
			}
			k := copy(p[n:], buf)
			br.Discard(k)
			n += k
			continue
		}
		b, _ := br.ReadByte() // cannot fail: Buffered() > 0
		switch d.state {
		case stateLineStart:
			if b == '.' {
				d.state = stateDot
				continue
			}
			p[n] = b
			n++
			if b != '\n' {
				d.state = stateInLine
			}
		case stateDot:
			switch b {
			case '\r':
				d.state = stateDotCR
			case '\n':
				d.done = true
				return n, io.EOF
			default:
				// A stuffed line: the leading "." is dropped.
				p[n] = b
				n++
				d.state = stateInLine
			}
		case stateDotCR:
			if b == '\n' {
				d.done = true
				return n, io.EOF
			}
			// ".\r" then something else: a stuffed line whose text
			// starts with CR. Emit the CR, then see b again in the line.
			br.UnreadByte()
			p[n] = '\r'
			n++
			d.state = stateInLine
		}
	}
	return n, nil
}

// bodyReader is the io.ReadCloser returned by Retr and Top. While it is
// open, the Client refuses other commands.
type bodyReader struct {
	c      *Client
	cmd    string
	d      dotReader
	max    int64 // Options.MaxMessageSize, 0 for none
	count  int64 // octets returned so far
	err    error // sticky read error; the Client is broken too
	closed bool
}

// openBody starts streaming the multi-line reply of cmd.
func (c *Client) openBody(cmd string) *bodyReader {
	r := &bodyReader{c: c, cmd: cmd, d: dotReader{br: c.br}, max: c.maxMessage}
	c.body = r
	return r
}

// Read implements io.Reader. Each call waits at most Options.Timeout for
// data. The first error other than io.EOF closes the Client's connection.
func (r *bodyReader) Read(p []byte) (int, error) {
	switch {
	case r.closed:
		return 0, fmt.Errorf("pop3: %s: read after Close", r.cmd)
	case r.d.done:
		return 0, io.EOF
	case r.err != nil:
		return 0, r.err
	case len(p) == 0:
		return 0, nil
	}
	if r.max > 0 && int64(len(p)) > r.max-r.count {
		// One octet more than allowed tells "exactly max" from "over".
		p = p[:r.max-r.count+1]
	}
	r.c.setDeadline()
	n, err := r.d.read(p)
	r.count += int64(n)
	if r.max > 0 && r.count > r.max {
		n -= int(r.count - r.max)
		r.count = r.max
		err = fmt.Errorf("%w (over %d octets)", ErrMessageTooLarge, r.max)
	}
	r.check(err)
	if err != nil && !errors.Is(err, io.EOF) {
		return n, r.err
	}
	return n, err
}

// check records the outcome of a read: at the end of the message the
// Client is free again; on an error it is broken.
func (r *bodyReader) check(err error) {
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		r.release()
	default:
		r.err = fmt.Errorf("pop3: %s: reading message: %w", r.cmd, err)
		r.c.fail(r.err)
		r.release()
	}
}

func (r *bodyReader) release() {
	if r.c.body == r {
		r.c.body = nil
	}
}

// Close reads and discards the rest of the message, all of it within one
// Options.Timeout, so that the Client can send its next command. If that
// fails, the Client's connection is closed and the error returned. Close
// after the Client itself was closed does nothing.
func (r *bodyReader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	if r.d.done || r.err != nil {
		r.release()
		return r.err
	}
	if r.c.closed.Load() {
		r.release()
		return nil
	}
	r.c.setDeadline()
	buf := make([]byte, 32<<10)
	for {
		_, err := r.d.read(buf)
		if err != nil {
			r.check(err)
			return r.err
		}
	}
}
