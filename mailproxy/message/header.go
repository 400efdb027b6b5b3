package message

import (
	"bufio"
	"bytes"
	"strings"
)

// Header fields, RFC 2047 encoded-words, addresses, dates and MIME
// parameters, all read tolerantly: real mail breaks every rule, and a
// header that cannot be read perfectly must still be shown as well as
// possible.

// Limits that keep a hostile header from costing much.
const (
	maxHeaderLine   = 64 << 10 // bytes kept of one header line
	maxHeaderBytes  = 1 << 20  // bytes kept of one header section
	maxHeaderFields = 1000     // fields kept of one header section
)

// headerField is one header field, unfolded, value not yet decoded.
type headerField struct {
	key   string // lower case
	value string // raw, unfolded (RFC 5322 §2.2.3), leading blanks trimmed
}

// Header is a tolerantly read Header section.
type Header struct {
	fields    []headerField
	malformed int // lines skipped because they could not be read
}

// get returns the raw value of the first field named key (lower case).
func (h *Header) Get(key string) string {
	for _, f := range h.fields {
		if f.key == key {
			return f.value
		}
	}
	return ""
}

// has reports whether a field named key (lower case) is present.
func (h *Header) has(key string) bool {
	for _, f := range h.fields {
		if f.key == key {
			return true
		}
	}
	return false
}

// readLine reads one line and returns it without its line break (nl says
// which break it had: "\r\n", "\n" or "" at the end of the input). Bytes
// beyond max are read and dropped.
func readLine(br *bufio.Reader, max int) (line []byte, nl string, err error) {
	for {
		frag, e := br.ReadSlice('\n')
		if len(line)+len(frag) <= max {
			line = append(line, frag...)
		} else if len(line) < max {
			line = append(line, frag[:max-len(line)]...)
		}
		if e == bufio.ErrBufferFull {
			continue
		}
		if bytes.HasSuffix(frag, []byte("\n")) {
			line = bytes.TrimSuffix(line, []byte("\n"))
			nl = "\n"
			if bytes.HasSuffix(line, []byte("\r")) {
				line = line[:len(line)-1]
				nl = "\r\n"
			}
		}
		return line, nl, e
	}
}

// headerKey returns the lower-cased field name of a header line, or ""
// when the line is not a header field. A name is printable US-ASCII
// without ":" (RFC 5322 §2.2); blanks before the colon are tolerated.
func headerKey(line []byte) (key string, value []byte) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return "", nil
	}
	k := bytes.TrimRight(line[:i], " \t")
	if len(k) == 0 {
		return "", nil
	}
	for _, c := range k {
		if c < 33 || c > 126 {
			return "", nil
		}
	}
	return strings.ToLower(string(k)), bytes.TrimLeft(line[i+1:], " \t")
}

// readHeader reads a header section up to the blank line that ends it.
// Lines that are not header fields are skipped and counted in malformed.
// When the section does not start with a header field, or when two
// non-field lines follow each other, the body evidently started without
// the blank line: those lines are returned in body, to be read before the
// rest of br. An mbox "From " line at the very start is skipped.
func ReadHeader(br *bufio.Reader) (h Header, body []byte) {
	var pending []byte // a non-field line: junk in the header, or the body
	first := true
	size := 0
	for {
		line, nl, err := readLine(br, maxHeaderLine)
		if len(line) == 0 && nl == "" {
			break // end of input
		}
		if len(bytes.TrimRight(line, " \t\r")) == 0 {
			if pending != nil {
				h.malformed++
			}
			break // the blank line that ends the header
		}
		size += len(line)
		switch {
		case line[0] == ' ' || line[0] == '\t':
			if blank := len(bytes.TrimSpace(line)) == 0; pending == nil && len(h.fields) > 0 {
				f := &h.fields[len(h.fields)-1]
				if !blank && len(f.value) < maxHeaderLine && size < maxHeaderBytes {
					f.value += string(line)
				}
			} else if !blank {
				h.malformed++
			}
		default:
			if key, value := headerKey(line); key != "" {
				if pending != nil {
					h.malformed++
					pending = nil
				}
				if len(h.fields) < maxHeaderFields && size < maxHeaderBytes {
					h.fields = append(h.fields, headerField{key: key, value: string(value)})
				}
				first = false
				break
			}
			if first && len(h.fields) == 0 && bytes.HasPrefix(line, []byte("From ")) {
				first = false
				break
			}
			if len(h.fields) == 0 || pending != nil {
				// The body began without a blank line.
				body = append(append(pending, line...), nl...)
				return h, body
			}
			pending = append(append([]byte(nil), line...), nl...)
		}
		if err != nil {
			break
		}
	}
	if pending != nil {
		// A last non-field line just before the end of the input: keep
		// it as the body rather than lose it.
		body = pending
	}
	return h, body
}
