package message

import (
	"bufio"
	"io"
	"strings"
)

// Transfer decoding (RFC 2045 §6), tolerant of what real mail does wrong.
// The decoders stream, so ExtractPart never holds a whole part, and they
// record the damage they worked around so callers can say so.

// transferStatus records what a transfer decoder had to work around.
type transferStatus struct {
	unknown string // the unknown encoding name, decoded as 8bit
	badB64  bool   // base64 with junk bytes or a dangling character
	badQP   bool   // quoted-printable with invalid escapes kept as is
}

// normalizeEncoding lower-cases a Content-Transfer-Encoding value and maps
// harmless misspellings to their standard names.
func normalizeEncoding(enc string) string {
	s := strings.ToLower(strings.TrimSpace(enc))
	s = strings.Trim(s, `"' `)
	if i := strings.IndexAny(s, "; \t"); i >= 0 {
		s = s[:i]
	}
	switch s {
	case "", "7bit", "7-bit", "8bit", "8-bit", "binary", "none":
		if s == "7-bit" || s == "8-bit" || s == "none" {
			return "8bit"
		}
		return s
	case "quoted-printable", "quoted_printable", "quotedprintable", "qp":
		return "quoted-printable"
	case "base64", "base-64", "b64":
		return "base64"
	}
	return s
}

// newTransferDecoder wraps r with the decoder for the transfer encoding
// enc. Unknown encodings pass the bytes through unchanged, as 8bit, and are
// recorded in st.
func newTransferDecoder(r io.Reader, enc string, st *transferStatus) io.Reader {
	switch e := normalizeEncoding(enc); e {
	case "", "7bit", "8bit", "binary":
		return r
	case "base64":
		return &base64Reader{r: r, st: st}
	case "quoted-printable":
		br, ok := r.(*bufio.Reader)
		if !ok {
			br = bufio.NewReaderSize(r, 4096)
		}
		return &qpReader{br: br, st: st}
	default:
		st.unknown = e
		return r
	}
}

// base64Value returns the 6-bit value of a standard base64 character, or
// -1.
func base64Value(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 26
	case c >= '0' && c <= '9':
		return int(c-'0') + 52
	case c == '+':
		return 62
	case c == '/':
		return 63
	}
	return -1
}

// base64Reader decodes base64 tolerantly: whitespace is skipped, other
// bytes outside the alphabet are skipped and noted, "=" ends a group early
// (so concatenated base64 blobs decode), missing padding is accepted and a
// dangling last character is dropped and noted.
type base64Reader struct {
	r    io.Reader
	st   *transferStatus
	in   [4096]byte
	buf  []byte // decoded bytes of the last fill
	out  []byte // what is left of buf to return
	quad [4]byte
	n    int
	err  error
}

func (b *base64Reader) Read(p []byte) (int, error) {
	for len(b.out) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		n, err := b.r.Read(b.in[:])
		b.buf = b.buf[:0]
		b.decode(b.in[:n])
		if err != nil {
			b.flushGroup()
			b.err = err
		}
		b.out = b.buf
	}
	n := copy(p, b.out)
	b.out = b.out[n:]
	return n, nil
}

func (b *base64Reader) decode(in []byte) {
	for _, c := range in {
		v := base64Value(c)
		switch {
		case v >= 0:
		case c == '-':
			v = 62 // base64url, RFC 4648 §5
		case c == '_':
			v = 63
		case c == '=':
			b.flushGroup()
			continue
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			continue
		default:
			b.st.badB64 = true
			continue
		}
		b.quad[b.n] = byte(v)
		b.n++
		if b.n == 4 {
			q := b.quad
			b.buf = append(b.buf, q[0]<<2|q[1]>>4, q[1]<<4|q[2]>>2, q[2]<<6|q[3])
			b.n = 0
		}
	}
}

