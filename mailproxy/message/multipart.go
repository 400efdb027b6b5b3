package message

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
	"strings"
)

// joinPart appends a part number to an IMAP section path.
func joinPart(path string, i int) string {
	if path == "" {
		return strconv.Itoa(i)
	}
	return path + "." + strconv.Itoa(i)
}

// multipartReader splits the body of one multipart entity into parts.
// Delimiter lines are "--" boundary, optionally followed by "--" for the
// last one, then optional blanks (RFC 2046 §5.1.1); the line break before
// a delimiter belongs to it. A missing closing delimiter ends the last part
// at the end of the input. When the declared boundary never appears, a
// preamble line that looks like a delimiter followed by a Content- field
// is taken as the real boundary (sniffed).
type multipartReader struct {
	src       *bufio.Reader
	dash      []byte // "--" + boundary
	inPart    bool
	done      bool
	sniffed   bool
	lineStart bool
	nl        []byte // line break held back until the next line is known
	buf       []byte // bytes of the current part read by the last step
	off       int    // how much of buf was returned
	partEnd   bool   // the current part has ended
	preamble  []byte
}

func newMultipartReader(src *bufio.Reader, boundary string) *multipartReader {
	return &multipartReader{src: src, dash: []byte("--" + boundary), lineStart: true}
}

// delimiter reports whether line is a delimiter line, and whether it is
// the closing one.
func (mr *multipartReader) delimiter(line []byte) (is, final bool) {
	if !bytes.HasPrefix(line, mr.dash) {
		return false, false
	}
	rest := bytes.TrimRight(line[len(mr.dash):], " \t\r\n")
	switch {
	case len(rest) == 0:
		return true, false
	case bytes.Equal(rest, dashes):
		return true, true
	}
	return false, false
}

// next moves to the next part. It returns false when there is none.
func (mr *multipartReader) next() bool {
	if mr.done {
		return false
	}
	if mr.inPart {
		for !mr.partEnd {
			mr.buf, mr.off = mr.buf[:0], 0
			mr.step()
		}
		mr.buf, mr.off = mr.buf[:0], 0
		if mr.done {
			return false
		}
	} else if !mr.skipPreamble() {
		mr.done = true
		return false
	}
	mr.inPart, mr.partEnd, mr.nl, mr.lineStart = true, false, nil, true
	return true
}

// skipPreamble reads up to and including the first delimiter line.
func (mr *multipartReader) skipPreamble() bool {
	atStart := true
	for {
		frag, err := mr.src.ReadSlice('\n')
		full := err != bufio.ErrBufferFull
		if atStart && full {
			if is, final := mr.delimiter(frag); is {
				if final {
					return false
				}
				return true
			}
			if mr.sniff(frag) {
				return true
			}
		}
		if len(mr.preamble) < maxPreamble {
			n := min(len(frag), maxPreamble-len(mr.preamble))
			mr.preamble = append(mr.preamble, frag[:n]...)
		}
		atStart = full
		if err != nil && err != bufio.ErrBufferFull {
			return false
		}
	}
}

// sniff takes line as the boundary when it looks like a delimiter and the
// next line starts a MIME header field.
func (mr *multipartReader) sniff(line []byte) bool {
	line = bytes.TrimRight(line, " \t\r\n")
	if len(line) < 3 || len(line) > 72 || !bytes.HasPrefix(line, []byte("--")) || bytes.HasSuffix(line, []byte("--")) {
		return false
	}
	for _, c := range line[2:] {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	nx, _ := mr.src.Peek(8)
	if len(nx) < 8 || !strings.EqualFold(string(nx), "content-") {
		return false
	}
	mr.dash = append([]byte(nil), line...)
	mr.sniffed = true
	return true
}

// step reads the next line, or line fragment, of the current part into
// mr.buf, or ends the part.
func (mr *multipartReader) step() {
	if mr.off == len(mr.buf) {
		mr.buf, mr.off = mr.buf[:0], 0
	}
	frag, err := mr.src.ReadSlice('\n')
	full := err != bufio.ErrBufferFull
	if mr.lineStart && full && len(frag) > 0 {
		if is, final := mr.delimiter(frag); is {
			mr.nl, mr.partEnd = nil, true
			if final {
				mr.done = true
			}
			return
		}
	}
	if len(frag) == 0 && err != nil && err != bufio.ErrBufferFull {
		// End of input without a closing delimiter: the held line break
		// belongs to the part.
		mr.buf = append(mr.buf, mr.nl...)
		mr.nl, mr.partEnd, mr.done = nil, true, true
		return
	}
	mr.buf = append(mr.buf, mr.nl...)
	mr.nl = nil
	content := frag
	if bytes.HasSuffix(frag, lf) {
		content = frag[:len(frag)-1]
		mr.nl = lf
		if bytes.HasSuffix(content, cr) {
			content = content[:len(content)-1]
			mr.nl = crlf
		}
		mr.lineStart = true
	} else {
		mr.lineStart = false
	}
	mr.buf = append(mr.buf, content...)
	if err != nil && err != bufio.ErrBufferFull {
		mr.buf = append(mr.buf, mr.nl...)
		mr.nl, mr.partEnd, mr.done = nil, true, true
	}
}

// partReader reads the current part of a multipartReader.
type partReader struct{ mr *multipartReader }

func (p partReader) Read(b []byte) (int, error) {
	mr := p.mr
	for mr.off == len(mr.buf) {
		if mr.partEnd {
			return 0, io.EOF
		}
		mr.step()
	}
	n := copy(b, mr.buf[mr.off:])
	mr.off += n
	return n, nil
}

// Line breaks and the closing "--", shared so that reading lines does not
// allocate. Never modified.
var (
	cr     = []byte("\r")
	lf     = []byte("\n")
	crlf   = []byte("\r\n")
	dashes = []byte("--")
)