// flushGroup decodes a group of fewer than four characters, ended by
// padding or by the end of the input.
func (b *base64Reader) flushGroup() {
	q := b.quad
	switch b.n {
	case 1:
		b.st.badB64 = true
	case 2:
		b.buf = append(b.buf, q[0]<<2|q[1]>>4)
	case 3:
		b.buf = append(b.buf, q[0]<<2|q[1]>>4, q[1]<<4|q[2]>>2)
	}
	b.n = 0
}

// qpReader decodes quoted-printable (RFC 2045 §6.7) tolerantly: "=XX"
// accepts lower-case hex, invalid escapes are kept literally (and noted),
// "=" before a line break (after optional trailing blanks) is a soft line
// break, trailing blanks on a line are dropped, and an escape cut off by
// the end of the input is dropped.
type qpReader struct {
	br  *bufio.Reader
	st  *transferStatus
	buf []byte // decoded bytes of the last fill
	out []byte // what is left of buf to return
	ws  []byte // blanks held back until we know they are not trailing
	err error
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

func (q *qpReader) Read(p []byte) (int, error) {
	for len(q.out) == 0 {
		if q.err != nil {
			return 0, q.err
		}
		q.fill()
	}
	n := copy(p, q.out)
	q.out = q.out[n:]
	return n, nil
}

// fill decodes up to about 4 KiB of input into q.buf.
func (q *qpReader) fill() {
	q.buf = q.buf[:0]
	defer func() { q.out = q.buf }()
	for len(q.buf) < 4096 {
		c, err := q.br.ReadByte()
		if err != nil {
			// Trailing blanks at the end of the input are dropped too.
			q.ws = q.ws[:0]
			q.err = err
			return
		}
		switch c {
		case ' ', '\t':
			q.ws = append(q.ws, c)
			if len(q.ws) > 1024 {
				q.buf = append(q.buf, q.ws...)
				q.ws = q.ws[:0]
			}
		case '\n':
			q.ws = q.ws[:0]
			q.buf = append(q.buf, '\n')
		case '\r':
			if nx, _ := q.br.Peek(1); len(nx) == 1 && nx[0] == '\n' {
				q.br.ReadByte()
				q.ws = q.ws[:0]
				q.buf = append(q.buf, '\r', '\n')
				continue
			}
			q.flushWS()
			q.buf = append(q.buf, '\r')
		case '=':
			q.flushWS()
			q.escape()
		default:
			q.flushWS()
			q.buf = append(q.buf, c)
		}
	}
}

func (q *qpReader) flushWS() {
	if len(q.ws) > 0 {
		q.buf = append(q.buf, q.ws...)
		q.ws = q.ws[:0]
	}
}

// escape handles what follows a "=".
func (q *qpReader) escape() {
	nx, _ := q.br.Peek(2)
	if len(nx) == 0 {
		return // "=" at the very end: a soft break or a cut escape
	}
	if h, ok := unhex(nx[0]); ok {
		if len(nx) == 1 {
			q.br.ReadByte() // escape cut off by the end of the input
			return
		}
		if l, ok := unhex(nx[1]); ok {
			q.br.Discard(2)
			q.buf = append(q.buf, h<<4|l)
			return
		}
	}
	// Soft line break, possibly with blanks before the line break.
	i := 0
	for {
		nx, _ = q.br.Peek(i + 2)
		if i < len(nx) && (nx[i] == ' ' || nx[i] == '\t') && i < 256 {
			i++
			continue
		}
		break
	}
	switch {
	case i < len(nx) && nx[i] == '\n':
		q.br.Discard(i + 1)
		return
	case i+1 < len(nx) && nx[i] == '\r' && nx[i+1] == '\n':
		q.br.Discard(i + 2)
		return
	case i == len(nx) && len(nx) < i+2:
		// Only blanks up to the end of the input.
		q.br.Discard(i)
		return
	}
	q.st.badQP = true
	q.buf = append(q.buf, '=')
}
